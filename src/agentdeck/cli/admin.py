"""The look-up commands: ``models`` (what the server serves) and ``runs`` (what is on disk)."""

from __future__ import annotations

import argparse
import time
from typing import Any

from .context import Ctx
from .exitcodes import EXIT_OK

__all__ = ["add_admin_commands", "cmd_models", "cmd_runs"]


async def cmd_models(ctx: Ctx) -> int:
    """List the models the endpoint serves (with context length when known)."""
    from ..connect import model_ids

    async with ctx.connect() as model:
        listing = await model.list_models()
        window = await model.max_model_len()
    ids = model_ids(listing)
    if ctx.args.json:
        ctx.out.json({"endpoint": getattr(model, "base_url", None), "models": ids,
                      "max_model_len": window, "selected": model.model_name})
        return EXIT_OK
    for name in ids:
        mark = "*" if name == model.model_name else " "
        extra = f"  (max_model_len {window})" if name == model.model_name and window else ""
        ctx.out.line(f"{mark} {name}{extra}")
    return EXIT_OK


def cmd_runs(ctx: Ctx) -> int:
    """``runs`` / ``runs list``: recent runs; ``runs show ID``: one run in detail."""
    from ..store.runs import RunStore

    store = RunStore()
    args = ctx.args
    if args.action == "show":
        if not args.run_id:
            from ..errors import InputError

            raise InputError("runs show needs a run id (`agentdeck runs` lists them)")
        return _show(ctx, store.load_run(args.run_id))
    infos = store.list_runs(limit=args.limit)
    if args.json:
        ctx.out.json([_summary(info) for info in infos])
        return EXIT_OK
    if not infos:
        ctx.out.note(f"no runs yet in {store.root}")
        return EXIT_OK
    for info in infos:
        ctx.out.line(f"{info.run_id}  {info.status:<11} {info.system:<8} "
                     f"{len(info.workers):>4} workers  {info.prompt_head}")
    return EXIT_OK


def _summary(info: Any) -> dict[str, Any]:
    return {"run_id": info.run_id, "status": info.status, "system": info.system,
            "label": info.label, "model": info.model, "endpoint": info.endpoint,
            "created": info.created, "workers": len(info.workers), "dir": str(info.dir),
            "prompt": info.prompt_head}


def _show(ctx: Ctx, info: Any) -> int:
    if ctx.args.json:
        ctx.out.json({**_summary(info), "manifest": info.manifest, "workers": info.workers,
                      "steps": info.steps, "problem": info.problem})
        return EXIT_OK
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.created))
    status = info.status.upper() if info.status == "interrupted" else info.status
    ctx.out.line(f"run      {info.run_id}")
    ctx.out.line(f"status   {status}" + ("  (the process writing it died before it finished)"
                                         if info.status == "interrupted" else ""))
    if info.problem:
        ctx.out.line(f"problem  {info.problem}")
    ctx.out.line(f"system   {info.system}  {info.label}")
    ctx.out.line(f"model    {info.model or '?'} at {info.endpoint or '?'}")
    ctx.out.line(f"created  {when}")
    ctx.out.line(f"folder   {info.dir}")
    ctx.out.line(f"prompt   {info.prompt_head}")
    for entry in info.workers:
        state = str(entry.get("status"))
        if state == "interrupted":
            state = "INTERRUPTED"
        why = f"  {entry.get('error')}" if entry.get("error") else ""
        ctx.out.line(f"  {entry.get('id')!s:<12} {state:<11} {entry.get('chars', 0):>7} chars"
                     f"  {entry.get('file')}{why}")
    return EXIT_OK


def add_admin_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser,
                       output: argparse.ArgumentParser) -> None:
    """Register models and runs."""
    p = sub.add_parser("models", parents=[common], help="list the models the server serves")
    p.set_defaults(handler=cmd_models)
    p = sub.add_parser("runs", parents=[output], help="list recorded runs or show one",
                       description="List recorded runs (newest first) or show one in detail; "
                                   "runs whose process died are marked INTERRUPTED.")
    p.add_argument("action", nargs="?", choices=("list", "show"), default="list")
    p.add_argument("run_id", nargs="?", help="the run to show (a unique prefix is enough)")
    p.add_argument("--limit", type=int, default=50, help="most runs to list (default: 50)")
    p.set_defaults(handler=cmd_runs)
