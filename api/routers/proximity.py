"""``/proximity``: nearest hubs on foot, walking catchments and coverage of vacant premises.

Thin: each endpoint checks nothing itself and calls one function in :mod:`geoplan.proximity`,
whose ``ValidationError(field=...)`` becomes a 422 problem naming the field.
"""

from __future__ import annotations

import psycopg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from api.deps import app_walk, get_conn
from api.geojson import GEOJSON, geojson_responses
from geoplan import proximity
from geoplan.geo import municipalities
from geoplan.proximity import WalkSettings

router = APIRouter(prefix="/proximity", tags=["proximity"])


@router.get("/nearest", summary="The k nearest transit hubs on foot from a point")
def nearest(
    request: Request,
    lon: float = Query(..., description="Longitude (WGS84)", examples=[10.9548]),
    lat: float = Query(..., description="Latitude (WGS84)", examples=[59.9267]),
    k: int = Query(3, description=f"How many hubs (1–{proximity.MAX_K})"),
    conn: psycopg.Connection = Depends(get_conn),
    walk: WalkSettings = Depends(app_walk),
) -> dict:
    """Each hub with straight-line and walking distance, walking minutes and the ``method``
    (``network`` or ``straight_line`` = straight line × detour factor), nearest on foot first."""
    margin_m = request.app.state.settings.region_margin_m
    return proximity.nearest_report(conn, lon, lat, k, walk=walk, margin_m=margin_m)


@router.get(
    "/catchments",
    summary="Walking catchments of hubs as GeoJSON (WGS84)",
    response_class=JSONResponse,
    responses=geojson_responses("Catchment polygons with hub, minutes and method."),
)
def catchments(
    hub: str | None = Query(None, description="Hub id; all hubs when omitted"),
    minutes: float | None = Query(
        None, description="Walking minutes; stored for 5, 10 and 15, others computed on demand"
    ),
    conn: psycopg.Connection = Depends(get_conn),
    walk: WalkSettings = Depends(app_walk),
) -> JSONResponse:
    fc = proximity.catchments_geojson(conn, hub, minutes, walk=walk)
    return JSONResponse(fc, media_type=GEOJSON)


@router.get("/coverage", summary="Vacant premises within 5/10/15 min walk of hubs, per area")
def coverage(
    conn: psycopg.Connection = Depends(get_conn),
    walk: WalkSettings = Depends(app_walk),
    kommune: list[str] | None = Query(
        None,
        description="Only these municipalities' premises and focus areas (kommunenummer); "
        "repeat or comma-separate for several; default: everything in the store",
    ),
) -> dict:
    kommuner = municipalities.scope(conn, kommune)
    return proximity.coverage_report(conn, walk=walk, kommuner=kommuner)
