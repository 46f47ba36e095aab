"""Who may see and do what: roles and permissions as data (``policy.toml``, reviewed like code),
and jurisdiction over a case by org unit.

**Roles** (``policy.toml``): the event types each may record, what it may read, whether it sees
personal fields, the purposes of use it may state (the first is its default).

**Jurisdiction** (org units are dotted paths; a unit's subtree is itself and every code that
starts with it and a dot). A caller whose unit is ``U`` reaches a case when one of the case's
units lies in ``U``'s subtree:

- the **managing unit** (the current one): read, and record what the role may record;
- the **units that handle it**: the court a dossier was sent to (``DossierSentToCourt``'s
  ``court_unit``, which is also where the procuracy supervising that court sits) and every
  court, procuracy or rehab facility that acted on the case (an entry's ``acting_body`` of
  one of those kinds, which only someone of that body's territory may name): read and
  record, so that a court clerk enters the court's acts and facility staff the facility's;
- **former managing units** (before a ``CaseTransferred``): read only, so that the unit that
  handed a case on can still account for its part of the record, and record nothing more.

Units are compared **on today's map** (``domain/units.py``): a case's codes are read on the
date they were recorded, the caller's on the newest list, and both stand for the units of
today's list their territory went into. So a province user today reaches the cases of the
communes that are now theirs, including those recorded under the pre-July-2025 codes (a
merged province's old code, ``27`` Bắc Ninh, lies in today's ``24``); a commune user reaches
the cases recorded under the codes of the old communes that went, wholly or in part, into
theirs (a split commune's old cases are reachable from each commune that received a part,
until transferred); a token naming an abolished district stands for the communes its
territory went into. ``within`` (same-list dotted prefixes) is what the comparison rests on.

A province-level caller reaches every case its communes (and, before July 2025, districts)
reach. Anything else is out of jurisdiction: refused (403) and the refusal audited, unless an
emergency grant (break-the-glass) covers that caller and case.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Literal

from domain.case import NewEvent
from domain.errors import Forbidden
from domain.events import CATALOGUE
from domain.state import Entry
from domain.units import local_day, registry

Capability = Literal[
    "case",
    "read_models",
    "log",
    "verify",
    "access_log",
    "emergency",
    "emergency_review",
    "operations",
    "data_subject_requests",
]
CAPABILITIES: frozenset[str] = frozenset(Capability.__args__)  # type: ignore[attr-defined]
CORRECTIONS = frozenset({"EntryCorrected", "EntryVoided"})
HANDLING_KINDS = frozenset(
    {
        "district_court",
        "regional_court",
        "provincial_court",
        "procuracy",
        "regional_procuracy",
        "rehab_facility",
    }
)


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    records: frozenset[str]
    reads: frozenset[str]
    personal_data: bool
    purposes: tuple[str, ...]
    scopes: dict[str, str] = field(default_factory=dict)
    """A read that also needs a scope in the token (capability → scope): a downstream system
    registered with the identity provider reads the stream only once granted it."""

    @property
    def default_purpose(self) -> str:
        return self.purposes[0]


@dataclass(frozen=True)
class Principal:
    """Who is asking, from a verified token: the actor id, role, unit, name, scopes, and the
    purpose of use stated for this request."""

    sub: str
    role: Role
    unit: str
    name: str | None = None
    scopes: tuple[str, ...] = ()
    purpose: str = ""


@dataclass(frozen=True)
class Policy:
    roles: dict[str, Role]
    purposes: dict[str, str]

    def may(self, role: Role, capability: Capability) -> bool:
        return capability in role.reads

    def missing_scope(self, principal: Principal, capability: Capability) -> str | None:
        """The scope the principal's token lacks for this read, if the role needs one."""
        needed = principal.role.scopes.get(capability)
        return needed if needed is not None and needed not in principal.scopes else None

    def may_record(self, role: Role, type_: str, target_type: str | None = None) -> bool:
        """Whether ``role`` may enter an event of ``type_``; a correction or void only on an
        entry (of ``target_type``) that the role may itself record."""
        if type_ not in role.records:
            return False
        if type_ in CORRECTIONS:
            return target_type is not None and target_type in role.records
        return True


def load_policy(text: str | None = None) -> Policy:
    """The policy from ``text`` (TOML), by default the packaged ``policy.toml``; checked: every
    type is one of the catalogue, every read a known capability, every purpose declared."""
    raw = tomllib.loads(text if text is not None else _packaged())
    purposes = dict(raw["purposes"])
    groups: dict[str, list[str]] = raw.get("groups", {})
    roles: dict[str, Role] = {}
    for name, spec in raw["roles"].items():
        records = frozenset(_expand(spec.get("records", []), groups, name))
        unknown = records - CATALOGUE.keys()
        if unknown:
            raise ValueError(f"role {name}: not event types of the catalogue: {sorted(unknown)}")
        reads = frozenset(spec.get("reads", []))
        if reads - CAPABILITIES:
            raise ValueError(f"role {name}: unknown reads {sorted(reads - CAPABILITIES)}")
        stated = tuple(spec["purposes"])
        if not stated or set(stated) - purposes.keys():
            raise ValueError(f"role {name}: purposes must be declared ones: {stated}")
        scopes = dict(spec.get("scopes", {}))
        if stray := set(scopes) - reads:
            raise ValueError(f"role {name}: scopes of reads it lacks: {sorted(stray)}")
        roles[name] = Role(
            name, spec["description"], records, reads, bool(spec["personal_data"]), stated, scopes
        )
    return Policy(roles, purposes)


