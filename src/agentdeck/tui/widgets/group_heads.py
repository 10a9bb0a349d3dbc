"""The worker grid's groups: each one's column of cards under a header with its live figures.

Kept apart from the grid, whose ungrouped path stays as it was: the figures are worked out a
few times a second (``EVERY``) and once more as the run ends, never per token, and a header
line is rebuilt only when what it says changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from agentdeck.tui.live import LiveRun
from agentdeck.tui.targets import (
    COLOURS,
    Tallies,
    card_title,
    figures_of,
    group_title,
    header_text,
)
from agentdeck.tui.widgets.grid_layout import Band, GroupedLayout
from agentdeck.tui.widgets.plaintext import cells, fit, literal
from agentdeck.tui.widgets.worker_card import Card

__all__ = ["EVERY", "GroupHeads"]

EVERY = 0.25
"""Seconds between looks at the groups' figures."""
OTHER = "other"
"""The header of the workers in no group (none in a compare run)."""


class GroupHeads:
    """The headers of one run's groups, in the layout's order of groups."""

    def __init__(self, tallies: Tallies) -> None:
        self.keys: list[str] = []
        """The groups left to right ('' for the workers in none)."""
        self.grouped = 0
        """Grouped workers when the layout was made (a worker joins its group when queued)."""
        self._said: dict[int, list[tuple[str, str]]] = {}
        """What each band's header says, by the band's top."""
        self._strips: dict[tuple[int, int], Strip] = {}
        """Each band's header lines by (its top, the line)."""
        self._at = 0.0
        self._final = False
        self._tallies = tallies

    def group_cards(self, live: LiveRun, cards: list[Card]) -> list[list[int]]:
        """Each group's card indexes in the order the groups appeared, then any in none; the
        cards' titles lose what their group's header says."""
        index = {card.worker_id: i for i, card in enumerate(cards)}
        self.keys = list(live.groups)
        groups = [[index[w] for w in live.groups[key] if w in index] for key in self.keys]
        self.grouped = sum(map(len, live.groups.values()))
        rest = [i for i, card in enumerate(cards)
                if not getattr(live.buffers.get(card.worker_id), "group", "")]
        if rest:
            self.keys.append("")
            groups.append(rest)
        titles = {key: group_title(live, key) for key in self.keys if key}
        for card in cards:
            buf = live.buffers.get(card.worker_id)
            card.title = card_title(buf.title, titles.get(buf.group, "")) if buf else ""
        self.forget()
        return groups

    def forget(self) -> None:
        """Build every header line again (the layout or the styles changed)."""
        self._said, self._strips = {}, {}

    def update(self, live: LiveRun, layout: GroupedLayout) -> list[int]:
        """Look at the figures again when it is time; the tops of the bands whose header
        changed (to repaint)."""
        at = time.monotonic()
        if (self._final if live.finished else at - self._at < EVERY):
            return []
        self._at, self._final = at, live.finished
        changed = []
        for band in layout.bands:
            if band.top in self._said and self._say(live, layout, band) != self._said[band.top]:
                del self._said[band.top]
                for line in range(layout.head_h):
                    self._strips.pop((band.top, line), None)
                changed.append(band.top)
        return changed

    def strip(self, live: LiveRun, layout: GroupedLayout, band: Band, line: int,
              style: Callable[[str], Style]) -> Strip:
        """Line ``line`` of a band's header: each group's name in its colour, then its figures
        (on the next line when the header has two)."""
        strip = self._strips.get((band.top, line))
        if strip is not None:
            return strip
        said = self._said.get(band.top)
        if said is None:
            said = self._said[band.top] = self._say(live, layout, band)
        room = max(1, layout.col_w - 1)
        two = layout.head_h > 1
        segments: list[Segment] = []
        for g, (name, figures) in zip(band.groups, said):
            colour = style(f"group-{g % len(COLOURS)}")
            name = "" if two and line else fit(" " + literal(name), room)
            rest = "" if two and not line else fit(("  " if name else " ") + figures
                                                   if figures else "", room - cells(name))
            segments += [Segment("▌", colour), Segment(name, colour),
                         Segment(rest + " " * (room - cells(name) - cells(rest)), style("head"))]
        strip = Strip(segments).adjust_cell_length(layout.width, style(""))
        self._strips[(band.top, line)] = strip
        return strip

    def _say(self, live: LiveRun, layout: GroupedLayout, band: Band) -> list[tuple[str, str]]:
        """(name, figures) of each group of ``band``, fitted to its column."""
        out = []
        for g in band.groups:
            key = self.keys[g] if g < len(self.keys) else ""
            out.append(header_text(figures_of(live, key, self._tallies), layout.col_w - 2,
                                   layout.head_h == 1) if key else (OTHER, ""))
        return out

    def line(self, live: LiveRun, layout: GroupedLayout, y: int, cards: list[Card],
             sync: Callable[[Card, int], object], style: Callable[[str], Style]) -> Strip:
        """Line ``y`` of the grid's virtual space: a band's header, or its groups' cards side
        by side (``sync`` brings a stale card up to date first)."""
        blank = style("")
        band = layout.band_at(y)
        if band is None:
            return Strip.blank(layout.width, blank)
        if y < band.top + layout.head_h:
            return self.strip(live, layout, band, y - band.top, style)
        rows, line = layout.row_at(band, y)
        card_h = layout.card_h
        segments: list[Segment] = []
        used = 0
        for col, indexes in enumerate(rows):
            x0 = col * layout.col_w
            if used < x0:
                segments.append(Segment(" " * (x0 - used), blank))
                used = x0
            for index in indexes:
                card = cards[index]
                if card.stale or len(card.strips) != card_h:
                    sync(card, index)
                if line < len(card.strips):
                    strip = card.strips[line]
                    segments.extend(strip)
                    used += strip.cell_length
        if used < layout.width:
            segments.append(Segment(" " * (layout.width - used), blank))
        return Strip(segments, max(used, layout.width))
