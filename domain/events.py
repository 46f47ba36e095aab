"""The case event catalogue (../shared/domain/events.md) as validated payload models.

Each catalogue type is a frozen pydantic model with ``extra="forbid"``; ``CATALOGUE`` maps the
stable stored type name to its model and ``schema_version``. Fields marked ``PII`` carry
``json_schema_extra={"pii": True}`` so that encryption at rest and redaction of streams can find
them without a second list to keep in step.

The envelope (actor, acting body, document, legal basis, tracing ids) is modelled here as well;
the aggregate stores it beside the payload.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

UNIT_CODE_PATTERN = r"^\d{2}(\.\d{3}(\.\d{5})?|\.\d{5})?$"
"""Province ``01``; before 1 Jul 2025 district ``01.004`` and commune ``01.004.00127``; since,
commune ``01.00004`` (Decision 19/2025: no districts)."""

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2100, 12, 31)
"""Every date and instant a client gives lies in this window: the records are about people
alive in it, and the engine adds years of deadlines to a date without leaving the calendar."""

_FREE_TEXT_CONTROLS = frozenset("\t\n\r")


_DAY_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
_INSTANT_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _day_text(value: Any) -> Any:
    """A date comes as ``YYYY-MM-DD`` text: never as a number, nor as a numeric string (which
    the parser would otherwise read as seconds since 1970)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DAY_TEXT.fullmatch(value):
        raise ValueError("must be a date given as YYYY-MM-DD text")
    return value


def _instant_text(value: Any) -> Any:
    """An instant comes as RFC 3339 text (``YYYY-MM-DDThh:mm…``): never as a number, nor as a
    numeric string."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _INSTANT_TEXT.match(value):
        raise ValueError("must be an instant given as RFC 3339 text (YYYY-MM-DDThh:mm:ss+07:00)")
    return value


def _in_window(value: Any) -> Any:
    day = value.date() if isinstance(value, datetime) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"must lie between {FIRST_DAY} and {LAST_DAY}")
    return value


def _printable(text: str, allowed: frozenset[str] = frozenset()) -> str:
    """Refuse control characters (NUL and the like) and lone surrogates: they cannot be stored
    as text by every store, nor shown."""
    for char in text:
        if char not in allowed and unicodedata.category(char) in ("Cc", "Cs"):
            raise ValueError(f"must not contain the control character {char!r}")
    return text


def _printable_free_text(text: str) -> str:
    return _printable(text, _FREE_TEXT_CONTROLS)


_CONTROLS = "\\u0000-\\u001F\\u007F-\\u009F"
_FREE_CONTROLS = "\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F"


def _text_schema(max_length: int, free: bool = False, min_length: int = 1) -> WithJsonSchema:
    """What the OpenAPI document says of a text: its length, at least one character that is
    not a space, no control character (tab and newlines allowed in free text)."""
    controls = _FREE_CONTROLS if free else _CONTROLS
    pattern = f"^[^{controls}]*[^\\s{_CONTROLS}][^{controls}]*$"
    return WithJsonSchema(
        {"type": "string", "minLength": min_length, "maxLength": max_length, "pattern": pattern}
    )


_YEARS = "(19[0-9]{2}|20[0-9]{2}|2100)"

Date = Annotated[
    date,
    BeforeValidator(_day_text),
    AfterValidator(_in_window),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "pattern": f"^{_YEARS}-",
            "description": "YYYY-MM-DD, between 1900-01-01 and 2100-12-31",
        }
    ),
]
"""A day, given as ``YYYY-MM-DD``, between 1900-01-01 and 2100-12-31."""

Instant = Annotated[
    datetime,
    BeforeValidator(_instant_text),
    AfterValidator(_in_window),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": f"^{_YEARS}-",
            "description": "RFC 3339 with an offset, between 1900 and 2100",
        }
    ),
]
"""An instant, given as RFC 3339 text, between 1900 and 2100."""

Token = Annotated[
    str,
    AfterValidator(_printable),
    WithJsonSchema({"type": "string", "pattern": f"^[^{_CONTROLS}]*$"}),
]
"""Any string of the catalogue that is not free text: no control characters."""

OccurredAt = Annotated[AwareDatetime, BeforeValidator(_instant_text)]
"""An event's ``occurred_at``, as RFC 3339 text (the aggregate checks its range)."""

