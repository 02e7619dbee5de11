"""OGC API – Features under ``/ogc`` (Part 1 core, Part 2 CRS, Part 3 filtering).

Thin: parameters in, :mod:`geoplan.ogc` does the work, links and media types out. Clients
that only speak the standard — QGIS and GDAL's OAPIF driver, pygeoapi-style scripts — read the
layers through here unchanged. Invalid parameters are 400 problem+json, as the standard asks
(see ``api.errors``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import psycopg
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api import query_params
from api.deps import on_read_connection, read_connection
from api.geojson import FEATURE_COLLECTION_SCHEMA, FEATURE_SCHEMA, GEOJSON, LINKS_SCHEMA
from api.query_params import Param
from api.static_files import static_url
from geoplan import ogc
from geoplan.errors import ValidationError
from geoplan.geo import crs as crs_registry
from geoplan.ogc import tiles as ogc_tiles

JSON = "application/json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
SCHEMA_JSON = "application/schema+json"

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/accent-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    *ogc_tiles.CONFORMANCE,  # vector tiles (api/routers/tiles.py)
]
FORMAT_PARAM = Param(
    "f",
    "Output format: json (default for programs) or html (default for browsers).",
    pattern="^(json|html)$",
)
# The items page's parameters, read by api.query_params (not FastAPI's solver: the hot path)
ITEMS_QUERY = (
    FORMAT_PARAM,
    Param(
        "bbox",
        "minx,miny,maxx,maxy (or 6 values with heights) in bbox-crs (CRS84).",
        max_length=500,
    ),
    Param("bbox-crs", "CRS of bbox."),
    Param("crs", "Output CRS (default CRS84)."),
    Param(
        "limit",
        f"Page size (max {ogc.MAX_LIMIT}; larger values are clamped).",
        integer=True,
        default=ogc.DEFAULT_LIMIT,
        minimum=1,
    ),
    Param(
        "offset",
        "Features to skip.",
        integer=True,
        default=0,
        minimum=0,
        maximum=ogc.MAX_OFFSET,
    ),
    Param("sortby", "e.g. +name,-floor_area_m2", max_length=2000),
    Param("properties", "Comma-separated properties to return."),
    Param(
        "datetime",
        "Features whose temporal property (named in the collection's description; none: the "
        "parameter is ignored) intersects this RFC 3339 instant or interval, `..` for an open "
        "end: `2025-03-01T12:00:00Z`, `2025-03-01/2025-06-30`, `../2025-09-01`. A date is that "
        "whole day in UTC. Features without a value always match.",
        max_length=200,
    ),
    Param(
        "filter",
        "CQL2 filter (see filter-lang). Numbers in it lie within ±1e300, and within the 64-bit "
        "integer range where compared with an integer property; others are a 400.",
    ),
    Param("filter-lang", "cql2-text (default) or cql2-json."),
    Param("filter-crs", "CRS of geometries in the filter (CRS84)."),
)
ITEMS_PARAMS = {p.name for p in ITEMS_QUERY}

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
TEMPLATES.env.globals["static_url"] = static_url  # content-hashed, cached for a year

# -- OpenAPI descriptions of the responses (schemathesis checks responses against them) -------
_LINKS = LINKS_SCHEMA
_FEATURE = FEATURE_SCHEMA
_FEATURE_COLLECTION = FEATURE_COLLECTION_SCHEMA
_OBJECT_WITH_LINKS = {"type": "object", "required": ["links"], "properties": {"links": _LINKS}}
_HTML = {HTML: {"schema": {"type": "string"}}}


def _ok(media_type: str, schema: dict[str, Any], description: str) -> dict[int, Any]:
    return {200: {"description": description, "content": {media_type: {"schema": schema}, **_HTML}}}


router = APIRouter(prefix="/ogc", tags=["OGC API – Features"])

FORMAT = Query(None, description=FORMAT_PARAM.description, pattern=FORMAT_PARAM.pattern)


# -- helpers ----------------------------------------------------------------------------------
def _root(request: Request) -> str:
    """Absolute URL of /ogc: GEOPLAN_PUBLIC_URL behind a proxy, else from the request."""
    public = request.app.state.settings.public_url
    base = public.rstrip("/") if public else str(request.base_url).rstrip("/")
    return base + "/ogc"


def _url_maker(request: Request) -> Callable[..., str]:
    """``here(**params)``: this request's URL (absolute against the public root), with ``params``
    replaced. The query is parsed once, however many links a page carries."""
    public = request.app.state.settings.public_url
    url = request.url
    base = public.rstrip("/") + url.path if public else str(url).split("?", 1)[0]
    query = url.query

    def here(**params: Any) -> str:
        if not params:
            return f"{base}?{query}" if query else base
        items = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in params]
        return f"{base}?{urlencode([*items, *((k, str(v)) for k, v in params.items())])}"

    return here


def _wants_html(request: Request, f: str | None) -> bool:
    if f:
        return f == "html"
    accept = request.headers.get("accept", "")
    return HTML in accept and "json" not in accept.split(HTML)[0]


def _self_links(
    request: Request, html: bool, json_type: str, title: str, here: Callable[..., str] | None = None
) -> list[dict]:
    here = here or _url_maker(request)
    own, other = (HTML, json_type) if html else (json_type, HTML)
    return [
        {"href": here(), "rel": "self", "type": own, "title": title},
        {
            "href": here(f="json" if html else "html"),
            "rel": "alternate",
            "type": other,
            "title": f"{title} as {'JSON' if html else 'HTML'}",
        },
    ]


_HREF_SAFE = ":/?#[]@!$&'()*+,;=%~"  # RFC 3986 characters: kept; anything else is escaped
_HREF_UNSAFE = re.compile(r"[^A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]")


def link_header(links: list[dict]) -> str:
    """The document's links as an RFC 8288 ``Link`` header (OGC /rec/core/link-header).

    Built from the links the page already carries, with ``rel`` and ``type`` (the titles stay
    in the body: most are not ASCII, and a header is read by programs): a few string joins per
    page. An href is percent-escaped only where a client sent characters a URL may not hold
    (``<``, ``>``, spaces, non-ASCII), which the regular expression finds without a copy.
    """
    values = []
    for link in links:
        href = link["href"]
        if _HREF_UNSAFE.search(href):
            href = quote(href, safe=_HREF_SAFE)
        values.append(f'<{href}>; rel="{link["rel"]}"; type="{link["type"]}"')
    return ", ".join(values)


def _render(
    request: Request, template: str, headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request, template, {"root": _root(request), **context}, headers=headers
    )


def _collection_doc(request: Request, conn: psycopg.Connection, coll: ogc.Collection) -> dict:
    root = _root(request)
    ext = ogc.extent(conn, coll)
    url = f"{root}/collections/{coll.id}"
    extent: dict[str, Any] = {
        "spatial": {"bbox": [ext.bbox] if ext.bbox else [], "crs": crs_registry.CRS84}
    }
    description = ogc.describe(conn, coll)
    if coll.temporal:
        # the features' time (OGC Part 1): what datetime= selects on, its span in the data
        extent["temporal"] = {
            "interval": [ext.interval],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
        description += (
            f" Temporal property: {coll.temporal} (datetime= selects on it; features without "
            "a value always match)."
        )
    return {
        "id": coll.id,
        "title": coll.title,
        "description": description,
        "keywords": list(coll.keywords),
        "itemType": "feature",
        "extent": extent,
        "crs": list(crs_registry.SUPPORTED_CRS),
        "storageCrs": crs_registry.STORAGE_CRS,
        "numberOfFeatures": ext.count,
        "links": [
            {"href": url, "rel": "self", "type": JSON, "title": coll.title},
            {"href": f"{url}?f=html", "rel": "alternate", "type": HTML, "title": "as HTML"},
            {"href": f"{url}/items", "rel": "items", "type": GEOJSON, "title": "Features"},
            {
                "href": f"{url}/items?f=html",
                "rel": "items",
                "type": HTML,
                "title": "Features (HTML)",
            },
            {
                "href": f"{url}/queryables",
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "type": SCHEMA_JSON,
                "title": "Queryable properties",
            },
            {
                "href": f"{url}/tiles",
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                "type": JSON,
                "title": "Vector tiles (Mapbox Vector Tiles, WebMercatorQuad)",
            },
        ],
    }


# -- endpoints --------------------------------------------------------------------------------
@router.get(
    "",
    summary="Landing page",
    responses=_ok(JSON, _OBJECT_WITH_LINKS, "The landing page with links to the API."),
)
@router.get("/", include_in_schema=False)  # the same page, not a redirect to it
async def landing(request: Request, f: str | None = FORMAT) -> Response:
    root = _root(request)
    html = _wants_html(request, f)
    place = await on_read_connection(request, ogc.municipality_phrase)
    doc = {
        "title": "geoplan – OGC API – Features",
        "description": "Focus areas, transit hubs, vacant premises (SAMPLE data in the shipped "
        "set), walking catchments and the municipality boundary of "
        f"{place}.",
        "links": [
            *_self_links(request, html, JSON, "This document"),
            {"href": f"{root}/api", "rel": "service-desc", "type": OPENAPI, "title": "OpenAPI"},
            {"href": f"{root}/api?f=html", "rel": "service-doc", "type": HTML, "title": "API docs"},
            {"href": f"{root}/conformance", "rel": "conformance", "type": JSON,
             "title": "Conformance classes"},
            {"href": f"{root}/conformance",
             "rel": "http://www.opengis.net/def/rel/ogc/1.0/conformance", "type": JSON,
             "title": "Conformance classes"},
            {"href": f"{root}/collections", "rel": "data", "type": JSON, "title": "Collections"},
            {"href": f"{root}/collections", "rel": "http://www.opengis.net/def/rel/ogc/1.0/data",
             "type": JSON, "title": "Collections"},
            {"href": f"{root}/tileMatrixSets",
             "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes", "type": JSON,
             "title": "Tile matrix sets"},
        ],
    }  # fmt: skip
    headers = {"Link": link_header(doc["links"])}
    if html:
        return _render(request, "ogc/landing.html", headers, doc=doc, collections=ogc.COLLECTIONS)
    return JSONResponse(doc, headers=headers)


@router.get(
    "/conformance",
    summary="Conformance classes",
    responses=_ok(
        JSON,
        {"type": "object", "required": ["conformsTo"],
         "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}}},
        "The conformance classes this API implements.",
    ),
)  # fmt: skip
def conformance(request: Request, f: str | None = FORMAT) -> Response:
    if _wants_html(request, f):
        return _render(request, "ogc/conformance.html", classes=CONFORMANCE)
    return JSONResponse({"conformsTo": CONFORMANCE})


@router.get(
    "/api",
    summary="The OpenAPI document of the OGC API",
    responses={200: {"description": "OpenAPI 3.0 document",
                     "content": {OPENAPI: {"schema": {"type": "object"}}, **_HTML}}},
)  # fmt: skip
def api_document(request: Request, f: str | None = FORMAT) -> Response:
    if _wants_html(request, f):
        return RedirectResponse(str(request.base_url).rstrip("/") + "/docs", status_code=303)
    doc = ogc_openapi(request)
    return Response(json.dumps(doc).encode(), media_type=OPENAPI)


def ogc_openapi(request: Request) -> dict[str, Any]:
    """The app's OpenAPI document narrowed to /ogc, with the server it is reached at."""
    full = request.app.openapi()
    paths = {p: v for p, v in full["paths"].items() if p == "/ogc" or p.startswith("/ogc/")}
    base = _root(request)[: -len("/ogc")]
    return {
        **full,
        "info": {**full["info"], "title": "geoplan – OGC API – Features"},
        "servers": [{"url": base or "/"}],
        "paths": paths,
    }


