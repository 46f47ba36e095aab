"""The API on the test's store (SQLite and PostgreSQL), its runner inside the process as
``make run`` has it. A module that needs other settings defines its own ``client``.

The client presents a commune police officer's token of unit ``01.004.00127`` unless a
request gives other headers (``tests.tokens.bearer``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from infra.settings import Settings
from tests.api.identity import IDENTITY


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), headers=IDENTITY) as client:
        yield client
