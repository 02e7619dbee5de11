"""Map builders: which layers, popups and styles each map carries (folium tree and HTML)."""

from __future__ import annotations

import json
import math
import re

import folium
import geopandas as gpd
import pytest
import shapely
from typer.testing import CliRunner

from geoplan import mapdata, premises
from geoplan.errors import NotFoundError, ValidationError
from geoplan.premises import PremisesQuery
from maps import base
from maps.area import build_area_map
from maps.overview import build_overview
from maps.search import build_premises_map


def groups(m: folium.Map) -> dict[str, folium.FeatureGroup]:
    return {c.layer_name: c for c in m._children.values() if isinstance(c, folium.FeatureGroup)}


def premises_layer(m: folium.Map) -> base.PremisesCluster:
    (layer,) = [c for c in m._children.values() if isinstance(c, base.PremisesCluster)]
    return layer


def panels(m: folium.Map) -> str:
    return "".join(c.html for c in m._children.values() if isinstance(c, base.Panel))


def popups(group) -> list[str]:
    out = []
    for child in group._children.values():
        out += [p.html for p in child._children.values() if isinstance(p, base.HtmlPopup)]
    return out


EXTERNAL = re.compile(r'<(?:script|link)[^>]+(?:src|href)="(https?:)?//', re.I)


# -- data access ---------------------------------------------------------------------------------
def test_catchments_fall_back_to_labelled_straight_line_rings(loaded_db, conn):
    rings = mapdata.catchments(conn)
    hubs = mapdata.hubs(conn)
    assert len(rings) == 3 * len(hubs)
    assert set(rings["method"]) == {"straight_line"}
    ring = rings[(rings.hub_id == "lorenskog_st") & (rings.minutes == 10)].to_crs(25833)
    r = mapdata.ring_radius_m(10)
    assert r == pytest.approx(5000 / 60 * 10 / 1.3)
    assert ring.geometry.iloc[0].area == pytest.approx(math.pi * r * r, rel=0.02)


def test_catchments_prefer_stored_network_isochrones(loaded_db, conn):
    # loading layers stores straight-line catchments for every hub (geoplan.proximity); replace
    # this hub's with a network one at 5 min only
    conn.execute("DELETE FROM catchments WHERE hub_id = 'lorenskog_st'")
    conn.execute(
        """INSERT INTO catchments (hub_id, minutes, method, geom)
           SELECT id, 5, 'network', ST_Multi(ST_Buffer(geom, 100)) FROM hubs
           WHERE id = 'lorenskog_st'"""
    )
    rings = mapdata.catchments(conn, ["lorenskog_st"])
    by_min = dict(zip(rings["minutes"], rings["method"], strict=True))
    assert by_min == {5: "network", 10: "straight_line", 15: "straight_line"}
    label = base.catchment_label(5, rings[rings.minutes == 5]["method"])
    assert "gangnett" in label and "luftlinje" not in label
    conn.rollback()


def test_premises_fetch_everything_in_pages(loaded_db, conn, monkeypatch):
    monkeypatch.setattr(mapdata, "SEARCH_PAGE", 7)
    result = mapdata.premises(conn, everything=True)
    assert result.number_matched == 45
    assert len(result.features) == 45 and result.features["id"].is_unique
    assert result.features.crs.to_epsg() == 4326
    inside = result.features.set_index("id")["area_id"]
    assert inside["sample-001"] == "sentrum"
    assert inside.isna().sum() == 6  # the six sample premises outside the focus areas


