"""The one CRS parser: every accepted spelling, the refusals, and the OGC API's three CRSs."""

from __future__ import annotations

import pytest

from geoplan.errors import ValidationError
from geoplan.geo.crs import (
    CRS84,
    EPSG_4326,
    EPSG_25833,
    SUPPORTED_CRS,
    CrsRef,
    crs_member_name,
    parse_crs,
    served_crs,
)

UTM33 = [
    "EPSG:25833",
    "epsg:25833",
    " EPSG:25833 ",
    "25833",
    25833,
    "urn:ogc:def:crs:EPSG::25833",
    "URN:OGC:DEF:CRS:EPSG::25833",
    "urn:ogc:def:crs:EPSG:9.8.15:25833",
    "http://www.opengis.net/def/crs/EPSG/0/25833",
    "https://www.opengis.net/def/crs/EPSG/0/25833",
]
CRS84_SPELLINGS = [
    "CRS84",
    "crs84",
    "OGC:CRS84",
    "urn:ogc:def:crs:OGC:1.3:CRS84",
    "urn:ogc:def:crs:OGC::CRS84",
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "https://www.opengis.net/def/crs/OGC/1.3/CRS84",
]


@pytest.mark.parametrize("value", UTM33)
def test_every_spelling_of_an_epsg_code(value):
    ref = parse_crs(value)
    assert ref == CrsRef(25833, "EPSG:25833")
    assert ref.uri == EPSG_25833
    assert not ref.lat_first and not ref.geographic


@pytest.mark.parametrize("value", CRS84_SPELLINGS)
def test_every_spelling_of_crs84_is_4326_longitude_first(value):
    ref = parse_crs(value)
    assert ref == CrsRef(4326, "OGC:CRS84")
    assert ref.uri == CRS84
    assert not ref.lat_first and ref.geographic


def test_epsg_4326_is_latitude_first_and_other_codes_ask_pyproj():
    wgs84 = parse_crs("EPSG:4326")
    assert (wgs84.srid, wgs84.uri, wgs84.lat_first, wgs84.geographic) == (
        4326,
        EPSG_4326,
        True,
        True,
    )
    utm32 = parse_crs("urn:ogc:def:crs:EPSG::25832")
    assert (utm32.srid, utm32.srs, utm32.lat_first, utm32.geographic) == (
        25832,
        "EPSG:25832",
        False,
        False,
    )


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "nope",
        "urn:nope",
        "EPSG:",
        "EPSG:123",  # EPSG CRS codes have 4 to 6 digits
        "123",
        "1234567",
        "EPSG:25833x",
        "[EPSG:4326]",  # brackets are the OGC API's safe CURIE: only served_crs unwraps them
        "xCRS84x",
        "ETRS89 / UTM zone 33N",  # a name: only with definitions=True
        0,
        -1,
        123,
        True,
    ],
)
def test_refusals_name_the_field(value):
    with pytest.raises(ValidationError, match="unknown CRS") as exc:
        parse_crs(value, "site.crs")
    assert exc.value.field == "site.crs"
    assert exc.value.errors == [{"field": "site.crs", "message": str(exc.value)}]


def test_long_input_is_cut_in_the_message():
    with pytest.raises(ValidationError) as exc:
        parse_crs("x" * 5000)
    assert len(str(exc.value)) < 200


def test_bare_numbers_can_be_refused():
    for value in ("25833", 25833):
        with pytest.raises(ValidationError, match="unknown CRS"):
            parse_crs(value, numbers=False)
    assert parse_crs("EPSG:25833", numbers=False).srid == 25833


def test_without_definitions_a_code_is_read_not_looked_up():
    # PostGIS decides (spatial_ref_sys); pyproj is asked only with definitions=True
    assert parse_crs("EPSG:99999").srid == 99999
    with pytest.raises(ValidationError, match="unknown CRS 'EPSG:99999'"):
        parse_crs("EPSG:99999", definitions=True)
    with pytest.raises(ValidationError, match="unknown CRS '99999'"):
        parse_crs(99999, definitions=True)


