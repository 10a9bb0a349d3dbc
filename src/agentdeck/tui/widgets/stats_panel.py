"""``StatsPanel``: the run's figures as ``vllm bench serve`` reports them, with live charts.

Beside the grid (F8), so the text streams next to its numbers: the headline tokens/s in
``Digits``; requests, wall time, tokens and TTFT/TPOT/ITL/E2E (mean, p50, p90, p99) from the run
summary; a histogram of every worker's TTFT; the run's tokens per second over time; and vLLM's
running, waiting and KV-cache gauges from ``/metrics`` over time. Every chart is a ``Sparkline``
with its ends and its latest value written beside it. A compare run's targets are overlaid
instead (``TargetCharts``: a row and a colour per target for the TTFTs and the tokens/s, read
from the system's ``targets`` and ``target_summaries``).

Attributes down: the screen sets ``system`` (the system running, whose ``summary`` is the run's
live ``RunSummary``) and calls ``add_gauges`` with each poll; while shown the panel reads the
summary twice a second (never per token). A past run shows its saved figures (``show_saved``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Digits, Sparkline, Static

from agentdeck.client.metrics import percentile
from agentdeck.connect import ServerStatus
from agentdeck.store.summary import RunSummary

from .target_charts import TargetCharts, TargetSeries

__all__ = ["BESIDE", "StatsPanel", "histogram", "latency", "summary_line"]

BESIDE = 100
"""Columns from which the panel opens beside the output; narrower, it takes its place."""
SHORT, TALL = 40, 48
"""Terminal rows below which the digits give way to a line, from which charts get 2 rows."""
EVERY = 0.5
"""Seconds between looks at the summary while the panel is shown."""
HISTORY = 150
"""Gauge polls kept (5 minutes at one poll every 2 s)."""
SERIES = 120
"""Seconds of tokens/s shown."""
BINS = 24
"""Bins of the TTFT histogram (a fixed count: each bar spans the same columns at any width)."""
ROWS = (("TTFT", "ttft_s"), ("TPOT", "tpot_s"), ("ITL", "itl_s"), ("E2E", "e2e_s"))


def latency(seconds: float | None) -> str:
    """ "3.8ms", "62ms", "1.23s", "12.3s"; "-" for none."""
    if seconds is None:
        return "-"
    ms = seconds * 1000
    if ms < 10:
        return f"{ms:.1f}ms"
    if ms < 1000:
        return f"{ms:.0f}ms"
    return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.1f}s"


def _count(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:,.0f} {unit}" if value >= 100 else \
        f"{value:.1f} {unit}"


def summary_line(snap: Mapping[str, Any]) -> str:
    """One line of a summary: "61 done · 2 failed · 12s · 24,576 tok · 2,048 tok/s · TTFT p50
    62ms · TPOT p50 3.8ms" (history's run view, under its title)."""
    requests = snap.get("requests") or {}
    parts = [f"{requests.get('done', 0)} done"]
    parts += [f"{requests[k]} {k}" for k in ("failed", "cancelled") if requests.get(k)]
    parts += [f"{snap.get('wall_s') or 0:.1f}s", f"{snap.get('output_tokens') or 0:,} tok",
              _count(snap.get("output_tokens_per_s"), "tok/s")]
    for label, key in ROWS[:2]:
        p50 = (snap.get(key) or {}).get("p50")
        if p50 is not None:
            parts.append(f"{label} p50 {latency(p50)}")
    return " · ".join(parts)


def figures(snap: Mapping[str, Any]) -> str:
    """Requests, tokens and the latency table, as ``vllm bench serve`` users read them."""
    requests = snap.get("requests") or {}
    lines = [
        f"requests {requests.get('done', 0)} done · {requests.get('failed', 0)} failed · "
        f"{requests.get('cancelled', 0)} cancelled",
        f"tokens   {snap.get('input_tokens') or 0:,} in · {snap.get('output_tokens') or 0:,} out",
        f"wall     {snap.get('wall_s') or 0:.1f}s · {_count(snap.get('requests_per_s'), 'req/s')}",
        f"{'':5}{'mean':>8}{'p50':>8}{'p90':>8}{'p99':>8}",
    ]
    for label, key in ROWS:
        stats = snap.get(key) or {}
        lines.append(f"{label:<5}" + "".join(f"{latency(stats.get(k)):>8}"
                                             for k in ("mean", "p50", "p90", "p99")))
    return "\n".join(lines)


def histogram(values: Sequence[float], bins: int = BINS) -> list[int]:
    """Counts of ``values`` in ``bins`` equal bins from their least to their greatest."""
    if not values:
        return []
    low, high = min(values), max(values)
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(int((value - low) / width), bins - 1)] += 1
    return counts


