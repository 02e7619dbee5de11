"""HTTP for the open web: CORS on the read routes, compression, and security headers on pages.

Four ASGI middlewares, registered in ``api/app.py`` one line each (outermost last):

* :class:`ReadCors` — a web map on another origin (the municipality's site, a MapLibre or
  OpenLayers app) may read the public read routes: ``GET``/``HEAD`` and their preflight, for
  the origins in ``GEOPLAN_CORS_ORIGINS`` (``*`` by default: every read is anonymous).
  Credentials are never allowed cross-origin, and no write method is ever offered, so a page on
  another origin cannot write with a user's key.
* :func:`compression` — zstd, brotli or gzip (whichever the client offers, in that order) for
  JSON, GeoJSON, HTML, CSS, JS and vector tiles above :data:`MINIMUM_SIZE` bytes, by
  `starlette-compress <https://pypi.org/project/starlette-compress/>`_.
* :class:`KeptPageEncodings` — an HTML page sent again (a map page from the page cache) is sent
  in the encoding it was compressed to the first time, not compressed again.
* :class:`SecurityHeaders` — ``X-Content-Type-Options: nosniff`` on every response; on HTML a
  ``Content-Security-Policy`` that allows exactly what the page uses, ``Referrer-Policy`` and
  ``frame-ancestors`` (the map pages: ``GEOPLAN_FRAME_ANCESTORS``; every other page: this site
  only).

The policy's inline scripts and styles are allowed by their SHA-256 hashes, computed from the
page as rendered — no ``'unsafe-inline'`` for either. Hashes, not nonces: a page revalidated
with 304 keeps its cached body, which a nonce of the new response would no longer match. What
the hashes cannot tell apart is a ``<script>`` element written into the page's own markup —
which is why every value a page shows is escaped where it is written (``maps.base.esc``,
JSON-in-script escaping); against everything else (event-handler attributes, ``javascript:``
links, markup inserted by scripts such as popups, scripts from other origins) the policy holds.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import brotli
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette_compress import CompressMiddleware, add_compress_type, parse_accept_encoding
from zstandard import ZstdCompressor

from geoplan.config import Settings
from maps.base import BASE_LAYERS

# -- CORS ---------------------------------------------------------------------------------------
READ_PREFIXES = ("/ogc", "/premises", "/geocode", "/proximity", "/plans")
"""Path prefixes of the public read routes (each also matches its sub-paths; the vector tiles
and tile matrix sets are under ``/ogc``)."""

READ_METHODS = ("GET", "HEAD")
CORS_REQUEST_HEADERS = ("If-None-Match", "If-Modified-Since", "Geoplan-LSN")
"""Request headers a cross-origin script may send besides the CORS-safelisted ones (validators,
and the position of its own last write so a read-replica setup shows it that write:
:mod:`api.consistency`)."""
CORS_EXPOSED_HEADERS = (
    "ETag",
    "Last-Modified",
    "Link",
    "Content-Crs",
    "Retry-After",
    "Geoplan-LSN",
)
"""Response headers a cross-origin script may read besides the safelisted ones (paging links,
the CRS of the coordinates, validators, the write position)."""
CORS_MAX_AGE_S = 3600


def _is_read_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in READ_PREFIXES)


class ReadCors:
    """Starlette's CORS middleware, applied to reads of the public read routes only.

    Preflights for a read route are answered (200 for ``GET``/``HEAD`` from an allowed origin,
    400 otherwise); a preflight elsewhere, or asking for another method, gets no CORS approval,
    so the browser never sends the request. Responses to writes carry no CORS headers.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        origins = settings.cors_origin_list
        self.cors = (
            CORSMiddleware(
                app,
                allow_origins=origins,
                allow_methods=READ_METHODS,
                allow_headers=CORS_REQUEST_HEADERS,
                allow_credentials=False,
                expose_headers=CORS_EXPOSED_HEADERS,
                max_age=CORS_MAX_AGE_S,
            )
            if origins
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.cors is not None
            and scope["type"] == "http"
            and scope["method"] in ("GET", "HEAD", "OPTIONS")
            and _is_read_path(scope["path"])
            # a request without Origin is not cross-origin (QGIS, curl, same-site pages)
            and any(name == b"origin" for name, _ in scope["headers"])
        ):
            await self.cors(scope, receive, send)
            return
        await self.app(scope, receive, send)


