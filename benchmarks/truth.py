"""Prove the run summary: agentdeck's TTFT and TPOT against what the simulator really sent.

The simulator runs in a process of its own (so its loop and the client's do not share one
unfairly), paced exactly: ``--ttft`` before the first token, then ``--rate`` tokens/s, one token
per chunk. It stamps, per request, when it read the request and when it wrote the first and the
last token: on 2 shared cores a Python server falls behind its own schedule under load, so the
truth is what it really sent. At each level this process runs agentdeck's ``multi`` system (the
real client: ``level`` calls at a time, ``--waves`` times as many in all, 3 one by one at 1
stream) for ``--rounds`` rounds, pairs each call with the server's record of it by the response
id (``Completion.request_id``), and takes as a call's truth:

* TTFT: the server's first write - when the client sent the request (the TTFT clock's start,
  ``FirstToken.t - StreamMetrics.ttft``; ``agentdeck.types.now`` and the simulator's stamps are
  both ``time.monotonic``, the machine's one clock);
* TPOT: (last write - first write) / (tokens - 1), the server's stamps alone.

It checks, from ``RunResult.summary`` alone, TTFT p50 and TPOT p50 (medians over the rounds)
within ``--tolerance`` (5%) of the truth's; at 1 stream, both within 5% of the programmed values;
and that every call received every token the server sent it.

The server's own TTFT (first write - when it read the request) prints beside: it misses the time
a request waits in the socket of a busy server loop (the "send lag": a few ms at 256 streams on a
quiet machine, tens while other jobs hold the 2 cores), so a server-side-only figure reads low.
Answer lengths vary by ``--jitter`` (+-30%) and end with an EOS token, as a model's do.

When ``vllm bench serve`` (or the vLLM peer's venv, see ``_peers.py``) or ``aiperf`` is
installed, it runs against the same server and load and its figures print beside ours, against
the server's own figures (this process cannot see when a peer sent each request).

    python benchmarks/truth.py                 # 1, 64, 256 streams, 3 rounds (~40 s; vllm ~2 min)
    python benchmarks/truth.py --levels 1,64 --peers none
    python benchmarks/truth.py --quick         # smoke test (CI)

Exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections import Counter

from _peers import PEERS, Peer, core_share, find_peers

from agentdeck.client.vllm import VLLMModel
from agentdeck.eventloop import run as run_loop
from agentdeck.events import FirstToken, StreamFinished, TextDelta, WorkerFinished
from agentdeck.systems import registry
from agentdeck.systems.request import RunRequest
from agentdeck.types import GenerationParams

PROMPT = "Explain how a paced stream proves a benchmark client's figures."


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--levels", default="1,64,256", help="concurrent streams per load")
    ap.add_argument("--ttft", type=float, default=0.2, help="programmed TTFT, seconds")
    ap.add_argument("--rate", type=float, default=50.0, help="programmed tokens/s per stream")
    ap.add_argument("--tokens", type=int, default=64, help="output tokens per request (mean)")
    ap.add_argument("--jitter", type=float, default=0.3,
                    help="vary each request's length by up to this fraction (0: all alike)")
    ap.add_argument("--waves", type=int, default=2, help="requests per stream slot at a level")
    ap.add_argument("--single", type=int, default=3, help="requests at 1 stream (one at a time)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per level (medians)")
    ap.add_argument("--tolerance", type=float, default=0.05, help="allowed relative gap")
    ap.add_argument("--peers", default="auto", help="auto, none, or from " + ",".join(PEERS))
    ap.add_argument("--quick", action="store_true", help="tiny run for the CI smoke test")
    ap.add_argument("--serve", help=argparse.SUPPRESS)  # child mode: the simulator process
    args = ap.parse_args(argv)
    if args.quick:
        args.levels, args.tokens, args.single, args.rounds = "1,16", 16, 2, 1
        args.peers = "none" if args.peers == "auto" else args.peers
    args.levels = [int(x) for x in str(args.levels).split(",") if x]
    return args


# ---------------------------------------------------------------- the server process


async def serve(knobs: dict) -> None:
    """Child mode: serve, answer each ``take`` line on stdin with the records since the last."""
    from agentdeck.sim import SimConfig, SimServer

    async with SimServer(SimConfig(**knobs)) as sim:
        print("URL", sim.root_url, flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while await reader.readline():
            records = [
                {"id": r.request_id, "arrived": r.arrived, "first": r.first_token_at,
                 "last": r.last_token_at, "tokens": r.tokens_sent, "done": r.done,
                 "lost": r.disconnected} for r in sim.stats.records
            ]
            sim.reset_stats()
            print(json.dumps(records), flush=True)


class Server:
    """The simulator in its own process; ``take()`` returns and clears its request records."""

    def __init__(self, knobs: dict) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", json.dumps(knobs)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        line = self.proc.stdout.readline()
        if not line.startswith("URL "):
            self.close()
            raise RuntimeError(f"the simulator did not start: {line!r}")
        self.root_url = line.split()[1]

    def take(self) -> list[dict]:
        self.proc.stdin.write("take\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


# ---------------------------------------------------------------- measuring


class TracedModel(VLLMModel):
    """The real client, noting per worker task its response's id (the simulator's record's).

    It costs one more generator hop a chunk: ~0.1 us, against the ~7 us the client spends on one.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.request_ids: dict[asyncio.Task, str | None] = {}

    async def stream(self, messages, params=None, **kwargs):  # type: ignore[override]
        async for event in super().stream(messages, params, **kwargs):
            if type(event) is StreamFinished:
                self.request_ids[asyncio.current_task()] = event.completion.request_id
            yield event


