"""What the CLI prints: streamed text on stdout, progress on stderr, JSON for scripts.

Model text printed to a terminal goes through ``textsafe.neutralize`` so escape sequences in
it cannot act on the terminal; piped output (or ``--raw``) is passed through untouched.
Progress on a terminal is one live line redrawn at most ten times a second; when stderr is
not a terminal it is plain lines without control characters. ``-q`` keeps stderr for errors.
A reader that leaves stdout (``| head``) ends the run cleanly: ``Output.on_close`` is called.
"""

from __future__ import annotations

import errno
import json
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from typing import Any, TextIO

from ..events import (
    SCHEMA,
    ParamsFitted,
    Retrying,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    TextDelta,
    WorkerFailed,
    WorkerFinished,
    iso_time,
)
from ..state import RunFold, WorkerRecord, WorkerState
from ..textsafe import neutralize
from .inputs import is_tty

__all__ = ["EventWriter", "Output", "Progress", "TextPrinter", "dumps", "event_document",
           "to_jsonable"]

_RAW_CONTROLS = re.compile("[\x7f-\x9f]")
"""The control characters ``json.dumps(ensure_ascii=False)`` leaves raw: DEL and C1 (e.g. CSI);
it escapes U+0000-U+001F itself, and the newlines of ``indent`` lie outside strings."""


def dumps(doc: Any, indent: int | None = None) -> str:
    """JSON text with non-ASCII kept readable but every control character escaped as \\uXXXX.

    A raw C1 character (U+009B is CSI) acts on a terminal like ESC [ does; escaped, the text
    is still the same JSON. Outside strings JSON is plain ASCII, so only strings change.
    """
    text = json.dumps(doc, ensure_ascii=False, indent=indent)
    return _RAW_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class Output:
    """The two streams and how to treat them."""

    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None,
                 raw: bool = False, quiet: bool = False) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.out_tty = is_tty(self.stdout)
        self.err_tty = is_tty(self.stderr)
        self.safe = self.out_tty and not raw
        """Neutralise model text on stdout (a terminal, no --raw)."""
        self.quiet = quiet
        """``-q``: notes and tables are not printed; errors still are."""
        self.closed = False
        """stdout's reader went away (a broken pipe): nothing more is written there."""
        self.on_close: Callable[[], None] | None = None
        """Called once when stdout's reader goes away (the run command cancels its run)."""

    def write(self, text: str) -> None:
        """Write to stdout; a reader that left (``| head``) closes stdout instead of failing."""
        if self.closed:
            return
        try:
            self.stdout.write(text)
            self.stdout.flush()
        except BrokenPipeError:
            self._reader_left()
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            self._reader_left()

    def _reader_left(self) -> None:
        self.closed = True
        silence_stdout()
        if self.on_close is not None:
            self.on_close()

    def text(self, piece: str) -> None:
        """Write model text to stdout as it streams."""
        self.write(neutralize(piece) if self.safe else piece)

    def line(self, text: str = "") -> None:
        """Write one line of our own (which may quote model text) to stdout."""
        self.write((neutralize(text) if self.safe else text) + "\n")

    def note(self, text: str) -> None:
        """A one-line notice on stderr (always neutralised: it is for humans); not with -q."""
        if not self.quiet:
            self.error(text)

    def error(self, text: str) -> None:
        """A one-line error on stderr, printed even with -q."""
        self._err(f"agentdeck: {neutralize(text)}\n")

    def block(self, text: str) -> None:
        """Lines of our own on stderr (the run summary table); not with -q."""
        if not self.quiet:
            self._err(neutralize(text).rstrip("\n") + "\n")

    def _err(self, text: str) -> None:
        try:
            self.stderr.write(text)
            self.stderr.flush()
        except BrokenPipeError:  # `2>&1 | head`: nobody reads notes any more; the run goes on
            pass

    def json(self, doc: Any) -> None:
        """One JSON document on stdout."""
        self.write(dumps(to_jsonable(doc), indent=2) + "\n")


def silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # stdout is not a real file (tests): nothing will flush to a closed pipe


def to_jsonable(value: Any) -> Any:
    """Plain JSON data from dataclasses, exceptions, paths and containers."""
    if is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, BaseException):
        return {"kind": type(value).__name__, "message": str(value)}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


class TextPrinter:
    """Listener that streams chosen workers' content to stdout (reasoning to a TTY's stderr)."""

    def __init__(self, out: Output, workers: set[str] | None = None) -> None:
        self.out = out
        self.workers = workers
        """Worker ids to print; None prints every worker."""
        self.printed = False
        self._thinking = False

    def __call__(self, event: Any) -> None:
        if type(event) is not TextDelta:
            return
        if self.workers is not None and event.worker_id not in self.workers:
            return
        if event.reasoning and self.out.err_tty and not self.out.quiet:
            self.out.stderr.write(neutralize(event.reasoning))
            self._thinking = True
        if event.content:
            if self._thinking:
                self.out.stderr.write("\n")
                self._thinking = False
            self.out.text(event.content)
            self.printed = True

    def end(self) -> None:
        """Finish the streamed text with a newline."""
        if self.printed:
            self.out.text("\n")


