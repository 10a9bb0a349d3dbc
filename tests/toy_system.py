"""A toy system for the registry tests, written as a plugin would be: one file, one registration.

``relay``: N legs one after another, each asked to improve the answer before it; the last
leg's answer is the run's. ``register(RELAY)`` makes it a CLI command and a picker entry.
"""

from __future__ import annotations

from agentdeck.client.model import BaseModel
from agentdeck.systems.base import Orchestrator, WorkerOutcome, json_params
from agentdeck.systems.registry import (
    Option,
    RunRequest,
    RunResult,
    SystemSpec,
    WorkerResult,
)


class Relay(Orchestrator):
    """Each leg reads the answer of the leg before it."""

    system = "relay"

    async def run_request(self, request: RunRequest) -> RunResult:
        legs = tuple(f"leg-{i}" for i in range(1, (request.calls or 1) + 1))
        kwargs = request.params.to_body()
        run = self.open_run(request, params=json_params(kwargs), workers=legs)

        async def body() -> tuple[str, dict[str, WorkerOutcome]]:
            outcomes: dict[str, WorkerOutcome] = {}
            ask = request.prompt
            for leg in legs:
                outcome = outcomes[leg] = await run.run_one(
                    leg, [{"role": "user", "content": ask}], kwargs, label=leg)
                if not outcome.ok:
                    return "failed", outcomes
                ask = f"{request.prompt}\n\nImprove this answer:\n{outcome.content}"
            return "done", outcomes

        outcomes = await self.drive(run, body)
        last = outcomes[legs[-1]] if len(outcomes) == len(legs) else None
        return RunResult(
            self.last_run_id, run.status, last.content if last is not None and last.ok else "",
            workers={leg: WorkerResult(o, self.worker_file(leg)) for leg, o in outcomes.items()},
        )


def make_relay(model: BaseModel, request: RunRequest) -> Relay:
    return Relay(model, listeners=request.listeners, store=request.store,
                 concurrency=request.concurrency)


RELAY = SystemSpec(
    "relay", "Relay", "pass an answer along N legs, each improving it", make_relay,
    calls=Option("calls", "--legs", "number of legs", default=2, minimum=1, maximum=3,
                 title="number of legs"),
)
