"""A fast stand-in vLLM server for the client benchmarks: pre-rendered streams, raw asyncio.

Run as a separate process (``python benchmarks/_stream_server.py [--interval S]``); it prints
``PORT <n>`` on stdout once it listens on 127.0.0.1.

Why hand-written instead of aiohttp: the benchmarks measure the *client's* CPU per chunk, so the
server must never be the bottleneck. Every stream is rendered once to its exact bytes (vLLM's
framing from ``/work/shared/peers/vllm/samples.md``: one HTTP chunk per SSE event, role chunk,
content chunks, finish reason on the last content chunk, usage chunk with ``choices: []``,
``[DONE]``) and written with plain ``transport.write``; a web framework would cost more per
event than the clients under test.

Requests: ``POST /v1/chat/completions`` with ``"stream": true``; ``max_tokens`` is the number
of content chunks (default 2000). ``GET /health`` and ``GET /v1/models`` answer like vLLM.
With ``--interval 0`` (default) a whole stream is written at once, as fast as the socket takes
it; with ``--interval S`` every live stream gets ``--burst`` events every S seconds from one
shared ticker (many concurrent, realistically paced streams at little server cost).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from functools import lru_cache

MODEL = "bench-model"
REQUEST_ID = "chatcmpl-b96980fbac5929ad"
CREATED = 1795625913

# Token-like pieces: short words, leading spaces, punctuation, markdown, escapes and non-ASCII,
# so JSON decoding and UTF-8 handling do real work.
VOCAB = (
    "host", " w", "modules", "nter", " the", " of", "arning", " model", ",", " and", "\n",
    " quick", " résumé", " 日本", "語", " \"quoted\"", " back\\slash", "\n\n", "## ", " data",
    " 🚀", " stream", "ing", " tokens", ".", " a", " to", " in", "`code`", " **bold**", "\t",
    " é", " server",
)


def piece(i: int) -> str:
    """Content of content chunk ``i`` (deterministic, so clients can check the text)."""
    return VOCAB[(i * 7 + i // len(VOCAB)) % len(VOCAB)]


def expected_text(n: int) -> str:
    """The whole answer of an ``n``-chunk stream."""
    return "".join(piece(i) for i in range(n))


def _event(obj: dict | str) -> bytes:
    """One SSE event in its own HTTP chunk, as uvicorn frames vLLM's events."""
    data = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    body = b"data: " + data.encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(body), body)


HEAD = (
    b"HTTP/1.1 200 OK\r\ndate: Wed, 25 Nov 2026 18:00:00 GMT\r\nserver: uvicorn\r\n"
    b"content-type: text/event-stream; charset=utf-8\r\ntransfer-encoding: chunked\r\n\r\n"
)


@lru_cache(maxsize=32)
def render_events(n: int) -> tuple[bytes, ...]:
    """Every event of an ``n``-chunk stream: response head + role chunk first, terminator last."""
    base = {"id": REQUEST_ID, "object": "chat.completion.chunk", "created": CREATED, "model": MODEL}
    role = {
        **base,
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}],
        "prompt_token_ids": None,
        "prompt_text": None,
    }
    events = [HEAD + _event(role)]
    for i in range(n):
        choice: dict = {"index": 0, "delta": {"content": piece(i)}, "logprobs": None, "finish_reason": None}
        if i == n - 1:
            choice["finish_reason"] = "length"
            choice["stop_reason"] = None
        choice["token_ids"] = None
        events.append(_event({**base, "choices": [choice]}))
    usage = {"prompt_tokens": 16, "total_tokens": 16 + n, "completion_tokens": n}
    events.append(_event({**base, "choices": [], "usage": usage, "system_fingerprint": "vllm-0.32.0-0bef8187"}))
    events.append(_event("[DONE]") + b"0\r\n\r\n")
    return tuple(events)


@lru_cache(maxsize=32)
def render_stream(n: int) -> bytes:
    """The whole response for an ``n``-chunk stream, in one piece."""
    return b"".join(render_events(n))


