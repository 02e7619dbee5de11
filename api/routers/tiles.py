"""OGC API – Tiles under ``/ogc``: vector tiles (Mapbox Vector Tiles) of every collection in the
``WebMercatorQuad`` tile matrix set, their tileset metadata, the tile matrix set, TileJSON.

Thin: :mod:`geoplan.ogc.tiles` decides what a tile holds and builds its one statement; this
module parses the address, runs the statement on the asyncio read pool (the map's hot path,
like the items page) and answers with caching headers:

- ``ETag``: strong, the hash of the tile's bytes, so every worker gives the same tile the same
  tag, and ``If-None-Match`` answers ``304 Not Modified`` without the body;
- ``Cache-Control: public, max-age=GEOPLAN_TILE_MAX_AGE_S`` (60 s): listings change, so clients
  revalidate after a minute instead of keeping a stale tile for hours;
- an empty tile is ``204 No Content`` (OGC API – Tiles 1.0 permits 204 for a tile without
  data inside the tile matrix limits), so clients skip decoding nothing.

Bad addresses are 400 problem+json naming ``tileMatrix``, ``tileRow`` or ``tileCol``; an unknown
collection or tile matrix set is 404 (see ``api/errors.py``).
"""

from __future__ import annotations

import psycopg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from api import warm_tiles
from api.answer_cache import AnswerCache
from api.deps import get_conn, known_lookups, read_connection
from geoplan import ogc, premises
from geoplan.ogc import tiles

JSON = "application/json"
TILE_FILTER_PARAMS = ("filter", "filter-lang")
PLACE_PARAMS = tuple(f.name for f in premises.PLACE_FILTERS)
"""The search's place filters, which premises tiles take as ``/premises`` does."""

router = APIRouter(prefix="/ogc", tags=["OGC API – Tiles"])

_LINKS = {"type": "array", "items": {"type": "object"}}
_OBJECT = {"type": "object", "required": ["links"], "properties": {"links": _LINKS}}


def _ok(schema: dict, description: str, media_type: str = JSON) -> dict:
    return {200: {"description": description, "content": {media_type: {"schema": schema}}}}


def _root(request: Request) -> str:
    """Absolute URL of /ogc: GEOPLAN_PUBLIC_URL behind a proxy, else from the request."""
    public = request.app.state.settings.public_url
    return (public.rstrip("/") if public else str(request.base_url).rstrip("/")) + "/ogc"


def _tileset_url(request: Request, coll: ogc.Collection) -> str:
    return f"{_root(request)}/collections/{coll.id}/tiles/{tiles.TMS_ID}"


def _tms_link(request: Request) -> dict:
    return {
        "href": f"{_root(request)}/tileMatrixSets/{tiles.TMS_ID}",
        "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
        "type": JSON,
        "title": f"The {tiles.TMS_ID} tile matrix set",
    }


def _tile_template_link(request: Request, coll: ogc.Collection) -> dict:
    return {
        "href": _tileset_url(request, coll) + "/{tileMatrix}/{tileRow}/{tileCol}",
        "templated": True,
        "rel": "item",
        "type": tiles.MVT,
        "title": f"{coll.title}: Mapbox Vector Tiles",
    }


def _tileset_layers(layer: tiles.TileLayer) -> list[dict]:
    """The tileset's layers as OGC tileset metadata describes them (clusters and features)."""
    geometry = {"Point": 0, "MultiPolygon": 2}.get(layer.coll.geometry_type, 2)
    if layer.cluster_below is None:
        return [
            {"id": layer.name, "title": layer.coll.title, "dataType": "vector",
             "geometryDimension": geometry, "minTileMatrix": str(tiles.MIN_ZOOM),
             "maxTileMatrix": str(tiles.MAX_ZOOM),
             "propertiesSchema": layer.property_schema(clustered=False)}
        ]  # fmt: skip
    below = layer.cluster_below
    return [
        {"id": layer.name, "title": f"{layer.coll.title}: clusters (count)",
         "description": f"Below tile matrix {below} each of a tile's 16 × 16 cells with "
         "features becomes one point at their mean position, with their count.",
         "dataType": "vector", "geometryDimension": 0, "minTileMatrix": str(tiles.MIN_ZOOM),
         "maxTileMatrix": str(below - 1), "propertiesSchema": layer.property_schema(True)},
        {"id": layer.name, "title": layer.coll.title, "dataType": "vector",
         "geometryDimension": geometry, "minTileMatrix": str(below),
         "maxTileMatrix": str(tiles.MAX_ZOOM),
         "propertiesSchema": layer.property_schema(clustered=False)},
    ]  # fmt: skip


