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
import re
import tomllib
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from itertools import pairwise

VIETNAM = timezone(timedelta(hours=7), "ICT")


def local_day(instant: datetime) -> date:
    """The calendar day in Vietnam of an instant: the day a code is judged on."""
    return instant.astimezone(VIETNAM).date()


_OLD_SHAPE = re.compile(r"\d{2}\.\d{3}(\.\d{5})?")
"""District ``01.004`` or commune ``01.004.00127``: a code of the lists before 1 Jul 2025."""

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
class Area:
    """What a caseload or report for ``unit`` counts: codes under one of ``prefixes`` (each
    itself included), and the ``codes`` listed. ``current``: read on today's map (else on the
    older map that held ``unit``). ``mapped``: the codes of the other map it counts, each
    ``whole`` (all of its territory lies in the unit) or ``part``."""

    unit: str
    current: bool
    prefixes: tuple[str, ...]
    codes: frozenset[str]
    mapped: dict[str, str]

    def holds(self, code: str) -> bool:
        return code in self.codes or any(_within(code, p) for p in self.prefixes)


def _span(unit: Unit) -> str:
    since = f"from {unit.valid_from}" if unit.valid_from else "until"
    if unit.valid_to is None:
        return since
    last = unit.valid_to - timedelta(days=1)
    return f"{since} to {last}" if unit.valid_from else f"until {last}"


