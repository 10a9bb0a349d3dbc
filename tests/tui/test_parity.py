"""Parameter parity: the CLI and the app send the same request bodies for the same settings.

Issue 10: the app sent only temperature and max_tokens, so ``top_p``, ``seed``, ``stop`` and
vLLM extras such as ``top_k`` from ``config.toml`` never reached the server from the app.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from apptools import connected, send

from agentdeck import paths
from agentdeck.cli import main
from agentdeck.config.params import run_params
from agentdeck.config.settings import load_settings
from agentdeck.tui.app import AgentDeckApp

MODEL = "parity-model"
ANSWER = ["The", " answer", " is", " 42", ".\n\nAnswer: 42"]
"""Every reply: the same for every request, so a debate's later rounds match too."""


def _chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> bytes:
    choices = [] if delta is None else [
        {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    doc = {"id": "chatcmpl-parity", "object": "chat.completion.chunk", "created": 1,
           "model": MODEL, "choices": choices, **extra}
    return b"data: " + json.dumps(doc).encode() + b"\n\n"


class RecordingServer:
    """A vLLM-shaped aiohttp server on its own loop in a thread, keeping every chat body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.bodies.append(await request.json())
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        await response.write(_chunk({"role": "assistant", "content": ""}))
        for piece in ANSWER:
            await response.write(_chunk({"content": piece}))
        await response.write(_chunk({"content": ""}, finish="stop", stop_reason=None))
        usage = {"prompt_tokens": 9, "total_tokens": 14, "completion_tokens": 5}
        await response.write(_chunk(None, usage=usage))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [
            {"id": MODEL, "object": "model", "owned_by": "vllm", "max_model_len": 4096}]})

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response()

    async def _start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/health", self._health)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}/v1"

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._runner is not None
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def take(self) -> list[dict[str, Any]]:
        """The bodies so far, in a stable order (parallel calls arrive in any order)."""
        bodies, self.bodies = self.bodies, []
        return sorted(bodies, key=lambda body: json.dumps(body, sort_keys=True))


def write_config(url: str) -> Path:
    path = paths.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        'default_profile = "box"\n'
        "[params]\n"
        "top_p = 0.8\nseed = 11\n"
        'stop = ["\\n\\n\\n"]\n'
        "top_k = 20\n"
        f'[profiles.box]\nbase_url = "{url}"\nmodel = "{MODEL}"\n'
    )
    return path


PROMPT = "Which number answers everything?"
CASES = [
    pytest.param(["ask", PROMPT], "basic", {}, id="ask"),
    pytest.param(["multi", "-n", "3", PROMPT, "--aggregate", "synthesize"], "multi",
                 {"num_calls": 3, "aggregate": "synthesize"}, id="multi"),
    pytest.param(["debate", PROMPT, "--agents", "2", "--rounds", "1"], "debate",
                 {"num_calls": 2, "rounds": 1}, id="debate"),
]


@pytest.mark.parametrize(("argv", "system", "fields"), CASES)
async def test_cli_and_app_send_identical_bodies(argv, system, fields, tmp_path, capsys) -> None:
    """Same config.toml, prompt and system: the same bodies, top_p, seed, stop, top_k included."""
    with RecordingServer() as server:
        write_config(server.url)
        cli_argv = [*argv, "--quiet"] + (["--output-dir", str(tmp_path)] if system == "multi"
                                        else [])
        assert await asyncio.to_thread(main, cli_argv) == 0, capsys.readouterr().err
        from_cli = server.take()

        app = AgentDeckApp(load_settings(env={}))
        async with app.run_test(size=(100, 30)) as pilot:
            await connected(pilot)
            aggregate = fields.pop("aggregate", None)
            if aggregate:
                app.screen.query_one("#aggregate").value = aggregate
            live = await send(pilot, PROMPT, system, **fields)
            assert live.status == "done"
        from_app = server.take()

    assert from_cli, "the CLI sent nothing"
    first = from_cli[0]
    assert (first["top_p"], first["top_k"], first["stop"]) == (0.8, 20, ["\n\n\n"])
    assert "seed" in first
    assert from_app == from_cli


def test_one_function_lays_the_app_fields_over_the_settings() -> None:
    """An emptied field is the server's default: that param is not sent at all."""
    settings = load_settings(env={}, flags={"params": {"top_p": 0.5, "top_k": 7},
                                            "temperature": 0.3})
    assert run_params(settings).to_body() == {"temperature": 0.3, "top_p": 0.5, "top_k": 7}
    body = run_params(settings, {"temperature": None, "max_tokens": 64}).to_body()
    assert body == {"max_tokens": 64, "top_p": 0.5, "top_k": 7}
    assert run_params(settings, {"top_k": None}).to_body() == {"temperature": 0.3, "top_p": 0.5}
