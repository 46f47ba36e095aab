"""The entry point: ``generate`` records the life courses of ``people`` persons through the
application, one transaction per person, deterministically for ``seed``."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from uuid import uuid5

from eventsourcing.persistence import RecordConflictError

from domain.application import CaseLedger
from domain.case import Case, NewEvent
from domain.events import Actor
from domain.personal import legal_holds
from infra.demo.people import live_person, random_plan
from infra.demo.showcase import SHOWCASE, UP_TO_2024, showcase_plan
from infra.demo.world import PROVINCE, World

DPO = Actor(id="dpo-demo", role="data_protection_officer", unit=PROVINCE)


def _data_subject_requests(cases: list[Case], counts: Counter[str]) -> list[Case]:
    """Among the scripted people of 2019-2024 (those of the reforms keep their names, to be
    looked up), the first whose case is closed and free of legal holds asks for erasure, and
    the first whose case is held asks too and is restricted instead: both recorded an hour
    after the case's last entry (the simulated clock). Answers the cases to erase once saved
    (their keys destroyed)."""
    erase: list[Case] = []
    for case in cases:
        now = case.entries[-1].recorded_at + timedelta(hours=1)
        holds = legal_holds(case.state, case.entries[-1].recorded_at, now, 0)
        wanted = "PersonalDataRestricted" if holds else "PersonalDataErased"
        if counts[wanted]:
            continue
        data: dict[str, object] = {
            "request_reference": f"DEMO-{str(case.id)[:8]}",
            "basis": "Luật 91/2025/QH15, Điều 16",
        }
        if holds:
            data["holds"] = holds
        new = NewEvent.parse(wanted, now, data, event_id=uuid5(case.id, wanted))  # same per seed
        case.record(new, DPO, now)
        counts[wanted] += 1
        if not holds:
            erase.append(case)
    return erase


class DemoAlreadyRecorded(Exception):
    """The store already holds this seed's people (their case ids are the seed's)."""


@dataclass(frozen=True)
class DemoSummary:
    people: int
    cases: int
    events: int
    event_counts: Mapping[str, int]
    elapsed_seconds: float


def generate(
    app: CaseLedger,
    people: int,
    seed: int,
    progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Record ``people`` life courses through the domain; deterministic for ``seed``.

    Each person's case(s) are built on in-memory aggregates, each event recorded at its
    simulated server time (``Case.record``'s ``now``), and saved in one transaction.
    ``progress`` is called with the number of people done so far.

    The same seed gives the same case ids: on a store that already holds a person of this
    seed, ``DemoAlreadyRecorded`` is raised before anything of that person is written (the
    people before it in this run, if any, stay recorded). Another seed adds new people.
    """
    started = time.perf_counter()
    rng = random.Random(seed)
    world = World(seed)
    counts: Counter[str] = Counter()
    requests: Counter[str] = Counter()
    cases = 0
    for i in range(people):
        person_rng = random.Random(rng.getrandbits(64))
        if i < len(SHOWCASE):
            plan = showcase_plan(person_rng, world, SHOWCASE[i])
        else:
            plan = random_plan(person_rng, world)
        courses = [c for c in live_person(world, person_rng, plan) if c.case is not None]
        erase = []
        if i < len(UP_TO_2024):
            erase = _data_subject_requests([c.case for c in courses if c.case], requests)
        if courses:
            try:
                app.save(*(c.case for c in courses))
            except RecordConflictError:
                raise DemoAlreadyRecorded(
                    f"this store already holds the demo's people of seed {seed} "
                    f"(person {i + 1} of {people}): use another --seed or an empty store"
                ) from None
        for case in erase:  # recorded: now the key goes
            app.erase_person(case.id, DPO, "", "", retention_days=0)
        for c in courses:
            counts.update(c.counts)
        cases += len(courses)
        if progress is not None:
            progress(i + 1)
    return DemoSummary(
        people=people,
        cases=cases,
        events=sum((counts + requests).values()),
        event_counts=dict(sorted((counts + requests).items())),
        elapsed_seconds=time.perf_counter() - started,
    )
