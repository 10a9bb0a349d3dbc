"""The run commands, one per system of the registry: ``ask``, ``chain``, ``multi``, ``debate``...

Each command's arguments, checks and output come from the system's declaration and its
``RunResult``: a system registered before the parser is built gets its command too.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..fsutil import read_text_file
from .context import Ctx
from .exitcodes import EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL, report
from .inputs import check_output_dir, check_prompt
from .output import TextPrinter

if TYPE_CHECKING:
    from ..systems.aggregate import AggregateResult
    from ..systems.registry import Option, RunResult, SystemSpec

__all__ = ["add_run_commands", "run_command"]


async def run_command(ctx: Ctx) -> int:
    """Run the system the command (and its file flag) names; print its result."""
    from ..systems.registry import RunRequest

    args = ctx.args
    spec = _pick(args.specs, args.attachment)
    prompt = check_prompt(args.prompt, spec.prompt)
    attachment = _read(ctx, args.attachment, spec.attachment.noun) if args.attachment else None
    options = {o.name: _value(o, getattr(args, o.name, None)) for o in spec.options
               if o.name != "concurrency"}
    printer = None
    if spec.answer_worker is not None and ctx.streams_text:
        printer = TextPrinter(ctx.out, {spec.answer_worker})
    run = ctx.run_options()
    request = spec.prepare(RunRequest(
        prompt, attachment, ctx.params(), calls=getattr(args, "calls", None),
        rounds=getattr(args, "rounds", None), aggregate=getattr(args, "aggregate", None),
        options={k: v for k, v in options.items() if v is not None},
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
    """Of the systems sharing a command, the one the file flag (given or not) fits."""
    for spec in specs:
        need = spec.attachment.need
        if need != "none" if attachment else need != "required":
            return spec
    return specs[0]


def _value(option: Option, raw: Any) -> Any:
    """A flag's value as the system takes it; None when not given."""
    if raw is None or raw is False:
        return None
    if option.kind == "text":
        return raw if raw.strip() else None
    if option.kind == "folder":
        return str(check_output_dir(raw))
    if option.kind == "numbers":
        return _numbers(option, raw)
    return raw


def _numbers(option: Option, spec: str) -> list[float] | None:
    try:
        values = [float(v) for v in spec.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"{option.flag} must be numbers separated by commas, got {spec!r}") \
            from None
    low = option.minimum
    if not values or (low is not None and any(v < low for v in values)):
        bound = f" >= {low}" if low is not None else ""
        raise InputError(f"{option.flag} must be numbers{bound}, got {spec!r}")
    return values


def _show(ctx: Ctx, spec: SystemSpec, result: RunResult) -> int:
    """Print ``result`` as the flags ask; the exit code says what failed."""
    if ctx.args.json:
        ctx.out.json(result.document())
    elif ctx.args.events:
        ctx.emit_result(result.headline())
    elif spec.answer_worker is None:  # nothing streamed: the account goes to stdout now
        for line in result.lines or ((result.answer,) if result.answer else ()):
            ctx.out.line(line)
        if result.aggregate is not None:
            _print_aggregate(ctx, result.aggregate)
    failed = result.failed
    if not failed:
        return EXIT_OK
    if result.failure:
        ctx.out.note(result.failure)
    if len(failed) < len(result.workers):
        return EXIT_PARTIAL
    errors = [w.outcome.error for w in result.workers.values() if w.outcome.error is not None]
    return report(errors[0], ctx.out.stderr) if errors else EXIT_INTERRUPTED


def _print_aggregate(ctx: Ctx, agg: AggregateResult) -> None:
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
    if option.kind == "switch":
        p.add_argument(option.flag, dest=option.name, action="store_true", help=option.help)
        return
    default = option.cli_default
    if default is None and not option.required:
        default = option.default
    text = option.help + (" (default: %(default)s)" if default is not None else "")
    kw: dict[str, Any] = {"dest": option.name, "default": default, "help": text}
    if option.kind == "int":
        kw["type"] = int
    if option.kind == "choice":
        kw["choices"] = option.choices
    if option.kind != "choice":  # argparse's own metavar would come from the dest
        kw["metavar"] = option.metavar or option.flag.lstrip("-").upper().replace("-", "_")
    if option.required:
        kw["required"] = True
    p.add_argument(option.flag, **kw)
