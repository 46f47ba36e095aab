"""The service layer: one method per use case on the eventsourcing ``Application``."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

import orjson
from eventsourcing.application import AggregateNotFoundError, Application, LRUCache
from eventsourcing.persistence import RecordConflictError, StoredEvent
from eventsourcing.utils import Environment, EnvType

from domain import tlog
from domain.access import AccessEntry, AccessRecord, GroupCommit
from domain.case import Case, NewEvent
from domain.errors import (
    CaseAlreadyExists,
    CaseLedgerError,
    CaseNotFound,
    Contention,
    EventIdReused,
    FieldError,
    InvalidEvent,
    LegalHold,
    OutsideTheLog,
    VersionConflict,
)
from domain.events import Actor
from domain.evidence import build_bundle
from domain.integrity import Problem, Progress, TreeHead, VerificationReport
from domain.personal import (
    Keys,
    KeyUnavailable,
    PersonalData,
    Sealing,
    WrappedKey,
    legal_holds,
    plain_paths,
)
from domain.state import CaseState, Entry, derive
from domain.store import Logged, LogRecord, Seal, Store, StoredCheckpoint

# Case ids derived from a client's opening event id, so that retrying an open is idempotent.
CASE_ID_NAMESPACE = uuid5(NAMESPACE_URL, "urn:caseledger:case")
MAX_ATTEMPTS = 20
LOCK_STRIPES = 256


@dataclass(frozen=True)
class Recorded:
    case_id: UUID
    version: int
    event_id: str
    position: int | None
    created: bool


@dataclass(frozen=True)
class CaseRecord:
    """A case as its record stood at some moment: the entries recorded by then and their state."""

    case_id: UUID
    version: int
    entries: list[Entry]
    state: CaseState


def utcnow() -> datetime:
    return datetime.now(UTC)


Authorize = Callable[[Sequence[Entry], Sequence[NewEvent]], None]
"""Judges whether events may be added to a case holding these entries; raises to refuse."""


class CaseLedger(Application[UUID]):
    """The service layer, and the one door to the store.

    Recording (``open_case``, ``append``) and reading cases (``get_case``, ``history``) are the
    use cases; the global log (``head``, ``log_after``, ``case_ids_upto``, ``cases_upto``,
    ``log_channel``), verification and the database roles (``verify``, ``grant_writer``,
    ``grant_runner``) are what the API, the projections, the CLI and the benchmarks read and
    run through it. It
    reaches the recorder only as a ``domain.store.Store`` and hands out decoded entries.
    """

    name = "CaseLedger"

    def __init__(
        self,
        env: EnvType | None = None,
        clock: Callable[[], datetime] = utcnow,
        keys: Keys | None = None,
    ) -> None:
        """``keys``: the key-encryption keys and the pseudonym key (``infra/keys.py``);
        without them no personal field can be written or read (``KeyUnavailable``)."""
        self.clock = clock
        # Writers to one case queue here within a process; across processes the store's unique
        # (case, version) key decides and the loser retries.
        self._case_locks = [threading.Lock() for _ in range(LOCK_STRIPES)]
        super().__init__(env)
        # Each case as this process last saved it, so that the next append to it need not read
        # the store first (see ``_append``); as large as the repository's cache, off with it.
        size = int(self.env.get("AGGREGATE_CACHE_MAXSIZE") or 0)
        self._saved: LRUCache[UUID, Case] | None = LRUCache(size) if size > 0 else None
        self._counted = threading.Lock()
        self._access = GroupCommit(lambda entries: self._store.record_access(entries))
        self.recorded_events = 0
        """Events this process recorded (repeats excluded): the metrics read it."""
        self.personal = (
            PersonalData(keys.keyring, self._store, keys.pseudonym_key) if keys else None
        )
        cast(Sealing, self.mapper).personal = self.personal
        if keys is not None:
            self.check_keys()

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """Configuration comes only from ``env`` (built from Settings), never from os.environ."""
        return Environment(name, dict(env or {}))

    # --- recording -------------------------------------------------------------------------

    def open_case(
        self,
        new: NewEvent,
        actor: Actor,
        case_id: UUID | None = None,
        client_event_id: bool = False,
        correlation_id: str | None = None,
    ) -> Recorded:
        """Open a case; a retry with the same event id and content returns the original."""
        if case_id is None:
            case_id = uuid5(CASE_ID_NAMESPACE, new.event_id) if client_event_id else uuid4()
        for _ in range(MAX_ATTEMPTS):
            try:
                existing = self._load(case_id)
            except CaseNotFound:
                case = Case.open(case_id, new, actor, self.clock(), correlation_id)
                try:
                    recording = self.save(case)[0]
                except RecordConflictError:
                    if self.personal is not None:  # the key made for it was not stored
                        self.personal.forget(case_id)
                    self._check_ids_unused_elsewhere(case_id, [new])
                    continue  # someone opened it meanwhile: look again (it exists now)
                self._remember(case)
                self._count(1)
                return Recorded(case_id, 1, new.event_id, recording.notification.id, True)
            first = existing.entries[0]
            if first.event_id == new.event_id and new.same_content_as(first):
                return self._repeat(case_id, [first])[0]
            if first.event_id == new.event_id:
                raise EventIdReused(
                    "event_id already names an event with different content", field="event_id"
                )
            raise CaseAlreadyExists(f"case {case_id} already exists", field="case_id")
        raise Contention("too many concurrent writers on this case; retry")

    def append(
        self,
        case_id: UUID,
        events: Sequence[NewEvent],
        actor: Actor,
        expected_version: int | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        authorize: Authorize | None = None,
    ) -> list[Recorded]:
        """Append events to one case atomically (all or none).

        ``authorize`` is called with the case's entries and the events before anything else is
        judged (a repeat included), under the case's lock: it raises to refuse.

        Without ``expected_version`` a lost race is retried on the fresh case, so concurrent
        writers never lose an event; with it, a stale version is a conflict. A repeat of events
        already recorded (same ids, same content) returns the originals and writes nothing.
        """
        if not events:
            raise InvalidEvent("no events to append", [FieldError(("events",), "empty")])
        _check_ids_distinct(events)
        with self._lock(case_id):
            return self._append(
                case_id, events, actor, expected_version, correlation_id, causation_id, authorize
            )

    def _append(
        self,
        case_id: UUID,
        events: Sequence[NewEvent],
        actor: Actor,
        expected_version: int | None,
        correlation_id: str | None,
        causation_id: str | None,
        authorize: Authorize | None,
    ) -> list[Recorded]:
        for attempt in range(MAX_ATTEMPTS):
            case, remembered = self._case_to_write(case_id)
            try:
                if authorize is not None:
                    authorize(case.entries, events)
                repeated = self._repeated(case, events)
                if repeated:
                    return self._repeat(case_id, repeated)
                if expected_version is not None and case.version != expected_version:
                    raise VersionConflict(
                        f"case is at version {case.version}, not {expected_version}",
                        field="expected_version",
                    )
                # recorded_at never goes back within a case, whatever the clocks of other processes
                now = max(self.clock(), case.entries[-1].recorded_at)
                for i, new in enumerate(events):
                    try:
                        case.record(new, actor, now, correlation_id, causation_id)
                    except CaseLedgerError as e:
                        raise in_batch(e, i) if len(events) > 1 else e from None
            except CaseLedgerError:
                if remembered:  # judged on a copy another process may have overtaken: look again
                    self._forget(case_id)
                    continue
                raise
            try:
                recordings = self.save(case)
            except RecordConflictError:
                self._forget(case_id)
                self._check_ids_unused_elsewhere(case_id, events)
                _back_off(attempt)
                continue
            self._remember(case)
            self._count(len(recordings))
            return [
                Recorded(
                    case_id, r.domain_event.originator_version, e.event_id, r.notification.id, True
                )
                for r, e in zip(recordings, events, strict=True)
            ]
        raise Contention("too many concurrent writers on this case; retry")

    # --- personal data -----------------------------------------------------------------------

    def check_keys(self) -> None:
        """Every key-encryption key the stored data keys name is configured and opens them
        (one key per KEK id is tried): raises ``KeyUnavailable`` naming the first that is not."""
        for sample in self._store.kek_samples():
            self._vault.keyring.unwrap(sample)

    def rewrap_data_keys(self, kek_id: str | None = None, page: int = 1000) -> int:
        """Wrap every data key (or those wrapped by ``kek_id``) under the current KEK, which
        must be configured beside the old ones; no event is touched. How many were rewrapped."""
        ring = self._vault.keyring
        done, after = 0, None
        while keys := self._store.data_keys(after, page):
            after = keys[-1].case_id
            stale = [
                k
                for k in keys
                if k.kek_id != ring.current and (kek_id is None or k.kek_id == kek_id)
            ]
            if stale:
                done += self._store.rewrap([ring.wrap(k.case_id, ring.unwrap(k)) for k in stale])
        return done

    def kek_samples(self) -> list[WrappedKey]:
        """One stored data key per KEK id in use (not erased)."""
        return self._store.kek_samples()

    def pseudonym(self, case_id: UUID | str) -> str:
        """The person's stable pseudonym (a keyed hash of the case id)."""
        return self._vault.pseudonym(case_id)

    def erase_person(
        self,
        case_id: UUID,
        actor: Actor,
        request_reference: str,
        basis: str,
        retention_days: int,
        correlation_id: str | None = None,
    ) -> Recorded:
        """Erase the person's personal data at their request: record ``PersonalDataErased``,
        then destroy their data key (a retry after a failure between the two completes it).

        While a legal hold applies (``domain.personal.legal_holds``) nothing is erased: the
        request is recorded as ``PersonalDataRestricted`` (once per request and holds) and
        ``LegalHold`` raised, naming the holds."""
        with self._lock(case_id):
            case = self._load(case_id)
            if case.state.erased:
                self._vault.erase(case_id)
                done = next(e for e in case.entries if e.type == "PersonalDataErased")
                return self._repeat(case_id, [done])[0]
            now = self.clock()
            holds = legal_holds(case.state, case.entries[-1].recorded_at, now, retention_days)
            data = {"request_reference": request_reference, "basis": basis}
            if holds:
                restriction = case.state.restriction
                if restriction and (restriction["request_reference"], restriction["holds"]) == (
                    request_reference,
                    holds,
                ):
                    event_id = restriction["event_id"]
                else:
                    new = NewEvent.parse("PersonalDataRestricted", now, {**data, "holds": holds})
                    self._append(case_id, [new], actor, None, correlation_id, None, None)
                    event_id = new.event_id
                raise LegalHold(
                    "a legal hold applies: nothing was erased; processing of the personal data "
                    f"is restricted instead ({', '.join(holds)})",
                    holds,
                    event_id,
                )
            new = NewEvent.parse("PersonalDataErased", now, data)
            [recorded] = self._append(case_id, [new], actor, None, correlation_id, None, None)
            self._vault.erase(case_id)
            return recorded

    def tampered_fields(self, case_id: UUID | None = None) -> list[Problem]:
        """The personal fields whose stored ciphertext fails authentication (altered, or moved
        from another case, event or field), or that no data key opens (its row removed), each
        with its case, version and event id: what a rehashed chain no longer shows. Needs the
        keys; fields of erased persons cannot be checked (there is no key left to check with)."""
        found: list[Problem] = []
        whole = self._whole_log()
        stored: Iterable[StoredEvent] = (
            whole if case_id is None else self._store.select_events(case_id)
        )
        for event in stored:
            try:
                payload = orjson.loads(event.state)
                data, event_id = payload["data"], str(payload["envelope"]["event_id"])
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue  # an unreadable payload: the chain check reports its hash
            if not isinstance(data, dict):
                continue
            cid = UUID(str(event.originator_id))
            for path in self._vault.check(cid, event_id, event.topic, data):
                found.append(
                    Problem(
                        "tampered_ciphertext",
                        f"personal field {path} fails authentication: altered or moved",
                        cid,
                        event.originator_version,
                        event_id,
                    )
                )
        return found

    def plaintext_personal_events(self) -> int:
        """How many stored events hold a personal field in plain (recorded before personal
        fields were encrypted): they stay so, since encrypting them in place would change the
        bytes their hashes cover (README, "Personal data": the verified-copy procedure)."""
        count = 0
        for event in self._whole_log():
            try:
                data = orjson.loads(event.state)["data"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue
            if isinstance(data, dict) and plain_paths(event.topic, data):
                count += 1
        return count

    def _whole_log(self, page: int = 5000) -> Iterator[StoredEvent]:
        position = 0
        while records := self._store.log_after(position, page):
            yield from records
            position = records[-1].id

    @property
    def _vault(self) -> PersonalData:
        if self.personal is None:
            raise KeyUnavailable("no key-encryption key is configured")
        return self.personal

    # --- reading ---------------------------------------------------------------------------

    def get_case(self, case_id: UUID, as_of: datetime | None = None) -> CaseRecord:
        """The case now, or as its record stood at ``as_of`` (events recorded up to then)."""
        case = self._load(case_id)
        if as_of is None:
            return CaseRecord(case_id, case.version, case.entries, case.state)
        entries = [e for e in case.entries if e.recorded_at <= as_of]
        if not entries:
            raise CaseNotFound(f"case {case_id} had no record at {as_of.isoformat()}")
        return CaseRecord(case_id, entries[-1].version, entries, derive(entries))

    def history(self, case_id: UUID) -> list[tuple[Entry, int | None]]:
        """Every event of the case in order, with its global position."""
        case = self._load(case_id)
        positions = self.positions(case_id)
        return [(e, positions.get(e.version)) for e in case.entries]

    def positions(self, case_id: UUID) -> dict[int, int]:
        """Version -> global position of each event of the case that has one."""
        return {v: s.position for v, s in self.seals(case_id).items() if s.position is not None}

    def seals(self, case_id: UUID) -> dict[int, Seal]:
        """Version -> global position and integrity hash of each event of the case."""
        return self._store.seals(case_id)

    def case_entries(self, case_id: UUID, version: int) -> list[Entry]:
        """The case's entries up to ``version``, read from the store (no cache)."""
        return [self._entry(s) for s in self._store.select_events(case_id, lte=version)]

    # --- the global log ----------------------------------------------------------------------

    def head(self) -> int:
        """The last position of the global log (0 when it is empty)."""
        return self._store.head()

    def log_after(self, position: int, limit: int, types: Sequence[str] = ()) -> list[Logged]:
        """The global log after ``position``, in order: at most ``limit`` events, of these
        types only if any are given. Gap-safe: no event ever appears later before the last
        one returned, so a reader that continues from there misses nothing."""
        return [self._logged(r) for r in self._store.log_after(position, limit, types)]

    def case_ids_upto(self, position: int) -> list[UUID]:
        """Every case with an event at a position up to ``position``, in id order."""
        return self._store.case_ids_upto(position)

    def cases_upto(self, case_ids: Sequence[UUID], position: int) -> list[Logged]:
        """The events of these cases up to log position ``position``, by case then version."""
        return [self._logged(r) for r in self._store.cases_upto(case_ids, position)]

    @property
    def log_channel(self) -> str | None:
        """The ``LISTEN`` channel notified when the log grows (PostgreSQL), else None."""
        return self._store.log_channel

    # --- the store's integrity and roles -----------------------------------------------------

    def verify(
        self,
        case_id: UUID | None = None,
        progress: Progress | None = None,
        checkpoints: Sequence[str] = (),
        log_key: tlog.Verifier | None = None,
    ) -> VerificationReport:
        """Recompute every stored hash and check each chain and the global log; one case only
        if ``case_id`` is given (``CaseNotFound`` if the store holds nothing of it). With the
        keys, also authenticate every stored personal field (``tampered_fields``).
        ``progress`` is called now and then with the number of events checked.

        Then against checkpoints: those given (notes kept outside the database: a witness's,
        an inspector's) and the latest the store holds, each signed by ``log_key`` if given.
        The whole store: the log's first ``size`` entries must still make each checkpoint's
        root and case-heads root (a truncated or rewritten log does not). One case: each of
        its entries up to the latest checkpoint must be in that checkpoint's tree, and its
        last version there must be the one the checkpoint's case-heads root names."""
        report = VerificationReport()
        signed: list[tlog.Checkpoint] = []
        stored = self._store.checkpoint()
        for text in [*checkpoints, *([stored.note] if stored else [])]:
            try:
                note = tlog.Note.parse(text)
                if log_key is not None and not note.signed_by(log_key):
                    raise tlog.NoteError(f"not signed by the log key {log_key.vkey}")
                signed.append(tlog.Checkpoint.parse(note.text))
            except tlog.NoteError as e:
                report.add(Problem("checkpoint_unreadable", f"a checkpoint given: {e}"))
        sizes = [c.size for c in signed] if case_id is None else []
        checked = self._store.verify(case_id, progress, tree_sizes=sizes)
        checked.problems[:0] = report.problems
        checked.problem_count += report.problem_count
        report = checked
        if case_id is not None and report.events == 0 and report.ok:
            raise CaseNotFound(f"no case {case_id}")
        if case_id is None:
            for checkpoint in signed:
                _check_checkpoint(report, checkpoint)
        elif signed:
            self._check_case_against(report, case_id, max(signed, key=lambda c: c.size))
        if self.personal is not None:
            for problem in self.tampered_fields(case_id):
                report.add(problem)
        return report

    def _check_case_against(
        self, report: VerificationReport, case_id: UUID, checkpoint: tlog.Checkpoint
    ) -> None:
        size = checkpoint.size
        if size > self.head():
            report.add(
                Problem(
                    "checkpoint_ahead",
                    f"the checkpoint at tree size {size} is ahead of the log ({self.head()} "
                    "entries): entries were removed",
                    case_id,
                )
            )
            return
        entries = self._store.log_entries(case_id, size)
        for entry in entries:
            leaf = tlog.leaf_hash(entry.encode())
            proof = tlog.proof_hashes(
                tlog.inclusion_ranges(entry.position - 1, size), self._store.tree_nodes
            )
            try:
                tlog.verify_inclusion(entry.position - 1, size, leaf, proof, checkpoint.root)
            except tlog.ProofError:
                report.add(
                    Problem(
                        "not_in_checkpoint",
                        f"this entry is not in the tree the checkpoint at {size} signed: the "
                        "log was rewritten",
                        case_id,
                        entry.version,
                        entry.event_id,
                        entry.position,
                    )
                )
        if checkpoint.heads_root is None or not entries:
            return
        last = entries[-1]
        if tlog.tree_root(_head_leaves(self._store.case_heads(size))) != checkpoint.heads_root:
            report.add(
                Problem(
                    "case_head_mismatch",
                    f"the cases' last versions at tree size {size} are not those the checkpoint "
                    f"committed to (this case's is now version {last.version}): events were "
                    "removed or added since",
                    case_id,
                    last.version,
                    last.event_id,
                )
            )
        else:
            report.checkpoints.append(f"case complete at the checkpoint of tree size {size}")

    # --- the log's tree, checkpoints and proofs (domain/tlog.py) ------------------------------

    def tree_head(self, size: int) -> TreeHead:
        """The root of the log's first ``size`` entries, from the stored tree, and the
        case-heads tree at that size."""
        self._check_size(size, "tree_size")
        root = tlog.root_of_size(size, self._store.tree_nodes) if size else tlog.EMPTY_ROOT
        leaves = _head_leaves(self._store.case_heads(size))
        return TreeHead(size, root, len(leaves), tlog.tree_root(leaves))

    def inclusion_proof(self, position: int, tree_size: int) -> tuple[bytes, list[bytes]]:
        """The leaf hash of the log entry at ``position`` and its RFC 9162 inclusion proof in
        the tree of ``tree_size`` entries."""
        self._check_size(tree_size, "tree_size")
        if not 1 <= position <= tree_size:
            raise OutsideTheLog(
                f"position {position} is not in a tree of {tree_size} entries", field="position"
            )
        index = position - 1
        [leaf] = self._store.tree_nodes([(0, index)]).values()
        ranges = tlog.inclusion_ranges(index, tree_size)
        return leaf, tlog.proof_hashes(ranges, self._store.tree_nodes)

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """The RFC 9162 consistency proof from the tree of ``size1`` entries to ``size2``."""
        self._check_size(size2, "to")
        if not 1 <= size1 <= size2:
            raise OutsideTheLog(f"no consistency proof from {size1} to {size2}", field="from")
        if size1 == size2:
            return []
        return tlog.proof_hashes(tlog.consistency_ranges(size1, size2), self._store.tree_nodes)

    def sign_checkpoint(self, signer: tlog.Signer) -> StoredCheckpoint:
        """Sign a checkpoint of the log as it stands (C2SP tlog-checkpoint, origin = the key's
        name, with the case-heads extension line) and store it; the stored one if the log has
        not grown since."""
        size = self.head()
        stored = self._store.checkpoint(size)
        if stored is not None:
            return stored
        head = self.tree_head(size)
        text = tlog.Checkpoint(signer.name, size, head.root, head.heads, head.heads_root).text
        self._store.add_checkpoint(size, text + "\n" + signer.signature_line(text))
        found = self._store.checkpoint(size)
        assert found is not None
        return found

    def checkpoint(self, size: int | None = None) -> StoredCheckpoint:
        """The stored checkpoint of ``size`` or the latest, with its cosignatures."""
        found = self._store.checkpoint(size)
        if found is None:
            raise OutsideTheLog(
                "no checkpoint has been signed yet" if size is None else f"no checkpoint at {size}",
                field="size" if size is not None else None,
            )
        return found

    def add_cosignatures(self, size: int, lines: Mapping[str, str]) -> None:
        """Keep witnesses' cosignature lines of the checkpoint of ``size``, by witness."""
        self._store.add_cosignatures(size, lines)

    def evidence(
        self, case_id: UUID, checkpoint: StoredCheckpoint, since: int | None = None
    ) -> bytes:
        """A case's evidence bundle against ``checkpoint`` (``domain/evidence.py``)."""
        rows = [
            r
            for r in self._store.stored_rows(case_id)
            if r.position and r.position <= checkpoint.size
        ]
        if not rows:
            raise CaseNotFound(
                f"no event of case {case_id} is in the checkpoint at {checkpoint.size}"
            )
        return build_bundle(self, case_id, rows, checkpoint, since)

    def log_entries(self, case_id: UUID, upto: int) -> list[tlog.LogEntry]:
        return self._store.log_entries(case_id, upto)

    def case_head_proof(self, case_id: UUID, size: int) -> tuple[int, int, list[bytes]]:
        """Where a case's head stands in the case-heads tree at ``size``: its index, the
        number of leaves, and the inclusion proof."""
        heads = self._store.case_heads(size)
        index = next(i for i, h in enumerate(heads) if h[0] == case_id)
        leaves = _head_leaves(heads)
        return index, len(leaves), tlog.memory_proof(leaves, index)

    def _check_size(self, size: int, name: str) -> None:
        head = self.head()
        if not 0 <= size <= head:
            raise OutsideTheLog(f"the log holds {head} entries, not {size}", field=name)

    def record_access(self, *entries: AccessEntry) -> list[AccessRecord]:
        """Append to the access log (chained, all or none); raises if the store cannot.
        Concurrent callers share a transaction (``GroupCommit``)."""
        return self._access.append(entries)

    def access_entries(
        self,
        *,
        case_id: UUID | None = None,
        actor_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: Sequence[str] = (),
        after: int = 0,
        limit: int = 100,
    ) -> list[AccessRecord]:
        """The access log after ``after``, in order, filtered (see ``Store.access_entries``)."""
        return self._store.access_entries(
            case_id=case_id,
            actor_id=actor_id,
            since=since,
            until=until,
            kinds=kinds,
            after=after,
            limit=limit,
        )

    def grant_writer(self, role: str, password: str | None = None) -> None:
        """Let a database role (created if missing) record and read, and nothing more."""
        self._store.grant_writer(role, password)

    def grant_runner(self, role: str, password: str | None = None) -> None:
        """Let a database role (created if missing) read the store, and nothing more of it:
        the projection runner's, which owns the read models."""
        self._store.grant_runner(role, password)

    def analyze(self) -> None:
        """Refresh the database's statistics before a long scan of the log."""
        self._store.analyze()

    # --- helpers ---------------------------------------------------------------------------

    def _entry(self, stored: StoredEvent) -> Entry:
        """A stored event as its entry, through the mapper (and its upcasting)."""
        return cast(Case.Event, self.mapper.to_domain_event(stored)).entry()

    def _logged(self, record: LogRecord) -> Logged:
        return Logged(record.id, self._entry(record), record.hash)

    def _case_to_write(self, case_id: UUID) -> tuple[Case, bool]:
        """A copy of the case to record on, and whether it is the one this process last saved.

        That copy is used without reading the store: if another process has appended since,
        the save loses on the store's ``(case, version)`` key and the append starts again from
        the store, and a refusal judged on it is judged again on the store's case. Writers to
        one case in this process queue on its lock, so nobody else here can have overtaken it.
        """
        if self._saved is not None:
            try:
                return deepcopy(self._saved.get(case_id)), True
            except KeyError:
                pass
        return self._load(case_id), False

    def _remember(self, case: Case) -> None:
        if self._saved is not None:
            self._saved.put(case.id, case)

    def _forget(self, case_id: UUID) -> None:
        if self._saved is not None:
            with contextlib.suppress(KeyError):
                self._saved.get(case_id, evict=True)

    def _load(self, case_id: UUID) -> Case:
        try:
            return self.repository.get(case_id, projector_func=_replay)
        except AggregateNotFoundError:
            raise CaseNotFound(f"no case {case_id}") from None

    def _count(self, events: int) -> None:
        with self._counted:
            self.recorded_events += events

    def _lock(self, case_id: UUID) -> threading.Lock:
        return self._case_locks[case_id.int % LOCK_STRIPES]

    @property
    def _store(self) -> Store:
        """The recorder, as the ``Store`` it is (``infra/recorders``)."""
        return cast(Store, self.recorder)

    def _check_ids_unused_elsewhere(self, case_id: UUID, events: Sequence[NewEvent]) -> None:
        """After a lost write: was it an event id already used in another case?"""
        located = self._store.locate([e.event_id for e in events])
        for i, new in enumerate(events):
            if new.event_id in located and located[new.event_id][0] != case_id:
                raise EventIdReused(
                    "event_id is already used for an event of another case",
                    field="event_id" if len(events) == 1 else f"events.{i}.event_id",
                )

    def _repeat(self, case_id: UUID, entries: list[Entry]) -> list[Recorded]:
        positions = self.positions(case_id)
        return [
            Recorded(case_id, e.version, e.event_id, positions.get(e.version), False)
            for e in entries
        ]

    def _repeated(self, case: Case, events: Sequence[NewEvent]) -> list[Entry]:
        """Entries already recorded under these event ids; a partial or altered repeat is 409."""
        found = [(new, case.entry_by_id(new.event_id)) for new in events]
        if all(entry is None for _, entry in found):
            return []
        for i, (new, entry) in enumerate(found):
            if entry is None or not case.is_repeat_of(new, entry, self.clock()):
                loc = "event_id" if len(events) == 1 else f"events.{i}.event_id"
                raise EventIdReused(
                    "event_id already names an event with different content"
                    if entry
                    else "part of this batch was already recorded, part was not",
                    field=loc,
                )
        return [entry for _, entry in found if entry is not None]


def _replay(case: Case | None, events: Iterable[Case.Event]) -> Case | None:
    """The library's projector minus its per-event runtime ``Protocol`` check, which costs a
    large part of a case load (``bench/README.md``)."""
    for event in events:
        case = event.mutate(case)
    return case


def in_batch(error: CaseLedgerError, index: int) -> CaseLedgerError:
    """Name the batch item a refusal is about: ``data.x`` becomes ``events.2.data.x``."""
    if isinstance(error, InvalidEvent):
        error.errors = [FieldError(("events", index, *e.loc), e.msg, e.type) for e in error.errors]
    error.field = f"events.{index}.{error.field}" if error.field else f"events.{index}"
    return error


def _check_ids_distinct(events: Sequence[NewEvent]) -> None:
    seen: set[str] = set()
    for i, new in enumerate(events):
        if new.event_id in seen:
            raise InvalidEvent(
                "an event id appears twice in one batch",
                [
                    FieldError(
                        ("events", i, "event_id"), "duplicate of an earlier event in the batch"
                    )
                ],
            )
        seen.add(new.event_id)


def _back_off(attempt: int) -> None:
    """Jittered exponential pause after a lost race, so hot cases do not livelock."""
    time.sleep(random.uniform(0, 0.001 * 2 ** min(attempt, 7)))


def _check_checkpoint(report: VerificationReport, checkpoint: tlog.Checkpoint) -> None:
    """The whole log against one checkpoint: its first ``size`` entries must make the root
    and case-heads root it signed."""
    tree = report.tree
    held = tree.size if tree is not None else 0
    at = report.tree_heads.get(checkpoint.size)
    if checkpoint.size > held:
        report.add(
            Problem(
                "checkpoint_ahead",
                f"a checkpoint was signed at tree size {checkpoint.size} but the log holds "
                f"{held} entries: entries were removed (the log truncated or rewritten)",
            )
        )
    elif checkpoint.size == 0:
        report.checkpoints.append("consistent with the checkpoint at tree size 0")
    elif at is None:
        report.add(
            Problem(
                "checkpoint_unchecked",
                f"the checkpoint at tree size {checkpoint.size} could not be checked: the log "
                "has a gap before it",
            )
        )
    elif at.root != checkpoint.root:
        report.add(
            Problem(
                "checkpoint_mismatch",
                f"the log's first {checkpoint.size} entries no longer make the root the "
                "checkpoint signed: the log was rewritten",
                position=checkpoint.size,
            )
        )
    elif checkpoint.heads_root is not None and at.heads_root != checkpoint.heads_root:
        report.add(
            Problem(
                "checkpoint_mismatch",
                f"the cases' last versions at tree size {checkpoint.size} are not those the "
                "checkpoint committed to",
                position=checkpoint.size,
            )
        )
    else:
        report.checkpoints.append(f"consistent with the checkpoint at tree size {checkpoint.size}")


def _head_leaves(heads: Iterable[tuple[UUID, int, bytes]]) -> list[bytes]:
    """The leaves of the case-heads tree (``domain.tlog.head_entry``), in the order given."""
    return [tlog.leaf_hash(tlog.head_entry(*h)) for h in heads]
