"""Coordinate reference systems: the ones geoplan speaks and the one parser for them."""

from __future__ import annotations

from dataclasses import dataclass

from geoplan.config import STORAGE_SRID
from geoplan.errors import ValidationError

WGS84 = 4326
"""EPSG code of WGS 84 (longitude/latitude on GPS's datum)."""

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
EPSG_25833 = f"http://www.opengis.net/def/crs/EPSG/0/{STORAGE_SRID}"
STORAGE_CRS = EPSG_25833


@dataclass(frozen=True)
class Crs:
    """A CRS the API speaks: its URI, PostGIS SRID, axis order and output precision."""

    uri: str
    srid: int
    lat_first: bool  # EPSG:4326 is latitude, longitude per OGC Part 2; CRS84 is lon, lat
    decimals: int  # 7 decimals of a degree ≈ 1 cm; UTM metres to the centimetre
    geographic: bool


SUPPORTED_CRS: dict[str, Crs] = {
    CRS84: Crs(CRS84, 4326, False, 7, True),
    EPSG_4326: Crs(EPSG_4326, 4326, True, 7, True),
    EPSG_25833: Crs(EPSG_25833, STORAGE_SRID, False, 2, False),
}
_CRS_ALIASES = {
    "crs84": CRS84,
    "ogc:crs84": CRS84,
    "urn:ogc:def:crs:ogc:1.3:crs84": CRS84,
    "http://www.opengis.net/def/crs/ogc/1.3/crs84": CRS84,
    "https://www.opengis.net/def/crs/ogc/1.3/crs84": CRS84,
    "epsg:4326": EPSG_4326,
    "urn:ogc:def:crs:epsg::4326": EPSG_4326,
    "http://www.opengis.net/def/crs/epsg/0/4326": EPSG_4326,
    "https://www.opengis.net/def/crs/epsg/0/4326": EPSG_4326,
    f"epsg:{STORAGE_SRID}": EPSG_25833,
    f"urn:ogc:def:crs:epsg::{STORAGE_SRID}": EPSG_25833,
    f"http://www.opengis.net/def/crs/epsg/0/{STORAGE_SRID}": EPSG_25833,
    f"https://www.opengis.net/def/crs/epsg/0/{STORAGE_SRID}": EPSG_25833,
}


def parse_crs(value: str | None, field_name: str = "crs") -> Crs:
    """The :class:`Crs` for a URI (or a common short form); CRS84 when ``value`` is empty."""
    if value is None or not value.strip():
        return SUPPORTED_CRS[CRS84]
    key = value.strip().strip("[]<>").lower()
    uri = _CRS_ALIASES.get(key)
    if uri is None:
        raise ValidationError(
            f"unsupported CRS {value!r}; use one of: {', '.join(SUPPORTED_CRS)}", field_name
        )
    return SUPPORTED_CRS[uri]
