"""The working-day calendar that legal deadlines are counted in (rulebook §0, "Day units").

Working days exclude Saturdays, Sundays and Vietnamese public holidays with their observed and
swapped days; the start day is not counted; a deadline in calendar days that ends on a day off
moves to the next working day. The operator adds the days the government moves each year.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from domain.compliance.calendar import WorkingCalendar

VN = timezone(timedelta(hours=7))


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


# --- counting --------------------------------------------------------------------------------


def test_the_start_day_is_not_counted(calendar: WorkingCalendar) -> None:
    monday = date(2024, 3, 4)

    assert calendar.add_working_days(monday, 1) == date(2024, 3, 5)
    assert calendar.add_working_days(monday, 5) == date(2024, 3, 11)
    assert calendar.add_working_days(monday, 0) == monday


def test_weekends_are_not_working_days(calendar: WorkingCalendar) -> None:
    friday, saturday, sunday = date(2024, 3, 8), date(2024, 3, 9), date(2024, 3, 10)

    assert calendar.is_working_day(friday)
    assert not calendar.is_working_day(saturday)
    assert not calendar.is_working_day(sunday)
    assert calendar.add_working_days(friday, 1) == date(2024, 3, 11)


def test_a_count_started_on_a_day_off_begins_with_the_next_working_day(
    calendar: WorkingCalendar,
) -> None:
    saturday = date(2024, 3, 9)

    assert calendar.add_working_days(saturday, 1) == date(2024, 3, 11)


def test_working_days_between_counts_after_the_start_up_to_the_end(
    calendar: WorkingCalendar,
) -> None:
    friday = date(2024, 3, 8)

    assert calendar.working_days_between(friday, date(2024, 3, 12)) == 2
    assert calendar.working_days_between(friday, date(2024, 3, 10)) == 0
    assert calendar.working_days_between(friday, friday) == 0
    assert calendar.working_days_between(friday, date(2024, 3, 1)) == 0


# --- public holidays -------------------------------------------------------------------------


def test_tet_2023_is_off_from_20_to_26_january(calendar: WorkingCalendar) -> None:
    tet = days_between(date(2023, 1, 20), date(2023, 1, 26))

    assert not any(calendar.is_working_day(d) for d in tet)
    assert calendar.is_working_day(date(2023, 1, 19))
    assert calendar.is_working_day(date(2023, 1, 27))


def test_a_working_day_deadline_jumps_over_tet_2023(calendar: WorkingCalendar) -> None:
    thursday_before_tet = date(2023, 1, 19)

    assert calendar.add_working_days(thursday_before_tet, 1) == date(2023, 1, 27)
    assert calendar.add_working_days(date(2023, 1, 16), 5) == date(2023, 1, 30)
    assert calendar.working_days_between(thursday_before_tet, date(2023, 1, 27)) == 1


def test_tet_2024_is_off_from_8_to_14_february(calendar: WorkingCalendar) -> None:
    tet = days_between(date(2024, 2, 8), date(2024, 2, 14))

    assert not any(calendar.is_working_day(d) for d in tet)
    assert calendar.add_working_days(date(2024, 2, 7), 1) == date(2024, 2, 15)


def test_hung_kings_day_is_off(calendar: WorkingCalendar) -> None:
    hung_kings_2024 = date(2024, 4, 18)  # 10th day of the 3rd lunar month, a Thursday

    assert not calendar.is_working_day(hung_kings_2024)
    assert calendar.add_working_days(date(2024, 4, 17), 1) == date(2024, 4, 19)


def test_30_april_and_1_may_2024_with_the_swapped_monday_are_off(
    calendar: WorkingCalendar,
) -> None:
    swapped_monday = date(2024, 4, 29)

    assert not calendar.is_working_day(swapped_monday)
    assert not calendar.is_working_day(date(2024, 4, 30))
    assert not calendar.is_working_day(date(2024, 5, 1))
    assert calendar.add_working_days(date(2024, 4, 26), 1) == date(2024, 5, 2)


def test_the_saturday_worked_in_exchange_for_29_april_2024_is_a_working_day(
    calendar: WorkingCalendar,
) -> None:
    # The Monday 29/04/2024 off was paid back by working on Saturday 04/05/2024 (the
    # ``holidays`` package lists it in ``weekend_workdays``), like Saturday 04/05/2019.
    assert calendar.is_working_day(date(2024, 5, 4))
    assert calendar.is_working_day(date(2019, 5, 4))
    assert calendar.add_working_days(date(2024, 5, 2), 2) == date(2024, 5, 4)


def test_holidays_falling_on_a_weekend_are_observed_on_working_days(
    calendar: WorkingCalendar,
) -> None:
    # 2023: Hùng Kings fell on Saturday 29/04 and 30/04 on a Sunday; both were observed on
    # Tuesday 02/05 and Wednesday 03/05, after Labour Day on Monday 01/05.
    assert not calendar.is_working_day(date(2023, 5, 1))
    assert not calendar.is_working_day(date(2023, 5, 2))
    assert not calendar.is_working_day(date(2023, 5, 3))
    assert calendar.add_working_days(date(2023, 4, 28), 1) == date(2023, 5, 4)
    # New Year's Day 2023 was a Sunday: observed on Monday 02/01.
    assert not calendar.is_working_day(date(2023, 1, 2))


def test_national_day_2024_is_off_for_two_days(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(date(2024, 8, 30), 1) == date(2024, 9, 4)


# --- calendar days ---------------------------------------------------------------------------


def test_a_calendar_day_deadline_counts_weekends(calendar: WorkingCalendar) -> None:
    friday = date(2024, 3, 1)

    assert calendar.add_days(friday, 3) == date(2024, 3, 4)
    assert calendar.add_days(date(2024, 3, 4), 4) == date(2024, 3, 8)


def test_a_calendar_day_deadline_ending_on_a_weekend_moves_to_monday(
    calendar: WorkingCalendar,
) -> None:
    monday = date(2024, 3, 4)

    assert calendar.add_days(monday, 5) == date(2024, 3, 11)


def test_a_calendar_day_deadline_ending_in_tet_moves_to_the_first_day_back(
    calendar: WorkingCalendar,
) -> None:
    sunday = date(2023, 1, 15)

    assert calendar.add_days(sunday, 5) == date(2023, 1, 27)
    assert calendar.add_days(date(2024, 2, 1), 10) == date(2024, 2, 15)


def test_due_applies_the_unit_of_the_rule(calendar: WorkingCalendar) -> None:
    anchor = datetime(2024, 3, 8, 16, 30, tzinfo=VN)  # a Friday afternoon

    assert calendar.due(anchor, 2, "wd") == date(2024, 3, 12)
    assert calendar.due(anchor.date(), 2, "wd") == date(2024, 3, 12)
    assert calendar.due(anchor, 2, "d") == date(2024, 3, 11)  # Sunday -> Monday
    assert calendar.due(anchor, 24, "h") == datetime(2024, 3, 9, 16, 30, tzinfo=VN)


def test_lateness_is_counted_in_the_unit_of_the_rule(calendar: WorkingCalendar) -> None:
    due_friday = date(2024, 3, 8)

    assert calendar.lateness(due_friday, date(2024, 3, 12), "wd") == 2
    assert calendar.lateness(due_friday, date(2024, 3, 12), "d") == 4
    assert calendar.lateness(due_friday, date(2024, 3, 7), "d") == 0
    due_at = datetime(2024, 3, 8, 9, 0, tzinfo=VN)
    assert calendar.lateness(due_at, due_at + timedelta(hours=5, minutes=30), "h") == 5


# --- operator extension ----------------------------------------------------------------------


def test_an_extra_holiday_shifts_a_working_day_deadline() -> None:
    bridge_day = date(2024, 3, 5)
    calendar = WorkingCalendar(extra_holidays=[bridge_day])

    assert not calendar.is_working_day(bridge_day)
    assert calendar.add_working_days(date(2024, 3, 4), 1) == date(2024, 3, 6)
    assert WorkingCalendar().add_working_days(date(2024, 3, 4), 1) == bridge_day


def test_an_extra_holiday_moves_a_calendar_day_deadline_ending_on_it() -> None:
    calendar = WorkingCalendar(extra_holidays=[date(2024, 3, 8)])

    assert calendar.add_days(date(2024, 3, 4), 4) == date(2024, 3, 11)


def test_an_extra_working_saturday_counts() -> None:
    worked_saturday = date(2024, 3, 9)
    calendar = WorkingCalendar(extra_working_days=[worked_saturday])

    assert calendar.is_working_day(worked_saturday)
    assert calendar.add_working_days(date(2024, 3, 8), 1) == worked_saturday
    assert calendar.working_days_between(date(2024, 3, 8), date(2024, 3, 11)) == 2
    assert calendar.add_days(date(2024, 3, 4), 5) == worked_saturday


def test_the_calendar_reads_the_operators_days_from_a_json_file(tmp_path: Path) -> None:
    path = tmp_path / "calendar.json"
    path.write_text(json.dumps({"holidays": ["2024-03-05"], "working_days": ["2024-03-09"]}))

    calendar = WorkingCalendar.from_file(path)

    assert calendar.extra_holidays == {date(2024, 3, 5)}
    assert calendar.extra_working_days == {date(2024, 3, 9)}
    assert calendar.add_working_days(date(2024, 3, 4), 1) == date(2024, 3, 6)
    assert calendar.add_working_days(date(2024, 3, 8), 1) == date(2024, 3, 9)


def test_a_calendar_file_may_list_only_one_kind_of_day(tmp_path: Path) -> None:
    path = tmp_path / "calendar.json"
    path.write_text(json.dumps({"holidays": ["2024-03-05"]}))

    calendar = WorkingCalendar.from_file(str(path))

    assert calendar.extra_working_days == frozenset()
    assert not calendar.is_working_day(date(2024, 3, 5))
    assert not calendar.is_working_day(date(2024, 3, 9))
