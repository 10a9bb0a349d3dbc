"""The real app under load, headless: CPU per token, frames, key-to-paint, token-to-screen, losses.

Each configuration runs the real ``AgentDeckApp`` (``App.run_test``, 160x48) in its own
process, fed by agentdeck's simulator running in another process (``_sim_server.py``), so this
process's CPU time is the app's alone: HTTP and SSE parsing, events, the run store writing
transcripts, the 20 Hz flush and the painting. Headless Textual skips writing escape codes, so
each paint also renders its update to escape codes here (what a terminal would be sent).

* grid: Multi-call with N workers at an aggregate tokens/s (every stream paced by the
  simulator); arrow keys move the focused card every 200 ms. Prints app CPU per token and as a
  share of a core, frames painted per second, key-to-paint p50/p99 (key sent -> first paint
  after its handler ran), token-to-screen p50/p99 (a token's arrival -> the first paint after
  the flush that took it, for the cards in view), and tokens dropped (every worker's text must
  equal what the simulator sent, in the app's buffers and in the transcript on disk).
* stream: Basic with one long answer in the focused Markdown pane (``StreamView``); per-frame
  cost (CPU of the flush + the screen update, per painted frame) and key-to-paint (up/end
  keys) around 1k, 10k and 50k tokens.

    python benchmarks/tui_load.py                         # N = 16, 64, 256 x 5k, 20k, 50k tok/s
    python benchmarks/tui_load.py --workers 64 --rates 20000 --seconds 8
    python benchmarks/tui_load.py --workers 64 --rates 20000 --seconds 6 --repeat 4   # medians
    python benchmarks/tui_load.py --quick                 # smoke test (CI)
    python benchmarks/tui_load.py --workers 64 --rates 20000 --seconds 6 --repeat 4 --stats both
                                      # the stats panel (F8) open vs closed, runs alternating
    python benchmarks/tui_load.py --workers 256 --rates 50000 --seconds 6 --repeat 4 --table both
                                      # the workers as cards vs as the table (v), alternating

Exits 1 if a configuration crashed or any token was lost.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from bisect import bisect_left
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import agentdeck.tui  # noqa: F401  (before Textual, as with the agentdeck command: it sets TEXTUAL_FPS)

HERE = Path(__file__).resolve().parent
SIZE = (160, 48)
PIPELINE_CASES = ((64, 20000.0), (256, 50000.0))
STATS_MODES = {"off": (False,), "on": (True,), "both": (False, True)}
TABLE_MODES = {"off": (False,), "on": (True,), "both": (False, True)}
"""Grid runs per ``--table``: the workers as cards (the grid), as the table, or each in turn."""
"""Grid runs per ``--stats``: the panel closed, open, or each in turn."""
PROMPT = "Benchmark: write a long, lively markdown answer about streaming tokens."
MODEL = "sim-model"
now = time.monotonic  # the clock agentdeck stamps events with


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_loop(coro):  # type: ignore[no-untyped-def]
    """Run on the loop the app and the CLI use: uvloop when installed (AGENTDECK_NO_UVLOOP=1: asyncio's)."""
    from agentdeck import eventloop

    return eventloop.run(coro)


SIM_PID: list[int] = []  # the running simulator, so a child can report its CPU beside the app's


@contextmanager
def sim_process(knobs: dict) -> Iterator[str]:
    """agentdeck's simulator in another process; yields its base URL."""
    cmd = [sys.executable, str(HERE / "_sim_server.py"), json.dumps(knobs)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if not line.startswith("URL "):
            raise RuntimeError(f"simulator failed to start: {line!r}")
        SIM_PID[:] = [proc.pid]
        yield line.split()[1]
    finally:
        proc.stdin.close()  # type: ignore[union-attr]
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Probe:
    """Class-level hooks on the app's frame path: paint times, frame costs, key handling."""

    def __init__(self) -> None:
        self.paints: list[float] = []
        self.frame_cpu: list[tuple[float, float]] = []  # (time, thread CPU of flush/update)
        self.flushes: list[float] = []
        self.handled: list[float] = []
        self.tokens_at: list[tuple[float, int]] = []  # (time, tokens) of the watched worker

    def install(self) -> None:
        from textual.app import App
        from textual.screen import Screen

        from agentdeck.tui.screens.main import MainScreen
        from agentdeck.tui.widgets.stream_view import StreamView
        from agentdeck.tui.widgets.worker_grid import WorkerGrid
        from agentdeck.tui.widgets.worker_table import WorkerTable

        probe = self
        display, update, flush_frame = App._display, Screen._on_timer_update, MainScreen.flush_frame
        grid_flush, table_flush = WorkerGrid.flush, WorkerTable.flush

        def _display(app, screen, renderable):  # type: ignore[no-untyped-def]
            display(app, screen, renderable)
            if renderable is not None and app.is_headless:
                start = time.thread_time()
                render = getattr(renderable, "render_segments", None)
                if render is not None:
                    render(app.console)  # the escape codes a terminal would get
                probe.frame_cpu.append((now(), time.thread_time() - start))
                probe.paints.append(now())

        def _on_timer_update(screen):  # type: ignore[no-untyped-def]
            start = time.thread_time()
            update(screen)
            probe.frame_cpu.append((now(), time.thread_time() - start))

        def _flush_frame(screen):  # type: ignore[no-untyped-def]
            start = time.thread_time()
            flush_frame(screen)
            probe.frame_cpu.append((now(), time.thread_time() - start))

        def _grid_flush(grid):  # type: ignore[no-untyped-def]
            probe.flushes.append(now())
            grid_flush(grid)

        def _table_flush(table):  # type: ignore[no-untyped-def]
            probe.flushes.append(now())
            table_flush(table)

        def handled(method):  # type: ignore[no-untyped-def]
            @functools.wraps(method)  # Textual passes an action as many arguments as it takes
            def wrapper(self, *args):  # type: ignore[no-untyped-def]
                probe.handled.append(now())
                return method(self, *args)

            return wrapper

        App._display = _display  # type: ignore[method-assign]
        Screen._on_timer_update = _on_timer_update  # type: ignore[method-assign]
        MainScreen.flush_frame = _flush_frame  # type: ignore[method-assign]
        WorkerGrid.flush = _grid_flush  # type: ignore[method-assign]
        WorkerTable.flush = _table_flush  # type: ignore[method-assign]
        WorkerTable.action_move = handled(WorkerTable.action_move)  # type: ignore[method-assign]
        WorkerGrid.action_move = handled(WorkerGrid.action_move)  # type: ignore[method-assign]
        StreamView.action_scroll_up = handled(StreamView.action_scroll_up)  # type: ignore[method-assign]
        StreamView.action_scroll_end = handled(StreamView.action_scroll_end)  # type: ignore[method-assign]

    def key_latency(self, sent: float) -> float | None:
        """Key sent at ``sent`` -> the first paint after the first handler call since."""
        i = bisect_left(self.handled, sent)
        if i == len(self.handled):
            return None
        j = bisect_left(self.paints, self.handled[i])
        return self.paints[j] - sent if j < len(self.paints) else None


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


async def drive(url: str, options, keys: tuple[str, str], key_every: float, probe: Probe,
                watch: str | None, deadline: float, warmup=None, stats: bool = False,
                table: bool = False) -> dict:
    """Run the app on ``url`` with ``options`` while pressing ``keys`` in turn; return figures."""
    from textual import events

    from agentdeck.config.settings import load_settings
    from agentdeck.events import TextDelta
    from agentdeck.store.runs import RunStore
    from agentdeck.tui.app import AgentDeckApp
    from agentdeck.tui.widgets.output_pane import OutputPane
    from agentdeck.tui.widgets.stream_view import StreamView
    from agentdeck.tui.widgets.worker_grid import WorkerGrid
    from agentdeck.tui.widgets.worker_table import WorkerTable

    home = Path(tempfile.mkdtemp(prefix="agentdeck-bench-"))
    os.environ["AGENTDECK_HOME"] = str(home)
    settings = load_settings({"base_url": url, "model": MODEL}, env={}, path=home / "config.toml")
    app = AgentDeckApp(settings, store=RunStore(root=home / "runs"))
    arrivals: dict[str, list[float]] = {}

    def listener(event) -> None:  # type: ignore[no-untyped-def]
        if type(event) is TextDelta:  # one arrival per token: a delta may carry several
            arrivals.setdefault(event.worker_id, []).extend([event.t] * event.tokens)

    async with app.run_test(size=SIZE) as pilot:
        for _ in range(200):
            if app.connection.model is not None:
                break
            await pilot.pause(0.05)
        screen = app.screen
        await pilot.pause()
        if warmup is not None:  # a short run first: lazy imports and first renders are paid once
            screen.start_run(warmup, PROMPT, None)
            while screen.run_in_flight and now() < deadline:
                await pilot.pause(0.05)
            await pilot.pause(0.2)
        sent: list[float] = []
        profiler = None
        if os.environ.get("BENCH_PROFILE"):  # BENCH_PROFILE=out.txt: pyinstrument over the run
            from pyinstrument import Profiler

            profiler = Profiler(async_mode="disabled")
            profiler.start()
        # Cards or table as asked, whatever fits: 256 cards at 160x48 would default to the table.
        screen.query_one(OutputPane).pick_cards("table" if table else "grid")
        cpu0, t0, sim0 = time.process_time(), now(), cpu_of(SIM_PID[0])
        screen.start_run(options, PROMPT, None)
        screen.system.add_listener(listener)
        if stats:
            app.action_stats()  # the stats panel beside the grid, as F8 opens it
        await pilot.pause()
        kind = (WorkerTable if table else WorkerGrid) if options.system == "multi" else StreamView
        target = screen.query_one(kind)
        target.focus()
        visible: list[str] = []
        i = 0
        while screen.run_in_flight and now() < deadline:
            await asyncio.sleep(key_every)
            if not visible and options.system == "multi":
                visible = list(screen.live.order[: max(1, getattr(target, "columns", 1))])
            sent.append(now())
            key = events.Key(keys[i % 2], None)
            key.set_sender(app)
            app._driver.send_message(key)  # what a terminal's key press does
            i += 1
            if watch is not None and screen.live is not None and watch in screen.live.buffers:
                probe.tokens_at.append((now(), screen.live.buffers[watch].tokens))
        cpu, wall, sim_cpu = time.process_time() - cpu0, now() - t0, cpu_of(SIM_PID[0]) - sim0
        if profiler is not None:
            profiler.stop()
            Path(os.environ["BENCH_PROFILE"]).write_text(profiler.output_text(show_all=bool(os.environ.get("BENCH_PROFILE_ALL"))))
        timed_out = screen.run_in_flight
        if timed_out:
            screen.action_cancel_all()
        await pilot.pause(0.2)
        live = screen.live
        texts = {wid: buf.text for wid, buf in live.buffers.items()}
        states = {wid: buf.state.value for wid, buf in live.buffers.items()}
        disk = app.store.load_run(live.run_id)
        on_disk = {wid: disk.worker_path(wid).read_text(encoding="utf-8") for wid in texts}
    shutil.rmtree(home, ignore_errors=True)
    lags = []
    for wid in visible:
        for ta in arrivals.get(wid, []):
            f = bisect_left(probe.flushes, ta)
            if f < len(probe.flushes):
                p = bisect_left(probe.paints, probe.flushes[f])
                if p < len(probe.paints):
                    lags.append(probe.paints[p] - ta)
    keys_ms = [x for x in (probe.key_latency(t) for t in sent) if x is not None]
    return {
        "cpu": cpu, "wall": wall, "t0": t0, "sim_core": sim_cpu / wall, "timed_out": timed_out, "texts": texts, "states": states,
        "on_disk": on_disk, "tokens": sum(len(v) for v in arrivals.values()), "lags": lags,
        "keys": keys_ms, "keys_sent": len(sent),
        "frames": sum(1 for t in probe.paints if t0 <= t <= t0 + wall),
    }


def expected(knobs: dict) -> str:
    """The answer the simulator sends every worker (same prompt, seeded)."""
    from agentdeck.sim import SimConfig, expected_text

    body = {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}], "stream": True}
    return expected_text(SimConfig(**knobs), body, 0)[0]


