"""X25-12: an event's org-unit codes name units on its date. Write-time validation refuses the
rest, but two kinds are recorded and must reach an inspector as findings: an old record's
commune that no list holds (merged before the 2025 baseline), and a historical import that
declared an older code list."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from domain.compliance import evaluate
from tests.domain.builders import open_case, payload, record

VN = timezone(timedelta(hours=7))
AS_OF = datetime(2026, 12, 1, tzinfo=VN)


def x25_12(case) -> list[str]:
    return [f.detail for f in evaluate(case.entries, AS_OF).findings if f.rule_id == "X25-12"]


def test_codes_that_name_units_on_their_dates_draw_no_finding() -> None:
    case = open_case(occurred_at=datetime(2024, 1, 8, 8, tzinfo=VN))
    transfer = payload("CaseTransferred", from_unit="01.00127", to_unit="01.00118")
    record(
        case, "CaseTransferred", transfer, occurred_at=datetime(2026, 3, 2, tzinfo=VN), now=AS_OF
    )

    assert x25_12(case) == []


def test_an_old_records_commune_that_no_list_holds_is_an_unknown_unit() -> None:
    case = open_case(occurred_at=datetime(2021, 1, 8, 8, tzinfo=VN))
    transfer = payload("CaseTransferred", from_unit="01.004.00127", to_unit="01.004.00999")
    record(
        case, "CaseTransferred", transfer, occurred_at=datetime(2021, 3, 2, tzinfo=VN), now=AS_OF
    )

    [detail] = x25_12(case)
    assert "to_unit 01.004.00999: unknown unit" in detail


def test_an_import_under_an_older_code_list_is_reported_with_the_list_it_declared() -> None:
    case = open_case(occurred_at=datetime(2024, 1, 8, 8, tzinfo=VN))
    transfer = payload("CaseTransferred", from_unit="01.004.00127", to_unit="01.004.00133")
    record(
        case,
        "CaseTransferred",
        transfer,
        occurred_at=datetime(2026, 3, 2, tzinfo=VN),
        now=AS_OF,
        unit_codes_as_of=date(2025, 6, 30),
    )

    [detail] = x25_12(case)
    assert "from_unit 01.004.00127 names no unit on 2026-03-02" in detail
    assert "to_unit 01.004.00133" in detail and "code list of 2025-06-30" in detail
