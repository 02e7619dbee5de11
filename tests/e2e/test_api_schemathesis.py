"""Property-based run of schemathesis over the whole API: no input may cause a server error.

Schemathesis generates valid and malformed requests for every operation in ``/openapi.json``
(every registered router) and in the OGC document ``/ogc/api``, sends them to a real uvicorn
server on a loaded database, and checks: no 5xx, status codes and content types documented,
bodies conforming to the documented schemas (problem+json for errors).

Its own strategies keep to the schema's edges; they never tried the inputs a hostile client
sends (issue 14). The *hostile profile* (:func:`hostile_cases`) takes each valid case, sent with a
real write key so that bodies get past authentication, and replaces one query parameter, path
parameter or body value with a value from :data:`HOSTILE_TEXT` / :data:`HOSTILE_JSON`: numbers
at and past every range (1e308, 2³¹, 2⁶³, a 400-digit integer, ``Infinity``, ``NaN``, ``true``),
NUL characters, long and odd text, deep nesting — or the whole body with one past the size cap.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import FailedHealthCheck, Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from geoplan.auth import keys
from geoplan.ingest.shipped import load_layers
from geoplan.store import db
from tests.conftest import LAYERS_DIR, free_port, truncate_all
from tests.e2e.live_server import live_server

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 25  # per operation and mode; the whole run stays around a minute on 2 cores


def fuzz(schema, base_url: str, examples: int) -> list[str]:
    """Run every operation of ``schema`` with valid and malformed input; the failures found."""
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                deadline=None,
                derandomize=True,  # the same examples every run: failures reproduce
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            def run(case) -> None:
                case.call_and_validate(base_url=base_url, checks=CHECKS)

            try:
                run()
            except (Unsatisfiable, FailedHealthCheck):
                continue  # e.g. no malformed variant of an operation without parameters
            except (Exception, BaseExceptionGroup) as exc:  # failed checks are raised
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    return failures


# -- the hostile profile ---------------------------------------------------------------------
HOSTILE_TEXT = (
    "1e308",
    "-1e308",
    "2147483648",
    "-2147483649",
    "9223372036854775808",
    "1" + "0" * 400,
    "1e999",
    "inf",
    "-Infinity",
    "NaN",
    "true",
    "a\x00b",
    "\x00",
    "%00",
    "x" * 5000,
    "\u202e\ufeff\ud7ff",
    "../../../etc/passwd",
    "' OR 1=1 --",
    "",
)
"""What a hostile client types into a query or path parameter (all parameters are text)."""
HOSTILE_JSON: tuple[Any, ...] = (
    1e308,
    -1e308,
    2**31,
    2**63,
    10**400,
    -(10**400),
    True,
    None,
    "a\x00b",
    "x" * 100_000,
    [],
    {},
    json.loads("[" * 20 + "1" + "]" * 20),
    json.loads("[" * 500 + "]" * 500),  # deep, yet within what a client can encode
)
"""What a hostile client puts into a JSON body (``Infinity``/``NaN`` are not JSON; the text
variants above stand for them)."""
BIG_BODY = {"padding": "x" * (2 * 1024**2)}
"""Past GEOPLAN_MAX_BODY_BYTES (1 MiB): answered 413 before it is read."""
HOSTILE_EXAMPLES = 12  # per operation: ≈ 300 hostile requests, well under a minute


def _leaves(value: Any, at: tuple = ()) -> list[tuple]:
    """Paths to every value inside a JSON document (containers included)."""
    found = [at] if at else []
    if isinstance(value, dict):
        for k, v in value.items():
            found += _leaves(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _leaves(v, (*at, i))
    return found


def _replaced(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy = dict(doc) if isinstance(doc, dict) else list(doc)
    copy[head] = _replaced(copy[head], rest, value)
    return copy


def hostile_cases(operation, query_names: list[str], headers: dict[str, str]):
    """Valid cases of ``operation`` with one value made hostile (see the module doc)."""
    valid = operation.as_strategy(generation_mode=GenerationMode.POSITIVE, headers=headers)

    @st.composite
    def cases(draw):
        case = draw(valid)
        has_body = isinstance(case.body, dict | list)
        targets = [("query", n) for n in query_names]
        targets += [("path", n) for n in (case.path_parameters or {})]
        targets += [("body", None), ("big body", None)] if has_body else []
        if not targets:
            return case
        kind, name = draw(st.sampled_from(targets))
        if kind == "query":
            case.query = {**(case.query or {}), name: draw(st.sampled_from(HOSTILE_TEXT))}
        elif kind == "path":
            case.path_parameters = {
                **case.path_parameters,
                name: draw(st.sampled_from(HOSTILE_TEXT[:-1])),  # an empty segment: 404 anyway
            }
        elif kind == "body":
            where = draw(st.sampled_from([(), *_leaves(case.body)]))
            case.body = _replaced(case.body, where, draw(st.sampled_from(HOSTILE_JSON)))
        else:
            case.body = BIG_BODY
        return case

    return cases()


def fuzz_hostile(
    schema, base_url: str, document: dict, headers: dict[str, str], statuses: dict[int, int]
) -> list[str]:
    """:func:`fuzz` with the hostile profile; ``statuses`` counts the answers by status."""
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        spec = document["paths"][operation.path][operation.method.lower()]
        query_names = [p["name"] for p in spec.get("parameters", []) if p["in"] == "query"]

        @given(case=hostile_cases(operation, query_names, headers))
        @settings(
            max_examples=HOSTILE_EXAMPLES,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case) -> None:
            response = case.call_and_validate(base_url=base_url, checks=CHECKS)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        try:
            run()
        except (Unsatisfiable, FailedHealthCheck):
            continue
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.label} [hostile]: {exc}")
    return failures


@pytest.fixture(scope="module")
def server(db_url: str) -> Iterator[str]:
    truncate_all(db_url)
    with db.transaction(db_url) as conn:
        load_layers(conn, LAYERS_DIR)
    with live_server(db_url, free_port()) as base:
        yield base


def test_no_input_breaks_the_api(server: str):
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    operations = [r.ok().label for r in schema.get_all_operations()]
    assert "GET /ogc/collections/{collection_id}/items" in operations
    failures = fuzz(schema, server, EXAMPLES)
    assert not failures, "\n\n".join(failures)


def test_the_ogc_document_describes_the_ogc_api(server: str):
    schema = schemathesis.openapi.from_url(f"{server}/ogc/api")
    operations = [r.ok().label for r in schema.get_all_operations()]
    assert operations and all(" /ogc" in label for label in operations)
    failures = fuzz(schema, server, 8)
    assert not failures, "\n\n".join(failures)


@pytest.mark.hostile
def test_hostile_input_breaks_nothing(server: str, db_url: str):
    """The hostile profile over every operation, with a real admin key (issue 14)."""
    with db.transaction(db_url) as conn:
        key, _ = keys.create_key(conn, "schemathesis", "admin")
    document = httpx.get(f"{server}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    statuses: dict[int, int] = {}
    failures = fuzz_hostile(schema, server, document, {"Authorization": f"Bearer {key}"}, statuses)
    print(f"hostile requests by status: {dict(sorted(statuses.items()))}")
    assert not failures, "\n\n".join(failures)
    assert sum(statuses.values()) > 100
    assert {413, 422, 404} <= set(statuses), statuses  # the edges were reached
