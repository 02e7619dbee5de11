"""A synchronous route's database work crosses to the thread pool ONCE, an asyncio one never
(issue #16).

The request waits for its admission slot on the event loop; then one worker thread takes the
connection, does the work, commits and gives the connection back (api/database.py
``Server.run``). Before, that was three crossings (take, endpoint, give back), and under load
the hand-offs cost ≈ 16 % of the interpreter's time (docs/api.md "Under load"). Real requests
on a real database: the pool's own methods and the route's core call are wrapped only to note
the thread they run on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import anyio.to_thread
import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.pq import TransactionStatus

import api.routers.assessments as assessments_router
from api.app import create_app
from geoplan import proximity
from geoplan.store import db
from tests.api.test_assessment_api import AUTH, KEY, add_key, body


class Threads:
    """Where each step of a request ran: ``(step, thread id, detail)`` in order."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, int, Any]] = []
        self.crossings = 0

    def note(self, step: str, detail: Any = None) -> None:
        self.steps.append((step, threading.get_ident(), detail))

    def wrap(self, step: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def noted(*args: Any, **kwargs: Any) -> Any:
            self.note(step)
            return fn(*args, **kwargs)

        return noted

    def of(self, step: str) -> list[int]:
        return [thread for name, thread, _ in self.steps if name == step]


@pytest.fixture
def traced(loaded_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, Threads]]:
    add_key(loaded_db, KEY)
    threads = Threads()
    run_sync = anyio.to_thread.run_sync

    async def counted(*args: Any, **kwargs: Any) -> Any:
        threads.crossings += 1  # every crossing to the thread pool, FastAPI's own included
        return await run_sync(*args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    app = create_app(database_url=loaded_db)
    with TestClient(app) as client:
        pool = app.state.primary.pool
        getconn, putconn = pool.getconn, pool.putconn

        def give_back(conn: psycopg.Connection, *args: Any, **kwargs: Any) -> None:
            # committed (or rolled back) before it goes back: no transaction left open
            threads.note("putconn", conn.info.transaction_status)
            putconn(conn, *args, **kwargs)

        monkeypatch.setattr(pool, "getconn", threads.wrap("getconn", getconn))
        monkeypatch.setattr(pool, "putconn", give_back)
        yield client, threads


def test_a_read_runs_its_connection_work_and_give_back_on_one_thread(
    traced: tuple[TestClient, Threads], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, threads = traced
    work = threads.wrap("work", proximity.catchments_geojson)
    monkeypatch.setattr(proximity, "catchments_geojson", work)
    threads.crossings = 0
    r = client.get("/proximity/catchments?hub=lorenskog_st&minutes=10")
    assert r.status_code == 200, r.text
    assert len(r.json()["features"]) == 1
    # taken, worked on, committed and given back on one thread
    (worker,) = set(threads.of("getconn") + threads.of("work") + threads.of("putconn"))
    assert [step for step, _, _ in threads.steps] == ["getconn", "work", "putconn"]
    assert threads.steps[-1][2] == TransactionStatus.IDLE
    assert threads.crossings == 1


def test_a_write_is_checked_done_committed_and_given_back_on_one_thread(
    traced: tuple[TestClient, Threads], loaded_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, threads = traced
    store = assessments_router.store_assessment
    monkeypatch.setattr(assessments_router, "store_assessment", threads.wrap("work", store))
    threads.crossings = 0
    r = client.post("/assessments", json=body(), headers=AUTH)
    assert r.status_code == 201, r.text
    # the key check, the assessment, the commit and the give-back: one thread, one crossing
    assert [step for step, _, _ in threads.steps] == ["getconn", "work", "putconn"]
    assert len({thread for _, thread, _ in threads.steps}) == 1
    assert threads.steps[-1][2] == TransactionStatus.IDLE
    assert threads.crossings == 1
    # committed before the connection went back, not left for a later request to commit
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        stored = conn.execute("SELECT count(*) FROM assessments WHERE id = %s", (r.json()["id"],))
        assert stored.fetchone()[0] == 1


def test_nearest_hubs_are_found_on_the_read_pool_without_a_thread(
    traced: tuple[TestClient, Threads], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``/proximity/nearest`` (a click on a map, a site a developer looks at) is answered on the
    asyncio read pool: no crossing to the thread pool, no connection of the sync pool."""
    client, threads = traced
    threads.crossings = 0
    r = client.get("/proximity/nearest?lon=10.955&lat=59.927&k=3")
    assert r.status_code == 200, r.text
    assert len(r.json()["hubs"]) == 3
    assert threads.crossings == 0
    assert threads.steps == []  # the sync pool was not asked for a connection
