"""A log that proves itself (issue 19): checkpoints, evidence bundles verified offline, and an
owner with full database rights tampering after a witnessed checkpoint.

A witness here is a cosigner key applied as ``caseledger witness serve`` would after checking
consistency (``tests/integration/test_witness.py`` tests the witness itself); the bundle is
checked by ``domain/tlog.py`` alone, as ``caseledger-verify`` does."""

from __future__ import annotations

import ast
import io
import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from uuid import UUID

import pytest

from domain import tlog
from domain.application import CaseLedger
from domain.store import StoredCheckpoint
from tests.integration.test_store_integrity import (
    EVENTS,
    LOG,
    Database,
    case_with_notes,
    db,
)

__all__ = ["db"]

ORIGIN = "test.caseledger/log"


@pytest.fixture
def log_key() -> tlog.Signer:
    return tlog.Signer.generate(ORIGIN)


@pytest.fixture
def witnesses() -> list[tlog.Signer]:
    return [tlog.Signer.generate(f"w{i}.example", tlog.COSIGNATURE) for i in range(3)]


def witnessed(
    ledger: CaseLedger, log_key: tlog.Signer, witnesses: list[tlog.Signer], at: int = 1_800_000_000
) -> StoredCheckpoint:
    """Sign a checkpoint and have the witnesses cosign it, as the runner does."""
    checkpoint = ledger.sign_checkpoint(log_key)
    text = tlog.Note.parse(checkpoint.note).text
    ledger.add_cosignatures(
        checkpoint.size, {w.name: w.signature_line(text, at) for w in witnesses}
    )
    return ledger.checkpoint(checkpoint.size)


def verify_offline(
    bundle: bytes,
    log_key: tlog.Signer,
    witnesses: list[tlog.Signer],
    policy: int | None = None,
    after: bytes | None = None,
) -> tlog.BundleReport:
    return tlog.verify_bundle(
        bundle, log_key.verifier, [w.verifier for w in witnesses], policy, after
    )


def test_a_bundle_proves_a_case_complete_at_a_witnessed_checkpoint(
    ledger: CaseLedger, log_key: tlog.Signer, witnesses: list[tlog.Signer]
) -> None:
    case_with_notes(ledger, 2)
    case_id = case_with_notes(ledger, 3)
    case_with_notes(ledger, 1)
    checkpoint = witnessed(ledger, log_key, witnesses)

    report = verify_offline(ledger.evidence(case_id, checkpoint), log_key, witnesses, 2)

    assert report.case_id == case_id and report.events == 4
    assert report.size == ledger.head() == 9
    assert report.summary().startswith(
        f"case {case_id}: 4 events, complete at tree size 9, checkpoint signed by {ORIGIN}"
    )
    assert "cosigned by 3 of 3 witnesses" in report.summary()


def test_a_bundle_cosigned_by_fewer_witnesses_than_the_policy_is_refused(
    ledger: CaseLedger, log_key: tlog.Signer, witnesses: list[tlog.Signer]
) -> None:
    case_id = case_with_notes(ledger, 1)
    checkpoint = witnessed(ledger, log_key, witnesses[:1])

    with pytest.raises(tlog.BundleError, match=r"cosigned by 1 of the 3 witnesses.*needs 2"):
        verify_offline(ledger.evidence(case_id, checkpoint), log_key, witnesses, 2)


def test_a_bundle_signed_by_another_log_key_is_refused(
    ledger: CaseLedger, log_key: tlog.Signer, witnesses: list[tlog.Signer]
) -> None:
    case_id = case_with_notes(ledger, 1)
    checkpoint = witnessed(ledger, log_key, witnesses)
    impostor = tlog.Signer.generate(ORIGIN)

    with pytest.raises(tlog.BundleError, match="not signed by the log key"):
        verify_offline(ledger.evidence(case_id, checkpoint), impostor, witnesses)


def test_a_bundle_whose_event_bytes_were_edited_is_refused(
    ledger: CaseLedger, log_key: tlog.Signer, witnesses: list[tlog.Signer]
) -> None:
    case_id = case_with_notes(ledger, 2)
    bundle = ledger.evidence(case_id, witnessed(ledger, log_key, witnesses))

    edited = rewrite(bundle, "events.jsonl", lambda text: other_actor(text, line=1))

    with pytest.raises(tlog.BundleError, match=r"version 2 .*do not hash to the stored hash"):
        verify_offline(edited, log_key, witnesses)


