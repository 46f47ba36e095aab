"""The Case aggregate: one stream per person's management record.

It refuses exactly what ``events.md`` lists as refused at write time, and nothing more:
procedural mistakes (late, out of order, missing steps) are recorded and judged later.
Two choices the catalogue leaves open, made here on purpose:

- ``CaseReopened`` on a case that is not closed is refused (there is nothing to reopen);
- the opening entry cannot be voided (a duplicate case is closed with reason ``duplicate``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate
from eventsourcing.utils import register_topic
from pydantic import ValidationError

from domain.errors import (
    CaseIsClosed,
    CaseIsNotClosed,
    Conflict,
    EntryAlreadyVoided,
    FieldError,
    InvalidEvent,
    PersonalDataWasErased,
    ReferralAlreadyClosed,
    RepeatedOnceOnlyEvent,
    UnresolvedReference,
)
from domain.events import (
    ALLOWED_ON_CLOSED_CASE,
    CATALOGUE,
    CORRECTABLE_ENVELOPE_FIELDS,
    ONCE_PER_DOSSIER,
    REFERENCE_FIELDS,
    ActingBody,
    Actor,
    Document,
    EventType,
    LegalBasis,
    unit_codes,
)
from domain.personal import scrubbed
from domain.state import JSON, CaseState, Entry, Envelope, apply_changes, corrected_entry, derive
from domain.units import local_day, registry

MAX_CLOCK_SKEW = timedelta(minutes=5)
PERSONAL_DATA_REQUESTS = frozenset({"PersonalDataErased", "PersonalDataRestricted"})
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class NewEvent:
    """A validated request to record one event (payload normalised to JSON types)."""

    type: str
    occurred_at: datetime
    data: JSON
    event_id: str = field(default_factory=lambda: str(uuid4()))
    acting_body: JSON | None = None
    document: JSON | None = None
    legal_basis: JSON | None = None
    unit_codes_as_of: str | None = None

    @classmethod
    def parse(
        cls,
        type: str,
        occurred_at: datetime,
        data: dict[str, Any],
        *,
        event_id: UUID | str | None = None,
        acting_body: ActingBody | dict[str, Any] | None = None,
        document: Document | dict[str, Any] | None = None,
        legal_basis: LegalBasis | dict[str, Any] | None = None,
        unit_codes_as_of: date | None = None,
    ) -> NewEvent:
        """Validate ``data`` against the catalogue model for ``type``; raise InvalidEvent.
        ``unit_codes_as_of``: the day of the code list a historical import declares its
        org-unit codes follow (the aggregate checks the codes on that day, else on the
        event's own)."""
        event_type = CATALOGUE.get(type)
        if event_type is None:
            raise InvalidEvent(
                f"unknown event type {type!r}",
                [FieldError(("type",), "not a type of the case event catalogue")],
            )
        if occurred_at.tzinfo is None or occurred_at.utcoffset() is None:
            raise InvalidEvent(
                "occurred_at must carry a timezone offset",
                [FieldError(("occurred_at",), "must be timezone-aware (RFC 3339 with offset)")],
            )
        payload = _validate(event_type.model, data or {}, ("data",))
        envelope = {
            "acting_body": _validate(ActingBody, acting_body, ("acting_body",)),
            "document": _validate(Document, document, ("document",)),
            "legal_basis": _validate(LegalBasis, legal_basis, ("legal_basis",)),
        }
        _check_acting_body(event_type, envelope["acting_body"])
        if unit_codes_as_of is not None and unit_codes_as_of > local_day(occurred_at):
            raise InvalidEvent(
                "unit_codes_as_of is after the event",
                [FieldError(("unit_codes_as_of",), "must be on or before occurred_at's day")],
            )
        as_of = unit_codes_as_of.isoformat() if unit_codes_as_of else None
        return cls(
            type=type,
            occurred_at=occurred_at,
            data=payload or {},
            event_id=str(event_id) if event_id else str(uuid4()),
            unit_codes_as_of=as_of,
            **envelope,
        )

    def same_content_as(self, entry: Entry) -> bool:
        """Whether a repeat submission with this event's id is the same as what was recorded."""
        return (
            self.type == entry.type
            and self.occurred_at == entry.occurred_at
            and self.data == entry.data
            and self.acting_body == entry.acting_body
            and self.document == entry.document
            and self.legal_basis == entry.legal_basis
            and self.unit_codes_as_of == entry.unit_codes_as_of
        )

    def envelope(
        self, actor: Actor, correlation_id: str | None, causation_id: str | None
    ) -> Envelope:
        return Envelope(
            event_id=self.event_id,
            schema_version=CATALOGUE[self.type].schema_version,
            occurred_at=self.occurred_at,
            actor=actor.model_dump(mode="json"),
            acting_body=self.acting_body,
            document=self.document,
            legal_basis=self.legal_basis,
            correlation_id=correlation_id,
            causation_id=causation_id,
            unit_codes_as_of=self.unit_codes_as_of,
        )


def check_unit_codes_in_force(new: NewEvent) -> None:
    check_unit_codes(new.type, new.data, new.acting_body, new.occurred_at, new.unit_codes_as_of)


def check_unit_codes(
    type_: str,
    data: JSON,
    acting_body: JSON | None,
    occurred_at: datetime,
    as_of: str | None,
    loc: tuple[str, ...] = ("data",),
) -> None:
    """Every org-unit code of an event names a unit on the event's day (or on the declared
    ``as_of`` day): problem+json names each field that does not, with the date and what the
    code named when it was in force. Before 1 Jul 2025, a pre-reform code that no list holds
    (a commune merged earlier) is accepted: the compliance engine reports it as unknown."""
    try:
        day = date.fromisoformat(as_of) if as_of else local_day(occurred_at)
    except OverflowError:
        return  # an instant out of the calendar: ``check_not_in_future`` refuses it
    units = registry()
    errors = []
    for path, code in unit_codes(type_, data, acting_body):
        problem = units.problem(code, day)
        if not problem:
            continue
        if path != "acting_body.unit":
            errors.append(FieldError((*loc, *path.split(".")), problem))
        elif loc == ("data",):
            errors.append(FieldError(("acting_body", "unit"), problem))
        else:
            errors.append(FieldError((*loc, "acting_body"), problem))
    if errors:
        raise InvalidEvent(f"org-unit code not in force on {day}", errors)


def _check_acting_body(event_type: EventType, acting_body: JSON | None) -> None:
    """A type that names its acting bodies needs one of them (``EventType.acting_bodies``)."""
    allowed = event_type.acting_bodies
    if allowed is None:
        return
    kind = (acting_body or {}).get("kind")
    if kind not in allowed:
        raise InvalidEvent(
            f"{event_type.name} is the act of a {' or '.join(sorted(allowed))}",
            [
                FieldError(
                    ("acting_body", "kind") if acting_body else ("acting_body",),
                    f"must be one of {sorted(allowed)}"
                    + (f", not {kind!r}" if acting_body else ""),
                )
            ],
        )


def _validate(model: Any, value: Any, loc: tuple[str, ...]) -> JSON | None:
    if value is None:
        return None
    if isinstance(value, model):
        return value.model_dump(mode="json")  # type: ignore[no-any-return]
    try:
        return model.model_validate(value).model_dump(mode="json")  # type: ignore[no-any-return]
    except ValidationError as e:
        raise InvalidEvent(
            f"invalid {'.'.join(loc)}",
            [FieldError((*loc, *err["loc"]), err["msg"], err["type"]) for err in e.errors()],
        ) from None


class Case(Aggregate):
    TOPIC = "Case"

    class Event(Aggregate.Event):
        TOPIC = "CaseEvent"
        envelope: JSON
        data: JSON

        def apply(self, aggregate: Any) -> None:
            aggregate.append_entry(self.entry())

        def entry(self) -> Entry:
            return Entry(
                case_id=str(self.originator_id),
                version=self.originator_version,
                type=type(self).TOPIC,
                recorded_at=self.timestamp,
                data=self.data,
                **Envelope.from_json(self.envelope),
            )

    class Opened(Event, Aggregate.Created):
        TOPIC = "CaseOpened"

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self._state: CaseState | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> Case:
        """A copy for one command (the repository copies cached cases): entries are frozen
        records and the derived state is never changed once derived, so only the lists that
        a command appends to are copied."""
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.entries = list(self.entries)
        copy._pending_events = list(self._pending_events)
        return copy

    # --- commands --------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        case_id: UUID,
        new: NewEvent,
        actor: Actor,
        now: datetime,
        correlation_id: str | None = None,
    ) -> Case:
        if new.type != "CaseOpened":
            raise InvalidEvent(
                "a case opens with CaseOpened", [FieldError(("type",), "must be CaseOpened")]
            )
        check_not_in_future(new.occurred_at, now)
        check_unit_codes_in_force(new)
        return cls._create(
            Case.Opened,
            id=case_id,
            timestamp=now,
            envelope=new.envelope(actor, correlation_id, None).as_json(),
            data=new.data,
        )

    def record(
        self,
        new: NewEvent,
        actor: Actor,
        now: datetime,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> None:
        check_not_in_future(new.occurred_at, now)
        check_unit_codes_in_force(new)
        self.check_case_accepts(new.type)
        new = self.check_correction_is_valid(new, now)
        self.check_references_resolve(new)
        self.check_not_repeated(new)
        self.trigger_event(
            EVENT_CLASSES[new.type],
            timestamp=now,
            envelope=new.envelope(actor, correlation_id, causation_id).as_json(),
            data=new.data,
        )

    # --- guards ----------------------------------------------------------------------------

    def check_case_accepts(self, event_type: str) -> None:
        if self.state.erased:
            raise PersonalDataWasErased(
                "the person's data was erased: the case records nothing more", field="type"
            )
        if event_type == "CaseOpened":
            raise Conflict("the case is already open", field="type")
        if self.state.closed and event_type not in ALLOWED_ON_CLOSED_CASE:
            raise CaseIsClosed(
                f"case is closed; only {', '.join(sorted(ALLOWED_ON_CLOSED_CASE))} "
                "may be recorded until it is reopened",
                field="type",
            )
        if event_type == "CaseReopened" and not self.state.closed:
            raise CaseIsNotClosed("case is not closed", field="type")

    def check_references_resolve(self, new: NewEvent) -> None:
        state, data = self.state, new.data
        if "referral_id" in data and new.type != "ReferralMade":
            referral = state.referrals.get(data["referral_id"])
            if referral is None:
                raise _unresolved("referral_id", "no referral with this id in this case")
            if referral.is_closed:
                raise ReferralAlreadyClosed(
                    f"referral {referral.referral_id} is already {referral.status}",
                    field="data.referral_id",
                )
        dossier_id = data.get("dossier_id")
        if (
            dossier_id is not None
            and new.type != "DossierOpened"
            and dossier_id not in state.dossiers
        ):
            raise _unresolved("dossier_id", "no dossier with this id in this case")
        if "voids_event_id" in data:  # a correction's target: check_correction_is_valid
            self._check_target("voids_event_id", data["voids_event_id"], new.type)
        for i, event_id in enumerate(data.get("evidence_event_ids", ())):
            if event_id not in state.event_ids:
                raise UnresolvedReference(
                    "evidence event not found in this case",
                    [FieldError(("data", "evidence_event_ids", i), "no such event in this case")],
                )

    def _check_target(self, target_field: str, target_id: str, event_type: str) -> None:
        target = self.entry_by_id(target_id)
        if target is None:
            raise _unresolved(target_field, "no event with this id in this case")
        if target_id in self.state.voided:
            raise EntryAlreadyVoided(f"event {target_id} is voided", field=f"data.{target_field}")
        if target.type in PERSONAL_DATA_REQUESTS:
            raise Conflict(
                "a data subject's request is recorded for good; it is neither corrected nor voided",
                field=f"data.{target_field}",
            )
        if event_type == "EntryVoided" and target.type == "CaseOpened":
            raise Conflict(
                "the opening entry cannot be voided; close the case with reason 'duplicate'",
                field="data.voids_event_id",
            )

    def check_not_repeated(self, new: NewEvent) -> None:
        data = new.data
        if new.type == "ReferralMade" and data["referral_id"] in self.state.referrals:
            raise RepeatedOnceOnlyEvent(
                "a referral with this id was already made", field="data.referral_id"
            )
        if new.type == "DossierOpened" and data["dossier_id"] in self.state.dossiers:
            raise RepeatedOnceOnlyEvent(
                "a dossier with this id was already opened", field="data.dossier_id"
            )
        dossier = self.state.dossiers.get(data.get("dossier_id", ""))
        if (
            dossier is not None
            and new.type in ONCE_PER_DOSSIER
            and new.type in dossier.seen
            and not (new.type == "CourtDecisionIssued" and dossier.decision == "suspend")
        ):
            raise RepeatedOnceOnlyEvent(
                f"{new.type} is already recorded for dossier {data['dossier_id']}",
                field="type",
            )

    def check_correction_is_valid(self, new: NewEvent, now: datetime) -> NewEvent:
        """For an EntryCorrected: the changed entry must still be valid; return it normalised."""
        if new.type != "EntryCorrected":
            return new
        self._check_target("corrects_event_id", new.data["corrects_event_id"], new.type)
        return self.normalised_correction(new, now)

    def normalised_correction(self, new: NewEvent, now: datetime) -> NewEvent:
        """The correction with its changes validated against the target and normalised."""
        target = corrected_entry(self.entries, new.data["corrects_event_id"])
        model = CATALOGUE[target.type].model
        changes = dict(new.data["changes"])
        data_changes: JSON = {}
        for key, value in changes.items():
            loc = ("data", "changes", key)
            head, _, tail = key.partition(".")
            if head in REFERENCE_FIELDS or (target.type == "EntryCorrected" and head == "changes"):
                raise InvalidEvent(
                    "references cannot be corrected; void the entry and record it again",
                    [FieldError(loc, "a reference field cannot be corrected")],
                )
            if tail and not isinstance(target.data.get(head), dict):
                raise InvalidEvent(
                    f"{head!r} has no sub-fields",
                    [FieldError(loc, f"{head} is not an object; correct it as a whole")],
                )
            if key == "occurred_at":
                changes[key] = _corrected_instant(value, now, loc)
            elif key in CORRECTABLE_ENVELOPE_FIELDS:
                kind = {"acting_body": ActingBody, "document": Document}.get(key, LegalBasis)
                changes[key] = _validate(kind, value, loc)
            elif head in model.model_fields:
                data_changes[key] = value
            else:
                raise InvalidEvent(
                    f"{target.type} has no field {key!r}",
                    [FieldError(loc, f"not a field of {target.type}")],
                )
        corrected = _validate(model, apply_changes(target.data, data_changes), ("data", "changes"))
        assert corrected is not None
        check_unit_codes(
            target.type,
            corrected,
            changes.get("acting_body", target.acting_body),
            datetime.fromisoformat(changes["occurred_at"])
            if "occurred_at" in changes
            else target.occurred_at,
            target.unit_codes_as_of,
            loc=("data", "changes"),
        )
        for key in data_changes:  # store the normalised values
            head, _, tail = key.partition(".")
            changes[key] = corrected[head][tail] if tail else corrected[head]
        return NewEvent(
            type=new.type,
            occurred_at=new.occurred_at,
            data={**new.data, "changes": changes},
            event_id=new.event_id,
            acting_body=new.acting_body,
            document=new.document,
            legal_basis=new.legal_basis,
            unit_codes_as_of=new.unit_codes_as_of,
        )

    # --- state -----------------------------------------------------------------------------

    def append_entry(self, entry: Entry) -> None:
        """Add a recorded entry; an erasure scrubs every personal value held in memory too (a
        case cached before it was erased keeps no plaintext)."""
        if entry.type == "PersonalDataErased":
            self.entries = [replace(e, data=scrubbed(e.type, e.data)) for e in self.entries]
        self.entries.append(entry)
        self._state = None

    @property
    def state(self) -> CaseState:
        if self._state is None:
            self._state = derive(self.entries)
        return self._state

    def is_repeat_of(self, new: NewEvent, entry: Entry, now: datetime) -> bool:
        """Whether ``new`` says what ``entry`` recorded (corrections compared normalised)."""
        if new.type == "EntryCorrected" and new.type == entry.type:
            try:
                new = self.normalised_correction(new, now)
            except InvalidEvent:
                return False
        return new.same_content_as(entry)

    def entry_by_id(self, event_id: str) -> Entry | None:
        return next((e for e in self.entries if e.event_id == event_id), None)


def check_not_in_future(occurred_at: datetime, now: datetime) -> None:
    if occurred_at < EARLIEST:
        raise InvalidEvent(
            "occurred_at is implausibly early",
            [FieldError(("occurred_at",), "before 1900-01-01")],
        )
    if occurred_at > now + MAX_CLOCK_SKEW:
        raise InvalidEvent(
            "occurred_at is in the future",
            [FieldError(("occurred_at",), "more than 5 minutes after the server clock")],
        )


def _corrected_instant(value: Any, now: datetime, loc: tuple[str, ...]) -> str:
    try:
        instant = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidEvent(
            "invalid occurred_at", [FieldError(loc, "not an RFC 3339 instant")]
        ) from None
    if instant.tzinfo is None:
        raise InvalidEvent("invalid occurred_at", [FieldError(loc, "must be timezone-aware")])
    if not EARLIEST <= instant <= now + MAX_CLOCK_SKEW:
        raise InvalidEvent("invalid occurred_at", [FieldError(loc, "in the future or before 1900")])
    return instant.isoformat()


def _unresolved(name: str, msg: str) -> UnresolvedReference:
    return UnresolvedReference(
        f"{name} does not resolve in this case", [FieldError(("data", name), msg)]
    )


def _event_classes() -> dict[str, type[Case.Event]]:
    """One stored event class per catalogue type, its topic the stable type name."""
    classes: dict[str, type[Case.Event]] = {"CaseOpened": Case.Opened}
    for name in CATALOGUE:
        if name != "CaseOpened":
            classes[name] = type(
                name, (Case.Event,), {"TOPIC": name, "__qualname__": f"Case.{name}"}
            )
    for name, cls in classes.items():
        register_topic(name, cls)
    register_topic(Case.TOPIC, Case)
    return classes


EVENT_CLASSES = _event_classes()