# -- compression --------------------------------------------------------------------------------
MINIMUM_SIZE = 1024
"""Bodies smaller than this go uncompressed (the headers would eat the gain)."""

for _type in (
    "application/problem+json",
    "application/schema+json",
    "application/vnd.oai.openapi+json",
    "application/geo+json",
    "application/vnd.mapbox-vector-tile",
):
    add_compress_type(_type)


ZSTD_LEVEL, BROTLI_QUALITY, GZIP_LEVEL = 3, 2, 3
"""The fast end of each codec, for bodies made per request. Measured on an 81 KB items page of
100 premises (``bench.api``'s): zstd 3 ≈ 45 µs → 5.0 KB, brotli 2 ≈ 85 µs → 5.0 KB, gzip 3
≈ 80 µs → 6.0 KB; gzip 4 (zlib's first "lazy" level, the library default) took ≈ 260 µs for
5.8 KB, brotli 4 ≈ 165 µs for 4.8 KB — three times the CPU of the rest of the page's answer
in the worker for a few hundred bytes."""


def compression(app: ASGIApp) -> CompressMiddleware:
    """zstd, brotli or gzip, chosen in that order among what the client accepts. Already
    encoded bodies, 304s and unlisted media types are passed through."""
    return CompressMiddleware(
        app,
        minimum_size=MINIMUM_SIZE,
        zstd_level=ZSTD_LEVEL,
        brotli_quality=BROTLI_QUALITY,
        gzip_level=GZIP_LEVEL,
    )


PAGE_ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "zstd": lambda body: ZstdCompressor(level=ZSTD_LEVEL).compress(body),
    "br": lambda body: brotli.compress(body, quality=BROTLI_QUALITY),
    "gzip": lambda body: gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0),
}
"""The codings :class:`KeptPageEncodings` keeps, in the order :func:`compression` prefers them,
at the same levels."""

PAGES_ENCODED = 16
"""How many pages :class:`KeptPageEncodings` keeps the encodings of (the pages sent last)."""


