"""The feature collections geoplan publishes (OGC API – Features) and how they are queried.

Core, no web code: ``api/routers/ogc.py`` turns HTTP parameters into an :class:`ItemsQuery`, calls
:func:`query_items` and adds links. Everything a client may name — collection, property, sort key,
CQL2 attribute — is looked up in the registry (:mod:`geoplan.ogc.collections`); only registry SQL
reaches the database, and every value a client sends travels as a bound parameter (never
concatenated into SQL). :mod:`geoplan.ogc.items` builds the page statements,
:mod:`geoplan.ogc.cql2` translates filters.

Speed matters (QGIS pans issue one request per tile of screen): PostgreSQL builds the GeoJSON
``features`` array itself (``json_build_object`` + ``ST_AsGeoJSON``) and hands back text that is
passed on as bytes, without a Python round trip through dicts.
"""

from geoplan.ogc.collections import (
    COLLECTIONS,
    COUNT_CAP,
    DEFAULT_LIMIT,
    INTEGER,
    MAX_FILTER_LENGTH,
    MAX_LIMIT,
    MAX_OFFSET,
    Collection,
    Extent,
    Prop,
    describe,
    extent,
    get_collection,
    municipality_phrase,
)
from geoplan.ogc.cql2 import FILTER_LANGS, cql2_to_sql, parse_filter
from geoplan.ogc.items import (
    ItemsPage,
    ItemsQuery,
    PageStatement,
    get_item,
    items_statement,
    query_items,
    query_items_async,
)
from geoplan.ogc.temporal import TimeInterval, parse_datetime

__all__ = [
    "COLLECTIONS",
    "COUNT_CAP",
    "DEFAULT_LIMIT",
    "FILTER_LANGS",
    "INTEGER",
    "MAX_FILTER_LENGTH",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "Collection",
    "Extent",
    "ItemsPage",
    "ItemsQuery",
    "PageStatement",
    "Prop",
    "TimeInterval",
    "cql2_to_sql",
    "describe",
    "extent",
    "get_collection",
    "get_item",
    "items_statement",
    "parse_datetime",
    "municipality_phrase",
    "parse_filter",
    "query_items",
    "query_items_async",
]
