"""An event's org-unit codes must name units on the event's date (issue 18, X25-12).

Events keep the codes they were recorded with; the code list changed on 1 Jul 2025, so a code is
judged on the day the event happened (Vietnam's calendar day), unless a historical import
declares the older list its records follow (``unit_codes_as_of``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from builders import new_event, open_case, payload, record

from domain.errors import InvalidEvent

VN = timezone(timedelta(hours=7))
LAST_OLD_DAY = datetime(2025, 6, 30, 23, 59, tzinfo=VN)
FIRST_NEW_DAY = datetime(2025, 7, 1, 0, 1, tzinfo=VN)
LATER = datetime(2026, 3, 2, 9, 0, tzinfo=VN)
OLD, NEW = "01.004.00127", "01.00127"  # Phường Việt Hưng, before and since the reform


def transfer(to_unit: str, when: datetime, from_unit: str = OLD, **envelope) -> None:
    case = open_case(occurred_at=datetime(2024, 1, 8, 8, tzinfo=VN))
    data = payload("CaseTransferred", from_unit=from_unit, to_unit=to_unit)
    record(case, "CaseTransferred", data, occurred_at=when, now=LATER, **envelope)


def refusal(call) -> list[tuple[str, str]]:
    with pytest.raises(InvalidEvent) as caught:
        call()
    return [(".".join(map(str, e.loc)), e.msg) for e in caught.value.errors]


def test_an_old_commune_code_on_the_last_day_before_the_reform_is_recorded() -> None:
    transfer("01.004.00133", LAST_OLD_DAY)


def test_an_old_commune_code_on_the_first_day_of_the_new_list_is_refused_naming_field_and_date():
    [(field, message)] = refusal(lambda: transfer("01.004.00133", FIRST_NEW_DAY, from_unit=NEW))

    assert field == "data.to_unit"
    assert "2025-07-01" in message and "01.00118" in message  # where Ngọc Lâm went


def test_a_new_commune_code_before_the_reform_is_refused() -> None:
    [(field, message)] = refusal(lambda: transfer(NEW, LAST_OLD_DAY))

    assert field == "data.to_unit" and "from 2025-07-01" in message


def test_the_day_is_vietnams_not_utcs() -> None:
    """30 Jun 2025, 20:00 UTC is already 1 Jul in Hà Nội: the new list applies."""
    when = datetime(2025, 6, 30, 20, 0, tzinfo=UTC)
    transfer("01.00118", when, from_unit=NEW)
    assert refusal(lambda: transfer("01.004.00133", when, from_unit=NEW))


def test_every_bad_code_of_an_event_is_named_and_the_acting_bodys_too() -> None:
    errors = refusal(
        lambda: transfer(
            "01.004.00133",
            LATER,
            acting_body={"kind": "commune_police", "unit": "01.004.00127"},
        )
    )

    assert [field for field, _ in errors] == ["data.from_unit", "data.to_unit", "acting_body.unit"]


def test_an_old_commune_no_list_holds_is_accepted_in_an_old_record() -> None:
    """A commune merged before the 2025 baseline list still appears in records of its time."""
    transfer("01.004.00999", datetime(2021, 5, 4, 9, tzinfo=VN))


def test_an_unknown_commune_code_is_refused_after_the_reform() -> None:
    assert refusal(lambda: transfer("01.09999", LATER, from_unit=NEW))


def test_a_historical_import_may_declare_the_older_code_list_it_follows() -> None:
    transfer("01.004.00133", LATER, unit_codes_as_of=date(2025, 6, 30))


def test_a_declared_code_list_is_still_checked() -> None:
    [(field, _)] = refusal(
        lambda: transfer("01.00118", LATER, from_unit=OLD, unit_codes_as_of=date(2025, 6, 30))
    )
    assert field == "data.to_unit"


def test_a_declared_code_list_after_the_event_is_refused() -> None:
    [(field, _)] = refusal(
        lambda: new_event("NoteAdded", occurred_at=LAST_OLD_DAY, unit_codes_as_of=date(2025, 7, 1))
    )
    assert field == "unit_codes_as_of"


def test_the_declared_list_is_kept_with_the_event() -> None:
    case = open_case(occurred_at=datetime(2024, 1, 8, 8, tzinfo=VN))
    data = payload("CaseTransferred", from_unit=OLD, to_unit="01.004.00133")
    entry = record(
        case,
        "CaseTransferred",
        data,
        occurred_at=LATER,
        now=LATER,
        unit_codes_as_of=date(2025, 6, 30),
    )
    assert entry.unit_codes_as_of == "2025-06-30"


def test_a_correction_that_moves_an_event_past_the_reform_must_keep_its_codes_valid() -> None:
    case = open_case(occurred_at=datetime(2024, 1, 8, 8, tzinfo=VN))
    moved = record(
        case,
        "CaseTransferred",
        payload("CaseTransferred", from_unit=OLD, to_unit="01.004.00133"),
        occurred_at=LAST_OLD_DAY,
        now=LATER,
    )
    correction = payload(
        "EntryCorrected",
        corrects_event_id=moved.event_id,
        changes={"occurred_at": LATER.isoformat()},
    )

    errors = refusal(
        lambda: record(case, "EntryCorrected", correction, occurred_at=LATER, now=LATER)
    )

    assert {field for field, _ in errors} == {"data.changes.from_unit", "data.changes.to_unit"}
