"""What every request gets past before geoplan reads it (issue 14, hostile input).

One pure ASGI middleware (no ``BaseHTTPMiddleware``, which would buffer bodies), registered by
``create_app``. In order, each answered at once with problem+json:

1. **A trusted Host** (400). Links in responses (paging, ``Location``, OGC ``self``) are built
   from the Host header unless ``GEOPLAN_PUBLIC_URL`` says otherwise; an attacker's Host would
   otherwise end up in them (and in caches). Trusted: ``GEOPLAN_TRUSTED_HOSTS`` (``*.kommune.no``
   patterns, ``*`` for any), by default ``GEOPLAN_HOST``, localhost, 127.0.0.1 and ::1 — any
   host when ``GEOPLAN_PUBLIC_URL`` is set and no list is given, since links then come from it.
   ``/healthz`` is exempt: it builds no link, and probes call it by the server's address.
2. **No NUL character** in the path (404: no resource has one) or a query parameter (422, 400
   under ``/ogc``, naming the parameter): PostgreSQL text cannot hold it, and nothing downstream
   (queries, logs) should meet it.
3. **A body only with a key** (401): every route that reads a body is a write that needs an API
   key, so a body without a well-formed ``Authorization: Bearer gp_…`` header is refused before
   a byte of it is read. The key itself is verified against the store by the route's dependency
   (:func:`api.deps.require_scope`), after the body — which step 4 bounds.
4. **A bounded body** (413): a declared ``Content-Length`` over ``GEOPLAN_MAX_BODY_BYTES`` is
   refused unread; a chunked body is counted as it streams and cut off at the limit.

Refusals sent before the body is read carry ``Connection: close``, so the server does not go on
receiving what nobody will read.
"""

from __future__ import annotations

import fnmatch
import socket
from collections.abc import Iterable
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import NO_KEY, UNKNOWN_KEY, unauthorized
from api.errors import BAD_REQUEST_PREFIXES, printable, problem
from geoplan.auth.keys import well_formed
from geoplan.config import Settings

WILDCARD_ADDRESSES = ("0.0.0.0", "::", "")
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
EXEMPT_FROM_HOST_CHECK = ("/healthz",)
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def trusted_hosts(settings: Settings) -> tuple[str, ...] | None:
    """The host-name patterns the Host header may name; None: any (see the module doc)."""
    if settings.trusted_hosts is not None:
        names = tuple(h.strip().lower() for h in settings.trusted_hosts.split(",") if h.strip())
        return None if "*" in names else names
    if settings.public_url:
        return None
    names = [*LOCAL_NAMES]
    if settings.host in WILDCARD_ADDRESSES:  # listening everywhere: the machine's own names
        names += [socket.gethostname().lower(), socket.getfqdn().lower()]
    else:
        names.append(settings.host.lower())
    return tuple(dict.fromkeys(names))


def host_name(value: str) -> str:
    """The host of a Host header, without port or IPv6 brackets, lower case."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class BodyTooLarge(HTTPException):
    """The body grew past the limit while it streamed (FastAPI passes HTTPExceptions raised
    while reading a body through to the problem+json handler)."""


class RequestGuard:
    """The checks of the module doc, before the app sees the request."""

    def __init__(self, app: ASGIApp, *, settings: Settings, open_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.max_body = settings.max_body_bytes
        self.trusted = trusted_hosts(settings)
        self.open_paths = tuple(open_paths)  # bodies without a key allowed (saving a search)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        await self._bounded(scope, receive, send)

    # -- the checks that need no body ----------------------------------------------------------
    def _refusal(self, scope: Scope):  # -> ASGI app | None
        headers = _headers(scope)
        path = scope.get("path", "")
        host = headers.get("host")
        if (
            self.trusted is not None
            and host is not None
            and path not in EXEMPT_FROM_HOST_CHECK
            and not _matches(host_name(host), self.trusted)
        ):
            shown = printable(host, 100)
            return problem(
                400,
                f"untrusted Host header {shown!r}: geoplan builds links from it; the server's "
                "operator can add it to GEOPLAN_TRUSTED_HOSTS or set GEOPLAN_PUBLIC_URL",
                title="Untrusted host",
                errors=[{"field": "host", "message": "not a trusted host name"}],
            )
        if "\x00" in path:
            return problem(404, f"no resource at {printable(path)} (no path holds a NUL)")
        query = scope.get("query_string", b"").decode("latin-1")
        if "%00" in query or "\x00" in query:
            fields = [
                printable(name, 100)
                for name, value in parse_qsl(query, keep_blank_values=True)
                if "\x00" in name or "\x00" in value
            ] or ["query"]
            status = 400 if path.startswith(BAD_REQUEST_PREFIXES) else 422
            return problem(
                status,
                "; ".join(f"{f}: must not contain NUL characters" for f in fields),
                title="Invalid input",
                errors=[{"field": f, "message": "must not contain NUL characters"} for f in fields],
            )
        if scope["method"] in BODY_METHODS and _has_body(headers):
            if not any(path.startswith(p) for p in self.open_paths):
                token = _bearer(headers.get("authorization"))
                if token is None or not well_formed(token):
                    exc = (
                        unauthorized(NO_KEY)
                        if token is None
                        else unauthorized(UNKNOWN_KEY, "invalid_token")
                    )
                    return problem(401, exc.detail, headers={**exc.headers, "Connection": "close"})
            length = headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > self.max_body):
                return self._too_large(close=True)
        return None

    @property
    def _too_large_text(self) -> str:
        return f"the request body is larger than {self.max_body:,} bytes (GEOPLAN_MAX_BODY_BYTES)"

    def _too_large(self, *, close: bool):
        return problem(
            413,
            self._too_large_text,
            title="Content Too Large",
            headers={"Connection": "close"} if close else None,
        )

    # -- a body that streams -------------------------------------------------------------------
    async def _bounded(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge(413, self._too_large_text, {"Connection": "close"})
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            # read outside FastAPI's body handling (which answers it as problem+json itself)
            if started:
                raise
            await self._too_large(close=True)(scope, receive, send)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _has_body(headers: dict[str, str]) -> bool:
    return "transfer-encoding" in headers or headers.get("content-length", "0") not in ("", "0")


def _bearer(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _matches(host: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(host, p) for p in patterns)
