""" "Lagre søket" on the search map in headless Chromium, end to end: draw an area with the
mouse, save the search (a filter and the area) from the keyboard, read its Atom feed with a real
feed reader (feedparser), follow the saved search's link back to the map; and the API's
refusals (429 after too many saves, 422) said in words in the live region."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import feedparser
import httpx
import pytest

from geoplan.config import Settings
from tests.conftest import free_port
from tests.e2e.browser import DESKTOP, browser_page
from tests.e2e.live_server import live_server
from tests.e2e.test_accessibility import open_page, site, tab_to  # noqa: F401

pytestmark = pytest.mark.browser


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def draw_rectangle(page) -> None:
    page.click("#gp-draw-rectangle")
    box = page.locator(".folium-map").bounding_box()
    cx, cy = box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.35
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 420, cy + 320, steps=8)
    with page.expect_navigation():
        page.mouse.up()
    page.wait_for_function("window.geoplanLayers && window.geoplanLayers['search-area']")


def save(page, *, by_tab: bool = False) -> None:
    """Press "Lagre søket" from the keyboard (``by_tab``: reached with Tab from the page's
    start, past the search form), and wait until the status line says how it went."""
    if by_tab:
        tab_to(page, lambda f: f["id"] == "gp-save-search")
    else:
        page.locator("#gp-save-search").focus()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "document.getElementById('gp-save-status').textContent.indexOf('…') < 0"
        " && document.getElementById('gp-save-status').textContent !== ''"
    )


def test_save_a_drawn_search_follow_its_feed_and_open_its_link(site, tmp_path):  # noqa: F811
    base, _ = site
    with browser_page(tmp_path, DESKTOP) as page:
        open_page(page, base + "/maps/premises?use=office")
        draw_rectangle(page)
        shown = query(page.url)
        assert shown["use"] == ["office"] and shown["within"][0].startswith("POLYGON((")
        matches = httpx.get(
            f"{base}/premises", params={"use": "office", "within": shown["within"][0]}
        ).json()
        assert matches["numberMatched"] > 0, "draw a larger area: the test needs matches"
        save(page, by_tab=True)
        assert "Søket er lagret" in page.inner_text("#gp-save-status")
        assert page.evaluate("document.activeElement.id") == "gp-saved-link"
        link = page.input_value("#gp-saved-link")
        assert link.startswith(base + "/premises/searches/")
        feed_link = page.locator("#gp-saved-feed")
        assert feed_link.inner_text() == "Abonner på nye treff (Atom)"
        feed_url = feed_link.get_attribute("href")
        assert feed_url == link + "/feed.atom"
        # what was saved is what the page showed: the filter and the drawn area
        saved = httpx.get(link).json()
        assert saved["filters"] == {"use": ["office"], "within": shown["within"][0]}

        # the feed, read by a feed reader: one entry per match, each a listing's page
        r = httpx.get(feed_url)
        assert r.headers["content-type"].startswith("application/atom+xml")
        feed = feedparser.parse(r.content)
        assert not feed.bozo, feed.bozo_exception
        assert feed.feed.title.startswith("Ledige lokaler: kontor · i et tegnet område")
        ids = {f["id"] for f in matches["features"]}
        assert {e.link.rsplit("/", 1)[1] for e in feed.entries} == ids
        assert all(e.link.startswith(base + "/maps/premises/") for e in feed.entries)

        # the stable link opens the search map with the saved search
        page.goto(link, wait_until="load")
        page.wait_for_function("window.geoplanLayers && window.geoplanLayers['search-area']")
        assert urlsplit(page.url).path == "/maps/premises"
        assert query(page.url) == {"use": ["office"], "within": shown["within"]}
        assert "i et tegnet område" in page.inner_text(".gp-panel")
        assert page.locator("#gp-results tbody tr").count() == len(ids)
        assert page.errors == []


def test_refusals_are_said_in_words(loaded_db, tmp_path):
    settings = Settings(saved_searches_per_hour=1)
    with (
        live_server(loaded_db, free_port(), settings) as base,
        browser_page(tmp_path, DESKTOP) as page,
    ):
        open_page(page, base + "/maps/premises?use=retail")
        save(page)
        assert "Søket er lagret" in page.inner_text("#gp-save-status")
        save(page)  # the second save from this address within the hour
        status = page.inner_text("#gp-save-status")
        assert status.startswith("Du har lagret mange søk den siste timen. Prøv igjen om ")
        assert "minutter" in status
        assert page.get_attribute("#gp-save-status", "role") == "status"
        assert page.evaluate("document.getElementById('gp-saved').hidden")
    with live_server(loaded_db, free_port()) as base, browser_page(tmp_path, DESKTOP) as page:
        open_page(page, base + "/maps/premises?use=retail")
        # the page's filters tampered with as a stale or hand-edited page would carry them
        page.route(
            "**/premises/searches",
            lambda route: route.continue_(post_data='{"filters": {"use": ["castle"]}}'),
        )
        save(page)
        status = page.inner_text("#gp-save-status")
        assert status.startswith("Søket kunne ikke lagres: use: ")
        assert "castle" in status
        assert page.errors == []
