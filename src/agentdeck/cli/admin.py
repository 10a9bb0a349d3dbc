"""The look-up commands: ``models`` (what the server serves) and ``runs`` (what is on disk)."""

from __future__ import annotations

import argparse

from ..events import SCHEMA
from .context import Ctx
from .exitcodes import EXIT_OK
from .runs import add_runs_command

__all__ = ["add_admin_commands", "cmd_models"]


async def cmd_models(ctx: Ctx) -> int:
    """List the models the endpoint serves (with context length when known)."""
    from ..connect import model_ids

    async with ctx.connect() as model:
        listing = await model.list_models()
        window = await model.max_model_len()
    ids = model_ids(listing)
    if ctx.args.json:
        ctx.out.json({"schema": SCHEMA, "endpoint": getattr(model, "base_url", None), "models": ids,
                      "max_model_len": window, "selected": model.model_name})
        return EXIT_OK
    for name in ids:
        mark = "*" if name == model.model_name else " "
        extra = f"  (max_model_len {window})" if name == model.model_name and window else ""
        ctx.out.line(f"{mark} {name}{extra}")
    return EXIT_OK


def add_admin_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser,
                       output: argparse.ArgumentParser) -> None:
    """Register models and runs."""
    p = sub.add_parser("models", parents=[common], help="list the models the server serves")
    p.set_defaults(handler=cmd_models)
    add_runs_command(sub, common, output)
