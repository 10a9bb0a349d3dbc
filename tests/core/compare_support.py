"""A recording OpenAI-compatible server for the compare tests: what each request carried."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path
from typing import Any

from servers import USAGE, Conn, Request, ScriptServer, chunk_obj


def answering(models: tuple[str, ...] = ("m",), text: str = "The answer is 42.",
              hold: asyncio.Event | None = None, slow_first_listing: float = 0.0) -> Any:
    """Serve ``/v1/models`` (4096-token window) and stream ``text`` for every chat request.

    With ``hold``, every chat request waits for it before answering, so all of a run's
    requests are in flight at once and their arrival order is the order they were sent.
    ``slow_first_listing`` delays the first ``/v1/models`` answer (one target's window).
    """
    listings = []

    async def handler(request: Request, conn: Conn) -> None:
        if request.path.endswith("/models"):
            listings.append(request)
            if len(listings) == 1:
                await asyncio.sleep(slow_first_listing)
            await conn.respond(200, {"object": "list", "data": [
                {"id": m, "object": "model", "max_model_len": 4096} for m in models]})
            return
        if hold is not None:
            await hold.wait()
        await conn.start_stream()
        await conn.event(chunk_obj(text))
        await conn.event(chunk_obj("", finish="stop"))
        await conn.event(USAGE)
        await conn.chunk(b"data: [DONE]\n\n")
        await conn.end()

    return handler


def chats(server: ScriptServer) -> list[dict[str, Any]]:
    """The chat requests' bodies, in arrival order, each with its Authorization header."""
    return [{**json.loads(r.body), "authorization": r.headers.get("authorization")}
            for r in server.requests if r.path.endswith("/chat/completions")]


def write_config(home: Path, body: str) -> Path:
    """``config.toml`` under AGENTDECK_HOME (0600: it may hold a key)."""
    path = home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body))
    path.chmod(0o600)
    return path