@cache
def packaged_policy() -> Policy:
    return load_policy()


def _packaged() -> str:
    return files("domain").joinpath("policy.toml").read_text(encoding="utf-8")


def _expand(names: Iterable[str], groups: dict[str, list[str]], role: str) -> Iterable[str]:
    for name in names:
        if name.startswith("@"):
            if name[1:] not in groups:
                raise ValueError(f"role {role}: no group {name}")
            yield from groups[name[1:]]
        else:
            yield name


# --- jurisdiction ----------------------------------------------------------------------------


def within(unit: str, ancestor: str) -> bool:
    """Whether ``unit`` lies in ``ancestor``'s subtree (itself included)."""
    return unit == ancestor or unit.startswith(ancestor + ".")


UnitOn = tuple[str, date | None]
"""An org-unit code and the day it was recorded for (``None``: its latest version)."""


def lies_in(unit: UnitOn, scope: str) -> bool:
    """Whether the unit (a code as recorded on its day) lies in ``scope`` on today's map."""
    return registry().lies_in(unit[0], unit[1], scope)


@dataclass(frozen=True)
class Reach:
    """The units through which a case is reached (see the module's docstring)."""

    managing: UnitOn
    handling: frozenset[UnitOn] = frozenset()
    former: frozenset[UnitOn] = frozenset()

    def readable_by(self, unit: str) -> bool:
        return any(lies_in(u, unit) for u in (self.managing, *self.handling, *self.former))

    def recordable_by(self, unit: str) -> bool:
        return any(lies_in(u, unit) for u in (self.managing, *self.handling))


def reach_of(entries: Iterable[Entry]) -> Reach:
    """A case's reach from its entries (voided ones included: a body that acted and was then
    voided had the case in its hands)."""
    managing: UnitOn = ("", None)
    handling: set[UnitOn] = set()
    former: set[UnitOn] = set()
    for entry in entries:
        on = _day_of(entry)
        if entry.type == "CaseOpened":
            managing = (entry.data["managing_unit"], on)
        elif entry.type == "CaseTransferred":
            former.add(managing)
            managing = (entry.data["to_unit"], on)
        elif entry.type == "DossierSentToCourt":
            handling.add((entry.data["court_unit"], on))
        body = entry.acting_body
        if body and body.get("kind") in HANDLING_KINDS:
            handling.add((body["unit"], on))
    return Reach(managing, frozenset(handling), frozenset(former - {managing}))


def _codes_day(new: NewEvent) -> date:
    """The day whose list a new event's codes follow, as ``reach_of`` will read them."""
    if new.unit_codes_as_of:
        return date.fromisoformat(new.unit_codes_as_of)
    return local_day(new.occurred_at)


def _may_name(unit: str, body_unit: str, new: NewEvent) -> bool:
    """Whether a caller of ``unit`` may name a handling body of ``body_unit`` (which gives the
    body the case): the caller must belong to the body's territory; and a body of a unit not
    on today's list, whose territory went to several of today's units, must lie wholly in
    the caller's, or naming it would hand the case to the other parts."""
    units = registry()
    if not units.in_force(body_unit):
        return units.contains(unit, body_unit, _codes_day(new))
    return units.contains(body_unit, unit)


def _day_of(entry: Entry) -> date:
    """The day whose code list the entry's codes follow (a declared list, else its own)."""
    if entry.unit_codes_as_of:
        return date.fromisoformat(entry.unit_codes_as_of)
    return local_day(entry.occurred_at)


def authorize_recording(
    policy: Policy, principal: Principal, entries: Sequence[Entry], events: Sequence[NewEvent]
) -> None:
    """Refuse (``Forbidden``) events the principal may not enter on a case holding ``entries``:
    a type its role does not record, a correction or void of an entry of such a type, or a case
    out of its jurisdiction (to record, the case's managing or handling units)."""
    role = principal.role
    if entries:
        reach = reach_of(entries)
        if not reach.recordable_by(principal.unit):
            raise Forbidden(
                f"the case is not managed or handled in unit {principal.unit}'s subtree",
                field="case_id",
            )
    types = {e.event_id: e.type for e in entries}
    for new in events:
        types[new.event_id] = new.type
        target = None
        if new.type == "EntryCorrected":
            target = types.get(new.data.get("corrects_event_id", ""))
        elif new.type == "EntryVoided":
            target = types.get(new.data.get("voids_event_id", ""))
        if new.type in CORRECTIONS and target is None and new.type in role.records:
            continue  # no such entry: the case itself refuses the reference (409)
        if not policy.may_record(role, new.type, target):
            what = f"{new.type} of a {target}" if target else new.type
            raise Forbidden(f"role {role.name} may not record {what}", field="type")
        body = new.acting_body or {}
        if body.get("kind") in HANDLING_KINDS and not _may_name(principal.unit, body["unit"], new):
            # naming a court, procuracy or facility as the acting body gives it the case:
            # only someone inside that body's territory may say it acted
            raise Forbidden(
                f"a {body['kind']} of unit {body['unit']} is not one unit {principal.unit} "
                "belongs to",
                field="acting_body",
            )
        if new.type == "CaseOpened" and not registry().contains(
            principal.unit, new.data["managing_unit"], _codes_day(new)
        ):
            raise Forbidden(
                f"managing_unit {new.data['managing_unit']} is outside unit "
                f"{principal.unit}'s subtree",
                field="managing_unit",
            )
