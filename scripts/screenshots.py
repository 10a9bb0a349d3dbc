"""Make the README's screenshots from the real app: SVG from Textual, PNG from the SVG.

    python scripts/screenshots.py            # writes screenshots/*.svg and *.png

The app runs headless against its in-process simulator (demo pacing, one forced fault), in a
throw-away AGENTDECK_HOME, at 80x24 and 160x48. PNG conversion needs ``cairosvg`` (PyPI; it
uses the system's cairo) and a monospace font: the SVG names Fira Code, which is swapped for
DejaVu Sans Mono when converting so the columns line up.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "screenshots"
SIZES = ((80, 24), (160, 48))
PNG_FONT = "DejaVu Sans Mono"

LONG_TEXT = "\n\n".join(
    f"Minutes, section {i}. The board reviewed item {i}: the GPU cluster budget moves by "
    f"{i * 3}% and the on-call rota changes from week {i}. Item {i + 1} waits for a vendor quote."
    for i in range(1, 400)
)

Scene = Callable[..., Awaitable[None]]

BROKEN_CALL = {"fault_schedule": {3: {"fault": "disconnect", "after": 40}}}
SIM_CHANGES = {"chain": {"max_model_len": 4096}, "grid": BROKEN_CALL, "zoom": BROKEN_CALL}
"""Per-scene simulator changes: in the grid, request 3 breaks mid-stream (a failed card next
to live ones); a small context makes the chain cut the text into several chunks."""


async def _ready(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def _send(pilot, prompt: str, system: str, wait: float, **fields: str) -> None:
    from textual.widgets import Input

    from agentdeck.tui.widgets.prompt_box import PromptBox
    from agentdeck.tui.widgets.system_picker import SystemPicker

    screen = pilot.app.screen
    screen.query_one(SystemPicker).system = system
    for name, value in fields.items():
        screen.query_one(f"#{name}", Input).value = value
    screen.query_one(PromptBox).text = prompt
    await pilot.pause()
    await pilot.press("ctrl+s")
    await pilot.pause(wait)


async def scene_basic(pilot, size) -> None:
    await _send(
        pilot, "Explain how vLLM's continuous batching keeps the GPU busy.", "basic", wait=4.0
    )


async def scene_grid(pilot, size) -> None:
    calls = "6" if size[0] < 100 else "12"
    await _send(
        pilot,
        "Write a haiku about KV caches, then explain it.",
        "multi",
        wait=3.5,
        num_calls=calls,
        concurrency="10",
    )


async def scene_chain(pilot, size) -> None:
    path = Path(os.environ["AGENTDECK_HOME"]) / "board-minutes.txt"
    path.write_text(LONG_TEXT)
    await pilot.press("ctrl+o")
    await pilot.press(*str(path))
    await pilot.press("enter")
    await _send(
        pilot, "Which budget changes did the board agree?", "chain", wait=7.0, max_tokens="120"
    )


async def scene_zoom(pilot, size) -> None:
    from agentdeck.tui.widgets.worker_grid import WorkerGrid

    await scene_grid(pilot, size)
    grid = pilot.app.screen.query_one(WorkerGrid)
    grid.focus()
    await pilot.press("enter")
    await pilot.pause(1.0)


async def scene_history(pilot, size) -> None:
    await _send(pilot, "Summarise the release notes in three bullets.", "basic", wait=0)
    await _ready(pilot)
    await _send(
        pilot,
        "Is 2**61 - 1 prime? Answer yes or no first.",
        "debate",
        wait=0,
        num_calls="3",
        rounds="1",
    )
    await _ready(pilot)
    await pilot.press("f3")
    await pilot.pause(0.5)


async def scene_table(pilot, size) -> None:
    """64 workers: more than the cards can show, so the table is the default view."""
    await _send(pilot, "Name one use of a KV cache, in one sentence.", "multi", wait=3.0,
                num_calls="64", concurrency="64")


async def scene_stats(pilot, size) -> None:
    """F8: the run's figures and charts beside the streaming text."""
    await _send(pilot, "Write a haiku about KV caches, then explain it.", "multi", wait=1.0,
                num_calls="8", concurrency="8")
    await pilot.press("f8")
    await pilot.pause(2.5)


async def scene_compare(pilot, size) -> None:
    """Two temperatures on one model, side by side, streaming."""
    await _send(pilot, "What is 6 times 7? Answer with the number.", "compare", wait=1.5,
                num_calls="4", targets="temperature=0.2; temperature=0.8")


async def scene_settings(pilot, size) -> None:
    await pilot.press("f2")
    await pilot.pause(0.5)


SCENES: dict[str, Scene] = {
    "basic": scene_basic,
    "grid": scene_grid,
    "chain": scene_chain,
    "zoom": scene_zoom,
    "history": scene_history,
    "settings": scene_settings,
    "table": scene_table,
    "stats": scene_stats,
    "compare": scene_compare,
}


async def shoot(name: str, scene: Scene, size: tuple[int, int]) -> Path:
    """Run the app at ``size`` through ``scene`` and save an SVG of the screen."""
    from agentdeck.config.settings import load_settings
    from agentdeck.sim import SimConfig
    from agentdeck.tui.app import AgentDeckApp

    sim = SimConfig.demo(**SIM_CHANGES.get(name, {}))
    app = AgentDeckApp(load_settings(env={}), demo=True, sim_config=sim)
    filename = f"{name}-{size[0]}x{size[1]}.svg"
    async with app.run_test(size=size) as pilot:
        await _ready(pilot)
        await scene(pilot, size)
        app.save_screenshot(filename=filename, path=str(OUT))
        for screen in app.screen_stack:
            cancel = getattr(screen, "cancel_and_wait", None)
            if cancel is not None:
                await cancel()
    return OUT / filename


def to_png(svg: Path) -> Path:
    """Render ``svg`` to a PNG beside it (2x scale for crisp text)."""
    import cairosvg

    text = svg.read_text(encoding="utf-8").replace("Fira Code", PNG_FONT)
    png = svg.with_suffix(".png")
    cairosvg.svg2png(bytestring=text.encode("utf-8"), write_to=str(png), scale=1.5)
    return png


async def main(names: list[str]) -> None:
    OUT.mkdir(exist_ok=True)
    for name in names or list(SCENES):
        for size in SIZES:
            svg = await shoot(name, SCENES[name], size)
            png = to_png(svg)
            print(f"{svg.relative_to(OUT.parent)}  {png.relative_to(OUT.parent)}")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="agentdeck-shots-") as home:
        os.environ["AGENTDECK_HOME"] = home
        for var in [v for v in os.environ if v.startswith(("VLLM_", "OPENAI_"))]:
            del os.environ[var]
        asyncio.run(main(sys.argv[1:]))
