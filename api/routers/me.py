"""``/me``: the API key sending the request, and the listings it created.

What the broker page (``/megler``) signs in with and lists; any client can use it the same way.
A key sees its own listings (withdrawn ones too, so a broker can put one back on the market);
an admin key may ask for every listing (``all=true``). The listings themselves are public
(``GET /premises/{id}``): this only answers "which are mine", the question the ownership rule
of :mod:`geoplan.premises.register` turns on.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.deps import get_conn
from api.routers.premises import (
    GeoJSONDoc,
    GeoJSONResponse,
    PremisesFeature,
    editor,
    problems,
    require_writer,
)
from geoplan import premises as core
from geoplan.auth.keys import ApiKey, key_names

router = APIRouter(prefix="/me", tags=["premises"])


class KeyInfo(BaseModel):
    """The key a request is signed with (never the key itself)."""

    id: int
    name: str = Field(description="Who holds the key")
    scope: str = Field(description="`write` or `admin`")
    admin: bool = Field(description="Whether the key may change every listing and verify them")
    prefix: str = Field(description="The key's first characters, to recognise it in a list")


class Owner(BaseModel):
    key_id: int
    name: str


class MyListing(PremisesFeature):
    owner: Owner | None = Field(
        description="The key that created the listing; null: no known owner (admin keys only)"
    )
    mine: bool = Field(description="Whether the requesting key created it")


class MyListings(BaseModel):
    type: str = "FeatureCollection"
    numberMatched: int
    numberReturned: int
    features: list[MyListing]


@router.get(
    "",
    summary="The API key sending the request (sign-in check)",
    response_model=KeyInfo,
    responses=problems(401, 403),
)
def whoami(key: ApiKey = Depends(require_writer)) -> KeyInfo:
    return KeyInfo(
        id=key.id, name=key.name, scope=key.scope, admin=key.allows("admin"), prefix=key.prefix
    )


@router.get(
    "/premises",
    summary="The listings this key created, newest change first (admin: every listing)",
    response_class=GeoJSONDoc,
    responses={200: {"model": MyListings}, **problems(401, 403, 422)},
)
def my_premises(
    everyone: Annotated[
        bool,
        Query(
            alias="all",
            description="Every listing, whoever created it (admin keys only; else 403)",
        ),
    ] = False,
    q: Annotated[
        str,
        Query(max_length=200, description="Only listings whose address contains this, or this id"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=core.MAX_LISTINGS_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    key: ApiKey = Depends(require_writer),
    conn: psycopg.Connection = Depends(get_conn),
) -> Response:
    me = editor(key)
    if everyone and not me.admin:
        raise HTTPException(403, "only keys with the 'admin' scope may list every listing")
    total, rows = core.listings(conn, key.id, everyone=everyone, q=q, limit=limit, offset=offset)
    names = key_names(conn, {owner for _, owner in rows if owner is not None})
    features: list[dict[str, Any]] = []
    for record, owner in rows:
        feature = core.to_feature(record)
        feature["owner"] = None if owner is None else {"key_id": owner, "name": names[owner]}
        feature["mine"] = owner == key.id
        features.append(feature)
    body = {
        "type": "FeatureCollection",
        "numberMatched": total,
        "numberReturned": len(features),
        "features": features,
    }
    return GeoJSONResponse(json.dumps(body, default=str, ensure_ascii=False))
