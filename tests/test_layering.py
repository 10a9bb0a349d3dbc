"""The walls of the house (ARCHITECTURE.md): who may import whom, the root's size, module length.

The import rules are checked statically, over every ``import`` in every module of the package,
including imports inside functions, under ``TYPE_CHECKING`` and ``importlib.import_module("...")``
calls with a literal name, so a lazy import cannot slip a front end into the core. A subprocess
check then imports the whole core for real and looks at ``sys.modules`` (STYLE rule 1).
"""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import agentdeck

PACKAGE = Path(agentdeck.__file__).parent
ROOT_LIMIT = 12
"""Modules the package root may hold (issue 10: only what every layer shares)."""
LINE_LIMIT = 400
LONG_ALLOWED: set[str] = set()
"""Modules allowed past LINE_LIMIT (issue 10 would let client/stream.py's per-token loop stay
long; it fits today, so nothing is exempt)."""


@dataclass(frozen=True)
class Import:
    module: str
    """The importing module's path under the package, e.g. ``tui/widgets/prompt_box.py``."""
    line: int
    target: str
    """The dotted name imported, relative imports resolved: ``agentdeck.cli.inputs``."""

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}"


def _package_of(path: Path) -> str:
    """The package a relative import in ``path`` starts from (``from . import`` = this)."""
    parts = ("agentdeck",) + path.relative_to(PACKAGE).parent.parts
    return ".".join(parts)


def _resolve(package: str, level: int, module: str | None) -> str:
    """Python's rule: level 1 is ``package`` itself, each further dot one package up."""
    base = package.split(".")
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _targets(node: ast.AST, package: str) -> list[str]:
    """Dotted names one AST node imports (empty for nodes that import nothing)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        target = _resolve(package, node.level, node.module) if node.level else node.module or ""
        # `from agentdeck import cli` imports agentdeck.cli: keep both spellings.
        return [target] + [f"{target}.{alias.name}" for alias in node.names]
    if isinstance(node, ast.Call) and node.args:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        first = node.args[0]
        if name in ("import_module", "__import__") and isinstance(first, ast.Constant):
            text = str(first.value)
            if text.startswith("."):
                second = node.args[1] if len(node.args) > 1 else None
                if isinstance(second, ast.Constant):
                    package = str(second.value)
                level = len(text) - len(text.lstrip("."))
                return [_resolve(package, level, text[level:] or None)]
            return [text]
    return []


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@functools.cache
def _imports() -> list[Import]:
    """Every import of every module, parsed once per test session."""
    found = []
    for path in _modules():
        rel = path.relative_to(PACKAGE).as_posix()
        package = _package_of(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            for target in _targets(node, package):
                found.append(Import(rel, getattr(node, "lineno", 0), target))
    return found


def _crossings(importers: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    """Import statements in modules under ``importers`` (path prefixes) of ``forbidden`` names."""
    found: dict[tuple[str, int], str] = {}
    for imp in _imports():
        if imp.module.startswith(importers) and any(
            imp.target == f or imp.target.startswith(f + ".") for f in forbidden
        ):
            # One line per statement: `from agentdeck import cli` also yields agentdeck.cli.x.
            key = (imp.module, imp.line)
            if key not in found or len(imp.target) < len(found[key]):
                found[key] = imp.target
    return [f"{module}:{line} imports {target}" for (module, line), target in sorted(found.items())]


def test_the_walk_sees_the_package() -> None:
    """Guard against a walk that finds nothing and so proves nothing."""
    assert len(_modules()) > 50
    # Relative imports are resolved: the client's modules import each other relatively.
    assert any(
        imp.module.startswith("client/") and imp.target.startswith("agentdeck.client.")
        for imp in _imports()
    )


def test_resolution_of_relative_and_lazy_imports() -> None:
    """The resolver reads `from ..cli import x`, `from .. import cli` and import_module(...)."""
    package = "agentdeck.tui.widgets"
    for source, expected in (
        ("from ..x import y", "agentdeck.tui.x"),
        ("from ...cli.inputs import read", "agentdeck.cli.inputs"),
        ("from ... import cli", "agentdeck.cli"),
        ("from . import card", "agentdeck.tui.widgets.card"),
        ("import agentdeck.cli", "agentdeck.cli"),
        ("importlib.import_module('agentdeck.cli')", "agentdeck.cli"),
        ("import_module('.cli', 'agentdeck')", "agentdeck.cli"),
    ):
        names = [t for node in ast.walk(ast.parse(source)) for t in _targets(node, package)]
        assert expected in names, (source, names)


def test_the_app_never_imports_the_cli() -> None:
    """The two front ends share the core, not each other (issue 10: prompt_box -> cli.inputs)."""
    crossings = _crossings(("tui/",), ("agentdeck.cli",))
    assert not crossings, "\n".join(crossings)


def test_the_core_wings_import_no_system_and_no_front_end() -> None:
    """client/, config/ and store/ sit below systems/, the simulator and both front ends."""
    # agentdeck.connect sits above the wings (it imports client and config): a wing reaching up
    # to it would make a cycle.
    forbidden = ("agentdeck.systems", "agentdeck.cli", "agentdeck.tui", "agentdeck.sim",
                 "agentdeck.connect")
    crossings = _crossings(("client/", "config/", "store/"), forbidden)
    assert not crossings, "\n".join(crossings)


def test_nothing_below_the_front_ends_imports_them() -> None:
    """ARCHITECTURE: no core module imports a front end; `python -m agentdeck` is the CLI."""
    core = tuple(
        p.relative_to(PACKAGE).as_posix() + ("/" if p.is_dir() else "")
        for p in PACKAGE.iterdir()
        if p.name not in ("cli", "tui", "__main__.py") and (p.is_dir() or p.suffix == ".py")
    )
    crossings = _crossings(core, ("agentdeck.cli", "agentdeck.tui"))
    assert not crossings, "\n".join(crossings)


def test_only_the_app_imports_textual_or_rich() -> None:
    """STYLE rule 1, statically: a lazy import in the core would escape the subprocess check."""
    ui = sorted(
        {
            str(imp)
            for imp in _imports()
            if not imp.module.startswith("tui/")
            and imp.target.split(".")[0] in ("textual", "rich")
        }
    )
    assert not ui, "\n".join(ui)


def test_the_package_root_holds_only_shared_basics() -> None:
    root = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(root) <= ROOT_LIMIT, f"{len(root)} root modules: {root}"


def test_no_module_is_over_the_line_limit() -> None:
    """STYLE rule 9 and issue 10: no module over 400 lines (client/stream.py excepted)."""
    long = sorted(
        f"{path.relative_to(PACKAGE).as_posix()}: {count} lines"
        for path in _modules()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > LINE_LIMIT
        and path.relative_to(PACKAGE).as_posix() not in LONG_ALLOWED
    )
    assert not long, "\n".join(long)


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
    """Importing every module outside tui/ (and every public name) loads no UI library."""
    done = subprocess.run(
        [sys.executable, "-c", CHECK], check=False, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.split(maxsplit=1)
    count, leaked = int(out[0]), out[1].strip()
    assert count >= 10, "the walk found too few core modules to mean anything"
    assert leaked == "[]", f"core pulled in UI libraries: {leaked}"


def test_help_does_not_load_the_ui() -> None:
    """`agentdeck --help` starts without Textual, Rich or httpx (STYLE rule 10)."""
    code = (
        "import sys\n"
        "from agentdeck.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'httpx')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
