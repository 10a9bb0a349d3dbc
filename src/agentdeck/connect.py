"""Settings -> a ready model: the one place the CLI, the app and the settings screen connect.

A profile's timeouts, retries, TLS and key reach the client here and nowhere else, so the front
ends cannot drift apart. The built-in simulator starts here too (``--demo``, or the built-in
profile), and a profile without a model gets the first one its server lists.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .config.file import bare_message
from .config.profiles import DEMO, SIM_MODEL, Profile
from .errors import (
    AgentDeckError,
    ConfigError,
    ModelNotFoundError,
)

if TYPE_CHECKING:
    from .client.model import BaseModel
    from .client.vllm import VLLMModel
    from .config.settings import Settings
    from .sim import SimConfig, SimServer

__all__ = [
    "Connection",
    "ServerStatus",
    "check_model",
    "connect",
    "first_served",
    "measure_latency",
    "model_for",
    "model_ids",
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


async def first_served(model: BaseModel) -> str:
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
                    model.model_name = await first_served(model)
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


async def check_model(model: BaseModel, *, reachable: bool = False,
                      hint: str = "--model picks one") -> None:
    """Refuse a model the server does not list; a server without a usable list passes (a
    request then fails with the reason, recorded in its run).

    Args:
        reachable: an unreachable server fails too (compare: before any target is sent to).

    Raises:
        ModelNotFoundError: the server lists models, and not this one.
        TransportError: with ``reachable``, the server could not be reached.
    """
    from .client.http_errors import model_not_found
    from .errors import ModelNotFoundError, TransportError

    try:
        names = model_ids(await model.list_models())
    except TransportError:
        if reachable:
            raise
        return
    except AgentDeckError:  # no list (404, not JSON...): the run will say why
        return
    name = model.model_name
    if names and not any(n == name or n.startswith(f"{name}:") for n in names):  # llama3:latest
        where = getattr(model, "base_url", "the server")
        raise ModelNotFoundError(model_not_found(name, where, names, hint=hint),
                                 available=names)


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
