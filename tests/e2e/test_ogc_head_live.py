"""HEAD through a real uvicorn: the same status and headers as GET, no body, and the kept-alive
connection stays usable (a server expecting the announced Content-Length of body would hang or
break the next request on it)."""

from __future__ import annotations

import httpx

from tests.conftest import free_port
from tests.e2e.live_server import live_server

URLS = (
    "/ogc",
    "/ogc/",
    "/ogc/collections",
    "/ogc/collections/premises/items?limit=50",
    "/ogc/collections/premises/items?limit=5&f=html",
    "/ogc/collections/premises/items/sample-001",
    "/ogc/collections/nope",
    "/healthz",
    "/maps/overview",
)


def test_head_over_http_matches_get_on_one_connection(loaded_db: str) -> None:
    with live_server(loaded_db, free_port()) as base, httpx.Client(base_url=base, timeout=10) as c:
        plain, gz = {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip"}
        for url in URLS:
            # uncompressed: httpx decodes compressed bodies, so len(content) is the wire length
            # only of an identity body
            get = c.get(url, headers=plain)
            head = c.head(url, headers=plain)
            assert head.status_code == get.status_code, url
            assert head.content == b"", url
            assert head.headers["content-length"] == str(len(get.content)), url
            assert head.headers["content-type"] == get.headers["content-type"], url
            assert head.headers.get("link") == get.headers.get("link"), url
            # compressed (issue 17): the HEAD announces the coded length, and nothing follows
            get, head = c.get(url, headers=gz), c.head(url, headers=gz)
            assert head.status_code == get.status_code and head.content == b"", url
            for name in ("content-encoding", "content-type", "etag"):
                assert head.headers.get(name) == get.headers.get(name), (url, name)
            # an items page carries the time it was made (timeStamp): two makings of it may
            # compress to a byte more or less
            if "timeStamp" not in get.text:
                assert head.headers["content-length"] == get.headers["content-length"], url
        assert c.get("/ogc").status_code == 200  # the connection still serves requests
