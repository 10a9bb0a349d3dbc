"""The run summary as plain text: the compact table printed at the end of every run command.

Rows and units are those of ``vllm bench serve`` (milliseconds for latency, mean / median /
p90 / p99), so its users read it at a glance; ``runs show`` prints the same table.
"""

from __future__ import annotations

from typing import Any

__all__ = ["format_summary"]

ROWS = (("TTFT", "ttft_s"), ("TPOT", "tpot_s"), ("ITL", "itl_s"), ("E2E", "e2e_s"))


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f}"


def _rate(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:,.1f} {unit}"


def format_summary(summary: dict[str, Any]) -> str:
    """``summary`` (``RunSummary.snapshot()`` or a ``run.json``'s) as a few aligned lines."""
    req = summary.get("requests") or {}
    lines = [
        f"requests   {req.get('done', 0)} done, {req.get('failed', 0)} failed, "
        f"{req.get('cancelled', 0)} cancelled in {summary.get('wall_s') or 0:.2f} s",
        f"tokens     {summary.get('input_tokens', 0):,} in, "
        f"{summary.get('output_tokens', 0):,} out",
        f"throughput {_rate(summary.get('output_tokens_per_s'), 'tok/s')}, "
        f"{_rate(summary.get('requests_per_s'), 'req/s')}",
        f"{'(ms)':<10} {'mean':>9} {'p50':>9} {'p90':>9} {'p99':>9}",
    ]
    for label, key in ROWS:
        stats = summary.get(key) or {}
        cells = (_ms(stats.get(name)) for name in ("mean", "p50", "p90", "p99"))
        lines.append(f"{label:<10} " + " ".join(f"{cell:>9}" for cell in cells))
    return "\n".join(lines)
