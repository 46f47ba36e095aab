"""The API process's cycle collector: a full collection does not look at every cached case
again (``infra.collector``)."""

from __future__ import annotations

import gc

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from infra import collector
from infra.settings import Settings


@pytest.fixture
def memory() -> Settings:
    return Settings(environment="test", database_url="sqlite:///:memory:")


def test_while_the_api_runs_the_survivors_of_a_full_collection_are_frozen(memory: Settings):
    with TestClient(create_app(memory)):
        gc.collect()
        during = gc.get_freeze_count()
    after = gc.get_freeze_count()

    assert during > 1000  # the process's objects, the API's among them
    assert after == 0  # the API stopped: nothing stays frozen


def test_every_so_often_a_full_collection_unfreezes_everything_instead(
    memory: Settings, monkeypatch: pytest.MonkeyPatch
):
    with TestClient(create_app(memory)):
        gc.collect()
        frozen = gc.get_freeze_count()
        monkeypatch.setattr(collector, "UNFREEZE_SECONDS", 0.0)
        gc.collect()  # its time has come: unfreezes, so that the next one looks at everything
        unfrozen = gc.get_freeze_count()

    assert frozen > 1000
    assert unfrozen == 0
