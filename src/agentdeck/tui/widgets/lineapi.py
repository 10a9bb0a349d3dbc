"""Helpers shared by the line-API widgets (grid, stream view, chain steps)."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual._styles_cache import StylesCache
from textual.color import Color
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

__all__ = ["FilteredStyles", "PlainLineCache", "set_virtual_size"]


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


class PlainLineCache(StylesCache):
    """Textual's line cache with a short path for widgets that draw every cell themselves.

    A line-API widget that draws whole lines, with no border, padding, outline, hatch, tint or
    opacity in its CSS, needs none of the work Textual's ``StylesCache.render_line`` does per
    dirty line (measured on the grid: composing a frame took 28% less time). Such lines are
    taken as they are, padded to the widget's width (the scrollbar gutter) and filtered with
    the app's line filters exactly as Textual does; any other styling falls back to Textual's
    own path, so the pixels are the same either way.

    Install with ``self._styles_cache = PlainLineCache()`` in the widget's ``__init__``;
    ``filtered=True`` when the widget's ``render_line`` applies the app's line filters itself
    (cheaper when it reuses strips, whose filtered copies Textual caches).
    """

    def __init__(self, filtered: bool = False) -> None:
        super().__init__()
        self.filtered = filtered
        self._pads: dict[tuple, list[Segment]] = {}

    def _pad(self, widget: Widget, cells: int, colors: tuple[Color, Color]) -> list[Segment]:
        """The filtered background Textual pads a short line with (e.g. the scrollbar gutter)."""
        filters = tuple(widget.get_line_filters())
        key = (cells, colors, filters)
        pad = self._pads.get(key)
        if pad is None:
            inner, _ = self.get_inner_outer(*colors)
            strip = Strip.blank(cells, inner.rich_style)
            for line_filter in filters:
                strip = strip.apply_filter(line_filter, colors[1])
            if len(self._pads) > 64:
                self._pads.clear()
            pad = self._pads[key] = list(strip)
        return pad

    def render_widget(self, widget: Widget, crop: Region) -> list[Strip]:
        styles = widget.styles
        width, _ = size = widget.region.size
        if (
            any(styles.gutter)
            or any(edge for edge, _ in styles.outline)
            or styles.tint.a
            or styles.text_opacity != 1.0
            or (styles.has_rule("hatch") and styles.hatch != "none")
            or widget.content_region.size != size
            or widget.opacity != 1.0
        ):
            return super().render_widget(widget, crop)
        if width != self._width:
            self.clear()
            self._width = width
        cache, dirty = self._cache, self._dirty_lines
        render_line = widget.render_line
        filters = () if self.filtered else widget.get_line_filters()
        colors: tuple | None = None
        strips: list[Strip] = []
        for y in crop.line_range:
            strip = cache.get(y)
            if strip is None or y in dirty:
                strip = render_line(y)
                cells = strip.cell_length
                if cells != width:
                    colors = colors or widget.background_colors
                    if cells < width and self.filtered:
                        strip = Strip([*strip, *self._pad(widget, width - cells, colors)], width)
                    else:
                        inner, _ = self.get_inner_outer(*colors)
                        strip = strip.adjust_cell_length(width, inner.rich_style)
                cache[y] = strip
            if filters:
                colors = colors or widget.background_colors
                for line_filter in filters:
                    strip = strip.apply_filter(line_filter, colors[1])
            strips.append(strip)
        dirty.difference_update(crop.line_range)
        if crop.column_span != (0, width):
            x1, x2 = crop.column_span
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips


class FilteredStyles:
    """A widget's component styles with the app's line filters applied, cached until they change.

    Textual's line filters only map styles, so a widget that builds its strips from these needs
    no filtering per frame: pair it with ``PlainLineCache(filtered=True)``.
    """

    def __init__(self, widget: Widget, prefix: str) -> None:
        self._widget = widget
        self._prefix = prefix
        """Component class prefix, e.g. ``"worker-grid--"``."""
        self._styles: dict[str, Style] = {}
        self._key: tuple | None = None
        self._background = Color(0, 0, 0)

    def check(self) -> bool:
        """Start over if the app's line filters changed; True when they did after a first use."""
        key = tuple(self._widget.get_line_filters())
        if key == self._key:
            return False
        changed = self._key is not None
        self._key = key
        self._background = self._widget.background_colors[1]
        self._styles.clear()
        return changed

    def reset(self) -> None:
        """Work every style out again (the widget's styles changed)."""
        self._key = None

    def get(self, name: str) -> Style:
        """The style of component ``prefix + name``; ``""`` is the widget's own style."""
        style = self._styles.get(name)
        if style is None:
            if self._key is None:
                self.check()
            widget = self._widget
            # ``rich_style`` walks the DOM on every call; it only changes with the styles.
            style = (widget.get_component_rich_style(self._prefix + name) if name
                     else widget.rich_style)
            for line_filter in self._key or ():
                style = line_filter.apply([Segment(" ", style)], self._background)[0].style
            self._styles[name] = style
        return style
