"""The global event log, for downstream systems."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from api.auth import Access, Guard, redact_data
from api.deps import BIGINT, LedgerDep, known_query_only
from api.openapi import problems
from api.routes.caseloads import UNIT_DESCRIPTION
from api.schemas import LogEventPublic, LogPagePublic
from domain.errors import FieldError, InvalidEvent
from domain.events import CATALOGUE, UNIT_CODE_PATTERN
from domain.policy import Reach, reach_of

router = APIRouter(prefix="/v1/events", tags=["events"], dependencies=[Depends(known_query_only)])

_ANY_TYPE = "|".join(sorted(CATALOGUE))
TYPES_PATTERN = f"^({_ANY_TYPE})(,({_ANY_TYPE}))*$"
"""What ``types`` may hold: names of the catalogue, comma-separated."""

SCAN_PAGES = 10
"""How many pages of the log one request reads at most while looking for ``limit`` events of
the unit asked for; ``next_after`` then says where the next request goes on."""


@router.get("", response_model=LogPagePublic, responses=problems(401, 422))
def read_log(
    ledger: LedgerDep,
    access: Annotated[Access, Depends(Guard("log"))],
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
    unit: Annotated[
        str | None,
        Query(pattern=UNIT_CODE_PATTERN, description=UNIT_DESCRIPTION + "; default: the caller's"),
    ] = None,
) -> LogPagePublic:
    """The global log after a position, in order; never skips an event that commits later.

    Only events of cases reached from ``unit`` (managed, handled or formerly managed there,
    ``domain/policy.py``), which must lie in the caller's subtree; personal fields
    ``[restricted]`` for roles not entitled to them."""
    wanted = types.split(",") if types is not None else []
    unknown = [t for t in wanted if t not in CATALOGUE]
    if unknown:
        raise InvalidEvent(
            f"unknown event type(s): {', '.join(map(repr, unknown))}",
            [FieldError(("types",), f"not a type of the case event catalogue: {unknown[0]!r}")],
        )
    unit = unit or access.principal.unit
    access.unit(unit)
    reaches: dict[UUID, tuple[Reach, bool]] = {}
    events: list[LogEventPublic] = []
    scanned = after
    for _ in range(SCAN_PAGES):
        page = ledger.log_after(scanned, limit, wanted)
        for logged in page:
            scanned = logged.position
            case_id = UUID(logged.entry.case_id)
            if case_id not in reaches:  # the case as it is now
                current = ledger.get_case(case_id)
                reaches[case_id] = (reach_of(current.entries), access.sees_personal(current.state))
            reach, shown = reaches[case_id]
            if not reach.readable_by(unit):
                continue
            event = LogEventPublic(
                **LogEventPublic.fields_of(logged.entry),
                position=logged.position,
                hash=logged.hash.hex(),
                pseudonym=access.pseudonym(case_id),
            )
            if not shown:
                event.data = redact_data(logged.entry.type, dict(logged.entry.data))
            events.append(event)
            if len(events) == limit:
                break
        if len(events) == limit or len(page) < limit:
            break
    access.read(
        (e.case_id for e in events),
        first_position=events[0].position if events else None,
        last_position=events[-1].position if events else None,
    )
    return LogPagePublic(events=events, next_after=scanned)
