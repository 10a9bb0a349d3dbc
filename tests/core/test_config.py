"""Settings: precedence, environment names, the built-in simulator default, and bad input."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from agentdeck import paths
from agentdeck.config.settings import (
    Profile,
    Settings,
    delete_profile,
    load_settings,
    save_settings,
    set_profile,
)
from agentdeck.errors import (
    AgentDeckError,
    ConfigError,
    InputError,
    ProfileNotFoundError,
)

LOCAL = """\
default_profile = "local"
concurrency = 8

[params]
temperature = 0.2
top_k = 20

[profiles.local]
base_url = "http://127.0.0.1:8000/v1"
model = "file-model"
api_key = "file-key-0123456789abcdef"

[profiles.other]
base_url = "https://other.example/v1"
api_key_env = "OTHER_KEY"
"""


def write_config(text: str) -> Path:
    path = paths.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------- defaults


def test_no_file_and_no_env_gives_the_builtin_simulator() -> None:
    settings = load_settings(env={})
    assert settings.profile.is_builtin_sim
    assert settings.profile.name == "demo"
    assert settings.profile.base_url is None
    assert settings.profile.api_key is None
    assert settings.concurrency >= 1
    assert settings.path == paths.config_file()
    assert not paths.config_file().exists(), "loading must not create the file"


def test_agentdeck_home_relocates_the_config_file(isolated_home: Path) -> None:
    assert paths.config_file().is_relative_to(isolated_home)
    write_config(LOCAL)
    assert load_settings(env={}).profile.name == "local"


# ---------------------------------------------------------------------------- precedence


@pytest.mark.parametrize(
    ("flags", "env", "url", "src"),
    [
        ({"base_url": "http://flag:1/v1"},
         {"AGENTDECK_BASE_URL": "http://ad:2/v1", "VLLM_API_URL": "http://vl:3/v1"},
         "http://flag:1/v1", "flag"),
        ({}, {"AGENTDECK_BASE_URL": "http://ad:2/v1", "VLLM_API_URL": "http://vl:3/v1",
              "OPENAI_BASE_URL": "http://oa:4/v1"}, "http://ad:2/v1", "env AGENTDECK_BASE_URL"),
        ({}, {"VLLM_API_URL": "http://vl:3/v1", "OPENAI_BASE_URL": "http://oa:4/v1"},
         "http://vl:3/v1", "env VLLM_API_URL"),
        ({}, {"OPENAI_BASE_URL": "http://oa:4/v1"}, "http://oa:4/v1", "env OPENAI_BASE_URL"),
        ({}, {}, "http://127.0.0.1:8000/v1", "file"),
        ({}, {"VLLM_API_URL": ""}, "http://127.0.0.1:8000/v1", "file"),  # empty = unset
    ],
)
def test_base_url_precedence(flags: dict, env: dict, url: str, src: str) -> None:
    write_config(LOCAL)
    settings = load_settings(flags=flags, env=env)
    assert settings.profile.base_url == url
    assert settings.source["base_url"] == src


def test_env_endpoint_without_a_file_replaces_the_simulator() -> None:
    settings = load_settings(env={"VLLM_API_URL": "http://gpu:8000/v1", "VLLM_API_KEY": "vk-123"})
    assert not settings.profile.is_builtin_sim
    assert settings.profile.base_url == "http://gpu:8000/v1"
    assert settings.profile.api_key == "vk-123"


@pytest.mark.parametrize(
    ("flags", "env", "key", "src"),
    [
        ({"api_key": "flag-key"}, {"AGENTDECK_API_KEY": "ad-key"}, "flag-key", "flag"),
        ({}, {"AGENTDECK_API_KEY": "ad-key"}, "ad-key", "env AGENTDECK_API_KEY"),
        ({}, {}, "file-key-0123456789abcdef", "file"),
        # a key follows its endpoint: generic keys never reach the profile's server
        ({}, {"VLLM_API_KEY": "vk", "OPENAI_API_KEY": "ok"}, "file-key-0123456789abcdef", "file"),
        ({}, {"VLLM_API_URL": "http://vl:3/v1", "VLLM_API_KEY": "vk", "OPENAI_API_KEY": "ok"},
         "vk", "env VLLM_API_KEY"),
        ({}, {"OPENAI_BASE_URL": "http://oa:4/v1", "VLLM_API_KEY": "vk", "OPENAI_API_KEY": "ok"},
         "ok", "env OPENAI_API_KEY"),
        ({}, {"VLLM_API_URL": "http://vl:3/v1"}, None, "default"),  # the file key stays home
        ({"base_url": "http://other:9/v1"}, {}, "file-key-0123456789abcdef", "file"),
    ],
)
def test_api_key_precedence_follows_the_endpoint(flags: dict, env: dict, key: str | None,
                                                 src: str) -> None:
    write_config(LOCAL)
    settings = load_settings(flags=flags, env=env)
    assert settings.profile.api_key == key
    assert settings.source["api_key"] == src


def test_profile_selection_and_other_env_names() -> None:
    write_config(LOCAL)
    env = {"AGENTDECK_PROFILE": "other", "OTHER_KEY": "other-secret-key-123456",
           "AGENTDECK_MODEL": "env-model", "AGENTDECK_CONCURRENCY": "3",
           "AGENTDECK_TEMPERATURE": "0.9", "AGENTDECK_MAX_TOKENS": "77"}
    settings = load_settings(env=env)
    assert settings.profile.name == "other"
    assert settings.profile.api_key == "other-secret-key-123456"
    assert settings.source["api_key"] == "env OTHER_KEY"
    assert settings.profile.model == "env-model"
    assert settings.concurrency == 3
    assert settings.params.temperature == 0.9 and settings.params.max_tokens == 77
    assert settings.params.extra == {"top_k": 20}  # file params stay underneath
    flagged = load_settings(flags={"profile": "local", "model": "flag-model", "concurrency": 5,
                                   "temperature": 0.1}, env=env)
    assert flagged.profile.name == "local" and flagged.profile.model == "flag-model"
    assert flagged.concurrency == 5 and flagged.params.temperature == 0.1
    assert flagged.source["params.temperature"] == "flag"


def test_first_profile_is_used_when_no_default_is_named() -> None:
    write_config(LOCAL.replace('default_profile = "local"\n', ""))
    assert load_settings(env={}).profile.name == "local"


def test_explicit_demo_ignores_endpoint_variables() -> None:
    write_config(LOCAL)
    settings = load_settings(flags={"profile": "demo"}, env={"VLLM_API_URL": "http://vl:3/v1"})
    assert settings.profile.is_builtin_sim


# ---------------------------------------------------------------------------- bad input


def test_malformed_toml_names_path_line_and_column() -> None:
    path = write_config('default_profile = "local"\n[profiles.local]\nbase_url = "http://x\n')
    with pytest.raises(ConfigError) as info:
        load_settings(env={})
    err = info.value
    assert err.path == str(path) and err.line == 3 and err.column is not None
    assert str(err).startswith(f"{path}:3:{err.column}: invalid TOML")
    assert "\n" not in str(err)


def test_wrong_type_names_the_key_what_was_expected_and_what_was_found() -> None:
    path = write_config(LOCAL.replace("concurrency = 8", 'concurrency = "eight"'))
    with pytest.raises(ConfigError) as info:
        load_settings(env={})
    assert info.value.key == "concurrency" and info.value.line == 2
    assert str(info.value) == (f"{path}:2:1: [concurrency] expected a whole number, "
                               "found 'eight' (a string)")


@pytest.mark.parametrize(
    ("line", "key", "expected"),
    [
        ("verify_tls = \"no\"", "profiles.local.verify_tls", "true or false"),
        ("max_retries = 1.5", "profiles.local.max_retries", "a whole number"),
        ("model = 3", "profiles.local.model", "a string"),
        ("timeouts = { idle = -1 }", "profiles.local.timeouts.idle", "greater than 0"),
    ],
)
def test_wrong_profile_values_point_at_their_line(line: str, key: str, expected: str) -> None:
    write_config(LOCAL.replace('model = "file-model"', line))
    with pytest.raises(ConfigError) as info:
        load_settings(env={})
    assert info.value.key == key
    assert info.value.line == 10
    assert expected in str(info.value)


def test_a_profile_without_base_url_is_reported() -> None:
    path = write_config('default_profile = "gpu"\n[profiles.gpu]\nmodel = "m"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(env={})
    assert str(info.value) == (f'{path}:2:1: [profiles.gpu] has no base_url; add '
                               'base_url = "http://HOST:8000/v1"')
    assert load_settings(env={"VLLM_API_URL": "http://h:1/v1"}).profile.base_url == "http://h:1/v1"


def test_wrong_param_type() -> None:
    write_config(LOCAL.replace("temperature = 0.2", "temperature = -1.0"))
    with pytest.raises(ConfigError, match=r"\[params.temperature\] must be at least 0"):
        load_settings(env={})


def test_unknown_profile_lists_the_defined_ones() -> None:
    path = write_config(LOCAL.replace('default_profile = "local"', 'default_profile = "lcoal"'))
    with pytest.raises(ProfileNotFoundError) as info:
        load_settings(env={})
    assert str(info.value) == (f"{path}:1:1: [default_profile] no profile named 'lcoal'; "
                               "defined profiles: 'demo', 'local', 'other'")
    with pytest.raises(ProfileNotFoundError, match="'gpu'.*'local', 'other'"):
        load_settings(flags={"profile": "gpu"}, env={})
    with pytest.raises(ProfileNotFoundError, match=r"\[AGENTDECK_PROFILE\]"):
        load_settings(env={"AGENTDECK_PROFILE": "gpu"})


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("localhost:8000/v1", "has no http:// or https:// scheme; did you mean "
                              "http://localhost:8000/v1?"),
        ("127.0.0.1:8000", "did you mean http://127.0.0.1:8000?"),
        ("htp://host:8000/v1", "did you mean http://host:8000/v1?"),
        ("http://host:80OO/v1", "invalid port '80OO': it must be a number from 1 to 65535; "
                                "did you mean http://host:8000/v1?"),
        ("http://host:99999/v1", "invalid port '99999'"),
        ("http:///v1", "has no host name"),
    ],
)
def test_bad_base_urls(url: str, message: str) -> None:
    path = write_config(LOCAL.replace('"http://127.0.0.1:8000/v1"', f'"{url}"'))
    with pytest.raises(ConfigError) as info:
        load_settings(env={})
    assert message in str(info.value)
    assert str(info.value).startswith(f"{path}:9:1: [profiles.local.base_url]")
    with pytest.raises(ConfigError, match=r"\[VLLM_API_URL\]"):
        load_settings(env={"VLLM_API_URL": url})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AGENTDECK_CONCURRENCY": "many"}, "[AGENTDECK_CONCURRENCY] expected a whole number"),
        ({"AGENTDECK_CONCURRENCY": "0"}, "must be at least 1"),
        ({"AGENTDECK_TEMPERATURE": "hot"}, "[AGENTDECK_TEMPERATURE] expected a number"),
    ],
)
def test_bad_environment_values(env: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env=env)
    assert message in str(info.value)


def test_bad_flag_values_are_bad_input_in_one_wording() -> None:
    """A flag's value is the user's input, not the config's: InputError, worded as the file's
    checks word it (the CLI used to check ranges itself, in other words)."""
    with pytest.raises(InputError, match=r"^--max-tokens: must be at least 1, found 0$"):
        load_settings(flags={"max_tokens": 0}, env={})
    with pytest.raises(InputError, match=r"^--temperature: must be at least 0, found -0.5$"):
        load_settings(flags={"temperature": -0.5}, env={})
    with pytest.raises(InputError, match=r"^-o top_p: must be at most 1, found 2.0$"):
        load_settings(flags={"params": {"top_p": 2}}, env={})
    with pytest.raises(InputError, match=r"^--base-url: base URL 'foo' has no http"):
        load_settings(flags={"base_url": "foo"}, env={})


@pytest.mark.parametrize(
    "broken",
    [
        'default_profile = "local"\n[profiles.local\nbase_url = "http://x"\n',  # bad TOML
        'profiles = 3\n',  # a wrong type
        '[profiles.local]\nbase_url = "localhost:8000"\n',  # a bad URL
        b'[ui]\ntheme = "\xff"\n'.decode("latin-1"),  # not UTF-8 once written as latin-1
    ],
)
def test_a_broken_file_is_never_overwritten(tmp_path: Path, broken: str) -> None:
    path = write_config("")
    path.write_bytes(broken.encode("latin-1"))
    before = path.read_bytes()
    with pytest.raises(ConfigError):
        load_settings(env={})
    good = load_settings(env={}, path=tmp_path / "elsewhere.toml")
    for attempt in (
        lambda: save_settings(good, path=path),
        lambda: save_settings({"concurrency": 2}),
        lambda: set_profile(Profile(name="new", base_url="http://h:1/v1")),
        lambda: delete_profile("local"),
    ):
        with pytest.raises(ConfigError, match="not saving over it: fix or move the file first"):
            attempt()
        assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.toml"]


def test_invalid_content_is_not_written() -> None:
    path = write_config(LOCAL)
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="scheme"):
        set_profile(Profile(name="x", base_url="localhost:1"))
    with pytest.raises(ConfigError, match="concurrency"):
        save_settings({"concurrency": "lots"})
    assert path.read_bytes() == before


# ---------------------------------------------------------------------------- saving


def test_save_creates_owner_only_file_and_folder(isolated_home: Path) -> None:
    path = set_profile(Profile(name="gpu", base_url="http://gpu:8000/v1", model="m",
                               api_key="typed-in-key-0123456789"), make_default=True)
    assert path == paths.config_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    settings = load_settings(env={})
    assert settings.profile.name == "gpu"
    assert settings.profile.api_key == "typed-in-key-0123456789"


def test_save_keeps_other_profiles_and_unknown_keys() -> None:
    path = write_config(LOCAL + "\n[plugins]\nfoo = 1\n[profiles.other.custom]\nx = 2\n")
    settings = load_settings(env={})
    assert any("unknown" in w for w in settings.warnings)
    edited = settings.profiles["local"].edited(model="new-model")
    set_profile(edited)
    text = path.read_text()
    assert 'model = "new-model"' in text and "[plugins]" in text and "foo = 1" in text
    again = load_settings(env={"OTHER_KEY": "k-000000000000"})
    assert again.profiles["other"].extra == {"custom": {"x": 2}}
    assert again.profiles["local"].api_key == "file-key-0123456789abcdef"
    assert again.params.extra == {"top_k": 20} and again.concurrency == 8
    save_settings(again)
    assert "foo = 1" in path.read_text() and "[profiles.other]" in path.read_text()
    delete_profile("other")
    assert "other" not in load_settings(env={}).profiles


def test_saving_over_a_hand_edited_file_keeps_it_whole_beside_the_new_one() -> None:
    """tomli-w writes values, not comments: the user's own file is moved aside, not lost."""
    from agentdeck.config.file import backup_path, hand_edited

    original = "# my GPU box, see the wiki\n" + LOCAL.replace("concurrency = 8", "concurrency = 8  # tuned")
    path = write_config(original)
    assert hand_edited(path)
    set_profile(load_settings(env={}).profiles["local"].edited(model="new-model"))
    backup = backup_path(path)
    assert backup.read_text() == original
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert 'model = "new-model"' in path.read_text() and "# my GPU box" not in path.read_text()
    # What agentdeck wrote round-trips: the next save leaves the copy of the user's file alone.
    assert not hand_edited(path)
    save_settings(load_settings(env={}))
    assert backup.read_text() == original