def server_figures(records: list[dict]) -> dict:
    """The server's own figures: TTFT from its arrival stamp, TPOT from its write stamps."""
    sent = [r for r in records if r["first"] is not None]
    ttft = [r["first"] - r["arrived"] for r in sent]
    return {"ttft": p50(ttft), "ttft_p90": p90(ttft), "tpot": p50(tpots(sent)),
            "e2e": p50([r["last"] - r["arrived"] for r in sent]), "records": records}


def truth(calls: list[dict], records: list[dict]) -> dict:
    """The truth of the calls matched to a record: TTFT and E2E from the client's send to the
    server's first and last writes, TPOT from the server's writes; the lags, matched too."""
    by_id = {r["id"]: r for r in records}
    pairs = [(c, by_id[c["id"]]) for c in calls
             if c["id"] in by_id and c["sent"] is not None and by_id[c["id"]]["first"] is not None]
    ttft = [r["first"] - c["sent"] for c, r in pairs]
    return {"ttft": p50(ttft), "ttft_p90": p90(ttft), "tpot": p50(tpots([r for _, r in pairs])),
            "e2e": p50([r["last"] - c["sent"] for c, r in pairs]), "matched": len(pairs),
            "send_lag": p50([r["arrived"] - c["sent"] for c, r in pairs]),
            "deliver_lag": p50([c["received"] - r["first"] for c, r in pairs])}


def tpots(records: list[dict]) -> list[float]:
    return [(r["last"] - r["first"]) / (r["tokens"] - 1) for r in records if r["tokens"] > 1]


