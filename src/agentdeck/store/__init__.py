"""The store wing: every run as a folder of plain files, written as it streams.

Modules: ``runs`` (``RunStore``: where runs live, listing, ids), ``recorder`` (events to
files), ``manifest`` (``run.json``), ``run_info`` (reading a run back), ``append_files`` and
``flush_timer`` (the writer's buffered appends).
"""

from __future__ import annotations

from agentdeck import lazy_face

_EXPORTS = {
    "RunInfo": "run_info",
    "RunRecorder": "recorder",
    "RunStore": "runs",
    "new_run_id": "runs",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
