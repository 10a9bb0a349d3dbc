"""``agentdeck compare`` as a process: two profiles, two models on one server, two
temperatures on one model; one column per target, ``--json`` per target, run.json's targets."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from compare_support import answering, chats, write_config
from servers import ScriptServer
from systems_support import FAST

from agentdeck.sim import SimConfig, SimServer
from agentdeck.store.runs import RunStore


async def compare(*args: str) -> tuple[int, str, str]:
    """Run ``python -m agentdeck compare ARGS`` while this loop keeps serving the servers."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agentdeck", "compare", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


def run_json(doc: dict[str, Any]) -> dict[str, Any]:
    return json.loads((RunStore().load_run(doc["run_id"]).dir / "run.json").read_text())


async def test_two_profiles_each_its_own_server(isolated_home: Path) -> None:
    async with SimServer(SimConfig(**FAST)) as one, SimServer(SimConfig(**FAST)) as two:
        write_config(isolated_home, f"""
            default_profile = "one"
            [profiles.one]
            base_url = "{one.base_url}"
            model = "sim-model"
            [profiles.two]
            base_url = "{two.base_url}"
            model = "sim-model"
        """)
        code, out, err = await compare("--target", "profile=one", "--target", "profile=two",
                                       "-n", "3", "--json", "--max-tokens", "8", "Say hi")
        served = (one.stats.requests, two.stats.requests)
    assert code == 0, err
    assert served == (3, 3)
    doc = json.loads(out)
    assert [(t["key"], t["label"], t["endpoint"]) for t in doc["targets"]] == [
        ("A", "one", one.base_url), ("B", "two", two.base_url)]
    for target in doc["targets"]:
        assert target["summary"]["requests"] == {"done": 3, "failed": 0, "cancelled": 0}
        assert target["summary"]["ttft_s"]["p50"] is not None
    assert [t["target"] for t in run_json(doc)["targets"]] == ["profile=one", "profile=two"]


async def test_two_models_on_one_server_print_a_column_each(isolated_home: Path) -> None:
    """Model names with / and : (a LoRA-style tag) as targets; the table has both columns."""
    config = SimConfig(**{**FAST, "models": ("org/base-7b:fp8", "org/base-7b:lora-sql")})
    async with SimServer(config) as sim:
        write_config(isolated_home, f"""
            [profiles.local]
            base_url = "{sim.base_url}"
            model = "org/base-7b:fp8"
        """)
        code, out, err = await compare("--target", "model=org/base-7b:fp8",
                                       "--target", "model=org/base-7b:lora-sql",
                                       "-n", "2", "--max-tokens", "6", "Say hi")
        models = sorted(r.model for r in sim.stats.records)
    assert code == 0, err
    assert models == ["org/base-7b:fp8"] * 2 + ["org/base-7b:lora-sql"] * 2
    header = next(line for line in out.splitlines() if "A: org/base-7b:fp8" in line
                  and "B: org/base-7b:lora-sql" in line)
    assert header.strip().startswith("A: org/base-7b:fp8")
    done = next(line for line in out.splitlines() if line.startswith("done "))
    assert done.split() == ["done", "2", "2"]
    for row in ("TTFT p50 ms", "E2E p99 ms", "tok/s"):
        assert any(line.startswith(row) for line in out.splitlines()), row
    assert "A-01 done" in err and "B-02 done" in err  # progress names each target's workers
    (run,) = RunStore().list_runs()
    assert sorted(p.name for p in run.dir.glob("*.md")) == ["A-01.md", "A-02.md", "B-01.md",
                                                           "B-02.md"]


async def test_two_temperatures_on_one_model_paired_and_agreeing(isolated_home: Path) -> None:
    async with ScriptServer(answering(("llama3:8b-fp8",))) as server:
        write_config(isolated_home, f"""
            [profiles.local]
            base_url = "{server.url}"
            model = "llama3:8b-fp8"
        """)
        code, out, err = await compare("--target", "temperature=0.2",
                                       "--target", "temperature=0.9,top_k=20",
                                       "-n", "2", "--seed", "5", "--json", "What is 6*7?")
    assert code == 0, err
    sent = sorted((c["temperature"], c["seed"], c.get("top_k")) for c in chats(server))
    assert sent == [(0.2, 5, None), (0.2, 6, None), (0.9, 5, 20), (0.9, 6, 20)]
    doc = json.loads(out)
    assert doc["agreement"]["agree"] is True
    assert [t["tally"] for t in doc["targets"]] == [{"42": 2}, {"42": 2}]
    assert doc["seed"] == 5


async def test_one_target_or_a_bad_one_is_refused_before_any_request() -> None:
    code, _, err = await compare("--demo", "--target", "model=a", "x")
    assert code == 2 and err.strip() == "agentdeck: bad input: --target: give 2 to 8 targets, got 1"
    code, _, err = await compare("--demo", "--target", "model=a", "--target", "Qwen/Qwen2.5", "x")
    assert code == 2 and "--target #2: a target's parts are KEY=VALUE" in err
    assert RunStore().list_runs() == []
