"""Every error response is RFC 9457 ``application/problem+json``, chosen in ONE table.

:data:`PROBLEMS` maps each error class (geoplan's own, and psycopg's outage errors) to its
status, title and the headers or members its answer carries; :func:`install` registers one
handler for all of them, so routers catch no domain errors. A class not in the table is
answered as its nearest base class in it (the MRO), an unknown exception as a generic 500.

Validation errors carry an ``errors`` list with one ``{"field", "message"}`` entry per bad
field, so a client (or a person) sees exactly what to fix. Server-side faults (5xx) never show
their message, which may name files, hosts or internals; they are logged server-side.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.admission import ClientGoneError, OverloadedError
from api.database import DatabaseDownError
from geoplan.assessment.policy import NoPolicyError, PolicyError
from geoplan.errors import GeoplanError, NotFoundError, ValidationError
from geoplan.geo.region import NoBoundaryError
from geoplan.premises import NotOwnerError, StaleVersionError
from geoplan.store.cluster import LocalDBError
from geoplan.store.db import DatabaseError, DatabaseUnavailableError

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
                    "candidates": {
                        "type": "array",
                        "items": {"type": "object"},
                        "description": "An address that names no single address in the "
                        "register: what it may mean, best first (as GET /geocode lists them)",
                    },
                },
            },
        },
    },
}


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def printable(text: str, limit: int = 200) -> str:
    """``text`` safe for a log line or a message: control characters escaped (a NUL or a line
    break from a URL never reaches the log raw), length cut."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text[:limit])


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
    problem_type: str = "about:blank",
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem_type,
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


@dataclass(frozen=True)
class Problem:
    """How one error class is answered.

    ``detail`` None sends the exception's message; a text replaces it (server-side faults,
    whose message is logged instead). ``headers`` and ``members`` add what the status needs
    from the exception (412: the current version as ``ETag`` and ``current_version``).
    """

    status: int
    title: str | None = None  # None: the status phrase ("Not Found")
    type: str = "about:blank"  # RFC 9457: the status says it all; a URI once a type needs one
    detail: str | None = None
    headers: Callable[[Any], dict[str, str]] | None = None
    members: Callable[[Any], dict[str, Any]] | None = None
    logged: bool = True  # False for answers given thousands of times a second under overload


SERVER_FAULT = "An unexpected error occurred; it has been logged."
_INVALID_INPUT = Problem(422, "Invalid input", members=lambda exc: {"errors": exc.errors})
_DATABASE_UNAVAILABLE = Problem(
    503,
    detail="The database is not reachable right now; try again shortly.",
    headers=lambda exc: {"Retry-After": str(DatabaseUnavailableError.retry_after_s)},
)

PROBLEMS: dict[type[BaseException], Problem] = {
    ValidationError: _INVALID_INPUT,  # 400 under BAD_REQUEST_PREFIXES (the OGC API)
    NotFoundError: Problem(404),
    # a key that is not admin, changing a listing it did not create (geoplan.premises.register)
    NotOwnerError: Problem(403, "Not your listing"),
    StaleVersionError: Problem(
        412,
        "Precondition Failed",
        headers=lambda exc: {"ETag": f'W/"{exc.current}"'},
        members=lambda exc: {"current_version": exc.current},
    ),
    # the server's own policy file is wrong: not the client's input (a ValidationError for
    # `geoplan assess --check-policy`, which names the key)
    PolicyError: Problem(500, detail=SERVER_FAULT),
    # the site lies in a served municipality the loaded policy is not for: the store's state,
    # not the request's form, stands in the way, and no verdict is invented
    NoPolicyError: Problem(409, "No assessment policy for this municipality"),
    # the municipality is not loaded yet: the service cannot answer until `geoplan load`
    NoBoundaryError: Problem(503),
    DatabaseUnavailableError: _DATABASE_UNAVAILABLE,
    # refused at once while the database is known to be down: its outage is logged once
    # (api/database.py), not once per request
    DatabaseDownError: Problem(
        503,
        detail=_DATABASE_UNAVAILABLE.detail,
        headers=_DATABASE_UNAVAILABLE.headers,
        logged=False,
    ),
    # more requests than the server can serve in time (api/admission.py): turned away at once
    OverloadedError: Problem(
        503, headers=lambda exc: {"Retry-After": str(exc.retry_after_s)}, logged=False
    ),
    # the client left while its request waited: nobody reads the answer (nginx's 499)
    ClientGoneError: Problem(499, "Client Closed Request", logged=False),
    # psycopg's own word for an outage: a refused or lost connection, the pool's PoolTimeout
    psycopg.OperationalError: _DATABASE_UNAVAILABLE,
    DatabaseError: Problem(500, detail=SERVER_FAULT),  # the store is not set up
    LocalDBError: Problem(500, detail=SERVER_FAULT),  # the managed cluster did not start
    GeoplanError: Problem(400),  # input or environment; a subclass without its own row
    Exception: Problem(500, detail=SERVER_FAULT),  # a bug
}
"""Error class → answer, most specific first (lookups follow the exception's MRO)."""


def problem_for(exc: BaseException) -> Problem:
    """The :data:`PROBLEMS` row of ``exc``: its class's, else its nearest base class's."""
    for cls in type(exc).__mro__:
        if cls in PROBLEMS:
            return PROBLEMS[cls]
    return PROBLEMS[Exception]


def error_response(request: Request, exc: BaseException) -> JSONResponse:
    """The problem+json answer to ``exc`` as :data:`PROBLEMS` says."""
    row = problem_for(exc)
    status = row.status
    if status == 422 and _invalid_status(request) == 400:
        status = 400  # OGC API – Features requires 400 for invalid parameters
    path = printable(request.url.path)
    if row.logged and status == 503:
        log.warning("unavailable on %s %s: %s", request.method, path, printable(str(exc), 500))
    elif row.logged and status >= 500:
        log.error("unhandled error on %s %s", request.method, path, exc_info=exc)
    return problem(
        status,
        str(exc) if row.detail is None else row.detail,
        title=row.title,
        headers=row.headers(exc) if row.headers else None,
        problem_type=row.type,
        **(row.members(exc) if row.members else {}),
    )


def install(app: FastAPI) -> None:
    """Register the problem+json handlers on ``app``: the framework's own errors, and one
    handler for every class in :data:`PROBLEMS`."""

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

    async def domain_error(request: Request, exc: Exception) -> JSONResponse:
        return error_response(request, exc)

    for cls in PROBLEMS:
        app.add_exception_handler(cls, domain_error)

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
