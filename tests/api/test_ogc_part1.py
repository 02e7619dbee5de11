"""OGC API – Features Part 1 gaps (issue 14) and CQL2 hardening, through the HTTP API.

``datetime`` on the collections with a temporal property (and ignored on the others), HEAD
wherever GET exists, the landing page at ``/ogc/`` too, the links repeated as RFC 8288 ``Link``
headers, CQL2 ``''`` escaping, CASEI/ACCENTI, one sign per ``sortby`` key, and numbers in
filters bounded to a 400 rather than an overflow. Expected results come from hand-written SQL
over the same database, not from the code under test.
"""

from __future__ import annotations

import json
import re
from datetime import UTC

import psycopg
import pytest
from fastapi.testclient import TestClient

from geoplan.store import db
from maps.assets import STATIC_DIR

ITEMS = "/ogc/collections/{}/items"
BIG = "9" * 400


def sql(url: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(db.conninfo(url)) as conn:
        return conn.execute(query, params or None).fetchall()


def execute(url: str, statement: str, *params) -> None:
    with psycopg.connect(db.conninfo(url)) as conn:
        conn.execute(statement, params or None)


def item_ids(client: TestClient, collection: str, **params) -> list[str]:
    r = client.get(ITEMS.format(collection), params={"limit": 10_000, **params})
    assert r.status_code == 200, r.text
    return sorted(str(f["id"]) for f in r.json()["features"])


def sql_ids(url: str, table: str, where: str, *params) -> list[str]:
    return sorted(r[0] for r in sql(url, f"SELECT id::text FROM {table} WHERE {where}", *params))


def assert_400(r, field: str, text: str | None = None) -> None:
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    errors = r.json()["errors"]
    assert any(e["field"] == field for e in errors), errors
    if text is not None:
        assert any(text in e["message"] for e in errors), errors


# -- datetime ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "where"),
    [
        ("../2026-12-31", "available_from <= '2026-12-31'"),
        ("2027-03-31", "available_from = '2027-03-31'"),
        ("2027-03-31T12:00:00Z", "available_from = '2027-03-31'"),
        ("2027-01-01/2027-06-30", "available_from BETWEEN '2027-01-01' AND '2027-06-30'"),
        ("2027-10-01T00:00:00Z/..", "available_from >= '2027-10-01'"),
        ("2027-10-01T00:00:00Z/", "available_from >= '2027-10-01'"),
        ("/2026-12-31T23:59:59.999Z", "available_from <= '2026-12-31'"),
        # an offset is honoured: 00:30 in Norway on 1 Oct is 30 Sep in UTC, the day 30 Sep
        # intersects the interval from then on
        ("2027-10-01T00:30:00+01:00/..", "available_from >= '2027-09-30'"),
        ("../..", "TRUE"),
    ],
)
def test_datetime_selects_premises_by_availability(client, loaded_db, value, where):
    expected = sql_ids(loaded_db, "premises", where)
    assert expected, f"the sample data should make {value!r} non-trivial"
    assert item_ids(client, "premises", datetime=value) == expected


def test_datetime_on_timestamps_and_features_without_a_value(client, loaded_db):
    execute(loaded_db, "UPDATE hubs SET updated_at = '2024-01-01T00:00:00Z'")
    execute(loaded_db, "UPDATE hubs SET updated_at = '2025-06-15T10:30:00Z' WHERE id IN "
                       "(SELECT id FROM hubs ORDER BY id LIMIT 3)")  # fmt: skip
    recent = sql_ids(loaded_db, "hubs", "updated_at > '2025-01-01'")
    assert len(recent) == 3
    assert item_ids(client, "hubs", datetime="2025-06-15T10:30:00Z") == recent  # an instant
    assert item_ids(client, "hubs", datetime="2025-06-15T12:30:00+02:00") == recent
    assert item_ids(client, "hubs", datetime="2025-06-15T12:30:00 02:00") == recent  # "+" raw
    assert item_ids(client, "hubs", datetime="2025-06-15T08:30:00.000000-02:00") == recent
    assert item_ids(client, "hubs", datetime="2025-06-15T10:30:01Z") == []
    assert item_ids(client, "hubs", datetime="2025-06-15") == recent  # that whole day (UTC)
    assert item_ids(client, "hubs", datetime="2025-06-16") == []
    assert item_ids(client, "hubs", datetime="2025-06-15T10:30:00Z/..") == recent
    assert item_ids(client, "hubs", datetime="../2025-06-15T10:29:59Z") == sql_ids(
        loaded_db, "hubs", "updated_at < '2025-01-01'"
    )
    # a premises listing without a date matches any datetime (OGC Part 1, fc-time-response C)
    execute(loaded_db, "UPDATE premises SET available_from = NULL WHERE id = 'sample-001'")
    assert "sample-001" in item_ids(client, "premises", datetime="1999-01-01")
    assert item_ids(client, "premises", datetime="1999-01-01") == ["sample-001"]


