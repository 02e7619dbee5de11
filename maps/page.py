"""The HTML around the map: title panel with notes, the premises filter form, the result table.

The form is a plain GET form to ``/maps/premises`` with the same parameter names as
``GET /premises``, so a company looking for premises never types a URL.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import quote, urlencode

import geopandas as gpd

from geoplan.premises import (
    SEARCH_FILTERS,
    FormField,
    PremisesQuery,
    SearchFilter,
    Sort,
    query_params,
)
from geoplan.vocab import ENERGY_LABELS
from maps.base import esc, hub_position_words, notes_html
from maps.labels import (
    METHOD_LABELS,
    MODE_LABELS,
    ROLE_LABELS,
    SORT_LABELS,
    STATUS_LABELS,
    USE_LABELS,
    nok,
)

WALK_CHOICES = (5, 10, 15, 20)


def _available(value: object) -> str:
    if isinstance(value, date) and value > date.today():
        return value.strftime("%d.%m.%Y")
    return "nå"


def _value(v: float | None) -> str:
    return "" if v is None else f"{v:g}"


def _choices(
    name: str, area_names: dict[str, str], kommune_names: dict[str, str], near: bool = False
) -> tuple[str | None, list[tuple[object, str]]] | None:
    """What the form offers for a filter as a select: the "any" label (None: no such option)
    and (value, label) pairs; None: the filter is a number input. ``near``: the search has a
    ``near`` point (``sort`` may then be by distance from it)."""
    if name == "use":
        return "alle", list(USE_LABELS.items())
    if name == "kommune":
        return "alle", list(kommune_names.items())
    if name == "area":
        return "alle", list(area_names.items())
    if name == "max_energy_label":
        return "uansett", [(label, f"{label} eller bedre") for label in ENERGY_LABELS]
    if name == "max_walk_min":
        return "uansett", [(w, f"inntil {w} min") for w in WALK_CHOICES]
    if name == "sort":  # no "any": a search has an order (distance only from a near point)
        return None, [(s.value, SORT_LABELS[s]) for s in Sort if s != Sort.distance or near]
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
    choices = _choices(f.name, area_names, kommune_names, near=q.near is not None)
    if choices is None:
        return (
            f'{label}<input id="{form.id}" name="{f.name}" type="number" '
            f'min="{f.minimum:g}" step="{form.step:g}" value="{_value(value)}">'
        )
    anything, items = choices
    options = ([f'<option value="">{anything}</option>'] if anything is not None else []) + [
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
    place: bool = False,
) -> str:
    """The filter form, pre-filled from ``q``: the search filters that have a form field
    (:attr:`SearchFilter.form`), in their declared order. ``kommune_names`` (number → name):
    the served municipalities the form offers. Every field has its label; the form is a search
    landmark. ``place``: with the search-area controls of the search map (:func:`place_html`)."""
    q = q or PremisesQuery()
    kommuner = kommune_names or {}
    fields = "".join(
        _field_html(f, f.form, q, area_names, kommuner) for f in SEARCH_FILTERS if f.form
    )
    if place:
        fields += place_html(q)
    return (
        f'<form class="gp-form" method="get" action="{esc(link_base)}/maps/premises" '
        f'id="gp-filter" role="search" aria-label="Søk etter ledige lokaler">{fields}'
        '<button type="submit">Vis ledige lokaler</button></form>'
    )


PLACE_INPUTS = (("within", "gp-within"), ("within_crs", "gp-within-crs"), ("near", "gp-near"),
                ("radius_m", "gp-radius"))  # fmt: skip
"""The place filters the search map's form carries as hidden fields (``geoplan.searchArea`` sets
them when the user draws an area or uses the map view)."""


def place_html(q: PremisesQuery) -> str:
    """The search map's area controls: buttons to draw a polygon or a rectangle (Leaflet.draw,
    by mouse or touch), to search the current map view (the keyboard's way: pan and zoom with
    the arrow keys and +/-, then this button) and to remove the area; the place filters as
    hidden fields, so the drawn area goes into the URL and a shared link keeps it."""
    hidden = "".join(
        f'<input type="hidden" name="{name}" id="{id_}" value="{esc(_text(getattr(q, name)))}">'
        for name, id_ in PLACE_INPUTS
    )
    has_place = bool(q.within or q.near)
    status = (
        "Søket gjelder et område i kartet."
        if has_place
        else "Tegn et søkeområde i kartet, eller søk i kartutsnittet du ser."
    )
    return (
        '<fieldset class="gp-place" id="gp-place"><legend>Søkeområde i kartet</legend>'
        f"{hidden}"
        '<button type="button" id="gp-draw-polygon">Tegn søkeområde</button>'
        '<button type="button" id="gp-draw-rectangle">Tegn rektangel</button>'
        '<button type="button" id="gp-use-view">Søk i kartutsnittet</button>'
        f'<button type="button" id="gp-clear-area"{"" if has_place else " hidden"}>'
        "Fjern søkeområdet</button>"
        f'<p id="gp-place-status" role="status">{status}</p></fieldset>'
    )


def _text(value: object) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def title_panel_html(
    title: str,
    notes: list[str],
    *,
    intro: str = "",
    form: str = "",
    about: str = "",
) -> str:
    """The panel at the top left of a map: the page's heading, ``intro`` (short, always shown),
    then two parts that start open on desktops and closed on phones, so the panel shrinks to the
    heading and two buttons there: "Om kartet" (``about`` and the data ``notes``) and the form
    ("Søk" on phones, where the two buttons share a row).
    """
    parts = [f"<h1>{esc(title)}</h1>"]
    if intro:
        parts.append(intro)
    if about or notes:
        warn = (
            f'<span class="gp-wide"> ({len(notes)} merknader)</span>'
            f'<span class="gp-narrow"> ({len(notes)})</span>'
            if notes
            else ""
        )
        parts.append(
            '<details class="gp-about" open data-gp-collapse>'
            f"<summary>Om kartet{warn}</summary>{about}{notes_html(notes)}</details>"
        )
    if form:
        parts.append(
            '<details class="gp-search" open data-gp-collapse><summary>'
            '<span class="gp-wide">Finn ledige lokaler</span><span class="gp-narrow">Søk</span>'
            f"</summary>{form}</details>"
        )
    return "".join(parts)


def query_string(q: PremisesQuery, **override) -> str:
    """URL query for ``q`` (names as ``GET /premises``), e.g. for the next page."""
    return urlencode(query_params(q, **override))


def premises_page_href(link_base: str, premises_id: object) -> str:
    """The page of one premises (``/maps/premises/{id}``): what a seeker opens from a result."""
    return f"{link_base}/maps/premises/{quote(str(premises_id), safe='')}"


def _walk_text(p) -> str:
    walk = getattr(p, "walk_min", None)
    text = "–" if walk is None or walk != walk else f"{walk:.0f} min"
    if getattr(p, "walk_method", None) == "straight_line" and text != "–":
        text += " (anslag)"
    return text


PREMISES_COLUMNS = (
    "Adresse",
    "Bruk",
    "Areal (m²)",
    "Leie (kr/m²/år)",
    "Ledig fra",
    "Nærmeste knutepunkt",
    "Gangtid",
    "Fokusområde",
    "Data",
)


def premises_table_html(
    features: gpd.GeoDataFrame,
    area_names: dict[str, str],
    *,
    link_base: str = "",
    caption: str = "",
    level: int = 3,
) -> str:
    """Premises as a table on wide screens and as a list of cards on narrow ones (the style
    sheet shows one of the two). Each links to its page and to its record in the API."""
    rows, cards = [], []
    for p in features.itertuples():
        uses = ", ".join(USE_LABELS.get(u, u) for u in (p.uses or []))
        area_id = getattr(p, "area_id", None)
        area_cell = (
            f'<a href="{esc(link_base)}/maps/areas/{esc(area_id)}">'
            f"{esc(area_names.get(area_id, area_id))}</a>"
            if area_id
            else "utenfor fokusområdene"
        )
        sample = ' <span class="gp-sample-tag">EKSEMPEL</span>' if p.sample else ""
        page = esc(premises_page_href(link_base, p.id))
        record = f"{esc(link_base)}/premises/{esc(p.id)}"
        address = f'<a href="{page}">{esc(p.address)}</a>{sample}'
        data = f'<a href="{record}" aria-label="JSON-data for {esc(p.address)}">JSON</a>'
        cells = [
            uses,
            nok(p.floor_area_m2),
            nok(p.rent_nok_m2_year),
            esc(_available(getattr(p, "available_from", None))),
            esc(getattr(p, "nearest_hub_name", None)),
            _walk_text(p),
            area_cell,
        ]
        rows.append(
            f'<tr data-id="{esc(p.id)}"><th scope="row">{address}</th>'
            f"<td>{esc(cells[0])}</td>"
            + "".join(f"<td>{c}</td>" for c in cells[1:])
            + f"<td>{data}</td></tr>"
        )
        pairs = "".join(
            f"<dt>{esc(name)}</dt><dd>{esc(value) if i == 0 else value}</dd>"
            for i, (name, value) in enumerate(zip(PREMISES_COLUMNS[1:-1], cells, strict=True))
        )
        cards.append(
            f'<li data-id="{esc(p.id)}"><h{level}>{address}</h{level}><dl>{pairs}</dl>'
            f'<p><a href="{page}">Åpne lokalet</a> · {data}</p></li>'
        )
    head = "".join(f'<th scope="col">{esc(c)}</th>' for c in PREMISES_COLUMNS)
    caption_html = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (
        f'<table class="gp-table gp-table-wide">{caption_html}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        f'<ul class="gp-cards" aria-label="{esc(caption or "Ledige lokaler")}">'
        f"{''.join(cards)}</ul>"
    )


def results_table_html(
    features: gpd.GeoDataFrame,
    number_matched: int,
    q: PremisesQuery,
    area_names: dict[str, str],
    *,
    link_base: str = "",
    exact: bool = True,
) -> str:
    """The search results under the map (a table, or cards on phones), each linking to its
    page, its record and its area map; with links to the previous and next page. ``exact``:
    False when ``number_matched`` is the search's estimate (said as "ca.")."""
    shown = len(features)
    first = q.offset + 1 if shown else 0
    about = "" if exact else "ca. "
    head = (
        f'<h2 id="gp-results-h">{about}{number_matched} ledige lokaler passer'
        f"{f' – viser {first}–{q.offset + shown}' if number_matched > shown else ''}</h2>"
    )
    if not shown:
        return (
            f'<section class="gp-results" id="gp-results" aria-labelledby="gp-results-h">{head}'
            "<p>Ingen lokaler passer filteret. Prøv et større område, en høyere leie eller "
            "lengre gangtid.</p></section>"
        )
    pager = []
    if q.offset > 0:
        prev = query_string(q, offset=max(0, q.offset - q.limit))
        pager.append(f'<a href="{esc(link_base)}/maps/premises?{esc(prev)}">← forrige side</a>')
    if q.offset + shown < number_matched:
        nxt = query_string(q, offset=q.offset + q.limit)
        pager.append(f'<a href="{esc(link_base)}/maps/premises?{esc(nxt)}">neste side →</a>')
    nav = f'<nav class="gp-pager" aria-label="Flere treff">{" ".join(pager)}</nav>' if pager else ""
    return (
        f'<section class="gp-results" id="gp-results" aria-labelledby="gp-results-h">{head}'
        + premises_table_html(
            features, area_names, link_base=link_base, caption="Søkeresultater", level=3
        )
        + f"{nav}</section>"
    )


