"""Bounded admission to the database: how a request waits for a connection without a thread.

Why it exists: FastAPI runs a synchronous endpoint *and* the teardown of a synchronous ``yield``
dependency on the same thread pool (anyio's, 40 threads). When a request's connection came from a
sync generator, every request beyond the pool's size sat on a thread waiting for a connection,
and the requests holding connections could not give them back — their teardown needed a thread,
and all 40 were waiting. Past ≈ 40 concurrent requests the server stalled for the pool timeout
(30 s) and answered 500 (issue #16; docs/api.md "Under load").

The gate: a request first waits for a *slot* on the event loop (no thread held), and only a
request holding a slot takes a connection (and, on the sync path, a thread). There are as many
slots as pooled connections, so a slot holder gets its connection at once and the thread pool
always has threads to spare for teardowns. The queue in front of the slots is bounded so that
load beyond what the server can do is turned away *at once* with 503 and ``Retry-After``,
instead of piling up behind a timeout:

* a request is refused on arrival when ``max_waiting`` requests already wait, or when the
  requests ahead of it would take longer than ``max_wait_s`` at the rate slots have recently
  been freed (a slow route queues fewer requests than a fast one);
* a queued request still without a slot after ``max_wait_s`` is refused (the backstop);
* a request whose client went away while it waited is dropped when its turn comes, so work
  nobody waits for is never done (a crawler's aborted burst, a load generator's last round).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from geoplan.errors import GeoplanError

RATE_WINDOW_S = 2.0
"""The rate of freed slots is measured over this many recent seconds."""


class OverloadedError(GeoplanError):
    """The server is at capacity: this request was not admitted (HTTP 503, ``Retry-After``)."""

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ClientGoneError(GeoplanError):
    """The client closed the connection while its request waited; nothing is sent back."""


class Admission:
    """At most ``slots`` requests inside at once; a bounded, self-timing queue in front."""

    def __init__(self, slots: int, *, max_waiting: int, max_wait_s: float, name: str = "db"):
        if slots < 1 or max_waiting < 0 or max_wait_s <= 0:
            raise ValueError("slots >= 1, max_waiting >= 0 and max_wait_s > 0")
        self.slots = slots
        self.max_waiting = max_waiting
        self.max_wait_s = max_wait_s
        self.name = name
        self._semaphore = asyncio.Semaphore(slots)
        self._freed: deque[float] = deque()  # monotonic times slots were given back
        self.waiting = 0

    @property
    def retry_after_s(self) -> int:
        """What to tell a client that was turned away: about half a queue's worth of waiting."""
        return max(1, math.ceil(self.max_wait_s / 2))

    def _rate(self, now: float) -> float | None:
        """Slots freed per second over the last :data:`RATE_WINDOW_S` (None: too few to tell)."""
        while self._freed and now - self._freed[0] > RATE_WINDOW_S:
            self._freed.popleft()
        if len(self._freed) < 2 * self.slots:
            return None
        return len(self._freed) / RATE_WINDOW_S

    def _refuse(self, reason: str) -> OverloadedError:
        return OverloadedError(
            f"the server is busy ({reason}); try again shortly", self.retry_after_s
        )

    def _admit_or_refuse(self) -> None:
        if not self._semaphore.locked():
            return
        if self.waiting >= self.max_waiting:
            raise self._refuse(f"{self.waiting} requests already waiting")
        rate = self._rate(time.monotonic())
        if rate is not None and (self.waiting + 1) / rate > self.max_wait_s:
            raise self._refuse(
                f"{self.waiting} requests ahead would take more than {self.max_wait_s:g} s"
            )

    @asynccontextmanager
    async def slot(
        self, disconnected: Callable[[], Awaitable[bool]] | None = None
    ) -> AsyncIterator[None]:
        """Hold one slot for the block.

        Raises :class:`OverloadedError` when the request is refused or waits too long, and
        :class:`ClientGoneError` when ``disconnected()`` says its client left while it waited
        (asked once, when its turn comes: polling a thousand waiting requests would cost more
        than the work it saves).
        """
        self._admit_or_refuse()
        self.waiting += 1
        try:
            await asyncio.wait_for(self._semaphore.acquire(), self.max_wait_s)
        except TimeoutError:
            raise self._refuse(
                f"no database connection free within {self.max_wait_s:g} s"
            ) from None
        finally:
            self.waiting -= 1
        try:
            if disconnected is not None and await disconnected():
                raise ClientGoneError("the client went away while its request waited")
            yield
        finally:
            self._semaphore.release()
            self._freed.append(time.monotonic())
