"""End to end: past the premises threshold (lowered here through the settings) the overview and
search maps load premises as vector tiles from the server, in headless Chromium, without
console errors; a click on a single premises opens its popup, a click on a cluster zooms in."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from geoplan.config import Settings
from geoplan.store import db
from tests.conftest import free_port
from tests.e2e.live_server import live_server
from tests.e2e.test_maps_browser import assert_only_tiles_failed, page  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

TILES = "/ogc/collections/premises/tiles/WebMercatorQuad/"
READY = "window.geoplanLayers && window.geoplanLayers.premises && " \
    "window.geoplanLayers.premises.geoplanLoaded"  # fmt: skip
MAP = "Object.values(window).find(v => v instanceof L.Map)"


def drawn(what: str) -> str:
    """A JS expression true once a feature matching `what` (a JS predicate on its properties,
    `p`) is drawn in a tile of the map's current zoom — what a click is matched against
    (geoplan-tiles.js `hit`). The layer's `load` event alone is not enough: under load the click
    could come before the new zoom's tiles were drawn."""
    return (
        f"(() => {{ const map = {MAP}, layer = window.geoplanLayers.premises;"
        " for (const key in layer._vectorTiles) {"
        "  if (+key.split(':')[2] !== map.getZoom()) continue;"
        "  for (const f of Object.values(layer._vectorTiles[key]._features || {})) {"
        f"   const p = f.feature.properties; if (f.feature._point && ({what})) return true; }} }}"
        " return false; })()"
    )


@pytest.fixture
def tiled_server(loaded_db: str) -> Iterator[str]:
    settings = Settings(database_url=loaded_db, map_tiles_threshold=10)
    with live_server(loaded_db, free_port(), settings) as base:
        yield base


def point_of(page, lat: float, lon: float) -> dict:  # noqa: F811 (page: the fixture)
    return page.evaluate(
        f"([lat, lon]) => {{ const m = {MAP}; const p = m.latLngToContainerPoint([lat, lon]);"
        " const r = m.getContainer().getBoundingClientRect();"
        " return {x: r.left + p.x, y: r.top + p.y}; }",
        [lat, lon],
    )


def test_overview_loads_premises_as_tiles(tiled_server, page, loaded_db):  # noqa: F811
    tile_responses: list[tuple[str, int]] = []
    page.on(
        "response",
        lambda r: TILES in r.url and tile_responses.append((r.url, r.status)),
    )
    response = page.goto(tiled_server + "/", wait_until="load")
    html = response.text()
    assert "sample-001" not in html  # not inline: loaded from the tiles
    assert "EKSEMPELDATA" in html and "kartfliser" in html
    page.wait_for_function(READY, timeout=20_000)
    assert tile_responses and all(s in (200, 204) for _, s in tile_responses)
    assert any(s == 200 for _, s in tile_responses)
    assert all("status=available" in u for u, _ in tile_responses)
    overlays = page.evaluate(
        "[...document.querySelectorAll('.leaflet-control-layers-overlays label')]"
        ".map(l => l.textContent.trim())"
    )
    assert "Ledige lokaler" in overlays

    # a cluster: its click zooms in
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        lon, lat = conn.execute(
            "SELECT lonlat[0], lonlat[1] FROM premises WHERE id = 'sample-001'"
        ).fetchone()
    page.evaluate(f"([lat, lon]) => {MAP}.setView([lat, lon], 17, {{animate: false}})", [lat, lon])
    page.wait_for_function(READY, timeout=20_000)
    page.wait_for_function(drawn("p.id === 'sample-001'"), timeout=20_000)
    where = point_of(page, lat, lon)
    page.mouse.click(where["x"], where["y"])
    popup = page.wait_for_selector(".leaflet-popup-content .gp-premises-popup", timeout=10_000)
    popup = popup.inner_html()
    assert "Skårersletta 90" in popup and "EKSEMPELDATA" in popup
    assert "/premises/sample-001" in popup and "min gange" in popup

    page.evaluate(f"([lat, lon]) => {MAP}.setView([lat, lon], 12, {{animate: false}})", [lat, lon])
    page.wait_for_function(READY, timeout=20_000)
    page.wait_for_function(drawn("p.count != null"), timeout=20_000)
    # a cluster (drawn at its members' mean position): a click on it zooms in two levels
    cluster = page.evaluate(
        f"""() => {{
      const map = {MAP}, layer = window.geoplanLayers.premises, size = layer.getTileSize();
      map.closePopup();
      const c = map.getSize().divideBy(2);
      let best = null;
      for (const key in layer._vectorTiles) {{
        const [x, y, z] = key.split(':').map(Number);
        if (z !== map.getZoom()) continue;
        for (const f of Object.values(layer._vectorTiles[key]._features || {{}})) {{
          if (f.feature.properties.count == null) continue;
          const ll = map.unproject(L.point(x, y).scaleBy(size).add(f.feature._point), z);
          const p = map.latLngToContainerPoint(ll), r = map.getContainer().getBoundingClientRect();
          if (best === null || p.distanceTo(c) < best.d)
            best = {{d: p.distanceTo(c), x: r.left + p.x, y: r.top + p.y,
                     count: f.feature.properties.count}};
        }}
      }}
      return best;
    }}"""
    )
    assert cluster is not None and cluster["count"] >= 1 and cluster["d"] < 200
    page.mouse.click(cluster["x"], cluster["y"])
    page.wait_for_function(f"{MAP}.getZoom() === 14", timeout=10_000)
    assert_only_tiles_failed(page)


