"""Errors mapped at the edge to application/problem+json (RFC 9457)."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.auth import AuditUnavailable, IdentityUnavailable, Unauthenticated
from api.deps import Busy, InvalidQuery, ReadModelBehind
from api.limits import BodyTooLarge
from domain.errors import (
    CaseLedgerError,
    CaseNotFound,
    Conflict,
    Contention,
    FieldError,
    Forbidden,
    InvalidEvent,
    OutsideTheLog,
    UnitNotFound,
    UnresolvedReference,
)
from domain.personal import KeyUnavailable, TamperedField

log = structlog.get_logger()

STATUS: list[tuple[type[Exception], int]] = [
    (UnresolvedReference, 409),  # first: it is an InvalidEvent too (its fields are named)
    (InvalidEvent, 422),
    (InvalidQuery, 422),
    (ReadModelBehind, 503),
    (Busy, 503),
    (CaseNotFound, 404),
    (UnitNotFound, 404),
    (OutsideTheLog, 422),
    (Forbidden, 403),
    (AuditUnavailable, 503),
    (IdentityUnavailable, 503),
    (Conflict, 409),
    (Contention, 503),
    # the store's personal data cannot be opened: its integrity (a stored ciphertext altered
    # or moved) or the deployment's keys are at fault, never the request
    (TamperedField, 500),
    (KeyUnavailable, 503),
]


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    kind: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"/problems/{kind}",
        "title": title,
        "status": status,
        "detail": detail,
        **(extensions or {}),
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = list(loc)
    if len(parts) == 2 and parts[0] == "body" and isinstance(parts[1], int):
        return "body"  # malformed JSON: the position is not a field
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(str(p) for p in parts)


def _kind(exc: Exception) -> str:
    name = type(exc).__name__
    return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": _field(e["loc"]),
                "loc": list(e["loc"]),
                "message": e["msg"],
                "type": e["type"],
            }
            for e in exc.errors()
        ]
        return problem(
            422,
            "Invalid request",
            f"{len(errors)} invalid field(s): " + ", ".join(e["field"] for e in errors),
            kind="validation",
            errors=errors,
        )

    @app.exception_handler(Unauthenticated)
    async def unauthenticated(request: Request, exc: Unauthenticated) -> JSONResponse:
        description = exc.detail.replace('"', "'")
        challenge = f'Bearer error="{exc.error}", error_description="{description}"'
        return problem(
            401,
            "Not authenticated",
            exc.detail,
            kind="unauthenticated",
            errors=[{"field": "Authorization", "message": exc.detail}],
            headers={"WWW-Authenticate": challenge},
        )

    @app.exception_handler(CaseLedgerError)
    async def refused(request: Request, exc: CaseLedgerError) -> JSONResponse:
        status = next((s for cls, s in STATUS if isinstance(exc, cls)), 400)
        errors = None
        if isinstance(exc, InvalidEvent):
            errors = [_field_error(e) for e in exc.errors]
        elif exc.field:
            errors = [{"field": exc.field, "message": exc.detail}]
        retry_after = getattr(exc, "retry_after", 1)
        headers = {"Retry-After": str(retry_after)} if status == 503 else None
        return problem(
            status,
            _title(exc),
            exc.detail,
            kind=_kind(exc),
            errors=errors,
            headers=headers,
            extensions=exc.extensions,
        )

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        headers = {"Connection": "close"}
        return JSONResponse(
            exc.problem(), status_code=413, media_type="application/problem+json", headers=headers
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        # the framework's own headers stay (a 405's ``Allow``, RFC 9110)
        return problem(
            exc.status_code,
            str(exc.detail),
            str(exc.detail),
            kind="http",
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return problem(
            500, "Internal error", "the server failed; nothing was acknowledged", kind="internal"
        )


def _field_error(e: FieldError) -> dict[str, Any]:
    return {"field": _field(e.loc), "loc": list(e.loc), "message": e.msg, "type": e.type}


def _title(exc: Exception) -> str:
    return _kind(exc).replace("-", " ").capitalize()
