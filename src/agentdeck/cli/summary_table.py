"""Compare's table: the run summaries of its targets side by side, one column each.

Its rows are those of ``store.report.format_summary`` (the table every run command and ``runs
show`` print): ``vllm bench serve``'s, milliseconds for latency, mean / median / p90 / p99.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..store.report import ROWS
from ..store.report import ms as _ms
from ..store.report import rate as _rate

__all__ = ["format_compare"]

COLUMN = 24
"""Widest column of ``format_compare``; longer names are cut there and listed in full above."""


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def format_compare(per_target: Mapping[str, Mapping[str, Any]]) -> str:
    """Summaries side by side: one column per target (by name), the rows of ``format_summary``."""
    names = list(per_target)
    width = max(9, min(COLUMN, max(len(n) for n in names)))
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, get: Any) -> None:
        rows.append((label, [get(per_target[n]) for n in names]))

    for state in ("done", "failed", "cancelled"):
        row(state, lambda s, k=state: str((s.get("requests") or {}).get(k, 0)))
    row("wall (s)", lambda s: f"{s.get('wall_s') or 0:.2f}")
    row("tokens in", lambda s: f"{s.get('input_tokens', 0):,}")
    row("tokens out", lambda s: f"{s.get('output_tokens', 0):,}")
    row("tok/s", lambda s: _rate(s.get("output_tokens_per_s"), "").strip())
    row("req/s", lambda s: _rate(s.get("requests_per_s"), "").strip())
    for label, key in ROWS:
        for stat in ("mean", "p50", "p90", "p99"):
            row(f"{label} {stat} ms", lambda s, k=key, st=stat: _ms((s.get(k) or {}).get(st)))
    lines = list(names) if any(len(n) > width for n in names) else []  # the full names
    lines.append(f"{'':<12}  " + "  ".join(f"{_cut(n, width):>{width}}" for n in names))
    lines += [f"{label:<12}  " + "  ".join(f"{c:>{width}}" for c in cells) for label, cells in rows]
    return "\n".join(lines)
