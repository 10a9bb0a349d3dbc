"""What the app keeps between launches: the prompts sent, and the last system with its fields.

Both live in the data folder (not ``config.toml``: a file the user edits by hand is rewritten
only when the user saves settings). Both are owner-only (0600) and bounded, and a missing or
damaged file is an empty history, never an error: losing them costs the user nothing else.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from .. import fsutil, paths

__all__ = ["HISTORY_LIMIT", "PromptHistory", "load_picks", "save_picks"]

HISTORY_LIMIT = 500
"""Prompts kept; the file is cut back to this many once it holds twice as many."""

log = logging.getLogger("agentdeck.store")


class PromptHistory:
    """The prompts sent from the app, oldest first: one JSON line appended per sent prompt."""

    def __init__(self, path: Path | None = None, limit: int = HISTORY_LIMIT) -> None:
        self.path = path if path is not None else paths.prompt_history_file()
        self.limit = limit
        self._lines = 0

    def load(self) -> list[str]:
        """The last ``limit`` prompts (unreadable lines are skipped)."""
        try:
            raw = self.path.read_bytes().splitlines()
        except OSError:
            return []
        self._lines = len(raw)
        prompts = []
        for line in raw[-self.limit:]:
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(value, str):
                prompts.append(value)
        return prompts

    def add(self, prompt: str) -> None:
        """Append ``prompt``; past twice the limit, keep only the newest ``limit``."""
        line = orjson.dumps(prompt) + b"\n"
        try:
            fsutil.private_dir(self.path.parent)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, fsutil.FILE_MODE)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
            self._lines += 1
            if self._lines > 2 * self.limit:
                kept = self.path.read_bytes().splitlines()[-self.limit:]
                fsutil.atomic_write(self.path, b"\n".join(kept) + b"\n", durable=False)
                self._lines = len(kept)
        except OSError as exc:  # a read-only home: the session's history still works
            log.warning("cannot save the prompt history to %s: %s", self.path, exc)


def load_picks(path: Path | None = None) -> dict[str, Any]:
    """``{"system": key, "fields": {system: {field: text}}}`` as last saved; {} if none."""
    path = path if path is not None else paths.app_state_file()
    try:
        doc = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return doc if isinstance(doc, dict) else {}


def save_picks(system: str, fields: Mapping[str, str], path: Path | None = None) -> None:
    """Remember ``system`` as the last one used, with its fields (kept per system)."""
    path = path if path is not None else paths.app_state_file()
    doc = load_picks(path)
    per_system = doc.get("fields") if isinstance(doc.get("fields"), dict) else {}
    per_system[system] = {str(k): str(v) for k, v in fields.items()}
    try:
        fsutil.private_dir(path.parent)
        fsutil.atomic_write(path, orjson.dumps({"system": system, "fields": per_system}),
                            durable=False)
    except OSError as exc:
        log.warning("cannot save the app's state to %s: %s", path, exc)
