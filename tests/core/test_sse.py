"""SSEDecoder: every spec edge, and every split point of real streams."""

from __future__ import annotations

from servers import sample_body

from agentdeck.client.sse import SSEDecoder


def decode(*reads: bytes) -> list[bytes]:
    decoder = SSEDecoder()
    out: list[bytes] = []
    for chunk in reads:
        out += decoder.feed(chunk)
    return out


def every_split(body: bytes) -> list[list[bytes]]:
    """The body as two reads at every split point, and as one read per byte."""
    splits = [[body[:i], body[i:]] for i in range(len(body) + 1)]
    return splits + [[body[i : i + 1] for i in range(len(body))]]


SAMPLE = sample_body("chat_stream.body")


def test_vllm_sample_events() -> None:
    events = decode(SAMPLE)
    assert len(events) == 11 and events[-1] == b"[DONE]"
    assert all(e.startswith(b"{") for e in events[:-1])


def test_every_split_point_of_vllm_sample() -> None:
    whole = decode(SAMPLE)
    for reads in every_split(SAMPLE):
        assert decode(*reads) == whole, reads


MIXED = (
    "\ufeff: comment line\r\n"
    "event: message\r\n"
    "data: {\"a\": \"é漢\"}\r\n"
    "\r\n"
    "data: first\rdata: second\r\r"
    "id: 5\nretry: 10\nfoo: bar\n\n"
    "data\n\n"
    "data:no-space\n"
    "data:  two spaces\n\n"
    "event: only-type\n\n"
    "data: [DONE]\r\n\r\n"
).encode()
MIXED_EVENTS = [
    '{"a": "é漢"}'.encode(),
    b"first\nsecond",
    b"",
    b"no-space\n two spaces",
    b"[DONE]",
]


def test_spec_edges_in_one_read() -> None:
    assert decode(MIXED) == MIXED_EVENTS


def test_spec_edges_at_every_split_point() -> None:
    """CR/LF/CRLF, BOM, comments, fields, multi-line data and UTF-8 split anywhere."""
    for reads in every_split(MIXED):
        assert decode(*reads) == MIXED_EVENTS, reads


def test_every_three_way_split_of_crlf_events() -> None:
    body = b"data: a\r\n\r\ndata: b\r\rdata: c\n\n"
    for i in range(len(body) + 1):
        for j in range(i, len(body) + 1):
            assert decode(body[:i], body[i:j], body[j:]) == [b"a", b"b", b"c"], (i, j)


def test_cr_at_end_of_read_then_lf_is_one_line_end() -> None:
    # CR ends read 1, LF opens read 2: one line end, so no blank line = no dispatch yet.
    assert decode(b"data: a\r", b"\ndata: b\n\n") == [b"a\nb"]
    # Whereas CR then CR is two line ends: the event is dispatched.
    assert decode(b"data: a\r", b"\rdata: b\n\n") == [b"a", b"b"]


def test_unterminated_event_is_dropped_and_pending() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\n\ndata: cut") == [b"x"]
    assert decoder.pending == b"data: cut"


def test_event_without_data_and_blank_lines_dispatch_nothing() -> None:
    assert decode(b"\n\n\n\nevent: x\nid: 1\n\n: c\n\n") == []


def test_only_first_space_after_colon_removed() -> None:
    assert decode(b"data:   x  \n\n") == [b"  x  "]
