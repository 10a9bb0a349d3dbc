"""A lazy deadline for network waits: costs two attribute stores per read, not a timer.

``asyncio.wait_for`` around every chunk read would create and cancel a timer (and on 3.11 a
task) per chunk. Instead the reader sets ``expiry`` before it awaits and clears it after; one
timer wakes up now and then and cancels the reading task only when a wait has really passed its
expiry. Time the consumer spends between chunks never counts, because ``expiry`` is None then.
"""

from __future__ import annotations

import asyncio

__all__ = ["Watchdog"]


class Watchdog:
    """Cancels ``task`` when a wait outlives its ``expiry``; ``fired`` names the deadline."""

    __slots__ = ("expiry", "fired", "kind", "_loop", "_task", "_handle", "_period")

    def __init__(self, period: float) -> None:
        """``period``: how often to look again while nobody waits (the idle timeout is fine)."""
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._handle: asyncio.TimerHandle | None = None
        self._period = max(period, 0.001)
        self.expiry: float | None = None
        """Loop time by which the current wait must end; None while not waiting."""
        self.kind = ""
        """What the current deadline guards ("first token", "idle"), copied into ``fired``."""
        self.fired: str | None = None
        """Set to ``kind`` when the watchdog cancelled the task."""

    def time(self) -> float:
        return self._loop.time()

    def arm(self, expiry: float, kind: str) -> None:
        """Start a wait that must end by ``expiry`` and (re)schedule the timer for it."""
        self.expiry = expiry
        self.kind = kind
        self._task = asyncio.current_task()  # whoever iterates the stream now
        self.schedule(expiry)

    def schedule(self, when: float) -> None:
        """Look again at ``when``: call it when a coming expiry will be earlier than before."""
        if self._handle is not None:
            self._handle.cancel()
        self._handle = self._loop.call_at(when, self._check)

    def _check(self) -> None:
        self._handle = None
        expiry = self.expiry
        t = self._loop.time()
        if expiry is None:
            self._handle = self._loop.call_at(t + self._period, self._check)
        elif t >= expiry:
            if self._task is not None and not self._task.done():
                self.fired = self.kind
                self._task.cancel()
        else:
            self._handle = self._loop.call_at(expiry, self._check)

    def absorb(self) -> bool:
        """After a ``CancelledError``: True when it was ours (and is withdrawn), else False.

        A user's cancel that raced with ours stays pending (``uncancel`` leaves it counted).
        """
        if self.fired is None:
            return False
        self.fired = None
        uncancel = getattr(self._task, "uncancel", None)  # Python 3.11+
        return uncancel is None or uncancel() == 0

    def close(self) -> None:
        self.expiry = None
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
