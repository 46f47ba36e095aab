"""A C2SP tlog-witness (https://c2sp.org/tlog-witness): it cosigns a log's checkpoint only if
it is consistent with the last one it cosigned for that log, so that a log cannot show two
histories to two audiences without a witness refusing one of them.

- ``WitnessState``: per origin the latest cosigned tree head, in a SQLite file; an update is a
  compare-and-set in one transaction, so two requests from the same old size cannot both
  succeed (the roll-back race the spec describes). Checkpoints the log signed that are
  refused as inconsistent (422) are kept, append-only, as evidence of its misbehaviour.
- ``witness_app``: ``POST /add-checkpoint`` as the spec says, and the monitoring
  ``GET /<sha256(origin) hex>/checkpoint`` (the latest cosigned checkpoint, cosignature
  included).
- ``add_checkpoint``: the log's side, one submission (stdlib HTTP: ``httpx`` is a test
  dependency only).
- ``serve``: the app under uvicorn (``caseledger witness serve``).

Trust comes from the signatures alone: there is no authentication of requests. The log keys
are Ed25519 note keys (type 0x01); the witness key is a timestamped Ed25519 cosigner key
(type 0x04, C2SP tlog-cosignature).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import http.client
import re
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from domain.tlog import (
    COSIGNATURE,
    ED25519,
    EMPTY_ROOT,
    HASH_SIZE,
    Checkpoint,
    Note,
    NoteError,
    ProofError,
    Signer,
    Verifier,
    verify_consistency,
)

log = structlog.get_logger("caseledger.witness")

MAX_BODY = 64 * 1024
"""The largest add-checkpoint body accepted (63 proof lines and a checkpoint with a few dozen
signatures take a few KiB)."""

MAX_PROOF_LINES = 63
MAX_TREE_SIZE = 2**63 - 1  # what SQLite's INTEGER holds
SIZE_CONTENT_TYPE = "text/x.tlog.size"
TEXT = "text/plain; charset=utf-8"

_OLD_LINE = re.compile(r"old (0|[1-9][0-9]{0,18})")


# --- State ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TreeHead:
    """A log's tree as a checkpoint states it: its size and root hash."""

    size: int
    root: bytes


NEVER_COSIGNED = TreeHead(0, EMPTY_ROOT)
"""What the witness knows of a log it never cosigned: the empty tree, a prefix of any tree."""


@dataclass(frozen=True)
class Refusal:
    """A submission refused although the log's signature on it verified: a checkpoint the log
    signed that is inconsistent with what the witness cosigned before."""

    origin: str
    at: float
    reason: str
    body: bytes


_SCHEMA = """
CREATE TABLE IF NOT EXISTS cosigned (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL CHECK (size >= 0),
    root BLOB NOT NULL CHECK (length(root) = 32),
    checkpoint TEXT NOT NULL,
    cosigned_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS refused (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    origin TEXT NOT NULL,
    at REAL NOT NULL,
    reason TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE TRIGGER IF NOT EXISTS refused_no_update BEFORE UPDATE ON refused
BEGIN SELECT RAISE(ABORT, 'refused submissions are append-only'); END;
CREATE TRIGGER IF NOT EXISTS refused_no_delete BEFORE DELETE ON refused
BEGIN SELECT RAISE(ABORT, 'refused submissions are append-only'); END;
"""


