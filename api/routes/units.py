"""The org-unit registry, by date: what a code named on a day, the units above it then, and what
it became or came from at the reforms (``domain/units.py``; the data in ``domain/unit_data``).

No case data: any authenticated caller may ask, and nothing is written to the access log.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.auth import PrincipalDep
from api.deps import known_query_only
from api.openapi import problems
from api.schemas import UnitOnDatePublic, UnitPublic, UnitShare
from domain.errors import UnitNotFound
from domain.events import UNIT_CODE_PATTERN, Date
from domain.units import VIETNAM, Unit, registry

router = APIRouter(prefix="/v1/units", tags=["org units"], dependencies=[Depends(known_query_only)])


@router.get("/{code}", response_model=UnitOnDatePublic, responses=problems(401, 404, 422))
def unit_on(
    principal: PrincipalDep,
    code: Annotated[str, Path(pattern=UNIT_CODE_PATTERN, description="an org-unit code")],
    on: Annotated[
        Date | None, Query(description="the day to read the code on (default: today in Vietnam)")
    ] = None,
) -> UnitOnDatePublic:
    """The unit ``code`` named on ``on`` (``unit`` null when no list held it that day), its
    ancestors that day, every version of the code, what it went into and came from at each
    reform (``whole`` or ``part``), and the units of today's list it stands for."""
    units = registry()
    day = on or datetime.now(VIETNAM).date()
    if not units.known(code):
        raise UnitNotFound(f"no list holds unit {code}, on any date", field="code")
    named = units.unit(code, day)
    return UnitOnDatePublic(
        code=code,
        on=day,
        unit=_public(named) if named else None,
        ancestors=[_public(u) for u in units.ancestors(code, day)] if named else [],
        versions=[_public(u) for u in units.versions(code)],
        successors=[_share(u, k) for u, k in units.successors(code)],
        predecessors=[_share(u, k) for u, k in units.predecessors(code)],
        today=sorted(units.current(code, day if named else None)),
    )


def _public(unit: Unit) -> UnitPublic:
    return UnitPublic.model_validate(
        {
            "code": unit.code,
            "level": unit.level,
            "name": unit.name,
            "parent": unit.parent or None,
            "valid_from": unit.valid_from,
            "valid_to": _last_day(unit.valid_to),
        }
    )


def _share(unit: Unit, share: str) -> UnitShare:
    return UnitShare.model_validate({"unit": _public(unit), "share": share})


def _last_day(valid_to: date | None) -> date | None:
    return date.fromordinal(valid_to.toordinal() - 1) if valid_to else None
