"""Administrative units as dated data: which unit a code named on a given day.

A code alone does not name a unit: on 1 Jul 2025 Vietnam went from three levels (province
``01``, district ``01.001``, commune ``01.001.00001``) to two (province ``01``, commune
``01.00004``), a merged commune kept one of its parts' codes, and a province code may name
another province after the reform (``24`` was Bắc Giang, is now Bắc Ninh). So a unit is keyed by
``(code, valid_from)``, and every question is asked for a date.

The data lives in ``domain/unit_data/`` (CSV files and the manifest ``reforms.toml``; its
README says where each file came from and how to add a reform). It is read on first use and
kept; importing this module reads nothing.

A code that no list holds on a date (say, a commune merged away before 2025 that an old record
still names) is not an error here: ``Registry.unit`` answers ``None`` and the caller decides,
e.g. records the event and reports the code as an unknown unit.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from itertools import pairwise

KINDS = frozenset({"whole", "part"})
"""How an old unit went into a new one: all of it (``whole``), or a piece of it (``part``,
one row per new unit that received a piece)."""


@dataclass(frozen=True, slots=True)
class Unit:
    """One unit as a list names it: ``level`` is ``province``, ``district`` or ``commune``;
    ``parent`` the code of the unit above, ``""`` for a province. Valid from ``valid_from``
    (``None``: since before the records) to the day before ``valid_to`` (``None``: still)."""

    code: str
    level: str
    name: str
    parent: str
    valid_from: date | None
    valid_to: date | None

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day < self.valid_to
        )


@dataclass(frozen=True, slots=True)
class _Change:
    """One row of a reform's mapping: ``old`` went (wholly or in part) into ``new`` on ``on``."""

    on: date
    old: str
    new: str
    kind: str


