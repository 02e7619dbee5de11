"""/assessments: assess a case (write key), fetch it, and its printable HTML report.

Thin: the work is in :mod:`geoplan.assessment`; this router parses, authorises and stores.
Creating an assessment needs an API key with the ``write`` scope (``admin`` includes it), checked
as for the premises writes (:func:`api.deps.authorize`), on the connection the case is then
assessed and stored on — key check, assessment, commit and give-back in one thread-pool
crossing (:func:`api.deps.on_primary`); the reads likewise (:func:`api.deps.on_read_connection`).
"""

from __future__ import annotations

from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Request, Response, Security
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from api.deps import (
    app_policy,
    app_walk,
    authorize,
    bearer_scheme,
    on_primary,
    on_read_connection,
)
from api.layer_models import FiniteFloat, StrictInt
from geoplan.assessment import AssessmentInput, assess, get_assessment, store_assessment
from geoplan.assessment.case import MAX_FLOOR_AREA_M2, MAX_PEOPLE
from geoplan.assessment.policy import Policy
from geoplan.proximity import WalkSettings

router = APIRouter(prefix="/assessments", tags=["assessments"])


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
async def create_assessment(
    body: AssessmentRequest,
    request: Request,
    response: Response,
    credentials: HTTPAuthorizationCredentials | None = Security(bearer_scheme),
) -> dict[str, Any]:
    record = await on_primary(
        request,
        _assess_and_store,
        credentials,
        AssessmentInput(**body.model_dump()),
        app_policy(request),
        app_walk(request),
    )
    path = request.url_for("read_assessment", case_id=record["id"]).path
    public = request.app.state.settings.public_url
    base = public.rstrip("/") if public else str(request.base_url).rstrip("/")
    response.headers["Location"] = base + path
    return record


def _assess_and_store(
    conn: psycopg.Connection,
    credentials: HTTPAuthorizationCredentials | None,
    case: AssessmentInput,
    policy: Policy,
    walk: WalkSettings,
) -> dict[str, Any]:
    key = authorize(conn, credentials, "write")
    result = assess(conn, case, policy, walk=walk)
    return store_assessment(conn, result, created_by=key.name)


@router.get("/{case_id}", summary="A stored assessment")
async def read_assessment(case_id: str, request: Request) -> dict[str, Any]:
    return await on_read_connection(request, get_assessment, case_id)


@router.get(
    "/{case_id}/report",
    response_class=HTMLResponse,
    summary="Printable HTML report: verdict, reasons with citations, facts and map",
)
async def assessment_report(case_id: str, request: Request) -> HTMLResponse:
    html = await on_read_connection(
        request, _report, case_id, app_policy(request), app_walk(request)
    )
    return HTMLResponse(html)


def _report(conn: psycopg.Connection, case_id: str, policy: Policy, walk: WalkSettings) -> str:
    from maps.assessment import assessment_report_html

    record = get_assessment(conn, case_id)
    return assessment_report_html(conn, record, policy=policy, walk=walk)