@pytest.mark.parametrize(
    ("value", "srid", "srs"),
    [
        ("EPSG:25832", 25832, "EPSG:25832"),
        ("25832", 25832, "EPSG:25832"),
        ("urn:ogc:def:crs:EPSG::25832", 25832, "EPSG:25832"),
        ("CRS84", 4326, "OGC:CRS84"),
        ("ETRS89 / UTM zone 33N", 25833, "EPSG:25833"),
        ("WGS 84", 4326, "EPSG:4326"),
        ("WGS 84 (CRS84)", 4326, "OGC:CRS84"),
        ("ESRI:102100", 3857, "ESRI:102100"),
        (
            "+proj=utm +zone=33 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs",
            None,  # pyproj knows it, but finds no EPSG code for it
            "+proj=utm +zone=33 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs +type=crs",
        ),
    ],
)
def test_definitions_accept_what_pyproj_knows(value, srid, srs):
    ref = parse_crs(value, definitions=True)
    assert (ref.srid, ref.srs) == (srid, srs)


@pytest.mark.parametrize("value", ["nope", "EPSG:123", "[EPSG:4326]", "xCRS84x", ""])
def test_definitions_still_refuse_what_pyproj_does_not_know(value):
    with pytest.raises(ValidationError, match="unknown CRS") as exc:
        parse_crs(value, "crs", definitions=True)
    assert exc.value.field == "crs"


# -- the OGC API's three ----------------------------------------------------------------------
def test_served_registry_is_built_from_the_parser():
    assert list(SUPPORTED_CRS) == [CRS84, EPSG_4326, EPSG_25833]
    assert [(c.srid, c.lat_first, c.geographic, c.decimals) for c in SUPPORTED_CRS.values()] == [
        (4326, False, True, 7),
        (4326, True, True, 7),
        (25833, False, False, 2),
    ]


@pytest.mark.parametrize(
    ("value", "uri"),
    [
        (None, CRS84),
        ("", CRS84),
        ("  ", CRS84),
        *[(v, CRS84) for v in CRS84_SPELLINGS],
        *[(v, EPSG_25833) for v in UTM33 if not str(v).strip().isdigit()],
        ("EPSG:4326", EPSG_4326),
        ("http://www.opengis.net/def/crs/EPSG/0/4326", EPSG_4326),
        ("urn:ogc:def:crs:EPSG::4326", EPSG_4326),
        ("[EPSG:4326]", EPSG_4326),
        (f"<{EPSG_25833}>", EPSG_25833),
    ],
)
def test_served_crs_accepts_uris_urns_and_curies(value, uri):
    assert served_crs(value, "crs") is SUPPORTED_CRS[uri]


@pytest.mark.parametrize(
    "value", ["EPSG:3857", "EPSG:25832", "25833", "4326", "nope", "urn:nope", "WGS 84"]
)
def test_served_crs_refuses_every_other_crs_and_bare_numbers(value):
    with pytest.raises(ValidationError, match="unsupported CRS .*; use one of: http") as exc:
        served_crs(value, "bbox-crs")
    assert exc.value.field == "bbox-crs"


# -- the GeoJSON crs member -------------------------------------------------------------------
def test_crs_member_name():
    named = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25833"}}
    assert (
        crs_member_name({"type": "Point", "crs": named}, "site.crs") == named["properties"]["name"]
    )
    assert crs_member_name({"type": "Point"}, "site.crs") is None
    for bad in ("EPSG:25833", {"type": "name"}, {"properties": {"name": 25833}}):
        with pytest.raises(ValidationError, match='"crs" member must be') as exc:
            crs_member_name({"type": "Point", "crs": bad}, "site.crs")
        assert exc.value.field == "site.crs"
