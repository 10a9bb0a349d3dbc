"""The simulator answers bad requests with vLLM's (and FastAPI's) exact status codes and bodies."""

from __future__ import annotations

import httpx
import pytest

from agentdeck.sim import SimConfig, SimServer

MESSAGES = [{"role": "user", "content": "hi"}]


async def request(sim: SimServer, method: str, path: str, **kw) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.request(method, sim.root_url + path, **kw)


async def test_api_key_guards_v1_routes_with_vllms_bare_401() -> None:
    async with SimServer(SimConfig(api_key="sekrit-key", tokens_per_s=0, ttft=0)) as sim:
        missing = await request(sim, "GET", "/v1/models")
        wrong = await request(
            sim,
            "POST",
            "/v1/chat/completions",
            json={"messages": MESSAGES},
            headers={"Authorization": "Bearer nope"},
        )
        right = await request(
            sim, "GET", "/v1/models", headers={"Authorization": "Bearer sekrit-key"}
        )
        health = await request(sim, "GET", "/health")
    for r in (missing, wrong):
        assert r.status_code == 401
        assert r.content == b'{"error":"Unauthorized"}'
        assert r.headers["content-type"] == "application/json"
    assert right.status_code == 200
    assert health.status_code == 200, "vLLM only guards /v1 routes"
    assert "sekrit" not in repr(sim.config), "the key never shows in a repr or log line"


@pytest.mark.parametrize("stream", [False, True])
async def test_unknown_model_is_vllms_404_even_when_streaming(stream: bool) -> None:
    async with SimServer(SimConfig(models=("tiny-llama",))) as sim:
        r = await request(
            sim,
            "POST",
            "/v1/chat/completions",
            json={"model": "no-such-model", "messages": MESSAGES, "stream": stream},
        )
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/json"
    assert r.content == (
        b'{"error":{"message":"The model `no-such-model` does not exist. Valid aliases: tiny-llama.",'
        b'"type":"NotFoundError","param":"model","code":404}}'
    )


async def test_unknown_route_and_wrong_method_use_fastapis_detail() -> None:
    async with SimServer() as sim:
        route = await request(sim, "GET", "/v1/nope")
        method = await request(sim, "GET", "/v1/chat/completions")
    assert (route.status_code, route.content) == (404, b'{"detail":"Not Found"}')
    assert (method.status_code, method.content) == (405, b'{"detail":"Method Not Allowed"}')


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"model":',
            b"{\"error\":{\"message\":\"1 validation error:\\n  {'type': 'json_invalid', 'loc': 'body.9', "
            b"'msg': 'JSON decode error', 'input': '<dict of 0 items>', 'ctx': {'error': 'Expecting value'}}\","
            b'"type":"Bad Request","param":"body.9","code":400}}',
        ),
        (
            b'{"model":"sim-model"}',
            b"{\"error\":{\"message\":\"1 validation error:\\n  {'type': 'missing', 'loc': 'body.messages', "
            b"'msg': 'Field required', 'input': '<dict of 1 items>'}\","
            b'"type":"Bad Request","param":"body.messages","code":400}}',
        ),
        (
            b'{"model":"sim-model","messages":[{"role":"user","content":"hi"}],"temperature":-1}',
            b'{"error":{"message":"temperature must be non-negative, got -1.0. (parameter=temperature, '
            b'value=-1.0)","type":"BadRequestError","param":"temperature","code":400}}',
        ),
        (
            b'{"model":"sim-model","messages":[{"role":"user","content":"hi"}],"max_tokens":5000}',
            b'{"error":{"message":"max_tokens=5000 cannot be greater than max_model_len=1024. Please request '
            b'fewer output tokens. (parameter=max_tokens, value=5000)","type":"BadRequestError",'
            b'"param":"max_tokens","code":400}}',
        ),
        (
            b'{"model":"sim-model","messages":[{"role":"user","content":"'
            + b"word " * 1100
            + b'"}]}',
            b'{"error":{"message":"This model\'s maximum context length is 1024 tokens. However, your prompt '
            b"contains at least 1025 input tokens, which exceeds this limit even without any output tokens. "
            b'Please reduce the length of the input prompt. (parameter=input_tokens, value=1025)",'
            b'"type":"BadRequestError","param":"input_tokens","code":400}}',
        ),
    ],
    ids=["bad-json", "missing-messages", "negative-temperature", "max-tokens", "prompt-too-long"],
)
async def test_bad_requests_get_vllms_exact_400(body: bytes, expected: bytes) -> None:
    async with SimServer(SimConfig(max_model_len=1024)) as sim:
        for stream in (False, True):
            sent = body if not stream or body == b'{"model":' else body[:-1] + b',"stream":true}'
            r = await request(
                sim,
                "POST",
                "/v1/chat/completions",
                content=sent,
                headers={"content-type": "application/json"},
            )
            assert r.status_code == 400
            assert r.headers["content-type"] == "application/json", (
                "errors are plain JSON, never SSE"
            )
            # The streaming variant's body has one more field, which the message counts.
            assert r.content == (
                expected.replace(b"<dict of 1 items>", b"<dict of 2 items>") if stream else expected
            )
        assert sim.stats.by_status[400] == 2


