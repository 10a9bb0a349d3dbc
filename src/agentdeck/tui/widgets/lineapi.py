"""Helpers shared by the line-API widgets (grid, stream view, chain steps)."""

from __future__ import annotations

from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.widget import Widget

__all__ = ["set_virtual_size"]


def set_virtual_size(view: ScrollView, size: Size) -> None:
    """Change ``view``'s scrollable size without laying the whole screen out again.

    Assigning ``virtual_size`` makes Textual lay out the screen, which a streaming view would
    do on every frame (measured: ~18 layouts/s while one answer streams). A line-API view's
    own box does not depend on its content size, so this does what Textual itself does for a
    size change that needs no layout (``Widget._size_updated(layout=False)``): set the value
    quietly and update the scrollbars. A scrollbar appearing still lays out (its reactive
    asks for it).
    """
    if size != view.virtual_size:
        view.set_reactive(Widget.virtual_size, size)
        view._scroll_update(size)
        view.refresh()
