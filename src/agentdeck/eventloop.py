"""Run the app's and the CLI's event loop on uvloop when it is installed, else on asyncio.

uvloop costs 10-30% less CPU per streamed chunk with many streams open (the per-read cost of
the loop dominates there; see benchmarks/README.md). It is a dependency on CPython outside
Windows; elsewhere, or with ``AGENTDECK_NO_UVLOOP=1`` set, the standard loop runs. Only the
loop of this one ``run`` is uvloop's: no global event loop policy is changed.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run", "uvloop_enabled"]

T = TypeVar("T")


def uvloop_enabled() -> bool:
    """True when ``run`` will use uvloop."""
    if os.environ.get("AGENTDECK_NO_UVLOOP", "").strip() not in ("", "0"):
        return False
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)``, on a uvloop loop when ``uvloop_enabled()``."""
    if uvloop_enabled():
        import uvloop

        return uvloop.run(coro)
    return asyncio.run(coro)
