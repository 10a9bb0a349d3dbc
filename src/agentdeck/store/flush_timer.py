"""FlushTimer: batch many small writes into one flush at most every ``FLUSH_INTERVAL`` seconds.

Streamed text arrives a token at a time; writing each token costs a system call. Writers keep
text pending and ``poke()`` this timer: on a running event loop it schedules one flush
``interval`` seconds later (so text that stops coming still reaches the disk by then); without
a loop (plain synchronous use) it flushes at once when the last flush is that old.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..types import now

__all__ = ["FLUSH_INTERVAL", "FlushTimer"]

FLUSH_INTERVAL = 0.5
"""Seconds between flushes of pending text (the issue asks for >= 2 Hz)."""


class FlushTimer:
    """Calls ``flush`` once, ``interval`` seconds after the first ``poke()`` since the last one.

    Hot path: callers check ``timer.armed`` (an attribute) before calling ``poke()``.
    """

    __slots__ = ("_flush", "_interval", "armed", "last", "stopped")

    def __init__(self, flush: Callable[[], None], interval: float = FLUSH_INTERVAL) -> None:
        self._flush = flush
        self._interval = interval
        self.armed: asyncio.TimerHandle | None = None
        """The pending timer, or None."""
        self.last = now()
        """When the owner last flushed (the owner sets it; used without a loop)."""
        self.stopped = False
        """Set by the owner once closed: no more timers, every poke flushes at once."""

    def poke(self, urgent: bool = False) -> None:
        """Something is pending: flush on the timer, or now (``urgent`` or overdue) without one."""
        if self.armed is not None:
            return
        if not self.stopped:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                pass
            else:
                self.armed = loop.call_later(self._interval, self._fire)
                return
        if urgent or self.stopped or now() - self.last >= self._interval:
            self._flush()

    def cancel(self) -> None:
        """Drop the pending timer (the owner flushes itself, e.g. on close)."""
        if self.armed is not None:
            self.armed.cancel()
            self.armed = None

    def _fire(self) -> None:
        self.armed = None
        self._flush()
