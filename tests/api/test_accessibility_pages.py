"""Universal design in the HTML itself (issue 15): language, zoomable viewport, landmarks, skip
links, text for what colours and symbols say, a text alternative for everything a map shows,
the page of one premises and the accessibility statement. The browser checks (axe-core, phone
layout, keyboard) are in tests/e2e/test_accessibility.py."""

from __future__ import annotations

import re

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.static_files import static_url
from geoplan.config import get_settings
from geoplan.store import db
from maps import base
from maps.overview import build_overview
from tests.api.test_assessment_api import AUTH, KEY, add_key, body

EXECUTABLE_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:src|type=\"application/json\"))[^>]*>")


def test_map_pages_have_language_zoom_landmarks_and_skip_links(client):
    for path, skips in (
        ("/", ["#gp-filter", "#gp-lists"]),
        ("/maps/premises?use=office", ["#gp-results", "#gp-filter"]),
        ("/maps/areas/visperud", ["#gp-lists", "#gp-filter"]),
        ("/maps/premises/sample-001", ["#gp-details"]),
    ):
        html = client.get(path).text
        assert html.startswith('<!DOCTYPE html>\n<html lang="nb">'), path
        viewports = re.findall(r'<meta name="viewport"[^>]*>', html)
        assert viewports == ['<meta name="viewport" content="width=device-width, initial-scale=1">']
        assert html.count('<main id="gp-main">') == 1 and html.count("<footer") == 1, path
        assert 'href="/tilgjengelighet"' in html, path
        nav = re.search(r'<nav class="gp-skip"[^>]*>(.*?)</nav>', html).group(1)
        assert re.findall(r'href="([^"]+)"', nav) == skips, path
        for target in skips:  # every skip link has its target (in the page or a map panel)
            plain, in_json = f'id="{target[1:]}"', f'id=\\"{target[1:]}\\"'
            assert plain in html or in_json in html, (path, target)
        assert "geoplan.a11y(" in html, path  # keyboard and screen-reader set-up runs
        # the map comes first in <main>, what it shows follows as text
        main = html[html.index('<main id="gp-main">') :]
        assert main.index('class="folium-map"') < main.index('class="gp-lists"'), path


def test_everything_the_overview_map_shows_is_also_listed_in_text(loaded_db, conn):
    html = base.render_html(build_overview(conn))
    lists = html[html.index('id="gp-lists"') :]
    for slug in ("sentrum", "stasjonsomradet", "fjellhamar", "visperud", "ahus", "losbydalen"):
        assert f'<li data-area="{slug}">' in lists and f'href="/maps/areas/{slug}"' in lists
    assert lists.count("<li data-hub=") == 10
    assert "planlagt" in lists and "Avganger per time" in lists
    assert "Gangavstand" in lists and "5 / 10 / 15 minutters gange" in lists
    # premises: a table for wide screens and the same premises as cards for phones
    assert lists.count('<tr data-id="') == 45 and lists.count('<li data-id="') == 45
    assert 'href="/maps/premises/sample-001"' in lists and 'href="/premises/sample-001"' in lists


def test_symbols_say_in_words_what_their_colour_says(loaded_db, conn):
    m = build_overview(conn)
    html = base.render_html(m)
    # hubs: badge text for sight, name, mode and status for screen readers
    (hubs,) = [c for c in m._children.values() if getattr(c, "layer_name", "").startswith("Koll")]
    icons = [c.icon.options["html"] for c in hubs._children.values() if hasattr(c, "icon")]
    assert any(
        '<span aria-hidden="true">TOG</span><span class="gp-sr">Lørenskog stasjon (tog, '
        "eksisterende)</span>" in i
        for i in icons
    )
    assert sum("(t-bane, planlagt)" in i for i in icons) == 3
    # premises: each use has a letter as well as a colour, explained in the legend
    panels = "".join(c.html for c in m._children.values() if isinstance(c, base.Panel))
    for use, letter in base.USE_BADGES.items():
        label = base.USE_LABELS[use]
        assert f"{base.USE_COLORS[use]}" in panels and f"{label} ({letter})</div>" in panels, use
    assert "useBadges:" in html and "geoplan.premisesCluster" in html
    # the legend and the panel parts start closed on phones
    assert panels.count("data-gp-collapse") == 3


def test_text_colours_have_at_least_4_5_to_1_contrast_on_white():
    def luminance(hex_colour: str) -> float:
        rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    def contrast(a: str, b: str) -> float:
        hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
        return (hi + 0.05) / (lo + 0.05)

    # white letters and badges on these fills, and the fills as text on white (planned hubs)
    for name, colour in {**base.MODE_COLORS, **base.USE_COLORS}.items():
        assert contrast(colour, "#ffffff") >= 4.5, (name, colour)