@router.get(
    "/collections",
    summary="The feature collections",
    responses=_ok(
        JSON,
        {**_OBJECT_WITH_LINKS, "required": ["links", "collections"],
         "properties": {"links": _LINKS, "collections": {"type": "array"},
                        "crs": {"type": "array", "items": {"type": "string"}}}},
        "All collections with extent, CRS and links.",
    ),
)  # fmt: skip
async def collections(request: Request, f: str | None = FORMAT) -> Response:
    html = _wants_html(request, f)
    docs = await on_read_connection(
        request, lambda conn: [_collection_doc(request, conn, c) for c in ogc.COLLECTIONS.values()]
    )
    doc = {
        "links": _self_links(request, html, JSON, "Collections"),
        "collections": docs,
        "crs": list(crs_registry.SUPPORTED_CRS),
    }
    headers = {"Link": link_header(doc["links"])}
    if html:
        return _render(request, "ogc/collections.html", headers, doc=doc)
    return JSONResponse(doc, headers=headers)


@router.get(
    "/collections/{collection_id}",
    summary="One feature collection",
    responses=_ok(JSON, _OBJECT_WITH_LINKS, "The collection with extent, CRS and links."),
)
async def collection(request: Request, collection_id: str, f: str | None = FORMAT) -> Response:
    coll = ogc.get_collection(collection_id)
    doc = await on_read_connection(request, lambda conn: _collection_doc(request, conn, coll))
    headers = {"Link": link_header(doc["links"])}
    if _wants_html(request, f):
        return _render(request, "ogc/collection.html", headers, doc=doc, coll=coll)
    return JSONResponse(doc, headers=headers)


