"""One case being lived: the plan fixed in advance, the simulated present and decisions, and
the recording of each event through the ``Case`` aggregate on a simulated server clock -- kept
apart from the phases so that how events are recorded (delays, deferral, monotonic recording
times) reads separately from what happens."""

from __future__ import annotations

import heapq
import random
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Any, TypeVar

from domain.case import Case, NewEvent
from domain.events import Actor
from domain.units import local_day, registry
from infra.demo.world import (
    COMMUNE_ROLES,
    COMPULSORY_FACILITIES,
    DETECTION_PLACES,
    HORIZON,
    HOTELS,
    POLICE_TAKEOVER,
    PROVINCE,
    RECORDING_LAG,
    REGIME_22,
    TWO_TIERS,
    VN,
    Commune,
    Facility,
    Staff,
    World,
    add_working_days,
)

T = TypeVar("T")


# --- the course of one case --------------------------------------------------------------------


class EndOfTime(Exception):
    """The course ran past the horizon: what would come next has not happened yet."""


class Closing(Exception):
    """Something ends the case in the middle of a phase (the person died, moved away...)."""

    def __init__(self, reason: str, note: str) -> None:
        super().__init__(reason)
        self.reason, self.note = reason, note


# Events that other events depend on having been recorded first: recorded at once, never
# overtaken by an earlier-occurring entry that is recorded later.
NEVER_DEFERRED = frozenset(
    {
        "CaseOpened",
        "CaseClosed",
        "CaseReopened",
        "CaseTransferred",
        "EntryCorrected",
        "EntryVoided",
        "ReferralMade",
        "ReferralAccepted",
        "ReferralDeclined",
        "ReferralCompleted",
        "DossierOpened",
    }
)


@dataclass
class Plan:
    """Who the person is and which branches of the course are fixed in advance; where the
    course begins (``opening``: ``None`` for the usual ways into a course) and until when it
    runs. ``commune_after_reform`` picks, for a commune divided on 1 Jul 2025, the commune
    of the new list the person's home went into."""

    start: datetime
    birth: date
    sex: str
    commune: Commune
    source: str
    fixed: dict[str, Any] = field(default_factory=dict)
    duplicate: bool = False
    name: str | None = None  # a scripted person's name (else one is drawn)
    horizon: datetime = HORIZON
    opening: Phase | None = None
    commune_after_reform: str | None = None


