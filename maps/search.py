"""The premises search map: matching premises, the hubs and catchments the filter used, a table.

Served at ``/maps/premises?<filters of GET /premises>``; written by ``geoplan map premises``.
"""

from __future__ import annotations

import folium
import psycopg

from geoplan import mapdata
from geoplan.premises import PremisesQuery, check_query
from geoplan.proximity import WalkSettings
from maps import base
from maps.embed import Embedding, add_title
from maps.labels import USE_LABELS
from maps.page import filter_form_html, results_table_html, title_panel_html

TITLE = "Ledige lokaler i Lørenskog – søk"


def describe_query(q: PremisesQuery, area_names: dict[str, str]) -> str:
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
    if q.area:
        parts.append(area_names.get(q.area, q.area))
    if q.max_walk_min is not None:
        parts.append(f"inntil {q.max_walk_min:g} min gange til {q.hub or 'nærmeste knutepunkt'}")
    if q.available_by:
        parts.append(f"ledig innen {q.available_by:%d.%m.%Y}")
    return " · ".join(parts) or "alle ledige lokaler"


def build_premises_map(
    conn: psycopg.Connection,
    q: PremisesQuery,
    *,
    link_base: str = "",
    walk: WalkSettings | None = None,
    embedding: Embedding | None = None,
) -> tuple[folium.Map, mapdata.SearchResult]:
    """The search map and the search result it shows (the caller may report the count).

    ``walk``: the walking model of the search and the rings (default: the process settings);
    ``embedding``: a served page's embed mode (the map alone, no result table) and share control.
    """
    embed = embedding is not None and embedding.embed
    check_query(conn, q)
    result = mapdata.premises(conn, q, walk=walk)
    found = result.features
    areas = mapdata.areas(conn)
    area_names = dict(zip(areas["id"], areas["name"], strict=True))

    if q.hub:
        hub_ids = [q.hub]
    else:
        hub_ids = sorted({h for h in found.get("nearest_hub_id", []) if isinstance(h, str)})
    hubs = mapdata.hubs(conn, hub_ids) if hub_ids else mapdata.hubs(conn)
    minutes = [max(1, round(q.max_walk_min))] if q.max_walk_min is not None else [5, 10, 15]
    catchments = mapdata.catchments(conn, list(hubs["id"]), minutes, walk=walk)

    m = base.new_map(title=TITLE, height="100%" if embed else "62vh")
    base.add_catchments(m, catchments)
    base.add_areas(m, areas, link_base=link_base, highlight=q.area)
    base.add_hubs(m, hubs, name="Knutepunkter i søket" if hub_ids else "Kollektivknutepunkter")
    base.add_premises(m, found, link_base=link_base, area_names=area_names, name="Søkeresultat")
    if len(found):
        b = found.total_bounds
        pad = 0.004
        m.fit_bounds([[b[1] - pad, b[0] - pad], [b[3] + pad, b[2] + pad]])
    elif q.area:
        s, w, n, e = mapdata.area_bounds(conn, q.area)
        m.fit_bounds([[s, w], [n, e]])

    shown = f"{len(found)} av {result.number_matched}" if result.number_matched > len(found) else ""
    intro = (
        f"<p><b>Filter:</b> {base.esc(describe_query(q, area_names))}</p>"
        f"<p><b>{result.number_matched}</b> treff {base.esc(shown)} – se tabellen under kartet."
        f' <a href="{base.esc(link_base)}/">Til oversiktskartet</a></p>'
    )
    notes = base.data_notes(None, hubs, found, catchments)
    form = filter_form_html(q, area_names, link_base=link_base)
    panel = title_panel_html(TITLE, notes, intro=intro, form=form)
    add_title(m, panel, title=TITLE, notes=notes, embedding=embedding)
    base.add_legend(
        m,
        roles=[],
        modes=[x for x in base.MODE_COLORS if x in set(hubs["mode"])],
        minutes=minutes,
        planned=bool((hubs["status"] == "planned").any()),
        sample=bool(found["sample"].astype(bool).any()) if len(found) else False,
    )
    base.add_controls(m)
    if not embed:
        base.add_below_map(
            m,
            results_table_html(found, result.number_matched, q, area_names, link_base=link_base),
        )
    return m, result


def render_premises_map(
    conn: psycopg.Connection,
    q: PremisesQuery,
    *,
    link_base: str = "",
    walk: WalkSettings | None = None,
    embedding: Embedding | None = None,
) -> str:
    built = build_premises_map(conn, q, link_base=link_base, walk=walk, embedding=embedding)
    return base.render_html(built[0])
