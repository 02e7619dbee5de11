"""Every error response is RFC 9457 ``application/problem+json``.

Validation errors carry an ``errors`` list with one ``{"field", "message"}`` entry per bad
field, so a client (or a person) sees exactly what to fix. Unexpected exceptions become a
generic 500 problem without internals; they are logged server-side.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from geoplan.errors import GeoplanError, NotFoundError, ValidationError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("geoplan.api")


def problem(
    status: int,
    detail: str | None = None,
    *,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[-1] if loc else "")


def install(app: FastAPI) -> None:
    """Register the problem+json handlers on ``app``."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else None
        errors = exc.detail if isinstance(exc.detail, list) else None
        return problem(exc.status_code, detail, errors=errors, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field(e.get("loc", ())), "message": e.get("msg", "")} for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, detail, title="Invalid input", errors=errors)

    @app.exception_handler(ValidationError)
    async def geoplan_validation(request: Request, exc: ValidationError) -> JSONResponse:
        return problem(422, str(exc), title="Invalid input", errors=exc.errors)

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return problem(404, str(exc))

    @app.exception_handler(GeoplanError)
    async def geoplan_error(request: Request, exc: GeoplanError) -> JSONResponse:
        return problem(400, str(exc))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "An unexpected error occurred; it has been logged.")
