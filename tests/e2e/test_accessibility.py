"""Universal design (WCAG 2.1 AA) of every page geoplan serves, checked in headless Chromium.

* axe-core on every HTML page of the OpenAPI document (and ``/``), at phone (390 × 844) and
  desktop (1400 × 900) size: no serious or critical violation. A new HTML route without an entry
  in :data:`PAGES` fails the test, so "every page" stays true.
* The phone layout: panels collapsed to buttons, the legend closed, results as a list, the map at
  least half the screen and not covered, no control over another, no sideways scrolling.
* Keyboard only: a premises search from the overview to one premises' page, and a map marker's
  popup opened and closed from the keyboard.
* A person on a phone (touch): search, read the results, open one.

``GEOPLAN_DOCS_SCREENSHOTS=docs/accessibility`` saves the screenshots and the axe summary used in
docs/accessibility.md.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.e2e.browser import (
    AXE_VERSION,
    BLOCKING,
    CHROMIUM,
    DESKTOP,
    PHONE,
    SIZES,
    browser_page,
    describe,
    run_axe,
)
from tests.e2e.live_server import live_server

pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists():  # pragma: no cover - the Makefile installs chromium
    pytest.fail(f"{CHROMIUM} is missing: run `make test` (installs Debian's chromium)")

KEY = "gp_test_a11y_key_0123456789"
CASE = "{case}"

PAGES: dict[str, list[str]] = {
    "/": ["/", "/?embed=1"],
    "/maps/overview": ["/maps/overview"],
    "/maps/premises": [
        "/maps/premises?use=office&max_walk_min=15",
        "/maps/premises?min_area_m2=99999",
        "/maps/premises?use=office&embed=1",
        # a drawn search area (the area controls, the polygon on the map)
        "/maps/premises?within=POLYGON((10.94+59.92,10.97+59.92,10.97+59.935,10.94+59.92))",
    ],
    "/maps/premises/{premises_id}": [
        "/maps/premises/sample-001",
        "/maps/premises/sample-001?embed=1",
    ],
    "/maps/areas/{slug}": ["/maps/areas/visperud", "/maps/areas/visperud?embed=1"],
    "/assessments/{case_id}/report": [f"/assessments/{CASE}/report"],
    "/tilgjengelighet": ["/tilgjengelighet"],
    "/megler": ["/megler"],  # signed out; signed-in states: tests/e2e/test_broker_page.py
    "/ogc": ["/ogc?f=html", "/ogc/"],
    "/ogc/conformance": ["/ogc/conformance?f=html"],
    "/ogc/collections": ["/ogc/collections?f=html"],
    "/ogc/collections/{collection_id}": ["/ogc/collections/premises?f=html"],
    "/ogc/collections/{collection_id}/queryables": ["/ogc/collections/premises/queryables?f=html"],
    "/ogc/collections/{collection_id}/items": [
        "/ogc/collections/premises/items?f=html",
        "/ogc/collections/areas/items?f=html",
        "/ogc/collections/hubs/items?f=html",
    ],
    "/ogc/collections/{collection_id}/items/{feature_id}": [
        "/ogc/collections/premises/items/sample-001?f=html"
    ],
}
"""Each HTML route (as the OpenAPI document names it) and the URLs that test it (map pages also
in their embed mode, ``?embed=1``)."""
NOT_OURS = {"/ogc/api": "redirects to /docs: Swagger UI, third-party, listed in the statement"}
MAP_PAGES = ["/", "/maps/premises?use=office&max_walk_min=15", "/maps/areas/visperud",
             "/maps/premises/sample-001"]  # fmt: skip
SCREENSHOTS = {
    "overview": "/",
    "search": "/maps/premises?use=office&max_walk_min=15",
    "premises": "/maps/premises/sample-001",
    "report": f"/assessments/{CASE}/report",
}


@pytest.fixture
def site(loaded_db):
    """A live server on the shipped layers, with one stored assessment: (base URL, case id)."""
    from tests.api.test_assessment_api import add_key

    add_key(loaded_db, KEY)
    with live_server(loaded_db, free_port()) as url:
        import httpx

        r = httpx.post(
            f"{url}/assessments",
            json={
                "site": {"type": "Point", "coordinates": [10.9548, 59.9267]},
                "use": "office",
                "floor_area_m2": 2500,
                "employees": 140,
            },
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=60,
        )
        assert r.status_code == 201, r.text
        yield url, r.json()["id"]


def open_page(page, url: str) -> None:
    """Go to ``url`` and wait until a map page has built its layers."""
    page.goto(url, wait_until="load")
    page.wait_for_function("!document.querySelector('.folium-map') || !!window.geoplanLayers")
    page.wait_for_timeout(150)


def html_routes() -> set[str]:
    """Every GET route whose 200 response can be HTML, by the app's OpenAPI document, and ``/``."""
    from api.app import create_app

    spec = create_app().openapi()
    found = {"/"}
    for path, ops in spec["paths"].items():
        content = ops.get("get", {}).get("responses", {}).get("200", {}).get("content", {})
        if "text/html" in content:
            found.add(path)
    return found


