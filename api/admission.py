"""Bounded admission to the database: how a request waits for a connection without a thread.

Why it exists: FastAPI runs a synchronous endpoint *and* the teardown of a synchronous ``yield``
dependency on the same thread pool (anyio's, 40 threads). When a request's connection came from a
sync generator, every request beyond the pool's size sat on a thread waiting for a connection,
and the requests holding connections could not give them back — their teardown needed a thread,
and all 40 were waiting. Past ≈ 40 concurrent requests the server stalled for the pool timeout
(30 s) and answered 500 (issue #16; docs/api.md "Under load").

The gate: a request first waits for a *slot* on the event loop (an ``asyncio.Semaphore``, no
thread held), and only a request holding a slot takes a connection and a thread. There are as
many slots as pooled connections, so a slot holder gets its connection at once and the thread
pool always has threads to spare for teardowns. The wait is bounded twice: at most
``max_waiting`` requests queue (the next one gets an immediate 503 with ``Retry-After``), and a
queued request that has not got a slot after ``max_wait_s`` gets the same 503 — load beyond what
the server can do is turned away quickly instead of piling up behind a timeout.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from geoplan.errors import GeoplanError


class OverloadedError(GeoplanError):
    """The server is at capacity: this request was not admitted (HTTP 503, ``Retry-After``)."""

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Admission:
    """At most ``slots`` requests inside at once; at most ``max_waiting`` waiting for a slot."""

    def __init__(self, slots: int, *, max_waiting: int, max_wait_s: float):
        if slots < 1 or max_waiting < 0 or max_wait_s <= 0:
            raise ValueError("slots >= 1, max_waiting >= 0 and max_wait_s > 0")
        self.slots = slots
        self.max_waiting = max_waiting
        self.max_wait_s = max_wait_s
        self._semaphore = asyncio.Semaphore(slots)
        self.waiting = 0

    @property
    def retry_after_s(self) -> int:
        """What to tell a client that was turned away: about one queue's worth of waiting."""
        return max(1, math.ceil(self.max_wait_s / 2))

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the block; raises :class:`OverloadedError` if none comes in time."""
        if self._semaphore.locked() and self.waiting >= self.max_waiting:
            raise OverloadedError(
                f"the server is busy ({self.waiting} requests already waiting); try again shortly",
                self.retry_after_s,
            )
        self.waiting += 1
        try:
            await asyncio.wait_for(self._semaphore.acquire(), self.max_wait_s)
        except TimeoutError:
            raise OverloadedError(
                f"the server is busy (no database connection free within {self.max_wait_s:g} s); "
                "try again shortly",
                self.retry_after_s,
            ) from None
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._semaphore.release()
