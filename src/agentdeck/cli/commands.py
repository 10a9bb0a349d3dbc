"""The run commands: ``ask``, ``chain``, ``multi`` and ``debate``."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import InputError
from ..fsutil import read_text_file
from .context import Ctx
from .exitcodes import EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL, report
from .inputs import check_output_dir, check_prompt
from .output import TextPrinter

__all__ = ["cmd_ask", "cmd_chain", "cmd_debate", "cmd_multi"]


async def cmd_ask(ctx: Ctx) -> int:
    """One prompt, streamed to stdout (``--context FILE`` puts a file first)."""
    args = ctx.args
    prompt = check_prompt(args.prompt)
    context = _read(ctx, args.context, "context file") if args.context else None
    system = args.system if args.system and args.system.strip() else None
    async with ctx.connect() as model:
        from ..systems.agents import BasicAgent, ContextAgent

        options: dict[str, Any] = {"system_prompt": system, **ctx.run_options()}
        agent = (ContextAgent("ask", model, context, **options) if context is not None
                 else BasicAgent("ask", model, **options))
        printer = TextPrinter(ctx.out)
        if ctx.streams_text:
            agent.add_listener(printer)
        try:
            text = await agent.run(prompt, **ctx.params())
        finally:
            printer.end()  # end the line even when the stream broke part-way
        result = agent.last_outcome
    if ctx.args.json:
        ctx.out.json({"run_id": agent.last_run_id, "model": model.model_name,
                      "text": result.content, "reasoning": result.reasoning,
                      "finish_reason": result.finish_reason, "usage": result.usage,
                      "metrics": result.metrics})
    elif ctx.args.events:
        ctx.emit_result({"text": text})
    return EXIT_OK


async def cmd_chain(ctx: Ctx) -> int:
    """Chain of Agents over ``--file``: steps on stderr, the manager's answer on stdout."""
    args = ctx.args
    question = check_prompt(args.question, "question")
    long_text = _read(ctx, args.file, "long-text file")
    async with ctx.connect() as model:
        from ..systems import ChainOfAgents

        chain = ChainOfAgents("chain", model, chunk_size=args.chunk_size,
                              query_aware=not args.summarize, unit_tokens=args.unit_tokens,
                              **ctx.run_options())
        printer = TextPrinter(ctx.out, {"manager"})
        if ctx.streams_text:
            chain.add_listener(printer)
        try:
            answer = await chain.run(question, long_text, **ctx.params())
        finally:
            printer.end()
    result = chain.last_result
    if args.json:
        ctx.out.json({"run_id": chain.last_run_id, "answer": answer,
                      "units": result.units if result else [],
                      "chunks": len(result.chunks) if result else 0,
                      "budget": result.budget.describe() if result and result.budget else None})
    elif args.events:
        ctx.emit_result({"answer": answer})
    return EXIT_OK


async def cmd_multi(ctx: Ctx) -> int:
    """N parallel calls, each streamed into ``<output-dir>/<base>_<i>.txt``."""
    args = ctx.args
    prompt = check_prompt(args.prompt)
    folder = check_output_dir(args.output_dir)
    options: dict[str, Any] = {}
    if args.aggregate:
        options["aggregate"] = args.aggregate
    temps = _temperatures(args.temperatures)
    if temps:
        options["temperatures"] = temps
    params = ctx.params()
    if "seed" in params:  # one seed for every call would make every answer the same
        options["seeds"] = params.pop("seed")
    async with ctx.connect() as model:
        from ..systems import MultiCallSystem

        multi = MultiCallSystem("multi", model, **ctx.run_options())
        files = await multi.run(prompt, args.n, str(folder), args.base_filename, **options,
                                **params)
    result = multi.last_result
    agg = result.aggregate if result else None
    if args.json:
        ctx.out.json({"run_id": multi.last_run_id, "results": files,
                      "failed": result.failed if result else [], "aggregate": agg})
    elif args.events:
        ctx.emit_result({"results": files, "aggregate": agg})
    else:
        for tid, value in files.items():
            ctx.out.line(f"{tid}: {value}")
        if agg is not None:
            _print_aggregate(ctx, agg)
    failed = result.failed if result else []
    if not failed:
        return EXIT_OK
    ctx.out.note(f"{len(failed)} of {len(files)} calls failed")
    if len(failed) == len(files):
        errors = [o.error for o in result.outcomes.values() if o.error is not None]
        if errors:
            return report(errors[0], ctx.out.stderr)
        return EXIT_INTERRUPTED
    return EXIT_PARTIAL


def _print_aggregate(ctx: Ctx, agg: Any) -> None:
    if agg.error:
        ctx.out.note(f"{agg.mode}: {agg.error}")
        return
    if agg.vote is not None:
        ctx.out.line(f"vote: {agg.vote.summary}")
    elif agg.mode == "select":
        ctx.out.line(f"select: {agg.chosen}")
        ctx.out.line(agg.answer)
    else:
        ctx.out.line(f"{agg.mode}:")
        ctx.out.line(agg.answer)


