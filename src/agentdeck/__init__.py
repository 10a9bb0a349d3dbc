"""agentdeck: stream chat completions from vLLM and any OpenAI-compatible server.

The public API is loaded lazily (PEP 562) so ``agentdeck --help`` and the core stay quick to
import and the core never pulls in the UI.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    # errors
    "AgentDeckError": "errors",
    "APIStatusError": "errors",
    "AuthenticationError": "errors",
    "BadRequestError": "errors",
    "ConfigError": "errors",
    "ConnectError": "errors",
    "ContextLengthError": "errors",
    "InputError": "errors",
    "ModelNotFoundError": "errors",
    "RateLimitError": "errors",
    "ServerError": "errors",
    "StallError": "errors",
    "StreamError": "errors",
    "TransportError": "errors",
    "TruncatedStreamError": "errors",
    # data
    "Completion": "types",
    "GenerationParams": "types",
    "StreamMetrics": "types",
    "Usage": "types",
    # models
    "BaseModel": "model",
    "VLLMModel": "client",
    # orchestration
    "BaseAgent": "agents",
    "BasicAgent": "agents",
    "ContextAgent": "agents",
    "ChainOfAgents": "systems",
    "Debate": "systems",
    "MultiCallSystem": "systems",
    # disk and settings
    "Profile": "profiles",
    "RunInfo": "runinfo",
    "RunStore": "store",
    "Settings": "config",
    "load_settings": "config",
    "new_run_id": "store",
    "save_settings": "config",
    # simulator
    "SimConfig": "sim",
    "SimServer": "sim",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentdeck' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
