"""The CaseLedger application on a real store: recording, idempotency, optimistic concurrency,
atomic batches, reading as of a moment, persistence across restarts, and refusals.

Every test runs on SQLite and on PostgreSQL (the ``ledger`` / ``settings`` fixtures).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.application import CaseLedger
from domain.case import NewEvent
from domain.errors import (
    CaseIsClosed,
    CaseNotFound,
    EntryAlreadyVoided,
    EventIdReused,
    InvalidEvent,
    ReferralAlreadyClosed,
    RepeatedOnceOnlyEvent,
    UnresolvedReference,
    VersionConflict,
)
from infra.settings import Settings
from infra.store import build_application
from tests.integration.stories import ACTOR, COMMUNE, START, note, opening

# --- builders --------------------------------------------------------------------------------


class Clock:
    """A server clock the test moves by hand, so that ``recorded_at`` values are known."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def event(type: str, data: dict[str, Any], **envelope: Any) -> NewEvent:
    return NewEvent.parse(type, START + timedelta(days=2), data, **envelope)


def referral_made(referral_id: str = "ref-1") -> NewEvent:
    return event(
        "ReferralMade",
        {
            "referral_id": referral_id,
            "service": "ost",
            "provider": "Long Biên MMT clinic",
            "reason": "opioid use",
        },
    )


def open_case(ledger: CaseLedger) -> UUID:
    return ledger.open_case(opening(), ACTOR).case_id


def all_positions(ledger: CaseLedger) -> list[int]:
    """Every global position in the store, whatever the case."""
    return [n.position for n in ledger.log_after(0, 1_000_000)]


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2021, 6, 1, 10, 0, tzinfo=UTC))


@pytest.fixture
def clocked(settings: Settings, clock: Clock) -> Iterator[CaseLedger]:
    """A CaseLedger on the test store whose server clock is ``clock``."""
    app = build_application(settings, clock=clock)
    yield app
    app.close()


# --- opening and reading -----------------------------------------------------------------------


def test_opening_a_case_returns_version_1_an_event_id_and_a_position(ledger: CaseLedger) -> None:
    new = opening()

    recorded = ledger.open_case(new, ACTOR)

    assert recorded.version == 1
    assert recorded.event_id == new.event_id
    assert recorded.created is True
    assert isinstance(recorded.position, int) and recorded.position >= 1
    assert ledger.history(recorded.case_id)[0][1] == recorded.position


def test_an_opened_case_reads_back_with_its_person_unit_and_intake_stage(
    ledger: CaseLedger,
) -> None:
    recorded = ledger.open_case(opening(), ACTOR)

    case = ledger.get_case(recorded.case_id)

    assert case.case_id == recorded.case_id
    assert case.version == 1
    assert case.state.person["full_name"] == "Nguyễn Văn A"
    assert case.state.person["date_of_birth"] == "1995-04-12"
    assert case.state.person["national_id"] == "001095001234"
    assert case.state.managing_unit == COMMUNE
    assert case.state.stage == "intake"
    assert case.state.closed is False


def test_reading_an_unknown_case_is_case_not_found(ledger: CaseLedger) -> None:
    with pytest.raises(CaseNotFound):
        ledger.get_case(uuid4())


# --- appending and history ---------------------------------------------------------------------


def test_appends_return_increasing_versions_and_positions(ledger: CaseLedger) -> None:
    opened = ledger.open_case(opening(), ACTOR)

    results = [ledger.append(opened.case_id, [note(f"note {i}")], ACTOR)[0] for i in range(4)]

    assert [r.version for r in results] == [2, 3, 4, 5]
    positions = [p for p in [opened.position, *(r.position for r in results)] if p is not None]
    assert len(positions) == 5
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert all(r.created for r in results)


