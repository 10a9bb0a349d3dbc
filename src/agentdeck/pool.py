"""Connection pool sharding: many small httpx pools instead of one big one.

httpcore 1.0.9's ``AsyncConnectionPool._assign_requests_to_connections`` runs on every request
start and end and is quadratic in the pool's connection count (encode/httpcore#1035, still
open). Measured here against the simulator, 256 concurrent streams spent ~9 s of CPU in that
one method with a single pool. Splitting the same connection budget into pools of
``SHARD_SIZE`` connections keeps each pass short while keep-alive reuse still works inside a
shard. Shards are created on demand, so a model used for one stream at a time has one pool.
"""

from __future__ import annotations

from typing import Callable

import httpx

__all__ = ["SHARD_SIZE", "ClientPool"]

SHARD_SIZE = 8
"""Connections per httpx client."""


class ClientPool:
    """Hands out the least busy of several ``httpx.AsyncClient`` shards."""

    def __init__(
        self,
        factory: Callable[[int], httpx.AsyncClient] | None,
        max_connections: int,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        """Either ``factory(limit)`` builds shards holding ``limit`` connections each, or the
        caller's own ``client`` is the only shard (and is never closed here)."""
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._factory = factory
        self.shard_size = min(SHARD_SIZE, max_connections)
        self.max_shards = -(-max_connections // self.shard_size) if factory else 1
        self._clients: list[httpx.AsyncClient] = []
        self._load: list[int] = []
        if client is not None:
            self._clients.append(client)
            self._load.append(0)

    @property
    def first(self) -> httpx.AsyncClient:
        """A client for one-off requests (models, health, tokenize)."""
        if not self._clients:
            self._add()
        return self._clients[0]

    def acquire(self) -> int:
        """Pick a shard for one request; pair with ``release``."""
        load = self._load
        for i, busy in enumerate(load):
            if busy < self.shard_size:
                break
        else:
            if len(load) < self.max_shards:
                i = self._add()
            else:  # every shard is full: queue on the least busy one
                i = min(range(len(load)), key=load.__getitem__)
        load[i] += 1
        return i

    def release(self, index: int) -> None:
        if index < len(self._load):  # else the pool was closed meanwhile
            self._load[index] -= 1

    def client(self, index: int) -> httpx.AsyncClient:
        return self._clients[index]

    def _add(self) -> int:
        assert self._factory is not None
        self._clients.append(self._factory(self.shard_size))
        self._load.append(0)
        return len(self._clients) - 1

    async def aclose(self) -> None:
        """Close the shards this pool created (not a caller's client)."""
        if self._factory is None:
            return
        clients, self._clients, self._load = self._clients, [], []
        for client in clients:
            await client.aclose()
