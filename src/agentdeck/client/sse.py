"""An incremental, bytes-level Server-Sent Events decoder (WHATWG spec) with a fast path.

``SSEDecoder.feed(chunk)`` takes raw bytes as they come off the socket and returns the
``data`` payload (bytes) of every event completed by them. It follows the spec's parsing rules:

* lines end in LF, CRLF or a lone CR, and a CR ending one read followed by an LF starting the
  next counts as one line end;
* lines and UTF-8 characters may be split anywhere across reads (we never decode: payloads stay
  bytes, so ``orjson.loads`` reads them directly);
* comment lines (``:`` keep-alives) and ``event:``/``id:``/``retry:``/unknown fields are
  skipped; an event without ``data`` is not dispatched; several ``data:`` lines are joined by
  ``"\\n"``; one space after the colon is removed; a leading byte order mark is dropped; a
  trailing unterminated event is dropped.

Event types are not reported: OpenAI-compatible servers put everything in ``data``.

Speed: the common vLLM shape ``data: <json>\\n\\n`` costs one ``split`` plus one slice per
event. CR handling normalises the buffer to LF first, so only servers that use CR pay for it.
"""

from __future__ import annotations

__all__ = ["SSEDecoder"]

_BOM = b"\xef\xbb\xbf"


class SSEDecoder:
    """Feed bytes, get completed events' data payloads."""

    __slots__ = ("_buf", "_skip_lf", "_at_start")

    def __init__(self) -> None:
        self._at_start = True
        """No byte seen yet: a leading UTF-8 byte order mark is to be dropped."""
        self._buf = b""
        """Bytes after the last complete event, already normalised to LF line ends."""
        self._skip_lf = False
        """The previous read ended in CR: an LF opening the next read belongs to it."""

    def feed(self, chunk: bytes) -> list[bytes]:
        """Decode ``chunk`` and return the data of every event it completes (maybe none)."""
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if b"\r" in chunk:
            # A CR is a line end on its own; CRLF is one line end. Normalise both to LF.
            self._skip_lf = chunk[-1:] == b"\r"
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        buf = self._buf + chunk if self._buf else chunk
        if self._at_start:
            if len(buf) < 3 and _BOM.startswith(buf):
                self._buf = buf  # maybe a BOM split across reads: wait for more
                return []
            self._at_start = False
            if buf[:3] == _BOM:
                buf = buf[3:]
        if b"\n\n" not in buf:
            self._buf = buf
            return []
        blocks = buf.split(b"\n\n")
        self._buf = blocks.pop()
        out = []
        for block in blocks:
            # Fast path: one `data: ` line, the shape vLLM and OpenAI send.
            if block[:6] == b"data: " and b"\n" not in block:
                out.append(block[6:])
            elif block:
                data = _parse_block(block)
                if data is not None:
                    out.append(data)
        return out

    @property
    def pending(self) -> bytes:
        """Undispatched bytes (an event cut off by the end of the stream, if any)."""
        return self._buf


def _parse_block(block: bytes) -> bytes | None:
    """The data of one event's lines (LF-separated, no blank line inside), or None."""
    data: list[bytes] | None = None
    for line in block.split(b"\n"):
        if not line or line[0] == 0x3A:  # blank (leading) line or ":" comment
            continue
        name, colon, value = line.partition(b":")
        if name != b"data":
            continue  # event:, id:, retry: and unknown fields carry no payload for us
        if colon and value[:1] == b" ":
            value = value[1:]
        if data is None:
            data = [value]
        else:
            data.append(value)
    if data is None:
        return None
    return data[0] if len(data) == 1 else b"\n".join(data)
