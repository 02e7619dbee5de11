"""The land-use layer of the zoning plans: each arealformål area filled in the colour the
national drawing rules give its purpose (the table is data: ``layers/land_use_codes.toml``).

One function adds the layer to any folium map; the data comes from
:func:`geoplan.zoning.land_use_for_map`. Combined purposes, which the drawing rules hatch, are
filled with their main purpose's colour and dashed; the legend says so.
"""

from __future__ import annotations

from collections.abc import Mapping

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


def _premises_words(n: int) -> str:
    return "1 ledig lokale" if n == 1 else f"{n} ledige lokaler"


def land_use_legend_html(
    land_use: gpd.GeoDataFrame,
    premises: Mapping[int, int] | None = None,
    *,
    heading: str = "b",
) -> str:
    """A legend of the purposes present: colour swatch, code and name (combined ones dashed),
    and — given ``premises`` (code → vacant premises in its areas) — how many vacant premises
    lie in each. ``heading``: the element of the title (``h2`` inside the map's legend)."""
    seen = land_use.drop_duplicates("code").sort_values("code")
    items = "".join(
        f'<li><span class="gp-swatch" aria-hidden="true" style="background:{esc(r.colour)};'
        f"border:1px {'dashed' if r.pattern else 'solid'} #333;display:inline-block;"
        f'width:14px;height:10px;margin-right:4px"></span>{esc(r.code)} {esc(r.name)}'
        + (f" – {_premises_words(premises.get(int(r.code), 0))}" if premises is not None else "")
        + "</li>"
        for r in seen.itertuples()
    )
    return (
        f'<div class="gp-land-use-legend"><{heading}>{esc(LAYER_NAME)}</{heading}>'
        f'<ul style="list-style:none;padding-left:0;margin:4px 0">{items}</ul>'
        "<small>Farger etter tegnereglene for reguleringsplan (DiBK); kombinerte formål "
        "(skravur i tegnereglene) vises stiplet i hovedformålets farge.</small></div>"
    )


def _m2(value: float) -> str:
    """``12 500`` (Norwegian thousands: a no-break space)."""
    return f"{value:,.0f}".replace(",", "\u00a0")


def land_use_list_html(summary, *, level: int = 3) -> str:
    """The land-use purposes and the vacant premises in them, as a table under the map (the
    text alternative of the layer). ``summary`` is a
    :class:`geoplan.zoning.LandUsePremises` (from :func:`geoplan.mapdata.land_use_premises`)."""
    rows = "".join(
        f'<tr><th scope="row">{esc(p.code)} {esc(p.name)}</th><td>{p.areas}</td>'
        f"<td>{p.premises}</td><td>{_m2(p.floor_area_m2)}</td></tr>"
        for p in summary.purposes
    )
    plans = "1 plan" if summary.plans == 1 else f"{summary.plans} planer"
    outside = summary.vacant_premises - summary.in_land_use
    return (
        f'<h{level} id="gp-list-land-use">{esc(LAYER_NAME)}</h{level}>'
        f"<p>{plans}; {summary.in_land_use} av {summary.vacant_premises} ledige lokaler ligger "
        f"i et område med arealformål, {outside} utenfor. Et lokale i overlappende områder "
        "telles for hvert av formålene. Laget slås på i kartets lagvelger.</p>"
        '<table class="gp-table"><caption>Ledige lokaler per arealformål</caption>'
        '<thead><tr><th scope="col">Arealformål</th><th scope="col">Områder</th>'
        '<th scope="col">Ledige lokaler</th><th scope="col">Ledig areal (m²)</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )
