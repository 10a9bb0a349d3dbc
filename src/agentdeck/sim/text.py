"""The simulator's generated text: markdown-ish answers and a short reasoning phase, seeded."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from functools import lru_cache

from . import corpus
from .tokenizer import split_pieces

__all__ = ["generate_tokens", "topic_words"]

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")
_STOPWORDS = frozenset(
    "this that with what about from your have will would could should there their them they "
    "into please write explain tell give make some more than then when which while where "
    "also just like been were does each other only very".split()
)


def topic_words(prompt: str) -> list[str]:
    """Distinct content words of the prompt, in order, to echo in the answer."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(prompt[-4000:]):
        low = word.lower()
        if low not in _STOPWORDS and low not in seen:
            seen[low] = None
    return list(seen)[:40]


@lru_cache(maxsize=8192)
def _split(segment: str) -> tuple[str, ...]:
    # Most segments are corpus sentences that repeat, so their pieces are computed once.
    return tuple(split_pieces(segment))


class _Writer:
    """Builds one document block by block from a seeded RNG; a block is a list of segments."""

    def __init__(self, rng: random.Random, topics: list[str]) -> None:
        self.rng = rng
        self.topics = topics

    def topic(self) -> str:
        # Echo the prompt's words now and then; fall back to generic topics.
        if self.topics and self.rng.random() < 0.7:
            return self.rng.choice(self.topics)
        return self.rng.choice(corpus.TOPICS)

    def fill(self, template: str) -> str:
        return template.replace("{topic}", self.topic()) if "{topic}" in template else template

    def sentences(self, pool: tuple[str, ...], count: int) -> list[str]:
        picked = [self.fill(s) for s in self.rng.sample(pool, count)]
        return picked[:1] + [" " + s for s in picked[1:]]

    def block(self, first: bool) -> list[str]:
        rng = self.rng
        roll = rng.random()
        if first or roll < 0.35:
            return self.sentences(corpus.SENTENCES, rng.randint(2, 4))
        if roll < 0.5:
            return ["## " + self.fill(rng.choice(corpus.HEADINGS))]
        if roll < 0.7:
            items = rng.sample(corpus.BULLETS, rng.randint(3, 5))
            return [("\n- " if i else "- ") + self.fill(item) for i, item in enumerate(items)]
        if roll < 0.8:
            items = rng.sample(corpus.SENTENCES, rng.randint(3, 4))
            return [
                f"{chr(10) if i > 1 else ''}{i}. {self.fill(s)}" for i, s in enumerate(items, 1)
            ]
        if roll < 0.92:
            lang, code = rng.choice(corpus.CODE)
            return [f"```{lang}\n{code}\n```"]
        return ["> " + self.fill(rng.choice(corpus.SENTENCES))]

    def reasoning(self, first: bool) -> list[str]:
        opening = [] if not first else [self.fill(corpus.REASONING[0])]
        more = self.sentences(corpus.REASONING[1:], self.rng.randint(3, 6))
        if first:
            more[0] = " " + more[0]
        return opening + more


def _pieces(make_block: Callable[[bool], list[str]], separator: str, count: int) -> list[str]:
    """Exactly ``count`` tokens from repeated blocks joined by ``separator``."""
    out: list[str] = []
    while len(out) < count:
        if out:
            out.extend(_split(separator))
        for segment in make_block(not out):
            out.extend(_split(segment))
    return out[:count]


def generate_tokens(
    seed: int, topic_source: str, reasoning: int, content: int
) -> tuple[list[str], list[str]]:
    """Return (reasoning pieces, content pieces) of exactly the given token counts.

    Pure: the same seed and topic source (the last user message) give the same text.
    """
    writer = _Writer(random.Random(seed), topic_words(topic_source))
    think = _pieces(writer.reasoning, " ", reasoning)
    answer = _pieces(writer.block, "\n\n", content)
    return think, answer
