"""The Vietnamese working-day calendar that legal deadlines are counted in.

Working days exclude Saturdays, Sundays and public holidays, the lunar ones included (Tết, Hùng
Kings), with the observed and swapped days the ``holidays`` package knows. The government moves
bridge days every year, so the operator can add days off and working days (a Saturday worked in
exchange) as data: ``WorkingCalendar(extra_holidays=..., extra_working_days=...)`` or
``WorkingCalendar.from_file(path)`` with ``{"holidays": [...], "working_days": [...]}``.

Counting (Civil Code 2015 Arts 147-148): the start day is not counted; a deadline in calendar days
that ends on a day off moves to the next working day.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

import holidays

Unit = Literal["wd", "d", "h"]


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has no such day)."""
    month = start.month - 1 + months
    year, month = start.year + month // 12, month % 12 + 1
    next_month = date(year + month // 12, month % 12 + 1, 1)
    return min(date(year, month, 1) + timedelta(days=start.day - 1), next_month - timedelta(days=1))


class WorkingCalendar:
    def __init__(
        self, extra_holidays: Iterable[date] = (), extra_working_days: Iterable[date] = ()
    ) -> None:
        self._public = holidays.country_holidays("VN")
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_working_days = frozenset(extra_working_days)
        self._working: dict[date, bool] = {}  # the calendar never changes: remember each day

    @classmethod
    def from_file(cls, path: str | Path) -> WorkingCalendar:
        data = json.loads(Path(path).read_text())
        return cls(
            extra_holidays=map(date.fromisoformat, data.get("holidays", [])),
            extra_working_days=map(date.fromisoformat, data.get("working_days", [])),
        )

    def is_working_day(self, day: date) -> bool:
        known = self._working.get(day)
        if known is None:
            # the package knows weekends, holidays and the Saturdays worked in exchange
            known = day in self.extra_working_days or (
                day not in self.extra_holidays and bool(self._public.is_working_day(day))
            )
            self._working[day] = known
        return known

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (start not counted)."""
        day = start
        while n > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return day

    def add_days(self, start: date, n: int) -> date:
        """``start`` + n calendar days, moved to the next working day if that is a day off."""
        day = start + timedelta(days=n)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 if end <= start)."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count

    def due(self, start: date | datetime, amount: int, unit: Unit) -> date | datetime:
        """When a deadline of ``amount`` ``unit`` counted from ``start`` falls due."""
        if unit == "h":
            assert isinstance(start, datetime)
            return start + timedelta(hours=amount)
        day = start.date() if isinstance(start, datetime) else start
        return self.add_working_days(day, amount) if unit == "wd" else self.add_days(day, amount)

    def lateness(self, due: date | datetime, done: date | datetime, unit: Unit) -> int:
        """How late ``done`` is after ``due``, in the rule's unit."""
        if unit == "h":
            assert isinstance(due, datetime) and isinstance(done, datetime)
            return max(0, int((done - due).total_seconds() // 3600))
        due_day = due.date() if isinstance(due, datetime) else due
        done_day = done.date() if isinstance(done, datetime) else done
        if unit == "wd":
            return self.working_days_between(due_day, done_day)
        return max(0, (done_day - due_day).days)
