"""``/premises``: search vacant premises (open) and keep the register current (API key).

Thin: each route turns HTTP into a call to :mod:`geoplan.premises` and back. Writes commit
before the response is sent, so a 2xx means the change is stored. Optimistic locking: every
record has a ``version``; responses carry it as ``ETag: W/"<version>"`` and a write with
``If-Match`` naming an older version gets 412. ``If-Match`` is optional (a write without it
overwrites); weak tags are accepted because the tag is the record's version number.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import psycopg
from fastapi import APIRouter, Body, Depends, Header, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from api import search_filters
from api.deps import (
    app_walk,
    get_conn,
    kept_counts,
    known_lookups,
    on_read_connection,
    read_connection,
    require_scope,
)
from api.errors import PROBLEM_JSON, PROBLEM_SCHEMA
from api.layer_models import FiniteFloat, request_model, response_model
from geoplan import premises as core
from geoplan.auth.keys import ApiKey
from geoplan.errors import ValidationError
from geoplan.geo.geojson import feature_collection
from geoplan.layers.spec import PREMISES
from geoplan.proximity import WalkSettings

router = APIRouter(prefix="/premises", tags=["premises"])
require_writer = require_scope("write")

GEOJSON = "application/geo+json"
PremisesId = Annotated[str, Path(max_length=200, description="Premises id, e.g. `p-1a2b3c4d5e6f`")]


class GeoJSONDoc(JSONResponse):
    """Declares ``application/geo+json`` JSON bodies in OpenAPI (``response_class``)."""

    media_type = GEOJSON


class GeoJSONResponse(Response):
    """A GeoJSON body that is already serialised (built in SQL or by ``json.dumps``)."""

    media_type = GEOJSON


# -- documented problem responses ---------------------------------------------------------------
_PROBLEM_TEXT = {
    400: "The body is not valid JSON",
    401: "No API key, or an unknown or revoked one (`WWW-Authenticate: Bearer`)",
    403: "The API key lacks the scope this needs (`write`; `admin` to set `verified: true`), "
    "or the listing is not the key's own: a key changes only the listings it created, unless "
    "it has the `admin` scope",
    404: "No premises with this id",
    412: "`If-Match` names an older version: someone changed the record since you read it",
    422: "Invalid input; `errors` names each bad field",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for RFC 9457 problem bodies with these status codes."""
    return {
        code: {
            "description": _PROBLEM_TEXT[code],
            "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}},
        }
        for code in codes
    }


# -- bodies -------------------------------------------------------------------------------------
class PointGeometry(BaseModel):
    """A GeoJSON Point; WGS84 lon/lat unless a CRS is given (``crs`` member or query)."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["Point"]
    coordinates: list[FiniteFloat] = Field(min_length=2, max_length=3)


class NamedCrsProperties(BaseModel):
    name: str = Field(max_length=200, examples=["urn:ogc:def:crs:EPSG::25833"])


class NamedCrs(BaseModel):
    """The (pre-RFC 7946) GeoJSON ``crs`` member, e.g. ``{"type":"name","properties":{...}}``."""

    type: Literal["name"]
    properties: NamedCrsProperties


READ_ONLY = set(PREMISES.read_only)
"""Properties geoplan keeps itself; ignored in bodies so a fetched feature can be sent back."""


class _PropertiesBase(BaseModel):
    """Unknown properties are rejected (a typo must not be silently dropped); the read-only
    ones geoplan returns are accepted and ignored."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _drop_read_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if k not in READ_ONLY}
        return data

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        schema = handler(core_schema)
        schema = handler.resolve_ref_schema(schema)
        for name in sorted(READ_ONLY):
            schema.setdefault("properties", {})[name] = {
                "readOnly": True,
                "description": "Kept by geoplan; ignored when sent.",
            }
        return schema


# The listing's properties, generated from the premises layer's description.
PremisesProperties = request_model(
    "PremisesProperties",
    PREMISES,
    partial=False,
    base=_PropertiesBase,
    doc="A complete listing (POST, PUT). Fields left out of a PUT are cleared.",
)
PremisesPatchProperties = request_model(
    "PremisesPatchProperties",
    PREMISES,
    partial=True,
    base=_PropertiesBase,
    doc="Only the fields to change (PATCH).",
)


