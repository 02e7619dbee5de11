"""HTTP for the open web: CORS on the read routes, compression, security headers, static files."""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import html
import re

import brotli
import pytest
import zstandard
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.routing import Route

from api import http_headers
from api.app import create_app
from api.http_headers import (
    TILE_ORIGINS,
    KeptPageEncodings,
    SecurityHeaders,
    compression,
    content_security_policy,
)
from api.static_files import IMMUTABLE, static_url
from geoplan.config import Settings
from maps.base import BASE_LAYERS

ITEMS = "/ogc/collections/premises/items?limit=45"


def app_with(loaded_db: str, **settings) -> TestClient:
    return TestClient(create_app(Settings(database_url=loaded_db, **settings)))


def directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        out[name] = sources
    return out


# -- CORS -----------------------------------------------------------------------------------------
def test_preflight_of_a_read_route_is_answered_for_any_origin(client):
    r = client.options(
        "/ogc/collections/premises/items",
        headers={
            "Origin": "https://kart.example.no",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"
    assert set(r.headers["access-control-allow-methods"].split(", ")) == {"GET", "HEAD"}
    assert "if-none-match" in r.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in r.headers


@pytest.mark.parametrize(
    "path",
    [
        "/premises?limit=1",
        "/geocode?q=x",
        "/proximity/coverage",
        ITEMS,
        "/ogc",
        "/plans/land-use/premises",
        "/ogc/collections/land_use/items",
        "/ogc/collections/premises/tiles/WebMercatorQuad",
        "/ogc/collections/areas/tiles/WebMercatorQuad/tilejson.json",
        "/ogc/collections/areas/tiles/WebMercatorQuad/10/297/543",
        "/ogc/tileMatrixSets",
    ],
)
def test_reads_carry_cors_headers_and_expose_the_validators(client, path):
    r = client.get(path, headers={"Origin": "https://kart.example.no"})
    assert r.status_code in (200, 204), r.text
    assert r.headers["access-control-allow-origin"] == "*"
    exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
    assert {"etag", "last-modified", "link", "content-crs", "geoplan-lsn"} <= exposed
    assert "access-control-allow-credentials" not in r.headers


def test_a_cross_origin_read_may_say_where_its_write_was(client):
    # Geoplan-LSN: a client's last write position, so a read-replica setup shows it that write
    r = client.options(
        "/ogc/collections/premises/items",
        headers={
            "Origin": "https://kart.example.no",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "geoplan-lsn, if-none-match",
        },
    )
    assert r.status_code == 200
    assert "geoplan-lsn" in r.headers["access-control-allow-headers"].lower()
    r = client.get(ITEMS, headers={"Origin": "https://kart.example.no", "Geoplan-LSN": "0/0"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"


def test_writes_are_never_offered_cross_origin(client, loaded_db):
    # a preflight for a write is refused, so the browser never sends it
    r = client.options(
        "/premises",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert r.status_code == 400
    assert "POST" not in r.headers.get("access-control-allow-methods", "")
    # and a write that arrives anyway (no preflight) gets no CORS approval to read its answer
    r = client.post("/premises", json={}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 401
    assert "access-control-allow-origin" not in r.headers
    # pages and writes elsewhere: no CORS at all
    r = client.options(
        "/maps/overview",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in r.headers


def test_configured_origins_only(loaded_db):
    with app_with(loaded_db, cors_origins="https://www.lorenskog.kommune.no") as c:
        ok = c.get(ITEMS, headers={"Origin": "https://www.lorenskog.kommune.no"})
        other = c.get(ITEMS, headers={"Origin": "https://elsewhere.example"})
        preflight = c.options(
            ITEMS,
            headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"},
        )
    assert ok.headers["access-control-allow-origin"] == "https://www.lorenskog.kommune.no"
    assert "origin" in ok.headers["vary"].lower()
    assert "access-control-allow-origin" not in other.headers
    assert preflight.status_code == 400
    with app_with(loaded_db, cors_origins="") as c:
        r = c.get(ITEMS, headers={"Origin": "https://www.lorenskog.kommune.no"})
    assert "access-control-allow-origin" not in r.headers


def test_bad_origin_settings_are_refused_with_the_variable_named():
    with pytest.raises(ValueError, match="GEOPLAN_CORS_ORIGINS"):
        Settings(cors_origins="https://a.example/path")
    with pytest.raises(ValueError, match="GEOPLAN_FRAME_ANCESTORS"):
        Settings(frame_ancestors="https://a.example; script-src *")


# -- compression ----------------------------------------------------------------------------------
DECODERS = {
    "gzip": gzip.decompress,
    "br": brotli.decompress,
    "zstd": lambda b: zstandard.ZstdDecompressor().decompress(b, max_output_size=10**8),
}


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_items_are_compressed_as_the_client_offers(client, coding):
    plain = client.get(ITEMS, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert "accept-encoding" in plain.headers["vary"].lower()
    packed = client.get(ITEMS, headers={"Accept-Encoding": coding})
    assert packed.headers["content-encoding"] == coding
    wire = int(packed.headers["content-length"])  # the bytes sent (httpx decodes them)
    assert wire * 5 < len(plain.content), (wire, len(plain.content))
    # the same document, timeStamp aside
    a, b = plain.json(), packed.json()
    a.pop("timeStamp"), b.pop("timeStamp")
    assert a == b


def test_the_offer_order_and_threshold(client):
    r = client.get(ITEMS, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert r.headers["content-encoding"] == "zstd"  # the fastest the client offers
    small = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert len(small.content) < 1024 and "content-encoding" not in small.headers
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.headers["content-encoding"] == "gzip"
    assert int(page.headers["content-length"]) * 3 < len(page.content)
    js = client.get("/static/leaflet.js", headers={"Accept-Encoding": "br"})
    assert js.headers["content-encoding"] == "br"
    problem = client.get("/ogc/collections/nope/items", headers={"Accept-Encoding": "gzip"})
    assert problem.status_code == 404  # small problems stay plain


def test_vector_tiles_and_geojson_are_on_the_compressed_list():
    tile = bytes(range(256)) * 8 + b"\x00" * 4096  # compressible like a real tile's repeats

    def endpoint(request):
        kind = request.path_params["kind"]
        media = {"mvt": "application/vnd.mapbox-vector-tile", "png": "image/png"}[kind]
        return Response(tile, media_type=media)

    app = compression(Starlette(routes=[Route("/{kind}", endpoint)]))
    with TestClient(app) as c:
        mvt = c.get("/mvt", headers={"Accept-Encoding": "gzip"})
        png = c.get("/png", headers={"Accept-Encoding": "gzip"})
    assert mvt.headers["content-encoding"] == "gzip" and mvt.content == tile
    assert "content-encoding" not in png.headers  # already compressed formats are left alone


def test_a_map_page_sent_again_is_not_compressed_again(client, monkeypatch):
    # a kept map page goes out in the encoding made the first time (KeptPageEncodings); the
    # policy is still the plain page's, and the tag names the coding
    made: list[str] = []
    for coding, encode in list(http_headers.PAGE_ENCODERS.items()):
        monkeypatch.setitem(
            http_headers.PAGE_ENCODERS, coding, lambda b, c=coding, e=encode: made.append(c) or e(b)
        )
    browser = {"Accept-Encoding": "gzip, deflate, br, zstd"}
    plain = client.get("/maps/premises?use=office", headers={"Accept-Encoding": "identity"})
    first = client.get("/maps/premises?use=office", headers=browser)
    again = client.get("/maps/premises?use=office", headers=browser)
    gzipped = client.get("/maps/premises?use=office", headers={"Accept-Encoding": "gzip"})
    assert made == ["zstd", "gzip"]  # once per coding, not per response
    for r, coding in ((first, "zstd"), (again, "zstd"), (gzipped, "gzip")):
        assert r.status_code == 200 and r.headers["content-encoding"] == coding
        assert r.content == plain.content  # httpx decodes what was sent
        assert int(r.headers["content-length"]) * 3 < len(plain.content)
        assert "accept-encoding" in r.headers["vary"].lower()
        assert r.headers["content-security-policy"] == plain.headers["content-security-policy"]
        assert r.headers["etag"].endswith(f'-{coding}"')
    assert first.headers["etag"] == again.headers["etag"] != plain.headers["etag"]
    revalidated = client.get(
        "/maps/premises?use=office", headers={**browser, "If-None-Match": first.headers["etag"]}
    )
    assert revalidated.status_code == 304 and revalidated.content == b""


def _kept_encodings(pages: dict[str, tuple[bytes, bytes, bool]]):
    """KeptPageEncodings around a toy app: path → (content type, body, streamed in two)."""

    async def app(scope, receive, send):
        media, body, streamed = pages[scope["path"]]
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", media)]})  # fmt: skip
        if streamed:
            await send({"type": "http.response.body", "body": body[:10], "more_body": True})
            body = body[10:]
        await send({"type": "http.response.body", "body": body})

    middleware = KeptPageEncodings(app)

    def get(path: str, accept: str | None) -> tuple[dict[str, str], bytes]:
        sent: list[dict] = []

        async def send(message):
            sent.append(message)

        headers = [(b"accept-encoding", accept.encode())] if accept is not None else []
        scope = {"type": "http", "path": path, "method": "GET", "headers": headers}
        asyncio.run(middleware(scope, None, send))
        body = b"".join(m.get("body", b"") for m in sent[1:])
        return dict(MutableHeaders(raw=sent[0]["headers"])), body

    return get


def test_kept_encodings_follow_the_offer_and_leave_the_rest_to_compression(monkeypatch):
    made: list[str] = []
    encode = http_headers.PAGE_ENCODERS["gzip"]
    monkeypatch.setitem(
        http_headers.PAGE_ENCODERS, "gzip", lambda b: made.append("gzip") or encode(b)
    )
    html_type = b"text/html; charset=utf-8"
    page = b"<html>" + b"<p>ledige lokaler</p>" * 200 + b"</html>"
    pages = {
        "/page": (html_type, page, False),
        "/json": (b"application/json", b"[" + b"1," * 2000 + b"1]", False),
        "/small": (html_type, b"<html></html>", False),
        "/streamed": (html_type, page, True),
    }
    get = _kept_encodings(pages)
    for accept in ("gzip", "zstd;q=0, gzip", "br;q=0, gzip;q=0.5"):
        headers, body = get("/page", accept)
        assert headers["content-encoding"] == "gzip" and gzip.decompress(body) == page
        assert headers["content-length"] == str(len(body))
    assert made == ["gzip"]
    headers, body = get("/page", "zstd")
    assert DECODERS["zstd"](body) == page and headers["content-encoding"] == "zstd"
    for accept in (None, "identity", "gzip;q=0", "compress"):
        headers, body = get("/page", accept)
        assert "content-encoding" not in headers and body == page, accept
    # not an HTML page, too small to gain, or streamed: untouched here (compression's to do)
    for path in ("/json", "/small", "/streamed"):
        headers, body = get(path, "gzip")
        assert "content-encoding" not in headers and body == pages[path][1], path
    # another page with the same path gets its own encoding
    pages["/page"] = (html_type, page.replace(b"ledige", b"utleide"), False)
    headers, body = get("/page", "gzip")
    assert gzip.decompress(body) == pages["/page"][1] and made == ["gzip", "gzip"]


# -- security headers ------------------------------------------------------------------------
def _inline(html: str, tag: str) -> list[str]:
    pattern = rf"<{tag}(?![^>]*\bsrc=)[^>]*>(.*?)</{tag}>"
    return re.findall(pattern, html, re.S | re.I)


def _sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_map_pages_carry_a_policy_allowing_exactly_their_inline_code(client):
    r = client.get("/")
    policy = directives(r.headers["content-security-policy"])
    scripts, styles = _inline(r.text, "script"), _inline(r.text, "style")
    assert len(scripts) >= 5 and len(styles) >= 5
    assert set(policy["script-src"]) == {"'self'", "'unsafe-eval'", *map(_sha, scripts)}
    assert set(policy["style-src"]) == {"'self'", *map(_sha, styles)}
    assert "'unsafe-inline'" not in policy["script-src"] + policy["style-src"]
    assert policy["style-src-attr"] == ["'unsafe-inline'"]
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'self'"]
    # the base-map tiles of every layer of the page
    for url in re.findall(r'L\.tileLayer\(\s*"(https://[^/"]+)', r.text):
        assert url in policy["img-src"], url
    assert {"https://" + u.split("/")[2] for u in BASE_LAYERS.values()} <= set(TILE_ORIGINS)
    assert policy["frame-ancestors"] == ["*"]  # maps are meant to be embedded
    assert "x-frame-options" not in r.headers
    assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_unsafe_eval_only_where_a_script_needs_it():
    page = b"<html><head><script>var a = 1;</script><style>p{}</style></head></html>"
    policy = directives(content_security_policy(page, frame_ancestors=["'self'"]))
    assert policy["script-src"] == ["'self'", _sha("var a = 1;")]
    assert policy["style-src"] == ["'self'", _sha("p{}")]
    # CR LF is hashed as the browser's parser sees it: LF
    crlf = content_security_policy(b"<script>a\r\nb</script>", frame_ancestors=["*"])
    assert _sha("a\nb") in crlf


def test_the_code_of_a_srcdoc_frame_is_hashed_in_the_page_around_it():
    # the assessment report's map is an <iframe srcdoc>, which runs under the report's policy
    inner = "<html><script>var m = 1 && 2;</script><style>p{}</style></html>"
    page = f'<p>x</p><iframe title="kart" srcdoc="{html.escape(inner)}"></iframe>'.encode()
    policy = directives(content_security_policy(page, frame_ancestors=["'self'"]))
    assert policy["script-src"] == ["'self'", _sha("var m = 1 && 2;")]
    assert policy["style-src"] == ["'self'", _sha("p{}")]


def test_other_pages_may_only_be_framed_by_this_site_and_json_is_nosniff(client):
    r = client.get("/ogc/collections/premises/items?f=html")
    policy = directives(r.headers["content-security-policy"])
    assert policy["frame-ancestors"] == ["'self'"] and r.headers["x-frame-options"] == "SAMEORIGIN"
    (script,) = _inline(r.text, "script")
    assert _sha(script) in policy["script-src"]
    j = client.get(ITEMS)
    assert j.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in j.headers


def test_frame_ancestors_follow_the_setting(loaded_db):
    setting = "https://www.lorenskog.kommune.no self"
    with app_with(loaded_db, frame_ancestors=setting) as c:
        r = c.get("/maps/areas/visperud")
    policy = directives(r.headers["content-security-policy"])
    assert policy["frame-ancestors"] == ["https://www.lorenskog.kommune.no", "'self'"]


# -- static files ----------------------------------------------------------------------------
def test_hashed_static_names_are_immutable_and_plain_ones_revalidate(client):
    url = static_url("leaflet.js")
    assert re.fullmatch(r"/static/leaflet\.[0-9a-f]{12}\.js", url)
    hashed = client.get(url)
    plain = client.get("/static/leaflet.js")
    assert hashed.status_code == plain.status_code == 200
    assert hashed.content == plain.content
    assert hashed.headers["cache-control"] == IMMUTABLE
    assert plain.headers["cache-control"] == "no-cache"
    again = client.get("/static/leaflet.js", headers={"If-None-Match": plain.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/static/leaflet.000000000000.js").status_code == 404
    assert client.get("/static/..%2Fassets.000000000000.py").status_code == 404


def test_the_ogc_html_links_the_hashed_libraries(client):
    r = client.get("/ogc/collections/hubs/items?f=html")
    assert static_url("leaflet.js") in r.text and static_url("leaflet.css") in r.text


def test_a_304_has_no_body_and_no_content_encoding(client):
    r = client.get(ITEMS, headers={"Accept-Encoding": "gzip"})
    again = client.get(
        ITEMS, headers={"Accept-Encoding": "gzip", "If-None-Match": r.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    assert "content-encoding" not in again.headers


def test_a_policy_kept_for_a_page_is_that_page_s_own():
    # SecurityHeaders keeps the policies of the pages it sent last (a cached map page is sent
    # again as the same bytes): the same page on a path that may not be framed, or another
    # page on the same path, gets its own
    pages = {
        "/maps/overview": b"<html><script>var a = 1;</script></html>",
        "/ogc": b"<html><script>var a = 1;</script></html>",
    }

    async def app(scope, receive, send):
        page = pages[scope["path"]]
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/html; charset=utf-8")]})  # fmt: skip
        await send({"type": "http.response.body", "body": page})

    middleware = SecurityHeaders(app, Settings(frame_ancestors="https://kommune.example"))

    def policy(path: str) -> dict[str, list[str]]:
        sent: list[dict] = []

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "path": path, "method": "GET", "headers": []}
        asyncio.run(middleware(scope, None, send))
        return directives(dict(MutableHeaders(raw=sent[0]["headers"]))["content-security-policy"])

    for _ in range(2):
        assert policy("/maps/overview")["frame-ancestors"] == ["https://kommune.example"]
        assert policy("/ogc")["frame-ancestors"] == ["'self'"]
        assert policy("/maps/overview")["script-src"] == ["'self'", _sha("var a = 1;")]
    pages["/maps/overview"] = b"<html><script>var b = 2;</script></html>"
    assert policy("/maps/overview")["script-src"] == ["'self'", _sha("var b = 2;")]
