"""Issue 11 on a real vLLM server with a 1024-token window (../shared/peers/vllm/start.sh):
the seed's own numbers and the CLI's defaults run to the end. Skipped when no peer answers."""

from __future__ import annotations

import pytest

from agentdeck.cli import main
from agentdeck.client.vllm import VLLMModel
from agentdeck.systems import ChainOfAgents, MultiCallSystem
from agentdeck.systems.agents import BasicAgent

from test_vllm_peer import BASE_URL, KEY, base

pytestmark = [pytest.mark.vllm, base]
SEED_MAX_TOKENS = 32000
"""What the seed's example.py sets, far beyond the peer's 1024-token window."""


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setenv("AGENTDECK_API_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_examples_run_to_the_end_with_defaults(cli_env, capsys) -> None:
    assert main(["--base-url", BASE_URL, "examples", "-n", "4"]) == 0
    out = capsys.readouterr()
    assert "BasicAgent response: " in out.out and "ChainOfAgents response: " in out.out
    assert "lowered to" in out.err  # the seed's 35000 for example 4, fitted and said once
    assert (cli_env / "run_outputs" / "ex3_chain_system_output.txt").read_text().strip()


def test_debate_three_agents_two_rounds_with_defaults(cli_env) -> None:
    assert main(["--base-url", BASE_URL, "debate", "--agents", "3", "--rounds", "2",
                 "Is P = NP likely?"]) == 0


async def test_a_seed_script_with_max_tokens_32000_runs_to_the_end(tmp_path) -> None:
    long_text = "Python is dynamically typed and has a GIL. " * 120
    async with VLLMModel("tiny-llama", BASE_URL, KEY) as model:
        answer = await BasicAgent("a", model).run("Say hi.", max_tokens=SEED_MAX_TOKENS)
        assert isinstance(answer, str)
        final = await ChainOfAgents("c", model).run("What is this about?", long_text,
                                                     max_tokens=SEED_MAX_TOKENS)
        assert isinstance(final, str)
        files = await MultiCallSystem("m", model).run("Write a tagline", 3, str(tmp_path), "t",
                                                      max_tokens=SEED_MAX_TOKENS)
        assert all(not str(v).startswith("ERROR") for v in files.values()), files
