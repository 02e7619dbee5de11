"""Writes to the premises register: validation, history, versions, annotation, atomicity."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from geoplan import premises
from geoplan.errors import NotFoundError, ValidationError
from geoplan.store import db
from tests.conftest import table_counts

LORENSKOG_HUS = [10.9548, 59.9267]  # by Lørenskog sentrum bus terminal
LORENSKOG_ST = [10.944995, 59.945007]  # by Lørenskog railway station
LORENSKOG_HUS_UTM = [273962.74, 6650157.51]  # the same point in EPSG:25833
OSLO_CITY_HALL = [10.7336, 59.9119]  # outside Lørenskog


def listing(**overrides) -> dict:
    data = {
        "geometry": {"type": "Point", "coordinates": LORENSKOG_HUS},
        "address": "Festplassen 1, 1473 Lørenskog",
        "uses": ["office"],
        "floor_area_m2": 320.0,
        "rent_nok_m2_year": 2100,
        "available_from": "2027-03-01",
        "contact": "utleie@example.no",
    }
    data.update(overrides)
    return data


def history_rows(conn, pid):
    return conn.execute(
        "SELECT action, actor, before, after FROM premises_history WHERE premises_id = %s "
        "ORDER BY id",
        (pid,),
    ).fetchall()


def test_create_stores_validated_record_with_provenance_and_history(loaded_db, conn):
    rec = premises.create(conn, listing(), "alice")
    assert rec["id"].startswith("p-")
    assert rec["version"] == 1 and rec["status"] == "available"
    assert rec["source"] == "geoplan API (key: alice)"
    assert rec["verified"] is False and rec["sample"] is False
    assert rec["available_from"] == "2027-03-01"
    lon, lat = rec["geometry"]["coordinates"]
    assert lon == pytest.approx(LORENSKOG_HUS[0]) and lat == pytest.approx(LORENSKOG_HUS[1])
    # annotated in the same transaction
    assert rec["nearest_hub_id"] == "lorenskog_sentrum_terminal"
    assert 0 < rec["walk_min"] < 5 and rec["walk_method"]
    [(action, actor, before, after)] = history_rows(conn, rec["id"])
    assert (action, actor, before) == ("create", "alice", None)
    assert after["address"] == "Festplassen 1, 1473 Lørenskog" and after["version"] == 1


def test_geometry_in_another_crs_is_transformed(loaded_db, conn):
    geometry = {"type": "Point", "coordinates": LORENSKOG_HUS_UTM}
    for crs in (
        "EPSG:25833",
        "urn:ogc:def:crs:EPSG::25833",
        "http://www.opengis.net/def/crs/EPSG/0/25833",
    ):
        rec = premises.create(conn, listing(geometry=geometry, crs=crs), "alice")
        lon, lat = rec["geometry"]["coordinates"]
        assert lon == pytest.approx(LORENSKOG_HUS[0], abs=1e-6)
        assert lat == pytest.approx(LORENSKOG_HUS[1], abs=1e-6)
    x, y = conn.execute(
        "SELECT ST_X(geom), ST_Y(geom) FROM premises WHERE id = %s", (rec["id"],)
    ).fetchone()
    assert (x, y) == pytest.approx(tuple(LORENSKOG_HUS_UTM), abs=0.01)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (listing(geometry={"type": "Point", "coordinates": OSLO_CITY_HALL}), "geometry"),
        (
            listing(geometry={"type": "LineString", "coordinates": [[10.9, 59.9], [11, 60]]}),
            "geometry",
        ),
        (listing(geometry={"type": "Point", "coordinates": [10.95]}), "geometry"),
        (listing(geometry={"type": "Point", "coordinates": ["x", 59.9]}), "geometry"),
        (listing(geometry={"type": "Point", "coordinates": [float("nan"), 59.9]}), "geometry"),
        (listing(geometry="POINT(10.95 59.92)"), "geometry"),
        (listing(geometry=None), "geometry"),
        (listing(crs="EPSG:999999"), "crs"),
        (listing(floor_area_m2=0), "floor_area_m2"),
        (listing(floor_area_m2=-5), "floor_area_m2"),
        (listing(floor_area_m2="big"), "floor_area_m2"),
        (listing(floor_area_m2=float("inf")), "floor_area_m2"),
        (listing(uses=["casino"]), "uses"),
        (listing(uses=[]), "uses"),
        (listing(rent_nok_m2_year=-1), "rent_nok_m2_year"),
        (listing(available_from="2027-02-30"), "available_from"),
        (listing(available_from="soon"), "available_from"),
        (listing(address=""), "address"),
        (listing(address=None), "address"),
        (listing(address="Gate 1\x00"), "address"),
        (listing(contact="\ud800"), "contact"),
        (listing(accuracy_m=-2), "accuracy_m"),
        (listing(verified="yes"), "verified"),
        (listing(status="sold"), "status"),
        (listing(colour="blue"), "colour"),
    ],
)
def test_each_bad_field_is_named(loaded_db, conn, data, field):
    with pytest.raises(ValidationError) as err:
        premises.create(conn, data, "alice")
    assert field in {e["field"] for e in err.value.errors}
    assert conn.execute("SELECT count(*) FROM premises").fetchone()[0] == 45


def test_several_bad_fields_are_all_named(loaded_db, conn):
    data = listing(floor_area_m2=0, uses=["casino"], rent_nok_m2_year=-1)
    del data["address"]
    with pytest.raises(ValidationError) as err:
        premises.create(conn, data, "alice")
    assert {e["field"] for e in err.value.errors} == {
        "address",
        "floor_area_m2",
        "uses",
        "rent_nok_m2_year",
    }


def test_without_a_boundary_positions_cannot_be_checked(empty_db, conn):
    with pytest.raises(ValidationError) as err:
        premises.create(conn, listing(), "alice")
    assert err.value.field == "geometry" and "boundary" in str(err.value)


def test_patch_changes_only_given_fields_and_records_before_after(loaded_db, conn):
    rec = premises.create(conn, listing(), "alice")
    new = premises.update(conn, rec["id"], {"rent_nok_m2_year": 1800}, "bob", partial=True)
    assert new["version"] == 2 and new["rent_nok_m2_year"] == 1800
    assert new["address"] == rec["address"] and new["contact"] == rec["contact"]
    assert new["updated_at"] > rec["updated_at"]
    assert new["source"] == "geoplan API (key: bob)"
    _, (action, actor, before, after) = history_rows(conn, rec["id"])
    assert (action, actor) == ("update", "bob")
    assert before["rent_nok_m2_year"] == 2100 and after["rent_nok_m2_year"] == 1800
    assert before["version"] == 1 and after["version"] == 2


def test_put_replaces_and_clears_left_out_fields(loaded_db, conn):
    rec = premises.create(conn, listing(), "alice")
    data = listing()
    del data["contact"], data["rent_nok_m2_year"]
    new = premises.update(conn, rec["id"], data, "alice")
    assert new["contact"] is None and new["rent_nok_m2_year"] is None
    with pytest.raises(ValidationError) as err:
        premises.update(conn, rec["id"], {"rent_nok_m2_year": 5}, "alice")  # PUT needs all
    assert {"geometry", "address", "uses", "floor_area_m2"} <= {
        e["field"] for e in err.value.errors
    }


def test_moving_a_premises_updates_its_nearest_hub(loaded_db, conn):
    rec = premises.create(conn, listing(), "alice")
    assert rec["nearest_hub_id"] == "lorenskog_sentrum_terminal"
    moved = premises.update(
        conn,
        rec["id"],
        {"geometry": {"type": "Point", "coordinates": LORENSKOG_ST}},
        "alice",
        partial=True,
    )
    assert moved["nearest_hub_id"] == "lorenskog_st"
    assert moved["walk_min"] < 1
    stored = conn.execute(
        "SELECT nearest_hub_id FROM premises_annotated WHERE id = %s", (rec["id"],)
    ).fetchone()[0]
    assert stored == "lorenskog_st"


def test_stale_version_is_refused_and_changes_nothing(loaded_db, conn):
    rec = premises.create(conn, listing(), "alice")
    premises.update(
        conn, rec["id"], {"floor_area_m2": 400}, "bob", expected_version=1, partial=True
    )
    with pytest.raises(premises.StaleVersionError) as err:
        premises.update(
            conn, rec["id"], {"floor_area_m2": 999}, "carol", expected_version=1, partial=True
        )
    assert err.value.current == 2
    assert premises.get(conn, rec["id"])["floor_area_m2"] == 400
    assert len(history_rows(conn, rec["id"])) == 2
    with pytest.raises(premises.StaleVersionError):
        premises.withdraw(conn, rec["id"], "carol", expected_version=1)


def test_withdraw_keeps_the_row_and_history(loaded_db, conn):
    rec = premises.create(conn, listing(), "alice")
    gone = premises.withdraw(conn, rec["id"], "alice", expected_version=1)
    assert gone["status"] == "withdrawn" and gone["version"] == 2
    assert premises.get(conn, rec["id"])["status"] == "withdrawn"
    actions = [h["action"] for h in premises.history(conn, rec["id"])]
    assert actions == ["create", "withdraw"]
    again = premises.withdraw(conn, rec["id"], "alice")  # idempotent
    assert again["version"] == 2 and len(premises.history(conn, rec["id"])) == 2
    assert rec["id"] not in set(premises.search(conn, premises.PremisesQuery()).features["id"])


def test_unknown_ids_are_not_found(loaded_db, conn):
    for call in (
        lambda: premises.get(conn, "p-nope"),
        lambda: premises.history(conn, "p-nope"),
        lambda: premises.update(conn, "p-nope", {"floor_area_m2": 3}, "a", partial=True),
        lambda: premises.withdraw(conn, "p-nope", "a"),
        lambda: premises.get(conn, "bad\x00id"),
    ):
        with pytest.raises(NotFoundError):
            call()


def test_a_failing_write_leaves_the_store_unchanged(loaded_db, monkeypatch):
    """If anything fails after the row is written (here: the annotation), nothing remains."""
    with db.transaction(loaded_db) as conn:
        rec = premises.create(conn, listing(), "alice")
    before = table_counts(loaded_db)

    def broken(conn, ids=None):
        raise psycopg.errors.RaiseException("annotation failed")

    monkeypatch.setattr("geoplan.proximity.annotate_premises", broken)
    with pytest.raises(psycopg.Error), db.transaction(loaded_db) as conn:
        premises.create(conn, listing(), "alice")
    with pytest.raises(psycopg.Error), db.connect(loaded_db) as conn:
        # the caller's own transaction survives: the write rolled back to its savepoint
        with pytest.raises(psycopg.Error):
            premises.update(conn, rec["id"], {"floor_area_m2": 1}, "bob", partial=True)
        assert (
            conn.execute(
                "SELECT floor_area_m2 FROM premises WHERE id = %s", (rec["id"],)
            ).fetchone()[0]
            == 320
        )
        raise psycopg.errors.RaiseException("leave")
    assert table_counts(loaded_db) == before
    with db.connect(loaded_db) as conn:
        stored = premises.get(conn, rec["id"])
    assert stored["version"] == 1 and stored["floor_area_m2"] == 320
    assert available_from(stored) == date(2027, 3, 1)


def available_from(record: dict) -> date:
    return date.fromisoformat(record["available_from"])
