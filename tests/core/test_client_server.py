"""Server helpers (models, health, /metrics, tokenize), odd servers, and connection limits."""

from __future__ import annotations

import asyncio

import pytest
from servers import Conn, Request, ScriptServer, sample_body, simple_handler

from agentdeck.client.metrics import StreamClock, percentile
from agentdeck.client.routes import parse_prometheus_gauges
from agentdeck.client.vllm import VLLMModel
from agentdeck.errors import AuthenticationError, ProtocolError, ServerError

MSG = [{"role": "user", "content": "hi"}]

METRICS = """# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="tiny-llama"} 3.0
vllm:num_requests_running{engine="1",model_name="tiny-llama"} 2.0
vllm:num_requests_waiting{engine="0",model_name="tiny-llama"} 7.0
vllm:num_requests_waiting_by_reason{engine="0",model_name="tiny-llama",reason="capacity"} 9.0
vllm:kv_cache_usage_perc{engine="0",model_name="tiny-llama"} 0.25
vllm:prompt_tokens_total{engine="0",model_name="tiny-llama"} 1234.0
"""


def routes(table: dict):
    """Answer by path: value is (status, body) or (status, body, headers)."""

    async def handler(request: Request, conn: Conn) -> None:
        status, body, *headers = table.get(request.path, (404, {"detail": "Not Found"}))
        await conn.respond(status, body, headers[0] if headers else None)

    return handler


JSON = {"content-type": "application/json"}
VLLM_ROUTES = {
    "/v1/models": (200, sample_body("models.body").rstrip(b"\n"), JSON),
    "/health": (200, b""),
    "/metrics": (200, METRICS, {"content-type": "text/plain"}),
    "/tokenize": (200, {"count": 3, "max_model_len": 1024, "tokens": [1, 283, 79]}),
    "/detokenize": (200, {"prompt": "hello"}),
}


async def test_helpers_against_vllm_shaped_server() -> None:
    async with ScriptServer(routes(VLLM_ROUTES)) as srv:
        async with VLLMModel("tiny-llama", srv.url, "k3y-abc") as model:
            assert [m["id"] for m in await model.list_models()] == ["tiny-llama"]
            assert await model.max_model_len() == 1024
            assert await model.health() >= 0
            assert await model.server_metrics() == {
                "running": 5.0, "waiting": 7.0, "kv_cache_usage": 0.25,
            }
            assert await model.tokenize("hello") == [1, 283, 79]
            assert await model.detokenize([1, 283, 79]) == "hello"
    tokenize = next(r for r in srv.requests if r.path == "/tokenize")
    assert tokenize.json == {"model": "tiny-llama", "prompt": "hello"}
    detok = next(r for r in srv.requests if r.path == "/detokenize")
    assert detok.json == {"model": "tiny-llama", "tokens": [1, 283, 79]}
    assert all(r.headers["authorization"] == "Bearer k3y-abc" for r in srv.requests)


async def test_helpers_on_a_plain_openai_server_return_none() -> None:
    """No /metrics, /tokenize, /detokenize routes and no max_model_len: None, not an error."""
    table = {"/v1/models": (200, {"object": "list", "data": [{"id": "gpt-x"}]})}
    async with ScriptServer(routes(table)) as srv:
        async with VLLMModel("gpt-x", srv.url) as model:
            assert await model.server_metrics() is None
            assert await model.tokenize("x") is None
            assert await model.detokenize([1]) is None
            assert await model.max_model_len() is None


async def test_health_raises_typed_errors() -> None:
    async with ScriptServer(routes({"/health": (503, b"")})) as srv:
        async with VLLMModel("m", srv.url) as model:
            with pytest.raises(ServerError):
                await model.health()
    async with ScriptServer(routes({"/v1/models": (401, {"error": "Unauthorized"})})) as srv:
        async with VLLMModel("m", srv.url) as model:
            with pytest.raises(AuthenticationError, match="AGENTDECK_API_KEY"):
                await model.list_models()


def test_prometheus_parser_old_gauge_name_and_junk() -> None:
    text = 'vllm:gpu_cache_usage_perc{model_name="m"} 0.5\nvllm:num_requests_running 1\nbad line'
    assert parse_prometheus_gauges(text) == {"kv_cache_usage": 0.5, "running": 1.0}
    assert parse_prometheus_gauges("# nothing here\nprocess_cpu_seconds_total 3.0") == {}


async def test_not_http_at_all_is_protocol_error() -> None:
    """Pointing api_url at an SSH port or similar says so instead of hanging."""

    async def ssh(request: Request, conn: Conn) -> None:
        conn.writer.write(b"SSH-2.0-OpenSSH_9.6\r\nProtocol mismatch.\r\n")
        await conn.writer.drain()
        conn.cut()

    async with ScriptServer(ssh) as srv:
        async with VLLMModel("m", srv.url, max_attempts=1) as model:
            with pytest.raises(ProtocolError):
                await model.complete(MSG)


async def test_connection_limit_queues_streams_without_timeouts() -> None:
    """Far more streams than connections: they wait for a free connection, none fails."""
    async with ScriptServer(simple_handler(["a", "b"])) as srv:
        async with VLLMModel("m", srv.url, max_connections=3) as model:
            results = await asyncio.gather(*(model.complete(MSG) for _ in range(40)))
    assert [r.text for r in results] == ["ab"] * 40
    assert srv.connections <= 3  # keep-alive connections were reused


async def test_model_reused_after_close_client() -> None:
    async with ScriptServer(simple_handler(["x"])) as srv:
        model = VLLMModel("m", srv.url)
        assert (await model.complete(MSG)).text == "x"
        await model.close_client()
        await model.close_client()  # twice is fine
        assert (await model.complete(MSG)).text == "x"  # a fresh session on demand
        await model.close_client()


def test_metrics_definitions() -> None:
    clock = StreamClock(sent=10.0)
    for t in (10.5, 10.6, 10.8, 11.1):
        clock.token(t)
    m = clock.result(completion_tokens=None, end=11.5)
    assert m.ttft == pytest.approx(0.5) and m.e2e == pytest.approx(1.5)
    assert m.output_tokens == 4 and m.tokens_per_s == pytest.approx(4 / 1.5)
    assert m.itl_mean == pytest.approx(0.2) and m.tpot == pytest.approx(1.0 / 3)
    assert m.itl_p99 == pytest.approx(percentile([0.1, 0.2, 0.3], 99))
    assert clock.result(completion_tokens=9, end=11.5).output_tokens == 9
    empty = StreamClock(sent=1.0).result(end=2.0)
    assert empty.ttft is None and empty.itl_mean is None and empty.output_tokens == 0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