def areas_list_html(areas: gpd.GeoDataFrame, *, link_base: str = "", level: int = 3) -> str:
    """The focus areas in words: name (linking to its map), role, identity, target industries
    and how sure the outline is. What the coloured polygons say, without the colours."""
    items = []
    for a in areas.itertuples():
        industries = ", ".join(esc(t) for t in (a.target_industries or []))
        dashed = "" if a.development_area else " Ikke utbyggingsområde (stiplet i kartet)."
        outline = "verifisert" if a.verified else "anslått, ikke verifisert"
        items.append(
            f'<li data-area="{esc(a.id)}"><a href="{esc(link_base)}/maps/areas/{esc(a.id)}">'
            f"{esc(a.name)}</a> – {esc(ROLE_LABELS.get(a.role, a.role))}.{dashed}"
            f"<br>{esc(a.identity)}"
            + (f"<br>Målnæringer: {industries}." if industries else "")
            + f"<br><small>Avgrensning: {outline}.</small></li>"
        )
    return (
        f'<h{level} id="gp-list-areas">Fokusområder ({len(areas)})</h{level}>'
        f'<ul class="gp-plain" aria-labelledby="gp-list-areas">{"".join(items)}</ul>'
    )


def hubs_list_html(hubs: gpd.GeoDataFrame, *, level: int = 3, title: str = "") -> str:
    """The hubs in words: name, mode, status, lines, departures and how sure the position is."""
    items = []
    for h in hubs.itertuples():
        values = h.lines if isinstance(h.lines, list | tuple) or hasattr(h.lines, "tolist") else []
        lines = ", ".join(str(x) for x in values) or "–"
        dep = h.departures_per_hour
        dep_text = "ikke oppgitt" if dep is None or dep != dep else f"{dep:g}"
        position = hub_position_words(h)
        acc = h.accuracy_m
        if acc is not None and acc == acc:
            position += f" (±{acc:.0f} m)"
        items.append(
            f'<li data-hub="{esc(h.id)}"><strong>{esc(h.name)}</strong> – '
            f"{esc(MODE_LABELS.get(h.mode, h.mode))}, "
            f"{esc(STATUS_LABELS.get(h.status, h.status).lower())}. "
            f"Linjer: {esc(lines)}. Avganger per time: {esc(dep_text)}. "
            f"Posisjon: {esc(position)}.</li>"
        )
    title = title or "Kollektivknutepunkter"
    return (
        f'<h{level} id="gp-list-hubs">{esc(title)} ({len(hubs)})</h{level}>'
        f'<ul class="gp-plain" aria-labelledby="gp-list-hubs">{"".join(items)}</ul>'
    )