@router.get(
    "/tileMatrixSets",
    summary="Tile matrix sets",
    responses=_ok({"type": "object"}, "The tile matrix sets tiles are offered in."),
)
def tile_matrix_sets(request: Request) -> Response:
    return JSONResponse(
        {
            "tileMatrixSets": [
                {
                    "id": tiles.TMS_ID,
                    "title": "Google Maps Compatible for the World",
                    "uri": tiles.TMS_URI,
                    "links": [{**_tms_link(request), "rel": "self"}],
                }
            ]
        }
    )


@router.get(
    "/tileMatrixSets/{tileMatrixSetId}",
    summary="A tile matrix set definition",
    responses=_ok({"type": "object"}, "The tile matrix set (OGC 2D Tile Matrix Set 2.0, JSON)."),
)
def tile_matrix_set(tileMatrixSetId: str) -> Response:
    tiles.check_tile_matrix_set(tileMatrixSetId)
    return JSONResponse(tiles.tile_matrix_set())


@router.get(
    "/collections/{collection_id}/tiles",
    summary="Vector tilesets of a collection",
    responses=_ok(
        {"type": "object", "required": ["tilesets"],
         "properties": {"tilesets": {"type": "array"}, "links": _LINKS}},
        "The tilesets the collection is offered in.",
    ),
)  # fmt: skip
def tilesets(request: Request, collection_id: str) -> Response:
    layer = tiles.get_tile_layer(collection_id)
    coll = layer.coll
    url = _tileset_url(request, coll)
    return JSONResponse(
        {
            "links": [
                {
                    "href": f"{_root(request)}/collections/{coll.id}/tiles",
                    "rel": "self",
                    "type": JSON,
                    "title": "Tilesets",
                },
                {
                    "href": f"{_root(request)}/collections/{coll.id}",
                    "rel": "collection",
                    "type": JSON,
                    "title": coll.title,
                },
            ],
            "tilesets": [
                {
                    "title": f"{coll.title} ({tiles.TMS_ID})",
                    "dataType": "vector",
                    "crs": tiles.TMS_CRS,
                    "tileMatrixSetURI": tiles.TMS_URI,
                    "links": [
                        {"href": url, "rel": "self", "type": JSON, "title": "Tileset metadata"},
                        _tms_link(request),
                        _tile_template_link(request, coll),
                    ],
                },
            ],
        }  # fmt: skip
    )


