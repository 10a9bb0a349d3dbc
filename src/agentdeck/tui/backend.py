"""The app's connection: the in-process simulator when asked for, and the model it talks to.

Owned by the app, one at a time; ``connect()`` again after the settings change. Everything
here runs on the app's own event loop (the simulator is an aiohttp server in that loop).
"""

from __future__ import annotations

import time
from contextlib import AsyncExitStack
from typing import Any

from agentdeck.errors import AgentDeckError, InputError, NotFoundError, register_secret

from .widgets.status_line import ServerStatus

__all__ = ["Backend", "demo_sim_config", "measure_latency"]


def demo_sim_config() -> Any:
    """Simulator knobs for the demo: reasoning on, lively pacing, varied markdown answers."""
    from agentdeck.config.settings import SIM_MODEL
    from agentdeck.sim import SimConfig

    return SimConfig(
        models=(SIM_MODEL,),
        tokens_per_s=55.0,
        ttft=0.4,
        output_tokens=320,
        output_tokens_jitter=0.4,
        reasoning=True,
        reasoning_tokens=40,
        max_num_seqs=24,
    )


async def measure_latency(model: Any) -> float:
    """Seconds of ``/health``; servers without it (plain OpenAI-compatible) time ``/models``.

    Raises:
        AgentDeckError: the server is unreachable or unhealthy.
    """
    try:
        return float(await model.health())
    except NotFoundError:
        started = time.perf_counter()
        await model.list_models()
        return time.perf_counter() - started


class Backend:
    """Holds the model (and the simulator behind it in demo mode) for the current settings."""

    def __init__(self, settings: Any, *, demo: bool = False, sim_config: Any = None) -> None:
        self.settings = settings
        self.demo = demo
        self.sim_config = sim_config
        self.model: Any = None
        self.sim: Any = None
        self._stack = AsyncExitStack()

    @property
    def uses_sim(self) -> bool:
        return self.demo or bool(self.settings.profile.is_builtin_sim)

    @property
    def profile_name(self) -> str:
        return "demo" if self.demo else self.settings.profile.name

    @property
    def base_url(self) -> str:
        return self.sim.base_url if self.sim is not None else self.settings.profile.base_url

    async def connect(self, settings: Any | None = None) -> None:
        """(Re)build the model for ``settings``; start the simulator the first time it is needed.

        Raises:
            AgentDeckError: the profile is unusable (no model and the server lists none).
        """
        from agentdeck.client.vllm import VLLMModel

        if settings is not None:
            self.settings = settings
        if self.model is not None:
            await self.model.close_client()
            self.model = None
        profile = self.settings.profile
        if self.uses_sim and self.sim is None:
            from agentdeck.sim import SimServer

            self.sim = await self._stack.enter_async_context(
                SimServer(self.sim_config or demo_sim_config())
            )
        if self.uses_sim:
            model = VLLMModel(self.sim.config.models[0], self.sim.base_url)
        else:
            register_secret(profile.api_key)
            # The name is filled in below when the profile leaves it to the server.
            model = VLLMModel(
                profile.model or "(first served)",
                profile.base_url,
                profile.api_key,
                verify=profile.ssl_verify(),
            )
            if not profile.model:
                try:
                    names = [str(m.get("id")) for m in await model.list_models()]
                except AgentDeckError:
                    await model.close_client()
                    raise
                if not names:
                    await model.close_client()
                    raise InputError(
                        f"{profile.base_url} serves no models: set one in settings (F2)"
                    )
                model.model_name = names[0]
        self.model = model

    async def poll(self) -> ServerStatus:
        """Health, latency and vLLM gauges; a misbehaving server only turns the status red."""
        model = self.model
        if model is None:
            return ServerStatus()
        try:
            latency = await measure_latency(model)
            gauges = await model.server_metrics()
        except AgentDeckError as exc:
            return ServerStatus(healthy=False, error=exc.kind)
        gauges = gauges or {}
        return ServerStatus(
            healthy=True,
            latency_ms=latency * 1000,
            running=gauges.get("running"),
            waiting=gauges.get("waiting"),
            kv_cache=gauges.get("kv_cache_usage"),
        )

    async def close(self) -> None:
        """Close the model's connections and stop the simulator. Safe to call twice."""
        if self.model is not None:
            await self.model.close_client()
            self.model = None
        await self._stack.aclose()
        self.sim = None
