"""Premises without coordinates, placed at their address: ``geoplan import`` and ``POST
/premises`` on Elverum's real addresses (Kartverket, Matrikkelen – Adresse, CC BY 4.0).

The expected positions come from the address file itself, read with the csv module (an
independent source); the candidates named in refusals are the file's real addresses.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from geoplan.addresses import import_addresses
from geoplan.auth import keys
from geoplan.cli import app
from geoplan.ingest.municipalities import serve
from geoplan.store import db
from tests.conftest import table_counts, truncate_all
from tests.real_data import ELVERUM_ADDRESSES, csv_records

runner = CliRunner()
WIDE = {"COLUMNS": "300"}
PROBLEM = "application/problem+json"


def geoplan(*args: str):
    return runner.invoke(app, list(args), env=WIDE, prog_name="geoplan")


def register_xy(address: str) -> tuple[float, float]:
    """(east, north) of ``address`` (adresseTekst) in the file, EPSG:25833."""
    (row,) = [r for r in csv_records() if r["adresseTekst"] == address]
    return float(row["Øst"]), float(row["Nord"])


def stored(url: str, premises_id: str) -> dict:
    with psycopg.connect(db.conninfo(url)) as c:
        row = c.execute(
            "SELECT ST_X(geom), ST_Y(geom), source, source_url, licence, accuracy_m, "
            "kommunenummer FROM premises WHERE id = %s",
            (premises_id,),
        ).fetchone()
    assert row is not None, premises_id
    keys_ = ("x", "y", "source", "source_url", "licence", "accuracy_m", "kommunenummer")
    return dict(zip(keys_, row, strict=True))


@pytest.fixture(scope="module")
def elverum(db_url: str) -> str:
    """A store serving Elverum (3420) with its real addresses; no premises."""
    truncate_all(db_url)
    with db.transaction(db_url) as conn:
        serve(conn, ["3420"])
        import_addresses(conn, ELVERUM_ADDRESSES)
    return db_url


@pytest.fixture
def clean(elverum: str) -> str:
    with db.transaction(elverum) as conn:
        conn.execute("TRUNCATE premises, premises_history RESTART IDENTITY CASCADE")
    return elverum


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    lines = ["id;address;uses;floor_area_m2"]
    lines += [f"{pid};{address};office;250" for pid, address in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_csv_without_coordinates_is_placed_at_its_addresses(clean, tmp_path) -> None:
    f = write_csv(
        tmp_path / "lokaler.csv",
        [("e-1", "Storgata 2, Elverum"), ("e-2", "STORGT. 10, 2408 elverum")],
    )
    r = geoplan("import", str(f), "--layer", "premises", "--licence", "Megler AS, alle rettigheter")
    assert r.exit_code == 0, r.output
    assert "premises: 2 rows from lokaler.csv (2 new" in r.stdout
    assert "2 rows without coordinates placed at their address" in r.stderr
    for pid, address in (("e-1", "Storgata 2"), ("e-2", "Storgata 10")):
        row = stored(clean, pid)
        assert (row["x"], row["y"]) == pytest.approx(register_xy(address), abs=0.01)
        assert row["kommunenummer"] == "3420"
        assert row["source"] == (
            f"lokaler.csv; position: geocoded (exact) from {address}, 2408 ELVERUM (kommune "
            f"3420), Kartverket, Matrikkelen – Adresse ({ELVERUM_ADDRESSES.name}) (lokalid "
            + next(r["lokalid"] for r in csv_records() if r["adresseTekst"] == address)
            + ")"
        )
        assert row["licence"] == "Megler AS, alle rettigheter; position: CC BY 4.0 © Kartverket"
        assert row["accuracy_m"] == 10.0  # the address register's, not the listing's
        assert "geonorge.no" in row["source_url"]


def test_geojson_rows_with_and_without_geometry(clean, tmp_path) -> None:
    """Only the feature without geometry is geocoded; the other keeps its own position."""
    own = (11.5630, 60.8810)
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": list(own)},
                "properties": {"id": "g-1", "address": "Storgata 2, Elverum",
                               "uses": ["retail"], "floor_area_m2": 90},
            },
            {
                "type": "Feature",
                "geometry": None,
                "properties": {"id": "g-2", "address": "Storgata 10, Elverum",
                               "uses": ["office"], "floor_area_m2": 120, "accuracy_m": 1},
            },
        ],
    }  # fmt: skip
    f = tmp_path / "lokaler.geojson"
    f.write_text(json.dumps(doc), encoding="utf-8")
    r = geoplan("import", str(f), "--layer", "premises")
    assert r.exit_code == 0, r.output
    kept, placed = stored(clean, "g-1"), stored(clean, "g-2")
    assert kept["source"] == "lokaler.geojson" and kept["licence"] is None
    assert (placed["x"], placed["y"]) == pytest.approx(register_xy("Storgata 10"), abs=0.01)
    assert "position: geocoded (exact) from Storgata 10" in placed["source"]
    assert placed["licence"] == "position: CC BY 4.0 © Kartverket"
    assert placed["accuracy_m"] == 10.0


@pytest.mark.parametrize(
    ("address", "says"),
    [
        # no 20 without a letter: 20A and 20B are both nearest, neither is the one meant
        (
            "Anne Moes gate 20, Elverum",
            "row 2: the address 'Anne Moes gate 20, Elverum' is not in the register as "
            "written; candidates: Anne Moes gate 20A, 2406 ELVERUM (kommune 3420) "
            "[nearest_house_number, score 0.9]; Anne Moes gate 20B",
        ),
        ("Qwxzy 12", "row 2: no address in the register matches 'Qwxzy 12'"),
    ],
)
def test_unresolved_address_is_one_line_and_writes_nothing(
    clean, tmp_path, address: str, says: str
) -> None:
    f = write_csv(tmp_path / "lokaler.csv", [("e-1", "Storgata 2, Elverum"), ("e-2", address)])
    before = table_counts(clean)
    r = geoplan("import", str(f), "--layer", "premises")
    assert r.exit_code != 0
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1, r.output
    assert lines[0].startswith("error: lokaler.csv: 1 error in 1 row, nothing was imported: ")
    assert says in lines[0]
    assert table_counts(clean) == before


def test_every_bad_row_is_named_in_one_run(clean, tmp_path) -> None:
    f = tmp_path / "lokaler.csv"
    f.write_text(
        "id;address;uses;floor_area_m2\n"
        "e-1;Qwxzy 12;office;250\n"
        "e-2;Storgata 2, Elverum;office;-5\n",
        encoding="utf-8",
    )
    r = geoplan("import", str(f), "--layer", "premises")
    assert r.exit_code != 0
    assert "2 errors in 2 rows" in r.output
    assert "row 1: no address in the register matches 'Qwxzy 12'" in r.output
    assert "row 2:" in r.output and "floor_area_m2" in r.output
    assert "no geometry" not in r.output  # the unplaced row is named once, for its address


def test_without_addresses_it_says_to_import_them(db_url, tmp_path) -> None:
    truncate_all(db_url)
    with db.transaction(db_url) as conn:
        serve(conn, ["3420"])
    f = write_csv(tmp_path / "lokaler.csv", [("e-1", "Storgata 2, Elverum")])
    r = geoplan("import", str(f), "--layer", "premises")
    assert r.exit_code != 0
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1, r.output
    assert "row 1, 'Storgata 2, Elverum'" in lines[0]
    assert "run `geoplan import-addresses FILE.csv` first" in lines[0]
    assert table_counts(db_url)["premises"] == 0
    with db.transaction(db_url) as conn:
        key, _ = keys.create_key(conn, "megler-elverum", "write")
    with TestClient(create_app(database_url=db_url)) as c:
        r = c.post("/premises", json=body("Storgata 2"), headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    (error,) = r.json()["errors"]
    assert error["field"] == "geometry"  # what is missing; the message says how to get it
    assert "no addresses are loaded" in error["message"]
    assert "run `geoplan import-addresses FILE.csv` first" in error["message"]
    assert table_counts(db_url)["premises"] == 0
    # the store is Elverum's again for the tests after this one
    with db.transaction(db_url) as conn:
        import_addresses(conn, ELVERUM_ADDRESSES)


def test_a_csv_without_coordinates_is_still_refused_for_other_layers(clean, tmp_path) -> None:
    f = tmp_path / "hubs.csv"
    f.write_text("id;name;mode\nh-1;Elverum skysstasjon;bus_terminal\n", encoding="utf-8")
    r = geoplan("import", str(f), "--layer", "hubs")
    assert r.exit_code != 0 and "no coordinate columns" in r.output


# -- POST /premises -------------------------------------------------------------------------------
@pytest.fixture
def api(clean):
    with db.transaction(clean) as conn:
        key, _ = keys.create_key(conn, "megler-elverum", "write")
    with TestClient(create_app(database_url=clean)) as c:
        c.headers["Authorization"] = f"Bearer {key}"
        yield c


def body(address: str, geometry: dict | None = None) -> dict:
    feature = {
        "type": "Feature",
        "properties": {"address": address, "uses": ["office"], "floor_area_m2": 300},
    }
    if geometry is not None:
        feature["geometry"] = geometry
    return feature


def test_post_without_geometry_is_placed_at_the_address(api, clean) -> None:
    r = api.post("/premises", json=body("Storgata 2, 2408 Elverum"))
    assert r.status_code == 201, r.text
    props = r.json()["properties"]
    assert props["source"].startswith("geoplan API (key: megler-elverum); position: geocoded ")
    assert "(exact) from Storgata 2, 2408 ELVERUM (kommune 3420), Kartverket" in props["source"]
    assert props["licence"] == "position: CC BY 4.0 © Kartverket"
    assert props["accuracy_m"] == 10.0 and props["kommunenummer"] == "3420"
    row = stored(clean, r.json()["id"])
    assert (row["x"], row["y"]) == pytest.approx(register_xy("Storgata 2"), abs=0.01)
    # "geometry": null is the same as leaving it out
    r = api.post("/premises", json=body("Storgata 10, Elverum") | {"geometry": None})
    assert r.status_code == 201, r.text
    row = stored(clean, r.json()["id"])
    assert (row["x"], row["y"]) == pytest.approx(register_xy("Storgata 10"), abs=0.01)


@pytest.mark.parametrize(
    ("address", "candidates"),
    [
        ("Anne Moes gate 20", ["Anne Moes gate 20A", "Anne Moes gate 20B"]),
        ("Qwxzy 12", []),
    ],
)
def test_post_unresolved_is_422_naming_address_with_candidates(
    api, clean, address: str, candidates: list[str]
) -> None:
    before = table_counts(clean)
    r = api.post("/premises", json=body(address))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    (error,) = r.json()["errors"]
    assert error["field"] == "address"
    assert [c["address"] for c in error["candidates"]][:2] == candidates
    assert all(c["licence"] == "CC BY 4.0 © Kartverket" for c in error["candidates"])
    assert table_counts(clean) == before


def test_post_with_a_geometry_is_not_geocoded(api, clean) -> None:
    r = api.post(
        "/premises",
        json=body("Qwxzy 12", {"type": "Point", "coordinates": [11.5630, 60.8810]}),
    )
    assert r.status_code == 201, r.text
    assert "geocoded" not in r.json()["properties"]["source"]


def test_post_without_geometry_or_address_is_422_geometry_required(api) -> None:
    r = api.post("/premises", json=body("  "))
    assert r.status_code == 422
    assert "geometry" in {e["field"] for e in r.json()["errors"]}


# -- PATCH /premises/{id}: the position follows the address when geocoding placed it -----------
def patch(api, premises_id: str, properties: dict, geometry: dict | None = None):
    doc: dict = {"properties": properties}
    if geometry is not None:
        doc["geometry"] = geometry
    return api.patch(f"/premises/{premises_id}", json=doc)


def test_patch_of_the_address_moves_a_geocoded_listing(api, clean) -> None:
    doc = body("Storgata 2, Elverum")
    doc["properties"]["licence"] = "Megler AS"
    r = api.post("/premises", json=doc)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert stored(clean, pid)["licence"] == "Megler AS; position: CC BY 4.0 © Kartverket"
    r = patch(api, pid, {"address": "Storgata 10, Elverum"})
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["version"] == 2
    row = stored(clean, pid)
    assert (row["x"], row["y"]) == pytest.approx(register_xy("Storgata 10"), abs=0.01)
    assert row["source"].startswith("geoplan API (key: megler-elverum); position: geocoded ")
    assert "(exact) from Storgata 10, 2408 ELVERUM" in row["source"]
    assert "Storgata 2," not in row["source"]
    assert row["licence"] == "Megler AS; position: CC BY 4.0 © Kartverket"  # not doubled
    assert row["accuracy_m"] == 10.0
    history = api.get(f"/premises/{pid}/history").json()["history"]
    (entry,) = [h for h in history if h["action"] == "update"]
    assert entry["before"]["geometry"] != entry["after"]["geometry"]
    # another change keeps saying where the position came from
    r = patch(api, pid, {"rent_nok_m2_year": 1500})
    assert r.status_code == 200, r.text
    assert "position: geocoded (exact) from Storgata 10" in stored(clean, pid)["source"]
    # the same address again is no change
    assert patch(api, pid, {"address": "Storgata 10, Elverum"}).json()["properties"]["version"] == 3


@pytest.mark.parametrize(
    ("address", "candidates"),
    [("Anne Moes gate 20", ["Anne Moes gate 20A", "Anne Moes gate 20B"]), ("Qwxzy 12", [])],
)
def test_patch_to_an_unresolved_address_is_refused_with_candidates(
    api, clean, address: str, candidates: list[str]
) -> None:
    pid = api.post("/premises", json=body("Storgata 2, Elverum")).json()["id"]
    before = stored(clean, pid)
    r = patch(api, pid, {"address": address, "rent_nok_m2_year": 900})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    (error,) = r.json()["errors"]
    assert error["field"] == "address"
    assert [c["address"] for c in error["candidates"]][:2] == candidates
    assert stored(clean, pid) == before
    assert api.get(f"/premises/{pid}").json()["properties"]["version"] == 1


def test_patch_of_the_address_keeps_a_given_position(api, clean) -> None:
    own = {"type": "Point", "coordinates": [11.5630, 60.8810]}
    pid = api.post("/premises", json=body("Storgata 2, Elverum", own)).json()["id"]
    before = stored(clean, pid)
    r = patch(api, pid, {"address": "Storgata 10, Elverum"})
    assert r.status_code == 200, r.text
    after = stored(clean, pid)
    assert (after["x"], after["y"]) == (before["x"], before["y"])
    assert "geocoded" not in after["source"]
    # an address no register knows is fine too: nothing is looked up
    assert patch(api, pid, {"address": "Qwxzy 12"}).status_code == 200


def test_a_position_given_to_a_geocoded_listing_drops_the_address_provenance(api, clean) -> None:
    pid = api.post("/premises", json=body("Storgata 2, Elverum")).json()["id"]
    own = {"type": "Point", "coordinates": [11.5630, 60.8810]}
    r = patch(api, pid, {"address": "Storgata 10, Elverum"}, own)
    assert r.status_code == 200, r.text
    row = stored(clean, pid)
    assert (row["x"], row["y"]) != pytest.approx(register_xy("Storgata 10"), abs=1)
    assert row["source"] == "geoplan API (key: megler-elverum)"
    assert row["licence"] is None and row["accuracy_m"] is None
    # from now on its address is only text: a new one does not move it
    assert patch(api, pid, {"address": "Storgata 2, Elverum"}).status_code == 200
    assert (stored(clean, pid)["x"], stored(clean, pid)["y"]) == (row["x"], row["y"])
