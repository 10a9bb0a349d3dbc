"""``HistoryScreen``: the run store as a log browser: filter, sort, open, delete, export, rerun.

Rows come from every run folder (``RunRow``, read once per load); ``/`` filters them by text in
prompts and answers through the run store's search index (``store.search``), in a thread, so
typing never waits on the disk.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import ClassVar

from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static
from textual.worker import get_current_worker

from agentdeck.errors import AgentDeckError
from agentdeck.store.run_info import RunInfo

from ..app import AgentDeckApp
from ..run_rows import COLUMNS, SORTABLE, RunRow, sort_rows
from ..widgets.key_footer import KeyFooter

__all__ = ["HistoryScreen"]

LIMIT = 1000
"""Most rows shown at once; the count line says how many more match (``agentdeck runs``)."""


class HistoryScreen(Screen[None]):
    """The run list. Model text and prompts are shown as plain Text, never as markup."""

    CSS_PATH = "history.tcss"
    app = getters.app(AgentDeckApp)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back"),
        # Not a priority binding: Enter then waits its turn behind arrow keys read in the same
        # burst (over a slow SSH link), so it opens the row they moved to. The table's own
        # Enter (RowSelected, below) does the opening.
        Binding("enter", "open", "Open", show=True),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("s", "sort", "Sort"),
        Binding("S,shift+s", "reverse", "Reverse", show=False),
        Binding("a", "run_again", "Run again"),
        Binding("e", "export", "Export"),
        Binding("d,delete", "delete", "Delete"),
        Binding("ctrl+r", "reload", "Reload", key_display="^r"),  # not F5: "send" on main
    ]

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[RunRow] = []
        self._shown: list[RunRow] = []
        self._matched: set[str] | None = None
        """Run ids the filter matched; None: no filter."""
        self._column = COLUMNS[0]
        self._reverse = False
        self._index_lock = threading.Lock()
        self._index: object = None

    def compose(self) -> ComposeResult:
        yield Static("History", id="title", markup=False)
        yield Input(id="filter", placeholder="text in prompts and answers; Enter: to the list, "
                    "Esc: clear", compact=True)
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Static(id="where", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in COLUMNS:
            table.add_column(column.header, key=column.key, width=column.width)
        self.action_reload()
        table.focus()

    # ------------------------------------------------------------------ rows

    @property
    def table(self) -> DataTable[object]:
        return self.query_one(DataTable)

    def action_reload(self) -> None:
        """Read every run folder again, in a thread (a big store takes a while)."""
        self.query_one("#where", Static).update("reading…")
        self.read_runs()

    @work(thread=True, exclusive=True, group="history-read")
    def read_runs(self) -> None:
        """Every run's run.json, off the UI thread; the table is filled when they are read."""
        rows = [RunRow.of(info) for info in self.app.store.list_runs()]
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._runs_read, rows)

    def _runs_read(self, rows: list[RunRow]) -> None:
        self._rows = rows
        if self._matched is not None:
            self._search(self.query_one("#filter", Input).value)
        self._show()

    def _show(self) -> None:
        """Fill the table with the rows the filter keeps, in the chosen order."""
        rows = self._rows
        if self._matched is not None:
            rows = [row for row in rows if row.run_id in self._matched]
        rows = sort_rows(rows, self._column, self._reverse)
        self._shown = rows[:LIMIT]
        table = self.table
        current = self._current()
        table.clear()
        for row in self._shown:
            table.add_row(*(column.cell(row) for column in COLUMNS), key=row.run_id)
        if current is not None and current.run_id in {r.run_id for r in self._shown}:
            table.move_cursor(row=table.get_row_index(current.run_id), animate=False)
        self._describe(len(rows))

    def _describe(self, matched: int) -> None:
        arrow = "↑" if self._column.newest_first == self._reverse else "↓"
        what = self.query_one("#filter", Input).value.strip()
        head = f"History · sorted by {self._column.header} {arrow}"
        if self._matched is not None and what:
            head += f" · filter: {what}"
        self.query_one("#title", Static).update(head)
        root = self.app.store.root
        total = len(self._rows)
        if not total:
            line = f"No runs yet in {root}: send a prompt from the main screen."
        elif self._matched is not None:
            line = f"{matched} of {total} runs match in {root}"
        else:
            line = f"{total} run{'' if total == 1 else 's'} in {root}"
        if matched > LIMIT:
            line += f" (the first {LIMIT} shown)"
        self.query_one("#where", Static).update(line)

    def _current(self) -> RunRow | None:
        table = self.table
        if not table.row_count or not self._shown:
            return None
        row = table.cursor_coordinate.row
        return self._shown[row] if 0 <= row < len(self._shown) else None

    # ------------------------------------------------------------------ filter and sort

    def action_filter(self) -> None:
        self.add_class("-filtering")
        self.query_one("#filter", Input).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        if not event.value.strip():
            self._matched = None
            self._show()
            return
        self._search(event.value)

    @work(thread=True, exclusive=True, group="history-search")
    def _search(self, needle: str) -> None:
        """Match in a thread: a first search reads every run's texts to build the index."""
        from agentdeck.store.search import SearchIndex

        worker = get_current_worker()
        with self._index_lock:
            index = self._index
            if not isinstance(index, SearchIndex):
                index = self._index = SearchIndex(self.app.store.root)
            matched: set[str] = set()
            for row in self._rows:
                if worker.is_cancelled:
                    return
                if index.matches(row.info, needle.strip()):
                    matched.add(row.run_id)
            index.save()
        if not worker.is_cancelled:
            self.app.call_from_thread(self._found, matched)

    def _found(self, matched: set[str]) -> None:
        if self.query_one("#filter", Input).value.strip():
            self._matched = matched
            self._show()

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()

    def action_back(self) -> None:
        """Esc: clear the filter first, then leave."""
        field = self.query_one("#filter", Input)
        if field.value or field.has_focus:
            field.value = ""
            self.remove_class("-filtering")
            self.table.focus()
            return
        self.app.pop_screen()

    def action_sort(self) -> None:
        """Sort by the next column (started, status, system, ... endpoint)."""
        keys = [c.key for c in SORTABLE]
        self._column = SORTABLE[(keys.index(self._column.key) + 1) % len(SORTABLE)]
        self._reverse = False
        self._show()

    def action_reverse(self) -> None:
        self._reverse = not self._reverse
        self._show()

    @on(DataTable.HeaderSelected)
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        column = next((c for c in SORTABLE if c.key == event.column_key.value), None)
        if column is None:
            return
        self._reverse = not self._reverse if column is self._column else False
        self._column = column
        self._show()

    # ------------------------------------------------------------------ actions on a run

    def _load(self) -> RunInfo | None:
        row = self._current()
        if row is None:
            return None
        try:
            return self.app.store.load_run(row.run_id)
        except AgentDeckError as exc:  # removed or unreadable since the list was read
            self.notify(str(exc), title="Cannot open run", severity="error", markup=False)
            return None

    def action_open(self) -> None:
        from .run_view import RunViewScreen

        info = self._load()
        if info is not None:
            self.app.push_screen(RunViewScreen(info))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # Enter on the table, or a mouse click on a row.
        event.stop()
        self.action_open()

    def action_delete(self) -> None:
        from .history_dialogs import ConfirmDelete

        row = self._current()
        if row is None:
            return
        info = row.info

        def decided(yes: bool | None) -> None:
            if yes:
                self._delete(info)

        what = f"{row.status} · {row.system} · {row.prompt}"
        self.app.push_screen(ConfirmDelete(info.run_id, what, info.dir), decided)

    def _delete(self, info: RunInfo) -> None:
        try:
            self.app.store.remove_run(self.app.store.load_run(info.run_id))
        except AgentDeckError as exc:
            self.notify(str(exc), title="Not deleted", severity="error", markup=False)
            return
        self._rows = [row for row in self._rows if row.run_id != info.run_id]
        self._show()
        self.notify(f"Deleted {info.dir}", title="Run deleted", markup=False)

    def action_export(self) -> None:
        from .history_dialogs import ExportDialog

        info = self._load()
        if info is None:
            return

        def chosen(choice: tuple[str, Path] | None) -> None:
            if choice is not None:
                self._export(info, *choice)

        self.app.push_screen(ExportDialog(info.run_id, Path.cwd()), chosen)

    def _export(self, info: RunInfo, fmt: str, path: Path) -> None:
        from agentdeck.fsutil import atomic_write
        from agentdeck.store.report import FORMATS, export_text

        try:
            atomic_write(path, export_text(info, fmt).encode("utf-8"), durable=False)
        except OSError as exc:
            self.notify(f"cannot write {path}: {exc.strerror or exc}", title="Not exported",
                        severity="error", markup=False)
            return
        self.notify(str(path), title=f"Exported as {FORMATS[fmt]}", markup=False, timeout=10)

    def action_run_again(self) -> None:
        """Back to the main screen with this run's prompt, attachment, system and settings."""
        from ..rerun import run_again

        info = self._load()
        if info is not None:
            run_again(self.app, info)

    def palette_commands(self) -> Iterable[tuple[str, str, Callable[[], object]]]:
        yield "Open run", "Open the highlighted run read-only (Enter)", self.action_open
        yield "Filter runs", "Runs whose prompts or answers hold a text (/)", self.action_filter
        yield "Sort runs", "Sort by the next column; S reverses (s)", self.action_sort
        yield "Run again", "Load this run's prompt and settings into the main screen (a)", \
            self.action_run_again
        yield "Export run", "Write the run as Markdown or JSON (e)", self.action_export
        yield "Delete run", "Delete the run's folder, after asking (d)", self.action_delete
        yield "Reload", "Read the run store again (ctrl+r)", self.action_reload
        yield "Back", "Return to the main screen (Esc)", self.app.pop_screen