def _within(code: str, ancestor: str) -> bool:
    return code == ancestor or code.startswith(ancestor + ".")


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
        self._newest = max((u.valid_from for u in units if u.valid_from), default=date.min)
        self._reforms = tuple(sorted({c.on for c in changes}))
        self._current: dict[tuple[str, date | None], frozenset[str]] = {}
        self._areas: dict[str, Area] = {}
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

    def problem(self, code: str, on: date) -> str | None:
        """Why ``code`` may not be recorded for ``on`` (``None``: it may). A code a list holds
        that day may; so may, before the newest list, an old-shaped code no list holds (a
        commune merged away before the baseline: an old record's unit, reported as unknown)."""
        if self.unit(code, on) is not None:
            return None
        versions = self._versions.get(code, [])
        if not versions:
            if on < self._newest and _OLD_SHAPE.fullmatch(code):
                return None
            return f"{code} names no unit on {on} (no list holds it)"
        spans = "; ".join(f"{u.name} ({_span(u)})" for u in versions)
        went = sorted({u.code for u, _ in self.successors(code)} - {code})
        after = f"; its territory went into {', '.join(went)}" if went else ""
        return f"{code} names no unit on {on}; it names {spans}{after}"

    # -- the units of today's list a recorded code stands for ----------------------------------

    def current(self, code: str, on: date | None = None) -> frozenset[str]:
        """The codes of the newest list whose territory the unit ``code`` named on ``on`` went
        into (``on`` ``None``: the code's latest version). A unit still in force is itself; a
        merged commune, the commune it went into; a split one, every commune that received a
        part; a district (a level abolished), what its communes went into. A code no list
        holds (a commune merged away before 2025) stands for its province only: the nearest
        code above it that a list holds, taken to province level."""
        version = self._version(code, on)
        if version is not None:
            return self._forward(version)
        parent = code.rpartition(".")[0]
        if not parent:
            return frozenset()
        return frozenset(c.split(".")[0] for c in self.current(parent, on))

    def lies_in(self, code: str, on: date | None, scope: str) -> bool:
        """Whether the unit ``code`` named on ``on`` lies, on today's map, in ``scope``.

        A recorded commune lies in every unit of today that received a part of it (a split
        commune's old case is reachable from each part until transferred). A recorded code of
        a level since abolished (a district) lies only in a scope that holds all of it: a
        commune that received a sliver of a district does not reach the district's cases. A
        scope of an abolished unit (a stale token) covers what was recorded under it, and the
        units of today wholly formed from it; a code no list holds, itself only."""
        if _within(code, scope) and not self._in_force(scope):
            return True  # recorded under the scope's own (old, or unknown) code
        version = self._version(code, on)
        if version is not None and version.level == "district":
            return self.contains(scope, code, on)
        targets = self._scope(scope)
        return any(_within(x, t) for x in self.current(code, on) for t in targets)

    def contains(self, scope: str, code: str, on: date | None = None) -> bool:
        """Whether all of the unit ``code`` (on ``on``) lies in ``scope`` on today's map: what a
        caller of unit ``scope`` may ask a caseload or report of, open a case for, or name as
        an acting body when the code is not in force today."""
        if _within(code, scope) and scope in self._versions and not self._in_force(scope):
            return True  # under an abolished unit's own code
        targets = self._scope(scope)
        here = self.current(code, on)
        return bool(here) and all(any(_within(x, t) for t in targets) for x in here)

    def in_force(self, code: str) -> bool:
        """Whether today's list holds ``code``."""
        return self._in_force(code)

    def area(self, code: str) -> Area:
        """The codes, of every list, that a caseload or report for ``code`` counts.

        A unit of today's list (``01``, ``01.00004``) is read on today's map: the codes under
        it, and every older code whose territory went (wholly or in part) into it. A unit only
        an older list holds (district ``01.001``, quận Ba Đình) is read on that list's map: the
        codes under it then, and every newer code that received a part of it. ``mapped``
        names the codes of the other list so counted, with ``whole`` or ``part``."""
        return self._area(code)

    def versions(self, code: str) -> list[Unit]:
        """Every version of ``code``, oldest first."""
        return list(self._versions.get(code, ()))

    def latest(self, code: str) -> Unit | None:
        """The last version of ``code`` any list holds (``None``: none does)."""
        versions = self._versions.get(code)
        return versions[-1] if versions else None

    @property
    def reforms(self) -> tuple[date, ...]:
        """The days the lists changed."""
        return self._reforms

    @property
    def newest(self) -> date:
        """The first day of the newest list."""
        return self._newest

    # -- resolution, cached -------------------------------------------------------------------

    def _in_force(self, code: str) -> bool:
        return self.unit(code, self._newest) is not None

    def _scope(self, scope: str) -> frozenset[str]:
        """What a caller's unit covers on today's map: itself when today's list holds it. A
        scope that no list holds is not widened to its province (a token naming a commune code
        nobody knows must not reach the whole province), nor is one of an abolished unit to
        every unit that received a part of it: it covers the units of today wholly formed from
        it (and, through ``lies_in``, what was recorded under its own code)."""
        if scope not in self._versions:
            return frozenset({scope})
        if self._in_force(scope):
            return self.current(scope)
        return frozenset(
            x
            for x in self.current(scope)
            if all(_within(old.code, scope) for old, _ in self.predecessors(x))
        )

    def _version(self, code: str, on: date | None) -> Unit | None:
        versions = self._versions.get(code)
        if not versions:
            return None
        if on is None:
            return versions[-1]
        held = next((u for u in versions if u.valid_on(on)), None)
        if held is not None:
            return held
        # a code used outside its validity (a historical import declaring an older list):
        # the version last in force before ``on``, else the first one
        before = [u for u in versions if u.valid_to is not None and u.valid_to <= on]
        return before[-1] if before else versions[0]

    def _forward(self, unit: Unit) -> frozenset[str]:
        key = (unit.code, unit.valid_from)
        found = self._current.get(key)
        if found is None:
            found = self._current[key] = self._resolve_forward(unit)
        return found

    def _resolve_forward(self, unit: Unit) -> frozenset[str]:
        if unit.valid_to is None:
            return frozenset({unit.code})
        ends = unit.valid_to
        went = [c for c in self._by_old.get(unit.code, ()) if c.on == ends]
        if went:
            return frozenset().union(*(self._forward(self._at(c.new, ends)) for c in went))
        carried = self.unit(unit.code, ends)  # the same code carries on (a renaming)
        if carried is not None:
            return self._forward(carried)
        day_before = ends - timedelta(days=1)
        below = [u for u in self._children.get(unit.code, ()) if u.valid_on(day_before)]
        return frozenset().union(*(self._forward(u) for u in below))

    def _area(self, code: str) -> Area:
        found = self._areas.get(code)
        if found is not None:
            return found
        if code not in self._versions:  # not cached: callers choose these strings
            return Area(code, False, (code,), frozenset(), {})
        now = self.unit(code, self._newest)
        prefixes: set[str] = {code}
        mapped: dict[str, str] = {}
        if now is not None:  # today's map: older codes that went into it
            for old, versions in self._versions.items():
                if any(u.valid_on(self._newest) for u in versions):
                    continue
                into = self.current(old)
                inside = [x for x in into if _within(x, code)]
                whole = len(inside) == len(into)
                if inside and (whole or versions[-1].level != "district"):
                    mapped[old] = "whole" if whole else "part"  # a district: only if whole
        else:  # an older map: newer codes that received a part of it
            for new, versions in self._versions.items():
                if not any(u.valid_on(self._newest) for u in versions):
                    continue
                came = [u.code for u, _ in self.predecessors(new)]
                if came and all(_within(o, code) for o in came):
                    mapped[new] = "whole"  # a newer unit wholly formed from this one
        # a mapped code whose whole subtree is mapped too is counted by prefix
        for other in [c for c in mapped if c.count(".") == 0]:
            prefixes.add(other)
        codes = frozenset(c for c in mapped if not any(_within(c, p) for p in prefixes))
        shown = {c: k for c, k in sorted(mapped.items()) if c in codes or c in prefixes}
        found = self._areas[code] = Area(
            code, now is not None, tuple(sorted(prefixes)), codes, shown
        )
        return found

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
