"""Where the worker grid's cards sit: columns, card size, regions, hits and moves.

Plain arithmetic over card indexes (row-major, ``cols`` per row), kept apart from the widget so
it reads, and tests, without an app.
"""

from __future__ import annotations

from typing import NamedTuple

from textual.geometry import Region

__all__ = ["GridLayout", "row_runs"]


class GridLayout(NamedTuple):
    """The grid's geometry: content width, columns and the size of every card."""

    width: int
    cols: int
    card_w: int
    card_h: int

    @classmethod
    def fit(cls, count: int, width: int, view_h: int, min_w: int, card_h: int) -> GridLayout:
        """As many columns as ``min_w`` allows; few cards grow taller to fill the view."""
        width, view_h = max(1, width), max(1, view_h)
        cols = max(1, min(count or 1, width // min_w))
        rows = -(-count // cols)
        if rows and rows * card_h <= view_h:
            card_h = view_h // rows
        return cls(width, cols, width // cols, card_h)

    def rows(self, count: int) -> int:
        """Rows of cards for ``count`` workers."""
        return -(-count // self.cols)

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
