"""One FeatureCollection wrapper (:func:`geoplan.geo.geojson.feature_collection`) behind
``GET /premises`` and ``geoplan premises search --format geojson``; their bytes stay as before."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from geoplan import premises
from geoplan.cli import app
from geoplan.geo.geojson import feature_collection
from geoplan.store import db


def test_feature_collection_splices_the_array_after_the_members_in_order() -> None:
    features = '[{"type": "Feature", "id": "a", "properties": {}, "geometry": null}]'
    text = feature_collection(features, numberMatched=7, numberReturned=1, title="Lørenskog")
    assert text == (
        '{"type": "FeatureCollection", "numberMatched": 7, "numberReturned": 1, '
        '"title": "Lørenskog", "features": ' + features + "}"
    )
    assert json.loads(text)["features"][0]["id"] == "a"
    assert feature_collection("[]") == '{"type": "FeatureCollection", "features": []}'


def _page(url: str, **params: object) -> premises.FeaturePage:
    query = premises.query_from_params(params)
    with db.connect(url) as conn:
        return premises.search_features(conn, premises.check_query(conn, query))


def test_cli_geojson_bytes_are_unchanged(loaded_db: str) -> None:
    result = CliRunner().invoke(
        app, ["premises", "search", "--use", "office", "--limit", "3", "--format", "geojson"]
    )
    assert result.exit_code == 0, result.output
    page = _page(loaded_db, use="office", limit=3)
    assert page.number_returned == 3 and page.number_matched > 3
    assert result.stdout == (
        f'{{"type": "FeatureCollection", "numberMatched": {page.number_matched}, '
        f'"numberReturned": 3, "features": {page.features_json}}}\n'
    )


def test_api_search_bytes_are_unchanged(loaded_db: str) -> None:
    with TestClient(create_app(database_url=loaded_db)) as client:
        response = client.get("/premises", params={"use": "office", "limit": 3})
    assert response.status_code == 200
    body = response.text
    doc = json.loads(body)
    page = _page(loaded_db, use="office", limit=3)
    members = ["type", "numberMatched", "numberReturned", "timeStamp", "links"]
    assert list(doc) == [*members, "features"]
    head = json.dumps({k: doc[k] for k in members}, ensure_ascii=False)
    assert body == head[:-1] + ', "features": ' + page.features_json + "}"
