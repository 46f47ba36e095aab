"""The global event log, for downstream systems."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import BIGINT, ActorDep, LedgerDep, known_query_only
from api.openapi import problems
from api.schemas import LogEventPublic, LogPagePublic
from domain.errors import FieldError, InvalidEvent
from domain.events import CATALOGUE

router = APIRouter(prefix="/v1/events", tags=["events"], dependencies=[Depends(known_query_only)])

_ANY_TYPE = "|".join(sorted(CATALOGUE))
TYPES_PATTERN = f"^({_ANY_TYPE})(,({_ANY_TYPE}))*$"
"""What ``types`` may hold: names of the catalogue, comma-separated."""


@router.get("", response_model=LogPagePublic, responses=problems(401, 422))
def read_log(
    ledger: LedgerDep,
    actor: ActorDep,
    after: Annotated[int, Query(ge=0, le=BIGINT, description="the last position already read")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    types: Annotated[
        str | None,
        Query(
            description="comma-separated event types, e.g. CaseOpened,CaseClosed",
            # in the document only: the route names an unknown type itself (422)
            json_schema_extra={"pattern": TYPES_PATTERN},
        ),
    ] = None,
) -> LogPagePublic:
    """The global log after a position, in order; never skips an event that commits later."""
    wanted = types.split(",") if types is not None else []
    unknown = [t for t in wanted if t not in CATALOGUE]
    if unknown:
        raise InvalidEvent(
            f"unknown event type(s): {', '.join(map(repr, unknown))}",
            [FieldError(("types",), f"not a type of the case event catalogue: {unknown[0]!r}")],
        )
    events = [
        LogEventPublic(
            **LogEventPublic.fields_of(logged.entry),
            position=logged.position,
            hash=logged.hash.hex(),
        )
        for logged in ledger.log_after(after, limit, wanted)
    ]
    return LogPagePublic(events=events, next_after=events[-1].position if events else after)
