"""Per-case verification against the global log (issue 19, part 1): one case's verify, as
``GET /v1/audit/verify?case_id=`` and ``caseledger verify --case`` run it, finds a case cut
short, cut in the middle, or rewritten with every hash recomputed, by the entries the global log
holds for that case; each problem names the case, version and event id."""

from __future__ import annotations

from uuid import UUID

from domain.application import CaseLedger
from tests.integration.test_store_integrity import (
    EVENTS,
    LOG,
    Database,
    case_with_notes,
    db,
    event_id_of,
)

__all__ = ["db"]


def problems(ledger: CaseLedger, case_id: UUID) -> list[tuple[str, int | None, str | None]]:
    report = ledger.verify(case_id)
    return [(p.kind, p.version, p.event_id) for p in report.problems if p.case_id == case_id]


def test_a_case_whose_last_event_was_deleted_fails_its_own_verification(
    ledger: CaseLedger, db: Database
) -> None:
    case_id = case_with_notes(ledger, 3)
    last = event_id_of(ledger, case_id, 4)

    db.run(f"DELETE FROM {EVENTS} WHERE case_id={db.mark} AND version=4", (db.key(case_id),))

    assert ("event_missing", 4, last) in problems(ledger, case_id)
    assert not ledger.verify(case_id).ok


def test_a_case_whose_middle_event_was_deleted_fails_its_own_verification(
    ledger: CaseLedger, db: Database
) -> None:
    case_id = case_with_notes(ledger, 3)
    middle = event_id_of(ledger, case_id, 2)

    db.run(f"DELETE FROM {EVENTS} WHERE case_id={db.mark} AND version=2", (db.key(case_id),))

    found = problems(ledger, case_id)
    assert ("event_missing", 2, middle) in found and ("version_gap", 2, middle) in found


def test_a_case_whose_last_event_and_its_log_entry_were_deleted_fails_its_own_verification(
    ledger: CaseLedger, db: Database
) -> None:
    """The owner removes both rows: the case's chain still verifies on its own, but the log
    entries after it (another case's) no longer chain from it."""
    case_id = case_with_notes(ledger, 2)
    position = ledger.positions(case_id)[3]
    case_with_notes(ledger, 1)  # a later entry: the log goes on after the removed one

    db.run(f"DELETE FROM {EVENTS} WHERE case_id={db.mark} AND version=3", (db.key(case_id),))
    db.run(f"DELETE FROM {LOG} WHERE position={db.mark}", (position,))

    report = ledger.verify(case_id)
    assert not report.ok, report.summary()
