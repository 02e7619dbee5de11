"""The overview map: boundary, focus areas, hubs, walking catchments and all vacant premises.

Served at ``/`` and ``/maps/overview``; written by ``geoplan map overview --out FILE``.
"""

from __future__ import annotations

import folium
import geopandas as gpd
import psycopg

from geoplan import mapdata
from geoplan.proximity import WalkSettings
from maps import base
from maps import tiles as premises_tiles
from maps.page import filter_form_html, map_lists_html, title_panel_html

TITLE = "Lørenskog – næringsområder, knutepunkter og ledige lokaler"


def build_overview(
    conn: psycopg.Connection,
    *,
    link_base: str = "",
    walk: WalkSettings | None = None,
    tiles_threshold: int | None = None,
) -> folium.Map:
    """The overview map as a folium object (see :func:`maps.base.render_html` for the page).

    ``link_base`` prefixes links to the API (``""`` when served; the server URL in files);
    ``walk`` is the walking model of the straight-line rings (default: the process settings);
    above ``tiles_threshold`` premises they are loaded as vector tiles (:mod:`maps.tiles`).
    """
    boundary = mapdata.boundary(conn)
    areas = mapdata.areas(conn)
    hubs = mapdata.hubs(conn)
    catchments = mapdata.catchments(conn, walk=walk)
    count = mapdata.premises_count(conn) if tiles_threshold is not None else None
    tiled = count is not None and premises_tiles.use_tiles(count.matched, tiles_threshold)
    if tiled:
        premises = gpd.GeoDataFrame({"sample": []}, geometry=[], crs=4326)
    else:
        premises = mapdata.premises(conn, everything=True, walk=walk).features
    area_names = dict(zip(areas["id"], areas["name"], strict=True))

    m = base.new_map(title=TITLE, page="overview", link_base=link_base)
    base.add_skip_link(m, "#gp-filter", "Hopp til søket etter ledige lokaler")
    base.add_skip_link(m, "#gp-lists", "Hopp over kartet til innholdet som lister")
    if len(boundary):
        base.add_boundary(m, boundary)
    if len(catchments):
        base.add_catchments(m, catchments)
    base.add_areas(m, areas, link_base=link_base)
    base.add_hubs(m, hubs)
    if tiled:
        premises_tiles.add_premises_tiles(
            m, {"status": "available"}, hubs=hubs, link_base=link_base
        )
    else:
        base.add_premises(m, premises, link_base=link_base, area_names=area_names)
    if len(boundary):
        b = boundary.total_bounds
        m.fit_bounds([[b[1], b[0]], [b[3], b[2]]])

    notes = base.data_notes(areas, hubs, premises, catchments)
    if tiled:
        notes += premises_tiles.notes(count.matched, count.sample, tiles_threshold)
    shown = count.matched if tiled else len(premises)
    about = (
        f"<p>{len(areas)} fokusområder, {len(hubs)} knutepunkter, "
        f"{shown} ledige lokaler. Klikk på et område, knutepunkt eller lokale. "
        '<a href="#gp-lists">Alt står også som lister under kartet.</a></p>'
    )
    form = filter_form_html(None, area_names, link_base=link_base)
    base.add_panel(m, title_panel_html(TITLE, notes, about=about, form=form))
    base.add_legend(
        m,
        roles=[r for r in base.ROLE_COLORS if r in set(areas["role"])],
        modes=[x for x in base.MODE_COLORS if x in set(hubs["mode"])],
        planned=bool((hubs["status"] == "planned").any()),
        sample=count.sample > 0 if tiled else bool(premises["sample"].astype(bool).any()),
    )
    base.add_controls(m)
    base.add_below_map(
        m,
        map_lists_html(
            areas=areas,
            hubs=hubs,
            catchments=catchments,
            premises=None if tiled else premises,
            area_names=area_names,
            link_base=link_base,
            outro=(
                f'<h3 id="gp-list-premises">Ledige lokaler ({shown})</h3>'
                "<p>For mange til å listes her. "
                f'<a href="{base.esc(link_base)}/maps/premises">Søk</a> for å se dem side for '
                "side.</p>"
            )
            if tiled
            else "",
        ),
    )
    return m


def render_overview(
    conn: psycopg.Connection,
    *,
    link_base: str = "",
    walk: WalkSettings | None = None,
    tiles_threshold: int | None = None,
) -> str:
    """The overview as a self-contained HTML page (premises as tiles above the threshold)."""
    return base.render_html(
        build_overview(conn, link_base=link_base, walk=walk, tiles_threshold=tiles_threshold)
    )
