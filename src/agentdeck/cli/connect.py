"""The model a command talks to, through the core's ``connect``, with its choices on stderr."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from .output import Output

if TYPE_CHECKING:
    from ..client.model import BaseModel
    from ..config.settings import Settings

__all__ = ["open_model"]

NO_ENDPOINT = "no endpoint configured: set --base-url, VLLM_API_URL or a profile in the config file"
"""Why the simulator runs when nobody asked for it."""


@contextlib.asynccontextmanager
async def open_model(settings: Settings, out: Output, *, demo: bool = False,
                     check: bool = True) -> AsyncIterator[BaseModel]:
    """Yield the connected model; stderr says when it is the simulator or a picked model.

    The simulator runs when ``--demo`` is given or the active profile is the built-in one,
    with ``SimConfig.quick()``: plain answers. Not the app's ``SimConfig.demo()``, whose
    reasoning phase would use up a small ``--max-tokens`` before any answer reached stdout.
    With ``check``, a model named by the settings is checked against the server's list once,
    here, so a typo fails once and before N requests go out.
    """
    from ..config.profiles import DEMO
    from ..connect import check_model, connect
    from ..sim import SimConfig

    for warning in settings.warnings:
        out.note(warning)
    async with connect(settings, demo=demo, sim_config=SimConfig.quick()) as conn:
        model = conn.model
        assert model is not None  # open() either returns a model or raises
        if conn.sim is not None:
            why = "--demo" if demo else NO_ENDPOINT
            out.note(f"using the built-in simulator (profile {DEMO.name}, model "
                     f"{model.model_name}) at {conn.sim.base_url} ({why})")
        elif conn.picked_first:
            out.note(f"using model {model.model_name} (the first the server lists; "
                     "--model picks another)")
        elif check:
            await check_model(model)
        yield model
