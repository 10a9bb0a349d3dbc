"""``TargetCharts``: a compare run's targets overlaid in the stats panel, a row and a colour each.

Two charts, one bar row per target on a shared axis and a shared scale (a Sparkline scales each
row to its own peak, which would make 100 tok/s look like 1000): every target's TTFT histogram
over the same bins, least to greatest TTFT of any target, with its p50; and every target's
output tokens per second over the same seconds, with its latest. A legend names the targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Static

from ..targets import COLOURS

__all__ = ["Bars", "TargetCharts", "TargetSeries", "columns", "histogram_between"]

MAX_ROWS = len(COLOURS)
"""Targets charted (compare takes at most 8)."""
BARS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class TargetSeries:
    """What the charts show of one target."""

    key: str
    label: str
    ttfts: Sequence[float]
    """Its workers' TTFTs so far."""
    series: Sequence[int]
    """Its output tokens in each second since the run started."""
    ttft_p50: str
    rate: str
    """Its latest tokens/s (or its average once ended), as shown."""


def histogram_between(values: Sequence[float], low: float, high: float, bins: int) -> list[int]:
    """Counts of ``values`` in ``bins`` equal bins from ``low`` to ``high`` (shared by rows)."""
    counts = [0] * bins
    width = (high - low) / bins or 1.0
    for value in values:
        counts[min(max(int((value - low) / width), 0), bins - 1)] += 1
    return counts


def columns(data: Sequence[float], width: int) -> list[float]:
    """``data`` spread over ``width`` columns: the greatest value of each column's share."""
    n = len(data)
    if not n or width <= 0:
        return []
    out = []
    for c in range(width):
        start = c * n // width
        out.append(max(data[start:max((c + 1) * n // width, start + 1)]))
    return out


class Bars(Widget):
    """One row of bars against a ``top`` the caller shares between rows."""

    DEFAULT_CSS = "Bars { height: 1; width: 1fr; }"

    def __init__(self, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._data: tuple[float, ...] = ()
        self._top = 0.0

    def show(self, data: Sequence[float], top: float) -> None:
        if (tuple(data), top) != (self._data, self._top):
            self._data, self._top = tuple(data), top
            self.refresh()

    def render(self) -> str:
        top = self._top or 1.0
        return "".join(BARS[0] if v <= 0 else BARS[min(7, 1 + int(v / top * 7 - 1e-9))]
                       for v in columns(self._data, self.size.width))


class _Row(Horizontal):
    DEFAULT_CSS = """
    _Row { height: 1; }
    _Row > .row-key { width: 2; }
    _Row > .row-end { width: 12; padding: 0 0 0 1; color: $text-muted; }
    """

    def __init__(self, index: int) -> None:
        super().__init__(classes=f"target-{index}")
        self.index = index

    def compose(self) -> ComposeResult:
        yield Static(classes="row-key", markup=False)
        yield Bars()
        yield Static(classes="row-end", markup=False)

    def show(self, key: str, data: Sequence[float], top: float, end: str) -> None:
        self.query_one(".row-key", Static).update(key, layout=False)
        self.query_one(Bars).show(data, top)
        self.query_one(".row-end", Static).update(end, layout=False)


class TargetCharts(Vertical):
    """The legend, then the TTFT rows, then the tokens/s rows; rows beyond the targets hide."""

    DEFAULT_CSS = "TargetCharts { height: auto; }\nTargetCharts .legend { height: 1; }\n" + \
        "".join(f"TargetCharts .target-{i} > .row-key, TargetCharts .target-{i} > Bars, "
                f"TargetCharts .legend.target-{i} {{ color: {c}; text-style: bold; }}\n"
                for i, c in enumerate(COLOURS))

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._said: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        for i in range(MAX_ROWS):
            yield Static(classes=f"legend target-{i}", markup=False)
        yield Static(id="targets-ttft-title", classes="stats-title", markup=False)
        for i in range(MAX_ROWS):
            yield _Row(i).add_class("ttft-row")
        yield Static(id="targets-rate-title", classes="stats-title", markup=False)
        for i in range(MAX_ROWS):
            yield _Row(i).add_class("rate-row")

    def _say(self, selector: str, text: str) -> None:
        if self._said.get(selector) != text:
            self._said[selector] = text
            self.query_one(selector, Static).update(text, layout=False)

    def show(self, targets: Sequence[TargetSeries], bins: int, seconds: int,
             going: bool) -> None:
        """Chart ``targets`` (at most ``MAX_ROWS``); ``seconds`` of tokens/s, the last whole
        one while ``going``."""
        targets = targets[:MAX_ROWS]
        for i, legend in enumerate(self.query(".legend").results(Static)):
            legend.display = i < len(targets)
            if i < len(targets):
                legend.update(f"{targets[i].key}  {targets[i].label}", layout=False)
        ttfts = [v for t in targets for v in t.ttfts]
        low, high = 0.0, max(ttfts, default=0.0)  # from 0: where each target's mass sits
        hists = [histogram_between(t.ttfts, low, high, bins) if t.ttfts else [] for t in targets]
        self._say("#targets-ttft-title", f"TTFT by target, 0 to {_s(high)}"
                  if ttfts else "TTFT by target: no first token yet")
        top = max((max(h) for h in hists if h), default=0)
        for i, row in enumerate(self.query(".ttft-row").results(_Row)):
            row.display = i < len(targets)
            if i < len(targets):
                row.show(targets[i].key, hists[i], top, f"p50 {targets[i].ttft_p50}")
        # The same seconds on every row (every target's series starts with the run).
        end = max((len(t.series) for t in targets), default=0) - (1 if going else 0)
        start = max(0, end - seconds)
        shown = [[*t.series[start:end], *[0] * (end - max(len(t.series), start))]
                 for t in targets]
        peak = max((max(s) for s in shown if s), default=0)
        self._say("#targets-rate-title", f"tok/s by target, last {end - start}s, peak {peak:,}")
        for i, row in enumerate(self.query(".rate-row").results(_Row)):
            row.display = i < len(targets)
            if i < len(targets):
                row.show(targets[i].key, shown[i], peak, targets[i].rate)


def _s(seconds: float) -> str:
    return f"{seconds * 1000:.0f}ms" if seconds < 0.1 else f"{seconds:.2f}s"
