"""The premises search map: matching premises, the hubs and catchments the filter used, a table.

Served at ``/maps/premises?<filters of GET /premises>``; written by ``geoplan map premises``.
"""

from __future__ import annotations

import folium
import psycopg
import shapely
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

from geoplan import mapdata
from geoplan.premises import PremisesQuery, check_query
from geoplan.proximity import WalkSettings
from maps import base
from maps import tiles as premises_tiles
from maps.assets import GEOPLAN_JS
from maps.embed import Embedding, add_title
from maps.labels import USE_LABELS
from maps.page import filter_form_html, map_lists_html, results_table_html, title_panel_html
from maps.save_search import SAVE_HTML, SaveSearch


def title(place: str) -> str:
    """``Ledige lokaler i Lørenskog – søk`` (the served municipalities' names, see
    :attr:`geoplan.mapdata.MapView.place`)."""
    return f"Ledige lokaler i {place} – søk" if place else "Ledige lokaler – søk"


def describe_query(
    q: PremisesQuery, area_names: dict[str, str], kommune_names: dict[str, str] | None = None
) -> str:
    """The filter in words, e.g. 'kontor · 200–800 m² · inntil 10 min gange'."""
    parts = []
    if q.uses:
        parts.append(", ".join(USE_LABELS.get(u, u).lower() for u in q.uses))
    if q.min_area_m2 is not None or q.max_area_m2 is not None:
        lo = f"{q.min_area_m2:g}" if q.min_area_m2 is not None else "0"
        hi = f"{q.max_area_m2:g}" if q.max_area_m2 is not None else "…"
        parts.append(f"{lo}–{hi} m²")
    if q.max_rent_nok_m2 is not None:
        parts.append(f"maks {q.max_rent_nok_m2:g} kr/m²/år")
    if q.kommune:
        names = kommune_names or {}
        parts.append(" og ".join(f"{names.get(k, k)} kommune" for k in q.kommune))
    if q.area:
        parts.append(area_names.get(q.area, q.area))
    if q.max_walk_min is not None:
        parts.append(f"inntil {q.max_walk_min:g} min gange til {q.hub or 'nærmeste knutepunkt'}")
    if q.within:
        parts.append("i et tegnet område")
    if q.near:
        radius = 1000 if q.radius_m is None else q.radius_m
        parts.append(f"innen {radius:g} m fra et punkt")
    if q.available_by:
        parts.append(f"ledig innen {q.available_by:%d.%m.%Y}")
    return " · ".join(parts) or "alle ledige lokaler"


class SearchArea(JSCSSMixin, MacroElement):
    """The search area on the search map and the drawing behind the form's area buttons
    (``geoplan.searchArea``; Leaflet.draw, vendored in ``maps/static``)."""

    default_js = [("leaflet_draw_js", "leaflet.draw.js"), GEOPLAN_JS]
    default_css = [("leaflet_draw_css", "leaflet.draw.css")]
    _template = Template(
        """{% macro script(this, kwargs) %}
        geoplan.searchArea({{ this._parent.get_name() }}, {{ this.place_json }});
        {% endmacro %}"""
    )

    def __init__(self, place: dict | None):
        super().__init__()
        self._name = "GeoplanSearchArea"
        self.place_json = base._compact_json(place)