def test_history_shows_every_event_with_its_envelope_and_position(
    clocked: CaseLedger, clock: Clock
) -> None:
    new_opening = opening()
    opened = clocked.open_case(new_opening, ACTOR, correlation_id="req-1")
    opened_at = clock.now
    decided_at = clock.advance(hours=2)
    decision = event(
        "CourtDecisionIssued",
        {"dossier_id": "d-1", "outcome": "apply", "term_months": 12, "announced_on": "2021-03-04"},
        acting_body={"kind": "district_court", "unit": "01.004"},
        document={"number": "15/2021/QĐ-TA", "date": "2021-03-04", "form_no": "02"},
        legal_basis={"instrument": "Law 73/2021/QH14", "article": "34"},
    )
    dossier = event(
        "DossierOpened",
        {
            "dossier_id": "d-1",
            "compiler_unit": COMMUNE,
            "ground": "Art 32(1)",
            "route": "adult",
            "residence_status": "stable",
        },
    )
    appended = clocked.append(
        opened.case_id, [dossier, decision], ACTOR, correlation_id="req-2", causation_id="cmd-9"
    )

    history = clocked.history(opened.case_id)

    assert [(e.version, e.type) for e, _ in history] == [
        (1, "CaseOpened"),
        (2, "DossierOpened"),
        (3, "CourtDecisionIssued"),
    ]
    assert [p for _, p in history] == [opened.position, *(r.position for r in appended)]
    first, _ = history[0]
    assert first.event_id == new_opening.event_id
    assert first.case_id == str(opened.case_id)
    assert first.occurred_at == START
    assert first.recorded_at == opened_at
    assert first.actor == {"id": "officer-17", "role": "commune_police", "unit": COMMUNE}
    assert first.acting_body == {"kind": "commune_police", "unit": COMMUNE}
    assert first.correlation_id == "req-1"
    assert first.causation_id is None
    assert first.data["managing_unit"] == COMMUNE
    last, _ = history[2]
    assert last.event_id == decision.event_id
    assert last.schema_version == 1
    assert last.occurred_at == START + timedelta(days=2)
    assert last.recorded_at == decided_at
    assert last.acting_body == {"kind": "district_court", "unit": "01.004"}
    assert last.document == {"number": "15/2021/QĐ-TA", "date": "2021-03-04", "form_no": "02"}
    assert last.legal_basis == {"instrument": "Law 73/2021/QH14", "article": "34"}
    assert last.correlation_id == "req-2"
    assert last.causation_id == "cmd-9"
    assert last.data == {
        "dossier_id": "d-1",
        "outcome": "apply",
        "term_months": 12,
        "facility": None,
        "announced_on": "2021-03-04",
        "complex_case": False,
    }


# --- idempotency -------------------------------------------------------------------------------


def test_a_repeated_append_returns_the_original_and_writes_nothing(ledger: CaseLedger) -> None:
    case_id = open_case(ledger)
    event_id = str(uuid4())
    original = ledger.append(case_id, [note("first visit", event_id=event_id)], ACTOR)[0]
    before = ledger.history(case_id)

    repeat = ledger.append(case_id, [note("first visit", event_id=event_id)], ACTOR)[0]

    assert (repeat.version, repeat.position, repeat.event_id) == (
        original.version,
        original.position,
        event_id,
    )
    assert repeat.created is False
    assert ledger.history(case_id) == before


def test_the_same_event_id_with_different_content_is_refused(ledger: CaseLedger) -> None:
    case_id = open_case(ledger)
    event_id = str(uuid4())
    ledger.append(case_id, [note("first visit", event_id=event_id)], ACTOR)
    before = ledger.history(case_id)

    with pytest.raises(EventIdReused):
        ledger.append(case_id, [note("another text", event_id=event_id)], ACTOR)

    assert ledger.history(case_id) == before


def test_repeating_an_opening_returns_the_same_case_and_opens_no_second_one(
    ledger: CaseLedger,
) -> None:
    event_id = str(uuid4())
    first = ledger.open_case(opening(event_id), ACTOR, client_event_id=True)
    positions = all_positions(ledger)

    again = ledger.open_case(opening(event_id), ACTOR, client_event_id=True)

    assert again.case_id == first.case_id
    assert (again.version, again.position, again.created) == (1, first.position, False)
    assert all_positions(ledger) == positions


