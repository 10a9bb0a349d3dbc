"""The README's plugin example, copied from the README as it stands, runs through the CLI and the
app: the documentation cannot drift from what works (issue 16)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from apptools import connected, make_app, send
from plugin_support import fresh_plugins, write_plugin  # noqa: F401 - a fixture
from textual.widgets import Select

from agentdeck.store.runs import RunStore
from agentdeck.tui.widgets.system_picker import SystemPicker

pytestmark = pytest.mark.usefixtures("fresh_plugins")

README = Path(__file__).resolve().parents[2] / "README.md"
WORKERS = ["answer", "critique-1", "revise-1", "critique-2", "revise-2"]


def readme_example() -> str:
    """The python block that follows the README's plugin-example marker."""
    found = re.search(r"<!-- plugin example: self_refine\.py.*?-->\n```python\n(.*?)\n```\n",
                      README.read_text(), re.DOTALL)
    assert found, "the README lost its plugin example"
    return found.group(1) + "\n"


def test_the_readme_example_is_about_thirty_lines() -> None:
    lines = [line for line in readme_example().splitlines() if line.strip()]
    assert 25 <= len(lines) <= 45


def test_the_readme_example_runs_through_the_cli(isolated_home) -> None:
    write_plugin(isolated_home, "self_refine.py", readme_example())
    env = {**os.environ, "AGENTDECK_HOME": str(isolated_home)}
    done = subprocess.run(
        [sys.executable, "-m", "agentdeck", "run", "self-refine", "--demo", "-q", "--rounds",
         "2", "--max-tokens", "12", "Why is the sky blue?"],
        capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    (info,) = RunStore().list_runs()
    assert (info.system, info.label, info.status) == ("self-refine", "self-refine", "done")
    assert [w["id"] for w in info.workers] == WORKERS
    assert all(w["status"] == "done" for w in info.workers)
    assert done.stdout.strip() == info.read_text("revise-2").strip() != ""


async def test_the_readme_example_is_picked_and_run_in_the_app(isolated_home) -> None:
    write_plugin(isolated_home, "self_refine.py", readme_example())
    app = make_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        screen = await connected(pilot)
        picker = screen.query_one(SystemPicker)
        assert ("Self-refine", "self-refine") in picker.query_one("#system", Select)._options
        picker.system = "self-refine"
        await pilot.pause()
        assert picker.query_one("#group-rounds").display  # its declared rounds
        assert not picker.query_one("#group-num_calls").display
        live = await send(pilot, "Why is the sky blue?", "self-refine", rounds=2)
        assert live.status == "done" and list(live.buffers) == WORKERS
        info = app.store.load_run(live.run_id)
        assert info.system == "self-refine" and info.read_text("revise-2")
        assert not app._notifications