def test_datetime_combines_with_other_parameters(client, loaded_db):
    expected = sql_ids(
        loaded_db, "premises", "available_from < '2027-06-01' AND floor_area_m2 > 500"
    )
    assert expected
    got = item_ids(client, "premises", datetime="../2027-05-31", filter="floor_area_m2 > 500")
    assert got == expected
    r = client.get(ITEMS.format("premises"), params={"datetime": "../2027-05-31", "limit": 2})
    doc = r.json()
    assert doc["numberMatched"] == len(
        sql_ids(loaded_db, "premises", "available_from < '2027-06-01'")
    )
    nxt = [link for link in doc["links"] if link["rel"] == "next"][0]["href"]
    assert "datetime=..%2F2027-05-31" in nxt


@pytest.mark.parametrize("collection", ["boundary", "land_use"])
def test_datetime_is_ignored_without_a_temporal_property(client, collection):
    assert client.get(f"/ogc/collections/{collection}").json()["extent"].get("temporal") is None
    everything = item_ids(client, collection)
    assert item_ids(client, collection, datetime="1900-01-01T00:00:00Z") == everything
    assert item_ids(client, collection, datetime="../1900-01-01") == everything


@pytest.mark.parametrize(
    "value",
    [
        "",
        "..",
        "yesterday",
        "2025-13-01",
        "2025-02-30",
        "2025-01-01T10:00:00",  # RFC 3339 requires an offset
        "2025-01-01T25:00:00Z",
        "2025-01-01 10:00:00Z",
        "20250101",
        "2025-W01",
        "2025-02-01/2025-01-01",
        "2025-01-02T00:00:00Z/2025-01-01",
        "2025-01-01/2025-02-01/2025-03-01",
        "9999-12-31T23:59:59-01:00",  # beyond the last representable instant in UTC
        "2025-01-01T00:00:00Z/" + "9" * 300,
    ],
)
def test_bad_datetime_is_400_naming_it(client, value):
    for collection in ("premises", "boundary"):  # checked where it is then ignored, too
        assert_400(client.get(ITEMS.format(collection), params={"datetime": value}), "datetime")


def test_temporal_property_is_documented_in_the_metadata(client, loaded_db):
    doc = client.get("/ogc/collections").json()
    by_id = {c["id"]: c for c in doc["collections"]}
    first, last = sql(loaded_db, "SELECT min(available_from), max(available_from) FROM premises")[0]
    temporal = by_id["premises"]["extent"]["temporal"]
    assert temporal["interval"] == [[f"{first}T00:00:00Z", f"{last}T00:00:00Z"]]
    assert temporal["trs"].endswith("ISO-8601/0/Gregorian")
    assert "Temporal property: available_from" in by_id["premises"]["description"]
    assert "Temporal property: updated_at" in by_id["hubs"]["description"]
    assert "Temporal property" not in by_id["boundary"]["description"]
    assert "temporal" not in by_id["boundary"]["extent"]
    hubs_last = sql(loaded_db, "SELECT max(updated_at) FROM hubs")[0][0]
    assert by_id["hubs"]["extent"]["temporal"]["interval"][0][1].startswith(
        hubs_last.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    )
    queryables = client.get("/ogc/collections/premises/queryables").json()["properties"]
    assert queryables["available_from"]["x-ogc-role"] == "primary-instant"
    assert [n for n, p in queryables.items() if "x-ogc-role" in p] == ["available_from"]
    api = client.get("/ogc/api").json()
    params = api["paths"]["/ogc/collections/{collection_id}/items"]["get"]["parameters"]
    assert "RFC 3339" in next(p for p in params if p["name"] == "datetime")["description"]