class StatsChart(Horizontal):
    """A labelled sparkline: left end, bars, right end (the latest or greatest value).

    The ends have fixed widths and nothing is redrawn when it did not change, so an update
    repaints a row and never lays the screen out again (the grid beside it keeps its speed).
    """

    DEFAULT_CSS = """
    StatsChart { height: auto; }
    StatsChart > .chart-end { width: 6; height: 1; color: $text-muted; }
    StatsChart > .chart-end.-right { width: 11; padding: 0 0 0 1; }
    StatsChart > Sparkline { width: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._shown: tuple[str, list[float], str] | None = None

    def compose(self) -> ComposeResult:
        yield Static(classes="chart-end", markup=False)
        yield Sparkline([], summary_function=max)
        yield Static(classes="chart-end -right", markup=False)

    def show(self, left: str, data: Sequence[float], right: str) -> None:
        shown = (left, list(data), right)
        if shown == self._shown:
            return
        self._shown = shown
        ends = self.query(".chart-end").results(Static)
        next(ends).update(left, layout=False)
        self.query_one(Sparkline).data = shown[1]
        next(ends).update(right, layout=False)


class StatsPanel(VerticalScroll, can_focus=True):
    """The stats panel; hidden until toggled. Scrolls when the terminal is short."""

    DEFAULT_CSS = """
    StatsPanel {
        width: 46;
        height: 1fr;
        display: none;
        border-left: vkey $accent 50%;
        padding: 0 1;
        scrollbar-size-vertical: 1;
    }
    StatsPanel.-shown { display: block; }
    StatsPanel .stats-title { color: $text-accent; text-style: bold; margin: 1 0 0 0; height: 1; }
    StatsPanel #stats-rate-label { height: 1; }
    StatsPanel #stats-figures { height: 8; }
    StatsPanel #stats-rate { color: $text-primary; }
    StatsPanel #stats-rate-label { color: $text-muted; }
    StatsPanel.-short #stats-rate-label { color: $text-primary; text-style: bold; }
    StatsPanel.-short #stats-rate { display: none; }
    StatsPanel.-short .stats-title { margin: 0; }
    StatsPanel.-tall Sparkline { height: 2; }
    StatsPanel.-past #gauges-title, StatsPanel.-past .gauge { display: none; }
    StatsPanel #target-charts { display: none; }
    StatsPanel.-targets #target-charts { display: block; }
    StatsPanel.-targets #ttft-title, StatsPanel.-targets #chart-ttft,
    StatsPanel.-targets #series-title, StatsPanel.-targets #chart-series { display: none; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._gauges: dict[str, deque[float]] = {
            name: deque(maxlen=HISTORY) for name in ("running", "waiting", "kv")
        }
        self._said: dict[str, str] = {}
        self.system: object | None = None
        """The system of the run on screen (its ``summary`` is read); None for a past run."""
        self._ended_shown: tuple[object, ...] | None = None
        """The ended run whose figures are on show (not read again every tick)."""
        self.focus_back: Widget | None = None
        """What had focus when the panel opened in the output's place (it gets it back)."""

    def compose(self) -> ComposeResult:
        yield Digits("-", id="stats-rate")
        yield Static(id="stats-rate-label", markup=False)
        yield Static(id="stats-figures", markup=False)
        yield Static("TTFT across workers", id="ttft-title", classes="stats-title",
                     markup=False)
        yield StatsChart(id="chart-ttft")
        yield Static("output tokens/s over time", id="series-title", classes="stats-title",
                     markup=False)
        yield StatsChart(id="chart-series")
        yield TargetCharts(id="target-charts")
        yield Static("vLLM /metrics, every 2 s", id="gauges-title", classes="stats-title",
                     markup=False)
        for name in ("running", "waiting", "kv"):
            yield StatsChart(id=f"chart-{name}", classes="gauge")

    def on_mount(self) -> None:
        self.set_interval(EVERY, self.refresh_figures)

    def _say(self, selector: str, text: str) -> None:
        """Update a line of fixed size, only when it changed (no layout, no repaint else)."""
        if self._said.get(selector) != text:
            self._said[selector] = text
            self.query_one(selector, Static).update(text, layout=False)

    @property
    def shown(self) -> bool:
        """Whether the panel is open (F8 toggles it)."""
        return self.has_class("-shown")

    @shown.setter
    def shown(self, value: bool) -> None:
        self.set_class(value, "-shown")
        if value:
            self._ended_shown = None  # shown afresh
            self.refresh_figures()
            self.show_gauges()

    def refresh_figures(self) -> None:
        """Read the live summary of the run on screen (while the panel is shown)."""
        summary = getattr(self.system, "summary", None)
        if not self.shown or not isinstance(summary, RunSummary):
            return
        going = summary.started_t is not None and summary.ended_t is None
        # An ended run's figures are shown once (a retry starts it going again).
        ended = None if going else (id(summary), summary.started_t, summary.ended_t)
        if ended is not None and ended == self._ended_shown:
            return
        self._ended_shown = ended
        self.show_summary(summary.snapshot(), list(summary.first_tokens.values()),
                          summary.series, going)
        targets = _targets(self.system)
        self.set_class(bool(targets), "-targets")
        if targets:
            self.query_one(TargetCharts).show(targets, BINS, SERIES, going)

    def show_saved(self, snap: Mapping[str, Any], ttfts: Sequence[float]) -> None:
        """A past run's figures (run.json's ``summary``) and TTFTs; it has no gauges."""
        self.system = None
        self.add_class("-past")
        self.remove_class("-targets")
        self.show_summary(snap, ttfts, None, False)

    def on_resize(self) -> None:
        height = self.screen.size.height
        self.set_class(height < SHORT, "-short")
        self.set_class(height >= TALL, "-tall")

    # ------------------------------------------------------------------ attributes down

    def show_summary(self, snap: Mapping[str, Any], ttfts: Sequence[float],
                     series: Sequence[int] | None, going: bool) -> None:
        """The run's figures: ``snap`` is ``RunSummary.snapshot()`` (or run.json's summary),
        ``ttfts`` every worker's TTFT so far, ``series`` tokens per second since the start
        (None when not kept: a past run), ``going`` while the run streams."""
        if going and series and len(series) > 1:
            rate, label = series[-2], "output tok/s, last second"  # the last whole second
        else:
            rate, label = snap.get("output_tokens_per_s"), "output tok/s, run average"
        shown = "-" if rate is None else f"{rate:,.0f}"
        if self._said.get("#stats-rate") != shown:
            self._said["#stats-rate"] = shown
            self.query_one("#stats-rate", Digits).update(shown)
        if rate is None:
            label = "output tok/s: no request finished yet"
        elif self.screen.size.height < SHORT:  # no room for the digits: the figure goes here
            label = f"{shown} {label}"
        self._say("#stats-rate-label", label)
        self._say("#stats-figures", figures(snap))
        title = f"TTFT of {len(ttfts)} worker{'' if len(ttfts) == 1 else 's'}"
        p50 = (snap.get("ttft_s") or {}).get("p50")
        if p50 is not None:
            title += f" · p50 {latency(p50)} (finished)"
        self._say("#ttft-title", title if ttfts else "TTFT: no first token yet")
        chart = self.query_one("#chart-ttft", StatsChart)
        if ttfts:
            chart.show(latency(min(ttfts)), histogram(ttfts), latency(max(ttfts)))
        else:
            chart.show("", [], "")
        chart = self.query_one("#chart-series", StatsChart)
        if series is None:
            self._say("#series-title", "output tokens/s over time: not kept for past runs")
            chart.display = False
        else:
            shown = list(series[-SERIES - 1:-1] if going else series[-SERIES:])
            self._say("#series-title", f"output tokens/s, peak {max(shown, default=0):,}")
            chart.show(f"-{len(shown)}s", shown, "now")

    def add_gauges(self, status: ServerStatus) -> None:
        """One poll of the server: its gauges join their charts (absent gauges are skipped)."""
        for name, value in (("running", status.running), ("waiting", status.waiting),
                            ("kv", status.kv_cache)):
            if value is not None:
                self._gauges[name].append(value)
        if self.shown:
            self.show_gauges()

    def show_gauges(self) -> None:
        """Draw the gauge charts from the polls kept."""
        g = self._gauges
        if not any(g.values()):
            self._say("#gauges-title", "vLLM /metrics: no gauges from this server")
        else:
            self._say("#gauges-title", f"vLLM /metrics, last {len(g['running']) * 2}s "
                                       "(now ▲peak)")
        for name, label, fmt in (("running", "run", "{:.0f}"), ("waiting", "wait", "{:.0f}"),
                                 ("kv", "KV", "{:.0%}")):
            data = g[name]
            chart = self.query_one(f"#chart-{name}", StatsChart)
            chart.display = bool(data)
            if data:
                chart.show(label, data, f"{fmt.format(data[-1])} ▲{fmt.format(max(data))}")


def _targets(system: object) -> list[TargetSeries]:
    """What the charts show of each target of a compare run (none for other systems)."""
    summaries = getattr(system, "target_summaries", None) or {}
    out = []
    for plan in getattr(system, "targets", ()):
        summary = summaries.get(plan.key)
        if not isinstance(summary, RunSummary):
            continue
        ttfts = list(summary.first_tokens.values())
        series = summary.series
        if summary.ended_t is None and len(series) > 1:
            rate: float | None = series[-2]  # the last whole second
        else:
            wall = summary.wall()
            rate = summary.output_tokens / wall if wall > 0 else None
        out.append(TargetSeries(plan.key, plan.target.label, ttfts, list(series),
                                latency(percentile(ttfts, 50)) if ttfts else "-",
                                "-" if rate is None else f"{rate:,.0f} tok/s"))
    return out
