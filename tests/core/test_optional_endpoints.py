"""vLLM's optional extras (/tokenize, /detokenize, /metrics, /health, max_model_len) degrade.

Regression (issue 11): a proxy's catch-all answering /tokenize with an HTML page failed a chain
with ProtocolError "answered 200 with a non-JSON body"; a stream or a hung route held the run
for the whole helper timeout and then failed it.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from aiohttp import web
from servers import Conn, Request, ScriptServer
from systems_support import FAST

from agentdeck.client.vllm import VLLMModel
from agentdeck.connect import poll_status
from agentdeck.errors import ConnectError, ModelNotFoundError, ServerError
from agentdeck.sim import SimConfig, SimServer
from agentdeck.systems import ChainOfAgents

MODEL = "m"
MODELS_OK = {"object": "list", "data": [{"id": MODEL, "max_model_len": 4096}]}


async def html(conn: Conn) -> None:
    await conn.respond(200, "<!doctype html><html><body>Welcome to nginx!</body></html>",
                       {"content-type": "text/html; charset=utf-8"})


async def endless_stream(conn: Conn) -> None:
    """A catch-all that streams events and never ends."""
    await conn.start_stream()
    await conn.event({"type": "ping"})
    await asyncio.sleep(60)


async def hang(conn: Conn) -> None:
    await asyncio.sleep(60)


SHAPES = {
    "404": lambda conn: conn.respond(404, {"detail": "Not Found"}),
    "html": html,
    "stream": endless_stream,
    "wrong-json": lambda conn: conn.respond(200, {"object": "error", "ok": True}),
    "timeout": hang,
}
"""Each odd answer an optional route may give, by name."""

CALLS = {
    "/tokenize": (lambda model: model.tokenize("hello"), "/tokenize"),
    "/detokenize": (lambda model: model.detokenize([1, 2]), "/detokenize"),
    "/metrics": (lambda model: model.server_metrics(), "/metrics"),
    "max_model_len": (lambda model: model.max_model_len(), "/v1/models"),
    "/health": (lambda model: model.health(), "/health"),
}
"""Each optional helper and the path it asks."""


def odd_at(path: str, shape: str):
    """A server answering ``path`` with ``shape``; the model list is right on other paths."""

    async def handler(request: Request, conn: Conn) -> None:
        if request.path == path:
            await SHAPES[shape](conn)
        elif request.path == "/v1/models":
            await conn.respond(200, MODELS_OK)
        else:
            await conn.respond(404, {"detail": "Not Found"})

    return handler


ODD = [(helper, shape) for helper in CALLS for shape in SHAPES
       if (helper, shape) != ("/health", "wrong-json")]  # any JSON 200 is a healthy server


@pytest.mark.parametrize(("helper", "shape"), ODD)
async def test_an_odd_answer_is_none_and_said_once(helper: str, shape: str, caplog) -> None:
    call, path = CALLS[helper]
    caplog.set_level(logging.WARNING, "agentdeck.client")
    async with ScriptServer(odd_at(path, shape)) as srv:
        async with VLLMModel(MODEL, srv.url, "sk-secret-123") as model:
            model.helper_timeout = 0.5
            started = time.perf_counter()
            assert await call(model) is None
            assert await call(model) is None
            took = time.perf_counter() - started
    if shape != "timeout":  # a page or a stream is not read to its end
        assert took < 0.5
    warnings = [r.getMessage() for r in caplog.records if r.name == "agentdeck.client"]
    assert len(warnings) == 1, warnings
    assert helper in warnings[0] and MODEL in warnings[0]
    assert "sk-secret-123" not in warnings[0] and len(warnings[0]) < 300


async def test_each_route_is_said_once_per_model(caplog) -> None:
    caplog.set_level(logging.WARNING, "agentdeck.client")

    async def handler(request: Request, conn: Conn) -> None:
        await html(conn)

    async with ScriptServer(handler) as srv:
        for _ in range(2):
            async with VLLMModel(MODEL, srv.url) as model:
                for _ in range(3):
                    assert await model.tokenize("x") is None
                    assert await model.server_metrics() is None
    said = [r for r in caplog.records if r.name == "agentdeck.client"]
    assert len(said) == 4  # two models x two routes


async def test_the_vllm_answers_still_count() -> None:
    """The odd-answer paths leave the real answers alone (window, tokens, a 200 health)."""
    async with SimServer(SimConfig(**FAST, max_model_len=1024)) as sim:
        async with VLLMModel(sim.config.models[0], sim.base_url) as model:
            assert await model.max_model_len() == 1024
            ids = await model.tokenize("hello there")
            assert ids and await model.detokenize(ids) is not None
            assert await model.health() is not None
            assert await model.server_metrics()


async def test_an_unreachable_server_still_raises() -> None:
    async with ScriptServer(odd_at("/x", "404")) as srv:
        url = srv.url
    async with VLLMModel(MODEL, url) as model:
        for helper in ("/tokenize", "/metrics", "max_model_len", "/health"):
            with pytest.raises(ConnectError):
                await CALLS[helper][0](model)
        status = await poll_status(model)
    assert not status.healthy and status.error == "ConnectError"


async def test_an_unknown_model_still_raises() -> None:
    async def handler(request: Request, conn: Conn) -> None:
        await conn.respond(404, {"object": "error", "message": "The model `x` does not exist.",
                                 "type": "NotFoundError", "code": 404})

    async with ScriptServer(handler) as srv:
        async with VLLMModel("x", srv.url) as model:
            with pytest.raises(ModelNotFoundError):
                await model.tokenize("hi")


async def test_an_unhealthy_server_still_shows_unhealthy() -> None:
    async def handler(request: Request, conn: Conn) -> None:
        await conn.respond(503 if request.path == "/health" else 200, MODELS_OK)

    async with ScriptServer(handler) as srv:
        async with VLLMModel(MODEL, srv.url) as model:
            with pytest.raises(ServerError):
                await model.health()
            status = await poll_status(model)
    assert not status.healthy


@pytest.mark.parametrize("shape", ["404", "html", "stream", "timeout"])
async def test_the_poll_times_the_model_list_when_health_is_odd(shape: str) -> None:
    """A catch-all /health says nothing: the poll times /v1/models and shows no gauges."""
    async with ScriptServer(odd_at("/health", shape)) as srv:
        async with VLLMModel(MODEL, srv.url) as model:
            model.helper_timeout = 0.5
            status = await poll_status(model)
    assert status.healthy and status.latency_ms is not None
    assert status.running is None and status.kv_cache is None


class HtmlTokenizeSim(SimServer):
    """The simulator behind a proxy whose catch-all answers /tokenize with a web page."""

    async def _tokenize(self, request: web.Request) -> web.Response:
        return web.Response(text="<html><body>Not here</body></html>", content_type="text/html")

    async def _detokenize(self, request: web.Request) -> web.Response:
        return web.Response(text="<html><body>Not here</body></html>", content_type="text/html")


async def test_a_chain_with_an_html_tokenize_runs_on_the_character_estimate() -> None:
    """Regression: ProtocolError "answered 200 with a non-JSON body" failed the chain."""
    text = "".join(f"Sentence {i} tells about topic {i % 7}. " for i in range(200))
    async with HtmlTokenizeSim(SimConfig(**FAST, max_model_len=2048)) as sim:
        async with VLLMModel(sim.config.models[0], sim.base_url) as model:
            chain = ChainOfAgents("c", model, store=False)
            answer = await chain.run("Which sentences mention topic 3?", text, max_tokens=64)
    assert answer
    assert not chain.last_result.budget.exact
    assert len(chain.last_result.chunks) > 1


async def test_no_tokens_for_some_text_is_an_odd_answer_not_a_count_of_zero() -> None:
    """Review finding: llama.cpp's /tokenize (it wants "content") answers {"tokens": []}, which
    was taken as an exact 0 tokens, so every text counted as empty."""

    async def handler(request: Request, conn: Conn) -> None:
        await conn.respond(200, {"tokens": []} if request.path == "/tokenize" else MODELS_OK)

    async with ScriptServer(handler) as srv:
        async with VLLMModel(MODEL, srv.url) as model:
            assert await model.tokenize("hello") is None
            assert await model.tokenize("") == []
