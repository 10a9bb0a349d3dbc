"""The /metrics page: vLLM's Prometheus gauge and counter names, fed by the live stats."""

from __future__ import annotations

from .config import SimConfig
from .stats import SimStats

__all__ = ["metrics_text"]

_METRICS = (
    ("vllm:num_requests_running", "gauge", "Number of requests in model execution batches."),
    ("vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed."),
    ("vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage."),
    ("vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed."),
    ("vllm:generation_tokens_total", "counter", "Number of generation tokens processed."),
)


def metrics_text(config: SimConfig, stats: SimStats) -> str:
    """Prometheus text exposition of the simulator's load, as vLLM names it."""
    values = (
        stats.in_flight - stats.waiting,
        stats.waiting,
        min(1.0, max(0, stats.kv_tokens) / config.kv_cache_tokens),
        stats.prompt_tokens,
        stats.tokens_sent,
    )
    labels = f'{{engine="0",model_name="{config.models[0]}"}}'
    lines = []
    for (name, kind, doc), value in zip(_METRICS, values, strict=True):
        lines += [
            f"# HELP {name} {doc}",
            f"# TYPE {name} {kind}",
            f"{name}{labels} {float(value)!r}",
        ]
    return "\n".join(lines) + "\n"
