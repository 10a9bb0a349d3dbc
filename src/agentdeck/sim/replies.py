"""vLLM's wire format: error bodies, SSE chunks and the non-streaming reply, byte for byte."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

import orjson

__all__ = [
    "DONE",
    "SYSTEM_FINGERPRINT",
    "ChunkEncoder",
    "SimHTTPError",
    "bad_param",
    "completion_body",
    "completion_choice",
    "error_body",
    "stream_error_event",
    "validation_detail",
    "validation_error",
    "validation_errors",
]

SYSTEM_FINGERPRINT = "agentdeck-sim-0.1.0"
_FINGERPRINT = SYSTEM_FINGERPRINT.encode()

_ERROR_TYPES = {
    400: "BadRequestError",
    404: "NotFoundError",
    429: "RateLimitError",
    500: "InternalServerError",
    501: "NotImplementedError",
    503: "ServiceUnavailableError",
}


class SimHTTPError(Exception):
    """An error reply: status, JSON body bytes and extra headers."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def error_type(status: int) -> str:
    """vLLM's ``type`` for an error status."""
    return _ERROR_TYPES.get(status) or HTTPStatus(status).phrase.replace(" ", "") + "Error"


def error_body(
    message: str, status: int = 400, param: str | None = None, kind: str | None = None
) -> bytes:
    """vLLM's ``{"error": {message, type, param, code}}``."""
    error = {"message": message, "type": kind or error_type(status), "param": param, "code": status}
    return orjson.dumps({"error": error})


def bad_param(param: str, value: Any, message: str) -> SimHTTPError:
    """A 400 for one sampling parameter, worded like vLLM's."""
    return SimHTTPError(
        400, error_body(f"{message} (parameter={param}, value={value})", 400, param)
    )


def _input_repr(value: Any) -> str:
    # vLLM shows inputs as strings and abbreviates containers in validation messages.
    if isinstance(value, dict):
        return f"<dict of {len(value)} items>"
    if isinstance(value, list):
        return f"<list of {len(value)} items>"
    return str(value)


def validation_detail(
    kind: str, loc: str, msg: str, value: Any, ctx: dict | None = None
) -> dict[str, Any]:
    """One pydantic error, as vLLM lists it in its message."""
    detail: dict[str, Any] = {"type": kind, "loc": loc, "msg": msg, "input": _input_repr(value)}
    if ctx is not None:
        detail["ctx"] = ctx
    return detail


def validation_errors(details: list[dict[str, Any]]) -> SimHTTPError:
    """vLLM's 400 for a request that fails pydantic validation; ``param`` is the first loc."""
    count = len(details)
    head = f"{count} validation error{'s' if count > 1 else ''}:"
    message = head + "".join(f"\n  {detail!r}" for detail in details)
    return SimHTTPError(400, error_body(message, 400, details[0]["loc"], "Bad Request"))


def validation_error(
    kind: str, loc: str, msg: str, value: Any, ctx: dict | None = None
) -> SimHTTPError:
    """vLLM's 400 for a request that fails pydantic validation (one error)."""
    return validation_errors([validation_detail(kind, loc, msg, value, ctx)])


