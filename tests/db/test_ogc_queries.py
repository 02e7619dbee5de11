"""geoplan.ogc against the real PostGIS: CQL2 → SQL, simple filters, sorting, CRS, paging."""

from __future__ import annotations

import json

import psycopg
import pytest

from geoplan import ogc as features
from geoplan.errors import NotFoundError, ValidationError
from geoplan.geo import crs as crs_registry
from geoplan.store import db

PREMISES = features.COLLECTIONS["premises"]
BOX = "ST_Transform(ST_MakeEnvelope(10.94, 59.91, 10.97, 59.94, 4326), 25833)"
SQUARE = "POLYGON((10.94 59.91, 10.97 59.91, 10.97 59.94, 10.94 59.94, 10.94 59.91))"
HUBS = features.COLLECTIONS["hubs"]


def ids(conn: psycopg.Connection, coll: features.Collection, **kw) -> list[str]:
    page = features.query_items(conn, coll, features.ItemsQuery(limit=10_000, **kw))
    return [f["id"] for f in json.loads(page.features_json)]


def sql_ids(conn: psycopg.Connection, table: str, where: str, params=None) -> list[str]:
    return [r[0] for r in conn.execute(f"SELECT id FROM {table} WHERE {where} ORDER BY id", params)]


@pytest.fixture
def lconn(loaded_db: str):
    with psycopg.connect(db.conninfo(loaded_db)) as c:
        yield c


@pytest.mark.parametrize(
    ("cql", "where"),
    [
        ("floor_area_m2 > 1000", "floor_area_m2 > 1000"),
        ("floor_area_m2 >= 500 AND rent_nok_m2_year < 2000",
         "floor_area_m2 >= 500 AND rent_nok_m2_year < 2000"),
        ("uses = 'office' OR uses = 'retail'", "uses && ARRAY['office','retail']"),
        ("NOT (uses = 'office')", "NOT ('office' = ANY(uses))"),
        ("address LIKE '%vei%'", "address LIKE '%vei%'"),
        ("CASEI(address) LIKE casei('%VEI%')", "lower(address) LIKE '%vei%'"),
        ("floor_area_m2 BETWEEN 300 AND 900", "floor_area_m2 BETWEEN 300 AND 900"),
        ("floor_area_m2 NOT BETWEEN 300 AND 900", "NOT floor_area_m2 BETWEEN 300 AND 900"),
        ("id IN ('sample-001', 'sample-002', 'nope')", "id IN ('sample-001', 'sample-002')"),
        ("uses IN ('health', 'hospitality')", "uses && ARRAY['health','hospitality']"),
        ("rent_nok_m2_year IS NULL", "rent_nok_m2_year IS NULL"),
        ("available_from <= DATE('2027-01-01')", "available_from <= '2027-01-01'"),
        ("sample = true AND verified = false", "sample AND NOT verified"),
        ("walk_min < floor_area_m2", "walk_min < floor_area_m2"),
        ("S_INTERSECTS(geometry, BBOX(10.94, 59.91, 10.97, 59.94))", f"ST_Intersects(geom, {BOX})"),
        (f"S_WITHIN(geometry, {SQUARE})", f"ST_Within(geom, {BOX})"),
    ],
)  # fmt: skip
def test_cql2_text_matches_hand_written_sql(lconn, cql, where):
    expected = sql_ids(lconn, "premises_annotated", where)
    assert expected, f"the sample data should make {cql!r} non-trivial"
    assert sorted(ids(lconn, PREMISES, filter=cql)) == expected


def test_cql2_json_is_understood(lconn):
    text = json.dumps({"op": ">", "args": [{"property": "floor_area_m2"}, 1000]})
    got = ids(lconn, PREMISES, filter=text, filter_lang="cql2-json")
    assert sorted(got) == sql_ids(lconn, "premises", "floor_area_m2 > 1000")