def test_every_html_page_is_in_the_axe_run():
    assert html_routes() - set(NOT_OURS) == set(PAGES)


@pytest.mark.parametrize("size", list(SIZES))
def test_axe_finds_no_serious_or_critical_violation_on_any_page(site, tmp_path, size):
    base, case = site
    summary: dict[str, list[dict]] = {}
    with browser_page(tmp_path, SIZES[size], phone=size == "phone") as page:
        for urls in PAGES.values():
            for path in urls:
                path = path.replace(CASE, case)
                open_page(page, base + path)
                assert page.title(), f"{path}: no page title"
                assert page.evaluate("document.documentElement.lang") == "nb", path
                violations = run_axe(page)
                summary[path] = violations
                blocking = [v for v in violations if v["impact"] in BLOCKING]
                assert not blocking, f"{size} {path}:\n{describe(blocking)}"
        assert page.errors == []
    if target := os.environ.get("GEOPLAN_DOCS_SCREENSHOTS"):
        out = Path(target)
        out.mkdir(parents=True, exist_ok=True)
        counts = {
            re.sub(r"asm-[0-9a-f]+", "{id}", p): {
                impact: sum(1 for v in vs if v["impact"] == impact)
                for impact in ("critical", "serious", "moderate", "minor")
            }
            for p, vs in summary.items()
        }
        (out / f"axe-{size}.json").write_text(
            json.dumps({"axe_core": AXE_VERSION, "size": SIZES[size], "pages": counts}, indent=1)
        )


@pytest.mark.parametrize("size", list(SIZES))
def test_the_share_control_open_passes_too(site, tmp_path, size):
    """The "Del kartet" control (maps/embed.py) opened: labelled fields with the link and the
    <iframe> code, named copy buttons, reachable and closable from the keyboard."""
    base, _ = site
    with browser_page(tmp_path, SIZES[size], phone=size == "phone") as page:
        for path in ("/", "/maps/premises?use=office&max_walk_min=15", "/maps/premises/sample-001"):
            open_page(page, base + path)
            summary = page.locator(".gp-share summary")
            summary.focus()
            page.keyboard.press("Enter")
            page.wait_for_function("document.querySelector('details.gp-share').open")
            assert page.input_value("#gp-share-link").startswith(base + path.split("?")[0])
            assert "embed=1" in page.input_value("#gp-embed-code")
            blocking = [v for v in run_axe(page) if v["impact"] in BLOCKING]
            assert not blocking, f"{size} {path}:\n{describe(blocking)}"
            got = page.evaluate(LAYOUT)
            assert got["overlaps"] == [] and got["sideways"] <= 0, (size, path, got)
            page.keyboard.press("Tab")  # into the link field, by keyboard alone
            assert page.evaluate("document.activeElement.id") == "gp-share-link"
        assert page.errors == []


