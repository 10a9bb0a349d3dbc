"""Plugins: systems from installed packages and from single files in the user's folder.

Systems come from three sources: agentdeck's own (``systems.declarations``); installed packages,
through the entry-point group ``agentdeck.systems`` (an entry point names a ``SystemSpec``, a list
of them, or a callable returning either); and files ``<config dir>/systems/*.py`` that define
``SYSTEMS`` (the same). ``discover()`` registers them once, on first need (``agentdeck systems``,
``agentdeck run``, the app), never for ``agentdeck --help`` or a built-in's command; with no
plugin it costs a stat and a glance at the installed packages' ``entry_points.txt``.

A plugin's faults stay inside it. A file that does not import, a declaration that makes no sense
(not a ``SystemSpec``, a taken key or command, options the CLI could not offer) is a ``Problem``
(file, line, error), listed and shown, never raised. A plugin system that raises while it runs
fails its run as a ``PluginError``, the traceback kept in ``run.json``. Loading a file runs its
code: a folder or file that another user could write is refused.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import InputError
from . import registry
from .registry import SystemSpec

__all__ = ["FOUND", "GROUP", "Discovery", "Problem", "Source", "discover", "folder", "reset",
           "source"]

GROUP = "agentdeck.systems"
"""The entry-point group an installed package declares its systems in."""
MODULE_PREFIX = "agentdeck_plugin_"
"""A plugin file's module name: this and its stem (``refine.py``: ``agentdeck_plugin_refine``)."""


@dataclass(frozen=True)
class Source:
    """Where a system comes from."""

    kind: str
    """``built-in``, ``package``, ``file`` or ``python`` (registered by code at run time)."""
    package: str = ""
    version: str = ""
    path: str = ""
    """A file plugin's file; a package's folder (where its tracebacks are blamed)."""

    def __str__(self) -> str:
        if self.kind == "package":
            return f"{self.package} {self.version}".strip()
        if self.kind == "file":
            return self.path
        return "built-in" if self.kind == "built-in" else "registered from Python"

    def document(self) -> dict[str, str]:
        """For ``--json``: the kind and what names it."""
        doc = {"kind": self.kind}
        if self.kind == "package":
            doc.update(package=self.package, version=self.version)
        elif self.kind == "file":
            doc["path"] = self.path
        return doc


@dataclass(frozen=True)
class Problem:
    """A plugin that did not load, or a system of it that was refused."""

    origin: str
    """The file, or the package and its entry point."""
    error: str
    path: str = ""
    """The file the error is in (a package's module), '' when unknown."""
    line: int | None = None

    def __str__(self) -> str:
        where = self.path + (f":{self.line}" if self.path and self.line else "")
        if self.path != self.origin:
            where = f"{self.origin} ({where})" if where else self.origin
        return f"{where}: {self.error}"

    def document(self) -> dict[str, Any]:
        return {"origin": self.origin, "path": self.path or None, "line": self.line,
                "error": self.error}


class _Refused(Exception):
    """A declaration that makes no sense; its message says why."""


@dataclass
class Discovery:
    """What discovery found, once per process: each plugin system's source, the problems met,
    the modules of the files it ran (``reset`` forgets them all)."""

    sources: dict[str, Source] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)
    done: bool = False


FOUND = Discovery()
"""The process's discovery (as the registry is the process's systems)."""


def folder() -> Path:
    """The user's plugin folder: ``<config dir>/systems`` (``AGENTDECK_HOME`` moves it)."""
    from ..paths import config_dir

    return config_dir() / "systems"


def discover() -> tuple[Problem, ...]:
    """Register every plugin system, once per process; returns the problems met."""
    if not FOUND.done:
        FOUND.done = True
        if _may_declare_entry_points():
            _load_entry_points()
        _load_files()
    return tuple(FOUND.problems)


def source(key: str) -> Source:
    """Where the system ``key`` comes from."""
    found = FOUND.sources.get(key)
    if found is not None:
        return found
    from .declarations import SPECS

    return Source("built-in" if any(s.key == key for s in SPECS) else "python")


