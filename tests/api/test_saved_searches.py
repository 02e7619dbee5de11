"""Saved searches over HTTP: a stable URL, an Atom feed read with a real feed reader
(feedparser), webhooks delivered to a real local HTTP server that fails first, and the refusals
(bad filters, private webhook targets, rate limit) as problem+json naming the field."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import feedparser
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geoplan.auth import keys
from geoplan.config import Settings
from geoplan.premises import alerts
from geoplan.store import db

PROBLEM = "application/problem+json"
BOX = "POLYGON((10.94 59.92, 10.97 59.92, 10.97 59.935, 10.94 59.935, 10.94 59.92))"


def app_for(loaded_db: str, **settings) -> TestClient:
    return TestClient(create_app(Settings(**settings), database_url=loaded_db))


@pytest.fixture
def client(loaded_db):
    with app_for(loaded_db) as c:
        yield c


@pytest.fixture
def write_key(loaded_db) -> str:
    with db.transaction(loaded_db) as conn:
        return keys.create_key(conn, "megler-as", "write")[0]


@pytest.fixture
def admin_key(loaded_db) -> str:
    """Listings already in the store belong to the municipality: only an admin key edits them."""
    with db.transaction(loaded_db) as conn:
        return keys.create_key(conn, "kommunen", "admin")[0]


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def add_listing(c: TestClient, key: str, address: str, lon: float, lat: float, **props) -> dict:
    """A new office listing at (lon, lat) through the API, as a broker adds one."""
    r = c.post(
        "/premises",
        headers=auth(key),
        json={
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"address": address, "uses": ["office"], **props},
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def named(response, status: int, field: str) -> dict:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert field in [e["field"] for e in body.get("errors", [])] or body.get("detail"), body
    return body


def test_a_saved_search_has_a_stable_url_with_its_filters_and_links(client):
    r = client.post(
        "/premises/searches",
        json={"filters": {"use": "office", "within": BOX, "limit": 5}, "title": "Kontor i sentrum"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert len(body["id"]) >= 22  # 128 random bits
    assert r.headers["location"].endswith(f"/premises/searches/{body['id']}")
    assert body["filters"] == {"use": ["office"], "within": BOX}  # limit is no filter
    again = client.get(f"/premises/searches/{body['id']}").json()
    assert again["filters"] == body["filters"] and "webhook" not in again
    links = {link["rel"]: link["href"] for link in again["links"]}
    results = client.get(links["results"].replace("http://testserver", ""))
    direct = client.get("/premises", params={"use": "office", "within": BOX})
    assert results.json()["numberMatched"] == direct.json()["numberMatched"] > 0
    assert client.get(links["alternate"].replace("http://testserver", "")).status_code == 200
    assert client.delete(f"/premises/searches/{body['id']}").status_code == 204
    named(client.get(f"/premises/searches/{body['id']}"), 404, "")


BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_a_browser_following_the_stable_url_lands_on_the_search_map(client):
    body = client.post(
        "/premises/searches", json={"filters": {"use": ["office", "retail"], "within": BOX}}
    ).json()
    own = f"/premises/searches/{body['id']}"
    r = client.get(own, headers={"Accept": BROWSER}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["vary"] == "Accept"
    alternate = next(link["href"] for link in body["links"] if link["rel"] == "alternate")
    assert r.headers["location"] == alternate
    page = client.get(own, headers={"Accept": BROWSER})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "i et tegnet område" in page.text  # the saved filters, in words
    # API clients keep getting JSON, whatever else they accept
    for accept in (None, "application/json", "*/*", "application/json, text/html"):
        headers = {"Accept": accept} if accept else {}
        r = client.get(own, headers=headers, follow_redirects=False)
        assert r.status_code == 200 and r.json()["id"] == body["id"], accept
        assert r.headers["vary"] == "Accept"
    named(client.get("/premises/searches/nope", headers={"Accept": BROWSER}), 404, "")


def test_the_search_map_offers_to_save_the_search_it_shows(client):
    page = client.get("/maps/premises", params={"use": "office", "within": BOX, "offset": 0})
    assert page.status_code == 200
    html = page.text
    # the panel is written by a script (its HTML in JSON): quotes may be escaped
    assert re.search(r'id=\\?"gp-save-search\\?"', html)
    assert re.search(r'id=\\?"gp-save-status\\?" role=\\?"status', html)
    m = re.search(r"geoplan\.saveSearch\(\w+, (\{.*?\})\);", html)
    assert m is not None
    # the filters the page shows (not paging), as POST /premises/searches takes them
    assert json.loads(m.group(1)) == {"filters": {"use": ["office"], "within": BOX}, "base": ""}
    embedded = client.get("/maps/premises?embed=1").text
    assert "gp-save-search" not in embedded and "saveSearch(" not in embedded


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"are": "visperud"}, "filters.are"),
        ({"use": "castle"}, "filters.use"),
        ({"min_area_m2": "lots"}, "filters.min_area_m2"),
        ({"within": "POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))"}, "filters.within"),
        ({"within": BOX, "within_crs": "EPSG:999999"}, "filters.within_crs"),
        ({"near": "59.93,10.95"}, "filters.near"),
        ({"near": "10.95,59.93", "radius_m": 1e9}, "filters.radius_m"),
        ({"kommune": "12"}, "filters.kommune"),
    ],
)
def test_bad_filters_are_refused_naming_the_parameter(client, filters, field):
    r = client.post("/premises/searches", json={"filters": filters})
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]], r.json()


def test_malformed_bodies_and_unknown_ids_are_4xx(client):
    assert client.post("/premises/searches", json={"filters": []}).status_code == 422
    assert client.post("/premises/searches", json={"filters": {}, "x": 1}).status_code == 422
    assert client.post("/premises/searches", content=b"{").status_code in (400, 422)
    assert client.get("/premises/searches/nope").status_code == 404
    assert client.get("/premises/searches/nope/feed.atom").status_code == 404
    assert client.get("/premises/searches/" + "x" * 65).status_code == 422


def test_the_feed_is_valid_atom_with_new_and_changed_listings(
    client, write_key, admin_key, loaded_db
):
    saved = client.post("/premises/searches", json={"filters": {"within": BOX}}).json()
    feed_url = f"/premises/searches/{saved['id']}/feed.atom"
    inside = client.get("/premises", params={"within": BOX, "sort": "updated", "limit": 1})
    changed_id = inside.json()["features"][0]["id"]
    r = client.patch(f"/premises/{changed_id}", json={"properties": {"rent_nok_m2_year": 1999}},
                     headers=auth(admin_key))  # fmt: skip
    assert r.status_code == 200, r.text
    new = add_listing(client, write_key, "Nytorget 3, 1470 Lørenskog", 10.955, 59.927,
                      floor_area_m2=420, rent_nok_m2_year=2100)  # fmt: skip

    r = client.get(feed_url)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(r.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert feed.feed.title.startswith("Ledige lokaler")
    assert feed.feed.language == "nb"
    assert any(link.rel == "self" and link.href.endswith("feed.atom") for link in feed.feed.links)
    entries = {e.id.rsplit("/", 1)[-1]: e for e in feed.entries}
    assert entries[new["id"]].title.startswith("Nytt lokale: Nytorget 3")
    assert entries[changed_id].title.startswith("Endret: ")
    assert entries[new["id"]].link.endswith(f"/maps/premises/{new['id']}")
    # newest first, times from the history
    assert feed.entries[0].id.endswith(new["id"])
    times = [e.updated_parsed for e in feed.entries]
    assert times == sorted(times, reverse=True)
    with db.connect(loaded_db) as conn:
        last = conn.execute(
            "SELECT max(at) FROM premises_history WHERE premises_id = %s", (changed_id,)
        ).fetchone()[0]
    parsed = datetime(*entries[changed_id].updated_parsed[:6], tzinfo=UTC)
    assert abs((parsed - last).total_seconds()) < 1
    # a listing that no longer matches leaves the feed
    client.delete(f"/premises/{new['id']}", headers=auth(write_key))
    again = feedparser.parse(client.get(feed_url).content)
    assert new["id"] not in {e.id.rsplit("/", 1)[-1] for e in again.entries}


def test_saving_is_rate_limited_per_address(loaded_db):
    with app_for(loaded_db, saved_searches_per_hour=2) as c:
        for _ in range(2):
            assert c.post("/premises/searches", json={"filters": {}}).status_code == 201
        r = c.post("/premises/searches", json={"filters": {}})
        named(r, 429, "")
        assert int(r.headers["retry-after"]) > 0


# -- webhooks -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://192.168.0.1/",
        "http://0.0.0.0/",
        "file:///etc/passwd",
        "ftp://example.org/",
        "http://user:pw@example.org/",
        "not a url",
        "http://no-such-host.invalid/",
    ],
)
def test_webhooks_to_private_or_odd_targets_are_refused(client, write_key, url):
    r = client.post(
        "/premises/searches",
        json={"filters": {}, "webhook_url": url},
        headers=auth(write_key),
    )
    named(r, 422, "webhook_url")
    assert "webhook_url" in [e["field"] for e in r.json()["errors"]]


def test_a_webhook_needs_an_api_key(client):
    r = client.post(
        "/premises/searches", json={"filters": {}, "webhook_url": "https://example.org/"}
    )
    assert r.status_code == 401


class Receiver:
    """A real HTTP server on loopback that answers 503 to the first ``fail`` requests."""

    def __init__(self, fail: int):
        self.fail = fail
        self.received: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                status = 503 if len(receiver.received) <= receiver.fail else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/geoplan"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    """A Receiver that answers every request 204 until the test sets ``fail``; closed after."""
    started = Receiver(fail=0)
    yield started
    started.close()


def webhook_app(loaded_db: str) -> TestClient:
    """The API with webhooks to loopback allowed (where the test's receiver listens)."""
    return app_for(loaded_db, webhook_allow_private=True)


def test_a_webhook_gets_new_matches_after_retries(loaded_db, write_key, receiver):
    receiver.fail = 2
    with webhook_app(loaded_db) as c:
        created = c.post(
            "/premises/searches",
            json={"filters": {"within": BOX}, "webhook_url": receiver.url},
            headers=auth(write_key),
        )
        assert created.status_code == 201, created.text
        search = created.json()
        secret = search["webhook"]["secret"]
        assert "secret" not in c.get(f"/premises/searches/{search['id']}").json()["webhook"]
        new = add_listing(c, write_key, "Nytorget 5, 1470 Lørenskog", 10.955, 59.927,
                          floor_area_m2=300)  # fmt: skip
        outside = add_listing(c, write_key, "Utenfor 1", 10.99, 59.95, floor_area_m2=300)
    waits: list[float] = []
    with db.connect(loaded_db) as conn:
        report = alerts.run_once(
            conn, base_url="http://geoplan.test", allow_private=True, sleep=waits.append
        )
        assert [d.delivered for d in report.deliveries] == [True], report
        assert waits == [1.0, 2.0]  # backoff between the three attempts
        assert len(receiver.received) == 3
        headers, body = receiver.received[-1]
        payload = json.loads(body)
        assert [m["id"] for m in payload["matches"]] == [new["id"]]
        assert outside["id"] not in body.decode()
        assert payload["matches"][0]["change"] == "new"
        assert payload["matches"][0]["url"] == f"http://geoplan.test/maps/premises/{new['id']}"
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Geoplan-Signature"] == f"sha256={expected}"
        # nothing new: no request; the same change is never sent twice
        alerts.run_once(conn, base_url="http://geoplan.test", allow_private=True)
        assert len(receiver.received) == 3
        # with private targets no longer allowed, nothing is sent to loopback
        conn.execute(
            "UPDATE premises SET rent_nok_m2_year = 1000, updated_at = now() WHERE id = %s",
            (new["id"],),
        )
        conn.commit()
        refused = alerts.run_once(conn, base_url="http://geoplan.test", allow_private=False)
        assert not refused.deliveries[0].delivered
        assert "non-public" in refused.deliveries[0].error
        assert len(receiver.received) == 3
        failures, next_attempt = conn.execute(
            "SELECT webhook_failures, webhook_next_attempt FROM saved_searches"
        ).fetchone()
        assert failures == 1 and next_attempt is not None


def test_a_webhook_that_keeps_failing_is_retried_later_not_lost(
    loaded_db, write_key, admin_key, receiver
):
    receiver.fail = 100
    with webhook_app(loaded_db) as c:
        c.post("/premises/searches", headers=auth(write_key),
               json={"filters": {}, "webhook_url": receiver.url})  # fmt: skip
        c.patch("/premises/sample-001", headers=auth(admin_key),
                json={"properties": {"rent_nok_m2_year": 1234}})  # fmt: skip
    with db.connect(loaded_db) as conn:
        report = alerts.run_once(conn, base_url="http://x", allow_private=True,
                                 sleep=lambda s: None, attempts=3)  # fmt: skip
        assert not report.deliveries[0].delivered and report.deliveries[0].error == "HTTP 503"
        assert len(receiver.received) == 3
        # not due yet: the next pass sends nothing
        alerts.run_once(conn, base_url="http://x", allow_private=True, sleep=lambda s: None)
        assert len(receiver.received) == 3
        receiver.fail = 0
        conn.execute("UPDATE saved_searches SET webhook_next_attempt = now()")
        conn.commit()
        report = alerts.run_once(conn, base_url="http://x", allow_private=True)
        assert report.deliveries[0].delivered
        assert "sample-001" in receiver.received[-1][1].decode()
