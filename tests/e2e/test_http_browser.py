"""End to end in headless Chromium: the pages work under their Content-Security-Policy, the policy
is enforced, the maps embed on another site (or not, as configured), the share control keeps the
filters and the view, and a page on another origin can read the OGC API but not write.

Another origin is simulated by a page Playwright serves itself at ``http://127.0.0.1:9`` (a port
nothing listens on: a different origin from the test server's port, still on this machine).
"""

from __future__ import annotations

import html
import time

import pytest

from geoplan.config import Settings
from tests.conftest import free_port
from tests.e2e.live_server import live_server
from tests.e2e.test_maps_browser import assert_only_tiles_failed, offline_page

pytestmark = pytest.mark.browser

ELSEWHERE = "http://127.0.0.1:9"
"""The origin of the simulated municipality website (served by Playwright's router)."""

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.effectiveDirective + ' ' + e.blockedURI + ' ' + (e.sample || ''));
});
"""


@pytest.fixture
def server(loaded_db):
    with live_server(loaded_db, free_port()) as base:
        yield base


@pytest.fixture
def page(tmp_path):
    """As in test_maps_browser, with Chromium's Local Network Access checks off: the simulated
    site is served by Playwright, and Chromium would otherwise treat every request from it to
    the test server on 127.0.0.1 as a public page reaching into the loopback network (which a
    real municipality site reaching a public geoplan server never is)."""
    with offline_page(tmp_path, ("--disable-features=LocalNetworkAccessChecks",)) as pg:
        yield pg


def wait_until(target, expression: str, timeout_s: float = 30) -> None:
    """Poll ``expression`` with evaluate: Playwright's wait_for_function compiles its predicate
    with eval, which a page without 'unsafe-eval' rightly refuses."""
    deadline = time.monotonic() + timeout_s
    while not target.evaluate(f"() => !!({expression})"):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_s} s: {expression}")
        time.sleep(0.1)


def elsewhere(page, path: str, body: str) -> str:
    """Serve ``body`` as an HTML page of another origin; returns its URL."""
    url = ELSEWHERE + path
    page.route(url, lambda r: r.fulfill(status=200, content_type="text/html", body=body))
    return url


def violations(page) -> list[str]:
    return page.evaluate("window.__csp")


MAP_PAGES = [
    "/",
    "/maps/overview?kommune=3222",
    "/maps/premises?use=office",
    "/maps/areas/visperud",
    "/maps/premises/sample-001",
    "/maps/overview?embed=1",
    "/maps/premises?use=office&embed=1",
    "/maps/premises/sample-001?embed=1",
    # a drawn search area (vendored Leaflet.draw)
    "/maps/premises?within=POLYGON((10.94+59.92,10.97+59.92,10.97+59.935,10.94+59.92))",
]
"""Every map page main serves, full and embedded."""
OTHER_PAGES = [
    "/tilgjengelighet",
    "/megler",  # the broker page (signed out)
    "/ogc?f=html",
    "/ogc/collections?f=html",
    "/ogc/collections/premises?f=html",
    "/ogc/collections/premises/queryables?f=html",
    "/ogc/collections/hubs/items?f=html",
    "/ogc/collections/premises/items/sample-001?f=html",
    "/ogc/conformance?f=html",
]
"""Every other HTML page (the OGC pages, the accessibility statement)."""
KEY = "gp_test_http_key_0123456789"


def exercise_map(page) -> None:
    """What a map page runs beyond loading: the measure tool compiles its templates (the reason
    for 'unsafe-eval'); popups and the hub badges write style attributes; the share control."""
    page.hover(".leaflet-control-measure")
    page.click(".leaflet-control-measure .js-start")
    page.mouse.click(700, 450)
    page.mouse.click(760, 480)
    page.evaluate(
        "() => { const hubs = window.geoplanLayers.hubs.getLayers();"
        " if (hubs.length) hubs[0].openPopup(); }"
    )
    if page.locator(".gp-share summary").count():
        page.click(".gp-share summary")
    page.wait_for_timeout(300)


@pytest.mark.parametrize("path", MAP_PAGES + OTHER_PAGES)
def test_pages_run_under_their_policy_without_violations(server, page, path):
    page.add_init_script(RECORD_VIOLATIONS)
    response = page.goto(server + path, wait_until="load")
    assert response.status == 200
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy.split("style-src-attr")[0]
    if path in MAP_PAGES:
        page.wait_for_function("window.geoplanLayers && window.geoplanLayers.premises")
        exercise_map(page)
    elif path.endswith("/items?f=html"):  # the items map (ogc-items.js)
        wait_until(page, "document.querySelectorAll('.leaflet-marker-icon, path').length")
    assert violations(page) == []
    assert_only_tiles_failed(page)


def test_the_tiled_maps_and_the_report_run_under_their_policy(loaded_db, page):
    """The overview and search past GEOPLAN_MAP_TILES_THRESHOLD (premises as vector tiles over
    the vendored VectorGrid, fetched from /ogc/…/tiles), and an assessment report (its map in
    an iframe ``srcdoc``, which runs under the report's policy)."""
    import httpx

    from tests.api.test_assessment_api import add_key

    add_key(loaded_db, KEY)
    settings = Settings(database_url=loaded_db, map_tiles_threshold=10)
    with live_server(loaded_db, free_port(), settings) as base:
        r = httpx.post(
            f"{base}/assessments",
            json={"site": {"type": "Point", "coordinates": [10.9548, 59.9267]},
                  "use": "office", "floor_area_m2": 2500, "employees": 140},
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=60,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        page.add_init_script(RECORD_VIOLATIONS)
        for path in ("/", "/maps/premises?max_walk_min=15", "/maps/overview?embed=1"):
            page.goto(base + path, wait_until="load")
            page.wait_for_function("window.geoplanLayers && window.geoplanLayers.premises")
            assert page.evaluate("!!L.vectorGrid && !window.geoplanLayers.premises.getLayers")
            wait_until(page, "performance.getEntriesByType('resource')"
                             ".some(e => e.name.includes('/tiles/WebMercatorQuad/'))")  # fmt: skip
            exercise_map(page)
            assert violations(page) == [], path
        page.goto(f"{base}/assessments/{r.json()['id']}/report", wait_until="load")
        frame = page.frames[1]
        # the map's scripts ran (they are blocked, and the map blank, without their hashes)
        wait_until(frame, "window.L && document.querySelectorAll('path').length", timeout_s=15)
        page.wait_for_timeout(500)
        assert violations(page) == [] and frame.evaluate("window.__csp || []") == []
    assert_only_tiles_failed(page)


def test_an_embedded_map_fills_its_frame(server, page):
    page.set_viewport_size({"width": 800, "height": 500})
    page.goto(server + "/maps/premises?use=office&embed=1", wait_until="load")
    page.wait_for_function("window.geoplanLayers && window.geoplanLayers.premises")
    height = page.evaluate("document.querySelector('.folium-map').getBoundingClientRect().height")
    assert abs(height - 500) <= 1
    assert page.locator(".gp-embed h1").count() == 1  # the bar names the map
    assert page.locator("#gp-results").count() == 1  # the list stays, under the map


def test_the_policy_is_enforced(server, page):
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(server + "/", wait_until="load")
    page.wait_for_function("window.geoplanLayers && window.geoplanLayers.premises")
    # markup a script inserts (as a popup does) cannot run an event handler
    page.evaluate(
        "document.body.insertAdjacentHTML('beforeend', "
        '\'<img src="data:,x" onerror="window.__injected = 1">\')'
    )
    page.wait_for_timeout(300)
    assert page.evaluate("window.__injected") is None
    assert any(v.startswith("script-src-attr") for v in violations(page)), violations(page)
    page.errors.clear()  # the console reports the refusal: that is the point here


def test_the_map_embeds_on_another_site_and_links_back(server, page):
    frame_src = server + "/maps/premises?use=office&embed=1#kart=15/59.92800/10.95500"
    url = elsewhere(
        page,
        "/kommunen.html",
        f'<!doctype html><title>Kommunen</title><iframe src="{html.escape(frame_src)}" '
        'width="800" height="500"></iframe>',
    )
    page.goto(url, wait_until="load")
    frame = page.frame_locator("iframe")
    frame.locator(".gp-embed").wait_for()
    inner = page.frames[1]
    inner.wait_for_function("window.geoplanLayers && window.geoplanLayers.premises")
    assert inner.evaluate("Object.values(window).find(v => v instanceof L.Map).getZoom()") == 15
    assert inner.locator("#gp-filter").count() == 0  # no side panel
    # the map fills the frame; the results (its text alternative) are below it
    fill = "document.querySelector('.folium-map').offsetHeight - window.innerHeight"
    assert inner.evaluate(fill) == 0
    assert "EKSEMPELDATA" in inner.inner_text(".gp-embed")
    back = inner.get_attribute(".gp-full-link", "href")
    assert back.startswith(server + "/maps/premises?") and "use=office" in back
    assert "embed" not in back and "#kart=15/" in back
    assert inner.get_attribute(".gp-full-link", "target") == "_blank"
    assert_only_tiles_failed(page)


def test_embedding_is_refused_where_the_setting_says_so(loaded_db, page):
    settings = Settings(database_url=loaded_db, frame_ancestors="self")
    with live_server(loaded_db, free_port(), settings) as base:
        url = elsewhere(
            page,
            "/annen.html",
            f'<!doctype html><title>Annen</title><iframe src="{base}/?embed=1"></iframe>',
        )
        page.goto(url, wait_until="load")
        page.wait_for_timeout(1500)
        framed = page.frames[1]
        assert framed.evaluate("typeof window.L") != "object"  # nothing of the map ran
    assert any("frame-ancestors" in e for e in page.errors), page.errors
    page.errors.clear()


def test_share_control_keeps_filters_and_view(server, page):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page.goto(server + "/maps/premises?use=office&max_walk_min=10", wait_until="load")
    page.wait_for_function("window.geoplanLayers && window.geoplanLayers.premises")
    page.wait_for_timeout(300)
    assert "#" not in page.url  # a page just opened keeps its address
    page.mouse.move(900, 300)
    page.mouse.down()  # the person takes the map (the move itself is scripted, to be exact)
    page.mouse.up()
    page.evaluate(
        "Object.values(window).find(v => v instanceof L.Map)"
        ".setView([59.93, 10.96], 14, {animate: false})"
    )
    page.click(".gp-share summary")
    link = page.input_value("#gp-share-link")
    assert "use=office" in link and "max_walk_min=10" in link
    assert link.endswith("#kart=14/59.93000/10.96000")
    assert "embed" not in link
    code = page.input_value("#gp-embed-code")
    assert code.startswith("<iframe ") and "embed=1" in code and "#kart=14/" in code
    assert 'title="Ledige lokaler' in code  # a framed page needs a title (WCAG 4.1.2)
    assert page.url.endswith("#kart=14/59.93000/10.96000")  # the address follows the view
    page.click("button[data-copy=gp-embed-code]")
    page.wait_for_function("document.querySelector('button[data-copy=gp-embed-code]')"
                           ".textContent === 'Kopiert'")  # fmt: skip
    assert page.evaluate("navigator.clipboard.readText()") == code
    # the copied link opens the same map in the same view
    page.goto(link, wait_until="load")
    page.wait_for_function("window.geoplanLayers && window.geoplanLayers.premises")
    view = page.evaluate(
        "(() => { const m = Object.values(window).find(v => v instanceof L.Map);"
        " const c = m.getCenter(); return [m.getZoom(), c.lat, c.lng]; })()"
    )
    assert view[0] == 14 and abs(view[1] - 59.93) < 1e-4 and abs(view[2] - 10.96) < 1e-4
    assert_only_tiles_failed(page)


def test_another_origin_reads_the_api_but_cannot_write(server, page):
    url = elsewhere(page, "/app.html", "<!doctype html><title>App</title>")
    page.goto(url, wait_until="load")
    result = page.evaluate(
        """async (base) => {
          const r = await fetch(base + '/ogc/collections/hubs/items?limit=2');
          const body = await r.json();
          const again = await fetch(base + '/ogc/collections/hubs/items?limit=2',
                                    {headers: {'If-None-Match': r.headers.get('ETag')}});
          let write = 'sent';
          try {
            await fetch(base + '/premises', {method: 'POST',
              headers: {'Authorization': 'Bearer gp_x', 'Content-Type': 'application/json'},
              body: '{}'});
          } catch (e) { write = 'blocked: ' + e.name; }
          return {status: r.status, n: body.features.length, etag: r.headers.get('ETag'),
                  crs: r.headers.get('Content-Crs'), again: again.status, write};
        }""",
        server,
    )
    assert result["status"] == 200 and result["n"] == 2
    assert result["etag"] and result["crs"]  # exposed to the script
    assert result["again"] in (200, 304)  # the browser may answer from its cache either way
    assert result["write"] == "blocked: TypeError"
    page.errors.clear()  # the refused preflight is reported in the console
