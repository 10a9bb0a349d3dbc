"""The ``agentdeck`` command: the terminal app with no arguments, headless commands otherwise.

Start-up stays fast: argparse, the small error/text modules and the systems' declarations (the
run commands are made from the registry of systems) load before a command runs; the HTTP
client, the simulator and the app are imported by the command that needs them.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import sys
from collections.abc import Sequence
from typing import Any

from .. import __version__, eventloop
from ..errors import AgentDeckError
from .exitcodes import EPILOG, EXIT_INTERRUPTED, EXIT_OK, report

__all__ = ["build_parser", "main"]

DESCRIPTION = """\
Drive vLLM and any OpenAI-compatible server: one prompt, a chain of agents, or many parallel
generations, streamed live and kept on disk. With no command, opens the terminal app.
Without any configured endpoint everything runs against the built-in simulator.
"""


def _common() -> argparse.ArgumentParser:
    """Flags every run command takes; SUPPRESS keeps a flag given before the command."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("connection and generation")
    s = argparse.SUPPRESS
    g.add_argument("--profile", default=s, help="endpoint profile from the config file")
    g.add_argument("--base-url", default=s, metavar="URL", help="OpenAI-compatible base URL")
    g.add_argument("--model", default=s, help="model name (default: the first the server lists)")
    g.add_argument("--api-key-env", default=s, metavar="VAR",
                   help="read the API key from this environment variable")
    g.add_argument("--temperature", type=float, default=s, help="sampling temperature (>= 0)")
    g.add_argument("--max-tokens", type=int, default=s, help="most tokens per answer")
    g.add_argument("--top-p", type=float, default=s, help="nucleus sampling (0 < p <= 1)")
    g.add_argument("--seed", type=int, default=s,
                   help="sampling seed (multi: call i gets SEED + i - 1)")
    g.add_argument("--demo", action="store_true", default=s,
                   help="use the in-process simulator instead of the configured endpoint")
    g.add_argument("--no-record", action="store_true", default=s,
                   help="do not keep this run in the run store")
    g.add_argument("-q", "--quiet", action="store_true", default=s,
                   help="no progress on stderr")
    for flag, text in (("--json", "print one JSON document at the end"),
                       ("--events", "print every run event as a JSON line"),
                       ("--raw", "print model text as is, even to a terminal")):
        g.add_argument(flag, action="store_true", default=s, help=text)
    return p


def _output_only() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    s = argparse.SUPPRESS
    p.add_argument("--json", action="store_true", default=s, help="print JSON")
    p.add_argument("--raw", action="store_true", default=s, help="print text as is")
    return p


def build_parser() -> argparse.ArgumentParser:
    """The full command line (sub-commands register themselves)."""
    from .admin import add_admin_commands
    from .commands import add_run_commands
    from .examples import add_examples_command

    common = _common()
    parser = argparse.ArgumentParser(
        prog="agentdeck", description=DESCRIPTION, epilog=EPILOG, parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"agentdeck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_run_commands(sub, common)
    add_admin_commands(sub, common, _output_only())
    add_examples_command(sub, common)
    sub.add_parser("sim", help="serve the simulator on a local port (see `agentdeck sim --help`)",
                   add_help=False)
    return parser


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
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    for name in ("json", "events", "raw", "demo", "no_record", "quiet"):
        setattr(args, name, bool(_flag(args, name)))
    from .output import Output

    out = Output(raw=args.raw)
    try:
        return _dispatch(args, out)
    except KeyboardInterrupt:
        out.note("interrupted; partial text is kept in the run folder (`agentdeck runs`)")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `agentdeck ... | head`: the reader left; that is not an error
        _silence_stdout()
        return EXIT_OK
    except AgentDeckError as exc:
        return report(exc, out.stderr)


def _dispatch(args: argparse.Namespace, out: Any) -> int:
    from ..config.settings import load_settings
    from .context import Ctx, check_inputs, settings_flags

    check_inputs(args)
    # `runs` only reads the run store: a broken config file must not hide the history.
    settings = None if args.command == "runs" else load_settings(settings_flags(args))
    if args.command is None:
        from ..tui import run_app

        return int(run_app(settings, demo=args.demo) or 0)
    if args.json and args.events:
        from ..errors import InputError

        raise InputError("--json and --events cannot be combined: pick one")
    ctx = Ctx(args, out, settings)
    result = args.handler(ctx)
    if inspect.iscoroutine(result):
        result = _run(result)
    return int(result)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # stdout is not a real file (tests): nothing will flush to a closed pipe


def _run(coro: Any) -> Any:
    try:
        return eventloop.run(coro)  # uvloop when installed
    except asyncio.CancelledError:  # a run cancelled from inside (not by Ctrl-C)
        return EXIT_INTERRUPTED
