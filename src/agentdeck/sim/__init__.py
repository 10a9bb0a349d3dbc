"""The built-in simulator: an OpenAI-compatible server that speaks vLLM's dialect byte for byte.

Used for the demo (the app's default endpoint), the tests and the benchmarks::

    async with SimServer(SimConfig(tokens_per_s=200, seed=1)) as sim:
        model = VLLMModel("sim-model", sim.base_url)        # sim.root_url has no /v1
        print(sim.stats.in_flight, sim.stats.disconnects)

``SimConfig.demo()`` is the app's built-in endpoint (varied lengths, a reasoning phase) and
``SimConfig.quick()`` the headless CLI's (plain answers);
``agentdeck sim`` / ``python -m agentdeck.sim`` serves one from a shell (``cli_main``).

Routes: POST /v1/chat/completions (streaming or not, n > 1, reasoning), GET /v1/models (with
max_model_len), GET /health, GET /metrics (vllm:num_requests_running / _waiting,
vllm:kv_cache_usage_perc, token counters), GET /version, POST /tokenize and /detokenize at the
root. Errors carry vLLM's exact bodies: 401 ``{"error":"Unauthorized"}`` on /v1 routes when
api_key is set, 404 for an unknown model, 400 for bad JSON, missing messages, a negative
temperature, max_tokens > max_model_len and a prompt longer than max_model_len; unknown routes
and methods answer FastAPI's ``{"detail": ...}``.

Length: a choice sends reasoning_tokens (when reasoning is on) + output_tokens tokens and ends
with finish_reason "stop"; max_tokens / max_completion_tokens, the context left, ignore_eos,
min_tokens and stop strings change that as in vLLM ("length" when cut by a limit). The text is a
pure function of (SimConfig.seed, the request's "seed", the prompt, the choice index) whenever
either seed is set: ``expected_text(config, body, index)`` returns (content, reasoning). With
neither, every request gets fresh text. Tokens are word pieces (``tokenizer.py``); /tokenize of
the same messages counts exactly usage.prompt_tokens.

Faults (kinds in FAULT_KINDS), forced per request with a "sim" object in the JSON body (the
client passes unknown keyword arguments through, e.g. ``model.stream(msgs, sim={...})``):

    {"fault": "status", "status": 429, "retry_after": 2}   error reply; or "retry_after_ms"
    {"fault": "close"}                                     connection closed, no response
    {"fault": "disconnect", "after": 3}                    transport aborted after 3 text chunks
    {"fault": "stall", "after": 0, "seconds": 5}           silence (after=0: before any token)
    {"fault": "malformed", "after": 2}                     one invalid JSON chunk, then as normal
    {"fault": "error", "after": 2, "message": "boom"}      data: {"error": {...}} then [DONE]

The same object can ride in the last user message as ``[[sim fault=stall seconds=5]]``
(space-separated key=value pairs), handy from the app's prompt box or curl.

"after" counts content/reasoning chunks (role chunks excluded; default 3, 0 for stall); past
the end of the text the fault strikes before the usage chunk. Without "stream", stall delays
the reply, disconnect drops it, malformed cuts the JSON in half and error answers a 500. Add
"times": N (optionally "key": "...") to fault only the first N requests carrying that object,
so a client's retry succeeds. The object may also set tokens_per_s, ttft, output_tokens,
reasoning and tokens_per_chunk for one request. Per server: ``faults={"disconnect": 0.05}``
(probability per request, drawn with fault_seed) and ``fault_schedule={3: "stall"}`` keyed by
chat request number. ``sim.stats`` (SimStats) counts requests, statuses, in-flight load (now
and max), disconnects, tokens, faults, and keeps a RequestRecord per request (when it arrived,
when its first and last tokens were written: the server-side TTFT and TPOT).
"""

from __future__ import annotations

from .cli import cli_main
from .config import FAULT_KINDS, SimConfig
from .plan import expected_text
from .server import SimServer
from .stats import RequestRecord, SimStats

__all__ = [
    "FAULT_KINDS",
    "RequestRecord",
    "SimConfig",
    "SimServer",
    "SimStats",
    "cli_main",
    "expected_text",
]
