"""The proposed site: parsed from GeoJSON in any CRS, checked, and brought into storage
(EPSG:25833).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import psycopg
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geoplan.config import STORAGE_SRID
from geoplan.errors import ValidationError
from geoplan.geo.crs import WGS84, CrsRef, crs_member_name, parse_crs

SITE_TYPES = ("Point", "Polygon", "MultiPolygon")


def parse_site(site: Any, crs: str | int | None = None) -> tuple[BaseGeometry, int]:
    """The site geometry and its EPSG code (GeoJSON default: WGS84 lon/lat)."""
    if not isinstance(site, dict) or "type" not in site:
        raise ValidationError("site must be a GeoJSON geometry or Feature", field="site")
    member_crs = crs_member_name(site, "site.crs")
    geometry = site
    if site["type"] == "FeatureCollection":
        feats = site.get("features") or []
        if not isinstance(feats, list) or len(feats) != 1:
            raise ValidationError(
                "a site FeatureCollection must hold exactly one feature", field="site"
            )
        geometry = feats[0]
        if not isinstance(geometry, dict):
            raise ValidationError(
                "the site FeatureCollection's feature must be a GeoJSON object", field="site"
            )
    if geometry.get("type") == "Feature":
        member_crs = member_crs or crs_member_name(geometry, "site.crs")
        geometry = geometry.get("geometry")
        if not isinstance(geometry, dict):
            raise ValidationError("the site Feature has no geometry", field="site")
        member_crs = member_crs or crs_member_name(geometry, "site.crs")
    if geometry.get("type") not in SITE_TYPES:
        raise ValidationError(
            f"site must be a {', '.join(SITE_TYPES)}, not {geometry.get('type')!r}",
            field="site",
        )
    explicit = None if crs is None else parse_crs(crs, "crs").srid
    from_member = None if member_crs is None else parse_crs(member_crs, "site.crs").srid
    if explicit and from_member and explicit != from_member:
        raise ValidationError(
            f"crs EPSG:{explicit} contradicts the site's GeoJSON crs EPSG:{from_member}",
            field="crs",
        )
    srid = explicit or from_member or WGS84
    if not _numbers_only(geometry.get("coordinates")):
        raise ValidationError(
            "site coordinates must be arrays of numbers (not text or true/false)", field="site"
        )
    try:
        geom = shape(geometry)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ValidationError(f"site is not valid GeoJSON: {exc}", field="site") from None
    if geom.is_empty:
        raise ValidationError("site geometry is empty", field="site")
    xy = shapely.get_coordinates(geom)
    if not np.isfinite(xy).all():
        raise ValidationError("site coordinates must be finite numbers", field="site")
    if _geographic(srid) and not (
        (np.abs(xy[:, 0]) <= 180).all() and (np.abs(xy[:, 1]) <= 90).all()
    ):
        raise ValidationError(
            f"site coordinates are not longitude/latitude in degrees (EPSG:{srid}); "
            "a projected CRS? give it as crs",
            field="site",
        )
    return geom, srid


def _numbers_only(coords: Any, depth: int = 0) -> bool:
    """Whether GeoJSON ``coordinates`` nest arrays (at most 4 deep) down to plain numbers."""
    if isinstance(coords, bool):
        return False
    if isinstance(coords, int | float):
        return depth > 0
    if isinstance(coords, list) and depth < 4:
        return all(_numbers_only(c, depth + 1) for c in coords)
    return False


def _geographic(srid: int) -> bool:
    """Whether EPSG:``srid`` counts in degrees (False when pyproj does not know it: PostGIS
    then says whether it does)."""
    try:
        return CrsRef(srid, f"EPSG:{srid}").geographic
    except ValidationError:
        return False


def site_to_storage(
    conn: psycopg.Connection, geom: BaseGeometry, srid: int
) -> tuple[BaseGeometry, dict[str, Any]]:
    """Validate the site in PostGIS and transform it to EPSG:25833; also its WGS84 GeoJSON."""
    known = conn.execute("SELECT 1 FROM spatial_ref_sys WHERE srid = %s", (srid,)).fetchone()
    if not known:
        raise ValidationError(f"unknown CRS EPSG:{srid}", field="crs")
    valid, reason = conn.execute(
        "SELECT ST_IsValid(g), ST_IsValidReason(g) "
        "FROM (SELECT ST_SetSRID(ST_GeomFromWKB(%s), %s) AS g) s",
        (geom.wkb, srid),
    ).fetchone()
    if not valid:
        raise ValidationError(
            f"site polygon is invalid ({reason}); a polygon must not intersect itself",
            field="site",
        )
    try:
        with conn.transaction():
            wkb, gj = conn.execute(
                f"""
                SELECT ST_AsBinary(t), ST_AsGeoJSON(ST_Transform(t, 4326), 6)
                FROM (SELECT ST_Transform(ST_SetSRID(ST_GeomFromWKB(%s), %s), {STORAGE_SRID})
                      AS t) s
                """,
                (geom.wkb, srid),
            ).fetchone()
    except (psycopg.errors.DataException, psycopg.errors.InternalError_) as exc:
        # PostGIS reports coordinates outside the CRS's domain as an internal error (XX000)
        raise ValidationError(
            f"site cannot be transformed from EPSG:{srid} (coordinates outside what it "
            f"describes?): {str(exc).splitlines()[0]}",
            field="site",
        ) from None
    site = shapely.from_wkb(bytes(wkb))
    if not all(math.isfinite(c) for c in shapely.get_coordinates(site).ravel()):
        raise ValidationError(f"site coordinates are out of range for EPSG:{srid}", field="site")
    return site, json.loads(gj)


def site_wgs84_point(gj: dict[str, Any]) -> list[float]:
    """A representative [lon, lat] of the site (the point itself, or a point on the surface)."""
    p = shape(gj).representative_point()
    return [round(p.x, 6), round(p.y, 6)]