class Registry:
    """Every unit of every list, and the reforms between the lists."""

    def __init__(self, units: list[Unit], changes: list[_Change]) -> None:
        self._versions: dict[str, list[Unit]] = defaultdict(list)
        self._children: dict[str, list[Unit]] = defaultdict(list)
        for u in sorted(units, key=lambda u: (u.code, u.valid_from or date.min)):
            self._versions[u.code].append(u)
            if u.parent:
                self._children[u.parent].append(u)
        self._by_old: dict[str, list[_Change]] = defaultdict(list)
        self._by_new: dict[str, list[_Change]] = defaultdict(list)
        for c in changes:
            self._by_old[c.old].append(c)
            self._by_new[c.new].append(c)
        self._check(changes)

    @classmethod
    def load(cls, folder: Traversable) -> Registry:
        """The registry of the manifest ``reforms.toml`` in ``folder`` and the files it names."""
        manifest = tomllib.loads(folder.joinpath("reforms.toml").read_text(encoding="utf-8"))
        units = _read_units(folder, manifest["baseline"]["units"])
        changes: list[_Change] = []
        last = date.min
        for reform in manifest.get("reform", []):
            on, ends = reform["date"], reform["ends"]
            if not isinstance(on, date) or on <= last or ends not in ("all", "mapped"):
                raise ValueError(f"reforms.toml: reform {reform.get('title')!r}: bad date/ends")
            last = on
            arriving = _read_units(folder, reform["units"])
            if any(u.valid_from != on for u in arriving):
                raise ValueError(f"{reform['units']}: valid_from must be {on}")
            mapping = _read_mapping(folder, reform["mapping"], on)
            ending = {c.old for c in mapping} | {u.code for u in arriving}
            units = [
                replace(u, valid_to=on)
                if u.valid_to is None and (ends == "all" or u.code in ending)
                else u
                for u in units
            ]
            units += arriving
            changes += mapping
        return cls(units, changes)

    # -- questions ------------------------------------------------------------------------------

    def unit(self, code: str, on: date) -> Unit | None:
        """The unit ``code`` named on ``on``, or ``None`` when no list holds it that day."""
        return next((u for u in self._versions.get(code, ()) if u.valid_on(on)), None)

    def ancestors(self, code: str, on: date) -> list[Unit]:
        """The units above ``code`` on ``on``, its parent first, up to the province."""
        found: list[Unit] = []
        unit = self.unit(code, on)
        while unit is not None and unit.parent:
            unit = self.unit(unit.parent, on)
            if unit is not None:
                found.append(unit)
        return found

    def descendants_on(self, code: str, on: date) -> list[Unit]:
        """Every unit below ``code`` on ``on`` (districts and communes), by code."""
        found: list[Unit] = []
        below = [u for u in self._children.get(code, ()) if u.valid_on(on)]
        while below:
            found += below
            below = [c for u in below for c in self._children.get(u.code, ()) if c.valid_on(on)]
        return sorted(found, key=lambda u: u.code)

    def units_on(self, on: date) -> list[Unit]:
        """Every unit valid on ``on``, by code."""
        return [u for versions in self._versions.values() for u in versions if u.valid_on(on)]

    def successors(self, code: str) -> list[tuple[Unit, str]]:
        """The units a unit of code ``code`` went into at a reform, each with ``whole`` or
        ``part``; empty when it went into none (it carried on, or its level was abolished:
        districts were, on 1 Jul 2025, their communes are what is mapped)."""
        return [(self._at(c.new, c.on), c.kind) for c in self._by_old.get(code, ())]

    def predecessors(self, code: str) -> list[tuple[Unit, str]]:
        """The units that went into a unit of code ``code`` at a reform, each with how much
        of it (``whole`` or ``part``), as they stood the day before."""
        return [
            (self._at(c.old, c.on - timedelta(days=1)), c.kind) for c in self._by_new.get(code, ())
        ]

    def known(self, code: str) -> bool:
        """Whether any list, on any date, holds ``code``."""
        return code in self._versions

    # -- loading --------------------------------------------------------------------------------

    def _at(self, code: str, on: date) -> Unit:
        unit = self.unit(code, on)
        if unit is None:
            raise ValueError(f"no unit {code} on {on}")
        return unit

    def _check(self, changes: list[_Change]) -> None:
        """Refuse data that would answer wrongly: overlapping versions of a code, a parent that
        is not there, a mapping naming a unit that did not exist on its side of the date."""
        for code, versions in self._versions.items():
            for a, b in pairwise(versions):
                if a.valid_to is None or b.valid_from is None or a.valid_to > b.valid_from:
                    raise ValueError(f"unit {code}: versions overlap")
            for u in versions:
                day = u.valid_from or (u.valid_to and u.valid_to - timedelta(days=1))
                if u.parent and day and self.unit(u.parent, day) is None:
                    raise ValueError(f"unit {code}: no parent {u.parent} on {day}")
        for c in changes:
            self._at(c.old, c.on - timedelta(days=1))
            self._at(c.new, c.on)


@cache
def registry() -> Registry:
    """The registry of the packaged data (``domain/unit_data``), read once."""
    return Registry.load(files("domain") / "unit_data")


def _rows(folder: Traversable, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(folder.joinpath(name).read_text(encoding="utf-8"))))


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def _read_units(folder: Traversable, name: str) -> list[Unit]:
    return [
        Unit(
            code=r["code"],
            level=r["level"],
            name=r["name"],
            parent=r["parent"],
            valid_from=_day(r["valid_from"]),
            valid_to=_day(r["valid_to"]),
        )
        for r in _rows(folder, name)
    ]


def _read_mapping(folder: Traversable, name: str, on: date) -> list[_Change]:
    changes = [_Change(on, r["old_code"], r["new_code"], r["kind"]) for r in _rows(folder, name)]
    if any(c.kind not in KINDS for c in changes):
        raise ValueError(f"{name}: kind must be one of {sorted(KINDS)}")
    return changes
