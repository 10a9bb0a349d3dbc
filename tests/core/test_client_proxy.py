"""The client's way to the server: HTTP(S)_PROXY / NO_PROXY, credentials in the URL, DNS."""

from __future__ import annotations

import pytest
from servers import Conn, Request, ScriptServer, chunk_obj

from agentdeck.client.vllm import VLLMModel
from agentdeck.errors import ConnectError

MSG = [{"role": "user", "content": "hi"}]
KEY = "sk-proxy-test-key-93"
TARGET = "http://api.invalid:8000/v1"  # .invalid never resolves: only a proxy can reach it


async def reply_ok(request: Request, conn: Conn) -> None:
    await conn.start_stream()
    await conn.event(chunk_obj("ok", finish="stop"))
    await conn.chunk(b"data: [DONE]\n\n")
    await conn.end()


@pytest.fixture(autouse=True)
def no_proxy_env(monkeypatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


async def test_http_proxy_is_used_and_gets_only_its_own_credentials(monkeypatch) -> None:
    async with ScriptServer(reply_ok) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.root.replace("http://", "http://px:px-pass-77@"))
        async with VLLMModel("m", TARGET, KEY) as model:
            assert (await model.complete(MSG)).text == "ok"
    (request,) = proxy.requests
    assert request.path == TARGET + "/chat/completions"  # absolute form: a proxy request
    assert request.headers["proxy-authorization"] == "Basic cHg6cHgtcGFzcy03Nw=="
    assert request.headers["authorization"] == f"Bearer {KEY}"


async def test_no_proxy_bypasses_the_proxy_and_a_dns_failure_is_not_retried(monkeypatch) -> None:
    async with ScriptServer(reply_ok) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.root)
        monkeypatch.setenv("NO_PROXY", "api.invalid")
        async with VLLMModel("m", TARGET, backoff_base=0.01) as model:
            events = []
            with pytest.raises(ConnectError, match="cannot resolve host api.invalid"):
                async for event in model.stream(MSG):
                    events.append(event)
    assert events == [] and proxy.requests == []  # one attempt, straight to the (absent) host


@pytest.mark.parametrize(("key", "expected"), [
    (None, "Basic dXNlcjpwQHNz"),  # user / p@ss, percent-decoded from the URL
    (KEY, f"Bearer {KEY}"),  # the key wins; the URL's credentials are dropped
])
async def test_credentials_in_the_url_are_basic_auth_unless_there_is_a_key(key, expected) -> None:
    async with ScriptServer(reply_ok) as srv:
        url = srv.url.replace("http://", "http://user:p%40ss@")
        async with VLLMModel("m", url, key) as model:
            assert model.base_url == srv.url and "p%40ss" not in repr(model)
            assert (await model.complete(MSG)).text == "ok"
    (request,) = srv.requests
    assert request.headers["authorization"] == expected
