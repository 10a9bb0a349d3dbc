"""The run commands, one per system of the registry: ``ask``, ``chain``, ``multi``, ``debate``...

Each command's arguments, checks and output come from the system's declaration and its
``RunResult``: a system registered before the parser is built gets its command too. Building
the commands reads the declarations only; a system's code loads when its command runs.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..fsutil import read_text_file
from .context import Ctx
from .exitcodes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL, report
from .inputs import check_prompt
from .output import TextPrinter

if TYPE_CHECKING:
    from ..systems.aggregate import AggregateResult
    from ..systems.registry import Option, RunResult, SystemSpec

__all__ = ["add_run_commands", "run_command"]


async def run_command(ctx: Ctx) -> int:
    """Run the system the command (and its file flag) names; print its result.

    Its inputs were parsed and checked already (``context.check_inputs``).
    """
    from ..systems.registry import RunRequest

    args = ctx.args
    spec = _pick(args.specs, args.attachment)
    prompt = check_prompt(args.prompt, spec.prompt)
    attachment = _read(ctx, args.attachment, spec.attachment.noun) if args.attachment else None
    given = {o.name: getattr(args, o.name, None) for o in spec.options}
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
    ))
    async with ctx.connect() as model:
        system = spec.make(model, request)
        try:
            result = await system.run_request(request)
        finally:
            if printer is not None:
                printer.end()  # end the line even when the stream broke part-way
    return _show(ctx, spec, result)


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


def _show(ctx: Ctx, spec: SystemSpec, result: RunResult) -> int:
    """Print ``result`` as the flags ask; the exit code says how the run ended."""
    if ctx.args.json:
        ctx.out.json(result.document())
    elif ctx.args.events:
        ctx.emit_result(result.headline())
    elif spec.answer_worker is None:  # nothing streamed: the account goes to stdout now
        for line in result.lines or ((result.answer,) if result.answer else ()):
            ctx.out.line(line)
        if result.aggregate is not None:
            _print_aggregate(ctx, result.aggregate)
    return _exit_code(ctx, spec, result)


def _exit_code(ctx: Ctx, spec: SystemSpec, result: RunResult) -> int:
    """The run's status first (a system may fail with no failed worker), then its workers.

    failed: the first worker error's class (``exitcodes``), else EXIT_FAILED; cancelled:
    EXIT_INTERRUPTED; partial: EXIT_PARTIAL. A run that says done over failed workers counts
    as partial, or as failed when none finished.
    """
    status, failed = result.status, result.failed
    if status == "done" and failed:
        status = "partial" if len(failed) < len(result.workers) else "failed"
    if status == "done":
        return EXIT_OK
    if result.failure:
        ctx.out.note(result.failure)
    if status == "partial":
        return EXIT_PARTIAL
    if status == "cancelled":
        return EXIT_INTERRUPTED
    errors = [w.outcome.error for w in result.workers.values() if w.outcome.error is not None]
    if errors:
        return report(errors[0], ctx.out.stderr)
    if failed and all(result.workers[name].outcome.cancelled for name in failed):
        return EXIT_INTERRUPTED  # every worker was cancelled one by one
    if not result.failure:
        ctx.out.note(f"the {spec.key} run ended {status}")
    return EXIT_FAILED


def _print_aggregate(ctx: Ctx, agg: AggregateResult) -> None:
    if agg.error:  # the run's failure line says it, with the exit code
        return
    if agg.vote is not None:  # short lines; the full answers are in --json and run.json
        ctx.out.line(f"vote: {agg.vote.summary}")
        for row in agg.vote.tally():
            ctx.out.line(row)
    elif agg.mode == "select":
        ctx.out.line(f"select: {agg.chosen}")
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
    head = specs[0]
    p = sub.add_parser(name, parents=[common], help=head.summary,
                       description=head.description or head.summary)
    p.add_argument("prompt", metavar=head.prompt, help=head.prompt_help)
    files = {s.attachment.flag: s.attachment for s in specs if s.attachment.flag}
    for flag, attachment in files.items():
        p.add_argument(flag, dest="attachment", metavar="FILE", help=attachment.help,
                       required=all(s.attachment.need == "required" for s in specs))
    seen: set[str] = set()
    for option in (o for s in specs for o in s.inputs()):
        if option.name not in seen:
            seen.add(option.name)
            _add_option(p, option)
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
    p.add_argument(option.flag, **kw)