def test_a_bundle_missing_the_last_event_is_refused(
    ledger: CaseLedger, log_key: tlog.Signer, witnesses: list[tlog.Signer]
) -> None:
    case_id = case_with_notes(ledger, 2)
    bundle = ledger.evidence(case_id, witnessed(ledger, log_key, witnesses))

    cut = rewrite(bundle, "events.jsonl", lambda text: "".join(text.splitlines(True)[:-1]))

    with pytest.raises(tlog.BundleError, match="case-head entry does not name version 2"):
        verify_offline(cut, log_key, witnesses)


def test_the_offline_verifier_is_one_file_needing_nothing_of_the_project(
    ledger: CaseLedger, log_key: tlog.Signer, witnesses: list[tlog.Signer], tmp_path: Path
) -> None:
    case_id = case_with_notes(ledger, 2)
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(ledger.evidence(case_id, witnessed(ledger, log_key, witnesses)))
    source = Path(tlog.__file__)
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    roots = {name.split(".")[0] for name in imported}
    assert roots <= set(sys.stdlib_module_names) | {"__future__", "cryptography"}
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(source, alone / "caseledger_verify.py")
    command = [sys.executable, "-I", str(alone / "caseledger_verify.py"), str(bundle)]
    keys = ["--log-key", log_key.verifier.vkey]
    for w in witnesses:
        keys += ["--witness-key", w.verifier.vkey]

    ok = subprocess.run([*command, *keys], cwd=alone, capture_output=True, text=True)
    forged = subprocess.run(
        [*command, "--log-key", tlog.Signer.generate(ORIGIN).verifier.vkey],
        cwd=alone,
        capture_output=True,
        text=True,
    )

    assert ok.returncode == 0, ok.stderr
    assert f"case {case_id}: 3 events, complete at tree size 3" in ok.stdout
    assert "cosigned by 3 of 3 witnesses" in ok.stdout
    assert forged.returncode == 1 and "FAILED: " in forged.stderr


def test_the_verifier_checks_the_same_event_columns_the_store_hashes() -> None:
    from domain.integrity import HASHED_COLUMNS

    assert tlog.EVENT_FIELDS == HASHED_COLUMNS


# --- an owner with full database rights, after a witnessed checkpoint ------------------------


def test_deleting_a_cases_last_event_is_found_by_verify_and_by_the_bundle(
    ledger: CaseLedger, db: Database, log_key: tlog.Signer, witnesses: list[tlog.Signer]
) -> None:
    case_id = case_with_notes(ledger, 3)
    case_with_notes(ledger, 1)
    checkpoint = witnessed(ledger, log_key, witnesses)
    before = ledger.evidence(case_id, checkpoint)
    position = ledger.positions(case_id)[4]

    db.run(f"DELETE FROM {EVENTS} WHERE case_id={db.mark} AND version=4", (db.key(case_id),))
    db.run(f"DELETE FROM {LOG} WHERE position >= {db.mark}", (position,))
    db.run(f"DELETE FROM {LOG}_tree WHERE ((idx + 1) << level) > {db.mark}", (position - 1,))

    assert not ledger.verify().ok
    kinds = {p.kind for p in ledger.verify(case_id, checkpoints=[checkpoint.cosigned]).problems}
    assert "checkpoint_ahead" in kinds
    assert verify_offline(before, log_key, witnesses).events == 4  # taken before: still holds


def test_rewriting_a_case_and_rebuilding_log_and_tree_is_found_against_the_checkpoint(
    ledger: CaseLedger,
    db: Database,
    log_key: tlog.Signer,
    witnesses: list[tlog.Signer],
    tmp_path: Path,
) -> None:
    """(b) and (c): the owner edits a middle event, recomputes the case's chain, the log's
    chain and the whole tree, and signs a new checkpoint with the log key: every check made
    inside the database passes, but not against the witnessed checkpoint, and a bundle taken
    before does not accept one taken after."""
    case_id = case_with_notes(ledger, 3)
    case_with_notes(ledger, 1)
    checkpoint = witnessed(ledger, log_key, witnesses)
    before = ledger.evidence(case_id, checkpoint)

    rewrite_case(ledger, db, case_id, version=2)
    report = ledger.verify()
    assert not report.ok  # the stored checkpoint no longer matches
    assert "checkpoint_mismatch" in {p.kind for p in report.problems}
    case_with_notes(ledger, 1)  # the log goes on; the owner holds the log key too
    forged = ledger.sign_checkpoint(log_key)

    against_witnessed = ledger.verify(checkpoints=[checkpoint.cosigned])
    assert "checkpoint_mismatch" in {p.kind for p in against_witnessed.problems}
    after = ledger.evidence(case_id, forged, since=checkpoint.size)
    with pytest.raises(tlog.BundleError, match="differs from the earlier bundle"):
        verify_offline(after, log_key, [], 0, after=before)