class PremisesFeatureIn(BaseModel):
    """A GeoJSON Feature describing one premises listing. Without a geometry (``null`` or
    left out) it is placed at its ``address`` when that names exactly one address in the
    loaded register (``geoplan import-addresses``); otherwise 422 naming ``address`` with the
    candidates."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["Feature"]
    geometry: PointGeometry | None = None
    properties: PremisesProperties
    crs: NamedCrs | None = None


class PremisesPatchIn(BaseModel):
    """A partial Feature: any of ``geometry`` and ``properties`` members to change."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["Feature"] | None = None
    geometry: PointGeometry | None = None
    properties: PremisesPatchProperties | None = None
    crs: NamedCrs | None = None


# -- responses ----------------------------------------------------------------------------------
PremisesOutProperties = create_model(
    "PremisesOutProperties",
    __base__=response_model("PremisesOutProperties", PREMISES),
    distance_m=(
        float | None,
        Field(
            None,
            description="Only in a search sorted by distance (`sort=distance`, which needs "
            "`near`): metres on the ground from the `near` point, to 0.1 m",
        ),
    ),
)


class PointOut(BaseModel):
    type: Literal["Point"]
    coordinates: list[float]


class PremisesFeature(BaseModel):
    type: Literal["Feature"]
    id: str
    geometry: PointOut
    properties: PremisesOutProperties


class Link(BaseModel):
    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class PremisesCollection(BaseModel):
    type: Literal["FeatureCollection"]
    numberMatched: int = Field(
        description=f"How many premises match: exact up to {core.COUNT_CAP}, else the "
        "database's estimate (then `numberMatchedEstimated` is true)"
    )
    numberMatchedEstimated: bool = Field(
        False,
        description=f"Present, and true, only when more than {core.COUNT_CAP} premises match: "
        "`numberMatched` is then an estimate",
    )
    numberReturned: int
    timeStamp: datetime
    links: list[Link]
    features: list[PremisesFeature]


class HistoryEntry(BaseModel):
    id: int
    action: str = Field(description="create | update | withdraw")
    actor: str | None
    at: datetime
    before: dict[str, Any] | None = Field(description="The record before (null on create)")
    after: dict[str, Any] | None


class PremisesHistory(BaseModel):
    premises_id: str
    history: list[HistoryEntry]


# -- helpers ------------------------------------------------------------------------------------
def _etag(record: dict[str, Any]) -> str:
    return f'W/"{record["version"]}"'


_ETAG = re.compile(r'^\s*(?:W/)?"(\d{1,18})"\s*$')


def expected_version(if_match: str | None) -> int | None:
    """The version an ``If-Match`` header demands (None: no header or ``*``).

    A header that names no version of ours (garbage, several tags) can never match: -1.
    """
    if if_match is None or if_match.strip() == "*":
        return None
    m = _ETAG.match(if_match)
    return int(m.group(1)) if m else -1


def _feature_response(record: dict[str, Any], status_code: int = 200, **headers: str) -> Response:
    body = json.dumps(core.to_feature(record), default=str, ensure_ascii=False)
    return GeoJSONResponse(
        body, status_code=status_code, headers={"ETag": _etag(record), **headers}
    )


def _crs(body_crs: NamedCrs | None, query_crs: str | None) -> str | None:
    if body_crs and query_crs and body_crs.properties.name != query_crs:
        raise ValidationError("the body's crs member and the crs parameter disagree", "crs")
    return body_crs.properties.name if body_crs else query_crs


def _base_url(request: Request) -> str:
    public = request.app.state.settings.public_url
    return public.rstrip("/") if public else str(request.base_url).rstrip("/")


_ETAG_HEADER = {
    "ETag": {"description": 'The record\'s version, `W/"<n>"`', "schema": {"type": "string"}}
}
# Optional parameters typed ``str`` (default None), not ``str | None``: a nullable schema
# invites clients and fuzzers to send the literal text "null".
QueryCrs = Annotated[
    str,
    Query(
        max_length=200,
        description="CRS of the body's coordinates when the Feature has no `crs` member, e.g. "
        "`http://www.opengis.net/def/crs/EPSG/0/25833` or `EPSG:25833` (default: WGS84 lon/lat)",
    ),
]
IfMatch = Annotated[
    str,
    Header(
        max_length=200,
        pattern=r'^\s*(\*|(W/)?"[0-9]{1,18}")\s*$',
        description='Optional: the ETag you read (`W/"3"`). If the record changed since, 412.',
    ),
]


