"""The built-in systems' declarations: what each takes, with its defaults and limits.

Kept apart from the systems' code so the CLI's parser and the app's picker are built without
importing any system (``agentdeck --help`` loads no client, store or system); each ``make``
imports its system on first use. The systems check their own arguments against these same
options, so a limit or a default is written once.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .inputs import CONCURRENCY, Attachment, Option
from .registry import SystemSpec

if TYPE_CHECKING:
    from ..client.model import BaseModel
    from .request import RunRequest, System

__all__ = [
    "AGENT", "AGGREGATE", "BASE_FILENAME", "CHUNK_SIZE", "DEBATE_AGENTS", "DEBATE_ROUNDS",
    "MANAGER", "MAX_AGENTS", "MAX_CALLS", "MAX_LAYERS", "MAX_ROUNDS", "MIN_CHUNK_TOKENS",
    "MOA_AGGREGATOR", "MOA_AGGREGATOR_MAX_TOKENS", "MOA_AGGREGATOR_TEMPERATURE", "MOA_LAYERS",
    "MOA_PROPOSERS", "MOA_TEMPERATURES", "MULTI_CALLS",
    "OUTPUT_DIR", "SPECS", "SUMMARIZE", "SYSTEM_PROMPT", "TEMPERATURES", "UNIT_TOKENS", "YES",
    "COMMAND_OPTIONS", "CONFIRM_STEPS",
    "WORKER_ID", "COMPARE_CALLS", "COMPARE_CONCURRENCY", "MAX_TARGETS", "TARGETS",
]

MAX_CALLS = 10_000
"""More calls than this in one run is almost surely a typo (``-n 100000``)."""
MAX_AGENTS = 16
MAX_TARGETS = 8
MAX_ROUNDS = 10
MAX_LAYERS = 6
"""Mixture-of-Agents proposer layers: the paper gains little past 3 layers in all."""
MIN_CHUNK_TOKENS = 64
"""Below this a chunk carries too little text to be worth a call."""
WORKER_ID = "agent"
"""The one worker id of an agent run."""
AGENT = "agent"
"""The system an agent run records when its class names none (``BaseAgent.system``); the app
shows such a run, outside the registry, as one stream."""
MANAGER = "manager"
"""The chain's last worker, whose answer is the run's."""


def _lazy(module: str, cls: str) -> Callable[[BaseModel, RunRequest], System]:
    """A ``make`` that imports ``systems.<module>`` on first use and calls ``from_request``."""

    def make(model: BaseModel, request: RunRequest) -> System:
        system: Any = getattr(importlib.import_module(f".{module}", __package__), cls)
        return system.from_request(model, request)

    make.__qualname__ = f"{cls}.from_request"
    return make


SYSTEM_PROMPT = Option("system_prompt", "--system", "a system prompt", kind="text",
                       title="system prompt", metavar="TEXT")
CONFIRM_STEPS = 100
"""A chain of more steps asks before it starts, on a terminal (``--yes`` does not ask)."""
YES = Option("yes", "--yes", f"do not ask before a chain of more than {CONFIRM_STEPS} steps",
             kind="switch")
COMMAND_OPTIONS = (SYSTEM_PROMPT, YES)
"""The options the CLI adds to run commands itself (``--system`` to every one, ``--yes`` to a
chain's): the command line builds them from here and a plugin may not declare them."""
SUMMARIZE = Option("summarize", "--summarize", "query-less workers (plain running summaries)",
                   kind="switch", title="summarize")
CHUNK_SIZE = Option("chunk_size", "--chunk-size", "cap on a chunk's tokens",
                    minimum=MIN_CHUNK_TOKENS, title="chunk size", metavar="TOKENS")
UNIT_TOKENS = Option("unit_tokens", "--unit-tokens", "max_tokens of each worker's summary",
                     minimum=1, title="unit tokens", metavar="TOKENS")
MULTI_CALLS = Option("calls", "-n", "number of calls", default=4, minimum=1, maximum=MAX_CALLS,
                     title="number of calls", required=True)
AGGREGATE = Option("aggregate", "--aggregate",
                   "vote (majority of final answers), select (one call picks the most "
                   "consistent) or synthesize (one call merges them)", kind="choice",
                   choices=("vote", "select", "synthesize"), title="aggregate")
"""The modes of ``systems.aggregate``."""
OUTPUT_DIR = Option("output_dir", "--output-dir", "folder of the answer files", kind="folder",
                    cli_default="multi_call_outputs", title="output folder", metavar="DIR")
"""No default in the registry (no seed-style copies: the run store keeps every call); the
CLI's and the seed ``run()``'s is ``multi_call_outputs``."""
BASE_FILENAME = Option("base_filename", "--base-filename", "file name stem", kind="text",
                       default="output", title="base file name", metavar="BASE")
TEMPERATURES = Option("temperatures", "--temperatures",
                      "per-call temperatures, cycled over the calls", kind="numbers", minimum=0,
                      title="temperatures", metavar="T1,T2,...")
DEBATE_AGENTS = Option("calls", "--agents", "number of agents", default=3, minimum=2,
                       maximum=MAX_AGENTS, title="number of agents")
DEBATE_ROUNDS = Option("rounds", "--rounds", "revision rounds", default=2, minimum=0,
                       maximum=MAX_ROUNDS, title="debate rounds")
MOA_AGGREGATOR = "agg"
"""Mixture-of-Agents' last worker, whose answer is the run's."""
MOA_PROPOSERS = Option("calls", "--proposers", "proposers in each layer", default=3, minimum=1,
                       maximum=MAX_AGENTS, title="proposers per layer")
MOA_LAYERS = Option("rounds", "--layers", "layers of proposers before the aggregator (the "
                    "paper's 3-layer MoA is --layers 2)", default=2, minimum=1,
                    maximum=MAX_LAYERS, title="proposer layers")
MOA_TEMPERATURES = Option("temperatures", "--temperatures",
                          "the proposers' temperatures, cycled over each layer (one model "
                          "answers differently only by sampling)", kind="numbers", minimum=0,
                          title="proposer temperatures", metavar="T1,T2,...")
MOA_AGGREGATOR_TEMPERATURE = Option(
    "aggregator_temperature", "--aggregator-temperature",
    "the aggregator's temperature (default: the run's)", kind="number", minimum=0,
    title="aggregator temperature", metavar="T")
MOA_AGGREGATOR_MAX_TOKENS = Option(
    "aggregator_max_tokens", "--aggregator-max-tokens",
    "most tokens of the final answer (default: the run's --max-tokens)", minimum=1,
    title="aggregator max tokens", metavar="TOKENS")
COMPARE_CALLS = Option("calls", "-n", "calls per target", default=4, minimum=1,
                       maximum=MAX_CALLS, title="calls per target")
TARGETS = Option("targets", "--target",
                 "a target, once per target: profile=NAME, url=URL or model=NAME, or "
                 "profile/url with model=, then any params, joined by commas "
                 "(--target model=Qwen/Qwen2.5-1.5B-Instruct,temperature=0.2)",
                 kind="targets", minimum=2, maximum=MAX_TARGETS, title="targets",
                 required=True, metavar="KEY=VALUE[,KEY=VALUE...]")
COMPARE_CONCURRENCY = Option("concurrency", "--concurrency", "most calls in flight per target",
                             minimum=1, title="concurrency", metavar="K")

SPECS = (
    SystemSpec(
        "basic", "Basic", "send one prompt and stream the answer", _lazy("agents", "BasicAgent"),
        description="Send one prompt and stream the answer to stdout.", command="ask",
        options=(SYSTEM_PROMPT,), view="stream", answer_worker=WORKER_ID,
    ),
    SystemSpec(
        "context", "Context", "answer a prompt read against a context file",
        _lazy("agents", "ContextAgent"),
        command="ask", options=(SYSTEM_PROMPT,), view="stream", answer_worker=WORKER_ID,
        attachment=Attachment("required", "a context file", "context file", "--context",
                              "a text file placed before the prompt"),
    ),
    SystemSpec(
        "chain", "Chain", "answer a question over a long file", _lazy("chain", "ChainOfAgents"),
        description="Chain of Agents: workers read FILE chunk by chunk, passing a summary "
                    "along; a manager answers from the last one.",
        prompt="question", prompt_help="the question (or, with --summarize, the task)",
        attachment=Attachment("required", "a long text", "long-text file", "--file",
                              "the long text"),
        options=(SUMMARIZE, CHUNK_SIZE, UNIT_TOKENS),
        view="chain", answer_worker=MANAGER,
    ),
    SystemSpec(
        "multi", "Multi-call", "run one prompt N times in parallel",
        _lazy("multi", "MultiCallSystem"),
        description="Run one prompt N times in parallel; each answer streams into "
                    "OUTPUT_DIR/BASE_<i>.txt.",
        calls=MULTI_CALLS, aggregate=AGGREGATE, concurrency=CONCURRENCY,
        options=(OUTPUT_DIR, BASE_FILENAME, TEMPERATURES),
    ),
    SystemSpec(
        "debate", "Debate", "agents answer, read each other, revise", _lazy("debate", "Debate"),
        description="Multi-agent debate: N agents answer, then for R rounds each reads the "
                    "others' answers and revises.",
        prompt_help="the question",
        calls=DEBATE_AGENTS, rounds=DEBATE_ROUNDS, concurrency=CONCURRENCY,
    ),
    SystemSpec(
        "moa", "MoA", "Mixture-of-Agents: layers of proposers, then an aggregator",
        _lazy("moa", "MixtureOfAgents"),
        description="Mixture-of-Agents (Wang et al., 2024): N proposers answer; each later "
                    "layer's proposers read the layer before's answers and write better ones; "
                    "an aggregator synthesizes the last layer's into the answer.",
        calls=MOA_PROPOSERS, rounds=MOA_LAYERS, concurrency=CONCURRENCY,
        options=(MOA_TEMPERATURES, MOA_AGGREGATOR_TEMPERATURE, MOA_AGGREGATOR_MAX_TOKENS),
        answer_worker=MOA_AGGREGATOR,
    ),
    SystemSpec(
        "compare", "Compare", "one prompt to 2-8 targets side by side",
        _lazy("compare", "CompareSystem"),
        description="Compare models, deployments or params: the prompt goes N times to each "
                    "target, interleaved, call i with the same seed everywhere; prints one "
                    "summary column per target and whether short answers agree.",
        calls=COMPARE_CALLS, concurrency=COMPARE_CONCURRENCY, options=(TARGETS,),
    ),
)
"""The built-ins, in picker order."""
