"""Deterministic apps for snapshots: a fixed connection (no sockets) and runs built from events.

Every timestamp is given explicitly and the live clock is frozen by the snapshot tests, so
tokens/s, TTFT and the status line read the same on every machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentdeck.config.settings import load_settings
from agentdeck.connect import ServerStatus
from agentdeck.errors import ConnectError
from agentdeck.events import (
    FirstToken,
    Retrying,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    TextDelta,
    WorkerFailed,
    WorkerFinished,
    WorkerQueued,
    WorkerStarted,
)
from agentdeck.store.runs import RunStore
from agentdeck.store.summary import RunSummary
from agentdeck.tui.app import AgentDeckApp
from agentdeck.tui.live import LiveRun
from agentdeck.tui.screens.main import MainScreen
from agentdeck.tui.widgets.output_pane import OutputPane
from agentdeck.tui.widgets.prompt_box import PromptBox
from agentdeck.tui.widgets.system_picker import SystemPicker
from agentdeck.types import StreamMetrics, Usage

T0 = 1000.0
"""Every synthetic run starts here on the frozen clock."""
CLOCK = T0 + 10.0
"""What the frozen clock reads while the snapshot is taken."""

HOSTILE = (
    "Model output with [bold red]markup[/] and [link=https://evil.example]a link[/link].\n"
    "ANSI: \x1b[31mred?\x1b[0m \x1b[2J cleared? \x1b]0;new title\x07 "
    "OSC 52: \x1b]52;c;cHduZWQ=\x07 bell\x07 backspace\x08 NUL\x00 CR\rdone\n"
    "Bidi: \u202edesrever\u202c · CJK 漢字かな · emoji 🚀✨ · tab\tstop\n\n"
    "# A heading\n\n**bold markdown** and `code [red]x[/]`\n"
)

ESSAY = (
    "Batching decides most of the cost. vLLM keeps a running batch and adds new requests "
    "between decoding steps, so a short prompt does not wait for a long one to finish.\n\n"
    "- Continuous batching keeps the GPU busy.\n- Paged attention keeps the KV cache dense.\n"
    "- Prefix caching reuses a shared context.\n\nIn practice the numbers to watch are the "
    "queue length and the KV-cache use: when the cache fills, requests wait."
)


class FixedModel:
    model_name = "Qwen/Qwen3-8B"
    base_url = "http://gpu-box:8000/v1"


class FixedConnection:
    """Stands in for the app's ``Connection`` in snapshots: connected, healthy, no sockets."""

    demo = False
    uses_sim = False
    picked_first = False
    sim = None
    model = FixedModel()
    profile_name = "gpu-box"

    async def open(self, settings: Any = None) -> None:
        return None

    async def poll(self) -> ServerStatus:
        return ServerStatus(healthy=True, latency_ms=4, running=6, waiting=2, kv_cache=0.41)

    async def close(self) -> None:
        return None


def fixed_app(tmp: Path) -> AgentDeckApp:
    """The app with the fixed connection and a config path that reads the same everywhere."""
    settings = load_settings(env={}, path=Path("/home/user/.config/agentdeck/config.toml"))
    app = AgentDeckApp(settings, store=RunStore(tmp / "runs"))
    app.connection = FixedConnection()  # type: ignore[assignment]
    return app


def _stream(live: Any, wid: str, text: str, start: float, rate: float = 50.0,
            ttft: float = 0.3) -> float:
    """Feed ``text`` word by word at ``rate`` tokens/s; return the time of the last piece."""
    t = start
    live(WorkerStarted("run", wid, t=t))
    t += ttft
    live(FirstToken("run", wid, ttft=ttft, t=t))
    for word in text.split(" "):
        live(TextDelta("run", wid, word + " ", "", t))
        t += 1 / rate
    return t


def _done(live: Any, wid: str, t: float, tokens: int, ttft: float = 0.3) -> None:
    metrics = StreamMetrics(
        ttft=ttft,
        e2e=t - T0,
        itl_mean=0.02,
        itl_p99=0.05,
        tpot=0.02,
        output_tokens=tokens,
        tokens_per_s=tokens / (t - T0),
    )
    live(WorkerFinished("run", wid, "stop", Usage(20, tokens, 20 + tokens), metrics, t=t))


