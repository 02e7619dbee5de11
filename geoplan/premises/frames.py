"""Search results as a data frame, from the fast search: what the maps and the CLI's table and
CSV read.

:func:`~geoplan.premises.search.search_features` answers a search in one statement over the
narrow ``premises_search`` table and returns the page as GeoJSON text, the bytes ``GET
/premises`` sends. The maps and the terminal want rows, so :func:`search_frame` reads that page
into a GeoDataFrame (WGS84) whose columns have the Python types the layer description gives
(dates as :class:`~datetime.date`, times as aware datetimes, floats as floats) — the values of
``GET /premises``, walks rounded as there. Asking this instead of the listing search
(:func:`~geoplan.premises.search.search`, a count and a page over every listing) makes the
search map and ``geoplan premises search`` as fast as the API.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import geopandas as gpd
import psycopg
import shapely

from geoplan.geo.crs import WGS84
from geoplan.layers.spec import API_ORDER, PREMISES, RECORD_ROLES
from geoplan.premises.query import MAX_LIMIT, PremisesQuery, SearchResult, Sort
from geoplan.premises.search import FeaturePage, search_features
from geoplan.proximity import WalkSettings

_READ: dict[str, Callable[[Any], Any]] = {
    "float": float,
    "date": date.fromisoformat,
    "timestamp": datetime.fromisoformat,
}
"""How a JSON value becomes the column's Python value, by kind (others are as JSON has them)."""


def _columns(q: PremisesQuery) -> list[tuple[str, Callable[[Any], Any] | None]]:
    """The search's fields in its order (a search naming ``hub`` adds the walk to it), each with
    its reader, then the matching ``units`` and, in a search sorted by distance, the
    ``distance_m`` it was sorted by."""
    fields = PREMISES.by_role(*(API_ORDER if q.hub else RECORD_ROLES))
    distance = [("distance_m", float)] if q.sort == Sort.distance else []
    return [(c.name, _READ.get(c.kind)) for c in fields] + [("units", None), *distance]


def features_frame(features_json: str, q: PremisesQuery) -> gpd.GeoDataFrame:
    """A page of :func:`search_features` (a JSON array of Features) as a GeoDataFrame in WGS84,
    one row per Feature in its order, the columns of a search for ``q``."""
    features = json.loads(features_json)
    data: dict[str, list[Any]] = {}
    for name, read in _columns(q):
        values = [f["properties"].get(name) for f in features]
        data[name] = values if read is None else [None if v is None else read(v) for v in values]
    points = shapely.points([f["geometry"]["coordinates"] for f in features]) if features else []
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(points, crs=WGS84), crs=WGS84)


def _result(page: FeaturePage, q: PremisesQuery) -> SearchResult:
    return SearchResult(
        features_frame(page.features_json, q),
        page.number_matched,
        q,
        number_matched_exact=page.number_matched_exact,
    )


def search_frame(
    conn: psycopg.Connection,
    q: PremisesQuery,
    *,
    walk: WalkSettings | None = None,
    everything: bool = False,
    page_size: int = MAX_LIMIT,
) -> SearchResult:
    """Premises matching ``q`` through the fast search (:func:`search_features`) as a
    GeoDataFrame in WGS84, and how many match (flagged when an estimate).

    With ``everything``, every match is read, in pages of ``page_size`` (at most
    :data:`MAX_LIMIT`) from ``q.offset`` on, until the search says none follows (``q.limit`` is
    ignored); the count is then exact.
    """
    if not everything:
        return _result(search_features(conn, q, walk=walk), q)
    page_q = replace(q, limit=page_size)
    frames = []
    while True:
        page = search_features(conn, page_q, walk=walk)
        frames.append(features_frame(page.features_json, q))
        if not page.more or page.number_returned == 0:
            break
        page_q = replace(page_q, offset=page_q.offset + page.number_returned)
    gdf = frames[0]
    if len(frames) > 1:
        gdf = gpd.GeoDataFrame(
            {c: [v for f in frames for v in f[c]] for c in gdf.columns if c != "geometry"},
            geometry=gpd.GeoSeries([g for f in frames for g in f.geometry], crs=WGS84),
            crs=WGS84,
        )
    return SearchResult(gdf, page_q.offset - q.offset + page.number_returned, q)
