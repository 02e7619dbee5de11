"""The HTML around the map: title panel with notes, the premises filter form, the result table.

The form is a plain GET form to ``/maps/premises`` with the same parameter names as
``GET /premises``, so a company looking for premises never types a URL.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

import geopandas as gpd

from geoplan.premises import PremisesQuery
from maps.base import esc, notes_html
from maps.labels import USE_LABELS, nok

WALK_CHOICES = (5, 10, 15, 20)


def _available(value: object) -> str:
    if isinstance(value, date) and value > date.today():
        return value.strftime("%d.%m.%Y")
    return "nå"


def _value(v: float | None) -> str:
    return "" if v is None else f"{v:g}"


def filter_form_html(
    q: PremisesQuery | None,
    area_names: dict[str, str],
    *,
    link_base: str = "",
) -> str:
    """The filter form, pre-filled from ``q``."""
    q = q or PremisesQuery()
    selected_use = q.uses[0] if q.uses else ""
    uses = ['<option value="">alle</option>'] + [
        f'<option value="{u}"{" selected" if u == selected_use else ""}>{esc(label)}</option>'
        for u, label in USE_LABELS.items()
    ]
    areas = ['<option value="">alle</option>'] + [
        f'<option value="{esc(slug)}"{" selected" if slug == q.area else ""}>{esc(name)}</option>'
        for slug, name in area_names.items()
    ]
    walks = ['<option value="">uansett</option>'] + [
        f'<option value="{w}"{" selected" if q.max_walk_min == w else ""}>inntil {w} min</option>'
        for w in WALK_CHOICES
    ]
    return (
        f'<form class="gp-form" method="get" action="{esc(link_base)}/maps/premises" '
        'id="gp-filter">'
        f'<label for="gp-use">Bruk</label><select id="gp-use" name="use">{"".join(uses)}</select>'
        '<label for="gp-min">Areal fra (m²)</label>'
        f'<input id="gp-min" name="min_area_m2" type="number" min="0" step="10" '
        f'value="{_value(q.min_area_m2)}">'
        '<label for="gp-max">Areal til (m²)</label>'
        f'<input id="gp-max" name="max_area_m2" type="number" min="0" step="10" '
        f'value="{_value(q.max_area_m2)}">'
        '<label for="gp-rent">Maks leie (kr/m²/år)</label>'
        f'<input id="gp-rent" name="max_rent_nok_m2" type="number" min="0" step="50" '
        f'value="{_value(q.max_rent_nok_m2)}">'
        f'<label for="gp-area">Fokusområde</label><select id="gp-area" name="area">'
        f"{''.join(areas)}</select>"
        f'<label for="gp-walk">Gange til knutepunkt</label><select id="gp-walk" '
        f'name="max_walk_min">{"".join(walks)}</select>'
        '<button type="submit">Vis ledige lokaler</button></form>'
    )


def title_panel_html(
    title: str,
    notes: list[str],
    *,
    intro: str = "",
    form: str = "",
) -> str:
    parts = [f"<h1>{esc(title)}</h1>"]
    if intro:
        parts.append(intro)
    parts.append(notes_html(notes))
    if form:
        parts.append(f"<details open><summary><b>Finn ledige lokaler</b></summary>{form}</details>")
    return "".join(parts)


def query_string(q: PremisesQuery, **override) -> str:
    """URL query for ``q`` (names as ``GET /premises``), e.g. for the next page."""
    params: list[tuple[str, str]] = [("use", u) for u in (q.uses or [])]
    for key in ("min_area_m2", "max_area_m2", "max_rent_nok_m2", "area", "max_walk_min", "hub"):
        value = override.get(key, getattr(q, key))
        if value is not None:
            params.append((key, f"{value:g}" if isinstance(value, float) else str(value)))
    if q.available_by:
        params.append(("available_by", q.available_by.isoformat()))
    params += [
        ("sort", override.get("sort", q.sort)),
        ("limit", str(override.get("limit", q.limit))),
        ("offset", str(override.get("offset", q.offset))),
    ]
    return urlencode(params)


def results_table_html(
    features: gpd.GeoDataFrame,
    number_matched: int,
    q: PremisesQuery,
    area_names: dict[str, str],
    *,
    link_base: str = "",
) -> str:
    """The search results under the map, each linking to its record and its area map."""
    shown = len(features)
    first = q.offset + 1 if shown else 0
    head = (
        f"<h2>{number_matched} ledige lokaler passer"
        f"{f' – viser {first}–{q.offset + shown}' if number_matched > shown else ''}</h2>"
    )
    if not shown:
        return (
            f'<section class="gp-results" id="gp-results">{head}'
            "<p>Ingen lokaler passer filteret. Prøv et større område, en høyere leie eller "
            "lengre gangtid.</p></section>"
        )
    rows = []
    for p in features.itertuples():
        uses = ", ".join(USE_LABELS.get(u, u) for u in (p.uses or []))
        walk = getattr(p, "walk_min", None)
        walk_text = "–" if walk is None or walk != walk else f"{walk:.0f} min"
        if getattr(p, "walk_method", None) == "straight_line" and walk_text != "–":
            walk_text += " (anslag)"
        area_id = getattr(p, "area_id", None)
        area_cell = (
            f'<a href="{esc(link_base)}/maps/areas/{esc(area_id)}">'
            f"{esc(area_names.get(area_id, area_id))}</a>"
            if area_id
            else "utenfor fokusområdene"
        )
        avail = getattr(p, "available_from", None)
        sample = ' <span class="gp-sample-tag">EKSEMPEL</span>' if p.sample else ""
        rows.append(
            f'<tr data-id="{esc(p.id)}">'
            f'<td><a href="{esc(link_base)}/premises/{esc(p.id)}">{esc(p.address)}</a>{sample}</td>'
            f"<td>{esc(uses)}</td><td>{nok(p.floor_area_m2)}</td>"
            f"<td>{nok(p.rent_nok_m2_year)}</td>"
            f"<td>{esc(_available(avail))}</td>"
            f"<td>{esc(getattr(p, 'nearest_hub_name', None))}</td><td>{walk_text}</td>"
            f"<td>{area_cell}</td></tr>"
        )
    pager = []
    if q.offset > 0:
        prev = query_string(q, offset=max(0, q.offset - q.limit))
        pager.append(f'<a href="{esc(link_base)}/maps/premises?{esc(prev)}">← forrige</a>')
    if q.offset + shown < number_matched:
        nxt = query_string(q, offset=q.offset + q.limit)
        pager.append(f'<a href="{esc(link_base)}/maps/premises?{esc(nxt)}">neste →</a>')
    return (
        f'<section class="gp-results" id="gp-results">{head}<table><thead><tr>'
        "<th>Adresse</th><th>Bruk</th><th>Areal (m²)</th><th>Leie (kr/m²/år)</th>"
        "<th>Ledig fra</th><th>Nærmeste knutepunkt</th><th>Gangtid</th><th>Fokusområde</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f"<p>{' '.join(pager)}</p></section>"
    )
