"""The assessment map: the proposed site in its verdict colour, the focus areas it touches, and
the nearest hubs with their walking limit (a catchment polygon when one is stored, else a ring).

Everything but the record is read through :mod:`geoplan.mapdata`; the policy and the walking
model come from the caller (the API from its app's settings, the CLI from the process's).
"""

from __future__ import annotations

from typing import Any

import folium
import psycopg

from geoplan import mapdata
from geoplan.assessment.policy import Policy
from geoplan.assessment.report import render_report
from geoplan.proximity import WalkSettings
from maps.base import add_keyboard_access, add_panel, esc, fit_bounds, new_map, render_html

VERDICT_COLOURS = {"conforms": "#1a7f37", "needs_review": "#b35c00", "conflicts": "#c62828"}
CLASS_COLOURS = {"A": "#1565c0", "B": "#6a1b9a", "C": "#757575"}
RING_NAMES = {"A": "blå", "B": "lilla", "C": "grå"}
"""The ring colours in words: the legend names each class, not only its colour."""
AREA_COLOUR = "#00838f"


def assessment_map(
    conn: psycopg.Connection,
    record: dict[str, Any],
    *,
    walk: WalkSettings,
    class_limits: dict[str, float],
) -> folium.Map:
    """Build the map for an assessment result or stored record.

    ``class_limits`` maps class name to its walking limit in minutes (from the policy), drawn
    around each hub that could give the site that class; without a stored catchment, as a
    straight-line ring of ``walk``'s speed and detour factor.
    """
    facts = record["facts"]
    verdict = record["verdict"]
    colour = VERDICT_COLOURS[verdict]
    lon, lat = facts["site"]["point_on_surface"]
    m = new_map(location=(lat, lon), zoom_start=15, title="Vurderingskart", embedded=True)

    areas_fg = folium.FeatureGroup(name="Fokusområder berørt", show=True)
    for area in mapdata.area_outlines(conn, [a["id"] for a in facts["areas"]]):
        share = next((a["overlap_share"] for a in facts["areas"] if a["id"] == area["id"]), None)
        folium.GeoJson(
            area["geometry"],
            name=area["name"],
            style_function=lambda _f: {
                "color": AREA_COLOUR,
                "weight": 2,
                "fillOpacity": 0.08,
                "dashArray": "6 4",
            },
            tooltip=f"{area['name']}" + (f" — {share:.0%} av tomten" if share is not None else ""),
        ).add_to(areas_fg)
    areas_fg.add_to(m)

    hubs_fg = folium.FeatureGroup(name="Nærmeste knutepunkter", show=True)
    hubs = [h for h in facts["nearest_hubs"] if h.get("lat") is not None][:4]
    wanted = []
    for h in hubs:
        for cls in ("A", "B"):
            if cls in class_limits:
                wanted.append((h["hub_id"], int(class_limits[cls])))
    catchments = mapdata.stored_catchments(conn, wanted)
    for h in hubs:
        planned = h["status"] == "planned"
        ring_cls = h["grants_class"] if h["grants_class"] in class_limits else None
        limit = class_limits.get(ring_cls or "B") or max(class_limits.values())
        stored = catchments.get(h["hub_id"])
        ring_colour = CLASS_COLOURS.get(ring_cls or "C")
        if stored:
            folium.GeoJson(
                stored["geometry"],
                style_function=lambda _f, c=ring_colour: {
                    "color": c,
                    "weight": 1,
                    "fillOpacity": 0.05,
                },
                tooltip=(
                    f"{h['name']}: {limit:g} min gangavstand ({stored['method']}), "
                    f"klasse {ring_cls or 'C'}"
                ),
            ).add_to(hubs_fg)
        else:
            folium.Circle(
                (h["lat"], h["lon"]),
                radius=limit * walk.m_per_min / walk.detour_factor,
                color=ring_colour,
                weight=1,
                fill=True,
                fill_opacity=0.04,
                dash_array="4 4" if planned else None,
                tooltip=(
                    f"{h['name']}: ≈{limit:g} min gangavstand "
                    f"(rett linje × {walk.detour_factor:g}, ikke nettverk), "
                    f"klasse {ring_cls or 'C'}"
                ),
            ).add_to(hubs_fg)
        folium.PolyLine(
            [(lat, lon), (h["lat"], h["lon"])],
            color="#37474f",
            weight=2,
            opacity=0.7,
            dash_array="2 6",
            tooltip=(
                f"{h['name']}: {h['walk_min']} min ({h['method'].replace('_', ' ')})"
                if h["walk_min"] is not None
                else h["name"]
            ),
        ).add_to(hubs_fg)
        folium.CircleMarker(
            (h["lat"], h["lon"]),
            radius=7,
            color="#263238",
            weight=2,
            fill=True,
            fill_color="#ffffff" if planned else "#263238",
            fill_opacity=1,
            tooltip=(
                f"{h['name']} ({h['mode']}, {'planlagt' if planned else 'eksisterende'}), "
                f"{h['walk_min']} min, gir klasse {h['grants_class']}"
            ),
        ).add_to(hubs_fg)
    hubs_fg.add_to(m)

    site_fg = folium.FeatureGroup(name="Foreslått tomt", show=True)
    geometry = facts["site"]["geometry_wgs84"]
    label = f"{record.get('verdict_label', verdict)} — {facts['use']['label']}"
    if geometry["type"] == "Point":
        folium.CircleMarker(
            (lat, lon),
            radius=11,
            color="#ffffff",
            weight=3,
            fill=True,
            fill_color=colour,
            fill_opacity=1,
            tooltip=label,
        ).add_to(site_fg)
    else:
        folium.GeoJson(
            geometry,
            style_function=lambda _f: {"color": colour, "weight": 3, "fillOpacity": 0.35},
            tooltip=label,
        ).add_to(site_fg)
    site_fg.add_to(m)

    verdict_text = esc(record.get("verdict_label", verdict))
    rings = "; ".join(
        f'<span style="color:{CLASS_COLOURS[c]}">{RING_NAMES[c]}</span> ring = '
        f"klasse {c} (inntil {class_limits[c]:g} min gange)"
        for c in ("A", "B")
        if c in class_limits
    )
    legend = (
        '<details class="gp-legend" open data-gp-collapse><summary>Tegnforklaring</summary>'
        f'<div><b style="color:{colour}">&#9632;</b> Tomten: <span lang="en">{verdict_text}</span>'
        "</div>"
        f'<div><span style="color:{AREA_COLOUR}">&#9633;</span> Fokusområde (stiplet)</div>'
        "<div>&#9679; knutepunkt, &#9675; planlagt knutepunkt; stiplet linje = vei til det</div>"
        f"<div>{rings}; stiplet ring = planlagt knutepunkt</div></details>"
    )
    add_panel(m, legend, position="bottomleft")
    folium.LayerControl(collapsed=True).add_to(m)
    add_keyboard_access(m, "Kart over tomten, fokusområdene og de nærmeste knutepunktene")
    bounds = [(lat, lon)] + [(h["lat"], h["lon"]) for h in hubs[:2]]
    if len(bounds) > 1:
        fit_bounds(
            m,
            [
                [min(b[0] for b in bounds), min(b[1] for b in bounds)],
                [max(b[0] for b in bounds), max(b[1] for b in bounds)],
            ],
            padding=(30, 30),
            max_zoom=16,
        )
    return m


def assessment_report_html(
    conn: psycopg.Connection, record: dict[str, Any], *, policy: Policy, walk: WalkSettings
) -> str:
    """The printable report with the map embedded: what the API and CLI both serve."""
    limits = {
        name: cls.max_walk_min
        for name, cls in policy.location_classes.items()
        if cls.max_walk_min is not None
    }
    m = assessment_map(conn, record, walk=walk, class_limits=limits)
    return render_report(record, map_html=render_html(m), policy_title=policy.title)
