"""A system cannot take a command name the CLI already uses: ``register`` refuses it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from toy_system import RELAY

from agentdeck.cli import build_parser, main
from agentdeck.errors import InputError
from agentdeck.systems import registry


@pytest.fixture(autouse=True)
def restored() -> Iterator[None]:
    """The registry as it was, even when a refusal this file expects did not happen."""
    before = {spec.key: spec for spec in registry.specs()}
    yield
    for spec in registry.specs():
        if spec.key not in before:
            registry.unregister(spec.key)
    for spec in before.values():
        if registry.find(spec.key) is not spec:
            registry._SPECS[spec.key] = spec  # a built-in, back in its place


@pytest.mark.parametrize("command", ["runs", "models", "examples", "sim", "systems", "run"])
def test_a_system_named_like_a_built_in_command_is_refused(command, capsys) -> None:
    """Regression: ``register`` took it, then building the CLI's parser failed for every
    command (argparse: conflicting subparser)."""
    for spec in (replace(RELAY, key=command), replace(RELAY, command=command)):
        with pytest.raises(InputError, match=f"'{command}' is agentdeck's own command"):
            registry.register(spec)
        assert registry.find(spec.key) is None
    assert main(["ask", "hi", "--max-tokens", "2", "-q", "--no-record"]) == 0  # parser intact
    capsys.readouterr()


@pytest.mark.parametrize(("key", "command", "owner"), [
    ("ask", "", "basic"),  # the key is the command: `ask` belongs to basic and context
    ("relay", "multi", "multi"),
    ("relay", "ask", "basic"),
])
def test_a_system_taking_another_systems_command_is_refused(key, command, owner) -> None:
    spec = replace(RELAY, key=key, command=command)
    name = command or key
    with pytest.raises(InputError, match=f"command '{name}' belongs to system '{owner}'"):
        registry.register(spec)
    assert registry.find(key) is None
    assert registry.get(owner).make is not RELAY.make


def test_replacing_a_system_may_keep_its_command() -> None:
    basic = registry.get("basic")
    try:
        assert registry.register(replace(basic, label="Plain")) is registry.get("basic")
        assert registry.get("basic").label == "Plain"
    finally:
        registry.register(basic)
    assert registry.get("basic") is basic


@pytest.mark.parametrize("command", ["-n", "two words", ""])
def test_a_command_that_is_not_a_usable_name_is_refused(command) -> None:
    spec = replace(RELAY, command=command) if command else replace(RELAY, key="")
    with pytest.raises(InputError, match="must be letters, digits, - and _"):
        registry.register(spec)


def test_the_reserved_names_are_the_clis_own_commands() -> None:
    """The registry's list cannot drift from the parser: every command is a system's or one
    of the reserved names."""
    (sub,) = [a for a in build_parser()._actions if a.dest == "command"]
    systems = {spec.command or spec.key for spec in registry.specs()}
    assert set(sub.choices) - systems == set(registry.COMMANDS)
