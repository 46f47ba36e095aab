"""The phases of a course and ``live``, which runs them from the opening of the case: a phase
records one stretch of the course and returns the next phase. ``opening`` holds the ways into a
course, ``rehab`` the phases that lead into each other in a loop; ``detection``, ``support`` and
``proceedings`` hold what phases record on the way without choosing the next phase, so that
every phase module can use them without importing another phase module. ``reforms`` holds the
scripted ways into the showcase's courses across the 2025-2026 reforms (a plan's ``opening``),
which join the loop where their story does."""

from __future__ import annotations

from infra.demo.course import Closing, Course, Phase
from infra.demo.phases.opening import open_case
from infra.demo.phases.rehab import closing


def live(c: Course) -> None:
    """Run the phases of a course from the opening of the case until it ends or time runs out."""
    phase: Phase | None = c.plan.opening or open_case
    while phase is not None:
        try:
            phase = phase(c)
        except Closing as e:
            phase = closing(e.reason, e.note, reopen=False)