def test_repeating_an_opening_with_other_content_is_refused(ledger: CaseLedger) -> None:
    event_id = str(uuid4())
    ledger.open_case(opening(event_id), ACTOR, client_event_id=True)
    positions = all_positions(ledger)

    with pytest.raises(EventIdReused):
        ledger.open_case(opening(event_id, full_name="Trần Văn B"), ACTOR, client_event_id=True)

    assert all_positions(ledger) == positions


def test_a_repeated_batch_returns_the_originals(ledger: CaseLedger) -> None:
    case_id = open_case(ledger)
    ids = [str(uuid4()) for _ in range(3)]
    originals = ledger.append(case_id, [note(f"n{i}", event_id=ids[i]) for i in range(3)], ACTOR)
    before = ledger.history(case_id)

    repeat = ledger.append(case_id, [note(f"n{i}", event_id=ids[i]) for i in range(3)], ACTOR)

    assert [(r.version, r.position, r.event_id) for r in repeat] == [
        (r.version, r.position, r.event_id) for r in originals
    ]
    assert not any(r.created for r in repeat)
    assert ledger.history(case_id) == before


def test_a_batch_partly_recorded_already_is_refused(ledger: CaseLedger) -> None:
    case_id = open_case(ledger)
    recorded_id = str(uuid4())
    ledger.append(case_id, [note("n0", event_id=recorded_id)], ACTOR)
    before = ledger.history(case_id)

    with pytest.raises(EventIdReused):
        ledger.append(case_id, [note("n0", event_id=recorded_id), note("n1")], ACTOR)

    assert ledger.history(case_id) == before


def test_a_repeated_correction_returns_the_original(ledger: CaseLedger) -> None:
    """A client retrying the very same EntryCorrected request must get the original back.

    The correction's ``changes`` are normalised before they are stored (the instant is rewritten
    with ``+00:00``, text is stripped), so comparing the raw repeat with the stored entry must
    compare like with like.
    """
    opened = ledger.open_case(opening(), ACTOR)
    correction = event(
        "EntryCorrected",
        {
            "corrects_event_id": opened.event_id,
            "changes": {
                "occurred_at": "2021-03-02T08:00:00Z",
                "person.full_name": " Nguyễn Văn Á ",
            },
            "reason": "typing error",
        },
        event_id=str(uuid4()),
    )
    original = ledger.append(opened.case_id, [correction], ACTOR)[0]
    before = ledger.history(opened.case_id)

    repeat = ledger.append(opened.case_id, [correction], ACTOR)[0]

    assert (repeat.version, repeat.position, repeat.created) == (
        original.version,
        original.position,
        False,
    )
    assert ledger.history(opened.case_id) == before


def test_the_same_event_id_twice_in_one_batch_is_refused(ledger: CaseLedger) -> None:
    """One event id names one event: a batch that carries it twice must not write two."""
    case_id = open_case(ledger)
    twice = note("once", event_id=str(uuid4()))
    before = ledger.history(case_id)

    with pytest.raises(InvalidEvent) as refused:
        ledger.append(case_id, [twice, twice], ACTOR)

    assert refused.value.errors[0].loc == ("events", 1, "event_id")

    assert ledger.history(case_id) == before


def test_an_event_id_already_used_in_another_case_is_refused(ledger: CaseLedger) -> None:
    """An event id is the event's identity in the whole store, not only within one case."""
    first_case, second_case = open_case(ledger), open_case(ledger)
    shared = note("visit", event_id=str(uuid4()))
    ledger.append(first_case, [shared], ACTOR)
    positions = all_positions(ledger)

    with pytest.raises(EventIdReused):
        ledger.append(second_case, [shared], ACTOR)

    assert all_positions(ledger) == positions


