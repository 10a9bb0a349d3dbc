"""``BaseModel``: the interface agents and systems stream through, whatever the backend.

A backend implements ``stream()`` (events) or, the seed's way, only ``call_stream()`` (text,
reasoning inside ``<think>...</think>``); the base derives the other one and ``complete()``.
The server helpers (tokenize, models, health, load gauges) have safe defaults, so a toy model
works with every agent and system.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing, nullcontext
from typing import Any, ClassVar

from ..events import ChoiceFinished, Delta, StreamEvent, StreamFinished
from ..types import ChatMessage, ChoiceResult, Completion, GenerationParams, now
from .metrics import StreamClock

__all__ = ["BaseModel", "ThinkSplitter"]

_OPEN, _CLOSE = "<think>", "</think>"
_COMPLETES = "_completes_stream"
"""Marks a ``stream`` already wrapped by ``_completed`` (a parent's, taken over as it is)."""


class BaseModel:
    """A chat model that streams. Subclasses implement ``stream`` or ``call_stream``.

    A subclass's ``stream()`` that ends without ``StreamFinished`` is completed by the base
    (finish reason ``stop`` for every choice still open), unless the class is strict. The
    completing layer costs one generator step per event: a fast backend whose ``stream()``
    always ends with ``StreamFinished`` or an error sets ``strict_stream = True``.
    """

    model_name: str = ""
    """The model's name, shown in run manifests and the app; a subclass sets it."""

    strict_stream: ClassVar[bool] = False
    """True when ``stream()`` itself ends every stream with ``StreamFinished`` or an error, so
    the base adds no completing layer (``VLLMModel``: nothing per chunk, and a server that
    stops without a finish reason stays a ``TruncatedStreamError``). Subclasses inherit it.
    A subclass whose ``stream()`` only passes on ``super().stream()``'s events may set it too:
    the parent's layer already completes them."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("stream")
        if own is not None and not cls.strict_stream and not hasattr(own, _COMPLETES):
            cls.stream = _completed(own)  # type: ignore[method-assign]

    def __new__(cls, *args: Any, **kwargs: Any) -> BaseModel:
        if cls.stream is BaseModel.stream and cls.call_stream is BaseModel.call_stream:
            raise TypeError(
                f"{cls.__qualname__} must implement stream() (events) or call_stream() "
                "(an async generator of text): BaseModel derives the other one"
            )
        return super().__new__(cls)

    async def stream(
        self,
        messages: list[ChatMessage],
        params: GenerationParams | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[StreamEvent]:
        """Yield ``Delta``, ``ChoiceFinished`` and ``Retrying`` events, then one ``StreamFinished``.

        ``kwargs`` are merged over ``params`` (unknown names are passed through to the server).
        This default derives the events from ``call_stream``: ``<think>`` ... ``</think>``
        text becomes reasoning, the stream finishes with ``stop`` and no usage.

        Raises:
            AgentDeckError: a typed error; a ``StreamError`` carries the partial text.
        """
        if params is not None:
            kwargs = {**params.to_body(), **kwargs}
        clock = StreamClock()
        split = ThinkSplitter()
        content: list[str] = []
        reasoning: list[str] = []
        async with aclosing(self.call_stream(messages, **kwargs)) as pieces:
            async for piece in pieces:
                parts = split.feed(piece)
                if parts:
                    clock.token(now())
                for thinking, text in parts:
                    (reasoning if thinking else content).append(text)
                    yield Delta("", text) if thinking else Delta(text, "")
        for thinking, text in split.end():
            (reasoning if thinking else content).append(text)
            yield Delta("", text) if thinking else Delta(text, "")
        yield ChoiceFinished(0, "stop")
        choice = ChoiceResult(0, "".join(content), "".join(reasoning), "stop")
        yield StreamFinished(Completion((choice,), None, clock.result(), self.model_name or None))

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
                        yield _OPEN
                    yield event.reasoning
                if event.content:
                    if thinking:
                        thinking = False
                        yield _CLOSE
                    yield event.content
        if thinking:
            yield _CLOSE

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
        raise AssertionError("stream() ended without StreamFinished")  # a strict backend's bug

    # The server helpers: what a backend without a server to ask answers.

    async def tokenize(self, text: str) -> list[int] | None:
        """Token ids of ``text``, or None when the backend cannot tell."""
        return None

    async def detokenize(self, tokens: list[int]) -> str | None:
        """Text of ``tokens``, or None when the backend cannot tell."""
        return None

    async def max_model_len(self) -> int | None:
        """The model's context window in tokens, or None when unknown."""
        return None

    async def list_models(self) -> list[dict[str, Any]]:
        """The models served, each a dict with ``id``: by default this one, when it has a name."""
        return [{"id": self.model_name}] if self.model_name else []

    async def health(self) -> float | None:
        """Seconds a health check took (default: 0.0); None when the server has no health
        check of its own; raises a typed error when unhealthy."""
        return 0.0

    async def server_metrics(self) -> dict[str, float] | None:
        """Load gauges (``running``, ``waiting``, ``kv_cache_usage``); None when unknown."""
        return None

    async def close_client(self) -> None:
        """Release connections (the seed's name). Safe to call twice."""

    async def __aenter__(self) -> BaseModel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close_client()


class ThinkSplitter:
    """Splits text that carries reasoning inside ``<think>...</think>`` into its two parts.

    Tags may arrive cut across pieces; the start of a possible tag is held back until the next
    piece says what it is. A ``</think>`` outside reasoning is plain text.
    """

    __slots__ = ("held", "thinking")

    def __init__(self) -> None:
        self.thinking = False
        """Inside ``<think>`` ... ``</think>``."""
        self.held = ""
        """The end of the last piece that may begin a tag."""

    def feed(self, piece: str) -> list[tuple[bool, str]]:
        """``(is_reasoning, text)`` parts of ``piece``, in order, without the tags."""
        text = self.held + piece if self.held else piece
        self.held = ""
        parts: list[tuple[bool, str]] = []
        while text:
            tag = _CLOSE if self.thinking else _OPEN
            at = text.find(tag)
            if at < 0:
                keep = _tag_start(text, tag)
                if keep:
                    text, self.held = text[:-keep], text[-keep:]
                if text:
                    parts.append((self.thinking, text))
                break
            if at:
                parts.append((self.thinking, text[:at]))
            self.thinking = not self.thinking
            text = text[at + len(tag):]
        return parts

    def end(self) -> list[tuple[bool, str]]:
        """What was held back, as text (the stream ended inside what looked like a tag)."""
        held, self.held = self.held, ""
        return [(self.thinking, held)] if held else []


def _tag_start(text: str, tag: str) -> int:
    """Length of the longest end of ``text`` that is a proper start of ``tag`` (0: none)."""
    if "<" not in text[-(len(tag) - 1):]:
        return 0
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


def _completed(stream: Callable[..., Any]) -> Callable[..., AsyncIterator[StreamEvent]]:
    """Wrap a subclass's ``stream`` so that it always ends with ``StreamFinished``."""

    @functools.wraps(stream)
    async def completed(
        self: BaseModel,
        messages: list[ChatMessage],
        params: GenerationParams | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[StreamEvent]:
        if params is None:
            events = stream(self, messages, **kwargs)
        else:
            events = stream(self, messages, params, **kwargs)
        clock = StreamClock()
        texts: dict[int, tuple[list[str], list[str]]] = {0: ([], [])}
        reasons: dict[int, str] = {}
        finished = False
        async with aclosing(events) if hasattr(events, "aclose") else nullcontext():
            async for event in events:
                kind = type(event)
                if finished:
                    pass
                elif kind is Delta:
                    if event.content or event.reasoning:
                        clock.token(now())
                    content, reasoning = texts.setdefault(event.index, ([], []))
                    content.append(event.content)
                    reasoning.append(event.reasoning)
                elif kind is ChoiceFinished:
                    reasons.setdefault(event.index, event.finish_reason)
                elif kind is StreamFinished:
                    finished = True
                yield event
        if finished:
            return
        choices = []
        for index in sorted(texts):
            reason = reasons.get(index)
            if reason is None:
                reason = "stop"
                yield ChoiceFinished(index, reason)
            content, reasoning = texts[index]
            choices.append(ChoiceResult(index, "".join(content), "".join(reasoning), reason))
        completion = Completion(tuple(choices), None, clock.result(), self.model_name or None)
        yield StreamFinished(completion)

    setattr(completed, _COMPLETES, True)
    return completed
