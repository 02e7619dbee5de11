"""``?embed=1`` and the share control on the served maps; written map files stay as they were."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geoplan.config import Settings
from maps.embed import Embedding
from maps.overview import render_overview


def share_options(page: str) -> dict | None:
    m = re.search(r"geoplan\.share\(\w+, (\{.*?\})\);", page)
    return json.loads(m.group(1)) if m else None


@pytest.mark.parametrize(
    "path", ["/", "/maps/premises?use=office", "/maps/areas/visperud", "/maps/premises/sample-001"]
)
def test_full_pages_keep_their_panel_and_get_the_share_control(client, path):
    page = client.get(path).text
    if "/maps/premises/" not in path:  # a premises page's panel has no form
        assert re.search(r'id=\\?"gp-filter', page)  # the side panel's filter form
    options = share_options(page)
    assert options is not None and options["embed"] is False
    assert options["title"] and options["note"] == ""


@pytest.mark.parametrize("path", ["/?embed=1", "/maps/premises?use=office&embed=1",
                                  "/maps/areas/visperud?embed=1",
                                  "/maps/premises/sample-001?embed=1"])  # fmt: skip
def test_embedded_pages_drop_the_side_panel_but_keep_the_warnings(client, path):
    r = client.get(path)
    assert r.status_code == 200
    page = r.text
    # no side panel (its form, id gp-filter, is in the panel's JSON), no skip link into it
    # (geoplan.js looks the form up by id, finding none)
    assert not re.search(r'id=\\?"gp-filter"', page) and 'href="#gp-filter"' not in page
    # the lists under the map stay: they are its text alternative (WCAG 1.1.1)
    assert 'id="gp-results"' in page or 'id="gp-lists"' in page
    options = share_options(page)
    assert options["embed"] is True
    assert "EKSEMPELDATA" in options["bar"]  # sample data is said in the embed bar too
    assert r.headers["etag"] != client.get(path.replace("embed=1", "")).headers["etag"]


def test_the_search_map_fills_its_frame_when_embedded(client):
    full = client.get("/maps/premises?use=office")
    embedded = client.get("/maps/premises?use=office&embed=1")
    assert full.status_code == embedded.status_code == 200
    # the map's height is set per body class in geoplan.css (gp-search: 62vh, gp-embedded: the
    # whole frame); the browser test measures it
    assert '<body class="gp-page gp-search">' in full.text
    assert '<body class="gp-page gp-search gp-embedded">' in embedded.text
    assert "body.gp-embedded { --gp-map-h: 100vh; }" in embedded.text


@pytest.mark.parametrize("path", ["/maps/premises?embed=1&use=office", "/maps/premises?embed=0"])
def test_embed_is_the_map_pages_own_parameter_not_a_filter(client, path):
    assert client.get(path).status_code == 200
    r = client.get("/maps/premises?embedd=1")  # a typo is still refused, naming it
    assert r.status_code == 422 and "embedd" in r.text


def test_the_share_control_says_where_the_map_may_be_embedded(loaded_db):
    settings = Settings(database_url=loaded_db, frame_ancestors="https://www.lorenskog.kommune.no")
    with TestClient(create_app(settings)) as c:
        options = share_options(c.get("/").text)
    assert "https://www.lorenskog.kommune.no" in options["note"]
    assert "GEOPLAN_FRAME_ANCESTORS" in options["note"]
    assert "denne nettsiden" in Embedding(origins=("'self'",)).note
    assert "slått av" in Embedding(origins=("'none'",)).note


def test_written_map_files_get_no_share_control(loaded_db, conn):
    assert share_options(render_overview(conn)) is None
    assert "geoplan-share.js" not in render_overview(conn)