# --- expected_version --------------------------------------------------------------------------


def test_a_stale_expected_version_is_a_conflict_and_writes_nothing(ledger: CaseLedger) -> None:
    case_id = open_case(ledger)
    ledger.append(case_id, [note("n1")], ACTOR, expected_version=1)
    before = ledger.history(case_id)

    with pytest.raises(VersionConflict):
        ledger.append(case_id, [note("n2")], ACTOR, expected_version=1)

    assert ledger.history(case_id) == before


def test_a_current_expected_version_is_accepted(ledger: CaseLedger) -> None:
    case_id = open_case(ledger)

    recorded = ledger.append(case_id, [note("n1"), note("n2")], ACTOR, expected_version=1)

    assert [r.version for r in recorded] == [2, 3]


def test_a_retry_with_a_now_stale_expected_version_still_returns_the_original(
    ledger: CaseLedger,
) -> None:
    case_id = open_case(ledger)
    retried = note("n1", event_id=str(uuid4()))
    original = ledger.append(case_id, [retried], ACTOR, expected_version=1)[0]
    ledger.append(case_id, [note("someone else's note")], ACTOR)
    before = ledger.history(case_id)

    repeat = ledger.append(case_id, [retried], ACTOR, expected_version=1)[0]

    assert (repeat.version, repeat.position, repeat.created) == (
        original.version,
        original.position,
        False,
    )
    assert ledger.history(case_id) == before


# --- atomic batches ----------------------------------------------------------------------------


def test_a_batch_with_a_refused_third_event_writes_none_of_them(ledger: CaseLedger) -> None:
    case_id = open_case(ledger)
    positions = all_positions(ledger)
    batch = [
        referral_made("ref-1"),
        event("ReferralAccepted", {"referral_id": "ref-1"}),
        event("ReferralCompleted", {"referral_id": "ref-unknown", "outcome": "done"}),
    ]

    with pytest.raises(UnresolvedReference):
        ledger.append(case_id, batch, ACTOR)

    assert [e.version for e, _ in ledger.history(case_id)] == [1]
    assert ledger.get_case(case_id).state.referrals == {}
    assert all_positions(ledger) == positions


def test_events_of_one_batch_may_refer_to_each_other(ledger: CaseLedger) -> None:
    case_id = open_case(ledger)

    recorded = ledger.append(
        case_id,
        [referral_made("ref-1"), event("ReferralAccepted", {"referral_id": "ref-1"})],
        ACTOR,
    )

    assert [r.version for r in recorded] == [2, 3]
    assert ledger.get_case(case_id).state.referrals["ref-1"].status == "accepted"


# --- as of a moment ----------------------------------------------------------------------------


def test_a_case_as_of_a_moment_shows_what_was_recorded_by_then(
    clocked: CaseLedger, clock: Clock
) -> None:
    case_id = clocked.open_case(opening(), ACTOR).case_id
    clock.advance(days=1)
    clocked.append(case_id, [referral_made("ref-1")], ACTOR)
    after_referral = clock.now
    clock.advance(days=1)
    clocked.append(
        case_id,
        [event("CaseAssigned", {"assignee_id": "c-9", "assignee_role": "counsellor"})],
        ACTOR,
    )

    # Check the record between the referral and the assignment
    then = clocked.get_case(case_id, as_of=after_referral + timedelta(hours=1))
    assert then.version == 2
    assert [e.type for e in then.entries] == ["CaseOpened", "ReferralMade"]
    assert set(then.state.referrals) == {"ref-1"}
    assert then.state.assignee is None

    # Check that as_of includes an event recorded at exactly that instant
    assert clocked.get_case(case_id, as_of=after_referral).version == 2

    # Check now
    now = clocked.get_case(case_id)
    assert now.version == 3
    assert now.state.assignee == {"id": "c-9", "role": "counsellor"}


