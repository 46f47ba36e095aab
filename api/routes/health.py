"""Liveness and readiness."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import LedgerDep, ViewsDep
from domain.application import CaseLedger
from projections.presence import running
from projections.runtime import State, states

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
    (writes still work). The body's ``status`` says which.
    """
    try:
        head = int(ledger.recorder.max_notification_id() or 0)
        projections = {s.name: _lag(ledger, s, head) for s in states(views)}
        runner = running(views)
    except Exception as e:  # the store is down: not ready, say why
        return JSONResponse({"status": "unavailable", "store": str(e)}, status_code=503)
    failed = [name for name, p in projections.items() if p["error"]]
    status = "projection_stopped" if failed else "ready" if runner else "projections_not_running"
    body = {
        "status": status,
        "store": {"position": head},
        "projections_running": runner,
        "projections": projections,
    }
    return JSONResponse(body, status_code=200 if status == "ready" else 503)


def _lag(ledger: CaseLedger, state: State, head: int) -> dict[str, Any]:
    behind = max(head - state.position, 0)
    seconds = 0.0
    if behind:
        oldest = ledger.recorder.select_notifications(
            start=state.position, limit=1, inclusive_of_start=False
        )
        if oldest:
            recorded = ledger.mapper.to_domain_event(oldest[0]).timestamp
            seconds = max((datetime.now(UTC) - recorded).total_seconds(), 0.0)
    return {
        "generation": state.generation,
        "position": state.position,
        "lag_events": behind,
        "lag_seconds": round(seconds, 3),
        "updated_at": state.updated_at,
        "error": state.error,
        "stopped_at_position": state.error_position,
    }
