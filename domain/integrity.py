"""Integrity of the stored record: the per-case hash chain and its verification.

Each stored event carries ``hash = SHA-256(previous hash || canonical bytes)``, where the previous
hash is that of the event before it in the same case (``GENESIS`` for version 1) and the canonical
bytes are every envelope column and the payload exactly as stored (if payloads are ever encrypted,
the ciphertext), each length-prefixed so that no two different rows share an encoding::

    b"caseledger/1" | event_id | case_id | version | type | schema_version
                    | occurred_at | recorded_at | actor | payload

Timestamps are UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ``; ``actor`` is the stored JSON text.

The global log is chained too: the entry at position ``p`` seals the event's hash,
``log_hash = SHA-256(previous log_hash || p as 8 bytes big-endian || event hash)``, from the
same genesis value.

``verify`` recomputes every event hash from the stored bytes, checks each case's versions run
1..n without a gap and that each link holds, and checks the log: positions 1..N without a gap,
each entry chaining from the one before, naming an event that still exists with the hash the
log sealed; and that no event is missing from the log once every older transaction has ended.
An attacker with the database owner's rights who alters, removes, swaps or reorders rows without
recomputing the chains is found and located. One who recomputes every later hash of a case *and*
of the log is not, from inside the database: keep the head that ``verify`` prints (the last
position and its log hash) outside it, e.g. in each inspection report; a later verify whose log
no longer leads to that head at that position shows the record was rewritten.

The access log (``domain/access.py``) is a chain of its own: ``verify_access`` checks that its
positions run 1..N without a gap, that each stored hash is ``access_hash`` of the hash before it
and of the entry rebuilt from its stored columns, and that the store's case index names the
entry's cases. Removing the *last* entries leaves a shorter chain that still verifies: that is
found only against a head kept outside the database, as for the global log.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from itertools import groupby
from operator import attrgetter
from uuid import UUID

from domain.access import ACCESS_GENESIS, AccessEntry, access_hash
from domain.tlog import (
    EPOCH,
    GENESIS,
    Frontier,
    canonical_event,
    chain_hash,
    head_entry,
    leaf_hash,
    log_entry,
    tree_root,
)

MAX_PROBLEMS = 100


def utc_text(moment: datetime) -> str:
    """A timestamp as the canonical bytes (and SQLite's columns) hold it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class EventColumns:
    """The columns of one stored event that its hash covers, as stored, in canonical order.

    The one list of them: both stores build their column lists from ``HASHED_COLUMNS`` /
    ``STORED_COLUMNS`` (taken from these fields), so adding, removing or reordering a field here
    changes the canonical bytes, hence every hash: existing stores would no longer verify.
    """

    event_id: str
    case_id: UUID
    version: int
    type: str
    schema_version: int
    occurred_at: str  # utc_text
    recorded_at: str  # utc_text
    actor: str  # JSON text
    payload: bytes

    def canonical(self) -> bytes:
        return canonical_bytes(self)


HASHED_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(EventColumns))
STORED_COLUMNS: tuple[str, ...] = (*HASHED_COLUMNS, "hash")
"""The events table's columns a writer sets: those the hash covers, then the hash."""

hashed_values: Callable[[EventColumns], tuple[object, ...]] = attrgetter(*HASHED_COLUMNS)
"""An event's values of ``HASHED_COLUMNS``, in order."""


def canonical_bytes(event: EventColumns) -> bytes:
    """``domain.tlog.canonical_event`` of the event's ``HASHED_COLUMNS``, in order: each
    prefixed by its length, the payload as is, every other value as the UTF-8 of its text (the
    case id, version and schema version included). The offline verifier computes the same."""
    return canonical_event(hashed_values(event))


def log_hash(previous: bytes, position: int, event_hash: bytes) -> bytes:
    return hashlib.sha256(previous + position.to_bytes(8, "big", signed=True) + event_hash).digest()


@dataclass(frozen=True)
class StoredRow(EventColumns):
    """One row of the events table, as stored (``STORED_COLUMNS``), with its global position if
    it has one."""

    hash: bytes
    position: int | None = None
    unsequenced: bool = False  # no position although every older transaction has ended


