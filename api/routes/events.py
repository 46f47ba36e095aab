"""The global event log, for downstream systems."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import ActorDep, LedgerDep
from api.schemas import LogEventPublic, LogPagePublic
from domain.errors import FieldError, InvalidEvent
from domain.events import CATALOGUE

router = APIRouter(prefix="/v1/events", tags=["events"])


@router.get("", response_model=LogPagePublic)
def read_log(
    ledger: LedgerDep,
    actor: ActorDep,
    after: Annotated[int, Query(ge=0, description="the last position already read")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    types: Annotated[
        str | None, Query(description="comma-separated event types, e.g. CaseOpened,CaseClosed")
    ] = None,
) -> LogPagePublic:
    """The global log after a position, in order; never skips an event that commits later."""
    wanted = [t.strip() for t in types.split(",") if t.strip()] if types else []
    unknown = [t for t in wanted if t not in CATALOGUE]
    if unknown:
        raise InvalidEvent(
            f"unknown event type(s): {', '.join(unknown)}",
            [FieldError(("types",), f"not a type of the case event catalogue: {unknown[0]}")],
        )
    notifications: list[Any] = ledger.recorder.select_notifications(
        start=after, limit=limit, topics=wanted, inclusive_of_start=False
    )
    events = [
        LogEventPublic(
            **LogEventPublic.fields_of(ledger.mapper.to_domain_event(n).entry()),  # type: ignore[attr-defined]
            position=n.id,
            hash=n.hash.hex(),
        )
        for n in notifications
    ]
    return LogPagePublic(events=events, next_after=events[-1].position if events else after)
