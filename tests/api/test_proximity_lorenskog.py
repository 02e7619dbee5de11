"""Proximity on the shipped Lørenskog layers, through the library, the API and the CLI.

No OpenStreetMap extract ships with geoplan (none is available offline), so these tests exercise
the FALLBACK path: walking distance = straight line × detour factor, labelled ``straight_line``.
The walking network itself is tested on a hand-drawn network in tests/test_proximity.py.
"""

from __future__ import annotations

import json

import pytest
import shapely
from pyproj import Geod, Transformer
from typer.testing import CliRunner

from geoplan.config import REPO_ROOT, get_settings
from geoplan.proximity import nearest_hubs, nearest_report

GEOD = Geod(ellps="GRS80")
TO_UTM = Transformer.from_crs(4326, 25833, always_xy=True)


def landmarks() -> dict[str, tuple[float, float]]:
    data = json.loads((REPO_ROOT / "layers" / "landmarks.geojson").read_text(encoding="utf-8"))
    return {f["properties"]["id"]: tuple(f["geometry"]["coordinates"]) for f in data["features"]}


def hubs_lonlat() -> dict[str, tuple[float, float]]:
    data = json.loads((REPO_ROOT / "layers" / "hubs.geojson").read_text(encoding="utf-8"))
    return {f["properties"]["id"]: tuple(f["geometry"]["coordinates"]) for f in data["features"]}


def test_nearest_hub_of_lorenskog_hus_is_the_bus_terminal(loaded_db, conn) -> None:
    lon, lat = landmarks()["lorenskog_hus"]
    report = nearest_report(conn, lon, lat, k=3)
    assert report["hubs"][0]["hub_id"] == "lorenskog_sentrum_terminal"
    assert report["hubs"][0]["method"] == "straight_line"  # no network shipped
    assert report["hubs"][1]["hub_id"] == "lorenskog_sentrum_tbane"  # planned, ~300 m
    existing = nearest_hubs(conn, shapely.Point(*TO_UTM.transform(lon, lat)), 1)
    assert existing[0].hub_id == "lorenskog_sentrum_terminal"


def test_walking_times_between_known_places_are_plausible(loaded_db, conn) -> None:
    """Each landmark to every hub: walking minutes within 25 % of geodesic time × 1.3."""
    hubs = hubs_lonlat()
    speed = get_settings().walk_speed_m_per_min
    checked = 0
    for name, (lon, lat) in landmarks().items():
        for h in nearest_report(conn, lon, lat, k=10)["hubs"]:
            hlon, hlat = hubs[h["hub_id"]]
            geodesic_m = GEOD.inv(lon, lat, hlon, hlat)[2]
            if geodesic_m < 50:
                continue  # the landmark is the hub itself
            expected_min = geodesic_m * 1.3 / speed
            assert h["walk_min"] == pytest.approx(expected_min, rel=0.25), (name, h["hub_id"])
            checked += 1
    assert checked >= 80


def test_shipped_premises_are_annotated_with_existing_hubs(loaded_db, conn) -> None:
    rows = conn.execute(
        "SELECT p.walk_method, h.status, p.walk_min, p.walk_m "
        "FROM premises_annotated p JOIN hubs h ON h.id = p.nearest_hub_id"
    ).fetchall()
    assert len(rows) == 45
    assert {r[0] for r in rows} == {"straight_line"}
    assert {r[1] for r in rows} == {"existing"}
    assert all(
        r[2] == pytest.approx(r[3] / get_settings().walk_speed_m_per_min, abs=0.01) for r in rows
    )
    assert conn.execute("SELECT count(*) FROM catchments").fetchone()[0] == 30