class Course:
    """One case being lived: the simulated time, the decisions, and recording through the domain.

    ``t`` is the simulated present (occurred_at of what happens now). Each ``record`` is recorded
    a delay after it happened, on a per-case monotonic simulated server clock; an entry with a
    long delay waits in ``_pending`` while later events are recorded, unless something depends on
    it (``pin=True``, or a type in ``NEVER_DEFERRED``). ``later`` schedules an action (a
    correction, a referral's answer) for when the simulated time passes it.
    """

    def __init__(self, world: World, rng: random.Random, plan: Plan, case_id: uuid.UUID) -> None:
        self.world, self.rng, self.plan, self.fixed = world, rng, plan, plan.fixed
        self.case_id = case_id
        self.case: Case | None = None
        self.t = plan.start
        self.horizon = plan.horizon
        self.recording_horizon = plan.horizon + RECORDING_LAG
        self._commune = plan.commune
        self.person: dict[str, Any] = {}
        self.counts: Counter[str] = Counter()
        self.last_recorded = datetime(2000, 1, 1, tzinfo=VN)
        self._pending: list[tuple[datetime, int, NewEvent, Actor]] = []
        self._tasks: list[tuple[datetime, int, Callable[[], object], bool]] = []
        self._seq = 0
        self.closed = False
        # what the course has been through
        self.stable = True
        self.substances: list[str] = []
        self.setting = "community"
        self.planned_months = 6
        self.violation = ""
        self.completed = ""  # voluntary, compulsory_adult, compulsory_minor
        self.dossier_id = ""
        self.minor_route = False
        self.term_months = 0
        self.custody_start = plan.start
        self.facility = COMPULSORY_FACILITIES[0]
        self.had_commune_education = False
        self.rounds = 0
        self.dossiers = 0
        self.referrals = 0
        self.consents: set[str] = set()
        self.extras: list[str] = []

    # --- decisions ---

    def chance(self, name: str, p: float) -> bool:
        if name in self.fixed:
            return bool(self.fixed[name])
        return self.rng.random() < p

    def choose(self, name: str, options: Sequence[T], weights: Sequence[float]) -> T:
        if name in self.fixed:
            return self.fixed[name]  # type: ignore[no-any-return]
        return self.rng.choices(options, weights)[0]

    # --- where: the map of the simulated present ---

    @property
    def commune(self) -> Commune:
        """The person's commune on the map of the simulated present: from 1 Jul 2025, the
        commune of the new list its territory went into."""
        if self._commune.district is not None and self.t >= TWO_TIERS:
            pick = self.plan.commune_after_reform if self._commune == self.plan.commune else None
            self._commune = self.world.after_reform(self._commune, pick)
        return self._commune

    @commune.setter
    def commune(self, commune: Commune) -> None:
        self._commune = commune

    @property
    def area_code(self) -> str:
        """The unit that names the bodies above the commune serving the person (health centre,
        methadone clinic, court, procuracy, Labour and Justice offices): the district until
        30 Jun 2025; from 1 Jul 2025, when there are no districts, the person's commune -- a
        commune of the regional body's area (the demo does not hold the regional areas)."""
        district = self.commune.district
        return district.code if district else self.commune.code

    @property
    def area_label(self) -> str:
        """The district's name, or from 1 Jul 2025 "khu vực <commune>" (illustrative)."""
        district = self.commune.district
        return district.label if district else f"khu vực {self.commune.name}"

    # --- time ---

    @property
    def pre22(self) -> bool:
        return self.t < REGIME_22

    def age(self, on: date | None = None) -> int:
        on = on or self.t.date()
        b = self.plan.birth
        return on.year - b.year - ((on.month, on.day) < (b.month, b.day))

    @property
    def minor(self) -> bool:
        return self.age() < 18

    def office(self, day: date) -> datetime:
        minute = self.rng.randint(7 * 60 + 30, 16 * 60 + 45)
        return datetime.combine(day, clock_time(minute // 60, minute % 60), VN)

    def advance(self, to: datetime) -> datetime:
        """Move the present to ``to``, doing the scheduled actions that fall due on the way."""
        if to <= self.t:
            to = self.t + timedelta(minutes=self.rng.randint(5, 60))
        while self._tasks and self._tasks[0][0] <= min(to, self.horizon):
            due, _, action, allowed_when_closed = heapq.heappop(self._tasks)
            self.t = max(self.t, due)
            if allowed_when_closed or not self.closed:
                action()
        if to > self.horizon:
            raise EndOfTime
        self.t = to
        return to

    def wait(self, days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
        return self.advance(self.t + timedelta(days=days, hours=hours, minutes=minutes))

    def wait_days(self, lo: int, hi: int) -> datetime:
        """To office hours ``lo``..``hi`` calendar days from now."""
        return self.advance(self.office(self.t.date() + timedelta(days=self.rng.randint(lo, hi))))

    def wait_wd(self, lo: int, hi: int | None = None) -> datetime:
        """To office hours ``lo``..``hi`` working days from now."""
        n = lo if hi is None else self.rng.randint(lo, hi)
        return self.advance(self.office(add_working_days(self.t.date(), n)))

    def until(self, day: date) -> datetime:
        return self.advance(self.office(day))

    def later(
        self, days: tuple[int, int], action: Callable[[], object], allowed_when_closed: bool = False
    ) -> None:
        due = self.office(self.t.date() + timedelta(days=self.rng.randint(*days)))
        self._seq += 1
        heapq.heappush(self._tasks, (max(due, self.t), self._seq, action, allowed_when_closed))

    # --- who and on what basis ---

    def staff(self, role: str, unit: str | None = None, key: str = "") -> Staff:
        if unit is None:
            unit = self.commune.code if role in COMMUNE_ROLES else self.area_code
        return self.rng.choice(self.world.staff(role, unit, key))

    def actor(self, role: str, unit: str | None = None, key: str = "") -> Actor:
        return self.staff(role, unit, key).actor

    def facility_staff(self, facility: Facility) -> Actor:
        return self.actor("facility_staff", PROVINCE, facility.key)

    def body(self, kind: str, unit: str | None = None) -> dict[str, str]:
        if unit is None:
            commune_level = kind in ("commune_committee", "commune_police", "counselling_point")
            unit = self.commune.code if commune_level else self.area_code
        return {"kind": kind, "unit": unit}

    def court_body(self, facility: Facility | None = None) -> dict[str, str]:
        """The first-instance court of the person (or of ``facility``'s residents): the
        district court until 30 Jun 2025; from 1 Jul 2025 the regional people's court, named
        by the code of a commune of its area valid that day -- the person's commune (or the
        facility's seat), since the demo does not hold the regional courts' areas."""
        if self.t < TWO_TIERS:
            return self.body("district_court", facility.district if facility else None)
        return self.body("regional_court", facility.seat if facility else self.commune.code)

    def court_name(self) -> str:
        return f"Tòa án nhân dân {self.area_label}"

    @property
    def compiler_kind(self) -> str:
        """Who compiles the compulsory-rehab dossier: the commune chairman's committee (the
        commune police preparing it) until 28 Feb 2025, the commune police chief from 1 Mar
        2025 (Joint Circular 03/2025)."""
        return "commune_committee" if self.t < POLICE_TAKEOVER else "commune_police"

    def escort_police(self) -> tuple[Actor, dict[str, str]]:
        """Who escorts the person to the facility and searches for an absconder: the district
        police until 28 Feb 2025, then (district police abolished) the commune police."""
        kind = "district_police" if self.t < POLICE_TAKEOVER else "commune_police"
        return self.actor(kind), self.body(kind)

    def doc(self, pattern: str, form: str | None = None, on: date | None = None) -> dict[str, Any]:
        on = on or self.t.date()
        number = pattern.format(n=self.rng.randint(1, 420), y=on.year)
        return {"number": number, "date": on, "form_no": form}

    # --- recording ---

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def _delay(self, deferrable: bool) -> timedelta:
        r = self.rng.random()
        if not deferrable:  # a decision entered the same day, now and then the next
            if r < 0.6:
                return timedelta(minutes=self.rng.uniform(2, 90))
            return timedelta(hours=self.rng.uniform(1.5, 30 if r < 0.97 else 72))
        if r < 0.55:
            return timedelta(minutes=self.rng.uniform(2, 120))
        if r < 0.85:
            return timedelta(hours=self.rng.uniform(2, 30))
        if r < 0.97:
            return timedelta(days=self.rng.uniform(1.5, 6))
        return timedelta(days=self.rng.uniform(8, 35))  # entered weeks late

    def record(
        self,
        type_: str,
        data: Mapping[str, Any],
        by: Actor,
        *,
        at: datetime | None = None,
        body: Mapping[str, str] | None = None,
        doc: Mapping[str, Any] | None = None,
        basis: tuple[str, str | None] | None = None,
        pin: bool = False,
        learned: datetime | None = None,
    ) -> str:
        """Record one event that happened ``at`` (default: now); return its event id. An event
        the recorder ``learned`` of after it happened is recorded after that."""
        at = self.t if at is None else at
        if at > self.horizon:
            raise EndOfTime
        by = self._on_the_map(by, at)
        new = NewEvent.parse(
            type_,
            at,
            dict(data),
            event_id=self.new_id(),
            acting_body=dict(body) if body else None,
            document=dict(doc) if doc else None,
            legal_basis={"instrument": basis[0], "article": basis[1]} if basis else None,
        )
        deferrable = not pin and type_ not in NEVER_DEFERRED
        recorded = max(max(at, learned or at) + self._delay(deferrable), self.last_recorded)
        recorded = min(recorded, self.recording_horizon)
        if deferrable:
            self._flush(until=at)
            self._seq += 1
            heapq.heappush(self._pending, (recorded, self._seq, new, by))
            return new.event_id
        if type_ == "CaseClosed":
            self._flush()  # what was still to be entered is entered before the case closes
            recorded = max(recorded, self.last_recorded)
        else:
            self._flush(until=recorded)
        self._apply(recorded, new, by)
        return new.event_id

    def _on_the_map(self, by: Actor, at: datetime) -> Actor:
        """``by`` as the map of ``at`` has them: from 1 Jul 2025 someone of a district or
        commune that no longer exists (who made a referral before the reform, say, whose
        answer comes after it) works for the unit that took over the person's file, in the
        same place on its roster."""
        if at < TWO_TIERS or registry().unit(by.unit, local_day(at)) is not None:
            return by
        unit = self.commune.code if by.role in COMMUNE_ROLES else self.area_code
        place = int(by.id.rsplit(".", 1)[1])
        return self.world.staff(by.role, unit)[place - 1].actor

    def _flush(self, until: datetime | None = None) -> None:
        while self._pending and (until is None or self._pending[0][0] <= until):
            recorded, _, new, by = heapq.heappop(self._pending)
            self._apply(recorded, new, by)

    def _apply(self, recorded: datetime, new: NewEvent, by: Actor) -> None:
        if self.case is None:
            self.case = Case.open(self.case_id, new, by, recorded)
        else:
            self.case.record(new, by, recorded)
        self.last_recorded = recorded
        self.counts[new.type] += 1
        if new.type == "CaseClosed":
            self.closed = True
        elif new.type == "CaseReopened":
            self.closed = False

    def finish(self) -> None:
        """Do what is still due before the horizon and enter everything still pending."""
        while self._tasks and self._tasks[0][0] <= self.horizon:
            due, _, action, allowed_when_closed = heapq.heappop(self._tasks)
            self.t = max(self.t, due)
            if allowed_when_closed or not self.closed:
                action()
        self._flush()

    # --- small shared pieces ---

    def place(self) -> str:
        pattern = self.rng.choice(DETECTION_PLACES)
        return pattern.format(
            hotel=self.rng.choice(HOTELS),
            street=self.rng.choice(self.commune.places),
            commune=self.commune.label,
            name=self.commune.name,
        )

    def correct(self, target: str, changes: dict[str, Any], reason: str) -> None:
        self.record(
            "EntryCorrected",
            {"corrects_event_id": target, "changes": changes, "reason": reason},
            self.actor("commune_officer"),
        )


Phase = Callable[[Course], Any]  # records what happens, returns the next phase or None
