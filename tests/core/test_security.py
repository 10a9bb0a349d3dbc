"""Security end to end: the key never leaks, files are private, names stay in their folder,
model text cannot drive the terminal, TLS is verified, and the key goes to one server only."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import ssl
import stat
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web
from reliability_support import ThreadedApp, one_line
from systems_support import FAST as SIM_FAST
from systems_support import ThreadedSim

from agentdeck.cli import main
from agentdeck.cli.output import EventWriter, Output
from agentdeck.client.vllm import VLLMModel
from agentdeck.config.settings import Profile, set_profile
from agentdeck.connect import model_for
from agentdeck.errors import ConfigError, ConnectError
from agentdeck.events import TextDelta
from agentdeck.sim import SimConfig, SimServer
from agentdeck.store.runs import RunStore
from agentdeck.systems import MultiCallSystem

KEY = "sk-agentdeck-SECRET-7f3a9c"
WRONG = "sk-agentdeck-WRONG-0b1d2e"
FAST = ["--max-tokens", "6"]
MSG = [{"role": "user", "content": "hi"}]


def home() -> Path:
    return Path(os.environ["AGENTDECK_HOME"])


def every_file(*roots: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for root in roots for p in root.rglob("*") if p.is_file()}


# ---------------------------------------------------------------------------- the key


def test_a_full_session_never_writes_or_prints_the_key(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("GPU_KEY", KEY)
    monkeypatch.setenv("OTHER_KEY", WRONG)
    doc = tmp_path / "doc.txt"
    doc.write_text("The mill was built in 1820. " * 40)
    printed: list[str] = []
    codes: list[int] = []
    with ThreadedSim(api_key=KEY) as sim:
        set_profile(Profile(name="gpu", base_url=sim.base_url, model="sim-model",
                            api_key_env="GPU_KEY"), make_default=True)
        out_dir = str(tmp_path / "answers")
        for argv in (
            ["ask", "Say hello", *FAST],
            ["ask", "Say hello", "--json", *FAST],
            ["ask", "Say hello", "--events", "--system", "Be brief", *FAST],
            ["multi", "-n", "3", "Name a colour", "--events", "--output-dir", out_dir, *FAST],
            ["multi", "-n", "2", "Name a colour", "--json", "--output-dir", out_dir,
             "--aggregate", "vote", *FAST],
            ["chain", "--file", str(doc), "When was the mill built?", "--json", *FAST],
            ["debate", "Is 7 prime?", "--agents", "2", "--rounds", "1", "--json", *FAST],
            ["models", "--json"],
        ):
            codes.append(main(argv))
            printed.extend(capsys.readouterr())
        assert codes == [0] * len(codes), printed
        # The wrong key: the server answers 401 and the one-line error names the fix.
        assert main(["ask", "x", "--api-key-env", "OTHER_KEY", "--json", "-q"]) == 5
        out, err = capsys.readouterr()
        printed += [out, err]
        assert "authentication: 401" in one_line(err) and "the API key was rejected" in err
        for run in RunStore().list_runs():
            for argv in (["runs", "show", run.run_id, "--json"], ["runs", "show", run.run_id]):
                assert main(argv) == 0
                printed.extend(capsys.readouterr())
    assert len(RunStore().list_runs()) == 8

    files = every_file(home(), tmp_path / "answers")
    assert len(files) > 30
    everything = b"\n".join(files.values()) + "\n".join(printed).encode()
    for secret in (KEY, WRONG):
        assert secret.encode() not in everything
        assert secret[-10:].encode() not in everything  # not even a tail of it
    assert b"Bearer" not in everything


def test_a_key_kept_in_the_config_file_stays_in_that_file(tmp_path, capsys) -> None:
    with ThreadedSim(api_key=KEY) as sim:
        path = set_profile(Profile(name="gpu", base_url=sim.base_url, model="sim-model",
                                   api_key=KEY), make_default=True)
        assert main(["ask", "Say hello", "--json", *FAST]) == 0
        assert main(["multi", "-n", "2", "x", "--output-dir", str(tmp_path / "o"), *FAST]) == 0
    printed = "".join(capsys.readouterr())
    assert KEY not in printed
    holders = [p for p, data in every_file(home(), tmp_path).items() if KEY.encode() in data]
    assert holders == [path]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_files_and_folders_agentdeck_creates_are_owner_only(tmp_path, capsys) -> None:
    set_profile(Profile(name="local", base_url="http://127.0.0.1:1/v1", model="m"))
    assert main(["multi", "-n", "2", "x", "--demo", "--output-dir", str(tmp_path / "o"),
                 *FAST]) == 0
    paths = [home(), *home().rglob("*")]
    assert len(paths) > 8
    for p in paths:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o700 if p.is_dir() else 0o600), f"{p} is {mode:o}"


def test_a_password_inside_the_base_url_is_masked_everywhere(capsys) -> None:
    """Regression: ``http://user:PASSWORD@host`` reached run.json (error, last_retry) and
    stderr through the connection error messages."""
    password = "pw-SECRET-42abc"
    url = f"http://user:{password}@127.0.0.1:1/v1"
    set_profile(Profile(name="basic", base_url=url, model="m", max_retries=1),
                make_default=True)
    assert main(["ask", "x", "--events"]) == 4
    out, err = capsys.readouterr()
    # the client takes user:pass@ out of the URL (it goes as Basic auth), so no message has it
    assert "cannot connect to http://127.0.0.1:1/v1/chat/completions" in err and "user:" not in err
    (run,) = RunStore().list_runs()
    assert run.workers[0]["retries"] == 1 and "127.0.0.1:1/v1" in run.workers[0]["error"]
    files = every_file(home())
    holders = [p for p, data in files.items() if password.encode() in data]
    assert holders == [home() / "config" / "config.toml"]  # where the user put it, 0600
    assert password not in out + err


async def test_the_settings_screen_never_shows_the_key(tmp_path) -> None:
    pytest.importorskip("agentdeck.tui.screens.settings")
    from agentdeck.config.settings import load_settings
    from agentdeck.tui.app import AgentDeckApp
    from agentdeck.tui.screens.settings import SettingsScreen

    async with SimServer(SimConfig(**SIM_FAST, api_key=KEY)) as sim:
        set_profile(Profile(name="gpu", base_url=sim.base_url, model="sim-model", api_key=KEY),
                    make_default=True)
        app = AgentDeckApp(load_settings(env={}))
        async with app.run_test(size=(120, 40)) as pilot:
            await app.workers.wait_for_complete()
            app.action_settings()  # open the settings screen
            await pilot.pause()
            assert isinstance(app.screen, SettingsScreen)
            screenshot = app.export_screenshot()
            app.save_screenshot(filename="settings.svg", path=str(tmp_path))
    assert "gpu" in screenshot
    saved = (tmp_path / "settings.svg").read_text()
    for text in (screenshot, saved):
        assert KEY not in text and KEY[-10:] not in text


# ---------------------------------------------------------------------------- file names


@pytest.mark.parametrize(
    "base",
    ["/etc/passwd", "../../../escape", "..", "a\x00b", "x" * 1000, "C:\\Windows\\evil",
     "-rf", "CON", "dir/../../up", "\x1b]0;title\x07name"],
)
async def test_base_filename_never_escapes_the_output_folder(tmp_path, base) -> None:
    out = tmp_path / "deep" / "out"
    async with SimServer(SimConfig(**SIM_FAST)) as sim:
        async with VLLMModel("sim-model", sim.base_url) as model:
            multi = MultiCallSystem(base, model, store=RunStore(tmp_path / "runs"))
            files = await multi.run("x", 2, str(out), base, max_tokens=3)
    created = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    answers = [p for p in created if p.parent == out and p.name != "manifest.json"]
    assert sorted(Path(v) for v in files.values()) == answers and len(answers) == 2
    assert all(p.is_relative_to(tmp_path / "runs") for p in created
               if p not in answers and p != out / "manifest.json")
    for p in answers:
        assert len(p.name.encode()) <= 255 and not p.name.startswith(("-", "."))
        assert "\x00" not in p.name and "\x1b" not in p.name


@pytest.mark.parametrize("run_id", ["../../etc", "/etc", "..", "a/b", "."])
def test_runs_show_never_reads_outside_the_run_store(capsys, run_id) -> None:
    assert main(["runs", "show", run_id]) == 2
    assert one_line(capsys.readouterr().err) == f"agentdeck: bad input: {run_id!r} is not a run id"


# ---------------------------------------------------------------------------- the terminal

EVIL = ["hi \x1b]52;c;ZXZpbA==\x07", "\x1b[31mred\x1b[0m ", "\x1b]0;pwned\x07title ",
        "\x1b", "[2Jsplit ", "\x9b31mc1 ", "bell\x07 ", "done"]


def sse_chat(pieces: list[str]):
    """A handler streaming ``pieces`` as vLLM-style chunks, then stop, usage and [DONE]."""
    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)

        def chunk(delta: dict, finish: str | None = None) -> bytes:
            doc = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "m",
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            return b"data: " + json.dumps(doc).encode() + b"\n\n"

        await resp.write(chunk({"role": "assistant", "content": ""}))
        for piece in pieces:
            await resp.write(chunk({"content": piece}))
        await resp.write(chunk({}, "stop") + b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp
    return handler


def run_on_pty(argv: list[str]) -> tuple[int, bytes]:
    """Run ``agentdeck argv`` with stdout on a pseudo-terminal; return (exit code, bytes)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "agentdeck", *argv], stdout=slave,
                            stderr=subprocess.PIPE, env=os.environ)
    os.close(slave)
    data = b""
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                data += chunk
            elif proc.poll() is not None:
                break
    finally:
        os.close(master)
        proc.wait(30)
        proc.stderr.close()
    return proc.returncode, data


