"""``HistoryScreen``: past runs from the run store, newest first; Enter opens one read-only."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import ClassVar

from rich.text import Text
from textual import getters
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from agentdeck.errors import AgentDeckError

from ..app import AgentDeckApp

__all__ = ["HistoryScreen"]

LIMIT = 500
"""Most runs listed; older ones stay on disk (``agentdeck runs`` lists them all)."""

_STATUS_STYLE = {
    "done": "green",
    "partial": "yellow",
    "failed": "red",
    "cancelled": "magenta",
    "interrupted": "bold red",
    "running": "cyan",
    "corrupt": "bold red",
}


class HistoryScreen(Screen[None]):
    """The run list. Model text and prompts are shown as plain Text, never as markup."""

    CSS_PATH = "history.tcss"
    app = getters.app(AgentDeckApp)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back"),
        # Not a priority binding: Enter then waits its turn behind arrow keys read in the same
        # burst (over a slow SSH link), so it opens the row they moved to. The table's own
        # Enter (RowSelected, below) does the opening.
        Binding("enter", "open", "Open", show=True),
        Binding("f5,ctrl+r", "reload", "Reload"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("History: runs in the run store, newest first", id="title")
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Static(id="where", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("when", "system", "status", "workers", "prompt")
        self.action_reload()
        table.focus()

    def action_reload(self) -> None:
        store = self.app.store
        table = self.query_one(DataTable)
        table.clear()
        runs = store.list_runs(limit=LIMIT)
        for info in runs:
            status = info.status
            table.add_row(
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.created)),
                info.system,
                Text(status, style=_STATUS_STYLE.get(status, "")),
                str(len(info.workers)),
                Text(info.prompt_head, no_wrap=True, overflow="ellipsis"),
                key=info.run_id,
            )
        where = self.query_one("#where", Static)
        where.update(
            f"{len(runs)} run{'' if len(runs) == 1 else 's'} in {store.root}"
            if runs
            else f"No runs yet in {store.root}: send a prompt from the main screen."
        )

    def action_open(self) -> None:
        from .run_view import RunViewScreen

        table = self.query_one(DataTable)
        if not table.row_count:
            return
        run_id = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if run_id is None:  # every row is keyed by its run id
            return
        try:
            info = self.app.store.load_run(run_id)
        except AgentDeckError as exc:  # removed or unreadable since the list was read
            self.notify(str(exc), title="Cannot open run", severity="error", markup=False)
            return
        self.app.push_screen(RunViewScreen(info))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # Enter on the table, or a mouse click on a row.
        event.stop()
        self.action_open()

    def palette_commands(self) -> Iterable[tuple[str, str, Callable[[], object]]]:
        yield "Open run", "Open the highlighted run read-only (Enter)", self.action_open
        yield "Reload", "Read the run store again (F5)", self.action_reload
        yield "Back", "Return to the main screen (Esc)", self.app.pop_screen
