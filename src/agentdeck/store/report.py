"""A recorded run as text: its summary table, its answers, and its Markdown and JSON export.

One place for both front ends: ``agentdeck runs show|export`` and the app's History export
print the same document for the same run. Everything is read from the run folder
(``RunInfo``); nothing here talks to a server.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..events import SCHEMA
from ..textsafe import json_text
from .run_info import RunInfo

__all__ = ["FORMATS", "ROWS", "answer_lines", "duration", "export_json", "export_markdown", "export_text",
           "format_summary", "ms", "rate", "run_time", "text_sections"]

FORMATS = {"md": "Markdown", "json": "JSON"}
"""Export formats by file extension."""

ROWS = (("TTFT", "ttft_s"), ("TPOT", "tpot_s"), ("ITL", "itl_s"), ("E2E", "e2e_s"))
"""The latency rows of the summary table: ``vllm bench serve``'s names and units."""


def ms(value: float | None) -> str:
    """Seconds as milliseconds with one decimal; ``-`` when unknown."""
    return "-" if value is None else f"{value * 1000:.1f}"


def rate(value: float | None, unit: str) -> str:
    """A rate with its unit; ``-`` when unknown."""
    return "-" if value is None else f"{value:,.1f} {unit}"


def format_summary(summary: dict[str, Any]) -> str:
    """``summary`` (``RunSummary.snapshot()`` or a ``run.json``'s) as a few aligned lines."""
    req = summary.get("requests") or {}
    lines = [
        (f"requests   {req.get('done', 0)} done, {req.get('failed', 0)} failed, "
        f"{req.get('cancelled', 0)} cancelled in {summary.get('wall_s') or 0:.2f} s"),
        (f"tokens     {summary.get('input_tokens', 0):,} in, "
        f"{summary.get('output_tokens', 0):,} out"),
        (f"throughput {rate(summary.get('output_tokens_per_s'), 'tok/s')}, "
        f"{rate(summary.get('requests_per_s'), 'req/s')}"),
        f"{'(ms)':<10} {'mean':>9} {'p50':>9} {'p90':>9} {'p99':>9}",
    ]
    for label, key in ROWS:
        stats = summary.get(key) or {}
        cells = (ms(stats.get(name)) for name in ("mean", "p50", "p90", "p99"))
        lines.append(f"{label:<10} " + " ".join(f"{cell:>9}" for cell in cells))
    return "\n".join(lines)


def run_time(info: RunInfo) -> str:
    """When the run was created, local time: ``2026-01-31 14:02:09``."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.created))


def duration(seconds: float | None) -> str:
    """``4.2s``, ``3m07s``, ``2h05m``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def _vote_lines(vote: dict[str, Any]) -> list[str]:
    counts = vote.get("counts") or {}
    voters = vote.get("voters") or sum(counts.values())
    if vote.get("majority"):
        winner = str(vote.get("winner", ""))
        head = f"{_flat(winner)} ({counts.get(winner, 0)} of {voters})"
    else:
        head = f"no majority ({voters} answers, {len(counts)} different)"
    return [head, *(f"{n:>4}  {_flat(answer)}" for answer, n in list(counts.items())[:10])]


def _flat(text: str, width: int = 72) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def answer_lines(info: RunInfo) -> tuple[list[str], str]:
    """What the run answered: heading lines (a vote's tally, select's pick...) and the answer
    text ('' when it has none). Runs recorded before ``result`` fall back to their last step."""
    result = info.result
    agg = result.get("aggregate")
    if isinstance(agg, dict):
        mode = agg.get("mode") or "aggregate"
        if agg.get("error"):
            return [f"{mode} failed: {agg['error']}"], ""
        if isinstance(agg.get("vote"), dict):
            tally = _vote_lines(agg["vote"])
            return [f"vote: {tally[0]}", *tally[1:]], ""
        if mode == "select":
            return [f"select: picked {agg.get('chosen')}"], str(agg.get("answer") or "")
        return [f"{mode}:"], str(agg.get("answer") or "")
    heads = []
    if isinstance(result.get("vote"), dict):
        tally = _vote_lines(result["vote"])
        heads = [f"vote: {tally[0]}", *tally[1:]]
    if result.get("answer"):
        return [*heads, "final answer:"], str(result["answer"])
    if heads:
        return heads, ""
    done = [s for s in info.steps if s.get("output_file")]
    if done and info.system != "chain":  # a chain's last step is its answer, shown below
        last = done[-1]
        return [f"{last.get('label') or 'step'} (step {last.get('step')}):"], info.read_step(
            int(last["step"]))
    if info.system == "chain" and done:
        return ["final answer:"], info.read_step(int(done[-1]["step"]))
    return [], ""


