"""The fields premises seekers filter on and units (issue 13, item 4): register writes, history,
validation naming the field, and the search's unit semantics."""

from __future__ import annotations

import json
from datetime import date

import pytest

from geoplan import premises
from geoplan.errors import ValidationError
from geoplan.premises import PremisesQuery

LORENSKOG_HUS = [10.9548, 59.9267]


def listing(**overrides) -> dict:
    data = {
        "geometry": {"type": "Point", "coordinates": LORENSKOG_HUS},
        "address": "Festplassen 1, 1473 Lørenskog",
        "uses": ["office"],
        "floor_area_m2": 320.0,
        "rent_nok_m2_year": 2100,
    }
    data.update(overrides)
    return data


UNITS = [
    {"label": "1. etg.", "floor": 1, "area_m2": 250, "rent_nok_m2_year": 2400},
    {
        "label": "3. etg. vest",
        "floor": 3,
        "area_m2": 600.5,
        "rent_nok_m2_year": 1800,
        "available_from": "2027-06-01",
    },
    {"label": "4. etg.", "floor": 4, "area_m2": 900, "rent_nok_m2_year": 1500, "status": "let"},
]


def building(**overrides) -> dict:
    data = listing(
        floor_area_m2=None,
        rent_nok_m2_year=None,
        units=UNITS,
        workplaces=60,
        parking_spaces=12,
        energy_label="B",
        year_built=1998,
        year_renovated=2019,
        broker_org="Eksempel Næringsmegling AS",
    )
    data = {k: v for k, v in data.items() if v is not None}
    data.update(overrides)
    return data


def test_new_fields_are_stored_and_returned(loaded_db, conn):
    rec = premises.create(
        conn,
        listing(
            uses=["warehouse_logistics"],
            floor=1,
            workplaces=4,
            parking_spaces=10,
            energy_label="C",
            year_built=1987,
            year_renovated=2015,
            ceiling_height_m=8.5,
            loading_dock=True,
            broker_org="Lager & Logistikk Megling AS",
        ),
        "alice",
    )
    assert (rec["floor"], rec["workplaces"], rec["parking_spaces"]) == (1, 4, 10)
    assert (rec["energy_label"], rec["year_built"], rec["year_renovated"]) == ("C", 1987, 2015)
    assert rec["ceiling_height_m"] == 8.5 and rec["loading_dock"] is True
    assert rec["broker_org"] == "Lager & Logistikk Megling AS"
    assert rec["unit_count"] == 0 and rec["units"] == []
    # loading_dock may be unknown (null), unlike verified
    again = premises.update(conn, rec["id"], {"loading_dock": None}, "alice", partial=True)
    assert again["loading_dock"] is None and again["version"] == 2


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"energy_label": "H"}, "energy_label", "A, B, C, D, E, F, G"),
        ({"energy_label": "b"}, "energy_label", "one of"),
        ({"year_built": date.today().year + 1}, "year_built", "must not be in the future"),
        ({"year_renovated": 1700}, "year_renovated", "≥ 1800"),
        ({"year_built": 2000, "year_renovated": 1990}, "year_renovated", "year_built (2000)"),
        ({"workplaces": -3}, "workplaces", "≥ 0"),
        ({"workplaces": 2.5}, "workplaces", "whole number"),
        ({"parking_spaces": True}, "parking_spaces", "whole number"),
        ({"ceiling_height_m": 0}, "ceiling_height_m", "> 0"),
        ({"ceiling_height_m": 1e9}, "ceiling_height_m", "≤ 100"),
        ({"floor": 500}, "floor", "≤ 200"),
        ({"loading_dock": "ja"}, "loading_dock", "true or false"),
        ({"units": "three"}, "units", "list of units"),
        ({"units": [{"label": "A", "area_m2": -5}]}, "units[0].area_m2", "> 0"),
        ({"units": [{"area_m2": 50}]}, "units[0].label", "required"),
        ({"units": [{"label": "A", "area_m2": 5, "rent": 3}]}, "units[0].rent", "not a field"),
        ({"units": [{"label": "A", "area_m2": 5, "status": "solgt"}]}, "units[0].status", "let"),
        (
            {"units": [{"label": "A", "area_m2": 5}, {"label": "a", "area_m2": 6}]},
            "units[1].label",
            "also unit 0",
        ),
        (
            {"units": [{"label": "A", "area_m2": 5, "available_from": "1. mai"}]},
            "units[0].available_from",
            "YYYY-MM-DD",
        ),
    ],
)
def test_bad_values_are_refused_naming_the_field(loaded_db, conn, data, field, words):
    with pytest.raises(ValidationError) as info:
        premises.create(conn, listing(**data), "alice")
    fields = {e["field"]: e["message"] for e in info.value.errors}
    assert field in fields, info.value.errors
    assert words in fields[field]