@router.get(
    "/collections/{collection_id}/tiles/{tileMatrixSetId}",
    summary="Tileset metadata",
    responses=_ok(_OBJECT, "The tileset: tile matrix set, limits, layers, tile URL template."),
)
def tileset(
    request: Request,
    collection_id: str,
    tileMatrixSetId: str,
    conn: psycopg.Connection = Depends(get_conn),
) -> Response:
    layer = tiles.get_tile_layer(collection_id)
    tiles.check_tile_matrix_set(tileMatrixSetId)
    coll = layer.coll
    url = _tileset_url(request, coll)
    ext = ogc.extent(conn, coll)
    doc = {
        "title": f"{coll.title} ({tiles.TMS_ID})",
        "description": coll.description,
        "dataType": "vector",
        "crs": tiles.TMS_CRS,
        "tileMatrixSetURI": tiles.TMS_URI,
        "links": [
            {"href": url, "rel": "self", "type": JSON, "title": "This tileset"},
            _tms_link(request),
            _tile_template_link(request, coll),
            {
                "href": f"{url}/tilejson.json",
                "rel": "alternate",
                "type": JSON,
                "title": "TileJSON 3.0.0",
            },
            {
                "href": f"{_root(request)}/collections/{coll.id}",
                "rel": "collection",
                "type": JSON,
                "title": coll.title,
            },
        ],  # fmt: skip
        "layers": _tileset_layers(layer),
    }
    if ext.bbox:
        doc["boundingBox"] = {
            "lowerLeft": ext.bbox[:2],
            "upperRight": ext.bbox[2:],
            "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        }
    return JSONResponse(doc)


@router.get(
    "/collections/{collection_id}/tiles/{tileMatrixSetId}/tilejson.json",
    summary="TileJSON of a tileset",
    responses=_ok({"type": "object", "required": ["tilejson", "tiles"]}, "TileJSON 3.0.0."),
)
def tilejson(
    request: Request,
    collection_id: str,
    tileMatrixSetId: str,
    conn: psycopg.Connection = Depends(get_conn),
) -> Response:
    layer = tiles.get_tile_layer(collection_id)
    tiles.check_tile_matrix_set(tileMatrixSetId)
    coll = layer.coll
    ext = ogc.extent(conn, coll)
    bounds = ext.bbox or [-180.0, -85.0511287798066, 180.0, 85.0511287798066]
    layers = [
        {"id": layer.name, "description": coll.title, "fields": layer.fields(clustered=False),
         "minzoom": layer.cluster_below or tiles.MIN_ZOOM, "maxzoom": tiles.MAX_ZOOM}
    ]  # fmt: skip
    if layer.cluster_below is not None:
        layers[0]["description"] += (
            f"; below zoom {layer.cluster_below} clusters with a count attribute"
        )
        layers[0]["fields"] = {**layer.fields(clustered=True), **layers[0]["fields"]}
        layers[0]["minzoom"] = tiles.MIN_ZOOM
    doc = {
        "tilejson": "3.0.0",
        "name": coll.title,
        "description": coll.description,
        "scheme": "xyz",
        "tiles": [_tileset_url(request, coll) + "/{z}/{y}/{x}"],
        "minzoom": tiles.MIN_ZOOM,
        "maxzoom": tiles.MAX_ZOOM,
        "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 12],
        "vector_layers": layers,
    }
    return JSONResponse(doc)


@router.get(
    "/collections/{collection_id}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
    summary="A vector tile",
    description=(
        "A Mapbox Vector Tile of the collection (one layer named after it). `tileMatrix` is the "
        f"zoom ({tiles.MIN_ZOOM}–{tiles.MAX_ZOOM}), `tileRow` the row from the north, `tileCol` "
        "the column from the west (XYZ clients: `{z}/{y}/{x}`). Premises below zoom "
        f"{tiles.CLUSTER_BELOW['premises']} are clusters with a `count`. Every queryable "
        "property works as `?name=value` and `filter` takes CQL2, as on the items page. "
        "An empty tile is 204; `If-None-Match` with the tile's ETag gives 304."
    ),
    response_class=Response,
    responses={
        200: {
            "description": "The tile.",
            "content": {tiles.MVT: {"schema": {"type": "string", "format": "binary"}}},
        },
        204: {"description": "No features in this tile."},
        304: {"description": "Not modified (If-None-Match matched the tile's ETag)."},
    },  # fmt: skip
    openapi_extra={
        "parameters": [
            {
                "name": "filter",
                "in": "query",
                "required": False,
                "description": "CQL2 filter (see filter-lang).",
                "schema": {"type": "string"},
            },
            {
                "name": "filter-lang",
                "in": "query",
                "required": False,
                "description": "cql2-text (default) or cql2-json.",
                "schema": {"type": "string"},
            },
            *(
                {
                    "name": f.name,
                    "in": "query",
                    "required": False,
                    "description": f"Premises only, as on /premises: {f.help}",
                    "schema": {"type": "number" if f.kind is float else "string"},
                }
                for f in premises.PLACE_FILTERS
            ),
        ]
    },  # fmt: skip
)
async def tile(
    request: Request,
    collection_id: str,
    tileMatrixSetId: str,
    tileMatrix: str,
    tileRow: str,
    tileCol: str,
) -> Response:
    layer = tiles.get_tile_layer(collection_id)
    tiles.check_tile_matrix_set(tileMatrixSetId)
    address = tiles.parse_tile(tileMatrix, tileRow, tileCol)
    query = request.query_params
    # a tile made before is sent again while its layer's data version is the same (a warm one
    # already by api/warm_tiles.py, before routing); the key holds the whole query, so only a
    # query that once passed validation is ever found
    cache: AnswerCache = request.app.state.tile_cache
    key = request.scope.get(warm_tiles.LOOKED_UP)
    kept = None
    if key is None:
        key = await warm_tiles.tile_key(cache, request, layer, address)
        kept = cache.get(key)
    if kept is not None:
        data, tag = kept
    else:
        # premises tiles take the search's place filters too (within=, near= + radius_m)
        place = PLACE_PARAMS if layer.name == "premises" else ()
        placed = any(name in query for name in place)
        # the kept lookups' version before the connection: reading it may take one
        known = await known_lookups(request) if placed else None
        async with read_connection(request) as conn:
            condition = None
            if placed:
                q = premises.query_from_params({k: query.getlist(k) for k in place if k in query})
                condition = premises.place_condition(
                    await premises.check_place_async(conn, q, known)
                )
            stmt = tiles.tile_statement(
                layer,
                address,
                filters={
                    k: v for k, v in query.items() if k not in TILE_FILTER_PARAMS and k not in place
                },
                filter=query.get("filter"),
                filter_lang=query.get("filter-lang"),
                condition=condition,
            )
            data = await tiles.query_tile_async(conn, stmt)
        tag = tiles.etag(data)
        cache.put(key, (data, tag), len(data) + 200)
    return warm_tiles.tile_response(
        data, tag, request.app.state.settings.tile_max_age_s, request.headers.get("if-none-match")
    )
