"""Base maps and the reusable pieces every geoplan map is built from.

Kartverket's WMTS cache (topographic and grey-tone) is what Norwegian planners know; OpenStreetMap
is the fallback. Attribution is shown on every map (Kartverket data is CC BY 4.0).

Each ``add_*`` function draws one layer from a GeoDataFrame that :mod:`geoplan.mapdata` returns
(WGS84) and registers it in the page as ``window.geoplanLayers[key]`` so scripts and the browser
tests can find it. Builders (overview, premises search, area, assessment) compose these pieces and
finish with :func:`add_controls` and :func:`render_html`.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import CssLink, Element, MacroElement
from folium.elements import JSCSSMixin
from folium.map import FitBounds
from folium.plugins import Fullscreen, MarkerCluster, MeasureControl, MousePosition
from folium.template import Template

from maps.assets import GEOPLAN_CSS, GEOPLAN_JS, inline_assets
from maps.labels import METHOD_LABELS, MODE_LABELS, ROLE_LABELS, STATUS_LABELS, USE_LABELS
from maps.rendered_text import keep_rendered_text

keep_rendered_text()  # every page this package renders (maps/rendered_text.py)

KARTVERKET_ATTR = '&copy; <a href="https://www.kartverket.no/">Kartverket</a> (CC BY 4.0)'
KARTVERKET_WMTS = (
    "https://cache.kartverket.no/v1/wmts/1.0.0/{layer}/default/webmercator/{{z}}/{{y}}/{{x}}.png"
)
OSM_ATTR = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>-bidragsytere'

BASE_LAYERS = {
    "Kartverket topografisk": KARTVERKET_WMTS.format(layer="topo"),
    "Kartverket gråtone": KARTVERKET_WMTS.format(layer="topograatone"),
}

NORWAY_VIEW = ((64.5, 12.0), 5)
"""Centre (lat, lon) and zoom of a map built without a location: all of Norway. Builders pass
the served municipality's centre (:func:`geoplan.mapdata.map_view`) and fit its extent."""

ROLE_COLORS: dict[str, str] = {
    "centre": "#c0392b",
    "local_centre": "#e67e22",
    "business_area": "#2e86c1",
    "campus": "#229954",
    "destination": "#8e44ad",
}
MODE_COLORS: dict[str, str] = {
    "rail": "#1b4f72",
    "metro": "#a04000",
    "bus_terminal": "#b03a2e",
    "bus_stop": "#5d6063",
}
"""Hub badge colours; the badge text (white) has at least 4.5:1 contrast on each."""
MODE_BADGES: dict[str, str] = {"rail": "TOG", "metro": "T", "bus_terminal": "BUSS", "bus_stop": "B"}
USE_COLORS: dict[str, str] = {
    "office": "#1f618d",
    "retail": "#c0392b",
    "warehouse_logistics": "#7d6608",
    "production": "#6c3483",
    "health": "#0e6655",
    "hospitality": "#9c640c",
    "other": "#566573",
}
"""Premises dot colours by first use; the use's letter (white) has at least 4.5:1 contrast."""
USE_BADGES: dict[str, str] = {
    "office": "K",
    "retail": "H",
    "warehouse_logistics": "L",
    "production": "P",
    "health": "+",
    "hospitality": "S",
    "other": "A",
}
"""The letter in each premises dot, so the use is not told by colour alone."""
CATCHMENT_STYLE: dict[int, dict] = {
    5: {"weight": 2.0, "fillOpacity": 0.10},
    10: {"weight": 1.5, "fillOpacity": 0.07},
    15: {"weight": 1.2, "fillOpacity": 0.05},
}
HUB_RING_COLORS = {"existing": "#1f3a93", "planned": "#8e44ad"}

PREMISES_ROW: tuple[str, ...] = (
    "lat",
    "lon",
    "id",
    "address",
    "uses",
    "floor_area_m2",
    "rent_nok_m2_year",
    "available_from",
    "nearest_hub_name",
    "walk_min",
    "walk_method",
    "sample",
    "area_id",
)
"""Columns of the compact array the premises layer embeds: one short JSON array per premises
instead of one Leaflet object per point keeps a 10 000-premises map small and fast."""