def test_a_renovation_before_the_stored_year_built_is_refused_on_patch(loaded_db, conn):
    rec = premises.create(conn, listing(year_built=2005), "alice")
    with pytest.raises(ValidationError, match=r"year_renovated: must not be before year_built"):
        premises.update(conn, rec["id"], {"year_renovated": 2001}, "alice", partial=True)
    assert premises.get(conn, rec["id"])["version"] == 1


def test_units_decide_area_rent_and_availability(loaded_db, conn):
    rec = premises.create(conn, building(), "alice")
    assert rec["unit_count"] == 3
    assert [u["label"] for u in rec["units"]] == ["1. etg.", "3. etg. vest", "4. etg."]
    assert rec["units"][1] == {
        "label": "3. etg. vest",
        "floor": 3,
        "area_m2": 600.5,
        "rent_nok_m2_year": 1800,
        "available_from": "2027-06-01",
        "status": "available",
    }
    # the let unit (4. etg.) counts in neither area nor rent; a vacant unit without a date
    # is available now
    assert rec["floor_area_m2"] == 850.5
    assert rec["rent_nok_m2_year"] == 1800
    assert rec["available_from"] is None

    # a unit let: the building's derived values follow, one new version, history before/after
    units = [dict(u) for u in UNITS]
    units[0]["status"] = "let"
    changed = premises.update(conn, rec["id"], {"units": units}, "bob", partial=True)
    assert changed["version"] == 2
    assert (changed["floor_area_m2"], changed["rent_nok_m2_year"]) == (600.5, 1800)
    assert changed["available_from"] == "2027-06-01"
    history = premises.history(conn, rec["id"])
    assert [h["action"] for h in history] == ["create", "update"]
    assert history[1]["before"]["units"][0]["status"] == "available"
    assert history[1]["after"]["units"][0]["status"] == "let"
    assert history[1]["after"]["unit_count"] == 3

    # sending the record back unchanged is no change
    same = premises.update(
        conn,
        rec["id"],
        {k: changed[k] for k in ("geometry", "address", "uses", "floor_area_m2", "units")}
        | {"rent_nok_m2_year": 1800, "available_from": "2027-06-01", "status": "available"}
        | {k: changed[k] for k in ("workplaces", "parking_spaces", "energy_label")}
        | {k: changed[k] for k in ("year_built", "year_renovated", "broker_org")},
        "bob",
    )
    assert same["version"] == 2

    # an area that contradicts the units is refused, naming the field; nothing changes
    with pytest.raises(ValidationError, match=r"floor_area_m2: is derived from the listing's"):
        premises.update(conn, rec["id"], {"floor_area_m2": 999}, "bob", partial=True)
    assert premises.get(conn, rec["id"])["version"] == 2

    # removing the units makes it one space again, keeping the last area
    single = premises.update(conn, rec["id"], {"units": []}, "bob", partial=True)
    assert (single["unit_count"], single["units"], single["floor_area_m2"]) == (0, [], 600.5)
    assert (
        premises.update(conn, rec["id"], {"floor_area_m2": 500}, "bob", partial=True)[
            "floor_area_m2"
        ]
        == 500
    )


def test_a_listing_without_units_still_needs_its_area(loaded_db, conn):
    with pytest.raises(ValidationError, match=r"floor_area_m2: is required"):
        premises.create(conn, building(units=[]), "alice")


def _ids(conn, **filters) -> list[str]:
    return list(premises.search(conn, PremisesQuery(**filters)).features["id"])


