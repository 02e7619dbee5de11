"""/assessments: assess a case (write key), fetch it, and its printable HTML report.

Thin: the work is in :mod:`geoplan.assessment`; this router parses, authorises and stores.
Creating an assessment needs an API key with the ``write`` scope (``admin`` includes it), checked
by the same dependency as the premises writes (:func:`api.deps.require_scope`).
"""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import app_policy, app_walk, get_conn, get_read_conn, require_scope
from geoplan.assessment import AssessmentInput, assess, get_assessment, store_assessment
from geoplan.auth.keys import ApiKey

router = APIRouter(prefix="/assessments", tags=["assessments"])
require_writer = require_scope("write")


class AssessmentRequest(BaseModel):
    """A case to assess. ``site`` is GeoJSON (Point/Polygon/MultiPolygon geometry or Feature);
    its CRS is the GeoJSON ``crs`` member, the ``crs`` field, or WGS84 lon/lat by default."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "site": {"type": "Point", "coordinates": [10.9345, 59.934]},
                "use": "office",
                "floor_area_m2": 2500,
                "employees": 120,
            }
        }
    )
    site: dict[str, Any]
    use: str
    floor_area_m2: float
    employees: int | None = None
    daily_visitors: int | None = None
    crs: str | int | None = Field(default=None, description="e.g. EPSG:25833; default WGS84")


@router.post("", status_code=201, summary="Assess and store a case")
def create_assessment(
    body: AssessmentRequest,
    request: Request,
    response: Response,
    key: ApiKey = Depends(require_writer),
    conn: psycopg.Connection = Depends(get_conn),
) -> dict[str, Any]:
    result = assess(
        conn, AssessmentInput(**body.model_dump()), app_policy(request), walk=app_walk(request)
    )
    record = store_assessment(conn, result, created_by=key.name)
    conn.commit()
    response.headers["Location"] = str(request.url_for("read_assessment", case_id=record["id"]))
    return record


@router.get("/{case_id}", summary="A stored assessment")
def read_assessment(
    case_id: str, conn: psycopg.Connection = Depends(get_read_conn)
) -> dict[str, Any]:
    return get_assessment(conn, case_id)


@router.get(
    "/{case_id}/report",
    response_class=HTMLResponse,
    summary="Printable HTML report: verdict, reasons with citations, facts and map",
)
def assessment_report(
    case_id: str, request: Request, conn: psycopg.Connection = Depends(get_read_conn)
) -> HTMLResponse:
    from maps.assessment import assessment_report_html

    record = get_assessment(conn, case_id)
    return HTMLResponse(
        assessment_report_html(conn, record, policy=app_policy(request), walk=app_walk(request))
    )