def child_grid(workers: int, rate: float, seconds: float, stats: bool = False,
               table: bool = False) -> dict:
    from agentdeck.tui.runner import RunOptions

    per_stream = rate / workers
    knobs = {"tokens_per_s": per_stream, "ttft": 0.05, "output_tokens": max(10, int(per_stream * seconds)),
             "seed": 1, "models": [MODEL]}
    probe = Probe()
    probe.install()
    options = RunOptions(system="multi", num_calls=workers, concurrency=workers)
    with sim_process(knobs) as url:
        keys = ("down", "up") if table else ("right", "left")
        out = run_loop(drive(url, options, keys, 0.2, probe, None, now() + seconds * 3 + 30,
                             stats=stats, table=table))
    want = expected(knobs)
    lost = sum(max(0, len(want) - len(t)) for t in out["texts"].values()) + want.__len__() * (workers - len(out["texts"]))
    wrong = sum(1 for t in out["texts"].values() if t != want)
    wrong_disk = sum(1 for w, t in out["on_disk"].items() if t != out["texts"][w])
    return {
        "workers": workers, "rate": rate, "stats": stats, "table": table, "cpu_per_token": out["cpu"] / max(1, out["tokens"]),
        "core": out["cpu"] / out["wall"], "sim_core": out["sim_core"], "fps": out["frames"] / out["wall"], "wall": out["wall"],
        "achieved": out["tokens"] / out["wall"], "key50": pct(out["keys"], 50), "key99": pct(out["keys"], 99),
        "keys": f"{len(out['keys'])}/{out['keys_sent']}", "lag50": pct(out["lags"], 50), "lag99": pct(out["lags"], 99),
        "lost_chars": lost, "wrong": wrong, "wrong_disk": wrong_disk, "timed_out": out["timed_out"],
        "not_done": sum(1 for s in out["states"].values() if s != "done"),
    }


