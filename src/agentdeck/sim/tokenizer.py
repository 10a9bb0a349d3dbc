"""A deterministic, reversible word-piece tokenizer standing in for a real model's vocabulary."""

from __future__ import annotations

import re

__all__ = ["Vocabulary", "count_tokens", "split_pieces"]

# Every character lands in exactly one piece, so "".join(pieces) == text always holds:
# a word piece (up to 8 letters) or a number piece (up to 3 digits) or one punctuation mark,
# each optionally led by one whitespace character, else a lone whitespace character.
_PIECE = re.compile(r"\s?[^\W\d_]{1,8}|\s?\d{1,3}|\s?[^\w\s]|\s?_|\s|[\s\S]")


def split_pieces(text: str) -> list[str]:
    """Split ``text`` into token strings whose concatenation is ``text``."""
    return _PIECE.findall(text)


def count_tokens(text: str) -> int:
    """How many tokens ``text`` holds (cheaper than building the piece list)."""
    return sum(1 for _ in _PIECE.finditer(text))


class Vocabulary:
    """Token ids assigned on first sight, one vocabulary per server.

    Ids are stable for the life of the server, so ``detokenize(tokenize(text)) == text``.
    """

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._pieces: list[str] = []

    def __len__(self) -> int:
        return len(self._pieces)

    def encode(self, text: str) -> tuple[list[int], list[str]]:
        """Return the token ids of ``text`` and their strings."""
        pieces = split_pieces(text)
        ids = self._ids
        out = []
        for piece in pieces:
            token = ids.get(piece)
            if token is None:
                token = ids[piece] = len(self._pieces)
                self._pieces.append(piece)
            out.append(token)
        return out, pieces

    def decode(self, tokens: list[int]) -> str:
        """Return the text of ``tokens``; ids never handed out decode to nothing, as in vLLM."""
        pieces = self._pieces
        size = len(pieces)
        return "".join([pieces[t] for t in tokens if 0 <= t < size])
