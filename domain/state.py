"""What a case's record shows: a pure fold of its entries.

Entries are folded after corrections and voids are applied, so an ``EntryCorrected`` changes
what the state shows while the corrected entry stays in the history, and a voided entry counts
for nothing. Registers (referrals, dossiers, closure) follow the order of recording; the stage
follows the order in which things happened (``occurred_at``), so a late entry about the past does
not overwrite the present stage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from domain.events import CORRECTABLE_ENVELOPE_FIELDS

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Envelope:
    """What every event carries besides its data: its id, the version of its type's schema,
    when it happened, who recorded it (from authentication), the acting body, document and
    legal basis it cites, and the request and event that caused it.

    The one definition of the envelope: an event stores it as JSON inside its payload
    (``as_json``, ``from_json``); the store keeps some of it as columns too
    (``domain/integrity.py``); an ``Entry`` is an envelope with what the record adds."""

    event_id: str
    schema_version: int
    occurred_at: datetime
    actor: JSON
    acting_body: JSON | None = None
    document: JSON | None = None
    legal_basis: JSON | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    unit_codes_as_of: str | None = None
    """A historical import's declaration: the event's org-unit codes follow the code list in
    force on this day (ISO date), not the list of its own date. ``None``: its own date."""

    def as_json(self) -> JSON:
        """The envelope as an event stores it (``occurred_at`` as ISO 8601 text; a
        ``unit_codes_as_of`` only when declared, so events without one keep their form)."""
        stored = {name: getattr(self, name) for name in ENVELOPE_FIELDS}
        stored["occurred_at"] = self.occurred_at.isoformat()
        if stored["unit_codes_as_of"] is None:
            del stored["unit_codes_as_of"]
        return stored

    @staticmethod
    def from_json(stored: JSON) -> JSON:
        """The envelope's fields from their stored JSON, as keyword arguments (of an
        ``Envelope`` or an ``Entry``)."""
        found = {name: stored.get(name) for name in ENVELOPE_FIELDS}
        found["occurred_at"] = datetime.fromisoformat(stored["occurred_at"])
        return found


ENVELOPE_FIELDS = tuple(f.name for f in fields(Envelope))


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry(Envelope):
    """One recorded event, as the record holds it: its envelope, where it stands in its case
    (case id, version), its type, when the store recorded it (the server's clock, never a
    client's), its data, and the corrections in force on it."""

    case_id: str
    version: int
    type: str
    recorded_at: datetime
    data: JSON
    corrected_by: tuple[str, ...] = ()

    def with_changes(self, changes: JSON, correction_id: str) -> Entry:
        """This entry as an ``EntryCorrected`` with ``changes`` says it should read."""
        data = apply_changes(self.data, {k: v for k, v in changes.items() if k not in _ENVELOPE})
        envelope = {k: v for k, v in changes.items() if k in _ENVELOPE}
        if "occurred_at" in envelope:
            envelope["occurred_at"] = datetime.fromisoformat(envelope["occurred_at"])
        return replace(
            self, data=data, corrected_by=(*self.corrected_by, correction_id), **envelope
        )


_ENVELOPE = CORRECTABLE_ENVELOPE_FIELDS


def apply_changes(data: JSON, changes: JSON) -> JSON:
    """``data`` with ``changes`` applied; a key may be dotted one level (``person.address``)."""
    result = dict(data)
    for key, value in changes.items():
        head, _, tail = key.partition(".")
        if tail:
            result[head] = {**(result.get(head) or {}), tail: value}
        else:
            result[key] = value
    return result


def voided_ids(entries: list[Entry]) -> set[str]:
    """Ids of the entries voided by an ``EntryVoided`` that is itself still in force."""
    voided: set[str] = set()
    for entry in reversed(entries):  # a void can only target an earlier entry
        if entry.type == "EntryVoided" and entry.event_id not in voided:
            voided.add(entry.data["voids_event_id"])
    return voided


def _corrections(entries: list[Entry], voided: set[str]) -> dict[str, list[Entry]]:
    corrections: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry.type == "EntryCorrected" and entry.event_id not in voided:
            corrections.setdefault(entry.data["corrects_event_id"], []).append(entry)
    return corrections


def _corrected(entry: Entry, corrections: dict[str, list[Entry]]) -> Entry:
    for correction in corrections.get(entry.event_id, ()):
        entry = entry.with_changes(correction.data["changes"], correction.event_id)
    return entry


def effective_entries(entries: list[Entry], voided: set[str] | None = None) -> list[Entry]:
    """Entries with voids removed and corrections applied (corrections and voids themselves out)."""
    voided = voided_ids(entries) if voided is None else voided
    corrections = _corrections(entries, voided)
    return [
        _corrected(entry, corrections)
        for entry in entries
        if entry.event_id not in voided and entry.type not in ("EntryCorrected", "EntryVoided")
    ]


def corrected_entry(entries: list[Entry], event_id: str) -> Entry:
    """One entry (of any type) as the corrections in force make it read."""
    entry = next(e for e in entries if e.event_id == event_id)
    return _corrected(entry, _corrections(entries, voided_ids(entries)))


# --- registers -------------------------------------------------------------------------------


@dataclass
class Referral:
    referral_id: str
    service: str
    provider: str
    status: str  # made, accepted, declined, completed
    made_at: datetime

    @property
    def is_closed(self) -> bool:
        return self.status in ("declined", "completed")


DOSSIER_STATUS = {
    "DossierOpened": "compiling",
    "InterimManagementDecided": None,
    "DossierServed": "served",
    "DossierLegalityChecked": "legality_checked",
    "DossierSentToLabourOffice": "at_labour_office",
    "DossierReturnedForSupplement": "returned_for_supplement",
    "DossierSupplemented": "supplemented",
    "DossierSentToCourt": "sent_to_court",
    "CourtAccepted": "accepted_by_court",
    "CourtSessionScheduled": "session_scheduled",
    "CourtSessionPostponed": "session_postponed",
    "CourtSessionHeld": "session_held",
    "CourtDecisionIssued": "decided",
    "CourtDecisionAppealed": "appealed",
    "AppealDecided": "appeal_decided",
    "CourtDecisionTookEffect": "in_effect",
    "ExecutionDeferred": "execution_deferred",
    "EscortedToFacility": "executed",
}


@dataclass
class Dossier:
    dossier_id: str
    route: str
    ground: str
    opened_at: datetime
    status: str = "compiling"
    closed: bool = False
    court_case_no: str | None = None
    ordinance: str | None = None
    decision: str | None = None
    term_months: int | None = None
    interim_form: str | None = None
    seen: set[str] = field(default_factory=set)

    def apply(self, entry: Entry) -> None:
        d = entry.data
        self.seen.add(entry.type)
        self.status = DOSSIER_STATUS.get(entry.type) or self.status
        if entry.type == "InterimManagementDecided":
            self.interim_form = d["form"]
        elif entry.type == "CourtAccepted":
            self.court_case_no, self.ordinance = d["court_case_no"], d["ordinance"]
        elif entry.type == "CourtDecisionIssued":
            self.decision, self.term_months = d["outcome"], d.get("term_months")
            self.closed = d["outcome"] in ("not_apply", "dismiss")
        elif entry.type == "AppealDecided":
            if d["outcome"] == "annulled":
                self.decision, self.closed = "annulled", True
            elif d["outcome"] == "modified" and d.get("term_months"):
                self.term_months = d["term_months"]
        elif entry.type == "ExecutionDeferred":
            self.closed = d["kind"] == "exempted"
        elif entry.type == "EscortedToFacility":
            self.closed = True


# --- stage -----------------------------------------------------------------------------------

NO_ACTIVE_MEASURE = "no_active_measure"


def _setting_stage(entry: Entry, _: str) -> str:
    return "ost" if entry.data.get("setting") == "ost" else "voluntary_treatment"


def _const(stage: str) -> Callable[[Entry, str], str]:
    return lambda _entry, _current: stage


def _decision_stage(entry: Entry, current: str) -> str:
    outcome = entry.data["outcome"]
    if outcome == "apply":
        return "awaiting_execution"
    return "at_court" if outcome == "suspend" else NO_ACTIVE_MEASURE


def _appeal_stage(entry: Entry, current: str) -> str:
    return NO_ACTIVE_MEASURE if entry.data["outcome"] == "annulled" else current


def _admission_stage(entry: Entry, _: str) -> str:
    return "voluntary_treatment" if entry.data["admission_kind"] == "voluntary" else "in_facility"


def _adjustment_stage(entry: Entry, current: str) -> str:
    return NO_ACTIVE_MEASURE if entry.data["kind"] == "exemption" else current


def _deferral_stage(entry: Entry, _: str) -> str:
    return NO_ACTIVE_MEASURE if entry.data["kind"] == "exempted" else "execution_deferred"


STAGE_AFTER: dict[str, Callable[[Entry, str], str]] = {
    "CaseOpened": _const("intake"),
    "UserManagementDecided": _const("user_management"),
    "UserManagementStopped": _const(NO_ACTIVE_MEASURE),
    "UserManagementEnded": _const(NO_ACTIVE_MEASURE),
    "VoluntaryTreatmentRegistered": _setting_stage,
    "VoluntaryTreatmentDecided": _setting_stage,
    "TreatmentStarted": _setting_stage,
    "TreatmentQuit": _const(NO_ACTIVE_MEASURE),
    "TreatmentCompleted": _const(NO_ACTIVE_MEASURE),
    "CommuneEducationDecided": _const("commune_education"),
    "DossierOpened": _const("compulsory_dossier"),
    "DossierReturnedForSupplement": _const("compulsory_dossier"),
    "DossierSentToCourt": _const("at_court"),
    "CourtAccepted": _const("at_court"),
    "CourtDecisionIssued": _decision_stage,
    "AppealDecided": _appeal_stage,
    "ExecutionDeferred": _deferral_stage,
    "EscortedToFacility": _const("in_facility"),
    "AdmittedToFacility": _admission_stage,
    "TermAdjusted": _adjustment_stage,
    "ReleasedFromFacility": _const(NO_ACTIVE_MEASURE),
    "PostRehabManagementDecided": _const("post_rehab"),
    "PostRehabManagementCompleted": _const(NO_ACTIVE_MEASURE),
    "RelapseRecorded": _const("relapsed"),
}


STAGES = (
    "intake",
    "user_management",
    "voluntary_treatment",
    "ost",
    "commune_education",
    "compulsory_dossier",
    "at_court",
    "awaiting_execution",
    "execution_deferred",
    "in_facility",
    "post_rehab",
    "relapsed",
    "absconded",
    NO_ACTIVE_MEASURE,
    "closed",
)
"""Every stage a case can be at (``CaseState.stage``)."""


def stage_of(entries: Iterable[Entry]) -> str:
    """The stage reached by what happened, walked in ``occurred_at`` order."""
    stage, before_absconding = "intake", "intake"
    for entry in sorted(entries, key=lambda e: (e.occurred_at, e.version)):
        if entry.type == "Absconded":
            if stage != "absconded":
                before_absconding = stage
            stage = "absconded"
        elif entry.type == "Returned":
            stage = before_absconding if stage == "absconded" else stage
        elif entry.type in STAGE_AFTER:
            stage = STAGE_AFTER[entry.type](entry, stage)
    return stage


# --- the state -------------------------------------------------------------------------------


@dataclass
class CaseState:
    """What the record shows about a case, after corrections and voids."""

    person: JSON = field(default_factory=dict)
    managing_unit: str = ""
    assignee: JSON | None = None
    stage: str = "intake"
    closed: bool = False
    closure: JSON | None = None
    referrals: dict[str, Referral] = field(default_factory=dict)
    dossiers: dict[str, Dossier] = field(default_factory=dict)
    event_ids: set[str] = field(default_factory=set)
    voided: set[str] = field(default_factory=set)
    corrections: list[JSON] = field(default_factory=list)
    erased: bool = False
    """The person's data key was destroyed: personal fields read ``[erased]``."""
    restriction: JSON | None = None
    """An erasure request stopped by legal holds: only the data protection officer reads the
    personal fields (``PersonalDataRestricted``'s request reference, holds, event id)."""

    @property
    def open_referrals(self) -> list[Referral]:
        return [r for r in self.referrals.values() if not r.is_closed]

    @property
    def open_dossier(self) -> Dossier | None:
        open_ = [d for d in self.dossiers.values() if not d.closed]
        return max(open_, key=lambda d: d.opened_at) if open_ else None


def derive(entries: list[Entry]) -> CaseState:
    """Fold a case's entries (in version order) into the state its record shows."""
    voided = voided_ids(entries)
    state = CaseState(event_ids={e.event_id for e in entries}, voided=voided)
    state.corrections = [
        {
            "event_id": e.event_id,
            "corrects_event_id": e.data["corrects_event_id"],
            "fields": sorted(e.data["changes"]),
        }
        for e in entries
        if e.type == "EntryCorrected" and e.event_id not in voided
    ]
    live = effective_entries(entries, voided)
    for entry in live:
        _FOLD.get(entry.type, _ignore)(state, entry)
    state.stage = "closed" if state.closed else stage_of(live)
    return state


def _ignore(state: CaseState, entry: Entry) -> None:
    pass


def _opened(state: CaseState, entry: Entry) -> None:
    state.person = dict(entry.data["person"])
    state.managing_unit = entry.data["managing_unit"]


def _person_updated(state: CaseState, entry: Entry) -> None:
    state.person.update({k: v for k, v in entry.data.items() if k != "reason" and v is not None})


def _assigned(state: CaseState, entry: Entry) -> None:
    state.assignee = {"id": entry.data["assignee_id"], "role": entry.data["assignee_role"]}


def _transferred(state: CaseState, entry: Entry) -> None:
    state.managing_unit = entry.data["to_unit"]


def _closed(state: CaseState, entry: Entry) -> None:
    state.closed = True
    state.closure = {"reason": entry.data["reason"], "event_id": entry.event_id}


def _reopened(state: CaseState, entry: Entry) -> None:
    state.closed, state.closure = False, None


def _referral_made(state: CaseState, entry: Entry) -> None:
    d = entry.data
    state.referrals[d["referral_id"]] = Referral(
        d["referral_id"], d["service"], d["provider"], "made", entry.occurred_at
    )


def _referral_status(status: str) -> Callable[[CaseState, Entry], None]:
    def fold(state: CaseState, entry: Entry) -> None:
        referral = state.referrals.get(entry.data["referral_id"])
        if referral is not None:
            referral.status = status

    return fold


def _dossier_opened(state: CaseState, entry: Entry) -> None:
    d = entry.data
    state.dossiers[d["dossier_id"]] = Dossier(
        d["dossier_id"], d["route"], d["ground"], entry.occurred_at, seen={entry.type}
    )


def _dossier_event(state: CaseState, entry: Entry) -> None:
    dossier = state.dossiers.get(entry.data["dossier_id"])
    if dossier is not None:
        dossier.apply(entry)


def _erased(state: CaseState, entry: Entry) -> None:
    state.erased = True


def _restricted(state: CaseState, entry: Entry) -> None:
    state.restriction = {
        "request_reference": entry.data["request_reference"],
        "holds": list(entry.data["holds"]),
        "event_id": entry.event_id,
    }


_FOLD: dict[str, Callable[[CaseState, Entry], None]] = {
    "PersonalDataErased": _erased,
    "PersonalDataRestricted": _restricted,
    "CaseOpened": _opened,
    "PersonDetailsUpdated": _person_updated,
    "CaseAssigned": _assigned,
    "CaseTransferred": _transferred,
    "CaseClosed": _closed,
    "CaseReopened": _reopened,
    "ReferralMade": _referral_made,
    "ReferralAccepted": _referral_status("accepted"),
    "ReferralDeclined": _referral_status("declined"),
    "ReferralCompleted": _referral_status("completed"),
    "DossierOpened": _dossier_opened,
    **{name: _dossier_event for name in DOSSIER_STATUS if name != "DossierOpened"},
}
