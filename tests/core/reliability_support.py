"""Helpers for the reliability and security tests: small aiohttp servers on their own thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ThreadedApp:
    """An aiohttp app on 127.0.0.1:0 in a background thread (for code that runs asyncio.run).

    ``routes`` maps ``"METHOD /path"`` to a handler; ``requests`` records every request's
    method, path and headers as the server saw them.
    """

    def __init__(self, routes: dict[str, Handler], ssl_context: object = None) -> None:
        self.routes = routes
        self.ssl_context = ssl_context
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    async def _start(self) -> None:
        @web.middleware
        async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
            self.requests.append((request.method, request.path, dict(request.headers)))
            return await handler(request)

        app = web.Application(middlewares=[record])
        for spec, handler in self.routes.items():
            method, path = spec.split(" ", 1)
            app.router.add_route(method, path, handler)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.ssl_context)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def __enter__(self) -> ThreadedApp:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


def one_line(err: str) -> str:
    """The only non-blank line of ``err`` (fails when there are several)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]