@pytest.mark.parametrize("size", list(SIZES))
def test_the_save_search_part_passes_too(site, tmp_path, size):
    """ "Lagre søket" (maps/save_search.py) used from the keyboard: the saved search's link (a
    labelled field, focused), its copy button and the feed link shown, said in the status line;
    axe-clean in that state, nothing over the map's controls."""
    base, _ = site
    path = "/maps/premises?use=office&max_walk_min=15"
    with browser_page(tmp_path, SIZES[size], phone=size == "phone") as page:
        open_page(page, base + path)
        if not page.evaluate("document.querySelector('details.gp-search').open"):
            page.locator("details.gp-search > summary").focus()  # phones: a button
            page.keyboard.press("Enter")
        page.locator("#gp-save-search").focus()
        page.keyboard.press("Enter")
        page.wait_for_function("!document.getElementById('gp-saved').hidden")
        assert "Søket er lagret" in page.inner_text("#gp-save-status")
        assert page.evaluate("document.activeElement.id") == "gp-saved-link"
        assert "/premises/searches/" in page.input_value("#gp-saved-link")
        blocking = [v for v in run_axe(page) if v["impact"] in BLOCKING]
        assert not blocking, f"{size}:\n{describe(blocking)}"
        got = page.evaluate(LAYOUT)
        assert got["overlaps"] == [] and got["sideways"] <= 0, (size, got)
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "gp-saved-copy"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "gp-saved-feed"
        assert page.errors == []


LAYOUT = """() => {
  const vis = el => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };
  const controls = [...document.querySelectorAll('.leaflet-control')].filter(vis)
    .map(el => { const r = el.getBoundingClientRect();
      return {name: el.className.split(' ').slice(0, 2).join(' '),
              x: r.left, y: r.top, r: r.right, b: r.bottom}; });
  const overlaps = [];
  for (let i = 0; i < controls.length; i++) for (let j = i + 1; j < controls.length; j++) {
    const a = controls[i], b = controls[j];
    if (a.x < b.r - 1 && b.x < a.r - 1 && a.y < b.b - 1 && b.y < a.b - 1)
      overlaps.push(a.name + ' / ' + b.name);
  }
  const map = document.querySelector('.folium-map');
  const m = map.getBoundingClientRect();
  // share of the screen where the map itself (not a control on it) is what you see
  let free = 0, total = 0;
  for (let y = 5; y < innerHeight; y += 10) for (let x = 5; x < innerWidth; x += 10) {
    total++;
    const el = document.elementFromPoint(x, y);
    if (el && map.contains(el) && !el.closest('.leaflet-control')) free++;
  }
  const open = [...document.querySelectorAll('details[data-gp-collapse]')].filter(d => d.open)
    .map(d => d.className);
  let onMap = 0;
  for (let y = 5; y < innerHeight; y += 10) for (let x = 5; x < innerWidth; x += 10) {
    const el = document.elementFromPoint(x, y);
    if (el && map.contains(el)) onMap++;
  }
  return {overlaps, mapShare: m.height / innerHeight, freeShare: free / total,
          freeOfMap: free / Math.max(onMap, 1), open,
          sideways: document.documentElement.scrollWidth - innerWidth,
          tableShown: !!document.querySelector('.gp-table-wide') &&
                      vis(document.querySelector('.gp-table-wide')),
          cardsShown: !!document.querySelector('.gp-cards') &&
                      vis(document.querySelector('.gp-cards'))};
}"""


def test_maps_with_premises_as_vector_tiles_pass_too(loaded_db, tmp_path):
    """Past GEOPLAN_MAP_TILES_THRESHOLD the overview and search maps draw premises from vector
    tiles (maps/tiles.py): the same checks, with the threshold lowered to the shipped 45."""
    from geoplan.config import get_settings

    settings = get_settings().model_copy(update={"map_tiles_threshold": 10})
    with live_server(loaded_db, free_port(), settings) as base:
        for size, viewport in SIZES.items():
            with browser_page(tmp_path, viewport, phone=size == "phone") as page:
                for path in ("/", "/maps/premises?max_walk_min=15"):
                    open_page(page, base + path)
                    tiled = "!!L.vectorGrid && !window.geoplanLayers.premises.getLayers"
                    assert page.evaluate(tiled), path  # really the vector-tile variant
                    blocking = [v for v in run_axe(page) if v["impact"] in BLOCKING]
                    assert not blocking, f"{size} {path}:\n{describe(blocking)}"
                    got = page.evaluate(LAYOUT)
                    assert got["overlaps"] == [] and got["sideways"] <= 0, (size, path, got)
                    assert got["freeShare" if size == "phone" else "freeOfMap"] >= 0.5, got
                lists = page.goto(base + "/") and page.inner_text("#gp-lists")
                assert "For mange til å listes her" in lists
                assert page.errors == []


