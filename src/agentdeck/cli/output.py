"""What the CLI prints: streamed text on stdout, notes on stderr, JSON for scripts.

Model text printed to a terminal goes through ``textsafe.neutralize`` so escape sequences in
it cannot act on the terminal; piped output (or ``--raw``) is passed through untouched. JSON is
``textsafe.json_text``: control characters escaped, so a document is inert on a terminal too.
``-q`` keeps stderr for errors. A reader that leaves stdout (``| head``) ends the run cleanly:
``Output.on_close`` is called. The progress bar is ``cli/progress.py``'s.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from typing import Any, TextIO

from ..events import SCHEMA, TextDelta, WorkerFailed, iso_time
from ..textsafe import json_text, neutralize
from .inputs import is_tty

__all__ = ["EventWriter", "Output", "TextPrinter", "event_document", "json_line",
           "to_jsonable"]


def json_line(doc: Any) -> str:
    """``doc`` as one line of JSON (an ``--events`` line), control characters escaped."""
    return json_text(to_jsonable(doc)) + "\n"


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
        self.write(json_text(to_jsonable(doc), indent=2) + "\n")


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


def event_document(event: Any, recorded: bool = True) -> dict[str, Any]:
    """One run event as JSON: ``schema``, ``event``, wall-clock ``time``, then its fields.

    Empty ids and groups are left out: only a worker's events name a worker (a debate round's
    step names none), only a grouped worker (compare's) its group. A run that is not recorded
    (``--no-record``) names no run id: there is no such run to look up.
    """
    doc: dict[str, Any] = {"schema": SCHEMA, "event": type(event).__name__,
                           "time": iso_time(event.t)}
    for name in event.__slots__:
        value = getattr(event, name)
        if name == "result" or (name in _OPTIONAL and not value):
            continue  # the final result is printed once, at the end
        if name == "run_id" and not recorded:
            continue
        doc[name] = to_jsonable(value)
    if type(event) is WorkerFailed:
        doc["reason"] = event.reason
    return doc


_OPTIONAL = frozenset({"worker_id", "group"})
"""Event fields left out when empty."""


class EventWriter:
    """Listener for ``--events``: one JSON object per run event on stdout."""

    def __init__(self, out: Output, recorded: bool = True) -> None:
        self.out = out
        self.recorded = recorded
        """False (``--no-record``): the lines carry no run id."""

    def __call__(self, event: Any) -> None:
        self.out.write(json_text(event_document(event, self.recorded)) + "\n")