class WitnessState:
    """The witness's memory, in a SQLite file: the latest cosigned tree head of each log (and
    the checkpoint as cosigned, for monitors), and the refused submissions.

    Each call opens its own connection, so the state may be shared by the server's threads and
    by several processes on the same file; SQLite's write lock serialises the updates."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # autocommit mode: transactions are the explicit BEGIN IMMEDIATE below
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as db:
            # a cosignature is returned only once its tree head is on disk
            db.execute("PRAGMA synchronous = FULL")
            yield db

    def latest(self, origin: str) -> TreeHead:
        """The latest tree head cosigned for ``origin`` (``NEVER_COSIGNED`` if none)."""
        with self._connect() as db:
            row = db.execute(
                "SELECT size, root FROM cosigned WHERE origin = ?", (origin,)
            ).fetchone()
        return TreeHead(row[0], row[1]) if row else NEVER_COSIGNED

    def checkpoint(self, origin: str) -> str | None:
        """The latest checkpoint cosigned for ``origin``: the log's signatures and ours."""
        with self._connect() as db:
            row = db.execute(
                "SELECT checkpoint FROM cosigned WHERE origin = ?", (origin,)
            ).fetchone()
        return row[0] if row else None

    def compare_and_set(
        self, origin: str, expected: TreeHead, new: TreeHead, checkpoint: str, at: int
    ) -> bool:
        """Record ``new`` as ``origin``'s latest cosigned tree head if the latest is still
        ``expected``, in one transaction; whether it did. The caller has checked ``new``
        against ``expected`` (consistency): a concurrent update in between makes this fail
        instead of rolling the log back."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # the write lock before the read
            try:
                row = db.execute(
                    "SELECT size, root FROM cosigned WHERE origin = ?", (origin,)
                ).fetchone()
                if (TreeHead(row[0], row[1]) if row else NEVER_COSIGNED) != expected:
                    db.execute("ROLLBACK")
                    return False
                db.execute(
                    "INSERT INTO cosigned (origin, size, root, checkpoint, cosigned_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE SET "
                    "size = excluded.size, root = excluded.root, "
                    "checkpoint = excluded.checkpoint, cosigned_at = excluded.cosigned_at",
                    (origin, new.size, new.root, checkpoint, at),
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return True

    def record_refusal(self, origin: str, at: float, reason: str, body: bytes) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO refused (origin, at, reason, body) VALUES (?, ?, ?, ?)",
                (origin, at, reason, body),
            )

    def refusals(self, origin: str | None = None) -> list[Refusal]:
        """The refused submissions (of ``origin``, or all), oldest first."""
        query = "SELECT origin, at, reason, body FROM refused"
        params: tuple[str, ...] = ()
        if origin is not None:
            query += " WHERE origin = ?"
            params = (origin,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY id", params).fetchall()
        return [Refusal(o, at, reason, bytes(body)) for o, at, reason, body in rows]


# --- The witness ----------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _Conflict(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


@dataclass(frozen=True)
class _Submission:
    old_size: int
    proof: list[bytes]
    note: Note
    checkpoint: Checkpoint


def parse_request(body: bytes) -> tuple[int, list[bytes], str]:
    """An add-checkpoint body: the old size, the consistency proof, the checkpoint note.
    Raises ``ValueError`` saying what is malformed."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the body is not UTF-8") from None
    head, empty_line, note = text.partition("\n\n")
    if not empty_line:
        raise ValueError("no empty line between the old size and proof lines and the checkpoint")
    lines = head.split("\n")
    old = _OLD_LINE.fullmatch(lines[0])
    if old is None:
        raise ValueError(f"the first line is not 'old <size>': {lines[0][:40]!r}")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise ValueError(f"{len(lines) - 1} proof lines, more than {MAX_PROOF_LINES}")
    proof = []
    for number, line in enumerate(lines[1:], start=2):
        try:
            digest = base64.b64decode(line, validate=True)
        except binascii.Error:
            digest = b""
        if len(digest) != HASH_SIZE:
            raise ValueError(f"line {number} is not a base64 hash of {HASH_SIZE} bytes")
        proof.append(digest)
    return int(old.group(1)), proof, note


