"""Resident memory of live cards and of a long zoomed transcript: agentdeck vs stock Textual.

Every configuration runs in its own subprocess, headless (``App.run_test``, 160x48), so each
figure is a clean difference of RSS: after the app is up and the text is generated, versus
after the widgets were mounted, fed as a 20 Hz flush would feed them, painted, and scrolled
through end to end (so every card was drawn at least once). Text is the simulator's own
markdown-ish generator (~4 characters a token). Baselines run in the same invocation:

* cards, N workers x 10k tokens: ``plain`` (agentdeck's LiveRun buffers alone, no widget),
  ``grid`` (LiveRun + WorkerGrid, what the app shows), one stock ``Log`` per card, one stock
  ``RichLog`` per card (the stock ones at the smallest count only: their cost per card is flat
  and at 256 cards they take minutes);
* one zoomed transcript of 50k tokens: agentdeck's ``StreamView`` vs stock ``Markdown`` fed
  through ``Markdown.get_stream``.

    python benchmarks/memory.py                 # 64 and 256 cards, one 50k-token transcript
    python benchmarks/memory.py --workers 64 --kinds grid,log
    python benchmarks/memory.py --quick         # smoke test (CI)

RSS counts memory Python freed but kept in its arenas, as the user's machine does. Children run
two at a time (``--jobs``); RSS is per process, so that changes no figure. Linux only (reads
/proc/self/statm). Exits 1 if a configuration failed or lost text.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

CARD_KINDS = ("plain", "grid", "log", "richlog")
STREAM_KINDS = ("streamview", "markdown")
SIZE = (160, 48)
STOCK_FRAME = int(os.environ.get("BENCH_STOCK_FRAME", "100"))
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    """Resident set size of this process in bytes, after a full collection."""
    gc.collect()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def text_pieces(tokens: int, seed: int = 7) -> list[str]:
    """``tokens`` pieces of the simulator's text."""
    from agentdeck.sim.text import generate_tokens

    return generate_tokens(seed, "memory benchmark for live cards", 0, tokens)[1]


def frames(pieces: list[str], per_frame: int) -> list[str]:
    """The pieces grouped as one 20 Hz flush would deliver them."""
    return ["".join(pieces[i : i + per_frame]) for i in range(0, len(pieces), per_frame)]


# ---------------------------------------------------------------------------------- children


async def child_cards(kind: str, workers: int, tokens: int) -> dict:
    """Mount ``workers`` cards of ``kind``, feed each ``tokens`` tokens, return RSS figures."""
    from textual.app import App
    from textual.containers import Grid
    from textual.widgets import Log, RichLog

    from agentdeck.events import TextDelta, WorkerQueued, WorkerStarted
    from agentdeck.tui.live import LiveRun
    from agentdeck.tui.widgets.worker_grid import WorkerGrid

    pieces = text_pieces(tokens)
    expected = "".join(pieces)
    # agentdeck's buffers get every token as its own event and the grid a flush per 25 tokens
    # (20 Hz at 500 tokens/s a card); stock widgets get 100-token writes to keep the run short.
    # Bigger writes make them lighter (measured 25 vs 100: RichLog -26%, Log -12%), so the
    # baselines flatter the stock widgets if anything.
    per_frame = 25
    chunks = frames(pieces, per_frame if kind in ("plain", "grid") else STOCK_FRAME)

    class Host(App):
        CSS = "Grid { grid-size: 4; grid-rows: 8; height: 1fr; overflow-y: auto; } Log, RichLog { height: 8; }"

    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        before = rss()
        t0 = time.process_time()
        live = LiveRun()
        texts: list[str] = []
        if kind in ("plain", "grid"):
            grid = None
            if kind == "grid":
                grid = WorkerGrid(live)
                await app.mount(grid)
            ids = [f"call-{i + 1:02d}" for i in range(workers)]
            for wid in ids:
                live(WorkerQueued("bench", wid, wid))
                live(WorkerStarted("bench", wid))
            for f, _ in enumerate(chunks):
                for wid in ids:
                    for piece in pieces[f * per_frame : (f + 1) * per_frame]:
                        live(TextDelta("bench", wid, piece, "", 0.0))
                if grid is not None:
                    grid.flush()
                    if f % 20 == 0:
                        await pilot.pause()
            if grid is not None:
                await scroll_through(pilot, grid)
            texts = [live.buffers[wid].text for wid in ids]
        else:
            container = Grid()
            await app.mount(container)
            cards = [Log() if kind == "log" else RichLog(wrap=True, markup=False) for _ in range(workers)]
            await container.mount_all(cards)
            await pilot.pause()
            for f, chunk in enumerate(chunks):
                for card in cards:
                    card.write(chunk)
                if f % 20 == 0:
                    await pilot.pause()
            await scroll_through(pilot, container)
            if kind == "log":
                texts = ["\n".join(card.lines) for card in cards]  # type: ignore[attr-defined]
        cpu = time.process_time() - t0
        after = rss()
    lost = sum(1 for t in texts if t.replace("\n", "") != expected.replace("\n", ""))
    return {"before": before, "after": after, "count": workers, "chars": len(expected), "lost": lost, "cpu": cpu}