def test_search_matches_a_building_when_any_vacant_unit_matches(loaded_db, conn):
    b = premises.create(conn, building(), "alice")["id"]
    # 850 m² vacant in total, but no single unit of 700 m²: not a match
    assert b not in _ids(conn, min_area_m2=700)
    assert b in _ids(conn, min_area_m2=600)
    # the let unit (900 m², 1500 kr) is not offered
    assert b not in _ids(conn, min_area_m2=800)
    assert b not in _ids(conn, max_rent_nok_m2=1600)
    # one unit must meet all unit filters together: 600.5 m² at 1800, from 2027-06-01
    assert b in _ids(conn, min_area_m2=500, max_rent_nok_m2=1900)
    assert b not in _ids(conn, min_area_m2=500, max_rent_nok_m2=1900, available_by=date(2027, 1, 1))
    assert b in _ids(conn, max_area_m2=300, available_by=date(2027, 1, 1))  # 1. etg., now
    assert b in _ids(conn, floor=3) and b not in _ids(conn, floor=4)
    # the response lists the matching units
    page = premises.search_features(conn, PremisesQuery(min_area_m2=500, limit=1000))

    feature = next(f for f in json.loads(page.features_json) if f["id"] == b)
    assert [u["label"] for u in feature["properties"]["units"]] == ["3. etg. vest"]
    assert feature["properties"]["unit_count"] == 3


def test_search_by_the_new_fields(loaded_db, conn):
    office = premises.create(
        conn,
        listing(workplaces=50, parking_spaces=20, energy_label="B", year_built=2012),
        "alice",
    )["id"]
    warehouse = premises.create(
        conn,
        listing(
            uses=["warehouse_logistics"],
            ceiling_height_m=9.0,
            loading_dock=True,
            energy_label="E",
            year_built=1975,
            year_renovated=2021,
            broker_org="Lager & Logistikk Megling AS",
        ),
        "alice",
    )["id"]
    assert office in _ids(conn, min_workplaces=40) and warehouse not in _ids(conn, min_workplaces=1)
    assert office in _ids(conn, min_parking=20) and office not in _ids(conn, min_parking=21)
    assert office in _ids(conn, max_energy_label="C")
    assert warehouse not in _ids(conn, max_energy_label="C")
    assert warehouse in _ids(conn, max_energy_label="E")
    # built or renovated in that year or later
    assert {office, warehouse} <= set(_ids(conn, built_after=2010))
    assert warehouse not in _ids(conn, built_after=2022)
    assert warehouse in _ids(conn, min_ceiling_height_m=8, loading_dock=True)
    assert office not in _ids(conn, loading_dock=True)
    assert _ids(conn, broker_org="logistikk megling") == [warehouse]


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"max_energy_label": "H"}, "max_energy_label"),
        ({"min_workplaces": -1}, "min_workplaces"),
        ({"built_after": 1500}, "built_after"),
        ({"min_ceiling_height_m": float("inf")}, "min_ceiling_height_m"),
        ({"floor": 1000}, "floor"),
        ({"broker_org": "x" * 300}, "broker_org"),
    ],
)
def test_bad_new_filters_are_named(loaded_db, conn, filters, field):
    with pytest.raises(ValidationError) as info:
        premises.check_query(conn, PremisesQuery(**filters))
    assert info.value.errors[0]["field"] == field


# -- import, export, migration ------------------------------------------------------------------
def _collection(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def _imported(id_: str, **props) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": LORENSKOG_HUS},
        "properties": {"id": id_, "address": "Festplassen 3", "uses": "kontor", **props},
    }


def _import(url, path, doc=None):
    from geoplan.ingest.files import ImportOptions, import_file
    from geoplan.store import db

    if doc is not None:
        path.write_text(json.dumps(doc))
    with db.transaction(url) as conn:
        return import_file(conn, path, "premises", ImportOptions())


