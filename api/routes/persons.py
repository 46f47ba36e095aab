"""A data subject's requests (Law 91/2025/QH15, Decree 356/2025), answered by the data
protection officer: erasure, and the report of what is held and who read it.

Erasure (``POST /v1/persons/{case_id}/erasure``) destroys the person's data key and records
``PersonalDataErased``: the events stay, chained and verifiable, their personal fields read
``[erased]`` for good. While a legal hold applies (the case still managed, a dossier being
compiled, a court procedure not ended, the retention period of settings) nothing is erased:
the request is recorded as ``PersonalDataRestricted``, processing is restricted (only the data
protection officer reads the fields) and the answer is 409 naming the holds. Asking again once
they have ended erases.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from api.auth import Access, Guard, actor_of
from api.deps import LedgerDep, known_query_only
from api.openapi import problems
from api.report_pdf import render
from api.schemas import (
    ErasurePublic,
    ErasureRequest,
    PersonReportPublic,
    ReportedAccessPublic,
    ReportedEntryPublic,
)
from domain.application import CaseLedger
from domain.policy import reach_of

router = APIRouter(
    prefix="/v1/persons", tags=["personal data"], dependencies=[Depends(known_query_only)]
)

DataProtection = Annotated[Access, Depends(Guard("data_subject_requests"))]


@router.post(
    "/{case_id}/erasure",
    response_model=ErasurePublic,
    responses=problems(400, 401, 404, 409, 413, 422),
)
def erase(
    case_id: UUID, body: ErasureRequest, ledger: LedgerDep, access: DataProtection, request: Request
) -> ErasurePublic:
    """Erase the person's personal data (crypto-shredding), unless a legal hold applies: then
    409 naming the holds, and processing is restricted instead. Repeating an erasure answers
    the one done."""
    access.case(case_id, reach_of(ledger.get_case(case_id).entries))
    recorded = ledger.erase_person(
        case_id,
        actor_of(access.principal),
        body.request_reference,
        body.basis,
        request.app.state.settings.personal_data_retention_days,
        correlation_id=getattr(request.state, "request_id", None),
    )
    return ErasurePublic(
        case_id=case_id,
        pseudonym=ledger.pseudonym(case_id),
        status="erased",
        event_id=recorded.event_id,
        version=recorded.version,
        position=recorded.position,
    )


@router.get(
    "/{case_id}/report",
    response_model=PersonReportPublic,
    responses={
        **problems(401, 404, 422),
        200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
    },
)
def report(
    case_id: UUID,
    ledger: LedgerDep,
    access: DataProtection,
    format: Annotated[
        Literal["json", "pdf"],
        Query(description="`pdf`: a document to hand the person, labelled in Vietnamese"),
    ] = "json",
) -> PersonReportPublic | Response:
    """What is held about the person (personal fields decrypted, or ``[erased]``), and every
    access to their record: who, when, for what purpose; as JSON, or as a PDF to hand them
    (``format=pdf``). The report's own reading is recorded before it leaves, and appears in
    the next one."""
    record = ledger.get_case(case_id)
    outcome = access.case(case_id, reach_of(record.entries))
    state = record.state
    accesses = _accesses(ledger, case_id)
    access.read([case_id], outcome=outcome)
    public = PersonReportPublic(
        case_id=case_id,
        pseudonym=ledger.pseudonym(case_id),
        generated_at=datetime.now(UTC),
        personal_data="erased" if state.erased else "restricted" if state.restriction else "shown",
        restriction=state.restriction,
        person=state.person,
        entries=[
            ReportedEntryPublic(
                event_id=e.event_id,
                version=e.version,
                type=e.type,
                occurred_at=e.occurred_at,
                recorded_at=e.recorded_at,
                recorded_by=e.actor,
                data=e.data,
            )
            for e in record.entries
        ],
        accesses=accesses,
    )
    if format == "pdf":
        return Response(
            render(public.model_dump(mode="json")),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{public.pseudonym}.pdf"'},
        )
    return public


def _accesses(ledger: CaseLedger, case_id: UUID) -> list[ReportedAccessPublic]:
    found: list[ReportedAccessPublic] = []
    after = 0
    while True:
        page = ledger.access_entries(case_id=case_id, after=after, limit=1000)
        found += [ReportedAccessPublic.model_validate(r.entry, from_attributes=True) for r in page]
        if len(page) < 1000:
            return found
        after = page[-1].position