def test_search_map_past_the_threshold_draws_all_matches_as_tiles(tiled_server, page):  # noqa: F811
    tile_urls: list[str] = []
    page.on("response", lambda r: TILES in r.url and tile_urls.append(r.url))
    page.goto(tiled_server + "/maps/premises?use=office&max_walk_min=15", wait_until="load")
    page.wait_for_function(READY, timeout=20_000)
    assert tile_urls
    assert all("uses=office" in u and "filter=walk_min" in u for u in tile_urls)
    assert page.locator("#gp-results tbody tr").count() > 0  # the table lists the page
    assert_only_tiles_failed(page)


@pytest.fixture
def low_threshold_server(loaded_db: str) -> Iterator[str]:
    settings = Settings(database_url=loaded_db, map_tiles_threshold=2)
    with live_server(loaded_db, free_port(), settings) as base:
        yield base


def test_a_drawn_area_search_past_the_threshold_draws_from_tiles_inside_it(
    low_threshold_server,
    page,  # noqa: F811
    loaded_db,
):
    """Draw a rectangle on the search map (Leaflet.draw, as a user does): past the threshold the
    matches come as tiles asked for with the area (within=), and the tiles hold exactly the
    premises the search finds inside it — not the others on the map."""
    import httpx

    base = low_threshold_server
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        lon, lat = conn.execute(
            "SELECT lonlat[0], lonlat[1] FROM premises WHERE id = 'sample-001'"
        ).fetchone()
        available = conn.execute(
            "SELECT count(*) FROM premises WHERE status = 'available'"
        ).fetchone()[0]
        for d in (0.004, 0.006, 0.008, 0.012, 0.016, 0.024, 0.03):
            inside = conn.execute(
                "SELECT count(*) FROM premises WHERE status = 'available' AND lonlat <@ "
                "box(point(%s, %s), point(%s, %s))",
                (lon - d, lat - d / 2, lon + d, lat + d / 2),
            ).fetchone()[0]
            if 6 <= inside < available:  # a drag may draw a little less than asked
                break
    assert 6 <= inside < available
    tile_urls: list[str] = []
    page.on("response", lambda r: TILES in r.url and tile_urls.append(r.url))
    page.goto(base + "/maps/premises", wait_until="load")
    page.wait_for_function(READY, timeout=20_000)
    page.click("#gp-draw-rectangle")
    south_west, north_east = (
        point_of(page, lat - d / 2, lon - d),
        point_of(page, lat + d / 2, lon + d),
    )
    page.mouse.move(south_west["x"], south_west["y"])
    page.mouse.down()
    page.mouse.move(north_east["x"], north_east["y"], steps=8)
    tile_urls.clear()
    with page.expect_navigation():
        page.mouse.up()
    page.wait_for_function(READY, timeout=20_000)
    assert "within=" in page.url
    polygon = httpx.QueryParams(page.url.split("?", 1)[1])["within"]
    matched = httpx.get(base + "/premises", params={"within": polygon}).json()["numberMatched"]
    assert 2 < matched < available  # the drawn area, not the whole map
    assert tile_urls and all("within=" in u for u in tile_urls)
    drawn_total = page.evaluate(
        f"(() => {{ const map = {MAP}, layer = window.geoplanLayers.premises; let n = 0;"
        " for (const key in layer._vectorTiles) {"
        "  if (+key.split(':')[2] !== map.getZoom()) continue;"
        "  for (const f of Object.values(layer._vectorTiles[key]._features || {}))"
        "   n += f.feature.properties.count || 1; }"
        " return n; })()"
    )
    assert drawn_total == matched
    assert page.locator("#gp-results tbody tr").count() > 0
    assert_only_tiles_failed(page)
