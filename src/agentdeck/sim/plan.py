"""Decide a request's whole reply up front: each choice's exact tokens and finish reason.

Everything here is pure, so tests can compute the exact text a request will get
(``expected_text``) without talking to a server.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

from .config import SimConfig
from .request import ChatRequest, check_request
from .text import generate_tokens
from .tokenizer import split_pieces

__all__ = ["ChoicePlan", "RequestPlan", "build_plan", "expected_text"]


@dataclass
class ChoicePlan:
    """One choice's tokens, in order: reasoning first, then content, then maybe EOS."""

    index: int
    reasoning: list[str]
    content: list[str]
    finish_reason: str
    stop_reason: Any = None
    eos: bool = False
    """Ends with an end-of-sequence token: one more token, sent as an empty content delta."""

    @property
    def tokens(self) -> int:
        return len(self.reasoning) + len(self.content) + self.eos


@dataclass
class RequestPlan:
    """What one request will get back, decided before the first byte is sent."""

    model: str
    stream: bool
    include_usage: bool
    prompt_tokens: int
    choices: list[ChoicePlan]
    tokens_per_s: float
    ttft: float
    tokens_per_chunk: int
    reasoning_key: bytes
    sim: dict[str, Any] = field(default_factory=dict)
    """The request's ``sim`` object (fault forcing), already checked."""

    @property
    def completion_tokens(self) -> int:
        return sum(c.tokens for c in self.choices)

    @property
    def reasoning_tokens(self) -> int:
        return sum(len(c.reasoning) for c in self.choices)


def _seed(config: SimConfig, req: ChatRequest, index: int) -> int | None:
    """A text seed from the server seed, the request seed, the prompt and the choice index."""
    if config.seed is None and req.body.get("seed") is None:
        return None
    key = f"{config.seed}|{req.body.get('seed')}|{index}|{req.prompt}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big")


def _apply_stop(choice: ChoicePlan, stop: Any) -> None:
    """Cut the content at the first stop string, as vLLM does (the stop string is not sent)."""
    stops = [stop] if isinstance(stop, str) else [s for s in stop or () if isinstance(s, str)]
    text = "".join(choice.content)
    hits = [(text.find(s), s) for s in stops if s and s in text]
    if hits:
        at, which = min(hits)
        choice.content = split_pieces(text[:at])
        choice.finish_reason, choice.stop_reason, choice.eos = "stop", which, False


def _plan_choice(config: SimConfig, req: ChatRequest, index: int, seed: int) -> ChoicePlan:
    """One choice: how long it runs, why it stops, and its text."""
    sim = req.sim
    output = int(sim.get("output_tokens", config.output_tokens))
    think = config.reasoning_tokens if sim.get("reasoning", config.reasoning) else 0
    if config.output_tokens_jitter:  # the same factor stretches reasoning and answer
        factor = 1 + random.Random(seed ^ 0x5EED).uniform(-1, 1) * config.output_tokens_jitter
        output, think = max(1, round(output * factor)), round(think * factor)
    text = max(think + output, req.min_tokens)  # min_tokens holds the EOS back
    limit = config.max_model_len - req.prompt_tokens
    if req.max_tokens is not None:
        limit = min(limit, req.max_tokens)
    if req.body.get("ignore_eos"):
        text = limit  # never stops by itself: runs into max_tokens or the context
    count = max(0, min(text, limit))
    eos = not req.body.get("ignore_eos") and text + 1 <= limit  # the EOS token must fit too
    think = min(think, count)
    reasoning, content = generate_tokens(seed, req.topic, think, count - think)
    choice = ChoicePlan(index, reasoning, content, "stop" if eos else "length", eos=eos)
    if req.body.get("stop"):
        _apply_stop(choice, req.body["stop"])
    return choice


def build_plan(config: SimConfig, body: Any, fresh_seed: int | None = None) -> RequestPlan:
    """Check ``body`` like vLLM and decide every token of the reply.

    Args:
        fresh_seed: the text seed when neither the config nor the request fixes one.
    Raises:
        SimHTTPError: with vLLM's status and body.
    """
    req = check_request(config, body)
    choices = []
    for index in range(req.n):
        seed = _seed(config, req, index)
        if seed is None:
            seed = (fresh_seed if fresh_seed is not None else random.getrandbits(62)) + index
        choices.append(_plan_choice(config, req, index, seed))
    sim = req.sim
    speed = config.prefill_tokens_per_s
    prefill = req.prompt_tokens / speed if speed > 0 else 0.0
    options = req.body.get("stream_options")
    return RequestPlan(
        model=req.model,
        stream=bool(req.body.get("stream")),
        include_usage=bool(isinstance(options, dict) and options.get("include_usage")),
        prompt_tokens=req.prompt_tokens,
        choices=choices,
        tokens_per_s=float(sim.get("tokens_per_s", config.tokens_per_s) or 0),
        ttft=float(sim.get("ttft", config.ttft) or 0) + prefill,
        tokens_per_chunk=max(1, int(sim.get("tokens_per_chunk", config.tokens_per_chunk))),
        reasoning_key=config.reasoning_field.encode(),
        sim=sim,
    )


def expected_text(config: SimConfig, body: dict[str, Any], index: int = 0) -> tuple[str, str]:
    """The exact (content, reasoning) the simulator sends for ``body``'s choice ``index``.

    Needs a deterministic request: ``config.seed`` set or a ``seed`` in the body.
    Faults are not applied (a forced "disconnect" still cuts the stream short).
    """
    if config.seed is None and body.get("seed") is None:
        raise ValueError("expected_text needs SimConfig(seed=...) or a 'seed' in the request body")
    choice = build_plan(config, body).choices[index]
    return "".join(choice.content), "".join(choice.reasoning)