def test_query_from_form_params_treats_empty_as_no_filter():
    q = premises.query_from_params(
        {
            "use": ["office,retail"],
            "min_area_m2": [""],
            "max_rent_nok_m2": ["1 500".replace(" ", "")],
            "area": [""],
            "max_walk_min": ["10"],
        }
    )
    assert q.uses == ["office", "retail"] and q.min_area_m2 is None and q.area is None
    assert q.max_rent_nok_m2 == 1500 and q.max_walk_min == 10
    with pytest.raises(ValidationError) as e:
        premises.query_from_params({"max_area_m2": ["stor"]})
    assert e.value.field == "max_area_m2"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (PremisesQuery(uses=["kontor"]), "use"),
        (PremisesQuery(area="oslo"), "area"),
        (PremisesQuery(hub="nowhere"), "hub"),
        (PremisesQuery(min_area_m2=500, max_area_m2=100), "max_area_m2"),
        (PremisesQuery(limit=0), "limit"),
    ],
)
def test_bad_filters_are_rejected_naming_the_field(loaded_db, conn, query, field):
    with pytest.raises(ValidationError) as e:
        premises.check_query(conn, query)
    assert e.value.field == field


# -- overview ------------------------------------------------------------------------------------
def test_overview_layers_styles_and_popups(loaded_db, conn):
    m = build_overview(conn, link_base="http://x")
    g = groups(m)
    assert {
        "Kommunegrense",
        "Fokusområder (Næringsstrategi 2025–2037)",
        "Kollektivknutepunkter",
    } <= set(g)
    assert {n for n in g if n.startswith("Gangavstand")} == {
        f"Gangavstand {x} min (luftlinje-sirkel (anslag uten gangnett))" for x in (5, 10, 15)
    }

    areas = g["Fokusområder (Næringsstrategi 2025–2037)"]
    features = [c for c in areas._children.values() if isinstance(c, folium.GeoJson)]
    assert len(features) == 6
    for gj in features:
        role = gj.data["features"][0]["properties"]["role"]
        style = gj.style_function(gj.data["features"][0])
        assert style["fillColor"] == base.ROLE_COLORS[role]
    area_popups = popups(areas)
    sentrum = next(p for p in area_popups if 'data-area="sentrum"' in p)
    assert "levende sentrum" in sentrum  # identity (nb)
    assert "servering" in sentrum and "kultur" in sentrum  # target industries
    assert 'href="http://x/maps/areas/sentrum"' in sentrum
    losby = next(gj for gj in features if gj.data["features"][0]["id"] == "losbydalen")
    assert losby.style_function({})["dashArray"]  # not a development area: dashed

    hubs = [
        c for c in g["Kollektivknutepunkter"]._children.values() if isinstance(c, folium.Marker)
    ]
    assert len(hubs) == 10
    icons = [h.icon.options["html"] for h in hubs]
    assert sum("gp-planned" in i for i in icons) == 3
    assert any("gp-mode-rail" in i and ">TOG<" in i for i in icons)
    assert any("gp-mode-metro" in i for i in icons) and any(
        "gp-mode-bus_terminal" in i for i in icons
    )
    hub_popups = popups(g["Kollektivknutepunkter"])
    ahus = next(p for p in hub_popups if 'data-hub="ahus"' in p)
    assert "300, 417" in ahus and "12" in ahus and "Bussterminal" in ahus

    layer = premises_layer(m)
    assert len(layer.rows) == 45
    row = dict(
        zip(base.PREMISES_ROW, next(r for r in layer.rows if r[2] == "sample-001"), strict=True)
    )
    assert row["address"] == "Skårersletta 90 (eksempel)"
    assert (
        row["uses"] == ["office"]
        and row["floor_area_m2"] == 850
        and row["rent_nok_m2_year"] == 2225
    )
    assert (
        row["available_from"] == "2026-11-03" and row["sample"] == 1 and row["area_id"] == "sentrum"
    )
    assert row["nearest_hub_name"] and row["walk_min"] > 0 and row["walk_method"] == "straight_line"


def test_overview_html_is_self_contained_norwegian_and_has_controls(loaded_db, conn):
    m = build_overview(conn)
    html = base.render_html(m)
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert '<html lang="nb">' in html
    for control in (
        "L.control.layers",
        "L.control.fullscreen",
        "L.Control.Measure",
        "L.Control.MousePosition",
        "L.control.scale",
        "markerClusterGroup",
    ):
        assert control in html, control
    assert "cache.kartverket.no" in html and "topograatone" in html and "openstreetmap" in html
    assert "EKSEMPELDATA" in html and "Tegnforklaring" in html
    assert "anslått" in html  # estimated areas / hub positions are said to be estimates
    assert 'action="/maps/premises"' in panels(m) and 'name="max_walk_min"' in panels(m)
    assert "'/premises/'" in html  # popup link to the API record


