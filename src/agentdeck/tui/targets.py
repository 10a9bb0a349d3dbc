"""A run's groups of workers as the app shows them (compare's targets): names, colours, figures.

Read from the run's fold (``LiveRun.groups`` and its buffers), never from the system, so a past
run read back from disk reads as it did live. Worked out a few times a second at most (the
grid's group headers, the answer line), never per token; a group's tally of short answers is
worked out again only when one more of its workers has finished.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agentdeck.client.metrics import percentile
from agentdeck.state import ENDED_BADLY, FINISHED, WorkerState
from agentdeck.systems.aggregate import Vote, agreement, one_line

from .live import LiveRun

__all__ = ["COLOURS", "GroupFigures", "Tallies", "card_title", "figures_of", "group_title",
           "header_text", "tally_text"]

COLOURS = ("$text-primary", "$text-warning", "$text-success", "$text-accent",
           "$text-secondary", "$text-error", "$primary-lighten-3", "$warning-darken-1")
"""Each group's colour by its index (compare's A, B, ... up to 8 targets), theme-aware."""
SEP = " · "
"""Between a worker label's group part and its own: ``temperature=0.2 · call 1``."""
TALLY_ANSWERS = 3
"""Distinct answers a header's tally shows (the answer panel has the rest)."""


def group_title(live: LiveRun, key: str) -> str:
    """What the group's workers' labels share before their last ``" · "``: the target's label
    (``temperature=0.2`` of ``temperature=0.2 · call 1``); the key when they share nothing."""
    labels = [live.buffers[w].label for w in live.groups.get(key, ()) if w in live.buffers]
    if not labels:
        return key
    first = labels[0]
    shared = next((first[:i] for i, chars in enumerate(zip(*labels)) if len(set(chars)) > 1),
                  min(labels, key=len))
    cut = shared.rfind(SEP) if len(labels) > 1 or SEP in first else -1
    return shared[:cut] if cut > 0 else key


def card_title(title: str, group: str) -> str:
    """A card's title under its group's header: the part that is its own (``call 1``)."""
    if group and title.startswith(group + SEP):
        return title[len(group) + len(SEP):]
    return title


@dataclass(frozen=True)
class GroupFigures:
    """One group's live figures, for its header."""

    key: str
    title: str
    total: int
    done: int
    failed: int
    """Failed and interrupted."""
    cancelled: int
    ttft_p50: float | None
    """Median TTFT of its finished requests (the run summary's)."""
    tokens_per_s: float | None
    """Its output tokens over its wall time (the run summary's); without a summary, while
    going, the decode rates of its streaming workers added up."""
    vote: Vote | None
    """The tally of its finished answers when they are all short; else None."""

    def parts(self, compact: bool = False) -> list[str]:
        """``3/4 done``, ``1 failed``, ``TTFT p50 0.31s``, ``812 tok/s``, ``42×3 41×1``
        (``compact``: ``3/4``, ``p50 0.31s``...)."""
        parts = [f"{self.done}/{self.total}" + ("" if compact else " done")]
        parts += [f"{n} {word}" for n, word in ((self.failed, "failed"),
                                                 (self.cancelled, "cancelled")) if n]
        if self.ttft_p50 is not None:
            parts.append(("p50 " if compact else "TTFT p50 ") + _seconds(self.ttft_p50))
        if self.tokens_per_s is not None:
            parts.append(f"{self.tokens_per_s:,.0f} tok/s")
        if self.vote is not None:
            parts.append(tally_text(self.vote))
        return parts


