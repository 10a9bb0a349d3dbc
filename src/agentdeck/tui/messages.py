"""Messages that cross screens: the app tells screens when the connection or settings change."""

from __future__ import annotations

from textual.message import Message

__all__ = ["ConnectionChanged", "RunsChanged"]


class ConnectionChanged(Message):
    """The app (re)connected: new settings, profile or model. Screens refresh their labels."""


class RunsChanged(Message):
    """A run started or ended; the app re-evaluates whether quitting must ask first."""

    def __init__(self, in_flight: bool) -> None:
        self.in_flight = in_flight
        super().__init__()
