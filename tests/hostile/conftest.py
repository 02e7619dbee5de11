"""Fixtures of the hostile suite: the API in-process on the shipped layers, API keys, and the
answer every refusal must have (problem+json naming the field)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geoplan.auth import keys
from geoplan.store import db

PROBLEM = "application/problem+json"
LORENSKOG_HUS = [10.9548, 59.9267]


@pytest.fixture
def client(loaded_db: str) -> Iterator[TestClient]:
    """The app on the shipped layers; a server error is answered (500), not raised, so a test
    sees what a client would."""
    with TestClient(create_app(database_url=loaded_db), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def api_keys(loaded_db: str) -> dict[str, str]:
    with db.transaction(loaded_db) as conn:
        write, _ = keys.create_key(conn, "megler-as", "write")
        admin, _ = keys.create_key(conn, "kommunen", "admin")
    return {"write": write, "admin": admin}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def refused(response: Any, status: int | tuple[int, ...], field: str | None = None) -> dict:
    """Assert ``response`` is a problem+json refusal with ``status`` (naming ``field``)."""
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    assert body["status"] == response.status_code
    if field is not None:
        named = [e["field"] for e in body.get("errors", [])]
        assert field in named, (field, body)
    return body


def listing(**props: Any) -> dict[str, Any]:
    properties = {
        "address": "Festplassen 1, 1473 Lørenskog",
        "uses": ["office"],
        "floor_area_m2": 250,
        "rent_nok_m2_year": 2000,
    }
    properties.update(props)
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": LORENSKOG_HUS},
        "properties": properties,
    }
