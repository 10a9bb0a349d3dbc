"""A toy model that implements only ``call_stream`` works in both front ends (issue 10).

``connect`` hands the toy out instead of the vLLM client; the CLI and the app must then use
only what ``BaseModel`` promises (its defaults for health, gauges, models and closing).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from apptools import connected, make_app, send
from textual.widgets import Static

import agentdeck.connect
from agentdeck.cli import main
from agentdeck.cli.exitcodes import EXIT_MODEL
from agentdeck.client.model import BaseModel
from agentdeck.config.profiles import SIM_MODEL
from agentdeck.store.runs import RunStore
from agentdeck.tui.widgets.output_pane import OutputPane
from agentdeck.tui.widgets.status_line import StatusLine


class Toy(BaseModel):
    """The seed's way to add a model: only ``call_stream``, text in small pieces."""

    def __init__(self, name: str) -> None:
        self.model_name = name
        self.calls = 0

    async def call_stream(self, messages: list[dict[str, Any]], **kwargs: Any):
        self.calls += 1
        text = f"<think>toy thinks</think>Toy answer {self.calls}."
        for i in range(0, len(text), 4):
            await asyncio.sleep(0)
            yield text[i : i + 4]


@pytest.fixture
def toys(monkeypatch: pytest.MonkeyPatch) -> list[Toy]:
    """Every model ``connect`` builds is a toy; the list holds them in order."""
    built: list[Toy] = []

    def model_for(profile: Any, *, base_url: str | None = None, name: str | None = None) -> Toy:
        built.append(Toy(name or profile.model or "toy"))
        return built[-1]

    monkeypatch.setattr(agentdeck.connect, "model_for", model_for)
    return built


def test_the_cli_asks_the_toy_and_records_the_run(toys: list[Toy], capsys) -> None:
    assert main(["ask", "Hello", "--model", "toy-1", "--base-url", "http://127.0.0.1:9/v1"]) == 0
    out, _err = capsys.readouterr()
    assert out.strip() == "Toy answer 1."
    (run,) = RunStore().list_runs()
    assert (run.status, run.model) == ("done", "toy-1")
    assert run.read_text("agent").strip() == "Toy answer 1."
    assert run.read_reasoning("agent") == "toy thinks"


def test_the_cli_runs_multi_on_the_toy(toys: list[Toy], capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # multi writes its answers under ./multi_call_outputs
    code = main(["multi", "-n", "3", "Hello", "--model", "toy-1",
                 "--base-url", "http://127.0.0.1:9/v1"])
    out, err = capsys.readouterr()
    assert code == 0, err
    (toy,) = toys
    assert toy.calls == 3
    (run,) = RunStore().list_runs()
    assert run.status == "done" and len(run.workers) == 3
    texts = sorted(run.read_text(str(w["id"])).strip() for w in run.workers)
    assert texts == ["Toy answer 1.", "Toy answer 2.", "Toy answer 3."]
    printed = [line.split(": ", 1) for line in out.splitlines()]
    assert [worker for worker, _ in printed] == ["call-01", "call-02", "call-03"]
    answers = sorted((tmp_path / path).read_text() for _, path in printed)
    assert answers == [f"<think>toy thinks</think>{text}" for text in texts]


def lines(widget: Any) -> str:
    """What a line-API widget shows, one row a line."""
    return "\n".join("".join(s.text for s in widget.render_line(y))
                     for y in range(widget.size.height))


async def test_the_app_sends_prompts_to_the_toy(toys: list[Toy]) -> None:
    """The status line and the settings test poll the toy's default health() and gauges."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await connected(pilot)
        assert app.model is toys[-1]
        live = await send(pilot, "Hello")
        assert live.status == "done"
        assert live.buffers["agent"].reasoning_text == "toy thinks"
        pane = screen.query_one(OutputPane)
        assert "Toy answer 1." in lines(pane.stream)
        screen.poll_server()
        await pilot.app.workers.wait_for_complete()
        status = str(screen.query_one(StatusLine).render())
        assert status.startswith("done") and f"● 0ms {SIM_MODEL} @ built-in simulator (demo)" in status
        multi = await send(pilot, "Hello", "multi", num_calls=3)
        assert multi.status == "done"
        shown = lines(pane.grid)
        assert all(f"Toy answer {n}." in shown for n in (2, 3, 4))
        await pilot.press("f2")  # settings; the built-in simulator profile is selected
        await pilot.press("ctrl+y")  # test connection: the toy is asked
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        result = str(app.screen.query_one("#test_result", Static).render())
        assert result == f"✓ healthy · 0 ms · 1 model: {SIM_MODEL}"
    info = app.store.load_run(multi.run_id)
    assert info.model == SIM_MODEL and info.read_text("call-01").startswith("Toy answer")


def test_a_nameless_toy_is_model_not_found_in_the_cli(monkeypatch, capsys) -> None:
    """Regression: picking the first served model read ``model.base_url``, which a toy lacks
    (AttributeError instead of the CLI's one-line error)."""
    monkeypatch.setattr(agentdeck.connect, "model_for", lambda profile, **kw: Toy(""))
    assert main(["ask", "Hello", "--base-url", "http://127.0.0.1:9/v1"]) == EXIT_MODEL
    _out, err = capsys.readouterr()
    assert err.startswith("agentdeck: model not found: the server lists no models")