# -- routes -------------------------------------------------------------------------------------
@router.get(
    "",
    summary="Search vacant premises",
    response_class=GeoJSONDoc,
    responses={200: {"model": PremisesCollection}, **problems(422)},
    openapi_extra=search_filters.openapi(),
)
async def search_premises(request: Request) -> Response:
    # The query parameters are the search filters, declared once in geoplan.premises.query
    # and read by geoplan's own parser (api/search_filters.py says why not FastAPI's).
    q = search_filters.premises_query(request)
    # async: a search is checked (its lookups too) and answered on the asyncio read pool, like
    # the OGC items page; one naming hub computes its walks on the primary, in one
    # worker-thread crossing.
    walk = app_walk(request)
    if core.answered_async(q):
        # the kept lookups' version before the connection: reading it may take one
        known, counts = await known_lookups(request), kept_counts(request)
        async with read_connection(request) as aconn:
            await core.check_query_async(aconn, q, known=known)
            page = await core.search_features_async(aconn, q, walk=walk, counts=counts)
    else:
        page = await on_read_connection(request, _search_features, q, walk, primary=bool(q.hub))
    base = _base_url(request) + request.url.path

    def href(new_offset: int) -> str:
        query = request.url.include_query_params(offset=new_offset).query
        return f"{base}?{query}"

    links = [{"href": href(q.offset), "rel": "self", "type": GEOJSON, "title": "this page"}]
    if page.more:
        links.append({"href": href(q.offset + q.limit), "rel": "next", "type": GEOJSON})
    if q.offset > 0:
        links.append({"href": href(max(0, q.offset - q.limit)), "rel": "prev", "type": GEOJSON})
    estimated = {} if page.number_matched_exact else {"numberMatchedEstimated": True}
    return GeoJSONResponse(
        feature_collection(
            page.features_json,
            numberMatched=page.number_matched,
            **estimated,
            numberReturned=page.number_returned,
            timeStamp=datetime.now(UTC).isoformat(timespec="seconds"),
            links=links,
        )
    )


def _search_features(
    conn: psycopg.Connection, q: core.PremisesQuery, walk: WalkSettings
) -> core.FeaturePage:
    return core.search_features(conn, core.check_query(conn, q), walk=walk)


@router.get(
    "/{premises_id}",
    summary="One premises (ETag = its version)",
    response_class=GeoJSONDoc,
    responses={200: {"model": PremisesFeature, "headers": _ETAG_HEADER}, **problems(404, 422)},
)
async def get_premises(premises_id: PremisesId, request: Request) -> Response:
    return _feature_response(await on_read_connection(request, core.get, premises_id))


@router.get(
    "/{premises_id}/history",
    summary="Every change to a premises: who, when, before and after",
    response_model=PremisesHistory,
    responses=problems(404, 422),
)
async def get_history(premises_id: PremisesId, request: Request) -> PremisesHistory:
    entries = await on_read_connection(request, core.history, premises_id)
    return PremisesHistory(premises_id=premises_id, history=[HistoryEntry(**e) for e in entries])


@router.post(
    "",
    status_code=201,
    summary="Add a premises listing (API key with `write` scope)",
    response_class=GeoJSONDoc,
    responses={
        201: {
            "model": PremisesFeature,
            "headers": {
                **_ETAG_HEADER,
                "Location": {"description": "URL of the new record", "schema": {"type": "string"}},
            },
        },
        **problems(400, 401, 403, 422),
    },
)
def create_premises(
    request: Request,
    feature: Annotated[PremisesFeatureIn, Body()],
    crs: QueryCrs = None,
    key: ApiKey = Depends(require_writer),
    conn: psycopg.Connection = Depends(get_conn),
) -> Response:
    data: dict[str, Any] = feature.properties.model_dump(exclude_unset=True)
    data["geometry"] = feature.geometry.model_dump() if feature.geometry else None
    data["crs"] = _crs(feature.crs, crs)
    data = _verification(data, key)
    record = core.create(
        conn, data, _actor(key), source=core.default_source(key.name), owner=key.id
    )
    conn.commit()
    location = f"{_base_url(request)}/premises/{record['id']}"
    return _feature_response(record, 201, Location=location)


