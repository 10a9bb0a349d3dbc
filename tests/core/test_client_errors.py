"""Every error class and body shape, as a user sees it, over real loopback sockets."""

from __future__ import annotations

import asyncio
import socket

import pytest
from servers import Conn, Request, ScriptServer, chunk_obj, sample_body

from agentdeck.client.vllm import VLLMModel
from agentdeck.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ConflictError,
    ConnectError,
    ContextLengthError,
    MalformedChunkError,
    ModelNotFoundError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitError,
    ServerError,
    ServerStreamError,
    StreamDisconnectedError,
    TruncatedStreamError,
)

MSG = [{"role": "user", "content": "hi"}]
KEY = "sk-very-secret-key-42"
MODELS = {"object": "list", "data": [{"id": "tiny-llama", "max_model_len": 1024},
                                     {"id": "other", "max_model_len": 2048}]}


def answer(status: int, body, headers: dict | None = None):
    async def handler(request: Request, conn: Conn) -> None:
        if request.path == "/v1/models":
            await conn.respond(200, MODELS)
        else:
            await conn.respond(status, body, headers)

    return handler


async def fail_with(status: int, body, *, key: str | None = None, headers=None, **kw):
    async with ScriptServer(answer(status, body, headers)) as srv:
        async with VLLMModel("tiny-llama", srv.url, key, max_attempts=1, **kw) as model:
            with pytest.raises(APIStatusError) as info:
                await model.complete(MSG)
    return info.value, srv


def raw_sample(name: str) -> bytes:
    return sample_body(name).rstrip(b"\n")


async def test_401_bare_string_names_env_var_and_hides_key() -> None:
    error, _ = await fail_with(401, raw_sample("err_401_nokey.body"), key=KEY,
                               headers={"content-type": "application/json",
                                        "x-request-id": f"req-{KEY}"})
    assert isinstance(error, AuthenticationError) and error.status == 401
    assert "Unauthorized" in error.message and "AGENTDECK_API_KEY" in str(error)
    assert "VLLM_API_KEY" in str(error) and "the API key was rejected" in str(error)
    assert KEY not in str(error) and KEY not in repr(error.args)


async def test_401_without_key_says_none_was_sent() -> None:
    error, _ = await fail_with(401, {"error": "Unauthorized"})
    assert "no API key was sent" in str(error)


async def test_key_never_in_any_message_even_when_server_echoes_it() -> None:
    error, _ = await fail_with(400, {"error": {"message": f"bad key {KEY}"}}, key=KEY)
    assert KEY not in str(error) and "***" in str(error)


async def test_403_is_permission_denied() -> None:
    error, _ = await fail_with(403, {"detail": "Forbidden"}, key=KEY)
    assert isinstance(error, PermissionDeniedError) and "AGENTDECK_API_KEY" in str(error)


async def test_404_unknown_model_lists_served_models() -> None:
    error, srv = await fail_with(404, raw_sample("err_404_model.body"),
                                 headers={"content-type": "application/json"})
    assert isinstance(error, ModelNotFoundError)
    assert error.available == ["tiny-llama", "other"]
    assert "Served models: tiny-llama, other" in str(error)
    assert "does not exist" in str(error)  # it lists the model: what the server said counts
    assert [r.path for r in srv.requests] == ["/v1/chat/completions", "/v1/models"]


async def test_404_route_fastapi_detail() -> None:
    error, _ = await fail_with(404, {"detail": "Not Found"})
    assert type(error) is NotFoundError
    assert "Not Found" in str(error) and "/v1" in str(error)


@pytest.mark.parametrize("name", ["err_400_max_tokens.body", "err_400_prompt_too_long.body"])
async def test_400_context_length(name: str) -> None:
    error, _ = await fail_with(400, raw_sample(name), headers={"content-type": "application/json"})
    assert isinstance(error, ContextLengthError) and error.status == 400
    assert "context window" in str(error) and "1024" in str(error)


async def test_400_validation_and_422_fastapi_list() -> None:
    error, _ = await fail_with(400, raw_sample("err_400_bad_temperature.body"))
    assert type(error) is BadRequestError and "temperature must be non-negative" in str(error)
    detail = {"detail": [{"loc": ["body", "messages"], "msg": "Field required"}]}
    error, _ = await fail_with(422, detail)
    assert type(error) is BadRequestError and "body.messages: Field required" in str(error)


async def test_html_body_says_not_openai_compatible() -> None:
    page = "<html><body><h1>502 Bad Gateway</h1>\n<p>nginx</p></body></html>"
    error, _ = await fail_with(502, page, headers={"content-type": "text/html"})
    assert isinstance(error, ServerError)
    assert "not an OpenAI-compatible server?" in str(error) and "502 Bad Gateway" in str(error)


@pytest.mark.parametrize(
    ("status", "cls"),
    [(408, ConflictError), (409, ConflictError), (429, RateLimitError), (500, ServerError),
     (503, ServerError)],
)
async def test_status_classes(status: int, cls: type) -> None:
    error, _ = await fail_with(status, {"error": {"message": "busy", "type": "X", "code": status}},
                               headers={"x-request-id": "rid-1"})
    assert type(error) is cls and error.status == status and error.request_id == "rid-1"
    assert "busy" in str(error) and "rid-1" in str(error)


