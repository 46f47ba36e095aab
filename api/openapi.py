"""The OpenAPI document, made to say what the API does.

FastAPI's own document is close; this module corrects it in one place, after it is generated:

- **Errors are problem+json.** Every error status a route declares (``responses=problems(...)``
  on the route) and FastAPI's 422 are answered with ``application/problem+json`` and the
  ``Problem`` schema (``api.errors`` makes them).
- **Identity is a requirement.** Every ``/v1`` route requires a bearer token (``api.auth``):
  one security scheme, ``IDENTITY``.
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
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "a token of the configured identity provider, or of the embedded "
        "issuer: `caseledger token issue --sub ID --role ROLE --unit UNIT`",
    }
}
"""The security scheme every ``/v1`` route requires."""

DESCRIPTIONS = {
    400: "a request the API cannot read",
    401: "no valid identity (WWW-Authenticate says why)",
    403: "the caller's role or jurisdiction does not allow it (the refusal is recorded)",
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
            _identity(spec)
            _problem_json(spec)
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
    spec["components"].setdefault("securitySchemes", {}).update(IDENTITY)
    for path, operations in spec["paths"].items():
        if path.startswith("/v1/"):
            for op in operations.values():
                op["security"] = [{name: [] for name in IDENTITY}]
                for status in (401, 403, 503):  # any token, role, purpose; audit or keys down
                    op["responses"].setdefault(str(status), {"description": ""})


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
