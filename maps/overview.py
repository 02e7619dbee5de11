"""The overview map: boundary, focus areas, hubs, walking catchments and all vacant premises.

Served at ``/`` and ``/maps/overview``; written by ``geoplan map overview --out FILE``.
"""

from __future__ import annotations

from collections.abc import Sequence

import folium
import psycopg

from geoplan import mapdata
from geoplan.premises import PremisesQuery
from geoplan.proximity import WalkSettings
from maps import base
from maps.page import filter_form_html, title_panel_html

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
    kommuner: Sequence[str] | None = None,
) -> folium.Map:
    """The overview map as a folium object (see :func:`maps.base.render_html` for the page).

    ``link_base`` prefixes links to the API (``""`` when served; the server URL in files);
    ``walk`` is the walking model of the straight-line rings (default: the process settings);
    ``kommuner`` scopes it to those municipalities (checked numbers, see
    :func:`geoplan.geo.municipalities.scope`): their boundaries, areas and premises, and the
    hubs in them or nearest to their premises.
    """
    view = mapdata.map_view(conn, kommuner)
    boundary = mapdata.boundary(conn, kommuner)
    areas = mapdata.areas(conn, kommuner=kommuner)
    hubs = mapdata.hubs(conn, kommuner=kommuner)
    hub_ids = list(hubs["id"]) if kommuner is not None else None
    catchments = mapdata.catchments(conn, hub_ids, walk=walk)
    query = PremisesQuery(kommune=list(kommuner)) if kommuner is not None else None
    premises = mapdata.premises(conn, query, everything=True, walk=walk).features
    area_names = dict(zip(areas["id"], areas["name"], strict=True))
    heading = title(view.place)

    m = base.new_map(view.centre, title=heading)
    s, w, n, e = view.bounds
    m.fit_bounds([[s, w], [n, e]])
    if len(boundary):
        base.add_boundary(m, boundary)
    if len(catchments):
        base.add_catchments(m, catchments)
    base.add_areas(m, areas, link_base=link_base)
    base.add_hubs(m, hubs)
    base.add_premises(m, premises, link_base=link_base, area_names=area_names)

    notes = base.data_notes(areas, hubs, premises, catchments)
    if not len(areas):
        notes.append(
            f"Ingen fokusområder er lastet for {view.place or 'kommunen'}; importer dem med "
            "geoplan import --layer areas."
        )
    intro = (
        f"<p>{len(areas)} fokusområder, {len(hubs)} knutepunkter, "
        f"{len(premises)} ledige lokaler. Klikk på et område, knutepunkt eller lokale.</p>"
    )
    form = filter_form_html(query, area_names, link_base=link_base, kommune_names=view.served)
    base.add_panel(m, title_panel_html(heading, notes, intro=intro, form=form))
    base.add_legend(
        m,
        roles=[r for r in base.ROLE_COLORS if r in set(areas["role"])],
        modes=[x for x in base.MODE_COLORS if x in set(hubs["mode"])],
        planned=bool((hubs["status"] == "planned").any()),
        sample=bool(premises["sample"].astype(bool).any()) if len(premises) else False,
    )
    base.add_controls(m)
    return m


def render_overview(
    conn: psycopg.Connection,
    *,
    link_base: str = "",
    walk: WalkSettings | None = None,
    kommuner: Sequence[str] | None = None,
) -> str:
    """The overview as a self-contained HTML page."""
    return base.render_html(build_overview(conn, link_base=link_base, walk=walk, kommuner=kommuner))