def test_import_maps_fields_and_units_and_export_round_trips(loaded_db, conn, tmp_path):
    from geoplan.ingest.export import export_layer
    from geoplan.ingest.validation import RowValidationError

    units = [
        {"label": "Hall 1", "area_m2": 1200, "rent_nok_m2_year": 950},
        {"label": "Hall 2", "area_m2": 800, "status": "utleid"},
    ]
    doc = _collection(
        _imported(
            "imp-lager",
            energimerke="d",
            byggeår=1990,
            takhøyde=10.5,
            lasterampe="ja",
            megler="Lager & Logistikk Megling AS",
            parkering=30,
            units=units,
        ),
        _imported("imp-kontor", areal=400, arbeidsplasser=35, etasje=2),
    )
    result = _import(loaded_db, tmp_path / "a.geojson", doc)
    assert result.write.inserted == 2
    lager = premises.get(conn, "imp-lager")
    assert (lager["energy_label"], lager["year_built"], lager["ceiling_height_m"]) == (
        "D",
        1990,
        10.5,
    )
    assert lager["loading_dock"] is True and lager["parking_spaces"] == 30
    assert lager["unit_count"] == 2 and lager["floor_area_m2"] == 1200
    assert lager["rent_nok_m2_year"] == 950
    assert [u["status"] for u in lager["units"]] == ["available", "let"]
    kontor = premises.get(conn, "imp-kontor")
    assert (kontor["workplaces"], kontor["floor"], kontor["units"]) == (35, 2, [])

    # the same file again changes nothing; a changed unit alone is a new version with history
    assert _import(loaded_db, tmp_path / "a.geojson", doc).write.unchanged == 2
    doc["features"][0]["properties"]["units"][1]["status"] = "available"
    again = _import(loaded_db, tmp_path / "a.geojson", doc)  # same source
    assert (again.write.updated, again.write.unchanged) == (1, 1)
    lager = premises.get(conn, "imp-lager")
    assert lager["version"] == 2 and lager["floor_area_m2"] == 2000
    assert premises.history(conn, "imp-lager")[-1]["after"]["units"][1]["status"] == "available"

    # export (GeoJSON and CSV) carries the fields and the units, and imports back unchanged
    for fmt in ("geojson", "csv"):
        out = tmp_path / f"premises.{fmt}"
        export_layer(conn, "premises", fmt, out)
        assert _import(loaded_db, out).write.unchanged == 47
    exported = json.loads((tmp_path / "premises.geojson").read_text())
    props = next(f for f in exported["features"] if f["id"] == "imp-lager")["properties"]
    assert props["units"][0]["label"] == "Hall 1" and props["energy_label"] == "D"

    # bad units are refused naming the row and the unit's field; nothing is imported
    bad = _collection(
        _imported("imp-bad", units=[{"label": "A", "area_m2": -1}, {"label": "B", "area": 3}])
    )
    with pytest.raises(RowValidationError) as info:
        _import(loaded_db, tmp_path / "c.geojson", bad)
    fields = {(e["row"], e["field"]) for e in info.value.errors}
    assert {(1, "units[0].area_m2"), (1, "units[1].area")} <= fields
    with pytest.raises(RowValidationError, match=r"energy_label"):
        _import(
            loaded_db, tmp_path / "d.geojson", _collection(_imported("x", areal=5, energimerke="Q"))
        )


def test_ogc_queryables_tiles_filter_and_the_premises_page(loaded_db, conn):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from geoplan.mapdata import premises_tile_query

    rec = premises.create(conn, building(energy_label="A", loading_dock=True), "alice")
    conn.commit()
    q = PremisesQuery(max_energy_label="B", loading_dock=True, built_after=2015)
    cql = premises_tile_query(q)["filter"]
    with TestClient(create_app(database_url=loaded_db)) as client:
        queryables = client.get("/ogc/collections/premises/queryables").json()["properties"]
        assert {"energy_label", "year_built", "loading_dock", "unit_count"} <= set(queryables)
        items = client.get(
            "/ogc/collections/premises/items", params={"filter": cql, "limit": 100}
        ).json()
        assert [f["id"] for f in items["features"]] == [rec["id"]]
        page = client.get(f"/maps/premises/{rec['id']}").text
        assert "Energikarakter" in page and "<caption>Lokaler i bygget</caption>" in page
        assert "3. etg. vest" in page and "utleid" in page
        form = client.get("/maps/premises", params={"max_energy_label": "B"}).text
        assert "gp-energy" in form and "B eller bedre" in form


def test_an_import_refuses_a_year_in_the_future(loaded_db, tmp_path):
    from geoplan.ingest.validation import RowValidationError

    doc = _collection(_imported("imp-ny", areal=50, byggeår=date.today().year + 2))
    with pytest.raises(RowValidationError, match=r"row 1: year_built must not be in the future"):
        _import(loaded_db, tmp_path / "ny.geojson", doc)
