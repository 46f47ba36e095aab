"""Personal data at rest, on both stores: encrypted in the events table, erasable with the
chain still verifying, a wrong KEK refused at start, KEK rotation without rewriting events,
tampered ciphertext reported by verification."""

from __future__ import annotations

import base64
import sqlite3
import subprocess
from pathlib import Path

import psycopg
import pytest

from domain.application import CaseLedger
from domain.case import NewEvent
from domain.errors import LegalHold, PersonalDataWasErased
from domain.events import Actor
from domain.personal import ERASED
from infra.keys import KeyConfigurationError, keyring_json, parse_keyring, retired, rotated
from infra.settings import Settings
from infra.store import build_application
from tests.conftest import pg_url
from tests.integration.stories import ACTOR, COMMUNE, START, note, opening

NAME, NATIONAL_ID, ADDRESS = "Phạm Thị Hồng Nhung", "001190009876", "45 phố Huế, Hai Bà Trưng"
SECRET_NOTE = "HIV positive, on ARV since 2020"
DPO = Actor(id="dpo-1", role="data_protection_officer", unit="01")


def open_person(ledger: CaseLedger) -> str:
    new = opening()
    person = {**new.data["person"], "full_name": NAME, "national_id": NATIONAL_ID}
    person["address"] = ADDRESS
    recorded = ledger.open_case(
        NewEvent.parse("CaseOpened", START, {**new.data, "person": person}), ACTOR
    )
    ledger.append(recorded.case_id, [note(SECRET_NOTE)], ACTOR)
    return str(recorded.case_id)


def close(ledger: CaseLedger, case_id: str) -> None:
    closing = NewEvent.parse("CaseClosed", START.replace(day=20), {"reason": "moved_away"})
    ledger.append(_uuid(case_id), [closing], ACTOR)


def _uuid(case_id: str):
    from uuid import UUID

    return UUID(case_id)


def stored_bytes(settings: Settings) -> bytes:
    """Everything the database holds, as an operator or a thief would get it: the raw SQLite
    files (the store's and the read models', write-ahead logs included), or a pg_dump of the
    test's schema (the read models are in it)."""
    if settings.store == "sqlite":
        path = Path(settings.database_url.removeprefix("sqlite:///"))
        files = [p for p in path.parent.iterdir() if ".sqlite3" in p.name]
        assert files
        return b"".join(p.read_bytes() for p in files)
    dump = subprocess.run(
        ["pg_dump", "--dbname", pg_url(), "--schema", settings.database_schema, "--data-only"],
        check=True,
        capture_output=True,
    )
    return dump.stdout


def appears(text: str, raw: bytes) -> bool:
    return any(form in raw for form in (text.encode(), text.encode("utf-16-le")))


def test_personal_fields_are_encrypted_in_the_store_and_read_back_in_plain(ledger, settings):
    case_id = open_person(ledger)

    raw = stored_bytes(settings)
    for secret in (NAME, NATIONAL_ID, ADDRESS, SECRET_NOTE):
        assert not appears(secret, raw), f"{secret!r} is stored in plain"
    record = ledger.get_case(_uuid(case_id))
    assert record.state.person["full_name"] == NAME
    assert record.entries[-1].data["text"] == SECRET_NOTE
    assert ledger.verify().ok


def test_erasure_destroys_the_key_leaves_the_chain_verifiable_and_no_plaintext(ledger, settings):
    case_id = open_person(ledger)
    close(ledger, case_id)

    recorded = ledger.erase_person(_uuid(case_id), DPO, "REQ-2026-17", "Law 91/2025 Art. 16", 0)

    record = ledger.get_case(_uuid(case_id))
    assert record.entries[-1].event_id == recorded.event_id
    assert record.state.erased
    assert record.state.person["full_name"] == ERASED
    assert record.state.person["national_id"] == ERASED
    assert record.entries[1].data["text"] == ERASED
    fresh = build_application(settings)  # a process that never held the key
    try:
        assert fresh.get_case(_uuid(case_id)).state.person["address"] == ERASED
        assert fresh.verify().ok, fresh.verify().summary()
    finally:
        fresh.close()
    raw = stored_bytes(settings)
    for secret in (NAME, NATIONAL_ID, ADDRESS, SECRET_NOTE):
        assert not appears(secret, raw)
    with pytest.raises(PersonalDataWasErased):
        ledger.append(_uuid(case_id), [note("one more")], ACTOR)


def test_repeating_an_erasure_answers_the_one_done(ledger):
    case_id = open_person(ledger)
    close(ledger, case_id)
    first = ledger.erase_person(_uuid(case_id), DPO, "REQ-1", "Law 91/2025 Art. 16", 0)

    again = ledger.erase_person(_uuid(case_id), DPO, "REQ-1", "Law 91/2025 Art. 16", 0)

    assert (again.event_id, again.created) == (first.event_id, False)
    assert ledger.get_case(_uuid(case_id)).version == first.version


