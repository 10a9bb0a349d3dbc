"""Running the real ``agentdeck`` entry point in a subprocess, as a script or a shell would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from agentdeck.store.runs import RunStore

QUICK = ["--max-tokens", "4"]
"""The built-in simulator answers at demo speed: keep answers short."""


@dataclass
class Done:
    """How one ``agentdeck`` process ended."""

    code: int
    out: str
    err: str

    @property
    def doc(self) -> Any:
        """stdout as one JSON document."""
        return json.loads(self.out)

    @property
    def lines(self) -> list[dict[str, Any]]:
        """stdout as JSON lines."""
        return [json.loads(line) for line in self.out.splitlines()]

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def agentdeck(*argv: str, stdin: str | None = "", cwd: Any = None, timeout: float = 60,
              env: dict[str, str] | None = None) -> Done:
    """``python -m agentdeck ARGV`` with the test's AGENTDECK_HOME; stdin is ``stdin`` (a
    pipe, never a terminal: "" is an empty one, None inherits nothing readable)."""
    proc = subprocess.run(
        [sys.executable, "-m", "agentdeck", *argv], input=stdin, capture_output=True,
        text=True, cwd=cwd, timeout=timeout, env={**os.environ, **(env or {})}, check=False,
        stdin=subprocess.DEVNULL if stdin is None else None,
    )
    return Done(proc.returncode, proc.stdout, proc.stderr)


def only_run() -> Any:
    """The one recorded run (fails when there are none or several)."""
    (run,) = RunStore().list_runs()
    return run
