"""Dependencies: the application, the read models, the request id, query checks (who is asking
is ``api.auth``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.routing import APIRoute

from domain.application import CaseLedger
from domain.errors import CaseLedgerError
from projections.db import ViewDatabase
from projections.freshness import wait_for
from projections.generations import active_generations
from projections.notices import Notices

BIGINT = 2**63 - 1
"""The largest integer both stores hold: the bound of every integer a client passes."""


class InvalidQuery(CaseLedgerError):
    """A query parameter that cannot be served (422, naming the parameter)."""


class Busy(CaseLedgerError):
    """The server is doing this already for someone else (503 with ``Retry-After``)."""

    retry_after = 30


class ReadModelBehind(CaseLedgerError):
    """The read model has not reached the position asked for within the wait (503)."""


def get_ledger(request: Request) -> CaseLedger:
    return request.app.state.ledger  # type: ignore[no-any-return]


def get_request_id(request: Request) -> str:
    return request.state.request_id  # type: ignore[no-any-return]


def known_query_only(request: Request) -> None:
    """Refuse a query parameter the route does not take, or one given twice (422 naming it),
    rather than ignore it or keep the last: a misspelt or repeated filter would otherwise answer
    as if another filter had been asked for. Every parameter of the API takes one value."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _QUERY_NAMES.get(route.unique_id)
    if known is None:
        known = _QUERY_NAMES[route.unique_id] = _query_names(route)
    unknown = [name for name in request.query_params if name not in known]
    if unknown:
        raise InvalidQuery(f"unknown query parameter {unknown[0]!r}", field=unknown[0])
    repeated = [name for name in known if len(request.query_params.getlist(name)) > 1]
    if repeated:
        raise InvalidQuery(
            f"query parameter {repeated[0]!r} given more than once", field=repeated[0]
        )


_QUERY_NAMES: dict[str, frozenset[str]] = {}


def _query_names(route: APIRoute) -> frozenset[str]:
    names: set[str] = set()
    dependants = [route.dependant]
    while dependants:  # the route's own parameters and those of its dependencies
        dependant = dependants.pop()
        names.update(p.alias for p in dependant.query_params)
        dependants.extend(dependant.dependencies)
    return frozenset(names)


def get_views(request: Request) -> ViewDatabase:
    return request.app.state.views  # type: ignore[no-any-return]


def get_notices(request: Request) -> Notices:
    return request.app.state.notices  # type: ignore[no-any-return]


class ReadAfter:
    """Read-your-writes: ``min_position`` makes the request wait (up to ``wait`` seconds) until
    the read models it reads have applied the log up to that position; 503 if they have not."""

    def __init__(self, *names: str) -> None:
        self.names = names

    def __call__(
        self,
        request: Request,
        min_position: Annotated[
            int | None,
            Query(
                ge=0,
                le=BIGINT,
                description="wait until the read model has applied this log position "
                "(the `position` a write answered)",
            ),
        ] = None,
        wait: Annotated[
            float, Query(gt=0, le=30, description="seconds to wait for min_position")
        ] = 5.0,
    ) -> int:
        views = get_views(request)
        if min_position is not None:
            head = get_ledger(request).head()
            if min_position > head:  # every process reads the same head: the client's error
                raise InvalidQuery(
                    f"position {min_position} is beyond the log's last position ({head})",
                    field="min_position",
                )
        if min_position is not None and not wait_for(
            views, get_notices(request), self.names, min_position, wait
        ):
            raise ReadModelBehind(
                f"the read model has not reached position {min_position} within {wait:g} s; "
                "retry shortly",
                field="min_position",
            )
        positions = {g.name: g.position for g in active_generations(views)}
        return min(positions.get(name, 0) for name in self.names)


LedgerDep = Annotated[CaseLedger, Depends(get_ledger)]
ViewsDep = Annotated[ViewDatabase, Depends(get_views)]
RequestIdDep = Annotated[str, Depends(get_request_id)]
