"""``agentdeck systems`` (every system and where it comes from) and ``agentdeck run NAME``.

Plugins (``systems.plugins``) are found only by these two commands and the app: ``agentdeck
--help`` and the built-ins' commands never import anyone's plugin, so they stay as fast as
without plugins and a broken plugin cannot break them. That is also why a plugin has no command
of its own: ``run NAME`` reads NAME first, and only then builds the parser NAME's declaration
makes (the one a built-in's own command has, from ``commands``), so its flags, checks and output
are the same.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..events import SCHEMA
from .exitcodes import EXIT_OK

if TYPE_CHECKING:
    from ..systems.registry import SystemSpec
    from .context import Ctx

__all__ = ["add_plugin_commands", "cmd_systems"]

RUN_HELP = """\
Run any system by its key, plugins included: `agentdeck systems` lists them, `agentdeck run
NAME --help` shows NAME's own options. The connection and output flags are every command's.
"""


def cmd_systems(ctx: Ctx) -> int:
    """List every system: key, label, how to run it, and where it comes from."""
    from ..systems import plugins, registry

    problems = plugins.discover()
    rows = [_row(spec, plugins.source(spec.key)) for spec in registry.specs()]
    if ctx.args.json:
        ctx.out.json({"schema": SCHEMA, "systems": rows,
                      "problems": [p.document() for p in problems]})
        return EXIT_OK
    table = [("KEY", "LABEL", "COMMAND", "SOURCE")]
    table += [(r["key"], r["label"], r["command"], r["source_text"]) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    for row in table:
        ctx.out.line("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[3])
    if problems:
        ctx.out.line()
        ctx.out.line(f"not loaded ({len(problems)}):")
        for problem in problems:
            ctx.out.line(f"  {problem}")
    return EXIT_OK


def _row(spec: SystemSpec, source: Any) -> dict[str, Any]:
    plugin = source.kind in ("package", "file")  # found after the parser was built
    return {"key": spec.key, "label": spec.label, "summary": spec.summary,
            "command": f"run {spec.key}" if plugin else spec.command or spec.key,
            "source": source.document(), "source_text": str(source)}


class _System(argparse.Action):
    """``run``'s NAME: reads the rest of the command line with NAME's own parser."""

    def __init__(self, option_strings: Sequence[str], dest: str,
                 common: argparse.ArgumentParser, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=argparse.PARSER, **kwargs)
        self.common = common

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        from .commands import _add_command

        name, rest = values[0], values[1:]
        spec = self._find(name)
        # The run parser's class: a usage error in NAME's flags is reported as any other.
        sub = type(parser)(prog=parser.prog, add_help=False).add_subparsers()
        try:
            _add_command(sub, self.common, name, (spec,))
        except argparse.ArgumentError as exc:  # a Python-registered spec: plugins are checked
            raise argparse.ArgumentError(self, f"system {name!r} cannot be run: {exc}") from exc
        found = sub.choices[name].parse_args(rest)
        for key, value in vars(found).items():
            setattr(namespace, key, value)
        namespace.command = name  # the run's label, as a command's run is labelled with it

    def _find(self, name: str) -> SystemSpec:
        from ..systems import plugins, registry

        spec = registry.find(name)  # a built-in's key needs no plugin loaded
        if spec is None:
            problems = plugins.discover()
            spec = registry.find(name)
            if spec is None:
                known = ", ".join(s.key for s in registry.specs())
                hint = "".join(f"; not loaded: {p}" for p in problems)
                raise argparse.ArgumentError(self, f"unknown system {name!r} (known: {known}; "
                                                   f"`agentdeck systems` lists them){hint}")
        return spec


def add_plugin_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser,
                        output: argparse.ArgumentParser) -> None:
    """Register ``systems`` and ``run``."""
    p = sub.add_parser("systems", parents=[output], help="list every system and its source",
                       description="List every system: built-in, from an installed package "
                                   "or from a file in the plugin folder, and the plugins that "
                                   "did not load, with the file, line and error.")
    p.set_defaults(handler=cmd_systems)
    p = sub.add_parser("run", parents=[common], help="run any system by name (plugins too)",
                       description=RUN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
                       usage="%(prog)s NAME [options] PROMPT")
    p.add_argument("system", metavar="NAME", action=_System, common=common,
                   help="the system's key; `agentdeck run NAME --help` shows its options")
