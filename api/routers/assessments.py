"""/assessments: assess a case (write key), fetch it, and its printable HTML report.

Thin: the work is in :mod:`geoplan.assessment`; this router parses, authorises and stores.
Creating an assessment needs an API key with the ``write`` scope (``admin`` includes it), checked
by the same dependency as the premises writes (:func:`api.deps.require_scope`).
"""

from __future__ import annotations

from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from api.deps import app_policy, app_walk, get_conn, get_read_conn, require_scope
from api.layer_models import FiniteFloat, StrictInt
from geoplan.assessment import AssessmentInput, assess, get_assessment, store_assessment
from geoplan.assessment.case import MAX_FLOOR_AREA_M2, MAX_PEOPLE
from geoplan.auth.keys import ApiKey

router = APIRouter(prefix="/assessments", tags=["assessments"])
require_writer = require_scope("write")


def _crs_value(value: Any) -> Any:
    """A CRS is named (``EPSG:25833``) or numbered (``25833``): ``true`` or ``1.5`` is neither
    (parse_crs says which names and numbers it knows)."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str) and len(value) <= 200:
        return value
    raise ValueError("must be a CRS name such as EPSG:25833, or an EPSG code")


class AssessmentRequest(BaseModel):
    """A case to assess. ``site`` is GeoJSON (Point/Polygon/MultiPolygon geometry or Feature);
    its CRS is the GeoJSON ``crs`` member, the ``crs`` field, or WGS84 lon/lat by default."""

    model_config = ConfigDict(
        extra="forbid",  # a misspelt field (`employes`) must not be silently dropped
        json_schema_extra={
            "example": {
                "site": {"type": "Point", "coordinates": [10.9345, 59.934]},
                "use": "office",
                "floor_area_m2": 2500,
                "employees": 120,
            }
        },
    )
    site: dict[str, Any]
    use: Annotated[str, Field(max_length=100, strict=True)]
    floor_area_m2: Annotated[FiniteFloat, Field(gt=0, le=MAX_FLOOR_AREA_M2)]
    employees: Annotated[StrictInt, Field(ge=0, le=MAX_PEOPLE)] | None = None
    daily_visitors: Annotated[StrictInt, Field(ge=0, le=MAX_PEOPLE)] | None = None
    crs: Annotated[str | int | None, BeforeValidator(_crs_value)] = Field(
        default=None, description="e.g. EPSG:25833; default WGS84"
    )


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
    path = request.url_for("read_assessment", case_id=record["id"]).path
    public = request.app.state.settings.public_url
    base = public.rstrip("/") if public else str(request.base_url).rstrip("/")
    response.headers["Location"] = base + path
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
