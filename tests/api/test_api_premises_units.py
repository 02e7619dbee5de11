"""Units and the premises fields over HTTP: POST/PATCH/PUT with ETag, search parameters, 422s."""

from __future__ import annotations

import pytest

from geoplan.auth import keys
from geoplan.store import db


@pytest.fixture
def key(loaded_db) -> dict[str, str]:
    with db.transaction(loaded_db) as conn:
        write, _ = keys.create_key(conn, "megler", "write")
    return {"Authorization": f"Bearer {write}"}


BODY = {
    "type": "Feature",
    "geometry": {"type": "Point", "coordinates": [10.9548, 59.9267]},
    "properties": {
        "address": "Festplassen 5, 1473 Lørenskog",
        "uses": ["office"],
        "energy_label": "A",
        "workplaces": 80,
        "units": [
            {"label": "2. etg.", "floor": 2, "area_m2": 400, "rent_nok_m2_year": 2100},
            {"label": "5. etg.", "floor": 5, "area_m2": 700, "rent_nok_m2_year": 2500},
        ],
    },
}


def test_units_over_http_with_etags(client, key):
    r = client.post("/premises", json=BODY, headers=key)
    assert r.status_code == 201, r.text
    record, etag = r.json(), r.headers["ETag"]
    pid = record["id"]
    assert record["properties"]["floor_area_m2"] == 1100
    assert record["properties"]["unit_count"] == 2

    units = record["properties"]["units"]
    units[0]["status"] = "let"
    patch = {"properties": {"units": units}}
    changed = client.patch(f"/premises/{pid}", json=patch, headers=key | {"If-Match": etag})
    assert changed.status_code == 200, changed.text
    assert changed.json()["properties"]["floor_area_m2"] == 700
    assert changed.headers["ETag"] != etag
    # the old ETag is stale now
    stale = client.patch(f"/premises/{pid}", json=patch, headers=key | {"If-Match": etag})
    assert stale.status_code == 412

    # a record read back and PUT again is no change
    got = client.get(f"/premises/{pid}").json()
    props = {k: v for k, v in got["properties"].items() if v is not None}
    put = client.put(f"/premises/{pid}", json={**got, "properties": props}, headers=key)
    assert put.status_code == 200, put.text
    assert put.headers["ETag"] == changed.headers["ETag"]

    # search: the building matches through its 5th-floor unit and lists only that one
    found = client.get(
        "/premises", params={"min_area_m2": 600, "max_energy_label": "B", "min_workplaces": 50}
    ).json()
    [feature] = [f for f in found["features"] if f["id"] == pid]
    assert [u["label"] for u in feature["properties"]["units"]] == ["5. etg."]
    history = client.get(f"/premises/{pid}/history").json()["history"]
    assert history[-1]["after"]["units"][0]["status"] == "let"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"energy_label": "H"}, "energy_label"),
        ({"year_built": 3000}, "year_built"),
        ({"units": [{"label": "x", "area_m2": -4}]}, "units"),
        ({"units": [{"label": "x", "area_m2": 4, "price": 1}]}, "units"),
    ],
)
def test_bad_fields_are_422_naming_them(client, key, change, field):
    body = {**BODY, "properties": {**BODY["properties"], **change}}
    r = client.post("/premises", json=body, headers=key)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in r.text


@pytest.mark.parametrize(
    ("params", "field"),
    [({"max_energy_label": "Z"}, "max_energy_label"), ({"built_after": "nylig"}, "built_after")],
)
def test_bad_filters_are_422(client, params, field):
    r = client.get("/premises", params=params)
    assert r.status_code == 422 and field in r.text
