"""The municipality and the region around it: the one place that decides where a location lies.

Three questions are asked about locations, and this module answers all of them the same way:

- **Inside the municipality?** (premises writes, the case assessment): the geometry of the
  ``boundary`` table (EPSG:25833). A write or an assessment needs the real boundary, so these
  raise :class:`NoBoundaryError` when none is loaded.
- **Inside the region?** (proximity queries, file imports, GTFS hubs): the region is the
  municipality *buffered* by a margin, ``settings.region_margin_m`` unless a caller has its own
  (GTFS keeps hubs such as Lillestrøm stasjon just beyond the border with a smaller margin). It
  catches input that is plainly elsewhere: a swapped lon/lat pair, a file in the wrong CRS.
  "Within the margin" means within that distance of the municipality (``ST_DWithin`` in PostGIS,
  ``shapely.dwithin`` for a batch), not inside its bounding box plus the margin.
- **Several municipalities?** A store may serve several (``geoplan init --kommune
  3205,3222,3224``, :mod:`geoplan.geo.municipalities`): the municipality is then all of them,
  and a site is measured against the one it mostly lies in.
- **No boundary loaded?** The region questions then use :data:`FALLBACK_BOX_25833`, Lørenskog's
  envelope. A fallback exists because imports may run before the boundary is loaded (``geoplan
  import`` of hubs or premises into a fresh database, ``geoplan import-gtfs``, and the boundary
  layer itself, which is checked against the fallback so a broken boundary can be replaced), and
  a proximity query on a database without a boundary should still reject Bergen.

Single locations are checked in PostGIS, where the boundary is; a batch (100 000 imported rows)
fetches the municipality once and tests all rows with shapely's vectorised predicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import psycopg
import shapely
from shapely.geometry.base import BaseGeometry

from geoplan.config import STORAGE_SRID, get_settings
from geoplan.errors import GeoplanError
from geoplan.geo.municipalities import kommune_phrase
from geoplan.store.steps import Steps, run

FALLBACK_BOX_25833: tuple[float, float, float, float] = (270_900, 6_639_900, 278_300, 6_653_600)
"""Envelope of Lørenskog kommune (3222) in EPSG:25833: the municipality when no boundary is
loaded (see the module docstring for why there is a fallback at all)."""

FALLBACK_NAME = "Lørenskog kommune"
"""What the fallback region is called in messages."""

_BUFFER_QUAD_SEGS = 32
"""Segments per quarter circle when a buffered region is built for polygons (a 10 km margin is
then within 13 m of the exact distance, well inside any boundary's accuracy)."""


class NoBoundaryError(GeoplanError):
    """A question needs the real municipality boundary and none is loaded."""

    def __init__(self, message: str = "no municipal boundary is loaded; run `geoplan load` first"):
        super().__init__(message)


@dataclass(frozen=True)
class Municipality:
    """The municipality's geometry (EPSG:25833) and name; ``loaded`` is False for the fallback."""

    name: str
    geometry: BaseGeometry
    loaded: bool


def _fallback() -> Municipality:
    return Municipality(FALLBACK_NAME, shapely.box(*FALLBACK_BOX_25833), loaded=False)


def _margin(margin_m: float | None) -> float:
    return get_settings().region_margin_m if margin_m is None else float(margin_m)


def municipality(conn: psycopg.Connection, *, use_boundary: bool = True) -> Municipality:
    """The loaded boundary (all rows as one geometry), else the fallback box.

    ``use_boundary=False`` gives the fallback even when a boundary is loaded: the boundary layer
    is validated against it, so a bad boundary cannot block its own replacement.
    """
    if use_boundary:
        names, wkb = conn.execute(_NAMES_AND_UNION).fetchone()
        if wkb is not None:
            return Municipality(kommune_phrase(names), shapely.from_wkb(bytes(wkb)), loaded=True)
    return _fallback()


_NAMES_AND_UNION = """
    SELECT (SELECT array_agg(name ORDER BY min_id)
            FROM (SELECT name, min(id) AS min_id FROM boundary GROUP BY name) n),
           ST_AsBinary(ST_Union(geom))
    FROM boundary"""
"""The served municipalities' names (each once, in id order) and their union."""


def national_envelope(conn: psycopg.Connection) -> Municipality | None:
    """Norway as the national register of municipalities covers it (its envelope), or None when
    the register is empty: where a boundary layer may lie."""
    box = conn.execute(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
        "FROM (SELECT ST_Extent(geom) AS e FROM municipalities) s"
    ).fetchone()
    if box[0] is None:
        return None
    return Municipality("Norway (the national municipality register)", shapely.box(*box), True)


@dataclass
class Region:
    """The municipality and a margin around it, for testing many geometries at once."""

    municipality: Municipality
    margin_m: float
    _prepared: bool = field(default=False, repr=False)

    @property
    def description(self) -> str:
        """For messages: "within 10 km of Lørenskog kommune"."""
        what = self.municipality.name
        if not self.municipality.loaded:
            what += " (no boundary loaded; its envelope)"
        return f"within {self.margin_m / 1000:g} km of {what}"

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """The region's envelope: the municipality's, widened by the margin."""
        x0, y0, x1, y1 = self.municipality.geometry.bounds
        m = self.margin_m
        return (x0 - m, y0 - m, x1 + m, y1 + m)

    @cached_property
    def geometry(self) -> BaseGeometry:
        """The buffered municipality (built only for polygon tests; points use the distance)."""
        buffered = self.municipality.geometry.buffer(self.margin_m, quad_segs=_BUFFER_QUAD_SEGS)
        shapely.prepare(buffered)
        return buffered

    def contains(self, geoms: np.ndarray) -> np.ndarray:
        """Which of ``geoms`` (EPSG:25833; None = False) lie wholly in the region.

        Points: within ``margin_m`` of the municipality (the same test as ``ST_DWithin``).
        Other geometries: covered by the buffered municipality.
        """
        geoms = np.asarray(geoms, dtype=object)
        out = np.zeros(len(geoms), dtype=bool)
        present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        # a coordinate a transformation could not place (inf/nan) is never inside
        with np.errstate(invalid="ignore"):
            present &= np.isfinite(shapely.bounds(geoms)).all(axis=1)
        if not present.any():
            return out
        shape = self.municipality.geometry
        if not self._prepared:
            shapely.prepare(shape)
            self._prepared = True
        points = present & (shapely.get_type_id(geoms) == 0)
        if points.any():
            out[points] = shapely.dwithin(shape, geoms[points], self.margin_m)
        others = present & ~points
        if others.any():
            out[others] = shapely.covers(self.geometry, geoms[others])
        return out

    def contains_xy(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Which of the points ``x``, ``y`` (EPSG:25833) lie in the region."""
        return self.contains(shapely.points(np.asarray(x, float), np.asarray(y, float)))


def region(
    conn: psycopg.Connection, margin_m: float | None = None, *, use_boundary: bool = True
) -> Region:
    """The region: the municipality (see :func:`municipality`) and ``margin_m`` (default
    ``settings.region_margin_m``). Fetches the boundary once; test with :meth:`Region.contains`."""
    return Region(municipality(conn, use_boundary=use_boundary), _margin(margin_m))


def boundary_region(conn: psycopg.Connection, margin_m: float | None = None) -> Region:
    """Where rows of the boundary layer itself may lie: within ``margin_m`` of Norway's envelope
    (:func:`national_envelope`), so any municipality's boundary can be imported and a bad
    boundary never blocks its own replacement; the fallback box when the register is empty."""
    norway = national_envelope(conn)
    if norway is None:
        return region(conn, margin_m, use_boundary=False)
    return Region(norway, _margin(margin_m))


# -- single locations, answered in PostGIS ------------------------------------------------------
@dataclass(frozen=True)
class PointInRegion:
    """Where one point lies (``x``, ``y`` in EPSG:25833): in the region or not, and whether at
    least its easting does.

    ``easting_inside`` lets a caller name the coordinate that is off: a point north of the
    region has a fitting easting, a swapped lon/lat pair does not.
    """

    x: float
    y: float
    inside: bool
    easting_inside: bool
    margin_m: float
    municipality_name: str
    boundary_loaded: bool


def _locating(point_sql: str, params: dict, margin_m: float | None) -> Steps[PointInRegion]:
    margin = _margin(margin_m)
    fx0, fy0, fx1, fy1 = FALLBACK_BOX_25833
    ((x, y, name, loaded, inside, easting_inside),) = yield (
        f"""
        WITH pt AS (SELECT {point_sql} AS g),
             b AS (SELECT (SELECT array_agg(name ORDER BY min_id) FROM (SELECT name,
                           min(id) AS min_id FROM boundary GROUP BY name) n) AS name,
                          ST_Extent(geom) AS box, count(*) > 0 AS loaded
                   FROM boundary)
        SELECT ST_X(pt.g), ST_Y(pt.g), b.name, b.loaded,
               CASE WHEN b.loaded
                    THEN EXISTS (SELECT 1 FROM boundary WHERE ST_DWithin(geom, pt.g, %(m)s))
                    ELSE ST_DWithin(ST_MakeEnvelope(%(fx0)s, %(fy0)s, %(fx1)s, %(fy1)s,
                                                    {STORAGE_SRID}), pt.g, %(m)s)
               END,
               ST_X(pt.g) BETWEEN coalesce(ST_XMin(b.box), %(fx0)s) - %(m)s
                              AND coalesce(ST_XMax(b.box), %(fx1)s) + %(m)s
        FROM pt, b
        """,
        {**params, "m": margin, "fx0": fx0, "fy0": fy0, "fx1": fx1, "fy1": fy1},
    )
    return PointInRegion(
        x=x,
        y=y,
        inside=bool(inside),
        easting_inside=bool(easting_inside),
        margin_m=margin,
        municipality_name=kommune_phrase(name) if loaded else FALLBACK_NAME,
        boundary_loaded=bool(loaded),
    )


def locate_point(
    conn: psycopg.Connection, x: float, y: float, margin_m: float | None = None
) -> PointInRegion:
    """Is the point ``x``, ``y`` (EPSG:25833) within ``margin_m`` of the municipality?

    ``ST_DWithin`` against the stored boundary (GiST-indexed, no buffer built); without a
    boundary, against :data:`FALLBACK_BOX_25833`.
    """
    return run(
        conn,
        _locating(
            f"ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), {STORAGE_SRID})", {"x": x, "y": y}, margin_m
        ),
    )


def locate_lonlat(
    conn: psycopg.Connection, lon: float, lat: float, margin_m: float | None = None
) -> PointInRegion:
    """:func:`locate_point` for WGS84 ``lon``/``lat`` (transformed in the same query)."""
    return run(conn, locating_lonlat(lon, lat, margin_m))


def locating_lonlat(lon: float, lat: float, margin_m: float | None = None) -> Steps[PointInRegion]:
    """:func:`locate_lonlat` as :mod:`geoplan.store.steps` work, for either kind of
    connection."""
    return _locating(
        f"ST_Transform(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), {STORAGE_SRID})",
        {"lon": lon, "lat": lat},
        margin_m,
    )


def in_municipality(conn: psycopg.Connection, x: float, y: float) -> bool:
    """Is the point ``x``, ``y`` (EPSG:25833) inside the loaded municipality (on the border
    counts)? Raises :class:`NoBoundaryError` without a boundary: a write needs the real one."""
    inside = conn.execute(
        f"""SELECT bool_or(ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%s, %s), {STORAGE_SRID})))
            FROM boundary""",
        (x, y),
    ).fetchone()[0]
    if inside is None:
        raise NoBoundaryError()
    return bool(inside)


@dataclass(frozen=True)
class SiteInMunicipality:
    """How a site (point or polygon, EPSG:25833) relates to the served municipality it lies in
    (of several, the one holding the largest share of it; when it touches none, the nearest)."""

    name: str  # that municipality's name, e.g. "Lørenskog"
    kommunenummer: str | None  # its number (None for a boundary row without one)
    touches: bool  # shares at least one point with that municipality
    within: bool  # lies wholly inside it
    share_inside: float  # share of the site's area inside it (1.0 for a point that touches)
    distance_m: float  # 0 when it touches
    served: str = ""  # every served municipality, for messages ("Lørenskog kommune")


def site_in_municipality(conn: psycopg.Connection, site: BaseGeometry) -> SiteInMunicipality:
    """Measure ``site`` against the loaded boundary in PostGIS, municipality by municipality;
    :class:`NoBoundaryError` if there is none (an assessment is only meaningful against the
    real boundary)."""
    row = conn.execute(
        f"""WITH s AS (SELECT ST_SetSRID(ST_GeomFromWKB(%(wkb)s), {STORAGE_SRID}) AS g),
                 b AS (SELECT min(kommunenummer) AS nr, min(name) AS name, ST_Union(geom) AS geom
                       FROM boundary GROUP BY coalesce(kommunenummer, id)),
                 m AS (SELECT b.nr, b.name, ST_Intersects(b.geom, s.g) AS touches,
                              ST_Within(s.g, b.geom) AS within,
                              CASE WHEN ST_Area(s.g) > 0
                                   THEN ST_Area(ST_Intersection(b.geom, s.g)) / ST_Area(s.g)
                              END AS share,
                              ST_Distance(b.geom, s.g) AS distance
                       FROM b, s)
        SELECT nr, name, touches, within, share, distance,
               (SELECT array_agg(name ORDER BY nr) FROM b)
        FROM m ORDER BY touches DESC, share DESC NULLS LAST, distance, nr LIMIT 1""",
        {"wkb": site.wkb},
    ).fetchone()
    if row is None:
        raise NoBoundaryError()
    number, name, touches, within, share, distance, names = row
    if within:
        share = 1.0
    elif share is None:  # a point or line: it touches wholly or not at all
        share = 1.0 if touches else 0.0
    return SiteInMunicipality(
        name,
        number,
        bool(touches),
        bool(within),
        float(share),
        float(distance),
        kommune_phrase(list(dict.fromkeys(names))),
    )