# -- HEAD, /ogc/ ------------------------------------------------------------------------------
HEAD_URLS = [
    "/ogc",
    "/ogc/",
    "/ogc?f=html",
    "/ogc/conformance",
    "/ogc/api",
    "/ogc/collections",
    "/ogc/collections/premises",
    "/ogc/collections/premises/queryables",
    "/ogc/collections/premises/items?limit=3",
    "/ogc/collections/premises/items?limit=3&f=html",
    "/ogc/collections/premises/items/sample-001",
    "/ogc/collections/nope",
    "/ogc/collections/premises/items?bbox=x",
    "/healthz",
    "/premises?limit=2",
    "/openapi.json",
    "/docs",
    "/maps/overview",
]


@pytest.mark.parametrize("url", HEAD_URLS)
def test_head_answers_like_get_without_a_body(client, url):
    # the body as it is (httpx decodes compressed bodies, so len(content) is the wire length only
    # uncompressed); compression: below
    plain = {"Accept-Encoding": "identity"}
    get = client.get(url, headers=plain)
    head = client.head(url, headers=plain)
    assert head.status_code == get.status_code, url
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert int(head.headers["content-length"]) == len(get.content)
    for name in ("link", "content-crs"):
        assert head.headers.get(name) == get.headers.get(name), name
    # compressed (issue 17): HEAD names the coding and the length a GET sends on the wire
    gz = {"Accept-Encoding": "gzip"}
    get, head = client.get(url, headers=gz), client.head(url, headers=gz)
    assert head.status_code == get.status_code and head.content == b"", url
    for name in ("content-type", "content-encoding", "etag", "link"):
        assert head.headers.get(name) == get.headers.get(name), name
    # an items page carries the time it was made (timeStamp): two makings of it may compress to
    # a byte more or less
    if "timeStamp" not in get.text:
        assert head.headers["content-length"] == get.headers["content-length"], url


def test_head_on_static_files_and_on_write_only_routes(client):
    static = "/static/" + next(p.name for p in sorted(STATIC_DIR.iterdir()) if p.suffix == ".js")
    get, head = client.get(static), client.head(static)
    assert head.status_code == get.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    # where GET does not exist, neither does HEAD: 405 naming what does
    assert client.get("/assessments").status_code == client.head("/assessments").status_code


def test_landing_page_is_served_at_the_trailing_slash_too(client):
    for url in ("/ogc/", "/ogc/?f=json"):
        r = client.get(url, follow_redirects=False)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json", url
        doc = r.json()
        assert {"conformance", "data", "service-desc"} <= {link["rel"] for link in doc["links"]}
    html = client.get("/ogc/", headers={"accept": "text/html"}, follow_redirects=False)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert client.get("/ogc/", follow_redirects=False).json()["links"][0]["href"].endswith("/ogc/")


# -- Link headers -----------------------------------------------------------------------------
LINK = re.compile(r'<([^>]*)>((?:\s*;\s*[\w*]+=(?:"[^"]*"|[^,;]*))*)')


def parse_link_header(value: str) -> list[dict[str, str]]:
    links = []
    for href, params in LINK.findall(value):
        link = {"href": href}
        for key, raw in re.findall(r';\s*([\w*]+)=("[^"]*"|[^,;]*)', params):
            link[key] = raw.strip('"')
        links.append(link)
    return links