# -- API ------------------------------------------------------------------------------------------
def test_api_nearest(client) -> None:
    lon, lat = landmarks()["lorenskog_hus"]
    r = client.get("/proximity/nearest", params={"lon": lon, "lat": lat, "k": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [h["hub_id"] for h in body["hubs"]] == [
        "lorenskog_sentrum_terminal",
        "lorenskog_sentrum_tbane",
    ]
    first = body["hubs"][0]
    assert first["method"] == "straight_line"
    assert 10.9 < first["lon"] < 11.0 and 59.9 < first["lat"] < 60.0
    assert body["network_loaded"] is False


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lon": 10.95, "lat": 59.93, "k": 0}, "k"),
        ({"lon": 10.95, "lat": 59.93, "k": 51}, "k"),
        ({"lon": 5.32, "lat": 60.39}, "lon"),  # Bergen
        ({"lon": 10.95, "lat": 62.0}, "lat"),  # Trøndelag
        ({"lon": 59.93, "lat": 10.95}, "lon"),  # swapped
        ({"lon": 10.95, "lat": 91}, "lat"),
        ({"lat": 59.93}, "lon"),
        ({"lon": "east", "lat": 59.93}, "lon"),
    ],
)
def test_api_nearest_rejects_bad_input(client, params, field) -> None:
    r = client.get("/proximity/nearest", params=params)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in r.json()["errors"]]


def test_api_catchments(client) -> None:
    r = client.get(
        "/proximity/catchments", params={"hub": "lorenskog_sentrum_terminal", "minutes": 10}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    (feature,) = r.json()["features"]
    assert feature["properties"]["method"] == "straight_line"
    assert feature["properties"]["minutes"] == 10
    lon, lat = feature["geometry"]["coordinates"][0][0][0]
    assert 10.9 < lon < 11.0 and 59.9 < lat < 60.0
    every = client.get("/proximity/catchments").json()["features"]
    assert len(every) == 30
    seven = client.get("/proximity/catchments", params={"minutes": 7}).json()["features"]
    assert len(seven) == 10 and {f["properties"]["minutes"] for f in seven} == {7}


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"minutes": 0}, 422, "minutes"),
        ({"minutes": -5}, 422, "minutes"),
        ({"minutes": "soon"}, 422, "minutes"),
        ({"hub": "no_such_hub"}, 404, None),
    ],
)
def test_api_catchments_rejects_bad_input(client, params, status, field) -> None:
    r = client.get("/proximity/catchments", params=params)
    assert r.status_code == status
    if field:
        assert field in [e["field"] for e in r.json()["errors"]]


def test_api_coverage(client) -> None:
    r = client.get("/proximity/coverage")
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    total = next(x for x in rows if x["area_id"] == "municipality" and x["hubs"] == "existing")
    assert total["within"]["5"]["premises"] <= total["within"]["10"]["premises"]
    assert total["within"]["15"]["premises"] <= total["premises"]
    assert total["premises"] > 0
    areas = {x["area_id"] for x in rows}
    assert {"sentrum", "visperud", "ahus", "municipality"} <= areas
    sentrum = next(x for x in rows if x["area_id"] == "sentrum" and x["hubs"] == "existing")
    # sentrum premises are a few hundred metres from the bus terminal
    assert sentrum["within"]["15"]["premises"] == sentrum["premises"] > 0


# -- CLI ------------------------------------------------------------------------------------------
def test_cli_nearest_and_coverage(loaded_db) -> None:
    from geoplan.cli import app

    runner = CliRunner()
    lon, lat = landmarks()["lorenskog_hus"]
    r = runner.invoke(app, ["proximity", "nearest", "--lon", str(lon), "--lat", str(lat), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["hubs"][0]["hub_id"] == "lorenskog_sentrum_terminal"
    table = runner.invoke(app, ["proximity", "nearest", "--lon", str(lon), "--lat", str(lat)])
    assert table.exit_code == 0 and "bus_terminal" in table.output
    bad = runner.invoke(app, ["proximity", "nearest", "--lon", "5.3", "--lat", "60.4"])
    assert bad.exit_code == 1
    assert len(bad.output.strip().splitlines()) == 1 and "lon" in bad.output
    badk = runner.invoke(
        app, ["proximity", "nearest", "--lon", str(lon), "--lat", str(lat), "--k", "0"]
    )
    assert badk.exit_code == 1 and "k must be" in badk.output
    cov = runner.invoke(app, ["proximity", "coverage"])
    assert cov.exit_code == 0 and "Visperud" in cov.output and "+planned" in cov.output
    cov_json = runner.invoke(app, ["proximity", "coverage", "--json"])
    assert json.loads(cov_json.output)["rows"]
    cat = runner.invoke(app, ["network", "catchments"])
    assert cat.exit_code == 0 and "30 catchments (30 straight_line)" in cat.output
