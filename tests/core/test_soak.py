"""Fault soak: 500 streams through the simulator; one call in ten meets a fault.

With the retries they cause, about 15% of the requests the server sees are faulted.
Every call of one ``MultiCallSystem`` run gets its own seed, and the seed decides (here, in
the test) whether and how its request is faulted: the simulator is told per request through
the body's ``sim`` object. The text each request gets is a pure function of the seed, so the
test knows exactly what the server sent and what a failed call must have kept.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from agentdeck.client.vllm import VLLMModel
from agentdeck.errors import (
    MalformedChunkError,
    ProtocolError,
    RateLimitError,
    ServerError,
    ServerStreamError,
    StallError,
    StreamDisconnectedError,
    StreamError,
)
from agentdeck.events import (
    FirstToken,
    Retrying,
    TextDelta,
    WorkerFailed,
    WorkerFinished,
)
from agentdeck.sim import SimConfig, SimServer
from agentdeck.sim.plan import build_plan
from agentdeck.store.runs import RunStore
from agentdeck.systems import MultiCallSystem
from agentdeck.systems.run import think_text

CALLS = 500
CONCURRENCY = 64
SEED0 = 1000
IDLE = 2.0  # the stall fault lasts 6 s: well beyond; loop lag on a busy box stays far below
PROMPT = "Describe the harbour at dawn in a few sentences."
CONFIG = SimConfig(tokens_per_s=0.0, ttft=0.0, output_tokens=40, output_tokens_jitter=0.5,
                   reasoning_tokens=8, seed=11, tick=0.0)

# One fault per faulted call, cycled: (sim options, expected end: None = done, else the class).
FAULTS: list[tuple[dict[str, Any], type | None]] = [
    ({"fault": "status", "status": 429, "retry_after_ms": 50, "times": 1}, None),
    ({"fault": "status", "status": 503, "retry_after": 0.05, "times": 1}, None),
    ({"fault": "close", "times": 1}, None),
    ({"fault": "status", "status": 503, "retry_after_ms": 20, "times": 99}, ServerError),
    ({"fault": "status", "status": 429, "retry_after": 0.02, "times": 99}, RateLimitError),
    ({"fault": "close", "times": 99}, ProtocolError),
    ({"fault": "disconnect"}, StreamDisconnectedError),
    ({"fault": "stall", "seconds": 6.0}, StallError),
    ({"fault": "malformed"}, MalformedChunkError),
    ({"fault": "error", "message": "engine overloaded"}, ServerStreamError),
]
STREAM_FAULTS = {"disconnect", "stall", "malformed", "error"}


def sim_options(seed: int) -> dict[str, Any]:
    """The sim object for the call with ``seed``: which calls think first, which are faulted."""
    i = seed - SEED0
    options: dict[str, Any] = {"reasoning": (i // 100) % 2 == 0}  # each fault with and without
    if i % 10 == 3:
        options.update(FAULTS[(i // 10) % len(FAULTS)][0], key=f"call-{seed}")
        if options["fault"] in STREAM_FAULTS:
            options["after"] = 1 + (i // 10) % 17  # strike after 1..17 text chunks
    return options


def expected_end(seed: int) -> type | None:
    i = seed - SEED0
    return FAULTS[(i // 10) % len(FAULTS)][1] if i % 10 == 3 else None


class FaultingModel(VLLMModel):
    """The real client; each request carries the sim object its seed calls for."""

    def stream(self, messages: Any, params: Any = None, **kwargs: Any) -> Any:
        return super().stream(messages, params, sim=sim_options(kwargs["seed"]), **kwargs)


def plan(seed: int) -> Any:
    """What the simulator decides to send for the call with ``seed`` (its one choice)."""
    body = {"model": "sim-model", "messages": [{"role": "user", "content": PROMPT}],
            "seed": seed, "sim": sim_options(seed)}
    return build_plan(CONFIG, body).choices[0]


def first_chunks(seed: int, k: int | None = None) -> tuple[str, str]:
    """(content, reasoning) of the first ``k`` text chunks sent (all of them for None).

    One token per chunk; reasoning chunks come first, then content.
    """
    choice = plan(seed)
    k = len(choice.reasoning) + len(choice.content) if k is None else k
    return ("".join(choice.content[: max(0, k - len(choice.reasoning))]),
            "".join(choice.reasoning[:k]))


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


async def test_500_streams_with_faults_end_in_a_definite_recorded_state(tmp_path: Path) -> None:
    started = time.monotonic()
    gc.collect()  # sockets an earlier test dropped close now, not during this one
    fds_before = open_fds()
    tasks_before = asyncio.all_tasks()
    events: dict[str, list[Any]] = defaultdict(list)
    store = RunStore(tmp_path / "runs")
    out_dir = tmp_path / "out"

    async with SimServer(CONFIG) as sim:
        model = FaultingModel("sim-model", sim.base_url, max_attempts=3, backoff_base=0.05,
                              idle_timeout=IDLE, first_token_timeout=60.0)
        multi = MultiCallSystem("soak", model, store=store, concurrency=CONCURRENCY,
                                listeners=[lambda e: events[getattr(e, "worker_id", "")].append(e)])
        files = await multi.run(PROMPT, CALLS, str(out_dir), "soak", seeds=SEED0)
        session = model._session_obj  # the client's connection pool
        await model.close_client()
        stats = sim.stats
        for _ in range(200):  # the server notices closed connections on its next loop turns
            if stats.in_flight == 0:
                break
            await asyncio.sleep(0.01)
        assert stats.in_flight == 0, "the server still serves a request nobody reads"
        stalled = [r for r in stats.records if r.fault == "stall"]
        assert len(stalled) == 5 and all(r.disconnected and not r.done for r in stalled)
    assert session is not None and session.closed, "the client's session was left open"

    result = multi.last_result
    run = store.load_run(multi.last_run_id)
    entries = {w["id"]: w for w in run.workers}
    ended: Counter[str] = Counter()
    retried_then_done = 0
    tokens = 0
    retries_seen = 0
    thought = 0
    for i in range(1, CALLS + 1):
        seed = SEED0 + i - 1
        wid = f"call-{i:03d}"
        outcome = result.outcomes[f"call_{i}"]
        entry = entries[wid]
        evs = events[wid]
        content = "".join(e.content for e in evs if type(e) is TextDelta)
        reasoning = "".join(e.reasoning for e in evs if type(e) is TextDelta)
        run_dir = tmp_path / "runs" / run.run_id
        disk = (run_dir / entry["file"]).read_text("utf-8")
        disk_reasoning = run.read_reasoning(wid)
        seed_file = (out_dir / f"soak_{i}.txt").read_text("utf-8")

        # Retries only before the first token, never after text arrived.
        kinds = [type(e) for e in evs]
        retries = [k for k, kind in enumerate(kinds) if kind is Retrying]
        retries_seen += len(retries)
        if retries and FirstToken in kinds:
            assert max(retries) < kinds.index(FirstToken), f"{wid} retried after text"
        # Exactly one ending event; both files and the manifest agree with the events.
        endings = [e for e in evs if type(e) in (WorkerFinished, WorkerFailed)]
        assert len(endings) == 1, f"{wid}: {endings}"
        assert disk == content == outcome.content, f"{wid}: text file disagrees"
        assert disk_reasoning == reasoning == outcome.reasoning, f"{wid}: reasoning disagrees"
        assert seed_file == think_text(content, reasoning), f"{wid}: seed-style file disagrees"
        assert (entry["chars"], entry["reasoning_chars"]) == (len(disk), len(disk_reasoning))
        assert (entry["reasoning_file"] is not None) == bool(reasoning)

        want = expected_end(seed)
        if want is None:
            assert type(endings[0]) is WorkerFinished, f"{wid}: {outcome.reason}"
            assert entry["status"] == "done" and outcome.ok and entry["error"] is None
            assert (disk, disk_reasoning) == first_chunks(seed), f"{wid}: not what was sent"
            assert entry["usage"]["completion_tokens"] == plan(seed).tokens  # EOS counted too
            tokens += entry["usage"]["completion_tokens"]
            ended["done"] += 1
            retried_then_done += bool(retries)
            thought += bool(reasoning)
            continue
        assert type(endings[0]) is WorkerFailed and not outcome.ok
        assert type(outcome.error) is want, f"{wid}: {outcome.reason}, expected {want.__name__}"
        assert entry["status"] == "failed" and entry["error_kind"] == want.__name__
        assert entry["error"] and want.__name__ in entry["error"]
        assert files[f"call_{i}"].startswith(f"ERROR: {want.__name__}")
        after = sim_options(seed).get("after")
        if want in (StallError, MalformedChunkError, ServerStreamError):
            # Everything before the fault was written in full: exactly `after` chunks arrived.
            assert (disk, disk_reasoning) == first_chunks(seed, after), wid
        elif want is StreamDisconnectedError:
            # An aborted socket may lose its last unread bytes: a prefix, never more.
            sent, sent_reasoning = first_chunks(seed, after)
            assert sent.startswith(disk) and sent_reasoning.startswith(disk_reasoning), wid
            # Content never comes before the whole reasoning.
            assert not disk or disk_reasoning == "".join(plan(seed).reasoning)
        else:  # failed before any text: nothing may have been written
            assert disk == disk_reasoning == "" and len(retries) == 2
        if isinstance(outcome.error, StreamError):
            assert (outcome.error.partial, outcome.error.partial_reasoning) == (disk,
                                                                               disk_reasoning)
        ended[want.__name__] += 1

    # The run's totals add up.
    totals = run.manifest["totals"]
    assert ended["done"] == sum(expected_end(SEED0 + k) is None for k in range(CALLS))
    assert totals["workers"] == CALLS
    assert totals["status"] == {"done": ended["done"], "failed": CALLS - ended["done"]}
    assert totals["completion_tokens"] == tokens
    assert totals["chars"] == sum(w["chars"] for w in run.workers)
    assert run.status == "partial" and len(result.failed) == CALLS - ended["done"]
    assert stats.requests == CALLS + retries_seen  # every retry is one more request
    assert retried_then_done == 15  # 3 recoverable variants x 5 calls each
    faulted = sum(stats.faults.values())

    # Nothing is left open: tasks, sockets, files.
    for _ in range(3):
        await asyncio.sleep(0)
    leftover = asyncio.all_tasks() - tasks_before - {asyncio.current_task()}
    assert not leftover, leftover
    fds_after = open_fds()
    assert not fds_after - fds_before and len(fds_after) <= len(fds_before), "fd left open"

    print(f"\nsoak: {CALLS} calls, {stats.requests} requests, {faulted} faulted "
          f"({100 * faulted / stats.requests:.0f}%): {dict(stats.faults)}")
    print(f"soak: ended {dict(ended)}; {retried_then_done} done after a retry; "
          f"{retries_seen} retries; {thought} done calls with reasoning; {tokens} tokens in "
          f"done calls; {time.monotonic() - started:.1f} s")


def test_fault_plan_covers_every_kind() -> None:
    """The plan above really injects each fault kind (guards against a silent edit)."""
    kinds = Counter(sim_options(SEED0 + i).get("fault") for i in range(CALLS))
    del kinds[None]
    assert set(kinds) == {"status", "close", "disconnect", "stall", "malformed", "error"}
    assert sum(kinds.values()) == CALLS // 10
