"""Where agentdeck keeps its files: platformdirs locations, relocatable with AGENTDECK_HOME.

Nothing here touches the disk: ``fsutil.private_dir`` creates folders when they are needed.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["app_state_file", "config_dir", "config_file", "data_dir", "prompt_history_file",
           "runs_dir"]

APP = "agentdeck"


def _home() -> Path | None:
    home = os.environ.get("AGENTDECK_HOME")
    return Path(home).expanduser() if home else None


def config_dir() -> Path:
    """Folder of ``config.toml``: ``$AGENTDECK_HOME/config`` or the platform config dir."""
    home = _home()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP, appauthor=False))


def data_dir() -> Path:
    """Folder of runs and other data: ``$AGENTDECK_HOME/data`` or the platform data dir."""
    home = _home()
    return home / "data" if home else Path(platformdirs.user_data_dir(APP, appauthor=False))


def config_file() -> Path:
    """The settings file."""
    return config_dir() / "config.toml"


def runs_dir() -> Path:
    """Folder holding one sub-folder per run."""
    return data_dir() / "runs"


def prompt_history_file() -> Path:
    """The prompts sent from the app, one JSON string a line (``store.app_state``)."""
    return data_dir() / "prompt-history.jsonl"


def app_state_file() -> Path:
    """What the app remembers between launches: the last system and its fields."""
    return data_dir() / "app-state.json"
