"""One worker card of the grid: its wrapped live tail and its rows as cached strips.

A card is view state only (the text lives in the LiveRun's buffer). ``Card.sync`` reads what
the buffer gained, feeds it to an incremental wrapper and rebuilds only the rows whose content
changed; rows that merely moved up reuse their strips. The grid joins the cards' strips row by
row in ``render_line``.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from agentdeck.state import SAYS_WHY, WorkerState
from agentdeck.tui.live import WorkerBuffer
from agentdeck.tui.widgets.plaintext import TailWrapper, cells, fit, literal, wrap_line

__all__ = ["Card", "card_stats"]

_BOX = "╭╮╰╯─│"
_BOX_FOCUS = "┏┓┗┛━┃"  # heavy lines: the focused card shows even without colour
SHOWN_WAIT = 0.05
"""Seconds queued or retrying from which a card says so."""
ERROR_ROWS = 2
"""Rows a failed or interrupted card gives to its reason."""

StyleFor = Callable[[str], Style]
"""Maps a part ("border", "text", "error", a state name...) to its style."""


def card_stats(buf: WorkerBuffer) -> str:
    """The figures row: tokens, decode tokens/s and TTFT (from the request that streamed),
    then the time queued and retrying, apart; or what the worker waits for."""
    state = buf.state
    if state is WorkerState.QUEUED:
        return "queued"
    if state is WorkerState.RETRYING:
        return f"retry {buf.retry_attempt}/{buf.retry_max}: {literal(buf.retry_reason)}"
    if state is WorkerState.WAITING:
        parts = ["waiting for first token"]
    elif buf.tokens or not buf.content.length:
        parts = [f"{buf.tokens} tok"]
    else:  # a saved run that ended without usage (cancelled, failed): say what is on disk
        parts = [f"{buf.content.length:,} chars"]
    rate = buf.tokens_per_s
    if rate is not None:
        parts.append(f"{rate:.1f} tok/s" if rate < 100 else f"{rate:,.0f} tok/s")
    if buf.ttft is not None:
        parts.append(f"TTFT {buf.ttft:.2f}s")
    for word, seconds in (("queued", buf.queued_s), ("retried", buf.retrying_s)):
        if seconds is not None and seconds >= SHOWN_WAIT:
            parts.append(f"{word} {seconds:.1f}s")
    return " · ".join(parts)


class Card:
    """View state of one card: its wrapped tail and its cached strips, one per card row."""

    __slots__ = ("buf", "keys", "mode", "pos", "stale", "strips", "title", "worker_id", "wrap")

    def __init__(self, worker_id: str) -> None:
        self.worker_id = worker_id
        self.buf: WorkerBuffer | None = None
        self.pos = 0
        self.mode = ""
        """"text" or "reasoning" (shown until the answer starts); "" forces a re-wrap."""
        self.wrap = TailWrapper(1, 1)
        self.keys: list[object] = []
        self.strips: list[Strip] = []
        self.stale = True
        """The buffer changed while the card was off screen: sync before drawing."""
        self.title = ""
        """Shown instead of the worker's title when set (under a group's header: "call 1")."""

    def invalidate(self) -> None:
        """Rebuild every row on the next sync (focus, size or theme changed)."""
        self.keys = []
        self.stale = True

    def sync(
        self, buf: WorkerBuffer, card_w: int, card_h: int, focused: bool, style: StyleFor
    ) -> list[int]:
        """Catch up with ``buf`` at this size; returns the card rows whose strips changed."""
        card = self
        card.stale = False
        inner = max(1, card_w - 4)
        body_h = max(0, card_h - 3)
        if buf is not card.buf:
            card.buf, card.mode, card.keys = buf, "", []
        mode = "text" if buf.content.length or not buf.reasoning.length else "reasoning"
        stream = buf.content if mode == "text" else buf.reasoning
        pos: int | None = card.pos
        if mode != card.mode or card.wrap.width != inner or card.wrap.height != body_h:
            card.mode = mode
            card.wrap = TailWrapper(inner, max(1, body_h))
            pos = None
        card.pos = card.wrap.catch_up(stream, pos)

        errors: list[str] = []
        if buf.state in SAYS_WHY and buf.error and body_h:
            errors = wrap_line(literal(buf.error), inner)
            if len(errors) > ERROR_ROWS:
                errors = [*errors[: ERROR_ROWS - 1], fit(errors[ERROR_ROWS - 1] + " …", inner)]
        rows = card.wrap.tail(body_h - len(errors)) if body_h > len(errors) else []
        rows += [""] * (body_h - len(errors) - len(rows))
        keys: list[object] = [
            ("top", literal(card.title or buf.title), buf.mark, buf.state_text, focused),
            ("stats", card_stats(buf), focused),
            *((mode, row, focused) for row in rows),
            *(("error", row, focused) for row in errors),
            ("bottom", focused),
        ]
        old = card.keys
        if len(old) != len(keys):
            old = card.keys = [None] * len(keys)
            card.strips = [Strip.blank(card_w)] * len(keys)
        # Text rows move up one as a line completes: reuse their strips instead of rebuilding.
        reuse = {key: strip for key, strip in zip(old, card.strips)}
        changed = []
        for line, key in enumerate(keys):
            if old[line] != key:
                old[line] = key
                strip = reuse.get(key)
                card.strips[line] = strip if strip is not None else _strip(key, buf, card_w, style)
                changed.append(line)
        return changed


def _strip(key: tuple, buf: WorkerBuffer, card_w: int, style: StyleFor) -> Strip:
    """One card row; ``key`` says which (its last item is whether the card has focus)."""
    focused = key[-1]
    box = _BOX_FOCUS if focused else _BOX
    border = style("border-focus" if focused else "border")
    kind = key[0]
    if kind == "top":
        state = buf.state_text
        room = max(1, card_w - cells(state) - 8)
        mark = fit(" " + key[2], max(0, room // 2)) if key[2] else ""  # the answer's mark
        label = fit(key[1], max(1, room - cells(mark)))
        fill = max(0, card_w - cells(label) - cells(mark) - cells(state) - 7)
        segments = [
            Segment(box[0] + box[4] + " ", border),
            Segment(label, style("label")),
            Segment(mark, style("mark")),
            Segment(" " + box[4] * fill + " ", border),
            Segment(state, style(buf.state.value)),
            Segment(" " + box[1], border),
        ]
    elif kind == "bottom":
        segments = [Segment(box[2] + box[4] * max(0, card_w - 2) + box[3], border)]
    else:
        inner = max(1, card_w - 4)
        text = key[1] if kind in ("text", "reasoning") else fit(key[1], inner)  # rows fit
        segments = [
            Segment(box[5] + " ", border),
            Segment(text, style(kind)),
            Segment(" " * (inner - cells(text)) + " " + box[5], border),
        ]
        if card_w >= 5:
            return Strip(segments, card_w)
    strip = Strip(segments)
    if strip.cell_length != card_w:  # only on cards narrower than their decorations
        strip = strip.adjust_cell_length(card_w, border)
    return strip
