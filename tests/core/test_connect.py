"""One way to connect (settings -> model); library calls write no run folder unless asked."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from servers import Conn, Request, ScriptServer
from systems_support import ThreadedSim, sim_model

from agentdeck.cli import main
from agentdeck.config.settings import SIM_MODEL, load_settings
from agentdeck.connect import connect
from agentdeck.errors import ConfigError, ModelNotFoundError
from agentdeck.sim import SimConfig
from agentdeck.store.runs import RunStore
from agentdeck.systems import BasicAgent, MultiCallSystem

FAST = ["--max-tokens", "4"]


def write_config(home: Path, text: str) -> None:
    """The config file the settings and the library read (AGENTDECK_HOME is per test)."""
    path = home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


async def no_models(request: Request, conn: Conn) -> None:
    """A server up and answering, with nothing loaded: ``GET /v1/models`` lists nothing."""
    await conn.respond(200, {"object": "list", "data": []})


# ---------------------------------------------------------------------------- connect


async def test_connect_gives_the_model_the_profiles_timeouts_retries_and_key(
    isolated_home: Path,
) -> None:
    async with sim_model(api_key="sk-profile-key-123456") as (sim, _):
        write_config(isolated_home, f"""
[profiles.gpu]
base_url = "{sim.base_url}"
model = "sim-model"
api_key = "sk-profile-key-123456"
max_retries = 0
[profiles.gpu.timeouts]
connect = 2.5
first_token = 0.3
idle = 7.0
""")
        async with connect(load_settings(env={})) as conn:
            model = conn.model
            assert model is not None and conn.sim is None
            assert (model.connect_timeout, model.first_token_timeout, model.idle_timeout) == (
                2.5, 0.3, 7.0)
            assert model.retry.max_attempts == 1
            assert (await model.complete([{"role": "user", "content": "hi"}])).text  # key sent


async def test_a_profile_without_a_model_uses_the_first_served_and_the_cli_says_so(
    capsys,
) -> None:
    with ThreadedSim(models=("first-model", "second-model")) as sim:
        async with connect(load_settings(flags={"base_url": sim.base_url}, env={})) as conn:
            assert conn.model is not None and conn.model.model_name == "first-model"
            assert conn.picked_first
        code = await asyncio.to_thread(main, ["ask", "x", "--base-url", sim.base_url, *FAST])
    assert code == 0
    assert ("using model first-model (the first the server lists; --model picks another)"
            in capsys.readouterr().err)


async def test_a_server_listing_no_models_is_model_not_found_in_the_cli_too(capsys) -> None:
    """The app raised InputError and the CLI ModelNotFoundError for the same server."""
    async with ScriptServer(no_models) as srv:
        with pytest.raises(ModelNotFoundError, match="lists no models"):
            async with connect(load_settings(flags={"base_url": srv.url}, env={})):
                pass
        code = await asyncio.to_thread(main, ["ask", "x", "--base-url", srv.url])
    assert code == 6
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"agentdeck: model not found: {srv.url} lists no models")
    assert [r.path for r in srv.requests] == ["/v1/models", "/v1/models"]  # nothing was sent


async def test_demo_mode_starts_the_simulator_with_the_apps_demo_preset() -> None:
    """``connect``'s default is ``SimConfig.demo()``; the CLI passes ``SimConfig.quick()``."""
    async with connect(load_settings(env={}), demo=True) as conn:
        assert conn.sim is not None and conn.model is not None
        assert conn.sim.config == replace(SimConfig.demo(), models=(SIM_MODEL,))
        assert conn.model.model_name == SIM_MODEL and conn.profile_name == "demo"
        assert conn.model.base_url == conn.sim.base_url.rstrip("/")


# ---------------------------------------------------------------------------- recording


async def test_a_library_run_writes_no_run_folder(isolated_home: Path, tmp_path: Path) -> None:
    """Regression: every BasicAgent.run from Python left a run folder in the user's data dir."""
    async with sim_model() as (_, model):
        assert await BasicAgent("a", model).run("Hi", max_tokens=4)
        files = await MultiCallSystem("m", model).run("Hi", 2, str(tmp_path / "out"), "o",
                                                      max_tokens=4)
    assert not isolated_home.exists() or not any(isolated_home.rglob("*"))
    assert [Path(p).read_text() != "" for p in files.values()] == [True, True]  # seed files


async def test_record_true_in_the_config_keeps_library_runs(isolated_home: Path) -> None:
    write_config(isolated_home, "record = true\n")
    assert load_settings(env={}).record is True
    async with sim_model() as (_, model):
        agent = BasicAgent("a", model)
        text = await agent.run("Hi", max_tokens=4)
        await BasicAgent("b", model, store=False).run("Hi", max_tokens=4)  # store=False wins
    (run,) = RunStore().list_runs()
    assert run.run_id == agent.last_run_id and run.read_text("agent") == text


@pytest.mark.parametrize(("text", "line"), [
    ('concurrency = 4\nrecord = "yes"\n', 2),
    ("record = true\n[profiles.gpu\nbase_url = 1\n", 2),  # not TOML at all
])
async def test_a_broken_config_file_does_not_break_library_calls(
    isolated_home: Path, caplog: pytest.LogCaptureFixture, text: str, line: int,
) -> None:
    """Regression: with store=None every library call read config.toml, and a broken file
    raised ConfigError from BasicAgent.run though the script never asked for settings."""
    write_config(isolated_home, text)
    config = isolated_home / "config" / "config.toml"
    with pytest.raises(ConfigError) as raised:  # the front ends still refuse the file
        load_settings(env={})
    assert raised.value.line == line
    async with sim_model() as (sim, model):
        with caplog.at_level("WARNING", logger="agentdeck.config"):
            assert await BasicAgent("a", model).run("Hi", max_tokens=4)
            assert await BasicAgent("b", model).run("Hi", max_tokens=4)
        assert sim.stats.requests == 2
    (warning,) = caplog.records  # one warning, however many calls: the file is read once
    assert warning.getMessage().startswith(f"{config}:{line}: ")
    assert "record no runs until it is fixed" in warning.getMessage()
    assert config.read_text() == text  # left as it was
    assert not (isolated_home / "data").exists()  # nothing recorded


async def test_record_follows_the_file_when_it_changes(isolated_home: Path) -> None:
    """The answer is kept per version of the file: fixing it takes effect on the next run."""
    write_config(isolated_home, 'record = "yes"\n')
    async with sim_model() as (_, model):
        await BasicAgent("a", model).run("Hi", max_tokens=4)
        write_config(isolated_home, "record = true\n")
        agent = BasicAgent("b", model)
        await agent.run("Hi", max_tokens=4)
    assert [r.run_id for r in RunStore().list_runs()] == [agent.last_run_id]


def test_the_cli_records_by_default_and_not_with_no_record(capsys) -> None:
    assert main(["ask", "Hi", *FAST]) == 0
    assert len(RunStore().list_runs()) == 1
    assert main(["ask", "Hi", "--no-record", *FAST]) == 0
    assert len(RunStore().list_runs()) == 1