def test_premises_layer_stays_compact_for_10000_points():
    n = 10_000
    pts = shapely.points(
        [10.9 + i * 1e-5 for i in range(n)], [59.92 + (i % 97) * 1e-4 for i in range(n)]
    )
    gdf = gpd.GeoDataFrame(
        {
            "id": [f"p{i}" for i in range(n)],
            "address": [f"Testveien {i}" for i in range(n)],
            "uses": [["office"]] * n,
            "floor_area_m2": [500.0] * n,
            "rent_nok_m2_year": [1800.0] * n,
            "available_from": [None] * n,
            "nearest_hub_name": ["Lørenskog stasjon"] * n,
            "walk_min": [7.3] * n,
            "walk_method": ["network"] * n,
            "sample": [True] * n,
            "area_id": ["sentrum"] * n,
        },
        geometry=pts,
        crs=4326,
    )
    m = base.new_map()
    base.add_premises(m, gdf)
    html = base.render_html(m)
    assert len(html.encode()) < 5_000_000
    assert html.count("L.marker(") == 1  # one marker factory, not one statement per point
    data = re.search(r"var data = (\[\[.*?\]\]);", html).group(1)
    assert len(json.loads(data)) == n


# -- search map ---------------------------------------------------------------------------------
def test_search_map_shows_results_hubs_catchments_and_table(loaded_db, conn):
    q = PremisesQuery(uses=["office"], max_walk_min=10)
    m, result = build_premises_map(conn, q)
    found = result.features
    assert 0 < len(found) == result.number_matched < 45
    assert all("office" in u for u in found["uses"]) and (found["walk_min"] <= 10).all()
    assert len(premises_layer(m).rows) == len(found)
    g = groups(m)
    hub_group = g["Knutepunkter i søket"]
    hub_count = len([c for c in hub_group._children.values() if isinstance(c, folium.Marker)])
    assert hub_count == found["nearest_hub_id"].nunique()
    assert [n for n in g if n.startswith("Gangavstand")] == [
        "Gangavstand 10 min (luftlinje-sirkel (anslag uten gangnett))"
    ]
    html = base.render_html(m)
    table = html[html.index('id="gp-results"') :]
    assert table.count("<tr data-id=") == len(found)
    for pid, area in zip(found["id"], found["area_id"], strict=True):
        assert f'href="/premises/{pid}"' in table
        if area:
            assert f'href="/maps/areas/{area}"' in table
    form = panels(m)
    assert '<option value="office" selected>' in form and '<option value="10" selected>' in form


def test_search_map_for_an_area_highlights_it(loaded_db, conn):
    m, result = build_premises_map(conn, PremisesQuery(area="visperud"))
    assert result.number_matched == 8 and set(result.features["area_id"]) == {"visperud"}
    areas = [
        c
        for c in groups(m)["Fokusområder (Næringsstrategi 2025–2037)"]._children.values()
        if isinstance(c, folium.GeoJson)
    ]
    weights = {gj.data["features"][0]["id"]: gj.style_function({})["weight"] for gj in areas}
    assert weights["visperud"] > max(w for k, w in weights.items() if k != "visperud")


# -- area map -----------------------------------------------------------------------------------
def test_area_map_zooms_to_area_with_serving_hubs_and_nearby_premises(loaded_db, conn):
    m = build_area_map(conn, "ahus")
    g = groups(m)
    hubs = g["Knutepunkter som betjener området"]
    ids = {p.split('data-hub="')[1].split('"')[0] for p in popups(hubs)}
    assert {"ahus", "ahus_tbane"} <= ids and "lillestrom_st" not in ids
    rows = premises_layer(m).rows
    in_area = [r for r in rows if r[12] == "ahus"]
    assert len(in_area) == 6 and len(rows) >= 6
    html = base.render_html(m)
    assert "Målnæringer" in html and "helse" in html and "fitBounds" in html


