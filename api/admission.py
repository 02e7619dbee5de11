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
always has threads to spare for teardowns.

**Lanes** share the slots fairly between cheap and expensive work. Each request waits in the
queue of its lane (``api``; ``pages`` for the HTML map pages; ``searches`` for ``GET
/premises``, see :mod:`api.load_shedding`); a lane may hold at most its *cap* of the slots at
once, and a freed slot goes to the lanes' queues in turn. So a flood of map pages (≈ 70 ms of
Python each, which more threads cannot speed up: one interpreter lock) holds at most
``GEOPLAN_PAGE_SLOTS`` connections and threads, and a ``/premises`` search arriving behind 500
map requests waits for the searches ahead of it, not for the maps. The searches hold at most
``GEOPLAN_SEARCH_SLOTS`` (cores + 1) of the read pool: on two cores, eight searches at once
each took longer than three did in turn, and the slowest of them much longer (docs/premises.md).

**The queue is bounded by time**, not only by length: load beyond what the server can do is
turned away *at once* with 503 and ``Retry-After`` instead of piling up behind a timeout.

* A request is refused on arrival when ``max_waiting`` requests already wait, or when its
  lane's queue is slow — its oldest request has waited a quarter of ``max_wait_s``
  (:data:`SLOW_QUEUE`) — *and* the requests ahead of it would take longer than ``max_wait_s``
  at the rate the lane serves requests. That rate is measured only while the lane is
  saturated (a freed slot with requests still waiting), over its last :data:`RATE_WINDOW_S` of
  saturated service — what the lane *can* do, not what it happened to be asked while idle —
  and kept between bursts, so the first second of a burst (its ramp, when every arrival is
  parsed at once) is judged by the last burst. It is not measured while the lane refuses
  (:meth:`_Lane.record`: refusals slow the server, and a rate measured under them would keep
  it refusing). Until a lane has
  been saturated for :data:`MIN_SATURATED_S`, nothing is refused by rate, only beyond
  ``max_waiting`` — an optimistic error, caught by the backstop below, where a pessimistic one
  would turn away clients who come straight back and slow the server further.
* A queued request still without a slot after ``max_wait_s`` is refused (the backstop). Lanes are
  first-in first-out, so one timer per lane, for its oldest request, does this.
* A request whose client went away while it waited is dropped when its turn comes, so work
  nobody waits for is never done (a crawler's aborted burst, a load generator's last round).
  Where the server says so without a message exchange (``gone``: uvicorn's connection state,
  see :func:`api.load_shedding.client_gone`), the dead request is skipped without taking a slot,
  so a thousand abandoned requests do not delay the live ones behind them.

:meth:`Admission.refusal` answers the arrival question without queueing, so
:class:`api.load_shedding.LoadShedding` can turn a request away before the framework parses it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from geoplan.errors import GeoplanError

API = "api"
"""The default lane: every request that is not an HTML map page or a premises search."""

PAGES = "pages"
"""The lane of the HTML map pages (expensive in Python, capped at ``GEOPLAN_PAGE_SLOTS``)."""

SEARCHES = "searches"
"""The lane of the premises searches (``GET /premises``) on the read pool, capped at
``GEOPLAN_SEARCH_SLOTS``: on two cores, three searches at once finish sooner than eight."""

RATE_WINDOW_S = 5.0
"""A lane's service rate is measured over its last this many seconds of *saturated* service
(idle time does not count, so the rate of the last burst judges the first seconds of the next)."""

MIN_SATURATED_S = 1.0
"""Less saturated service than this measured: no rate yet, nothing refused by it. A burst's
first second is its ramp — every arriving request parsed and routed at once — during which the
lane serves slower than it will; judged by it, a burst the server can serve was refused."""

MIN_RATE_SAMPLES = 8
"""Fewer saturated samples than this: no rate yet."""

SLOW_QUEUE = 0.25
"""A lane refuses by rate only while its oldest waiting request has waited this share of
``max_wait_s``: evidence that the queue really is slow, not only predicted to be."""


class OverloadedError(GeoplanError):
    """The server is at capacity: this request was not admitted (HTTP 503, ``Retry-After``)."""

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ClientGoneError(GeoplanError):
    """The client closed the connection while its request waited; nothing is sent back."""