def reset() -> None:
    """Forget the plugins (unregistered) and what discovery met, so it runs again (tests)."""
    for key in FOUND.sources:
        registry.unregister(key)
    for name in FOUND.modules:
        sys.modules.pop(name, None)
    FOUND.sources.clear()
    FOUND.problems.clear()
    FOUND.modules.clear()
    FOUND.done = False


# ------------------------------------------------------------------ registering


def _add(obj: Any, what: str, where: Source, origin: str, path: str, line: int | None) -> None:
    """Register the systems ``obj`` declares; each refusal is a problem of its own."""
    try:
        specs = _specs_of(obj, what)
    except (Exception, SystemExit) as exc:  # a callable that raised, or nonsense
        FOUND.problems.append(_problem(origin, exc, path, line))
        return
    for spec in specs:
        try:
            _register(spec, where)
        except (_Refused, InputError) as exc:
            FOUND.problems.append(Problem(origin, f"system {spec.key!r}: {exc}", path, line))
        except Exception as exc:  # a declaration odd enough to break a check
            FOUND.problems.append(Problem(origin, f"system {spec.key!r}: {type(exc).__name__}: "
                                             f"{exc}", path, line))


def _specs_of(obj: Any, what: str) -> list[SystemSpec]:
    if callable(obj) and not isinstance(obj, (SystemSpec, type)):
        obj = obj()
    if isinstance(obj, SystemSpec):
        return [obj]
    if isinstance(obj, (list, tuple)) and obj and all(isinstance(s, SystemSpec) for s in obj):
        return list(obj)
    raise _Refused(f"{what} must be a SystemSpec, a list of them or a callable returning "
                   f"either; got {_describe(obj)}")


def _describe(obj: Any) -> str:
    if isinstance(obj, (list, tuple)):
        bad = next((o for o in obj if not isinstance(o, SystemSpec)), None)
        return "an empty list" if not obj else f"a list holding {_describe(bad)}"
    text = repr(obj)
    return f"{type(obj).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"


def _register(spec: SystemSpec, where: Source) -> None:
    from .guard import guarded
    from .spec_check import check_spec

    problem = check_spec(spec)
    if problem:
        raise _Refused(problem)
    taken = registry.find(spec.key)
    if taken is not None:
        raise _Refused(f"the key is taken by {source(spec.key)}: choose another key")
    registry.register(replace(spec, make=guarded(spec, str(where), where.path)))
    FOUND.sources[spec.key] = where


def _problem(origin: str, exc: BaseException, path: str = "",
             line: int | None = None) -> Problem:
    """``exc`` as a problem, blamed on the deepest frame in ``path`` (or outside agentdeck)."""
    if isinstance(exc, _Refused):
        return Problem(origin, str(exc), path, line)
    found_path, found_line = _blame(exc, path)
    return Problem(origin, f"{type(exc).__name__}: {exc}", found_path or path,
                   found_line if found_path else line)


def _blame(exc: BaseException, path: str) -> tuple[str, int | None]:
    """The plugin's file and line that raised ``exc`` ('' when none is in the traceback)."""
    import traceback

    if isinstance(exc, SyntaxError) and exc.filename and exc.filename == (path or exc.filename):
        return exc.filename, exc.lineno
    ours = str(Path(__file__).resolve().parent.parent)
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        name = frame.filename
        if (name == path or (path and name.startswith(path + os.sep))
                or (not path and not name.startswith((ours, "<")) and "importlib" not in name)):
            return name, frame.lineno
    return "", None


# ------------------------------------------------------------------ installed packages


def _may_declare_entry_points() -> bool:
    """Whether an installed package may declare ``GROUP``: a glance at every
    ``entry_points.txt`` on ``sys.path`` (~1 ms), which spares importing ``importlib.metadata``
    (~40 ms: email, zipfile, csv...) at every start of the app when no package does."""
    needle = GROUP.encode()
    for entry in sys.path:
        base = entry or "."
        try:
            names = os.listdir(base)
        except NotADirectoryError:
            return True  # a zip on the path: importlib.metadata looks inside
        except OSError:
            continue
        for name in names:
            if name.endswith((".dist-info", ".egg-info")):
                try:
                    with open(os.path.join(base, name, "entry_points.txt"), "rb") as file:
                        if needle in file.read():
                            return True
                except OSError:
                    continue
    return False