def test_model_text_cannot_act_on_the_terminal() -> None:
    with ThreadedApp({"POST /v1/chat/completions": sse_chat(EVIL)}) as app:
        argv = ["ask", "x", "--base-url", app.url, "--model", "m", "--no-record"]
        code, shown = run_on_pty(argv)
        assert code == 0
        for byte in (b"\x1b", b"\x07", b"\x9b", "\x9b".encode()):
            assert byte not in shown, shown
        text = shown.decode().replace("\r\n", "\n")
        # An ESC split from its sequence leaves plain text; when both chunks come in one socket
        # read they are merged into one Delta and the whole sequence is dropped.
        assert text in ("hi red title [2Jsplit c1 bell done\n",
                        "hi red title split c1 bell done\n")

        code, raw = run_on_pty([*argv, "--raw"])  # asked for: passed through untouched
        assert code == 0 and "".join(EVIL).encode() in raw
        piped = subprocess.run([sys.executable, "-m", "agentdeck", *argv], capture_output=True,
                               env=os.environ, timeout=60, check=True)
        assert piped.stdout.decode() == "".join(EVIL) + "\n"  # a pipe gets the bytes as sent


class Terminal(io.StringIO):
    """A stdout that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_json_printed_to_a_terminal_carries_no_raw_control_characters() -> None:
    evil = "a\x9b2Jb\x9d0;title\x9cc\x1b[31md"
    tty = Terminal()
    out = Output(stdout=tty, stderr=io.StringIO())
    out.json({"text": evil})
    EventWriter(out)(TextDelta("run", "agent", evil, "", 0.0))
    printed = tty.getvalue()
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", printed), repr(printed)
    assert json.loads(printed[: printed.index("}\n") + 1])["text"] == evil  # still valid JSON


# ---------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> dict[str, Path]:
    """A private CA and a certificate for 127.0.0.1 signed by it (openssl, EC keys: quick)."""
    d = tmp_path_factory.mktemp("tls")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=agentdeck test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                               "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "leaf.pem", "-days", "2", "-extfile", "ext.cnf")
    return {"ca": d / "ca.pem", "leaf": d / "leaf.pem", "leaf_key": d / "leaf.key"}


def tls_app(certs: dict[str, Path]) -> ThreadedApp:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs["leaf"], certs["leaf_key"])
    return ThreadedApp({"POST /v1/chat/completions": sse_chat(["secure ", "hello"])},
                       ssl_context=context)


async def test_tls_is_verified_by_default_and_a_ca_bundle_makes_it_work(certs) -> None:
    with tls_app(certs) as app:
        async with VLLMModel("m", app.url, max_attempts=1) as model:
            with pytest.raises(ConnectError, match="(?i)certificate verify failed"):
                await model.complete(MSG)
        async with VLLMModel("m", app.url, verify=str(certs["ca"])) as model:
            assert (await model.complete(MSG)).text == "secure hello"
        assert [r[1] for r in app.requests] == ["/v1/chat/completions"]


async def test_an_untrusted_certificate_is_not_retried(certs) -> None:
    with tls_app(certs) as app:
        async with VLLMModel("m", app.url, backoff_base=0.01) as model:
            retries = []
            with pytest.raises(ConnectError, match="(?i)certificate"):
                async for event in model.stream(MSG):
                    retries.append(event)
    assert retries == []


def test_cli_tls_with_a_profile_ca_bundle_or_verification_off(certs, capsys) -> None:
    with tls_app(certs) as app:
        set_profile(Profile(name="strict", base_url=app.url, model="m", max_retries=0),
                    make_default=True)
        set_profile(Profile(name="private", base_url=app.url, model="m",
                            ca_bundle=str(certs["ca"])))
        set_profile(Profile(name="insecure", base_url=app.url, model="m", verify_tls=False))
        assert main(["ask", "x"]) == 4
        line = one_line(capsys.readouterr().err)
        assert line.startswith("agentdeck: connection: ") and "certificate verify failed" in line
        assert main(["ask", "x", "--profile", "private"]) == 0
        out, err = capsys.readouterr()
        assert out == "secure hello\n" and "TLS" not in err
        for _ in range(2):  # the warning comes with every run, not once
            assert main(["ask", "x", "--profile", "insecure"]) == 0
            out, err = capsys.readouterr()
            assert out == "secure hello\n"
            assert "TLS certificate verification is OFF for profile 'insecure'" in err


async def test_a_profiles_ca_bundle_is_loaded_once_per_version(certs, tmp_path,
                                                               monkeypatch) -> None:
    """Regression: every reconnect and settings-screen test loaded the profile's CA bundle
    again (Profile.ssl_verify built a new SSLContext), bypassing the client's cache."""
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(certs["ca"].read_bytes())
    loads = []
    real = ssl.create_default_context

    def counting(*args, **kwargs):
        loads.append(kwargs.get("cafile"))
        return real(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    with tls_app(certs) as app:
        profile = Profile(name="private", base_url=app.url, model="m", ca_bundle=str(bundle))
        for _ in range(3):  # three reconnects
            async with model_for(profile) as model:
                assert (await model.complete(MSG)).text == "secure hello"
        assert loads == [str(bundle)]
        bundle.write_bytes(certs["ca"].read_bytes() + b"\n")  # the bundle was replaced
        async with model_for(profile) as model:
            assert (await model.complete(MSG)).text == "secure hello"
        assert loads == [str(bundle)] * 2


def test_a_ca_bundle_that_is_not_pem_names_the_profile(tmp_path) -> None:
    bundle = tmp_path / "not-a-ca.pem"
    bundle.write_text("not a certificate\n")
    profile = Profile(name="private", base_url="https://127.0.0.1:1/v1", ca_bundle=str(bundle))
    with pytest.raises(ConfigError, match="cannot load CA bundle") as raised:
        model_for(profile)
    assert raised.value.key == "profiles.private.ca_bundle"
    gone = replace(profile, ca_bundle=str(tmp_path / "deleted.pem"))
    with pytest.raises(ConfigError, match="does not exist or is not a file") as raised:
        model_for(gone)
    assert raised.value.key == "profiles.private.ca_bundle"


# ---------------------------------------------------------------------------- headers, redirects

NEEDED = {"host", "content-type", "content-length", "accept", "accept-encoding", "authorization",
          "user-agent", "connection"}


def test_requests_carry_only_the_needed_headers(capsys, monkeypatch) -> None:
    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "m", "object": "model"}]})

    monkeypatch.setenv("AGENTDECK_API_KEY", KEY)
    routes = {"POST /v1/chat/completions": sse_chat(["ok"]), "GET /v1/models": models}
    with ThreadedApp(routes) as app:
        assert main(["ask", "x", "--base-url", app.url, "--no-record"]) == 0  # lists models first
    assert capsys.readouterr().out == "ok\n"
    seen = {path: {k.lower(): v for k, v in headers.items()} for _, path, headers in app.requests}
    assert set(seen) == {"/v1/models", "/v1/chat/completions"}
    chat = seen["/v1/chat/completions"]
    assert set(chat) <= NEEDED and chat["authorization"] == f"Bearer {KEY}"
    assert chat["content-type"] == "application/json"
    assert chat["accept"] == "text/event-stream" and chat["user-agent"].startswith("agentdeck/")
    assert set(seen["/v1/models"]) <= NEEDED
    for headers in seen.values():  # nothing about the user's machine, no cookies
        assert not {"cookie", "x-forwarded-for", "proxy-authorization"} & set(headers)


