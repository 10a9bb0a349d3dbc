"""``Settings.explain()``: every resolved key with where it came from, ``record`` included."""

from __future__ import annotations

from pathlib import Path

from agentdeck.config.settings import load_settings


def explained(settings) -> dict[str, str]:
    return dict(line.split(" = ", 1) for line in settings.explain())


def test_explain_lists_record_and_its_source(tmp_path: Path) -> None:
    """Regression: the ``record`` key was missing from explain()."""
    assert explained(load_settings(env={}, path=tmp_path / "none.toml"))["record"] == (
        "False (default)")
    path = tmp_path / "config.toml"
    path.write_text("record = true\nconcurrency = 3\n")
    lines = explained(load_settings(env={}, path=path))
    assert lines["record"] == "True (file)"
    assert lines["concurrency"] == "3 (file)"
