"""Small purpose-built HTTP servers on 127.0.0.1:0 for the client tests.

``ScriptServer`` speaks just enough HTTP/1.1 over ``asyncio.start_server`` to give a test
byte-level control: each request is handed to an async handler with a ``Conn`` that can send a
status and JSON body, start a chunked SSE stream, send raw bytes, stall, or cut the connection.
The server records every request and notices when a client disconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest


def repo_root() -> Path:
    """The checkout this file is in: the nearest folder above it with a pyproject.toml."""
    here = Path(__file__).resolve()
    return next(p for p in here.parents if (p / "pyproject.toml").is_file())


SHARED = repo_root().parent / "shared"
"""``../shared`` beside the checkout, wherever the clone is placed."""
SAMPLES = SHARED / "peers" / "vllm" / "samples.md"


def need_shared(path: Path) -> Path:
    """``path`` under ``../shared``; skips the test without it, but fails in CI (``CI=true``).

    A clone without ``../shared`` must not pass by skipping: CI says so loudly.
    """
    if not path.exists():
        message = f"{path} is missing: clone the shared folder beside the checkout ({SHARED})"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message, allow_module_level=True)
    return path


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Conn:
    """One request's connection, as the handler sees it."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    keep_alive: bool = True

    async def respond(
        self,
        status: int,
        body: bytes | str | dict | list = b"",
        headers: dict[str, str] | None = None,
        reason: str = "X",
    ) -> None:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = {"content-type": "application/json", **(headers or {})}
        elif isinstance(body, str):
            body = body.encode()
        lines = [f"HTTP/1.1 {status} {reason}", f"content-length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await self.writer.drain()

    async def start_stream(self, headers: dict[str, str] | None = None, status: int = 200) -> None:
        head = {"content-type": "text/event-stream; charset=utf-8", "transfer-encoding": "chunked"}
        head.update(headers or {})
        lines = [f"HTTP/1.1 {status} OK"] + [f"{k}: {v}" for k, v in head.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self.writer.drain()

    async def chunk(self, data: bytes | str) -> None:
        """One HTTP chunk (the client usually reads it as one piece)."""
        if isinstance(data, str):
            data = data.encode()
        if data:
            self.writer.write(b"%x\r\n%s\r\n" % (len(data), data))
            await self.writer.drain()

    async def event(self, obj: Any) -> None:
        await self.chunk(b"data: " + json.dumps(obj).encode() + b"\n\n")

    async def end(self) -> None:
        self.writer.write(b"0\r\n\r\n")
        await self.writer.drain()

    def cut(self) -> None:
        """Drop the connection abruptly."""
        self.keep_alive = False
        self.writer.transport.abort()

    async def peer_closed(self, timeout: float = 5.0) -> bool:
        """True once the client closed its side (reads EOF)."""

        async def drain() -> None:
            while await self.reader.read(65536):
                pass

        try:
            await asyncio.wait_for(drain(), timeout)
            return True
        except ConnectionError:
            return True
        except asyncio.TimeoutError:
            return False


Handler = Callable[[Request, Conn], Awaitable[None]]


@dataclass
class ScriptServer:
    """``async with ScriptServer(handler) as srv:`` then point a client at ``srv.url``."""

    handler: Handler
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    disconnects: int = 0
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""
    root: str = ""
    _server: asyncio.base_events.Server | None = None
    _tasks: set[asyncio.Task] = field(default_factory=set)

    async def __aenter__(self) -> ScriptServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.root = f"http://127.0.0.1:{port}"
        self.url = self.root + "/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        self.connections += 1
        conn = Conn(reader, writer)
        try:
            while conn.keep_alive:
                request = await _read_request(reader)
                if request is None:
                    break
                self.requests.append(request)
                await self.handler(request, conn)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass  # the server is shutting down; ending quietly keeps asyncio's callback happy
        finally:
            self.disconnects += 1
            self.closed.set()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._tasks.discard(asyncio.current_task())  # type: ignore[arg-type]


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return Request(method, path, headers, body)


# ---------------------------------------------------------------- samples.md


def sample_body(name: str) -> bytes:
    """The body recorded under ```name``` in samples.md, byte for byte (LF line ends)."""
    text = need_shared(SAMPLES).read_text()
    marker = f"`{name}`:\n```\n"
    start = text.index(marker) + len(marker)
    end = text.index("```", start)
    return text[start:end].encode()


def stream_handler(body: bytes, *, pieces: int | None = None) -> Handler:
    """Serve ``body`` as one SSE stream for every chat request, split into HTTP chunks.

    ``pieces=None`` sends one chunk per SSE event (as vLLM does), else ``pieces`` equal slices.
    """

    async def handler(request: Request, conn: Conn) -> None:
        await conn.start_stream()
        if pieces is None:
            for event in body.split(b"\n\n"):
                if event:
                    await conn.chunk(event + b"\n\n")
        else:
            size = max(1, -(-len(body) // pieces))
            for i in range(0, len(body), size):
                await conn.chunk(body[i : i + size])
        await conn.end()

    return handler


def chunk_obj(content: str | None = None, *, index: int = 0, finish: str | None = None,
              reasoning: str | None = None, **extra: Any) -> dict:
    """A vLLM-shaped chat.completion.chunk."""
    delta: dict[str, Any] = {}
    if content is not None:
        delta["content"] = content
    if reasoning is not None:
        delta["reasoning"] = reasoning
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}],
        **extra,
    }


USAGE = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1, "model": "m",
         "choices": [], "usage": {"prompt_tokens": 3, "total_tokens": 5, "completion_tokens": 2}}


def simple_handler(pieces: list[str], finish: str = "stop") -> Handler:
    """A well-formed stream of ``pieces`` then finish, usage and [DONE]."""

    async def handler(request: Request, conn: Conn) -> None:
        await conn.start_stream()
        await conn.event(chunk_obj(""))
        for piece in pieces:
            await conn.event(chunk_obj(piece))
        await conn.event(chunk_obj("", finish=finish))
        await conn.event(USAGE)
        await conn.chunk(b"data: [DONE]\n\n")
        await conn.end()

    return handler
