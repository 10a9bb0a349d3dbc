"""``agentdeck examples``: the original ``example.py``, same files, same layout.

Writes ``ex1_basic_agent_output.txt``, ``ex2_context_agent_output.txt``,
``ex3_chain_system_output.txt`` and ``ex4_multi_call_outputs/website_<i>.txt`` under the output
folder, reading ``context.txt`` and ``longtext.txt`` (created with stand-in text when missing,
as the original did).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..fsutil import read_text_file
from .context import Ctx
from .exitcodes import EXIT_OK, EXIT_PARTIAL
from .inputs import check_output_dir

__all__ = ["add_examples_command", "cmd_examples"]

BASIC_PROMPT = ("Explain the difference between synchronous and asynchronous programming "
                "using a simple analogy.")
CONTEXT_PROMPT = "What are 3 key recommendations for writing clean code?"
CHAIN_PROMPT = ("Based on the provided text, explain the implications of Python's dynamic "
                "typing and the GIL.")
MULTI_PROMPT = ("Make the best looking website for a html css js tailwind coffee shop "
                "landing page.")
CONTEXT_STAND_IN = "Default context: Focus on AI safety and alignment."
LONG_TEXT_STAND_IN = (
    "Python is dynamically typed, which offers flexibility but can lead to runtime errors if "
    "not carefully managed. Static analysis tools like MyPy help mitigate this by adding "
    "optional type hints and checking them before runtime. Another key aspect is its extensive "
    "standard library, covering areas from web protocols to GUI development. The Global "
    "Interpreter Lock (GIL) in CPython means that only one thread executes Python bytecode at "
    "a time in a single process, which can limit CPU-bound parallelism but simplifies memory "
    "management. Asynchronous programming with asyncio provides concurrency for I/O-bound "
    "tasks without needing multiple threads.\n"
)
SEED_MAX_TOKENS = {"basic": 300, "chain": 400, "multi": 35000}
"""The original's per-example max_tokens; each request lowers it to what the window leaves
(``systems.fit``), so the seed's numbers run on a 1024-token model too."""
PREVIEW = 200
"""Characters of each answer the original script printed."""


def preview(text: str) -> str:
    """The start of an answer on one line, as the original printed it."""
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW else flat[:PREVIEW] + "..."


def _ensure(path: Path, text: str, ctx: Ctx) -> None:
    if not path.exists():
        path.write_text(text, encoding="utf-8")
        ctx.out.note(f"{path} not found: created it with stand-in text (replace it with your own)")


def _save(folder: Path, name: str, content: str) -> Path:
    path = folder / name
    path.write_text(content, encoding="utf-8")
    return path


async def cmd_examples(ctx: Ctx) -> int:
    """Run the four examples of the original ``example.py``."""
    args = ctx.args
    folder = check_output_dir(args.output_dir)
    context_file, long_file = Path(args.context_file), Path(args.long_text_file)
    _ensure(context_file, CONTEXT_STAND_IN, ctx)
    _ensure(long_file, LONG_TEXT_STAND_IN, ctx)
    context = read_text_file(str(context_file), "context file").text
    long_text = read_text_file(str(long_file), "long-text file").text
    params = ctx.params().to_body()
    override = params.pop("max_tokens", None)

    def tokens(name: str) -> dict[str, Any]:
        return {"max_tokens": override or SEED_MAX_TOKENS[name]}

    async with ctx.connect() as model:
        from ..systems import ChainOfAgents, MultiCallSystem
        from ..systems.agents import BasicAgent, ContextAgent

        opts = ctx.run_options()
        ctx.out.line(f"Running BasicAgent with prompt: '{BASIC_PROMPT}'")
        basic = await BasicAgent("basic_001", model, **opts).run(
            BASIC_PROMPT, **params, **tokens("basic"))
        path = _save(folder, "ex1_basic_agent_output.txt",
                     f"Prompt:\n{BASIC_PROMPT}\n\nResponse:\n{basic}")
        ctx.out.line(f"BasicAgent response: {preview(basic)}")
        ctx.out.line(f"BasicAgent response saved to {path}")

        ctx.out.line(f"Running ContextAgent with prompt: '{CONTEXT_PROMPT}'")
        answer = await ContextAgent("context_001", model, context, **opts).run(
            CONTEXT_PROMPT, **params, **({"max_tokens": override} if override else {}))
        path = _save(folder, "ex2_context_agent_output.txt",
                     f"Context:\n{context}\n\nPrompt:\n{CONTEXT_PROMPT}\n\nResponse:\n{answer}")
        ctx.out.line(f"ContextAgent response: {preview(answer)}")
        ctx.out.line(f"ContextAgent response saved to {path}")

        ctx.out.line(f"Running ChainOfAgents system with prompt: '{CHAIN_PROMPT}'")
        chain = ChainOfAgents("chain_summarizer_01", model, chunk_size=200, chunk_overlap=50,
                              **opts)
        final = await chain.run(CHAIN_PROMPT, long_text, **params, **tokens("chain"))
        path = _save(folder, "ex3_chain_system_output.txt",
                     f"Initial Prompt:\n{CHAIN_PROMPT}\n\nLong Text Input (preview):\n"
                     f"{long_text[:300]}...\n\nFinal Response:\n{final}")
        ctx.out.line(f"ChainOfAgents response: {preview(final)}")
        ctx.out.line(f"ChainOfAgents response saved to {path}")

        multi_dir = folder / "ex4_multi_call_outputs"
        multi_tokens = tokens("multi")
        ctx.out.line(f"Running MultiCallSystem for {args.calls} calls with prompt: "
                     f"'{MULTI_PROMPT}'")
        multi = MultiCallSystem("multi_haiku_01", model, **opts)
        results = await multi.run(MULTI_PROMPT, args.calls, str(multi_dir), "website", **params,
                                  **multi_tokens)
    ctx.out.line(f"MultiCallSystem finished. Results saved in '{multi_dir}'.")
    ctx.out.line("Result Summary (File path or Error):")
    for tid, value in results.items():
        ctx.out.line(f"  {tid}: {value}")
    failed = [v for v in results.values() if v.startswith("ERROR:")]
    return EXIT_PARTIAL if failed else EXIT_OK


def add_examples_command(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Register examples; its ``-n`` has the limits of multi's."""
    from ..systems import registry

    p = sub.add_parser("examples", parents=[common], help="run the original example.py",
                       description="Run the original example.py's four examples (BasicAgent, "
                                   "ContextAgent, ChainOfAgents, MultiCallSystem).")
    p.add_argument("--output-dir", default="run_outputs", metavar="DIR",
                   help="where the example outputs go (default: %(default)s)")
    p.add_argument("--context-file", default="context.txt", metavar="FILE",
                   help="context of example 2, created when missing (default: %(default)s)")
    p.add_argument("--long-text-file", default="longtext.txt", metavar="FILE",
                   help="long text of example 3, created when missing (default: %(default)s)")
    p.add_argument("-n", dest="calls", metavar="N", type=int, default=15,
                   help="calls of example 4 (default: 15)")
    p.set_defaults(handler=cmd_examples, inputs=(registry.get("multi").calls,))