def test_truncating_everything_fails_verify_against_the_last_witnessed_checkpoint(
    ledger: CaseLedger, db: Database, log_key: tlog.Signer, witnesses: list[tlog.Signer]
) -> None:
    case_with_notes(ledger, 2)
    checkpoint = witnessed(ledger, log_key, witnesses)

    for table in (EVENTS, LOG, f"{LOG}_tree", f"{LOG}_cosignatures", f"{LOG}_checkpoints"):
        db.run(f"DELETE FROM {table}")

    assert ledger.verify().ok  # nothing inside the database says anything is missing
    report = ledger.verify(checkpoints=[checkpoint.cosigned], log_key=log_key.verifier)
    assert not report.ok
    assert report.first_broken is not None
    assert report.first_broken.kind == "checkpoint_ahead"
    assert "signed at tree size 3 but the log holds 0 entries" in report.summary()


# --- helpers ---------------------------------------------------------------------------------


def rewrite(bundle: bytes, name: str, change: Callable[[str], str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bundle)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.namelist():
            data = src.read(item)
            if item == name:
                data = change(data.decode()).encode()
            dst.writestr(item, data)
    return out.getvalue()


def other_actor(events_jsonl: str, line: int) -> str:
    """The bundle's events with one event's actor replaced (its stored JSON text)."""
    lines = events_jsonl.splitlines(True)
    record = json.loads(lines[line])
    record["actor"] = forged_actor(record["actor"])
    lines[line] = json.dumps(record) + "\n"
    return "".join(lines)


def forged_actor(actor_json: str) -> str:
    return actor_json.replace(json.loads(actor_json)["id"], "forger", 1)


def rewrite_case(ledger: CaseLedger, db: Database, case_id: UUID, *, version: int) -> None:
    """As an owner would: put another actor on one event, then recompute the case's chain from
    it, the log's chain and the whole tree, so that everything inside the database agrees."""
    from domain.integrity import STORED_COLUMNS, StoredRow, log_hash

    rows = ledger._store.stored_rows(case_id)
    previous = tlog.GENESIS
    for row in rows:
        actor = forged_actor(row.actor) if row.version == version else row.actor
        changed = StoredRow(**{**{c: getattr(row, c) for c in STORED_COLUMNS}, "actor": actor})
        digest = tlog.chain_hash(previous, changed.canonical())
        db.run(
            f"UPDATE {EVENTS} SET actor={db.mark}, hash={db.mark} "
            f"WHERE case_id={db.mark} AND version={db.mark}",
            (actor, digest, db.key(case_id), row.version),
        )
        db.run(
            f"UPDATE {LOG} SET event_hash={db.mark} WHERE case_id={db.mark} AND version={db.mark}",
            (digest, db.key(case_id), row.version),
        )
        previous = digest
    sealed = tlog.GENESIS
    entries = []
    for position, event_hash, *_ in db.run(
        f"SELECT position, event_hash FROM {LOG} ORDER BY position", triggers=True
    ):
        sealed = log_hash(sealed, position, bytes(event_hash))
        db.run(f"UPDATE {LOG} SET log_hash={db.mark} WHERE position={db.mark}", (sealed, position))
    for row in db.run(
        f"SELECT position, case_id, version, event_hash, logged_at, event_id FROM {LOG} "
        "ORDER BY position",
        triggers=True,
    ):
        entries.append(row)
    db.run(f"DELETE FROM {LOG}_tree")
    frontier = tlog.Frontier(0, [])
    for position, case, version, event_hash, logged_at, event_id in entries:
        when = datetime.fromisoformat(logged_at) if isinstance(logged_at, str) else logged_at
        entry = tlog.log_entry(
            position, UUID(str(case)), version, bytes(event_hash), when, event_id
        )
        for level, idx, digest in frontier.append(tlog.leaf_hash(entry)):
            db.run(
                f"INSERT INTO {LOG}_tree (level, idx, hash) "
                f"VALUES ({db.mark}, {db.mark}, {db.mark})",
                (level, idx, digest),
            )
    ledger._forget(case_id)


def test_a_store_from_before_the_tree_is_given_its_tree_at_start(
    ledger: CaseLedger, db: Database, log_key: tlog.Signer
) -> None:
    from infra.store import build_application

    case_with_notes(ledger, 2)
    case_with_notes(ledger, 1)
    root = ledger.tree_head(ledger.head()).root
    db.run(f"DELETE FROM {LOG}_tree")

    started = build_application(db.settings)  # what a process of the new version does first
    try:
        assert started.tree_head(started.head()).root == root
        assert started.verify().ok
        case_with_notes(started, 1)  # and passes extend it
        assert started.verify().ok
    finally:
        started.close()
