"""One description per layer (``geoplan.layers.spec``): what is derived from it agrees with what the
store holds, and a premises history snapshot has one shape whatever wrote it."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
from fastapi.testclient import TestClient

from api.app import create_app
from geoplan import premises
from geoplan.auth import keys
from geoplan.ingest.files import ImportOptions, import_file
from geoplan.layers.spec import (
    API_ORDER,
    ATTRIBUTE,
    KEPT,
    PREMISES,
    PROVENANCE,
    RECORD_ROLES,
    STORED,
)
from geoplan.ogc.collections import COLLECTIONS
from geoplan.proximity import annotate_premises
from geoplan.store import db

# More decimals than any rendering keeps, so a snapshot's precision shows.
LORENSKOG_HUS = [10.954812345678, 59.926712345678]
LORENSKOG_ST = [10.944995123456, 59.945007123456]


def _feature(coords: list[float], **props: object) -> dict:
    properties = {
        "address": "Festplassen 1, 1473 Lørenskog",
        "uses": ["office"],
        "floor_area_m2": 250,
        "rent_nok_m2_year": 2000,
    }
    properties.update(props)
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": coords},
        "properties": properties,
    }


def _import(url: str, path: Path, floor_area_m2: float) -> None:
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": LORENSKOG_ST},
                "properties": {
                    "id": "imp-1",
                    "address": "Stasjonsveien 1",
                    "uses": "office",
                    "floor_area_m2": floor_area_m2,
                },
            }
        ],
    }
    path.write_text(json.dumps(doc))
    with db.transaction(url) as conn:
        import_file(conn, path, "premises", ImportOptions())


def _decimals(number_text: str) -> int:
    return len(number_text.partition(".")[2])


def test_history_snapshots_have_one_shape_whatever_wrote_them(loaded_db, tmp_path):
    with db.transaction(loaded_db) as conn:
        listing = _feature(LORENSKOG_HUS)
        data = {"geometry": listing["geometry"], **listing["properties"]}
        core = premises.create(conn, data, "alice")
        premises.update(conn, core["id"], {"rent_nok_m2_year": 1500}, "alice", partial=True)
        admin, _ = keys.create_key(conn, "kommunen", "admin")
    auth = {"Authorization": f"Bearer {admin}"}
    with TestClient(create_app(database_url=loaded_db)) as client:
        r = client.post("/premises", json=_feature(LORENSKOG_HUS), headers=auth)
        assert r.status_code == 201, r.text
        pid = r.json()["id"]
        put = client.put(f"/premises/{pid}", json=_feature(LORENSKOG_ST), headers=auth)
        assert put.status_code == 200, put.text
        patch = {"properties": {"contact": "utleie@example.no"}}
        assert client.patch(f"/premises/{pid}", json=patch, headers=auth).status_code == 200
        assert client.delete(f"/premises/{pid}", headers=auth).status_code == 200
    _import(loaded_db, tmp_path / "a.geojson", 300)
    _import(loaded_db, tmp_path / "b.geojson", 350)  # an update: before and after

    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        n_history = conn.execute("SELECT count(*) FROM premises_history").fetchone()[0]
        annotate_premises(conn)  # bulk re-annotation: derived values only, no history
        assert conn.execute("SELECT count(*) FROM premises_history").fetchone()[0] == n_history
        rows = conn.execute(
            """SELECT h.premises_id, h.action, d.doc, d.doc->'geometry'->'coordinates'->>0,
                      d.doc->'geometry'->'coordinates'->>1
               FROM premises_history h
               CROSS JOIN LATERAL (VALUES (h.before), (h.after)) d(doc)
               WHERE d.doc IS NOT NULL ORDER BY h.id"""
        ).fetchall()

    mine = [r for r in rows if r[0] in (core["id"], pid, "imp-1")]
    assert {r[1] for r in mine} == {"create", "update", "withdraw", "import"}
    assert (
        len(mine) == 2 * 8 - 3
    )  # eight writes; the two creates and the first import have no before
    # the listing's units (issue 13) are part of every snapshot
    expected = {*PREMISES.names(*STORED), "units", "geometry"}
    for premises_id, action, doc, lon, lat in rows:
        assert set(doc) == expected, (premises_id, action)
        # trailing zeros are dropped, so shipped positions may show fewer decimals
        decimals = max(_decimals(lon), _decimals(lat))
        assert decimals == 7 if premises_id in (core["id"], pid, "imp-1") else decimals <= 7


def test_stored_heads_hold_the_descriptions_fields_in_order(loaded_db, conn):
    """Migration 0004's head expression is a snapshot (never edited): it must keep agreeing
    with the description, and the OGC properties are the head's plus the live ones."""
    heads = [r[0] for r in conn.execute("SELECT head || '}}' FROM premises_features")]
    assert len(heads) == 45
    coll = COLLECTIONS["premises"]
    for head in heads:
        properties = list(json.loads(head)["properties"])
        assert properties == list(PREMISES.names(ATTRIBUTE, KEPT, PROVENANCE))
        assert properties == [p.name for p in coll.props if p.name not in coll.live_props]
    assert list(coll.live_props) == ["nearest_hub_id", "walk_m", "walk_min", "walk_method"]


def test_api_features_and_records_carry_the_descriptions_fields(loaded_db):
    with TestClient(create_app(database_url=loaded_db)) as client:
        plain = client.get("/premises", params={"limit": 1}).json()["features"][0]
        with_hub = client.get("/premises", params={"limit": 1, "hub": "lorenskog_st"})
        record = client.get(f"/premises/{plain['id']}").json()
        schema = client.get("/openapi.json").json()["components"]["schemas"]
    # each record ends with its units (issue 13)
    assert list(plain["properties"]) == [*PREMISES.names(*RECORD_ROLES), "units"]
    assert list(with_hub.json()["features"][0]["properties"]) == [
        *PREMISES.names(*API_ORDER),
        "units",
    ]
    assert set(record["properties"]) == {*PREMISES.names(*RECORD_ROLES), "units"}
    # and, in a search sorted by distance (only there), its distance_m
    assert list(schema["PremisesOutProperties"]["properties"]) == [
        *PREMISES.names(*API_ORDER),
        "units",
        "distance_m",
    ]
    writable = [*(c.name for c in PREMISES.writable), "units"]
    assert [
        k for k, v in schema["PremisesProperties"]["properties"].items() if not v.get("readOnly")
    ] == writable
