"""GeoJSON media type and the OpenAPI schemas of Features and FeatureCollections.

Shared by every router that answers ``application/geo+json``, so the OpenAPI document describes
what is actually sent (schemathesis checks responses against it).
"""

from __future__ import annotations

from typing import Any

GEOJSON = "application/geo+json"

LINK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["href"],
    "properties": {
        "href": {"type": "string"},
        "rel": {"type": "string"},
        "type": {"type": "string"},
        "title": {"type": "string"},
    },
}
LINKS_SCHEMA: dict[str, Any] = {"type": "array", "items": LINK_SCHEMA}
FEATURE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "geometry", "properties"],
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"type": ["string", "integer"]},
        "geometry": {"type": ["object", "null"]},
        "properties": {"type": ["object", "null"]},
        "links": LINKS_SCHEMA,
    },
}
FEATURE_COLLECTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": FEATURE_SCHEMA},
        "numberMatched": {"type": "integer", "minimum": 0},
        "numberReturned": {"type": "integer", "minimum": 0},
        "timeStamp": {"type": "string", "format": "date-time"},
        "links": LINKS_SCHEMA,
    },
}


def geojson_responses(
    description: str, schema: dict[str, Any] = FEATURE_COLLECTION_SCHEMA, status: int = 200
) -> dict[int | str, Any]:
    """The ``responses=`` entry for a route that answers GeoJSON."""
    return {status: {"description": description, "content": {GEOJSON: {"schema": schema}}}}
