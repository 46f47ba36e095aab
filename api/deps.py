"""Dependencies: the application, the actor, the request id."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from pydantic import ValidationError

from domain.application import CaseLedger
from domain.events import Actor


class Unauthenticated(Exception):
    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail, self.field = detail, field


def get_ledger(request: Request) -> CaseLedger:
    return request.app.state.ledger  # type: ignore[no-any-return]


def get_request_id(request: Request) -> str:
    return request.state.request_id  # type: ignore[no-any-return]


def get_actor(
    x_actor_id: Annotated[str | None, Header()] = None,
    x_actor_role: Annotated[str | None, Header()] = None,
    x_actor_unit: Annotated[str | None, Header()] = None,
) -> Actor:
    """The recording actor, from X-Actor-Id / X-Actor-Role / X-Actor-Unit.

    Interim: a later issue replaces this dependency with verified tokens.
    """
    headers = {"X-Actor-Id": x_actor_id, "X-Actor-Role": x_actor_role, "X-Actor-Unit": x_actor_unit}
    missing = [name for name, value in headers.items() if not value]
    if missing:
        raise Unauthenticated(f"missing actor header(s): {', '.join(missing)}", field=missing[0])
    try:
        return Actor(id=x_actor_id, role=x_actor_role, unit=x_actor_unit)
    except ValidationError as e:
        name = {"id": "X-Actor-Id", "role": "X-Actor-Role", "unit": "X-Actor-Unit"}[
            str(e.errors()[0]["loc"][0])
        ]
        raise Unauthenticated(f"invalid {name}: {e.errors()[0]['msg']}", field=name) from None


LedgerDep = Annotated[CaseLedger, Depends(get_ledger)]
ActorDep = Annotated[Actor, Depends(get_actor)]
RequestIdDep = Annotated[str, Depends(get_request_id)]
