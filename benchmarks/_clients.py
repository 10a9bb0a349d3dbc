"""The streaming clients the benchmarks compare, and the stand-in server process they talk to.

Each client streams one chat completion of ``n`` content chunks and returns its text, so every
benchmark can check that nothing was lost or invented. All reuse one connection pool across
requests, as a real program would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _stream_server import MODEL, expected_text

MESSAGES = [{"role": "user", "content": "Write a long answer."}]
__all__ = [
    "CLIENTS",
    "MODEL",
    "agentdeck_available",
    "expected_text",
    "make_client",
    "raise_fd_limit",
    "server_process",
    "usable",
]


@contextmanager
def server_process(interval: float = 0.0, burst: int = 1) -> Iterator[str]:
    """Run ``_stream_server.py`` in its own process; yield its base URL (ends in /v1)."""
    cmd = [sys.executable, str(HERE / "_stream_server.py"), "--interval", str(interval), "--burst", str(burst)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if not line.startswith("PORT "):
            raise RuntimeError(f"bench server failed to start: {line!r}")
        yield f"http://127.0.0.1:{int(line.split()[1])}/v1"
    finally:
        proc.stdin.close()  # type: ignore[union-attr]  # the server exits when stdin closes
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Naive:
    """The loop everyone writes first: httpx ``aiter_lines`` + ``json.loads``."""

    label = "naive httpx aiter_lines+json.loads"

    def __init__(self, base_url: str, limit: int) -> None:
        limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
        self.http = httpx.AsyncClient(base_url=base_url, limits=limits, timeout=httpx.Timeout(600, connect=30))

    async def one(self, n: int) -> str:
        body = {"model": MODEL, "messages": MESSAGES, "stream": True, "max_tokens": n,
                "stream_options": {"include_usage": True}}
        parts = []
        async with self.http.stream("POST", "/chat/completions", json=body) as resp:
            resp.raise_for_status()
            async for line in resp.aiter_lines():
                if not line.startswith("data: "):
                    continue
                data = line[6:]
                if data == "[DONE]":
                    break
                for choice in json.loads(data)["choices"]:
                    content = choice["delta"].get("content")
                    if content:
                        parts.append(content)
        return "".join(parts)

    async def close(self) -> None:
        await self.http.aclose()


class OpenAISDK:
    """The official SDK, as its README shows it (default client, default limits)."""

    label = "openai AsyncOpenAI stream=True"

    def __init__(self, base_url: str, limit: int) -> None:
        from openai import AsyncOpenAI

        self.sdk = AsyncOpenAI(base_url=base_url, api_key="bench-key", max_retries=0)

    async def one(self, n: int) -> str:
        stream = await self.sdk.chat.completions.create(
            model=MODEL, messages=MESSAGES, stream=True, max_tokens=n,  # type: ignore[arg-type]
            stream_options={"include_usage": True},
        )
        parts = []
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
        return "".join(parts)

    async def close(self) -> None:
        await self.sdk.close()


class AgentDeckStream:
    """agentdeck's rich API: typed ``Delta`` events, then ``StreamFinished``."""

    label = "agentdeck VLLMModel.stream"

    def __init__(self, base_url: str, limit: int) -> None:
        from agentdeck.client.vllm import VLLMModel

        self.model = VLLMModel(MODEL, base_url, "bench-key")

    async def one(self, n: int) -> str:
        from agentdeck.events import Delta

        parts = []
        async for event in self.model.stream(MESSAGES, max_tokens=n):
            if type(event) is Delta and event.content:
                parts.append(event.content)
        return "".join(parts)

    async def close(self) -> None:
        await self.model.close_client()


class AgentDeckCallStream(AgentDeckStream):
    """agentdeck's seed API: plain text pieces."""

    label = "agentdeck VLLMModel.call_stream"

    async def one(self, n: int) -> str:
        parts = []
        async for piece in self.model.call_stream(MESSAGES, max_tokens=n):
            parts.append(piece)
        return "".join(parts)


class HttpxFloor(Naive):
    """Reference: read the body with httpx and parse nothing (what any httpx client pays)."""

    label = "ref: httpx aiter_raw, no parsing"

    async def one(self, n: int) -> str:
        body = {"model": MODEL, "messages": MESSAGES, "stream": True, "max_tokens": n}
        async with self.http.stream("POST", "/chat/completions", json=body) as resp:
            async for _ in resp.aiter_raw():
                pass
        return expected_text(n)  # nothing parsed: the text check does not apply


class AiohttpSSE:
    """Reference: aiohttp's C HTTP parser + agentdeck's SSEDecoder + orjson, no events."""

    label = "ref: aiohttp+SSEDecoder+orjson"

    def __init__(self, base_url: str, limit: int) -> None:
        import aiohttp

        self.url = base_url + "/chat/completions"
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit))

    async def one(self, n: int) -> str:
        import orjson

        from agentdeck.client.sse import SSEDecoder

        body = {"model": MODEL, "messages": MESSAGES, "stream": True, "max_tokens": n}
        parts = []
        feed = SSEDecoder().feed
        async with self.session.post(self.url, json=body) as resp:
            async for raw in resp.content.iter_any():
                for data in feed(raw):
                    if data == b"[DONE]":
                        break
                    for choice in orjson.loads(data)["choices"]:
                        content = choice["delta"].get("content")
                        if content:
                            parts.append(content)
        return "".join(parts)

    async def close(self) -> None:
        await self.session.close()


CLIENTS = {
    "floor": HttpxFloor,
    "aiohttp": AiohttpSSE,
    "naive": Naive,
    "openai": OpenAISDK,
    "agentdeck": AgentDeckStream,
    "agentdeck-call": AgentDeckCallStream,
}


def raise_fd_limit(want: int = 8192) -> None:
    """Lift the soft open-files limit (often 1024) so 1000 sockets fit, where the OS allows."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def agentdeck_available() -> bool:
    """True once ``agentdeck.client`` exists; an import error inside it is raised, not hidden."""
    import importlib.util

    if importlib.util.find_spec("agentdeck.client") is None:
        return False
    from agentdeck.client.vllm import VLLMModel  # noqa: F401

    return True


def usable(names: list[str]) -> list[str]:
    """``names`` minus the clients whose library is missing (each skipped with a note).

    The openai SDK comes with the ``bench`` extra; CI's smoke test runs without it.
    """
    import importlib.util

    out = []
    for name in names:
        if name.startswith("agentdeck") and not agentdeck_available():
            print(f"note: agentdeck.client is not importable yet; {name} not measured")
        elif name == "openai" and importlib.util.find_spec("openai") is None:
            print("note: the openai SDK is not installed (pip install -e '.[bench]'); not measured")
        else:
            out.append(name)
    return out


def make_client(name: str, base_url: str, limit: int = 100):
    """A fresh client of kind ``name`` (a key of ``CLIENTS``)."""
    return CLIENTS[name](base_url, limit)