def esc(value: object) -> str:
    """HTML-escape anything for popups and panels (``None`` -> dash)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return html.escape(str(value))


def _list(value: object) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _num(value: object) -> float | None:
    if value is None:
        return None
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _rounded_geojson(geom: shapely.Geometry, decimals: int = 6) -> dict:
    """GeoJSON geometry with coordinates rounded (6 decimals ≈ 0.1 m): smaller HTML."""
    return shapely.geometry.mapping(
        shapely.transform(geom, lambda c: np.round(c, decimals))  # type: ignore[attr-defined]
    )


class _Register(MacroElement):
    """``window.geoplanLayers[key] = <layer>``: a stable handle on a layer in the page."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        (window.geoplanLayers = window.geoplanLayers || {})[{{ this.key|tojson }}] =
            {{ this.layer.get_name() }};
        {% endmacro %}"""
    )

    def __init__(self, key: str, layer: MacroElement):
        super().__init__()
        self._name = "GeoplanRegister"
        self.key = key
        self.layer = layer


class HtmlPopup(MacroElement):
    """``layer.bindPopup(html)``: folium's own Popup needs jQuery, which geoplan does not ship."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.bindPopup({{ this.html_json }},
            {maxWidth: {{ this.max_width|tojson }}});
        {% endmacro %}"""
    )

    def __init__(self, html_text: str, max_width: int = 340):
        super().__init__()
        self._name = "GeoplanPopup"
        self.html = html_text
        self.html_json = _compact_json(html_text)
        self.max_width = max_width


def register(m: folium.Map, key: str, layer: MacroElement) -> MacroElement:
    """Make ``layer`` reachable from page scripts and tests as ``geoplanLayers[key]``."""
    m.add_child(_Register(key, layer))
    return layer


class MetricScale(JSCSSMixin):
    """A metric-only scale bar (planners in Norway do not need miles), shorter on phones so it
    fits beside the legend (``geoplan.scale``)."""

    default_js = [GEOPLAN_JS]
    _template = Template(
        """{% macro script(this, kwargs) %}
        geoplan.scale({{ this._parent.get_name() }});
        {% endmacro %}"""
    )


class Panel(JSCSSMixin):
    """A Leaflet control holding HTML (title, notes, filter form, legend).

    As a control it stays on the map in fullscreen mode; clicks and scrolling inside it do not
    pan or zoom the map (``geoplan.panel`` in ``maps/static/geoplan.js``).
    """

    default_js = [GEOPLAN_JS]
    _template = Template(
        """{% macro script(this, kwargs) %}
        var {{ this.get_name() }} = geoplan.panel({{ this._parent.get_name() }},
            {{ this.position|tojson }}, {{ this.css_class|tojson }}, {{ this.html_json }});
        {% endmacro %}"""
    )

    def __init__(self, html_text: str, position: str = "topleft", css_class: str = "gp-panel"):
        super().__init__()
        self._name = "GeoplanPanel"
        self.html = html_text
        self.html_json = _compact_json(html_text)
        self.position = position
        self.css_class = css_class


def add_panel(
    m: folium.Map, html_text: str, position: str = "topleft", css_class: str = "gp-panel"
):
    """Put an HTML panel on the map (a Leaflet control)."""
    panel = Panel(html_text, position, css_class)
    m.add_child(panel)
    return panel


PAGE = Template(
    """<!DOCTYPE html>
