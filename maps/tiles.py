"""Premises as vector tiles on the overview and search maps, above a threshold.

A map with a few thousand premises carries them inline (``maps.base.add_premises``): one file,
works anywhere. Past the threshold (``GEOPLAN_MAP_TILES_THRESHOLD``, 5 000 — the caller passes
it: maps read no settings) that page would weigh megabytes and take seconds to settle (10 000
premises ≈ 2.2 MB and 2.3 s, issue 13), so the map instead loads premises as Mapbox Vector
Tiles from the server's OGC API – Tiles (``/ogc/collections/premises/tiles/WebMercatorQuad/
{z}/{y}/{x}``): clusters with counts at low zooms, single premises with the popup of the inline
layer from zoom 16. The page stays small whatever the register holds; it needs the server for
the premises (a written file links ``link_base``), as it needs the internet for base maps.

Drawn by the vendored Leaflet.VectorGrid (``maps/static``, inlined like the other libraries) and
``maps/static/geoplan-tiles.js``.
"""

from __future__ import annotations

from urllib.parse import urlencode

import folium
import geopandas as gpd
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from maps.assets import GEOPLAN_JS
from maps.base import USE_COLORS, _compact_json, register
from maps.labels import USE_LABELS

VECTORGRID_JS = ("vectorgrid_js", "Leaflet.VectorGrid.bundled.min.js")
GEOPLAN_TILES_JS = ("geoplan_tiles_js", "geoplan-tiles.js")
TILE_PATH = "/ogc/collections/premises/tiles/WebMercatorQuad/{z}/{y}/{x}"
CLUSTER_BELOW = 16
"""Where tiles switch from clusters to single premises (``geoplan.ogc.tiles.CLUSTER_BELOW``,
repeated here because maps reach the core only through ``geoplan.mapdata``;
``tests/api/test_tiles_api.py`` checks that the two agree)."""


def use_tiles(count: int, threshold: int | None) -> bool:
    """Whether a map of ``count`` premises loads them as tiles (``threshold`` None: never)."""
    return threshold is not None and count > threshold


def tile_url(link_base: str, query: dict[str, str]) -> str:
    """The premises tile URL template with the query that narrows it (``{z}/{y}/{x}`` kept)."""
    return f"{link_base}{TILE_PATH}?{urlencode(query)}" if query else f"{link_base}{TILE_PATH}"


class PremisesTiles(JSCSSMixin, Layer):
    """Premises from the server's vector tiles (``geoplan.premisesTiles``), in the layer control
    like the inline layer."""

    default_js = [GEOPLAN_JS, VECTORGRID_JS, GEOPLAN_TILES_JS]
    _template = Template(
        """{% macro script(this, kwargs) %}
var {{ this.get_name() }} = geoplan.premisesTiles({
  url: {{ this.url_json }},
  name: "premises",
  clusterBelow: {{ this.cluster_below }},
  base: {{ this.link_base_json }},
  useLabels: {{ this.use_labels_json }},
  useColors: {{ this.use_colors_json }},
  areaNames: {},
  hubNames: {{ this.hub_names_json }}
});
{% endmacro %}"""
    )

    def __init__(
        self,
        url: str,
        *,
        link_base: str = "",
        hub_names: dict[str, str] | None = None,
        name: str = "Ledige lokaler",
    ):
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "PremisesTiles"
        self.url = url
        self.url_json = _compact_json(url)
        self.cluster_below = CLUSTER_BELOW
        self.link_base_json = _compact_json(link_base)
        self.use_labels_json = _compact_json(USE_LABELS)
        self.use_colors_json = _compact_json(USE_COLORS)
        self.hub_names_json = _compact_json(hub_names or {})


def add_premises_tiles(
    m: folium.Map,
    query: dict[str, str],
    *,
    hubs: gpd.GeoDataFrame,
    link_base: str = "",
    name: str = "Ledige lokaler",
) -> PremisesTiles:
    """Premises as vector tiles (narrowed by ``query``), registered as ``geoplanLayers.premises``
    like the inline layer; popups name the nearest hub from ``hubs``."""
    hub_names = dict(zip(hubs["id"], hubs["name"], strict=True)) if len(hubs) else {}
    layer = PremisesTiles(
        tile_url(link_base, query), link_base=link_base, hub_names=hub_names, name=name
    )
    layer.add_to(m)
    register(m, "premises", layer)
    return layer


def notes(count: int, sample: int, threshold: int | None) -> list[str]:
    """What the panel says when premises come as tiles (bokmål): how, and the sample data."""
    out = [
        f"{_n(count)} lokaler er for mange til å vises enkeltvis (over {_n(threshold or 0)}); de "
        f"lastes fra serveren som kartfliser: klynger med antall til du zoomer inn (zoomnivå "
        f"{CLUSTER_BELOW}). Klikk på en klynge for å zoome inn."
    ]
    if sample:
        what = "Alle lokalene" if sample == count else f"{_n(sample)} av {_n(count)} lokaler"
        out.append(f"{what} er EKSEMPELDATA (oppdiktet), ikke ekte annonser.")
    return out


def _n(value: int) -> str:
    return f"{value:,}".replace(",", "\u00a0")
