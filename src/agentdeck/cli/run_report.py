"""A recorded run as ``runs list`` and ``runs show`` print it: tables, summary and answer.

Everything is read from the run folder (``RunInfo``): nothing here talks to a server. The
answers, the summary table and the export are ``store.report``'s, which the app shares.
"""

from __future__ import annotations

from typing import Any

from ..events import iso_wall
from ..store.report import answer_lines, duration, format_summary, run_time
from ..store.run_info import RunInfo

__all__ = ["list_lines", "list_row", "show_lines", "worker_rows"]

SHOWN_LINES = 20
"""Lines of a long answer ``runs show`` prints (``--text`` prints it all)."""


def list_row(info: RunInfo) -> dict[str, Any]:
    """One run for ``runs list --json`` (and the fields its table shows)."""
    return {"run_id": info.run_id, "status": info.status, "system": info.system,
            "label": info.label, "model": info.model, "endpoint": info.endpoint,
            "created": iso_wall(info.created), "workers": len(info.workers),
            "output_tokens": info.output_tokens, "wall_s": info.wall, "dir": str(info.dir),
            "prompt": info.prompt_head}


def list_lines(infos: list[RunInfo]) -> list[str]:
    """The table ``runs list`` prints: a header, then one line per run."""
    rows = [(i.run_id, i.status, i.system,
             i.model or "?", str(len(i.workers)), f"{i.output_tokens:,}", duration(i.wall),
             i.prompt_head) for i in infos]
    head = ("RUN", "STATUS", "SYSTEM", "MODEL", "CALLS", "TOKENS", "TIME", "PROMPT")
    widths = [max(len(r[c]) for r in [head, *rows]) for c in range(7)]
    right = {4, 5, 6}
    out = []
    for row in [head, *rows]:
        cells = [row[c].rjust(widths[c]) if c in right else row[c].ljust(widths[c])
                 for c in range(7)]
        out.append("  ".join(cells) + "  " + row[7])
    return out


def _ms(value: Any) -> str:
    return f"{value * 1000:.0f}" if isinstance(value, (int, float)) else "-"


def worker_rows(info: RunInfo) -> list[str]:
    """The per-worker table: status, tokens, TTFT, tokens/s, file (and why it failed)."""
    head = ("WORKER", "STATUS", "TOKENS", "TTFT ms", "TOK/S", "FILE")
    rows = []
    for entry in info.workers:
        metrics = entry.get("metrics") or {}
        tokens = (entry.get("usage") or {}).get("completion_tokens")
        if tokens is None:
            tokens = metrics.get("output_tokens")
        rate = metrics.get("tokens_per_s")
        state = str(entry.get("status"))
        attempts = len(entry.get("attempts") or [])
        rows.append((str(entry.get("id")),
                     state.upper() if state == "interrupted" else state,
                     "-" if tokens is None else f"{tokens:,}",
                     _ms(metrics.get("ttft", entry.get("ttft"))),
                     f"{rate:.1f}" if isinstance(rate, (int, float)) else "-",
                     str(entry.get("file") or "")
                     + (f" (+{attempts} earlier attempt{'s' if attempts > 1 else ''})"
                        if attempts else "")
                     + (f"  {entry['error']}" if entry.get("error") else "")))
    widths = [max(len(r[c]) for r in [head, *rows]) for c in range(5)]
    return ["  ".join([r[0].ljust(widths[0]), r[1].ljust(widths[1]),
                       *(r[c].rjust(widths[c]) for c in (2, 3, 4)), r[5]]).rstrip()
            for r in [head, *rows]]


def show_lines(info: RunInfo) -> list[str]:
    """``runs show``: the run, its summary, its workers and what it answered."""
    status = info.status.upper() if info.status == "interrupted" else info.status
    lines = [f"run      {info.run_id}",
             f"status   {status}" + ("  (the process writing it died before it finished)"
                                     if info.status == "interrupted" else "")]
    if info.problem:
        lines.append(f"problem  {info.problem}")
    lines += [f"system   {info.system}  {info.label}",
              f"model    {info.model or '?'} at {info.endpoint or '?'}",
              f"created  {run_time(info)}", f"folder   {info.dir}", f"prompt   {info.prompt_head}",
              ""]
    summary = info.summary
    if summary is None:
        lines.append("no summary recorded")
    else:
        lines.append(format_summary(summary))
        if summary.get("rebuilt"):
            lines.append(f"({summary['rebuilt']})")
    lines += ["", *worker_rows(info)]
    heads, answer = answer_lines(info)
    if heads:
        lines += ["", *heads]
    if answer:
        body = answer.rstrip().splitlines()
        lines += body[:SHOWN_LINES]
        if len(body) > SHOWN_LINES:
            lines.append(f"... {len(body) - SHOWN_LINES} more lines (`runs show "
                         f"{info.run_id} --text` prints them all)")
    return lines
