"""safe_filename: names from users and models never escape their folder and stay portable."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentdeck.sanitize import is_safe_filename, safe_filename


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("report", "report"),
        ("my run 1", "my run 1"),
        ("../../etc/passwd", "etc_passwd"),
        ("/etc/passwd", "etc_passwd"),
        ("..\\..\\windows\\system32", "windows_system32"),
        ("a/../b", "a_._b"),
        ("evil\x00name", "evil_name"),
        ("tab\there\nnew", "tab_here_new"),
        (".hidden", "hidden"),
        ("--rm -rf", "rm -rf"),
        ("name. ", "name"),
        ('what?*:<>|"', "what_"),
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("LPT9", "_LPT9"),
        ("CONSOLE", "CONSOLE"),
        ("日本語のレポート", "日本語のレポート"),
        ("emoji 🚀 run", "emoji 🚀 run"),
    ],
)
def test_names_are_made_safe(raw: str, expected: str) -> None:
    assert safe_filename(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "..", "/", "...", "\x00\x01", "-", "._-"])
def test_nothing_usable_gives_the_default(raw: str) -> None:
    assert safe_filename(raw, default="output") == "output"


def test_long_names_are_cut_with_a_hash_so_they_stay_distinct() -> None:
    a = safe_filename("x" * 300 + "a.txt")
    b = safe_filename("x" * 300 + "b.txt")
    assert a != b
    assert len(a.encode()) <= 100 and a.endswith(".txt")
    wide = safe_filename("字" * 200, max_len=100)
    assert len(wide.encode()) <= 100
    wide.encode("utf-8").decode("utf-8")  # cut on a character boundary


@pytest.mark.parametrize(
    "raw", ["../../x", "/abs/path", "a/b/c", "..", "nul\x00byte", "x" * 400, "CON", "\\\\srv\\s"]
)
def test_result_stays_inside_its_folder(tmp_path: Path, raw: str) -> None:
    name = safe_filename(raw)
    target = (tmp_path / name).resolve()
    assert target.parent == tmp_path.resolve()
    target.write_text("ok")  # the OS accepts it
    assert is_safe_filename(name)


def test_is_safe_filename_rejects_unsafe_names() -> None:
    assert is_safe_filename("20261125-101010-multi-abc123")
    assert not is_safe_filename("../x")
    assert not is_safe_filename("")
    assert not is_safe_filename(".git")
