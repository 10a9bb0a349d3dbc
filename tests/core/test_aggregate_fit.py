"""Debate, select and synthesize quote other answers: on a 1024-token server they must fit."""

from __future__ import annotations

import pytest
from systems_support import ThreadedSim, sim_model

from agentdeck.cli import main
from agentdeck.store.runs import RunStore
from agentdeck.systems import Debate
from agentdeck.systems.aggregate import select_prompt
from agentdeck.systems.fit import fitter_for
from agentdeck.systems.quotes import QuoteFitter, _fair_shares

SMALL = {"max_model_len": 1024, "output_tokens": 300}
"""A small-window server whose natural answers are long: three of them overflow it."""


def _cli(sim, *argv: str) -> list[str]:
    return [*argv, "--base-url", sim.base_url, "--model", "sim-model"]


def test_debate_three_seats_two_rounds_fits_a_1024_token_window(capsys) -> None:
    """Without fitting, every round-1 seat fails ("prompt contains at least 1025 input
    tokens") and the run exits 7."""
    with ThreadedSim(**SMALL) as sim:
        code = main(_cli(sim, "debate", "Is 17 prime?", "--agents", "3", "--rounds", "2"))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "0 failed" in err and "failed:" not in err  # the summary table, no failure line
    (run,) = RunStore().list_runs()
    info = RunStore().load_run(run.run_id)
    assert info.status == "done"
    assert out.count("## Seat") == 3


@pytest.mark.parametrize("mode", ["select", "synthesize"])
def test_select_and_synthesize_over_eight_long_answers_fit(capsys, tmp_path, mode: str) -> None:
    """Eight 300-token answers quoted whole need about 2,500 tokens: the judge's request was
    refused and the CLI printed the error, exiting 0."""
    with ThreadedSim(**SMALL) as sim:
        code = main(_cli(sim, "multi", "-n", "8", "Name a fruit", "--aggregate", mode,
                         "--output-dir", str(tmp_path)))
    out, err = capsys.readouterr()
    (run,) = RunStore().list_runs()
    info = RunStore().load_run(run.run_id)
    assert info.worker("aggregate")["status"] == "done"  # the judge's request fitted
    if mode == "synthesize":
        assert code == 0 and info.status == "done" and "synthesize:" in out
    else:  # the simulator's judge names no response: a failed aggregate, not a guess
        assert code == 7 and info.status == "partial"
        assert "select failed: the reply named no response" in err


async def test_quoted_answers_keep_their_end_behind_a_marker_and_the_prompt_fits() -> None:
    async with sim_model(**SMALL) as (_, model):
        answers = [f"{'Long reasoning about apples. ' * 60}Answer: {n}" for n in (3, 4, 5)]
        fitter = QuoteFitter(model)
        fixed = select_prompt("Count them", ["", "", ""])
        fitted = await fitter.fit(fixed, answers, {})
        prompt_tokens = len(await model.tokenize(select_prompt("Count them", fitted)))
    assert prompt_tokens + 1024 // 4 <= 1024
    for n, text in zip((3, 4, 5), fitted):
        assert text.startswith("[... ") and " characters cut ...]\n" in text
        assert text.endswith(f"Answer: {n}")
    cut = int(fitted[0][5:fitted[0].index(" characters")])
    assert cut + len(fitted[0].split("]\n", 1)[1]) == len(answers[0])


async def test_unknown_window_or_short_answers_are_left_alone() -> None:
    async with sim_model(**SMALL) as (_, model):
        model.reported_window = None
        fitter = QuoteFitter(model)
        shared = fitter_for(model)  # the window every request of this model is fitted to
        shared._window, shared.known = None, True  # the server does not say its window
        long = ["x " * 3000]
        assert await fitter.fit("q", long, {}) == long
        short = ["Answer: 4", "Answer: 5"]
        assert await QuoteFitter(model).fit("q", short, {}) == short


def test_shares_are_equal_and_short_quotes_give_their_rest_away() -> None:
    assert _fair_shares([10, 500, 800], 610) == [10, 300, 300]
    assert _fair_shares([400, 400], 300) == [150, 150]
    assert _fair_shares([5, 6], 100) == [5, 6]


async def test_debate_revisions_quote_shortened_answers_on_a_small_window() -> None:
    async with sim_model(**SMALL) as (_, model):
        debate = Debate("d", model, agents=3, rounds=2, store=False)
        result = await debate.run("Is 17 prime?")
    assert not result.failed
    round2 = [m for m, _ in model.sent if len(m) == 5]
    assert len(round2) == 3
    for messages in round2:
        text = "\n".join(m["content"] for m in messages)
        assert "characters cut ...]" in text
