"""Request and response schemas, named by role (``CaseOpen``, ``CasePublic``, ``EventPublic``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.access import AccessRecord
from domain.events import (
    CATALOGUE,
    ActingBody,
    CaseOpened,
    Date,
    Document,
    LegalBasis,
    OccurredAt,
    Ref,
    Text,
    Token,
    free_text,
)
from domain.state import STAGES, Entry

PSEUDONYM = (
    "the person's stable pseudonym (a keyed hash of the case id, the key outside the "
    "database): links a person's records without identity"
)


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    occurred_at: OccurredAt = Field(description="when it happened (RFC 3339 with offset)")
    event_id: UUID | None = Field(
        default=None, description="client-chosen id: a retry with the same id is safe"
    )
    acting_body: ActingBody | None = None
    document: Document | None = None
    legal_basis: LegalBasis | None = None
    unit_codes_as_of: Date | None = Field(
        default=None,
        description="historical imports only: the event's org-unit codes follow the code list "
        "in force on this day (e.g. 2025-06-30 for records kept under the pre-reform list "
        "after 1 Jul 2025); by default, codes must name units on the event's own date",
    )


class CaseOpen(_Envelope, CaseOpened):
    """The CaseOpened data plus the envelope; ``case_id`` is optional."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    case_id: UUID | None = None


if TYPE_CHECKING:  # a Literal built at run time: checkers see a string
    EventType = str
    Stage = str
else:
    EventType = Literal[tuple(CATALOGUE)]
    """The stable type names of the case event catalogue."""
    Stage = Literal[STAGES]


class EventAppend(_Envelope):
    type: EventType = Field(description="a type of the case event catalogue, e.g. ReferralMade")
    data: dict[str, Any] = Field(default_factory=dict, description="the type's own fields")
    expected_version: int | None = Field(default=None, ge=0)
    causation_id: Token | None = Field(default=None, max_length=128)


class BatchEvent(_Envelope):
    type: EventType
    data: dict[str, Any] = Field(default_factory=dict)


class BatchAppend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[BatchEvent] = Field(min_length=1, max_length=500)
    expected_version: int | None = Field(default=None, ge=0)
    causation_id: Token | None = Field(default=None, max_length=128)


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
    pseudonym: str = Field(description=PSEUDONYM)
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
    personal_data: Literal["shown", "restricted", "erased"] = Field(
        description="whether the person's fields are shown to the caller; `restricted`: the "
        "caller's role is not entitled to them or processing is restricted (an erasure request "
        "under a legal hold); `erased`: the person's data was erased"
    )


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
    unit_codes_as_of: str | None = Field(
        default=None, description="the code list a historical import declared (ISO date)"
    )
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
    pseudonym: str = Field(description=PSEUDONYM)
    version: int
    events: list[EventPublic]


class LogEventPublic(_RecordedEvent):
    """One event of the global log, with its envelope, data, position and integrity hash."""

    position: int
    hash: str
    pseudonym: str = Field(description=PSEUDONYM)


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
        "tampered_ciphertext",
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


# --- read models ---------------------------------------------------------------------------


class _ReadModelPage(BaseModel):
    position: int = Field(description="the log position the read model has applied")


class CaseloadEntryPublic(BaseModel):
    case_id: UUID
    pseudonym: str = Field(description=PSEUDONYM)
    managing_unit: str
    residence_unit: str | None
    assignee_id: str | None
    assignee_role: str | None
    stage: str
    active: bool
    opened_on: date | None
    last_contact_at: datetime | None
    last_contact_type: str | None
    next_due_rule: str | None = Field(description="the rule of the earliest pending deadline")
    next_due_step: str | None = Field(description="what is due")
    next_due: str | None = Field(description="its due date (or instant, for deadlines in hours)")
    next_due_on: date | None
    overdue: bool = Field(description="a deadline has passed with nothing recorded")
    open_findings: int
    version: int = Field(description="the case version the row reflects")
    position: int = Field(description="the log position of that version")


