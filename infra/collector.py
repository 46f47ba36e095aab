"""Python's cycle collector in a process that keeps thousands of cases in memory (the API).

A full collection looks at every object the process holds: with the default 5,000 cases cached
(``Settings.aggregate_cache``: each case and its entries), hundreds of thousands of objects, and
a pause of every thread long enough to show in append latencies (``bench/README.md``,
``collector.py``). ``frozen_after_full_collections`` freezes (``gc.freeze``) what survives each
full collection, so the next one looks only at what came since.

A frozen object that dies is still freed by reference counting; only one that dies in a
reference cycle waits. So every ``unfreeze_seconds`` the objects are unfrozen instead, and the
next full collection looks at everything once and frees such cycles (none were found among
evicted cases).
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

UNFREEZE_SECONDS = 600.0

_lock = threading.Lock()
_users = 0
_unfrozen_at = 0.0


def _after(phase: str, info: dict[str, Any]) -> None:
    global _unfrozen_at
    if phase != "stop" or info["generation"] != 2:
        return
    if time.monotonic() - _unfrozen_at >= UNFREEZE_SECONDS:
        gc.unfreeze()  # the next full collection looks at everything, once
        _unfrozen_at = time.monotonic()
    else:
        gc.freeze()


@contextmanager
def frozen_after_full_collections() -> Iterator[None]:
    """While it is entered (by any number of apps in the process, as in tests), freeze the
    survivors of each full collection; unfreeze everything every ``UNFREEZE_SECONDS``, and when
    the last one leaves."""
    global _users, _unfrozen_at
    with _lock:
        _users += 1
        if _users == 1:
            _unfrozen_at = time.monotonic()
            gc.callbacks.append(_after)
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                gc.callbacks.remove(_after)
                gc.unfreeze()
