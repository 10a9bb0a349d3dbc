"""Token budgets and sentence-boundary chunking for the Chain of Agents.

Counting: with a vLLM server the counts are exact, from its ``/tokenize`` (and
``/detokenize`` to cut inside an over-long sentence). A server without those endpoints gets
an estimate of ``CHARS_PER_TOKEN`` characters per token, deliberately pessimistic (English
averages about 4), and a larger safety margin.

Budget of one worker call (all in tokens)::

    chunk = window - template - question - unit_in - unit_out - margin

``window`` is the model's context (``max_model_len``; ``DEFAULT_WINDOW`` when the server
does not say), ``template`` the worker prompt with empty slots, ``unit_in`` room for the
previous communication unit and ``unit_out`` the new one (both the worker's ``max_tokens``,
which caps what the previous worker could write: ``unit_tokens``, else the caller's
``max_tokens`` cut to a quarter of the room), ``margin`` covers chat-template tokens and
counting error.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass

from ..client.model import BaseModel
from ..errors import InputError
from .declarations import MIN_CHUNK_TOKENS
from .fit import fitter_for

__all__ = [
    "CHARS_PER_TOKEN",
    "DEFAULT_WINDOW",
    "Budget",
    "Chunker",
    "TokenCounter",
    "plan_budget",
    "sentence_bounds",
]

CHARS_PER_TOKEN = 3.0
"""Fallback estimate when the server cannot tokenize (pessimistic on purpose)."""
DEFAULT_WINDOW = 8192
"""Context window assumed when the server does not report ``max_model_len``."""
EXACT_MARGIN = (0.05, 32)
"""Safety margin with the server's tokenizer: 5 % of the window, at least 32 tokens."""
ESTIMATE_MARGIN = (0.15, 64)
"""Safety margin with the character estimate: 15 % of the window, at least 64 tokens."""

# A sentence ends after . ! ? (or CJK full stops) plus closing quotes/brackets and spaces,
# or at a line break; the whitespace stays with the sentence before it.
_BOUNDARY = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])[\"')\]\u201d\u2019]*\s+|\n\s*")
_SPACE = re.compile(r"\s")


def sentence_bounds(text: str) -> list[int]:
    """Offsets where a chunk may end: every sentence end, plus 0 and ``len(text)``."""
    bounds = [0]
    bounds.extend(m.end() for m in _BOUNDARY.finditer(text) if m.end() > 0)
    if bounds[-1] != len(text):
        bounds.append(len(text))
    return bounds


class TokenCounter:
    """Counts tokens with the server's tokenizer, or estimates them from characters."""

    def __init__(self, model: BaseModel) -> None:
        self.model = model
        self.exact: bool | None = None
        """True once the server tokenized something; False when it cannot."""

    async def count(self, text: str) -> int:
        """Tokens in ``text`` (an estimate when the server has no tokenizer)."""
        if self.exact is not False:
            ids = await self.model.tokenize(text)
            if ids is not None:
                self.exact = True
                return len(ids)
            self.exact = False
        return math.ceil(len(text) / CHARS_PER_TOKEN)

    async def prefix_chars(self, text: str, tokens: int) -> int:
        """How many leading characters of ``text`` make at most ``tokens`` tokens."""
        if self.exact:
            ids = await self.model.tokenize(text)
            if ids is not None and len(ids) <= tokens:
                return len(text)
            head = await self.model.detokenize(ids[:tokens]) if ids else None
            if head is not None and text.startswith(head):
                return len(head)
            if head is not None:  # detokenized text differs in spacing: trust its length
                return min(len(head), len(text))
        return min(len(text), int(tokens * CHARS_PER_TOKEN))


@dataclass(frozen=True)
class Budget:
    """The token arithmetic of one chain; ``chunk`` is what the text of a chunk may use."""

    window: int
    template: int
    question: int
    unit: int
    """Room for the incoming unit and for the new one (the worker's max_tokens)."""
    margin: int
    exact: bool
    window_known: bool = True
    cap: int | None = None
    """A caller's ``chunk_size``, when smaller than what the window allows."""
    lowered: int | None = None
    """The caller's ``max_tokens`` when the unit had to be smaller to leave room for text."""

    @property
    def room(self) -> int:
        """Tokens the window leaves for the text of a chunk."""
        return self.window - self.template - self.question - 2 * self.unit - self.margin

    @property
    def chunk(self) -> int:
        return min(self.room, self.cap) if self.cap else self.room

    def describe(self) -> str:
        """One line of the arithmetic, for logs and the manifest."""
        how = "server tokenizer" if self.exact else f"estimate {CHARS_PER_TOKEN:g} chars/token"
        window = f"{self.window}" + ("" if self.window_known else " (assumed)")
        cap = f", capped at {self.cap}" if self.cap and self.cap < self.room else ""
        unit = f"{self.unit}" + (f" (max_tokens {self.lowered} lowered to leave room for text)"
                                 if self.lowered else "")
        return (f"chunk {self.chunk} = window {window} - template {self.template} - question "
                f"{self.question} - 2 x unit {unit} - margin {self.margin}{cap} [{how}]")


