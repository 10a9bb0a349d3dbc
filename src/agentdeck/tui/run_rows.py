"""History's rows: one per recorded run, its columns, how each sorts and how each cell reads.

Plain data over ``RunInfo`` (read once per run when the list loads), so sorting 10,000 runs is
a sort of tuples, not a re-read of manifests. Model text (prompts) becomes ``Text``, never
markup.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rich.text import Text

from agentdeck.store.report import duration
from agentdeck.store.run_info import RunInfo

__all__ = ["COLUMNS", "Column", "RunRow", "sort_rows"]

STATUS_STYLE = {
    "done": "green",
    "partial": "yellow",
    "failed": "red",
    "cancelled": "magenta",
    "interrupted": "bold red",
    "running": "cyan",
    "corrupt": "bold red",
}


@dataclass(frozen=True)
class RunRow:
    """What History shows of one run, read from its manifest once."""

    info: RunInfo
    status: str
    system: str
    model: str
    endpoint: str
    created: float
    wall: float | None
    tokens: int
    rate: float | None
    """Output tokens/s over the run's wall time (its summary's), if known."""
    workers: int
    prompt: str

    @classmethod
    def of(cls, info: RunInfo) -> RunRow:
        summary = info.manifest.get("summary")
        rate = summary.get("output_tokens_per_s") if isinstance(summary, dict) else None
        return cls(info, info.status, info.system, info.model or "",
                   _host(info.endpoint), info.created, info.wall, info.output_tokens,
                   rate if isinstance(rate, (int, float)) else None, len(info.workers),
                   info.prompt_head)

    @property
    def run_id(self) -> str:
        return self.info.run_id


def _host(endpoint: str | None) -> str:
    """``http://gpu-1:8000/v1`` -> ``gpu-1:8000``: the part that tells endpoints apart."""
    if not endpoint:
        return ""
    rest = endpoint.split("://", 1)[-1]
    return rest.split("/", 1)[0]


@dataclass(frozen=True)
class Column:
    """One History column: its key (the row attribute), header, sort order and cell."""

    key: str
    header: str
    newest_first: bool = False
    """Sorted descending by default (times, counts)."""
    width: int | None = None
    """Cells at most (longer text ends in "…"); None: as wide as its widest cell."""

    def cell(self, row: RunRow) -> Any:
        value = getattr(row, self.key)
        if self.key == "created":
            return time.strftime("%m-%d %H:%M", time.localtime(value))
        if self.key == "status":
            return Text(value, style=STATUS_STYLE.get(value, ""))
        if self.key == "wall":
            return Text("" if value is None else duration(value), justify="right")
        if self.key == "rate":
            return Text("" if value is None else f"{value:,.0f}", justify="right")
        if self.key in ("tokens", "workers"):
            return Text(f"{value:,}", justify="right")
        return Text(str(value), no_wrap=True, overflow="ellipsis")

    def sort_key(self, row: RunRow) -> Any:
        value = getattr(row, self.key)
        if self.key in ("wall", "rate"):
            return -1.0 if value is None else value
        return value.casefold() if isinstance(value, str) else value


COLUMNS = (
    Column("created", "started", newest_first=True),
    Column("status", "status"),
    Column("system", "system"),
    Column("prompt", "prompt", width=30),
    Column("model", "model", width=22),
    Column("workers", "workers", newest_first=True),
    Column("tokens", "tokens", newest_first=True),
    Column("rate", "tok/s", newest_first=True),
    Column("wall", "time", newest_first=True),
    Column("endpoint", "endpoint", width=22),
)
"""In screen order: at 80 columns the prompt is in view; the rest scrolls sideways."""
SORTABLE = tuple(c for c in COLUMNS if c.key != "prompt")


def sort_rows(rows: list[RunRow], column: Column, reverse: bool) -> list[RunRow]:
    """``rows`` by ``column`` (its own default direction, flipped by ``reverse``); ties keep
    the newest first."""
    by_time = sorted(rows, key=lambda r: (r.created, r.run_id), reverse=True)
    descending = column.newest_first != reverse
    return sorted(by_time, key=column.sort_key, reverse=descending)