def _actor(key: ApiKey) -> str:
    # migration premises_owner read the owners of earlier listings back from this text
    return f"{key.name} (API key #{key.id})"


def editor(key: ApiKey) -> core.Editor:
    """The key as the register's ownership rule sees it: its id, and whether it is admin."""
    return core.Editor(key.id, admin=key.allows("admin"))


def _verification(data: dict[str, Any], key: ApiKey) -> dict[str, Any]:
    """Only the municipality (``admin`` keys) vouches for a listing.

    ``verified: true`` from a ``write`` key is refused (403); a listing a ``write`` key creates
    is unverified, and any change by one clears ``verified`` (``core.update(unverify=...)``),
    because the changed record is no longer the one that was checked.
    """
    if key.allows("admin"):
        return data
    if data.get("verified") is True:
        raise HTTPException(403, "only keys with the 'admin' scope may mark premises verified")
    return data | {"verified": False}


_WRITE_RESPONSES = {
    200: {"model": PremisesFeature, "headers": _ETAG_HEADER},
    **problems(400, 401, 403, 404, 412, 422),
}


def _update(
    conn: psycopg.Connection,
    premises_id: str,
    data: dict[str, Any],
    key: ApiKey,
    if_match: str | None,
    *,
    partial: bool,
) -> Response:
    """PUT and PATCH differ only in ``partial``: one write path (a stale ``If-Match`` raises
    :class:`~geoplan.premises.StaleVersionError`, answered 412 by ``api/errors.py``). A write
    that changes nothing answers the record as it is, version unchanged."""
    admin = key.allows("admin")
    _verification(data, key)  # refuses verified: true from a write key
    record = core.update(
        conn,
        premises_id,
        data,
        _actor(key),
        expected_version(if_match),
        partial=partial,
        source=core.default_source(key.name),
        unverify=not admin,
        editor=editor(key),
    )
    conn.commit()
    return _feature_response(record)


@router.put(
    "/{premises_id}",
    summary="Replace a premises listing (fields left out are cleared)",
    response_class=GeoJSONDoc,
    responses=_WRITE_RESPONSES,
)
def replace_premises(
    premises_id: PremisesId,
    feature: Annotated[PremisesFeatureIn, Body()],
    crs: QueryCrs = None,
    if_match: IfMatch = None,
    key: ApiKey = Depends(require_writer),
    conn: psycopg.Connection = Depends(get_conn),
) -> Response:
    data: dict[str, Any] = feature.properties.model_dump(exclude_unset=True)
    data["geometry"] = feature.geometry.model_dump() if feature.geometry else None
    data["crs"] = _crs(feature.crs, crs)
    return _update(conn, premises_id, data, key, if_match, partial=False)


@router.patch(
    "/{premises_id}",
    summary="Change some fields of a premises listing",
    response_class=GeoJSONDoc,
    responses=_WRITE_RESPONSES,
)
def patch_premises(
    premises_id: PremisesId,
    patch: Annotated[PremisesPatchIn, Body()],
    crs: QueryCrs = None,
    if_match: IfMatch = None,
    key: ApiKey = Depends(require_writer),
    conn: psycopg.Connection = Depends(get_conn),
) -> Response:
    data: dict[str, Any] = (
        patch.properties.model_dump(exclude_unset=True) if patch.properties else {}
    )
    if patch.geometry is not None:
        data["geometry"] = patch.geometry.model_dump()
        data["crs"] = _crs(patch.crs, crs)
    return _update(conn, premises_id, data, key, if_match, partial=True)


@router.delete(
    "/{premises_id}",
    summary="Withdraw a premises listing (kept, with its history)",
    response_class=GeoJSONDoc,
    responses=_WRITE_RESPONSES,
)
def withdraw_premises(
    premises_id: PremisesId,
    if_match: IfMatch = None,
    key: ApiKey = Depends(require_writer),
    conn: psycopg.Connection = Depends(get_conn),
) -> Response:
    record = core.withdraw(
        conn, premises_id, _actor(key), expected_version(if_match), editor=editor(key)
    )
    conn.commit()
    return _feature_response(record)
