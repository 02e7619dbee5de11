"""Issue 12's "Done when", end to end through the command line, in one store, using only the
real files in ``../shared/data/real/`` (sources and licences: its README):

``geoplan init --kommune 0301`` → ``network import oslo-center.osm.pbf`` (© OpenStreetMap
contributors, ODbL) → ``import-netex`` of Ruter's minimal set (© Ruter/Entur, NLOD) →
``proximity nearest`` near Jernbanetorget answers ``method: network``; then the store also
serves Lillestrøm (3205) and Elverum (3420): Elverum's addresses (© Kartverket, CC BY 4.0)
import and geocode, premises without coordinates are placed at their address, Ruter's AOR
export (Romerike) gives Lillestrøm terminal its departures per hour, and a plan GML (DiBK test
data, MIT) imports into ``land_use`` and shows on the overview map.

The steps are one test because each builds on the store the one before left; each says which
step failed. The other tests of these importers (tests/db/test_netex.py, test_addresses.py,
test_zoning.py, test_network.py ...) check them in depth.
"""

from __future__ import annotations

import json

import psycopg
import pytest
from typer.testing import CliRunner

from geoplan.cli import app
from geoplan.config import get_settings
from geoplan.store import db
from tests.real_data import ELVERUM_ADDRESSES, REAL_DIR, csv_records

OSM = REAL_DIR / "osm" / "oslo-center.osm.pbf"
MINIMAL = REAL_DIR / "netex" / "ruter_netex_minimal_2017"
AOR = REAL_DIR / "netex" / "ruter_AOR_romerike_2017.zip"
PLAN = REAL_DIR / "zoning" / "gml.avgr.1-pass.gml"
JERNBANETORGET = ("10.7522", "59.9111")  # lon, lat

runner = CliRunner()


@pytest.fixture
def clean_clone_store(make_database, monkeypatch):
    """A new, empty database (no schema yet) as the store geoplan is told to use — what a
    clean clone with ``GEOPLAN_DATABASE_URL`` set starts from."""
    url = make_database()
    monkeypatch.setenv("GEOPLAN_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def geoplan(step: str, *args: str) -> str:
    """Run one command; fail naming the step and showing the output unless it exits 0."""
    r = runner.invoke(app, [*args, "--quiet"] if _quiet(args) else list(args), prog_name="geoplan")
    assert r.exit_code == 0, f"step {step!r}: geoplan {' '.join(args)}\n{r.output}"
    return r.stdout


def _quiet(args: tuple[str, ...]) -> bool:
    return args[0] in ("import-netex", "import-addresses", "import-plan", "import")


def one(url: str, sql: str, params: tuple = ()) -> tuple:
    with psycopg.connect(db.conninfo(url)) as conn:
        return conn.execute(sql, params).fetchone()


def test_done_when_chain(clean_clone_store: str, tmp_path) -> None:
    url = clean_clone_store
    for f in (OSM, MINIMAL, AOR, PLAN, ELVERUM_ADDRESSES):
        assert f.exists(), f"missing real data file {f}"

    # 1. Oslo, its network from OpenStreetMap, its stops from NeTEx
    out = geoplan("init", "init", "--kommune", "0301")
    assert "serving    0301 Oslo" in out
    geoplan("network", "network", "import", str(OSM))
    edges = one(url, "SELECT count(*) FROM walk_edges")[0]
    assert edges > 10_000, edges
    out = geoplan("netex minimal", "import-netex", str(MINIMAL))
    assert out.startswith("hubs: 3 from ruter_netex_minimal_2017")

    # 2. the nearest hub on foot from Jernbanetorget, walked on the network
    lon, lat = JERNBANETORGET
    nearest = json.loads(geoplan("nearest", "proximity", "nearest", "--lon", lon, "--lat", lat,
                                 "--json"))  # fmt: skip
    assert nearest["network_loaded"] is True
    first = nearest["hubs"][0]
    assert first["name"] == "Jernbanetorget", first
    assert first["method"] == "network", first
    assert 0 < first["walk_m"] < 500, first

    # 3. the store serves Lillestrøm and Elverum too; Oslo's hubs stay
    out = geoplan("init more", "init", "--kommune", "0301,3205,3420")
    assert "0301 Oslo, 3205 Lillestrøm, 3420 Elverum" in out
    assert one(url, "SELECT count(*) FROM hubs WHERE kommunenummer = '0301'")[0] == 3

    # 4. Elverum's addresses import and geocode
    out = geoplan("addresses", "import-addresses", str(ELVERUM_ADDRESSES))
    assert f"addresses: {len(csv_records())} from {ELVERUM_ADDRESSES.name}" in out
    found = json.loads(geoplan("geocode", "geocode", "Storgata 2, Elverum", "--json"))
    best = found["candidates"][0]
    assert (best["address"], best["match_kind"], best["kommunenummer"]) == (
        "Storgata 2",
        "exact",
        "3420",
    )
    assert best["epsg25833"] == {"x": 313431.88, "y": 6754772.89}

    # 5. premises with an address and no coordinates are placed there
    listing = tmp_path / "lokaler.csv"
    listing.write_text("id;adresse;uses;floor_area_m2\nelv-1;Storgata 2, Elverum;office;180\n")
    geoplan("premises", "import", str(listing), "--layer", "premises")
    x, y, source = one(url, "SELECT ST_X(geom), ST_Y(geom), source FROM premises")
    assert (x, y) == pytest.approx((313431.88, 6754772.89), abs=0.01)
    assert "position: geocoded (exact) from Storgata 2, 2408 ELVERUM" in source

    # 6. AOR (Romerike): Lillestrøm terminal with departures per hour
    out = geoplan("netex AOR", "import-netex", str(AOR))
    assert "read 965 stop places" in out and "4402 journeys" in out, out
    name, per_hour, kommune = one(
        url,
        "SELECT name, departures_per_hour, kommunenummer FROM hubs "
        "WHERE nsr_id = 'RUT:StopPlace:02310301'",
    )
    assert (name, kommune) == ("Lillestrøm terminal", "3205")
    assert per_hour > 0

    # 7. a zoning plan (GML) into land_use, counted and on the overview map
    geoplan("plan", "import-plan", str(PLAN), "--no-region-check", "--sample")
    assert one(url, "SELECT count(*), min(code) FROM land_use") == (3, 1169)
    out = geoplan("by land use", "plans", "premises-by-land-use", "--json")
    assert json.loads(out)["purposes"][0]["code"] == 1169
    page = tmp_path / "oversikt.html"
    geoplan("map", "map", "overview", "--out", str(page))
    html = page.read_text(encoding="utf-8")
    assert "Arealform\\u00e5l (reguleringsplaner)" in html  # the layer control entry
    assert "knutepunkter er anslått" not in html  # every hub is the stop register's
