"""Defect 5: bad geometry in ``POST /assessments`` answered 500 — a FeatureCollection whose
features are not objects, coordinates ``[10.95, 1e308]``, coordinates outside the CRS's domain.
Now 422 naming ``site`` (or ``crs``), and nothing stored."""

from __future__ import annotations

import psycopg
import pytest

from geoplan.store import db
from tests.hostile.conftest import auth, refused

POINT = {"type": "Point", "coordinates": [10.95, 59.93]}
BAD_SITES = [
    {"type": "FeatureCollection", "features": [1]},
    {"type": "FeatureCollection", "features": ["x"]},
    {"type": "FeatureCollection", "features": [None]},
    {"type": "FeatureCollection", "features": {"0": POINT}},
    {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": 5}]},
    {"type": "Feature", "geometry": [1, 2]},
    {"type": "Point", "coordinates": [10.95, 1e308]},
    {"type": "Point", "coordinates": [1e308, 1e308]},
    {"type": "Point", "coordinates": [1000, 1000]},
    {"type": "Point", "coordinates": [10.95, 91]},
    {"type": "Point", "coordinates": "100"},
    {"type": "Point", "coordinates": ["10.95", "59.93"]},
    {"type": "Point", "coordinates": [True, False]},
    {"type": "Point", "coordinates": []},
    {"type": "Point", "coordinates": [[[[[[1]]]]]]},
    {"type": "Polygon", "coordinates": [[[10.9, 59.9], [10.9, 1e308], [11, 59.9], [10.9, 59.9]]]},
    {"type": "Polygon", "coordinates": [[1, 2]]},
    {"type": "MultiPolygon", "coordinates": 7},
    {"type": 7, "coordinates": [10.95, 59.93]},
    {"type": "GeometryCollection", "geometries": [POINT]},
]


def assessments(url: str) -> int:
    with psycopg.connect(db.conninfo(url)) as conn:
        return conn.execute("SELECT count(*) FROM assessments").fetchone()[0]


def test_bad_sites_are_422_naming_site(client, api_keys, loaded_db):
    for site in BAD_SITES:
        r = client.post(
            "/assessments",
            json={"site": site, "use": "office", "floor_area_m2": 500},
            headers=auth(api_keys["write"]),
        )
        refused(r, 422, "site")
    assert assessments(loaded_db) == 0


@pytest.mark.parametrize(
    ("site", "crs", "field"),
    [
        # projected coordinates far outside what the CRS describes
        ({"type": "Point", "coordinates": [1e300, 1e300]}, "EPSG:25832", "site"),
        ({"type": "Point", "coordinates": [-1e7, 1e9]}, "EPSG:3857", "site"),
        # degrees given with a projected CRS: the site lies nowhere near the municipality
        (POINT, 0, "crs"),
        (POINT, True, "crs"),
        (POINT, "EPSG:999999", "crs"),
    ],
)
def test_coordinates_outside_the_crs_domain(client, api_keys, loaded_db, site, crs, field):
    r = client.post(
        "/assessments",
        json={"site": site, "use": "office", "floor_area_m2": 500, "crs": crs},
        headers=auth(api_keys["write"]),
    )
    refused(r, 422, field)
    assert assessments(loaded_db) == 0


def test_a_good_site_still_works(client, api_keys):
    r = client.post(
        "/assessments",
        json={"site": POINT, "use": "office", "floor_area_m2": 500},
        headers=auth(api_keys["write"]),
    )
    assert r.status_code == 201, r.text
