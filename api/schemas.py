"""Request and response schemas, named by role (``CaseOpen``, ``CasePublic``, ``EventPublic``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.events import CATALOGUE, ActingBody, CaseOpened, Document, LegalBasis
from domain.state import Entry


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    occurred_at: AwareDatetime = Field(description="when it happened (RFC 3339 with offset)")
    event_id: UUID | None = Field(
        default=None, description="client-chosen id: a retry with the same id is safe"
    )
    acting_body: ActingBody | None = None
    document: Document | None = None
    legal_basis: LegalBasis | None = None


class CaseOpen(_Envelope, CaseOpened):
    """The CaseOpened data plus the envelope; ``case_id`` is optional."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    case_id: UUID | None = None


EventType = Literal[tuple(CATALOGUE)]  # type: ignore[valid-type]
"""The stable type names of the case event catalogue."""


class EventAppend(_Envelope):
    type: EventType = Field(description="a type of the case event catalogue, e.g. ReferralMade")
    data: dict[str, Any] = Field(default_factory=dict, description="the type's own fields")
    expected_version: int | None = Field(default=None, ge=0)
    causation_id: str | None = Field(default=None, max_length=128)


class BatchEvent(_Envelope):
    type: EventType
    data: dict[str, Any] = Field(default_factory=dict)


class BatchAppend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[BatchEvent] = Field(min_length=1, max_length=500)
    expected_version: int | None = Field(default=None, ge=0)
    causation_id: str | None = Field(default=None, max_length=128)


class RecordedPublic(BaseModel):
    case_id: UUID
    version: int
    event_id: str
    position: int | None


class BatchRecordedPublic(BaseModel):
    case_id: UUID
    version: int
    events: list[RecordedPublic]


class ReferralPublic(BaseModel):
    referral_id: str
    service: str
    provider: str
    status: str
    made_at: datetime


class DossierPublic(BaseModel):
    dossier_id: str
    route: str
    ground: str
    status: str
    opened_at: datetime
    court_case_no: str | None
    ordinance: str | None
    decision: str | None
    term_months: int | None
    interim_form: str | None


class CasePublic(BaseModel):
    case_id: UUID
    version: int
    as_of: datetime | None = Field(description="the record as it stood at this time, if asked")
    stage: str
    managing_unit: str
    person: dict[str, Any]
    assignee: dict[str, Any] | None
    closed: bool
    closure: dict[str, Any] | None
    open_referrals: list[ReferralPublic]
    open_dossier: DossierPublic | None
    corrections: list[dict[str, Any]]
    voided_event_ids: list[str]


class _RecordedEvent(BaseModel):
    """An event as recorded: its envelope and its data."""

    event_id: str
    case_id: UUID
    version: int
    type: str
    schema_version: int
    occurred_at: datetime
    recorded_at: datetime
    actor: dict[str, Any]
    acting_body: dict[str, Any] | None
    document: dict[str, Any] | None
    legal_basis: dict[str, Any] | None
    correlation_id: str | None
    causation_id: str | None
    data: dict[str, Any]

    @staticmethod
    def fields_of(entry: Entry) -> dict[str, Any]:
        return {name: getattr(entry, name) for name in _RecordedEvent.model_fields}


class EventPublic(_RecordedEvent):
    position: int | None
    voided: bool = Field(description="an EntryVoided in force voids this event")
    corrected_by: list[str] = Field(description="ids of EntryCorrected events in force on it")
    hash: str | None = Field(
        description="SHA-256 (hex) over this event's stored bytes and the previous event's hash"
    )


class HistoryPublic(BaseModel):
    case_id: UUID
    version: int
    events: list[EventPublic]


class LogEventPublic(_RecordedEvent):
    """One event of the global log, with its envelope, data, position and integrity hash."""

    position: int
    hash: str


class LogPagePublic(BaseModel):
    events: list[LogEventPublic]
    next_after: int = Field(description="pass as `after` to read on: the last position served")


class IntegrityProblemPublic(BaseModel):
    kind: Literal[
        "hash_mismatch",
        "version_gap",
        "not_in_log",
        "event_missing",
        "event_replaced",
        "log_gap",
        "log_hash_mismatch",
    ]
    detail: str
    case_id: UUID | None
    version: int | None
    event_id: str | None
    position: int | None


class VerificationPublic(BaseModel):
    ok: bool
    summary: str = Field(description='"verified N events in M cases" or the first broken link')
    events: int
    cases: int
    head_position: int | None = Field(description="the last log position checked")
    head_hash: str | None = Field(description="its hash: keep it elsewhere to anchor the record")
    problem_count: int
    first_broken: IntegrityProblemPublic | None
    problems: list[IntegrityProblemPublic] = Field(description="the first 100 problems")
