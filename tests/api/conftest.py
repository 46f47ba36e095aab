"""The API on the test's store (SQLite and PostgreSQL), its runner inside the process as
``make run`` has it. A module that needs other settings defines its own ``client``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from infra.settings import Settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client
