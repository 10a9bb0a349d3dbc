"""Fitting a request into the model's window: ``max_tokens`` is a cap, never a reason to fail.

Before a request (once, never per token): when the prompt's tokens plus ``max_tokens`` would
pass ``max_model_len``, ``max_tokens`` is lowered to what fits. Counting costs a ``/tokenize``
round trip, so a cheap bound comes first: a prompt has at most as many tokens as UTF-8 bytes
(plus the chat template's few per message), and when that bound fits, the request goes as is.
Only a prompt that leaves less than ``FLOOR`` tokens of output room fails, before sending.
An unknown window (a server that does not report ``max_model_len``) changes nothing.

The window is asked once per model (``/v1/models``) and kept; a context-length 400 whose
message names the window or the prompt's tokens teaches it the server's own numbers.
"""

from __future__ import annotations

import asyncio
import math
import re
import weakref

from ..client.model import BaseModel
from ..errors import AgentDeckError, ContextLengthError
from ..types import ChatMessage

__all__ = ["FLOOR", "Fitter", "byte_bound", "fitter_for", "server_numbers", "too_long"]

FLOOR = 16
"""Fewest output tokens worth a request: a prompt that leaves less fails before sending."""
PER_MESSAGE, PER_REQUEST = 8, 16
"""Chat-template tokens allowed around each message and around the whole prompt."""
COUNTS_KEPT = 16
"""Prompt counts a fitter remembers (a run's prompts repeat: multi's calls, chain's retries)."""
BYTES_PER_TOKEN = 3.0
"""Estimate when the server cannot tokenize: pessimistic for English, about right for CJK."""

_WINDOW = re.compile(r"maximum context length is (\d+)|max_model_len=(\d+)")
_PROMPT = re.compile(
    r"contains (?:at least )?(\d+) input tokens|\((\d+) in the messages|has (\d+) input tokens")
_FITTERS: weakref.WeakKeyDictionary[BaseModel, Fitter] = weakref.WeakKeyDictionary()


def _contents(messages: list[ChatMessage]) -> list[str]:
    texts = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):  # OpenAI content parts: the text ones count
            content = "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        texts.append(content if isinstance(content, str) else "")
    return texts


def byte_bound(messages: list[ChatMessage]) -> int:
    """An upper bound on the prompt's tokens that costs no request: its UTF-8 bytes."""
    texts = _contents(messages)
    return sum(len(t.encode("utf-8", "surrogatepass")) for t in texts) + _overhead(len(texts))


def _overhead(count: int) -> int:
    return PER_MESSAGE * count + PER_REQUEST


def server_numbers(error: AgentDeckError) -> tuple[int | None, int | None]:
    """``(window, prompt tokens)`` as a context-length message names them (None: not said)."""
    text = str(error.message)
    window = _WINDOW.search(text)
    prompt = _PROMPT.search(text)
    return (int(next(g for g in window.groups() if g)) if window else None,
            int(next(g for g in prompt.groups() if g)) if prompt else None)


def fitter_for(model: BaseModel) -> Fitter:
    """The model's fitter (one per model object: the window is asked once)."""
    fitter = _FITTERS.get(model)
    if fitter is None:
        fitter = _FITTERS[model] = Fitter(model)
    return fitter


class Fitter:
    """Knows one model's window and fits requests into it."""

    def __init__(self, model: BaseModel) -> None:
        self.model = model
        self.known = False
        self._window: int | None = None
        self._lock = asyncio.Lock()
        self._counted: dict[str, tuple[int, bool]] = {}
        self.exact: bool | None = None
        """True once the server tokenized; False when it cannot (the estimate is used)."""

    async def window(self) -> int | None:
        """The context window in tokens, None when the server does not say (asked once)."""
        if not self.known:
            async with self._lock:
                if not self.known:
                    try:
                        value = await self.model.max_model_len()
                    except AgentDeckError:
                        # Unreachable or failing now (a server still loading): fit nothing this
                        # time and ask again next request, rather than never again.
                        return None
                    self._window = value if isinstance(value, int) and value > 0 else None
                    self.known = True
        return self._window

    async def prompt_tokens(self, messages: list[ChatMessage]) -> tuple[int, bool]:
        """The prompt's tokens (the server's count when it tokenizes) and whether exact.

        The last few counts are kept: multi's N calls send one prompt N times.
        """
        texts = _contents(messages)
        key = "\x00".join(texts)
        counted = self._counted.get(key)
        if counted is None:
            counted = await self._count(texts)
            if len(self._counted) >= COUNTS_KEPT:
                self._counted.clear()
            self._counted[key] = counted
        return counted

    async def _count(self, texts: list[str]) -> tuple[int, bool]:
        if self.exact is not False:
            try:
                ids = await self.model.tokenize("\n".join(texts))
            except AgentDeckError:
                ids = None
            if ids is not None:
                self.exact = True
                return len(ids) + _overhead(len(texts)), True
            self.exact = False
        size = sum(len(t.encode("utf-8", "surrogatepass")) for t in texts)
        return math.ceil(size / BYTES_PER_TOKEN) + _overhead(len(texts)), False

    async def fit(self, messages: list[ChatMessage], max_tokens: int | None) -> int | None:
        """The ``max_tokens`` to send: ``max_tokens`` itself, or lowered to fit the window.

        Raises:
            ContextLengthError: the prompt leaves less than ``FLOOR`` tokens for the answer.
        """
        window = await self.window()
        if window is None:
            return max_tokens
        if byte_bound(messages) + (max_tokens or 0) <= window:
            return max_tokens
        prompt, exact = await self.prompt_tokens(messages)
        room = window - prompt
        if max_tokens is not None and room >= max_tokens:
            return max_tokens
        if room < FLOOR:
            if exact:
                raise too_long(prompt, window)
            room = FLOOR  # an estimate: let the server judge (its 400 is fitted once more)
        return room if max_tokens is not None else None

    async def refit(self, error: AgentDeckError, messages: list[ChatMessage],
                    max_tokens: int | None) -> int | None:
        """After a context-length 400: a ``max_tokens`` worth one retry, or None.

        The server's numbers win: a window it names replaces the reported one; a prompt count
        it names replaces ours. With neither, there is nothing new to fit with.
        """
        window, prompt = server_numbers(error)
        if window is not None:
            self._window, self.known = window, True
        window = self._window
        if window is None:
            return None
        if prompt is None:
            prompt, _ = await self.prompt_tokens(messages)
        room = window - prompt
        if room < FLOOR or (max_tokens is not None and room >= max_tokens):
            return None
        return room


def too_long(prompt: int, window: int) -> ContextLengthError:
    """The error for a prompt that leaves no useful room for the answer."""
    over = prompt + FLOOR - window
    return ContextLengthError(
        f"the prompt takes about {prompt} tokens of the model's {window}-token window, leaving "
        f"{max(window - prompt, 0)} for the answer (at least {FLOOR} needed): shorten the "
        f"prompt by {over} tokens or more, or use a model with a larger window"
    )

