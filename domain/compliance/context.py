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