async def test_redirect_to_other_host_not_followed() -> None:
    hits = []

    async def other(request: Request, conn: Conn) -> None:
        hits.append(request)
        await conn.respond(200, {})

    async with ScriptServer(other) as evil:
        location = evil.url + "/chat/completions"
        error, srv = await fail_with(307, b"", key=KEY, headers={"location": location})
    assert type(error) is APIStatusError and error.status == 307
    assert "not followed" in str(error) and location in str(error)
    assert hits == [] and len(srv.requests) == 1


async def test_connection_refused() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    async with VLLMModel("m", f"http://127.0.0.1:{port}/v1", max_attempts=1) as model:
        with pytest.raises(ConnectError, match="cannot connect") as info:
            await model.complete(MSG)
    assert isinstance(info.value.__cause__, Exception)


async def test_closed_before_response_is_protocol_error() -> None:
    async def hang_up(request: Request, conn: Conn) -> None:
        conn.cut()

    async with ScriptServer(hang_up) as srv:
        async with VLLMModel("m", srv.url, max_attempts=1) as model:
            with pytest.raises(ProtocolError, match="closed the connection"):
                await model.complete(MSG)


def test_bad_api_url_is_config_error() -> None:
    with pytest.raises(ConfigError, match="needs a scheme"):
        VLLMModel("m", "localhost:8000/v1")
    with pytest.raises(ConfigError, match="http:// or https://"):
        VLLMModel("m", "ftp://x/v1")


# ------------------------------------------------------------------ errors inside a 200 stream


def stream_then(objs: list, tail: str):
    async def handler(request: Request, conn: Conn) -> None:
        await conn.start_stream()
        for obj in objs:
            await (conn.chunk(obj) if isinstance(obj, bytes) else conn.event(obj))
        await asyncio.sleep(0.01)
        if tail == "cut":
            conn.cut()
        elif tail == "end":
            await conn.end()

    return handler


async def stream_error(objs: list, tail: str = "end", **kw):
    async with ScriptServer(stream_then(objs, tail)) as srv:
        async with VLLMModel("m", srv.url, max_attempts=3, backoff_base=0.001, **kw) as model:
            with pytest.raises(Exception) as info:
                await model.complete(MSG)
    return info.value, srv


async def test_error_object_inside_200_stream() -> None:
    err = {"error": {"message": "engine died", "type": "InternalServerError", "code": 500}}
    error, srv = await stream_error([chunk_obj("par"), chunk_obj("tial"), err])
    assert isinstance(error, ServerStreamError) and "engine died" in str(error)
    assert error.partial == "partial"
    assert len(srv.requests) == 1  # never retried after text was delivered


async def test_flat_error_object_inside_stream() -> None:
    error, _ = await stream_error([{"object": "error", "message": "oops", "code": 400}])
    assert isinstance(error, ServerStreamError) and "oops" in str(error)


async def test_malformed_json_chunk() -> None:
    error, _ = await stream_error([chunk_obj("ok"), b"data: {not json\n\n"])
    assert isinstance(error, MalformedChunkError) and error.partial == "ok"
    assert "{not json" in str(error)
    for bad in (b"[1, 2]", b'{"choices": ["x"]}', b'{"choices": [{"index": "a"}]}'):
        error, _ = await stream_error([chunk_obj("ok"), b"data: " + bad + b"\n\n"])
        assert isinstance(error, MalformedChunkError) and error.partial == "ok", bad


async def test_disconnect_mid_stream_keeps_exact_partial() -> None:
    objs = [chunk_obj(""), chunk_obj("Hello"), chunk_obj(", wor"), chunk_obj(reasoning="r")]
    error, srv = await stream_error(objs, "cut")
    assert isinstance(error, StreamDisconnectedError)
    assert error.partial == "Hello, wor" and error.partial_reasoning == "r"
    assert len(srv.requests) == 1


async def test_truncated_stream_without_finish_reason() -> None:
    error, srv = await stream_error([chunk_obj("Hel"), chunk_obj("lo"), b"data: [DONE]\n\n"])
    assert isinstance(error, TruncatedStreamError) and error.partial == "Hello"
    assert "finish reason" in str(error)
    error, _ = await stream_error([chunk_obj("Hel")], "end")  # clean end, no [DONE]
    assert isinstance(error, TruncatedStreamError) and error.partial == "Hel"


def test_missing_ca_bundle_is_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="CA bundle"):
        VLLMModel("m", "https://example.invalid/v1", verify=str(tmp_path / "nope.pem"))


def test_wrong_http_client_type_is_config_error() -> None:
    with pytest.raises(ConfigError, match="aiohttp.ClientSession"):
        VLLMModel("m", "http://127.0.0.1:1/v1", http_client=object())  # type: ignore[arg-type]