UnitCode = Annotated[str, StringConstraints(pattern=UNIT_CODE_PATTERN)]
"""An org unit: province ``01``, district ``01.004`` or commune ``01.004.00127`` (before
1 Jul 2025), commune ``01.00004`` (since)."""

Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    AfterValidator(_printable_free_text),
    _text_schema(2000, free=True),
]


def free_text(min_length: int, max_length: int = 2000) -> Any:
    """Free text of at least ``min_length`` characters (kept as given, spaces included), with
    something besides spaces, and no control characters but tab and newlines."""
    return Annotated[
        str,
        StringConstraints(min_length=min_length, max_length=max_length),
        AfterValidator(_printable_free_text),
        _text_schema(max_length, free=True, min_length=min_length),
    ]


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_printable),
    _text_schema(200),
]
Ref = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(_printable),
    _text_schema(64),
]


def pii(**kwargs: Any) -> Any:
    """A field holding personal data (PII in the catalogue)."""
    return Field(json_schema_extra={"pii": True}, **kwargs)


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _require_aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must be timezone-aware (RFC 3339 with an offset)")
    return value


# --- envelope ---------------------------------------------------------------------------------

BodyKind = Literal[
    "commune_committee",
    "commune_police",
    "district_police",
    "provincial_police",
    "labour_office",
    "justice_office",
    "district_committee",
    "district_court",
    "regional_court",
    "provincial_court",
    "procuracy",
    "regional_procuracy",
    "rehab_facility",
    "ost_clinic",
    "health_facility",
    "counselling_point",
    "social_service",
]


class ActingBody(Model):
    kind: BodyKind
    unit: UnitCode


class Document(Model):
    number: Name
    date: Date | None = None
    form_no: Name | None = None


class LegalBasis(Model):
    instrument: Name
    article: Name | None = None


class Actor(Model):
    """Who recorded an event: taken from authentication, never from a request body."""

    id: Annotated[str, StringConstraints(min_length=1, max_length=128), AfterValidator(_printable)]
    role: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]{0,63}$")]
    unit: UnitCode


# --- shared value types -----------------------------------------------------------------------

Sex = Literal["male", "female", "other"]
Substance = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(_printable),
    _text_schema(64),
]


class Person(Model):
    full_name: Name = pii()
    date_of_birth: Date = pii()
    sex: Sex
    national_id: Annotated[str, StringConstraints(pattern=r"^\d{9}(\d{3})?$")] | None = pii(
        default=None
    )
    residence_unit: UnitCode
    address: Text = pii()


class TeamMember(Model):
    name: Name = pii()
    role: Name


# --- case lifecycle ---------------------------------------------------------------------------


class CaseOpened(Model):
    person: Person
    source: Literal[
        "detection", "self_registration", "family", "facility_release", "transfer_in", "other"
    ]
    managing_unit: UnitCode


class PersonDetailsUpdated(Model):
    full_name: Name | None = pii(default=None)
    date_of_birth: Date | None = pii(default=None)
    sex: Sex | None = None
    national_id: Annotated[str, StringConstraints(pattern=r"^\d{9}(\d{3})?$")] | None = pii(
        default=None
    )
    residence_unit: UnitCode | None = None
    address: Text | None = pii(default=None)
    reason: Text

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={  # what ``_changes_something`` requires, for the OpenAPI document
            "anyOf": [
                {"required": [name], "properties": {name: {"not": {"type": "null"}}}}
                for name in (
                    "full_name",
                    "date_of_birth",
                    "sex",
                    "national_id",
                    "residence_unit",
                    "address",
                )
            ]
        },
    )

    @model_validator(mode="after")
    def _changes_something(self) -> PersonDetailsUpdated:
        if not self.changed_fields():
            raise ValueError("name at least one person field to update")
        return self

    def changed_fields(self) -> dict[str, Any]:
        return {
            k: v for k, v in self.model_dump(mode="json").items() if k != "reason" and v is not None
        }


