"""Opening the model a command talks to: the active profile's endpoint or the simulator."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from ..errors import ModelNotFoundError
from .output import Output

__all__ = ["model_ids", "open_model"]


def model_ids(listing: Any) -> list[str]:
    """Model names from a ``list_models()`` answer (names, dicts with ``id`` or objects)."""
    ids: list[str] = []
    for item in listing or ():
        if isinstance(item, str):
            ids.append(item)
        elif isinstance(item, dict) and item.get("id"):
            ids.append(str(item["id"]))
        elif getattr(item, "id", None):
            ids.append(str(item.id))
    return ids


@contextlib.asynccontextmanager
async def open_model(settings: Any, out: Output, *, demo: bool = False) -> AsyncIterator[Any]:
    """Yield a connected ``VLLMModel``; start an in-process simulator when asked or needed.

    The simulator runs when ``--demo`` is given or the active profile is the built-in one
    (nothing configured); either way stderr says so. A profile without a model uses the
    first model the server lists.
    """
    from ..client.vllm import VLLMModel
    from ..config.profiles import SIM_MODEL

    profile = settings.profile
    for warning in settings.warnings:
        out.note(warning)
    async with contextlib.AsyncExitStack() as stack:
        if demo or profile.is_builtin_sim:
            from ..sim import SimConfig, SimServer

            name = (profile.model or SIM_MODEL) if profile.is_builtin_sim else SIM_MODEL
            sim = await stack.enter_async_context(SimServer(SimConfig(models=(name,))))
            why = ("--demo" if demo else "no endpoint configured: set --base-url, "
                   "VLLM_API_URL or a profile in the config file")
            out.note(f"using the built-in simulator at {sim.base_url} ({why})")
            model = VLLMModel(name, sim.base_url, default_params=None)
            stack.push_async_callback(model.close_client)
        else:
            timeouts = profile.timeouts
            verify: Any = (profile.ca_bundle or True) if profile.verify_tls else False
            model = VLLMModel(
                profile.model or "unset", profile.base_url, profile.api_key,
                connect_timeout=timeouts.connect, first_token_timeout=timeouts.first_token,
                idle_timeout=timeouts.idle, max_attempts=profile.max_retries + 1, verify=verify,
            )
            stack.push_async_callback(model.close_client)
            if not profile.model:
                ids = model_ids(await model.list_models())
                if not ids:
                    raise ModelNotFoundError(
                        f"{profile.base_url} lists no models; pass --model NAME")
                model.model_name = ids[0]
                out.note(f"using model {ids[0]} (the first the server lists; --model picks "
                         "another)")
        yield model
