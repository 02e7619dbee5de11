"""The HTML around the map: title panel with notes, the premises filter form, the result table.

The form is a plain GET form to ``/maps/premises`` with the same parameter names as
``GET /premises``, so a company looking for premises never types a URL.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

import geopandas as gpd

from geoplan.premises import (
    SEARCH_FILTERS,
    FormField,
    PremisesQuery,
    SearchFilter,
    query_params,
)
from maps.base import esc, notes_html
from maps.labels import USE_LABELS, nok

WALK_CHOICES = (5, 10, 15, 20)


def _available(value: object) -> str:
    if isinstance(value, date) and value > date.today():
        return value.strftime("%d.%m.%Y")
    return "nå"


def _value(v: float | None) -> str:
    return "" if v is None else f"{v:g}"


def _choices(
    name: str, area_names: dict[str, str], kommune_names: dict[str, str]
) -> tuple[str, list[tuple[object, str]]] | None:
    """What the form offers for a filter as a select: the "any" label and (value, label) pairs;
    None: the filter is a number input."""
    if name == "use":
        return "alle", list(USE_LABELS.items())
    if name == "kommune":
        return "alle", list(kommune_names.items())
    if name == "area":
        return "alle", list(area_names.items())
    if name == "max_walk_min":
        return "uansett", [(w, f"inntil {w} min") for w in WALK_CHOICES]
    return None


def _field_html(
    f: SearchFilter,
    form: FormField,
    q: PremisesQuery,
    area_names: dict[str, str],
    kommune_names: dict[str, str],
) -> str:
    """One filter's label and control, pre-filled from ``q`` (a repeated filter shows its first)."""
    value = getattr(q, f.attr)
    if f.many:
        value = value[0] if value else ""
    label = f'<label for="{form.id}">{esc(form.label)}</label>'
    choices = _choices(f.name, area_names, kommune_names)
    if choices is None:
        return (
            f'{label}<input id="{form.id}" name="{f.name}" type="number" '
            f'min="{f.minimum:g}" step="{form.step:g}" value="{_value(value)}">'
        )
    anything, items = choices
    options = [f'<option value="">{anything}</option>'] + [
        f'<option value="{esc(v)}"{" selected" if v == value else ""}>{esc(text)}</option>'
        for v, text in items
    ]
    return f'{label}<select id="{form.id}" name="{f.name}">{"".join(options)}</select>'


def filter_form_html(
    q: PremisesQuery | None,
    area_names: dict[str, str],
    *,
    link_base: str = "",
    kommune_names: dict[str, str] | None = None,
) -> str:
    """The filter form, pre-filled from ``q``: the search filters that have a form field
    (:attr:`SearchFilter.form`), in their declared order. ``kommune_names`` (number → name):
    the served municipalities the form offers."""
    q = q or PremisesQuery()
    kommuner = kommune_names or {}
    fields = "".join(
        _field_html(f, f.form, q, area_names, kommuner) for f in SEARCH_FILTERS if f.form
    )
    return (
        f'<form class="gp-form" method="get" action="{esc(link_base)}/maps/premises" '
        f'id="gp-filter">{fields}<button type="submit">Vis ledige lokaler</button></form>'
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
    return urlencode(query_params(q, **override))


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