@pytest.mark.parametrize("size", list(SIZES))
def test_map_pages_keep_the_map_visible_and_nothing_overlaps(site, tmp_path, size):
    base, _ = site
    with browser_page(tmp_path, SIZES[size], phone=size == "phone") as page:
        for path in MAP_PAGES:
            open_page(page, base + path)
            got = page.evaluate(LAYOUT)
            where = f"{size} {path}: {got}"
            assert got["overlaps"] == [], where
            assert got["sideways"] <= 0, where  # reflows: no sideways scrolling
            assert got["mapShare"] >= 0.5, where
            if size == "phone":
                assert got["open"] == [], where  # panels are buttons, the legend is closed
                assert got["freeShare"] >= 0.5, where
                # each panel part opened in turn (a tap): still no overlap, one part at a time
                summaries = page.locator("details[data-gp-collapse] > summary")
                for i in range(summaries.count()):
                    summaries.nth(i).click()
                    page.wait_for_function(  # the toggle event comes a moment after the tap
                        "document.querySelectorAll('details[data-gp-collapse][open]').length < 2"
                    )
                    again = page.evaluate(LAYOUT)
                    assert again["overlaps"] == [], f"{where} after opening part {i}: {again}"
                    assert len(again["open"]) == 1, f"{where}: {again['open']}"
            else:
                assert len(got["open"]) >= 2, where  # title panel parts and legend open
                assert got["freeOfMap"] >= 0.5, where  # the panels cover under half the map
            if "use=office" in path:
                assert got["cardsShown"] == (size == "phone"), where
                assert got["tableShown"] == (size == "desktop"), where
        assert page.errors == []
        if target := os.environ.get("GEOPLAN_DOCS_SCREENSHOTS"):
            out = Path(target)
            _, case = site
            for name, path in SCREENSHOTS.items():
                open_page(page, base + path.replace(CASE, case))
                page.wait_for_timeout(500)
                page.screenshot(path=str(out / f"{name}-{size}.png"))


FOCUS = """() => { const el = document.activeElement; const s = getComputedStyle(el);
  return {tag: el.tagName, id: el.id, text: (el.textContent || '').trim().slice(0, 80),
          href: el.getAttribute('href'), outline: s.outlineStyle,
          width: parseFloat(s.outlineWidth),
          inView: (r => r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth)
                  (el.getBoundingClientRect())}; }"""


def focused(page) -> dict:
    f = page.evaluate(FOCUS)
    assert f["outline"] != "none" and f["width"] >= 2, f"focus not visible: {f}"
    assert f["inView"], f"focused element off screen: {f}"
    return f


def tab_to(page, predicate, limit: int = 60) -> dict:
    for _ in range(limit):
        page.keyboard.press("Tab")
        f = page.evaluate(FOCUS)
        if predicate(f):
            return focused(page)
    raise AssertionError(f"not reached in {limit} Tabs; last: {f}")


