"""Personal fields sealed per person: bound to their case, event and field; erasable; the
legal holds that stop an erasure (``domain/personal.py``)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from builders import VALID_PAYLOADS, case_ready_for, new_event, open_case, record

from domain.errors import PersonalDataWasErased
from domain.personal import (
    ERASED,
    DataKeyMissing,
    KeyRing,
    KeyUnavailable,
    PersonalData,
    TamperedField,
    WrappedKey,
    legal_holds,
    pseudonym,
)

CASE = UUID("4b1c6f0e-2f7d-4c55-9a57-0d6f3c1e8a21")
OTHER = UUID("9d3e1f2a-6b7c-4d8e-8f90-a1b2c3d4e5f6")
PERSON = {
    "full_name": "Trần Thị Bích",
    "date_of_birth": "1990-01-02",
    "sex": "female",
    "national_id": "079190001234",
    "residence_unit": "01.004.00127",
    "address": "7 Lê Lợi",
}


class MemoryKeys:
    """A ``KeyStore`` in memory."""

    def __init__(self) -> None:
        self.rows: dict[UUID, WrappedKey] = {}

    def data_key(self, case_id: UUID) -> WrappedKey | None:
        return self.rows.get(case_id)

    def add_data_key(self, key: WrappedKey) -> WrappedKey:
        return self.rows.setdefault(key.case_id, key)

    def erase_data_key(self, case_id: UUID) -> bool:
        had = case_id in self.rows and not self.rows[case_id].erased
        if case_id in self.rows:
            self.rows[case_id] = WrappedKey(case_id, self.rows[case_id].kek_id, None)
        return had

    def data_keys(self, after: UUID | None, limit: int) -> list[WrappedKey]:
        return sorted(self.rows.values(), key=lambda k: str(k.case_id))[:limit]

    def rewrap(self, keys: list[WrappedKey]) -> int:
        self.rows.update({k.case_id: k for k in keys})
        return len(keys)

    def kek_samples(self) -> list[WrappedKey]:
        return list(self.rows.values())[:1]


def vault(keys: MemoryKeys | None = None) -> PersonalData:
    ring = KeyRing({"k1": os.urandom(32)}, "k1")
    return PersonalData(ring, keys or MemoryKeys(), pseudonym_key=os.urandom(32))


def opened(v: PersonalData, case_id: UUID = CASE, event_id: str = "e1") -> dict:
    data, key = v.seal(case_id, event_id, "CaseOpened", {"person": dict(PERSON)}, first=True)
    assert key is not None
    v.keys.add_data_key(key)
    return data


def test_sealed_personal_fields_hold_no_plaintext_and_open_to_what_was_given():
    v = vault()

    sealed = opened(v)

    text = str(sealed)
    for value in ("Trần Thị Bích", "079190001234", "7 Lê Lợi", "1990-01-02"):
        assert value not in text
    assert sealed["person"]["sex"] == "female"  # not personal: kept as given
    assert v.open(CASE, "e1", "CaseOpened", sealed) == {"person": PERSON}


def test_a_ciphertext_moved_to_another_field_fails_authentication():
    v = vault()
    sealed = opened(v)
    person = dict(sealed["person"])
    person["address"], person["full_name"] = person["full_name"], person["address"]

    with pytest.raises(TamperedField) as refused:
        v.open(CASE, "e1", "CaseOpened", {"person": person})

    assert refused.value.path in ("person.full_name", "person.address")


def test_a_ciphertext_moved_to_another_event_or_case_fails_authentication():
    v = vault()
    sealed = opened(v)
    opened(v, OTHER, "e9")

    with pytest.raises(TamperedField):
        v.open(CASE, "e2", "CaseOpened", sealed)
    with pytest.raises(TamperedField):
        v.open(OTHER, "e1", "CaseOpened", sealed)


def test_an_altered_ciphertext_is_reported_by_the_check_with_its_field():
    v = vault()
    sealed = opened(v)
    token = sealed["person"]["national_id"]["enc"]
    altered = {"person": {**sealed["person"], "national_id": {"enc": "A" + token[1:]}}}

    assert v.check(CASE, "e1", "CaseOpened", altered) == ["person.national_id"]
    assert v.check(CASE, "e1", "CaseOpened", sealed) == []


def test_after_erasure_every_personal_field_reads_erased_even_in_a_fresh_process():
    keys = MemoryKeys()
    v = vault(keys)
    sealed = opened(v)

    assert v.erase(CASE)
    fresh = PersonalData(v.keyring, keys, os.urandom(32))

    for reader in (v, fresh):
        person = reader.open(CASE, "e1", "CaseOpened", sealed)["person"]
        assert person["full_name"] == person["national_id"] == person["address"] == ERASED
        assert person["sex"] == "female"


def test_a_data_key_removed_behind_the_stores_back_is_not_taken_for_an_erasure():
    keys = MemoryKeys()
    v = vault(keys)
    sealed = opened(v)
    del keys.rows[CASE]
    v.forget(CASE)

    with pytest.raises(DataKeyMissing):
        v.open(CASE, "e1", "CaseOpened", sealed)
    assert v.check(CASE, "e1", "CaseOpened", sealed)  # reported, field by field


def test_a_data_key_wrapped_by_an_unknown_kek_is_a_configuration_error_not_plaintext():
    keys = MemoryKeys()
    opened(vault(keys))
    stranger = PersonalData(KeyRing({"k2": os.urandom(32)}, "k2"), keys, os.urandom(32))

    with pytest.raises(KeyUnavailable, match="k1"):
        stranger.keyring.unwrap(keys.rows[CASE])


def test_a_correction_of_a_personal_field_is_sealed_too():
    v = vault()
    opened(v)
    correction = {
        "corrects_event_id": "e1",
        "changes": {"person.full_name": "Trần Thị Bích Ngọc", "person": {"address": "9 Lê Lợi"}},
        "reason": "typo",
    }

    sealed, _ = v.seal(CASE, "e2", "EntryCorrected", correction, first=False)

    assert "Ngọc" not in str(sealed) and "9 Lê Lợi" not in str(sealed)
    assert v.open(CASE, "e2", "EntryCorrected", sealed) == correction


def test_the_pseudonym_is_stable_per_person_and_depends_on_the_key():
    key = os.urandom(32)

    assert pseudonym(key, CASE) == pseudonym(key, str(CASE))
    assert pseudonym(key, CASE) != pseudonym(key, OTHER)
    assert pseudonym(key, CASE) != pseudonym(os.urandom(32), CASE)
    assert pseudonym(key, CASE).startswith("P-")


# --- legal holds and the case after erasure ---


NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_an_open_case_is_a_legal_hold():
    case = open_case()

    assert legal_holds(case.state, case.entries[-1].recorded_at, NOW, 0) == ["case_open"]


def test_a_dossier_being_compiled_and_a_court_procedure_are_legal_holds():
    compiling = case_ready_for("DossierServed")  # a dossier opened, not yet sent anywhere
    in_court = case_ready_for("DossierSentToCourt")
    record(in_court, "DossierSentToCourt")

    assert "open_dossier" in legal_holds(compiling.state, NOW, NOW, 0)
    assert "court_procedure" in legal_holds(in_court.state, NOW, NOW, 0)


def test_the_retention_period_counts_from_the_last_entry():
    case = open_case()
    last = case.entries[-1].recorded_at

    assert "retention_period" in legal_holds(case.state, last, last + timedelta(days=29), 30)
    assert "retention_period" not in legal_holds(case.state, last, last + timedelta(days=31), 30)


def test_a_case_whose_person_was_erased_records_nothing_more_and_holds_no_plaintext():
    case = open_case()
    erasure = new_event("PersonalDataErased", data=VALID_PAYLOADS["PersonalDataErased"])
    case.record(erasure, erasure_actor(), case.entries[-1].recorded_at)

    assert case.state.erased
    assert case.entries[0].data["person"]["full_name"] == ERASED
    with pytest.raises(PersonalDataWasErased):
        case.record(new_event("NoteAdded"), erasure_actor(), case.entries[-1].recorded_at)


def test_a_data_subjects_request_is_neither_voided_nor_corrected():
    case = open_case()
    restriction = new_event("PersonalDataRestricted", data=VALID_PAYLOADS["PersonalDataRestricted"])
    case.record(restriction, erasure_actor(), case.entries[-1].recorded_at)

    void = new_event(
        "EntryVoided", data={"voids_event_id": restriction.event_id, "reason": "lift it"}
    )
    with pytest.raises(Exception, match="neither corrected nor voided"):
        case.record(void, erasure_actor(), case.entries[-1].recorded_at)
    assert case.state.restriction is not None


def erasure_actor():
    from domain.events import Actor

    return Actor(id=f"dpo-{uuid4().hex[:4]}", role="data_protection_officer", unit="01")
