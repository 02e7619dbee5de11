"""Defect 8: 30 parallel PATCHes left the history out of order (stamped and sorted by the start
of each transaction). Now stamped with ``clock_timestamp()`` and read in version order.
Defect 11 (part): an empty or no-op PATCH bumped the version; now it changes nothing."""

from __future__ import annotations

import threading

import psycopg

from geoplan import premises
from geoplan.store import db
from tests.hostile.conftest import auth, listing

WRITERS = 30


def test_parallel_patches_leave_the_history_in_version_order(loaded_db):
    with db.transaction(loaded_db) as conn:
        record = premises.create(conn, _data(), "setup")
    start = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def write(i: int) -> None:
        try:
            with psycopg.connect(db.conninfo(loaded_db)) as conn:
                conn.execute("SELECT now()")  # the transaction (and now()) begins here
                start.wait(timeout=30)
                premises.update(
                    conn, record["id"], {"rent_nok_m2_year": 1000 + i}, f"writer {i}", partial=True
                )
                conn.commit()
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    with db.connect(loaded_db) as conn:
        entries = premises.history(conn, record["id"])
    versions = [e["after"]["version"] for e in entries]
    assert versions == list(range(1, WRITERS + 2))
    times = [e["at"] for e in entries]
    assert times == sorted(times), "history times out of version order"
    # each entry's before is the previous entry's after: a chain, nothing lost
    for prev, entry in zip(entries, entries[1:], strict=False):
        assert entry["before"] == prev["after"]


def _data(**props):
    feature = listing(**props)
    return {**feature["properties"], "geometry": feature["geometry"]}


def test_empty_and_no_op_writes_change_nothing(client, api_keys):
    headers = auth(api_keys["write"])
    created = client.post("/premises", json=listing(), headers=headers)
    assert created.status_code == 201
    pid = created.json()["id"]
    same = listing()
    for method, body in (
        ("PATCH", {}),
        ("PATCH", {"properties": {}}),
        ("PATCH", {"properties": {"address": "Festplassen 1, 1473 Lørenskog"}}),
        ("PATCH", {"geometry": same["geometry"]}),
        ("PUT", same),
    ):
        r = client.request(method, f"/premises/{pid}", json=body, headers=headers)
        assert r.status_code == 200, (method, body, r.text)
        assert r.headers["etag"] == 'W/"1"', (method, body)
        assert r.json()["properties"]["version"] == 1
    history = client.get(f"/premises/{pid}/history").json()["history"]
    assert [e["action"] for e in history] == ["create"]
    # a stale If-Match is still refused, change or not
    r = client.patch(f"/premises/{pid}", json={}, headers={**headers, "If-Match": 'W/"7"'})
    assert r.status_code == 412
    # a real change still counts once
    r = client.patch(
        f"/premises/{pid}", json={"properties": {"rent_nok_m2_year": 2100}}, headers=headers
    )
    assert r.headers["etag"] == 'W/"2"'


def test_a_no_op_write_keeps_the_municipalitys_verification(client, api_keys):
    admin, write = auth(api_keys["admin"]), auth(api_keys["write"])
    # the broker's own listing (a key changes only what it created), verified by the
    # municipality: version 2
    pid = client.post("/premises", json=listing(), headers=write).json()["id"]
    r = client.patch(f"/premises/{pid}", json={"properties": {"verified": True}}, headers=admin)
    assert r.json()["properties"]["verified"] is True and r.headers["etag"] == 'W/"2"'
    r = client.patch(
        f"/premises/{pid}", json={"properties": {"rent_nok_m2_year": 2000}}, headers=write
    )
    assert r.json()["properties"]["verified"] is True and r.headers["etag"] == 'W/"2"'
    r = client.patch(
        f"/premises/{pid}", json={"properties": {"rent_nok_m2_year": 2500}}, headers=write
    )
    assert r.json()["properties"]["verified"] is False and r.headers["etag"] == 'W/"3"'