def test_filter_within_a_focus_area_polygon_in_utm(lconn):
    wkt = lconn.execute("SELECT ST_AsText(geom) FROM areas WHERE id = 'visperud'").fetchone()[0]
    got = ids(lconn, PREMISES, filter=f"S_WITHIN(geometry, {wkt})", filter_crs="EPSG:25833")
    expected = sql_ids(
        lconn, "premises", "ST_Within(geom, (SELECT geom FROM areas WHERE id = 'visperud'))"
    )
    assert expected and sorted(got) == expected


@pytest.mark.parametrize(
    ("cql", "message"),
    [
        ("nosuch = 1", "unknown property 'nosuch'"),
        ("floor_area_m2 = 'big'", "is not a number"),
        ("floor_area_m2 >", "invalid cql2-text filter"),
        ("address = 'x' OR 1=1; DROP TABLE premises; --", "invalid cql2-text filter"),
        ("geometry = 'x'", "spatial functions"),
        ("S_INTERSECTS(geometry, POINT(500 500))", "outside longitude"),
        ("uses > 'a'", "list property"),
        ("SOUNDEX(address) = 'x'", "unsupported function"),  # ACCENTI is supported now
    ],
)
def test_bad_filters_are_validation_errors_naming_the_problem(lconn, cql, message):
    with pytest.raises(ValidationError, match=message) as err:
        ids(lconn, PREMISES, filter=cql)
    assert err.value.field == "filter"


def test_injection_in_values_is_just_a_value(lconn):
    before = lconn.execute("SELECT count(*) FROM premises").fetchone()[0]
    assert ids(lconn, PREMISES, filter="address = 'x; DROP TABLE premises; --'") == []
    assert ids(lconn, PREMISES, filters={"status": "available'; DELETE FROM premises; --"}) == []
    assert lconn.execute("SELECT count(*) FROM premises").fetchone()[0] == before


def test_simple_filters_sort_and_properties(lconn):
    got = features.query_items(
        lconn,
        PREMISES,
        features.ItemsQuery(
            filters={"use": "office", "status": "available"},
            sortby="-floor_area_m2,+address",
            properties=["floor_area_m2", "uses"],
            limit=100,
        ),
    )
    feats = json.loads(got.features_json)
    expected = [
        r[0]
        for r in lconn.execute(
            "SELECT id FROM premises WHERE 'office' = ANY(uses) AND status = 'available' "
            "ORDER BY floor_area_m2 DESC, address, id"
        )
    ]
    assert [f["id"] for f in feats] == expected
    assert all(set(f["properties"]) == {"floor_area_m2", "uses"} for f in feats)
    assert got.number_matched == len(expected)


def test_hub_mode_filter(lconn):
    assert sorted(ids(lconn, HUBS, filters={"mode": "rail"})) == sql_ids(
        lconn, "hubs", "mode = 'rail'"
    )


def test_paging_is_stable_and_counts_all_matches(lconn):
    total = lconn.execute("SELECT count(*) FROM premises").fetchone()[0]
    seen = []
    for offset in range(0, total, 7):
        page = features.query_items(
            lconn, PREMISES, features.ItemsQuery(limit=7, offset=offset, sortby="rent_nok_m2_year")
        )
        assert page.number_matched == total
        seen += [f["id"] for f in json.loads(page.features_json)]
    assert sorted(seen) == sql_ids(lconn, "premises", "TRUE")


