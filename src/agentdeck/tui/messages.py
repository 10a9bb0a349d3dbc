"""Messages that cross screens: the app tells screens when the connection or settings change."""

from __future__ import annotations

from textual.message import Message

__all__ = ["ConnectionChanged"]


class ConnectionChanged(Message):
    """The app (re)connected: new settings, profile or model. Screens refresh their labels."""
