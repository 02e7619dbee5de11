"""Defect 3: two listings of 1e308 m² made ``/proximity/coverage`` (and the CLI) fail for
everyone; ``max_walk_min=1e308`` or ``2147483648`` on ``/premises`` and ``/maps/premises``
answered 500. Every number now has a plausible range, declared once (the layer description for
stored fields, the filter model for search filters), documented in OpenAPI, answered 422."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from geoplan.cli import app
from geoplan.layers.spec import MAX_FLOOR_AREA_M2, PREMISES
from geoplan.premises import SEARCH_FILTERS
from tests.hostile.conftest import auth, listing, refused

runner = CliRunner()
HUGE = ("1e308", "2147483648", "9223372036854775808", "1" + "0" * 400, "inf", "-1e308")


def test_huge_filter_and_paging_values_are_refused(client):
    for path in ("/premises", "/maps/premises"):
        for name in ("max_walk_min", "min_area_m2", "max_area_m2", "max_rent_nok_m2"):
            for value in HUGE:
                refused(client.get(path, params={name: value}), 422, name)
        for name in ("limit", "offset"):
            for value in ("2147483648", "9223372036854775808", "1e308", "-1"):
                refused(client.get(path, params={name: value}), 422, name)


def test_filter_bounds_are_declared_once_and_published(client):
    doc = client.get("/openapi.json").json()
    params = {p["name"]: p["schema"] for p in doc["paths"]["/premises"]["get"]["parameters"]}
    by_name = {f.name: f for f in SEARCH_FILTERS}
    assert params["max_walk_min"]["maximum"] == by_name["max_walk_min"].maximum == 120
    assert params["min_area_m2"]["maximum"] == MAX_FLOOR_AREA_M2
    props = doc["components"]["schemas"]["PremisesProperties"]["properties"]
    for col in PREMISES.writable:
        if col.max_value is not None:
            schema = props[col.name]
            schema = next((s for s in schema.get("anyOf", [schema]) if "maximum" in s), schema)
            assert schema["maximum"] == col.max_value, col.name


@pytest.mark.parametrize("area", [1e308, MAX_FLOOR_AREA_M2 * 1.01])
def test_writes_refuse_implausible_numbers(client, api_keys, area):
    r = client.post("/premises", json=listing(floor_area_m2=area), headers=auth(api_keys["write"]))
    refused(r, 422, "properties.floor_area_m2")
    r = client.post(
        "/premises", json=listing(rent_nok_m2_year=1e308), headers=auth(api_keys["write"])
    )
    refused(r, 422, "properties.rent_nok_m2_year")
    site = {"type": "Point", "coordinates": [10.95, 59.93]}
    r = client.post(
        "/assessments",
        json={"site": site, "use": "office", "floor_area_m2": area},
        headers=auth(api_keys["write"]),
    )
    refused(r, 422, "floor_area_m2")
    r = client.post(
        "/assessments",
        json={"site": site, "use": "office", "floor_area_m2": 100, "employees": 2**63},
        headers=auth(api_keys["write"]),
    )
    refused(r, 422, "employees")


def test_coverage_holds_with_the_largest_listings(client, api_keys):
    """Two listings at the largest plausible area: coverage sums them (no overflow), over HTTP
    and in the CLI."""
    for _ in range(2):
        r = client.post(
            "/premises",
            json=listing(floor_area_m2=MAX_FLOOR_AREA_M2),
            headers=auth(api_keys["write"]),
        )
        assert r.status_code == 201, r.text
    r = client.get("/proximity/coverage")
    assert r.status_code == 200, r.text
    whole = next(
        row
        for row in r.json()["rows"]
        if row["area_id"] == "municipality" and row["hubs"] == "existing"
    )
    assert whole["floor_area_m2"] >= 2 * MAX_FLOOR_AREA_M2
    result = runner.invoke(app, ["proximity", "coverage", "--json"])
    assert result.exit_code == 0, result.output


def test_import_refuses_implausible_numbers_by_row(loaded_db, tmp_path):
    path = tmp_path / "lokaler.csv"
    path.write_text(
        "id,address,uses,floor_area_m2,rent_nok_m2_year,lon,lat\n"
        "a,Gate 1,office,100,1500,10.95,59.93\n"
        "b,Gate 2,office,1e308,1500,10.95,59.93\n"
        "c,Gate 3,office,100,2147483648,10.95,59.93\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["import", str(path), "--layer", "premises", "-q"])
    assert result.exit_code == 1
    assert "row 2: floor_area_m2 is too large (1e+308); it must be > 0 and ≤ 1000000" in (
        result.output
    )
    assert "row 3: rent_nok_m2_year is too large" in result.output


def test_the_register_holds_the_same_ranges_without_the_api(loaded_db):
    """The CLI and other callers write through the register, which checks the layer
    description's ranges itself."""
    from geoplan import premises
    from geoplan.errors import ValidationError
    from geoplan.store import db

    feature = listing(floor_area_m2=MAX_FLOOR_AREA_M2 * 2, accuracy_m=1e308)
    data = {**feature["properties"], "geometry": feature["geometry"]}
    with db.transaction(loaded_db) as conn, pytest.raises(ValidationError) as exc:
        premises.create(conn, data, "test")
    fields = {e["field"] for e in exc.value.errors}
    assert fields == {"floor_area_m2", "accuracy_m"}
    assert "must be a finite number > 0 and ≤ 1000000" in str(exc.value)