def test_a_legal_hold_restricts_instead_of_erasing_and_names_the_hold(ledger):
    case_id = open_person(ledger)

    with pytest.raises(LegalHold) as held:
        ledger.erase_person(_uuid(case_id), DPO, "REQ-2", "Law 91/2025 Art. 16", 0)

    assert held.value.holds == ["case_open"]
    state = ledger.get_case(_uuid(case_id)).state
    assert not state.erased
    assert state.person["full_name"] == NAME  # kept: only its processing is restricted
    assert state.restriction == {
        "request_reference": "REQ-2",
        "holds": ["case_open"],
        "event_id": held.value.extensions["restriction_event_id"],
    }
    with pytest.raises(LegalHold):  # asked again under the same hold: recorded once
        ledger.erase_person(_uuid(case_id), DPO, "REQ-2", "Law 91/2025 Art. 16", 0)
    types = [e.type for e in ledger.get_case(_uuid(case_id)).entries]
    assert types.count("PersonalDataRestricted") == 1


def test_the_retention_period_of_settings_holds_an_erasure(ledger):
    case_id = open_person(ledger)
    close(ledger, case_id)

    with pytest.raises(LegalHold) as held:
        ledger.erase_person(_uuid(case_id), DPO, "REQ-3", "Law 91/2025 Art. 16", 3650)

    assert held.value.holds == ["retention_period"]


def test_a_start_with_a_kek_that_does_not_open_the_store_is_refused_naming_the_setting(
    ledger, settings, tmp_path
):
    open_person(ledger)
    stranger = tmp_path / "other-kek.json"
    stranger.write_bytes(keyring_json(rotated(parse_keyring(settings.kek_file.read_bytes(), "x"))))
    only_new = parse_keyring(stranger.read_bytes(), "x")
    stranger.write_bytes(keyring_json(retired(only_new, next(iter(only_new.keys)))))

    with pytest.raises(KeyConfigurationError, match="CASELEDGER_KEK_FILE"):
        build_application(settings.model_copy(update={"kek_file": stranger}))


def test_a_missing_kek_file_is_not_generated_over_a_store_that_has_keys(ledger, settings, tmp_path):
    open_person(ledger)
    missing = tmp_path / "nowhere" / "kek.json"

    with pytest.raises(KeyConfigurationError, match="CASELEDGER_KEK_FILE"):
        build_application(settings.model_copy(update={"kek_file": missing}))
    assert not missing.exists()


def test_kek_rotation_rewraps_every_data_key_without_rewriting_an_event(ledger, settings, tmp_path):
    from infra.cli import retire_kek, rotate_keys

    case_id = open_person(ledger)
    kek_file = tmp_path / "kek.json"
    kek_file.write_bytes(settings.kek_file.read_bytes())
    mine = settings.model_copy(update={"kek_file": kek_file})
    seals_before = ledger.seals(_uuid(case_id))
    old = parse_keyring(kek_file.read_bytes(), "x").current

    rotate_keys(mine)
    retire_kek(mine, old)

    ring = parse_keyring(kek_file.read_bytes(), "x")
    assert old not in ring.keys and ring.current != old
    after = build_application(mine)
    try:
        assert after.get_case(_uuid(case_id)).state.person["full_name"] == NAME
        assert after.seals(_uuid(case_id)) == seals_before
        assert after.verify().ok
    finally:
        after.close()


def test_verification_reports_a_ciphertext_moved_between_fields_with_case_version_and_field(
    ledger, settings
):
    case_id = open_person(ledger)
    _swap_person_fields(settings, case_id, "full_name", "address")
    fresh = build_application(settings)
    try:
        report = fresh.verify()
    finally:
        fresh.close()

    tampered = [p for p in report.problems if p.kind == "tampered_ciphertext"]
    assert {(str(p.case_id), p.version) for p in tampered} == {(case_id, 1)}
    assert {p.detail.split()[2] for p in tampered} == {"person.full_name", "person.address"}
    assert all(p.event_id for p in tampered)


def _swap_person_fields(settings: Settings, case_id: str, a: str, b: str) -> None:
    """What the database's owner can do: switch the append-only trigger off and edit."""
    import orjson

    if settings.store == "sqlite":
        path = settings.database_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            conn.execute("DROP TRIGGER caseledger_events_refuse_update")
            (payload,) = conn.execute(
                "SELECT payload FROM caseledger_events WHERE case_id = ? AND version = 1",
                (case_id,),
            ).fetchone()
            state = orjson.loads(payload)
            person = state["data"]["person"]
            person[a], person[b] = person[b], person[a]
            conn.execute(
                "UPDATE caseledger_events SET payload = ? WHERE case_id = ? AND version = 1",
                (orjson.dumps(state, option=orjson.OPT_SORT_KEYS), case_id),
            )
        return
    schema = settings.database_schema
    with psycopg.connect(pg_url(), autocommit=True) as conn:
        conn.execute(f'ALTER TABLE "{schema}".caseledger_events DISABLE TRIGGER refuse_change')
        (payload,) = conn.execute(
            f'SELECT payload FROM "{schema}".caseledger_events WHERE case_id = %s AND version = 1',
            (case_id,),
        ).fetchone()
        state = orjson.loads(payload)
        person = state["data"]["person"]
        person[a], person[b] = person[b], person[a]
        conn.execute(
            f'UPDATE "{schema}".caseledger_events SET payload = %s '
            "WHERE case_id = %s AND version = 1",
            (orjson.dumps(state, option=orjson.OPT_SORT_KEYS), case_id),
        )


