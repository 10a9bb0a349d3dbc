"""Votes are honest and short; a failed aggregate is a failed run result (exit 7)."""

from __future__ import annotations

import json

import pytest
from systems_support import ThreadedSim, sim_model

from agentdeck.cli import main
from agentdeck.store.runs import RunStore
from agentdeck.systems import MultiCallSystem
from agentdeck.systems.aggregate import extract_answer, majority_vote


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("Adding them up, the total comes to 1,042 apples.", "1042"),
        ("Working...\nSo x = 7", "7"),
        ("The capital of France.\n\nParis\n\n- *", "Paris"),
        ("Reasoning.\nAnswer: Blue whale.", "Blue whale"),
        ("\\boxed{12}\nthat is 13 with the bonus", "12"),
        # review: a date or a model name is not a number to vote on
        ("The meeting is on 2024-05-01", "The meeting is on 2024-05-01"),
        ("Use gpt-4", "Use gpt-4"),
        ("x = -5", "-5"),
    ],
)
def test_the_final_line_or_number_is_what_is_counted(text: str, answer: str) -> None:
    assert extract_answer(text) == answer


def test_answers_that_differ_only_in_case_spacing_or_wording_count_together() -> None:
    vote = majority_vote(["So the total is 42.", "ANSWER:  42", "I get 41", "Blue", "blue."])
    assert vote.counts == {"42": 2, "41": 1, "Blue": 2}
    assert not vote.majority  # 42 and blue tie at the top
    assert vote.summary == "no majority (5 answers, 3 different)"


def test_a_clear_top_answer_is_a_majority_and_the_tally_is_one_line_each() -> None:
    long = "a very long final line " * 20
    vote = majority_vote(["Answer: 7", "Answer: 7", f"Answer: {long}"])
    assert vote.majority and vote.summary == "7 (2 of 3)"
    rows = vote.tally()
    assert rows[0].split() == ["2", "7"]
    assert len(rows[1]) <= 70 and rows[1].endswith("\u2026") and "\n" not in rows[1]


def test_every_answer_different_is_no_majority_with_short_lines(capsys, tmp_path) -> None:
    """Before: one ``vote:`` line listing every full answer, naming a "winner" anyway."""
    with ThreadedSim(output_tokens=120, output_tokens_jitter=0.4) as sim:
        argv = ["multi", "-n", "12", "Explain", "--aggregate", "vote", "--seed", "1",
                "--base-url", sim.base_url, "--model", "sim-model", "--output-dir", str(tmp_path)]
        code = main(argv)
        out, err = capsys.readouterr()
        assert code == 0, err
        assert "vote: no majority (12 answers, " in out
        assert max(len(line) for line in out.splitlines()) < 120
        assert "... 2 more answers (--json has all)" in out  # 10 tally lines at most
        assert main([*argv, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    vote = doc["aggregate"]["vote"]
    assert sum(vote["counts"].values()) == 12 and doc["aggregate"]["answer"] == ""
    assert max(len(a) for a in vote["counts"]) > 60  # the full answers, uncut


async def test_a_select_naming_no_response_is_a_partial_run_without_a_step_file() -> None:
    async with sim_model() as (_, model):
        multi = MultiCallSystem("m", model, store=RunStore())
        await multi.run("Name a fruit", 3, None, aggregate="select", max_tokens=6)
    info = RunStore().load_run(multi.last_run_id)
    assert info.status == "partial"
    assert info.worker("aggregate")["status"] == "done"  # the judge answered, uselessly
    assert not (info.dir / "step-01.md").exists() and info.read_step(1) == ""


def test_a_failed_aggregate_exits_7_and_says_why(capsys, tmp_path) -> None:
    # The 4th request is the judge's: the server refuses it.
    with ThreadedSim(fault_schedule={4: {"fault": "status", "status": 400}}) as sim:
        code = main(["multi", "-n", "3", "x", "--concurrency", "1", "--aggregate",
                     "synthesize", "--base-url", sim.base_url, "--model", "sim-model",
                     "--max-tokens", "4", "--output-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 7
    assert "synthesize failed:" in err
    (run,) = RunStore().list_runs()
    assert RunStore().load_run(run.run_id).status == "partial"
