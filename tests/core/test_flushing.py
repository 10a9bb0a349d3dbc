"""Batched disk writes: seed output files, kept-open transcript handles, and the event loop choice."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from agentdeck import eventloop
from agentdeck.store.append_files import AppendFiles, create_soon
from agentdeck.store.flush_timer import FLUSH_INTERVAL, FlushTimer
from agentdeck.systems.output_files import FileSink


async def test_file_sink_text_reaches_disk_on_the_timer_and_exactly_at_close(tmp_path: Path) -> None:
    path = tmp_path / "out_1.txt"
    sink = FileSink(path)
    sink.write("", "let me think")
    sink.write("Hello", "")
    sink.write(", wörld", "")
    # The stream stalls here: nothing else arrives, the timer alone writes what came.
    await asyncio.sleep(FLUSH_INTERVAL + 0.3)
    assert path.read_text("utf-8") == "<think>let me think</think>Hello, wörld"
    sink.write("", "more")
    sink.close()
    sink.close()  # idempotent: the worker machinery may close twice
    assert path.read_text("utf-8") == "<think>let me think</think>Hello, wörld<think>more</think>"


def test_file_sink_without_a_loop_and_without_text_leaves_an_empty_file(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "empty.txt")
    sink.close()
    assert (tmp_path / "empty.txt").read_text() == ""
    sink = FileSink(tmp_path / "sync.txt")
    sink.write("a", "")  # no loop: written once the last flush is FLUSH_INTERVAL old
    sink.write("b", "")
    sink.close()
    assert (tmp_path / "sync.txt").read_text() == "ab"


def test_file_sink_reports_a_failed_flush_on_the_next_write(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "missing" / "out.txt")  # its folder is gone
    sink.write("text", "")
    sink.flush()  # what the timer does: the error waits for the worker's next write
    with pytest.raises(OSError):
        sink.write("more", "")
    with pytest.raises(OSError):
        sink.close()


def test_append_files_stay_within_their_handle_budget_and_keep_order(tmp_path: Path) -> None:
    files = AppendFiles(max_open=2)
    paths = [tmp_path / f"w{i}.md" for i in range(3)]
    for round_ in range(4):
        for i, path in enumerate(paths):
            files.append(path, f"{i}.{round_} ".encode())
            assert len(files) <= 2
    files.close()
    assert len(files) == 0
    for i, path in enumerate(paths):
        assert path.read_text() == "".join(f"{i}.{r} " for r in range(4))
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_moved_file_gets_a_fresh_handle(tmp_path: Path) -> None:
    files = AppendFiles()
    path = tmp_path / "call-01.md"
    files.append(path, b"first attempt")
    files.close(path)  # what the recorder does before moving an attempt aside
    os.replace(path, tmp_path / "call-01.attempt-1.md")
    files.append(path, b"second")
    files.close()
    assert path.read_text() == "second"
    assert (tmp_path / "call-01.attempt-1.md").read_text() == "first attempt"


async def test_files_are_created_off_the_loop_and_never_truncated(tmp_path: Path) -> None:
    kept = tmp_path / "kept.txt"
    kept.write_text("already here")
    fresh = [tmp_path / f"f{i}.md" for i in range(20)]
    create_soon([kept, *fresh])
    for _ in range(100):
        if all(p.exists() for p in fresh):
            break
        await asyncio.sleep(0.02)
    assert all(p.exists() and p.read_bytes() == b"" for p in fresh)
    assert stat.S_IMODE(fresh[0].stat().st_mode) == 0o600
    assert kept.read_text() == "already here"


def test_flush_timer_without_a_loop_flushes_when_overdue_or_urgent() -> None:
    calls: list[int] = []
    timer = FlushTimer(lambda: calls.append(1), interval=3600)
    timer.poke()
    assert calls == []  # the last flush is recent: keep batching
    timer.poke(urgent=True)
    assert calls == [1]
    timer.stopped = True  # closed: every poke writes at once
    timer.poke()
    assert calls == [1, 1]


def test_the_cli_and_app_loop_is_uvloop_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("uvloop")

    async def loop_module() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert eventloop.run(loop_module()).startswith("uvloop")
    monkeypatch.setenv("AGENTDECK_NO_UVLOOP", "1")
    assert eventloop.run(loop_module()).startswith("asyncio")
