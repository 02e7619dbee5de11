"""What the API tests share: the app in-process on the shipped layers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app


@pytest.fixture
def client(loaded_db: str) -> Iterator[TestClient]:
    """The app on the shipped layers (a test file may define its own ``client`` instead)."""
    with TestClient(create_app(database_url=loaded_db)) as c:
        yield c
