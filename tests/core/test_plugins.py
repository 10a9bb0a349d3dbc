"""Plugins (issue 16): systems from installed packages and the user's folder, found lazily,
listed with their source, run by ``agentdeck run``; their faults stay theirs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from plugin_support import (
    EXPLODE_LINE,
    TWICE,
    fresh_plugins,  # noqa: F401 - a fixture
    make_distribution,
    plugin_folder,
    write_plugin,
)

from agentdeck.cli import main
from agentdeck.store.runs import RunStore
from agentdeck.systems import plugins, registry

pytestmark = pytest.mark.usefixtures("fresh_plugins")

PACKAGE = textwrap.dedent('''\
    from agentdeck.systems.registry import SystemSpec

    def _make(model, request):
        raise RuntimeError("not run in this test")

    def systems():
        return [SystemSpec("pkg-one", "Pkg one", "first", _make),
                SystemSpec("pkg-two", "Pkg two", "second", _make, command="pkg2")]
''')


def run_cli(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    """``python -m agentdeck ARGS`` in a subprocess."""
    return subprocess.run([sys.executable, "-m", "agentdeck", *args], capture_output=True,
                          text=True, env=env, timeout=timeout)


def test_a_file_in_the_user_folder_is_registered_with_its_path(isolated_home) -> None:
    path = write_plugin(isolated_home, "twice.py", TWICE)
    assert registry.find("twice") is None  # nothing is loaded before discovery
    assert plugins.discover() == ()
    spec = registry.get("twice")
    assert (spec.label, spec.calls.flag) == ("Twice", "--times")
    assert plugins.source("twice") == plugins.Source("file", path=str(path))
    assert plugins.source("multi").kind == "built-in"


def test_an_installed_package_is_found_through_its_entry_point(tmp_path, monkeypatch) -> None:
    """The entry point names a callable returning two systems."""
    monkeypatch.syspath_prepend(str(make_distribution(
        tmp_path / "site", PACKAGE, "both = agentdeck_testplugin:systems")))
    assert plugins.discover() == ()
    for key in ("pkg-one", "pkg-two"):
        source = plugins.source(key)
        assert (source.kind, source.package, source.version) == ("package", "agentdeck-testplugin",
                                                                  "0.1")
    assert registry.get("pkg-two").command == "pkg2"


@pytest.mark.parametrize(("module", "entry", "line", "error"), [
    ("import os\n\nraise ImportError('needs a GPU')\n", "x = agentdeck_testplugin:SYSTEMS", 3,
     "ImportError: needs a GPU"),
    ("SYSTEMS = None\n", "x = agentdeck_testplugin:NOPE", None,
     "AttributeError: module 'agentdeck_testplugin' has no attribute 'NOPE'"),
    ("def systems():\n    return {'a': 1}\n", "x = agentdeck_testplugin:systems", None,
     "entry point x must be a SystemSpec, a list of them or a callable returning either; "
     "got dict {'a': 1}"),
])
def test_a_broken_package_is_reported_and_agentdeck_carries_on(tmp_path, monkeypatch, module,
                                                                entry, line, error) -> None:
    site = make_distribution(tmp_path / "site", module, entry)
    monkeypatch.syspath_prepend(str(site))
    (problem,) = plugins.discover()
    assert problem.origin == f"agentdeck-testplugin 0.1, entry point {entry}"
    assert error in problem.error
    if line is not None:
        assert (problem.path, problem.line) == (str(site / "agentdeck_testplugin.py"), line)
    assert registry.get("basic").label == "Basic"


def test_discovery_runs_once_and_never_for_help_or_a_built_in(isolated_home, tmp_path) -> None:
    """Loading a file runs its code: only `systems`, `run` and the app do, once per process."""
    marker = tmp_path / "loaded"
    write_plugin(isolated_home, "twice.py",
                 f"with open({str(marker)!r}, 'a') as f: f.write('x')\n" + TWICE)
    env = {**os.environ, "AGENTDECK_HOME": str(isolated_home)}
    probe = ("import sys; from agentdeck.cli import main; main(sys.argv[1:]); "
             "print('plugins' , 'agentdeck.systems.plugins' in sys.modules, "
             "'importlib.metadata' in sys.modules)")
    for args in (["--help"], ["ask", "--demo", "-q", "--max-tokens", "2", "hi"]):
        done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True,
                              text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[-1] == "plugins False False"
        assert "twice" not in done.stdout and not marker.exists()
    plugins.discover()
    plugins.discover()
    assert registry.find("twice") is not None and marker.read_text() == "x"


def test_agentdeck_systems_lists_all_three_sources_and_what_did_not_load(isolated_home,
                                                                        tmp_path) -> None:
    site = make_distribution(tmp_path / "site", PACKAGE, "both = agentdeck_testplugin:systems")
    twice = write_plugin(isolated_home, "twice.py", TWICE)
    broken = write_plugin(isolated_home, "broken.py", "import math\n\nx = 1 / 0\n")
    env = {**os.environ, "AGENTDECK_HOME": str(isolated_home), "PYTHONPATH": str(site)}
    done = run_cli("systems", "--json", env=env)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["schema"] == 1
    found = {row["key"]: row for row in doc["systems"]}
    assert list(found)[:6] == ["basic", "context", "chain", "multi", "debate", "moa"]
    assert list(found)[-3:] == ["pkg-one", "pkg-two", "twice"]  # packages, then files
    assert found["basic"]["command"] == "ask" and found["basic"]["source"] == {"kind": "built-in"}
    assert found["pkg-two"]["source"] == {"kind": "package", "package": "agentdeck-testplugin",
                                          "version": "0.1"}
    assert found["pkg-two"]["command"] == "run pkg-two"
    assert found["twice"]["source"] == {"kind": "file", "path": str(twice)}
    (problem,) = doc["problems"]
    assert problem == {"origin": str(broken), "path": str(broken), "line": 3,
                       "error": "ZeroDivisionError: division by zero"}

    done = run_cli("systems", env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["KEY", "LABEL", "COMMAND", "SOURCE"]
    assert any(line.split()[:2] == ["basic", "Basic"] and line.endswith("built-in")
               for line in lines)
    assert any(line.startswith("twice ") and "run twice" in line and line.endswith(str(twice))
               for line in lines)
    assert any("pkg-one" in line and line.endswith("agentdeck-testplugin 0.1") for line in lines)
    assert lines[-2:] == ["not loaded (1):",
                          f"  {broken}:3: ZeroDivisionError: division by zero"]


BAD = {
    "syntax.py": ("x = 1\ndef broken(:\n", 2, "SyntaxError: invalid syntax"),
    "raises.py": ("import os\n\nraise RuntimeError('not today')\n", 3,
                  "RuntimeError: not today"),
    "missing.py": ("\nimport no_such_module_here\n", 2,
                   "ModuleNotFoundError: No module named 'no_such_module_here'"),
    "exits.py": ("import sys\nsys.exit(3)\n", 2, "SystemExit: 3"),
    "nothing.py": ("x = 1\n", None, "declares no system: define SYSTEMS = [SystemSpec(...)]"),
    "nonsense.py": ("x = 1\nSYSTEMS = 'hello'\n", 2,
                    "SYSTEMS must be a SystemSpec, a list of them or a callable returning "
                    "either; got str 'hello'"),
    "badkind.py": ("from agentdeck.systems.registry import Option\n"
                   "OPTION = Option('x', '--x', kind='float')\n", 2,
                   "ValueError: option x: kind must be one of"),
}
SPEC = ("from agentdeck.systems.registry import Attachment, Option, SystemSpec\n"
        "SYSTEMS = [SystemSpec({key!r}, 'L', 'S', lambda m, r: None{extra})]\n")
REFUSED = {
    "builtin.py": ("multi", "", "system 'multi': the key is taken by built-in"),
    "command.py": ("mine", ", command='runs'", "'runs' is agentdeck's own command"),
    "flag.py": ("mine", ", options=(Option('m', '--model'),)",
                "system 'mine': option 'm': its flag --model is one of agentdeck's own"),
    "default.py": ("mine", ", calls=Option('calls', '-n', default=0, minimum=1)",
                   "system 'mine': option 'calls': its default 0 does not fit"),
    "slot.py": ("mine", ", rounds=Option('turns', '--turns')",
                "system 'mine': its rounds must be an Option named 'rounds' of kind 'int'"),
    "view.py": ("mine", ", view='table'", "view must be one of stream, grid, chain"),
    "attach.py": ("mine", ", attachment=Attachment('required', 'a file')",
                  "the attachment's flag must be one such as --file, got ''"),
    "twice.py": ("mine", ", options=(Option('a', '--a'), Option('b', '--a'))",
                 "option 'b': its flag --a is declared twice"),
    "reserved.py": ("mine", ", options=(Option('model', '--llm'),)",
                    "option 'model': that name is one of the command line's own"),
    "system.py": ("mine", ", options=(Option('s', '--system'),)",
                  "option 's': its flag --system is one of agentdeck's own"),
    "yes.py": ("mine", ", options=(Option('y', '--yes', kind='switch'),)",
               "option 'y': its flag --yes is one of agentdeck's own"),
}


@pytest.mark.parametrize("name", sorted(BAD) + sorted(REFUSED))
def test_a_broken_plugin_is_reported_with_file_line_and_error_and_the_rest_loads(
        isolated_home, name) -> None:
    if name in BAD:
        text, line, error = BAD[name]
    else:
        key, extra, error = REFUSED[name]
        text, line = SPEC.format(key=key, extra=extra), 2
    path = write_plugin(isolated_home, name, text)
    write_plugin(isolated_home, "zz_good.py", TWICE)
    (problem,) = plugins.discover()
    assert (problem.path, problem.line) == (str(path), line)
    assert error in problem.error
    assert str(problem).startswith(f"{path}:{line}: " if line else f"{path}: ")
    assert registry.find("twice") is not None  # the good one still loads
    assert registry.get("multi").label == "Multi-call"  # a built-in is never replaced
    assert main(["ask", "--demo", "-q", "--max-tokens", "2", "--no-record", "hi"]) == 0


def test_two_plugins_with_one_key_the_second_is_refused(isolated_home) -> None:
    first = write_plugin(isolated_home, "a.py", TWICE)
    second = write_plugin(isolated_home, "b.py", TWICE)
    (problem,) = plugins.discover()
    assert problem.path == str(second)
    assert problem.error == f"system 'twice': the key is taken by {first}: choose another key"
    assert plugins.source("twice").path == str(first)


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
@pytest.mark.parametrize("what", ["folder", "file"])
def test_a_plugin_others_could_write_is_refused_unread(isolated_home, tmp_path, what) -> None:
    marker = tmp_path / "ran"
    path = write_plugin(isolated_home, "twice.py",
                        f"import pathlib; pathlib.Path({str(marker)!r}).touch()\n" + TWICE)
    target = path.parent if what == "folder" else path
    os.chmod(target, 0o777 if what == "folder" else 0o666)
    (problem,) = plugins.discover()
    assert problem.path == str(target)
    assert problem.error == (f"refused: it is writable by group and others, and loading a "
                             f"plugin runs its code; make the {what} yours and writable by you "
                             f"only (chmod go-w {target})")
    assert not marker.exists() and registry.find("twice") is None
    os.chmod(target, 0o775 if what == "folder" else 0o664)
    plugins.reset()
    (problem,) = plugins.discover()
    assert "refused: it is writable by group, and loading" in problem.error


def test_agentdeck_run_takes_the_systems_declared_options(isolated_home, capsys) -> None:
    write_plugin(isolated_home, "twice.py", TWICE)
    assert main(["run", "twice", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: agentdeck run twice")
    assert "--times TIMES" in out and "--style {plain,fancy}" in out and "--explode" in out
    assert main(["run", "twice", "--times", "4", "x"]) == 2
    assert "bad input: --times must be between 1 and 3, got 4" in capsys.readouterr().err
    assert main(["run", "twice", "--style", "bold", "x"]) == 2
    assert "invalid choice: 'bold'" in capsys.readouterr().err
    assert RunStore().list_runs() == []

    assert main(["run", "twice", "--times", "3", "--style", "fancy", "--demo", "-q",
                 "--max-tokens", "4", "--json", "Say hi"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "done" and set(doc["workers"]) == {"say-1", "say-2", "say-3"}
    (info,) = RunStore().list_runs()
    assert (info.system, info.label, info.status) == ("twice", "twice", "done")


def test_agentdeck_run_builds_the_same_parser_as_a_built_ins_command(capsys) -> None:
    def flags(*argv: str) -> set[str]:
        assert main([*argv, "--help"]) == 0
        return {word.strip(",[]") for word in capsys.readouterr().out.split()
                if word.strip("[,").startswith("-")}

    assert flags("run", "debate") == flags("debate")
    assert main(["run", "debate", "--agents", "2", "--rounds", "0", "--demo", "-q",
                 "--max-tokens", "4", "--no-record", "Answer: 4"]) == 0
    capsys.readouterr()


def test_agentdeck_run_of_an_unknown_name_says_what_is_known_and_what_did_not_load(
        isolated_home, capsys) -> None:
    broken = write_plugin(isolated_home, "mine.py", "SYSTEMS = [1]\n")
    assert main(["run", "mine", "x"]) == 2
    err = capsys.readouterr().err
    known = ", ".join(spec.key for spec in registry.specs())
    assert f"unknown system 'mine' (known: {known}; `agentdeck systems` lists them)" in err
    assert (f"not loaded: {broken}:1: SYSTEMS must be a SystemSpec, a list of them or a "
            "callable returning either; got a list holding int 1") in " ".join(err.split())


def test_a_plugin_raising_mid_run_fails_its_run_with_the_traceback_in_run_json(
        isolated_home, capsys) -> None:
    path = write_plugin(isolated_home, "twice.py", TWICE)
    assert main(["run", "twice", "--explode", "--demo", "-q", "--max-tokens", "4", "hi"]) == 1
    (info,) = RunStore().list_runs()
    err = " ".join(capsys.readouterr().err.split())
    assert (f"agentdeck: plugin failed: system 'twice' failed ({path}:{EXPLODE_LINE}): "
            "ValueError: boom from the plugin; the traceback is in ") in err
    assert f"{info.dir}{os.sep}run.json" in err
    assert info.status == "failed"
    error = info.manifest["error"]
    assert (error["kind"], error["message"]) == ("ValueError", "boom from the plugin")
    assert f'File "{path}", line {EXPLODE_LINE}' in error["traceback"]
    statuses = {w["id"]: w["status"] for w in info.workers}
    assert statuses["say-1"] == "done" and statuses["say-2"] != "done"


def test_a_run_a_plugin_left_open_when_it_raised_is_finished_as_failed(isolated_home,
                                                                      capsys) -> None:
    """A plugin that opens a run and raises outside ``drive`` would leave run.json running."""
    write_plugin(isolated_home, "open.py", textwrap.dedent("""\
        from agentdeck.systems.base import Orchestrator
        from agentdeck.systems.registry import SystemSpec

        class Open(Orchestrator):
            async def run_request(self, request):
                self.open_run(request, params={}, workers=("w",))
                raise LookupError("forgot drive")

        SYSTEMS = [SystemSpec("open", "Open", "opens a run", lambda m, r: Open(m, store=r.store))]
    """))
    assert main(["run", "open", "--demo", "-q", "hi"]) == 1
    assert "LookupError: forgot drive; the traceback is in" in capsys.readouterr().err
    (info,) = RunStore().list_runs()
    assert info.status == "failed" and info.manifest["error"]["kind"] == "LookupError"


async def test_a_plugin_whose_make_raises_or_that_answers_nonsense_is_a_plugin_error(
        isolated_home) -> None:
    from agentdeck.errors import PluginError
    from agentdeck.systems.registry import RunRequest

    path = write_plugin(isolated_home, "odd.py", textwrap.dedent("""\
        from agentdeck.systems.registry import SystemSpec

        class Odd:
            async def run_request(self, request):
                return {"answer": 42}

        def make(model, request):
            if request.prompt == "build":
                raise KeyError("no such part")
            return Odd()

        SYSTEMS = [SystemSpec("odd", "Odd", "odd", make)]
    """))
    assert plugins.discover() == ()
    spec = registry.get("odd")
    with pytest.raises(PluginError, match=rf"system 'odd' could not be built \({path}:9\): "
                                          r"KeyError: 'no such part'$"):
        spec.make(None, RunRequest("build"))
    with pytest.raises(PluginError, match="run_request returned dict, not a RunResult"):
        await spec.make(None, RunRequest("x")).run_request(RunRequest("x"))


def test_the_flags_a_plugin_may_not_take_are_the_command_lines_own() -> None:
    """Every flag a run command has that is not its system's own is refused to a plugin:
    the common ones and those added per command (``--system``, a chain's ``--yes``)."""
    from agentdeck.cli import build_parser
    from agentdeck.systems.spec_check import CLI_FLAGS, RESERVED_NAMES

    sub = next(a for a in build_parser()._actions if a.choices and "chain" in a.choices)
    for command in ("chain", "multi", "compare", "ask"):
        specs = [s for s in registry.specs() if (s.command or s.key) == command]
        declared = {o.flag for s in specs for o in s.inputs() if o.name != "system_prompt"}
        declared |= {s.attachment.flag for s in specs if s.attachment.flag}
        actions = [a for a in sub.choices[command]._actions if a.option_strings]
        own = [a for a in actions if not set(a.option_strings) & declared]
        assert {f for a in own for f in a.option_strings} <= CLI_FLAGS
        assert {a.dest for a in own} <= RESERVED_NAMES | {"help"}
    assert {"--system", "--yes"} <= CLI_FLAGS


def test_system_reaches_every_request_of_a_plugin(isolated_home, capsys) -> None:
    """Regression: --system was refused for every plugin (the front end looked for the
    attribute on the plugin's wrapper); it is the request's now, for any system."""
    write_plugin(isolated_home, "twice.py", TWICE)
    assert main(["run", "twice", "--system", "Be brief.", "--demo", "-q", "--max-tokens", "4",
                 "hi"]) == 0, capsys.readouterr().err
    (info,) = RunStore().list_runs()
    assert info.status == "done" and info.prompts["system"] == "Be brief."


AFTER_DRIVE = textwrap.dedent("""\
    from agentdeck.systems.base import Orchestrator
    from agentdeck.systems.registry import SystemSpec

    class After(Orchestrator):
        async def run_request(self, request):
            if request.prompt == "none":
                raise LookupError("before any run")
            run = self.open_run(request, params={}, workers=("w",))
            ask = [{"role": "user", "content": request.prompt}]

            async def body():
                return "done", await run.run_one("w", ask, request.params.to_body())

            await self.drive(run, body)
            raise LookupError("after drive")

    SYSTEMS = [SystemSpec("after", "After", "raises after drive",
                          lambda m, r: After(m, store=r.store))]
""")


async def test_a_plugin_raising_after_drive_keeps_its_traceback_in_its_own_run(
        isolated_home) -> None:
    """Regression: the message pointed at a traceback never written (the run had finished),
    and a call that opened no run blamed the previous run's folder."""
    from systems_support import FAST

    from agentdeck.client.vllm import VLLMModel
    from agentdeck.errors import PluginError
    from agentdeck.sim import SimConfig, SimServer
    from agentdeck.systems.registry import RunRequest

    write_plugin(isolated_home, "after.py", AFTER_DRIVE)
    assert plugins.discover() == ()
    spec = registry.get("after")
    async with SimServer(SimConfig(**FAST)) as sim:
        model = VLLMModel("sim-model", sim.base_url)
        system = spec.make(model, RunRequest("hi", store=True))
        with pytest.raises(PluginError, match="LookupError: after drive; the traceback is in "
                                              ) as raised:
            await system.run_request(RunRequest("hi", store=True))
        (info,) = RunStore().list_runs()
        assert f"{info.dir}{os.sep}run.json" in str(raised.value)
        assert info.manifest["error"]["kind"] == "LookupError"
        assert "after drive" in info.manifest["error"]["traceback"]
        with pytest.raises(PluginError, match="LookupError: before any run$"):
            await system.run_request(RunRequest("none", store=True))
        await model.close_client()


async def test_moa_passes_the_checks_and_the_guard_a_plugin_goes_through() -> None:
    """MoA is built as a plugin would be: its spec passes ``check_spec`` and it runs guarded."""
    from systems_support import FAST

    from agentdeck.client.vllm import VLLMModel
    from agentdeck.sim import SimConfig, SimServer
    from agentdeck.systems.guard import Guarded, guarded
    from agentdeck.systems.registry import RunRequest
    from agentdeck.systems.spec_check import check_spec

    spec = registry.get("moa")
    assert check_spec(spec) == ""
    request = spec.prepare(RunRequest("Say hi", calls=2, rounds=1, store=False))
    async with SimServer(SimConfig(**FAST)) as sim:
        model = VLLMModel("sim-model", sim.base_url)
        system = guarded(spec, "built-in", "")(model, request)
        assert isinstance(system, Guarded)
        result = await system.run_request(request)
        await model.close_client()
    assert result.status == "done" and result.answer
    assert set(result.workers) == {"l1-p1", "l1-p2", "agg"}


def test_a_number_option_reads_a_finite_number_within_its_limits() -> None:
    from agentdeck.errors import InputError
    from agentdeck.systems.registry import Option

    option = Option("t", "--t", kind="number", minimum=0, maximum=2)
    assert (option.parse("0.7"), option.check(1), option.parse(" ")) == (0.7, 1, None)
    for text, message in (("hot", "--t must be a number, got 'hot'"),
                          ("nan", "--t must be a finite number, got nan"),
                          ("2.5", "--t must be between 0 and 2, got 2.5")):
        with pytest.raises(InputError, match=message):
            option.parse(text, "--t")


def test_plugin_folder_is_in_the_config_dir(isolated_home) -> None:
    assert plugins.folder() == plugin_folder(isolated_home)
