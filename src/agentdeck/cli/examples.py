"""``agentdeck examples``: the original ``example.py``, same files, same layout.

Writes ``ex1_basic_agent_output.txt``, ``ex2_context_agent_output.txt``,
``ex3_chain_system_output.txt`` and ``ex4_multi_call_outputs/website_<i>.txt`` under the output
folder, reading ``context.txt`` and ``longtext.txt`` (created with stand-in text when missing,
as the original did: in the current folder, or in the output folder when one is named).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..events import SCHEMA
from ..fsutil import read_text_file
from .context import Ctx
from .exitcodes import EXIT_OK, EXIT_PARTIAL

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
DEFAULT_OUTPUT_DIR = "run_outputs"


def preview(text: str) -> str:
    """The start of an answer on one line, as the original printed it."""
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW else flat[:PREVIEW] + "..."


def _stand_in(name: str | None, default: str, folder: Path, args: Any) -> Path:
    """The input file to read: the one named, else ``default`` in the current folder; when
    that is missing its stand-in goes in the output folder if one was named (the seed's
    current folder otherwise), so ``--output-dir`` keeps every file this command writes."""
    if name is not None:
        return Path(name)
    here = Path(default)
    return here if here.exists() or args.output_dir is None else folder / default


def _ensure(path: Path, text: str, ctx: Ctx) -> None:
    if path.exists():
        return
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot create {path}: {exc.strerror or exc} (name a folder you can "
                         "write with --output-dir, or existing files with --context-file and "
                         "--long-text-file)") from None
    ctx.out.note(f"{path} not found: created it with stand-in text (replace it with your own)")


def _save(folder: Path, name: str, content: str) -> Path:
    path = folder / name
    try:
        path.write_text(content, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


async def cmd_examples(ctx: Ctx) -> int:
    """Run the four examples of the original ``example.py``.

    Their lines go to stdout as the original printed them; with --json or --events they go to
    stderr (stdout is for JSON only), and --json prints one document at the end.
    """
    from ..systems.output_files import prepare_output_dir

    args = ctx.args
    folder = prepare_output_dir(args.output_dir or DEFAULT_OUTPUT_DIR)
    context_file = _stand_in(args.context_file, "context.txt", folder, args)
    long_file = _stand_in(args.long_text_file, "longtext.txt", folder, args)
    _ensure(context_file, CONTEXT_STAND_IN, ctx)
    _ensure(long_file, LONG_TEXT_STAND_IN, ctx)
    context = read_text_file(str(context_file), "context file").text
    long_text = read_text_file(str(long_file), "long-text file").text
    params = ctx.params().to_body()
    override = params.pop("max_tokens", None)
    say = ctx.out.line if ctx.streams_text else ctx.out.note
    done: list[dict[str, Any]] = []

    def tokens(name: str) -> dict[str, Any]:
        return {"max_tokens": override or SEED_MAX_TOKENS[name]}

    def kept(name: str, system: Any, path: Path, answer: str) -> None:
        say(f"{name} response: {preview(answer)}")
        say(f"{name} response saved to {path}")
        done.append({"example": name, "run_id": system.last_run_id if ctx.recorded else None,
                     "file": str(path), "answer": answer})

    async with ctx.connect() as model:
        from ..systems import ChainOfAgents, MultiCallSystem
        from ..systems.agents import BasicAgent, ContextAgent

        opts = ctx.run_options()
        say(f"Running BasicAgent with prompt: '{BASIC_PROMPT}'")
        agent: Any = BasicAgent("basic_001", model, **opts)
        basic = await agent.run(BASIC_PROMPT, **params, **tokens("basic"))
        kept("BasicAgent", agent, _save(folder, "ex1_basic_agent_output.txt",
                                        f"Prompt:\n{BASIC_PROMPT}\n\nResponse:\n{basic}"), basic)

        say(f"Running ContextAgent with prompt: '{CONTEXT_PROMPT}'")
        agent = ContextAgent("context_001", model, context, **opts)
        answer = await agent.run(CONTEXT_PROMPT, **params,
                                 **({"max_tokens": override} if override else {}))
        kept("ContextAgent", agent, _save(
            folder, "ex2_context_agent_output.txt",
            f"Context:\n{context}\n\nPrompt:\n{CONTEXT_PROMPT}\n\nResponse:\n{answer}"), answer)

        say(f"Running ChainOfAgents system with prompt: '{CHAIN_PROMPT}'")
        chain = ChainOfAgents("chain_summarizer_01", model, chunk_size=200, chunk_overlap=50,
                              **opts)
        final = await chain.run(CHAIN_PROMPT, long_text, **params, **tokens("chain"))
        kept("ChainOfAgents", chain, _save(
            folder, "ex3_chain_system_output.txt",
            f"Initial Prompt:\n{CHAIN_PROMPT}\n\nLong Text Input (preview):\n"
            f"{long_text[:300]}...\n\nFinal Response:\n{final}"), final)

        multi_dir = folder / "ex4_multi_call_outputs"
        say(f"Running MultiCallSystem for {args.calls} calls with prompt: '{MULTI_PROMPT}'")
        multi = MultiCallSystem("multi_haiku_01", model, **opts)
        results = await multi.run(MULTI_PROMPT, args.calls, str(multi_dir), "website", **params,
                                  **tokens("multi"))
    say(f"MultiCallSystem finished. Results saved in '{multi_dir}'.")
    say("Result Summary (File path or Error):")
    for tid, value in results.items():
        say(f"  {tid}: {value}")
    failed = [v for v in results.values() if v.startswith("ERROR:")]
    code = EXIT_PARTIAL if failed else EXIT_OK
    if ctx.args.json:
        outcomes = multi.last_result.outcomes if multi.last_result else {}
        workers = {outcomes[tid].worker_id: {"status": "done" if outcomes[tid].ok else "failed",
                                             "file": value}
                   for tid, value in results.items() if tid in outcomes}
        done.append({"example": "MultiCallSystem",
                     "run_id": multi.last_run_id if ctx.recorded else None,
                     "output_dir": str(multi_dir), "workers": workers})
        ctx.out.json({"schema": SCHEMA, "output_dir": str(folder), "examples": done,
                      "status": "partial" if failed else "done"})
    return code


def add_examples_command(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Register examples; its ``-n`` has the limits of multi's."""
    from ..systems import registry

    p = sub.add_parser("examples", parents=[common], help="run the original example.py",
                       description="Run the original example.py's four examples (BasicAgent, "
                                   "ContextAgent, ChainOfAgents, MultiCallSystem).")
    p.add_argument("--output-dir", metavar="DIR",
                   help=f"where the example outputs go (default: {DEFAULT_OUTPUT_DIR})")
    p.add_argument("--context-file", metavar="FILE",
                   help="context of example 2 (default: context.txt; a stand-in is written "
                        "when missing, into --output-dir when given)")
    p.add_argument("--long-text-file", metavar="FILE",
                   help="long text of example 3 (default: longtext.txt, likewise)")
    p.add_argument("-n", dest="calls", metavar="N", type=int, default=15,
                   help="calls of example 4 (default: 15)")
    p.set_defaults(handler=cmd_examples, inputs=(registry.get("multi").calls,))