def p50(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def p90(values: list[float]) -> float | None:
    if len(values) < 2:
        return p50(values)
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


async def run_multi(model: TracedModel, level: int, calls: int, tokens: int,
                    jitter: float) -> dict:
    """One multi-call run through the real client: its summary's p50s, and per call the server's
    request id, when the TTFT clock started, when the first token arrived, tokens received. With
    ``jitter`` the simulator picks each answer's length and ends it with an EOS token, as a
    model does; without, every request asks for ``tokens`` with ``ignore_eos``.
    """
    received: Counter[str] = Counter()
    firsts: dict[str, float] = {}
    seen: dict[str, dict] = {}

    def listen(event: object) -> None:
        kind = type(event)
        if kind is TextDelta:
            received[event.worker_id] += event.tokens  # type: ignore[attr-defined]
        elif kind is FirstToken:
            firsts[event.worker_id] = event.t  # type: ignore[attr-defined]
        elif kind is WorkerFinished:  # emitted in the worker's own task, as the stream was
            wid, ttft = event.worker_id, getattr(event.metrics, "ttft", None)  # type: ignore
            first = firsts.get(wid)
            seen[wid] = {"id": model.request_ids.pop(asyncio.current_task(), None),
                         "received": first, "sent": None if None in (first, ttft) else first - ttft}

    params = (GenerationParams() if jitter else
              GenerationParams(max_tokens=tokens, extra={"ignore_eos": True}))
    request = RunRequest(PROMPT, params=params, calls=calls, concurrency=level, store=False,
                         listeners=(listen,))
    result = await registry.get("multi").run(model, request)
    # Tokens received: text chunks (one token each), plus the EOS token of an answer that ended
    # by itself, which vLLM counts in completion_tokens and sends as an empty final delta.
    rows = [{"id": None, "sent": None, "received": None, **seen.get(wid, {}), "ok": w.outcome.ok,
             "tokens": received[wid] + (w.outcome.finish_reason == "stop")}
            for wid, w in result.workers.items()]
    s = result.summary
    return {"ttft": s["ttft_s"]["p50"], "tpot": s["tpot_s"]["p50"], "ttft_p90": s["ttft_s"]["p90"],
            "e2e": s["e2e_s"]["p50"], "calls": rows}


# ---------------------------------------------------------------- checking and printing

FIGURES = ("ttft", "ttft_p90", "tpot", "e2e")


def medians(rounds: list[dict], keys: tuple[str, ...] = FIGURES) -> dict:
    """Each figure's median over the rounds (the machine is shared: one round can be unlucky)."""
    return {k: p50([r[k] for r in rounds if r.get(k) is not None]) for k in keys}


def within(value: float | None, target: float | None, tolerance: float) -> bool:
    return value is not None and bool(target) and abs(value - target) <= tolerance * target


def gap(value: float | None, target: float | None) -> str:
    return f"{(value - target) / target:+.1%}" if value is not None and target else "n/a"


def check_level(args: argparse.Namespace, level: int, calls: int, rounds: list[tuple],
                checks: list[tuple[str, bool, str]]) -> None:
    """The checks of one level: the p50s (medians over rounds), and every call's tokens."""
    tol = args.tolerance
    a, t = medians([o for o, _, _ in rounds]), medians([r for _, r, _ in rounds])
    for name in ("ttft", "tpot"):
        ok = within(a[name], t[name], tol)
        detail = f"{ms(a[name])} vs {ms(t[name])} ({gap(a[name], t[name])})"
        if not ok:
            lags = medians([r for _, r, _ in rounds], ("send_lag", "deliver_lag"))
            detail += (f"; send lag p50 {ms(lags['send_lag'])}, first write to receipt p50 "
                       f"{ms(lags['deliver_lag'])}")
        checks.append((f"{level:>3} streams: {name.upper()} p50 = truth", ok, detail))
    if level == 1:
        for name, target in (("ttft", args.ttft), ("tpot", 1 / args.rate)):
            checks.append((f"{level:>3} stream:  {name.upper()} p50 = programmed",
                           within(a[name], target, tol) and within(t[name], target, tol),
                           f"ours {ms(a[name])}, truth {ms(t[name])}, set {ms(target)}"))
    # Call by call: each call received every token the server sent for its request.
    total = calls * len(rounds)
    sent = got = missing = 0
    for ours, _, alone in rounds:
        recs = alone["records"]
        by_id = {r["id"]: r for r in recs}
        sent += sum(1 for r in recs if r["done"] and not r["lost"]) if len(recs) == calls else 0
        for c in ours["calls"]:
            r = by_id.get(c["id"])
            got += bool(r and c["ok"] and r["done"] and not r["lost"]
                        and c["tokens"] == r["tokens"])
        missing += sum(r["tokens"] for r in recs) - sum(c["tokens"] for c in ours["calls"])
    detail = (f"{sent}/{total} sent whole, {got}/{total} received whole (matched by id), "
              f"{missing} tokens missing")
    checks.append((f"{level:>3} streams: no token lost", sent == got == total, detail))


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


def row(level: int, who: str, figures: dict, truth_row: dict | None = None,
        tpot_row: dict | None = None, alone: dict | None = None) -> str:
    """One table row; the gaps against the truth (TTFT, TPOT) and the server alone (TTFT)."""
    text = f"{level:>7} {who:31}" + "".join(f"{ms(figures[k]):>11}" for k in FIGURES)
    if alone is not None:
        ttft = gap(figures["ttft"], truth_row["ttft"]) if truth_row else "-"
        text += (f"{ttft:>10}{gap(figures['tpot'], (truth_row or tpot_row)['tpot']):>10}"
                 f"{gap(figures['ttft'], alone['ttft']):>12}")
    return text


async def agentdeck_rounds(args: argparse.Namespace, server: Server, level: int, calls: int,
                           notes: list[str]) -> list[tuple[dict, dict, dict]]:
    """``--rounds`` runs at ``level``, each on a fresh model, as a CLI run starts: per round
    our figures, the truth of our calls, and the server's own figures.

    Fresh connections, as ``vllm bench serve`` opens them by default: a pool kept warm would
    send all ``level`` first requests in one burst, which the server reads one by one.
    """
    url = server.root_url + "/v1"
    warm = TracedModel("sim-model", url)
    await run_multi(warm, 1, 1, 4, 0)  # imports, first-use caches
    await warm.close_client()
    server.take()
    out: list[tuple[dict, dict, dict]] = []
    for _ in range(args.rounds):
        model = TracedModel("sim-model", url, max_connections=max(level, 1))
        t0, cpu0 = time.perf_counter(), time.process_time()
        try:
            ours = await run_multi(model, level, calls, args.tokens, args.jitter)
        finally:
            await model.close_client()
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        records = server.take()
        real, alone = truth(ours["calls"], records), server_figures(records)
        out.append((ours, real, alone))
        notes.append(f"{level:>4} streams: {calls} requests in {wall:.1f} s, agentdeck using "
                     f"{cpu / wall:.0%} of a core, {real['matched']}/{calls} matched by id; TTFT "
                     f"gap {gap(ours['ttft'], real['ttft'])} (server alone "
                     f"{gap(ours['ttft'], alone['ttft'])}); send lag p50 {ms(real['send_lag'])} "
                     f"(sent to server's read), first write to receipt p50 "
                     f"{ms(real['deliver_lag'])}")
    return out


def peer_round(args: argparse.Namespace, server: Server, peer: Peer, level: int, calls: int,
               results: dict[str, list[tuple[dict, dict]]], notes: list[str]) -> None:
    """One run of ``peer`` at ``level``, against the server's own figures of it."""
    figures = peer.run(server.root_url, level, calls, args.tokens, args.jitter)
    # It tries one request before the load: the load is the last ``calls`` requests.
    alone = server_figures(server.take()[-calls:])
    if "error" in figures:
        notes.append(f"{level:>4} streams: {peer.label}: {figures['error']}")
        return
    results.setdefault(peer.label, []).append((figures, alone))
    sent = [r for r in alone["records"] if r["last"] is not None]
    share = core_share(figures["cpu_samples"], min(r["arrived"] for r in sent),
                       max(r["last"] for r in sent)) if sent else None
    using = f"using {share:.0%} of a core" if share is not None else "CPU not sampled"
    notes.append(f"{level:>4} streams: {peer.label} {using} during the load; TTFT gap to the "
                 f"server alone {gap(figures['ttft'], alone['ttft'])}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        run_loop(serve(json.loads(args.serve)))
        return 0
    knobs = {"ttft": args.ttft, "tokens_per_s": args.rate, "tokens_per_chunk": 1,
             "tick": 0.001, "output_tokens": args.tokens, "output_tokens_jitter": args.jitter}
    peers, missing = find_peers(args.peers)
    server = Server(knobs)
    checks: list[tuple[str, bool, str]] = []
    lines: list[str] = []
    notes: list[str] = []
    try:
        for level in args.levels:
            calls = args.single if level == 1 else level * args.waves
            rounds = run_loop(agentdeck_rounds(args, server, level, calls, notes))
            check_level(args, level, calls, rounds, checks)
            real = medians([r for _, r, _ in rounds])
            alone = medians([a for _, _, a in rounds])
            lines += [row(level, "truth: sent -> server wrote", real),
                      row(level, "server alone: read -> wrote", alone),
                      row(level, "agentdeck summary", medians([o for o, _, _ in rounds]),
                          truth_row=real, alone=alone)]
            results: dict[str, list[tuple[dict, dict]]] = {}
            for _ in range(args.rounds):
                for peer in peers:
                    peer_round(args, server, peer, level, calls, results, notes)
            for who, pairs in results.items():
                alone = medians([a for _, a in pairs])
                lines += [row(level, "server alone, same load", alone),
                          row(level, who, medians([f for f, _ in pairs]), tpot_row=alone,
                              alone=alone)]
    finally:
        server.close()
    lengths = (f"{args.tokens} tokens +-{args.jitter:.0%} a request (natural ends)" if args.jitter
               else f"{args.tokens} tokens a request (ignore_eos)")
    print(f"\nsimulator in its own process: TTFT {args.ttft * 1000:.0f} ms, {args.rate:g} tokens/s "
          f"(TPOT {1000 / args.rate:.0f} ms), one token per chunk, {lengths}; medians of "
          f"{args.rounds} round(s). Truth: from the client's send (matched by request id) to "
          f"the server's writes; gaps against it, and against the server alone (from when it "
          f"read each request: all it knows of a peer's load)\n")
    print(f"{'streams':>7} {'figures of':31}{'TTFT p50':>11}{'TTFT p90':>11}{'TPOT p50':>11}"
          f"{'E2E p50':>11}{'TTFT gap':>10}{'TPOT gap':>10}{'vs alone':>12}")
    print("\n".join(lines))
    print()
    print("\n".join(notes))
    if missing:
        print(f"not installed here, so not compared: {', '.join(missing)}")
    print()
    for name, ok, detail in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name:42} {detail}")
    failed = [c for c in checks if not c[1]]
    print(f"\ntruth: {len(checks) - len(failed)}/{len(checks)} checks passed at "
          f"{','.join(map(str, args.levels))} streams" + (" (FAILED)" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
