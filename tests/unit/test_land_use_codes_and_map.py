"""The shipped code lists (layers/land_use_codes.toml) and the land-use map layer."""

from __future__ import annotations

import re

import folium
import geopandas as gpd
import shapely

from geoplan.zoning import code_lists
from maps.land_use import add_land_use, land_use_legend_html


def test_code_list_has_the_official_purposes_with_colours():
    codes = code_lists()
    land_use = codes.land_use
    assert land_use[1001].name == "Bebyggelse og anlegg"
    assert land_use[1130].name == "Sentrumsformål"
    assert land_use[1300].name == "Næringsbebyggelse"
    assert land_use[1300].group == "Bebyggelse og anlegg"
    assert land_use[2010].group == "Samferdselsanlegg og teknisk infrastruktur"
    assert land_use[1801].pattern and not land_use[1300].pattern
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c.colour) for c in land_use.values())
    assert len(land_use) == 225
    assert codes.plan_statuses[3] == "Endelig vedtatt arealplan"
    assert codes.plan_types[35] == "Detaljregulering"
    assert codes.utilisation_types[16].startswith("%-BYA")
    assert "DiBK" in codes.source["name"]


def _layer() -> gpd.GeoDataFrame:
    codes = code_lists().land_use
    rows = [
        (1300, "BN1", shapely.box(10.95, 59.92, 10.96, 59.93)),
        (1801, "BKB1", shapely.box(10.96, 59.92, 10.97, 59.93)),
    ]
    return gpd.GeoDataFrame(
        {
            "id": ["4203_1/a", "4203_1/b"],
            "plan": ["4203_1"] * 2,
            "plan_name": ["Testplan"] * 2,
            "plan_status": ["Planforslag"] * 2,
            "code": [c for c, _, _ in rows],
            "name": [codes[c].name for c, _, _ in rows],
            "main_purpose": [codes[c].group for c, _, _ in rows],
            "field_name": [f for _, f, _ in rows],
            "ownership": [None, None],
            "utilisation_type_name": ["%-BYA – bebygd areal i prosent", None],
            "utilisation": [60.0, None],
            "utilisation_min": [None, None],
            "source": ["test"] * 2,
            "licence": [None, None],
            "verified": [False] * 2,
            "sample": [True] * 2,
            "colour": [codes[c].colour for c, _, _ in rows],
            "pattern": [codes[c].pattern for c, _, _ in rows],
        },
        geometry=[g for _, _, g in rows],
        crs=4326,
    )


def test_land_use_layer_draws_each_purpose_in_its_colour():
    gdf = _layer()
    m = folium.Map(location=(59.925, 10.96), zoom_start=14, tiles=None)
    add_land_use(m, gdf)
    html = m.get_root().render()
    assert '"land_use"' in html  # registered as geoplanLayers.land_use
    assert '"fillColor": "#9966ff"' in html  # 1300 Næringsbebyggelse
    assert "Eksempeldata – ikke en virkelig plan" in html and "1300 Næringsbebyggelse" in html
    legend = land_use_legend_html(gdf)
    assert "#9966ff" in legend and "1801 Bolig/forretning" in legend and "dashed" in legend
