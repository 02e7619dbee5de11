"""The admission gate (api/admission.py): lanes, the bounded queue, the rate it refuses by.

Pure asyncio: no server, no database. Times are real but short.
"""

from __future__ import annotations

import asyncio

import pytest

from api import admission
from api.admission import API, PAGES, Admission, ClientGoneError, OverloadedError


async def _hold(gate: Admission, lane: str, log: list[str], name: str, release: asyncio.Event):
    async with gate.slot(lane=lane):
        log.append(name)
        await release.wait()


def test_waiting_requests_are_served_first_in_first_out() -> None:
    async def scenario() -> list[str]:
        gate = Admission(1, max_waiting=10, max_wait_s=5)
        log: list[str] = []
        release = asyncio.Event()
        release.set()
        async with gate.slot():
            tasks = [asyncio.create_task(_hold(gate, API, log, str(i), release)) for i in range(5)]
            await asyncio.sleep(0.01)
            assert gate.waiting == 5 and log == []
        await asyncio.gather(*tasks)
        return log

    assert asyncio.run(scenario()) == ["0", "1", "2", "3", "4"]


def test_map_pages_hold_at_most_their_cap_and_are_served_in_turn_with_the_api() -> None:
    async def scenario() -> tuple[list[str], int]:
        gate = Admission(3, max_waiting=100, max_wait_s=5, lanes={PAGES: 1})
        log: list[str] = []
        release = asyncio.Event()
        most_pages = 0

        async def page(i: int) -> None:
            nonlocal most_pages
            async with gate.slot(lane=PAGES):
                most_pages = max(most_pages, gate.lane(PAGES).held)
                log.append(f"page{i}")
                await release.wait()

        # ten map pages arrive first, then three API requests
        tasks = [asyncio.create_task(page(i)) for i in range(10)]
        await asyncio.sleep(0.01)
        tasks += [asyncio.create_task(_hold(gate, API, log, f"api{i}", release)) for i in range(3)]
        await asyncio.sleep(0.01)
        # one slot went to a page (its cap), the other two to the API requests behind them
        assert log == ["page0", "api0", "api1"]
        release.set()
        await asyncio.gather(*tasks)
        return log, most_pages

    log, most_pages = asyncio.run(scenario())
    assert most_pages == 1
    assert log.index("api2") < log.index("page2")  # freed slots alternate between the lanes


def test_a_full_queue_refuses_at_once() -> None:
    async def scenario() -> None:
        gate = Admission(1, max_waiting=2, max_wait_s=5)
        release = asyncio.Event()
        async with gate.slot():
            waiters = [asyncio.create_task(_hold(gate, API, [], "w", release)) for _ in range(2)]
            await asyncio.sleep(0.01)
            assert gate.refusal() is not None
            with pytest.raises(OverloadedError) as refused:
                async with gate.slot():
                    pass
            assert refused.value.retry_after_s >= 1
        release.set()
        await asyncio.gather(*waiters)

    asyncio.run(scenario())


def test_a_request_waiting_longer_than_the_bound_is_refused() -> None:
    async def scenario() -> None:
        gate = Admission(1, max_waiting=10, max_wait_s=0.05)
        async with gate.slot():
            with pytest.raises(OverloadedError, match="within"):
                async with gate.slot():
                    pass
        assert gate.waiting == 0 and gate.free == 1

    asyncio.run(scenario())


def test_a_gone_client_is_skipped_without_taking_a_slot() -> None:
    async def scenario() -> None:
        gate = Admission(1, max_waiting=10, max_wait_s=5)
        log: list[str] = []
        release = asyncio.Event()
        release.set()

        async def gone_one() -> None:
            async with gate.slot(gone=lambda: True):
                log.append("gone")

        async with gate.slot():
            dead = asyncio.create_task(gone_one())
            live = asyncio.create_task(_hold(gate, API, log, "live", release))
            await asyncio.sleep(0.01)
        with pytest.raises(ClientGoneError):
            await dead
        await live
        assert log == ["live"]
        assert gate.free == 1

    asyncio.run(scenario())


def test_the_rate_is_measured_only_while_saturated_and_not_refusing() -> None:
    lane = admission._Lane("api", cap=1)
    lane.waiting = 1
    for i in range(20):  # saturated: one release every 0.1 s
        lane.record(i * 0.1)
    assert lane.rate() == pytest.approx(10)
    lane.refused = True  # refusals slow the server: the gap they overlap does not count
    lane.record(20 * 0.1 + 5.0)
    assert lane.rate() == pytest.approx(10)
    lane.waiting = 0  # idle: the next gap starts afresh
    lane.record(100.0)
    lane.waiting = 1
    lane.record(200.0)
    assert lane.rate() == pytest.approx(10)


def test_no_rate_before_a_second_of_saturated_service() -> None:
    lane = admission._Lane("api", cap=1)
    lane.waiting = 1
    for i in range(50):  # 50 releases within 0.49 s: a ramp, not yet a rate
        lane.record(i * 0.01)
    assert lane.rate() is None


def test_refused_by_rate_only_once_the_queue_is_measured_slow() -> None:
    async def scenario() -> None:
        gate = Admission(1, max_waiting=1000, max_wait_s=1.0)
        lane = gate.lane(API)
        # measured: 10 requests a second when saturated
        lane.waiting = 1
        for i in range(20):
            lane.record(i * 0.1)
        lane.waiting = 0
        release = asyncio.Event()
        async with gate.slot():
            waiters = [asyncio.create_task(_hold(gate, API, [], "w", release)) for _ in range(20)]
            await asyncio.sleep(0.01)
            # 20 ahead at 10/s is 2 s > 1 s, but the oldest has waited only 10 ms: admitted
            assert gate.refusal() is None
            await asyncio.sleep(gate.slow_queue_s)
            refused = gate.refusal()
            assert refused is not None and "would take more than" in str(refused)
        release.set()
        await asyncio.gather(*waiters, return_exceptions=True)

    asyncio.run(scenario())