class Tallies:
    """Each group's tally and whether the groups agree (``systems.aggregate.agreement``, as
    compare decides it), worked out again only when the run's finished workers changed: one
    cache shared by the group headers and the answer panel."""

    def __init__(self) -> None:
        self._live: LiveRun | None = None
        self._done: tuple[str, ...] = ()
        self._agreed: dict[str, Any] = {}
        self.summary_of: Callable[[str], Mapping[str, Any] | None] | None = None
        """A group's run summary (``RunSummary.snapshot()``: compare's ``target_summaries``
        live, run.json's per-target ``summary`` for a past run), the figures the stats
        panel and the CLI give; None: worked out from the fold (a run recorded without)."""

    def agreement(self, live: LiveRun) -> dict[str, Any]:
        """``agreement`` over the finished answers of the groups that have one; ``agree`` is
        None while a group has none (as compare's report says it for a target that failed)."""
        done = tuple(w for ids in live.groups.values() for w in ids
                     if live.buffers[w].state is WorkerState.DONE)
        if live is self._live and done == self._done:
            return self._agreed
        finished = set(done)
        texts = {key: [t for t in (live.buffers[w].text for w in ids if w in finished)
                       if t.strip()] for key, ids in live.groups.items()}
        agreed = dict(agreement({k: t for k, t in texts.items() if t}))
        if not all(texts.values()):
            agreed["agree"] = None
        self._live, self._done, self._agreed = live, done, agreed
        return agreed

    def vote(self, live: LiveRun, key: str) -> Vote | None:
        """The tally of the group's finished answers; None unless every answer is short."""
        counts = self.agreement(live)["tallies"].get(key)
        return Vote(next(iter(counts)), counts, sum(counts.values())) if counts else None


def figures_of(live: LiveRun, key: str, tallies: Tallies) -> GroupFigures:
    """The group's figures now (see ``GroupFigures``): its run summary's when there is one."""
    snap = tallies.summary_of(key) if tallies.summary_of is not None else None
    if snap:
        requests = snap.get("requests") or {}
        ttft = (snap.get("ttft_s") or {}).get("p50")
        return GroupFigures(key, group_title(live, key), len(live.groups.get(key, ())),
                            int(requests.get("done") or 0), int(requests.get("failed") or 0),
                            int(requests.get("cancelled") or 0), ttft,
                            snap.get("output_tokens_per_s"), tallies.vote(live, key))
    bufs = [live.buffers[w] for w in live.groups.get(key, ()) if w in live.buffers]
    done = sum(b.state is WorkerState.DONE for b in bufs)
    bad = [b.state for b in bufs if b.state in ENDED_BADLY]
    cancelled = bad.count(WorkerState.CANCELLED)
    ttfts = [b.ttft for b in bufs if b.ttft is not None]
    if all(b.state in FINISHED for b in bufs):
        starts = [b.started_t for b in bufs if b.started_t is not None]
        ends = [b.finished_t for b in bufs if b.finished_t is not None]
        wall = max(ends) - min(starts) if starts and ends else 0.0
        rate = sum(b.tokens for b in bufs) / wall if wall > 0 else None
    else:
        rates = [b.tokens_per_s for b in bufs if b.state is WorkerState.STREAMING]
        rate = sum(r for r in rates if r is not None) if rates else None
    return GroupFigures(key, group_title(live, key), len(bufs), done, len(bad) - cancelled,
                        cancelled, percentile(ttfts, 50) if ttfts else None, rate,
                        tallies.vote(live, key))


def tally_text(vote: Vote, limit: int = TALLY_ANSWERS) -> str:
    """``42×3 41×1`` (and ``+2`` more answers), most common first."""
    counts = list(vote.counts.items())
    text = " ".join(f"{one_line(answer, 16)}×{n}" for answer, n in counts[:limit])
    return text + (f" +{len(counts) - limit}" if len(counts) > limit else "")


def header_text(figures: GroupFigures, width: int, one_line: bool = True) -> tuple[str, str]:
    """(name, figures) of a group's header in ``width`` cells, on one line or a line each.
    What does not fit gives way in this order: the tally, the figures' long words, then the
    name, down to the key."""
    name = f"{figures.key} {figures.title}" if figures.title != figures.key else figures.key
    reserve = len(name) + 3 if one_line else 0
    tries = [figures.parts(), figures.parts(compact=True)]
    if figures.vote is not None:  # the tally gives way first: the answer line above has it
        tries = [tries[0], tries[0][:-1], tries[1][:-1]]
    parts = next((p for p in tries if len(SEP.join(p)) + reserve <= width), tries[-1])
    text = SEP.join(parts)
    room = width - len(text) - 3
    if one_line and len(name) > room:
        name = name[: max(room - 1, len(figures.key))].rstrip() + "…" \
            if room > len(figures.key) + 2 else figures.key
    return name, text


def _seconds(value: float) -> str:
    """As the stats panel writes a latency (one formatter: the figures read alike)."""
    # Not at the top: stats_panel imports target_charts, which imports this module.
    from .widgets.stats_panel import latency

    return latency(value)