AssigneeRole = Literal[
    "counsellor", "volunteer", "police_officer", "social_worker", "health_worker"
]


class CaseAssigned(Model):
    assignee_id: Ref
    assignee_role: AssigneeRole


class CaseTransferred(Model):
    from_unit: UnitCode
    to_unit: UnitCode
    reason: Text


class CaseClosed(Model):
    reason: Literal[
        "management_completed", "moved_away", "deceased", "imprisoned", "duplicate", "other"
    ]
    note: Text | None = None


class CaseReopened(Model):
    reason: Text


class NoteAdded(Model):
    text: Text = pii()
    sensitivity: Literal["normal", "restricted"] = "normal"


class EntryCorrected(Model):
    corrects_event_id: Ref
    changes: dict[str, Any] = Field(min_length=1)
    reason: Text


class EntryVoided(Model):
    voids_event_id: Ref
    reason: Text


# --- detection, user management, addiction determination -------------------------------------


class DrugUseDetected(Model):
    ground: Literal["a", "b", "c", "d", "e", "f", "g", "h", "i"] = Field(
        description="ND105 Art 38(1) point a–i"
    )
    place: Text = pii()
    detecting_unit: UnitCode
    administratively_detained: bool
    detention_decision_no: Name | None = None


class DrugTestRecorded(Model):
    sample: Literal["urine", "blood", "hair", "other"]
    substances: list[Substance] = Field(default_factory=list)
    result: Literal["positive", "negative"]
    tester_unit: UnitCode
    guardian_consent: bool | None = Field(
        default=None, description="for minors: consent of a parent or guardian (U12)"
    )


class ResidenceVerified(Model):
    status: Literal["stable", "not_stable"]
    criterion: Text | None = None
    remote_area: bool = False


class UserManagementDecided(Model):
    starts_on: Date
    ends_on: Date
    renewal: bool = False
    team: list[TeamMember] = Field(default_factory=list)


class UserManagementStopped(Model):
    reason: Literal[
        "addicted", "education_measure", "reformatory", "imprisoned", "deceased", "missing"
    ]


class UserManagementEnded(Model):
    pass


class AddictionDeterminationRequested(Model):
    ground: Literal["a", "b", "c", "d", "dd"] = Field(description="Law 73 Art 27(1) a–đ")
    requester_unit: UnitCode
    handed_over_at: Instant

    _aware = field_validator("handed_over_at")(_require_aware)


class AddictionDetermined(Model):
    facility: Name
    physician: Name = pii()
    criteria_met: list[Annotated[int, Field(ge=1, le=6)]] = Field(default_factory=list)
    conclusion: Literal["addicted", "not_addicted", "observation"]
    substances: list[Substance] = Field(default_factory=list)
    returned_on: Date | None = None


# --- counselling, consent, referral -----------------------------------------------------------


class CounsellingSessionHeld(Model):
    mode: Literal["individual", "family", "group", "thematic_talk"]
    topics: list[Name] = Field(default_factory=list)
    duration_minutes: int = Field(gt=0, le=600)
    counsellor: Name
    counselling_point: Name | None = None


class SelfHelpGroupAttended(Model):
    group_id: Ref
    session_on: Date


class HomeVisitMade(Model):
    visitor: Name
    outcome: Text = pii()


ConsentScope = Literal["treatment", "referral", "data_sharing", "family_management"]


class ConsentRecorded(Model):
    scope: ConsentScope
    given_by: Literal["person", "guardian", "legal_representative"]


class ConsentWithdrawn(Model):
    scope: ConsentScope