class CaseloadPagePublic(_ReadModelPage):
    cases: list[CaseloadEntryPublic]
    total: int
    limit: int
    offset: int


class DeadlinePublic(BaseModel):
    rule_id: str
    title: str
    anchor_event_id: str
    due: str
    status: Literal["met", "late", "pending", "missing"]
    late_by: int
    unit: str = Field(description="unit of late_by: wd (working days), d, h, m")


class TimelineStepPublic(BaseModel):
    seq: int
    step: str = Field(description="the event type, or the step expected by a rule")
    status: Literal["done", "pending", "missing"]
    event_id: str | None
    occurred_at: datetime | None
    recorded_at: datetime | None
    first_recorded_occurred_at: datetime | None = Field(
        description="the occurred_at first recorded, when a correction changed it"
    )
    acting_body: dict[str, Any] | None
    deadlines: list[DeadlinePublic]


class FindingPublic(BaseModel):
    case_id: UUID
    pseudonym: str = Field(description=PSEUDONYM)
    rule_id: str
    title: str
    legal_basis: str
    severity: str
    confidence: str
    regime: str
    status: Literal["open", "resolved"]
    managing_unit: str
    commune: str
    detected_on: date
    due: str | None
    due_on: date | None
    resolved_on: date | None
    detail: str
    evidence_event_ids: list[str]


class TimelinePublic(_ReadModelPage):
    case_id: UUID
    pseudonym: str = Field(description=PSEUDONYM)
    steps: list[TimelineStepPublic]
    findings: list[FindingPublic]


class FindingsPagePublic(_ReadModelPage):
    findings: list[FindingPublic]
    total: int
    limit: int
    offset: int


class RuleCountPublic(BaseModel):
    rule_id: str
    title: str
    severity: str
    findings: int
    open: int


class CommuneCountPublic(BaseModel):
    commune: str
    findings: int
    open: int


class WorstCasePublic(BaseModel):
    case_id: UUID
    pseudonym: str = Field(description=PSEUDONYM)
    managing_unit: str
    findings: int
    open: int
    open_weight: int = Field(
        description="open findings weighted by severity (high 3, medium 2, low 1)"
    )


class UnitCountedPublic(BaseModel):
    code: str
    name: str | None
    share: Literal["whole", "part"] = Field(
        description="whole: all of that unit's territory lies in the report's unit; part: some"
    )


class UnitsCountedPublic(BaseModel):
    """How the report mapped org units across reforms (1 Jul 2025: districts abolished,
    communes merged): the codes of the other map it counted as the report's unit."""

    unit: str
    name: str | None
    map: Literal["current", "before_reform"] = Field(
        description="the map that holds the unit: today's, or the one before a reform"
    )
    reforms_in_period: list[date] = Field(description="reform days within the period")
    also_counted: list[UnitCountedPublic]


class InspectionReportPublic(_ReadModelPage):
    unit: str
    from_: date = Field(alias="from")
    to: date
    findings: int
    open: int
    by_rule: list[RuleCountPublic]
    by_commune: list[CommuneCountPublic]
    worst_cases: list[WorstCasePublic]
    units: UnitsCountedPublic

    model_config = ConfigDict(populate_by_name=True)


# --- access ---------------------------------------------------------------------------------


class AccessEntryPublic(BaseModel):
    """One entry of the access log."""

    position: int
    kind: Literal["read", "refused", "emergency_grant", "emergency_review"]
    at: datetime
    actor_id: str
    role: str
    unit: str
    purpose: str
    route: str
    query: str
    case_ids: list[UUID]
    first_position: int | None = Field(description="for the global log: first position served")
    last_position: int | None
    outcome: Literal["allowed", "refused", "emergency"]
    request_id: str
    detail: dict[str, Any]
    hash: str = Field(description="SHA-256 (hex) chained over the previous entry")

    @classmethod
    def of(cls, record: AccessRecord) -> AccessEntryPublic:
        e = record.entry
        return cls(
            position=record.position,
            kind=e.kind,
            at=e.at,
            actor_id=e.actor_id,
            role=e.role,
            unit=e.unit,
            purpose=e.purpose,
            route=e.route,
            query=e.query,
            case_ids=list(e.case_ids),
            first_position=e.first_position,
            last_position=e.last_position,
            outcome=e.outcome,
            request_id=e.request_id,
            detail=e.detail,
            hash=record.hash.hex(),
        )