def catchments_text_html(minutes: list[int], methods: set[str], *, level: int = 3) -> str:
    """What the walking rings on the map are, in words."""
    if not minutes:
        return ""
    how = " og ".join(METHOD_LABELS.get(m, m) for m in sorted(methods))
    return (
        f"<h{level}>Gangavstand</h{level}>"
        f"<p>Kartet viser områdene innen {' / '.join(str(m) for m in minutes)} minutters gange "
        f"rundt hvert knutepunkt ({esc(how)}). Gangtiden fra hvert lokale til nærmeste "
        "knutepunkt står i listen over lokaler.</p>"
    )


PREMISES_LIST_MAX = 500
"""The overview lists at most this many premises under its map; the search pages hold the rest."""


def map_lists_html(
    *,
    areas: gpd.GeoDataFrame | None = None,
    hubs: gpd.GeoDataFrame | None = None,
    hubs_title: str = "",
    catchments: gpd.GeoDataFrame | None = None,
    premises: gpd.GeoDataFrame | None = None,
    premises_title: str = "Ledige lokaler",
    area_names: dict[str, str] | None = None,
    link_base: str = "",
    intro: str = "",
    outro: str = "",
) -> str:
    """Everything the map shows, as text under it (``id="gp-lists"``, a skip-link target): the
    way to the same information without seeing or operating the map."""
    parts = [
        '<section class="gp-lists" id="gp-lists" aria-labelledby="gp-lists-h">'
        '<h2 id="gp-lists-h">Innholdet i kartet</h2>'
    ]
    if intro:
        parts.append(intro)
    if areas is not None and len(areas):
        parts.append(areas_list_html(areas, link_base=link_base))
    if hubs is not None and len(hubs):
        parts.append(hubs_list_html(hubs, title=hubs_title))
    if catchments is not None and len(catchments):
        minutes = sorted({int(x) for x in catchments["minutes"]})
        parts.append(catchments_text_html(minutes, set(catchments["method"])))
    if premises is not None:
        shown = premises.iloc[:PREMISES_LIST_MAX]
        parts.append(f'<h3 id="gp-list-premises">{esc(premises_title)} ({len(premises)})</h3>')
        if len(premises) > len(shown):
            parts.append(
                f"<p>Viser de {len(shown)} første. "
                f'<a href="{esc(link_base)}/maps/premises">Søk</a> for å se alle.</p>'
            )
        if len(shown):
            parts.append(
                premises_table_html(
                    shown, area_names or {}, link_base=link_base, caption=premises_title, level=4
                )
            )
        else:
            parts.append("<p>Ingen.</p>")
    parts.append(f"{outro}</section>")
    return "".join(parts)