def test_the_store_refuses_to_delete_a_data_key_or_restore_an_erased_one(ledger, settings):
    case_id = open_person(ledger)
    close(ledger, case_id)
    ledger.erase_person(_uuid(case_id), DPO, "REQ-4", "Law 91/2025 Art. 16", 0)
    restore = base64.b64encode(b"x" * 60)

    if settings.store == "sqlite":
        path = settings.database_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            for statement in (
                "DELETE FROM caseledger_person_keys",
                "UPDATE caseledger_person_keys SET wrapped = ?, erased_at = NULL",
            ):
                with pytest.raises(sqlite3.IntegrityError):
                    conn.execute(statement, *(((restore,),) if "?" in statement else ()))
        return
    schema = settings.database_schema
    with psycopg.connect(pg_url(), autocommit=True) as conn:
        for statement in (
            f'DELETE FROM "{schema}".caseledger_person_keys',
            f'UPDATE "{schema}".caseledger_person_keys SET wrapped = %s, erased_at = NULL',
            f'TRUNCATE "{schema}".caseledger_person_keys',
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement, (restore,) if "%s" in statement else None)


def test_the_commune_unit_is_kept_for_statistics(ledger):
    """Not personal: the residence unit and sex stay as given (counts need them)."""
    case_id = open_person(ledger)

    person = ledger.get_case(_uuid(case_id)).state.person

    assert (person["residence_unit"], person["sex"]) == (COMMUNE, "male")


def test_migrate_says_that_plaintext_recorded_before_encryption_stays_and_reads_still_work(
    ledger, settings, monkeypatch
):
    from typer.testing import CliRunner

    from infra.cli import cli

    real_seal = ledger.personal.seal
    ledger.personal.seal = lambda case_id, event_id, type_, data, first: (data, None)
    legacy = open_person(ledger)  # as a store written before encryption holds it
    ledger.personal.seal = real_seal
    monkeypatch.setenv("CASELEDGER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CASELEDGER_DATABASE_SCHEMA", settings.database_schema)
    seals = ledger.seals(_uuid(legacy))

    migrated = CliRunner().invoke(cli, ["migrate"])

    assert migrated.exit_code == 0, migrated.output
    assert "2 event(s) recorded before personal fields were encrypted" in migrated.output
    assert "breaking the hash chain" in migrated.output
    assert ledger.seals(_uuid(legacy)) == seals  # nothing rewritten
    ledger.append(_uuid(legacy), [note("a new note, encrypted")], ACTOR)  # gets a key now
    fresh = build_application(settings)
    try:
        entries = fresh.get_case(_uuid(legacy)).entries
        assert entries[0].data["person"]["full_name"] == NAME
        assert entries[-1].data["text"] == "a new note, encrypted"
        assert fresh.plaintext_personal_events() == 2
        assert fresh.verify().ok
    finally:
        fresh.close()


def test_production_never_generates_keys_and_says_which_setting_is_missing(tmp_path):
    from infra.keys import init_keys, load_keys

    production = Settings(
        environment="production",
        database_url=pg_url(),
        kek_file=tmp_path / "kek.json",
        pseudonym_key_file=tmp_path / "pseudonym.key",
    )

    with pytest.raises(KeyConfigurationError, match="CASELEDGER_KEK_FILE"):
        load_keys(production)
    assert not (tmp_path / "kek.json").exists()
    made = init_keys(production)  # the deliberate way: caseledger keys init
    assert [m for _, m in made] == [True, True]
    assert [m for _, m in init_keys(production)] == [False, False]  # never overwritten
    keys, generated = load_keys(production)
    assert generated == [] and len(keys.pseudonym_key) == 32
    assert (tmp_path / "kek.json").stat().st_mode & 0o077 == 0  # the owner's alone


def test_a_malformed_keyring_is_a_startup_error_naming_the_setting(settings, tmp_path):
    broken = tmp_path / "kek.json"
    broken.write_text('{"current": "k1", "keys": {"k1": "c2hvcnQ="}}')  # 5 bytes, not 32

    with pytest.raises(KeyConfigurationError, match="CASELEDGER_KEK_FILE"):
        build_application(settings.model_copy(update={"kek_file": broken}))