def text_sections(info: RunInfo) -> list[tuple[str, str]]:
    """The answers as ``(title, text)``: every worker's, then the run's own answer when it is
    not one of them."""
    sections = [(f"{e.get('id')} ({e.get('status')})", info.read_text(str(e.get("id"))))
                for e in info.workers]
    _, answer = answer_lines(info)
    if answer.strip() and all(answer.strip() != text.strip() for _, text in sections):
        sections.append(("answer", answer))
    return sections


def export_json(info: RunInfo) -> dict[str, Any]:
    """``runs export --format json``: the manifest and every text of the run."""
    texts = {str(e.get("id")): info.read_text(str(e.get("id"))) for e in info.workers}
    reasoning = {str(e.get("id")): info.read_reasoning(str(e.get("id")))
                 for e in info.workers if e.get("reasoning_file")}
    steps = {str(s.get("step")): info.read_step(int(s["step"])) for s in info.steps
             if s.get("output_file") and isinstance(s.get("step"), int)}
    return {"schema": SCHEMA, "run_id": info.run_id, "status": info.status,
            "summary": info.summary, "manifest": info.manifest, "texts": texts,
            "reasoning": reasoning, "steps": steps}


def export_markdown(info: RunInfo) -> str:
    """``runs export --format md``: prompt, settings, each answer and the summary."""
    out = [f"# Run {info.run_id}", "",
           f"- system: {info.system}" + (f" ({info.label})" if info.label != info.system
                                         else ""),
           f"- status: {info.status}", f"- model: {info.model or '?'} at {info.endpoint or '?'}",
           f"- created: {run_time(info)}", ""]
    for name, value in info.prompts.items():
        if isinstance(value, str) and value:
            out += [f"## {name.replace('_', ' ').capitalize()}", "", value.rstrip(), ""]
    params = info.manifest.get("params") or {}
    out += ["## Settings", "", "```json", json.dumps(params, indent=2, ensure_ascii=False),
            "```", "", "## Answers", ""]
    sections = text_sections(info)
    for title, text in sections:
        out += [f"### {title}", "", text.rstrip() or "_(no text)_", ""]
    heads, answer = answer_lines(info)
    shown = any(answer.strip() == text.strip() for _, text in sections)
    if answer.strip() and shown and len(heads) == 1 and heads[0].endswith(":"):
        heads = []  # a bare "final answer:" over an answer printed above says nothing more
    if heads:
        out += ["## Result", "", "```text", *heads, "```", ""]
    summary = info.summary
    out += ["## Summary", ""]
    if summary is None:
        out += ["No summary recorded.", ""]
    else:
        out += ["```text", format_summary(summary), "```", ""]
        if summary.get("rebuilt"):
            out += [f"_{summary['rebuilt']}_", ""]
    return "\n".join(out)


def export_text(info: RunInfo, fmt: str) -> str:
    """The whole export file: ``fmt`` is ``md`` or ``json``.

    JSON keeps non-ASCII readable but escapes every control character (as the CLI's JSON
    does): a raw C1 character acts on a terminal like ESC [ does, escaped it is the same JSON.
    """
    if fmt == "json":
        return json_text(export_json(info), indent=2) + "\n"
    return export_markdown(info) + "\n"
