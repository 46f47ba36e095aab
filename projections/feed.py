"""The log as the read models read it: decoded once, and each case's whole record at hand.

``Feed`` reads the global log after a position (one read serves every read model of a round);
``CaseBook`` keeps the entries of the most recently seen cases, contiguous from version 1, so
that a case touched by new events is judged without reading it from the store again. Both
read through ``CaseLedger`` (``log_after``, ``cases_upto``, ``case_entries``).
"""

from __future__ import annotations

from collections import OrderedDict
from uuid import UUID

from domain.application import CaseLedger
from domain.state import Entry
from domain.store import Logged


class CaseBook:
    """Each case's entries, contiguous from version 1, for the most recently seen cases."""

    def __init__(self, ledger: CaseLedger, size: int = 4000) -> None:
        self.ledger, self.size = ledger, size
        self._cases: OrderedDict[str, list[Entry]] = OrderedDict()

    def note(self, entry: Entry) -> None:
        if entry.type == "PersonalDataErased":  # the entries held carry plaintext: read again
            self._cases.pop(entry.case_id, None)
            return
        known = self._cases.get(entry.case_id)
        if known is not None and len(known) == entry.version - 1:
            known.append(entry)
        elif entry.version == 1:
            self._cases[entry.case_id] = [entry]
        else:
            if known is not None and len(known) < entry.version:
                del self._cases[entry.case_id]  # a gap: load it whole when it is needed
            return
        self._cases.move_to_end(entry.case_id)
        if len(self._cases) > self.size:
            self._cases.popitem(last=False)

    def entries(self, case_id: str, version: int) -> list[Entry]:
        known = self._cases.get(case_id)
        if known is None or len(known) < version:
            known = self.ledger.case_entries(UUID(case_id), version)
            self._keep(case_id, known)
        return known[:version]

    def load(self, wanted: dict[str, int], upto: int) -> None:
        """Read in one query the cases not held up to the wanted versions (their entries up
        to log position ``upto``), rather than one query per case in ``entries``."""
        missing = [UUID(c) for c, v in wanted.items() if len(self._cases.get(c, ())) < v]
        if len(missing) < 2:
            return
        found: dict[str, list[Entry]] = {}
        for logged in self.ledger.cases_upto(missing, upto):
            found.setdefault(logged.entry.case_id, []).append(logged.entry)
        for case_id, entries in found.items():
            if [e.version for e in entries] == list(range(1, len(entries) + 1)):
                self._keep(case_id, entries)

    def _keep(self, case_id: str, entries: list[Entry]) -> None:
        self._cases[case_id] = entries
        self._cases.move_to_end(case_id)
        if len(self._cases) > self.size:
            self._cases.popitem(last=False)


class Feed:
    """The global log after a position, decoded to entries; one fetch serves every read model."""

    def __init__(self, ledger: CaseLedger, book: CaseBook) -> None:
        self.ledger, self.book = ledger, book
        self._after = -1
        self._items: list[Logged] = []

    def after(self, position: int, limit: int) -> list[Logged]:
        items = self._items
        if items and self._after <= position < items[-1].position:
            return [item for item in items if item.position > position][:limit]
        items = self.ledger.log_after(position, limit)
        for logged in items:
            self.book.note(logged.entry)
        self._after, self._items = position, items
        return items

    def head(self) -> int:
        return self.ledger.head()
