"""geoplan.geo.region: inside the municipality, within the margin, outside, and the fallback.

Distances are made exact by construction: a point ``d`` metres due east of the boundary's
easternmost vertex is exactly ``d`` from the boundary (no part of it lies farther east).
"""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
import shapely

from geoplan.config import get_settings
from geoplan.geo import region
from geoplan.geo.region import FALLBACK_BOX_25833, NoBoundaryError
from geoplan.ingest.files import ImportOptions, import_file
from geoplan.ingest.validation import RowValidationError

LORENSKOG_HUS = (273_962.74, 6_650_157.51)  # Lørenskog hus, EPSG:25833
MARGIN = get_settings().region_margin_m  # 10 km unless GEOPLAN_REGION_MARGIN_M says otherwise


def east_of_boundary(conn: psycopg.Connection, d: float) -> tuple[float, float]:
    """The point ``d`` m due east of the boundary's easternmost vertex (exactly ``d`` from it)."""
    coords = shapely.get_coordinates(region.municipality(conn).geometry)
    x, y = coords[np.argmax(coords[:, 0])]
    return float(x + d), float(y)


def north_of_boundary(conn: psycopg.Connection, d: float) -> tuple[float, float]:
    coords = shapely.get_coordinates(region.municipality(conn).geometry)
    x, y = coords[np.argmax(coords[:, 1])]
    return float(x), float(y + d)


# -- with the shipped boundary ------------------------------------------------------------------
def test_municipality_is_the_loaded_boundary(loaded_db, conn):
    m = region.municipality(conn)
    assert m.loaded and m.name == "Lørenskog kommune"
    assert m.geometry.contains(shapely.Point(LORENSKOG_HUS))
    assert 60e6 < m.geometry.area < 80e6  # Lørenskog is about 70 km²


def test_point_inside_the_municipality(loaded_db, conn):
    assert region.in_municipality(conn, *LORENSKOG_HUS)
    where = region.locate_point(conn, *LORENSKOG_HUS)
    assert where.inside and where.easting_inside and where.boundary_loaded
    assert region.region(conn).contains_xy([LORENSKOG_HUS[0]], [LORENSKOG_HUS[1]]).tolist() == [
        True
    ]
    facts = region.site_in_municipality(conn, shapely.Point(LORENSKOG_HUS))
    assert (facts.name, facts.touches, facts.within) == ("Lørenskog", True, True)
    assert (facts.share_inside, facts.distance_m) == (1.0, 0.0)


def test_point_within_the_margin_is_in_the_region_but_not_the_municipality(loaded_db, conn):
    x, y = east_of_boundary(conn, 0.5 * MARGIN)
    assert not region.in_municipality(conn, x, y)
    assert region.locate_point(conn, x, y).inside
    assert region.region(conn).contains_xy([x], [y]).tolist() == [True]
    facts = region.site_in_municipality(conn, shapely.Point(x, y))
    assert not facts.touches and not facts.within and facts.share_inside == 0.0
    assert facts.distance_m == pytest.approx(0.5 * MARGIN, abs=0.01)
    # a smaller margin (as GTFS uses) leaves it out
    assert not region.locate_point(conn, x, y, margin_m=0.4 * MARGIN).inside
    assert region.region(conn, 0.4 * MARGIN).contains_xy([x], [y]).tolist() == [False]


def test_point_beyond_the_margin_is_outside(loaded_db, conn):
    x, y = east_of_boundary(conn, MARGIN + 1)
    where = region.locate_point(conn, x, y)
    assert not where.inside and not where.easting_inside
    assert region.region(conn).contains_xy([x], [y]).tolist() == [False]
    # straight north: the easting fits, so a caller can say it is the latitude that is off
    x, y = north_of_boundary(conn, MARGIN + 1)
    where = region.locate_point(conn, x, y)
    assert not where.inside and where.easting_inside


def test_margin_is_measured_from_the_boundary_not_its_bounding_box(loaded_db, conn):
    # Inside the bounding box widened by the margin, but ≥ 9 km · √2 ≈ 12.7 km from the boundary.
    x0, y0, _, _ = region.municipality(conn).geometry.bounds
    corner = (x0 - 0.9 * MARGIN, y0 - 0.9 * MARGIN)
    assert not region.locate_point(conn, *corner).inside
    assert region.region(conn).contains_xy([corner[0]], [corner[1]]).tolist() == [False]


