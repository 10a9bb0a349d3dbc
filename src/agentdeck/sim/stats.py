"""What the simulator saw: requests, in-flight load, disconnects, tokens, per-request records.

Each ``RequestRecord`` stamps when the request arrived and when its first and last tokens
were written, so a benchmark can compare a client's TTFT and TPOT with what was really sent.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

__all__ = ["RequestRecord", "SimStats"]


@dataclass
class RequestRecord:
    """One chat-completions request as the server handled it."""

    request_id: str
    model: str = ""
    stream: bool = False
    n: int = 1
    status: int = 0
    """HTTP status sent; 0 when the connection was closed before any response (fault "close")."""
    fault: str | None = None
    prompt_tokens: int = 0
    tokens_sent: int = 0
    finish_reasons: list[str] = field(default_factory=list)
    """Finish reasons actually sent, in order."""
    disconnected: bool = False
    """The client went away before the response was complete."""
    done: bool = False
    """The response was sent completely (through [DONE] for a stream)."""
    arrived: float = 0.0
    """When the request reached the handler (``time.monotonic``, comparable across processes)."""
    first_token_at: float | None = None
    """When the write carrying the first token returned (``time.monotonic``)."""
    last_token_at: float | None = None
    """When the write carrying the last token sent so far returned (``time.monotonic``)."""

    @property
    def ttft(self) -> float | None:
        """Server-side TTFT: the first token's write minus the request's arrival."""
        return None if self.first_token_at is None else self.first_token_at - self.arrived

    @property
    def tpot(self) -> float | None:
        """Server-side TPOT: first to last token write over the tokens between them."""
        if self.first_token_at is None or self.last_token_at is None or self.tokens_sent < 2:
            return None
        return (self.last_token_at - self.first_token_at) / (self.tokens_sent - 1)


@dataclass
class SimStats:
    """Live counters; read them any time, ``reset()`` between test phases."""

    requests: int = 0
    """Chat-completions requests received."""
    by_status: Counter = field(default_factory=Counter)
    """Chat-completions responses by HTTP status."""
    in_flight: int = 0
    """Chat-completions requests being handled now (waiting or generating)."""
    max_in_flight: int = 0
    """The most seen at once since the last reset."""
    waiting: int = 0
    """Requests queued behind ``max_num_seqs``."""
    disconnects: int = 0
    """Clients that went away mid-response."""
    tokens_sent: int = 0
    """Content and reasoning tokens sent."""
    chunks_sent: int = 0
    """Content and reasoning SSE chunks sent."""
    prompt_tokens: int = 0
    """Prompt tokens of accepted requests."""
    kv_tokens: int = 0
    """Tokens held by running requests (prompt + generated), for the KV-cache gauge."""
    faults: Counter = field(default_factory=Counter)
    """Faults injected, by kind."""
    records: deque = field(default_factory=lambda: deque(maxlen=10000))
    """The latest RequestRecords (at most 10,000)."""

    def enter(self) -> None:
        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight

    def reset(self) -> None:
        """Zero the counters; live gauges (in flight, waiting, KV) keep their current values."""
        self.requests = self.disconnects = self.tokens_sent = self.chunks_sent = (
            self.prompt_tokens
        ) = 0
        self.by_status.clear()
        self.faults.clear()
        self.records.clear()
        self.max_in_flight = self.in_flight