async def child_stream(kind: str, tokens: int) -> dict:
    """One zoomed transcript of ``tokens`` tokens in ``kind``; return RSS figures."""
    from textual.app import App
    from textual.widgets import Markdown

    from agentdeck.events import TextDelta, WorkerStarted
    from agentdeck.tui.live import LiveRun, WorkerBuffer
    from agentdeck.tui.widgets.stream_view import StreamView

    pieces = text_pieces(tokens)
    expected = "".join(pieces)
    # StreamView is flushed per frame like the app does; stock Markdown gets 2500-token writes,
    # or its per-write reparse would take minutes (fewer writes also flatter its memory).
    chunks = frames(pieces, 100 if kind == "streamview" else 2500)
    app = App()
    async with app.run_test(size=SIZE) as pilot:
        # Warm up: lazy imports and parser set-up are paid once per process, not per token.
        warm = StreamView(WorkerBuffer.from_text("w", expected[:2000])) if kind == "streamview" else Markdown(expected[:2000])
        await app.mount(warm)
        await pilot.pause()
        await warm.remove()
        await pilot.pause()
        before = rss()
        t0 = time.process_time()
        lost = 0
        if kind == "streamview":
            live = LiveRun()
            live(WorkerStarted("bench", "agent"))
            view = StreamView()
            await app.mount(view)
            view.set_source(live.buffers["agent"])
            for f, chunk in enumerate(chunks):
                live(TextDelta("bench", "agent", chunk, "", 0.0))
                view.flush()
                if f % 10 == 0:
                    await pilot.pause()
            await pilot.pause()
            lost = int(live.buffers["agent"].text != expected)
        else:
            view = Markdown()
            await app.mount(view)
            stream = Markdown.get_stream(view)
            for chunk in chunks:
                await stream.write(chunk)
            await stream.stop()
            await pilot.pause()
            lost = int(view.source != expected)
        cpu = time.process_time() - t0
        after = rss()
    return {"before": before, "after": after, "count": 1, "chars": len(expected), "lost": lost, "cpu": cpu}


async def scroll_through(pilot, widget) -> None:
    """Page from top to bottom so every card is drawn once (worst case for caches)."""
    widget.scroll_home(animate=False)
    await pilot.pause()
    while widget.scroll_y < widget.max_scroll_y:
        last = widget.scroll_y
        widget.scroll_page_down(animate=False)
        await pilot.pause()
        if widget.scroll_y <= last:
            raise RuntimeError(f"{type(widget).__name__} does not scroll")


def run_child(args: argparse.Namespace) -> None:
    if args.child in CARD_KINDS:
        out = asyncio.run(child_cards(args.child, args.workers, args.tokens))
    else:
        out = asyncio.run(child_stream(args.child, args.tokens))
    print(json.dumps(out))