@dataclass(frozen=True)
class LogRow:
    """One entry of the global log, and what the events table holds for the event it names."""

    position: int
    event_id: str
    case_id: UUID
    version: int
    event_hash: bytes  # as the log sealed it
    log_hash: bytes
    current_hash: bytes | None  # the events table's hash of that event; None if it is gone
    logged_at: datetime | None = None  # the database's time of sequencing (None: before kept)

    def entry(self) -> bytes:
        """The entry's canonical bytes, the leaf of the log's tree (``domain.tlog.log_entry``;
        an entry logged before log times were kept has the time 0, 1970-01-01)."""
        return log_entry(
            self.position,
            self.case_id,
            self.version,
            self.event_hash,
            self.logged_at or EPOCH,
            self.event_id,
        )


@dataclass(frozen=True)
class Problem:
    """A broken link: where (case, version, event id, position) and what is wrong."""

    kind: str
    detail: str
    case_id: UUID | None = None
    version: int | None = None
    event_id: str | None = None
    position: int | None = None

    def describe(self) -> str:
        where = ", ".join(
            f"{name} {value}"
            for name, value in (
                ("case", self.case_id),
                ("version", self.version),
                ("event", self.event_id),
                ("position", self.position),
            )
            if value is not None
        )
        return f"{where}: {self.detail}" if where else self.detail