@pytest.mark.parametrize(
    "url",
    [
        "/ogc",
        "/ogc/collections",
        "/ogc/collections/hubs",
        "/ogc/collections/premises/items?limit=5&offset=5",
        "/ogc/collections/premises/items/sample-001",
    ],
)
def test_links_are_repeated_as_link_headers(client, url):
    r = client.get(url)
    assert r.status_code == 200
    header = parse_link_header(r.headers["link"])
    links = r.json()["links"]
    assert [(h["href"], h["rel"], h["type"]) for h in header] == [
        (link["href"], link["rel"], link["type"]) for link in links
    ]
    rels = {link["rel"] for link in header}
    assert {"self", "alternate"} <= rels
    if "items?" in url:
        assert {"next", "prev"} <= rels


def test_html_pages_carry_their_own_links_as_headers(client):
    r = client.get("/ogc/collections/premises/items?limit=5&offset=5&f=html")
    header = {link["rel"]: link for link in parse_link_header(r.headers["link"])}
    assert header["self"]["type"] == "text/html" and "f=html" in header["self"]["href"]
    assert header["alternate"]["type"] == "application/geo+json"
    assert header["next"]["type"] == header["prev"]["type"] == "text/html"


def test_link_header_escapes_what_a_header_cannot_hold(client):
    r = client.get("/ogc/collections/areas")
    assert "næringsområder" in r.json()["links"][0]["title"]
    assert r.headers["link"].isascii() and "title" not in r.headers["link"]  # titles: in the body
    r = client.get(ITEMS.format("premises"), params={"filter": "address <> '<ø \"x\">'"})
    assert r.status_code == 200
    self_href = parse_link_header(r.headers["link"])[0]["href"]
    assert self_href.isascii() and not re.search(r'[<>" ]', self_href)


# -- CQL2 -------------------------------------------------------------------------------------
def test_quote_written_twice_is_one_quote(client, loaded_db):
    execute(loaded_db, "UPDATE premises SET address = 'O''Briens gate 1' WHERE id = 'sample-002'")
    assert item_ids(client, "premises", filter="address = 'O''Briens gate 1'") == ["sample-002"]
    assert item_ids(client, "premises", filter="address LIKE '%''B%'") == ["sample-002"]
    everything = item_ids(client, "premises")
    assert item_ids(client, "premises", filter="address <> ''''") == everything
    assert item_ids(client, "premises", filter="address IN ('x''y', 'O''Briens gate 1')") == [
        "sample-002"
    ]
    assert_400(client.get(ITEMS.format("premises"), params={"filter": "address = 'O'Brien'"}),
               "filter")  # fmt: skip


@pytest.mark.parametrize("sortby", ["--id", "+-id", "-+floor_area_m2", "++id", "-"])
def test_sortby_takes_one_sign(client, sortby):
    assert_400(client.get(ITEMS.format("premises"), params={"sortby": sortby}), "sortby")


def test_sortby_with_one_sign_still_works(client, loaded_db):
    r = client.get(ITEMS.format("premises"), params={"sortby": "-id", "limit": 3})
    assert [f["id"] for f in r.json()["features"]] == [
        row[0] for row in sql(loaded_db, "SELECT id FROM premises ORDER BY id DESC LIMIT 3")
    ]
    r = client.get(ITEMS.format("premises"), params={"sortby": " floor_area_m2", "limit": 3})
    assert r.status_code == 200  # "+floor_area_m2" with the plus not percent-encoded


def test_casei_compares_without_case_also_beyond_ascii(client, loaded_db):
    address = sql(loaded_db, "SELECT address FROM premises WHERE address LIKE 'Skå%' LIMIT 1")[0][0]
    same = sql_ids(loaded_db, "premises", "address = %s", address)
    upper = address.upper()  # SKÅRERSLETTA …: Å folds only where lower() knows Unicode
    assert upper != address
    for cql in (
        f"CASEI(address) = CASEI('{upper}')",
        f"CASEI(address) IN (CASEI('nowhere'), CASEI('{upper}'))",
        f"CASEI(address) LIKE CASEI('{upper[:14]}%') AND address = '{address}'",
    ):
        assert item_ids(client, "premises", filter=cql) == same, cql
    skaa = sql_ids(loaded_db, "premises", "address ILIKE 'skårersletta%'")
    assert len(skaa) > 1
    assert item_ids(client, "premises", filter="CASEI(address) LIKE CASEI('SKÅRERSLETTA%')") == skaa
    as_json = {"op": "like", "args": [{"op": "casei", "args": [{"property": "address"}]},
                                      {"op": "casei", "args": ["SKÅRERSLETTA%"]}]}  # fmt: skip
    got = item_ids(
        client, "premises", **{"filter": json.dumps(as_json), "filter-lang": "cql2-json"}
    )
    assert got == skaa
    # full case folding: ß is ss
    execute(loaded_db, "UPDATE premises SET address = 'Große Straße 1' WHERE id = 'sample-003'")
    assert item_ids(client, "premises", filter="CASEI(address) = CASEI('GROSSE STRASSE 1')") == [
        "sample-003"
    ]
    assert item_ids(client, "premises", filter=f"address = '{upper}'") == []  # without: exact


