"""The premises search filters are declared once (``PremisesQuery``'s fields) and every way in is
generated from that: both routes' OpenAPI parameters, both commands' options, the map's form.

Each test compares one rendering with :data:`geoplan.premises.SEARCH_FILTERS` in both
directions: every filter appears, and nothing else does.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
import typer

from api.app import create_app
from geoplan import premises
from geoplan.cli import app as cli_app
from geoplan.config import Settings
from geoplan.errors import ValidationError
from geoplan.premises import SEARCH_FILTERS, PremisesQuery, Sort
from geoplan.vocab import AREA_SLUGS
from maps.page import filter_form_html

NAMES = [f.name for f in SEARCH_FILTERS]


@pytest.fixture(scope="module")
def openapi() -> dict:
    return create_app(Settings(), database_url="postgresql://unused/unused").openapi()


def query_parameters(openapi: dict, path: str) -> dict[str, dict]:
    parameters = openapi["paths"][path]["get"]["parameters"]
    return {p["name"]: p for p in parameters if p["in"] == "query"}


def test_the_model_is_premises_query_field_by_field():
    assert [f.attr for f in SEARCH_FILTERS] == list(PremisesQuery.__dataclass_fields__)
    assert NAMES == [
        "use",
        "min_area_m2",
        "max_area_m2",
        "max_rent_nok_m2",
        "kommune",
        "area",
        "within",
        "within_crs",
        "near",
        "radius_m",
        "available_by",
        "max_walk_min",
        "hub",
        # the fields premises seekers filter on (issue 13)
        "floor",
        "min_workplaces",
        "min_parking",
        "max_energy_label",
        "built_after",
        "min_ceiling_height_m",
        "loading_dock",
        "broker_org",
        "sort",
        "limit",
        "offset",
        "include_withdrawn",
    ]
    assert all(f.help and f.cli for f in SEARCH_FILTERS)


@pytest.mark.parametrize("path", ["/premises", "/maps/premises"])
def test_both_routes_take_exactly_the_filters_described_as_declared(openapi, path):
    params = query_parameters(openapi, path)
    # the map page takes one more parameter, not a filter: its embed mode (#17), declared by
    # FastAPI and so listed before the filters, which the route reads itself
    assert list(params) == (["embed"] if path == "/maps/premises" else []) + NAMES
    for f in SEARCH_FILTERS:
        assert params[f.name]["description"] == f.help, f.name
        assert params[f.name]["required"] is False


def test_the_search_route_documents_each_filters_type_bounds_and_default(openapi):
    params = query_parameters(openapi, "/premises")
    for f in SEARCH_FILTERS:
        schema = params[f.name]["schema"]
        assert schema.get("minimum") == f.minimum, f.name
        assert schema.get("maximum") == f.maximum, f.name
        assert schema.get("maxLength") == f.max_length, f.name
        assert schema.get("default") == f.default, f.name
        assert (schema["type"] == "array") == f.many, f.name
    # any area in the areas table (issue 14), checked by geoplan: no list of slugs in the schema
    assert "enum" not in params["area"]["schema"] and AREA_SLUGS
    assert params["sort"]["schema"]["enum"] == [s.value for s in Sort] == list(premises.SORTS)
    assert params["available_by"]["schema"]["format"] == "date"
    assert params["include_withdrawn"]["schema"]["type"] == "boolean"


def command(*path: str):
    found = typer.main.get_command(cli_app)
    for name in path:
        found = found.commands[name]
    return found


@pytest.mark.parametrize(
    ("path", "own", "limit"),
    [
        (("premises", "search"), {"fmt", "help"}, 50),
        (("map", "premises"), {"out", "link_base", "help"}, 100),
    ],
)
def test_both_commands_take_exactly_the_filters_as_declared(path, own, limit):
    params = {p.name: p for p in command(*path).params}
    assert set(params) - own == set(NAMES)
    for f in SEARCH_FILTERS:
        assert tuple(params[f.name].opts) == f.cli, f.name
    assert params["limit"].default == limit
    assert params["sort"].default == Sort.walk


def test_the_map_form_shows_the_filters_that_have_a_form_field():
    html = filter_form_html(None, {"visperud": "Visperud"})
    assert re.findall(r' name="([^"]+)"', html) == [f.name for f in SEARCH_FILTERS if f.form]
    for f in SEARCH_FILTERS:
        if f.form:
            assert f'<label for="{f.form.id}">{f.form.label}</label>' in html


def test_a_query_survives_its_own_link():
    q = PremisesQuery(
        uses=["office", "retail"],
        min_area_m2=120.5,
        max_area_m2=900.0,
        max_rent_nok_m2=1800.0,
        kommune=["3205", "3222"],
        area="visperud",
        within="POLYGON((10.94 59.92, 10.97 59.92, 10.97 59.935, 10.94 59.92))",
        within_crs="EPSG:4326",
        near="10.9548,59.9267",
        radius_m=750.0,
        available_by=date(2027, 1, 1),
        max_walk_min=10.0,
        hub="lorenskog_st",
        floor=2,
        min_workplaces=30,
        min_parking=5,
        max_energy_label="C",
        built_after=2010,
        min_ceiling_height_m=7.5,
        loading_dock=True,
        broker_org="Megling AS",
        sort=Sort.rent,
        limit=20,
        offset=40,
        include_withdrawn=True,
    )
    params = premises.query_params(q)
    assert {name for name, _ in params} == set(NAMES)
    grouped = {n: [v for k, v in params if k == n] for n in NAMES}
    assert premises.query_from_params(grouped) == q
    assert premises.query_from_params({}) == PremisesQuery()
    assert premises.query_params(PremisesQuery()) == [
        ("sort", "walk"),
        ("limit", "100"),
        ("offset", "0"),
    ]


def test_errors_name_the_filter_as_typed_and_unparsable_ones_all_at_once():
    # check_query names `use` as the user typed it (validate_query keeps the field, `uses`);
    # neither touches the database without an area or a hub to look up.
    q = PremisesQuery(uses=["kontor"], sort="price", limit=5000)
    with pytest.raises(ValidationError) as checked:
        premises.check_query(None, q)
    assert [e["field"] for e in checked.value.errors] == ["use", "sort", "limit"]
    assert str(checked.value).startswith("use: unknown use 'kontor'; known uses: ")
    assert str(checked.value).endswith("; limit: must be an integer from 1 to 1000")
    with pytest.raises(ValidationError) as validated:
        premises.validate_query(None, q)
    assert [e["field"] for e in validated.value.errors] == ["uses", "sort"]

    with pytest.raises(ValidationError) as parsed:
        premises.query_from_params({"limit": "x", "min_area_m2": "abc"})
    assert parsed.value.field == "min_area_m2"
    assert [e["field"] for e in parsed.value.errors] == ["min_area_m2", "limit"]
    assert str(parsed.value) == (
        "min_area_m2 must be a number, got 'abc'; limit must be a whole number, got 'x'"
    )


@pytest.mark.parametrize("value", [12345.75, 1234567.5, 0.5, 1e-5 + 1, 2.0e-5, 999999.99])
def test_query_params_write_numbers_exactly(value):
    # a link to the next page, the map's form and a saved search are written by query_params:
    # six significant digits ({:g}) turned min_area_m2=12345.75 into 12345.8, another filter
    q = PremisesQuery(min_area_m2=value)
    (text,) = [v for k, v in premises.query_params(q) if k == "min_area_m2"]
    assert "e" not in text and float(text) == value
    assert premises.query_from_params({"min_area_m2": [text]}) == q