def test_batch_and_single_point_answers_agree(loaded_db, conn):
    """Imports (shapely, vectorised) and queries (PostGIS) must draw the same line."""
    x0, y0, x1, y1 = region.municipality(conn).geometry.bounds
    rng = np.random.default_rng(7)
    xs = rng.uniform(x0 - 1.5 * MARGIN, x1 + 1.5 * MARGIN, 150)
    ys = rng.uniform(y0 - 1.5 * MARGIN, y1 + 1.5 * MARGIN, 150)
    batch = region.region(conn).contains_xy(xs, ys)
    single = [
        region.locate_point(conn, float(x), float(y)).inside for x, y in zip(xs, ys, strict=True)
    ]
    assert batch.tolist() == single
    assert 0 < batch.sum() < len(batch)  # the sample covers both answers


def test_region_contains_polygons_wholly_inside_and_never_missing_geometries(loaded_db, conn):
    r = region.region(conn)
    x, y = east_of_boundary(conn, 0.5 * MARGIN)
    small = shapely.box(x - 100, y - 100, x + 100, y + 100)
    straddling = shapely.box(x, y - 100, x + MARGIN, y + 100)  # reaches 15 km out
    unplaceable = shapely.Point(np.inf, np.inf)  # what a failed CRS transformation gives
    got = r.contains(np.array([small, straddling, None, unplaceable], dtype=object))
    assert got.tolist() == [True, False, False, False]


def test_import_rejects_a_point_in_the_old_bounding_box_corner(loaded_db, conn, tmp_path):
    x0, y0, _, _ = region.municipality(conn).geometry.bounds
    path = tmp_path / "corner.csv"
    path.write_text(
        "id,address,uses,floor_area_m2,x,y\n"
        f"ok-1,Testveien 1,office,100,{LORENSKOG_HUS[0]},{LORENSKOG_HUS[1]}\n"
        f"far-2,Testveien 2,office,100,{x0 - 0.9 * MARGIN},{y0 - 0.9 * MARGIN}\n"
    )
    with pytest.raises(RowValidationError) as err:
        import_file(conn, path, "premises", ImportOptions(crs="EPSG:25833"))
    first = str(err.value).splitlines()[0]
    assert "row 2" in first and "outside the region" in first, first
    assert f"within {MARGIN / 1000:g} km of Lørenskog kommune" in first, first


def test_fallback_is_used_for_the_boundary_layer_even_when_one_is_loaded(loaded_db, conn):
    m = region.municipality(conn, use_boundary=False)
    assert not m.loaded and m.geometry.equals(shapely.box(*FALLBACK_BOX_25833))


# -- without a boundary -------------------------------------------------------------------------
def test_without_a_boundary_the_region_is_the_fallback_box(empty_db, conn):
    m = region.municipality(conn)
    assert not m.loaded and m.geometry.equals(shapely.box(*FALLBACK_BOX_25833))
    assert "no boundary loaded" in region.region(conn).description
    _, y0, x1, y1 = FALLBACK_BOX_25833
    mid_y = (y0 + y1) / 2
    inside = region.locate_point(conn, *LORENSKOG_HUS)
    near = region.locate_point(conn, x1 + 0.5 * MARGIN, mid_y)
    far = region.locate_point(conn, x1 + MARGIN + 1, mid_y)
    assert (inside.inside, near.inside, far.inside) == (True, True, False)
    assert not far.boundary_loaded and far.municipality_name == "Lørenskog kommune"
    batch = region.region(conn).contains_xy(
        [LORENSKOG_HUS[0], x1 + 0.5 * MARGIN, x1 + MARGIN + 1], [LORENSKOG_HUS[1], mid_y, mid_y]
    )
    assert batch.tolist() == [True, True, False]


def test_without_a_boundary_strict_questions_refuse(empty_db, conn):
    with pytest.raises(NoBoundaryError, match="no municipal boundary is loaded"):
        region.in_municipality(conn, *LORENSKOG_HUS)
    with pytest.raises(NoBoundaryError, match="geoplan load"):
        region.site_in_municipality(conn, shapely.Point(LORENSKOG_HUS))