def test_accenti_compares_without_accents(client, loaded_db):
    execute(loaded_db, "UPDATE premises SET address = 'Café Élysée 1' WHERE id = 'sample-004'")
    for cql in (
        "ACCENTI(address) = ACCENTI('Cafe Elysee 1')",
        "ACCENTI(address) = 'Cafe Elysee 1'",
        "CASEI(ACCENTI(address)) = CASEI(ACCENTI('CAFÉ ELYSEE 1'))",
        "ACCENTI(address) LIKE 'Cafe%'",
    ):
        assert item_ids(client, "premises", filter=cql) == ["sample-004"], cql
    as_json = {"op": "=", "args": [{"op": "accenti", "args": [{"property": "address"}]},
                                   {"op": "accenti", "args": ["Cafe Elysee 1"]}]}  # fmt: skip
    got = item_ids(
        client, "premises", **{"filter": json.dumps(as_json), "filter-lang": "cql2-json"}
    )
    assert got == ["sample-004"]
    assert item_ids(client, "premises", filter="address = 'Cafe Elysee 1'") == []
    # å is a + a combining ring: ACCENTI drops it; ø is a letter of its own and stays
    skaa = sql_ids(loaded_db, "premises", "address LIKE 'Skårersletta%'")
    assert item_ids(client, "premises", filter="ACCENTI(address) LIKE 'Skarersletta%'") == skaa


def test_conformance_declares_case_and_accent_insensitive_comparison(client):
    classes = client.get("/ogc/conformance").json()["conformsTo"]
    for name in ("case-insensitive-comparison", "accent-insensitive-comparison"):
        assert f"http://www.opengis.net/spec/cql2/1.0/conf/{name}" in classes


@pytest.mark.parametrize(
    ("cql", "message"),
    [
        ("SOUNDEX(address) = 'x'", "supported: CASEI, ACCENTI"),
        ("CASEI(floor_area_m2) = 'x'", "CASEI() needs text"),
        ("ACCENTI(uses) = 'x'", "ACCENTI() needs text"),
        ("CASEI(address, address) = 'x'", "one argument"),
    ],
)
def test_unsupported_or_misused_functions_are_400(client, cql, message):
    assert_400(client.get(ITEMS.format("premises"), params={"filter": cql}), "filter", message)


def test_cql2_json_between_as_the_standard_writes_it(client, loaded_db):
    as_json = {"op": "between", "args": [{"property": "floor_area_m2"}, 300, 1500]}
    got = item_ids(
        client, "premises", **{"filter": json.dumps(as_json), "filter-lang": "cql2-json"}
    )
    assert got == sql_ids(loaded_db, "premises", "floor_area_m2 BETWEEN 300 AND 1500")


# -- numbers out of range ---------------------------------------------------------------------
def _json(op: str, *args) -> str:
    return json.dumps({"op": op, "args": [{"property": "floor_area_m2"}, *args]})