def test_settings_edited_in_the_app_round_trip() -> None:
    from dataclasses import replace

    from agentdeck.config.settings import UIPrefs
    from agentdeck.types import GenerationParams

    settings = load_settings(env={})
    edited = replace(settings, concurrency=32, default_profile="gpu",
                     profiles={**settings.profiles, "gpu": Profile(name="gpu",
                                                                   base_url="http://g:1/v1")},
                     params=GenerationParams(temperature=0.5, extra={"min_p": 0.1}),
                     ui=UIPrefs(theme="nord", show_reasoning=False))
    save_settings(edited)
    again = load_settings(env={})
    assert again.profile.name == "gpu" and again.profile.base_url == "http://g:1/v1"
    assert again.concurrency == 32 and again.params.temperature == 0.5
    assert again.params.extra == {"min_p": 0.1}
    assert again.ui.theme == "nord" and again.ui.show_reasoning is False
    cleared = replace(again, params=GenerationParams(extra={"min_p": 0.1}),
                      source={**again.source, "params.temperature": "ui"})
    save_settings(cleared)
    assert load_settings(env={}).params.temperature is None


def test_keys_and_values_from_the_environment_are_never_written() -> None:
    path = write_config(LOCAL)
    env = {"AGENTDECK_API_KEY": "env-secret-AAAAAAAAAAAA", "AGENTDECK_BASE_URL": "http://e:1/v1",
           "AGENTDECK_CONCURRENCY": "2", "OTHER_KEY": "other-secret-BBBBBBBBBB"}
    settings = load_settings(flags={"temperature": 1.5}, env=env)
    assert settings.profile.api_key == "env-secret-AAAAAAAAAAAA"
    save_settings(settings)
    set_profile(settings.profile)  # the active, overridden profile: overrides stay out
    set_profile(settings.profiles["other"])
    text = path.read_text()
    for secret in ("env-secret-AAAAAAAAAAAA", "other-secret-BBBBBBBBBB", "http://e:1/v1",
                   "1.5", "concurrency = 2"):
        assert secret not in text
    assert 'api_key_env = "OTHER_KEY"' in text
    reloaded = load_settings(env={})
    assert reloaded.profile.base_url == "http://127.0.0.1:8000/v1"
    assert reloaded.params.temperature == 0.2 and reloaded.concurrency == 8


