"""The run commands, one per system of the registry: ``ask``, ``chain``, ``multi``, ``debate``...

Each command's arguments, checks and output come from the system's declaration and its
``RunResult``: a system registered before the parser is built gets its command too. Building
the commands reads the declarations only; a system's code loads when its command runs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..fsutil import read_text_file
from .context import Ctx
from .documents import print_failure, run_document
from .exitcodes import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    error_document,
    one_line,
    report,
)
from .inputs import STDIN, is_tty, prompt_text, read_stdin
from .output import TextPrinter
from .summary_table import format_compare

if TYPE_CHECKING:
    from ..systems.aggregate import AggregateResult
    from ..systems.registry import Option, RunResult, SystemSpec

__all__ = ["add_run_commands", "run_command", "show_result"]


async def run_command(ctx: Ctx) -> int:
    """Run the system the command (and its file flag) names; print its result.

    Its inputs were parsed and checked already (``context.check_inputs``). The run summary
    goes to stderr at the end, whatever happened; a reader that leaves stdout (``| head``)
    cancels the run, which ends cleanly (exit 0, the run recorded as cancelled).
    """
    from ..systems.registry import RunRequest

    args = ctx.args
    spec = _pick(args.specs, args.attachment)
    if args.attachment == STDIN and args.prompt in (None, STDIN):
        raise InputError(f"stdin can give the {spec.prompt} or the file, not both")
    prompt = prompt_text(args.prompt, spec.prompt)
    attachment = None
    if args.attachment:
        noun = spec.attachment.noun
        attachment = (read_stdin(noun) if args.attachment == STDIN
                      else _read(ctx, args.attachment, noun))
    given = {o.name: getattr(args, o.name, None) for o in spec.options}
    declined: list[int] = []
    printer = None
    if spec.answer_worker is not None and ctx.streams_text:
        printer = TextPrinter(ctx.out, {spec.answer_worker})
    run = ctx.run_options()
    request = spec.prepare(RunRequest(
        prompt, attachment, ctx.params(), calls=getattr(args, "calls", None),
        rounds=getattr(args, "rounds", None), aggregate=getattr(args, "aggregate", None),
        options={name: value for name, value in given.items() if value is not None},
        listeners=tuple(run["listeners"]) + ((printer,) if printer else ()),
        store=run["store"], concurrency=run["concurrency"], label=args.command,
        settings=ctx.settings, system_prompt=getattr(args, "system_prompt", None),
        confirm=lambda steps: _confirm(ctx, steps, declined),
    ))
    # One answer's request says itself that its model is missing; N requests are not sent
    # to learn it N times.
    async with ctx.connect(check=spec.view != "stream") as model:
        system: Any = spec.make(model, request)
        ctx.out.on_close = system.cancel
        result = None
        try:
            result = await system.run_request(request)
        except asyncio.CancelledError:
            if not (ctx.out.closed or declined):
                raise
        finally:
            if printer is not None:
                printer.end()  # end the line even when the stream broke part-way
            _print_summary(ctx, system, result)
    if declined:
        from ..systems.declarations import CONFIRM_STEPS

        message = (f"not started: {declined[0]} steps is over {CONFIRM_STEPS} "
                   "(--yes runs it without asking)")
        ctx.out.error(message)
        return print_failure(args, ctx.out, "NotConfirmed", message, EXIT_INTERRUPTED)
    if result is None or ctx.out.closed:
        return EXIT_OK  # the reader has all it wanted
    for note in result.notes:  # for a human: stderr, not with -q
        ctx.out.note(note)
    return show_result(ctx, spec, result, model.model_name)


def _print_summary(ctx: Ctx, system: Any, result: RunResult | None) -> None:
    """The run's figures on stderr, once a request finished (a failure's line says the rest).

    From the result, else (the run raised) from the system while it holds them.
    """
    from ..store.report import format_summary

    summary = result.summary if result is not None else {}
    if not summary and getattr(system, "last_run_id", None) is not None:
        summary = system.summary_document()
    if (summary.get("requests") or {}).get("done"):
        ctx.out.block(format_summary(summary))


async def _confirm(ctx: Ctx, steps: int, declined: list[int]) -> bool:
    """Say how many steps the chain takes; past ``CONFIRM_STEPS``, ask on a terminal."""
    from ..systems.aggregate import plural
    from ..systems.declarations import CONFIRM_STEPS

    ctx.out.note(f"chain: {steps} steps ({plural(steps - 1, 'chunk')}, then the manager)")
    asking = is_tty(sys.stdin) and ctx.out.err_tty and not getattr(ctx.args, "yes", False)
    if steps <= CONFIRM_STEPS or not asking:
        return True
    ctx.out.stderr.write(f"agentdeck: send {steps} requests, one after another? [y/N] ")
    ctx.out.stderr.flush()
    if sys.stdin.readline().strip().lower() in ("y", "yes"):
        return True
    declined.append(steps)
    return False


def _pick(specs: tuple[SystemSpec, ...], attachment: str | None) -> SystemSpec:
    """Of the systems sharing a command, the one the file flag (given or not) fits.

    With a file: the first that reads one; without: the first that does not require one.
    """
    for spec in specs:
        need = spec.attachment.need
        fits = (need != "none") if attachment else (need != "required")
        if fits:
            return spec
    return specs[0]


def show_result(ctx: Ctx, spec: SystemSpec, result: RunResult, model: str | None) -> int:
    """Print ``result`` as the flags ask; the exit code says how the run ended (a run
    command's, and ``runs retry``'s)."""
    code, failure = _exit_code(ctx, spec, result)
    if ctx.args.json or ctx.args.events:
        doc = run_document(result, spec, command=ctx.args.command, model=model,
                           recorded=ctx.recorded)
        if code:
            doc["error"] = error_document(failure[0], failure[1], code)["error"]
        if ctx.args.json:
            ctx.out.json(doc)
        else:
            ctx.emit_result(doc)
    elif spec.answer_worker is None:  # nothing streamed: the account goes to stdout now
        for line in result.lines or ((result.answer,) if result.answer else ()):
            ctx.out.line(line)
        if result.aggregate is not None:
            _print_aggregate(ctx, result.aggregate)
        if result.summaries:  # compare: one column per target
            ctx.out.line(format_compare(result.summaries))
    return code


def _exit_code(ctx: Ctx, spec: SystemSpec, result: RunResult) -> tuple[int, tuple[str, str]]:
    """The exit code and (kind, message) of what went wrong, the error line printed.

    The run's status first (a system may fail with no failed worker), then its workers.
    failed: the first worker error's class (``exitcodes``), else EXIT_FAILED; cancelled:
    EXIT_INTERRUPTED; partial: EXIT_PARTIAL. A run that says done over failed workers counts
    as partial, or as failed when none finished.
    """
    status, failed = result.status, result.failed
    if status == "done" and failed:
        status = "partial" if len(failed) < len(result.workers) else "failed"
    if status == "done":
        return EXIT_OK, ("", "")
    if result.failure:
        ctx.out.error(result.failure)
    if status == "partial":
        return EXIT_PARTIAL, ("PartialFailure", result.failure or "some calls failed")
    if status == "cancelled":
        return EXIT_INTERRUPTED, ("Cancelled", result.failure or "the run was cancelled")
    errors = [w.outcome.error for w in result.workers.values() if w.outcome.error is not None]
    if errors:
        return report(errors[0], ctx.out.stderr), (type(errors[0]).__name__,
                                                   one_line(errors[0]))
    if failed and all(result.workers[name].outcome.cancelled for name in failed):
        return EXIT_INTERRUPTED, ("Cancelled", "every call was cancelled")
    message = result.failure or f"the {spec.key} run ended {status}"
    if not result.failure:
        ctx.out.error(message)
    return EXIT_FAILED, ("RunFailed", message)


def _print_aggregate(ctx: Ctx, agg: AggregateResult) -> None:
    if agg.error:  # the run's failure line says it, with the exit code
        return
    if agg.vote is not None:  # short lines; the full answers are in --json and run.json
        ctx.out.line(f"vote: {agg.vote.summary}")
        for row in agg.vote.tally():
            ctx.out.line(row)
    elif agg.mode == "select":
        ctx.out.line(f"select: {agg.chosen}")  # call-03, as progress names it
        ctx.out.line(agg.answer)
    else:
        ctx.out.line(f"{agg.mode}:")
        ctx.out.line(agg.answer)


def _read(ctx: Ctx, path: str, what: str) -> str:
    file = read_text_file(path, what)
    if file.warning:
        ctx.out.note(file.warning)
    return file.text


def add_run_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Register one command per system (systems sharing a command name share it)."""
    from ..systems import registry

    commands: dict[str, list[SystemSpec]] = {}
    for spec in registry.specs():
        commands.setdefault(spec.command or spec.key, []).append(spec)
    for name, specs in commands.items():
        _add_command(sub, common, name, tuple(specs))


