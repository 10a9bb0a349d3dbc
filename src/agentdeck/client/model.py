"""``BaseModel``: the interface agents and systems stream through, whatever the backend.

A backend implements ``stream()``; ``call_stream()`` (the seed's API) and ``complete()`` are
derived from it here, so every backend behaves the same way.
"""

from __future__ import annotations

import abc
from contextlib import aclosing
from typing import Any, AsyncIterator

from ..events import Delta, StreamEvent, StreamFinished
from ..types import ChatMessage, Completion, GenerationParams

__all__ = ["BaseModel"]


class BaseModel(abc.ABC):
    """A chat model that streams. Subclasses implement ``stream``."""

    model_name: str

    @abc.abstractmethod
    def stream(
        self,
        messages: list[ChatMessage],
        params: GenerationParams | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[StreamEvent]:
        """Yield ``Delta``, ``ChoiceFinished`` and ``Retrying`` events, then one ``StreamFinished``.

        ``kwargs`` are merged over ``params`` (unknown names are passed through to the server).

        Raises:
            AgentDeckError: a typed error; a ``StreamError`` carries the partial text.
        """

    async def call_stream(self, messages: list[ChatMessage], **kwargs: Any) -> AsyncIterator[str]:
        """Yield text pieces of the first choice (the seed's API).

        Reasoning, when the server splits it out, is yielded first wrapped in
        ``<think>`` ... ``</think>``, so the joined text reads the same whether or not the
        server runs a reasoning parser.
        """
        thinking = False
        async with aclosing(self.stream(messages, **kwargs)) as events:
            async for event in events:
                if type(event) is not Delta or event.index:
                    continue
                if event.reasoning:
                    if not thinking:
                        thinking = True
                        yield "<think>"
                    yield event.reasoning
                if event.content:
                    if thinking:
                        thinking = False
                        yield "</think>"
                    yield event.content
        if thinking:
            yield "</think>"

    async def complete(
        self,
        messages: list[ChatMessage],
        params: GenerationParams | None = None,
        **kwargs: Any,
    ) -> Completion:
        """Stream a request to its end and return the whole result."""
        async with aclosing(self.stream(messages, params, **kwargs)) as events:
            async for event in events:
                if isinstance(event, StreamFinished):
                    return event.completion
        raise AssertionError("stream() ended without StreamFinished")  # a backend bug

    async def tokenize(self, text: str) -> list[int] | None:
        """Token ids of ``text``, or None when the backend cannot tell."""
        return None

    async def detokenize(self, tokens: list[int]) -> str | None:
        """Text of ``tokens``, or None when the backend cannot tell."""
        return None

    async def max_model_len(self) -> int | None:
        """The model's context window in tokens, or None when unknown."""
        return None

    async def close_client(self) -> None:
        """Release connections (the seed's name). Safe to call twice."""

    async def __aenter__(self) -> BaseModel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close_client()
