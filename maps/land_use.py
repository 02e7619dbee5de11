"""The land-use layer of the zoning plans: each arealformål area filled in the colour the
national drawing rules give its purpose (the table is data: ``layers/land_use_codes.toml``).

One function adds the layer to any folium map; the data comes from
:func:`geoplan.zoning.land_use_for_map`. Combined purposes, which the drawing rules hatch, are
filled with their main purpose's colour and dashed; the legend says so.
"""

from __future__ import annotations

import folium
import geopandas as gpd
import shapely

from maps.base import HtmlPopup, esc, register

LAYER_NAME = "Arealformål (reguleringsplaner)"
FILL_OPACITY = 0.55


def land_use_style(colour: str, pattern: bool = False) -> dict:
    """Leaflet path style of one area: the purpose's fill, a thin dark outline (dashed for a
    combined purpose, which the drawing rules hatch)."""
    return {
        "color": "#333333",
        "weight": 1,
        "fillColor": colour,
        "fillOpacity": FILL_OPACITY,
        "dashArray": "4 3" if pattern else None,
    }


def _number(value: object) -> str:
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "–"
    return "–" if f != f else f"{f:g}"


def land_use_popup_html(row) -> str:
    """Purpose, field name, utilisation and the plan, with provenance and a sample warning."""
    utilisation = ""
    if row.utilisation_type_name:
        least = _number(row.utilisation_min)
        utilisation = (
            f"<p><b>Utnytting:</b> {esc(row.utilisation_type_name)} {_number(row.utilisation)}"
            + (f" (minst {least})" if least != "–" else "")
            + "</p>"
        )
    sample = "<p><b>Eksempeldata – ikke en virkelig plan.</b></p>" if bool(row.sample) else ""
    return (
        f'<div class="gp-popup gp-land-use-popup" data-land-use="{esc(row.id)}">'
        f"<h3>{esc(row.code)} {esc(row.name)}</h3>"
        f"<p><b>Felt:</b> {esc(row.field_name)} · <b>Hovedformål:</b> {esc(row.main_purpose)}</p>"
        f"{utilisation}"
        f"<p><b>Plan:</b> {esc(row.plan_name)} ({esc(row.plan)}), {esc(row.plan_status)}</p>"
        f"{sample}"
        f"<p><small>Kilde: {esc(row.source)}"
        f"{'; lisens: ' + esc(row.licence) if row.licence else ''}.</small></p></div>"
    )


def add_land_use(
    m: folium.Map, land_use: gpd.GeoDataFrame, *, name: str = LAYER_NAME, show: bool = True
) -> folium.FeatureGroup:
    """Add the land-use areas (from :func:`geoplan.zoning.land_use_for_map`) as one layer,
    reachable in the page as ``geoplanLayers.land_use``."""
    group = folium.FeatureGroup(name=name, overlay=True, show=show)
    for row in land_use.itertuples():
        style = land_use_style(row.colour, bool(row.pattern))
        feature = {
            "type": "Feature",
            "id": row.id,
            "properties": {"id": row.id, "code": int(row.code), "name": row.name},
            "geometry": shapely.geometry.mapping(row.geometry),
        }
        gj = folium.GeoJson(
            feature,
            style_function=lambda _f, s=style: s,
            highlight_function=lambda _f: {"weight": 3, "fillOpacity": 0.75},
            tooltip=f"{row.code} {row.name}" + (f" – {row.field_name}" if row.field_name else ""),
            control=False,
        )
        gj.add_child(HtmlPopup(land_use_popup_html(row), 360))
        gj.add_to(group)
    group.add_to(m)
    return register(m, "land_use", group)  # type: ignore[return-value]


def land_use_legend_html(land_use: gpd.GeoDataFrame) -> str:
    """A legend of the purposes present: colour swatch, code and name (combined ones dashed)."""
    seen = land_use.drop_duplicates("code").sort_values("code")
    items = "".join(
        f'<li><span class="gp-swatch" style="background:{esc(r.colour)};'
        f"border:1px {'dashed' if r.pattern else 'solid'} #333;display:inline-block;"
        f'width:14px;height:10px;margin-right:4px"></span>{esc(r.code)} {esc(r.name)}</li>'
        for r in seen.itertuples()
    )
    return (
        f'<div class="gp-land-use-legend"><b>{esc(LAYER_NAME)}</b>'
        f'<ul style="list-style:none;padding-left:0;margin:4px 0">{items}</ul>'
        "<small>Farger etter tegnereglene for reguleringsplan (DiBK); kombinerte formål "
        "(skravur i tegnereglene) vises stiplet i hovedformålets farge.</small></div>"
    )
