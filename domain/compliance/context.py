"""What the rules may ask about a case besides the event they judge."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from domain.compliance.calendar import WorkingCalendar
from domain.compliance.spec import Match, local_day
from domain.state import CaseState, Entry


@dataclass
class Context:
    """The case as the evaluation sees it: effective entries (corrections applied, voids out)."""

    entries: list[Entry]
    state: CaseState
    calendar: WorkingCalendar
    as_of: datetime
    by_type: dict[str, list[Entry]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        for entry in self.entries:
            self.by_type[entry.type].append(entry)

    def find(
        self, match: Match, same_as: Entry | None = None, keys: tuple[str, ...] = ()
    ) -> list[Entry]:
        """Entries matching, sharing ``keys`` with ``same_as``, in occurred order."""
        found: list[Entry] = []
        for type_ in match.types:
            found.extend(
                e
                for e in self.by_type.get(type_, ())
                if match(e)
                and (same_as is None or all(e.data.get(k) == same_as.data.get(k) for k in keys))
            )
        if len(match.types) == 1:
            return found  # by_type keeps the occurred order already
        return sorted(found, key=lambda e: (e.occurred_at, e.version))

    def age_on(self, day: date) -> int | None:
        born = self.state.person.get("date_of_birth")
        try:
            birth = date.fromisoformat(str(born))
        except ValueError:  # unknown, or erased: "[erased]"
            return None
        return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))

    def age_at(self, entry: Entry) -> int | None:
        return self.age_on(local_day(entry.occurred_at))

    def route_of(self, entry: Entry) -> str | None:
        dossier = self.state.dossiers.get(entry.data.get("dossier_id", ""))
        return dossier.route if dossier else None

    def dossier_opening(self, dossier_id: str) -> Entry | None:
        return next(
            (
                e
                for e in self.by_type.get("DossierOpened", ())
                if e.data["dossier_id"] == dossier_id
            ),
            None,
        )

    def accepted_on(self, dossier_id: str) -> date | None:
        """The day the court accepted the dossier (the court stage's regime follows it)."""
        accepted = [
            e for e in self.by_type.get("CourtAccepted", ()) if e.data["dossier_id"] == dossier_id
        ]
        return local_day(accepted[0].occurred_at) if accepted else None

    def latest_before(self, type_: str, instant: datetime) -> Entry | None:
        earlier = [e for e in self.by_type.get(type_, ()) if e.occurred_at <= instant]
        return earlier[-1] if earlier else None

    def residence_at(self, entry: Entry) -> str | None:
        dossier = self.dossier_opening(entry.data.get("dossier_id", ""))
        if dossier is not None:
            return str(dossier.data["residence_status"])
        verified = self.latest_before("ResidenceVerified", entry.occurred_at)
        return str(verified.data["status"]) if verified else None

    def remote_at(self, entry: Entry) -> bool:
        """Whether the verification answering ``entry`` (the first one after it, else the last
        one before it) found a mountain, island or remote area."""
        after = [
            e
            for e in self.by_type.get("ResidenceVerified", ())
            if e.occurred_at >= entry.occurred_at
        ]
        verified = after[0] if after else self.latest_before("ResidenceVerified", entry.occurred_at)
        return bool(verified and verified.data.get("remote_area"))

    # --- what the person was in on a day (Law 120/2025 rules) -----------------------------------

    def imprisonments(self) -> list[tuple[datetime, date | None]]:
        """Each prison stay: when it started, and the day the person was released (``None``:
        not yet). A start while a stay is open continues it; an end without a start is ignored."""
        stays: list[tuple[datetime, date | None]] = []
        started: datetime | None = None
        for entry in self._in_order("ImprisonmentStarted", "ImprisonmentEnded"):
            if entry.type == "ImprisonmentStarted":
                started = started or entry.occurred_at
            elif started is not None:
                released = entry.data.get("released_on")
                end = date.fromisoformat(released) if isinstance(released, str) else None
                stays.append((started, end or local_day(entry.occurred_at)))
                started = None
        if started is not None:
            stays.append((started, None))
        return stays

    def imprisoned_at(self, instant: datetime) -> bool:
        """Whether the person was serving a prison sentence at ``instant`` (out on the day of
        release)."""
        return any(
            start <= instant and (end is None or local_day(instant) < end)
            for start, end in self.imprisonments()
        )

    def programmes_at(self, instant: datetime) -> set[str]:
        """What the person was in at ``instant``, as the record shows it: voluntary rehab at
        home or in the community (``voluntary_rehab_home_or_community``), at a facility
        (``voluntary_rehab_facility``), OST (``ost``), post-rehab management
        (``post_rehab_management``). A decision or a start begins one; a completion, a quit
        (or its violation record), a compulsory escort or the case's closure ends it."""
        ongoing: set[str] = set()
        for entry in self._in_order(*_PROGRAMME_EVENTS):
            if entry.occurred_at > instant:
                break
            kind = entry.type
            if kind in ("VoluntaryTreatmentDecided", "TreatmentStarted"):
                ongoing.add(_TREATMENT[entry.data["setting"]])
            elif kind == "TreatmentCompleted":
                ongoing.discard(_TREATMENT[entry.data["setting"]])
            elif kind == "TreatmentQuit":
                ongoing -= set(_TREATMENT.values())
            elif kind == "ViolationRecorded":
                ongoing -= _ENDED_BY_VIOLATION.get(entry.data["violation"], set())
            elif kind == "EscortedToFacility":
                ongoing -= set(_TREATMENT.values())
            elif kind == "PostRehabManagementDecided":
                ongoing.add("post_rehab_management")
            elif kind == "PostRehabManagementCompleted":
                ongoing.discard("post_rehab_management")
            elif kind == "CaseClosed":
                ongoing.clear()
        return ongoing

    def completed_rehab_episodes(self, before: datetime) -> int:
        """Rehab episodes the person finished before ``before``: voluntary rehab completed
        (family, community or facility; OST is treatment, not rehab), and compulsory stays
        ended by a release."""
        count, in_compulsory = 0, False
        for entry in self._in_order(
            "TreatmentCompleted", "EscortedToFacility", "AdmittedToFacility", "ReleasedFromFacility"
        ):
            if entry.occurred_at >= before:
                break
            if entry.type == "TreatmentCompleted":
                count += entry.data["setting"] != "ost"
            elif entry.type == "EscortedToFacility" or (
                entry.type == "AdmittedToFacility" and entry.data["admission_kind"] == "compulsory"
            ):
                in_compulsory = True
            elif entry.type == "ReleasedFromFacility" and in_compulsory:
                count, in_compulsory = count + 1, False
        return count

    def _in_order(self, *types: str) -> list[Entry]:
        found = [e for t in types for e in self.by_type.get(t, ())]
        return sorted(found, key=lambda e: (e.occurred_at, e.version))


_TREATMENT = {
    "family": "voluntary_rehab_home_or_community",
    "community": "voluntary_rehab_home_or_community",
    "facility": "voluntary_rehab_facility",
    "ost": "ost",
}
_ENDED_BY_VIOLATION = {
    "not_performed": {"voluntary_rehab_home_or_community", "voluntary_rehab_facility"},
    "quit": {"voluntary_rehab_home_or_community", "voluntary_rehab_facility"},
    "ost_quit": {"ost"},
}
_PROGRAMME_EVENTS = (
    "VoluntaryTreatmentDecided",
    "TreatmentStarted",
    "TreatmentCompleted",
    "TreatmentQuit",
    "ViolationRecorded",
    "EscortedToFacility",
    "PostRehabManagementDecided",
    "PostRehabManagementCompleted",
    "CaseClosed",
)
