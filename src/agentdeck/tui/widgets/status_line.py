"""``StatusLine``: profile, model, server health, vLLM load gauges and this run's tokens/s."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from agentdeck.connect import ServerStatus

__all__ = ["StatusLine"]


class StatusLine(Widget):
    """One line at the top of the main screen. The screen sets the attributes; this only draws."""

    DEFAULT_CSS = """
    StatusLine { height: 1; background: $boost; padding: 0 1; }
    """

    profile: reactive[str] = reactive("")
    """Name of the active endpoint profile."""
    model: reactive[str] = reactive("")
    """Model the next run talks to."""
    server: reactive[ServerStatus] = reactive(ServerStatus)
    """Latest poll result."""
    tokens_per_s: reactive[float | None] = reactive(None)
    """Aggregate output tokens/s of the current (or last) run; None before the first run."""
    run_state: reactive[str] = reactive("idle")
    """idle, running n/m, done, ..."""

    def render(self) -> Text:
        # Text (not markup) so a model or profile name with brackets prints as typed. Most
        # important first: at 80 columns the tail is cut.
        s = self.server
        if s.healthy is None:
            health = ("○ connecting", "dim")
        elif s.healthy:
            latency = f" {s.latency_ms:.0f}ms" if s.latency_ms is not None else ""
            health = (f"●{latency}", "bold green")
        else:
            health = (f"✕ {s.error or 'unreachable'}", "bold red")
        parts: list[tuple[str, str] | str] = [(self.run_state, "bold magenta")]
        if self.tokens_per_s is not None:
            parts += [" ", (f"{self.tokens_per_s:,.0f} tok/s", "bold")]
        parts += [" │ ", health, " ", (self.profile, "bold"), " ", (self.model, "cyan")]
        if s.running is not None or s.waiting is not None:
            parts += [" │ ", f"run {s.running or 0:.0f} wait {s.waiting or 0:.0f}"]
        if s.kv_cache is not None:
            parts += [
                " ",
                (f"KV {s.kv_cache * 100:.0f}%", "bold yellow" if s.kv_cache > 0.9 else ""),
            ]
        return Text.assemble(*parts, no_wrap=True, overflow="ellipsis")