def test_bbox_pages_count_every_match_in_the_same_pass(lconn):
    box = [10.90, 59.88, 11.02, 59.96]
    utm_box = f"ST_Transform(ST_MakeEnvelope({', '.join(map(str, box))}, 4326), 25833)"
    matched = [
        r[0]
        for r in lconn.execute(
            f"SELECT id FROM premises WHERE ST_Intersects(geom, {utm_box}) ORDER BY seq"
        )
    ]
    assert len(matched) > 6, "the sample data should fill more than two pages"
    seen = []
    for offset in range(0, len(matched) + 6, 3):
        page = features.query_items(
            lconn, PREMISES, features.ItemsQuery(bbox=box, limit=3, offset=offset)
        )
        assert page.number_matched == len(matched), offset
        got = [f["id"] for f in json.loads(page.features_json)]
        assert page.number_returned == len(got)
        seen += got
    assert seen == matched  # in registration order, each once; pages past the end are empty
    empty = features.query_items(lconn, PREMISES, features.ItemsQuery(bbox=[0, 0, 0.1, 0.1]))
    assert (empty.number_matched, empty.number_returned, empty.features_json) == (0, 0, b"[]")


def test_premises_pages_default_to_registration_order(lconn):
    """Premises are listed in the order they were registered (``seq``), not by their ids
    (random for listings made through the API) — with and without a bbox."""
    box = [10.90, 59.88, 11.02, 59.96]
    with lconn.transaction(force_rollback=True):
        for new_id in ("zzz-registered-first", "aaa-registered-last"):
            lconn.execute(
                "INSERT INTO premises (id, address, uses, floor_area_m2, source, licence, "
                "accuracy_m, geom) SELECT %s, address, uses, floor_area_m2, source, licence, "
                "accuracy_m, geom FROM premises WHERE id = 'sample-001'",
                [new_id],
            )
        for kw in ({}, {"bbox": box}):
            listed = ids(lconn, PREMISES, **kw)
            assert listed[-2:] == ["zzz-registered-first", "aaa-registered-last"], kw
            # explicit sorts break ties the same way
            by_use = ids(lconn, PREMISES, sortby="status", **kw)
            assert by_use.index("zzz-registered-first") < by_use.index("aaa-registered-last")
    assert ids(lconn, HUBS) == sorted(ids(lconn, HUBS))  # other collections: by id


def test_stored_features_equal_the_live_built_ones(lconn):
    """premises_features (migration 0003/0004 triggers) + the walk say what the registry says."""
    names = [p.name for p in PREMISES.props]
    box = [10.90, 59.88, 11.02, 59.96]

    def pages_agree() -> None:
        # the same features, in the same order, as built live for an explicit property list —
        # without a bbox, with one, and with one and a sort order
        for kw in ({}, {"bbox": box}, {"bbox": box, "sortby": "-floor_area_m2"}):
            spliced = features.query_items(lconn, PREMISES, features.ItemsQuery(limit=1000, **kw))
            built = features.query_items(
                lconn, PREMISES, features.ItemsQuery(limit=1000, properties=names, **kw)
            )
            assert spliced.number_returned > 5, kw
            assert json.loads(spliced.features_json) == json.loads(built.features_json), kw

    def heads() -> dict[str, str]:
        return dict(
            lconn.execute(
                "SELECT p.id, f.head FROM premises_features f JOIN premises p USING (seq)"
            ).fetchall()
        )

    total = lconn.execute("SELECT count(*) FROM premises").fetchone()[0]
    assert len(heads()) == total
    pages_agree()
    with lconn.transaction(force_rollback=True):  # writes re-render the row
        lconn.execute(
            "UPDATE premises SET rent_nok_m2_year = 1234, geom = ST_Translate(geom, 10, 10) "
            "WHERE id = 'sample-001'"
        )
        lconn.execute("UPDATE premises SET id = 'sample-001b' WHERE id = 'sample-002'")
        lconn.execute("DELETE FROM premises WHERE id = 'sample-003'")
        lconn.execute("UPDATE premises_walk SET walk_min = 99")  # the walk is read live
        stored = heads()
        assert "sample-002" not in stored and "sample-003" not in stored
        assert '"rent_nok_m2_year" : 1234' in stored["sample-001"]
        assert len(stored) == total - 1
        pages_agree()


