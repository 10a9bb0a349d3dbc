"""Turn user-supplied names (base filenames, run labels, worker ids) into safe, portable file names.

A name that comes from a user or a model must never escape its folder (``../``, absolute paths,
NUL), hide itself (leading dot), look like a command-line option (leading dash), hit a reserved
Windows device name, or exceed what file systems accept (255 bytes).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

__all__ = ["is_safe_filename", "safe_filename"]

# Path separators, characters Windows forbids, and every control character (C0, DEL, C1).
_FORBIDDEN = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f-\x9f]+')
_DOTS = re.compile(r"\.{2,}")
_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"COM{i}" for i in range(1, 10)]
    + [f"LPT{i}" for i in range(1, 10)]
)
_MIN_LEN = 16


def safe_filename(name: str, default: str = "output", max_len: int = 100) -> str:
    """Return ``name`` as a single portable path component.

    Forbidden characters become ``_``, runs of dots collapse to one, leading dots, dashes and
    spaces and trailing dots and spaces go, reserved Windows names get a ``_`` prefix, and a
    name longer than ``max_len`` UTF-8 bytes is cut and given a short hash of the original so
    two long names that share a prefix stay distinct. An empty result becomes ``default``.

    Args:
        name: anything a user typed or a model produced.
        default: used when nothing usable is left; must itself be safe.
        max_len: limit in UTF-8 bytes (at least 16).
    """
    max_len = max(max_len, _MIN_LEN)
    original = name
    name = unicodedata.normalize("NFC", str(name))
    name = _FORBIDDEN.sub("_", name)
    name = _DOTS.sub(".", name)
    name = name.lstrip(" .-_").rstrip(" .")
    if not name:
        return default
    stem = name.split(".", 1)[0].rstrip(" ").upper()
    if stem in _WINDOWS_RESERVED:
        name = "_" + name
    if len(name.encode("utf-8")) > max_len:
        name = _shorten(name, original, max_len)
    return name


def is_safe_filename(name: str) -> bool:
    """True when ``name`` is already what :func:`safe_filename` would return for it."""
    return bool(name) and safe_filename(name, default="") == name


def _shorten(name: str, original: str, max_len: int) -> str:
    """Cut ``name`` to ``max_len`` bytes, keeping a short extension and adding a hash."""
    digest = hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 10:
        stem, ext = name, ""
    suffix = f"-{digest}" + (f".{ext}" if ext else "")
    budget = max_len - len(suffix.encode("utf-8"))
    # Cut on a character boundary: decoding with "ignore" drops a split multi-byte tail.
    head = stem.encode("utf-8")[:budget].decode("utf-8", "ignore").rstrip(" .")
    return head + suffix