def test_a_case_as_of_before_its_opening_is_not_found(clocked: CaseLedger, clock: Clock) -> None:
    opened_at = clock.now
    case_id = clocked.open_case(opening(), ACTOR).case_id

    with pytest.raises(CaseNotFound):
        clocked.get_case(case_id, as_of=opened_at - timedelta(seconds=1))


def test_a_correction_recorded_later_is_not_visible_as_of_before_it(
    clocked: CaseLedger, clock: Clock
) -> None:
    opened = clocked.open_case(opening(), ACTOR)
    before_correction = clock.advance(days=3)
    clock.advance(days=1)
    clocked.append(
        opened.case_id,
        [
            event(
                "EntryCorrected",
                {
                    "corrects_event_id": opened.event_id,
                    "changes": {"person.full_name": "Nguyễn Văn Á"},
                    "reason": "diacritics",
                },
            )
        ],
        ACTOR,
    )

    then = clocked.get_case(opened.case_id, as_of=before_correction)
    now = clocked.get_case(opened.case_id)

    assert then.state.person["full_name"] == "Nguyễn Văn A"
    assert then.state.corrections == []
    assert now.state.person["full_name"] == "Nguyễn Văn Á"
    assert [c["corrects_event_id"] for c in now.state.corrections] == [opened.event_id]


# --- persistence -------------------------------------------------------------------------------


def test_a_case_reads_the_same_after_the_application_is_rebuilt(settings: Settings) -> None:
    first_app = build_application(settings)
    opened = first_app.open_case(opening(), ACTOR)
    first_app.append(opened.case_id, [referral_made("ref-1"), note("home visit")], ACTOR)
    state, history = first_app.get_case(opened.case_id), first_app.history(opened.case_id)
    first_app.close()

    second_app = build_application(settings)
    try:
        reread, rehistory = second_app.get_case(opened.case_id), second_app.history(opened.case_id)
        # Check that the rebuilt application keeps recording on the same stream
        next_one = second_app.append(opened.case_id, [note("after restart")], ACTOR)[0]
    finally:
        second_app.close()

    assert reread == state
    assert rehistory == history
    assert [e.version for e, _ in rehistory] == [1, 2, 3]
    assert next_one.version == 4
    assert next_one.position is not None
    assert next_one.position > max(p or 0 for _, p in history)


# --- refusals leave the store unchanged --------------------------------------------------------


@pytest.fixture
def busy_case(ledger: CaseLedger) -> UUID:
    """A case holding a closed referral, a dossier whose decision took effect and a voided note."""
    case_id = open_case(ledger)
    voided_note = note("wrong case", event_id=str(uuid4()))
    ledger.append(
        case_id,
        [
            referral_made("ref-done"),
            event("ReferralCompleted", {"referral_id": "ref-done", "outcome": "finished"}),
            event(
                "DossierOpened",
                {
                    "dossier_id": "d-1",
                    "compiler_unit": COMMUNE,
                    "ground": "Art 32(1)",
                    "route": "adult",
                    "residence_status": "stable",
                },
            ),
            event("CourtDecisionTookEffect", {"dossier_id": "d-1", "effective_on": "2021-04-01"}),
            voided_note,
            event("EntryVoided", {"voids_event_id": voided_note.event_id, "reason": "error"}),
        ],
        ACTOR,
    )
    return case_id


