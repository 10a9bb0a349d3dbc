"""neutralize: model text printed to a terminal cannot act on it."""

from __future__ import annotations

import pytest

from agentdeck.textsafe import neutralize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\x1b[31mred\x1b[0m text", "red text"),
        ("\x1b]52;c;aGVsbG8=\x07after", "after"),  # OSC 52 clipboard write (BEL)
        ("\x1b]52;c;aGVsbG8=\x1b\\after", "after"),  # OSC 52 with ST
        ("\x1b]0;pwned title\x07x", "x"),  # window title
        ("\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "link"),  # hyperlink
        ("\x1bP1$qm\x1b\\dcs", "dcs"),  # DCS request
        ("\x1b_apc payload\x1b\\y", "y"),  # APC
        ("\x9b31mc1\x9b0m", "c1"),  # 8-bit CSI
        ("\x9d0;title\x9cz", "z"),  # 8-bit OSC and ST
        ("\x1bcreset", "reset"),  # ESC c, full reset
        ("\x1b[2J\x1b[Hclear", "clear"),
        ("bell\x07 back\x08space", "bell backspace"),
        ("line1\r\nline2", "line1\nline2"),
        ("safe\roverwrite", "safe\noverwrite"),
        ("keep\ttabs\nand lines", "keep\ttabs\nand lines"),
        ("\x00nul\x7fdel", "nuldel"),
    ],
)
def test_sequences_and_controls_are_removed(raw: str, expected: str) -> None:
    assert neutralize(raw) == expected


def test_printable_unicode_is_untouched() -> None:
    text = "日本語 中文 한국어 — emoji 🚀👩‍👩‍👧 e\u0301 ﷽ «quotes» ½ 𝛑"
    assert neutralize(text) is text


def test_a_sequence_split_across_chunks_stays_inert() -> None:
    chunks = ["before \x1b]52;c;", "aGVsbG8=\x07 after"]
    out = "".join(neutralize(c) for c in chunks)
    assert "\x1b" not in out and "\x07" not in out
    assert out.startswith("before ") and out.endswith(" after")


def test_unterminated_osc_loses_its_escape() -> None:
    out = neutralize("x\x1b]0;title without end")
    assert "\x1b" not in out and out.startswith("x")


def test_output_never_holds_a_control_character() -> None:
    raw = "".join(chr(i) for i in range(0, 0xA0)) * 3
    out = neutralize(raw)
    assert all(ch in "\n\t" or (" " <= ch <= "~") for ch in out)
