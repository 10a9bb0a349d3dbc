"""First-token deadline, idle (stall) timeout and cancellation, against stalling servers."""

from __future__ import annotations

import asyncio
import socket

import pytest
from servers import Conn, Request, ScriptServer, chunk_obj, simple_handler

from agentdeck.client.vllm import VLLMModel
from agentdeck.errors import ConnectTimeoutError, FirstTokenTimeoutError, StallError
from agentdeck.events import Delta, Retrying, StreamFinished

MSG = [{"role": "user", "content": "hi"}]


def stalling(before: list, *, headers: bool = True):
    """Send ``before`` (events), then say nothing until the client goes away."""

    async def handler(request: Request, conn: Conn) -> None:
        if headers:
            await conn.start_stream()
        for obj in before:
            await conn.event(obj)
        await conn.peer_closed(timeout=30)
        conn.keep_alive = False

    return handler


async def test_idle_timeout_raises_stall_with_partial() -> None:
    async with ScriptServer(stalling([chunk_obj(""), chunk_obj("Hi"), chunk_obj(" you")])) as srv:
        async with VLLMModel("m", srv.url, idle_timeout=0.3, max_attempts=3) as model:
            with pytest.raises(StallError, match=r"no chunk for 0.3s \(--idle-timeout or the profile's timeouts.idle\)") as info:
                await model.complete(MSG)
        await asyncio.wait_for(srv.closed.wait(), 5)
    assert info.value.partial == "Hi you"
    assert len(srv.requests) == 1 and srv.disconnects == 1


async def test_first_token_timeout_after_headers() -> None:
    """Headers and the role chunk came, but no token: the first-token deadline fires.

    Regression: the error said ``body_started=False`` though the role chunk had come."""
    async with ScriptServer(stalling([chunk_obj("")])) as srv:
        async with VLLMModel("m", srv.url, first_token_timeout=0.3, idle_timeout=60) as model:
            with pytest.raises(FirstTokenTimeoutError, match=r"within 0.3s .*--first-token-timeout or the profile's timeouts.first_token") as info:
                await model.complete(MSG)
    assert len(srv.requests) == 1
    assert info.value.body_started


async def test_first_token_timeout_before_headers() -> None:
    async with ScriptServer(stalling([], headers=False)) as srv:
        async with VLLMModel("m", srv.url, first_token_timeout=0.2) as model:
            with pytest.raises(FirstTokenTimeoutError) as info:
                await model.complete(MSG)
    assert not info.value.body_started


async def test_slow_consumer_does_not_count_as_stall() -> None:
    """Time the consumer spends between chunks is not server silence."""
    async with ScriptServer(simple_handler(["a", "b", "c"])) as srv:
        async with VLLMModel("m", srv.url, idle_timeout=0.1, first_token_timeout=0.1) as model:
            text = ""
            async for event in model.stream(MSG):
                if isinstance(event, Delta):
                    text += event.content
                    await asyncio.sleep(0.25)
    assert text == "abc" and isinstance(event, StreamFinished)


async def test_timeout_does_not_swallow_user_cancellation() -> None:
    async with ScriptServer(stalling([chunk_obj("x")])) as srv:
        async with VLLMModel("m", srv.url, idle_timeout=30) as model:
            task = asyncio.create_task(model.complete(MSG))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task


async def test_cancelling_the_consumer_closes_the_connection() -> None:
    """The server sees the disconnect at once (vLLM then aborts and frees the KV cache)."""
    seen = asyncio.Event()
    gone = asyncio.Event()

    async def handler(request: Request, conn: Conn) -> None:
        await conn.start_stream()
        await conn.event(chunk_obj("first"))
        seen.set()
        if await conn.peer_closed(timeout=10):
            gone.set()
        conn.keep_alive = False

    async with ScriptServer(handler) as srv:
        async with VLLMModel("m", srv.url) as model:
            task = asyncio.create_task(model.complete(MSG))
            await asyncio.wait_for(seen.wait(), 5)
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.wait_for(gone.wait(), 2)


async def test_closing_the_generator_closes_the_connection() -> None:
    gone = asyncio.Event()

    async def handler(request: Request, conn: Conn) -> None:
        await conn.start_stream()
        for i in range(3):
            await conn.event(chunk_obj(str(i)))
        if await conn.peer_closed(timeout=10):
            gone.set()
        conn.keep_alive = False

    async with ScriptServer(handler) as srv:
        async with VLLMModel("m", srv.url) as model:
            stream = model.stream(MSG)
            async for event in stream:
                if isinstance(event, Delta):
                    break
            await stream.aclose()
            await asyncio.wait_for(gone.wait(), 2)


async def test_error_status_with_a_body_that_never_comes() -> None:
    """A 503 whose body stalls still raises the typed error (the status says enough)."""
    from agentdeck.errors import ServerError

    async def handler(request: Request, conn: Conn) -> None:
        conn.writer.write(b"HTTP/1.1 503 Busy\r\ncontent-length: 100\r\n\r\n{\"err")
        await conn.writer.drain()
        await conn.peer_closed(timeout=10)
        conn.keep_alive = False

    async with ScriptServer(handler) as srv:
        async with VLLMModel("m", srv.url, idle_timeout=0.2, max_attempts=1) as model:
            with pytest.raises(ServerError, match="503"):
                await model.complete(MSG)


@pytest.fixture
def full_backlog_port():
    """A loopback port whose listen queue is full: a new connect hangs there (SYN dropped)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(8):  # more than any backlog Linux grants listen(0)
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(filler)
    yield port
    for sock in (*fillers, server):
        sock.close()


async def test_connect_timeout_is_its_own_error_and_is_retried(full_backlog_port: int) -> None:
    url = f"http://127.0.0.1:{full_backlog_port}/v1"
    async with VLLMModel("m", url, connect_timeout=0.3, max_attempts=2, backoff_base=0.01) as model:
        started = asyncio.get_running_loop().time()
        events = []
        setting = r"\(--connect-timeout or the profile's timeouts.connect\)"
        with pytest.raises(ConnectTimeoutError, match=f"connecting to {url}.* timed out {setting}"):
            async for event in model.stream(MSG):
                events.append(event)
        elapsed = asyncio.get_running_loop().time() - started
    assert [type(e) for e in events] == [Retrying]  # one retry, then the error
    assert 0.5 < elapsed < 5  # two 0.3 s attempts, not the 10 s default or a hang