def grid_run() -> LiveRun:
    """Six calls caught mid-run: done, streaming, waiting, retrying, queued and failed."""
    live = LiveRun()
    ids = [f"call-0{i}" for i in range(1, 7)]
    live(RunStarted("20261125-181848-multi-4e4a66", "multi", tuple(ids), t=T0))
    for i, wid in enumerate(ids, 1):
        live(WorkerQueued("run", wid, f"call {i}", t=T0))
    t = _stream(live, "call-01", ESSAY, T0)
    _done(live, "call-01", t, len(ESSAY.split(" ")))
    _stream(live, "call-02", ESSAY[:300], T0, rate=40)
    _stream(live, "call-03", HOSTILE, T0, rate=30)
    live(WorkerStarted("run", "call-04", t=T0 + 2))
    live(
        Retrying(
            2,
            4,
            1.5,
            "RateLimitError: 429 Too Many Requests",
            t=T0 + 3,
            run_id="run",
            worker_id="call-05",
        )
    )
    partial = "The first part arrived before the connection"
    _stream(live, "call-06", partial, T0)
    error = ConnectError("connection refused by 10.0.0.7:8000 (is the server up?)")
    live(WorkerFailed("run", "call-06", error, partial=partial, t=T0 + 4))
    return live


def stream_run(text: str = HOSTILE) -> LiveRun:
    """One basic agent that finished with ``text``, with some reasoning first."""
    live = LiveRun()
    live(RunStarted("20261125-181836-basic-a0d734", "basic", ("agent",), t=T0))
    live(WorkerQueued("run", "agent", "agent", t=T0))
    live(WorkerStarted("run", "agent", t=T0))
    live(TextDelta("run", "agent", "", "The user wants the text shown as it is. ", T0 + 0.2))
    t = _stream(live, "agent", text, T0 + 0.5)
    _done(live, "agent", t, 120)
    return live


def chain_run() -> LiveRun:
    """A chain over three chunks: two done, the third streaming, the manager queued."""
    live = LiveRun()
    ids = ("chunk-1", "chunk-2", "chunk-3", "manager")
    live(RunStarted("20261125-182001-chain-77aa01", "chain", ids, t=T0))
    for step, wid in enumerate(ids, 1):
        label = "manager" if wid == "manager" else f"chunk {step}/3"
        live(WorkerQueued("run", wid, label, step=step, t=T0))
    for step, wid in enumerate(ids[:2], 1):
        live(StepStarted("run", step, 3, f"chunk {step}/3", wid, t=T0))
        t = _stream(live, wid, f"Unit {step}: budgets agreed for items 1 to {step * 20}.", T0)
        _done(live, wid, t, 12)
        live(StepFinished("run", step, f"Unit {step}: items 1-{step * 20} funded.", wid, t=t))
    live(StepStarted("run", 3, 3, "chunk 3/3", "chunk-3", t=T0 + 5))
    _stream(live, "chunk-3", ESSAY[:200], T0 + 5)
    return live


def steady(pilot: Any) -> None:
    """Stop cursors blinking: a snapshot must not depend on when in the blink it was taken."""
    for widget in pilot.app.screen.query("TextArea, Input"):
        widget.cursor_blink = False


async def show(pilot: Any, live: LiveRun, system: str, prompt: str = "") -> None:
    """Put ``live`` on the main screen as if it had just run there."""
    screen = pilot.app.screen
    assert isinstance(screen, MainScreen)
    screen.query_one(SystemPicker).system = system
    if prompt:
        screen.query_one(PromptBox).text = prompt
    screen.live = live
    steady(pilot)
    screen.query_one(OutputPane).show(live, system)
    screen.wake_frames()  # as a run starting does
    # Views wrap to their width: flush again once layout has settled, as the frame timer would.
    for _ in range(3):
        await pilot.pause(0.06)
        screen.flush_frame()
    await pilot.pause()


class Tee:
    """One listener feeding a run's events to its fold and to its summary, as ``Run`` does."""

    def __init__(self) -> None:
        self.live = LiveRun()
        self.summary = RunSummary()

    def __call__(self, event: Any) -> None:
        self.summary(event)
        self.live(event)


