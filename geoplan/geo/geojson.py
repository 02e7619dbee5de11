"""A GeoJSON FeatureCollection around a features array that is already serialised.

PostgreSQL builds pages of features as one JSON array (``json_agg``), so the fast path never
parses them in Python: the collection's own members are serialised here and the array is spliced
in as text. ``GET /premises`` and ``geoplan premises search --format geojson`` both wrap their
page with :func:`feature_collection`, so the two print the same document shape.
"""

from __future__ import annotations

import json
from typing import Any


def feature_collection(features_json: str, **members: Any) -> str:
    """``{"type": "FeatureCollection", <members>, "features": <features_json>}`` as text.

    ``features_json`` must be a JSON array of Features (it is inserted as is, not checked);
    ``members`` (``numberMatched``, ``links``, ...) keep their order and come before
    ``"features"``, so the counts are at the top of a long document. Non-ASCII text
    (Lørenskog) stays readable rather than ``\\u00f8``-escaped.
    """
    head = json.dumps({"type": "FeatureCollection", **members}, ensure_ascii=False)
    return f'{head[:-1]}, "features": {features_json}}}'
