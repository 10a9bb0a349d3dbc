"""Read and check a chat-completions request the way vLLM does, with vLLM's error bodies."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import orjson

from .config import FAULT_KINDS, SimConfig
from .replies import (
    SimHTTPError,
    bad_param,
    error_body,
    validation_detail,
    validation_error,
    validation_errors,
)
from .tokenizer import count_tokens

__all__ = [
    "ChatRequest",
    "check_detokenize",
    "check_request",
    "check_tokenize",
    "lax_number",
    "model_not_found",
    "parse_json",
    "prompt_directive",
    "render_prompt",
]

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


def lax_number(value: Any, loc: str, kind: type = float) -> Any:
    """Coerce like pydantic's lax mode (vLLM's schema), raising pydantic's exact errors.

    "7", 7.0 and true pass for an int; 7.5, "abc" and [1] do not.
    """
    label = "a valid integer" if kind is int else "a valid number"
    name = kind.__name__
    if isinstance(value, str):
        try:
            return kind(value.strip())
        except ValueError:
            what = "an integer" if kind is int else "a number"
            message = f"Input should be {label}, unable to parse string as {what}"
            raise validation_error(f"{name}_parsing", loc, message, value) from None
    if isinstance(value, (bool, int, float)):
        if kind is int and isinstance(value, float) and not value.is_integer():
            message = f"Input should be {label}, got a number with a fractional part"
            raise validation_error("int_from_float", loc, message, value)
        return kind(value)
    raise validation_error(f"{name}_type", loc, f"Input should be {label}", value)


def _number(body: dict, name: str, kind: type = float) -> Any:
    value = body.get(name)
    return None if value is None else lax_number(value, f"body.{name}", kind)


def _sim_error(message: str) -> SimHTTPError:
    return SimHTTPError(400, error_body(message, 400, "sim"))


_DIRECTIVE = re.compile(r"\[\[sim((?:\s+[a-z_]+=[^\s\]]+)+)\s*\]\]")


def _scalar(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text, text)


def prompt_directive(prompt: str) -> dict[str, Any] | None:
    """The ``sim`` options a prompt carries as ``[[sim fault=stall seconds=5]]``, if any.

    Lets a person trigger faults from any front end (the app's prompt box, curl) without
    extra request fields; the request's own ``sim`` object wins when both are present.
    """
    found = _DIRECTIVE.search(prompt)
    if found is None:
        return None
    pairs = (item.split("=", 1) for item in found.group(1).split())
    return {key: _scalar(value) for key, value in pairs}


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
    options = body.get("sim")
    if options is None:
        options = prompt_directive(_last_user_text(messages))
    sim = check_sim_options(options)

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
    if not messages:
        message = (
            "Cannot apply chat template to an empty conversation. Provide at least one message."
        )
        raise SimHTTPError(400, error_body(message, 400))
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
    if max_tokens is not None and max_tokens < 1:
        message = f"max_tokens must be at least 1, got {max_tokens}."
        raise bad_param("max_tokens", max_tokens, message)
    temperature = _number(body, "temperature")
    if temperature is not None and temperature < 0:
        message = f"temperature must be non-negative, got {temperature}."
        raise bad_param("temperature", temperature, message)
    n = _number(body, "n", int)
    if n is not None and n < 1:  # vLLM words this one without the parameter suffix
        raise SimHTTPError(400, error_body(f"n must be at least 1, got {n}.", 400))
    return ChatRequest(
        body=body,
        model=model,
        prompt=prompt,
        prompt_tokens=prompt_tokens,
        topic=_DIRECTIVE.sub("", _last_user_text(messages)),
        n=n or 1,
        max_tokens=max_tokens,
        min_tokens=_number(body, "min_tokens", int) or 0,
        sim=sim,
    )


def _body_dict(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        message = "Input should be a valid dictionary or object to extract fields from"
        raise validation_error("model_attributes_type", "body", message, body)
    return body


def check_tokenize(config: SimConfig, body: Any) -> str:
    """The text a /tokenize request asks about (its prompt, or its rendered messages)."""
    body = _body_dict(body)
    if isinstance(body.get("messages"), list):
        text = render_prompt(body["messages"])
    elif "prompt" in body:
        text = body["prompt"]
        if not isinstance(text, str):
            raise validation_error(
                "string_type", "body.prompt", "Input should be a valid string", text
            )
    else:  # vLLM's schema is a union of the two request kinds: both report
        missing = [
            validation_detail("missing", f"body.{field}", "Field required", body)
            for field in ("prompt", "messages")
        ]
        raise validation_errors(missing)
    if body.get("model") is not None and body["model"] not in config.models:
        raise model_not_found(body["model"], config)
    return text


def check_detokenize(config: SimConfig, body: Any) -> list[int]:
    """The token ids a /detokenize request sends, checked as vLLM's schema does."""
    body = _body_dict(body)
    if "tokens" not in body:
        raise validation_error("missing", "body.tokens", "Field required", body)
    tokens = body["tokens"]
    if not isinstance(tokens, list):
        raise validation_error("list_type", "body.tokens", "Input should be a valid list", tokens)
    out = []
    for i, token in enumerate(tokens):
        value = lax_number(token, f"body.tokens.{i}", int)
        if value < 0:
            message = "Input should be greater than or equal to 0"
            raise validation_error(
                "greater_than_equal", f"body.tokens.{i}", message, token, {"ge": 0}
            )
        out.append(value)
    if body.get("model") is not None and body["model"] not in config.models:
        raise model_not_found(body["model"], config)
    return out
