"""Defect 10: an imported area's slug was refused by ``/premises?area=`` (a hard-coded list of
six) while the CLI took it. Defect 11, the smaller ones: ``true`` taken as a number and ``"100"``
as coordinates; ``crs: 0``; unknown fields and query parameters silently ignored (a typo gave
unfiltered results); the CLI's schema hint on every database error; ``network import`` of an
extract far away; the Host header reflected in links; machine-readable output wrapped at 80
columns when piped."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from geoplan.cli import app
from geoplan.cli.common import user_errors
from geoplan.config import Settings
from geoplan.store import db
from tests.db.test_network import NODES, WAYS, write_osm
from tests.hostile.conftest import auth, listing, refused

runner = CliRunner()
GEOPLAN = [sys.executable, "-c", "from geoplan.cli import main; main()"]


# -- 10: any area of the areas table -------------------------------------------------------------
def test_an_imported_area_is_a_search_filter_everywhere(client, loaded_db, tmp_path):
    ring = [[10.93, 59.92], [10.96, 59.92], [10.96, 59.94], [10.93, 59.94], [10.93, 59.92]]
    path = tmp_path / "omrade.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"id": "nytt-omrade", "name": "Nytt", "role": "centre"},
                        "geometry": {"type": "Polygon", "coordinates": [ring]},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["import", str(path), "--layer", "areas", "-q"])
    assert result.exit_code == 0, result.output
    r = client.get("/premises", params={"area": "nytt-omrade"})
    assert r.status_code == 200, r.text
    assert r.json()["numberMatched"] > 0
    assert client.get("/maps/premises", params={"area": "nytt-omrade"}).status_code == 200
    result = runner.invoke(app, ["premises", "search", "--area", "nytt-omrade", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) - 1 == r.json()["numberMatched"]
    # an area that does not exist is refused alike, naming the known ones
    body = refused(client.get("/premises", params={"area": "atlantis"}), 422, "area")
    assert "nytt-omrade" in body["detail"]


# -- 11: strict types ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"properties": {"floor_area_m2": True}}, "properties.floor_area_m2"),
        ({"properties": {"rent_nok_m2_year": "1900"}}, "properties.rent_nok_m2_year"),
        ({"properties": {"verified": "true"}}, "properties.verified"),
        ({"properties": {"verified": 1}}, "properties.verified"),
        ({"properties": {"address": 42}}, "properties.address"),
        ({"geometry": {"type": "Point", "coordinates": "100"}}, "geometry.coordinates"),
        (
            {"geometry": {"type": "Point", "coordinates": ["10.95", "59.93"]}},
            "geometry.coordinates.0",
        ),
        ({"geometry": {"type": "Point", "coordinates": [True, 59.93]}}, "geometry.coordinates.0"),
    ],
)
def test_writes_take_numbers_as_numbers(client, api_keys, change, field):
    body = listing()
    for part, values in change.items():
        body[part] = {**body[part], **values} if part == "properties" else values
    refused(client.post("/premises", json=body, headers=auth(api_keys["admin"])), 422, field)


def test_crs_zero_is_no_crs(client, api_keys):
    """``crs: 0`` was once read as "no CRS", i.e. WGS84."""
    headers = auth(api_keys["admin"])
    for crs in ("0", "EPSG:0", "-1", "true"):
        refused(client.post(f"/premises?crs={crs}", json=listing(), headers=headers), 422, "crs")
    body = {**listing(), "crs": {"type": "name", "properties": {"name": "0"}}}
    refused(client.post("/premises", json=body, headers=headers), 422, "crs")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"floor_area_m2": True}, "floor_area_m2"),
        ({"floor_area_m2": "2500"}, "floor_area_m2"),
        ({"employees": "12"}, "employees"),
        ({"employees": 12.5}, "employees"),
        ({"employees": True}, "employees"),
        ({"use": 5}, "use"),
        ({"crs": 0}, "crs"),
        ({"crs": 4326.0}, "crs"),
        ({"employes": 12}, "employes"),  # a typo, once silently dropped
    ],
)
def test_assessments_take_exactly_their_fields(client, api_keys, change, field):
    body = {
        "site": {"type": "Point", "coordinates": [10.95, 59.93]},
        "use": "office",
        "floor_area_m2": 2500,
        **change,
    }
    refused(client.post("/assessments", json=body, headers=auth(api_keys["write"])), 422, field)


def test_unknown_query_parameters_are_refused(client):
    body = refused(client.get("/premises", params={"are": "visperud"}), 422, "are")
    assert "did you mean area?" in body["detail"]
    refused(client.get("/premises", params={"max_walk": "5", "limit": "5"}), 422, "max_walk")
    refused(client.get("/maps/premises", params={"min_area": "500"}), 422, "min_area")
    # `uses` is an accepted spelling of `use`
    assert client.get("/premises", params={"uses": "office"}).status_code == 200
    # a shared map link's decorations are no typo: the map page ignores them
    r = client.get("/maps/premises", params={"use": "office", "utm_source": "x", "fbclid": "y"})
    assert r.status_code == 200
    refused(client.get("/premises", params={"utm_source": "x"}), 422, "utm_source")


# -- 11: the CLI ---------------------------------------------------------------------------------
def test_the_schema_hint_only_for_schema_errors(db_url, capsys):
    import typer

    with psycopg.connect(db.conninfo(db_url)) as conn:
        for sql, hinted in (
            ("SELECT * FROM no_such_table", True),
            ("SELECT no_such_column FROM premises", True),
            ("SELECT 1 / 0", False),
            ("SELECT 'x'::int", False),
        ):
            with pytest.raises(typer.Exit), user_errors():
                try:
                    conn.execute(sql)
                finally:
                    conn.rollback()
            err = capsys.readouterr().err
            assert err.startswith("error: database error: ") and len(err.splitlines()) == 1
            assert ("is the schema current?" in err) is hinted, (sql, err)


def test_network_import_refuses_an_extract_far_away(empty_db, tmp_path):
    far = {n: (dx, dy + 400_000) for n, (dx, dy) in NODES.items()}  # 400 km north: Trøndelag
    path = write_osm(tmp_path / "trondelag.osm", far, WAYS)
    result = runner.invoke(app, ["network", "import", str(path)])
    assert result.exit_code == 1, result.output
    assert "none of its" in result.output and "walkable nodes lies within 10 km" in result.output
    with psycopg.connect(db.conninfo(empty_db)) as conn:
        assert conn.execute("SELECT count(*) FROM walk_edges").fetchone()[0] == 0
    near = write_osm(tmp_path / "lorenskog.osm")
    assert runner.invoke(app, ["network", "import", str(near)]).exit_code == 0


@pytest.mark.parametrize(
    "password",
    ["secret", "[bold]s3[/bold]cr[/]et"],  # the second reads as console markup if printed as such
)
def test_piped_machine_readable_output_is_never_wrapped(tmp_path, password):
    host = "db-" * 40 + "example.kommune.no"
    url = f"postgresql+psycopg://geoplan:{password}@{host}:5432/geoplan"
    env = {**os.environ, "GEOPLAN_DATABASE_URL": url, "COLUMNS": "80"}
    env.pop("GEOPLAN_TRUSTED_HOSTS", None)
    proc = subprocess.run(
        [*GEOPLAN, "db", "url", "--show-password"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == url + "\n"


# -- 11: the Host header -------------------------------------------------------------------------
def _client(loaded_db: str, **settings) -> TestClient:
    return TestClient(
        create_app(Settings(**settings), database_url=loaded_db), base_url="http://localhost"
    )


def test_an_untrusted_host_is_refused_not_reflected(loaded_db):
    with _client(loaded_db, trusted_hosts=None, public_url=None) as c:
        body = refused(c.get("/premises?limit=1", headers={"Host": "evil.example"}), 400, "host")
        assert "GEOPLAN_TRUSTED_HOSTS" in body["detail"]
        refused(c.get("/ogc/collections", headers={"Host": "evil.example:8000"}), 400)
        # health probes call the server by its address
        assert c.get("/healthz", headers={"Host": "10.1.2.3"}).status_code == 200
        for host in ("localhost:8000", "127.0.0.1", "[::1]:8000"):
            r = c.get("/premises?limit=1", headers={"Host": host})
            assert r.status_code == 200, host
            assert r.json()["links"][0]["href"].startswith(f"http://{host}/premises")


def test_trusted_hosts_are_a_setting(loaded_db):
    with _client(loaded_db, trusted_hosts="geoplan.kommune.no, *.lorenskog.kommune.no") as c:
        for host, ok in (
            ("geoplan.kommune.no", True),
            ("kart.lorenskog.kommune.no", True),
            ("lorenskog.kommune.no.evil.example", False),
            ("localhost", False),
        ):
            status = c.get("/premises?limit=1", headers={"Host": host}).status_code
            assert (status == 200) is ok, (host, status)


def test_with_a_public_url_links_never_come_from_the_host(loaded_db, api_keys):
    public = "https://geoplan.lorenskog.kommune.no"
    with _client(loaded_db, trusted_hosts=None, public_url=public) as c:
        r = c.get("/premises?limit=1", headers={"Host": "evil.example"})
        assert r.status_code == 200
        assert r.json()["links"][0]["href"].startswith(f"{public}/premises")
        r = c.post(
            "/assessments",
            json={
                "site": {"type": "Point", "coordinates": [10.95, 59.93]},
                "use": "office",
                "floor_area_m2": 500,
            },
            headers={**auth(api_keys["write"]), "Host": "evil.example"},
        )
        assert r.status_code == 201, r.text
        assert r.headers["location"].startswith(f"{public}/assessments/")


def test_default_trusted_hosts():
    from api.request_guard import trusted_hosts

    assert trusted_hosts(Settings(trusted_hosts=None, public_url=None, host="127.0.0.1")) == (
        "localhost",
        "127.0.0.1",
        "::1",
    )
    served = trusted_hosts(Settings(trusted_hosts=None, public_url=None, host="geoplan.local"))
    assert "geoplan.local" in served
    assert trusted_hosts(Settings(trusted_hosts=None, public_url="https://x.no")) is None
    assert trusted_hosts(Settings(trusted_hosts="*")) is None