async def test_unknown_sim_option_names_the_key() -> None:
    async with SimServer() as sim:
        r = await request(
            sim,
            "POST",
            "/v1/chat/completions",
            json={"messages": MESSAGES, "sim": {"fualt": "stall"}},
        )
        bad_kind = await request(
            sim,
            "POST",
            "/v1/chat/completions",
            json={"messages": MESSAGES, "sim": {"fault": "explode"}},
        )
    assert r.status_code == 400 and "fualt" in r.json()["error"]["message"]
    assert bad_kind.status_code == 400 and "explode" in bad_kind.json()["error"]["message"]


def detail(kind: str, loc: str, msg: str, value: str) -> dict:
    """A vLLM validation error body, as the real peer sent it."""
    message = f"1 validation error:\n  {{'type': '{kind}', 'loc': '{loc}', 'msg': '{msg}', "
    message += f"'input': '{value}'}}"
    return {"error": {"message": message, "type": "Bad Request", "param": loc, "code": 400}}


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            {"max_tokens": "x"},
            detail(
                "int_parsing",
                "body.max_tokens",
                "Input should be a valid integer, unable to parse string as an integer",
                "x",
            ),
        ),
        (
            {"max_tokens": 5.5},
            detail(
                "int_from_float",
                "body.max_tokens",
                "Input should be a valid integer, got a number with a fractional part",
                "5.5",
            ),
        ),
        (
            {"max_tokens": [1]},
            detail(
                "int_type",
                "body.max_tokens",
                "Input should be a valid integer",
                "<list of 1 items>",
            ),
        ),
        (
            {"temperature": "abc"},
            detail(
                "float_parsing",
                "body.temperature",
                "Input should be a valid number, unable to parse string as a number",
                "abc",
            ),
        ),
        (
            {"max_tokens": 0},
            {
                "error": {
                    "message": "max_tokens must be at least 1, got 0. (parameter=max_tokens, value=0)",
                    "type": "BadRequestError",
                    "param": "max_tokens",
                    "code": 400,
                }
            },
        ),
        (
            {"n": 0},
            {
                "error": {
                    "message": "n must be at least 1, got 0.",
                    "type": "BadRequestError",
                    "param": None,
                    "code": 400,
                }
            },
        ),
    ],
)
async def test_bad_values_get_the_peers_exact_400(extra: dict, expected: dict) -> None:
    """Bodies copied from what the vLLM 0.32 peer answered to the same requests."""
    async with SimServer() as sim:
        r = await request(sim, "POST", "/v1/chat/completions", json={"messages": MESSAGES, **extra})
    assert r.status_code == 400 and r.json() == expected


async def test_lax_values_are_accepted_like_pydantic() -> None:
    body = {"messages": MESSAGES, "max_tokens": " 3 ", "temperature": "0.5", "n": True}
    async with SimServer(SimConfig(tokens_per_s=0, ttft=0)) as sim:
        r = await request(sim, "POST", "/v1/chat/completions", json=body)
    assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] == 3
