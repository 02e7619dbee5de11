"""Search by place (``within``, ``near``/``radius_m``) against the shipped sample premises.

Each search is compared with a reference computed in Python without PostGIS (shapely for the
polygon, pyproj's geodesic for the circle), so a wrong predicate or CRS shows as different ids.
"""

from __future__ import annotations

import json

import pytest
import shapely
from pyproj import Geod, Transformer

from geoplan.errors import ValidationError
from geoplan.premises import PremisesQuery, check_query, search, search_features
from geoplan.premises.place import MAX_WITHIN_VERTICES

# around Lørenskog sentrum / stasjon (lon, lat)
BOX = (10.94, 59.92, 10.97, 59.935)
WKT = "POLYGON(({0} {1}, {2} {1}, {2} {3}, {0} {3}, {0} {1}))".format(*BOX)
TO_UTM = Transformer.from_crs("OGC:CRS84", "EPSG:25833", always_xy=True)


@pytest.fixture
def lonlat(loaded_db, conn) -> dict[str, tuple[float, float]]:
    """Every available premises' position (WGS84)."""
    rows = conn.execute(
        "SELECT id, ST_X(ST_Transform(geom, 4326)), ST_Y(ST_Transform(geom, 4326)) "
        "FROM premises WHERE status = 'available'"
    ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def ids(conn, **kw) -> set[str]:
    q = check_query(conn, PremisesQuery(limit=1000, **kw))
    return set(search(conn, q).features["id"])


def test_within_a_wkt_polygon_matches_the_reference(conn, lonlat):
    box = shapely.box(*BOX)
    inside = {i for i, (x, y) in lonlat.items() if box.contains(shapely.Point(x, y))}
    assert 0 < len(inside) < len(lonlat)
    assert ids(conn, within=WKT) == inside


def test_within_geojson_in_another_crs_matches_the_same(conn, lonlat):
    corners = [TO_UTM.transform(x, y) for x, y in shapely.box(*BOX).exterior.coords]
    geojson = json.dumps({"type": "Polygon", "coordinates": [corners]})
    assert ids(conn, within=geojson, within_crs="EPSG:25833") == ids(conn, within=WKT)
    utm32 = Transformer.from_crs("OGC:CRS84", "EPSG:25832", always_xy=True)
    wkt32 = shapely.transform(
        shapely.box(*BOX).segmentize(0.001),
        lambda c: shapely.get_coordinates(shapely.points(*utm32.transform(*c.T))),
    ).wkt
    assert ids(conn, within=wkt32, within_crs="EPSG:25832") == ids(conn, within=WKT)
    feature = {"type": "Feature", "properties": {}, "geometry": json.loads(geojson)}
    feature["crs"] = {"type": "name", "properties": {"name": "EPSG:25833"}}
    assert ids(conn, within=json.dumps(feature)) == ids(conn, within=WKT)


def test_within_combines_with_the_other_filters(conn, lonlat):
    both = ids(conn, within=WKT, uses=["office"])
    assert both == ids(conn, within=WKT) & ids(conn, uses=["office"])
    page = search_features(conn, check_query(conn, PremisesQuery(within=WKT, limit=2)))
    assert page.number_matched == len(ids(conn, within=WKT))
    assert page.number_returned == min(2, page.number_matched)


def test_within_with_a_named_hub_walk(conn):
    hub = conn.execute("SELECT id FROM hubs ORDER BY id LIMIT 1").fetchone()[0]
    with_hub = search(conn, check_query(conn, PremisesQuery(within=WKT, hub=hub, limit=1000)))
    assert set(with_hub.features["id"]) == ids(conn, within=WKT)
    assert with_hub.features["hub_walk_min"].notna().all()


@pytest.mark.parametrize("radius", [300.0, 800.0, 2500.0])
def test_near_matches_geodesic_distance(conn, lonlat, radius):
    centre = (10.9548, 59.9267)
    geod = Geod(ellps="WGS84")
    expected = {i for i, (x, y) in lonlat.items() if geod.inv(*centre, x, y)[2] <= radius}
    assert ids(conn, near="10.9548,59.9267", radius_m=radius) == expected
    if radius == 800.0:
        assert expected  # the test says something


def test_near_without_radius_uses_the_documented_default(conn):
    assert ids(conn, near="10.9548,59.9267") == ids(conn, near="10.9548,59.9267", radius_m=1000)


def refused(conn, field: str, **kw) -> str:
    with pytest.raises(ValidationError) as err:
        check_query(conn, PremisesQuery(**kw))
    named = [e["field"] for e in err.value.errors]
    assert field in named, (field, err.value.errors)
    return str(err.value)


def test_bad_places_are_refused_naming_the_parameter(conn, loaded_db):
    assert "cross itself" in refused(conn, "within", within="POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))")
    assert "WKT" in refused(conn, "within", within="POLYGON((10.9 59.9")
    assert "GeoJSON" in refused(conn, "within", within='{"type": "Polygon"')
    assert "POLYGON" in refused(conn, "within", within="POINT(10.95 59.93)")
    assert "outside" in refused(
        conn,
        "within",
        within="POLYGON((5.3 60.3, 5.4 60.3, 5.4 60.4, 5.3 60.3))",  # Bergen
    )
    assert "swapped" in refused(
        conn, "within", within="POLYGON((59.9 10.9, 59.95 10.9, 59.95 11.0, 59.9 10.9))"
    )
    assert "km²" in refused(conn, "within", within="POLYGON((5 58, 15 58, 15 65, 5 58))")
    assert "unknown CRS" in refused(conn, "within_crs", within=WKT, within_crs="EPSG:999999")
    assert "unknown CRS" in refused(conn, "within_crs", within=WKT, within_crs="nonsense")
    assert "give within" in refused(conn, "within_crs", within_crs="EPSG:25833")
    many = ", ".join(f"{10.9 + i * 1e-5} 59.9" for i in range(MAX_WITHIN_VERTICES))
    assert "vertices" in refused(
        conn, "within", within=f"POLYGON(({many}, 10.95 59.95, 10.9 59.9))"
    )
    assert "characters" in refused(conn, "within", within=" " * 100_001)
    assert "lon,lat" in refused(conn, "near", near="10.95")
    assert "lon,lat" in refused(conn, "near", near="abc,def")
    assert "finite" in refused(conn, "near", near="nan,59.9")
    assert "lat,lon" in refused(conn, "near", near="59.9267,10.9548")
    assert "give near" in refused(conn, "radius_m", radius_m=500.0)
    refused(conn, "radius_m", near="10.95,59.93", radius_m=0.0)
    refused(conn, "radius_m", near="10.95,59.93", radius_m=1e9)
