"""Shared helpers of the plugin tests: a clean discovery, plugin files, a test distribution.

``TWICE`` is a plugin file as a user would write one: ``twice`` asks the prompt N times in
parallel (``--times``); ``--explode`` raises after its first call, as a buggy plugin would.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentdeck.systems import plugins, registry

TWICE = textwrap.dedent('''\
    """A test plugin: the prompt N times in parallel."""

    from agentdeck.systems.base import Orchestrator, json_params
    from agentdeck.systems.registry import Option, RunRequest, RunResult, SystemSpec, WorkerResult


    class Twice(Orchestrator):
        system = "twice"

        async def run_request(self, request: RunRequest) -> RunResult:
            kwargs = request.params.to_body()
            ids = tuple(f"say-{i}" for i in range(1, request.calls + 1))
            run = self.open_run(request, params=json_params(kwargs), workers=ids)
            ask = [{"role": "user", "content": request.prompt}]

            async def body():
                first = await run.run_one(ids[0], ask, kwargs, label="first")
                if request.options["explode"]:
                    raise ValueError("boom from the plugin")
                rest = await run.gather([run.spawn(w, ask, kwargs, label=w) for w in ids[1:]])
                return "done", [first, *rest]

            outs = await self.drive(run, body)
            return RunResult(self.last_run_id, run.status, outs[-1].content,
                             workers={o.worker_id: WorkerResult(o, self.worker_file(o.worker_id))
                                      for o in outs})


    SYSTEMS = [SystemSpec(
        "twice", "Twice", "ask the prompt N times",
        lambda model, request: Twice(model, listeners=request.listeners, store=request.store),
        calls=Option("calls", "--times", "how many times", default=2, minimum=1, maximum=3,
                     title="times"),
        options=(Option("explode", "--explode", "raise after the first call", kind="switch",
                        default=False),
                 Option("style", "--style", "a style", kind="choice", choices=("plain", "fancy"),
                        default="plain")),
    )]
''')
EXPLODE_LINE = next(i for i, line in enumerate(TWICE.splitlines(), 1) if "raise Value" in line)
"""The line of ``TWICE`` that raises mid-run."""
DIST = "agentdeck_testplugin-0.1.dist-info"
MODULE = "agentdeck_testplugin"
"""The test distribution's one module (``make_distribution``)."""


@pytest.fixture
def fresh_plugins() -> Iterator[None]:
    """Discovery not run yet, and every plugin gone again after the test (the test
    distribution's module too: each test writes its own)."""
    plugins.reset()
    sys.modules.pop(MODULE, None)
    before = {spec.key for spec in registry.specs()}
    try:
        yield
    finally:
        plugins.reset()
        sys.modules.pop(MODULE, None)
        for spec in registry.specs():
            if spec.key not in before:
                registry.unregister(spec.key)


def plugin_folder(home: Path) -> Path:
    """``<config dir>/systems`` under ``home`` (AGENTDECK_HOME), private as it must be."""
    folder = home / "config" / "systems"
    folder.mkdir(parents=True, exist_ok=True)
    for path in (home, home / "config", folder):
        os.chmod(path, 0o755)
    return folder


def write_plugin(home: Path, name: str, text: str) -> Path:
    """A plugin file ``name`` in the user's folder (mode 0644)."""
    path = plugin_folder(home) / name
    path.write_text(text)
    os.chmod(path, 0o644)
    return path



def make_distribution(root: Path, module: str, entry_points: str) -> Path:
    """An installed distribution ``agentdeck-testplugin`` 0.1 in ``root`` (put it on the path).

    ``module`` is ``agentdeck_testplugin.py``; ``entry_points`` the lines of its
    ``[agentdeck.systems]`` group.
    """
    info = root / DIST
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: agentdeck-testplugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[agentdeck.systems]\n{entry_points}\n")
    (root / f"{MODULE}.py").write_text(module)
    return root