@dataclass(eq=False)
class _Lane:
    """One queue in front of the slots, with its cap and its measured service rate."""

    name: str
    cap: int
    held: int = 0
    waiters: deque[tuple[float, asyncio.Future[None], Callable[[], bool] | None]] = field(
        default_factory=deque
    )
    waiting: int = 0  # requests of this lane still waiting (their futures may be resolved)
    timer: asyncio.TimerHandle | None = None
    # seconds between consecutive slot releases while the lane was saturated, newest last
    gaps: deque[float] = field(default_factory=deque)
    gaps_sum: float = 0.0
    last_busy_release: float | None = None
    refused: bool = False  # a request of this lane was refused since its last release

    def rate(self) -> float | None:
        """Requests per second this lane serves when saturated (None: not measured enough)."""
        if len(self.gaps) < MIN_RATE_SAMPLES or self.gaps_sum < MIN_SATURATED_S:
            return None
        return len(self.gaps) / self.gaps_sum

    def record(self, now: float) -> None:
        """A slot of this lane was freed at ``now``.

        The gap since the previous release counts as a service time only when the lane was
        saturated throughout and *nothing was refused meanwhile*: refused clients come
        straight back (a load generator, an impatient browser), and while thousands of
        refusals a second share the CPU with the admitted work, the lane serves slower than it
        can. Measured then, the rate would fall because of the refusals, refuse more, and
        stay there — the server would go on refusing what it could serve. So the rate is
        frozen while the lane refuses; it moves again once the queue is back within bounds.
        """
        if self.waiting:  # saturated: the gap since the last release is a service time
            if self.last_busy_release is not None and not self.refused:
                gap = now - self.last_busy_release
                self.gaps.append(gap)
                self.gaps_sum += gap
                while self.gaps_sum - self.gaps[0] >= RATE_WINDOW_S:
                    self.gaps_sum -= self.gaps.popleft()
            self.last_busy_release = now
        else:
            self.last_busy_release = None
        self.refused = False