class ReferralMade(Model):
    referral_id: Ref
    service: Literal[
        "ost",
        "detox",
        "hiv_care",
        "mental_health",
        "general_health",
        "vocational_training",
        "job_placement",
        "loan",
        "legal_aid",
        "social_assistance",
        "education",
        "other",
    ]
    provider: Name
    reason: Text


class ReferralAccepted(Model):
    referral_id: Ref


class ReferralDeclined(Model):
    referral_id: Ref
    declined_by: Literal["provider", "person"]
    reason: Text


class ReferralCompleted(Model):
    referral_id: Ref
    outcome: Text


# --- voluntary treatment and OST ---------------------------------------------------------------

Setting = Literal["family", "community", "facility", "ost"]


class VoluntaryTreatmentRegistered(Model):
    setting: Setting
    registered_at_unit: UnitCode


class VoluntaryTreatmentDecided(Model):
    setting: Setting
    provider: Name
    planned_months: int = Field(ge=1, le=36)


class TreatmentStarted(Model):
    setting: Setting
    provider: Name


class TreatmentQuit(Model):
    kind: Literal["not_performed", "quit", "expelled"]
    last_attended_on: Date | None = None


class TreatmentCompleted(Model):
    setting: Setting
    certificate_no: Name


class ViolationRecorded(Model):
    violation: Literal[
        "not_registered",
        "not_performed",
        "quit",
        "used_during_treatment",
        "ost_quit",
        "relapse_in_post_rehab",
    ]


# --- compulsory-rehab dossier and court --------------------------------------------------------


class CommuneEducationDecided(Model):
    months: int = Field(ge=1, le=12)


class DossierOpened(Model):
    dossier_id: Ref
    compiler_unit: UnitCode
    ground: Name = Field(description="Law 73 Art 32 item (1–4) or Art 33")
    route: Literal["adult", "minor"]
    residence_status: Literal["stable", "not_stable"]


class InterimManagementDecided(Model):
    dossier_id: Ref
    form: Literal["family", "facility", "social_reception_centre"]
    family_consent: bool
    facility: Name | None = None


class DossierServed(Model):
    dossier_id: Ref
    served_on: Literal["person", "legal_representative", "parent"]


class DossierLegalityChecked(Model):
    dossier_id: Ref
    result: Literal["valid", "invalid"]


class DossierSentToLabourOffice(Model):
    dossier_id: Ref
    pages: int = Field(gt=0, le=10_000)


class DossierReturnedForSupplement(Model):
    dossier_id: Ref
    returned_by: Literal["labour_office", "court"]
    reasons: list[Text] = Field(min_length=1)


class DossierSupplemented(Model):
    dossier_id: Ref


class DossierSentToCourt(Model):
    dossier_id: Ref
    court_unit: UnitCode
    proposed_facility: Name
    child_rights_note: Text | None = Field(default=None, description="minors: Form 39")


class CourtAccepted(Model):
    dossier_id: Ref
    court_case_no: Name
    judge: Name
    ordinance: Literal["PL09_2014", "PL03_2022", "PL01_2022"]


class CourtSessionScheduled(Model):
    dossier_id: Ref
    session_on: Date
    mode: Literal["in_person", "online"]
    opened_on: Date | None = Field(
        default=None, description="date of the decision to open the session (K6 anchor)"
    )


class CourtSessionPostponed(Model):
    dossier_id: Ref
    reason: Text
    new_session_on: Date


class CourtSessionHeld(Model):
    dossier_id: Ref
    procurator_present: bool
    attendees: list[Name] = Field(default_factory=list)


class CourtDecisionIssued(Model):
    dossier_id: Ref
    outcome: Literal["apply", "not_apply", "dismiss", "suspend"]
    term_months: int | None = Field(default=None, ge=1, le=36)
    facility: Name | None = None
    announced_on: Date
    complex_case: bool = False


class CourtDecisionAppealed(Model):
    dossier_id: Ref
    kind: Literal["complaint", "petition", "protest"]
    filed_by: Name
    filed_on: Date


