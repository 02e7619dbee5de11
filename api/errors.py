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
from fastapi.responses import JSONResponse, Response
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.admission import ClientGoneError, OverloadedError
from geoplan.errors import GeoplanError, NotFoundError, ValidationError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("geoplan.api")

BAD_REQUEST_PREFIXES = ("/ogc",)
"""Paths whose invalid parameters are 400, not 422: OGC API – Features requires 400."""

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": ["string", "null"]},
                    "message": {"type": "string"},
                },
            },
        },
    },
}


def _invalid_status(request: Request) -> int:
    path = request.url.path
    return 400 if any(path == p or path.startswith(p + "/") for p in BAD_REQUEST_PREFIXES) else 422


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
            {
                # a body that is not JSON at all is located at a character offset: name the body
                "field": "body" if e.get("type") == "json_invalid" else _field(e.get("loc", ())),
                "message": e.get("msg", ""),
            }
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(_invalid_status(request), detail, title="Invalid input", errors=errors)

    @app.exception_handler(ValidationError)
    async def geoplan_validation(request: Request, exc: ValidationError) -> JSONResponse:
        return problem(_invalid_status(request), str(exc), title="Invalid input", errors=exc.errors)

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return problem(404, str(exc))

    @app.exception_handler(OverloadedError)
    async def overloaded(request: Request, exc: OverloadedError) -> JSONResponse:
        return problem(503, str(exc), headers={"Retry-After": str(exc.retry_after_s)})

    @app.exception_handler(ClientGoneError)
    async def client_gone(request: Request, exc: ClientGoneError) -> Response:
        return Response(status_code=499)  # nginx's "client closed request": nobody reads it

    @app.exception_handler(PoolTimeout)
    async def pool_busy(request: Request, exc: PoolTimeout) -> JSONResponse:
        retry = str(request.app.state.admission.retry_after_s)
        return problem(
            503,
            "the server is busy (no database connection free); try again shortly",
            headers={"Retry-After": retry},
        )

    @app.exception_handler(GeoplanError)
    async def geoplan_error(request: Request, exc: GeoplanError) -> JSONResponse:
        return problem(400, str(exc))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "An unexpected error occurred; it has been logged.")

    install_openapi(app)


def install_openapi(app: FastAPI) -> None:
    """Document what the handlers above really send: problem+json for every error status.

    FastAPI's generated document says 422 is ``application/json`` ``{"detail": [...]}``; the
    handlers send RFC 9457 problems instead, so each operation's 422 is rewritten and a
    ``default`` problem response covers 400/401/403/404/409/412 alike. Clients (and the
    schemathesis run in the tests) then see a document that matches the responses.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = generate()
        problem_response = {
            "description": "Problem (RFC 9457)",
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        doc.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        for path, operations in doc.get("paths", {}).items():
            for operation in operations.values():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                responses = operation["responses"]
                if "422" in responses:
                    bad = "400" if path.startswith(BAD_REQUEST_PREFIXES) else "422"
                    responses.pop("422")
                    responses[bad] = {**problem_response, "description": "Invalid input"}
                responses.setdefault("default", problem_response)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
