"""Keep a priority key in order with the text typed just before it.

Textual runs a priority binding as soon as the app reads its key, but the keys read just
before it (a paste, or typing over a slow SSH link: one packet) are still waiting in the
focused widget's queue. ``after_typed_keys`` runs the action from that queue instead, so the
send key sends the whole prompt and ctrl+s in the settings saves the value just typed.

This covers keys the focused widget handles itself (text into a TextArea or an Input). Keys
that act through bindings (arrows in a table) bubble up to the app first: a key meant to
come after them should simply not be a priority binding.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.screen import Screen

__all__ = ["after_typed_keys"]


def after_typed_keys(screen: Screen[Any], action: Callable[[], Any]) -> None:
    """Run ``action`` once the focused widget has handled the keys it was sent before."""
    focused = screen.focused
    if focused is None:
        action()
    else:
        focused.call_later(action)