async def pipeline(url: str, workers: int) -> dict:
    """The same run without any UI: client + system + run store + LiveRun buffers.

    As the app runs it: no seed-style copies of each answer (``output_dir=None``).
    """
    from agentdeck.client.vllm import VLLMModel
    from agentdeck.store.runs import RunStore
    from agentdeck.systems import MultiCallSystem
    from agentdeck.tui.live import LiveRun

    home = Path(tempfile.mkdtemp(prefix="agentdeck-bench-"))
    live = LiveRun()
    async with VLLMModel(MODEL, url) as model:
        system = MultiCallSystem("multi", model, listeners=[live], store=RunStore(root=home / "runs"))
        cpu0, t0 = time.process_time(), now()
        await system.run(PROMPT, workers, None, "call", concurrency=workers)
        cpu, wall = time.process_time() - cpu0, now() - t0
    texts = [buf.text for buf in live.buffers.values()]
    shutil.rmtree(home, ignore_errors=True)
    return {"cpu": cpu, "wall": wall, "tokens": live.total_tokens, "texts": texts}


def child_pipeline(workers: int, rate: float, seconds: float) -> dict:
    per_stream = rate / workers
    knobs = {"tokens_per_s": per_stream, "ttft": 0.05, "output_tokens": max(10, int(per_stream * seconds)),
             "seed": 1, "models": [MODEL]}
    with sim_process(knobs) as url:
        out = run_loop(pipeline(url, workers))
    want = expected(knobs)
    return {"workers": workers, "rate": rate, "cpu_per_token": out["cpu"] / max(1, out["tokens"]),
            "core": out["cpu"] / out["wall"], "wrong": sum(1 for t in out["texts"] if t != want)}


