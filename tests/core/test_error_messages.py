"""The lines a user reads when a request fails, word for word (the README quotes them).

Each names the setting a user can change (``--base-url``, not the Python parameter
``api_url``), says true things about keys, and never shows aiohttp's internals (a "400"
that is no HTTP status, ``ssl:default`` for a plain http:// URL).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver
from reliability_support import one_line
from servers import Conn, Request, ScriptServer, chunk_obj
from systems_support import ThreadedSim

from agentdeck.cli import main
from agentdeck.client.vllm import VLLMModel
from agentdeck.errors import ConnectError, ProtocolError, StreamDisconnectedError
from agentdeck.store.runs import RunStore

MSG = [{"role": "user", "content": "hi"}]
KEY = "sk-h7-distinctive-key-0042"
KEY_HINT = (
    "set AGENTDECK_API_KEY, --api-key-env VAR, or the profile's api_key / api_key_env in "
    "config.toml (VLLM_API_KEY goes with VLLM_API_URL, OPENAI_API_KEY with OPENAI_BASE_URL)"
)


def failed_line(capsys, argv: list[str]) -> tuple[int, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, one_line(err)


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    return port


def test_404_names_the_base_url_setting_users_have(capsys) -> None:
    with ThreadedSim() as sim:
        url = f"{sim.root_url}/api/v1"
        code, line = failed_line(capsys, ["ask", "Hi", "--base-url", url])
    assert code == 1
    assert line == (f"agentdeck: request failed: GET {url}/models answered 404 Not Found: "
                    "Not Found (is --base-url, VLLM_API_URL or the profile's base_url the "
                    "server's /v1 URL?)")


@pytest.mark.parametrize(("key", "said"), [(None, "no API key was sent"),
                                           ("wrong-key-1234", "the API key was rejected")])
def test_401_says_where_a_key_goes_and_that_it_follows_its_endpoint(
    capsys, monkeypatch, key: str | None, said: str
) -> None:
    with ThreadedSim(api_key=KEY) as sim:
        monkeypatch.setenv("VLLM_API_URL", sim.base_url)
        if key:
            monkeypatch.setenv("VLLM_API_KEY", key)
        code, line = failed_line(capsys, ["ask", "Hi", "--model", "sim-model"])
    assert code == 5
    host = sim.root_url.split("://", 1)[1]
    assert line == (f"agentdeck: authentication: 401 Unauthorized from {host}: Unauthorized "
                    f"({said}): {KEY_HINT}")
    assert KEY not in line and (key is None or key not in line)


def test_a_stream_cut_mid_answer_reads_as_a_cut_not_a_400(capsys) -> None:
    with ThreadedSim() as sim:
        code = main(["ask", "Hi [[sim fault=disconnect after=3]]", "--base-url", sim.base_url,
                     "--model", "sim-model"])
    out, err = capsys.readouterr()
    line = one_line(err)
    assert code == 1
    assert re.fullmatch(
        rf"agentdeck: request failed: connection to {re.escape(sim.base_url)} closed "
        r"mid-response \(chunked body incomplete\): a proxy or load balancer cutting long "
        r"streams, or a server crash\? \(request id chatcmpl-\w+\)",
        line,
    ), line
    assert "400" not in line and "TransferEncodingError" not in line
    (run,) = RunStore().list_runs()  # the worker keeps exactly the text that arrived
    worker = run.workers[0]
    assert worker["error_kind"] == "StreamDisconnectedError"
    assert run.read_text("agent") and out.startswith(run.read_text("agent"))


def cut_after(length: int | None):
    """Two chunks of an answer, then the connection drops: chunked, or short of its length."""

    async def handler(request: Request, conn: Conn) -> None:
        if length is None:
            await conn.start_stream()
            for piece in ("Hel", "lo"):
                await conn.event(chunk_obj(piece))
        else:
            events = b"".join(b"data: %s\n\n" % json.dumps(chunk_obj(p)).encode()
                              for p in ("Hel", "lo"))
            head = f"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {length}"
            conn.writer.write(head.encode() + b"\r\n\r\n" + events)
            await conn.writer.drain()
        await asyncio.sleep(0.01)
        conn.cut()

    return handler


async def stream_cut(length: int | None) -> StreamDisconnectedError:
    async with ScriptServer(cut_after(length)) as srv:
        async with VLLMModel("m", srv.url, max_attempts=3, backoff_base=0.001) as model:
            with pytest.raises(StreamDisconnectedError) as info:
                await model.complete(MSG)
    assert len(srv.requests) == 1  # text had flowed: not resent
    return info.value


async def test_cut_chunked_and_short_bodies_are_explained_with_partial_text_kept() -> None:
    error = await stream_cut(None)
    assert error.partial == "Hello"
    assert "closed mid-response (chunked body incomplete): a proxy or load balancer" in str(error)
    error = await stream_cut(100_000)
    assert error.partial == "Hello"
    assert "closed mid-response (body shorter than its Content-Length)" in str(error)
    assert "400" not in str(error)


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_cannot_connect_shows_host_port_and_the_os_reason_without_ssl_noise(
    scheme: str,
) -> None:
    port = closed_port()
    url = f"{scheme}://127.0.0.1:{port}/v1"
    async with VLLMModel("m", url, max_attempts=1) as model:
        with pytest.raises(ConnectError) as info:
            await model.complete(MSG)
    tls = " over TLS" if scheme == "https" else ""
    assert str(info.value) == (f"cannot connect to {url}/chat/completions: Connection refused at "
                               f"127.0.0.1:{port}{tls} (is the server running?)")


async def test_a_proxy_that_refuses_is_named_as_the_proxy(monkeypatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    port = closed_port()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    async with VLLMModel("m", "http://api.invalid/v1", max_attempts=1) as model:
        with pytest.raises(ConnectError) as info:
            await model.complete(MSG)
    assert str(info.value) == ("proxy failed for http://api.invalid/v1/chat/completions: "
                               f"Connection refused at the proxy 127.0.0.1:{port}")


class _Resolver(AbstractResolver):
    """Resolves every name as told: to both loopback addresses, or not at all."""

    def __init__(self, found: bool) -> None:
        self.found = found

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list:
        if not self.found:
            raise OSError(-2, "Name or service not known")
        return [{"hostname": host, "host": addr, "port": port, "family": fam, "proto": 0,
                 "flags": socket.AI_NUMERICHOST}
                for addr, fam in (("::1", socket.AF_INET6), ("127.0.0.1", socket.AF_INET))]

    async def close(self) -> None:
        pass


@pytest.mark.parametrize("found", [True, False])
async def test_a_named_host_refused_on_every_address_or_unknown_reads_plainly(found) -> None:
    port = closed_port()
    url = f"http://gpu-box:{port}/v1"
    connector = aiohttp.TCPConnector(resolver=_Resolver(found))
    async with aiohttp.ClientSession(connector=connector) as session:
        async with VLLMModel("m", url, max_attempts=1, http_client=session) as model:
            with pytest.raises(ConnectError) as info:
                await model.complete(MSG)
    if found:  # aiohttp says "Multiple exceptions: [Errno 111] Connect call failed (...), ..."
        assert str(info.value) == (f"cannot connect to {url}/chat/completions: Connection "
                                   f"refused at gpu-box:{port} (is the server running?)")
    else:
        assert str(info.value) == (
            f"cannot resolve host gpu-box for {url}/chat/completions: Name or service not known"
            " (check the host name in --base-url, VLLM_API_URL or the profile's base_url)"
        )


async def test_a_server_that_does_not_speak_http_is_one_line_without_a_400() -> None:
    async def ssh(request: Request, conn: Conn) -> None:
        conn.writer.write(b"SSH-2.0-OpenSSH_9.6\r\nProtocol mismatch.\r\n")
        await conn.writer.drain()
        conn.cut()

    async with ScriptServer(ssh) as srv:
        async with VLLMModel("m", srv.url, max_attempts=1) as model:
            with pytest.raises(ProtocolError) as info:
                await model.complete(MSG)
    message = str(info.value)
    assert "\n" not in message and "400" not in message, message
    assert message.startswith(f"{srv.url}/chat/completions did not answer with valid HTTP (Bad "
                              "status line: ")
    assert message.endswith("): not an OpenAI-compatible server?")