class _Witness:
    """The add-checkpoint checks, in the spec's order and with its status codes."""

    def __init__(
        self,
        signer: Signer,
        logs: Mapping[str, Verifier],
        state: WitnessState,
        clock: Callable[[], float],
    ) -> None:
        if signer.kind != COSIGNATURE:
            raise ValueError("the witness key must be a cosigner key (type 0x04)")
        for origin, key in logs.items():
            if key.kind != ED25519:
                raise ValueError(f"the log key of {origin} must be an Ed25519 note key (0x01)")
        self.signer = signer
        self.logs = dict(logs)
        self.state = state
        self.clock = clock

    def submission(self, body: bytes) -> _Submission:
        try:
            old_size, proof, text = parse_request(body)
            note = Note.parse(text)
            checkpoint = Checkpoint.parse(note.text)
        except ValueError as e:  # NoteError included
            raise _Refused(400, f"malformed request: {e}") from None
        if note.text.split("\n")[1] != str(checkpoint.size):
            raise _Refused(400, "malformed request: the tree size is not ASCII decimal")
        if checkpoint.size > MAX_TREE_SIZE:
            raise _Refused(400, f"malformed request: a tree size is at most {MAX_TREE_SIZE}")
        return _Submission(old_size, proof, note, checkpoint)

    def add_checkpoint(self, body: bytes) -> str:
        """The cosignature line for the submitted checkpoint, once its tree head is recorded;
        ``_Refused`` or ``_Conflict`` otherwise."""
        sub = self.submission(body)
        origin, size = sub.checkpoint.origin, sub.checkpoint.size
        key = self.logs.get(origin)
        if key is None:
            raise _Refused(404, f"unknown log origin {origin[:200]!r}")
        try:
            signed = sub.note.signed_by(key)
        except NoteError as e:
            raise _Refused(403, str(e)) from None
        if not signed:
            raise _Refused(403, f"no signature of the log key {key.name} ({key.id.hex()})")
        if sub.old_size > size:
            raise _Refused(400, f"old size {sub.old_size} is larger than the tree size {size}")
        try:
            latest = self._check_consistency(sub)
        except _Refused as e:  # signed by the log, yet inconsistent: keep it as evidence
            self.state.record_refusal(origin, self.clock(), e.reason, body)
            log.warning("witness.refused", origin=origin, size=size, reason=e.reason)
            raise
        return self._cosign(sub, latest)

    def _check_consistency(self, sub: _Submission) -> TreeHead:
        """The latest cosigned tree head, which the checkpoint extends; ``_Refused(422)`` or
        ``_Conflict`` if it does not. ``_cosign``'s compare-and-set has the final say."""
        old, cp = sub.old_size, sub.checkpoint
        if cp.size == 0 and cp.root != EMPTY_ROOT:
            raise _Refused(422, "a checkpoint of size 0 must have the empty tree's root hash")
        if old == 0 and sub.proof:
            raise _Refused(422, "the consistency proof from size 0 must be empty")
        latest = self.state.latest(cp.origin)
        if old != latest.size:
            raise _Conflict(latest.size)
        if old == cp.size and cp.root != latest.root:
            raise _Refused(
                422,
                f"checkpoint of size {cp.size} has root {_b64(cp.root)}, but the root "
                f"cosigned at that size is {_b64(latest.root)}",
            )
        if old > 0:
            try:
                verify_consistency(old, cp.size, sub.proof, latest.root, cp.root)
            except ProofError as e:
                raise _Refused(
                    422, f"consistency proof from {old} to {cp.size} does not verify: {e}"
                ) from None
        return latest

    def _cosign(self, sub: _Submission, latest: TreeHead) -> str:
        """Sign, then record the new tree head if ``latest`` is still the latest; the
        cosignature leaves only once the record is committed."""
        cp = sub.checkpoint
        timestamp = int(self.clock())
        if timestamp <= 0:
            raise RuntimeError("the witness's clock is before 1970: no cosignature")
        line = self.signer.signature_line(sub.note.text, timestamp)
        mine = self.signer.verifier
        others = tuple(s for s in sub.note.signatures if (s.name, s.id) != (mine.name, mine.id))
        cosigned = str(Note(sub.note.text, others)) + line
        if not self.state.compare_and_set(
            cp.origin, latest, TreeHead(cp.size, cp.root), cosigned, timestamp
        ):  # another request advanced the log since the checks: its size is the one to use
            raise _Conflict(self.state.latest(cp.origin).size)
        log.info("witness.cosigned", origin=cp.origin, size=cp.size, old_size=sub.old_size)
        return line


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def witness_app(
    signer: Signer,
    logs: Mapping[str, Verifier],
    state: WitnessState,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The witness over HTTP: cosigns checkpoints of the logs in ``logs`` (origin → the log's
    Ed25519 key) with ``signer`` (a cosigner key), remembering them in ``state``."""
    witness = _Witness(signer, logs, state, clock)
    by_hash = {hashlib.sha256(origin.encode()).hexdigest(): origin for origin in witness.logs}
    app = FastAPI(title="caseledger witness", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/add-checkpoint")
    async def add_checkpoint_route(request: Request) -> Response:
        try:
            body = await _read_body(request)
            line = await run_in_threadpool(witness.add_checkpoint, body)
        except _Conflict as e:
            # exactly this type, without the charset Starlette adds to a text media type
            headers = {"Content-Type": SIZE_CONTENT_TYPE}
            return Response(f"{e.size}\n", status_code=409, headers=headers)
        except _Refused as e:
            return Response(e.reason + "\n", status_code=e.status, media_type=TEXT)
        return Response(line, media_type=TEXT)

    @app.get("/{origin_hash}/checkpoint")
    def checkpoint_route(origin_hash: str) -> Response:
        origin = by_hash.get(origin_hash)
        checkpoint = state.checkpoint(origin) if origin is not None else None
        if checkpoint is None:
            return Response("no checkpoint cosigned for this log\n", 404, media_type=TEXT)
        return Response(checkpoint, media_type=TEXT)

    return app


async def _read_body(request: Request) -> bytes:
    """The request body, refused with 413 past ``MAX_BODY`` without reading it all."""
    declared = request.headers.get("content-length", "")
    if (
        declared.isascii()
        and declared.isdigit()
        and (len(declared) > 9 or int(declared) > MAX_BODY)
    ):
        raise _Refused(413, f"the body is larger than {MAX_BODY} bytes")
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > MAX_BODY:
            raise _Refused(413, f"the body is larger than {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def serve(
    signer: Signer,
    logs: Mapping[str, Verifier],
    state: WitnessState,
    host: str = "127.0.0.1",
    port: int = 8081,
) -> None:
    """Run the witness under uvicorn until SIGINT or SIGTERM."""
    import uvicorn

    uvicorn.run(witness_app(signer, logs, state), host=host, port=port, log_config=None)


# --- The log's side ---------------------------------------------------------------------------


class WitnessError(Exception):
    """A submission to a witness that produced no cosignature."""


class StaleSize(WitnessError):
    """The witness's latest cosigned size for the log is not the old size given: submit again
    from ``known_size`` (with the proof from it)."""

    def __init__(self, known_size: int) -> None:
        super().__init__(f"the witness last cosigned size {known_size}")
        self.known_size = known_size


class WitnessRefused(WitnessError):
    """The witness refused the checkpoint (or answered in a way this client cannot use)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"witness answered {status}: {reason}")
        self.status = status
        self.reason = reason


