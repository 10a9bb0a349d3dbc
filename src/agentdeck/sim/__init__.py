"""The built-in simulator: an OpenAI-compatible server that speaks vLLM's dialect byte for byte.

Used for the demo (the app's default endpoint), the tests and the benchmarks::

    async with SimServer(SimConfig(tokens_per_s=200, seed=1)) as sim:
        client = VLLMModel("sim-model", sim.base_url)

Routes: POST /v1/chat/completions (streaming and not, n > 1, reasoning), GET /v1/models,
GET /health, GET /metrics (vllm:num_requests_running / _waiting, vllm:kv_cache_usage_perc),
POST /tokenize and /detokenize at the root. Error bodies are vLLM's (401, 404 model, 400
context length / max_tokens / bad JSON / missing messages / negative temperature) and
FastAPI's for unknown routes.

Knobs are the fields of ``SimConfig`` (each documented there): models, api_key, tokens_per_s,
ttft, output_tokens (+ output_tokens_jitter), tokens_per_chunk, reasoning (+ reasoning_tokens,
reasoning_field), max_model_len, max_num_seqs, kv_cache_tokens, seed, tick, faults,
fault_schedule, fault_seed, stall_s, retry_after, shutdown_timeout.

Length: a choice sends reasoning_tokens (when reasoning is on) + output_tokens tokens and
ends with finish_reason "stop"; max_tokens / max_completion_tokens, the context left, ignore_eos,
min_tokens and stop strings change that as in vLLM ("length" when cut by a limit). The text is a
pure function of (seed, request seed, prompt, choice index) whenever SimConfig.seed or the
request's "seed" is set: ``expected_text(config, body, index)`` returns (content, reasoning).

Faults (kinds in FAULT_KINDS), forced per request with a "sim" object in the JSON body (the
client sends it through ``GenerationParams.extra``, e.g. ``model.stream(msgs, sim={...})``):

    {"fault": "status", "status": 429, "retry_after": 2}   error reply; also "retry_after_ms"
    {"fault": "close"}                                     connection closed before any response
    {"fault": "disconnect", "after": 3}                    transport aborted after 3 text chunks
    {"fault": "stall", "after": 0, "seconds": 5}           silence (after=0: before the first token)
    {"fault": "malformed", "after": 2}                     one invalid JSON chunk, then as normal
    {"fault": "error", "after": 2, "message": "boom"}      data: {"error": {...}} then [DONE]

"after" counts content/reasoning chunks (role chunks excluded); a larger "after" strikes at the
end of the text, before the usage chunk. Add "times": N (and optionally "key": "...") to fault
only the first N requests carrying that sim object, so a client retry then succeeds. The same
object may also override tokens_per_s, ttft, output_tokens, reasoning and tokens_per_chunk for
one request. Per server: ``faults={"disconnect": 0.05, ...}`` (probability per request, drawn
with ``fault_seed``) and ``fault_schedule={3: "stall", 7: {"fault": "status", "status": 503}}``
keyed by chat request number. ``sim.stats`` counts requests, statuses, in-flight load,
disconnects, tokens and faults.
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