class ChunkEncoder:
    """Builds one stream's ``data: {...}`` events from byte templates (no dict work per chunk)."""

    __slots__ = ("_prefixes", "head")

    _DELTA_TAIL = b'},"logprobs":null,"finish_reason":null,"token_ids":null}]}\n\n'

    def __init__(self, request_id: str, created: int, model: str) -> None:
        self.head = (
            b'data: {"id":"'
            + request_id.encode()
            + b'","object":"chat.completion.chunk","created":'
            + str(created).encode()
            + b',"model":'
            + orjson.dumps(model)
            + b',"choices":['
        )
        self._prefixes: dict[tuple[int, bytes], bytes] = {}

    def role(self, index: int) -> bytes:
        """The first chunk of a choice: role assistant, empty content."""
        return (
            self.head + b'{"index":%d,"delta":{"role":"assistant","content":""},"logprobs":null,'
            b'"finish_reason":null}],"prompt_token_ids":null,"prompt_text":null}\n\n' % index
        )

    def delta(self, index: int, key: bytes, text: str) -> bytes:
        """A content or reasoning delta (``key`` is b"content", b"reasoning" ...)."""
        # The hot path: one cached prefix, the JSON string, a constant tail.
        prefix = self._prefixes.get((index, key))
        if prefix is None:
            prefix = self.head + b'{"index":%d,"delta":{"%s":' % (index, key)
            self._prefixes[(index, key)] = prefix
        return prefix + orjson.dumps(text) + self._DELTA_TAIL

    def finish(
        self, index: int, key: bytes, text: str, reason: str, stop_reason: Any, fingerprint: bool
    ) -> bytes:
        """The last delta of a choice, carrying finish_reason and vLLM's stop_reason.

        vLLM adds ``system_fingerprint`` here only when no usage chunk will carry it.
        """
        tail = b',"system_fingerprint":"%s"}\n\n' % _FINGERPRINT if fingerprint else b"}\n\n"
        return (
            self.head + b'{"index":%d,"delta":{"%s":%s},"logprobs":null,"finish_reason":"%s",'
            b'"stop_reason":%s,"token_ids":null}]%s'
            % (index, key, orjson.dumps(text), reason.encode(), orjson.dumps(stop_reason), tail)
        )

    def usage(self, prompt_tokens: int, completion_tokens: int, reasoning_tokens: int) -> bytes:
        """The usage chunk (``choices: []``) sent when stream_options.include_usage is set."""
        total = prompt_tokens + completion_tokens
        usage = b'"prompt_tokens":%d,"total_tokens":%d,"completion_tokens":%d' % (
            prompt_tokens,
            total,
            completion_tokens,
        )
        if reasoning_tokens:
            usage += b',"completion_tokens_details":{"reasoning_tokens":%d}' % reasoning_tokens
        return self.head + b'],"usage":{%s},"system_fingerprint":"%s"}\n\n' % (
            usage,
            _FINGERPRINT,
        )

    def malformed(self) -> bytes:
        """A chunk cut off mid-JSON (a fault)."""
        return self.head + b'{"index":0,"delta":{"content":"\n\n'


DONE = b"data: [DONE]\n\n"


def stream_error_event(message: str, status: int = 500) -> bytes:
    """vLLM's in-stream error event, sent when generation fails after the 200 went out.

    vLLM builds this one with ``json.dumps`` defaults, so unlike every other chunk it has
    spaces after ``:`` and ``,`` and escapes non-ASCII.
    """
    error = {"message": message, "type": error_type(status), "param": None, "code": status}
    return b"data: " + json.dumps({"error": error}).encode() + b"\n\n"


def completion_body(
    request_id: str,
    created: int,
    model: str,
    choices: list[dict[str, Any]],
    prompt_tokens: int,
    completion_tokens: int,
    reasoning_tokens: int | None,
) -> bytes:
    """The non-streaming ``chat.completion`` reply, keys in vLLM's order."""
    details = None if reasoning_tokens is None else {"reasoning_tokens": reasoning_tokens}
    return orjson.dumps(
        {
            "id": request_id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": choices,
            "service_tier": None,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "completion_tokens": completion_tokens,
                "prompt_tokens_details": None,
                "completion_tokens_details": details,
            },
            "prompt_logprobs": None,
            "prompt_token_ids": None,
            "prompt_text": None,
            "kv_transfer_params": None,
            "ec_transfer_params": None,
            "metrics": None,
        }
    )


def completion_choice(
    index: int, content: str | None, reasoning: str | None, finish: str, stop_reason: Any
) -> dict:
    """One choice of the non-streaming reply."""
    message = {
        "role": "assistant",
        "content": content,
        "refusal": None,
        "annotations": None,
        "audio": None,
        "function_call": None,
        "reasoning": reasoning,
    }
    return {
        "index": index,
        "message": message,
        "logprobs": None,
        "finish_reason": finish,
        "stop_reason": stop_reason,
        "token_ids": None,
        "routed_experts": None,
    }
