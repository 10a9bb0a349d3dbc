"""The TUI's widgets; the live-output ones (grid, stream, chain) are re-exported here."""

from agentdeck.tui.widgets.chain_view import ChainView
from agentdeck.tui.widgets.stream_view import StreamView
from agentdeck.tui.widgets.worker_grid import WorkerGrid

__all__ = ["ChainView", "StreamView", "WorkerGrid"]