# ---------------------------------------------------------------------------------- parent


def measure(kind: str, workers: int, tokens: int) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--workers", str(workers), "--tokens", str(tokens)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", default="64,256", help="card counts")
    ap.add_argument("--tokens", type=int, default=10_000, help="tokens per card")
    ap.add_argument("--stream-tokens", type=int, default=50_000, help="tokens of the zoomed transcript")
    ap.add_argument("--kinds", default=",".join(CARD_KINDS + STREAM_KINDS))
    ap.add_argument("--jobs", type=int, default=2, help="children measured side by side")
    ap.add_argument("--quick", action="store_true", help="tiny run for the CI smoke test")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.workers, args.tokens, args.stream_tokens = "8", 1000, 3000
        args.kinds = "plain,grid,log,streamview,markdown"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        args.workers = int(args.workers)
        run_child(args)
        return 0
    kinds = [k for k in args.kinds.split(",") if k]
    counts = [int(w) for w in args.workers.split(",") if w]
    jobs: list[tuple[str, str, int, int, dict, object]] = []
    per_card: dict[tuple[str, int], float] = {}
    stream: dict[str, float] = {}
    for workers in counts:
        for kind in [k for k in kinds if k in CARD_KINDS]:
            if kind in ("log", "richlog") and workers != min(counts):
                continue  # stock baselines cost minutes at 256; their per-card figure is flat
            jobs.append((f"{kind}, {workers} cards x {args.tokens // 1000}k tok", kind, workers, args.tokens,
                         per_card, (kind, workers)))
    for kind in [k for k in kinds if k in STREAM_KINDS]:
        jobs.append((f"{kind}, {args.stream_tokens // 1000}k-token transcript", kind, 1, args.stream_tokens,
                     stream, kind))
    # Two children at a time: RSS is per process, so running side by side changes no figure.
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda job: measure(*job[1:4]), jobs))
    print(f"\nRSS growth, headless app {SIZE[0]}x{SIZE[1]}, each configuration in its own process\n")
    print(f"{'configuration':34} {'text MB':>8} {'RSS MB':>8} {'MB each':>8} {'vs text':>8} {'CPU s':>6}")
    bad = False
    for job, out in zip(jobs, results):
        bad |= show(job[0], out, job[4], job[5])
    print("\n" + summary(per_card, stream, args))
    return 1 if bad else 0


def show(label: str, out: dict, table: dict, key: object) -> bool:
    """Print one row; record MB per item in ``table``; True when it failed or lost text."""
    if "error" in out:
        print(f"{label:34} FAILED: {out['error']}")
        return True
    grown = (out["after"] - out["before"]) / 2**20
    each = grown / out["count"]
    text_mb = out["chars"] / 2**20
    table[key] = each
    print(f"{label:34} {text_mb * out['count']:8.1f} {grown:8.1f} {each:8.3f} {each / text_mb:7.1f}x {out['cpu']:6.1f}"
          + ("  LOST TEXT" if out["lost"] else ""))
    return bool(out["lost"])


def summary(per_card: dict, stream: dict, args: argparse.Namespace) -> str:
    parts = []
    for (kind, workers), each in per_card.items():
        if kind == "grid":
            log = per_card.get(("log", workers))
            vs = f" (Log {log:.2f})" if log else ""
            parts.append(f"grid {each:.2f} MB/card at {workers}{vs}")
    if "streamview" in stream:
        md = stream.get("markdown")
        vs = f" (Markdown {md:.0f} MB)" if md else ""
        parts.append(f"{args.stream_tokens // 1000}k transcript {stream['streamview']:.1f} MB{vs}")
    grid_ok = all(v <= 0.3 for (k, _), v in per_card.items() if k == "grid")
    view_ok = stream.get("streamview", 0) < 30
    verdict = "MET" if grid_ok and view_ok else "MISSED"
    return "memory: " + "; ".join(parts) + f" (target <=0.3 MB/card, <30 MB): {verdict}"


if __name__ == "__main__":
    sys.exit(main())