def test_a_crash_during_save_leaves_the_old_file(monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(LOCAL)
    before = path.read_bytes()

    def crash(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(ConfigError, match="cannot save the settings: No space left"):
        set_profile(Profile(name="new", base_url="http://h:1/v1"))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.toml"]


# ---------------------------------------------------------------------------- secrets, TLS


def test_keys_are_masked_and_redacted_from_errors() -> None:
    write_config(LOCAL)
    settings = load_settings(env={})
    assert settings.profile.masked_key() == "fil…cdef"
    assert Profile(name="x", api_key="short").masked_key() == "****"
    assert Profile(name="x").masked_key() == "(none)"
    assert "file-key" not in repr(settings.profile)
    err = AgentDeckError("server said: bad key file-key-0123456789abcdef")
    assert "file-key-0123456789abcdef" not in str(err)


def test_turning_tls_off_warns_and_a_ca_bundle_is_checked(tmp_path: Path) -> None:
    write_config(LOCAL.replace('model = "file-model"', "verify_tls = false"))
    settings = load_settings(env={})
    assert settings.profile.ssl_verify() is False
    assert any("TLS certificate verification is OFF for profile 'local'" in w
               for w in settings.warnings)
    assert load_settings(flags={"profile": "other"}, env={}).profile.ssl_verify() is True
    missing = load_settings(flags={"profile": "other", "ca_bundle": str(tmp_path / "no.pem")},
                            env={})
    with pytest.raises(ConfigError, match="CA bundle .* does not exist"):
        missing.profile.ssl_verify()


def test_a_key_in_a_readable_file_is_warned_about() -> None:
    path = write_config(LOCAL)
    path.chmod(0o644)
    assert any("chmod 600" in w for w in load_settings(env={}).warnings)
    path.chmod(0o600)
    assert not any("chmod" in w for w in load_settings(env={}).warnings)


def test_settings_are_immutable() -> None:
    settings = load_settings(env={})
    assert isinstance(settings, Settings)
    with pytest.raises(AttributeError):
        settings.concurrency = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.profiles["x"] = settings.profile  # type: ignore[index]
