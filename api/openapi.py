"""The OpenAPI document, made to say what the API does.

FastAPI's own document is close; this module corrects it in one place, after it is generated:

- **Errors are problem+json.** Every error status a route declares (``responses=problems(...)``
  on the route) and FastAPI's 422 are answered with ``application/problem+json`` and the
  ``Problem`` schema (``api.errors`` makes them).
- **Identity is a requirement, not three optional headers.** The headers ``X-Actor-Id``,
  ``X-Actor-Role`` and ``X-Actor-Unit`` (``api.deps.get_actor``) are one security requirement
  (all three together); the parameters FastAPI lists for them go. Verified tokens replace them
  by changing ``IDENTITY``.
- **Each event type's data has its own schema.** A body with ``type`` and ``data``
  (``EventAppend``, ``BatchEvent``) is a union discriminated by ``type``: one variant per
  catalogue type, whose ``data`` is that type's model, so ``/docs`` shows every field of every
  type. The route still validates ``data`` against the catalogue itself (``NewEvent.parse``),
  which names the fields of a refusal as ``data.<field>``.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from domain.events import CATALOGUE

REF = "#/components/schemas/{model}"

IDENTITY: dict[str, dict[str, Any]] = {
    f"Actor{part}": {"type": "apiKey", "in": "header", "name": f"X-Actor-{part}"}
    for part in ("Id", "Role", "Unit")
}
"""The security schemes every ``/v1`` route requires, all together."""

DESCRIPTIONS = {
    400: "a request the API cannot read",
    401: "no valid identity",
    404: "no such case",
    409: "refused: it conflicts with what is recorded (the body names the field)",
    413: "the request body is larger than the configured limit",
    422: "invalid input: the body names each field",
    429: "too many requests; retry after the time given",
    503: "not now: retry after the time given (Retry-After)",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: these error statuses, each a problem+json answer."""
    return {status: {"description": DESCRIPTIONS[status]} for status in statuses}


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _problem_json(spec)
            _identity(spec)
            _event_types(spec)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for path in spec["paths"].values() for op in path.values()]


def _problem_json(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    schemas["Problem"] = {
        "title": "Problem",
        "type": "object",
        "description": "RFC 9457 problem details; ``errors`` names each field at fault",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {
                        "field": {"type": "string"},
                        "message": {"type": "string"},
                        "loc": {"type": "array", "items": {}},
                        "type": {"type": "string"},
                    },
                },
            },
        },
    }
    problem = {"application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}}
    for op in _operations(spec):
        for status, response in op["responses"].items():
            if int(status) >= 400:
                response["content"] = deepcopy(problem)
                response["description"] = DESCRIPTIONS.get(int(status), response["description"])
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


def _identity(spec: dict[str, Any]) -> None:
    headers = {scheme["name"].lower() for scheme in IDENTITY.values()}
    spec["components"].setdefault("securitySchemes", {}).update(IDENTITY)
    for op in _operations(spec):
        parameters = op.get("parameters", [])
        kept = [p for p in parameters if not (p["in"] == "header" and p["name"] in headers)]
        if len(kept) != len(parameters):
            op["parameters"] = kept
            op["security"] = [{name: [] for name in IDENTITY}]
            if not kept:
                del op["parameters"]


def _event_types(spec: dict[str, Any]) -> None:
    """Replace each ``{type, data}`` body schema by a union discriminated by ``type``."""
    schemas = spec["components"]["schemas"]
    for event_type in CATALOGUE.values():
        found = event_type.model.model_json_schema(ref_template=REF)
        for name, schema in found.pop("$defs", {}).items():
            schemas.setdefault(name, schema)
        schemas[event_type.name] = found
    for body in ("EventAppend", "BatchEvent"):
        generic = schemas.pop(body, None)
        if generic is None:
            continue
        variants = {}
        for name in CATALOGUE:
            variant = deepcopy(generic)
            variant["title"] = f"{body} of {name}"
            variant["properties"]["type"] = {"const": name, "type": "string"}
            variant["properties"]["data"] = {"$ref": REF.format(model=name)}
            if schemas[name].get("required"):  # a type with required fields needs its data
                variant["required"] = sorted({*variant.get("required", []), "data"})
            variants[name] = f"{body}.{name}"
            schemas[f"{body}.{name}"] = variant
        schemas[body] = {
            "title": body,
            "description": generic.get("description", ""),
            "oneOf": [{"$ref": REF.format(model=ref)} for ref in variants.values()],
            "discriminator": {
                "propertyName": "type",
                "mapping": {name: REF.format(model=ref) for name, ref in variants.items()},
            },
        }