<html lang="nb">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ this.title|e }}</title>
{{ this.header.render(**kwargs) }}
</head>
{%- set f = this.gp_frame %}
{%- if f %}
<body class="gp-page {{ f.body_class|e }}">
{%- if f.skip_links %}
<nav class="gp-skip" aria-label="Snarveier">
{%- for href, text in f.skip_links %}<a href="{{ href|e }}">{{ text|e }}</a>{% endfor -%}
</nav>
{%- endif %}
<main id="gp-main">
{{ this.html.render(**kwargs) }}
{%- for part in f.below %}
{{ part }}
{%- endfor %}
</main>
<footer class="gp-footer">
<a href="{{ f.link_base|e }}/">Oversiktskart</a>
<a href="{{ f.link_base|e }}/maps/premises">Søk etter ledige lokaler</a>
<a href="{{ f.link_base|e }}/tilgjengelighet">Tilgjengelighetserklæring</a>
<a href="{{ f.link_base|e }}/ogc">Kartlag for GIS-programmer (OGC API)</a>
<a href="{{ f.link_base|e }}/docs">API-dokumentasjon</a>
<p>Kartgrunnlag: © Kartverket (CC BY 4.0), © OpenStreetMap-bidragsytere (ODbL).</p>
</footer>
{%- else %}
<body>
{{ this.html.render(**kwargs) }}
{%- endif %}
<script>
{{ this.script.render(**kwargs) }}
</script>
</body>
</html>
"""
)
"""The page around every map: language, a zoomable viewport, skip links, the ``main`` and
``footer`` landmarks, and (unlike folium's own page) the script inside ``body``."""


@dataclass
class PageFrame:
    """What :data:`PAGE` puts around a map: the body class (which sets the map's height in
    ``geoplan.css``), the skip links and the prefix of the footer links."""

    body_class: str = ""
    link_base: str = ""
    skip_links: list[tuple[str, str]] = field(default_factory=list)
    below: list[str] = field(default_factory=list)
    """HTML after the map, in order (folium would put it before the map's own div)."""


def fit_bounds(m: folium.Map, bounds: list, **options: Any) -> None:
    """Open the map on ``bounds`` (``[[south, west], [north, east]]``; folium's ``padding``,
    ``max_zoom``…) straight away. folium's own ``fit_bounds`` animates from the map's initial
    zoom to the fitted one once the page has run: ≈ 0.4 s during which every tile layer added
    meanwhile fetches a whole round of tiles for the zoom it is about to leave (measured on the
    overview with premises tiles: 35 premises tiles thrown away, issue 13)."""
    fit = FitBounds(bounds, **options)
    fit.options["animate"] = False
    m.add_child(fit)


_FOLIUM_VIEWPORT = re.compile(
    r'<meta name="viewport" content="[^"]*user-scalable=no[^"]*"\s*/?>\s*'
)


def new_map(
    location: tuple[float, float] | None = None,
    zoom_start: int = 13,
    *,
    title: str = "geoplan",
    height: str = "100%",
    page: str = "",
    link_base: str = "",
    embedded: bool = False,
) -> folium.Map:
    """A map with the Norwegian base layers (grey-tone shown first) and OpenStreetMap, centred
    on ``location`` (``(lat, lon)``; all of Norway when None).

    The page around it is :data:`PAGE`: ``page`` names its kind for the style sheet
    (``gp-<page>``: the map's height per screen size), ``link_base`` prefixes the footer links.
    ``embedded`` maps (the assessment report's, in an iframe) get a bare page.
    """
    if location is None:
        location, zoom_start = NORWAY_VIEW
    m = folium.Map(
        location=location,
        zoom_start=zoom_start,
        tiles=None,
        control_scale=False,
        height=height,
        prefer_canvas=False,
    )
    for i, (name, url) in enumerate(BASE_LAYERS.items()):
        folium.TileLayer(url, name=name, attr=KARTVERKET_ATTR, max_zoom=20, show=i == 1).add_to(m)
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap", attr=OSM_ATTR, show=False).add_to(m)
    m.add_child(MetricScale())
    root = m.get_root()
    root._template = PAGE  # type: ignore[attr-defined]
    root.title = title  # type: ignore[attr-defined]
    root.gp_frame = (  # type: ignore[attr-defined]
        None if embedded else PageFrame(f"gp-{page}" if page else "", link_base)
    )
    root.header.add_child(CssLink(GEOPLAN_CSS[1]), name=GEOPLAN_CSS[0])  # type: ignore
    return m


def add_skip_link(m: folium.Map, href: str, text: str) -> None:
    """A link at the very top of the page, shown when focused: keyboard users jump past the
    map (whose markers are many tab stops) to the form or the lists."""
    frame = getattr(m.get_root(), "gp_frame", None)
    if frame is not None:
        frame.skip_links.append((href, text))


# -- layers ------------------------------------------------------------------------------------
def add_boundary(m: folium.Map, boundary: gpd.GeoDataFrame) -> folium.FeatureGroup:
    """The municipal boundary as a line (no fill, so it never hides what lies inside)."""
    group = folium.FeatureGroup(name="Kommunegrense", overlay=True)
    for row in boundary.itertuples():
        folium.GeoJson(
            _rounded_geojson(row.geometry),
            style_function=lambda _f: {"color": "#333", "weight": 2.5, "fill": False},
            tooltip=f"{esc(row.name)} kommune",
            control=False,
        ).add_to(group)
    group.add_to(m)
    return register(m, "boundary", group)  # type: ignore[return-value]


def area_style(role: str, development_area: bool = True, highlight: bool = True) -> dict:
    """Leaflet path style of a focus area: colour by role; dashed when not a development area."""
    color = ROLE_COLORS.get(role, "#555")
    return {
        "color": color,
        "fillColor": color,
        "weight": 3 if highlight else 1.5,
        "fillOpacity": 0.25 if highlight else 0.08,
        "opacity": 0.9 if highlight else 0.5,
        "dashArray": None if development_area else "8 5",
    }


def area_popup_html(area, link_base: str = "") -> str:
    """Name, role, identity and target industries of a focus area, with a link to its map."""
    industries = "".join(f"<li>{esc(t)}</li>" for t in _list(area.target_industries))
    accuracy = _num(area.accuracy_m)
    verified = "verifisert" if area.verified else "anslått avgrensning, ikke verifisert"
    return (
        f'<div class="gp-popup gp-area-popup" data-area="{esc(area.id)}">'
        f"<h3>{esc(area.name)}</h3>"
        f"<p><b>Rolle:</b> {esc(ROLE_LABELS.get(area.role, area.role))}</p>"
        f'<p class="gp-identity">{esc(area.identity)}</p>'
        f'<p><b>Målnæringer:</b></p><ul class="gp-industries">{industries}</ul>'
        f"<p><small>Kilde: Næringsstrategi 2025–2037 {esc(area.strategy_ref or '')}. "
        f"Avgrensning: {verified}"
        f"{f' (±{accuracy:.0f} m)' if accuracy else ''}.</small></p>"
        f'<p><a href="{esc(link_base)}/maps/areas/{esc(area.id)}" target="_top">Vis områdekart</a>'
        f"</p></div>"
    )


def add_areas(
    m: folium.Map,
    areas: gpd.GeoDataFrame,
    *,
    link_base: str = "",
    highlight: str | None = None,
    name: str = "Fokusområder (Næringsstrategi 2025–2037)",
) -> folium.FeatureGroup:
    """Focus areas styled by role, each with a popup (identity, target industries, area link).

    ``highlight``: the slug shown strongly (area map); the others are drawn faint.
    """
    group = folium.FeatureGroup(name=name, overlay=True)
    for area in areas.itertuples():
        strong = highlight is None or area.id == highlight
        style = area_style(area.role, bool(area.development_area), strong)
        feature = {
            "type": "Feature",
            "id": area.id,
            "properties": {"id": area.id, "role": area.role, "name": area.name},
            "geometry": _rounded_geojson(area.geometry),
        }
        gj = folium.GeoJson(
            feature,
            style_function=lambda _f, s=style: s,
            highlight_function=lambda _f: {"weight": 4, "fillOpacity": 0.35},
            tooltip=f"{area.name} – {ROLE_LABELS.get(area.role, area.role)}",
            control=False,
        )
        gj.add_child(HtmlPopup(area_popup_html(area, link_base), 360))
        gj.add_to(group)
    group.add_to(m)
    return register(m, "areas", group)  # type: ignore[return-value]


def hub_icon_html(mode: str, status: str, name: str | None = None) -> str:
    """The badge drawn for a hub: text by mode, filled when existing, hollow dashed when planned.

    With ``name`` (on the map) the badge also carries the hub's name, mode and status for screen
    readers: a marker's accessible name comes from its content."""
    color = MODE_COLORS.get(mode, "#555")
    planned = " gp-planned" if status == "planned" else ""
    text_color = color if planned else "#fff"
    spoken = ""
    if name is not None:
        what = f"{MODE_LABELS.get(mode, mode)}, {STATUS_LABELS.get(status, status)}".lower()
        spoken = f'<span class="gp-sr">{esc(name)} ({esc(what)})</span>'
    return (
        f'<div class="gp-hub gp-mode-{esc(mode)}{planned}" '
        f'style="background:{color};border-color:{color};color:{text_color}">'
        f'<span aria-hidden="true">{esc(MODE_BADGES.get(mode, "?"))}</span>{spoken}</div>'
    )


def hub_position_words(hub) -> str:
    """How sure a hub's position is, in words: checked, the operator's own stop register
    (official data, see :func:`geoplan.mapdata.hubs`), or estimated."""
    if hub.verified:
        return "verifisert"
    if getattr(hub, "from_register", False):
        return "fra stoppestedsregisteret (NeTEx/GTFS)"
    return "anslått, ikke verifisert"


def hub_popup_html(hub) -> str:
    """Name, mode, status, lines and departures of a hub, with how sure its position is."""
    lines = ", ".join(_list(hub.lines)) or "ikke oppgitt"
    dep = _num(hub.departures_per_hour)
    accuracy = _num(hub.accuracy_m)
    status = STATUS_LABELS.get(hub.status, hub.status)
    position = hub_position_words(hub)
    rows = [
        ("Type", MODE_LABELS.get(hub.mode, hub.mode)),
        ("Status", status),
        ("Linjer", lines),
        ("Avganger/time", f"{dep:g} (hverdag, én retning)" if dep is not None else "ikke oppgitt"),
    ]
    if hub.nsr_id:
        rows.append(("NSR-id", hub.nsr_id))
    rows.append(("Posisjon", f"{position}" + (f" (±{accuracy:.0f} m)" if accuracy else "")))
    body = "".join(f"<tr><td><b>{esc(k)}</b></td><td>{esc(v)}</td></tr>" for k, v in rows)
    planned = (
        "<p class='gp-note'>Planlagt stasjon – posisjonen er bare veiledende.</p>"
        if hub.status == "planned"
        else ""
    )
    return (
        f'<div class="gp-popup gp-hub-popup" data-hub="{esc(hub.id)}" '
        f'data-status="{esc(hub.status)}"><h3>{esc(hub.name)}</h3>'
        f"<table>{body}</table>{planned}</div>"
    )


def add_hubs(
    m: folium.Map, hubs: gpd.GeoDataFrame, name: str = "Kollektivknutepunkter"
) -> folium.FeatureGroup:
    """Transit hubs: badge by mode (TOG / T / BUSS), planned hubs hollow and dashed."""
    group = folium.FeatureGroup(name=name, overlay=True)
    for hub in hubs.itertuples():
        badge = MODE_BADGES.get(hub.mode, "?")
        width = 12 + 8 * len(badge)
        marker = folium.Marker(
            location=(hub.geometry.y, hub.geometry.x),
            icon=folium.DivIcon(
                html=hub_icon_html(hub.mode, hub.status, hub.name),
                icon_size=(width, 20),
                icon_anchor=(width // 2, 10),
                class_name="gp-hub-icon",
            ),
            tooltip=f"{hub.name} ({STATUS_LABELS.get(hub.status, hub.status).lower()})",
        )
        marker.add_child(HtmlPopup(hub_popup_html(hub)))
        marker.add_to(group)
    group.add_to(m)
    return register(m, "hubs", group)  # type: ignore[return-value]


def catchment_label(minutes: int, methods: Iterable[str]) -> str:
    """Layer name, saying how the catchment was made (network or straight-line ring)."""
    methods = sorted(set(methods))
    how = " / ".join(METHOD_LABELS.get(x, x) for x in methods)
    return f"Gangavstand {minutes} min ({how})"


def add_catchments(m: folium.Map, catchments: gpd.GeoDataFrame) -> list[folium.FeatureGroup]:
    """One layer per minute value (largest first); straight-line rings are dotted and labelled."""
    groups = []
    for minutes in sorted(set(int(x) for x in catchments["minutes"]), reverse=True):
        rows = catchments[catchments["minutes"] == minutes]
        group = folium.FeatureGroup(
            name=catchment_label(minutes, rows["method"]), overlay=True, show=True
        )
        base = CATCHMENT_STYLE.get(minutes, {"weight": 1.2, "fillOpacity": 0.05})
        for c in rows.itertuples():
            straight = c.method == "straight_line"
            style = {
                **base,
                "color": HUB_RING_COLORS.get(c.hub_status, "#1f3a93"),
                "fillColor": HUB_RING_COLORS.get(c.hub_status, "#1f3a93"),
                "dashArray": "3 6" if straight else None,
                "interactive": True,
            }
            how = METHOD_LABELS.get(c.method, c.method)
            folium.GeoJson(
                {
                    "type": "Feature",
                    "properties": {"hub_id": c.hub_id, "minutes": minutes, "method": c.method},
                    "geometry": _rounded_geojson(c.geometry, 5),
                },
                style_function=lambda _f, s=style: s,
                tooltip=f"{c.hub_name}: {minutes} min gange ({how})",
                control=False,
            ).add_to(group)
        group.add_to(m)
        register(m, f"catchments_{minutes}", group)
        groups.append(group)
    return groups


def premises_rows(premises: gpd.GeoDataFrame) -> list[list]:
    """The compact rows (see :data:`PREMISES_ROW`) the premises layer embeds."""
    if premises.empty:
        return []
    xs = np.round(premises.geometry.x.to_numpy(), 5)
    ys = np.round(premises.geometry.y.to_numpy(), 5)
    rows = []
    cols = {
        c: premises[c].tolist() if c in premises else [None] * len(premises) for c in PREMISES_ROW
    }
    for i in range(len(premises)):
        avail = cols["available_from"][i]
        if avail is None or (not isinstance(avail, str | date) and pd.isna(avail)):
            avail = None
        elif hasattr(avail, "isoformat"):
            avail = avail.isoformat()[:10]
        walk = _num(cols["walk_min"][i])
        rows.append(
            [
                float(ys[i]),
                float(xs[i]),
                str(cols["id"][i]),
                cols["address"][i],
                _list(cols["uses"][i]),
                _num(cols["floor_area_m2"][i]),
                _num(cols["rent_nok_m2_year"][i]),
                avail,
                cols["nearest_hub_name"][i],
                round(walk, 1) if walk is not None else None,
                cols["walk_method"][i],
                1 if bool(cols["sample"][i]) else 0,
                cols["area_id"][i],
            ]
        )
    return rows


def _compact_json(value: object) -> str:
    """Compact JSON that is safe inside a <script> element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class PremisesCluster(MarkerCluster):
    """Vacant premises as one compact data array, clustered with Leaflet.markercluster.

    Markers are created in the browser from the array and added in bulk (``chunkedLoading``);
    popup HTML is only built when a marker is clicked (``geoplan.premisesCluster`` in
    ``maps/static/geoplan.js``). One JSON array per premises instead of one ``L.marker(...)``
    statement keeps 10 000 premises to about 1.5 MB of HTML.
    """

    default_js = [*MarkerCluster.default_js, GEOPLAN_JS]

    _template = Template(
        """{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function () {
  var data = {{ this.data_json }};
  return geoplan.premisesCluster(data, {
    base: {{ this.link_base_json }},
    useLabels: {{ this.use_labels_json }},
    useBadges: {{ this.use_badges_json }},
    areaNames: {{ this.area_names_json }},
    cluster: {{ this.options|tojavascript }}
  });
})();
{% endmacro %}"""
    )

    def __init__(
        self,
        premises: gpd.GeoDataFrame,
        *,
        link_base: str = "",
        area_names: dict[str, str] | None = None,
        name: str = "Ledige lokaler",
    ):
        super().__init__(
            name=name,
            overlay=True,
            options={
                "chunkedLoading": True,
                "maxClusterRadius": 50,
                "disableClusteringAtZoom": 18,
                "spiderfyOnMaxZoom": True,
                "showCoverageOnHover": False,
            },
        )
        self._name = "PremisesCluster"
        self.rows = premises_rows(premises)
        self.data_json = _compact_json(self.rows)
        self.link_base_json = _compact_json(link_base)
        self.use_labels_json = _compact_json(USE_LABELS)
        self.use_badges_json = _compact_json(USE_BADGES)
        self.area_names_json = _compact_json(area_names or {})


def add_premises(
    m: folium.Map,
    premises: gpd.GeoDataFrame,
    *,
    link_base: str = "",
    area_names: dict[str, str] | None = None,
    name: str = "Ledige lokaler",
) -> PremisesCluster:
    """Premises as clustered markers coloured by their first use; SAMPLE ones dashed."""
    layer = PremisesCluster(premises, link_base=link_base, area_names=area_names, name=name)
    css = "".join(f".gp-use-{u}{{background:{c}}}" for u, c in USE_COLORS.items())
    m.get_root().header.add_child(  # type: ignore[attr-defined]
        Element(f"<style>{css}</style>"), name="geoplan_use_css"
    )
    layer.add_to(m)
    register(m, "premises", layer)
    return layer


# -- notes, legend, controls, output -------------------------------------------------------------
def data_notes(
    areas: gpd.GeoDataFrame | None = None,
    hubs: gpd.GeoDataFrame | None = None,
    premises: gpd.GeoDataFrame | None = None,
    catchments: gpd.GeoDataFrame | None = None,
    land_use: gpd.GeoDataFrame | None = None,
) -> list[str]:
    """Plain warnings about estimated, unverified or sample data actually on the map.

    Each warning is about one layer and is decided by that layer's rows' own provenance
    (``verified``, ``sample``, the catchments' ``method``): it goes away exactly when official
    data has replaced the estimated or sample rows of that layer, and stays for the others.
    """
    notes = []
    if areas is not None and len(areas) and not areas["verified"].all():
        notes.append(
            "Fokusområdenes avgrensning er anslått av geoplan ut fra næringsstrategien – "
            "ikke offisielle plangrenser."
        )
    if hubs is not None and len(hubs):
        # official stop-register hubs (NeTEx/GTFS) are not estimates, verified or not
        estimated = (
            hubs["estimated"] if "estimated" in hubs else ~hubs["verified"].astype(bool)
        ).astype(bool)
        if estimated.any():
            planned = bool((estimated & (hubs["status"] == "planned")).any())
            notes.append(
                f"Posisjonen til {int(estimated.sum())} av {len(hubs)} knutepunkter er anslått "
                "(ikke verifisert)"
                + ("; planlagte T-banestasjoner er bare veiledende." if planned else ".")
            )
    if premises is not None and len(premises) and premises["sample"].astype(bool).any():
        n = int(premises["sample"].astype(bool).sum())
        what = "Alle lokalene" if n == len(premises) else f"{n} av {len(premises)} lokaler"
        notes.append(f"{what} er EKSEMPELDATA (oppdiktet), ikke ekte annonser.")
    if land_use is not None and len(land_use) and land_use["sample"].astype(bool).any():
        n = int(land_use["sample"].astype(bool).sum())
        total = len(land_use)
        what = "Alle arealformålene" if n == total else f"{n} av {total} arealformålområder"
        notes.append(f"{what} er fra EKSEMPELPLANER (ikke virkelige planer).")
    if catchments is not None and len(catchments) and (catchments["method"] != "network").any():
        notes.append(
            "Gangavstand vises som luftlinje-sirkler (gangfart ÷ omveisfaktor) der gangnettet "
            "ikke er beregnet."
        )
    return notes


def notes_html(notes: Sequence[str]) -> str:
    return "".join(f'<p class="gp-note">⚠ {esc(n)}</p>' for n in notes)


def legend_html(
    roles: Iterable[str] = tuple(ROLE_LABELS),
    modes: Iterable[str] = ("rail", "metro", "bus_terminal"),
    minutes: Iterable[int] = (5, 10, 15),
    uses: Iterable[str] = tuple(USE_LABELS),
    *,
    planned: bool = True,
    sample: bool = True,
    extra: str = "",
) -> str:
    """The legend: what each colour, letter, badge and line style means, in words. It starts
    open on desktops and closed on narrow screens (``data-gp-collapse``, ``geoplan.panel``).
    ``extra``: the legend of a further layer (e.g. :func:`maps.land_use.land_use_legend_html`),
    at its end."""
    parts = ['<details class="gp-legend" open data-gp-collapse><summary>Tegnforklaring</summary>']
    roles = list(roles)
    if roles:
        parts.append("<h2>Fokusområder</h2>")
        for r in roles:
            c = ROLE_COLORS[r]
            parts.append(
                f'<div><i style="background:{c}55;border:2px solid {c}"></i>'
                f"{esc(ROLE_LABELS[r])}</div>"
            )
    modes = list(modes)
    if modes:
        parts.append("<h2>Knutepunkter</h2>")
        for mode in modes:
            parts.append(f"<div>{hub_icon_html(mode, 'existing')}{esc(MODE_LABELS[mode])}</div>")
        if planned:
            parts.append(f"<div>{hub_icon_html('metro', 'planned')}Planlagt (hul, stiplet)</div>")
    minutes = list(minutes)
    if minutes:
        parts.append("<h2>Gangavstand</h2>")
        parts.append(
            f"<div>{' / '.join(str(x) for x in minutes)} min rundt knutepunktene; "
            "stiplet = luftlinje-sirkel</div>"
        )
    uses = list(uses)
    if uses:
        parts.append("<h2>Ledige lokaler (første bruk)</h2>")
        for u in uses:
            parts.append(
                f'<div><span class="gp-premises" style="background:{USE_COLORS[u]}" '
                f'aria-hidden="true">{esc(USE_BADGES[u])}</span>'
                f"{esc(USE_LABELS[u])} ({esc(USE_BADGES[u])})</div>"
            )
        if sample:
            parts.append(
                '<div><span class="gp-premises gp-sample" style="background:#767676" '
                'aria-hidden="true"></span>Eksempeldata (stiplet kant)</div>'
            )
    parts.append(f"{extra}</details>")
    return "".join(parts)


def add_legend(m: folium.Map, **kwargs) -> Panel:
    """A legend in the bottom-right corner (keyword arguments as :func:`legend_html`)."""
    return add_panel(m, legend_html(**kwargs), position="bottomright", css_class="gp-panel")


class _MousePosition(MousePosition):
    """folium's coordinate readout, linking ``geoplan.js`` for its bokmål formatters."""

    default_js = [*MousePosition.default_js, GEOPLAN_JS]


def add_controls(m: folium.Map, *, collapsed_layers: bool = True) -> None:
    """Layer control, fullscreen, measure tool and coordinate readout (scale bar is built in).

    Call last: the layer control lists the layers added before it.
    """
    Fullscreen(position="topright", title="Fullskjerm", title_cancel="Avslutt fullskjerm").add_to(m)
    MeasureControl(
        position="topright",
        primary_length_unit="meters",
        secondary_length_unit="kilometers",
        primary_area_unit="sqmeters",
        secondary_area_unit="hectares",
        localization="nb",
    ).add_to(m)
    _MousePosition(
        position="bottomleft",
        separator=" | ",
        prefix="WGS84:",
        num_digits=5,
        empty_string="Flytt musen over kartet",
        lat_formatter="geoplan.formatLat",
        lng_formatter="geoplan.formatLng",
    ).add_to(m)
    folium.LayerControl(position="topright", collapsed=collapsed_layers).add_to(m)
    add_keyboard_access(m)


class KeyboardAccess(JSCSSMixin):
    """``geoplan.a11y(map, label)``: the map as a named region, controls before markers in the
    tab order, Norwegian button names, popups that take and give back the focus."""

    default_js = [GEOPLAN_JS]
    _template = Template(
        """{% macro script(this, kwargs) %}
        geoplan.a11y({{ this._parent.get_name() }}, {{ this.label|tojson }});
        {% endmacro %}"""
    )

    def __init__(self, label: str):
        super().__init__()
        self._name = "GeoplanKeyboardAccess"
        self.label = label


def add_keyboard_access(m: folium.Map, label: str | None = None) -> None:
    """Make the map usable by keyboard and screen reader (call after the last control).
    ``label`` names the map region (default: "Kart: " and the page title)."""
    title = getattr(m.get_root(), "title", None) or "geoplan"
    m.add_child(KeyboardAccess(label or f"Kart: {title}"))


def add_below_map(m: folium.Map, html_text: str) -> None:
    """HTML placed under the map (e.g. a result table), in the order of the calls."""
    frame = getattr(m.get_root(), "gp_frame", None)
    if frame is not None:
        frame.below.append(html_text)
    else:
        m.get_root().html.add_child(Element(html_text))  # type: ignore[attr-defined]


_FOLIUM_ID = re.compile(r"(?<=_)[0-9a-f]{32}(?![0-9a-f])")
"""The random part of folium's element names (``map_<uuid4 hex>``, ``marker_cluster_…``)."""


def _stable_ids(page: str) -> str:
    """Folium's random element ids numbered in order of appearance (same length, so nothing
    else changes): the same data renders the same bytes, which the strong ETag of a served
    page promises (``api/conditional.py``), and a compressed page's length is the same for
    ``HEAD`` and ``GET``."""
    ids: dict[str, str] = {}

    def number(m: re.Match[str]) -> str:
        found = ids.get(m.group(0))
        if found is None:
            found = ids[m.group(0)] = f"{len(ids) + 1:032x}"
        return found

    return _FOLIUM_ID.sub(number, page)


def render_html(m: folium.Map) -> str:
    """The complete, self-contained HTML page (libraries inline; only tiles load from outside)."""
    page = m.get_root().render()
    # folium's viewport forbids zooming (WCAG 1.4.4); the page template sets a zoomable one
    page = _FOLIUM_VIEWPORT.sub("", page)
    return inline_assets(_stable_ids(page))
