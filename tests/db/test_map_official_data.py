"""The overview map with real data: the land-use layer of an imported plan (colours, layer
control, legend and text with vacant premises per purpose), and warnings that go away exactly
for the layer official data replaced (real NeTEx hubs) while they stay for the others.

Real files from ``../shared/data/real/``: Ruter's minimal NeTEx set (© Ruter/Entur, NLOD) and
one of DiBK's Reguleringsplanforslag 5.0 test plans (MIT; a schema example with synthetic
coordinates — the only test plans with land-use areas — imported as sample data with the
region check off, as tests/db/test_zoning.py does).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import psycopg
import pytest

from geoplan.ingest.files import import_file
from geoplan.ingest.municipalities import serve
from geoplan.ingest.netex import NetexOptions, import_netex
from geoplan.store import db
from geoplan.zoning import PlanImportOptions, code_lists, import_plan
from maps.base import Panel, render_html
from maps.overview import build_overview
from tests.real_data import REAL_DIR

MINIMAL = REAL_DIR / "netex" / "ruter_netex_minimal_2017"
PLAN = REAL_DIR / "zoning" / "gml.avgr.1-pass.gml"
HUBS_ESTIMATED = "knutepunkter er anslått"
AREAS_ESTIMATED = "Fokusområdenes avgrensning er anslått"


def overview(url: str, **kw) -> tuple[str, str]:
    """The page's HTML and its panels' (the panels are placed by script, escaped in the page)."""
    with psycopg.connect(db.conninfo(url)) as conn:
        m = build_overview(conn, **kw)
    panels = "".join(c.html for c in m._children.values() if isinstance(c, Panel))
    return render_html(m), panels


def panel_notes(url: str, **kw) -> list[str]:
    return re.findall(r'<p class="gp-note">⚠ (.*?)</p>', overview(url, **kw)[1])


def write_geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


@pytest.fixture
def oslo(empty_db: str, tmp_path: Path) -> str:
    """Oslo with one focus area digitised by hand (unverified) around Jernbanetorget."""
    with db.transaction(empty_db) as conn:
        serve(conn, ["0301"])
        area = {
            "type": "Feature",
            "properties": {"id": "bjorvika", "name": "Bjørvika", "role": "centre"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[10.750, 59.905], [10.760, 59.905], [10.760, 59.912], [10.750, 59.912],
                     [10.750, 59.905]]
                ],
            },
        }  # fmt: skip
        import_file(conn, write_geojson(tmp_path / "areas.geojson", [area]), "areas")
    return empty_db


def test_real_netex_hubs_lift_the_hubs_warning_and_the_areas_warning_stays(oslo, tmp_path):
    with db.transaction(oslo) as conn:
        import_netex(conn, MINIMAL, NetexOptions())
    html, panels = overview(oslo)
    notes = panel_notes(oslo)
    assert any(AREAS_ESTIMATED in n for n in notes), notes  # the hand-drawn area still is
    assert not any(HUBS_ESTIMATED in n for n in notes), notes  # the register's stops are not
    assert "Posisjon: fra stoppestedsregisteret (NeTEx/GTFS)" in html  # the text list says why

    # one hub placed by hand beside them: the warning is back, counting only that one
    hand = {
        "type": "Feature",
        "properties": {"id": "anslatt", "name": "Anslått holdeplass", "mode": "bus_terminal"},
        "geometry": {"type": "Point", "coordinates": [10.7530, 59.9100]},
    }
    with db.transaction(oslo) as conn:
        import_file(conn, write_geojson(tmp_path / "hubs.geojson", [hand]), "hubs")
        total = conn.execute("SELECT count(*) FROM hubs").fetchone()[0]
    notes = panel_notes(oslo)
    assert f"Posisjonen til 1 av {total} {HUBS_ESTIMATED} (ikke verifisert)." in notes
    assert any(AREAS_ESTIMATED in n for n in notes)


def test_shipped_lorenskog_layers_keep_their_warnings(loaded_db):
    notes = panel_notes(loaded_db)
    assert any(AREAS_ESTIMATED in n for n in notes)
    assert any(HUBS_ESTIMATED in n and "planlagte T-banestasjoner" in n for n in notes)
    assert any("EKSEMPELDATA" in n for n in notes)


@pytest.fixture
def arendal(empty_db: str) -> str:
    """A store serving Arendal (4203) with DiBK's test plan and vacant premises in two of its
    areas."""
    with db.transaction(empty_db) as conn:
        serve(conn, ["4203"])
        options = PlanImportOptions(check_region=False, licence="MIT (DiBK)", sample=True)
        import_plan(conn, PLAN, options)
        areas = conn.execute("SELECT id, code FROM land_use ORDER BY code, id").fetchall()
        for n, (area_id, _code) in enumerate(areas[:2]):
            conn.execute(
                """INSERT INTO premises (id, address, uses, floor_area_m2, source, sample, geom)
                   SELECT %s, 'Planveien 1 (eksempel)', ARRAY['office'], 400, 'test', true,
                          ST_PointOnSurface(geom) FROM land_use WHERE id = %s""",
                (f"lu-{n}", area_id),
            )
    return empty_db


def test_land_use_layer_on_the_overview(arendal):
    with psycopg.connect(db.conninfo(arendal)) as conn:
        rows = conn.execute("SELECT id, code FROM land_use ORDER BY code, id").fetchall()
        # an independent count: which area each premises lies in
        counted = conn.execute(
            """SELECT lu.code, count(DISTINCT p.id) FROM land_use lu
               JOIN premises p ON ST_Covers(lu.geom, p.geom) GROUP BY lu.code"""
        ).fetchall()
    assert rows and sum(n for _, n in counted) >= 2
    html, panels = overview(arendal)
    names = code_lists().land_use
    # a layer control entry in Norwegian, off until chosen; standard colours
    entry = re.search(r'"Arealform\\u00e5l \(reguleringsplaner\)" : (feature_group_\w+),', html)
    assert entry, "no layer control entry"
    assert f"{entry.group(1)}.addTo(" not in html  # off until chosen
    for code in {c for _, c in rows}:
        assert f'"fillColor": "{names[code].colour}"' in html
    # legend: each purpose with its vacant premises
    legend = panels[panels.index('<details class="gp-legend"') :]
    legend = legend[: legend.index("</details>")]
    for code, n in counted:
        words = "1 ledig lokale" if n == 1 else f"{n} ledige lokaler"
        assert f"{code} {names[code].name} – {words}" in legend
    # the text alternative under the map: the same counts in a table
    lists = html[html.index('id="gp-lists"') :]
    assert '<h3 id="gp-list-land-use">Arealformål (reguleringsplaner)</h3>' in lists
    for code, n in counted:
        assert f'<th scope="row">{code} {names[code].name}</th><td>' in lists
        row = lists[lists.index(f'<th scope="row">{code} {names[code].name}</th>') :]
        assert re.match(rf'<th scope="row">[^<]*</th><td>\d+</td><td>{n}</td>', row)
    # the plan is a schema example: the map says so
    assert any("EKSEMPELPLANER" in n for n in panel_notes(arendal))


def test_scoped_overview_leaves_out_other_municipalities_land_use(arendal):
    with db.transaction(arendal) as conn:
        serve(conn, ["4203", "0301"])
    html, panels = overview(arendal, kommuner=["0301"])
    assert "(reguleringsplaner)" not in html + panels