def test_keyboard_only_search_and_open_a_result(site, tmp_path):
    base, _ = site
    with browser_page(tmp_path, DESKTOP) as page:
        open_page(page, base + "/")
        page.keyboard.press("Tab")
        skip = focused(page)
        assert skip["tag"] == "A" and skip["href"] == "#gp-filter", skip
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "gp-filter"
        page.keyboard.press("Tab")
        assert focused(page)["id"] == "gp-use"
        for _ in range(10):  # choose "Kontor" with the arrow keys
            if page.eval_on_selector("#gp-use", "e => e.value") == "office":
                break
            page.keyboard.press("ArrowDown")
        assert page.eval_on_selector("#gp-use", "e => e.value") == "office"
        tab_to(page, lambda f: f["id"] == "gp-walk")
        for _ in range(10):
            if page.eval_on_selector("#gp-walk", "e => e.value") == "15":
                break
            page.keyboard.press("ArrowDown")
        button = tab_to(page, lambda f: f["tag"] == "BUTTON")
        assert button["text"] == "Vis ledige lokaler"
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "use=office" in page.url and "max_walk_min=15" in page.url
        page.wait_for_function("window.geoplanLayers && window.geoplanLayers.premises")

        page.keyboard.press("Tab")
        skip = focused(page)
        assert skip["href"] == "#gp-results", skip
        page.keyboard.press("Enter")
        first = tab_to(page, lambda f: f["tag"] == "A")
        assert first["href"].startswith("/maps/premises/"), first
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url.endswith(first["href"])
        page.wait_for_function("window.geoplanLayers && window.geoplanLayers.premises")
        assert first["text"] in page.inner_text("h1")
        assert "Om lokalet" in page.inner_text("#gp-details")
        assert page.errors == []


def test_map_markers_open_and_close_from_the_keyboard(site, tmp_path):
    base, _ = site
    with browser_page(tmp_path, DESKTOP) as page:
        open_page(page, base + "/maps/premises/sample-001")
        marker = tab_to(page, lambda f: "Skårersletta 90" in f["text"] and f["tag"] == "DIV")
        assert "kontor" in marker["text"] and "eksempeldata" in marker["text"]
        page.keyboard.press("Enter")
        page.wait_for_selector(".leaflet-popup-content")
        inside = page.evaluate(
            "document.querySelector('.leaflet-popup').contains(document.activeElement)"
        )
        assert inside, "the popup opened from the keyboard did not get the focus"
        assert "Åpne lokalet" in page.inner_text(".leaflet-popup-content")
        page.keyboard.press("Escape")
        page.wait_for_selector(".leaflet-popup", state="detached")
        assert "Skårersletta 90" in focused(page)["text"]  # the focus is back on the marker
        # a hub is named by its name, mode and status, not only its badge
        hub = tab_to(page, lambda f: "bussterminal" in f["text"] and f["tag"] == "DIV")
        assert "Lørenskog sentrum terminal" in hub["text"]
        assert page.errors == []


def test_a_phone_user_searches_reads_the_results_and_opens_one(site, tmp_path):
    base, _ = site
    with browser_page(tmp_path, PHONE, phone=True) as page:
        open_page(page, base + "/")
        search = page.locator("details.gp-search > summary")
        box = search.bounding_box()
        assert box and box["height"] >= 44 and box["y"] + box["height"] <= PHONE["height"]
        search.tap()
        page.select_option("#gp-use", "office")
        for field in ("#gp-use", "#gp-min", "#gp-walk"):  # no zoom on focus: 16 px text
            size = page.eval_on_selector(field, "e => parseFloat(getComputedStyle(e).fontSize)")
            assert size >= 16, field
        button = page.locator("#gp-filter button[type=submit]")
        button.scroll_into_view_if_needed()
        b = button.bounding_box()
        assert b and b["y"] >= 0 and b["y"] + b["height"] <= PHONE["height"]  # reachable
        with page.expect_navigation():
            button.tap()
        page.wait_for_function("window.geoplanLayers && window.geoplanLayers.premises")

        cards = page.locator("#gp-results .gp-cards > li")
        assert cards.count() > 0
        assert not page.locator("#gp-results table").is_visible()
        first = cards.first
        first.scroll_into_view_if_needed()
        text = first.inner_text()
        assert "Bruk" in text and "Kontor" in text and "Gangtid" in text
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        address = first.locator("h3").inner_text().replace("EKSEMPEL", "").strip()
        with page.expect_navigation():
            first.get_by_role("link", name="Åpne lokalet").tap()
        assert "/maps/premises/" in page.url
        assert address in page.inner_text("h1")
        page.locator("#gp-details").scroll_into_view_if_needed()
        assert "Areal" in page.inner_text("#gp-details")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert page.errors == []
