"""The benchmark scripts still run: each in its quickest mode, failing on errors or lost text.

Timing never fails these tests (the scripts print MET/MISSED and still exit 0); a crash, a
stream that came back with different text, or a widget that lost tokens does (exit 1).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"

SCRIPTS = {
    "client_overhead.py": "client_overhead:",
    "concurrency.py": "concurrency up to",
    "cpu_budget.py": "cpu_budget:",
    "memory.py": "memory:",
    "tui_load.py": "tui_load:",
}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_benchmark_quick_mode_runs_clean(script: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick"],
        cwd=BENCH,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith(SCRIPTS[script]), f"no summary line from {script}: {last!r}"
