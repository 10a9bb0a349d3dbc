"""``StatusLine``: the run on screen (state, elapsed, tokens, tok/s), the server and its load."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from agentdeck.connect import ServerStatus

if TYPE_CHECKING:
    from agentdeck.connect import Connection

__all__ = ["StatusLine", "endpoint_text", "state_style"]

_STATE_STYLES = {
    "idle": "dim",
    "starting": "bold cyan",
    "done": "bold green",
    "partial": "bold yellow",
    "failed": "bold red",
    "interrupted": "bold red",
    "cancelled": "bold yellow",
}


def state_style(state: str) -> str:
    """Each run state its own look: going (cyan), done (green), failed (red), cancelled..."""
    return _STATE_STYLES.get(state, "bold cyan")


def endpoint_text(connection: Connection) -> str:
    """The server the app talks to, as the user would type it: "127.0.0.1:8012/v1"."""
    if connection.uses_sim:
        return "built-in simulator"
    model = connection.model
    url = str(getattr(model, "base_url", None) or connection.settings.profile.base_url or "")
    return url.split("://", 1)[-1].rstrip("/")


class StatusLine(Widget):
    """One line at the top of the main screen. The screen sets the attributes; this only draws."""

    DEFAULT_CSS = """
    StatusLine { height: 1; background: $boost; padding: 0 1; }
    """

    profile: reactive[str] = reactive("")
    """Name of the active endpoint profile."""
    endpoint: reactive[str] = reactive("")
    """The server in use (host:port/path), whatever the profile says: a ``--base-url`` wins."""
    model: reactive[str] = reactive("")
    """Model the next run talks to."""
    server: reactive[ServerStatus] = reactive(ServerStatus)
    """Latest poll result."""
    run_state: reactive[str] = reactive("idle")
    """idle, starting, 3/8 done, done, ..."""
    figures: reactive[str] = reactive("")
    """The run on screen: elapsed time, tokens, tokens/s ("12.4s · 4,096 tok · 650 tok/s");
    set with ``run_state``, cleared when a new run starts."""

    def render(self) -> Text:
        # Text (not markup) so a model or profile name with brackets prints as typed. Parts
        # are dropped least important first until the line fits: nothing is cut mid-word.
        s = self.server
        if s.healthy is None:
            health = ("○ connecting", "dim")
        elif s.healthy:
            latency = f" {s.latency_ms:.0f}ms" if s.latency_ms is not None else ""
            health = (f"●{latency}", "green")
        else:
            health = (f"✕ {s.error or 'unreachable'}", "bold red")
        # (priority: lower is dropped first, parts)
        parts: list[tuple[int, list[tuple[str, str] | str]]] = [
            (9, [(self.run_state, state_style(self.run_state))]),
        ]
        if self.figures:
            parts.append((7, [" ", (self.figures, "bold")]))  # the run on screen stays
        parts.append((8, [" │ ", health, " ", (self.model, "cyan")]))
        if self.endpoint:
            parts.append((6, [" @ ", (self.endpoint, "")]))
        parts.append((2, [" (", (self.profile, "italic"), ")"]))
        if s.running is not None or s.waiting is not None:
            load = f"vLLM: {s.running or 0:.0f} running, {s.waiting or 0:.0f} waiting"
            parts.append((5, [" │ ", load]))
        if s.kv_cache is not None:
            parts.append((4, [" ", (f"KV {s.kv_cache * 100:.0f}%",
                                    "bold yellow" if s.kv_cache > 0.9 else "")]))
        room = self.content_size.width or 10_000
        while len(parts) > 1 and _width(parts) > room:
            parts.remove(min(parts, key=lambda part: part[0]))
        return Text.assemble(*(p for _, group in parts for p in group), no_wrap=True,
                             overflow="ellipsis")


def _width(parts: list[tuple[int, list[tuple[str, str] | str]]]) -> int:
    return sum(len(p if isinstance(p, str) else p[0]) for _, group in parts for p in group)