async def cmd_debate(ctx: Ctx) -> int:
    """N agents x R rounds; final answers (and the vote when they are short) on stdout."""
    args = ctx.args
    prompt = check_prompt(args.prompt)
    async with ctx.connect() as model:
        from ..systems import Debate

        debate = Debate("debate", model, agents=args.agents, rounds=args.rounds,
                        **ctx.run_options())
        result = await debate.run(prompt, **ctx.params())
    if args.json:
        ctx.out.json({"run_id": debate.last_run_id, "answers": result.answers,
                      "history": result.history, "vote": result.vote,
                      "failed": result.failed})
    elif args.events:
        ctx.emit_result({"answers": result.answers, "vote": result.vote})
    else:
        for seat, answer in enumerate(result.answers, 1):
            ctx.out.line(f"## Seat {seat}\n")
            ctx.out.line((answer or "(no answer)").strip() + "\n")
        if result.vote is not None:
            ctx.out.line(f"vote: {result.vote.summary}")
    if result.failed:
        ctx.out.note(f"{len(result.failed)} debate call(s) failed: {', '.join(result.failed)}")
        return EXIT_PARTIAL
    return EXIT_OK


def _read(ctx: Ctx, path: str, what: str) -> str:
    file = read_text_file(path, what)
    if file.warning:
        ctx.out.note(file.warning)
    return file.text


def _temperatures(spec: str | None) -> list[float] | None:
    if not spec:
        return None
    try:
        values = [float(v) for v in spec.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"--temperatures must be numbers separated by commas, got {spec!r}") \
            from None
    if not values or any(v < 0 for v in values):
        raise InputError(f"--temperatures must be numbers >= 0, got {spec!r}")
    return values


def add_run_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Register ask, chain, multi and debate."""
    from ..systems.aggregate import AGGREGATE_MODES

    p = sub.add_parser("ask", parents=[common], help="send one prompt and stream the answer",
                       description="Send one prompt and stream the answer to stdout.")
    p.add_argument("prompt", help="the prompt")
    p.add_argument("--context", metavar="FILE", help="a text file placed before the prompt")
    p.add_argument("--system", metavar="TEXT", help="a system prompt")
    p.set_defaults(handler=cmd_ask)

    p = sub.add_parser("chain", parents=[common], help="answer a question over a long file",
                       description="Chain of Agents: workers read FILE chunk by chunk, passing "
                                   "a summary along; a manager answers from the last one.")
    p.add_argument("question", help="the question (or, with --summarize, the task)")
    p.add_argument("--file", required=True, metavar="FILE", help="the long text")
    p.add_argument("--summarize", action="store_true",
                   help="query-less workers (plain running summaries)")
    p.add_argument("--chunk-size", type=int, metavar="TOKENS", help="cap on a chunk's tokens")
    p.add_argument("--unit-tokens", type=int, metavar="TOKENS",
                   help="max_tokens of each worker's summary")
    p.set_defaults(handler=cmd_chain)

    p = sub.add_parser("multi", parents=[common], help="run one prompt N times in parallel",
                       description="Run one prompt N times in parallel; each answer streams "
                                   "into OUTPUT_DIR/BASE_<i>.txt.")
    p.add_argument("prompt", help="the prompt")
    p.add_argument("-n", type=int, required=True, help="number of calls")
    p.add_argument("--aggregate", choices=AGGREGATE_MODES,
                   help="vote (majority of final answers), select (one call picks the most "
                        "consistent) or synthesize (one call merges them)")
    p.add_argument("--concurrency", type=int, metavar="K", help="most calls in flight")
    p.add_argument("--output-dir", default="multi_call_outputs", metavar="DIR",
                   help="folder of the answer files (default: %(default)s)")
    p.add_argument("--base-filename", default="output", metavar="BASE",
                   help="file name stem (default: %(default)s)")
    p.add_argument("--temperatures", metavar="T1,T2,...",
                   help="per-call temperatures, cycled over the calls")
    p.set_defaults(handler=cmd_multi)

    p = sub.add_parser("debate", parents=[common], help="agents answer, read each other, revise",
                       description="Multi-agent debate: N agents answer, then for R rounds each "
                                   "reads the others' answers and revises.")
    p.add_argument("prompt", help="the question")
    p.add_argument("--agents", type=int, default=3, help="number of agents (default: 3)")
    p.add_argument("--rounds", type=int, default=2, help="revision rounds (default: 2)")
    p.add_argument("--concurrency", type=int, metavar="K", help="most calls in flight")
    p.set_defaults(handler=cmd_debate)
