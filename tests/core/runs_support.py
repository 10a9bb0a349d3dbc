"""Run folders written through ``RunStore`` for the ``agentdeck runs`` tests (no server)."""

from __future__ import annotations

from typing import Any

from agentdeck.errors import APIStatusError
from agentdeck.events import (
    FirstToken,
    RunFinished,
    RunStarted,
    TextDelta,
    WorkerFailed,
    WorkerFinished,
    WorkerQueued,
    WorkerStarted,
)
from agentdeck.store.runs import RunStore
from agentdeck.types import StreamMetrics, Usage, now


def seed_multi(texts: dict[str, str | None], prompt: str = "What is 6 times 7?",
               cancelled: tuple[str, ...] = (), result: Any = None, system: str = "multi",
               **params: Any) -> str:
    """A recorded multi-call run: ``texts`` maps call ids to their answer, None for a call
    that failed (or was cancelled, when named in ``cancelled``); ``result`` is what the
    system handed ``RunFinished``. Returns the run id."""
    params = {"max_tokens": 8, "num_calls": len(texts), "concurrency": 4, "aggregate": None,
              "output_dir": None, "base_filename": "output", **params}
    rec = RunStore().create_run(system=system, params=params, prompts={"prompt": prompt},
                                endpoint="http://127.0.0.1:9/v1", model="agentdeck-sim",
                                label="multi")
    rid = rec.run_id
    rec(RunStarted(rid, system, tuple(texts)))
    for wid in texts:
        rec(WorkerQueued(rid, wid, f"call {int(wid.split('-')[1])}"))
    for i, (wid, text) in enumerate(texts.items()):
        t0 = now()
        rec(WorkerStarted(rid, wid, t0))
        if text is None:
            rec(TextDelta(rid, wid, "half an", "", t0 + 0.1))
            if wid in cancelled:
                rec(WorkerFailed(rid, wid, None, "half an", cancelled=True))
            else:
                error = APIStatusError("503 server error: overloaded")
                rec(WorkerFailed(rid, wid, error, "half an"))
            continue
        rec(FirstToken(rid, wid, 0.05 * (i + 1), t0 + 0.05))
        rec(TextDelta(rid, wid, text, "", t0 + 0.06, tokens=4))
        metrics = StreamMetrics(ttft=0.05 * (i + 1), e2e=0.2, itl_mean=0.01, itl_p99=0.02,
                                tpot=0.01, output_tokens=4, tokens_per_s=20.0)
        rec(WorkerFinished(rid, wid, "stop", Usage(10, 4, 14), metrics))
    failed = sum(1 for t in texts.values() if t is None)
    rec(RunFinished(rid, "done" if not failed else "partial" if failed < len(texts)
                    else "failed", result))
    return rid
