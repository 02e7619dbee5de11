"""Input checks shared by the API and the CLI: how many hubs, how many minutes, and whether a
lon/lat lies near enough to the municipality to be routed.
"""

from __future__ import annotations

import psycopg
import shapely
from shapely.geometry.base import BaseGeometry

from geoplan.errors import ValidationError
from geoplan.geo.region import locating_lonlat
from geoplan.store.steps import Steps, run

MAX_K = 50
"""Most hubs one nearest-hubs query may ask for."""
MAX_MINUTES = 120
"""Longest walk (minutes) a catchment or a premises search may ask about: two hours on foot is
beyond any hub's reach."""


def check_k(k: int) -> int:
    if not 1 <= k <= MAX_K:
        raise ValidationError(f"k must be between 1 and {MAX_K}, got {k}", field="k")
    return k


def check_minutes(minutes: float | None) -> float | None:
    if minutes is not None and not minutes > 0:
        raise ValidationError(f"minutes must be positive, got {minutes:g}", field="minutes")
    if minutes is not None and minutes > MAX_MINUTES:
        raise ValidationError(
            f"minutes must be at most {MAX_MINUTES}, got {minutes:g}", field="minutes"
        )
    return minutes


def site_from_lonlat(
    conn: psycopg.Connection, lon: float, lat: float, margin_m: float | None = None
) -> BaseGeometry:
    """The point (EPSG:25833) at ``lon``/``lat`` if it lies in the municipality's surroundings.

    "Surroundings" = the region of :func:`geoplan.geo.region.locate_lonlat`: within
    ``margin_m`` (default ``settings.region_margin_m``) of the municipality (its fallback
    envelope when no boundary is loaded). The error names the field that is off, so a swapped
    lon/lat pair is easy to spot.
    """
    return run(conn, locating_site(lon, lat, margin_m))


def locating_site(lon: float, lat: float, margin_m: float | None = None) -> Steps[BaseGeometry]:
    """:func:`site_from_lonlat` as :mod:`geoplan.store.steps` work, for either kind of
    connection."""
    if not -180 <= lon <= 180:
        raise ValidationError(f"lon must be between -180 and 180, got {lon}", field="lon")
    if not -90 <= lat <= 90:
        raise ValidationError(f"lat must be between -90 and 90, got {lat}", field="lat")
    where = yield from locating_lonlat(lon, lat, margin_m)
    if not where.inside:
        # name the coordinate that is off (a swapped pair shows up as lon)
        field_name = "lon" if not where.easting_inside else "lat"
        what = where.municipality_name
        if not where.boundary_loaded:
            what += " (no boundary is loaded)"
        raise ValidationError(
            f"lon={lon}, lat={lat} lies more than {where.margin_m / 1000:g} km outside {what}",
            field=field_name,
        )
    return shapely.Point(where.x, where.y)
