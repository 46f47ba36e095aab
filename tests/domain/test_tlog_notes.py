"""Signed notes, keys, checkpoints and log entries of ``domain/tlog.py``.

Against the C2SP specifications copied in ``../shared/specs/c2sp`` (``signed-note.md``,
``tlog-cosignature.md``, ``tlog-checkpoint.md``): the spec's example note and vkey, key ids and
the ``cosignature/v1`` message computed here from the spec's definitions, and our own round
trips: a checkpoint signed by a log key (type 0x01) and cosigned by a witness key (type 0x04).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import example, given, settings
from hypothesis import strategies as st

from domain import tlog

# --- signed-note.md, "Example": the text exactly as the spec gives it ----------------------

SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n"
    "\n"
    "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKu"
    "wHjG1Yu72IneyaQM=\n"
)

ORIGIN = "log.example/caseledger"
WITNESS_NAME = "witness.example/w1"
TIME = 1_700_000_000
LOG = tlog.Signer.generate(ORIGIN)
WITNESS = tlog.Signer.generate(WITNESS_NAME, kind=tlog.COSIGNATURE)
ROOT = hashlib.sha256(b"root").digest()
HEADS_ROOT = hashlib.sha256(b"heads").digest()
CHECKPOINT = tlog.Checkpoint(ORIGIN, 12, ROOT, 3, HEADS_ROOT)

# a seed whose private key line and vkey both hold '+' in their base64 (as one key in two does)
PLUS_SEED = bytes([62]) * 32
PLAIN_SEED = bytes(32)

ASCII_DIGITS = "a tree size is ASCII decimal"


def signed(text: str = CHECKPOINT.text) -> str:
    """``text`` signed by the log, then cosigned by the witness at ``TIME``."""
    return text + "\n" + LOG.signature_line(text) + WITNESS.signature_line(text, TIME)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def signature_line(name: str, raw: bytes) -> str:
    return f"— {name} {b64(raw)}\n"


def replace_signature(note: str, at: int, name: str, raw: bytes) -> str:
    """``note`` with its ``at``-th signature line replaced."""
    parsed = tlog.Note.parse(note)
    lines = [s.line for s in parsed.signatures]
    lines[at] = signature_line(name, raw)
    return parsed.text + "\n" + "".join(lines)


def raw_signature(note: str, at: int) -> bytes:
    s = tlog.Note.parse(note).signatures[at]
    return s.id + s.raw


# --- the spec's example ----------------------------------------------------------------------


def test_the_spec_example_note_is_signed_by_the_spec_example_vkey() -> None:
    verifier = tlog.Verifier.parse(SPEC_VKEY)
    note = tlog.Note.parse(SPEC_NOTE)
    assert (verifier.name, verifier.kind, verifier.id.hex()) == ("example.com/foo", 1, "530d903a")
    assert note.text == "This is an example message.\n"
    assert note.signed_by(verifier) is True
    assert str(note) == SPEC_NOTE
    assert verifier.vkey == SPEC_VKEY


def test_the_spec_example_note_with_its_text_changed_is_refused() -> None:
    verifier = tlog.Verifier.parse(SPEC_VKEY)
    with pytest.raises(tlog.NoteError):
        tlog.Note.parse(SPEC_NOTE.replace("an example", "a forged")).signed_by(verifier)


def test_a_key_id_is_the_spec_hash_of_name_type_and_public_key() -> None:
    for signer in (LOG, WITNESS):
        public = signer.verifier.public
        kind = bytes([signer.kind])
        expected = hashlib.sha256(signer.name.encode() + b"\n" + kind + public).digest()[:4]
        assert signer.verifier.id == expected
    assert (LOG.kind, WITNESS.kind) == (0x01, 0x04)


# --- keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [tlog.ED25519, tlog.COSIGNATURE], ids=["log", "witness"])
def test_a_key_without_plus_in_its_base64_reads_back_from_its_text_and_vkey(kind: int) -> None:
    key = tlog.Signer("example.com/k", kind, PLAIN_SEED)
    assert "+" not in key.text.split("+", 4)[4] and "+" not in key.verifier.vkey.split("+", 2)[2]
    assert tlog.Signer.parse(key.text) == key
    assert tlog.Verifier.parse(key.verifier.vkey) == key.verifier


@pytest.mark.parametrize("kind", [tlog.ED25519, tlog.COSIGNATURE], ids=["log", "witness"])
@settings(max_examples=50, deadline=None, database=None)
@given(seed=st.binary(min_size=32, max_size=32))
@example(seed=PLUS_SEED)
def test_any_private_key_reads_back_from_its_text(kind: int, seed: bytes) -> None:
    key = tlog.Signer("example.com/k", kind, seed)
    assert tlog.Signer.parse(key.text) == key


@pytest.mark.parametrize("kind", [tlog.ED25519, tlog.COSIGNATURE], ids=["log", "witness"])
@settings(max_examples=50, deadline=None, database=None)
@given(seed=st.binary(min_size=32, max_size=32))
@example(seed=PLUS_SEED)
def test_any_vkey_reads_back_as_the_same_verifier(kind: int, seed: bytes) -> None:
    verifier = tlog.Signer("example.com/k", kind, seed).verifier
    assert tlog.Verifier.parse(verifier.vkey) == verifier


def test_generated_keys_read_back_from_their_text_and_vkey() -> None:
    """Thirty-two keys: that none has a '+' in its base64 has a chance below 2**-32."""
    for kind in (tlog.ED25519, tlog.COSIGNATURE):
        for _ in range(16):
            key = tlog.Signer.generate("example.com/k", kind=kind)
            assert tlog.Signer.parse(key.text) == key
            assert tlog.Verifier.parse(key.verifier.vkey) == key.verifier


def test_a_vkey_whose_id_does_not_match_its_key_is_refused() -> None:
    name, _, key = SPEC_VKEY.split("+")
    with pytest.raises(tlog.NoteError):
        tlog.Verifier.parse(f"{name}+530d903b+{key}")
    with pytest.raises(tlog.NoteError):
        tlog.Verifier.parse(f"example.com/bar+530d903a+{key}")


def test_a_private_key_whose_id_does_not_match_its_key_is_refused() -> None:
    key = tlog.Signer("example.com/k", tlog.ED25519, PLAIN_SEED)
    prefix, name, hex_id, encoded = key.text.rsplit("+", 3)
    wrong = f"{int(hex_id, 16) ^ 1:08x}"
    with pytest.raises(tlog.NoteError):
        tlog.Signer.parse(f"{prefix}+{name}+{wrong}+{encoded}")


# --- a checkpoint signed by the log and cosigned by a witness ----------------------------------


def test_a_note_signed_by_the_log_and_cosigned_by_a_witness_verifies_with_both_keys() -> None:
    note = tlog.Note.parse(signed())
    assert note.text == CHECKPOINT.text
    assert note.signed_by(LOG.verifier) is True
    assert note.cosigned_at(WITNESS.verifier) == TIME
    assert str(note) == signed()


def test_a_cosignature_signs_the_cosignature_v1_message_at_its_timestamp() -> None:
    """tlog-cosignature.md: key id, then the timestamp (8 bytes, big-endian), then an Ed25519
    signature of "cosignature/v1\\ntime <timestamp>\\n" and the note text."""
    raw = raw_signature(signed(), 1)
    assert raw[:4] == WITNESS.verifier.id
    assert int.from_bytes(raw[4:12], "big") == TIME
    message = f"cosignature/v1\ntime {TIME}\n{CHECKPOINT.text}".encode()
    Ed25519PublicKey.from_public_bytes(WITNESS.verifier.public).verify(raw[12:], message)
    assert tlog.cosigned_message(CHECKPOINT.text, TIME) == message


def test_a_log_signature_is_ed25519_over_the_note_text() -> None:
    raw = raw_signature(signed(), 0)
    assert raw[:4] == LOG.verifier.id
    Ed25519PublicKey.from_public_bytes(LOG.verifier.public).verify(
        raw[4:], CHECKPOINT.text.encode()
    )


def test_a_changed_text_is_refused_by_the_log_key_and_the_witness_key() -> None:
    changed = CHECKPOINT.text.replace("\n12\n", "\n13\n")
    assert changed != CHECKPOINT.text
    note = tlog.Note.parse(signed().replace(CHECKPOINT.text, changed))
    with pytest.raises(tlog.NoteError):
        note.signed_by(LOG.verifier)
    with pytest.raises(tlog.NoteError):
        note.cosigned_at(WITNESS.verifier)


@pytest.mark.parametrize("at", [0, 1], ids=["log", "witness"])
@pytest.mark.parametrize("offset", [0, 31, 63], ids=["first", "middle", "last"])
def test_a_changed_signature_byte_is_refused(at: int, offset: int) -> None:
    """A byte of the Ed25519 signature itself: after the key id, and the timestamp if any."""
    name, start = ((ORIGIN, 4), (WITNESS_NAME, 12))[at]
    raw = bytearray(raw_signature(signed(), at))
    assert len(raw) == start + 64
    raw[start + offset] ^= 0x01
    note = tlog.Note.parse(replace_signature(signed(), at, name, bytes(raw)))
    with pytest.raises(tlog.NoteError):
        if at == 0:
            note.signed_by(LOG.verifier)
        else:
            note.cosigned_at(WITNESS.verifier)


def test_a_changed_cosignature_timestamp_is_refused() -> None:
    raw = raw_signature(signed(), 1)
    later = raw[:4] + (TIME + 1).to_bytes(8, "big") + raw[12:]
    note = tlog.Note.parse(replace_signature(signed(), 1, WITNESS_NAME, later))
    with pytest.raises(tlog.NoteError):
        note.cosigned_at(WITNESS.verifier)


def test_a_signature_with_a_changed_key_id_is_of_an_unknown_key() -> None:
    log_raw, witness_raw = raw_signature(signed(), 0), raw_signature(signed(), 1)
    note = signed()
    note = replace_signature(note, 0, ORIGIN, bytes([log_raw[0] ^ 1]) + log_raw[1:])
    note = replace_signature(note, 1, WITNESS_NAME, bytes([witness_raw[0] ^ 1]) + witness_raw[1:])
    parsed = tlog.Note.parse(note)
    assert parsed.signed_by(LOG.verifier) is False
    assert parsed.cosigned_at(WITNESS.verifier) is None


def test_a_signature_with_the_key_id_under_another_name_is_of_an_unknown_key() -> None:
    note = signed()
    note = replace_signature(note, 0, "other.example/log", raw_signature(note, 0))
    note = replace_signature(note, 1, "other.example/w1", raw_signature(note, 1))
    parsed = tlog.Note.parse(note)
    assert parsed.signed_by(LOG.verifier) is False
    assert parsed.cosigned_at(WITNESS.verifier) is None


def test_a_signature_of_another_key_with_the_same_name_is_ignored() -> None:
    impostor = tlog.Signer.generate(ORIGIN)
    witness_impostor = tlog.Signer.generate(WITNESS_NAME, kind=tlog.COSIGNATURE)
    assert impostor.verifier.id != LOG.verifier.id
    assert witness_impostor.verifier.id != WITNESS.verifier.id
    text = CHECKPOINT.text
    forged = impostor.signature_line(text) + witness_impostor.signature_line(text, TIME + 5)
    both = tlog.Note.parse(text + "\n" + forged + signed().split("\n\n", 1)[1])
    assert both.signed_by(LOG.verifier) is True
    assert both.cosigned_at(WITNESS.verifier) == TIME
    only_forged = tlog.Note.parse(text + "\n" + forged)
    assert only_forged.signed_by(LOG.verifier) is False
    assert only_forged.cosigned_at(WITNESS.verifier) is None


def test_a_note_without_a_cosignature_is_cosigned_by_no_one() -> None:
    text = CHECKPOINT.text
    note = tlog.Note.parse(text + "\n" + LOG.signature_line(text))
    assert note.signed_by(LOG.verifier) is True
    assert note.cosigned_at(WITNESS.verifier) is None
    assert (
        tlog.Note.parse(text + "\n" + WITNESS.signature_line(text, TIME)).signed_by(LOG.verifier)
        is False
    )


def test_a_witness_answer_adds_its_cosignature_to_the_log_signed_note() -> None:
    text = CHECKPOINT.text
    note = tlog.Note.parse(text + "\n" + LOG.signature_line(text))
    line = WITNESS.signature_line(text, TIME)
    cosigned = note.with_signatures([line])
    assert cosigned.signed_by(LOG.verifier) is True
    assert cosigned.cosigned_at(WITNESS.verifier) == TIME
    assert str(cosigned) == text + "\n" + LOG.signature_line(text) + line
    again = cosigned.with_signatures([line, LOG.signature_line(text)])
    assert again == cosigned


def test_a_cosignature_needs_a_timestamp() -> None:
    with pytest.raises(tlog.NoteError):
        WITNESS.signature_line(CHECKPOINT.text)


# --- malformed notes -------------------------------------------------------------------------

GOOD_LINE = signature_line("example.com/k", bytes(range(68)))

MALFORMED_NOTES = {
    "a tab in the text": "a\tb\n\n" + GOOD_LINE,
    "a carriage return": "text\r\n\n" + GOOD_LINE,
    "a NUL in the text": "te\x00xt\n\n" + GOOD_LINE,
    "an escape in a signature line": "text\n\n" + GOOD_LINE.replace("example", "ex\x1bample"),
    "no blank line": "text\n" + GOOD_LINE,
    "no signatures": "text\n\n",
    "no final newline": "text\n\n" + GOOD_LINE.rstrip("\n"),
    "bad base64": "text\n\n— example.com/k not*base64==\n",
    "base64 without its padding": "text\n\n" + GOOD_LINE.replace("=", ""),
    "a signature shorter than a key id and a byte": "text\n\n— example.com/k AAAAAA==\n",
    "a hyphen for the em dash": "text\n\n" + GOOD_LINE.replace("—", "-"),
    "a plus in the key name": "text\n\n" + GOOD_LINE.replace("example.com/k", "example.com+k"),
    "no key name": "text\n\n" + GOOD_LINE.replace("example.com/k ", ""),
    "a third field": "text\n\n" + GOOD_LINE.replace("\n", " more\n"),
}


def test_the_malformed_note_template_is_well_formed_when_not_spoiled() -> None:
    note = tlog.Note.parse("text\n\n" + GOOD_LINE)
    assert note.text == "text\n"
    assert [(s.name, s.id, s.raw) for s in note.signatures] == [
        ("example.com/k", bytes(range(4)), bytes(range(4, 68)))
    ]


@pytest.mark.parametrize("note", MALFORMED_NOTES.values(), ids=MALFORMED_NOTES.keys())
def test_a_malformed_note_is_refused(note: str) -> None:
    with pytest.raises(tlog.NoteError):
        tlog.Note.parse(note)


def test_a_note_may_hold_empty_lines_in_its_text() -> None:
    text = "first\n\nsecond\n"
    note = tlog.Note.parse(text + "\n" + LOG.signature_line(text))
    assert note.text == text
    assert note.signed_by(LOG.verifier) is True


def many(count: int) -> str:
    return "text\n\n" + "".join(
        signature_line(f"example.com/k{i}", bytes(68)) for i in range(count)
    )


def test_a_note_with_up_to_the_maximum_of_signatures_is_read() -> None:
    assert tlog.MAX_SIGNATURES >= 16  # signed-note.md: verifiers MUST accept at least 16
    assert len(tlog.Note.parse(many(16)).signatures) == 16
    assert len(tlog.Note.parse(many(tlog.MAX_SIGNATURES)).signatures) == tlog.MAX_SIGNATURES


def test_a_note_with_more_than_the_maximum_of_signatures_is_refused() -> None:
    with pytest.raises(tlog.NoteError):
        tlog.Note.parse(many(tlog.MAX_SIGNATURES + 1))


# --- checkpoints -------------------------------------------------------------------------------


def test_a_checkpoint_without_case_heads_reads_back_from_its_text() -> None:
    checkpoint = tlog.Checkpoint(ORIGIN, 12, ROOT)
    assert checkpoint.text == f"{ORIGIN}\n12\n{b64(ROOT)}\n"
    assert tlog.Checkpoint.parse(checkpoint.text) == checkpoint


def test_a_checkpoint_with_case_heads_reads_back_from_its_text() -> None:
    assert CHECKPOINT.text == (
        f"{ORIGIN}\n12\n{b64(ROOT)}\ncaseledger/case-heads 3 {b64(HEADS_ROOT)}\n"
    )
    parsed = tlog.Checkpoint.parse(CHECKPOINT.text)
    assert parsed == CHECKPOINT
    assert (parsed.heads, parsed.heads_root) == (3, HEADS_ROOT)


def test_the_empty_tree_checkpoint_reads_back_from_its_text() -> None:
    checkpoint = tlog.Checkpoint(ORIGIN, 0, tlog.EMPTY_ROOT)
    assert checkpoint.text.split("\n")[1] == "0"
    assert tlog.Checkpoint.parse(checkpoint.text) == checkpoint


def test_a_checkpoint_with_another_extension_line_is_read() -> None:
    text = f"{ORIGIN}\n12\n{b64(ROOT)}\nother.example/ext 1 2\n"
    assert tlog.Checkpoint.parse(text) == tlog.Checkpoint(ORIGIN, 12, ROOT)


def test_a_checkpoint_from_a_signed_note_is_the_one_signed() -> None:
    note = tlog.Note.parse(signed())
    assert note.signed_by(LOG.verifier)
    assert tlog.Checkpoint.parse(note.text) == CHECKPOINT


ROOT64 = b64(ROOT)
MALFORMED_CHECKPOINTS = {
    "a leading zero in the size": f"{ORIGIN}\n012\n{ROOT64}\n",
    "a zero size written twice": f"{ORIGIN}\n00\n{ROOT64}\n",
    "a negative size": f"{ORIGIN}\n-1\n{ROOT64}\n",
    "a signed size": f"{ORIGIN}\n+1\n{ROOT64}\n",
    "a space before the size": f"{ORIGIN}\n 1\n{ROOT64}\n",
    "a fractional size": f"{ORIGIN}\n1.0\n{ROOT64}\n",
    "a root of 31 bytes": f"{ORIGIN}\n12\n{b64(ROOT[:31])}\n",
    "a root of 33 bytes": f"{ORIGIN}\n12\n{b64(ROOT + b'x')}\n",
    "a root that is not base64": f"{ORIGIN}\n12\n{ROOT64[:-2]}*=\n",
    "two lines": f"{ORIGIN}\n12\n",
    "one line": f"{ORIGIN}\n",
    "nothing": "",
    "an empty origin": f"\n12\n{ROOT64}\n",
    "an empty extension line": f"{ORIGIN}\n12\n{ROOT64}\n\nx\n",
    "no final newline": f"{ORIGIN}\n12\n{ROOT64}",
    "a case-heads root that is not base64": (
        f"{ORIGIN}\n12\n{ROOT64}\ncaseledger/case-heads 3 not*base64\n"
    ),
}
MALFORMED_CHECKPOINTS_MORE = {
    "Arabic-Indic digits for the size": (f"{ORIGIN}\n١٢\n{ROOT64}\n", ASCII_DIGITS),
    "a superscript digit for the size": (f"{ORIGIN}\n²\n{ROOT64}\n", ASCII_DIGITS),
    "a case-heads root of 3 bytes": (
        f"{ORIGIN}\n12\n{ROOT64}\ncaseledger/case-heads 3 AAAA\n",
        "a case-heads root is 32 bytes",
    ),
}


@pytest.mark.parametrize(
    "text",
    [
        *MALFORMED_CHECKPOINTS.values(),
        *(text for text, _ in MALFORMED_CHECKPOINTS_MORE.values()),
    ],
    ids=[*MALFORMED_CHECKPOINTS, *MALFORMED_CHECKPOINTS_MORE],
)
def test_a_malformed_checkpoint_is_refused(text: str) -> None:
    with pytest.raises(tlog.NoteError):
        tlog.Checkpoint.parse(text)


# --- log entries -------------------------------------------------------------------------------

CASE = UUID("0f8e2b4c-3d5a-4e6f-8a9b-0c1d2e3f4a5b")
EVENT_HASH = hashlib.sha256(b"event").digest()
VN = timezone(timedelta(hours=7))


def test_a_log_entry_with_a_non_ascii_event_id_and_a_pre_1970_time_reads_back() -> None:
    moment = datetime(1969, 7, 20, 20, 17, 40, 123_456, tzinfo=UTC)
    event_id = "sự-kiện/Đà-Nẵng/事件/ü"
    entry = tlog.log_entry(7, CASE, 3, EVENT_HASH, moment, event_id)
    parsed = tlog.LogEntry.parse(entry)
    assert parsed == tlog.LogEntry(7, CASE, 3, EVENT_HASH, moment, event_id)
    assert parsed.logged_at.tzinfo is not None and parsed.logged_at == moment
    assert parsed.event_id == event_id
    assert parsed.encode() == entry


def test_a_log_entry_is_laid_out_as_documented() -> None:
    just_before_1970 = datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    entry = tlog.log_entry(1, CASE, 2, EVENT_HASH, just_before_1970, "é")
    assert entry == (
        (1).to_bytes(8, "big")
        + CASE.bytes
        + (2).to_bytes(8, "big")
        + EVENT_HASH
        + b"\xff" * 8  # -1 microsecond, two's complement
        + "é".encode()
    )


def test_a_log_entry_time_in_another_zone_is_the_same_instant() -> None:
    local = datetime(1950, 1, 1, 6, 30, 0, 5, tzinfo=VN)
    parsed = tlog.LogEntry.parse(tlog.log_entry(1, CASE, 1, EVENT_HASH, local, "e"))
    assert parsed.logged_at == local
    assert parsed.logged_at.utcoffset() == timedelta(0)


@settings(max_examples=200, deadline=None, database=None)
@given(
    position=st.integers(0, 2**63 - 1),
    case_id=st.uuids(),
    version=st.integers(0, 2**63 - 1),
    event_hash=st.binary(min_size=32, max_size=32),
    logged_at=st.datetimes(timezones=st.just(UTC)),
    event_id=st.text(),
)
@example(
    position=1,
    case_id=CASE,
    version=1,
    event_hash=EVENT_HASH,
    logged_at=datetime(1, 1, 1, tzinfo=UTC),
    event_id="ü",
)
@example(
    position=2**63 - 1,
    case_id=CASE,
    version=2**63 - 1,
    event_hash=EVENT_HASH,
    logged_at=datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    event_id="",
)
def test_any_log_entry_reads_back(
    position: int,
    case_id: UUID,
    version: int,
    event_hash: bytes,
    logged_at: datetime,
    event_id: str,
) -> None:
    entry = tlog.LogEntry(position, case_id, version, event_hash, logged_at, event_id)
    assert tlog.LogEntry.parse(entry.encode()) == entry
    assert len(entry.encode()) == 72 + len(event_id.encode())


def test_a_log_entry_shorter_than_its_fixed_fields_is_refused() -> None:
    entry = tlog.log_entry(1, CASE, 1, EVENT_HASH, datetime(2025, 1, 1, tzinfo=UTC), "")
    assert len(entry) == 72
    with pytest.raises(tlog.ProofError):
        tlog.LogEntry.parse(entry[:71])