def test_the_page_of_one_premises(client, loaded_db):
    r = client.get("/maps/premises/sample-001")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    details = r.text[r.text.index('id="gp-details"') :]
    for text in (
        "Skårersletta 90 (eksempel)",
        "Kontor",
        "850 m²",
        "2\u00a0225 kr/m²/år",
        "EKSEMPELDATA",
    ):
        assert text in details, text
    assert 'href="/premises/sample-001"' in details  # the API record
    assert 'href="/premises/sample-001/history"' in details
    assert 'href="/maps/areas/sentrum"' in details
    assert "<title>Skårersletta 90 (eksempel) – ledig lokale | geoplan</title>" in r.text

    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        conn.execute("UPDATE premises SET status = 'withdrawn' WHERE id = 'sample-002'")
    withdrawn = client.get("/maps/premises/sample-002")
    assert withdrawn.status_code == 200 and "trukket tilbake" in withdrawn.text

    missing = client.get("/maps/premises/nope-404")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


def test_accessibility_statement_lists_what_does_not_conform_and_where_to_report(client):
    r = client.get("/tilgjengelighet")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert '<html lang="nb">' in html and "<main" in html and 'class="skip"' in html
    assert "<h1>Tilgjengelighetserklæring for geoplan</h1>" in html
    for known in ("Bakgrunnskartet", "Swagger UI", "Måleverktøy", "Engelsk tekst", "WCAG 2.1"):
        assert known in html, known
    assert "GEOPLAN_ACCESSIBILITY_CONTACT" in html  # no contact configured: says how to set one
    assert 'href="https://www.uutilsynet.no/"' in html
    assert "/tilgjengelighet" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    ("contact", "href"),
    [
        ("tilgjengelighet@kommune.example", "mailto:tilgjengelighet@kommune.example"),
        ("https://kommune.example/meld-fra", "https://kommune.example/meld-fra"),
        ("Servicetorget, tlf. 12 34 56 78", None),
    ],
)
def test_accessibility_statement_shows_the_configured_contact(loaded_db, contact, href):
    settings = get_settings().model_copy(update={"accessibility_contact": contact})
    with TestClient(create_app(settings, database_url=loaded_db)) as c:
        html = c.get("/tilgjengelighet").text
    assert contact in html and "GEOPLAN_ACCESSIBILITY_CONTACT" not in html
    if href:
        assert f'href="{href}"' in html


def test_ogc_pages_are_norwegian_with_landmarks_and_no_inline_script(client):
    for path in (
        "/ogc?f=html",
        "/ogc/collections?f=html",
        "/ogc/collections/premises?f=html",
        "/ogc/collections/premises/items?f=html&limit=5",
        "/ogc/collections/premises/items/sample-001?f=html",
        "/ogc/collections/premises/queryables?f=html",
        "/ogc/conformance?f=html",
    ):
        html = client.get(path).text
        assert '<html lang="nb">' in html, path
        assert 'href="#innhold"' in html and '<main id="innhold"' in html, path
        assert "<header>" in html and "<footer>" in html, path
        assert not EXECUTABLE_INLINE_SCRIPT.search(html), path  # CSP can forbid inline script
    items = client.get("/ogc/collections/premises/items?f=html&limit=5").text
    # linked by its content-hashed name (api/static_files.py: cached for a year)
    assert f'<script src="{static_url("ogc-items.js")}" defer></script>' in items
    assert 'id="gp-items"' in items and '<th scope="col">id</th>' in items
    assert client.get("/static/ogc-items.js").status_code == 200


def test_report_has_landmarks_table_headers_and_marks_english_text(loaded_db):
    add_key(loaded_db, KEY)
    with TestClient(create_app(database_url=loaded_db)) as c:
        rec = c.post("/assessments", json=body(employees=150), headers=AUTH).json()
        html = c.get(f"/assessments/{rec['id']}/report").text
    assert "<main>" in html and "<header>" in html and "<footer>" in html
    assert "Må vurderes nærmere" in html and '<span lang="en">(Needs review)</span>' in html
    assert html.count('scope="col"') >= 11 and 'scope="row"' in html
    assert 'href="#fakta"' in html and 'id="fakta"' in html
    assert 'title="Kart over tomten' in html  # the iframe is named
    assert "klasse A (inntil" in html  # ring colours named in the map's legend
