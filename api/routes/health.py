"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.auth import get_principal
from api.deps import LedgerDep, ViewsDep
from api.routes.emergency import unreviewed_older_than
from projections.freshness import failing, lag
from projections.generations import active_generations
from projections.presence import running

log = structlog.get_logger("caseledger.http")

router = APIRouter(tags=["operations"])


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready")
def ready(request: Request, ledger: LedgerDep, views: ViewsDep) -> JSONResponse:
    """Readiness: the store answers; whether a projection runner follows the log (in this
    process or another: ``projections.presence``); each read model's position and lag (events,
    seconds); emergency grants left unreviewed too long.

    503 when the store is down, when a read model has stopped on an error, or when no runner
    is running: in each case what the read-model routes answer is falling behind the log
    (writes still work). The body's ``status`` says which. Cases a read model could not lay
    out (``failing_cases``) do not make it unready: every other case is served.

    Open to probes without a token; the errors themselves (the database's message, the failing
    cases and the events they stopped at) only to a caller whose token's role may read
    ``operations`` (``admin``): others get a generic reason.
    """
    operator = _operator(request)
    try:
        head = ledger.head()
        projections = {
            g.name: {**lag(ledger, g, head), **failing(views, g)} for g in active_generations(views)
        }
        runner = running(views)
        overdue = unreviewed_older_than(ledger, request.app.state.settings.emergency_review_days)
    except Exception as e:  # the store is down: not ready
        log.warning("ready_store_unavailable", error=str(e))
        reason = str(e) if operator else "the store cannot be reached (the server's log says why)"
        return JSONResponse({"status": "unavailable", "store": reason}, status_code=503)
    failed = [name for name, p in projections.items() if p["error"]]
    status = "projection_stopped" if failed else "ready" if runner else "projections_not_running"
    if not operator:
        for p in projections.values():
            _generic(p)
    body = {
        "status": status,
        "store": {"position": head},
        "projections_running": runner,
        "projections": projections,
        "emergency_grants_unreviewed_overdue": overdue,
    }
    return JSONResponse(body, status_code=200 if status == "ready" else 503)


def _operator(request: Request) -> bool:
    if "authorization" not in request.headers:
        return False
    try:
        principal = get_principal(
            request, request.headers["authorization"], request.headers.get("x-purpose-of-use")
        )
    except Exception:  # a bad token on a probe: answered as to anyone
        return False
    return "operations" in principal.role.reads


def _generic(projection: dict[str, Any]) -> None:
    if projection["error"]:
        projection["error"] = "stopped on an error (details for operators)"
    projection["failures"] = []
