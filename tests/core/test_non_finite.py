"""nan and infinity are refused everywhere a number comes in: flags, config, app fields, library.

Regression (issue 11): ``--temperature nan`` was sent as ``"temperature": null`` (JSON has no
nan) and the run exited 0 with the server's default; ``[params] temperature = nan`` (a TOML
float) and ``GenerationParams(temperature=nan)`` did the same.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from systems_support import ThreadedSim, sim_model

from agentdeck.cli import main
from agentdeck.config.settings import load_settings
from agentdeck.errors import ConfigError, InputError
from agentdeck.systems import BasicAgent
from agentdeck.tui.runner import RunOptions
from agentdeck.tui.settings_form import with_form_values
from agentdeck.types import GenerationParams

NON_FINITE = ["nan", "inf", "-inf"]


def config_path() -> Path:
    path = Path(os.environ["AGENTDECK_HOME"]) / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@pytest.mark.parametrize("flag", ["--temperature", "--top-p"])
@pytest.mark.parametrize("value", ["nan", "inf"])
def test_a_non_finite_flag_exits_2_before_sending(capsys, flag: str, value: str) -> None:
    with ThreadedSim() as sim:
        code = main(["--base-url", sim.base_url, f"{flag}={value}", "ask", "hi"])
        requests = sim.stats.requests
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and requests == 0
    assert f"{flag}: must be a finite number, found {value}" in err


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("[params]\ntemperature = nan\n", 2, "[params.temperature] must be a finite number"),
        ("[params]\ntop_p = 0.5\nfrequency_penalty = -inf\n", 3,
         "[params.frequency_penalty] must be a finite number"),
        ("[params]\nmin_p = inf\n", 2, "[params.min_p] must be a finite number, found inf"),
        ("[params]\nlogit_bias = { 42 = nan }\n", 2, "(at logit_bias.42)"),
    ],
)
def test_a_non_finite_config_value_names_path_and_line(text: str, line: int,
                                                       message: str) -> None:
    path = config_path()
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings({})
    assert caught.value.path == str(path) and caught.value.line == line
    assert message in str(caught.value)


def test_a_non_finite_environment_value_is_refused(monkeypatch) -> None:
    monkeypatch.setenv("AGENTDECK_TEMPERATURE", "nan")
    with pytest.raises(ConfigError, match="AGENTDECK_TEMPERATURE.*finite"):
        load_settings({})


@pytest.mark.parametrize("value", NON_FINITE)
def test_generation_params_refuse_non_finite_numbers(value: str) -> None:
    bad = float(value)
    for kwargs in ({"temperature": bad}, {"top_p": bad}, {"presence_penalty": bad},
                   {"extra": {"min_p": bad}}, {"extra": {"logit_bias": {"7": bad}}}):
        with pytest.raises(InputError, match="must be a finite number"):
            GenerationParams(**kwargs)
    with pytest.raises(InputError, match="temperature must be a finite number"):
        GenerationParams().merged(temperature=bad)
    assert GenerationParams(temperature=0.5, extra={"min_p": 0.1}).to_body() == {
        "temperature": 0.5, "min_p": 0.1}


async def test_a_library_run_with_nan_fails_before_sending() -> None:
    async with sim_model() as (sim, model):
        agent = BasicAgent("a", model, store=False)
        with pytest.raises(InputError, match="temperature must be a finite number"):
            await agent.run("hi", temperature=float("nan"))
        with pytest.raises(InputError, match="min_p must be a finite number"):
            await agent.run("hi", min_p=float("inf"))
    assert sim.stats.requests == 0


@pytest.mark.parametrize("value", NON_FINITE)
def test_the_settings_screen_refuses_non_finite_numbers(value: str) -> None:
    settings = load_settings({})
    profile = settings.profiles[settings.default_profile or next(iter(settings.profiles))]
    with pytest.raises(ConfigError, match="finite") as caught:
        with_form_values(settings, profile, temperature=value, max_tokens="",
                         num_calls="", concurrency="")
    assert caught.value.key == "temperature"


@pytest.mark.parametrize("value", NON_FINITE)
def test_the_run_picker_refuses_non_finite_numbers(value: str) -> None:
    with pytest.raises(InputError, match="finite"):
        RunOptions(temperature=float(value))
