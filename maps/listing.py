"""The page of one vacant premises: where it is, its nearest hub and walking rings, and every
fact of the listing in words under the map.

Served at ``/maps/premises/{id}``: what a seeker opens from a search result (on a phone too),
instead of the API's JSON record, which the page links to.
"""

from __future__ import annotations

from datetime import date, datetime

import folium
import psycopg

from geoplan import mapdata
from geoplan.proximity import WalkSettings
from maps import base
from maps.embed import Embedding, add_title
from maps.labels import METHOD_LABELS, USE_LABELS, nok
from maps.page import map_lists_html, title_panel_html

WALK_MINUTES = [5, 10, 15]


def _date(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return base.esc(value)
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    return base.esc(value)


def _available(value: object) -> str:
    if value is None:
        return "nå"
    day = date.fromisoformat(value[:10]) if isinstance(value, str) else value
    return "nå" if day <= date.today() else f"fra {day:%d.%m.%Y}"


def _given(value: object) -> bool:
    return value is not None and value == value  # NaN from a data frame is "not given"


def _field_rows(p) -> list[tuple[str, str]]:
    """The fields premises seekers filter on (issue 13), those the listing states."""
    rows = []
    floor = getattr(p, "floor", None)
    if _given(floor):
        rows.append(("Etasje", _floor_text(int(floor))))
    for name, label in (("workplaces", "Arbeidsplasser"), ("parking_spaces", "Parkeringsplasser")):
        value = getattr(p, name, None)
        if _given(value):
            rows.append((label, str(int(value))))
    label = getattr(p, "energy_label", None)
    if isinstance(label, str):
        rows.append(("Energikarakter", base.esc(label)))
    for name, text in (("year_built", "Byggeår"), ("year_renovated", "Rehabilitert")):
        value = getattr(p, name, None)
        if _given(value):
            rows.append((text, str(int(value))))
    height = getattr(p, "ceiling_height_m", None)
    if _given(height):
        rows.append(("Takhøyde", f"{height:g} m".replace(".", ",")))
    dock = getattr(p, "loading_dock", None)
    if isinstance(dock, bool):
        rows.append(("Lasterampe", "ja" if dock else "nei"))
    broker = getattr(p, "broker_org", None)
    if isinstance(broker, str):
        rows.append(("Meglerforetak", base.esc(broker)))
    return rows


def _floor_text(floor: int) -> str:
    """Floors as Norwegian listings write them: 1. etasje, U1 (first basement)."""
    return f"{floor}. etasje" if floor >= 1 else f"U{1 - floor} (kjeller)"


def units_html(units: object) -> str:
    """A listing's units as a table with a caption (what a screen reader reads); empty when the
    listing is one space."""
    if not isinstance(units, list) or not units:
        return ""
    rows = []
    for u in units:
        floor, rent = u.get("floor"), u.get("rent_nok_m2_year")
        rows.append(
            "<tr>"
            f'<th scope="row">{base.esc(u.get("label"))}</th>'
            f"<td>{_floor_text(int(floor)) if floor is not None else '–'}</td>"
            f"<td>{nok(u.get('area_m2'))} m²</td>"
            f"<td>{f'{nok(rent)} kr/m²/år' if rent else 'ikke oppgitt'}</td>"
            f"<td>{_available(u.get('available_from'))}</td>"
            f"<td>{'ledig' if u.get('status') == 'available' else 'utleid'}</td></tr>"
        )
    return (
        '<table class="gp-units"><caption>Lokaler i bygget</caption><thead><tr>'
        '<th scope="col">Lokale</th><th scope="col">Etasje</th><th scope="col">Areal</th>'
        '<th scope="col">Leie</th><th scope="col">Ledig</th><th scope="col">Status</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def details_html(p, area_names: dict[str, str], *, link_base: str = "") -> str:
    """Every fact of the listing as a definition list (``id="gp-details"``)."""
    lb = base.esc(link_base)
    uses = ", ".join(USE_LABELS.get(u, u) for u in (p.uses or []))
    walk = p.walk_min
    walk_text = "–"
    if walk is not None and walk == walk:
        walk_text = f"ca. {walk:.0f} min gange ({METHOD_LABELS.get(p.walk_method, p.walk_method)})"
    area_id = p.area_id
    area = (
        f'<a href="{lb}/maps/areas/{base.esc(area_id)}">{base.esc(area_names.get(area_id))}</a>'
        if area_id
        else "utenfor fokusområdene"
    )
    contact = p.contact
    if contact and "@" in str(contact):
        contact_html = f'<a href="mailto:{base.esc(contact)}">{base.esc(contact)}</a>'
    else:
        contact_html = base.esc(contact)
    listing = (
        f'<a href="{base.esc(p.listing_url)}">annonsen</a>' if p.listing_url else "ikke oppgitt"
    )
    accuracy = p.accuracy_m
    rows = [
        ("Adresse", base.esc(p.address)),
        ("Status", "ledig" if p.status == "available" else "trukket tilbake"),
        ("Bruk", base.esc(uses)),
        ("Areal", f"{nok(p.floor_area_m2)} m²"),
        ("Leie", f"{nok(p.rent_nok_m2_year)} kr/m²/år" if p.rent_nok_m2_year else "ikke oppgitt"),
        ("Ledig", _available(p.available_from)),
        *_field_rows(p),
        ("Beskrivelse", base.esc(p.description)),
        ("Kontakt", contact_html),
        ("Annonse", listing),
        ("Nærmeste knutepunkt", f"{base.esc(p.nearest_hub_name)}, {base.esc(walk_text)}"),
        ("Fokusområde", area),
        (
            "Posisjon",
            ("verifisert" if p.verified else "ikke verifisert")
            + (f", ±{accuracy:.0f} m" if accuracy is not None and accuracy == accuracy else ""),
        ),
        ("Kilde", base.esc(p.source)),
        ("Lisens", base.esc(p.licence)),
        ("Sist endret", _date(p.updated_at)),
        (
            "Data",
            f'<a href="{lb}/premises/{base.esc(p.id)}">JSON-oppføringen</a> · '
            f'<a href="{lb}/premises/{base.esc(p.id)}/history">endringshistorikk</a>',
        ),
    ]
    sample = (
        '<p><span class="gp-sample-tag">EKSEMPELDATA</span> Oppdiktet lokale til '
        "demonstrasjon, ikke en ekte annonse.</p>"
        if p.sample
        else ""
    )
    items = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    return (
        '<section class="gp-lists" id="gp-details" aria-labelledby="gp-details-h">'
        f'<h2 id="gp-details-h">Om lokalet</h2>{sample}'
        f'<dl class="gp-facts">{items}</dl>{units_html(getattr(p, "units", None))}'
        f'<p><a href="{lb}/maps/premises">Nytt søk</a> · '
        f'<a href="{lb}/">Oversiktskart</a></p></section>'
    )


def build_listing_map(
    conn: psycopg.Connection,
    premises_id: str,
    *,
    link_base: str = "",
    walk: WalkSettings | None = None,
    embedding: Embedding | None = None,
) -> folium.Map:
    """Raises :class:`geoplan.errors.NotFoundError` for an unknown id.

    ``embedding``: a served page's embed mode and share control (:mod:`maps.embed`).
    """
    found = mapdata.premises_one(conn, premises_id)
    p = next(found.itertuples())
    areas = mapdata.areas(conn)
    area_names = dict(zip(areas["id"], areas["name"], strict=True))
    hub_ids = [p.nearest_hub_id] if p.nearest_hub_id else []
    hubs = mapdata.hubs(conn, hub_ids) if hub_ids else mapdata.hubs(conn, [])
    catchments = mapdata.catchments(conn, hub_ids, WALK_MINUTES, walk=walk) if hub_ids else None

    title = f"{p.address} – ledig lokale"
    m = base.new_map(
        location=(p.geometry.y, p.geometry.x),
        zoom_start=16,
        title=f"{title} | geoplan",
        page="listing",
        link_base=link_base,
    )
    base.add_skip_link(m, "#gp-details", "Hopp over kartet til opplysningene om lokalet")
    if catchments is not None and len(catchments):
        base.add_catchments(m, catchments)
    base.add_areas(m, areas, link_base=link_base, highlight=p.area_id or "")
    if len(hubs):
        base.add_hubs(m, hubs, name="Nærmeste knutepunkt")
    base.add_premises(m, found, link_base=link_base, area_names=area_names, name="Lokalet")
    points = [(p.geometry.y, p.geometry.x)] + [(h.y, h.x) for h in hubs.geometry]
    if len(points) > 1:
        lats, lons = [x[0] for x in points], [x[1] for x in points]
        pad = 0.002
        base.fit_bounds(m, [[min(lats) - pad, min(lons) - pad], [max(lats) + pad, max(lons) + pad]])

    uses = ", ".join(USE_LABELS.get(u, u) for u in (p.uses or []))
    rent = f" · {nok(p.rent_nok_m2_year)} kr/m²/år" if p.rent_nok_m2_year else ""
    intro = (
        f"<p>{base.esc(uses)} · {nok(p.floor_area_m2)} m²{rent}. "
        '<a href="#gp-details">Alle opplysninger under kartet</a>.</p>'
    )
    notes = base.data_notes(None, hubs if len(hubs) else None, found, catchments)
    add_title(
        m,
        title_panel_html(title, notes, intro=intro),
        title=title,
        notes=notes,
        embedding=embedding,
    )
    base.add_legend(
        m,
        roles=[],
        modes=[x for x in base.MODE_COLORS if x in set(hubs["mode"])],
        minutes=WALK_MINUTES if hub_ids else [],
        uses=[u for u in (p.uses or [])[:1] if u in USE_LABELS],
        planned=bool((hubs["status"] == "planned").any()),
        sample=bool(p.sample),
    )
    base.add_controls(m)
    base.add_below_map(m, details_html(p, area_names, link_base=link_base))
    if len(hubs):
        base.add_below_map(
            m,
            map_lists_html(hubs=hubs, hubs_title="Nærmeste knutepunkt", catchments=catchments),
        )
    return m


def render_listing_map(
    conn: psycopg.Connection,
    premises_id: str,
    *,
    link_base: str = "",
    walk: WalkSettings | None = None,
    embedding: Embedding | None = None,
) -> str:
    return base.render_html(
        build_listing_map(conn, premises_id, link_base=link_base, walk=walk, embedding=embedding)
    )
