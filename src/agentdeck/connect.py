"""Settings -> a ready model: the one place the CLI, the app and the settings screen connect.

A profile's timeouts, retries, TLS and key reach the client here and nowhere else, so the front
ends cannot drift apart. The built-in simulator starts here too (``--demo``, or the built-in
profile), and a profile without a model gets the first one its server lists.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .config.file import bare_message
from .config.profiles import DEMO, SIM_MODEL, Profile
from .errors import (
    AgentDeckError,
    ConfigError,
    InputError,
    ModelNotFoundError,
    ProfileNotFoundError,
)

if TYPE_CHECKING:
    from .client.model import BaseModel
    from .client.vllm import VLLMModel
    from .config.settings import Settings
    from .config.targets import Target
    from .sim import SimConfig, SimServer

__all__ = [
    "Connection",
    "ServerStatus",
    "connect",
    "measure_latency",
    "model_for",
    "model_ids",
    "models_for",
    "poll_status",
]


@dataclass(frozen=True)
class ServerStatus:
    """One poll of the server; gauges are None when the server does not export them."""

    healthy: bool | None = None
    """None until the first poll answers."""
    latency_ms: float | None = None
    """How long ``/health`` (or ``/v1/models``) took."""
    error: str = ""
    """The error kind when the server is unreachable or unhealthy."""
    running: float | None = None
    """Requests generating now (vLLM's ``num_requests_running``)."""
    waiting: float | None = None
    """Requests queued (vLLM's ``num_requests_waiting``)."""
    kv_cache: float | None = None
    """KV-cache use as a fraction, 0..1."""


def model_for(profile: Profile, *, base_url: str | None = None, name: str | None = None
              ) -> VLLMModel:
    """A client for ``profile``'s server with its timeouts, retries, TLS and key; sends nothing.

    The client registers the key as a secret, so no message or log line can show it.

    Args:
        profile: the endpoint profile.
        base_url: another URL than the profile's (the in-process simulator's).
        name: the model name; default the profile's, else "(first served)", which ``open``
            replaces with the first model the server lists.
    Raises:
        ConfigError: the base URL or the CA bundle cannot be used (the bundle's error names
            the profile).
    """
    from .client.vllm import VLLMModel  # aiohttp loads here, not when the app starts

    timeouts = profile.timeouts
    verify = profile.ssl_verify()
    try:
        model = VLLMModel(
            name or profile.model or "(first served)",
            base_url or profile.base_url or "",
            profile.api_key,
            connect_timeout=timeouts.connect,
            first_token_timeout=timeouts.first_token,
            idle_timeout=timeouts.idle,
            max_attempts=profile.max_retries + 1,
            verify=verify,  # a bundle's path: the client loads it once, not per reconnect
        )
    except ConfigError as exc:
        if exc.key != "ca_bundle":
            raise
        raise ConfigError(bare_message(exc), key=f"profiles.{profile.name}.ca_bundle") from None
    # A helper request (/v1/models, /tokenize) waits no longer than a first token would.
    model.helper_timeout = min(model.helper_timeout, timeouts.first_token)
    return model


def model_ids(listing: list[dict[str, Any]]) -> list[str]:
    """Model names from a ``list_models()`` answer, in the server's order."""
    return [str(entry["id"]) for entry in listing if entry.get("id")]


async def _first_served(model: BaseModel) -> str:
    """The first model the server lists.

    Raises:
        ModelNotFoundError: the server lists none.
        AgentDeckError: the server cannot be reached or does not answer the list.
    """
    names = model_ids(await model.list_models())
    if not names:
        raise ModelNotFoundError(
            f"{getattr(model, 'base_url', 'the server')} lists no models, so there is none to "
            "pick: load one on the server, or name one (--model NAME, or the profile's model in "
            "settings, F2)"
        )
    return names[0]


class Connection:
    """The model for the current settings, and the simulator behind it when one is needed.

    ``open()`` again after the settings change. The simulator starts the first time it is
    needed and runs until ``close()``: a profile saved in the app may point at it.

    Args:
        settings: resolved settings; their active profile is used.
        demo: talk to the in-process simulator whatever the profile says.
        sim_config: the simulator's knobs (default ``SimConfig.demo()``).
    """

    def __init__(self, settings: Settings, *, demo: bool = False,
                 sim_config: SimConfig | None = None) -> None:
        self.settings = settings
        self.demo = demo
        self.sim_config = sim_config
        self.model: BaseModel | None = None
        """The connected model; None before ``open()`` and after a failed one."""
        self.sim: SimServer | None = None
        """The in-process simulator, once started."""
        self.picked_first = False
        """True when the model name was picked as the first the server lists."""
        self._stack = contextlib.AsyncExitStack()

    @property
    def uses_sim(self) -> bool:
        """True when the model talks to the in-process simulator."""
        return self.demo or self.settings.profile.is_builtin_sim

    @property
    def profile_name(self) -> str:
        """The profile to show: "demo" in demo mode."""
        return DEMO.name if self.demo else self.settings.profile.name

    async def open(self, settings: Settings | None = None) -> BaseModel:
        """(Re)build the model for ``settings`` (default: the current ones) and return it.

        Raises:
            ModelNotFoundError: the profile names no model and the server lists none.
            AgentDeckError: the profile is unusable or its server unreachable.
        """
        if settings is not None:
            self.settings = settings
        await self._drop_model()
        profile = self.settings.profile
        self.picked_first = False
        if self.uses_sim:
            wanted = (profile.model if profile.is_builtin_sim else None) or SIM_MODEL
            sim = await self._start_sim(wanted)
            served = sim.config.models
            # Timeouts given as flags (--timeout) reach the simulator too.
            flagged = profile.is_builtin_sim or profile.sources.get("timeouts") == "flag"
            sim_profile = replace(DEMO, timeouts=profile.timeouts) if flagged else DEMO
            model = model_for(sim_profile, base_url=sim.base_url,
                              name=wanted if wanted in served else served[0])
        else:
            model = model_for(profile)
            if not profile.model:
                try:
                    model.model_name = await _first_served(model)
                except BaseException:
                    await model.close_client()
                    raise
                self.picked_first = True
        self.model = model
        return model

    async def _start_sim(self, name: str) -> SimServer:
        if self.sim is None:
            from .sim import SimConfig, SimServer

            config = replace(self.sim_config or SimConfig.demo(), models=(name,))
            self.sim = await self._stack.enter_async_context(SimServer(config))
        return self.sim

    async def _drop_model(self) -> None:
        if self.model is not None:
            model, self.model = self.model, None
            await model.close_client()

    async def poll(self) -> ServerStatus:
        """Health, latency and vLLM gauges; a misbehaving server only makes it unhealthy.

        ``open()`` or ``close()`` may drop the model while a poll waits on it; the poll's next
        request then opens a new session on the dropped model, which the poll closes again
        (not a lock: reconnecting must not wait behind a slow ``/health``). The status of a
        dropped model says nothing about the current one: it is not known yet.
        """
        model = self.model
        try:
            status = await poll_status(model)
        finally:
            if model is not None and model is not self.model:
                await model.close_client()
        return status if model is self.model else ServerStatus()

    async def close(self) -> None:
        """Close the model's connections and stop the simulator. Safe to call twice."""
        await self._drop_model()
        await self._stack.aclose()
        self.sim = None

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


@contextlib.asynccontextmanager
async def connect(settings: Settings, *, demo: bool = False,
                  sim_config: SimConfig | None = None) -> AsyncIterator[Connection]:
    """``async with connect(settings) as conn:`` ``conn.model`` is ready until the block ends.

    Raises:
        ModelNotFoundError: the profile names no model and the server lists none.
        AgentDeckError: the profile is unusable or its server unreachable.
    """
    async with Connection(settings, demo=demo, sim_config=sim_config) as conn:
        await conn.open()
        yield conn


@contextlib.asynccontextmanager
async def models_for(targets: Sequence[Target], current: BaseModel,
                     settings: Settings | None = None) -> AsyncIterator[list[BaseModel]]:
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
    the same endpoint and model share one model. Models made here are closed when the block
    ends; ``current`` is left open.

    Raises:
        ProfileNotFoundError: a target names a profile that is not defined.
        AgentDeckError: an endpoint is unusable or unreachable, or lists no model.
    """
    from .client.endpoint import normalize_api_url, split_userinfo

    def base(url: str | None) -> str | None:
        return normalize_api_url(split_userinfo(url)[0])[1] if url else None

    async with contextlib.AsyncExitStack() as stack:
        opened: dict[tuple[str, str | None, str | None], BaseModel] = {}
        here = getattr(current, "base_url", None)
        models = []
        for target in targets:
            url = base(target.url)
            if target.profile is None and (url is None or url == here):
                key: tuple[str, str | None, str | None] = ("current", None, target.model)
            elif target.profile is not None:
                key = ("profile", target.profile, target.model)
            else:
                key = ("url", url, target.model)
            if key not in opened:
                if key[0] == "current":
                    opened[key] = _renamed(current, target.model, stack)
                else:
                    settings = settings or _load_settings()
                    profile = _target_profile(target, settings, base)
                    opened[key] = await _open_profile(profile, settings, stack)
            models.append(opened[key])
        yield models


def _load_settings() -> Settings:
    from .config.settings import load_settings

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
            raise ProfileNotFoundError(f"no profile named {target.profile!r} (a --target); "
                                       f"defined profiles: {defined}", key="--target")
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
        model.model_name = await _first_served(model)
    return model


async def measure_latency(model: BaseModel) -> float:
    """Seconds of ``/health``; servers without it (plain OpenAI-compatible) time ``/models``.

    Raises:
        AgentDeckError: the server is unreachable or unhealthy.
    """
    seconds = await model.health()
    if seconds is not None:
        return float(seconds)
    started = time.perf_counter()
    await model.list_models()
    return time.perf_counter() - started


async def poll_status(model: BaseModel | None) -> ServerStatus:
    """One poll of ``model``'s server; an error only makes the status unhealthy."""
    if model is None:
        return ServerStatus()
    try:
        latency = await measure_latency(model)
        gauges = await model.server_metrics() or {}
    except AgentDeckError as exc:
        return ServerStatus(healthy=False, error=exc.kind)
    return ServerStatus(
        healthy=True,
        latency_ms=latency * 1000,
        running=gauges.get("running"),
        waiting=gauges.get("waiting"),
        kv_cache=gauges.get("kv_cache_usage"),
    )
