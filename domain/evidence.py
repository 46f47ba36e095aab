"""A case's evidence bundle: what an inspector takes away and verifies offline.

One zip file (``build_bundle``), checked by ``caseledger-verify`` (``domain.tlog.verify_bundle``)
with nothing but the log's public key and the witnesses' ones:

- ``events.jsonl``: every event of the case up to the checkpoint, exactly as stored (the
  columns the hash covers, the payload in base64 as stored, ciphertext if encrypted; the hash);
- ``entries/<version>.tlog-proof``: for each event, a C2SP ``tlog-proof@v1`` whose ``extra`` is
  its log entry (``domain.tlog.log_entry``: position, case, version, event hash, log time, event
  id), with its inclusion proof in the checkpoint's tree;
- ``case-head.tlog-proof``: the same form for the case's head (``domain.tlog.head_entry``: its
  last version and hash) in the case-heads tree the checkpoint's extension line commits to: the
  case had no later event at that tree size;
- ``checkpoint``: the checkpoint, signed by the log and cosigned by the witnesses;
- ``consistency.proof`` (when asked with ``since``): the consistency proof from an earlier tree
  size (a bundle taken before) to this checkpoint's, one base64 hash per line after ``old N``;
- ``README.txt``: what the files are and the command that checks them.
"""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

import orjson

from domain import tlog
from domain.integrity import EventColumns, StoredRow

if TYPE_CHECKING:
    from domain.store import StoredCheckpoint


class Prover(Protocol):
    """What a bundle reads of the ledger (``CaseLedger``)."""

    def log_entries(self, case_id: UUID, upto: int) -> list[tlog.LogEntry]: ...

    def inclusion_proof(self, position: int, tree_size: int) -> tuple[bytes, list[bytes]]: ...

    def case_head_proof(self, case_id: UUID, size: int) -> tuple[int, int, list[bytes]]: ...

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]: ...


README = """Evidence bundle of case {case_id}: {events} events, against the log's checkpoint at
tree size {size} ({origin}).

Verify it offline (no database, no network), with the log's public key and the witnesses':

    caseledger-verify {name} --log-key '{vkey}' --witness-key VKEY ... --policy N

events.jsonl            the events exactly as stored (hash chain per case)
entries/N.tlog-proof    each event's log entry and its inclusion proof (C2SP tlog-proof@v1)
case-head.tlog-proof    the case's last version in the case-heads tree: nothing came after
checkpoint              the signed, cosigned checkpoint (C2SP tlog-checkpoint)
"""


def proof_text(extra: bytes, index: int, proof: Sequence[bytes], checkpoint: str) -> str:
    """A C2SP ``tlog-proof@v1``."""
    lines = [
        "c2sp.org/tlog-proof@v1",
        f"extra {base64.b64encode(extra).decode()}",
        f"index {index}",
        *(base64.b64encode(p).decode() for p in proof),
    ]
    return "\n".join(lines) + "\n\n" + checkpoint


def event_json(row: StoredRow) -> bytes:
    record: dict[str, object] = {}
    for f in fields(EventColumns):
        value = getattr(row, f.name)
        record[f.name] = (
            base64.b64encode(value).decode() if isinstance(value, bytes) else str(value)
        )
    record["hash"] = row.hash.hex()
    return orjson.dumps(record)


def build_bundle(
    ledger: Prover,
    case_id: UUID,
    rows: Sequence[StoredRow],
    checkpoint: StoredCheckpoint,
    since: int | None = None,
    vkey: str = "VKEY",
) -> bytes:
    """The zip of ``rows`` (the case's events up to the checkpoint, by version) and their
    proofs against ``checkpoint``; with ``since``, the consistency proof from that size."""
    size, note = checkpoint.size, checkpoint.cosigned
    entries = {e.version: e for e in ledger.log_entries(case_id, size)}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("events.jsonl", b"".join(event_json(r) + b"\n" for r in rows))
        for row in rows:
            entry = entries[row.version]
            _, proof = ledger.inclusion_proof(entry.position, size)
            z.writestr(
                f"entries/{row.version}.tlog-proof",
                proof_text(entry.encode(), entry.position - 1, proof, note),
            )
        last = rows[-1]
        index, _, proof = ledger.case_head_proof(case_id, size)
        head = tlog.head_entry(case_id, last.version, last.hash)
        z.writestr("case-head.tlog-proof", proof_text(head, index, proof, note))
        z.writestr("checkpoint", note)
        if since is not None:
            hashes = ledger.consistency_proof(since, size) if since else []
            z.writestr(
                "consistency.proof",
                f"old {since}\n" + "".join(base64.b64encode(h).decode() + "\n" for h in hashes),
            )
        origin = note.split("\n", 1)[0]
        z.writestr(
            "README.txt",
            README.format(
                case_id=case_id,
                events=len(rows),
                size=size,
                origin=origin,
                name=f"case-{case_id}.zip",
                vkey=vkey,
            ),
        )
    return out.getvalue()
