"""Make model output inert before it reaches a terminal.

Model text may contain escape sequences that would act on the user's terminal: colours, cursor
moves that overwrite earlier lines, title changes (OSC 0/2), clipboard writes (OSC 52),
hyperlinks, device-control strings. :func:`neutralize` removes every complete sequence and every
remaining C0/C1 control character except newline and tab; printable Unicode (CJK, emoji,
combining marks) passes untouched. A sequence split across two streamed chunks is still inert:
its ESC is removed with the first chunk, so the rest prints as plain characters.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["json_text", "neutralize"]

# Complete sequences, 7-bit (ESC-introduced) and 8-bit (C1) forms:
#   CSI  ESC [ params intermediates final       | \x9b ...
#   OSC  ESC ] ... (BEL | ST)                     | \x9d ...
#   DCS/SOS/PM/APC  ESC P|X|^|_ ... ST            | \x90 \x98 \x9e \x9f ...
#   two-character escapes  ESC <0x20-0x7e>  (charset selection, keypad modes, ESC c reset)
_SEQUENCE = re.compile(
    r"""
      (?:\x1b\[|\x9b) [0-?]* [ -/]* [@-~]
    | (?:\x1b\]|\x9d) [^\x07\x1b\x9c]* (?:\x07|\x1b\\|\x9c)
    | (?:\x1b[PX^_]|[\x90\x98\x9e\x9f]) [^\x1b\x9c]* (?:\x1b\\|\x9c)
    | \x1b [ -/]* [0-~]
    """,
    re.VERBOSE,
)
# What is left after sequences are gone: every control character but \t and \n.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Carriage returns could overwrite a printed line; a CRLF is just a line end.
_CR = re.compile(r"\r\n?")


def neutralize(text: str) -> str:
    """Return ``text`` with terminal escape sequences and control characters removed.

    ``\\r\\n`` and a lone ``\\r`` become ``\\n`` so no line can be overwritten; ``\\n`` and
    ``\\t`` stay. Text without any control character is returned as is (the common case, one
    regex scan).
    """
    if not _CONTROL.search(text):
        return text
    if "\r" in text:
        text = _CR.sub("\n", text)
    text = _SEQUENCE.sub("", text)
    return _CONTROL.sub("", text)


_JSON_RAW = re.compile("[\x7f-\x9f]")
"""The control characters ``json.dumps(ensure_ascii=False)`` leaves raw: DEL and C1 (e.g. CSI);
it escapes U+0000-U+001F itself, and the newlines of ``indent`` lie outside strings."""


def json_text(doc: Any, indent: int | None = None) -> str:
    """JSON text with non-ASCII kept readable but every control character escaped as \\uXXXX.

    A raw C1 character (U+009B is CSI) acts on a terminal like ESC [ does; escaped, the text
    is still the same JSON. Outside strings JSON is plain ASCII, so only strings change.
    """
    text = json.dumps(doc, ensure_ascii=False, indent=indent)
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