class KeptPageEncodings:
    """An HTML page is compressed once per coding, not once per response.

    Why: a map page is a large HTML document (its layers inline), kept by the page cache and
    sent again as the same bytes — and every browser asks for it compressed. Compressing it
    again for every response cost the event loop more than everything else about sending a
    kept page (docs/api.md, "Compression").

    Register between :func:`compression` (outside: it passes an encoded body through) and
    :class:`SecurityHeaders` (inside: its policy is computed from the page's text). The
    encodings of the :data:`PAGES_ENCODED` pages sent last are kept by page — a kept page is the
    same bytes object each time, so finding it is an identity check; a page rebuilt with the
    same bytes finds them too. Other responses, and a page streamed in several messages, are
    left to :func:`compression`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._encoded: OrderedDict[bytes, dict[str, bytes]] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        held: tuple[Message, str] | None = None  # a page's start, and the coding it gets

        async def send_encoded(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                # the offer is read only for a page: every other response is compression's
                if message["status"] == 200 and _plain_html(message):
                    coding = _page_coding(scope)
                    if coding is not None:
                        held = (message, coding)  # until the page is seen whole
                        return
                await send(message)
            elif held is not None and message["type"] == "http.response.body":
                (pending, coding), held = held, None
                page = message.get("body", b"")
                if message.get("more_body", False) or len(page) < MINIMUM_SIZE:
                    await send(pending)
                    await send(message)
                    return
                body = self._encoding(page, coding)
                headers = MutableHeaders(scope=pending)
                headers["Content-Encoding"] = coding
                headers["Content-Length"] = str(len(body))
                headers.add_vary_header("Accept-Encoding")
                await send(pending)
                await send({"type": "http.response.body", "body": body})
            else:
                await send(message)

        await self.app(scope, receive, send_encoded)

    def _encoding(self, page: bytes, coding: str) -> bytes:
        encodings = self._encoded.get(page)
        if encodings is None:
            encodings = self._encoded[page] = {}
            while len(self._encoded) > PAGES_ENCODED:
                self._encoded.popitem(last=False)
        else:
            self._encoded.move_to_end(page)
        body = encodings.get(coding)
        if body is None:
            body = encodings[coding] = PAGE_ENCODERS[coding](page)
        return body


def _page_coding(scope: Scope) -> str | None:
    """The coding a page asked for by ``scope`` gets (:func:`compression`'s choice), None:
    identity."""
    offered = [v.decode("latin-1") for k, v in scope["headers"] if k == b"accept-encoding"]
    if not offered:
        return None
    accepted = parse_accept_encoding(",".join(offered))
    return next((coding for coding in PAGE_ENCODERS if coding in accepted), None)


def _plain_html(start: Message) -> bool:
    """An HTML response not encoded yet."""
    html_page = False
    for name, value in start["headers"]:
        name = name.lower()
        if name == b"content-encoding":
            return False
        if name == b"content-type":
            html_page = value.startswith(b"text/html")
    return html_page


# -- security headers -----------------------------------------------------------------------------
EMBEDDABLE = re.compile(r"/|/maps/overview|/maps/premises(/[^/]+)?|/maps/areas/[^/]+")
"""The pages other sites may frame (``GEOPLAN_FRAME_ANCESTORS``); every other page: only this
site."""

DOCS_PATHS = ("/docs", "/redoc")
DOCS_SOURCES = {
    # FastAPI's interactive docs load Swagger UI / ReDoc from a CDN
    "script-src": ("https://cdn.jsdelivr.net",),
    "style-src": ("https://cdn.jsdelivr.net", "https://fonts.googleapis.com"),
    "img-src": ("https://fastapi.tiangolo.com", "https://cdn.redoc.ly"),
    "font-src": ("https://fonts.gstatic.com",),
    "worker-src": ("blob:",),
}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


TILE_ORIGINS: tuple[str, ...] = tuple(
    sorted({_origin(u) for u in BASE_LAYERS.values()} | {"https://tile.openstreetmap.org"})
)
"""Where the maps' base-map tiles come from (Kartverket's cache, OpenStreetMap)."""

REFERRER_POLICY = "strict-origin-when-cross-origin"
_INLINE = re.compile(rb"<(script|style)\b([^>]*)>(.*?)</\1\s*>", re.S | re.I)
_SRC = re.compile(rb"\bsrc\s*=", re.I)
_SRCDOC = re.compile(rb"<iframe\b[^>]*?\bsrcdoc\s*=\s*(['\"])(.*?)\1", re.S | re.I)
_EVAL = b"new Function("


def _hash(text: bytes) -> str:
    # the HTML parser turns CR LF and CR into LF before the browser hashes an element's text
    text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return "'sha256-" + base64.b64encode(hashlib.sha256(text).digest()).decode("ascii") + "'"


def _inline_elements(page: bytes) -> Iterator[re.Match[bytes]]:
    """The page's ``<script>`` and ``<style>`` elements, and those of the documents in its
    ``<iframe srcdoc>`` attributes (the assessment report's map): a srcdoc document runs under
    the policy of the page around it, so its inline code needs its hashes there."""
    yield from _INLINE.finditer(page)
    for m in _SRCDOC.finditer(page):
        inner = html.unescape(m.group(2).decode("utf-8")).encode("utf-8")
        yield from _INLINE.finditer(inner)


POLICIES_KEPT = 16
"""How many pages' policies :class:`SecurityHeaders` keeps (it holds the pages as their keys:
at most this many besides those the page cache holds anyway)."""


def content_security_policy(
    page: bytes,
    *,
    frame_ancestors: list[str],
    form_origins: tuple[str, ...] = (),
    extra: dict[str, tuple[str, ...]] | None = None,
) -> str:
    """The policy of one HTML page: its own inline scripts and styles by hash, scripts,
    styles, fonts and data from this site, images from here, ``data:`` and the tile servers.

    ``'unsafe-eval'`` only when an inline script builds functions from strings (leaflet-measure
    compiles its lodash templates with ``new Function``). Style *attributes* are allowed
    (``style-src-attr 'unsafe-inline'``): Leaflet, folium and the popups write them, and they
    cannot run script; ``<style>`` elements need their hash like scripts.
    """
    scripts: dict[str, None] = {}
    styles: dict[str, None] = {}
    needs_eval = False
    for m in _inline_elements(page):
        kind, attributes, text = m.group(1).lower(), m.group(2), m.group(3)
        if kind == b"script":
            if _SRC.search(attributes):
                continue  # an external script: allowed by its origin (self), not by hash
            scripts[_hash(text)] = None
            needs_eval = needs_eval or _EVAL in text
        else:
            styles[_hash(text)] = None
    extra = extra or {}
    directives: dict[str, list[str]] = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *scripts, *(["'unsafe-eval'"] if needs_eval else [])],
        "style-src": ["'self'", *styles],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *TILE_ORIGINS],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'", *form_origins],
        "frame-ancestors": list(frame_ancestors),
    }
    for name, sources in extra.items():
        directives.setdefault(name, ["'self'"]).extend(sources)
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


class SecurityHeaders:
    """``nosniff`` everywhere; CSP, ``Referrer-Policy`` and framing rules on HTML.

    Register inside the compression middleware: the policy is computed from the page's text.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.embedders = settings.frame_ancestor_list
        public = settings.public_url
        self.form_origins = (_origin(public),) if public else ()
        # the policies of the pages sent last, by page: a map page from the page cache is the
        # same bytes object every time (its hash computed once, compared by identity), and
        # finding its inline elements took ≈ 80 % of the time of sending it again
        self._policies: OrderedDict[tuple[bytes, bool, bool], str] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def send_with_headers(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = message["headers"]
                if not isinstance(headers, list):
                    headers = message["headers"] = list(headers)
                html = nosniff = False
                for name, value in headers:  # raw: this runs for every response
                    name = name.lower()
                    if name == b"content-type":
                        html = value.startswith(b"text/html")
                    elif name == b"x-content-type-options":
                        nosniff = True
                if not nosniff:
                    headers.append((b"x-content-type-options", b"nosniff"))
                if html:
                    start = message  # held back until the page is complete
                    return
                await send(message)
            elif start is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                page = b"".join(chunks)
                self._add_page_headers(MutableHeaders(scope=start), scope["path"], page)
                await send(start)
                await send({"type": "http.response.body", "body": page})
            else:
                await send(message)

        await self.app(scope, receive, send_with_headers)

    def _add_page_headers(self, headers: MutableHeaders, path: str, page: bytes) -> None:
        embeddable = bool(EMBEDDABLE.fullmatch(path))
        docs = path in DOCS_PATHS
        key = (page, embeddable, docs)
        policy = self._policies.get(key)
        if policy is None:
            policy = content_security_policy(
                page,
                frame_ancestors=self.embedders if embeddable else ["'self'"],
                form_origins=self.form_origins,
                extra=DOCS_SOURCES if docs else None,
            )
            self._policies[key] = policy
            while len(self._policies) > POLICIES_KEPT:
                self._policies.popitem(last=False)
        else:
            self._policies.move_to_end(key)
        headers["Content-Security-Policy"] = policy
        headers.setdefault("Referrer-Policy", REFERRER_POLICY)
        if not embeddable:
            headers.setdefault("X-Frame-Options", "SAMEORIGIN")
