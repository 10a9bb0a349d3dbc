"""StreamView: Markdown while streaming, frozen finished blocks, literal text, auto-scroll."""

from __future__ import annotations

from textual.app import App, ComposeResult

from agentdeck.events import TextDelta, WorkerStarted
from agentdeck.tui.live import LiveRun, WorkerBuffer
from agentdeck.tui.widgets import markdown_blocks
from agentdeck.tui.widgets.stream_view import StreamView

RUN = "run-1"


class StreamApp(App[None]):
    def compose(self) -> ComposeResult:
        yield StreamView()


def lines(view: StreamView) -> list[str]:
    return ["".join(s.text for s in view.render_line(y)) for y in range(view.size.height)]


def streaming(*pieces: str, reasoning: str = "") -> tuple[LiveRun, WorkerBuffer]:
    live = LiveRun()
    live(WorkerStarted(RUN, "agent"))
    if reasoning:
        live(TextDelta(RUN, "agent", "", reasoning, 0.0))
    for piece in pieces:
        live(TextDelta(RUN, "agent", piece, "", 0.0))
    return live, live.buffers["agent"]


def say(live: LiveRun, text: str) -> None:
    live(TextDelta(RUN, "agent", text, "", 0.0))


async def test_markdown_renders_while_streaming() -> None:
    live, buf = streaming("# Plan\n\nSome **bold** words.\n\n- one\n- tw")
    app = StreamApp()
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(StreamView)
        view.set_source(buf)
        await pilot.pause()
        text = "\n".join(lines(view))
        assert "Plan" in text and "# Plan" not in text
        assert "Some bold words." in text and "**" not in text
        assert "• one" in text and "• tw" in text
        say(live, "o\n")
        view.flush()
        await pilot.pause()
        assert "• two" in "\n".join(lines(view))


async def test_finished_blocks_are_rendered_once(monkeypatch) -> None:
    sources: list[str] = []
    real = markdown_blocks.render_markdown

    def counting(console, source, *args, **kwargs):
        sources.append(source)
        return real(console, source, *args, **kwargs)

    monkeypatch.setattr("agentdeck.tui.widgets.stream_view.render_markdown", counting)
    live, buf = streaming("First paragraph, finished.\n\n```python\nx = 1\n```\n\nLive ")
    app = StreamApp()
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(StreamView)
        view.set_source(buf)
        for word in "block keeps growing word by word".split():
            say(live, word + " ")
            view.flush()
            await pilot.pause()
        assert sources.count("First paragraph, finished.") == 1
        assert sources.count("```python\nx = 1\n```") == 1
        assert sum(1 for s in sources if s.startswith("Live")) >= 6  # the live block, per flush
        assert "Live block keeps growing word by word" in "\n".join(lines(view))


async def test_a_width_change_renders_frozen_blocks_again_at_the_new_width() -> None:
    live, buf = streaming("word " * 40 + "\n\nnext block\n\n")
    app = StreamApp()
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(StreamView)
        view.set_source(buf)
        await pilot.pause()
        narrow = view.virtual_size.height
        await pilot.resize_terminal(120, 20)
        await pilot.pause()
        assert view.virtual_size.height < narrow
        assert all(len(line) == view.scrollable_content_region.width for line in lines(view))


async def test_markup_html_and_escape_codes_are_shown_literally() -> None:
    live, buf = streaming("[bold red]not markup[/] <b>tag</b> \x1b[2J\x1b]0;title\x07 end\n\n")
    app = StreamApp()
    async with app.run_test(size=(80, 10)) as pilot:
        view = app.query_one(StreamView)
        view.set_source(buf)
        await pilot.pause()
        strips = [view.render_line(y) for y in range(view.size.height)]
        text = "\n".join("".join(s.text for s in strip) for strip in strips)
        assert "[bold red]not markup[/]" in text
        assert "<b>tag</b>" in text  # Rich alone would silently drop the tags
        assert "␛[2J␛]0;title␇ end" in text
        assert not any(ch in text for ch in "\x1b\x07")
        assert not any(seg.style and seg.style.bold for strip in strips for seg in strip)


async def test_long_fenced_code_keeps_the_live_block_small() -> None:
    code = "".join(f"line_{i} = {i}\n" for i in range(300))
    live, buf = streaming("```python\n" + code)
    app = StreamApp()
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(StreamView)
        view.set_source(buf)
        await pilot.pause()
        assert len(view._answer.live) <= markdown_blocks.MAX_LIVE_LINES + 2
        assert "line_299 = 299" in "\n".join(lines(view))  # followed to the end


async def test_autoscroll_stops_when_scrolled_up_and_resumes_at_the_bottom() -> None:
    live, buf = streaming(*(f"Paragraph {i}.\n\n" for i in range(40)))
    app = StreamApp()
    async with app.run_test(size=(60, 12)) as pilot:
        view = app.query_one(StreamView)
        view.focus()
        view.set_source(buf)
        await pilot.pause()
        assert view.follow and view.scroll_y == view.max_scroll_y > 0
        await pilot.press("pageup")
        await pilot.pause()
        assert not view.follow
        held = view.scroll_y
        say(live, "More text arrives.\n\n")
        view.flush()
        await pilot.pause()
        assert view.scroll_y == held  # the reader keeps their place
        await pilot.press("end")
        await pilot.pause()
        assert view.follow
        say(live, "Latest line.\n\n")
        view.flush()
        await pilot.pause()
        assert view.scroll_y == view.max_scroll_y
        assert "Latest line." in "\n".join(lines(view))


async def test_reasoning_folds_once_the_answer_starts_and_toggles() -> None:
    live, buf = streaming(reasoning="Thinking about primes.")
    app = StreamApp()
    async with app.run_test(size=(60, 12)) as pilot:
        view = app.query_one(StreamView)
        view.focus()
        view.set_source(buf)
        await pilot.pause()
        text = "\n".join(lines(view))
        assert "▼ Reasoning" in text and "Thinking about primes." in text
        say(live, "The answer is 7.")
        view.flush()
        await pilot.pause()
        text = "\n".join(lines(view))
        assert "▶ Reasoning" in text and "Thinking about" not in text
        assert "The answer is 7." in text
        await pilot.press("t")
        await pilot.pause()
        text = "\n".join(lines(view))
        assert "Thinking about primes." in text and "The answer is 7." in text


async def test_a_saved_transcript_shows_whole() -> None:
    buf = WorkerBuffer.from_text("call-01", "## Saved\n\nAll of it.")
    app = StreamApp()
    async with app.run_test(size=(60, 12)) as pilot:
        view = app.query_one(StreamView)
        view.set_source(buf)
        await pilot.pause()
        text = "\n".join(lines(view))
        assert "Saved" in text and "All of it." in text


async def test_a_long_transcript_opens_at_once_and_renders_the_rest_later() -> None:
    text = "\n\n".join(f"Paragraph number {i} of the transcript." for i in range(400))
    buf = WorkerBuffer.from_text("call-01", text)
    app = StreamApp()
    async with app.run_test(size=(60, 12)) as pilot:
        view = app.query_one(StreamView)
        view.focus()
        view.set_source(buf)
        await pilot.pause()
        assert view.renders < 40  # only what shows, not 400 blocks
        assert "Paragraph number 399 of the transcript." in "\n".join(lines(view))
        await pilot.press("home")
        await pilot.pause()
        assert "Paragraph number 0 of the transcript." in "\n".join(lines(view))
        while view._answer.stale:
            view.flush()  # the screen's timer renders the rest a few blocks per frame
        assert view.virtual_size.height == 400 + 399  # one line each, blank lines between
        assert view.renders == 400