def child_stream(tokens: int, rate: float, marks: list[int]) -> dict:
    from agentdeck.tui.runner import RunOptions

    knobs = {"tokens_per_s": rate, "ttft": 0.05, "output_tokens": tokens, "seed": 2, "models": [MODEL],
             "max_model_len": tokens + 4096}
    probe = Probe()
    probe.install()
    with sim_process(knobs) as url:
        out = run_loop(drive(url, RunOptions(system="basic"), ("up", "end"), 0.08, probe, "agent",
                                now() + tokens / rate * 3 + 30, RunOptions(system="basic", max_tokens=300)))
    want = expected(knobs)
    text = out["texts"].get("agent", "")
    # Windows around each mark: the frames and keys while the answer held about that many tokens.
    rows = []
    for mark in marks:
        # from the mark to 1.5x it (past the run's start-up), the last 10% for the final size
        lo, hi = (mark, mark * 1.5) if mark < tokens else (mark * 0.9, tokens + 1)
        times = [t for t, n in probe.tokens_at if lo <= n <= hi]
        if not times:
            continue
        a, b = min(times), max(times) + 0.08
        cpu = sum(c for t, c in probe.frame_cpu if a <= t <= b)
        frames = sum(1 for t in probe.paints if a <= t <= b)
        keys = [x for x in (probe.key_latency(t) for t, _ in probe.tokens_at if a <= t <= b) if x is not None]
        rows.append({"mark": mark, "frames": frames, "frame_ms": cpu / max(1, frames) * 1000,
                     "key50": pct(keys, 50), "key99": pct(keys, 99), "keys": len(keys)})
    return {"rows": rows, "lost_chars": max(0, len(want) - len(text)), "wrong": int(text != want),
            "wrong_disk": int(out["on_disk"].get("agent") != text), "timed_out": out["timed_out"],
            "cpu_per_token": out["cpu"] / max(1, out["tokens"]), "core": out["cpu"] / out["wall"]}


