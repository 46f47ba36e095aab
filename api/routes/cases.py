"""Recording and reading a case."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import AwareDatetime

from api.auth import Access, Guard, actor_of, redact_entry_data, redact_person
from api.deps import LedgerDep, ReadAfter, RequestIdDep, ViewsDep, known_query_only
from api.openapi import problems
from api.schemas import (
    BatchAppend,
    BatchEvent,
    BatchRecordedPublic,
    CaseOpen,
    CasePublic,
    DossierPublic,
    EventAppend,
    EventPublic,
    FindingPublic,
    HistoryPublic,
    RecordedPublic,
    ReferralPublic,
    TimelinePublic,
    TimelineStepPublic,
)
from domain.access import Outcome
from domain.application import CaseRecord, Recorded, in_batch
from domain.case import NewEvent
from domain.errors import Forbidden, InvalidEvent
from domain.events import OccurredAt
from domain.policy import authorize_recording, reach_of
from domain.state import Entry
from projections import inspections, timeline

REPEAT = "a repeat of events already recorded with these event ids: the original result"
REPEAT_OF_RECORDED: dict[int | str, dict[str, object]] = {
    200: {"model": RecordedPublic, "description": REPEAT}
}

router = APIRouter(prefix="/v1/cases", tags=["cases"], dependencies=[Depends(known_query_only)])

Recording = Annotated[Access, Depends(Guard(None))]
Reading = Annotated[Access, Depends(Guard("case"))]


def _authorizer(access: Access) -> Callable[[Sequence[Entry], Sequence[NewEvent]], None]:
    """The write check run under the case's lock; a refusal is recorded, then answered 403."""

    refused: list[Forbidden] = []

    def authorize(entries: Sequence[Entry], events: Sequence[NewEvent]) -> None:
        if refused:  # judged again on the store's copy of the case: recorded once already
            raise refused[0]
        try:
            authorize_recording(access.policy, access.principal, entries, events)
        except Forbidden as e:
            refused.append(e)
            case_ids = (UUID(entries[0].case_id),) if entries else ()
            access.refuse(e.detail, case_ids=case_ids, field=e.field)

    return authorize


def _new_event(body: EventAppend | BatchEvent) -> NewEvent:
    return NewEvent.parse(
        body.type,
        body.occurred_at,
        body.data,
        event_id=body.event_id,
        acting_body=body.acting_body,
        document=body.document,
        legal_basis=body.legal_basis,
        unit_codes_as_of=body.unit_codes_as_of,
    )


def _public(recorded: Recorded) -> RecordedPublic:
    return RecordedPublic(
        case_id=recorded.case_id,
        version=recorded.version,
        event_id=recorded.event_id,
        position=recorded.position,
    )


@router.post(
    "",
    status_code=201,
    response_model=RecordedPublic,
    responses={**REPEAT_OF_RECORDED, **problems(400, 401, 409, 413, 422, 503)},
)
def open_case(
    body: CaseOpen,
    ledger: LedgerDep,
    access: Recording,
    request_id: RequestIdDep,
    response: Response,
) -> RecordedPublic:
    """Open a case with its CaseOpened event (201; 200 for a repeat with the same event_id).
    The managing unit must lie in the caller's subtree."""
    new = NewEvent.parse(
        "CaseOpened",
        body.occurred_at,
        body.model_dump(mode="json", include={"person", "source", "managing_unit"}),
        event_id=body.event_id,
        acting_body=body.acting_body,
        document=body.document,
        legal_basis=body.legal_basis,
        unit_codes_as_of=body.unit_codes_as_of,
    )
    _authorizer(access)([], [new])
    recorded = ledger.open_case(
        new,
        actor_of(access.principal),
        case_id=body.case_id,
        client_event_id=body.event_id is not None,
        correlation_id=request_id,
    )
    response.headers["Location"] = f"/v1/cases/{recorded.case_id}"
    if not recorded.created:
        response.status_code = status.HTTP_200_OK
    return _public(recorded)


@router.post(
    "/{case_id}/events",
    status_code=201,
    response_model=RecordedPublic,
    responses={**REPEAT_OF_RECORDED, **problems(400, 401, 404, 409, 413, 422, 503)},
)
def append_event(
    case_id: UUID,
    body: EventAppend,
    ledger: LedgerDep,
    access: Recording,
    request_id: RequestIdDep,
    response: Response,
) -> RecordedPublic:
    """Append one event (201; 200 with the original result for a repeat with the same event_id).
    The caller's role must record its type, and the case be managed or handled in the caller's
    subtree (``domain/policy.py``)."""
    [recorded] = ledger.append(
        case_id,
        [_new_event(body)],
        actor_of(access.principal),
        expected_version=body.expected_version,
        correlation_id=request_id,
        causation_id=body.causation_id,
        authorize=_authorizer(access),
    )
    if not recorded.created:
        response.status_code = status.HTTP_200_OK
    return _public(recorded)


