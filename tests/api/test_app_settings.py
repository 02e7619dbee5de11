"""``create_app(settings)`` governs the walking model: the API hands the app's settings to every
core call whose result depends on them, whatever the process settings (GEOPLAN_*) say."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geoplan.config import get_settings
from tests.api.test_assessment_api import AUTH, KEY, add_key, body
from tests.api.test_proximity_lorenskog import landmarks

SLOW_KMH = 2.5


def _get_all(app) -> dict:
    lon, lat = landmarks()["lorenskog_hus"]
    with TestClient(app) as c:
        nearest = c.get("/proximity/nearest", params={"lon": lon, "lat": lat, "k": 3})
        coverage = c.get("/proximity/coverage")
        hub_walk = c.get("/premises", params={"hub": "lorenskog_st", "limit": 5})
        assessment = c.post("/assessments", json=body(), headers=AUTH)
    for r in (nearest, coverage, hub_walk, assessment):
        assert r.status_code in (200, 201), r.text
    return {
        "nearest": nearest.json(),
        "coverage": coverage.json(),
        "hub_walk": hub_walk.json(),
        "assessment": assessment.json(),
    }


def test_app_settings_change_the_walking_minutes_the_api_returns(loaded_db: str):
    add_key(loaded_db, KEY)
    process = get_settings()
    assert process.walk_speed_kmh != SLOW_KMH
    slow = process.model_copy(update={"walk_speed_kmh": SLOW_KMH})
    normal = _get_all(create_app(database_url=loaded_db))
    slowed = _get_all(create_app(slow, database_url=loaded_db))
    factor = process.walk_speed_kmh / SLOW_KMH

    # /proximity/nearest: same hubs and metres, minutes at the app's speed
    assert normal["nearest"]["walk_speed_kmh"] == process.walk_speed_kmh
    assert slowed["nearest"]["walk_speed_kmh"] == SLOW_KMH
    pairs = list(zip(normal["nearest"]["hubs"], slowed["nearest"]["hubs"], strict=True))
    for a, b in pairs:
        assert a["hub_id"] == b["hub_id"] and a["walk_m"] == b["walk_m"]
        assert b["walk_min"] == pytest.approx(a["walk_min"] * factor, abs=0.02)

    # /proximity/coverage: fewer premises within 5 minutes at half the speed
    assert slowed["coverage"]["walk_speed_kmh"] == SLOW_KMH
    total = {
        (r["area_id"], r["hubs"]): r["within"]["5"]["premises"] for r in normal["coverage"]["rows"]
    }
    slow_total = {
        (r["area_id"], r["hubs"]): r["within"]["5"]["premises"] for r in slowed["coverage"]["rows"]
    }
    assert sum(slow_total.values()) < sum(total.values())

    # /premises?hub=: the walk to the named hub, computed now, in the app's minutes
    walks = [
        (a["properties"]["hub_walk_min"], b["properties"]["hub_walk_min"])
        for a, b in zip(normal["hub_walk"]["features"], slowed["hub_walk"]["features"], strict=True)
    ]
    assert walks and all(b == pytest.approx(a * factor, abs=0.11) for a, b in walks)

    # /assessments: the nearest hubs' walking minutes in the facts
    hubs = zip(
        normal["assessment"]["facts"]["nearest_hubs"],
        slowed["assessment"]["facts"]["nearest_hubs"],
        strict=True,
    )
    for a, b in hubs:
        assert a["hub_id"] == b["hub_id"]
        assert b["walk_min"] == pytest.approx(a["walk_min"] * factor, abs=0.11)
