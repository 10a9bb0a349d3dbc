"""Send one planned reply: the paced SSE stream (with stream faults) or the whole JSON reply."""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_left, bisect_right
from itertools import accumulate
from typing import Any

from aiohttp import web

from .faults import Fault
from .plan import RequestPlan
from .replies import (
    DONE,
    ChunkEncoder,
    completion_body,
    completion_choice,
    error_body,
    stream_error_event,
)
from .stats import RequestRecord, SimStats

__all__ = ["SelfAbort", "send_full_reply", "send_stream", "stream_events"]

_JSON = {"content-type": "application/json"}
_BATCH = 512  # events per write at most, so one fast stream cannot hog the loop
_STREAM_FAULTS = ("disconnect", "stall", "malformed", "error")


class SelfAbort(Exception):
    """The simulator dropped the connection on purpose (a fault), not the client."""


def stream_events(plan: RequestPlan) -> list[tuple[int, int, int, bytes, str, int, bool]]:
    """Every event of the stream in send order: (step, kind, index, key, text, tokens, last).

    kind 0 is a role chunk, 1 a delta; ``step`` is the token position whose time the event
    waits for, so n choices advance in lockstep like a vLLM batch.
    """
    per_chunk = plan.tokens_per_chunk
    events: list[tuple[int, int, int, bytes, str, int, bool]] = []
    for choice in plan.choices:
        index = choice.index
        events.append((0, 0, index, b"", "", 0, False))
        if not choice.reasoning and not choice.content:
            events.append((0, 1, index, b"content", "", int(choice.eos), True))
            continue
        step = 0
        for key, pieces in ((plan.reasoning_key, choice.reasoning), (b"content", choice.content)):
            if per_chunk == 1:  # the common case, kept cheap: one event per token
                events += [(step + k, 1, index, key, t, 1, False) for k, t in enumerate(pieces)]
                step += len(pieces)
                continue
            for at in range(0, len(pieces), per_chunk):
                group = pieces[at : at + per_chunk]
                step += len(group)
                events.append((step - 1, 1, index, key, "".join(group), len(group), False))
        if choice.eos:  # vLLM sends the end-of-sequence token as an empty content delta
            events.append((step, 1, index, b"content", "", 1, True))
        else:
            events[-1] = (*events[-1][:6], True)
    if len(plan.choices) > 1:
        events.sort(key=lambda e: (e[0], e[1], e[2]))
    return events


async def _write(resp: web.StreamResponse, data: bytes) -> None:
    try:
        await resp.write(data)
    except ConnectionError as exc:  # aiohttp's ClientConnectionResetError is one
        raise ConnectionResetError(str(exc)) from None


