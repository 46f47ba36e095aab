"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import LedgerDep

router = APIRouter(tags=["operations"])


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready")
def ready(ledger: LedgerDep) -> JSONResponse:
    """Readiness: the event store answers; reports the last global position."""
    try:
        position = ledger.recorder.max_notification_id()
    except Exception as e:  # the store is down: not ready, say why
        return JSONResponse({"status": "unavailable", "store": str(e)}, status_code=503)
    return JSONResponse({"status": "ready", "store": {"position": position or 0}})
