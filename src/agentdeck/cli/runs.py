"""``agentdeck runs``: browse the run store and act on it (list, show, retry, export, rm, prune).

Every sub-command but ``retry`` reads or removes files only: no settings, no server.
``retry`` connects as the run commands do (``cli/connect.py``) and runs a multi-call run's
failed or cancelled calls again into the same run folder.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..events import SCHEMA
from .context import Ctx
from .exitcodes import EXIT_OK
from .inputs import is_tty

__all__ = ["add_runs_command", "cmd_runs"]

STATUSES = ("running", "done", "partial", "failed", "cancelled", "interrupted", "corrupt")
_AGE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def cmd_runs(ctx: Ctx) -> Any:
    """Dispatch ``runs [ACTION]`` (no action: ``list``)."""
    from ..store.runs import RunStore

    action = getattr(ctx.args, "action", None) or "list"
    from .retry import retry

    handler = {"list": _list, "show": _show, "retry": retry, "export": _export, "rm": _rm,
               "prune": _prune}[action]
    return handler(ctx, RunStore())


def _list(ctx: Ctx, store: Any) -> int:
    from .run_report import list_lines, list_row

    args = ctx.args
    limit = getattr(args, "limit", 50)
    if limit < 1:
        raise InputError(f"--limit must be at least 1, got {limit}")
    system, status = getattr(args, "system", None), getattr(args, "status", None)
    search = getattr(args, "search", None)
    infos = store.list_runs()
    total = len(infos)
    if system:
        infos = [i for i in infos if system in (i.system, i.label)]
    if status:
        infos = [i for i in infos if i.status == status]
    if search:
        from ..store.search import search_runs

        infos = search_runs(store.root, infos, search)
    matched, infos = len(infos), infos[:limit]
    if args.json:
        ctx.out.json({"schema": SCHEMA, "runs": [list_row(info) for info in infos]})
    elif not infos:
        ctx.out.note(f"no runs yet in {store.root}" if not total
                     else f"none of the {total} runs in {store.root} match")
    else:
        for line in list_lines(infos):
            ctx.out.line(line)
        if matched > limit:
            ctx.out.note(f"the newest {limit} of {matched} runs shown (--limit N shows more)")
    return EXIT_OK


def _show_doc(info: Any) -> dict[str, Any]:
    """``runs show --json``: the run, its summary and its workers in the run document's shape
    (``documents.worker_document``), keyed by worker id."""
    from .documents import worker_document
    from .run_report import list_row

    workers = {}
    for entry in info.workers:
        file = entry.get("file")
        workers[str(entry.get("id"))] = worker_document(
            str(entry.get("status")), str(info.dir / file) if file else None,
            int(entry.get("chars") or 0), entry.get("finish_reason"), entry.get("usage"),
            entry.get("metrics"), entry.get("error_kind"), entry.get("error"))
    return {"schema": SCHEMA, **list_row(info), "summary": info.summary, "result": info.result,
            "manifest": info.manifest, "workers": workers, "steps": info.steps,
            "problem": info.problem}


def _show(ctx: Ctx, store: Any) -> int:
    from ..store.report import text_sections
    from .run_report import show_lines

    info = store.load_run(ctx.args.run_id)
    if ctx.args.json:
        ctx.out.json(_show_doc(info))
    elif getattr(ctx.args, "text", False):
        sections = text_sections(info)
        for title, text in sections:
            if len(sections) > 1:
                ctx.out.line(f"== {title} ==")
            ctx.out.line(text.rstrip("\n"))
    else:
        for line in show_lines(info):
            ctx.out.line(line)
    return EXIT_OK


def _export(ctx: Ctx, store: Any) -> int:
    from ..store.report import export_text

    info = store.load_run(ctx.args.run_id)
    fmt = "json" if ctx.args.json else getattr(ctx.args, "format", "md")
    text = export_text(info, fmt)
    target = getattr(ctx.args, "output", None)
    if not target or target == "-":
        ctx.out.text(text)  # neutralised on a terminal, as is unless --raw; as is when piped
        return EXIT_OK
    path = Path(target).expanduser()
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    ctx.out.note(f"wrote run {info.run_id} as {fmt} to {path}")
    return EXIT_OK


def _confirm(ctx: Ctx, what: str, infos: list[Any]) -> bool:
    """Ask on a terminal unless --yes; refuse (exit 2) with neither."""
    if getattr(ctx.args, "yes", False):
        return True
    if not is_tty(sys.stdin):
        raise InputError(f"{what}: add --yes to confirm (stdin is not a terminal to ask on)")
    for info in infos[:10]:
        ctx.out.stderr.write(f"  {info.run_id}  {info.status:<11} {info.prompt_head}\n")
    if len(infos) > 10:
        ctx.out.stderr.write(f"  ... and {len(infos) - 10} more\n")
    ctx.out.stderr.write(f"{what}? [y/N] ")
    ctx.out.stderr.flush()
    if sys.stdin.readline().strip().lower() in ("y", "yes"):
        return True
    ctx.out.note("nothing removed")
    return False


def _remove(ctx: Ctx, store: Any, infos: list[Any], what: str) -> int:
    if getattr(ctx.args, "dry_run", False):
        if ctx.args.json:
            ctx.out.json({"schema": SCHEMA, "would_remove": [i.run_id for i in infos]})
        else:
            for info in infos:
                ctx.out.line(f"would remove {info.run_id}")
        return EXIT_OK
    if not _confirm(ctx, what, infos):
        if ctx.args.json:
            ctx.out.json({"schema": SCHEMA, "removed": []})
        return EXIT_OK
    removed = []
    for info in infos:
        store.remove_run(info)
        removed.append(info.run_id)
        if not ctx.args.json:
            ctx.out.line(f"removed {info.run_id}")
    if ctx.args.json:
        ctx.out.json({"schema": SCHEMA, "removed": removed})
    return EXIT_OK


def _rm(ctx: Ctx, store: Any) -> int:
    infos: dict[str, Any] = {}
    for run_id in ctx.args.run_ids:
        info = store.load_run(run_id)
        if info.status == "running":
            raise InputError(f"run {info.run_id} is still running; cancel it before removing it")
        infos.setdefault(info.run_id, info)
    found = list(infos.values())
    count = f"{len(found)} run{'s' if len(found) > 1 else ''}"
    return _remove(ctx, store, found, f"remove {count}")


def parse_age(text: str) -> float:
    """Seconds in ``30d``, ``12h``, ``90m``, ``2w`` or ``45s``."""
    match = _AGE.fullmatch(text.strip().lower())
    if not match:
        raise InputError(f"--older-than takes an age like 30d, 12h, 90m or 2w, got {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _prune(ctx: Ctx, store: Any) -> int:
    args = ctx.args
    infos = [i for i in store.list_runs() if i.status != "running"]  # newest first
    if args.older_than is not None:
        cutoff = time.time() - parse_age(args.older_than)
        doomed = [i for i in infos if i.created < cutoff]
        why = f"older than {args.older_than}"
    else:
        if args.keep < 0:
            raise InputError(f"--keep must be 0 or more, got {args.keep}")
        doomed = infos[args.keep:]
        why = f"beyond the newest {args.keep}"
    if not doomed:
        if args.json:
            key = "would_remove" if args.dry_run else "removed"
            ctx.out.json({"schema": SCHEMA, key: []})
        else:
            ctx.out.note(f"nothing to prune: no run {why} in {store.root}")
        return EXIT_OK
    count = f"{len(doomed)} run{'s' if len(doomed) > 1 else ''}"
    return _remove(ctx, store, doomed, f"remove {count} {why}")


def _list_flags(p: argparse.ArgumentParser) -> None:
    s = argparse.SUPPRESS
    p.add_argument("--limit", type=int, default=s, metavar="N",
                   help="most runs to list, N >= 1 (default: 50)")
    p.add_argument("--system", default=s, help="only runs of this system (multi, chain...)")
    p.add_argument("--status", default=s, choices=STATUSES, help="only runs in this state")
    p.add_argument("--search", default=s, metavar="TEXT",
                   help="only runs whose prompts or answers contain TEXT (any case)")


def add_runs_command(sub: argparse._SubParsersAction, connection: argparse.ArgumentParser,
                     output: argparse.ArgumentParser) -> None:
    """Register ``runs`` and its sub-commands (``retry`` takes the ``connection`` flags)."""
    p = sub.add_parser(
        "runs", parents=[output], help="list, show, retry, export and remove recorded runs",
        description="Browse the run store (newest first) and act on it. With no action, "
                    "lists runs; runs whose process died are marked interrupted. A run is "
                    "named by its id, a unique prefix of it, or `latest`.")
    _list_flags(p)
    p.set_defaults(handler=cmd_runs, action=None)
    acts = p.add_subparsers(dest="action", metavar="ACTION")
    q = acts.add_parser("list", parents=[output], help="recent runs, newest first")
    _list_flags(q)
    q = acts.add_parser("show", parents=[output], help="one run: summary, workers, answer")
    q.add_argument("run_id", metavar="ID", help="run id, unique prefix, or latest")
    q.add_argument("--text", action="store_true", help="print the answers' text only")
    from .retry import retry_flags

    q = acts.add_parser("retry", parents=[retry_flags(connection)],
                        help="run a multi-call run's failed or cancelled calls again",
                        description="Run the failed, cancelled or interrupted calls of a "
                                    "multi-call run again into the same run folder, with the "
                                    "run's prompt and settings; finished calls are kept. It "
                                    "connects as the run commands do; with no endpoint "
                                    "configured, to the run's own endpoint and model.")
    q.add_argument("run_id", metavar="ID", help="run id, unique prefix, or latest")
    q = acts.add_parser("export", parents=[output], help="a run as Markdown or JSON")
    q.add_argument("run_id", metavar="ID", help="run id, unique prefix, or latest")
    q.add_argument("--format", choices=("md", "json"), default="md",
                   help="md: prompt, settings, answers, summary; json: the manifest and texts")
    q.add_argument("--output", metavar="FILE", help="write to FILE (default: stdout)")
    q = acts.add_parser("rm", parents=[output], help="remove runs (asks first unless --yes)")
    q.add_argument("run_ids", nargs="+", metavar="ID", help="run ids, unique prefixes or latest")
    q.add_argument("--yes", action="store_true", help="do not ask")
    q = acts.add_parser("prune", parents=[output],
                        help="remove old runs (asks first unless --yes)")
    which = q.add_mutually_exclusive_group(required=True)
    which.add_argument("--older-than", metavar="AGE", help="runs older than AGE: 30d, 12h, 2w")
    which.add_argument("--keep", type=int, metavar="N", help="all but the newest N runs")
    q.add_argument("--yes", action="store_true", help="do not ask")
    q.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")
