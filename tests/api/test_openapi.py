"""The OpenAPI document says what the API does: errors as problem+json, the identity headers as a
security requirement, each event type's data as its own schema; and ``/docs`` needs no CDN."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.events import CATALOGUE
from infra.settings import Settings


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = tmp_path_factory.mktemp("openapi") / "ledger.sqlite3"
    settings = Settings(environment="test", database_url=f"sqlite:///{path}")
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def spec(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), p, op) for p, ops in spec["paths"].items() for m, op in ops.items()]


def test_every_error_status_of_every_route_is_declared_as_problem_json(spec: dict) -> None:
    for method, path, op in operations(spec):
        errors = {s: r for s, r in op["responses"].items() if int(s) >= 400}
        if path.startswith("/v1"):
            assert "422" in errors, (method, path)
        for status, response in errors.items():
            assert list(response["content"]) == ["application/problem+json"], (method, path, status)
            assert response["content"]["application/problem+json"]["schema"] == {
                "$ref": "#/components/schemas/Problem"
            }


def test_writes_declare_the_idempotent_200_and_the_refusals_they_can_answer(spec: dict) -> None:
    append = spec["paths"]["/v1/cases/{case_id}/events"]["post"]["responses"]

    assert {"200", "201", "401", "404", "409", "413", "422", "503"} <= set(append)
    assert "repeat" in append["200"]["description"]


def test_every_v1_operation_requires_a_bearer_token_and_may_answer_401_and_403(
    spec: dict,
) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes == {"bearer": {**schemes["bearer"], "type": "http", "scheme": "bearer"}}
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if not path.startswith("/v1/"):
                assert "security" not in op, (method, path)
                continue
            assert op["security"] == [{"bearer": []}], (method, path)
            assert {"401", "403"} <= set(op["responses"]), (method, path)
            headers = [p["name"].lower() for p in op.get("parameters", []) if p["in"] == "header"]
            assert "authorization" not in headers, (method, path)


def test_each_event_type_has_its_data_schema_in_a_union_discriminated_by_type(spec: dict) -> None:
    schemas = spec["components"]["schemas"]
    union = schemas["EventAppend"]
    mapping = union["discriminator"]["mapping"]

    assert union["discriminator"]["propertyName"] == "type"
    assert set(mapping) == set(CATALOGUE)
    variant = schemas[mapping["DrugTestRecorded"].rsplit("/", 1)[1]]
    assert variant["properties"]["type"]["const"] == "DrugTestRecorded"
    data = schemas[variant["properties"]["data"]["$ref"].rsplit("/", 1)[1]]
    assert {"sample", "substances", "result"} <= set(data["properties"])
    assert set(schemas["BatchEvent"]["discriminator"]["mapping"]) == set(CATALOGUE)


def test_the_docs_page_loads_its_assets_from_the_app_itself(client: TestClient) -> None:
    page = client.get("/docs")

    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "https://" not in page.text.split("<body")[0]
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        url = next(part.split('"')[0] for part in page.text.split('"') if asset in part)
        assert client.get(url).status_code == 200, url


def test_a_method_a_route_does_not_take_is_405_with_the_allowed_methods(client: TestClient) -> None:
    response = client.request("TRACE", "/health")

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert response.headers["content-type"] == "application/problem+json"
