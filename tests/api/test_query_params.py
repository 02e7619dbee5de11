"""api.query_params: the hot route's own parameter reading must match what it documents."""

from __future__ import annotations

import pytest

from api.query_params import Param, openapi, parse
from api.routers.ogc import ITEMS_QUERY
from geoplan import ogc as features
from geoplan.errors import ValidationError

LIMIT = Param("limit", "Page size.", integer=True, default=10, minimum=1, maximum=100)
FORMAT = Param("f", "Format.", pattern="^(json|html)$")
BBOX = Param("bbox", "Box.", max_length=10)


@pytest.mark.parametrize(
    ("raw", "value"),
    [(None, 10), ("1", 1), ("100", 100), ("+7", 7), (" 8 ", 8), ("007", 7)],
)
def test_integers_parse_with_their_default(raw, value):
    assert LIMIT.parse(raw) == value


@pytest.mark.parametrize(
    ("param", "raw", "says"),
    [
        (LIMIT, "0", "≥ 1"),
        (LIMIT, "101", "≤ 100"),
        (LIMIT, "ten", "integer"),
        (LIMIT, "1.5", "integer"),
        (LIMIT, "", "integer"),
        (LIMIT, "+-1", "integer"),
        (LIMIT, "١٢", "integer"),  # Arabic-Indic digits: str.isdigit() would say yes
        (FORMAT, "xml", "must match"),
        (FORMAT, "json ", "must match"),
        (BBOX, "1,2,3,4,5,6,7", "at most 10 characters"),
    ],
)
def test_bad_values_name_the_parameter(param, raw, says):
    with pytest.raises(ValidationError) as err:
        param.parse(raw)
    assert err.value.errors[0]["field"] == param.name
    assert says in str(err.value) and str(err.value).startswith(f"{param.name}: ")


def test_strings_pass_through_and_absent_ones_are_none():
    assert parse([FORMAT, BBOX], {"f": "html"}) == {"f": "html", "bbox": None}


def test_openapi_entries_carry_the_checked_constraints():
    doc = {p["name"]: p for p in openapi([LIMIT, FORMAT, BBOX])["parameters"]}
    limit = {"type": "integer", "default": 10, "minimum": 1, "maximum": 100}
    assert doc["limit"]["schema"] == limit
    assert doc["f"]["schema"]["anyOf"][0] == {"type": "string", "pattern": "^(json|html)$"}
    assert doc["bbox"]["schema"]["anyOf"][0]["maxLength"] == 10
    assert all(p["in"] == "query" and not p["required"] for p in doc.values())


def test_the_items_route_documents_every_parameter_it_reads(loaded_db):
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(database_url=loaded_db)) as client:
        spec = client.get("/openapi.json").json()
        ogc = client.get("/ogc/api").json()
        documented = {
            p["name"]: p
            for p in spec["paths"]["/ogc/collections/{collection_id}/items"]["get"]["parameters"]
        }
        assert set(documented) == {"collection_id", *(p.name for p in ITEMS_QUERY)}
        assert documented["limit"]["schema"]["default"] == features.DEFAULT_LIMIT
        assert documented["offset"]["schema"]["maximum"] == features.MAX_OFFSET
        assert "/ogc/collections/{collection_id}/items" in ogc["paths"]
        # what the route reads is what it documents: defaults apply, bounds are enforced
        assert client.get("/ogc/collections/premises/items").json()["numberReturned"] <= 10
        r = client.get(f"/ogc/collections/premises/items?offset={features.MAX_OFFSET + 1}")
        assert r.status_code == 400 and r.json()["errors"][0]["field"] == "offset"
        r = client.get("/ogc/collections/premises/items?bbox=" + "1," * 300)
        assert r.status_code == 400 and r.json()["errors"][0]["field"] == "bbox"