def _load_entry_points() -> None:
    from importlib import metadata

    found = sorted(metadata.entry_points(group=GROUP),
                   key=lambda ep: (ep.dist.name if ep.dist else "", ep.name))
    for ep in found:
        dist = ep.dist
        package, version = (dist.name, dist.version) if dist is not None else ("", "")
        origin = f"{package} {version}, entry point {ep.name} = {ep.value}".strip()
        try:
            obj = ep.load()
        except (Exception, SystemExit) as exc:
            FOUND.problems.append(_problem(origin, exc))
            continue
        path = _package_folder(ep.module)
        where = Source("package", package, version, path)
        _add(obj, f"entry point {ep.name}", where, origin, path, None)


def _package_folder(module: str) -> str:
    """The folder of the package holding ``module`` (or the module's file)."""
    top = sys.modules.get(module.partition(".")[0])
    file = getattr(top, "__file__", None) or ""
    if file.endswith("__init__.py"):
        return os.path.dirname(file)
    return file


# ------------------------------------------------------------------ the user's folder


def _load_files() -> None:
    place = folder()
    try:
        info = os.stat(place)
    except FileNotFoundError:
        return
    except OSError as exc:
        FOUND.problems.append(Problem(str(place), f"cannot read the plugin folder: {exc}", str(place)))
        return
    unsafe = _unsafe(info)
    if unsafe:
        FOUND.problems.append(Problem(str(place), _refusal("folder", place, unsafe), str(place)))
        return
    for path in sorted(place.glob("*.py")):
        _load_file(path)


def _unsafe(info: os.stat_result) -> str:
    """Why another user could change what this file or folder runs ('' when nobody can)."""
    if os.name == "nt":
        return ""  # no POSIX modes; the user's profile folder is private by default
    if hasattr(os, "getuid") and info.st_uid not in (os.getuid(), 0):
        return f"it belongs to another user (uid {info.st_uid})"
    writable = [who for who, bit in (("group", stat.S_IWGRP), ("others", stat.S_IWOTH))
                if info.st_mode & bit]
    return f"it is writable by {' and '.join(writable)}" if writable else ""


def _refusal(what: str, path: Path, why: str) -> str:
    return (f"refused: {why}, and loading a plugin runs its code; make the {what} yours and "
            f"writable by you only (chmod go-w {path})")


def _load_file(path: Path) -> None:
    origin = str(path)
    try:
        unsafe = _unsafe(os.stat(path))
        if unsafe:
            raise _Refused(_refusal("file", path, unsafe))
        source_text = path.read_bytes()
    except (_Refused, OSError) as exc:
        FOUND.problems.append(Problem(origin, str(exc), origin))
        return
    name = MODULE_PREFIX + re.sub(r"\W", "_", path.stem)
    try:
        # Compiled here, not imported: no __pycache__ is written to, or read from, the folder.
        code = compile(source_text, origin, "exec", dont_inherit=True)
        module = type(sys)(name)
        module.__file__ = origin
        sys.modules[name] = module  # dataclasses and pickling look a module up by name
        FOUND.modules.append(name)
        exec(code, module.__dict__)
    except (Exception, SystemExit) as exc:
        sys.modules.pop(name, None)
        FOUND.problems.append(_problem(origin, exc, origin))
        return
    line = _line_of(source_text, "SYSTEMS")
    if not hasattr(module, "SYSTEMS"):
        FOUND.problems.append(Problem(origin, "declares no system: define SYSTEMS = [SystemSpec(...)]",
                                 origin))
        return
    _add(module.SYSTEMS, "SYSTEMS", Source("file", path=origin), origin, origin, line)


def _line_of(source_text: bytes, name: str) -> int | None:
    """The line that assigns ``name`` at the top level (for messages about what it holds)."""
    found = re.search(rb"^" + name.encode() + rb"\s*[:=]", source_text, re.MULTILINE)
    return source_text.count(b"\n", 0, found.start()) + 1 if found else None