class AppealDecided(Model):
    dossier_id: Ref
    outcome: Literal["upheld", "modified", "annulled"]
    term_months: int | None = Field(default=None, ge=1, le=36)


class CourtDecisionTookEffect(Model):
    dossier_id: Ref
    effective_on: Date


class ExecutionDeferred(Model):
    dossier_id: Ref
    kind: Literal["postponed", "exempted"]
    reason: Text
    until: Date | None = None


# --- facility, release, post-rehab, relapse ----------------------------------------------------


class EscortedToFacility(Model):
    dossier_id: Ref
    facility: Name
    custody_started_at: Instant
    decision_received_on: Date | None = Field(default=None, description="E1 anchor")

    _aware = field_validator("custody_started_at")(_require_aware)


FacilityKind = Literal["public", "private", "reform_school"]


class AdmittedToFacility(Model):
    facility: Name
    admission_kind: Literal["compulsory", "voluntary", "interim", "social_protection"]
    facility_kind: FacilityKind | None = Field(
        default=None, description="public facility, private facility or reform school (L26-09)"
    )


class Absconded(Model):
    phase: Literal["interim", "before_admission", "in_facility"]


class SearchDecided(Model):
    pass


class Returned(Model):
    how: Literal["voluntary", "apprehended"]


class TermAdjusted(Model):
    kind: Literal["reduction", "suspension", "exemption", "temporary_removal"]
    months: int | None = Field(default=None, ge=0, le=36)


class PreReleaseNoticeSent(Model):
    term_ends_on: Date
    recipients: list[Name] = Field(min_length=1)


class ReleasedFromFacility(Model):
    facility: Name
    certificate_no: Name | None = None


class ReturnReported(Model):
    reported_to: Literal["commune_committee", "commune_police"]


class PostRehabManagementDecided(Model):
    starts_on: Date
    ends_on: Date
    mentor: Name = pii()


class PostRehabCheckIn(Model):
    kind: Literal["visit", "contact", "report", "drug_test"]
    by: Name


class PostRehabAbsenceReported(Model):
    from_on: Date
    to_on: Date
    reported_in_advance: bool


class PostRehabManagementCompleted(Model):
    certificate_no: Name


class RelapseRecorded(Model):
    evidence_event_ids: list[Ref] = Field(default_factory=list)
    substances: list[Substance] = Field(default_factory=list)


# --- Law 120/2025/QH15 (from 1 Jul 2026): moves, electronic monitoring, imprisonment ----------


class ResidenceLeft(Model):
    """The person left the commune to live in another one; ``occurred_at`` is when they left
    (the 24-hour duties of L26-01 and L26-02 count from it)."""

    to_unit: UnitCode | None = Field(default=None, description="destination commune, if known")
    notified_by_person: bool = Field(description="the person told the departure commune police")


class ArrivalReported(Model):
    """The person reported to the commune police of their new residence (L26-01)."""

    from_unit: UnitCode


class ElectronicMonitoringDecided(Model):
    """The commune police chief's decision to monitor the person electronically (L26-06)."""

    basis: Literal["voluntary_rehab_home_or_community", "ost", "post_rehab_management"]
    device_id: Ref
    starts_on: Date
    ends_on: Date | None = None


class ElectronicMonitoringEnded(Model):
    reason: Text


class DeviceIncidentReported(Model):
    """The monitoring device was damaged, lost, removed or tampered with (L26-07);
    ``occurred_at`` is when the report was made, ``happened_at`` when the incident was."""

    kind: Literal["damage", "loss", "removal", "tampering"]
    reported_by: Literal["person", "monitoring_system", "police", "other"]
    happened_at: Instant

    _aware = field_validator("happened_at")(_require_aware)


class ImprisonmentStarted(Model):
    """The person began serving a prison sentence (L26-10: the rehab or post-rehab term is
    suspended meanwhile)."""

    judgment: Name
    sentence_months: int | None = Field(default=None, ge=1, le=600)


