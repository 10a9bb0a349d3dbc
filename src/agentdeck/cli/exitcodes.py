"""Exit codes of the ``agentdeck`` command, one per failure class, and the error line."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from ..errors import (
    AgentDeckError,
    AuthenticationError,
    ConfigError,
    FirstTokenTimeoutError,
    InputError,
    ModelNotFoundError,
    PermissionDeniedError,
    PluginError,
    ReadTimeoutError,
    TransportError,
)
from ..events import SCHEMA
from ..textsafe import neutralize

__all__ = [
    "EPILOG",
    "EXIT_AUTH",
    "EXIT_BAD_INPUT",
    "EXIT_CONFIG",
    "EXIT_CONNECT",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_MODEL",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "code_for",
    "error_document",
    "one_line",
    "report",
]

EXIT_OK = 0
EXIT_FAILED = 1
"""The server or the stream failed in another way (5xx, 400, broken stream...)."""
EXIT_BAD_INPUT = 2
"""Bad input or usage: empty prompt, unreadable file, -n 0, negative temperature..."""
EXIT_CONFIG = 3
EXIT_CONNECT = 4
EXIT_AUTH = 5
EXIT_MODEL = 6
EXIT_PARTIAL = 7
"""Some calls of a multi-call run (or seats of a debate) failed; the others finished."""
EXIT_INTERRUPTED = 130

EPILOG = f"""\
exit codes:
  {EXIT_OK}    success (also when the reader of stdout leaves: `| head`)
  {EXIT_FAILED}    request failed (server error, rejected request, broken stream, no answer
       in time)
  {EXIT_BAD_INPUT}    bad input or usage (empty prompt, a flag's bad value: -o, --base-url, -n 0;
       a flag the command ignores)
  {EXIT_CONFIG}    configuration error (config file, environment variable, unknown profile)
  {EXIT_CONNECT}    cannot connect to the server (refused, DNS, TLS, connect timeout)
  {EXIT_AUTH}    authentication failed (401/403: check the API key setting)
  {EXIT_MODEL}    model not found on the server
  {EXIT_PARTIAL}    partial failure: some calls failed, the others finished
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C) or not confirmed; partial text is kept in the run folder
"""

_CLASSES: tuple[tuple[type[AgentDeckError], int, str], ...] = (
    (InputError, EXIT_BAD_INPUT, "bad input"),
    (ConfigError, EXIT_CONFIG, "configuration"),
    # The server was reached but sent no answer in time: not a connection failure.
    (FirstTokenTimeoutError, EXIT_FAILED, "request failed"),
    (ReadTimeoutError, EXIT_FAILED, "request failed"),
    (TransportError, EXIT_CONNECT, "connection"),
    (AuthenticationError, EXIT_AUTH, "authentication"),
    (PermissionDeniedError, EXIT_AUTH, "authentication"),
    (ModelNotFoundError, EXIT_MODEL, "model not found"),
    (PluginError, EXIT_FAILED, "plugin failed"),  # its own bug, not the server's
)


def code_for(error: BaseException) -> tuple[int, str]:
    """Exit code and failure class name for ``error``."""
    for cls, code, name in _CLASSES:
        if isinstance(error, cls):
            return code, name
    return EXIT_FAILED, "request failed"


def one_line(error: BaseException) -> str:
    """``error``'s message on one line (its class name when it has none)."""
    return " ".join(str(error).split()) or type(error).__name__


def report(error: BaseException, stream: TextIO | None = None) -> int:
    """Print the one-line reason for ``error`` on stderr; return its exit code."""
    code, name = code_for(error)
    print(f"agentdeck: {name}: {neutralize(one_line(error))}", file=stream or sys.stderr)
    return code


def error_document(kind: str, message: str, code: int) -> dict[str, Any]:
    """What ``--json`` prints when a command fails: ``{"schema", "error": {...}}``.

    ``kind`` is the error's class (``ModelNotFoundError``, ``UsageError``...), ``exit_code``
    the process's.
    """
    return {"schema": SCHEMA, "error": {"kind": kind, "message": message, "exit_code": code}}
