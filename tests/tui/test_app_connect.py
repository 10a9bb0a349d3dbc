"""The app connects as the CLI does: the profile's timeouts and retries, the same errors."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from apptools import connected, make_app, send
from textual.widgets import Select, Static

from agentdeck.config.profiles import SIM_MODEL
from agentdeck.connect import Connection
from agentdeck.sim import SimConfig, SimServer
from agentdeck.tui.screens.settings import SettingsScreen


def write_config(home: Path, text: str) -> None:
    path = home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@contextlib.asynccontextmanager
async def serving_no_models() -> AsyncIterator[str]:
    """A server up and answering, with nothing loaded: ``GET /v1/models`` lists nothing."""

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": []})

    app = web.Application()
    app.router.add_get("/v1/models", models)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        await runner.cleanup()


async def test_the_profiles_timeouts_and_retries_reach_the_apps_model(isolated_home: Path) -> None:
    """Regression: the app built its model without the profile's timeouts and max_retries."""
    slow = SimConfig(ttft=5.0, tokens_per_s=0, output_tokens=8, seed=1)
    async with SimServer(slow) as sim:
        write_config(isolated_home, f"""
default_profile = "gpu"
[profiles.gpu]
base_url = "{sim.base_url}"
model = "sim-model"
max_retries = 0
[profiles.gpu.timeouts]
connect = 2.5
first_token = 0.4
idle = 7.0
""")
        app = make_app(demo=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await connected(pilot)
            model = app.model
            assert (model.connect_timeout, model.first_token_timeout, model.idle_timeout) == (
                2.5, 0.4, 7.0)
            assert model.retry.max_attempts == 1
            started = time.monotonic()
            live = await send(pilot, "Hello")  # the server takes 5 s to its first token
            assert time.monotonic() - started < 3.0
        assert live.status == "failed"
        assert "within 0.4s" in live.buffers["agent"].error
        assert sim.stats.requests == 1  # max_retries = 0: not tried again


async def test_a_server_listing_no_models_is_model_not_found_in_the_app(
    isolated_home: Path,
) -> None:
    """Regression: the app said InputError where the CLI said ModelNotFoundError."""
    async with serving_no_models() as url:
        write_config(isolated_home, f'[profiles.empty]\nbase_url = "{url}"\n')
        app = make_app(demo=False)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
            (shown,) = [n for n in app._notifications if n.severity == "error"]
            assert app.model is None
    assert shown.title == "Cannot connect: ModelNotFoundError"
    assert shown.message.startswith(f"{url} lists no models")


async def test_the_settings_test_button_connects_as_a_run_does(
    isolated_home: Path, monkeypatch
) -> None:
    """The button goes through ``connect``: the profile's timeouts and TLS, and its errors shown.

    Regression: a profile whose CA bundle had gone missing crashed the app on
    ctrl+t (now ctrl+y).
    """
    import agentdeck.connect

    built = []
    real = agentdeck.connect.model_for

    def spy(profile, **kw):
        built.append(profile)
        return real(profile, **kw)

    monkeypatch.setattr(agentdeck.connect, "model_for", spy)
    async with SimServer(SimConfig(ttft=0, tokens_per_s=0)) as sim:
        write_config(isolated_home, f"""
default_profile = "demo"
[profiles.gpu]
base_url = "{sim.base_url}"
[profiles.gpu.timeouts]
connect = 2.5
[profiles.gone]
base_url = "{sim.base_url}"
ca_bundle = "{isolated_home / 'deleted-ca.pem'}"
""")
        app = make_app(demo=False)
        async with app.run_test(size=(100, 40)) as pilot:
            await connected(pilot)
            await pilot.press("f2")  # open settings
            screen = app.screen
            assert isinstance(screen, SettingsScreen)
            result = screen.query_one("#test_result", Static)
            screen.query_one("#profile", Select).value = "gpu"
            await pilot.pause()
            await pilot.press("ctrl+y")  # test the connection
            await app.workers.wait_for_complete()
            assert str(result.render()).startswith("✓ healthy")
            assert [(p.name, p.timeouts.connect) for p in built][-1] == ("gpu", 2.5)
            screen.query_one("#profile", Select).value = "gone"
            await pilot.pause()
            await pilot.press("ctrl+y")  # test the profile whose CA bundle was deleted
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.is_running
            shown = str(result.render())
            assert shown.startswith("✕ ConfigError:")
            assert "deleted-ca.pem' does not exist" in shown


async def test_testing_the_simulator_profile_probes_the_simulator(isolated_home: Path) -> None:
    """Regression: with the app on another server, testing the built-in simulator profile
    probed that server and listed its models as the simulator's."""
    async with SimServer(SimConfig(models=("gpu-model",), ttft=0, tokens_per_s=0)) as sim:
        write_config(isolated_home, f"""
default_profile = "gpu"
[profiles.gpu]
base_url = "{sim.base_url}"
""")
        app = make_app(demo=False)
        async with app.run_test(size=(100, 40)) as pilot:
            await connected(pilot)
            assert app.model is not None and app.model.model_name == "gpu-model"
            await pilot.press("f2")  # open settings
            screen = app.screen
            assert isinstance(screen, SettingsScreen)
            screen.query_one("#profile", Select).value = "demo"
            await pilot.pause()
            await pilot.press("ctrl+y")  # test the built-in simulator
            await app.workers.wait_for_complete()
            await pilot.pause()
            shown = str(screen.query_one("#test_result", Static).render())
            assert app.model.model_name == "gpu-model"  # the app stays on its server
    assert shown.startswith("✓ healthy") and shown.endswith(f"1 model: {SIM_MODEL}")


async def test_testing_the_simulator_profile_while_connecting(
    isolated_home: Path, monkeypatch
) -> None:
    """Regression: ctrl+t (now ctrl+y) on the simulator profile before the app had connected
    crashed (the app's model was still None)."""
    import asyncio

    real = Connection.open

    async def never(self, settings=None):
        await asyncio.Event().wait()

    monkeypatch.setattr(Connection, "open", never)  # the app's own connection hangs
    app = make_app(demo=False)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        assert app.model is None
        monkeypatch.setattr(Connection, "open", real)  # the settings test connects for real
        await pilot.press("f2")  # open settings: the built-in simulator profile
        await pilot.press("ctrl+y")  # test it
        result = app.screen.query_one("#test_result", Static)
        for _ in range(250):  # not wait_for_complete: the app's own connect never ends
            await pilot.pause(0.02)
            shown = str(result.render())
            if shown.startswith(("✓", "✕")):
                break
        assert app.is_running
    assert shown.startswith("✓ healthy") and shown.endswith(f"1 model: {SIM_MODEL}")


async def test_a_temperature_the_cli_accepts_starts_the_app_and_is_sent(isolated_home: Path) -> None:
    """Review finding: `[params] temperature = 2.5` (valid for the CLI and vLLM: any value >= 0)
    crashed the app's main screen while it set up its fields (the app allowed 0 to 2)."""
    write_config(isolated_home, "[params]\ntemperature = 2.5\n")
    app = make_app()
    async with app.run_test() as pilot:
        await connected(pilot)
        live = await send(pilot, "hi")
        assert live.status == "done"
        run = app.store.load_run(live.run_id)
        assert run.manifest["params"]["temperature"] == 2.5
