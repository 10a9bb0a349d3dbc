"""The ``agentdeck`` command: the terminal app with no arguments, headless commands otherwise.

Start-up stays fast: argparse, the small error/text modules and the systems' declarations (the
run commands are made from the registry of systems) load before a command runs; the HTTP
client, the simulator and the app are imported by the command that needs them.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import logging
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from .. import __version__, eventloop
from ..errors import AgentDeckError
from .documents import print_failure
from .exitcodes import (
    EPILOG,
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    one_line,
    report,
)
from .output import Output

__all__ = ["build_parser", "main"]

DESCRIPTION = """\
Drive vLLM and any OpenAI-compatible server: one prompt, a chain of agents, or many parallel
generations, streamed live and kept on disk. With no command, opens the terminal app.
Without any configured endpoint everything runs against the built-in simulator.
"""


class UsageError(Exception):
    """A command line argparse cannot read (shown as argparse shows it, exit 2)."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors are raised so --json can report them too."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(self, message)


def _connection() -> argparse.ArgumentParser:
    """Flags of every command that talks to a server; SUPPRESS keeps one given before it."""
    p = _Parser(add_help=False)
    g = p.add_argument_group("connection")
    s = argparse.SUPPRESS
    g.add_argument("--profile", default=s, help="endpoint profile from the config file")
    g.add_argument("--base-url", default=s, metavar="URL", help="OpenAI-compatible base URL")
    g.add_argument("--model", default=s, help="model name (default: the first the server lists)")
    g.add_argument("--api-key-env", default=s, metavar="VAR",
                   help="read the API key from this environment variable")
    g.add_argument("--demo", action="store_true", default=s,
                   help="use the in-process simulator instead of the configured endpoint")
    g.add_argument("--timeout", type=float, default=s, metavar="S",
                   help="seconds allowed to connect, to the first token and between tokens")
    for flag, what in (("--connect-timeout", "to connect"),
                       ("--first-token-timeout", "from sending to the first token"),
                       ("--idle-timeout", "between two chunks of a stream")):
        g.add_argument(flag, type=float, default=s, metavar="S", help=f"seconds allowed {what}")
    return p


def _generation() -> argparse.ArgumentParser:
    p = _Parser(add_help=False)
    g = p.add_argument_group("generation")
    s = argparse.SUPPRESS
    g.add_argument("--temperature", type=float, default=s, help="sampling temperature (>= 0)")
    g.add_argument("--max-tokens", type=int, default=s, help="most tokens per answer")
    g.add_argument("--top-p", type=float, default=s, help="nucleus sampling (0 < p <= 1)")
    g.add_argument("--seed", type=int, default=s,
                   help="sampling seed (multi: call i gets SEED + i - 1)")
    g.add_argument("-o", "--option", dest="options", action="append", default=s,
                   metavar="KEY=VALUE",
                   help="any request parameter, repeatable; VALUE is JSON when it parses "
                        "(-o top_k=20 -o ignore_eos=true -o 'stop=[\"\\n\\n\"]')")
    g.add_argument("--no-record", action="store_true", default=s,
                   help="do not keep this run in the run store")
    return p


def _output(*names: str) -> argparse.ArgumentParser:
    """The output flags ``names`` (all by default): a command takes only those it honours."""
    p = _Parser(add_help=False)
    g = p.add_argument_group("output")
    s = argparse.SUPPRESS
    texts = {"quiet": "print nothing on stderr but errors",
             "json": "print one JSON document at the end (also on failure)",
             "events": "print every run event as a JSON line",
             "raw": "print model text as is, even to a terminal"}
    for name in names or tuple(texts):
        flags = ("-q", "--quiet") if name == "quiet" else (f"--{name}",)
        g.add_argument(*flags, action="store_true", default=s, help=texts[name])
    return p


def _common() -> argparse.ArgumentParser:
    """Every flag of a run command."""
    return _Parser(add_help=False, parents=[_connection(), _generation(), _output()])