async def send_stream(
    resp: web.StreamResponse,
    plan: RequestPlan,
    enc: ChunkEncoder,
    fault: Fault | None,
    stats: SimStats,
    record: RequestRecord,
    tick: float,
) -> None:
    """Write the planned events at the planned pace; raises ``SelfAbort`` for a disconnect fault.

    Each wake-up finds the slice of events now due with one bisect and sends it in one write,
    so the cost per token is one small template fill, whatever the pace.
    """
    loop = asyncio.get_running_loop()
    clock = time.monotonic
    events = stream_events(plan)
    count = len(events)
    steps = [e[0] for e in events]
    tokens_before = list(accumulate([e[5] for e in events], initial=0))
    chunks_before = list(accumulate([e[1] for e in events], initial=0))
    finishes = {c.index: (c.finish_reason, c.stop_reason) for c in plan.choices}
    fingerprint = not plan.include_usage

    def encode(event: tuple) -> bytes:
        _, kind, index, key, text, _, last = event
        if not kind:
            return enc.role(index)
        if last:
            reason, stop_reason = finishes[index]
            record.finish_reasons.append(reason)
            return enc.finish(index, key, text, reason, stop_reason, fingerprint)
        return enc.delta(index, key, text)

    pending = fault if fault is not None and fault.kind in _STREAM_FAULTS else None
    # The fault strikes right after its `after`-th text chunk (or at the end of the text).
    fault_at = min(bisect_left(chunks_before, pending.after), count) if pending else count
    tps = plan.tokens_per_s
    start = loop.time() + plan.ttft
    last_write = float("-inf")
    i = 0
    while i < count or pending is not None:
        stop = fault_at if pending is not None else count
        if i < stop:
            now = loop.time()
            wake = max(start + steps[i] / tps, last_write + tick) if tps > 0 else start
            if wake > now:
                await asyncio.sleep(wake - now)
                now = loop.time()
            elif tps <= 0:
                await asyncio.sleep(0)  # unpaced: still let other streams run
            j = bisect_right(steps, (now - start) * tps, i, stop) if tps > 0 else stop
            j = min(j, i + _BATCH)
            if j > i:
                await _write(resp, b"".join([encode(e) for e in events[i:j]]))
                # The next write waits `tick` from this one's schedule, not from its actual
                # time: a late wake-up must not push every later token back.
                last_write = start + steps[j - 1] / tps if tps > 0 else now
                tokens = tokens_before[j] - tokens_before[i]
                if tokens:
                    record.last_token_at = clock()
                    if record.first_token_at is None:
                        record.first_token_at = record.last_token_at
                stats.tokens_sent += tokens
                stats.chunks_sent += chunks_before[j] - chunks_before[i]
                stats.kv_tokens += tokens
                record.tokens_sent += tokens
                i = j
        if pending is not None and i == fault_at:
            fault, pending = pending, None
            if fault.kind == "stall":
                await asyncio.sleep(fault.seconds)
                start += fault.seconds  # resume the normal pace after the pause
            elif fault.kind == "malformed":
                await _write(resp, enc.malformed())
            elif fault.kind == "error":
                await _write(resp, stream_error_event(fault.message) + DONE)
                await resp.write_eof()
                record.done = True
                return
            else:
                raise SelfAbort
    if plan.include_usage:
        usage = enc.usage(plan.prompt_tokens, plan.completion_tokens, plan.reasoning_tokens)
        await _write(resp, usage)
    await _write(resp, DONE)
    await resp.write_eof()
    record.done = True


async def send_full_reply(
    plan: RequestPlan,
    request_id: str,
    created: int,
    stats: SimStats,
    record: RequestRecord,
    fault: Fault | None = None,
) -> web.Response:
    """Wait as long as generating would take, then answer one ``chat.completion`` body.

    Stream faults map onto the whole reply: "stall" adds its seconds, "disconnect" drops the
    connection (``SelfAbort``), "malformed" cuts the JSON in half, "error" answers a 500.
    """
    steps = max((c.tokens for c in plan.choices), default=0)
    delay = plan.ttft + (max(steps - 1, 0) / plan.tokens_per_s if plan.tokens_per_s > 0 else 0.0)
    kind = fault.kind if fault is not None else None
    if kind == "stall":
        delay += fault.seconds
    if delay > 0:
        await asyncio.sleep(delay)
    if kind == "disconnect":
        raise SelfAbort
    if kind == "error":
        record.status = 500
        return web.Response(body=error_body(fault.message, 500), status=500, headers=_JSON)
    choices: list[dict[str, Any]] = []
    for c in plan.choices:
        reasoning = "".join(c.reasoning) if c.reasoning else None
        content = "".join(c.content) if c.content or not c.reasoning else None
        choices.append(
            completion_choice(c.index, content, reasoning, c.finish_reason, c.stop_reason)
        )
        record.finish_reasons.append(c.finish_reason)
    reasoning_tokens = plan.reasoning_tokens or None
    body = completion_body(
        request_id,
        created,
        plan.model,
        choices,
        plan.prompt_tokens,
        plan.completion_tokens,
        reasoning_tokens,
    )
    stats.tokens_sent += plan.completion_tokens
    stats.kv_tokens += plan.completion_tokens
    record.tokens_sent += plan.completion_tokens
    record.first_token_at = record.last_token_at = time.monotonic()
    record.done = True
    if kind == "malformed":
        body = body[: len(body) // 2]
    record.status = 200
    return web.Response(body=body, headers=_JSON)
