"""End to end: the served maps open in headless Chromium without JavaScript errors.

Uses Debian's ``/usr/bin/chromium`` through Playwright (no browser download). Every request that
leaves the test server (base-map tiles) is aborted, as on an offline test machine; failed tile
requests are the only errors allowed.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn
from playwright import sync_api as playwright_api

from tests.conftest import free_port
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

TILE_HOSTS = ("cache.kartverket.no", "tile.openstreetmap.org")

if not Path(CHROMIUM).exists():  # pragma: no cover - the Makefile installs chromium
    pytest.fail(f"{CHROMIUM} is missing: run `make test` (installs Debian's chromium)")

LAYER_STATS = """() => {
  const map = Object.values(window).find(v => v instanceof L.Map);
  const reg = window.geoplanLayers || {};
  const count = (layer) => {
    if (layer.getLayers) return layer.getLayers().reduce((n, l) => n + count(l), 0);
    return 1;
  };
  const out = {};
  for (const [key, layer] of Object.entries(reg)) {
    let onMap = false;
    map.eachLayer(l => { if (l === layer) onMap = true; });
    const markers = layer.getLayers
      ? layer.getLayers().filter(l => l instanceof L.Marker).length : 0;
    out[key] = {onMap, features: count(layer), markers};
  }
  out._overlays = [...document.querySelectorAll('.leaflet-control-layers-overlays label')]
      .map(l => l.textContent.trim());
  out._controls = {
    fullscreen: !!document.querySelector('.leaflet-control-zoom-fullscreen'),
    measure: !!document.querySelector('.leaflet-control-measure'),
    mouse: !!document.querySelector('.leaflet-control-mouseposition'),
    scale: !!document.querySelector('.leaflet-control-scale'),
    layers: !!document.querySelector('.leaflet-control-layers'),
  };
  return out;
}"""

OPEN_FIRST_PREMISES_POPUP = """() => new Promise((resolve, reject) => {
  // Zoom straight to the marker without animation, then poll until the cluster shows it on its
  // own (markercluster's zoomToShowLayer callback can be lost when the browser is slow).
  const cluster = window.geoplanLayers.premises;
  const map = Object.values(window).find(v => v instanceof L.Map);
  const marker = cluster.getLayers().find(m => m.geoplanId === 'sample-001');
  if (!marker) { reject(new Error('sample-001 is not among the clustered markers')); return; }
  const zoom = Math.min(map.getMaxZoom(), 19);
  const started = Date.now();
  const poll = () => {
    // (re)apply the view each round: a late fitBounds from the page may have reset it
    if (map.getZoom() < zoom) map.setView(marker.getLatLng(), zoom, {animate: false});
    const parent = cluster.getVisibleParent(marker);
    if (parent && parent !== marker && map.getZoom() >= zoom && parent.spiderfy) {
      parent.spiderfy();  // markers closer than a pixel stay clustered: fan them out
    }
    if (cluster.getVisibleParent(marker) === marker || map.hasLayer(marker)) {
      marker.openPopup();
      setTimeout(() => {
        const el = document.querySelector('.leaflet-popup-content');
        el ? resolve(el.innerHTML) : reject(new Error('the popup did not open'));
      }, 200);
    } else if (Date.now() - started > 20000) {
      reject(new Error('still clustered after 20 s at zoom ' + map.getZoom()));
    } else {
      setTimeout(poll, 100);
    }
  };
  poll();
})"""


@pytest.fixture
def server(loaded_db):
    from api.app import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(database_url=loaded_db), host="127.0.0.1", port=port, log_level="warning"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@contextmanager
def offline_page(tmp_path: Path, extra_args: tuple[str, ...] = ()) -> Iterator:
    """A fresh Chromium profile (Playwright's way of passing --user-data-dir) and one page that
    reaches only 127.0.0.1; ``page.errors`` collects JavaScript errors, ``page.failed`` the
    URLs of failed requests."""
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, *extra_args],
            viewport={"width": 1400, "height": 900},
        )
        pg = browser.new_page()
        pg.errors = []  # type: ignore[attr-defined]
        pg.failed = []  # type: ignore[attr-defined]

        def route(r):
            if urlsplit(r.request.url).hostname == "127.0.0.1":
                r.continue_()
            else:
                r.abort("internetdisconnected")

        pg.route("**/*", route)
        pg.on("pageerror", lambda e: pg.errors.append(f"pageerror: {e}"))
        pg.on(
            "console",
            lambda m: (
                m.type == "error"
                and "Failed to load resource" not in m.text
                and pg.errors.append(f"console: {m.text}")
            ),
        )
        pg.on("requestfailed", lambda r: pg.failed.append(r.url))
        yield pg
        browser.close()


@pytest.fixture
def page(tmp_path):
    with offline_page(tmp_path) as pg:
        yield pg


def assert_only_tiles_failed(page) -> None:
    assert page.errors == []
    not_tiles = [u for u in page.failed if urlsplit(u).hostname not in TILE_HOSTS]
    assert not_tiles == []


def test_overview_in_headless_chromium(server, page, tmp_path):
    page.goto(server + "/", wait_until="load")
    page.wait_for_function("window.geoplanLayers && window.geoplanLayers.premises")
    stats = page.evaluate(LAYER_STATS)
    for key in (
        "boundary",
        "areas",
        "hubs",
        "premises",
        "catchments_5",
        "catchments_10",
        "catchments_15",
    ):
        assert stats[key]["onMap"], key
    assert stats["premises"]["features"] == 45  # all sample premises, clustered
    assert stats["hubs"]["markers"] == 10
    assert stats["areas"]["features"] == 6
    assert stats["catchments_5"]["features"] == 10
    assert all(stats["_controls"].values()), stats["_controls"]
    assert "Ledige lokaler" in stats["_overlays"]
    assert any(o.startswith("Gangavstand 5 min") for o in stats["_overlays"])
    panel = page.inner_text(".gp-panel")
    assert "EKSEMPELDATA" in panel and "anslått" in panel

    popup = page.evaluate(OPEN_FIRST_PREMISES_POPUP)
    assert "EKSEMPELDATA" in popup and "/premises/sample-001" in popup
    assert "Skårersletta 90" in popup and "850" in popup and "min gange" in popup
    shot = tmp_path / "overview.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    if target := os.environ.get("GEOPLAN_DOCS_SCREENSHOT"):
        page.evaluate(
            "document.querySelectorAll('.leaflet-popup-close-button').forEach(b => b.click())"
        )
        page.evaluate(
            "Object.values(window).find(v => v instanceof L.Map)"
            ".fitBounds(window.geoplanLayers.boundary.getBounds())"
        )
        page.wait_for_timeout(800)
        page.screenshot(path=target)
    assert_only_tiles_failed(page)


def test_filter_form_leads_to_search_map_in_chromium(server, page, conn, tmp_path):
    from geoplan.premises import PremisesQuery, search

    expected = search(conn, PremisesQuery(uses=["office"], max_walk_min=10)).number_matched
    page.goto(server + "/", wait_until="load")
    page.select_option("#gp-use", "office")
    page.select_option("#gp-walk", "10")
    with page.expect_navigation():
        page.click("#gp-filter button[type=submit]")
    assert "/maps/premises?" in page.url and "use=office" in page.url
    page.wait_for_function("window.geoplanLayers && window.geoplanLayers.premises")
    stats = page.evaluate(LAYER_STATS)
    assert stats["premises"]["features"] == expected > 0
    assert stats["catchments_10"]["onMap"] and "catchments_5" not in stats
    assert page.locator("#gp-results tbody tr").count() == expected
    # each result opens its page (issue 15: readable on a phone) and links its API record
    row = page.locator("#gp-results tbody tr").first
    pid = row.get_attribute("data-id")
    links = [a.get_attribute("href") for a in row.locator("a").all()]
    assert links[0] == f"/maps/premises/{pid}" and f"/premises/{pid}" in links
    page.screenshot(path=str(tmp_path / "search.png"))
    assert_only_tiles_failed(page)