def _add_command(sub: argparse._SubParsersAction, common: argparse.ArgumentParser, name: str,
                 specs: tuple[SystemSpec, ...]) -> None:
    from ..systems.declarations import SYSTEM_PROMPT, YES

    head = specs[0]
    p = sub.add_parser(name, parents=[common], help=head.summary,
                       description=head.description or head.summary)
    p.add_argument("prompt", metavar=head.prompt, nargs="?",
                   help=f"{head.prompt_help}; `-` or none reads it from stdin")
    files = {s.attachment.flag: s.attachment for s in specs if s.attachment.flag}
    for flag, attachment in files.items():
        p.add_argument(flag, dest="attachment", metavar="FILE",
                       help=f"{attachment.help} (`-` reads stdin)",
                       required=all(s.attachment.need == "required" for s in specs))
    seen: set[str] = set()
    for option in (o for s in specs for o in s.inputs()):
        if option.name not in seen:
            seen.add(option.name)
            _add_option(p, option)
    if SYSTEM_PROMPT.name not in seen:  # every command takes one, sent before each request
        p.add_argument(SYSTEM_PROMPT.flag, dest=SYSTEM_PROMPT.name, metavar=SYSTEM_PROMPT.metavar,
                       help=f"{SYSTEM_PROMPT.help}, sent first in every request")
    if any(s.view == "chain" for s in specs):
        p.add_argument(YES.flag, dest=YES.name, action="store_true", help=YES.help)
    p.set_defaults(handler=run_command, specs=specs, attachment=None,
                   inputs=tuple(o for s in specs for o in s.inputs()),
                   streams=any(s.answer_worker for s in specs))


def _add_option(p: argparse.ArgumentParser, option: Option) -> None:
    """The option's flag; its text is read by ``Option.parse`` (``context.check_inputs``)."""
    if option.kind == "switch":
        p.add_argument(option.flag, dest=option.name, action="store_true", help=option.help)
        return
    default = option.cli_default
    if default is None and not option.required:
        default = option.default
    text = option.help + (" (default: %(default)s)" if default is not None else "")
    kw: dict[str, Any] = {"dest": option.name, "default": default, "help": text}
    if option.kind == "choice":
        kw["choices"] = option.choices
    if option.kind != "choice":  # argparse's own metavar would come from the dest
        kw["metavar"] = option.metavar or option.flag.lstrip("-").upper().replace("-", "_")
    if option.required:
        kw["required"] = True
    if option.many:  # --target A --target B
        kw["action"] = "append"
    p.add_argument(option.flag, **kw)