async def plan_budget(
    model: BaseModel,
    counter: TokenCounter,
    template: str,
    question: str,
    unit_tokens: int | None,
    cap: int | None = None,
    max_tokens: int | None = None,
) -> Budget:
    """Work out the chunk budget from the room the window leaves.

    ``unit_tokens`` is taken as given; otherwise the unit is ``max_tokens`` (a cap, so at most
    a quarter of the room: the text keeps at least half) or one picked from the window.

    Raises:
        InputError: the question and unit size leave no useful room for text.
    """
    reported = await fitter_for(model).window()
    window = reported or DEFAULT_WINDOW
    template_tokens = await counter.count(template)
    question_tokens = await counter.count(question) if question else 0
    share, floor = EXACT_MARGIN if counter.exact else ESTIMATE_MARGIN
    margin = max(floor, int(window * share))
    free = window - template_tokens - question_tokens - margin
    unit = unit_tokens or max(1, min(max_tokens or max(128, min(2048, window // 8)), free // 4))
    budget = Budget(window, template_tokens, question_tokens, unit, margin,
                    bool(counter.exact), reported is not None, cap,
                    max_tokens if not unit_tokens and max_tokens and max_tokens > unit else None)
    if budget.chunk < MIN_CHUNK_TOKENS:
        raise InputError(
            f"no room for text in a {window}-token window: the prompt takes {template_tokens}, "
            f"the question {question_tokens}, the summaries 2 x {unit} (unit_tokens) and the "
            f"margin {margin}, leaving {budget.room} for a chunk (at least {MIN_CHUNK_TOKENS} "
            "needed); shorten the question or lower unit_tokens (it defaults to max_tokens)"
        )
    return budget


class Chunker:
    """Cuts a text into chunks of at most ``limit`` tokens, ending at sentence boundaries.

    Chunks are ``(start, end)`` offsets into the text, so the rest can be cut again with a
    smaller limit (the context-length retry). A sentence longer than the limit is cut at
    the last space that fits.
    """

    def __init__(self, text: str, counter: TokenCounter, overlap: int = 0) -> None:
        self.text = text
        self.counter = counter
        self.overlap = max(0, overlap)
        self.bounds = sentence_bounds(text)
        self._ratio: float | None = None

    async def ratio(self) -> float:
        """Characters per token of this text (measured once with the server's tokenizer)."""
        if self._ratio is None:
            tokens = await self.counter.count(self.text) if self.text else 0
            self._ratio = len(self.text) / tokens if tokens else CHARS_PER_TOKEN
        return self._ratio

    async def split(self, limit: int, start: int = 0) -> list[tuple[int, int]]:
        """All chunks from ``start`` to the end of the text."""
        spans: list[tuple[int, int]] = []
        while start < len(self.text):
            end = await self.next_end(start, limit)
            spans.append((start, end))
            if end >= len(self.text):
                break
            start = self._overlap_start(start, end, await self.ratio())
        return spans

    async def next_end(self, start: int, limit: int) -> int:
        """End offset of the chunk that starts at ``start``."""
        ratio = await self.ratio()
        guess = start + int(limit * ratio)
        end = self._bound_at_or_before(guess, start)
        for _ in range(6):  # the estimate is refined from the real count, converging fast
            if end <= start:
                break
            n = await self.counter.count(self.text[start:end]) if self.counter.exact else (
                math.ceil((end - start) / CHARS_PER_TOKEN))
            if n <= limit:
                return end
            target = start + int((end - start) * limit / n * 0.97)
            end = self._bound_at_or_before(target, start)
        return await self._hard_cut(start, limit)

    def _bound_at_or_before(self, offset: int, start: int) -> int:
        if offset >= len(self.text):
            return len(self.text)
        i = bisect.bisect_right(self.bounds, offset) - 1
        return self.bounds[i] if i >= 0 and self.bounds[i] > start else start

    async def _hard_cut(self, start: int, limit: int) -> int:
        """Cut inside a sentence: the longest prefix within ``limit``, ended at a space."""
        window = self.text[start:start + int(limit * CHARS_PER_TOKEN * 2) + 16]
        size = await self.counter.prefix_chars(window, limit)
        size = max(1, size)
        piece = self.text[start:start + size]
        spaces = [m.end() for m in _SPACE.finditer(piece)]
        if spaces and spaces[-1] > size // 2 and start + size < len(self.text):
            size = spaces[-1]
        return start + size

    def _overlap_start(self, start: int, end: int, ratio: float) -> int:
        """Where the next chunk starts: ``end``, or earlier by ``overlap`` tokens of sentences."""
        if not self.overlap:
            return end
        target = end - int(self.overlap * ratio)
        i = bisect.bisect_left(self.bounds, max(target, start + 1))
        nxt = self.bounds[i] if i < len(self.bounds) else end
        return nxt if start < nxt < end else end