@router.post(
    "/{case_id}/events:batch",
    status_code=201,
    response_model=BatchRecordedPublic,
    responses={
        200: {"model": BatchRecordedPublic, "description": REPEAT},
        **problems(400, 401, 404, 409, 413, 422, 503),
    },
)
def append_batch(
    case_id: UUID,
    body: BatchAppend,
    ledger: LedgerDep,
    access: Recording,
    request_id: RequestIdDep,
    response: Response,
) -> BatchRecordedPublic:
    """Append several events to one case atomically: all are recorded, or none."""
    events = []
    for i, item in enumerate(body.events):
        try:
            events.append(_new_event(item))
        except InvalidEvent as e:
            raise in_batch(e, i) from None
    recorded = ledger.append(
        case_id,
        events,
        actor_of(access.principal),
        expected_version=body.expected_version,
        correlation_id=request_id,
        causation_id=body.causation_id,
        authorize=_authorizer(access),
    )
    if not recorded[0].created:
        response.status_code = status.HTTP_200_OK
    return BatchRecordedPublic(
        case_id=case_id, version=recorded[-1].version, events=[_public(r) for r in recorded]
    )


@router.get("/{case_id}", response_model=CasePublic, responses=problems(404, 422))
def get_case(
    case_id: UUID,
    ledger: LedgerDep,
    access: Reading,
    as_of: Annotated[OccurredAt | None, Query(description="the record as it stood then")] = None,
) -> CasePublic:
    """The current state of a case, or its state as recorded up to ``as_of``."""
    current = ledger.get_case(case_id)  # jurisdiction is judged on the case as it is now
    outcome = _check(access, current)
    record = ledger.get_case(case_id, as_of=as_of) if as_of else current
    shown = access.sees_personal(current.state)  # a restriction holds for earlier states too
    public = _case_public(record, as_of, access.pseudonym(case_id), _disclosure(current, shown))
    if not shown:
        public.person = redact_person(public.person)
    access.read([case_id], outcome=outcome)
    return public


def _check(access: Access, record: CaseRecord) -> Outcome:
    return access.case(record.case_id, reach_of(record.entries))


@router.get(
    "/{case_id}/timeline", response_model=TimelinePublic, responses=problems(401, 404, 422, 503)
)
def get_timeline(
    case_id: UUID,
    ledger: LedgerDep,
    views: ViewsDep,
    access: Reading,
    position: Annotated[int, Depends(ReadAfter("timeline", "inspections"))],
) -> TimelinePublic:
    """The legal-process timeline: each step, the deadline that applied, met or not; findings."""
    outcome = _check(access, ledger.get_case(case_id))  # 404 if there is no such case
    steps = timeline.of_case(views, str(case_id))
    access.read([case_id], outcome=outcome)
    return TimelinePublic(
        position=position,
        case_id=case_id,
        steps=[TimelineStepPublic(**s) for s in steps],
        pseudonym=access.pseudonym(case_id),
        findings=[
            FindingPublic(**f, pseudonym=access.pseudonym(case_id))
            for f in inspections.of_case(views, str(case_id))
        ],
    )


@router.get("/{case_id}/history", response_model=HistoryPublic, responses=problems(404, 422))
def get_history(case_id: UUID, ledger: LedgerDep, access: Reading) -> HistoryPublic:
    """Every event of the case, in order, with its envelope, global position and hash
    (personal fields ``[restricted]`` for roles not entitled to them)."""
    record = ledger.get_case(case_id)
    outcome = _check(access, record)
    seals = ledger.seals(case_id)
    corrected_by: dict[str, list[str]] = {}
    for c in record.state.corrections:
        corrected_by.setdefault(c["corrects_event_id"], []).append(c["event_id"])
    events = [
        EventPublic(
            **EventPublic.fields_of(e),
            position=seals[e.version].position if e.version in seals else None,
            voided=e.event_id in record.state.voided,
            corrected_by=corrected_by.get(e.event_id, []),
            hash=seals[e.version].hash if e.version in seals else None,
        )
        for e in record.entries
    ]
    if not access.sees_personal(record.state):
        for public, entry in zip(events, record.entries, strict=True):
            public.data = redact_entry_data(entry)
    access.read([case_id], outcome=outcome)
    return HistoryPublic(
        case_id=case_id, pseudonym=access.pseudonym(case_id), version=record.version, events=events
    )


def _disclosure(record: CaseRecord, shown: bool) -> Literal["shown", "restricted", "erased"]:
    if record.state.erased:
        return "erased"
    return "shown" if shown else "restricted"


def _case_public(
    record: CaseRecord,
    as_of: AwareDatetime | None,
    pseudonym: str,
    disclosure: Literal["shown", "restricted", "erased"],
) -> CasePublic:
    state = record.state
    dossier = state.open_dossier
    return CasePublic(
        case_id=record.case_id,
        pseudonym=pseudonym,
        personal_data=disclosure,
        version=record.version,
        as_of=as_of,
        stage=state.stage,
        managing_unit=state.managing_unit,
        person=state.person,
        assignee=state.assignee,
        closed=state.closed,
        closure=state.closure,
        open_referrals=[ReferralPublic(**vars(r)) for r in state.open_referrals],
        open_dossier=(
            DossierPublic(
                **{k: v for k, v in vars(dossier).items() if k != "seen" and k != "closed"}
            )
            if dossier
            else None
        ),
        corrections=state.corrections,
        voided_event_ids=sorted(state.voided),
    )
