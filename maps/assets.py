"""Inlining Leaflet and its plugins so a written map works without any server but the tiles.

Folium links its JavaScript and CSS from public CDNs. Planners open maps from e-mail or a shared
drive, sometimes behind a proxy, and the tests run offline, so every map geoplan writes carries its
libraries inline. The files in ``maps/static/`` are pristine copies from npm (versions and licences
in ``maps/static/README.md``); CSS images are embedded as data URIs.

geoplan's own page code, ``maps/static/geoplan.js``, is linked by the elements that use it
(:data:`GEOPLAN_JS`) and inlined the same way, so no JavaScript lives in Python strings; so is
its style sheet, ``maps/static/geoplan.css`` (:data:`GEOPLAN_CSS`).

Links folium adds that geoplan does not need (jQuery, Bootstrap, Font Awesome, awesome-markers:
geoplan draws its own icons) are dropped. A link this module does not know is an error, so a
folium upgrade that adds a dependency fails the tests instead of silently reaching the internet.
"""

from __future__ import annotations

import base64
import json
import re
from functools import cache
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"

# basename of the URL folium links -> vendored file (None: not needed, dropped)
VENDORED: dict[str, str | None] = {
    "leaflet.js": "leaflet.js",
    "leaflet.css": "leaflet.css",
    "leaflet.markercluster.js": "leaflet.markercluster.js",
    "MarkerCluster.css": "MarkerCluster.css",
    "MarkerCluster.Default.css": "MarkerCluster.Default.css",
    "Control.FullScreen.min.js": "Control.FullScreen.js",
    "Control.FullScreen.js": "Control.FullScreen.js",
    "Control.FullScreen.css": "Control.FullScreen.css",
    "leaflet-measure.min.js": "leaflet-measure.min.js",
    "leaflet-measure.min.css": "leaflet-measure.css",
    "leaflet-measure.css": "leaflet-measure.css",
    "L.Control.MousePosition.min.js": "L.Control.MousePosition.js",
    "L.Control.MousePosition.min.css": "L.Control.MousePosition.css",
    "Leaflet.VectorGrid.bundled.min.js": "Leaflet.VectorGrid.bundled.min.js",
    "leaflet.draw.js": "leaflet.draw.js",
    "leaflet.draw.css": "leaflet.draw.css",
    "jquery-3.7.1.min.js": None,
    "bootstrap.bundle.min.js": None,
    "bootstrap.min.css": None,
    "bootstrap-glyphicons.css": None,
    "all.min.css": None,
    "leaflet.awesome-markers.js": None,
    "leaflet.awesome-markers.css": None,
    "leaflet.awesome.rotate.min.css": None,
}

OWN: dict[str, str] = {
    "geoplan.js": "geoplan.js",
    "geoplan.css": "geoplan.css",
    "geoplan-tiles.js": "geoplan-tiles.js",
    "geoplan-share.js": "geoplan-share.js",
    "geoplan-save.js": "geoplan-save.js",
}
"""geoplan's own files in ``maps/static/`` (basename of the link -> file), inlined like the rest."""

GEOPLAN_JS = ("geoplan_js", "geoplan.js")
"""``(name, url)`` for a folium element's ``default_js``: links ``geoplan.js`` once per page."""
GEOPLAN_CSS = ("geoplan_css", "geoplan.css")
"""``(name, url)`` of geoplan's own style sheet (page layout, focus, contrast), linked by
:func:`maps.base.new_map` and inlined like the rest."""

# leaflet-measure 2.1.7 ships no Norwegian; this bokmål locale is added to its locale table.
MEASURE_NB = {
    "measure": "Mål",
    "measureDistancesAndAreas": "Mål avstander og arealer",
    "createNewMeasurement": "Start en ny måling",
    "startCreating": "Start målingen ved å klikke punkter i kartet",
    "finishMeasurement": "Avslutt måling",
    "lastPoint": "Siste punkt",
    "area": "Areal",
    "perimeter": "Omkrets",
    "pointLocation": "Punkt",
    "areaMeasurement": "Areal",
    "linearMeasurement": "Avstand",
    "pathDistance": "Lengde",
    "centerOnArea": "Sentrer på dette området",
    "centerOnLine": "Sentrer på denne linjen",
    "centerOnLocation": "Sentrer på dette punktet",
    "cancel": "Avbryt",
    "delete": "Slett",
    "acres": "acre",
    "feet": "fot",
    "kilometers": "km",
    "hectares": "ha",
    "meters": "m",
    "miles": "miles",
    "sqfeet": "kvadratfot",
    "sqmeters": "m²",
    "sqmiles": "kvadratmiles",
    "decPoint": ",",
    "thousandsSep": " ",
}
_MEASURE_ANCHOR = "locales:{"

_SCRIPT = re.compile(r'<script src="(?P<url>[^"]+)"></script>')
_LINK = re.compile(r'<link rel="stylesheet" href="(?P<url>[^"]+)"\s*/?>')
_CSS_URL = re.compile(r"url\((?P<q>['\"]?)(?P<ref>[^'\")]+)(?P=q)\)")


class AssetError(RuntimeError):
    """A map links a library geoplan does not vendor."""


def _basename(url: str) -> str:
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def _lookup(url: str) -> str | None:
    name = _basename(url)
    if name in OWN:
        return OWN[name]
    if name not in VENDORED:
        raise AssetError(f"map links {url!r}, which is not vendored in {STATIC_DIR}")
    return VENDORED[name]


@cache
def _js(name: str) -> str:
    text = (STATIC_DIR / name).read_text(encoding="utf-8")
    if name == "leaflet-measure.min.js":
        if _MEASURE_ANCHOR not in text:
            raise AssetError("leaflet-measure: locale table not found; cannot add bokmål")
        nb = json.dumps(MEASURE_NB, ensure_ascii=False)
        text = text.replace(_MEASURE_ANCHOR, f"{_MEASURE_ANCHOR}nb:{nb},", 1)
    return text.replace("</script", "<\\/script")


def _data_uri(path: Path) -> str:
    mime = "image/svg+xml" if path.suffix == ".svg" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


@cache
def _css(name: str) -> str:
    text = (STATIC_DIR / name).read_text(encoding="utf-8")

    def embed(m: re.Match) -> str:
        ref = m.group("ref")
        if ref.startswith(("data:", "#")):
            return m.group(0)
        path = STATIC_DIR / _basename(ref)
        if not path.is_file():
            raise AssetError(f"{name} references {ref!r}, which is not vendored")
        return f'url("{_data_uri(path)}")'

    return _CSS_URL.sub(embed, text).replace("</style", "<\\/style")


def inline_assets(html: str) -> str:
    """Replace every CDN ``<script src>`` / stylesheet ``<link>`` with the vendored file inline."""
    seen: set[str] = set()

    def script(m: re.Match) -> str:
        name = _lookup(m.group("url"))
        if name is None or name in seen:
            return ""
        seen.add(name)
        origin = "geoplan" if name in OWN.values() else "vendored"
        return f"<script>/* {name} ({origin}) */\n{_js(name)}\n</script>"

    def link(m: re.Match) -> str:
        name = _lookup(m.group("url"))
        if name is None or name in seen:
            return ""
        seen.add(name)
        origin = "geoplan" if name in OWN.values() else "vendored"
        return f"<style>/* {name} ({origin}) */\n{_css(name)}\n</style>"

    return _LINK.sub(link, _SCRIPT.sub(script, html))
