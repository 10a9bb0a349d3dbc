"""Reading, checking and writing ``config.toml``: precise errors (path, line, column, key).

This module knows TOML and file safety; ``config`` knows what the settings mean.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import unquote, urlsplit

import tomli_w

from .. import fsutil
from ..errors import ConfigError, register_secret

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = [
    "Checker", "backup_path", "bare_message", "check_base_url", "hand_edited", "locate", "read_doc",
    "write_doc",
]

_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")


def read_doc(path: Path) -> tuple[dict[str, Any], str]:
    """Parse ``path``; a missing file is an empty document.

    Raises:
        ConfigError: the file cannot be read or is not valid TOML (with line and column).
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}, ""
    except OSError as exc:
        raise ConfigError(f"cannot read the settings file: {exc.strerror}",
                          path=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError("the settings file is not UTF-8 text", path=str(path),
                          line=line) from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _AT.search(message)
        line = column = None
        if match:
            line, column = int(match[1]), int(match[2])
            message = message[: match.start()]
        if message.endswith(" (at end of document)"):
            message = message[: -len(" (at end of document)")] + " at the end of the file"
            lines = text.splitlines() or [""]
            line, column = len(lines), len(lines[-1]) + 1
        if message == "Invalid value":
            message += ' (text values need quotes: key = "value")'
        raise ConfigError(f"invalid TOML: {message}", path=str(path), line=line,
                          column=column) from None


def bare_message(exc: ConfigError) -> str:
    """The message of ``exc`` without its ``path:line:column: [key]`` prefix."""
    message = exc.message
    where = exc.path or ""
    if exc.path and exc.line is not None:
        where += f":{exc.line}" + (f":{exc.column}" if exc.column is not None else "")
    if where and message.startswith(where + ": "):
        message = message[len(where) + 2:]
    if exc.key and message.startswith(f"[{exc.key}] "):
        message = message[len(exc.key) + 3:]
    return message


def backup_path(path: Path) -> Path:
    """Where ``write_doc`` keeps a hand-edited file before writing over it."""
    return path.with_name(path.name + ".bak")


def hand_edited(path: Path) -> bool:
    """True when ``path`` holds what tomli-w would not write back as it is: comments, or a
    layout of the user's own. (tomli-w writes values, so saving would drop those.)"""
    try:
        return _rewrite_differs(path.read_bytes())
    except OSError:
        return False


def _rewrite_differs(old: bytes) -> bool:
    try:
        return tomli_w.dumps(tomllib.loads(old.decode("utf-8"))).encode("utf-8") != old
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return True


def write_doc(path: Path, doc: Mapping[str, Any]) -> None:
    """Write ``doc`` as TOML atomically, 0600, in a 0700 folder.

    A hand-edited file is first copied to ``backup_path(path)``: its comments and layout are
    not lost, only moved aside.

    Raises:
        ConfigError: the file cannot be written (full disk, read-only folder); the old file,
            if any, is left as it was.
    """
    data = tomli_w.dumps(dict(doc)).encode("utf-8")
    try:
        fsutil.private_dir(path.parent)
        old = path.read_bytes() if path.exists() else None
        if old is not None and _rewrite_differs(old):
            fsutil.atomic_write(backup_path(path), old)
        fsutil.atomic_write(path, data)
    except OSError as exc:
        raise ConfigError(f"cannot save the settings: {exc.strerror or exc}",
                          path=str(path)) from exc


def _norm(part: str) -> str:
    return part.strip().strip("\"'")


def locate(text: str, dotted: str) -> tuple[int, int] | None:
    """Best-effort (line, column) of the key ``a.b.c`` in TOML ``text``, both 1-based.

    tomllib reports positions only for syntax errors; for a wrong value we find the key by
    tracking table headers and matching ``key =`` lines (dotted keys included). A key inside
    an inline table is reported at its parent's line.
    """
    parts = [_norm(p) for p in dotted.split(".")]
    while parts:
        found = _locate(text, parts)
        if found:
            return found
        parts = parts[:-1]
    return None


def _locate(text: str, parts: list[str]) -> tuple[int, int] | None:
    table: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            table = [_norm(p) for p in header[1].split(".")]
            if table == parts:
                return number, line.index("[") + 1
            continue
        if len(table) >= len(parts) or table != parts[: len(table)]:
            continue
        rest = parts[len(table):]
        pattern = r"\s*\.\s*".join(rf"[\"']?{re.escape(p)}[\"']?" for p in rest)
        match = re.match(rf"^(\s*){pattern}\s*=", line)
        if match:
            return number, len(match[1]) + 1
    return None


_KINDS = {
    "str": "a string",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "table": "a table",
    "stop": "a string or a list of strings",
}


def describe(value: Any) -> str:
    """How a value found in the file reads in an error message."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    kind = {str: "a string", int: "a whole number", float: "a number"}.get(type(value), "a value")
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    return f"{shown} ({kind})"


class Checker:
    """Type and range checks for one document; errors point at the file, line and key."""

    def __init__(self, path: Path | None, text: str) -> None:
        self.path, self.text = path, text

    def fail(self, key: str, message: str, *,
             error: type[ConfigError] = ConfigError) -> ConfigError:
        """Build an error for ``key`` at its location in the file."""
        where = locate(self.text, key) if self.text else None
        return error(message, path=str(self.path) if self.path else None,
                     line=where[0] if where else None, column=where[1] if where else None,
                     key=key)

    def value(self, key: str, value: Any, kind: str, *, minimum: float | None = None,
              maximum: float | None = None, above: float | None = None) -> Any:
        """Return ``value`` checked against ``kind`` (ints accepted where numbers are)."""
        ok = {
            "str": isinstance(value, str),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, (int, float)) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "table": isinstance(value, dict),
            "stop": isinstance(value, str)
            or (isinstance(value, list) and all(isinstance(v, str) for v in value)),
        }[kind]
        if not ok:
            raise self.fail(key, f"expected {_KINDS[kind]}, found {describe(value)}")
        if kind == "float":
            value = float(value)
            if not math.isfinite(value):  # TOML reads nan and inf as floats; JSON has neither
                raise self.fail(key, f"must be a finite number, found {value!r}")
        if minimum is not None and value < minimum:
            raise self.fail(key, f"must be at least {minimum:g}, found {value!r}")
        if maximum is not None and value > maximum:
            raise self.fail(key, f"must be at most {maximum:g}, found {value!r}")
        if above is not None and value <= above:
            raise self.fail(key, f"must be greater than {above:g}, found {value!r}")
        return value


def check_base_url(url: str, *, key: str, checker: Checker | None = None) -> str:
    """Validate an endpoint URL and return it without surrounding spaces.

    Raises:
        ConfigError: no http(s) scheme (with a "did you mean" fix), no host, or a port that is
            not a number from 1 to 65535. ``key`` names where the URL came from.
    """
    def fail(message: str) -> ConfigError:
        if checker is not None:
            return checker.fail(key, message)
        return ConfigError(message, key=key)

    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not url.lower().startswith(scheme + "://"):
        bare = re.sub(r"^https?:/*", "", url, flags=re.IGNORECASE)
        if bare == url and "://" in url:  # some other scheme, e.g. htp:// or ws://
            bare = url.split("://", 1)[1]
        guess = "http://" + bare.lstrip("/")
        raise fail(f"base URL {url!r} has no http:// or https:// scheme; did you mean {guess}?")
    if not parts.hostname:
        raise fail(f"base URL {url!r} has no host name")
    try:
        port = parts.port
    except ValueError:
        netloc = parts.netloc.rpartition("@")[2]
        bad = netloc.rpartition(":")[2]
        fix = re.sub(r"[oO]", "0", bad)
        hint = ""
        if fix.isdigit() and 0 < int(fix) < 65536:
            hint = f"; did you mean {url.replace(':' + bad, ':' + fix, 1)}?"
        raise fail(f"base URL {url!r} has an invalid port {bad!r}: it must be a number "
                   f"from 1 to 65535{hint}") from None
    if port == 0:
        raise fail(f"base URL {url!r} has port 0: it must be a number from 1 to 65535")
    if parts.password:  # a password in the URL is masked in every message, like a key
        register_secret(parts.password)
        register_secret(unquote(parts.password))
    return url
