"""Snapshots of the workers' table (64 workers) and of History's columns, at 80x24 and 160x48.

Synthetic runs only (no sockets, frozen clock, UTC, a run store with a relative path), so the
pictures read the same on every machine. Update after a deliberate UI change with
``pytest tests/tui/test_snapshots_workbench.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from synthetic import CLOCK, T0, _done, _stream, fixed_app, show

from agentdeck.errors import ConnectError
from agentdeck.events import RunStarted, WorkerFailed, WorkerQueued
from agentdeck.store.runs import RunStore
from agentdeck.tui import live as live_module
from agentdeck.tui.live import LiveRun
from agentdeck.tui.widgets.worker_table import WorkerTable

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
WORDS = ("Continuous batching keeps the GPU busy: new requests join the running batch at "
         "every step instead of waiting for the slowest one to finish.")


@pytest.fixture(autouse=True)
def fixed_world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(live_module, "now", lambda: CLOCK)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.chdir(tmp_path)  # the run store is "runs", as the History footer shows it


def many_workers(count: int = 64) -> LiveRun:
    """``count`` calls mid-run: most streaming at different speeds, some done, two failed."""
    live = LiveRun()
    ids = [f"call-{i:02d}" for i in range(1, count + 1)]
    live(RunStarted("20261125-181848-multi-64aa01", "multi", tuple(ids), t=T0))
    for i, wid in enumerate(ids, 1):
        live(WorkerQueued("run", wid, f"call {i}", t=T0))
    for i, wid in enumerate(ids, 1):
        if i % 16 == 0:
            continue  # still queued
        words = WORDS[: 40 + (i * 37) % (len(WORDS) - 40)]
        t = _stream(live, wid, words, T0, rate=20 + i, ttft=0.05 + i / 100)
        if i % 5 == 0:
            _done(live, wid, t, len(words.split(" ")))
        elif i in (7, 23):
            error = ConnectError("connection reset by 10.0.0.7:8000")
            live(WorkerFailed("run", wid, error, partial=words, t=t))
    return live


@pytest.mark.parametrize("size", SIZES)
def test_table_of_64_workers(snap_compare, tmp_path: Path, size) -> None:
    async def run_before(pilot) -> None:
        await show(pilot, many_workers(), "multi", "Explain how vLLM batches requests.")
        pilot.app.screen.query_one(WorkerTable).focus()
        await pilot.pause()

    assert snap_compare(fixed_app(tmp_path), terminal_size=size, run_before=run_before,
                        press=["down", "down"])  # highlight call 3


def _write_runs(root: Path) -> None:
    rows = [  # system, status, model, endpoint, workers, tokens, wall, prompt
        ("multi", "done", "Qwen/Qwen3-8B", "http://gpu-1:8000/v1", 64, 40960, 31.2,
         "Explain how vLLM batches requests."),
        ("basic", "failed", "meta-llama/Llama-3.1-8B-Instruct", "http://gpu-2:8000/v1", 1, 0,
         0.4, "Summarise the incident report [bold]now[/]"),
        ("debate", "partial", "Qwen/Qwen3-8B", "http://gpu-1:8000/v1", 9, 5120, 84.0,
         "Is a hot dog a sandwich? Argue both sides."),
        ("chain", "cancelled", "mistralai/Mistral-7B-Instruct", "http://10.0.0.7:8001/v1", 4,
         2210, 12.9, "What budgets were agreed in the minutes?"),
        ("compare", "done", "sim-model", "http://127.0.0.1:8011/v1", 8, 3200, 6.1,
         "Write a haiku about KV cache eviction."),
    ]
    for n, (system, status, model, endpoint, workers, tokens, wall, prompt) in enumerate(rows):
        created = 1795000000.0 + n * 3671
        run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime(created)) + f"-{system}-00000{n}"
        folder = root / run_id
        folder.mkdir(parents=True)
        manifest = {
            "format": 2, "run_id": run_id, "system": system, "label": system, "status": status,
            "created_at": created, "finished_at": created + wall, "endpoint": endpoint,
            "model": model, "params": {}, "prompts": {"prompt": prompt},
            "workers": [{"id": f"call-{i:02d}", "label": f"call {i}", "status": "done",
                         "file": f"call-{i:02d}.md"} for i in range(1, workers + 1)],
            "steps": [], "summary": {"wall_s": wall, "output_tokens": tokens},
        }
        (folder / "run.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("size", SIZES)
def test_history_columns(snap_compare, tmp_path: Path, size) -> None:
    _write_runs(tmp_path / "runs")
    app = fixed_app(tmp_path)
    app.store = RunStore("runs")

    async def run_before(pilot) -> None:
        await pilot.press("f3")  # history
        await pilot.app.workers.wait_for_complete()  # the runs are read in a thread
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