# ---------------------------------------------------------------------------------- parent


def run_child(argv: list[str], script: str = __file__) -> dict:
    """Run ``script`` with ``argv`` in a fresh process; its last stdout line, as JSON."""
    proc = subprocess.run([sys.executable, script, *argv], capture_output=True, text=True, timeout=600,
                          check=False)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1], "stderr": proc.stderr[-2000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", default="16,64,256")
    ap.add_argument("--rates", default="5000,20000,50000", help="aggregate tokens/s")
    ap.add_argument("--seconds", type=float, default=3.0, help="streaming time per grid configuration")
    ap.add_argument("--stream-tokens", type=int, default=50_000, help="length of the Markdown pane answer")
    ap.add_argument("--stream-rate", type=float, default=3000, help="tokens/s of that answer")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs of each grid configuration (the summary takes their medians)")
    ap.add_argument("--stats", choices=("off", "on", "both"), default="off",
                    help="grid runs with the stats panel closed, open, or both (alternating)")
    ap.add_argument("--table", choices=("off", "on", "both"), default="off",
                    help="workers as cards, as the table (one line each), or both (alternating)")
    ap.add_argument("--quick", action="store_true", help="tiny run for the CI smoke test")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.workers, args.rates, args.seconds, args.repeat = "16", "5000", 1.5, 1
        args.stream_tokens, args.stream_rate = 3000, 3000
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    marks = [m for m in (1000, 10_000, 50_000) if m <= args.stream_tokens] or [args.stream_tokens]
    if args.child == "grid":
        print(json.dumps(child_grid(int(args.workers), float(args.rates), args.seconds,
                                    args.stats == "on", args.table == "on")))
        return 0
    if args.child == "pipeline":
        print(json.dumps(child_pipeline(int(args.workers), float(args.rates), args.seconds)))
        return 0
    if args.child == "stream":
        print(json.dumps(child_stream(args.stream_tokens, args.stream_rate, marks)))
        return 0
    bad = False
    grid_rows = []
    for _ in range(args.repeat):  # rounds alternate between the configurations
        for workers in [int(w) for w in args.workers.split(",")]:
            for rate in [float(r) for r in args.rates.split(",")]:
                for stats in STATS_MODES[args.stats]:
                    for table in TABLE_MODES[args.table]:
                        res = run_child(["--child", "grid", "--workers", str(workers), "--rates", str(rate),
                                         "--seconds", str(args.seconds), "--stats", "on" if stats else "off",
                                         "--table", "on" if table else "off"])
                        res.setdefault("workers", workers)
                        res.setdefault("rate", rate)
                        res.setdefault("stats", stats)
                        res.setdefault("table", table)
                        grid_rows.append(res)
    grid_rows.sort(key=lambda r: (r["workers"], r["rate"], r["stats"], r["table"]))
    pipes = []
    for workers, rate in PIPELINE_CASES if not args.quick else ((int(args.workers.split(",")[0]), float(args.rates.split(",")[0])),):
        pipes.append(run_child(["--child", "pipeline", "--workers", str(workers), "--rates", str(rate),
                                "--seconds", str(args.seconds)]))
    stream = run_child(["--child", "stream", "--stream-tokens", str(args.stream_tokens),
                        "--stream-rate", str(args.stream_rate)])
    bad |= print_grid(grid_rows, args)
    if args.stats == "both":
        print_stats_cost(grid_rows)
    bad |= print_pipeline(pipes, grid_rows)
    bad |= print_stream(stream, args)
    print("\n" + summary([r for r in grid_rows if not r["stats"] and not r.get("table")], stream))
    return 1 if bad else 0


def print_grid(rows: list[dict], args: argparse.Namespace) -> bool:
    print(f"\nMulti-call grid, real app headless {SIZE[0]}x{SIZE[1]}, simulator in another process, "
          f"~{args.seconds:g} s of streaming each. got/s: tokens/s the app received; core/sim: CPU share\n"
          "of a core used by the app / by the simulator (the two share the machine's 2 cores)\n")
    print(f"{'workers':>7} {'tok/s':>6} {'stats':>5} {'view':>5} {'got/s':>6} {'us/tok':>7} {'core':>5} {'sim':>5} {'fps':>5} "
          f"{'key p50':>8} {'key p99':>8} {'tok->scr p50':>12} {'p99':>7} {'lost':>5}")
    bad = False
    for r in rows:
        if "error" in r:
            print(f"{r['workers']:7} {r['rate']:6.0f} FAILED: {r['error']}")
            bad = True
            continue
        lost = r["lost_chars"] + r["wrong"] + r["wrong_disk"] + r["not_done"]
        bad |= lost > 0
        print(f"{r['workers']:7} {r['rate']:6.0f} {'open' if r['stats'] else '-':>5} "
              f"{'table' if r.get('table') else 'cards':>5} {r['achieved']:6.0f} "
              f"{r['cpu_per_token'] * 1e6:7.1f} {r['core']:5.0%} "
              f"{r['sim_core']:5.0%} {r['fps']:5.1f} {ms(r['key50'])} {ms(r['key99'])} {ms(r['lag50']):>12} {ms(r['lag99'])} {lost:5d}"
              + ("  TIMED OUT" if r["timed_out"] else ""))
    return bad


def print_stats_cost(rows: list[dict]) -> None:
    """Medians with the stats panel open against closed, per configuration."""
    print("\nThe stats panel's cost: medians of the runs with it open vs closed\n")
    configs = sorted({(r["workers"], r["rate"]) for r in rows if "error" not in r})
    for workers, rate in configs:
        med = {}
        for stats in (False, True):
            runs = [r for r in rows if "error" not in r and (r["workers"], r["rate"], r["stats"]) == (workers, rate, stats)]
            if runs:
                med[stats] = {k: statistics.median(r[k] for r in runs) for k in ("core", "cpu_per_token", "key99", "lag99")}
        if len(med) == 2:
            closed, opened = med[False], med[True]
            print(f"{workers}x{rate / 1000:.0f}k: core {closed['core']:.1%} closed, {opened['core']:.1%} open "
                  f"({opened['core'] / closed['core'] - 1:+.1%}); us/tok {closed['cpu_per_token'] * 1e6:.1f} -> "
                  f"{opened['cpu_per_token'] * 1e6:.1f}; key p99 {ms(closed['key99']).strip()} -> {ms(opened['key99']).strip()}; "
                  f"tok->screen p99 {ms(closed['lag99']).strip()} -> {ms(opened['lag99']).strip()}")


def print_pipeline(pipes: list[dict], grid_rows: list[dict]) -> bool:
    print("\nThe same load without the UI (client + system + run store + LiveRun), for scale\n")
    print(f"{'workers':>7} {'tok/s':>6} {'us/tok':>7} {'core':>5} {'with UI us/tok':>15}")
    bad = False
    for p in pipes:
        if "error" in p:
            print(f"FAILED: {p['error']}")
            bad = True
            continue
        ui = next((r for r in grid_rows if r.get("workers") == p["workers"] and r.get("rate") == p["rate"]
                   and "error" not in r), None)
        with_ui = f"{ui['cpu_per_token'] * 1e6:15.1f}" if ui else f"{'-':>15}"
        print(f"{p['workers']:7} {p['rate']:6.0f} {p['cpu_per_token'] * 1e6:7.1f} {p['core']:5.0%} {with_ui}")
        bad |= p["wrong"] > 0
    return bad


def print_stream(r: dict, args: argparse.Namespace) -> bool:
    print(f"\nFocused Markdown pane (StreamView), one {args.stream_tokens}-token answer at "
          f"{args.stream_rate:g} tokens/s; frames and keys while it held N to 1.5N tokens (the last: "
          "its final 10%)\n")
    if "error" in r:
        print(f"FAILED: {r['error']}")
        return True
    print(f"{'tokens':>7} {'frames':>6} {'ms/frame':>9} {'key p50':>8} {'key p99':>8}")
    for row in r["rows"]:
        print(f"{row['mark']:7} {row['frames']:6} {row['frame_ms']:9.2f} {ms(row['key50'])} {ms(row['key99'])}")
    lost = r["lost_chars"] + r["wrong"] + r["wrong_disk"]
    print(f"app CPU {r['cpu_per_token'] * 1e6:.1f} us/token ({r['core']:.0%} of a core); lost {lost}")
    return lost > 0


def ms(value: float) -> str:
    return f"{value * 1000:6.1f}ms" if not math.isnan(value) else f"{'-':>8}"


def summary(rows: list[dict], stream: dict) -> str:
    parts = []
    headline = {}
    for r in rows:
        if "error" not in r and (r["workers"], r["rate"]) in ((64, 20000), (256, 50000), (16, 5000)):
            headline.setdefault((r["workers"], r["rate"]), []).append(r)
    medians = {}
    for (workers, rate), runs in headline.items():
        m = medians[workers, rate] = {k: statistics.median(r[k] for r in runs) for k in ("core", "key99", "lag99")}
        parts.append(f"{workers}x{rate / 1000:.0f}k: {m['core']:.0%} core, key p99 {ms(m['key99']).strip()}, "
                     f"tok->screen p99 {ms(m['lag99']).strip()}" + (f" (medians of {len(runs)})" if len(runs) > 1 else ""))
    rows_s = stream.get("rows", [])
    if len(rows_s) >= 2:
        first, last = rows_s[0], rows_s[-1]
        parts.append(f"pane {first['frame_ms']:.1f}->{last['frame_ms']:.1f} ms/frame "
                     f"({first['mark'] // 1000}k->{last['mark'] // 1000}k tok)")
    ok = all("error" not in r and r["lost_chars"] + r["wrong"] + r["wrong_disk"] == 0 for r in rows)
    targets = {(64, 20000): (0.25, 0.05, 0.1), (256, 50000): (0.40, 0.1, 0.15)}  # core, key p99, tok->screen p99
    for key, (core, key99, lag99) in targets.items():
        m = medians.get(key)
        ok &= m is None or (m["core"] <= core and m["key99"] < key99 and m["lag99"] < lag99)
    if len(rows_s) >= 2:
        ok &= rows_s[-1]["frame_ms"] <= 2 * rows_s[0]["frame_ms"] and rows_s[-1]["key99"] <= 2 * max(rows_s[0]["key99"], 0.01)
    return "tui_load: " + "; ".join(parts) + f" (targets in issue 5): {'MET' if ok else 'MISSED'}"


if __name__ == "__main__":
    sys.exit(main())
