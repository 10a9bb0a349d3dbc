"""The client wing: the model interface and the OpenAI/vLLM streaming client beneath it.

Modules: ``model`` (``BaseModel``), ``vllm`` (``VLLMModel``), ``stream`` (reads one response
into events), ``sse``, ``retry``, ``http_errors`` (aiohttp and HTTP statuses to our errors),
``gate`` (spreads many opens over loop turns), ``watchdog``, ``metrics`` and ``routes`` (vLLM's
``/tokenize``, ``/metrics``, ``/v1/models``, ``/health``). Names load on first use, so importing
the interface does not import aiohttp.
"""

from __future__ import annotations

from agentdeck import lazy_face

_EXPORTS = {
    "BaseModel": "model",
    "VLLMModel": "vllm",
    "normalize_api_url": "endpoint",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