class Admission:
    """At most ``slots`` requests inside at once; bounded, self-timing queues (lanes) in front.

    ``lanes`` maps lane names to caps (each at most ``slots``); the :data:`API` lane always
    exists with the full ``slots``. An unknown lane name means the :data:`API` lane.
    """

    def __init__(
        self,
        slots: int,
        *,
        max_waiting: int,
        max_wait_s: float,
        lanes: Mapping[str, int] | None = None,
        name: str = "db",
    ):
        if slots < 1 or max_waiting < 0 or max_wait_s <= 0:
            raise ValueError("slots >= 1, max_waiting >= 0 and max_wait_s > 0")
        caps = {API: slots, **(lanes or {})}
        if any(cap < 1 for cap in caps.values()):
            raise ValueError("every lane needs a cap >= 1")
        self.slots = slots
        self.max_waiting = max_waiting
        self.max_wait_s = max_wait_s
        self.name = name
        self.free = slots
        self.waiting = 0
        self._lanes = {lane: _Lane(lane, min(cap, slots)) for lane, cap in caps.items()}
        self._order = list(self._lanes.values())
        self._turn = 0  # the lane whose queue is served first when the next slot is freed
        self.slow_queue_s = max_wait_s * SLOW_QUEUE
        self.retry_after_s = max(1, math.ceil(max_wait_s / 2))
        """What to tell a client that was turned away: about half a queue's worth of waiting."""

    def lane(self, name: str) -> _Lane:
        return self._lanes.get(name) or self._lanes[API]

    def rate(self, lane: str = API) -> float | None:
        """The measured service rate of ``lane`` (requests/s; None: not measured yet)."""
        return self.lane(lane).rate()

    # -- arrival -----------------------------------------------------------------------------
    def refusal(self, lane: str = API) -> OverloadedError | None:
        """Why a request arriving now in ``lane`` would be turned away; None if it would be
        admitted. Costs a few comparisons: asked for every request, before it is parsed."""
        state = self.lane(lane)
        if self.free and state.held < state.cap and not state.waiting:
            return None  # a slot at once
        if self.waiting >= self.max_waiting:
            state.refused = True
            return self._refuse(f"{self.waiting} requests already waiting")
        while state.waiters and state.waiters[0][1].done():  # handed over, timed out, gone
            state.waiters.popleft()
        if not state.waiters or time.monotonic() - state.waiters[0][0] < self.slow_queue_s:
            return None  # the queue moves: whatever a rate predicts, it is not slow yet
        rate = state.rate()
        if rate is not None and (state.waiting + 1) / rate > self.max_wait_s:
            state.refused = True
            return self._refuse(
                f"{state.waiting} requests ahead would take more than {self.max_wait_s:g} s"
            )
        return None

    def _refuse(self, reason: str) -> OverloadedError:
        return OverloadedError(
            f"the server is busy ({reason}); try again shortly", self.retry_after_s
        )

    async def _acquire(self, state: _Lane, gone: Callable[[], bool] | None) -> bool:
        """Take a slot of ``state``'s lane; True when the request had to wait for it."""
        if self.free and state.held < state.cap and not state.waiting:
            self.free -= 1
            state.held += 1
            return False
        refused = self.refusal(state.name)
        if refused is not None:
            raise refused
        future = asyncio.get_running_loop().create_future()
        state.waiters.append((time.monotonic(), future, gone))
        state.waiting += 1
        self.waiting += 1
        if self.free:  # a slot freed while resolved waiters had yet to run: take it now
            self._dispatch()
        if state.timer is None:
            self._arm(state)
        try:
            await future
        except BaseException:
            if future.done() and not future.cancelled() and future.exception() is None:
                self._release(state)  # handed a slot, then cancelled: pass it on
            raise
        finally:
            state.waiting -= 1
            self.waiting -= 1
        return True

    # -- departure ---------------------------------------------------------------------------
    def _release(self, state: _Lane) -> None:
        state.held -= 1
        self.free += 1
        state.record(time.monotonic())
        self._dispatch()

    def _dispatch(self) -> None:
        """Hand free slots to waiting requests, taking the lanes' queues in turn."""
        lanes = len(self._order)
        while self.free:
            for step in range(lanes):
                state = self._order[(self._turn + step) % lanes]
                if state.held < state.cap and self._hand_over(state):
                    self._turn = (self._turn + step + 1) % lanes
                    break
            else:
                return

    def _hand_over(self, state: _Lane) -> bool:
        while state.waiters:
            _, future, gone = state.waiters.popleft()
            if future.done():  # cancelled, timed out
                continue
            if gone is not None and gone():
                future.set_exception(ClientGoneError("the client went away while it waited"))
            else:
                self.free -= 1
                state.held += 1
                future.set_result(None)
                return True
        return False

    # -- the backstop ------------------------------------------------------------------------
    def _arm(self, state: _Lane) -> None:
        while state.waiters and state.waiters[0][1].done():
            state.waiters.popleft()
        if not state.waiters:
            state.timer = None
            return
        deadline = state.waiters[0][0] + self.max_wait_s
        loop = asyncio.get_running_loop()
        state.timer = loop.call_at(
            loop.time() + max(0.0, deadline - time.monotonic()), self._expire, state
        )

    def _expire(self, state: _Lane) -> None:
        now = time.monotonic()
        while state.waiters and state.waiters[0][0] + self.max_wait_s <= now:
            _, future, _ = state.waiters.popleft()
            if not future.done():
                future.set_exception(
                    self._refuse(f"no database connection free within {self.max_wait_s:g} s")
                )
        self._arm(state)

    # -- the context manager -----------------------------------------------------------------
    @asynccontextmanager
    async def slot(
        self,
        disconnected: Callable[[], Awaitable[bool]] | None = None,
        *,
        lane: str = API,
        gone: Callable[[], bool] | None = None,
    ) -> AsyncIterator[None]:
        """Hold one slot of ``lane`` for the block.

        Raises :class:`OverloadedError` when the request is refused or waits too long, and
        :class:`ClientGoneError` when ``disconnected()`` says its client left while it waited
        (asked once, when its turn comes, and only if it had to wait: polling a thousand
        waiting requests would cost more than the work it saves). ``gone()``, when given, says
        the same without a message exchange; a request it names is skipped without a slot.
        """
        state = self.lane(lane)
        waited = await self._acquire(state, gone)
        try:
            if waited and disconnected is not None and await disconnected():
                raise ClientGoneError("the client went away while its request waited")
            yield
        finally:
            self._release(state)
