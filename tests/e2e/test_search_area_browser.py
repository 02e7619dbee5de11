"""The search map's area controls in headless Chromium: search the map view from the keyboard,
draw a rectangle with the mouse (Leaflet.draw), and the area stays in the shared URL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.e2e.browser import DESKTOP, browser_page
from tests.e2e.test_accessibility import focused, open_page, site, tab_to  # noqa: F401


def within(url: str) -> str:
    return parse_qs(urlsplit(url).query).get("within", [""])[0]


def test_search_the_map_view_from_the_keyboard(site, tmp_path):  # noqa: F811
    base, _ = site
    with browser_page(tmp_path, DESKTOP) as page:
        open_page(page, base + "/maps/premises?use=office")
        page.focus("#gp-filter")
        button = tab_to(page, lambda f: f["id"] == "gp-use-view")
        assert button["text"] == "Søk i kartutsnittet"
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.wait_for_function("window.geoplanLayers && window.geoplanLayers['search-area']")
        polygon = within(page.url)
        assert polygon.startswith("POLYGON((") and "use=office" in page.url
        assert page.evaluate("window.geoplanLayers['search-area'].getLayers().length") == 1
        assert "i et tegnet område" in page.inner_text(".gp-panel")
        # the area is a filter like any other: the form keeps it, removing it clears it
        assert page.eval_on_selector("#gp-within", "e => e.value") == polygon
        with page.expect_navigation():
            page.click("#gp-clear-area")
        assert within(page.url) == ""
        assert page.errors == []


def test_draw_a_rectangle_with_the_mouse(site, tmp_path):  # noqa: F811
    base, _ = site
    with browser_page(tmp_path, DESKTOP) as page:
        open_page(page, base + "/maps/premises")
        page.click("#gp-draw-rectangle")
        assert "dra" in page.inner_text("#gp-place-status")
        box = page.locator(".folium-map").bounding_box()
        cx, cy = box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5
        page.mouse.move(cx, cy)
        page.mouse.down()
        page.mouse.move(cx + 80, cy + 60, steps=8)
        with page.expect_navigation():
            page.mouse.up()
        polygon = within(page.url)
        assert polygon.startswith("POLYGON((") and polygon.count(",") == 4
        page.wait_for_function("window.geoplanLayers && window.geoplanLayers['search-area']")
        assert page.errors == []