class ImprisonmentEnded(Model):
    """The person left prison; the remainder of a suspended term resumes (L26-10)."""

    released_on: Date


# --- personal data (Law 91/2025/QH15): a data subject's requests -----------------------------

LegalHold = Literal["case_open", "open_dossier", "court_procedure", "retention_period"]


class PersonalDataErased(Model):
    """The person's data key was destroyed at their request: every personal field of the case
    reads ``[erased]`` from now on, and the case records nothing more. Recorded by the data
    protection officer through ``POST /v1/persons/{case_id}/erasure`` only."""

    request_reference: Ref
    basis: Text


class PersonalDataRestricted(Model):
    """An erasure request that a legal hold stops: processing is restricted instead (only the
    data protection officer reads the personal fields) until the holds end."""

    request_reference: Ref
    basis: Text
    holds: list[LegalHold] = Field(min_length=1)


# --- the catalogue -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EventType:
    name: str
    model: type[Model]
    schema_version: int = 1
    section: str = ""
    acting_bodies: frozenset[str] | None = None
    """The kinds of acting body the type allows (``None``: any kind, or none)."""


_SECTIONS: dict[str, list[type[Model]]] = {
    "lifecycle": [
        CaseOpened,
        PersonDetailsUpdated,
        CaseAssigned,
        CaseTransferred,
        CaseClosed,
        CaseReopened,
        NoteAdded,
        EntryCorrected,
        EntryVoided,
    ],
    "detection": [
        DrugUseDetected,
        DrugTestRecorded,
        ResidenceVerified,
        UserManagementDecided,
        UserManagementStopped,
        UserManagementEnded,
        AddictionDeterminationRequested,
        AddictionDetermined,
    ],
    "support": [
        CounsellingSessionHeld,
        SelfHelpGroupAttended,
        HomeVisitMade,
        ConsentRecorded,
        ConsentWithdrawn,
        ReferralMade,
        ReferralAccepted,
        ReferralDeclined,
        ReferralCompleted,
    ],
    "voluntary": [
        VoluntaryTreatmentRegistered,
        VoluntaryTreatmentDecided,
        TreatmentStarted,
        TreatmentQuit,
        TreatmentCompleted,
        ViolationRecorded,
    ],
    "dossier_and_court": [
        CommuneEducationDecided,
        DossierOpened,
        InterimManagementDecided,
        DossierServed,
        DossierLegalityChecked,
        DossierSentToLabourOffice,
        DossierReturnedForSupplement,
        DossierSupplemented,
        DossierSentToCourt,
        CourtAccepted,
        CourtSessionScheduled,
        CourtSessionPostponed,
        CourtSessionHeld,
        CourtDecisionIssued,
        CourtDecisionAppealed,
        AppealDecided,
        CourtDecisionTookEffect,
        ExecutionDeferred,
    ],
    "facility_and_after": [
        EscortedToFacility,
        AdmittedToFacility,
        Absconded,
        SearchDecided,
        Returned,
        TermAdjusted,
        PreReleaseNoticeSent,
        ReleasedFromFacility,
        ReturnReported,
        PostRehabManagementDecided,
        PostRehabCheckIn,
        PostRehabAbsenceReported,
        PostRehabManagementCompleted,
        RelapseRecorded,
    ],
    "law_120_2025": [
        ResidenceLeft,
        ArrivalReported,
        ElectronicMonitoringDecided,
        ElectronicMonitoringEnded,
        DeviceIncidentReported,
        ImprisonmentStarted,
        ImprisonmentEnded,
    ],
    "personal_data": [PersonalDataErased, PersonalDataRestricted],
}

