"""The simulator's aiohttp application and ``SimServer``, its in-process async context manager."""

from __future__ import annotations

import asyncio
import hmac
import os
import random
import time
from typing import Any

import orjson
from aiohttp import web

from .config import SimConfig
from .faults import Fault, FaultPicker
from .metrics import metrics_text
from .plan import build_plan
from .replies import ChunkEncoder, SimHTTPError, error_body
from .request import check_detokenize, check_tokenize, parse_json
from .stats import RequestRecord, SimStats
from .stream import SelfAbort, send_full_reply, send_stream
from .tokenizer import Vocabulary

__all__ = ["SimServer"]

_JSON = {"content-type": "application/json"}


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, headers=_JSON)


def _error(exc: SimHTTPError) -> web.Response:
    return web.Response(body=exc.body, status=exc.status, headers={**_JSON, **exc.headers})


class SimServer:
    """An OpenAI-compatible server speaking vLLM's dialect, in the current event loop.

    ``async with SimServer(SimConfig(...)) as sim:`` then point a client at ``sim.base_url``.
    """

    def __init__(
        self, config: SimConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or SimConfig()
        self.host = host
        self.port = port
        self.stats = SimStats()
        self.vocab = Vocabulary()
        self._faults = FaultPicker(self.config)
        self._seeds = random.Random()
        self._slots = (
            asyncio.Semaphore(self.config.max_num_seqs) if self.config.max_num_seqs else None
        )
        self._runner: web.AppRunner | None = None
        self.created = int(time.time())

    # ---------------------------------------------------------------- lifecycle

    @property
    def root_url(self) -> str:
        """``http://HOST:PORT`` (where /health, /metrics and /tokenize live)."""
        host = f"[{self.host}]" if ":" in self.host else self.host  # IPv6 literal
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/v1``: the URL to give a client."""
        return self.root_url + "/v1"

    def reset_stats(self) -> None:
        """Zero the counters (see ``SimStats.reset``)."""
        self.stats.reset()

    def make_app(self) -> web.Application:
        """The aiohttp application (routes, auth and FastAPI-style 404/405 bodies)."""
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/health", self._health)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/version", self._version)
        app.router.add_post("/tokenize", self._tokenize)
        app.router.add_post("/detokenize", self._detokenize)
        return app

    async def start(self) -> SimServer:
        """Bind and start serving; ``port`` 0 picks a free port (read it back from ``.port``)."""
        self._runner = web.AppRunner(
            self.make_app(),
            handler_cancellation=True,
            access_log=None,
            shutdown_timeout=self.config.shutdown_timeout,
        )
        await self._runner.setup()
        # A deep backlog: 256 clients connecting at once must not wait out SYN retries.
        site = web.TCPSite(self._runner, self.host, self.port, backlog=4096)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Stop serving; open streams are cancelled after ``shutdown_timeout``."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> SimServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------- plumbing

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        key = self.config.api_key
        if key and request.path.startswith("/v1"):
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {key}".encode()):
                return _json({"error": "Unauthorized"}, 401)
        try:
            return await handler(request)
        except web.HTTPMethodNotAllowed as exc:
            return web.Response(
                body=b'{"detail":"Method Not Allowed"}',
                status=405,
                headers={**_JSON, "allow": ", ".join(sorted(exc.allowed_methods))},
            )
        except web.HTTPNotFound:
            return web.Response(body=b'{"detail":"Not Found"}', status=404, headers=_JSON)

    # ---------------------------------------------------------------- routes

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response()

    async def _version(self, request: web.Request) -> web.Response:
        return _json({"version": "agentdeck-sim"})

    async def _metrics(self, request: web.Request) -> web.Response:
        text = metrics_text(self.config, self.stats)
        return web.Response(
            text=text, headers={"content-type": "text/plain; version=0.0.4; charset=utf-8"}
        )

    async def _models(self, request: web.Request) -> web.Response:
        data = [
            {
                "id": name,
                "object": "model",
                "created": self.created,
                "owned_by": "vllm",
                "root": name,
                "parent": None,
                "max_model_len": self.config.max_model_len,
                "permission": [
                    {
                        "id": "modelperm-" + os.urandom(8).hex(),
                        "object": "model_permission",
                        "created": self.created,
                        "allow_create_engine": False,
                        "allow_sampling": True,
                        "allow_logprobs": True,
                        "allow_search_indices": False,
                        "allow_view": True,
                        "allow_fine_tuning": False,
                        "organization": "*",
                        "group": None,
                        "is_blocking": False,
                    }
                ],
            }
            for name in self.config.models
        ]
        return _json({"object": "list", "data": data})

    async def _tokenize(self, request: web.Request) -> web.Response:
        try:
            body = parse_json(await request.read())
            text = check_tokenize(self.config, body)
        except SimHTTPError as exc:
            return _error(exc)
        tokens, pieces = self.vocab.encode(text)
        return _json(
            {
                "count": len(tokens),
                "max_model_len": self.config.max_model_len,
                "tokens": tokens,
                "token_strs": pieces if body.get("return_token_strs") else None,
            }
        )

    async def _detokenize(self, request: web.Request) -> web.Response:
        try:
            tokens = check_detokenize(self.config, parse_json(await request.read()))
        except SimHTTPError as exc:
            return _error(exc)
        return _json({"prompt": self.vocab.decode(tokens)})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        stats = self.stats
        stats.requests += 1
        record = RequestRecord("chatcmpl-" + os.urandom(8).hex(), arrived=time.monotonic())
        stats.records.append(record)
        try:
            plan = build_plan(
                self.config, parse_json(await request.read()), self._seeds.getrandbits(62)
            )
            fault = self._faults.pick(plan.sim)
        except SimHTTPError as exc:
            record.status = exc.status
            stats.by_status[exc.status] += 1
            return _error(exc)
        record.model, record.stream, record.n = plan.model, plan.stream, len(plan.choices)
        record.prompt_tokens = plan.prompt_tokens
        if fault is not None:
            record.fault = fault.kind
            stats.faults[fault.kind] += 1
            if fault.kind == "status":
                return self._status_fault(fault, record)
            if fault.kind == "close":
                self._abort(request)
                return web.Response()  # never reaches the client: aiohttp drops it quietly
        stats.prompt_tokens += plan.prompt_tokens
        stats.enter()
        resp: web.StreamResponse | None = None
        held = False
        try:
            if plan.stream:
                # Headers go out at once, as vLLM's StreamingResponse does; tokens follow.
                resp = web.StreamResponse(
                    headers={"content-type": "text/event-stream; charset=utf-8"}
                )
                await resp.prepare(request)
                record.status = 200
                stats.by_status[200] += 1
            await self._acquire()
            held = True
            stats.kv_tokens += plan.prompt_tokens
            try:
                created = int(time.time())
                if resp is None:
                    reply = await send_full_reply(
                        plan, record.request_id, created, stats, record, fault
                    )
                    stats.by_status[record.status] += 1
                    return reply
                enc = ChunkEncoder(record.request_id, created, plan.model)
                await send_stream(resp, plan, enc, fault, stats, record, self.config.tick)
                return resp
            finally:
                if self._slots is not None:
                    self._slots.release()
        except SelfAbort:
            self._abort(request)
            return resp or web.Response()  # never reaches the client
        except ConnectionResetError:  # a write found the client gone
            self._count_disconnect(record)
            return resp or web.Response()
        except asyncio.CancelledError:  # aiohttp cancels the handler when the client goes away
            self._count_disconnect(record)
            raise
        finally:
            if held:
                stats.kv_tokens -= plan.prompt_tokens + record.tokens_sent
            stats.in_flight -= 1

    def _count_disconnect(self, record: RequestRecord) -> None:
        if not record.done and not record.disconnected:
            record.disconnected = True
            self.stats.disconnects += 1

    async def _acquire(self) -> None:
        if self._slots is None:
            return
        self.stats.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.stats.waiting -= 1

    def _abort(self, request: web.Request) -> None:
        transport = request.transport
        if transport is not None:
            transport.abort()

    def _status_fault(self, fault: Fault, record: RequestRecord) -> web.Response:
        headers = dict(_JSON)
        if fault.retry_after is not None:
            headers["retry-after"] = f"{fault.retry_after:g}"
        if fault.retry_after_ms is not None:
            headers["retry-after-ms"] = str(fault.retry_after_ms)
        record.status = fault.status
        self.stats.by_status[fault.status] += 1
        return web.Response(
            body=error_body(fault.message, fault.status), status=fault.status, headers=headers
        )