@router.get(
    "/collections/{collection_id}/queryables",
    summary="Queryable properties (JSON Schema)",
    responses=_ok(SCHEMA_JSON, {"type": "object"}, "JSON Schema of the queryable properties."),
)
def queryables(request: Request, collection_id: str, f: str | None = FORMAT) -> Response:
    coll = ogc.get_collection(collection_id)
    url = f"{_root(request)}/collections/{coll.id}/queryables"
    geometry = {
        "title": "geometry",
        "description": f"The feature's geometry ({coll.geometry_type}).",
        "format": f"geometry-{coll.geometry_type.lower()}",
    }
    props: dict[str, Any] = {
        "id": {"title": "id", "type": coll.id_type, "description": "Feature id."},
        "geometry": geometry,
    }
    props.update({p.name: p.json_schema() for p in coll.queryables})
    if coll.temporal in props:  # OGC API – Features Part 5: the property datetime= selects on
        props[coll.temporal]["x-ogc-role"] = "primary-instant"
    doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": url,
        "type": "object",
        "title": coll.title,
        "description": "Properties usable in filter= (CQL2) and as ?property=value.",
        "properties": props,
        "additionalProperties": False,
    }
    if _wants_html(request, f):
        return _render(request, "ogc/queryables.html", doc=doc, coll=coll)
    return Response(json.dumps(doc).encode(), media_type=SCHEMA_JSON)


