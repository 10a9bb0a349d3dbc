"""Shared helpers for the agents/systems/CLI tests: a fast simulator and a recording client."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from typing import Any

from agentdeck.client.vllm import VLLMModel
from agentdeck.sim import SimConfig, SimServer

FAST = {"tokens_per_s": 0.0, "ttft": 0.0, "output_tokens": 24, "seed": 7, "tick": 0.0}
"""Simulator settings for tests: unpaced, no first-token delay, short fixed-seed answers."""


class RecordingModel(VLLMModel):
    """A real client over real sockets that also remembers what it sent (for assertions)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[tuple[list[dict[str, Any]], dict[str, Any]]] = []
        self.reported_window: int | None = None

    def stream(self, messages: Any, params: Any = None, **kwargs: Any) -> Any:
        self.sent.append(([dict(m) for m in messages], dict(kwargs)))
        return super().stream(messages, params, **kwargs)

    async def max_model_len(self) -> int | None:
        if self.reported_window is not None:  # a proxy that misreports the window
            return self.reported_window
        return await super().max_model_len()

    def prompts(self) -> list[str]:
        """The last user message of every request, in order."""
        return [messages[-1]["content"] for messages, _ in self.sent]


@contextlib.asynccontextmanager
async def sim_model(**overrides: Any) -> AsyncIterator[tuple[SimServer, RecordingModel]]:
    """A running simulator on 127.0.0.1:0 and a recording client for it."""
    config = SimConfig(**{**FAST, **overrides})
    async with SimServer(config) as sim:
        model = RecordingModel(config.models[0], sim.base_url)
        async with model:
            yield sim, model


class ThreadedSim:
    """A simulator on its own event loop in a thread, for commands that run ``asyncio.run``."""

    def __init__(self, **overrides: Any) -> None:
        self.config = SimConfig(**{**FAST, **overrides})
        self.sim = SimServer(self.config)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> SimServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.sim.start(), self._loop).result(10)
        return self.sim

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.sim.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
