"""The area map: one focus area zoomed, its identity, the hubs serving it, premises around it.

Served at ``/maps/areas/{slug}``; written by ``geoplan map area SLUG --out FILE``.
"""

from __future__ import annotations

import folium
import psycopg

from geoplan import mapdata
from geoplan.proximity import WalkSettings
from maps import base
from maps.embed import Embedding, add_title
from maps.labels import ROLE_LABELS
from maps.page import filter_form_html, map_lists_html, title_panel_html

WALK_MINUTES = 15
"""Premises and hubs within this many minutes' walk of the area are shown."""


def build_area_map(
    conn: psycopg.Connection,
    slug: str,
    *,
    link_base: str = "",
    walk: WalkSettings | None = None,
    embedding: Embedding | None = None,
) -> folium.Map:
    """Raises :class:`geoplan.errors.NotFoundError` for an unknown slug.

    ``walk``: the walking model of the rings and the reach (default: the process settings);
    ``embedding``: a served page's embed mode and share control (:mod:`maps.embed`).
    """
    area = mapdata.areas(conn, slug).iloc[0]
    areas = mapdata.areas(conn)
    area_names = dict(zip(areas["id"], areas["name"], strict=True))
    hub_ids = mapdata.hubs_serving_area(conn, slug, WALK_MINUTES, walk=walk)
    hubs = mapdata.hubs(conn, hub_ids)
    catchments = mapdata.catchments(conn, hub_ids, walk=walk)
    premises = mapdata.premises_near_area(conn, slug, WALK_MINUTES, walk=walk).features
    inside = int((premises["area_id"] == slug).sum()) if len(premises) else 0

    title = f"{area['name']} – {ROLE_LABELS.get(area['role'], area['role']).lower()}"
    s, w, n, e = mapdata.area_bounds(conn, slug)
    m = base.new_map(
        ((s + n) / 2, (w + e) / 2), title=f"{title} | geoplan", page="area", link_base=link_base
    )
    base.add_skip_link(m, "#gp-lists", "Hopp over kartet til området, knutepunktene og lokalene")
    base.add_skip_link(m, "#gp-filter", "Hopp til søket etter ledige lokaler")
    if len(catchments):
        base.add_catchments(m, catchments)
    base.add_areas(m, areas, link_base=link_base, highlight=slug)
    base.add_hubs(m, hubs, name="Knutepunkter som betjener området")
    base.add_premises(
        m,
        premises,
        link_base=link_base,
        area_names=area_names,
        name=f"Ledige lokaler i og innen {WALK_MINUTES} min gange",
    )
    pad = 0.003
    base.fit_bounds(m, [[s - pad, w - pad], [n + pad, e + pad]])

    industries = ", ".join(base.esc(t) for t in (area["target_industries"] or []))
    hub_names = ", ".join(base.esc(h) for h in hubs["name"]) or "ingen innen 15 min gange"
    about = (
        f'<p class="gp-identity">{base.esc(area["identity"])}</p>'
        f"<p><b>Målnæringer:</b> {industries}</p>"
        f"<p><b>Knutepunkter innen {WALK_MINUTES} min:</b> {hub_names}</p>"
        f"<p><b>Ledige lokaler:</b> {inside} i området, {len(premises) - inside} til innen "
        f"{WALK_MINUTES} min gange. "
        f'<a href="{base.esc(link_base)}/maps/premises?area={base.esc(slug)}">Søk i området</a>'
        f' · <a href="{base.esc(link_base)}/">Oversiktskart</a></p>'
        f"<p><small>Kilde: Næringsstrategi 2025–2037 {base.esc(area['strategy_ref'] or '')}"
        "</small></p>"
    )
    notes = base.data_notes(areas.iloc[[list(areas["id"]).index(slug)]], hubs, premises, catchments)
    served = mapdata.map_view(conn).served
    form = filter_form_html(None, area_names, link_base=link_base, kommune_names=served).replace(
        f'<option value="{slug}">', f'<option value="{slug}" selected>'
    )
    panel = title_panel_html(title, notes, about=about, form=form)
    add_title(m, panel, title=title, notes=notes, embedding=embedding)
    base.add_legend(
        m,
        roles=[area["role"]],
        modes=[x for x in base.MODE_COLORS if x in set(hubs["mode"])],
        planned=bool((hubs["status"] == "planned").any()),
        sample=bool(premises["sample"].astype(bool).any()) if len(premises) else False,
    )
    base.add_controls(m)
    inside_first = (
        premises.assign(_out=premises["area_id"] != slug).sort_values("_out", kind="stable")
        if len(premises)
        else premises
    )
    base.add_below_map(
        m,
        map_lists_html(
            intro=about,
            hubs=hubs,
            hubs_title=f"Knutepunkter innen {WALK_MINUTES} min gange",
            catchments=catchments,
            premises=inside_first,
            premises_title=f"Ledige lokaler i området og innen {WALK_MINUTES} min gange",
            area_names=area_names,
            link_base=link_base,
        ),
    )
    return m


def render_area_map(
    conn: psycopg.Connection,
    slug: str,
    *,
    link_base: str = "",
    walk: WalkSettings | None = None,
    embedding: Embedding | None = None,
) -> str:
    return base.render_html(
        build_area_map(conn, slug, link_base=link_base, walk=walk, embedding=embedding)
    )