@router.get(
    "/collections/{collection_id}/items",
    summary="Features of a collection",
    description=(
        "Paged features. Besides the parameters below, every queryable property works as a "
        "simple filter `?name=value` (for list properties such as `uses`/`use`: contains one of "
        "the comma-separated values). `limit` above 10 000 is clamped to 10 000."
    ),
    responses=_ok(GEOJSON, _FEATURE_COLLECTION, "A GeoJSON FeatureCollection."),
    response_class=Response,
    openapi_extra=query_params.openapi(ITEMS_QUERY),
)
async def items(request: Request, collection_id: str) -> Response:
    # async, parameters read by api.query_params, a connection from the asyncio read pool: the
    # hot path of every map client (one request per tile or pan); see api.database.Server
    coll = ogc.get_collection(collection_id)
    query = request.query_params
    p = query_params.parse(ITEMS_QUERY, query)
    q = ogc.ItemsQuery(
        bbox=_numbers(p["bbox"], "bbox") if p["bbox"] is not None else None,
        bbox_crs=p["bbox-crs"],
        crs=p["crs"],
        limit=p["limit"],
        offset=p["offset"],
        filters={k: v for k, v in query.items() if k not in ITEMS_PARAMS},
        sortby=p["sortby"],
        properties=p["properties"].split(",") if p["properties"] is not None else None,
        filter=p["filter"],
        filter_lang=p["filter-lang"],
        filter_crs=p["filter-crs"],
        datetime=p["datetime"],
    )
    async with read_connection(request) as conn:
        page = await ogc.query_items_async(conn, coll, q)
    html = _wants_html(request, p["f"])
    here = _url_maker(request)
    links = [
        *_self_links(request, html, GEOJSON, f"{coll.title}: features", here),
        {"href": f"{_root(request)}/collections/{coll.id}", "rel": "collection", "type": JSON,
         "title": coll.title},
    ]  # fmt: skip
    more = (
        page.number_matched > page.offset + page.number_returned
        if page.number_matched is not None
        else page.number_returned == page.limit
    )
    own_type = HTML if html else GEOJSON
    if more:
        links.append(
            {"href": here(offset=page.offset + page.limit, limit=page.limit),
             "rel": "next", "type": own_type, "title": "Next page"}
        )  # fmt: skip
    if page.offset > 0:
        links.append(
            {"href": here(offset=max(0, page.offset - page.limit), limit=page.limit),
             "rel": "prev", "type": own_type, "title": "Previous page"}
        )  # fmt: skip
    meta: dict[str, Any] = {"numberReturned": page.number_returned}
    if page.number_matched is not None:
        meta["numberMatched"] = page.number_matched
    meta["timeStamp"] = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    meta["links"] = links
    headers = {"Content-Crs": f"<{page.crs.uri}>", "Link": link_header(links)}
    if html:
        return _render(
            request,
            "ogc/items.html",
            coll=coll,
            meta=meta,
            features=json.loads(page.features_json),
            crs=page.crs,
            headers=headers,
        )
    body = (
        b'{"type":"FeatureCollection","features":'
        + page.features_json
        + b","
        + json.dumps(meta, separators=(",", ":")).encode()[1:]
    )
    return Response(body, media_type=GEOJSON, headers=headers)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    summary="One feature",
    responses=_ok(GEOJSON, _FEATURE, "A GeoJSON Feature."),
    response_class=Response,
)
async def item(
    request: Request,
    collection_id: str,
    feature_id: str,
    f: str | None = FORMAT,
    crs: str | None = Query(None, description="Output CRS (default CRS84)."),
) -> Response:
    coll = ogc.get_collection(collection_id)
    feature = await on_read_connection(request, ogc.get_item, coll, feature_id, crs)
    output_crs = crs_registry.served_crs(crs)
    html = _wants_html(request, f)
    url = f"{_root(request)}/collections/{coll.id}"
    feature["links"] = [
        *_self_links(request, html, GEOJSON, "This feature"),
        {"href": url, "rel": "collection", "type": JSON, "title": coll.title},
    ]
    headers = {"Content-Crs": f"<{output_crs.uri}>", "Link": link_header(feature["links"])}
    if html:
        return _render(request, "ogc/item.html", coll=coll, feature=feature, headers=headers)
    return Response(json.dumps(feature).encode(), media_type=GEOJSON, headers=headers)


def _numbers(text: str, field_name: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise ValidationError(
            f"{field_name} must be comma-separated numbers, not {text!r}", field_name
        ) from None
