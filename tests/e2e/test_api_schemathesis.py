"""Property-based run of schemathesis over the whole API: no input may cause a server error.

Schemathesis generates valid and malformed requests for every operation in ``/openapi.json``
(every registered router) and in the OGC document ``/ogc/api``, sends them to a real uvicorn
server on a loaded database, and checks: no 5xx, status codes and content types documented,
bodies conforming to the documented schemas (problem+json for errors).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import FailedHealthCheck, Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

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
