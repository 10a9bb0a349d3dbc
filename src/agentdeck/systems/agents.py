"""Single-call agents with the seed's API: ``BasicAgent`` and ``ContextAgent``.

Each ``run()`` is one recorded run with one worker, ``"agent"``, streaming through the
model and reporting run events like any system. The returned text is the seed's: content,
with reasoning wrapped in ``<think>...</think>`` first when the server splits it out.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Iterable
from typing import Any

from ..client.model import BaseModel
from ..events import EventListener
from ..types import ChatMessage
from .base import Orchestrator, WorkerOutcome, clip, json_params
from .declarations import AGENT, WORKER_ID
from .request import RunRequest, RunResult, WorkerResult

__all__ = ["BaseAgent", "BasicAgent", "ContextAgent"]


class BaseAgent(Orchestrator, abc.ABC):
    """An agent: one prompt in, one streamed answer out.

    Args:
        agent_id: A name for logs and the run manifest's label.
        model: Any ``BaseModel`` (``VLLMModel`` for vLLM and OpenAI-compatible servers).
        system_prompt: Sent first as a ``system`` message when given.
        messages: Prior conversation turns placed between the system prompt and the prompt.
        listeners, store, concurrency: see ``Orchestrator``.
    """

    system = AGENT

    def __init__(
        self,
        agent_id: str,
        model: BaseModel,
        *,
        system_prompt: str | None = None,
        messages: Iterable[ChatMessage] = (),
        listeners: Iterable[EventListener] = (),
        store: Any = None,
        concurrency: int | None = None,
    ) -> None:
        super().__init__(model, listeners=listeners, store=store, concurrency=concurrency)
        self.agent_id = agent_id
        self.system_prompt = system_prompt
        self.history: list[ChatMessage] = list(messages)
        self.last_outcome: WorkerOutcome | None = None
        """How the latest run's request ended (text, finish reason, usage, metrics)."""

    def build_messages(self, prompt: str) -> list[ChatMessage]:
        """The chat messages sent for ``prompt``: system, prior turns, then the prompt."""
        messages: list[ChatMessage] = []
        if self.system_prompt:
            messages.append({"role": "system", "content": self.system_prompt})
        messages.extend(self.history)
        messages.append({"role": "user", "content": prompt})
        return messages

    async def _stream_and_aggregate(self, prompt: str, **kwargs: Any) -> str:
        """Stream ``prompt`` as one user message and return the whole answer (seed API).

        Raises:
            AgentDeckError: the request failed; the partial text is in the run store.
            asyncio.CancelledError: ``cancel()`` stopped the request.
        """
        messages = self.build_messages(prompt)
        prompts = {"prompt": clip(prompt)}
        if self.system_prompt:
            prompts["system"] = self.system_prompt
        prompts.update(self._extra_prompts())
        run = self.open_run(
            params=json_params(kwargs), prompts=prompts, workers=(WORKER_ID,),
            concurrency=self.concurrency, label=self.agent_id,
        )

        async def body() -> tuple[str, Any]:
            outcome = await run.run_one(WORKER_ID, messages, kwargs, label=self.agent_id)
            if outcome.cancelled:
                return "cancelled", outcome
            return ("done" if outcome.ok else "failed"), outcome

        outcome = await self.drive(run, body)
        self.last_outcome = outcome
        if outcome.cancelled:
            raise asyncio.CancelledError(f"agent {self.agent_id} was cancelled")
        if outcome.error is not None:
            raise outcome.error
        return outcome.text

    def _extra_prompts(self) -> dict[str, str]:
        """More inputs worth keeping in the manifest (a ContextAgent's context)."""
        return {}

    async def run_request(self, request: RunRequest) -> RunResult:
        """The registry's entry point: ``run(prompt)`` with the request's params.

        Raises:
            AgentDeckError: the request failed; the partial text is in the run store.
            asyncio.CancelledError: ``cancel()`` stopped the request.
        """
        text = await self.run(request.prompt, **request.params.to_body())
        outcome = self.last_outcome
        assert outcome is not None  # run() set it or raised
        run_id = self.last_run_id
        return RunResult(
            run_id, "done", text,
            workers={WORKER_ID: WorkerResult(outcome, self.worker_file(WORKER_ID))},
            report={"run_id": run_id, "model": self.model.model_name, "text": outcome.content,
                    "reasoning": outcome.reasoning, "finish_reason": outcome.finish_reason,
                    "usage": outcome.usage, "metrics": outcome.metrics},
            brief={"text": text},
            summary=self.summary_document(),
        )

    @abc.abstractmethod
    async def run(self, *args: Any, **kwargs: Any) -> Any:
        """Run the agent (subclasses define the inputs)."""

    @staticmethod
    def _request_options(request: RunRequest) -> dict[str, Any]:
        """The constructor's keyword options a registry request sets."""
        return {"system_prompt": request.options.get("system_prompt") or request.system_prompt,
                "listeners": request.listeners, "store": request.store,
                "concurrency": request.concurrency}


class BasicAgent(BaseAgent):
    """Sends the prompt as it is and returns the streamed answer."""

    system = "basic"

    @classmethod
    def from_request(cls, model: BaseModel, request: RunRequest) -> BasicAgent:
        """The agent a registry request describes (the registry's ``make``)."""
        return cls(request.label or WORKER_ID, model, **cls._request_options(request))

    async def run(self, prompt: str, **kwargs: Any) -> str:
        """Return the model's whole answer to ``prompt``; ``kwargs`` are generation params."""
        return await self._stream_and_aggregate(prompt, **kwargs)


class ContextAgent(BaseAgent):
    """Puts a fixed context before every prompt.

    The context comes first in the message so successive calls share a prefix and vLLM's
    prefix cache reuses its KV blocks instead of recomputing them.
    """

    system = "context"

    def __init__(self, agent_id: str, model: BaseModel, context: str, **options: Any) -> None:
        super().__init__(agent_id, model, **options)
        self.context = context
        self._asked = ""

    @classmethod
    def from_request(cls, model: BaseModel, request: RunRequest) -> ContextAgent:
        """The agent a registry request describes, its attachment the context."""
        return cls(request.label or WORKER_ID, model, request.attachment or "",
                   **cls._request_options(request))

    def combine(self, prompt: str) -> str:
        """The seed's layout: context, a rule, then the prompt."""
        return f"Context:\n{self.context}\n\n---\n\nPrompt:\n{prompt}"

    def _extra_prompts(self) -> dict[str, str]:
        # The prompt as the user wrote it; the combined text would repeat the context.
        return {"prompt": clip(self._asked), "context": clip(self.context)}

    async def run(self, prompt: str, **kwargs: Any) -> str:
        """Return the model's answer to ``prompt`` read against the context."""
        self._asked = prompt
        return await self._stream_and_aggregate(self.combine(prompt), **kwargs)