@dataclass
class VerificationReport:
    events: int = 0
    cases: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    head_position: int | None = None
    head_hash: str | None = None
    access_entries: int = 0
    access_checked: bool = False  # the access log was verified (the whole store only)
    tree: TreeHead | None = None  # the log's tree as rebuilt (the whole store only)
    tree_heads: dict[int, TreeHead] = field(default_factory=dict)  # at the sizes asked
    checkpoints: list[str] = field(default_factory=list)  # what each checkpoint check proved

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def first_broken(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def summary(self) -> str:
        if self.ok:
            head = (
                f"; log head position {self.head_position} hash {self.head_hash}"
                if self.head_position is not None
                else ""
            )
            tree = (
                f"; tree root {base64.b64encode(self.tree.root).decode()} at size {self.tree.size}"
                if self.tree is not None and self.tree.size
                else ""
            )
            signed = "".join(f"; {c}" for c in self.checkpoints)
            return (
                f"verified {self.events} events in {self.cases} cases{head}{tree}{signed}"
                f"{self._access}"
            )
        first = self.first_broken
        assert first is not None
        return (
            f"BROKEN: {self.problem_count} problem(s) in {self.events} events of {self.cases} "
            f"cases; first broken link: {first.kind} at {first.describe()}{self._access}"
        )

    @property
    def _access(self) -> str:
        return f"; access log: {self.access_entries} entries" if self.access_checked else ""

    def add(self, problem: Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)


Progress = Callable[[int], None]
"""Called now and then with how many events have been checked so far."""

PROGRESS_EVERY = 2000


@dataclass(frozen=True)
class LogSpan:
    """The global log from one case's first entry to the head: which positions it should hold
    (``first`` to ``last``) and how many it does (``count``)."""

    case_id: UUID
    first: int
    last: int
    count: int

    def problem(self) -> Problem | None:
        """Entries removed anywhere after the case's first one: perhaps this case's last ones
        (an owner deleting a case's tail with its log entries leaves a chain that still holds
        on its own), perhaps another case's; the whole-store verification locates them."""
        missing = self.last - self.first + 1 - self.count
        if missing == 0:
            return None
        return Problem(
            "log_gap",
            f"the global log lacks {missing} of the positions {self.first} (this case's first "
            f"entry) to {self.last} (the head): entries were removed, perhaps this case's last "
            "ones; the whole-store verification locates them",
            self.case_id,
        )


StoredNode = tuple[int, int, bytes]
"""A stored subtree hash of the log's tree: (level, idx, hash)."""


@dataclass(frozen=True)
class TreeHead:
    """What the log's entries make at one tree size: the tree's root, and the case-heads
    tree (each case's last version and hash, by case id: ``domain.tlog.head_entry``)."""

    size: int
    root: bytes
    heads: int
    heads_root: bytes


class TreeCheck:
    """The log's Merkle tree rebuilt from its entries as verification reads them, in position
    order (``observe``), compared with the stored subtree hashes (``stored``, in the order a
    tree built leaf by leaf completes them), noting the heads at the ``sizes`` asked (those
    of checkpoints to check). The first node that differs is reported; after it the stored
    tree is not compared further (one removed node shifts all the rest)."""

    def __init__(self, stored: Iterator[StoredNode], sizes: Iterable[int] = ()) -> None:
        self.frontier = Frontier(0, [])
        self.stored = stored
        self.sizes = set(sizes)
        self.heads: dict[UUID, tuple[int, bytes]] = {}
        self.at: dict[int, TreeHead] = {}
        self.problem: Problem | None = None
        self.gap = False

    def observe(self, entry: LogRow) -> None:
        if self.gap or self.frontier.size + 1 != entry.position:
            self.gap = True  # the log check reports it; the tree cannot be rebuilt past it
            return
        for level, idx, digest in self.frontier.append(leaf_hash(entry.entry())):
            found = next(self.stored, None) if self.problem is None else None
            if self.problem is None and (found is None or found != (level, idx, digest)):
                self.problem = Problem(
                    "tree_mismatch",
                    f"the stored tree's node (level {level}, index {idx}) "
                    + ("is missing" if found is None else "differs from the log's entries")
                    + ": the log or its tree was altered since sequenced",
                    entry.case_id,
                    entry.version,
                    entry.event_id,
                    entry.position,
                )
        if self.sizes:
            self.heads[entry.case_id] = (entry.version, entry.event_hash)
            if entry.position in self.sizes:
                self.at[entry.position] = self.head()

    def head(self) -> TreeHead:
        leaves = [
            leaf_hash(head_entry(case_id, *self.heads[case_id]))
            for case_id in sorted(self.heads, key=lambda c: c.bytes)
        ]
        return TreeHead(self.frontier.size, self.frontier.root(), len(leaves), tree_root(leaves))

    def finish(self) -> Problem | None:
        """The first difference, or stored nodes beyond the log's entries (unless a gap in the
        log stopped the rebuild: that is reported as the gap)."""
        if self.problem is None and not self.gap and next(self.stored, None) is not None:
            self.problem = Problem(
                "tree_mismatch",
                f"the stored tree holds nodes beyond the log's {self.frontier.size} entries",
            )
        return self.problem


def verify(
    events: Iterable[StoredRow],
    log: Iterable[LogRow],
    *,
    whole_log: bool,
    progress: Progress | None = None,
    span: LogSpan | None = None,
    tree: TreeCheck | None = None,
) -> VerificationReport:
    """Check every stored event against its hash and its case's chain, and the log against them.

    ``events`` must come ordered by case then version, ``log`` by position. With
    ``whole_log`` the log must hold positions 1..N without a gap and chain from genesis (false
    when only one case's entries are checked: then ``span`` says whether the log still holds
    every position from the case's first entry to the head). ``tree`` (the whole log only)
    rebuilds the log's Merkle tree from the entries and compares it with the stored one.
    Problems are reported in log order, so the first broken link is the earliest in recording
    order.
    """
    report = VerificationReport()
    log_problems: list[Problem] = []
    gap = span.problem() if span is not None else None
    if gap is not None:
        log_problems.append(gap)
    previous, expected_position = GENESIS, 1
    for entry in log:
        where = (entry.case_id, entry.version, entry.event_id, entry.position)
        if whole_log:
            if entry.position != expected_position:
                log_problems.append(
                    Problem(
                        "log_gap",
                        f"the global log skips from position {expected_position - 1} to "
                        f"{entry.position}: entries were removed",
                        position=expected_position,
                    )
                )  # the entry after a gap cannot chain: the gap says why
            elif log_hash(previous, entry.position, entry.event_hash) != entry.log_hash:
                log_problems.append(
                    Problem(
                        "log_hash_mismatch",
                        "this log entry does not chain from the one before it (altered, "
                        "reordered or rewritten since sequenced)",
                        *where,
                    )
                )
            previous, expected_position = entry.log_hash, entry.position + 1
            report.head_position, report.head_hash = entry.position, entry.log_hash.hex()
            if tree is not None:
                tree.observe(entry)
        if entry.current_hash is None:
            log_problems.append(
                Problem(
                    "event_missing",
                    "the global log names this event but the events table no longer holds it",
                    *where,
                )
            )
        elif entry.current_hash != entry.event_hash:
            log_problems.append(
                Problem(
                    "event_replaced",
                    "the event's hash differs from the one the log sealed (rewritten since it "
                    "was sequenced)",
                    *where,
                )
            )

    if tree is not None:
        tree_problem = tree.finish()
        if tree_problem is not None:
            log_problems.append(tree_problem)
        report.tree = tree.head()
        report.tree_heads = dict(tree.at)
    removed: dict[tuple[UUID | None, int | None], str | None] = {
        (p.case_id, p.version): p.event_id for p in log_problems if p.case_id
    }
    case_problems: list[Problem] = []
    if progress is not None:
        events = _reporting(events, progress)
    for case_id, rows in groupby(events, key=lambda r: r.case_id):
        report.cases += 1
        case_problems.extend(_check_case(case_id, rows, report, removed))
    for problem in sorted(case_problems + log_problems, key=_location):
        report.add(problem)
    return report


def _reporting(events: Iterable[StoredRow], progress: Progress) -> Iterator[StoredRow]:
    count = 0
    for count, row in enumerate(events, 1):
        if count % PROGRESS_EVERY == 0:
            progress(count)
        yield row
    progress(count)


def _check_case(
    case_id: UUID,
    rows: Iterator[StoredRow],
    report: VerificationReport,
    removed: dict[tuple[UUID | None, int | None], str | None],
) -> Iterator[Problem]:
    previous = GENESIS
    expected_version = 1
    for row in rows:
        report.events += 1
        if row.version != expected_version:
            yield Problem(
                "version_gap",
                f"versions jump from {expected_version - 1} to {row.version}: "
                f"{row.version - expected_version} event(s) removed",
                case_id,
                expected_version,
                removed.get((case_id, expected_version)),
            )
        recomputed = chain_hash(previous, row.canonical())
        if recomputed != row.hash:
            yield Problem(
                "hash_mismatch",
                "the stored bytes do not hash to the stored hash (altered, removed or moved "
                "since recorded)",
                case_id,
                row.version,
                row.event_id,
                row.position,
            )
        if row.unsequenced:
            yield Problem(
                "not_in_log",
                "this event has no position in the global log although every transaction "
                "before it has ended",
                case_id,
                row.version,
                row.event_id,
            )
        previous = row.hash
        expected_version = row.version + 1


def _location(problem: Problem) -> tuple[float, str, int]:
    """Problems in recording order (log position); those without a position after, by case."""
    position = math.inf if problem.position is None else problem.position
    return (position, str(problem.case_id or ""), problem.version or 0)


@dataclass(frozen=True)
class AccessRow:
    """One entry of the access log as verification reads it: its position and stored hash, the
    entry rebuilt from its stored columns (None, with the reason, if they no longer make one),
    and the case ids the store's case index holds for its position."""

    position: int
    hash: bytes
    entry: AccessEntry | None
    indexed: frozenset[UUID] = frozenset()
    unreadable: str = ""


def verify_access(rows: Iterable[AccessRow], report: VerificationReport) -> None:
    """Check the whole access log, ``rows`` in position order, into ``report``: positions
    1..N without a gap, each hash chained from the one before (``ACCESS_GENESIS`` for the
    first) over the entry as stored, and the case index naming exactly the entry's cases.

    An entry after a gap is not checked against the one before it (the gap says why it cannot
    chain); its own hash becomes the next entry's previous. Removing the last entries leaves
    no gap and no broken link: only a head kept outside the database shows it."""
    report.access_checked = True
    previous, expected = ACCESS_GENESIS, 1
    for row in rows:
        report.access_entries += 1
        if row.position != expected:
            report.add(
                Problem(
                    "access_gap",
                    f"the access log skips from position {expected - 1} to {row.position}: "
                    "entries were removed",
                    position=expected,
                )
            )
        elif row.entry is None:
            report.add(
                Problem(
                    "access_unreadable",
                    f"this access log entry's columns no longer make an entry ({row.unreadable})",
                    position=row.position,
                )
            )
        elif access_hash(previous, row.position, row.entry) != row.hash:
            report.add(
                Problem(
                    "access_hash_mismatch",
                    "this access log entry does not hash to its stored hash from the one before "
                    "it (altered, reordered or rewritten since recorded)",
                    position=row.position,
                )
            )
        if row.entry is not None and frozenset(row.entry.case_ids) != row.indexed:
            report.add(
                Problem(
                    "access_index_mismatch",
                    "the access log's case index does not name this entry's cases (an entry "
                    "hidden from, or planted in, a case's access history)",
                    position=row.position,
                )
            )
        previous, expected = row.hash, row.position + 1