def event_document(event: Any) -> dict[str, Any]:
    """One run event as JSON: ``schema``, ``event``, wall-clock ``time``, then its fields.

    An empty ``worker_id`` (a debate round's step) is left out: only a worker's events name one.
    """
    doc: dict[str, Any] = {"schema": SCHEMA, "event": type(event).__name__,
                           "time": iso_time(event.t)}
    for name in event.__slots__:
        value = getattr(event, name)
        if name == "result" or (name == "worker_id" and not value):
            continue  # the final result is printed once, at the end
        doc[name] = to_jsonable(value)
    if type(event) is WorkerFailed:
        doc["reason"] = event.reason
    return doc


class EventWriter:
    """Listener for ``--events``: one JSON object per run event on stdout."""

    def __init__(self, out: Output) -> None:
        self.out = out

    def __call__(self, event: Any) -> None:
        self.out.write(dumps(event_document(event)) + "\n")


class Progress(RunFold[WorkerRecord]):
    """Listener that shows how a run is going on stderr: the run-state fold, drawn as a bar."""

    INTERVAL = 0.1

    def __init__(self, out: Output, enabled: bool = True, verbose_steps: bool = True,
                 live: bool | None = None) -> None:
        super().__init__()
        self.out = out
        self.enabled = enabled
        self.live = out.err_tty if live is None else live
        """Redraw one bar in place (a terminal not also showing streamed text)."""
        self.verbose_steps = verbose_steps
        self.chars = 0
        self._last = 0.0
        self._drawn = False

    def __call__(self, event: Any) -> None:
        if not self.enabled:
            return
        kind = event.__class__
        if kind is TextDelta:
            self.chars += len(event.content) + len(event.reasoning)
            w = self.workers.get(event.worker_id) or self._add(event.worker_id)
            if w.state is not _STREAMING:
                self._streaming(w, event.t)
            if self.live:
                self._draw()
            return
        if kind is RunStarted and event.run_id != self.run_id:
            # One Progress may watch several runs in turn (examples): start over.
            RunFold.__init__(self)
            self.chars = 0
        self.fold(event)
        several = len(self.workers) > 1  # a one-call run's result or error speaks for itself
        if kind is WorkerFinished and several:
            self._say(f"{event.worker_id} done ({event.finish_reason or 'no reason given'})",
                      force=not self.live)
        elif kind is WorkerFailed and several:
            self._say(f"{event.worker_id} {event.reason}", force=True)
        elif kind is Retrying:
            self._say(f"{event.worker_id} retrying ({event.attempt}/{event.max_attempts}): "
                      f"{event.reason}", force=True)
        elif kind is ParamsFitted:  # sent once per run
            self._say(event.note, force=True)
        elif kind is StepStarted and self.verbose_steps and not self.live:
            self._say(f"step {event.step}/{event.total or '?'}: {event.label}", force=True)
        elif kind is StepFinished and self.verbose_steps and not self.live:
            self._say(f"step {event.step} finished ({len(event.output)} chars)", force=True)
        elif kind is RunFinished:
            self._clear()
            return
        self._draw(force=True)

    def _bar(self) -> str:
        counts = self.counts
        total = len(self.workers)
        failed = counts[WorkerState.FAILED] + counts[WorkerState.CANCELLED] + counts[
            WorkerState.INTERRUPTED]
        ended = counts[WorkerState.DONE] + failed
        width = 24
        filled = int(width * ended / max(total, 1))
        going = [f"{counts[WorkerState.STREAMING]} streaming"]
        going += [f"{counts[state]} {state}" for state in (WorkerState.WAITING,
                                                          WorkerState.RETRYING) if counts[state]]
        if failed:
            going.append(f"{failed} failed")
        return (f"[{'#' * filled}{'.' * (width - filled)}] {ended}/{total} "
                f"({', '.join(going)}) {self.chars} chars")

    def _draw(self, force: bool = False) -> None:
        if not self.live:
            return
        t = time.monotonic()
        if not force and t - self._last < self.INTERVAL:
            return
        self._last = t
        self.out.stderr.write("\r\x1b[2K" + self._bar())
        self.out.stderr.flush()
        self._drawn = True

    def _clear(self) -> None:
        if self.live and self._drawn:
            self.out.stderr.write("\r\x1b[2K")
            self.out.stderr.flush()
            self._drawn = False

    def _say(self, text: str, force: bool = False) -> None:
        if not force:
            return
        self._clear()
        self.out.note(text)


_STREAMING = WorkerState.STREAMING
