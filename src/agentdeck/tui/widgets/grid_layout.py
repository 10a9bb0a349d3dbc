"""Where the worker grid's cards sit: columns, card size, regions, hits and moves.

Plain arithmetic over card indexes, kept apart from the widget so it reads, and tests, without
an app. ``GridLayout``: row-major, ``cols`` per row. ``GroupedLayout``: the cards in groups
(compare's targets) side by side, a column each under a header line, in bands when they do not
all fit across.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import NamedTuple

from textual.geometry import Region

__all__ = ["Band", "GridLayout", "GroupedLayout", "row_runs"]


class GridLayout(NamedTuple):
    """The grid's geometry: content width, columns and the size of every card."""

    width: int
    cols: int
    card_w: int
    card_h: int

    @classmethod
    def fit(cls, count: int, width: int, view_h: int, min_w: int, card_h: int,
            row_size: int | None = None) -> GridLayout:
        """As many columns as ``min_w`` allows; few cards grow taller to fill the view.

        ``row_size`` (a debate's seats) caps the columns when that many fit, so every row
        holds one group (one round) and groups never share a row.
        """
        width, view_h = max(1, width), max(1, view_h)
        cols = max(1, min(count or 1, width // min_w))
        if row_size and row_size <= cols:
            cols = row_size
        rows = -(-count // cols)
        if rows and rows * card_h <= view_h:
            card_h = view_h // rows
        return cls(width, cols, width // cols, card_h)

    def rows(self, count: int) -> int:
        """Rows of cards for ``count`` workers."""
        return -(-count // self.cols)

    def height(self, count: int) -> int:
        """Lines of the grid's virtual space for ``count`` workers."""
        return self.rows(count) * self.card_h

    def region(self, index: int) -> Region:
        """The card's region in the grid's virtual space."""
        row, col = divmod(index, self.cols)
        return Region(col * self.card_w, row * self.card_h, self.card_w, self.card_h)

    def top(self, index: int) -> int:
        """The card's first line in the grid's virtual space."""
        return index // self.cols * self.card_h

    def card_at(self, x: int, y: int, count: int) -> int | None:
        """The index of the card at virtual ``(x, y)``, or None."""
        col = x // max(1, self.card_w)
        index = y // max(1, self.card_h) * self.cols + col
        return index if col < self.cols and 0 <= index < count else None

    def moved(self, index: int, dx: int, dy: int, count: int) -> int | None:
        """The card an arrow key moves to from ``index``, or None at an edge."""
        new = index + dx if dx else index + dy * self.cols
        if dy > 0 and new >= count:
            # moving down from a full row onto a short last row lands on its last card
            last_row_start = (count - 1) // self.cols * self.cols
            new = count - 1 if index < last_row_start else new
        return new if 0 <= new < count else None


def row_runs(rows: list[int], width: int) -> list[Region]:
    """Sorted row numbers as the fewest full-width regions."""
    regions: list[Region] = []
    start = prev = None
    for y in rows:
        if start is None:
            start = prev = y
        elif y == prev + 1:
            prev = y
        else:
            regions.append(Region(0, start, width, prev - start + 1))
            start = prev = y
    if start is not None:
        regions.append(Region(0, start, width, prev - start + 1))
    return regions


ONE_LINE_HEAD = 72
"""Columns from which a group's header is one line (its name, then its figures); narrower,
the name and the figures take a line each."""


class Band(NamedTuple):
    """Groups side by side: their headers from ``top``, then ``rows`` rows of cards."""

    top: int
    groups: tuple[int, ...]
    """Indexes into the layout's groups, left to right."""
    rows: int


class GroupedLayout:
    """Each group a column (its header, then its cards, ``per_col`` to a row); as many
    columns to a band as ``min_w`` allows, further bands below. Call i of every group sits on
    the same row when each column holds one card across: compare's paired calls side by side.
    """

    def __init__(self, groups: Sequence[Sequence[int]], width: int, view_h: int, min_w: int,
                 card_h: int) -> None:
        width, view_h = max(1, width), max(1, view_h)
        self.groups = [list(g) for g in groups]
        count = len(self.groups) or 1
        across = max(1, min(count, width // min_w))
        self.width, self.col_w = width, width // across
        self.per_col = max(1, self.col_w // min_w)
        self.card_w = self.col_w // self.per_col
        self.head_h = 1 if self.col_w >= ONE_LINE_HEAD else 2
        head_h = self.head_h
        chunks = [tuple(range(i, min(i + across, count))) for i in range(0, count, across)]
        rows = [max((-(-len(self.groups[g]) // self.per_col) for g in c if g < len(self.groups)),
                    default=0) for c in chunks]
        if sum(rows) and len(chunks) * head_h + sum(rows) * card_h <= view_h:
            card_h = max(card_h, (view_h - len(chunks) * head_h) // sum(rows))  # grow taller
        self.card_h = card_h
        self.bands: list[Band] = []
        self.places: dict[int, tuple[int, int]] = {}
        """Card index -> its (x, y) in the virtual space."""
        top = 0
        for chunk, n in zip(chunks, rows):
            self.bands.append(Band(top, chunk, n))
            for col, g in enumerate(chunk):
                for j, index in enumerate(self.groups[g] if g < len(self.groups) else ()):
                    row, sub = divmod(j, self.per_col)
                    self.places[index] = (col * self.col_w + sub * self.card_w,
                                          top + head_h + row * card_h)
            top += head_h + n * card_h
        self._height = top
        self._tops = [band.top for band in self.bands]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GroupedLayout) and (
            self.groups, self.width, self.card_h, self.card_w) == (
            other.groups, other.width, other.card_h, other.card_w)

    def height(self, count: int) -> int:
        """Lines of the grid's virtual space."""
        return self._height

    def region(self, index: int) -> Region:
        x, y = self.places.get(index, (0, 0))
        return Region(x, y, self.card_w, self.card_h)

    def top(self, index: int) -> int:
        return self.places.get(index, (0, 0))[1]

    def band_at(self, y: int) -> Band | None:
        """The band line ``y`` of the virtual space is in."""
        i = bisect_right(self._tops, y) - 1
        return self.bands[i] if 0 <= i < len(self.bands) else None

    def row_at(self, band: Band, y: int) -> tuple[list[list[int]], int]:
        """Line ``y`` below ``band``'s header: each of its groups' cards on that row, and the
        line within them."""
        row, line = divmod(y - band.top - self.head_h, self.card_h)
        start = row * self.per_col
        return [self.groups[g][start:start + self.per_col] for g in band.groups], line

    def card_at(self, x: int, y: int, count: int) -> int | None:
        return next((i for i, (cx, cy) in self.places.items()
                     if cx <= x < cx + self.card_w and cy <= y < cy + self.card_h), None)

    def moved(self, index: int, dx: int, dy: int, count: int) -> int | None:
        """The card an arrow key moves to: the next one that way (down a column, across the
        groups of a row, on into the band below), or None at an edge."""
        if index not in self.places:
            return None
        x, y = self.places[index]
        if dx:
            ahead = [(abs(cx - x), i) for i, (cx, cy) in self.places.items()
                     if cy == y and (cx - x) * dx > 0]
        else:
            ahead = [(abs(cy - y) * self.width + abs(cx - x), i)
                     for i, (cx, cy) in self.places.items() if (cy - y) * dy > 0]
        return min(ahead)[1] if ahead else None