REFUSALS: dict[str, tuple[Callable[[UUID, CaseLedger], list[NewEvent]], type[Exception]]] = {
    "occurred_at in the future": (
        lambda _c, _l: [
            NewEvent.parse(
                "NoteAdded", datetime.now(UTC) + timedelta(hours=1), {"text": "from tomorrow"}
            )
        ],
        InvalidEvent,
    ),
    "unknown referral": (
        lambda _c, _l: [event("ReferralAccepted", {"referral_id": "ref-nope"})],
        UnresolvedReference,
    ),
    "referral already closed": (
        lambda _c, _l: [event("ReferralAccepted", {"referral_id": "ref-done"})],
        ReferralAlreadyClosed,
    ),
    "unknown dossier": (
        lambda _c, _l: [event("DossierServed", {"dossier_id": "d-nope", "served_on": "person"})],
        UnresolvedReference,
    ),
    "one-time event repeated": (
        lambda _c, _l: [
            event("CourtDecisionTookEffect", {"dossier_id": "d-1", "effective_on": "2021-04-02"})
        ],
        RepeatedOnceOnlyEvent,
    ),
    "correction of an unknown event": (
        lambda _c, _l: [
            event(
                "EntryCorrected",
                {"corrects_event_id": str(uuid4()), "changes": {"text": "x"}, "reason": "r"},
            )
        ],
        UnresolvedReference,
    ),
    "correction of a voided event": (
        lambda case_id, ledger: [
            event(
                "EntryCorrected",
                {
                    "corrects_event_id": ledger.get_case(case_id).state.voided.copy().pop(),
                    "changes": {"text": "x"},
                    "reason": "r",
                },
            )
        ],
        EntryAlreadyVoided,
    ),
    "event id reused with other content": (
        lambda case_id, ledger: [note("changed", event_id=ledger.history(case_id)[-1][0].event_id)],
        EventIdReused,
    ),
}


@pytest.mark.parametrize("refusal", list(REFUSALS))
def test_a_refused_append_leaves_the_store_unchanged(
    ledger: CaseLedger, busy_case: UUID, refusal: str
) -> None:
    make_events, error = REFUSALS[refusal]
    events = make_events(busy_case, ledger)
    history, positions = ledger.history(busy_case), all_positions(ledger)

    with pytest.raises(error):
        ledger.append(busy_case, events, ACTOR)

    assert ledger.history(busy_case) == history
    assert all_positions(ledger) == positions


def test_a_stale_expected_version_leaves_the_store_unchanged(
    ledger: CaseLedger, busy_case: UUID
) -> None:
    history, positions = ledger.history(busy_case), all_positions(ledger)

    with pytest.raises(VersionConflict):
        ledger.append(busy_case, [note()], ACTOR, expected_version=2)

    assert ledger.history(busy_case) == history
    assert all_positions(ledger) == positions


def test_an_event_on_a_closed_case_is_refused_but_a_note_is_recorded(ledger: CaseLedger) -> None:
    case_id = open_case(ledger)
    ledger.append(case_id, [event("CaseClosed", {"reason": "moved_away"})], ACTOR)
    history, positions = ledger.history(case_id), all_positions(ledger)

    with pytest.raises(CaseIsClosed):
        ledger.append(
            case_id,
            [event("CaseAssigned", {"assignee_id": "c-1", "assignee_role": "counsellor"})],
            ACTOR,
        )

    assert ledger.history(case_id) == history
    assert all_positions(ledger) == positions
    # Check that what a closed case accepts is still recorded
    assert ledger.append(case_id, [note("moved to Hải Phòng")], ACTOR)[0].version == 3


def test_an_append_to_an_unknown_case_is_case_not_found_and_writes_nothing(
    ledger: CaseLedger,
) -> None:
    open_case(ledger)
    positions = all_positions(ledger)

    with pytest.raises(CaseNotFound):
        ledger.append(uuid4(), [note()], ACTOR)

    assert all_positions(ledger) == positions


def test_recorded_at_never_goes_back_within_a_case_when_a_server_clock_lags(
    clocked: CaseLedger, clock: Clock
) -> None:
    case_id = open_case(clocked)
    first = clocked.append(case_id, [note("first")], ACTOR)[0]
    clock.advance(hours=-3)  # another process, its clock three hours behind

    clocked.append(case_id, [note("second")], ACTOR)

    [*_, (earlier, _), (later, _)] = clocked.history(case_id)
    assert earlier.event_id == first.event_id
    assert later.recorded_at >= earlier.recorded_at
