"""/assessments over HTTP and ``geoplan assess`` on the command line, against real PostGIS."""

from __future__ import annotations

import json

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from geoplan.auth import keys
from geoplan.cli import app as cli_app
from geoplan.store import db
from tests.db.test_assessment_cases import LANDMARKS

KEY = "gp_test_write_key_0123456789"


def add_key(url: str, key: str, *, scope: str = "write", revoked: bool = False) -> None:
    with psycopg.connect(db.conninfo(url)) as conn:
        conn.execute(
            "INSERT INTO api_keys (name, scope, prefix, key_hash, revoked_at) "
            "VALUES (%s, %s, %s, %s, CASE WHEN %s THEN now() END)",
            (f"key-{key[-4:]}", scope, key[:8], keys.hash_key(key), revoked),
        )


@pytest.fixture
def client(loaded_db: str):
    add_key(loaded_db, KEY)
    with TestClient(create_app(database_url=loaded_db)) as c:
        yield c


def body(**over) -> dict:
    return {"site": LANDMARKS["visperud"], "use": "office", "floor_area_m2": 2500, **over}


AUTH = {"Authorization": f"Bearer {KEY}"}


def test_create_read_and_report(client: TestClient, loaded_db: str):
    r = client.post("/assessments", json=body(employees=150), headers=AUTH)
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["id"].startswith("asm-") and rec["created_at"] and rec["created_by"] == "key-6789"
    assert rec["verdict"] == "needs_review"
    assert r.headers["location"].endswith(f"/assessments/{rec['id']}")
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        row = conn.execute(
            "SELECT verdict, use, ST_GeometryType(geom), ST_SRID(geom) FROM assessments "
            "WHERE id = %s",
            (rec["id"],),
        ).fetchone()
    assert row == ("needs_review", "office", "ST_Point", 25833)

    got = client.get(f"/assessments/{rec['id']}")
    assert got.status_code == 200 and got.json() == rec

    html = client.get(f"/assessments/{rec['id']}/report")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    text = html.text
    assert "Needs review" in text and rec["id"] in text
    for reason in rec["reasons"]:
        assert reason["rule"] in text
    assert "Næringsstrategi 2025–2037" in text  # citations
    assert (
        "<iframe" in text and "srcdoc=" in text and "L.map(" in text and "unpkg.com" not in text
    )  # the map, offline
    assert "@media print" in text


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEY}"}],
)
def test_write_key_required(client: TestClient, loaded_db: str, headers):
    r = client.post("/assessments", json=body(), headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["www-authenticate"].startswith("Bearer")
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        assert conn.execute("SELECT count(*) FROM assessments").fetchone()[0] == 0


def test_revoked_key_is_refused(client: TestClient, loaded_db: str):
    add_key(loaded_db, "gp_revoked_key_abcdef", revoked=True)
    r = client.post(
        "/assessments", json=body(), headers={"Authorization": "Bearer gp_revoked_key_abcdef"}
    )
    assert r.status_code == 401


def test_admin_key_may_assess(client: TestClient, loaded_db: str):
    add_key(loaded_db, "gp_admin_key_wxyz", scope="admin")
    r = client.post(
        "/assessments", json=body(), headers={"Authorization": "Bearer gp_admin_key_wxyz"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["created_by"] == "key-wxyz"


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"site": {"type": "Point", "coordinates": [10.75, 59.91]}}, "site"),
        (
            {
                "site": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [10.95, 59.92],
                            [10.96, 59.93],
                            [10.96, 59.92],
                            [10.95, 59.93],
                            [10.95, 59.92],
                        ]
                    ],
                }
            },
            "site",
        ),
        ({"use": "spaceport"}, "use"),
        ({"floor_area_m2": -100}, "floor_area_m2"),
        ({"floor_area_m2": "big"}, "floor_area_m2"),
        ({"crs": "EPSG:nope"}, "crs"),
    ],
)
def test_bad_input_is_422_naming_the_field(client: TestClient, over, field):
    r = client.post("/assessments", json=body(**over), headers=AUTH)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in r.json()["errors"]]


def test_unknown_assessment_is_404(client: TestClient):
    assert client.get("/assessments/asm-doesnotexist").status_code == 404
    assert client.get("/assessments/asm-doesnotexist/report").status_code == 404


# -- CLI -----------------------------------------------------------------------------------------
runner = CliRunner()


def test_cli_summary_json_and_report(loaded_db: str, tmp_path):
    lon, lat = LANDMARKS["lorenskog_st"]["coordinates"]
    args = [
        "assess",
        "--lon",
        str(lon),
        "--lat",
        str(lat),
        "--use",
        "hotel",
        "--floor-area",
        "6000",
    ]
    out = runner.invoke(cli_app, args)
    assert out.exit_code == 0, out.output
    assert "IN LINE WITH THE POLICY" in out.output and "stasjonsomradet.preferred" in out.output

    out = runner.invoke(cli_app, [*args, "--json"])
    assert out.exit_code == 0
    assert json.loads(out.stdout)["verdict"] == "conforms"

    report = tmp_path / "case.html"
    out = runner.invoke(cli_app, [*args, "--report", str(report), "--save"])
    assert out.exit_code == 0, out.output
    assert "stasjonsomradet.preferred" in report.read_text("utf-8")
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        assert conn.execute("SELECT count(*) FROM assessments").fetchone()[0] == 1


def test_cli_site_file_polygon(loaded_db: str, tmp_path):
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        gj = conn.execute(
            "SELECT ST_AsGeoJSON(ST_Buffer(ST_PointOnSurface(geom), 40, 2)) FROM areas "
            "WHERE id = 'ahus'"
        ).fetchone()[0]
    site = tmp_path / "site.geojson"
    site.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": json.loads(gj)}))
    out = runner.invoke(
        cli_app,
        [
            "assess",
            "--site",
            str(site),
            "--crs",
            "EPSG:25833",
            "--use",
            "research",
            "--floor-area",
            "3000",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    r = json.loads(out.stdout)
    assert r["facts"]["site"]["type"] == "Polygon" and r["facts"]["areas"][0]["id"] == "ahus"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lon", "10.75", "--lat", "59.91", "--use", "office", "--floor-area", "100"], "outside"),
        (
            ["--lon", "10.955", "--lat", "59.927", "--use", "spaceport", "--floor-area", "100"],
            "unknown use",
        ),
        (
            ["--lon", "10.955", "--lat", "59.927", "--use", "office", "--floor-area", "-1"],
            "greater than 0",
        ),
        (["--site", "/nonexistent.geojson", "--use", "office", "--floor-area", "1"], "not found"),
    ],
)
def test_cli_bad_input_one_line_exit_1(loaded_db: str, args, message):
    out = runner.invoke(cli_app, ["assess", *args], env={"COLUMNS": "1000"})
    assert out.exit_code == 1
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("error:")


def test_cli_check_policy(db_url: str):
    out = runner.invoke(cli_app, ["assess", "--check-policy"])
    assert out.exit_code == 0 and "policy OK" in out.output