def _plain(status: str, body: bytes, ctype: bytes = b"application/json") -> bytes:
    return b"HTTP/1.1 %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n%s" % (
        status.encode(), ctype, len(body), body)


MODELS = json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "vllm", "max_model_len": 1 << 20}]}).encode()


class Ticker:
    """Feeds every paced stream ``burst`` events per ``interval`` from one timer."""

    def __init__(self, interval: float, burst: int) -> None:
        self.interval, self.burst = interval, burst
        self.live: dict[HTTPProtocol, list] = {}
        self.running = False

    def add(self, proto: HTTPProtocol, events: tuple[bytes, ...]) -> None:
        proto.transport.write(events[0])
        self.live[proto] = [events, 1]
        if not self.running:
            self.running = True
            asyncio.get_running_loop().call_later(self.interval, self.tick)

    def tick(self) -> None:
        done = []
        for proto, state in self.live.items():
            events, i = state
            j = min(i + self.burst, len(events))
            proto.transport.write(b"".join(events[i:j]) if j - i > 1 else events[i])
            state[1] = j
            if j == len(events):
                done.append(proto)
        for proto in done:
            del self.live[proto]
            proto.finished()
        if self.live:
            asyncio.get_running_loop().call_later(self.interval, self.tick)
        else:
            self.running = False


class HTTPProtocol(asyncio.Protocol):
    """Just enough HTTP/1.1 (keep-alive, content-length bodies) for the clients under test."""

    ticker: Ticker | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buf = b""
        self.busy = False

    def connection_lost(self, exc: Exception | None) -> None:
        if self.ticker is not None:
            self.ticker.live.pop(self, None)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        self.serve()

    def finished(self) -> None:
        self.busy = False
        self.serve()

    def serve(self) -> None:
        while not self.busy:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1").split("\r\n")
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4 : end + 4 + length]
            self.buf = self.buf[end + 4 + length :]
            method, path = head[0].split(" ")[:2]
            self.respond(method, path, body)

    def respond(self, method: str, path: str, body: bytes) -> None:
        if method == "GET" and path.endswith("/health"):
            self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        elif method == "GET" and path.endswith("/models"):
            self.transport.write(_plain("200 OK", MODELS))
        elif method == "POST" and path.endswith("/chat/completions"):
            req = json.loads(body)
            n = int(req.get("max_tokens") or req.get("max_completion_tokens") or 2000)
            if not req.get("stream"):
                err = b'{"error":{"message":"bench server streams only","type":"BadRequestError","param":"stream","code":400}}'
                self.transport.write(_plain("400 Bad Request", err))
            elif self.ticker is None:
                self.transport.write(render_stream(n))
            else:
                self.busy = True
                self.ticker.add(self, render_events(n))
        else:
            self.transport.write(_plain("404 Not Found", b'{"detail":"Not Found"}'))


async def serve(interval: float, burst: int) -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 8192:  # room for 1000+ sockets where the OS allows it
        resource.setrlimit(resource.RLIMIT_NOFILE, (8192 if hard == resource.RLIM_INFINITY else min(8192, hard), hard))
    if interval > 0:
        HTTPProtocol.ticker = Ticker(interval, burst)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(HTTPProtocol, "127.0.0.1", 0, backlog=4096)
    print("PORT", server.sockets[0].getsockname()[1], flush=True)
    # Stop when the parent closes our stdin (or dies), so no server outlives its benchmark.
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await reader.read()
    server.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--interval", type=float, default=0.0, help="seconds between events per stream (0: blast)")
    ap.add_argument("--burst", type=int, default=1, help="events per stream per tick when paced")
    args = ap.parse_args()
    try:  # the faster loop where installed: the server must never be the bottleneck
        import uvloop
    except ImportError:
        asyncio.run(serve(args.interval, args.burst))
    else:
        uvloop.run(serve(args.interval, args.burst))


if __name__ == "__main__":
    main()