def build_parser() -> argparse.ArgumentParser:
    """The full command line (sub-commands register themselves)."""
    from .admin import add_admin_commands
    from .commands import add_run_commands
    from .examples import add_examples_command
    from .plugins import add_plugin_commands

    common = _common()
    parser = _Parser(
        prog="agentdeck", description=DESCRIPTION, epilog=EPILOG, parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"agentdeck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_run_commands(sub, common)
    # models takes the connection and prints names: generation flags would do nothing there.
    lookup = _Parser(add_help=False, parents=[_connection(), _output("quiet", "json")])
    files = _output("quiet", "json", "raw")  # runs and systems read files only
    add_admin_commands(sub, lookup, files)
    add_examples_command(sub, common)
    add_plugin_commands(sub, common, files)  # systems, run NAME (issue 16)
    sub.add_parser("sim", help="serve the simulator on a local port (see `agentdeck sim --help`)",
                   add_help=False)
    _note_takes(sub, frozenset())
    return parser


def _note_takes(sub: argparse._SubParsersAction, above: frozenset[str]) -> None:
    """Set each command's ``takes`` (its dests and its parents'), for ``_refuse_unused``."""
    for command in sub.choices.values():
        takes = above | {a.dest for a in command._actions}
        command.set_defaults(takes=takes)
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                _note_takes(action, takes)


APP_FLAGS = frozenset({"profile", "base_url", "model", "api_key_env", "demo", "timeout",
                       "connect_timeout", "first_token_timeout", "idle_timeout", "temperature",
                       "max_tokens", "top_p", "seed", "options"})
"""The common flags the terminal app honours (through the settings)."""


def _refuse_unused(args: argparse.Namespace) -> None:
    """A flag given before the command that the command does not take is an error, not a no-op.

    Raises:
        InputError: naming the first such flag.
    """
    from ..errors import InputError

    common = {a.dest: a.option_strings[-1] for a in _common()._actions if a.option_strings}
    if args.command is None:
        taken, who = APP_FLAGS, "the terminal app"
    else:
        taken, who = getattr(args, "takes", None), args.command
        if taken is None:  # a parser built later (`run NAME`) checks its own flags
            return
    for dest, flag in common.items():
        if dest not in taken and dest in args.given:
            raise InputError(f"{who} does not take {flag}")


def _flag(args: argparse.Namespace, name: str) -> Any:
    return getattr(args, name, None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``agentdeck`` command line; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sim"]:
        from ..sim import cli_main

        return int(cli_main(argv[1:]) or 0)
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # after the command: that command's parser did not take them
            raise UsageError(_command_parser(parser, args), "unrecognized arguments: "
                             + " ".join(extra))
    except SystemExit as exc:  # --help or --version, already printed
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except UsageError as exc:  # one line; with --json or --events, the document too
        prog = exc.parser.prog
        print(f"{prog}: error: {exc} (`{prog} --help` lists the options)", file=sys.stderr)
        return print_failure(_output_flags(argv), Output(), "UsageError", str(exc),
                             EXIT_BAD_INPUT)
    args.given = frozenset(vars(args))  # before the switches below are all set
    for name in ("json", "events", "raw", "demo", "no_record", "quiet"):
        setattr(args, name, bool(_flag(args, name)))
    out = Output(raw=args.raw, quiet=args.quiet)
    handler = _LogHandler(out)
    log = logging.getLogger("agentdeck")
    log.addHandler(handler)
    try:
        return _dispatch(args, out)
    except KeyboardInterrupt:
        message = "interrupted; partial text is kept in the run folder (`agentdeck runs`)"
        out.error(message)
        return print_failure(args, out, "Interrupted", message, EXIT_INTERRUPTED)
    except BrokenPipeError:  # `agentdeck ... | head`: the reader left; that is not an error
        from .output import silence_stdout

        silence_stdout()
        return EXIT_OK
    except AgentDeckError as exc:
        code = report(exc, out.stderr)
        return print_failure(args, out, exc.kind, one_line(exc), code)
    finally:
        log.removeHandler(handler)


def _command_parser(parser: argparse.ArgumentParser,
                    args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser of the command (and action: ``runs prune``) ``args`` ran, for its name."""
    found = parser
    for dest in ("command", "action"):
        subs = [a for a in found._actions if isinstance(a, argparse._SubParsersAction)]
        name = getattr(args, dest, None)
        if not subs or name not in subs[0].choices:
            break
        found = subs[0].choices[name]
    return found


def _output_flags(argv: list[str]) -> argparse.Namespace:
    """``--json`` and ``--events`` as argparse reads them in a line it cannot read whole (not
    a prompt that says ``--json``, or one after ``--``)."""
    p = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    p.add_argument("--json", action="store_true")
    p.add_argument("--events", action="store_true")
    try:
        found, _ = p.parse_known_args(argv)
    except (argparse.ArgumentError, SystemExit):
        return argparse.Namespace(json=False, events=False)
    if found.json and found.events:  # a usage error either way: one document, not both
        found.events = False
    return found


class _LogHandler(logging.Handler):
    """The library's warnings as notes on stderr (``agentdeck: ...``), none with -q."""

    def __init__(self, out: Any) -> None:
        super().__init__(logging.WARNING)
        self.out = out

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.out.error(record.getMessage())
        else:
            self.out.note(record.getMessage())


def _dispatch(args: argparse.Namespace, out: Any) -> int:
    from ..errors import InputError
    from .context import Ctx, check_flags, check_inputs, load

    _refuse_unused(args)
    if args.json and args.events:
        raise InputError("--json and --events cannot be combined: pick one")
    check_flags(args)
    check_inputs(args)
    # `runs` and `systems` read files only: a broken config file must not hide them.
    settings = None if args.command in ("runs", "systems") else load(args)
    check_inputs(args, folders=True)
    if args.command is None:
        from ..tui import run_app

        return int(run_app(settings, demo=args.demo) or 0)
    ctx = Ctx(args, out, settings)
    result = args.handler(ctx)
    if inspect.iscoroutine(result):
        result = _run(result)
    return int(result)


def _run(coro: Any) -> Any:
    try:
        return eventloop.run(coro)  # uvloop when installed
    except asyncio.CancelledError:  # a run cancelled from inside (not by Ctrl-C)
        return EXIT_INTERRUPTED
