"""Fitting quoted answers (debate revisions, select and synthesize) into the model's window.

A prompt that quotes other answers grows with them: N long answers overflow a small window.
Each quote gets a fair share of the room the window leaves after the fixed text (question,
instructions), the output room and a margin: shorter answers keep all of theirs and give
the rest back. A quote that must shrink keeps its END, where the final answer usually is,
behind a visible marker. A window the server does not report leaves the quotes as they are.
"""

from __future__ import annotations

from typing import Any

from ..client.model import BaseModel
from .chunking import ESTIMATE_MARGIN, EXACT_MARGIN, TokenCounter
from .fit import fitter_for

__all__ = ["QuoteFitter", "cut_marker"]

OUTPUT_SHARE = 4
"""Without a smaller max_tokens, 1/OUTPUT_SHARE of the window is kept for the reply."""
MARKER_TOKENS = 16
"""Room kept for each quote's cut marker."""
MIN_QUOTE_TOKENS = 16
"""Fewest tokens a quote is cut to (a prompt that still overflows is fitted per request)."""


def cut_marker(chars: int) -> str:
    """The line that starts a shortened quote."""
    return f"[... {chars} characters cut ...]\n"


class QuoteFitter:
    """Shortens quotes so that a prompt fits ``model``'s window; one per run (counts cached)."""

    def __init__(self, model: BaseModel) -> None:
        self.model = model
        self.counter = TokenCounter(model)
        self._counts: dict[str, int] = {}

    async def window(self) -> int | None:
        """The window the requests are fitted to (``systems.fit``: asked once per model, and
        corrected by a context-length 400), or None when the server does not say."""
        return await fitter_for(self.model).window()

    async def count(self, text: str) -> int:
        n = self._counts.get(text)
        if n is None:
            n = self._counts[text] = await self.counter.count(text)
        return n

    async def fit(self, fixed: str, quotes: list[str], kwargs: dict[str, Any]) -> list[str]:
        """``quotes`` cut so that ``fixed`` plus them leaves room for the reply.

        ``fixed`` is every other text of the request (question, instructions, headers);
        ``kwargs`` the generation params (their ``max_tokens`` caps the output room).
        """
        window = await self.window() if quotes else None
        if window is None:
            return quotes
        sizes = [await self.count(q) for q in quotes]
        out_room = window // OUTPUT_SHARE
        max_tokens = kwargs.get("max_tokens")
        if isinstance(max_tokens, int) and max_tokens > 0:
            out_room = min(out_room, max_tokens)
        share, floor = EXACT_MARGIN if self.counter.exact else ESTIMATE_MARGIN
        room = window - await self.count(fixed) - out_room - max(floor, int(window * share))
        if sum(sizes) <= room:
            return quotes
        shares = _fair_shares(sizes, max(0, room - MARKER_TOKENS * len(quotes)))
        return [q if n <= s else await self._keep_end(q, n, max(MIN_QUOTE_TOKENS, s))
                for q, n, s in zip(quotes, sizes, shares)]

    async def _keep_end(self, text: str, tokens: int, limit: int) -> str:
        """The last ``limit`` tokens of ``text`` (about), behind the cut marker."""
        keep = int(len(text) * limit / tokens)
        for _ in range(4):  # the ratio is close; a few exact counts settle it
            tail = text[len(text) - keep:] if keep else ""
            n = await self.count(tail) if self.counter.exact else tokens * keep // len(text)
            if n <= limit:
                break
            keep = int(keep * limit / n * 0.95)
        tail = text[len(text) - keep:].lstrip() if keep else ""
        return cut_marker(len(text) - len(tail)) + tail


def _fair_shares(sizes: list[int], room: int) -> list[int]:
    """Equal shares of ``room``; a quote smaller than its share gives the rest to the others."""
    shares = [0] * len(sizes)
    left, waiting = room, sorted(range(len(sizes)), key=sizes.__getitem__)
    while waiting:
        each = left // len(waiting)
        i = waiting[0]
        if sizes[i] <= each:
            shares[i] = sizes[i]
            left -= sizes[i]
            waiting.pop(0)
            continue
        for i in waiting:
            shares[i] = each
        break
    return shares
