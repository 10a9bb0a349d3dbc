"""The picker's options are checked against the registry's declarations and become a request."""

from __future__ import annotations

import pytest

from agentdeck.client.model import BaseModel
from agentdeck.config.settings import load_settings
from agentdeck.errors import ConfigError, InputError
from agentdeck.systems import Debate, MultiCallSystem
from agentdeck.tui.runner import RunOptions, run_request


class NoModel(BaseModel):
    """Never asked for anything: these tests stop before any request."""

    model_name = "none"

    def stream(self, messages, params=None, **kwargs):  # pragma: no cover - never called
        raise AssertionError("no request may be sent")


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"temperature": -0.5}, "temperature"),
        ({"max_tokens": 0}, "max tokens"),
        ({"system": "multi", "num_calls": 0}, "number of calls must be between 1 and 10000"),
        ({"system": "multi", "num_calls": 10001}, "number of calls"),
        ({"system": "debate", "num_calls": 1}, "number of agents must be between 2 and 16"),
        ({"concurrency": 0}, "concurrency"),
        ({"system": "debate", "rounds": 11}, "debate rounds must be between 0 and 10"),
        ({"system": "swarm"}, "system"),
    ],
)
def test_bad_options_name_the_field(changes: dict, named: str) -> None:
    with pytest.raises(InputError, match=named):
        RunOptions(**changes)


def test_limits_are_the_registry_declarations_the_cli_checks_too() -> None:
    """The app took 1..1024 calls and 1..10 rounds where the CLI took 1..10000 and 0..10."""
    RunOptions(system="multi", num_calls=5000)
    RunOptions(system="debate", rounds=0)
    RunOptions(system="basic", num_calls=0)  # a field the system does not show is not checked


@pytest.mark.parametrize("system", ["context", "chain"])
def test_context_and_chain_refuse_to_start_without_a_file(system: str) -> None:
    with pytest.raises(InputError, match="ctrl\\+o"):
        run_request(RunOptions(system=system), load_settings(env={}), "q", None, listeners=(),
                    store=False)


def test_multi_and_debate_get_the_counts_from_the_picker() -> None:
    settings = load_settings(env={})
    options = RunOptions(system="multi", concurrency=3, num_calls=5, aggregate="vote")
    request = run_request(options, settings, "q", None, listeners=(), store=False)
    multi = options.spec.make(NoModel(), request)
    assert isinstance(multi, MultiCallSystem) and multi.concurrency == 3
    assert (request.calls, request.aggregate) == (5, "vote")
    options = RunOptions(system="debate", num_calls=4, rounds=3)
    debate = options.spec.make(NoModel(), run_request(options, settings, "q", None,
                                                      listeners=(), store=False))
    assert isinstance(debate, Debate) and (debate.agents, debate.rounds) == (4, 3)


def test_settings_form_values_are_checked_and_marked_as_changed_in_the_app() -> None:
    from agentdeck.config.profiles import Profile
    from agentdeck.config.settings import load_settings
    from agentdeck.tui.settings_form import ui_num_calls, with_form_values

    settings = load_settings(env={})
    profile = Profile(name="gpu", base_url="http://gpu:8000/v1")
    new = with_form_values(
        settings, profile, temperature="0.2", max_tokens="", num_calls="8", concurrency="4"
    )
    assert new.profiles["gpu"] is profile and new.default_profile == "gpu"
    assert (new.params.temperature, new.params.max_tokens, new.concurrency) == (0.2, None, 4)
    assert ui_num_calls(new) == 8
    assert new.source["concurrency"] == "ui" and new.source["params.temperature"] == "ui"
    for field, bad in (("temperature", "-1"), ("num_calls", "0"), ("concurrency", "x")):
        values = {"temperature": "", "max_tokens": "", "num_calls": "", "concurrency": ""}
        values[field] = bad
        with pytest.raises(ConfigError, match=field):
            with_form_values(settings, profile, **values)


def test_an_untouched_calls_field_leaves_each_system_its_own_default() -> None:
    """Regression: saving the settings screen wrote the 4 it shows while ``[ui] num_calls`` is
    unset, and from then on n was 4 for every system (a debate declares 3 seats)."""
    from agentdeck.config.profiles import Profile
    from agentdeck.systems import registry
    from agentdeck.tui.settings_form import with_form_values

    settings = load_settings(env={})
    profile = Profile(name="gpu", base_url="http://gpu:8000/v1")
    fields = {"temperature": "", "max_tokens": "", "concurrency": ""}
    for typed, kept in (("4", None), ("", None), ("6", 6)):
        saved = with_form_values(settings, profile, num_calls=typed, **fields)
        assert saved.ui.extra.get("num_calls") == kept, typed
    saved = with_form_values(settings, profile, num_calls="4", **fields)
    options = RunOptions.from_settings(saved)
    assert [options.calls_for(registry.get(k)) for k in ("multi", "debate")] == [4, 3]
    again = with_form_values(with_form_values(settings, profile, num_calls="6", **fields),
                             profile, num_calls="4", **fields)
    assert again.ui.extra["num_calls"] == 4  # once set, typing the default keeps it set
