"""Liveness and readiness."""

from __future__ import annotations

import structlog
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import LedgerDep, ViewsDep
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
def ready(ledger: LedgerDep, views: ViewsDep) -> JSONResponse:
    """Readiness: the store answers; whether a projection runner follows the log (in this
    process or another: ``projections.presence``); each read model's position, lag (events,
    seconds) and error.

    503 when the store is down, when a read model has stopped on an error, or when no runner
    is running: in each case what the read-model routes answer is falling behind the log
    (writes still work). The body's ``status`` says which. Cases a read model could not lay
    out (``failing_cases``, the latest in ``failures``) do not make it unready: every other
    case is served, and those cases show their rows from before.
    """
    try:
        head = ledger.head()
        projections = {
            g.name: {**lag(ledger, g, head), **failing(views, g)} for g in active_generations(views)
        }
        runner = running(views)
    except Exception as e:  # the store is down: not ready; the detail is for the operators' log
        log.warning("ready_store_unavailable", error=str(e))
        reason = "the store cannot be reached (the server's log says why)"
        return JSONResponse({"status": "unavailable", "store": reason}, status_code=503)
    failed = [name for name, p in projections.items() if p["error"]]
    status = "projection_stopped" if failed else "ready" if runner else "projections_not_running"
    body = {
        "status": status,
        "store": {"position": head},
        "projections_running": runner,
        "projections": projections,
    }
    return JSONResponse(body, status_code=200 if status == "ready" else 503)
