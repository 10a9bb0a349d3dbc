"""Debate against the simulator: rounds, message structure, failures, the vote, exit codes."""

from __future__ import annotations

import socket

import pytest
from systems_support import sim_model

from agentdeck.cli import main
from agentdeck.config.settings import Profile, set_profile
from agentdeck.errors import InputError
from agentdeck.store.runs import RunStore
from agentdeck.systems import Debate
from agentdeck.systems.aggregate import majority_vote


async def test_each_seat_answers_then_revises_seeing_the_others_latest_answers() -> None:
    async with sim_model() as (_, model):
        debate = Debate("d", model, agents=3, rounds=2, store=RunStore())
        result = await debate.run("What is 6 x 7?", max_tokens=8)
    assert len(model.sent) == 9  # 3 seats x (1 independent answer + 2 revisions)
    by_seat_round = {}
    for messages, _ in model.sent:
        by_seat_round[len(messages)] = by_seat_round.get(len(messages), 0) + 1
    assert by_seat_round == {1: 3, 3: 3, 5: 3}  # conversations grow by 2 per round
    assert [len(r) for r in result.history] == [3, 3, 3]
    assert result.answers == result.history[-1]
    for messages, _ in model.sent:
        if len(messages) == 5:  # a round-2 request: the whole conversation of one seat
            assert messages[0] == {"role": "user", "content": "What is 6 x 7?"}
            assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant",
                                                     "user"]
            own = messages[3]["content"]
            others = [a for a in result.history[1] if a != own]
            assert all(other.strip() in messages[4]["content"] for other in others)
            assert own.strip() not in messages[4]["content"]
    info = RunStore().load_run(debate.last_run_id)
    assert info.status == "done"
    assert [w["id"] for w in info.workers][:3] == ["seat1-r0", "seat2-r0", "seat3-r0"]
    assert len(info.steps) == 3


async def test_short_answers_get_a_majority_vote() -> None:
    async with sim_model() as (_, model):
        result = await Debate("d", model, agents=3, rounds=1, store=False).run(
            "Answer in two words", max_tokens=3)
    assert result.vote == majority_vote(result.answers)
    assert result.vote is not None and sum(result.vote.counts.values()) == 3
    assert result.answer == result.vote.winner


async def test_a_failed_seat_sits_out_and_the_run_is_partial() -> None:
    # One call at a time, so request 2 is seat 2's first answer; a 400 is never retried.
    async with sim_model(fault_schedule={2: {"fault": "status", "status": 400}}) as (_, model):
        debate = Debate("d", model, agents=3, rounds=1, concurrency=1, store=RunStore())
        result = await debate.run("Q?", max_tokens=6)
    assert result.failed == ["seat2-r0"]
    assert result.answers[1] == "" and result.answers[0] and result.answers[2]
    assert len(model.sent) == 5
    assert RunStore().load_run(debate.last_run_id).status == "partial"


@pytest.mark.parametrize(("agents", "rounds"), [(1, 2), (3, -1), (99, 1), (3, 99)])
def test_impossible_sizes_are_refused(agents: int, rounds: int) -> None:
    with pytest.raises(InputError):
        Debate("d", object(), agents=agents, rounds=rounds)  # type: ignore[arg-type]


def test_every_seat_failing_exits_with_the_errors_class_not_partial(capsys) -> None:
    """EXIT_PARTIAL says "the others finished": when no seat answered, the CLI exits with the
    failure's own class (here 4, cannot connect), as a failed single answer does."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    url = f"http://127.0.0.1:{port}/v1"
    set_profile(Profile(name="down", base_url=url, model="m", max_retries=0), make_default=True)
    assert main(["debate", "Is 17 prime?", "--agents", "2", "--rounds", "1"]) == 4
    err = capsys.readouterr().err
    assert "2 debate call(s) failed: seat1-r0, seat2-r0" in err
    assert f"agentdeck: connection: cannot connect to {url}/chat/completions" in err
    (run,) = RunStore().list_runs()
    assert run.status == "failed"
