"""History at scale: listing and searching a run store of N runs (default 10,000).

Writes N synthetic run folders (a manifest and 4 workers' texts each, ~2 KB of words apiece)
into a temporary store, then times what History and ``agentdeck runs list --search`` do:

* list: ``RunStore.list_runs()`` (every ``run.json`` read) and History's rows from it;
* search, cold: the first search, which reads every run's texts to build the index;
* search, warm: a word, a phrase and a miss, with the index read back from disk (a new app);
* the same searches without the index (``RunInfo.mentions`` over every run, the files only).

    python benchmarks/history_search.py                # 10,000 runs
    python benchmarks/history_search.py --runs 500 --quick
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from pathlib import Path

WORDS = ["batch", "token", "cache", "kernel", "prefill", "decode", "tensor", "shard", "replica", "router", "latency", "throughput", "scheduler", "eviction", "paged", "attention", "sampler", "logits", "prompt", "stream"]


def write_store(root: Path, runs: int) -> None:
    rng = random.Random(7)
    for n in range(runs):
        run_id = f"20260101-{n:06d}-multi-{n:06x}"
        folder = root / run_id
        folder.mkdir(parents=True)
        workers = []
        for w in range(1, 5):
            name = f"call-{w:02d}"
            text = " ".join(rng.choice(WORDS) for _ in range(300))
            (folder / f"{name}.md").write_text(text)
            workers.append({"id": name, "status": "done", "file": f"{name}.md",
                            "chars": len(text)})
        manifest = {"format": 2, "run_id": run_id, "system": "multi", "status": "done",
                    "created_at": 1.79e9 + n, "model": "m", "endpoint": "http://h:8000/v1",
                    "prompts": {"prompt": f"question {n} about {rng.choice(WORDS)}"},
                    "params": {}, "workers": workers, "steps": [],
                    "summary": {"wall_s": 1.0, "output_tokens": 1200}}
        (folder / "run.json").write_text(json.dumps(manifest))
    # One needle, in one worker's text of one run.
    needle = root / f"20260101-{runs // 2:06d}-multi-{runs // 2:06x}" / "call-03.md"
    needle.write_text(needle.read_text() + " the walrus sang at dawn")


def timed(label: str, fn, rows: list) -> object:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn()
    rows.append((label, time.perf_counter() - start, out))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--quick", action="store_true", help="200 runs (CI smoke test)")
    args = ap.parse_args()
    runs = 200 if args.quick else args.runs

    from agentdeck.store.runs import RunStore
    from agentdeck.store.search import SearchIndex, search_runs
    from agentdeck.tui.run_rows import RunRow

    tmp = Path(tempfile.mkdtemp(prefix="agentdeck-history-"))
    try:
        root = tmp / "runs"
        start = time.perf_counter()
        write_store(root, runs)
        print(f"{runs:,} runs written in {time.perf_counter() - start:.1f} s")
        store = RunStore(root)
        rows: list = []
        infos = timed("list_runs (every run.json)", store.list_runs, rows)
        timed("History rows from them", lambda: [RunRow.of(i) for i in infos], rows)
        timed("search 'walrus', cold (builds the index)",
              lambda: len(search_runs(root, infos, "walrus")), rows)
        fresh = store.list_runs()  # a new app: nothing cached in memory
        index = SearchIndex(root)
        for needle in ("walrus", "walrus sang", "zebra", "cache"):
            timed(f"search {needle!r}, warm (index from disk)",
                  lambda n=needle: len(search_runs(root, fresh, n, index)), rows)
        for needle in ("walrus", "walrus sang"):
            timed(f"search {needle!r} without the index (the files only)",
                  lambda n=needle: sum(1 for i in store.list_runs() if i.mentions(n)), rows)
        size = (root / ".search-index.json").stat().st_size
        print(f"\n{'what':<52} {'seconds':>8} {'result':>8}")
        for label, seconds, out in rows:
            shown = out if isinstance(out, int) else len(out)
            print(f"{label:<52} {seconds:8.3f} {shown:>8}")
        warm = max(seconds for label, seconds, _ in rows if "warm" in label)
        plain = max(seconds for label, seconds, _ in rows if "without" in label)
        cold = next(seconds for label, seconds, _ in rows if "cold" in label)
        print(f"\nindex: {size / 1e6:.1f} MB for {runs:,} runs")
        print(f"history_search: {runs:,} runs, a search {warm:.3f} s with the index "
              f"({plain:.3f} s from the files alone), the index built once in {cold:.2f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
