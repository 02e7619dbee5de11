"""The overview map: boundary, focus areas, hubs, walking catchments and all vacant premises.

Served at ``/`` and ``/maps/overview``; written by ``geoplan map overview --out FILE``.
"""

from __future__ import annotations

import folium
import psycopg

from geoplan import mapdata
from geoplan.proximity import WalkSettings
from maps import base
from maps.embed import Embedding, add_title
from maps.page import filter_form_html, title_panel_html

TITLE = "Lørenskog – næringsområder, knutepunkter og ledige lokaler"


def build_overview(
    conn: psycopg.Connection,
    *,
    link_base: str = "",
    walk: WalkSettings | None = None,
    embedding: Embedding | None = None,
) -> folium.Map:
    """The overview map as a folium object (see :func:`maps.base.render_html` for the page).

    ``link_base`` prefixes links to the API (``""`` when served; the server URL in files);
    ``walk`` is the walking model of the straight-line rings (default: the process settings);
    ``embedding``: a served page's embed mode and share control (:mod:`maps.embed`).
    """
    boundary = mapdata.boundary(conn)
    areas = mapdata.areas(conn)
    hubs = mapdata.hubs(conn)
    catchments = mapdata.catchments(conn, walk=walk)
    premises = mapdata.premises(conn, everything=True, walk=walk).features
    area_names = dict(zip(areas["id"], areas["name"], strict=True))

    m = base.new_map(title=TITLE)
    if len(boundary):
        base.add_boundary(m, boundary)
    if len(catchments):
        base.add_catchments(m, catchments)
    base.add_areas(m, areas, link_base=link_base)
    base.add_hubs(m, hubs)
    base.add_premises(m, premises, link_base=link_base, area_names=area_names)
    if len(boundary):
        b = boundary.total_bounds
        m.fit_bounds([[b[1], b[0]], [b[3], b[2]]])

    notes = base.data_notes(areas, hubs, premises, catchments)
    intro = (
        f"<p>{len(areas)} fokusområder, {len(hubs)} knutepunkter, "
        f"{len(premises)} ledige lokaler. Klikk på et område, knutepunkt eller lokale.</p>"
    )
    form = filter_form_html(None, area_names, link_base=link_base)
    panel = title_panel_html(TITLE, notes, intro=intro, form=form)
    add_title(m, panel, title=TITLE, notes=notes, embedding=embedding)
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
    embedding: Embedding | None = None,
) -> str:
    """The overview as a self-contained HTML page."""
    return base.render_html(
        build_overview(conn, link_base=link_base, walk=walk, embedding=embedding)
    )
