"""Any municipality: the national register, serving one or several municipalities, and the
kommunenummer every feature keeps (migration 0005).

Each test that changes which municipalities a store serves gets a store of its own
(:func:`store`), so the session's test database keeps serving Lørenskog.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient

from api.app import create_app
from geoplan.config import get_settings
from geoplan.errors import ValidationError
from geoplan.geo import region
from geoplan.geo.municipalities import kommunenummer_at, parse_kommuner, served
from geoplan.ingest.files import ImportOptions, import_file
from geoplan.ingest.municipalities import (
    backfill,
    load_national,
    national_file,
    read_national,
    refresh,
    serve,
)
from geoplan.ingest.shipped import load_layers
from geoplan.ingest.validation import RowValidationError
from geoplan.premises import PremisesQuery, search
from geoplan.proximity import coverage_report
from geoplan.store import db
from tests.api.test_assessment_api import KEY, add_key
from tests.conftest import LAYERS_DIR

JERNBANETORGET = (10.7522, 59.9111)  # Oslo
LORENSKOG_HUS = (10.9548, 59.9267)  # Lørenskog
LILLESTROM_TORV = (11.0488, 59.9560)  # Lillestrøm
RAELINGEN_SENTRUM = (11.0303, 59.9265)  # Fjerdingby, Rælingen


@pytest.fixture
def store(make_database: Callable[[], str], monkeypatch) -> Iterator[Callable[..., str]]:
    """``store("0301")``: a new migrated store with the national register, serving those
    municipalities with what ``geoplan load`` ships for them; GEOPLAN_DATABASE_URL points at it."""

    def make(*numbers: str) -> str:
        url = make_database()
        db.upgrade(url=url)
        with db.transaction(url) as conn:
            refresh(conn, LAYERS_DIR)
            if numbers:
                serve(conn, numbers)
                load_layers(conn, LAYERS_DIR, kommuner=numbers)
        monkeypatch.setenv("GEOPLAN_DATABASE_URL", url)
        get_settings.cache_clear()
        return url

    yield make
    get_settings.cache_clear()


def _point_25833(conn: psycopg.Connection, lon: float, lat: float) -> tuple[float, float]:
    return conn.execute(
        "SELECT ST_X(g), ST_Y(g) FROM (SELECT ST_Transform(ST_SetSRID("
        "ST_MakePoint(%s, %s), 4326), 25833) AS g) s",
        (lon, lat),
    ).fetchone()


def _premises_file(path: Path, *features: tuple[str, tuple[float, float], dict]) -> Path:
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": list(lonlat)},
                        "properties": {
                            "id": pid,
                            "address": f"{pid} (test)",
                            "uses": "office",
                            "floor_area_m2": 400,
                            **props,
                        },
                    }
                    for pid, lonlat, props in features
                ],
            }
        )
    )
    return path


# -- the national register ----------------------------------------------------------------------
def test_the_national_register_is_valid_after_repair_and_loaded_once(make_database):
    url = make_database()
    db.upgrade(url=url)
    path = national_file(LAYERS_DIR)
    with db.transaction(url) as conn:
        first = load_national(conn, path)
        again = load_national(conn, path)
        n, valid, area_km2, oslo = conn.execute(
            "SELECT count(*), bool_and(ST_IsValid(geom) AND NOT ST_IsEmpty(geom)), "
            "sum(ST_Area(geom)) / 1e6, max(name) FILTER (WHERE kommunenummer = '0301') "
            "FROM municipalities"
        ).fetchone()
        licences = conn.execute("SELECT DISTINCT licence FROM municipalities").fetchall()
    assert (first.municipalities, first.loaded) == (357, True)
    # 33 polygons of the generalised file cross themselves; each is repaired, none lost
    assert first.repaired == 33
    assert (again.loaded, again.municipalities) == (False, 357)
    assert n == 357 and valid and oslo == "Oslo"
    assert 323_000 < area_km2 < 324_200  # Norway's mainland: 323 800 km² (SSB)
    assert licences == [("CC BY 4.0 © Kartverket",)]


def test_kommunenummer_is_four_digits_and_must_exist():
    assert parse_kommuner("3205, 3222;3224 3222") == ("3205", "3222", "3224")
    assert parse_kommuner(["0301"]) == ("0301",)
    for bad in ("abc", "03011", "301", ""):
        with pytest.raises(ValidationError) as err:
            parse_kommuner(bad, "--kommune")
        assert "--kommune" in str(err.value) and (bad == "" or repr(bad) in str(err.value))
    national = read_national(national_file(LAYERS_DIR))
    assert national.names["3222"] == "Lørenskog" and len(national.names) == 357
    with pytest.raises(ValidationError, match="unknown kommunenummer '9999'"):
        national.check_known(["0301", "9999"])


# -- one municipality: Oslo ---------------------------------------------------------------------
def test_a_store_for_oslo_serves_oslo_and_nothing_of_lorenskog(store, tmp_path):
    url = store("0301")
    with db.connect(url) as conn:
        assert [(k.kommunenummer, k.name) for k in served(conn)] == [("0301", "Oslo")]
        boundary = conn.execute("SELECT id, name, kommunenummer, licence FROM boundary").fetchall()
        assert boundary == [("0301", "Oslo", "0301", "CC BY 4.0 © Kartverket")]
        counts = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in
                  ("areas", "hubs", "premises")]  # fmt: skip
        assert counts == [0, 0, 0]  # Lørenskog's sample is never loaded into Oslo's store
        # region checks: Jernbanetorget is in the municipality, Lørenskog hus is not
        assert region.in_municipality(conn, *_point_25833(conn, *JERNBANETORGET))
        assert not region.in_municipality(conn, *_point_25833(conn, *LORENSKOG_HUS))
        assert region.municipality(conn).name == "Oslo kommune"
        # running `geoplan load` again changes nothing and loads no sample
        assert load_layers(conn, LAYERS_DIR) == []
        assert conn.execute("SELECT count(*) FROM premises").fetchone()[0] == 0

    add_key(url, KEY)
    auth = {"Authorization": f"Bearer {KEY}"}
    listing = {
        "type": "Feature",
        "properties": {"address": "Jernbanetorget 1", "uses": ["office"], "floor_area_m2": 300},
    }
    with TestClient(create_app(database_url=url)) as client:
        oslo = {**listing, "geometry": {"type": "Point", "coordinates": list(JERNBANETORGET)}}
        created = client.post("/premises", json=oslo, headers=auth)
        assert created.status_code == 201, created.text
        assert created.json()["properties"]["kommunenummer"] == "0301"
        lorenskog = {**listing, "geometry": {"type": "Point", "coordinates": list(LORENSKOG_HUS)}}
        refused = client.post("/premises", json=lorenskog, headers=auth)
        assert refused.status_code == 422
        assert "outside the municipality" in refused.text
        # the maps centre on Oslo and are titled with its name
        page = client.get("/").text
        assert "<title>Oslo – næringsområder" in page
        assert "Ingen fokusområder er lastet for Oslo" in page
        assert "Lørenskog" not in page.split("<body")[0]
        bounds = json.loads(page.split(".fitBounds(\n")[1].split(",\n")[0].strip())
        (south, west), (north, east) = bounds
        assert south < JERNBANETORGET[1] < north and west < JERNBANETORGET[0] < east
        coll = client.get("/ogc/collections/boundary").json()
        assert coll["description"].startswith("The boundary of Oslo kommune")
        assert "Oslo kommune" in client.get("/ogc").json()["description"]


def test_assessment_in_a_municipality_without_policy_says_so_and_gives_no_verdict(store):
    url = store("0301")
    add_key(url, KEY)
    site = {"type": "Point", "coordinates": list(JERNBANETORGET)}
    case = {"site": site, "use": "office", "floor_area_m2": 2500}
    with TestClient(create_app(database_url=url)) as client:
        r = client.post("/assessments", json=case, headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["title"] == "No assessment policy for this municipality"
    assert problem["detail"].startswith("no assessment policy is loaded for Oslo kommune (0301)")
    assert "verdict" not in problem
    with db.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM assessments").fetchone()[0] == 0


# -- several municipalities: Nedre Romerike -----------------------------------------------------
def test_nedre_romerike_keeps_each_features_kommunenummer(store, tmp_path):
    url = store("3205", "3222", "3224")
    with db.transaction(url) as conn:
        assert [k.kommunenummer for k in served(conn)] == ["3205", "3222", "3224"]
        sources = dict(conn.execute("SELECT kommunenummer, source FROM boundary").fetchall())
        assert "robhop" in sources["3205"] and "robhop" in sources["3224"]
        assert sources["3222"].startswith("Kartverket")  # Lørenskog's finer shipped boundary
        # Lørenskog's sample layers are loaded (the store serves 3222), each row with 3222
        by_table = {
            t: dict(conn.execute(f"SELECT kommunenummer, count(*) FROM {t} GROUP BY 1"))
            for t in ("areas", "premises")
        }
        assert by_table == {"areas": {"3222": 6}, "premises": {"3222": 45}}
        hubs = dict(conn.execute("SELECT id, kommunenummer FROM hubs"))
        assert hubs["lillestrom_st"] == "3205" and hubs["lorenskog_st"] == "3222"
        # a premises in Lillestrøm, imported without a kommunenummer, gets 3205 by itself
        path = _premises_file(
            tmp_path / "romerike.geojson",
            ("lsk-1", LILLESTROM_TORV, {}),
            ("rlg-1", RAELINGEN_SENTRUM, {}),
            ("named-1", LILLESTROM_TORV, {"kommunenummer": "3222"}),  # as the data says
        )
        import_file(conn, path, "premises", ImportOptions())
        rows = dict(conn.execute("SELECT id, kommunenummer FROM premises WHERE id LIKE '%%-1'"))
        assert rows == {"lsk-1": "3205", "rlg-1": "3224", "named-1": "3222"}
        # moving a listing derives its number again
        x, y = _point_25833(conn, *RAELINGEN_SENTRUM)
        conn.execute(
            "UPDATE premises SET geom = ST_SetSRID(ST_MakePoint(%s, %s), 25833) WHERE id = 'lsk-1'",
            (x, y),
        )
        assert conn.execute("SELECT kommunenummer FROM premises WHERE id = 'lsk-1'").fetchone() == (
            "3224",
        )
        # the stored OGC head carries it (the trigger of migration 0004, extended by 0010)
        head = conn.execute(
            "SELECT head FROM premises_features f JOIN premises p USING (seq) WHERE p.id = 'rlg-1'"
        ).fetchone()[0]
        assert '"kommunenummer" : "3224"' in head

        # search scoped to one or several municipalities
        only = search(conn, PremisesQuery(kommune=["3224"]))
        assert sorted(only.features["id"]) == ["lsk-1", "rlg-1"]
        both = search(conn, PremisesQuery(kommune=["3205", "3224"], limit=1000))
        assert both.number_matched == 2
        assert search(conn, PremisesQuery(kommune=["3222"], limit=1000)).number_matched == 46
        report = coverage_report(conn, kommuner=["3224"])
        whole = next(r for r in report["rows"] if r["area_id"] == "municipality")
        assert report["kommuner"] == ["3224"] and whole["premises"] == 2
        assert [r for r in report["rows"] if r["area_id"] != "municipality"] == []

    with TestClient(create_app(database_url=url)) as client:
        r = client.get("/premises", params={"kommune": "3205,3224"})
        assert r.status_code == 200 and r.json()["numberMatched"] == 2
        assert {f["properties"]["kommunenummer"] for f in r.json()["features"]} == {"3224"}
        for bad, message in (("abc", "'abc' is not a kommunenummer"),
                             ("9999", "unknown kommunenummer '9999'")):  # fmt: skip
            r = client.get("/premises", params={"kommune": bad})
            assert r.status_code == 422 and message in r.text, r.text
            assert r.json()["errors"][0]["field"] == "kommune"
        # OGC: kommunenummer is queryable on every layer, as a CQL2 filter and a simple one
        for coll in ("premises", "hubs", "areas", "boundary"):
            queryables = client.get(f"/ogc/collections/{coll}/queryables").json()
            assert "kommunenummer" in queryables["properties"], coll
        items = client.get(
            "/ogc/collections/premises/items",
            params={"filter": "kommunenummer='3222'", "limit": 1000},
        ).json()
        assert items["numberMatched"] == 46
        assert {f["properties"]["kommunenummer"] for f in items["features"]} == {"3222"}
        hubs = client.get("/ogc/collections/hubs/items", params={"kommunenummer": "3205"})
        assert [f["id"] for f in hubs.json()["features"]] == ["lillestrom_st"]
        both = client.get(
            "/ogc/collections/boundary/items",
            params={"filter": "kommunenummer IN ('3205','3224')"},
        ).json()
        assert sorted(f["id"] for f in both["features"]) == ["3205", "3224"]
        # maps: titled with all three, or scoped to one
        assert "<title>Lillestrøm, Lørenskog og Rælingen – næringsområder" in client.get("/").text
        scoped = client.get("/maps/overview", params={"kommune": "3205"})
        assert scoped.status_code == 200 and "<title>Lillestrøm – næringsområder" in scoped.text
        assert client.get("/maps/overview", params={"kommune": "03011"}).status_code == 422
        search_map = client.get("/maps/premises", params={"kommune": "3224"})
        assert "<title>Ledige lokaler i Rælingen – søk" in search_map.text
        coverage = client.get("/proximity/coverage", params={"kommune": "3205"}).json()
        assert coverage["kommuner"] == ["3205"]


def test_the_policy_applies_to_its_own_municipality_only(store):
    url = store("3205", "3222")
    add_key(url, KEY)
    auth = {"Authorization": f"Bearer {KEY}"}
    case = {"use": "office", "floor_area_m2": 800}
    with TestClient(create_app(database_url=url)) as client:
        lsk = {"type": "Point", "coordinates": list(LILLESTROM_TORV)}
        r = client.post("/assessments", json={**case, "site": lsk}, headers=auth)
        assert r.status_code == 409
        assert "Lillestrøm kommune (3205)" in r.json()["detail"]
        lorenskog = {"type": "Point", "coordinates": list(LORENSKOG_HUS)}
        r = client.post("/assessments", json={**case, "site": lorenskog}, headers=auth)
        assert r.status_code == 201, r.text
        municipality = r.json()["facts"]["municipality"]
        assert (municipality["name"], municipality["kommunenummer"]) == ("Lørenskog", "3222")


def test_a_file_kommunenummer_is_checked(loaded_db, tmp_path):
    path = _premises_file(
        tmp_path / "bad.geojson",
        ("a-1", LORENSKOG_HUS, {"kommunenummer": "301"}),
        ("a-2", LORENSKOG_HUS, {"kommunenummer": "Lørenskog"}),
    )
    with pytest.raises(RowValidationError) as err, db.transaction(loaded_db) as conn:
        import_file(conn, path, "premises", ImportOptions())
    assert "row 1: kommunenummer '301' is not valid; it must be four digits" in str(err.value)
    assert "row 2" in str(err.value)


def test_the_derivation_follows_the_served_boundary_then_the_register(loaded_db, conn):
    def at(lon: float, lat: float) -> str | None:
        x, y = _point_25833(conn, lon, lat)
        return kommunenummer_at(conn, shapely.Point(x, y))

    assert at(*LORENSKOG_HUS) == "3222"  # the served (finer) boundary
    assert at(*JERNBANETORGET) == "0301"  # the national register
    assert at(*LILLESTROM_TORV) == "3205"
    assert at(5.3221, 60.3913) == "4601"  # Bergen
    assert at(2.35, 48.86) is None  # Paris: no Norwegian municipality
    assert backfill(conn) == {"boundary": 0, "areas": 0, "hubs": 0, "premises": 0}


# -- an existing installation ---------------------------------------------------------------------
def _store_at_0004_with_data(make_database: Callable[[], str]) -> str:
    """A store migrated to 0004 holding Lørenskog's boundary, a focus area, a hub and two
    premises (one with its stored OGC head), written as the 0004 schema allows."""
    url = make_database()
    db.upgrade("0004", url=url)
    boundary = json.loads((LAYERS_DIR / "boundary.geojson").read_text())["features"][0]
    with psycopg.connect(db.conninfo(url)) as conn:
        conn.execute(
            "INSERT INTO boundary (id, name, kommunenummer, source, geom) VALUES ('3222', "
            "'Lørenskog', '3222', 'Kartverket', ST_Multi(ST_Transform(ST_SetSRID("
            "ST_GeomFromGeoJSON(%s), 4326), 25833)))",
            (json.dumps(boundary["geometry"]),),
        )
        conn.execute(
            "INSERT INTO areas (id, name, role, source, geom) VALUES ('sentrum', 'Sentrum', "
            "'centre', 's', ST_Multi(ST_Buffer(ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), "
            "4326), 25833), 200)))",
            LORENSKOG_HUS,
        )
        conn.execute(
            "INSERT INTO hubs (id, name, mode, source, geom) VALUES ('h1', 'Hub', 'rail', 's', "
            "ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), 25833))",
            LORENSKOG_HUS,
        )
        for pid, (lon, lat) in (("p1", LORENSKOG_HUS), ("p2", JERNBANETORGET)):
            conn.execute(
                "INSERT INTO premises (id, address, uses, floor_area_m2, source, geom) VALUES "
                "(%s, 'x', '{office}', 100, 's', "
                "ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), 25833))",
                (pid, lon, lat),
            )
    return url


def test_an_existing_store_migrates_in_place(make_database):
    url = _store_at_0004_with_data(make_database)
    db.upgrade(url=url)
    query = {
        t: f"SELECT kommunenummer FROM {t} ORDER BY id"
        for t in ("boundary", "areas", "hubs", "premises")
    }
    with psycopg.connect(db.conninfo(url)) as conn:
        assert conn.execute(query["premises"]).fetchall() == [(None,), (None,)]
        assert conn.execute(query["boundary"]).fetchall() == [("3222",)]  # it had one
        heads = [r[0] for r in conn.execute("SELECT head FROM premises_features")]
        assert len(heads) == 2 and all('"kommunenummer" : null' in h for h in heads)
        versions = conn.execute("SELECT id, version, updated_at FROM premises").fetchall()

    with db.transaction(url) as conn:  # what `geoplan db up` and `geoplan load` run
        done = refresh(conn, LAYERS_DIR)
    assert done.register.municipalities == 357
    assert done.backfilled == {"boundary": 0, "areas": 1, "hubs": 1, "premises": 2}
    with psycopg.connect(db.conninfo(url)) as conn:
        assert conn.execute(query["areas"]).fetchall() == [("3222",)]
        assert conn.execute(query["hubs"]).fetchall() == [("3222",)]
        assert conn.execute(query["premises"]).fetchall() == [("3222",), ("0301",)]
        heads = dict(
            conn.execute(
                "SELECT p.id, f.head FROM premises_features f JOIN premises p USING (seq)"
            ).fetchall()
        )
        assert '"kommunenummer" : "3222"' in heads["p1"]
        assert '"kommunenummer" : "0301"' in heads["p2"]
        # a derived value is not a listing change: no new version, no history entry
        assert conn.execute("SELECT id, version, updated_at FROM premises").fetchall() == versions
        assert conn.execute("SELECT count(*) FROM premises_history").fetchone()[0] == 0
        # the store keeps serving Lørenskog; `geoplan load` then adds its shipped layers
    with db.transaction(url) as conn:
        load_layers(conn, LAYERS_DIR)
        missing = "SELECT count(*) FROM premises WHERE kommunenummer IS NULL"
        assert conn.execute(missing).fetchone() == (0,)
    # and back: 0010 (and the revisions after 0004) revert cleanly
    db.downgrade("0004", url=url)
    with psycopg.connect(db.conninfo(url)) as conn:
        heads = [r[0] for r in conn.execute("SELECT head FROM premises_features")]
        assert heads and not any("kommunenummer" in h for h in heads)
    db.upgrade(url=url)
