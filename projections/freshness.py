"""How fresh the read models are: read-your-writes waits and each read model's lag."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from domain.application import CaseLedger
from projections.db import ViewDatabase, views_channel
from projections.generations import Generation, active_generations, failing_cases
from projections.notices import Notices

POLL_SECONDS = 0.02
"""How often a wait looks at the positions when nothing is announced (SQLite)."""

LISTENING_SECONDS = 1.0
"""The longest wait for an announcement before looking again, should a runner that does not
announce (an older version, during an upgrade) move the positions."""


def wait_for(
    db: ViewDatabase, notices: Notices, names: Iterable[str], position: int, timeout: float
) -> bool:
    """Wait until every named read model has passed ``position``; False on timeout. It wakes
    when a runner announces a move (``Notices``; polling on SQLite)."""
    names = set(names)
    channel = views_channel(db.settings)
    deadline = time.monotonic() + timeout
    while True:
        mark = notices.mark(channel)
        reached = {g.name for g in active_generations(db) if g.position >= position}
        if names <= reached:
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        notices.wait(channel, mark, min(left, LISTENING_SECONDS), POLL_SECONDS)


def failing(db: ViewDatabase, generation: Generation, limit: int = 5) -> dict[str, Any]:
    """How many cases a read model could not lay out, and the latest few: case, version,
    the event its judgement stopped at, the error. Those cases' rows are as they were before."""
    found = failing_cases(db, generation, limit) if generation.failing else []
    return {"failing_cases": generation.failing, "failures": found}


def lag(ledger: CaseLedger, generation: Generation, head: int) -> dict[str, Any]:
    """How far a read model's generation is behind the log's ``head``, in events and in
    seconds (since the oldest event it has not applied was recorded), and its error."""
    behind = max(head - generation.position, 0)
    seconds = 0.0
    if behind:
        oldest = ledger.log_after(generation.position, limit=1)
        if oldest:
            recorded = oldest[0].entry.recorded_at
            seconds = max((datetime.now(UTC) - recorded).total_seconds(), 0.0)
    return {
        "generation": generation.generation,
        "position": generation.position,
        "lag_events": behind,
        "lag_seconds": round(seconds, 3),
        "updated_at": generation.updated_at,
        "error": generation.error,
        "stopped_at_position": generation.error_position,
    }