def test_limit_is_clamped_to_the_maximum(lconn):
    page = features.query_items(lconn, PREMISES, features.ItemsQuery(limit=10**12))
    assert page.limit == features.MAX_LIMIT


def test_output_crs_and_axis_order(lconn):
    x, y, lon, lat = lconn.execute(
        "SELECT ST_X(geom), ST_Y(geom), ST_X(ST_Transform(geom, 4326)), "
        "ST_Y(ST_Transform(geom, 4326)) FROM premises WHERE id = 'sample-001'"
    ).fetchone()
    utm = features.get_item(lconn, PREMISES, "sample-001", crs_registry.EPSG_25833)
    assert utm["geometry"]["coordinates"] == pytest.approx([x, y], abs=0.01)
    crs84 = features.get_item(lconn, PREMISES, "sample-001")
    assert crs84["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-6)
    latlon = features.get_item(lconn, PREMISES, "sample-001", "EPSG:4326")
    assert latlon["geometry"]["coordinates"] == pytest.approx([lat, lon], abs=1e-6)
    assert "crs" not in utm["geometry"]


def test_bbox_in_each_crs_selects_the_same_features(lconn):
    expected = sql_ids(
        lconn,
        "premises",
        f"ST_Intersects(geom, {BOX})",
    )
    assert expected
    assert sorted(ids(lconn, PREMISES, bbox=[10.94, 59.91, 10.97, 59.94])) == expected
    lat_first = ids(
        lconn, PREMISES, bbox=[59.91, 10.94, 59.94, 10.97], bbox_crs=crs_registry.EPSG_4326
    )
    assert sorted(lat_first) == expected
    x1, y1, x2, y2 = lconn.execute(
        "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (SELECT ST_Extent(geom) b "
        "FROM premises WHERE id = ANY(%s)) s",
        (expected,),
    ).fetchone()
    utm = ids(lconn, PREMISES, bbox=[x1, y1, x2, y2], bbox_crs="EPSG:25833")
    assert set(expected) <= set(utm)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (features.ItemsQuery(bbox=[1, 2, 3]), "bbox"),
        (features.ItemsQuery(bbox=[3, 2, 1, 4]), "bbox"),
        (features.ItemsQuery(bbox=[0, 0, 1, 100]), "bbox"),
        (features.ItemsQuery(crs="EPSG:3857"), "crs"),
        (features.ItemsQuery(bbox=[0, 0, 1, 1], bbox_crs="urn:nope"), "bbox-crs"),
        (features.ItemsQuery(sortby="uses"), "sortby"),
        (features.ItemsQuery(properties=["nope"]), "properties"),
        (features.ItemsQuery(filters={"floor_area_m2": "big"}), "floor_area_m2"),
        (features.ItemsQuery(filters={"nope": "1"}), "nope"),
        (features.ItemsQuery(filter="x", filter_lang="sql"), "filter-lang"),
    ],
)
def test_invalid_queries_name_the_field(lconn, query, field):
    with pytest.raises(ValidationError) as err:
        features.query_items(lconn, PREMISES, query)
    assert err.value.field == field


def test_extent_and_missing_things(lconn):
    ext = features.extent(lconn, PREMISES)
    assert ext.count == lconn.execute("SELECT count(*) FROM premises").fetchone()[0]
    lon1, lat1, lon2, lat2 = ext.bbox
    assert 10.8 < lon1 < lon2 < 11.1 and 59.8 < lat1 < lat2 < 60.0
    lconn.execute("DELETE FROM catchments")  # loading stores catchments; test the empty case
    assert features.extent(lconn, features.COLLECTIONS["catchments"]).bbox is None
    with pytest.raises(NotFoundError):
        features.get_collection("nope")
    with pytest.raises(NotFoundError):
        features.get_item(lconn, PREMISES, "nope")
    with pytest.raises(NotFoundError):
        features.get_item(lconn, features.COLLECTIONS["catchments"], "x1")
