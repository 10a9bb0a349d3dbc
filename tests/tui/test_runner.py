"""The picker's options are checked before any request, and map onto the systems' seed APIs."""

from __future__ import annotations

import pytest

from agentdeck.client.model import BaseModel
from agentdeck.errors import ConfigError, InputError
from agentdeck.systems import Debate, MultiCallSystem
from agentdeck.tui.runner import RunOptions, build_system


class NoModel(BaseModel):
    """Never asked for anything: these tests stop before any request."""

    model_name = "none"

    def stream(self, messages, params=None, **kwargs):  # pragma: no cover - never called
        raise AssertionError("no request may be sent")


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"temperature": -0.5}, "temperature"),
        ({"temperature": 9}, "temperature"),
        ({"max_tokens": 0}, "max tokens"),
        ({"num_calls": 0}, "number of calls"),
        ({"num_calls": 5000}, "number of calls"),
        ({"concurrency": 0}, "concurrency"),
        ({"rounds": 0}, "rounds"),
        ({"system": "swarm"}, "system"),
    ],
)
def test_bad_options_name_the_field(changes: dict, named: str) -> None:
    with pytest.raises(InputError, match=named):
        RunOptions(**changes)


def test_sampling_sends_only_what_the_user_set() -> None:
    assert RunOptions().sampling == {}
    assert RunOptions(temperature=0.0, max_tokens=64).sampling == {
        "temperature": 0.0,
        "max_tokens": 64,
    }


@pytest.mark.parametrize("system", ["context", "chain"])
def test_context_and_chain_refuse_to_start_without_a_file(system: str) -> None:
    with pytest.raises(InputError, match="ctrl\\+o"):
        build_system(
            RunOptions(system=system), NoModel(), attachment=None, listeners=[], store=False
        )


def test_multi_and_debate_get_the_counts_from_the_picker() -> None:
    multi = build_system(
        RunOptions(system="multi", concurrency=3),
        NoModel(),
        attachment=None,
        listeners=[],
        store=False,
    )
    assert isinstance(multi, MultiCallSystem) and multi.concurrency == 3
    debate = build_system(
        RunOptions(system="debate", num_calls=4, rounds=3),
        NoModel(),
        attachment=None,
        listeners=[],
        store=False,
    )
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