class WitnessUnreachable(WitnessError):
    """No answer from the witness: connection refused, reset, timed out."""


def add_checkpoint(
    url: str, old_size: int, proof: list[bytes], note: str, timeout: float = 5.0
) -> list[str]:
    """Submit the signed checkpoint ``note`` to the witness whose submission prefix is ``url``,
    with the consistency proof from ``old_size`` (the witness's latest cosigned size for this
    log, 0 the first time); the witness's signature lines, each ending in a newline.

    The lines are not verified here: add them to the note (``Note.with_signatures``) and check
    them with the witness's key (``Note.cosigned_at``)."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"a witness's submission prefix is an http(s) URL: {url!r}")
    body = (
        f"old {old_size}\n"
        + "".join(base64.b64encode(p).decode() + "\n" for p in proof)
        + "\n"
        + note
    ).encode()
    request = urllib.request.Request(
        url.rstrip("/") + "/add-checkpoint",
        data=body,
        method="POST",
        headers={"Content-Type": TEXT},
    )
    try:
        status, text = _post(request, timeout)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        # refused, reset, timed out, DNS, an answer cut short
        raise WitnessUnreachable(f"{url}: {getattr(e, 'reason', e)}") from None
    if status == 409 and re.fullmatch(r"(0|[1-9][0-9]*)\n", text):
        raise StaleSize(int(text))
    if status != 200:
        raise WitnessRefused(status, text.strip()[:500])
    lines = [line + "\n" for line in text.removesuffix("\n").split("\n")]
    if not text.endswith("\n") or not all(line.startswith("— ") for line in lines):
        raise WitnessRefused(status, f"not note signature lines: {text[:200]!r}")
    return lines


def _post(request: urllib.request.Request, timeout: float) -> tuple[int, str]:
    """The status and body of the answer, an error status's included."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body = response.status, response.read(MAX_BODY)
    except urllib.error.HTTPError as e:
        with e:
            status, body = e.code, e.read(MAX_BODY)
    return int(status), bytes(body).decode("utf-8", "replace")