class AccessPagePublic(BaseModel):
    entries: list[AccessEntryPublic]
    next_after: int = Field(description="pass as `after` to read on")


class EmergencyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_id: UUID
    reason: free_text(20) = Field(description="why: at least 20 characters")  # type: ignore[valid-type]


class EmergencyGrantPublic(BaseModel):
    grant: int = Field(description="the grant's position in the access log: its id")
    case_id: UUID
    actor_id: str
    role: str
    unit: str
    reason: str
    granted_at: datetime
    expires_at: datetime
    case_unit: str = Field(description="the unit managing the case when access was granted")
    review: dict[str, Any] | None = Field(description="verdict, note, reviewer, at; or none yet")


class EmergencyGrantsPublic(BaseModel):
    grants: list[EmergencyGrantPublic]


class EmergencyReview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Literal["justified", "unjustified"]
    note: Text


# --- a data subject's requests ----------------------------------------------------------------


class ErasureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_reference: Ref = Field(description="the data subject's request, as registered")
    basis: Text = Field(description="the legal basis of the erasure (e.g. Law 91/2025 Art. 16)")


class ErasurePublic(BaseModel):
    case_id: UUID
    pseudonym: str = Field(description=PSEUDONYM)
    status: Literal["erased"]
    event_id: str = Field(description="the PersonalDataErased event")
    version: int
    position: int | None


class ReportedEntryPublic(BaseModel):
    """An entry of the person's record, as held (personal fields decrypted)."""

    event_id: str
    version: int
    type: str
    occurred_at: datetime
    recorded_at: datetime
    recorded_by: dict[str, Any] = Field(description="the actor: id, role, unit")
    data: dict[str, Any]


class ReportedAccessPublic(BaseModel):
    """Who read (or was refused) the person's data, when and for what purpose."""

    at: datetime
    kind: str
    actor_id: str
    role: str
    unit: str
    purpose: str
    route: str
    outcome: str


class PersonReportPublic(BaseModel):
    case_id: UUID
    pseudonym: str = Field(description=PSEUDONYM)
    generated_at: datetime
    personal_data: Literal["shown", "restricted", "erased"]
    restriction: dict[str, Any] | None
    person: dict[str, Any]
    entries: list[ReportedEntryPublic]
    accesses: list[ReportedAccessPublic]


# --- org units ------------------------------------------------------------------------------


class UnitPublic(BaseModel):
    code: str
    level: Literal["province", "district", "commune"]
    name: str = Field(description="in Vietnamese, with diacritics")
    parent: str | None = Field(description="the unit above, on the unit's dates")
    valid_from: date | None = Field(description="first day (null: before the records)")
    valid_to: date | None = Field(description="last day, inclusive (null: still in force)")


class UnitShare(BaseModel):
    unit: UnitPublic
    share: Literal["whole", "part"]


class UnitOnDatePublic(BaseModel):
    code: str
    on: date
    unit: UnitPublic | None = Field(description="what the code named that day (null: nothing)")
    ancestors: list[UnitPublic] = Field(description="the units above it that day, parent first")
    versions: list[UnitPublic] = Field(description="every version of the code, oldest first")
    successors: list[UnitShare] = Field(description="what it went into at a reform")
    predecessors: list[UnitShare] = Field(description="what went into it at a reform")
    today: list[str] = Field(description="the units of today's list it stands for")
