"""/assessments: assess a case (write key), fetch it, and its printable HTML report.

Thin: the work is in :mod:`geoplan.assessment`; this router parses, authorises and stores.

``require_write_key`` is a minimal local dependency so this branch stays independent of the
shared API-key work (``api/deps.py`` + ``geoplan/keys.py``); at merge it should be replaced by the
shared write-key dependency.
"""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from api.deps import get_conn
from geoplan.assessment import AssessmentInput, assess, get_assessment, store_assessment

router = APIRouter(prefix="/assessments", tags=["assessments"])


def require_write_key(request: Request, conn: psycopg.Connection = Depends(get_conn)) -> str:
    """The name of the API key in ``Authorization: Bearer <key>``; 401 unless a live write key."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="geoplan"'}
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            401, "a write API key is required (Authorization: Bearer <key>)", headers=challenge
        )
    digest = hashlib.sha256(token.strip().encode()).hexdigest()
    row = conn.execute(
        "SELECT name FROM api_keys WHERE key_hash = %s AND revoked_at IS NULL "
        "AND scope IN ('write', 'admin')",
        (digest,),
    ).fetchone()
    if row is None:
        raise HTTPException(401, "the API key is unknown or revoked", headers=challenge)
    return row[0]


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
    key_name: str = Depends(require_write_key),
    conn: psycopg.Connection = Depends(get_conn),
) -> dict[str, Any]:
    result = assess(conn, AssessmentInput(**body.model_dump()))
    record = store_assessment(conn, result, created_by=key_name)
    conn.commit()
    response.headers["Location"] = str(request.url_for("read_assessment", case_id=record["id"]))
    return record


@router.get("/{case_id}", summary="A stored assessment")
def read_assessment(case_id: str, conn: psycopg.Connection = Depends(get_conn)) -> dict[str, Any]:
    return get_assessment(conn, case_id)


@router.get(
    "/{case_id}/report",
    response_class=HTMLResponse,
    summary="Printable HTML report: verdict, reasons with citations, facts and map",
)
def assessment_report(case_id: str, conn: psycopg.Connection = Depends(get_conn)) -> HTMLResponse:
    from maps.assessment import assessment_report_html

    return HTMLResponse(assessment_report_html(conn, get_assessment(conn, case_id)))