def _calls(tee: Tee, run_id: str, texts: list[str], ttfts: list[float] | None = None) -> None:
    """Multi-call workers ``call-01``... that each stream and finish one of ``texts``."""
    ids = [f"call-0{i}" for i in range(1, len(texts) + 1)]
    tee(RunStarted(run_id, "multi", tuple(ids), t=T0))
    for i, (wid, text) in enumerate(zip(ids, texts)):
        tee(WorkerQueued("run", wid, f"call {i + 1}", t=T0))
        ttft = ttfts[i] if ttfts else 0.3
        t = _stream(tee, wid, text, T0 + 0.2 * i, ttft=ttft)
        _done(tee, wid, t, len(text.split(" ")), ttft=ttft)


def vote_run() -> LiveRun:
    """Five calls voted on: 42 three times, 41 and 40 once; the run is done."""
    tee = Tee()
    finals = ["42", "41", "42", "40", "42"]
    _calls(tee, "20261125-190002-multi-5c11aa",
           [f"Six sevens: 6 x 7 = {a}. Checked twice.\n\nAnswer: {a}" for a in finals])
    tee(StepStarted("run", 1, 1, "vote", "aggregate", t=T0 + 6))
    tee(StepFinished("run", 1, "42", "aggregate", t=T0 + 6))
    tee(RunFinished("run", "done", t=T0 + 6))
    return tee.live


def select_run() -> LiveRun:
    """Three calls and a judge that named the second response; the run is done."""
    tee = Tee()
    paragraphs = ESSAY.split("\n\n")
    _calls(tee, "20261125-190104-multi-9e0b21", paragraphs)
    tee(StepStarted("run", 1, 1, "select", "aggregate", t=T0 + 6))
    tee(WorkerQueued("run", "aggregate", "select", step=1, t=T0 + 6))
    t = _stream(tee, "aggregate", "The most consistent response is Response 2", T0 + 6)
    _done(tee, "aggregate", t, 7)
    tee(StepFinished("run", 1, paragraphs[1], "aggregate", t=t))
    tee(RunFinished("run", "done", t=t))
    return tee.live


def debate_run() -> LiveRun:
    """Three seats, one revision: 42, 41, 42, then all three say 42; the run is done."""
    tee = Tee()
    ids = tuple(f"seat{s}-r{r}" for r in range(2) for s in range(1, 4))
    tee(RunStarted("20261125-190230-debate-d3b4e5", "debate", ids, t=T0))
    said = {0: ["42", "41", "42"], 1: ["42", "42", "42"]}
    for r in range(2):
        tee(StepStarted("run", r + 1, 2, f"round {r}: " + ("independent answers" if r == 0
                                                           else "revision 1"), t=T0 + 3 * r))
        for s in range(1, 4):
            wid = f"seat{s}-r{r}"
            tee(WorkerQueued("run", wid, f"seat {s} round {r}", step=r + 1, t=T0 + 3 * r))
            text = f"Seat {s} works it out: 6 x 7 = {said[r][s - 1]}.\n\nAnswer: {said[r][s - 1]}"
            t = _stream(tee, wid, text, T0 + 3 * r)
            _done(tee, wid, t, 12)
        tee(StepFinished("run", r + 1, "round text", t=T0 + 3 * r + 2))
    tee(RunFinished("run", "done", t=T0 + 6))
    return tee.live


def stats_run() -> Tee:
    """Eight calls mid-run, TTFTs spread from 0.1 s to 1.5 s: a live summary to chart."""
    tee = Tee()
    texts = [ESSAY[: 120 + 40 * i] for i in range(8)]
    _calls(tee, "20261125-190300-multi-0f1e2d", texts[:6],
           ttfts=[0.1, 0.2, 0.2, 0.3, 0.6, 1.5])
    for i, wid in ((7, "call-07"), (8, "call-08")):
        tee(WorkerQueued("run", wid, f"call {i}", t=T0))
        _stream(tee, wid, texts[i - 1], T0 + 1, rate=30, ttft=0.4)
    return tee
