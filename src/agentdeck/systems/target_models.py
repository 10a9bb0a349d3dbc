"""Compare's targets as models: each with its own endpoint's key, TLS, timeouts and retries."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..config.profiles import Profile
from ..connect import Connection, check_model, first_served, model_for
from ..errors import AgentDeckError, InputError, ProfileNotFoundError

if TYPE_CHECKING:
    from ..client.model import BaseModel
    from ..config.settings import Settings
    from ..config.targets import Target

__all__ = ["models_for"]


@contextlib.asynccontextmanager
async def models_for(targets: Sequence[Target], current: BaseModel,
                     settings: Settings | None = None, *, check: bool = False
                     ) -> AsyncIterator[list[BaseModel]]:
    """One ready model per target (compare's), each with its own endpoint's key, TLS, timeouts.

    A key never goes to a target it does not belong to:

    * no endpoint named (``model=``, params): the current endpoint, ``current`` (the model the
      front end connected: with ``--demo``, the simulator), or a copy of it for another model;
    * ``url=``: the current endpoint when it is ``current``'s URL; the active profile when it is
      that profile's URL; any other URL gets no key (give it a profile for one), the active
      profile's timeouts and retries, default TLS;
    * ``profile=NAME``: the profile as a single run with ``--profile NAME`` would have it: the
      active profile with the flags and environment laid over it, another as the file has it.

    A target without a model takes its profile's, else the first its server lists. Targets on
    the same endpoint and model share one model. With ``check``, each model is checked once
    against its server's list (``check_model``), so a typo fails before any request. Models
    made here are closed when the block ends; ``current`` is left open. An error names the
    target it concerns (``target 2 (model=nope): ...``).

    Raises:
        ProfileNotFoundError: a target names a profile that is not defined.
        ModelNotFoundError: with ``check``, a target's server does not serve its model.
        AgentDeckError: an endpoint is unusable or unreachable, or lists no model.
    """
    from ..client.endpoint import normalize_api_url, split_userinfo

    def base(url: str | None) -> str | None:
        return normalize_api_url(split_userinfo(url)[0])[1] if url else None

    async with contextlib.AsyncExitStack() as stack:
        opened: dict[tuple[str, str | None, str | None], BaseModel] = {}
        here = getattr(current, "base_url", None)
        models = []
        for number, target in enumerate(targets, 1):
            url = base(target.url)
            if target.profile is None and (url is None or url == here):
                key: tuple[str, str | None, str | None] = ("current", None, target.model)
            elif target.profile is not None:
                key = ("profile", target.profile, target.model)
            else:
                key = ("url", url, target.model)
            if key not in opened:
                try:
                    if key[0] == "current":
                        opened[key] = _renamed(current, target.model, stack)
                    else:
                        settings = settings or _load_settings()
                        profile = _target_profile(target, settings, base)
                        opened[key] = await _open_profile(profile, settings, stack)
                    if check:
                        await check_model(opened[key], reachable=True,
                                          hint="a target's model= picks one")
                except AgentDeckError as exc:
                    exc.message = f"target {number} ({target.text()}): {exc.message}"
                    exc.args = (exc.message,)
                    raise
            models.append(opened[key])
        yield models


def _load_settings() -> Settings:
    from ..config.settings import load_settings

    return load_settings()


def _renamed(current: BaseModel, name: str | None, stack: contextlib.AsyncExitStack
             ) -> BaseModel:
    """``current``, or the same endpoint for another served model (closed with ``stack``)."""
    if not name or name == getattr(current, "model_name", None):
        return current
    with_model = getattr(current, "with_model", None)
    if with_model is None:
        raise InputError(f"a model= target needs a VLLMModel to copy, not {type(current).__name__}")
    model = with_model(name)
    stack.push_async_callback(model.close_client)
    return model


def _target_profile(target: Target, settings: Settings, base: Any) -> Profile:
    """The profile a target's requests go out with (its model laid over it)."""
    active = settings.profile
    if target.profile is not None:
        if target.profile == active.name:
            profile = active
        elif target.profile in settings.profiles:
            profile = settings.profiles[target.profile]
        else:
            defined = ", ".join(repr(n) for n in settings.profiles)
            raise ProfileNotFoundError(f"no profile named {target.profile!r}; defined profiles: "
                                       f"{defined}")  # the caller names the target
    elif not active.is_builtin_sim and base(target.url) == base(active.base_url):
        profile = active
    else:
        profile = Profile(name="url", base_url=target.url, timeouts=active.timeouts,
                          max_retries=active.max_retries)
    return replace(profile, model=target.model) if target.model else profile


async def _open_profile(profile: Profile, settings: Settings,
                        stack: contextlib.AsyncExitStack) -> BaseModel:
    """A model for ``profile`` (the simulator started for the built-in one), closed with
    ``stack``; a profile without a model gets the first its server lists."""
    if profile.is_builtin_sim:
        conn = Connection(replace(settings, profile=profile))
        await stack.enter_async_context(conn)
        return await conn.open()
    model = model_for(profile)
    stack.push_async_callback(model.close_client)
    if not profile.model:
        model.model_name = await first_served(model)
    return model