def build_premises_map(
    conn: psycopg.Connection,
    q: PremisesQuery,
    *,
    link_base: str = "",
    walk: WalkSettings | None = None,
    tiles_threshold: int | None = None,
    embedding: Embedding | None = None,
) -> tuple[folium.Map, mapdata.SearchResult]:
    """The search map and the search result it shows (the caller may report the count).

    ``walk``: the walking model of the search and the rings (default: the process settings);
    above ``tiles_threshold`` matches the map draws them all as vector tiles (:mod:`maps.tiles`)
    where the filter can be expressed for tiles, the table lists the page; ``embedding``: a
    served page's embed mode (the map fills the frame, no side panel) and share control.
    """
    check_query(conn, q)
    result = mapdata.premises(conn, q, walk=walk)
    found = result.features
    view = mapdata.map_view(conn, q.kommune)
    heading = title(view.place)
    areas = mapdata.areas(conn, kommuner=q.kommune)
    area_names = dict(zip(areas["id"], areas["name"], strict=True))

    if q.hub:
        hub_ids = [q.hub]
    else:
        hub_ids = sorted({h for h in found.get("nearest_hub_id", []) if isinstance(h, str)})
    hubs = mapdata.hubs(conn, hub_ids) if hub_ids else mapdata.hubs(conn)
    minutes = [max(1, round(q.max_walk_min))] if q.max_walk_min is not None else [5, 10, 15]
    catchments = mapdata.catchments(conn, list(hubs["id"]), minutes, walk=walk)

    m = base.new_map(view.centre, title=heading, height="62vh", page="search", link_base=link_base)
    base.add_skip_link(m, "#gp-results", "Hopp over kartet til søkeresultatene")
    base.add_skip_link(m, "#gp-filter", "Hopp til søkeskjemaet")
    base.add_catchments(m, catchments)
    base.add_areas(m, areas, link_base=link_base, highlight=q.area)
    base.add_hubs(m, hubs, name="Knutepunkter i søket" if hub_ids else "Kollektivknutepunkter")
    tile_query = mapdata.premises_tile_query(q)
    tiled = premises_tiles.use_tiles(result.number_matched, tiles_threshold) and tile_query
    if tiled:
        premises_tiles.add_premises_tiles(
            m, tile_query, hubs=mapdata.hubs(conn), link_base=link_base, name="Søkeresultat"
        )
    else:
        base.add_premises(m, found, link_base=link_base, area_names=area_names, name="Søkeresultat")
    place = mapdata.search_place(q)
    m.add_child(SearchArea(place))
    if place and place["area"]:
        w, so, e, n = shapely.geometry.shape(place["area"]).bounds
        base.fit_bounds(m, [[so, w], [n, e]])
    elif len(found):
        b = found.total_bounds
        pad = 0.004
        base.fit_bounds(m, [[b[1] - pad, b[0] - pad], [b[3] + pad, b[2] + pad]])
    elif q.area:
        s, w, n, e = mapdata.area_bounds(conn, q.area)
        base.fit_bounds(m, [[s, w], [n, e]])
    else:
        s, w, n, e = view.bounds
        base.fit_bounds(m, [[s, w], [n, e]])

    about = "" if result.number_matched_exact else "ca. "  # an estimate past COUNT_CAP
    shown = (
        f"{len(found)} av {about}{result.number_matched}"
        if result.number_matched > len(found)
        else ""
    )
    intro = (
        f"<p><b>Filter:</b> {base.esc(describe_query(q, area_names, view.served))}</p>"
        f"<p>{about}<b>{result.number_matched}</b> treff {base.esc(shown)} – "
        '<a href="#gp-results">se listen under kartet</a>.'
        f' <a class="gp-wide" href="{base.esc(link_base)}/">Til oversiktskartet</a></p>'
    )
    notes = base.data_notes(None, hubs, found, catchments)
    form = filter_form_html(
        q, area_names, link_base=link_base, kommune_names=view.served, place=True
    )
    if embedding is not None and not embedding.embed:  # served, with its panel: "Lagre søket"
        form += SAVE_HTML
        m.add_child(SaveSearch(q, link_base))
    panel = title_panel_html(heading, notes, intro=intro, form=form)
    add_title(m, panel, title=heading, notes=notes, embedding=embedding)
    base.add_legend(
        m,
        roles=[],
        modes=[x for x in base.MODE_COLORS if x in set(hubs["mode"])],
        minutes=minutes,
        planned=bool((hubs["status"] == "planned").any()),
        sample=bool(found["sample"].astype(bool).any()) if len(found) else False,
    )
    base.add_controls(m)
    base.add_below_map(
        m,
        results_table_html(
            found,
            result.number_matched,
            q,
            area_names,
            link_base=link_base,
            exact=result.number_matched_exact,
        ),
    )
    base.add_below_map(
        m,
        map_lists_html(
            hubs=hubs,
            hubs_title="Knutepunkter i søket" if hub_ids else "Kollektivknutepunkter",
            catchments=catchments,
            link_base=link_base,
            intro="<p>Søkeresultatene står over. Kartet viser også disse knutepunktene og "
            "gangavstandene:</p>",
        ),
    )
    return m, result


def render_premises_map(
    conn: psycopg.Connection,
    q: PremisesQuery,
    *,
    link_base: str = "",
    walk: WalkSettings | None = None,
    tiles_threshold: int | None = None,
    embedding: Embedding | None = None,
) -> str:
    built = build_premises_map(
        conn,
        q,
        link_base=link_base,
        walk=walk,
        tiles_threshold=tiles_threshold,
        embedding=embedding,
    )
    return base.render_html(built[0])