_COURTS = frozenset({"district_court", "regional_court", "provincial_court"})
ACTING_BODIES: dict[str, frozenset[str]] = {
    "ResidenceLeft": frozenset({"commune_police"}),
    "ArrivalReported": frozenset({"commune_police"}),
    "ElectronicMonitoringDecided": frozenset({"commune_police"}),
    "ElectronicMonitoringEnded": frozenset({"commune_police"}),
    "DeviceIncidentReported": frozenset({"commune_police", "provincial_police"}),
    "ImprisonmentStarted": _COURTS,
    "ImprisonmentEnded": frozenset({"commune_police", "provincial_police"}),
}
"""The acting bodies of the types Law 120/2025 brought: the commune police chief decides and
receives the reports (L26-01, L26-02, L26-06, L26-07); a sentence is a court's act. Older
types accept any kind: whether a body was competent on the event's date is the compliance
engine's judgement (X25-06), not a refusal."""

CATALOGUE: dict[str, EventType] = {
    model.__name__: EventType(
        model.__name__, model, section=section, acting_bodies=ACTING_BODIES.get(model.__name__)
    )
    for section, models in _SECTIONS.items()
    for model in models
}
"""Stable stored type name -> payload model. The names are schema: never rename one."""

# Events that may still be recorded on a closed case.
ALLOWED_ON_CLOSED_CASE = frozenset(
    {
        "CaseReopened",
        "NoteAdded",
        "EntryCorrected",
        "EntryVoided",
        "PersonalDataErased",
        "PersonalDataRestricted",
    }
)

# Events that happen at most once per dossier (a decision again only after a "suspend"; an
# escort may be repeated, e.g. after absconding before admission).
ONCE_PER_DOSSIER = frozenset({"CourtAccepted", "CourtDecisionIssued", "CourtDecisionTookEffect"})

# Payload fields that tie an event to others; a correction may not change them (void and
# re-enter instead), or the references it made would silently move.
REFERENCE_FIELDS = frozenset(
    {
        "referral_id",
        "dossier_id",
        "corrects_event_id",
        "voids_event_id",
        "evidence_event_ids",
        # the units that place a case: moving it is a CaseTransferred, never a correction
        "managing_unit",
        "from_unit",
        "to_unit",
        "court_unit",
    }
)

# Envelope fields an EntryCorrected may change besides the payload.
CORRECTABLE_ENVELOPE_FIELDS = frozenset({"occurred_at", "acting_body", "document", "legal_basis"})


def pii_paths(model: type[Model], prefix: str = "") -> list[str]:
    """Dotted paths of the PII fields of a payload model (nested models included)."""
    paths: list[str] = []
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra
        if isinstance(extra, dict) and extra.get("pii"):
            paths.append(prefix + name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, Model):
            paths.extend(pii_paths(annotation, f"{prefix}{name}."))
    return paths


def _is_unit_code(field: Any) -> bool:
    constraints = [*field.metadata, *_annotated_metadata(field.annotation)]
    return any(getattr(m, "pattern", None) == UNIT_CODE_PATTERN for m in constraints)


def _annotated_metadata(annotation: Any) -> list[Any]:
    found: list[Any] = list(getattr(annotation, "__metadata__", ()))
    for arg in get_args(annotation):
        found += _annotated_metadata(arg)
    return found


def unit_paths(model: type[Model], prefix: str = "") -> list[str]:
    """Dotted paths of the org-unit code fields of a payload model (nested models included):
    what write-time validation checks against the unit registry on the event's date."""
    paths: list[str] = []
    for name, field in model.model_fields.items():
        if _is_unit_code(field):
            paths.append(prefix + name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, Model):
            paths.extend(unit_paths(annotation, f"{prefix}{name}."))
    return paths


def unit_codes(
    type_: str, data: dict[str, Any], acting_body: dict[str, Any] | None
) -> list[tuple[str, str]]:
    """The org-unit codes an event carries, each with its dotted path (``acting_body.unit``
    for the acting body's): what validation and rule X25-12 judge on the event's date."""
    found: list[tuple[str, str]] = []
    for path in unit_paths(CATALOGUE[type_].model):
        value: Any = data
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str):
            found.append((path, value))
    body_unit = (acting_body or {}).get("unit")
    if isinstance(body_unit, str):
        found.append(("acting_body.unit", body_unit))
    return found
