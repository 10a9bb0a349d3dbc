"""The core never imports textual or rich (STYLE rule 1), and the CLI starts without the UI."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CHECK = textwrap.dedent(
    """
    import importlib, pathlib, sys
    import agentdeck
    root = pathlib.Path(agentdeck.__file__).parent
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[0] == "tui" or parts[-1] == "__main__":
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(("agentdeck",) + parts))
    for name in names:
        importlib.import_module(name)
    for name in agentdeck.__all__:
        getattr(agentdeck, name)
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("textual", "rich"))
    print(len(names), leaked)
    """
)


def test_core_modules_never_import_textual_or_rich() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True
    ).stdout.split(maxsplit=1)
    count, leaked = int(out[0]), out[1].strip()
    assert count >= 10, "the walk found too few core modules to mean anything"
    assert leaked == "[]", f"core pulled in UI libraries: {leaked}"


def test_help_does_not_load_the_ui() -> None:
    code = (
        "import sys\n"
        "from agentdeck.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'httpx')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
