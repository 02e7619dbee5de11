"""Coordinate reference systems: the one parser for every way a CRS is written, and the three
the OGC API serves.

:func:`parse_crs` reads what a client, a file or an option names (``EPSG:25833``, ``25833``, an
OGC URI or URN, ``CRS84``; with ``definitions=True`` anything pyproj knows) into a
:class:`CrsRef`. Each caller then decides what it accepts: the OGC API only its three
:data:`SUPPORTED_CRS` (:func:`served_crs`), assessments any code PostGIS knows, writes and
imports any CRS pyproj knows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from geoplan.config import STORAGE_SRID
from geoplan.errors import ValidationError

WGS84 = 4326
"""EPSG code of WGS 84 (longitude/latitude on GPS's datum)."""

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
EPSG_4326 = EPSG_URI.format(WGS84)
EPSG_25833 = EPSG_URI.format(STORAGE_SRID)
STORAGE_CRS = EPSG_25833

CRS84_SRS = "OGC:CRS84"
"""CRS84 as pyproj names it: WGS 84 with longitude first (PostGIS: SRID 4326, read x=lon)."""

UNKNOWN_CRS_HINT = "use e.g. EPSG:25833, EPSG:25832 or EPSG:4326"

_CODE = r"(\d{4,6})"  # EPSG CRS codes start at 2000; PostGIS SRIDs end at 998999
_BARE_CODE = re.compile(_CODE)
_EPSG_SPELLINGS = (
    re.compile(rf"EPSG:{_CODE}", re.I),
    re.compile(rf"urn:ogc:def:crs:EPSG:[\d.]*:{_CODE}", re.I),
    re.compile(rf"https?://www\.opengis\.net/def/crs/EPSG/0/{_CODE}", re.I),
)
_CRS84_SPELLING = re.compile(
    r"(?:OGC:)?CRS84|urn:ogc:def:crs:OGC:(?:1\.3)?:CRS84"
    r"|https?://www\.opengis\.net/def/crs/OGC/1\.3/CRS84",
    re.I,
)
_KNOWN_AXES: dict[str, tuple[bool, bool]] = {
    CRS84_SRS: (False, True),
    f"EPSG:{WGS84}": (True, True),
    f"EPSG:{STORAGE_SRID}": (False, False),
}
"""(lat_first, geographic) of the CRSs geoplan itself speaks, known without asking pyproj."""


@dataclass(frozen=True)
class CrsRef:
    """A CRS as :func:`parse_crs` read it.

    ``srid`` is the EPSG code, which is also the PostGIS SRID (CRS84 is 4326: PostGIS reads
    4326 as x=longitude); ``None`` only for a pyproj definition that has no EPSG code. ``srs``
    is what pyproj and geopandas are given (``EPSG:25833``, ``OGC:CRS84``, or pyproj's own
    string for other definitions).
    """

    srid: int | None
    srs: str

    @property
    def uri(self) -> str | None:
        """The OGC URI (``http://www.opengis.net/def/crs/...``), None without an EPSG code."""
        if self.srs == CRS84_SRS:
            return CRS84
        return EPSG_URI.format(self.srid) if self.srid is not None else None

    @property
    def lat_first(self) -> bool:
        """Whether the authority's axis order puts latitude (northing) first, as EPSG:4326
        does; CRS84 is longitude, latitude. Looked up in pyproj unless geoplan speaks it."""
        return _axes(self.srs)[0]

    @property
    def geographic(self) -> bool:
        """Degrees (longitude/latitude) rather than projected metres."""
        return _axes(self.srs)[1]


def parse_crs(
    value: str | int, field: str = "crs", *, numbers: bool = True, definitions: bool = False
) -> CrsRef:
    """The CRS ``value`` names, or :class:`ValidationError` naming ``field``.

    Accepted spellings (case does not matter): ``EPSG:25833``; ``25833`` (int or text, unless
    ``numbers=False``: the OGC API wants a URI); ``urn:ogc:def:crs:EPSG::25833`` (any version);
    ``http(s)://www.opengis.net/def/crs/EPSG/0/25833``; CRS84 as ``CRS84``, ``OGC:CRS84``,
    ``urn:ogc:def:crs:OGC:1.3:CRS84`` (or without the version) or its OGC URI.

    ``definitions=True`` also accepts any other definition pyproj knows (names such as
    ``ETRS89 / UTM zone 33N``, WKT, PROJ strings, other authorities) and refuses EPSG codes
    pyproj does not know. Without it, a code is only read, not looked up: callers that hand it
    to PostGIS check it there (``spatial_ref_sys``).
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if numbers and 1000 <= value <= 999_999:
            return _checked(CrsRef(value, f"EPSG:{value}"), str(value), field, definitions)
        raise _unknown(str(value), field)
    text = str(value).strip()
    if _CRS84_SPELLING.fullmatch(text):
        return CrsRef(WGS84, CRS84_SRS)
    spellings = _EPSG_SPELLINGS + ((_BARE_CODE,) if numbers else ())
    for spelling in spellings:
        m = spelling.fullmatch(text)
        if m:
            code = int(m.group(1))
            return _checked(CrsRef(code, f"EPSG:{code}"), text, field, definitions)
    if definitions:
        return _from_pyproj(text, field)
    raise _unknown(text, field)


def _unknown(text: str, field: str) -> ValidationError:
    return ValidationError(f"unknown CRS {text[:100]!r}; {UNKNOWN_CRS_HINT}", field)


def _checked(ref: CrsRef, text: str, field: str, definitions: bool) -> CrsRef:
    if definitions and _pyproj_crs(ref.srs) is None:
        raise _unknown(text, field)
    return ref


def _from_pyproj(text: str, field: str) -> CrsRef:
    crs = _pyproj_crs(text)
    if crs is None:
        raise _unknown(text, field)
    srs = crs.to_string()
    return CrsRef(WGS84 if srs == CRS84_SRS else crs.to_epsg(), srs)


@lru_cache(maxsize=64)
def _pyproj_crs(text: str) -> Any:
    """pyproj's CRS for ``text`` (None when pyproj does not know it); imported only when
    needed, so reading the common spellings costs no pyproj start-up."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        return CRS.from_user_input(text)
    except (CRSError, ValueError, TypeError, OverflowError):
        return None


@lru_cache(maxsize=64)
def _axes(srs: str) -> tuple[bool, bool]:
    if srs in _KNOWN_AXES:
        return _KNOWN_AXES[srs]
    crs = _pyproj_crs(srs)
    if crs is None:
        raise _unknown(srs, "crs")
    return crs.axis_info[0].direction in ("north", "south"), bool(crs.is_geographic)


def crs_member_name(obj: dict[str, Any], field: str) -> str | None:
    """The name in a GeoJSON object's (pre-RFC 7946) ``crs`` member, None without one."""
    crs = obj.get("crs")
    if crs is None:
        return None
    if isinstance(crs, dict) and isinstance(crs.get("properties"), dict):
        name = crs["properties"].get("name")
        if isinstance(name, str):
            return name
    raise ValidationError(
        'the GeoJSON "crs" member must be {"type": "name", "properties": {"name": "EPSG:..."}}',
        field=field,
    )


# -- the CRSs the OGC API serves ----------------------------------------------------------------
@dataclass(frozen=True)
class Crs:
    """A CRS the API speaks: its URI, PostGIS SRID, axis order and output precision."""

    uri: str
    srid: int
    lat_first: bool  # EPSG:4326 is latitude, longitude per OGC Part 2; CRS84 is lon, lat
    decimals: int  # 7 decimals of a degree ≈ 1 cm; UTM metres to the centimetre
    geographic: bool


def _served(uri: str, decimals: int) -> Crs:
    ref = parse_crs(uri)
    return Crs(uri, ref.srid, ref.lat_first, decimals, ref.geographic)  # type: ignore[arg-type]


SUPPORTED_CRS: dict[str, Crs] = {
    c.uri: c for c in (_served(CRS84, 7), _served(EPSG_4326, 7), _served(EPSG_25833, 2))
}


@lru_cache(maxsize=128)
def served_crs(value: str | None, field: str = "crs") -> Crs:
    """The served :class:`Crs` for a ``crs``/``bbox-crs``/``filter-crs`` value; CRS84 when
    ``value`` is empty. A URI, URN or CURIE (also as ``[EPSG:4326]`` or ``<uri>``), not a bare
    number; any CRS other than the three served is refused naming ``field`` (the API: 400)."""
    if value is None or not value.strip():
        return SUPPORTED_CRS[CRS84]
    try:
        ref: CrsRef | None = parse_crs(value.strip().strip("[]<>"), field, numbers=False)
    except ValidationError:
        ref = None
    served = SUPPORTED_CRS.get(ref.uri) if ref is not None and ref.uri else None
    if served is None:
        raise ValidationError(
            f"unsupported CRS {value!r}; use one of: {', '.join(SUPPORTED_CRS)}", field
        )
    return served
