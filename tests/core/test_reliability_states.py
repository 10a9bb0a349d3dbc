"""Every worker of a run that ended on its own is recorded in a state that tells the truth."""

from __future__ import annotations

from systems_support import sim_model

from agentdeck.cli import main
from agentdeck.errors import StreamDisconnectedError
from agentdeck.store.runs import RunStore
from agentdeck.systems import ChainOfAgents

LONG = "The mill was built in 1820. It ground wheat for the valley. " * 120


async def test_steps_a_failed_chain_never_ran_are_cancelled_not_interrupted(capsys) -> None:
    """Regression: workers a chain never started after a failed step were recorded as
    "interrupted", which the CLI and the app explain as "the process died"."""
    async with sim_model(fault_schedule={2: {"fault": "disconnect", "after": 3}},
                         max_model_len=600) as (_, model):
        chain = ChainOfAgents("c", model, store=RunStore())
        try:
            await chain.run("What is it about?", LONG, max_tokens=20)
        except StreamDisconnectedError:
            pass  # the chain cannot go on without step 2's summary
    run = RunStore().load_run(chain.last_run_id)
    states = [w["status"] for w in run.workers]
    assert run.status == "failed" and len(states) >= 4
    assert states[:2] == ["done", "failed"] and set(states[2:]) == {"cancelled"}
    assert run.workers[1]["chars"] == len(run.read_text(run.workers[1]["id"])) > 0
    assert main(["runs", "show", run.run_id]) == 0
    shown = capsys.readouterr().out
    assert "status   failed" in shown and "INTERRUPTED" not in shown