def test_area_map_unknown_slug_is_not_found(loaded_db, conn):
    with pytest.raises(NotFoundError):
        build_area_map(conn, "atlantis")


# -- API and CLI --------------------------------------------------------------------------------
@pytest.fixture
def client(loaded_db):
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(database_url=loaded_db)) as c:
        yield c


def test_api_serves_the_map_pages(client):
    for path in ("/", "/maps/overview", "/maps/areas/sentrum"):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), path
    r = client.get(
        "/maps/premises?use=office&min_area_m2=&max_area_m2=&max_rent_nok_m2=&area=&max_walk_min=15"
    )
    assert r.status_code == 200 and 'id="gp-results"' in r.text


@pytest.mark.parametrize(
    ("url", "status", "field"),
    [
        ("/maps/premises?min_area_m2=abc", 422, "min_area_m2"),
        ("/maps/premises?use=kontor", 422, "use"),
        ("/maps/premises?area=atlantis", 422, "area"),
        ("/maps/areas/atlantis", 404, None),
    ],
)
def test_api_map_errors_are_problem_json(client, url, status, field):
    r = client.get(url)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/problem+json")
    if field:
        assert field in [e["field"] for e in r.json()["errors"]]


def test_cli_writes_maps_and_fails_in_one_line(loaded_db, tmp_path):
    from geoplan.cli import app

    runner = CliRunner()
    out = tmp_path / "overview.html"
    r = runner.invoke(app, ["map", "overview", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert (
        "geoplanLayers" in out.read_text()
        and "http://127.0.0.1:8000/maps/areas/" in out.read_text()
    )
    r = runner.invoke(
        app,
        ["map", "premises", "--use", "office", "--max-walk", "10", "-o", str(tmp_path / "s.html")],
    )
    assert r.exit_code == 0 and "premises match" in r.output
    r = runner.invoke(app, ["map", "area", "visperud", "--out", str(tmp_path / "a.html")])
    assert r.exit_code == 0 and (tmp_path / "a.html").stat().st_size > 0
    r = runner.invoke(app, ["map", "area", "atlantis", "--out", str(tmp_path / "x.html")])
    assert r.exit_code == 1 and "atlantis" in r.output and not (tmp_path / "x.html").exists()
    assert len(r.output.strip().splitlines()) == 1


def test_search_map_takes_the_search_parameters_and_gives_its_messages(client, tmp_path):
    # `area` is checked against the areas table by geoplan on both (issue 14: an imported
    # area's slug is as good as a shipped one), no longer by an enum in the OpenAPI schema.
    queries = ("use=kontor", "hub=nowhere&max_walk_min=5", "area=atlantis", "limit=5000")
    for query in queries:
        search = client.get(f"/premises?{query}")
        on_map = client.get(f"/maps/premises?{query}")
        assert search.status_code == on_map.status_code == 422, query
        if "limit" in query:  # GET /premises checks bounds in its OpenAPI schema: same fields
            fields = [{e["field"] for e in r.json()["errors"]} for r in (search, on_map)]
            assert fields[0] == fields[1] == {"limit"}
        else:  # checked by geoplan: same fields and messages
            assert search.json()["errors"] == on_map.json()["errors"], query
    assert client.get("/maps/premises?use=kontor").json()["errors"][0]["field"] == "use"

    from geoplan.cli import app

    runner = CliRunner()
    out = str(tmp_path / "s.html")
    for args in (["--use", "kontor"], ["--available-by", "2026-13-01"], ["--limit", "5000"]):
        listed = runner.invoke(app, ["premises", "search", *args], env={"COLUMNS": "1000"})
        mapped = runner.invoke(app, ["map", "premises", *args, "-o", out], env={"COLUMNS": "1000"})
        assert listed.exit_code == mapped.exit_code == 1, args
        assert listed.output == mapped.output and listed.output.startswith("error:"), args
    r = runner.invoke(app, ["map", "premises", "--max-walk-min", "10", "--offset", "2", "-o", out])
    assert r.exit_code == 0, r.output
