"""Our recorders: the audit-grade event store on SQLite (``sqlite.py``) and PostgreSQL
(``postgres.py``).

Both subclass the library's application recorders, so ``Application``/``Aggregate`` work as
usual, and store the same things:

- **the events table** (``caseledger_events``): the envelope as columns beside the serialized
  payload — event id (unique: a retried append can never write twice, even from two
  processes), case id, version (``(case, version)`` is the key that decides races), type,
  schema version, occurred_at, recorded_at, actor — and the integrity hash, chained per case
  (``domain/integrity.py``, whose ``EventColumns`` is the one list of these columns: both
  recorders make their column lists from it). Indexed by event id, by case, and by time.
  Append-only: triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL); in production the
  application's role has only SELECT, and INSERT of the event's own columns (``caseledger
  migrate --grant-to ROLE``).
- **the global log** (``caseledger_log``): ``position -> event`` (and the event's hash, chained
  into a log hash), positions 1, 2, 3, … without a gap, totally ordered and gap-safe: a reader
  that has passed a position never later finds a newly committed event before it. Also
  append-only; on PostgreSQL only the sequencer function writes it.

How positions are assigned differs:

- **SQLite** has one writer at a time (``BEGIN IMMEDIATE``). The writer appends to the log in the
  same transaction as the events, so positions follow commit order.
- **PostgreSQL** writers do not share a lock: appends to different cases run in parallel and
  commit in any order. Positions are assigned *after* commit by a sequencer pass
  (``_sequence``), using transaction-id visibility: each event row stores the id of the
  transaction that wrote it (``tx_id``: ``pg_current_xact_id()``, plus ``tx_offset``, see
  below; a column default the writer cannot override). Every transaction whose id is
  below ``pg_snapshot_xmin(pg_current_snapshot())`` has finished, so the rows written by such
  transactions are final: no row with a lower ``tx_id`` can appear later. A pass takes the rows
  after the last one sequenced, in ``(tx_id, row_id)`` order, up to that horizon, and appends them
  to the log with the next positions. Passes run one at a time (a transaction-scoped advisory
  lock, held only by passes, never by writers); a pass becomes visible before the lock is
  released, so the next pass sees it and continues from its last position, and a reader sees
  positions only once committed, in order, without holes. A single-event append is one call of
  a procedure that inserts, commits and then runs a pass unless one is already running; when
  that did not give the event its position (another pass was running, or an older transaction
  was still open), or for a batch, the writer waits for the process's ``GroupSequencer``, whose
  one thread runs passes for all waiting writers. Reads of the log run a pass too (at most every
  ``SWEEP_SECONDS``), so an event whose writer died after commit is sequenced all the same. A
  pass notifies the ``LISTEN`` channel when it adds positions. An event is held back while any
  transaction older than its own is still open (the ``GroupSequencer`` logs which); its
  ``position`` in the append's answer is ``None`` if that lasted longer than
  ``POSITION_WAIT_SECONDS`` (it appears in the history once assigned).

  Why a pass may commit asynchronously: events commit synchronously before anyone can see them,
  and a pass takes the durable rows in ``(tx_id, row_id)`` order from the last durable
  position, so if the server crashes before a pass reaches disk, the next pass gives the very
  same positions to the very same events. Passes need READ COMMITTED (each statement its own
  snapshot, taken after the lock); the function refuses to run otherwise. Transaction ids are
  only comparable within one cluster: after a logical restore into another cluster,
  ``caseledger migrate`` offsets new ids past the stored ones (``tx_offset``); until it has,
  inserts are refused (their ids would sort before the log's head and never be sequenced).
"""

from domain.store import Store
from infra.recorders.common import CaseStoredEvent
from infra.recorders.postgres import PostgresCaseRecorder
from infra.recorders.sqlite import SQLiteCaseRecorder

__all__ = ["CaseStoredEvent", "PostgresCaseRecorder", "SQLiteCaseRecorder"]


def _both_are_stores(sqlite: SQLiteCaseRecorder, postgres: PostgresCaseRecorder) -> list[Store]:
    """Never called: here mypy checks that both recorders implement ``domain.store.Store``."""
    return [sqlite, postgres]