def test_a_netrc_file_neither_breaks_requests_nor_leaks_its_password(tmp_path, capsys,
                                                                    monkeypatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("default login someone password netrc-pass-5e6f\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))  # as ~/.netrc would (wandb, git, curl users)
    with ThreadedApp({"POST /v1/chat/completions": sse_chat(["ok"])}) as app:
        argv = ["ask", "x", "--base-url", app.url, "--model", "m", "--no-record"]
        assert main(argv) == 0  # no key: nothing else may be sent in its place
        monkeypatch.setenv("AGENTDECK_API_KEY", KEY)
        assert main(argv) == 0  # with a key: only the key
    assert capsys.readouterr().out == "ok\nok\n"
    # Every request, the window look-up (GET /v1/models) included: no key, then only the key.
    sent = {(method, headers.get("Authorization")) for method, _, headers in app.requests}
    assert {auth for _, auth in sent} == {None, f"Bearer {KEY}"}
    assert [h.get("Authorization") for m, _, h in app.requests if m == "POST"] == [
        None, f"Bearer {KEY}"]


def test_the_key_never_follows_a_redirect_to_another_server(capsys, monkeypatch) -> None:
    async def record_only(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "m"}]})

    monkeypatch.setenv("AGENTDECK_API_KEY", KEY)
    other_routes = {"GET /v1/models": record_only, "POST /v1/chat/completions": record_only}
    with ThreadedApp(other_routes) as other:
        async def moved(request: web.Request) -> web.Response:
            status = 307 if request.method == "POST" else 302
            return web.Response(status=status, headers={"location": other.url + request.path})

        routes = {"GET /v1/models": moved, "POST /v1/chat/completions": moved}
        with ThreadedApp(routes) as app:
            for argv in (["ask", "x", "--base-url", app.url, "--no-record"],
                         ["ask", "x", "--base-url", app.url, "--model", "m", "--no-record"],
                         ["models", "--base-url", app.url]):  # models records nothing
                assert main([*argv, "-q"]) != 0  # -q: the error line only
                err = capsys.readouterr().err
                assert "redirects are not followed" in one_line(err) and KEY not in err
        assert len(app.requests) >= 3
    assert other.requests == []  # the other server never saw any request, let alone the key
