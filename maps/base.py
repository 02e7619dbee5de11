"""Base maps and shared styling for every geoplan map.

Kartverket's WMTS cache (topographic and grey-tone) is what Norwegian planners know; OpenStreetMap
is the fallback. Attribution is shown on every map (Kartverket data is CC BY 4.0).
"""

from __future__ import annotations

import folium

KARTVERKET_ATTR = '&copy; <a href="https://www.kartverket.no/">Kartverket</a> (CC BY 4.0)'
KARTVERKET_WMTS = (
    "https://cache.kartverket.no/v1/wmts/1.0.0/{layer}/default/webmercator/{{z}}/{{y}}/{{x}}.png"
)
OSM_ATTR = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>-bidragsytere'

BASE_LAYERS = {
    "Kartverket topografisk": KARTVERKET_WMTS.format(layer="topo"),
    "Kartverket gråtone": KARTVERKET_WMTS.format(layer="topograatone"),
}

LORENSKOG_CENTER = (59.93, 10.965)


def new_map(location: tuple[float, float] = LORENSKOG_CENTER, zoom_start: int = 13) -> folium.Map:
    """A map with the Norwegian base layers (grey-tone shown first) and OpenStreetMap."""
    m = folium.Map(location=location, zoom_start=zoom_start, tiles=None, control_scale=True)
    for i, (name, url) in enumerate(BASE_LAYERS.items()):
        folium.TileLayer(url, name=name, attr=KARTVERKET_ATTR, max_zoom=20, show=i == 1).add_to(m)
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap", attr=OSM_ATTR, show=False).add_to(m)
    return m
