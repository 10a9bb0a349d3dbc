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
    "BaseModel": "client",
    "VLLMModel": "client",
    # orchestration
    "BaseAgent": "systems",
    "BasicAgent": "systems",
    "ContextAgent": "systems",
    "ChainOfAgents": "systems",
    "Debate": "systems",
    "MultiCallSystem": "systems",
    # disk and settings
    "Profile": "config",
    "RunInfo": "store",
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


def lazy_face(package: str, exports: dict[str, str]) -> tuple[Any, Any]:
    """``__getattr__`` and ``__dir__`` for a package face whose names load on first use.

    Args:
        package: the face's ``__name__``.
        exports: public name -> submodule (relative to ``package``) that defines it.
    """
    namespace = importlib.import_module(package).__dict__

    def getattr_(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return getattr_, dir_


__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
