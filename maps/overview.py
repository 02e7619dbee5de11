"""The overview map: boundary, focus areas, hubs, walking catchments and all vacant premises.

Served at ``/`` and ``/maps/overview``; written by ``geoplan map overview --out FILE``.
"""

from __future__ import annotations

from collections.abc import Sequence

import folium
import geopandas as gpd
import psycopg

from geoplan import mapdata
from geoplan.premises import PremisesQuery
from geoplan.proximity import WalkSettings
from maps import base
from maps import tiles as premises_tiles
from maps.embed import Embedding, add_title
from maps.land_use import add_land_use, land_use_legend_html, land_use_list_html
from maps.page import filter_form_html, map_lists_html, title_panel_html

WHAT = "næringsområder, knutepunkter og ledige lokaler"


def title(place: str) -> str:
    """``Lørenskog – næringsområder, knutepunkter og ledige lokaler`` (the served
    municipalities' names, see :attr:`geoplan.mapdata.MapView.place`)."""
    return f"{place} – {WHAT}" if place else WHAT[0].upper() + WHAT[1:]


def build_overview(
    conn: psycopg.Connection,
    *,
    link_base: str = "",
    walk: WalkSettings | None = None,
    tiles_threshold: int | None = None,
    kommuner: Sequence[str] | None = None,
    embedding: Embedding | None = None,
) -> folium.Map:
    """The overview map as a folium object (see :func:`maps.base.render_html` for the page).

    ``link_base`` prefixes links to the API (``""`` when served; the server URL in files);
    ``walk`` is the walking model of the straight-line rings (default: the process settings);
    above ``tiles_threshold`` premises they are loaded as vector tiles (:mod:`maps.tiles`);
    ``kommuner`` scopes it to those municipalities (checked numbers, see
    :func:`geoplan.geo.municipalities.scope`): their boundaries, areas and premises, and the
    hubs in them or nearest to their premises; ``embedding``: a served page's embed mode and
    share control (:mod:`maps.embed`).
    """
    view = mapdata.map_view(conn, kommuner)
    boundary = mapdata.boundary(conn, kommuner)
    areas = mapdata.areas(conn, kommuner=kommuner)
    hubs = mapdata.hubs(conn, kommuner=kommuner)
    hub_ids = list(hubs["id"]) if kommuner is not None else None
    catchments = mapdata.catchments(conn, hub_ids, walk=walk)
    query = PremisesQuery(kommune=list(kommuner)) if kommuner is not None else None
    # a scoped overview carries its premises inline: tiles are not narrowed by municipality
    count = (
        mapdata.premises_count(conn) if tiles_threshold is not None and kommuner is None else None
    )
    tiled = count is not None and premises_tiles.use_tiles(count.matched, tiles_threshold)
    if tiled:
        premises = gpd.GeoDataFrame({"sample": []}, geometry=[], crs=4326)
    else:
        premises = mapdata.premises(conn, query, everything=True, walk=walk).features
    land_use = mapdata.land_use(conn, kommuner)
    by_purpose = mapdata.land_use_premises(conn, kommuner) if len(land_use) else None
    area_names = dict(zip(areas["id"], areas["name"], strict=True))
    heading = title(view.place)

    m = base.new_map(view.centre, title=heading, page="overview", link_base=link_base)
    base.add_skip_link(m, "#gp-filter", "Hopp til søket etter ledige lokaler")
    base.add_skip_link(m, "#gp-lists", "Hopp over kartet til innholdet som lister")
    s, w, n, e = view.bounds
    base.fit_bounds(m, [[s, w], [n, e]])
    if len(boundary):
        base.add_boundary(m, boundary)
    if len(land_use):  # off until chosen in the layer control: under the areas, not over them
        add_land_use(m, land_use, show=False)
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

    notes = base.data_notes(areas, hubs, premises, catchments, land_use)
    if tiled:
        notes += premises_tiles.notes(count.matched, count.sample, tiles_threshold)
    if not len(areas):
        notes.append(
            f"Ingen fokusområder er lastet for {view.place or 'kommunen'}; importer dem med "
            "geoplan import --layer areas."
        )
    shown = count.matched if tiled else len(premises)
    about = (
        f"<p>{len(areas)} fokusområder, {len(hubs)} knutepunkter, "
        f"{shown} ledige lokaler. Klikk på et område, knutepunkt eller lokale. "
        '<a href="#gp-lists">Alt står også som lister under kartet.</a></p>'
    )
    form = filter_form_html(query, area_names, link_base=link_base, kommune_names=view.served)
    panel = title_panel_html(heading, notes, about=about, form=form)
    add_title(m, panel, title=heading, notes=notes, embedding=embedding)
    base.add_legend(
        m,
        roles=[r for r in base.ROLE_COLORS if r in set(areas["role"])],
        modes=[x for x in base.MODE_COLORS if x in set(hubs["mode"])],
        planned=bool((hubs["status"] == "planned").any()),
        sample=count.sample > 0 if tiled else bool(premises["sample"].astype(bool).any()),
        extra=land_use_legend_html(
            land_use, {p.code: p.premises for p in by_purpose.purposes}, heading="h2"
        )
        if by_purpose is not None
        else "",
    )
    base.add_controls(m)
    tiled_note = (
        (
            f'<h3 id="gp-list-premises">Ledige lokaler ({shown})</h3>'
            "<p>For mange til å listes her. "
            f'<a href="{base.esc(link_base)}/maps/premises">Søk</a> for å se dem side for '
            "side.</p>"
        )
        if tiled
        else ""
    )
    land_use_text = land_use_list_html(by_purpose) if by_purpose is not None else ""
    base.add_below_map(
        m,
        map_lists_html(
            areas=areas,
            hubs=hubs,
            catchments=catchments,
            premises=None if tiled else premises,
            area_names=area_names,
            link_base=link_base,
            outro=tiled_note + land_use_text,
        ),
    )
    return m


def render_overview(
    conn: psycopg.Connection,
    *,
    link_base: str = "",
    walk: WalkSettings | None = None,
    tiles_threshold: int | None = None,
    kommuner: Sequence[str] | None = None,
    embedding: Embedding | None = None,
) -> str:
    """The overview as a self-contained HTML page (premises as tiles above the threshold)."""
    return base.render_html(
        build_overview(
            conn,
            link_base=link_base,
            walk=walk,
            tiles_threshold=tiles_threshold,
            kommuner=kommuner,
            embedding=embedding,
        )
    )
