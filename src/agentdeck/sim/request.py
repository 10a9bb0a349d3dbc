"""Read and check a chat-completions request the way vLLM does, with vLLM's error bodies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson

from .config import FAULT_KINDS, SimConfig
from .replies import SimHTTPError, bad_param, error_body, validation_error
from .tokenizer import count_tokens

__all__ = ["ChatRequest", "check_request", "parse_json", "render_prompt"]

_OVERRIDES = ("tokens_per_s", "ttft", "output_tokens", "reasoning", "tokens_per_chunk")
_FAULT_KEYS = ("fault", "status", "retry_after", "retry_after_ms", "after", "seconds")
_FAULT_KEYS += ("message", "times", "key")


@dataclass(frozen=True)
class ChatRequest:
    """The parts of a valid request the simulator acts on."""

    body: dict[str, Any]
    model: str
    prompt: str
    """The rendered chat prompt (what /tokenize counts for these messages)."""
    prompt_tokens: int
    topic: str
    """The last user message: the answer echoes its words."""
    n: int
    max_tokens: int | None
    min_tokens: int
    sim: dict[str, Any]
    """The checked ``sim`` object (fault forcing, per-request knobs)."""


def parse_json(raw: bytes) -> Any:
    """Decode a request body, raising vLLM's 400 for invalid JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:  # the stdlib reports the same position and wording FastAPI does
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        error = {"error": exc.msg}
        loc = f"body.{exc.pos}"
        raise validation_error("json_invalid", loc, "JSON decode error", {}, error) from None
    except UnicodeDecodeError:
        error = {"error": "Invalid UTF-8"}
        raise validation_error("json_invalid", "body.0", "JSON decode error", {}, error) from None


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def render_prompt(messages: list[Any]) -> str:
    """The prompt a chat template would build; its token count is usage.prompt_tokens."""
    parts = []
    for message in messages:
        if isinstance(message, dict):
            role = message.get("role", "user")
            parts.append(f"<|{role}|>\n{_content_text(message.get('content'))}\n")
    parts.append("<|assistant|>\n")
    return "".join(parts)


def _last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _content_text(message.get("content"))
    return ""


def _number(body: dict, name: str, kind: type = float) -> Any:
    value = body.get(name)
    if value is None:
        return None
    wrong = isinstance(value, bool) or not isinstance(value, (int, float))
    if wrong or (kind is int and value != int(value)):
        label = "a valid integer" if kind is int else "a valid number"
        raise validation_error(
            f"{kind.__name__}_type", f"body.{name}", f"Input should be {label}", value
        )
    return kind(value)


def _sim_error(message: str) -> SimHTTPError:
    return SimHTTPError(400, error_body(message, 400, "sim"))


def check_sim_options(sim: Any) -> dict[str, Any]:
    """Validate the request's ``sim`` object, with a one-line 400 naming the bad key."""
    if sim is None:
        return {}
    if not isinstance(sim, dict):
        raise _sim_error('"sim" must be an object, e.g. {"fault": "stall"}')
    unknown = sorted(set(sim) - set(_OVERRIDES) - set(_FAULT_KEYS))
    if unknown:
        known = ", ".join(_OVERRIDES + _FAULT_KEYS)
        raise _sim_error(f"unknown sim option(s) {', '.join(unknown)}; known: {known}")
    fault = sim.get("fault")
    if fault is not None and fault not in FAULT_KINDS:
        raise _sim_error(f"unknown sim fault {fault!r}; known: {', '.join(FAULT_KINDS)}")
    return sim


def model_not_found(model: str, config: SimConfig) -> SimHTTPError:
    """vLLM's 404 for a model it does not serve."""
    names = ", ".join(config.models)
    message = f"The model `{model}` does not exist. Valid aliases: {names}."
    return SimHTTPError(404, error_body(message, 404, "model"))


def check_request(config: SimConfig, body: Any) -> ChatRequest:
    """Check ``body`` in vLLM's order: schema, model, max_tokens, context length, sampling.

    Raises:
        SimHTTPError: with vLLM's status and body.
    """
    if not isinstance(body, dict):
        message = "Input should be a valid dictionary or object to extract fields from"
        raise validation_error("model_attributes_type", "body", message, body)
    if "messages" not in body:
        raise validation_error("missing", "body.messages", "Field required", body)
    messages = body["messages"]
    if not isinstance(messages, list):
        message = "Input should be a valid list"
        raise validation_error("list_type", "body.messages", message, messages)
    model = body.get("model") or config.models[0]
    if model not in config.models:
        raise model_not_found(model, config)
    sim = check_sim_options(body.get("sim"))

    limit = config.max_model_len
    max_tokens = _number(body, "max_completion_tokens", int)
    if max_tokens is None:
        max_tokens = _number(body, "max_tokens", int)
    if max_tokens is not None and max_tokens > limit:
        message = (
            f"max_tokens={max_tokens} cannot be greater than max_model_len={limit}. "
            "Please request fewer output tokens."
        )
        raise bad_param("max_tokens", max_tokens, message)
    if max_tokens is not None and max_tokens < 1:
        message = f"max_tokens must be at least 1, got {max_tokens}."
        raise bad_param("max_tokens", max_tokens, message)
    prompt = render_prompt(messages)
    prompt_tokens = count_tokens(prompt)
    if prompt_tokens > limit:
        over = limit + 1  # vLLM stops counting one past the limit
        message = (
            f"This model's maximum context length is {limit} tokens. However, your prompt "
            f"contains at least {over} input tokens, which exceeds this limit even without any "
            "output tokens. Please reduce the length of the input prompt."
        )
        raise bad_param("input_tokens", over, message)
    temperature = _number(body, "temperature")
    if temperature is not None and temperature < 0:
        message = f"temperature must be non-negative, got {temperature}."
        raise bad_param("temperature", temperature, message)
    n = _number(body, "n", int)
    if n is not None and n < 1:
        raise bad_param("n", n, f"n must be at least 1, got {n}.")
    return ChatRequest(
        body=body,
        model=model,
        prompt=prompt,
        prompt_tokens=prompt_tokens,
        topic=_last_user_text(messages),
        n=n or 1,
        max_tokens=max_tokens,
        min_tokens=_number(body, "min_tokens", int) or 0,
        sim=sim,
    )
