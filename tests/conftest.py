"""Suite-wide isolation: every test gets its own AGENTDECK_HOME and no endpoint variables.

Keep this file minimal; fixtures for one area belong in that folder's own conftest.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_PREFIXES = ("AGENTDECK_", "VLLM_", "OPENAI_")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point AGENTDECK_HOME at a fresh folder so no test reads or writes the real home."""
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name)
    home = tmp_path / "agentdeck-home"
    monkeypatch.setenv("AGENTDECK_HOME", str(home))
    return home