OVERFLOWING = [
    ("cql2-text", f"floor_area_m2 > {BIG}"),
    ("cql2-text", f"floor_area_m2 > -{BIG}"),
    ("cql2-text", f"floor_area_m2 > {BIG}.5"),
    ("cql2-text", "floor_area_m2 > 1e400"),
    ("cql2-text", "floor_area_m2 > 2e300"),
    ("cql2-text", f"floor_area_m2 IN (1, {BIG})"),
    ("cql2-text", f"floor_area_m2 NOT IN ({BIG})"),
    ("cql2-text", f"floor_area_m2 BETWEEN 1 AND {BIG}"),
    ("cql2-text", f"floor_area_m2 BETWEEN -{BIG} AND 1"),
    ("cql2-text", f"BBOX(geometry, 10, 59, 11, {BIG})"),
    ("cql2-text", f"S_INTERSECTS(geometry, BBOX(10, 59, 11, {BIG}))"),
    ("cql2-text", f"S_INTERSECTS(geometry, ENVELOPE(10 {BIG} 59 60))"),
    ("cql2-text", f"S_INTERSECTS(geometry, POINT(10 {BIG}))"),
    ("cql2-text", f"{BIG} = {BIG}"),
    ("cql2-text", f"version = {BIG}"),
    ("cql2-text", "version = 9223372036854775808"),  # one past bigint
    ("cql2-text", "version > 1e19"),
    ("cql2-text", f"id = {BIG}"),
    ("cql2-text", "floor_area_m2 > " + "9" * 5000),
    ("cql2-json", _json(">", int(BIG))),
    ("cql2-json", _json(">", -int(BIG))),
    ("cql2-json", _json("in", [1, int(BIG)])),
    ("cql2-json", _json("between", 1, int(BIG))),
    ("cql2-json", json.dumps({"op": "s_intersects", "args": [{"property": "geometry"},
                                                             {"bbox": [10, 59, 11, int(BIG)]}]})),
    ("cql2-json", json.dumps({"op": "s_intersects", "args": [{"property": "geometry"},
                              {"type": "Point", "coordinates": [10, int(BIG)]}]})),
    ("cql2-json", '{"op": ">", "args": [{"property": "floor_area_m2"}, 1e400]}'),
    ("cql2-json", '{"op": ">", "args": [{"property": "floor_area_m2"}, NaN]}'),
    ("cql2-json", '{"op": ">", "args": [{"property": "floor_area_m2"}, -Infinity]}'),
    ("cql2-json", '{"op": ">", "args": [{"property": "floor_area_m2"}, ' + "9" * 5000 + "]}"),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "cql"), OVERFLOWING, ids=lambda v: str(v)[:50])
def test_numbers_out_of_range_in_filters_are_400(client, lang, cql):
    r = client.get(ITEMS.format("premises"), params={"filter": cql, "filter-lang": lang})
    assert_400(r, "filter")


def test_numbers_in_range_still_work(client, loaded_db):
    assert item_ids(client, "premises", filter="floor_area_m2 < 1e300") == item_ids(
        client, "premises"
    )
    assert item_ids(client, "premises", filter="version < 9223372036854775807") == item_ids(
        client, "premises"
    )
    assert item_ids(client, "catchments", filter="id = 9223372036854775807") == []
    big = {"op": "<", "args": [{"property": "floor_area_m2"}, 10**299]}
    assert len(item_ids(client, "premises", filter=json.dumps(big), **{"filter-lang": "cql2-json"}))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"offset": "9" * 5000}, "offset"),
        ({"offset": BIG}, "offset"),
        ({"limit": "-" + "9" * 5000}, "limit"),
        ({"bbox": f"10,59,11,{BIG}"}, "bbox"),
        ({"floor_area_m2": BIG}, "floor_area_m2"),
    ],
)
def test_huge_numbers_in_other_parameters_are_400(client, params, field):
    assert_400(client.get(ITEMS.format("premises"), params=params), field)


def test_huge_limit_of_any_length_is_clamped(client):
    doc = client.get(ITEMS.format("premises"), params={"limit": "9" * 5000}).json()
    assert doc["numberReturned"] == doc["numberMatched"]


def test_number_bounds_are_documented(client):
    api = client.get("/ogc/api").json()
    params = api["paths"]["/ogc/collections/{collection_id}/items"]["get"]["parameters"]
    text = next(p for p in params if p["name"] == "filter")["description"]
    assert "1e300" in text and "64-bit" in text
