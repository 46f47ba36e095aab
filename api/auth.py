"""Who is asking, what they may see, and the trace every read leaves.

- ``get_principal``: the bearer token, verified (``infra.tokens``), its role looked up in the
  policy (``domain/policy.toml``), the purpose of use stated (``X-Purpose-Of-Use`` header, else
  the token's ``purpose`` claim, else the role's default). No token, or one that fails: 401
  with ``WWW-Authenticate: Bearer error="invalid_token"``; the failure is logged without the
  token.
- ``Access`` (a dependency of every route that serves case data): checks the role's
  capability, the unit or case asked for against the caller's jurisdiction (an emergency grant
  stands in for it on one case), and records the access entry **before the answer leaves**:
  if the entry cannot be written the request fails (503), so no read goes unaudited. A refusal
  is recorded too, then answered 403 without any of the case's data.
- ``redact``: personal fields (the catalogue's PII marks) removed for roles the policy does not
  entitle to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import structlog
from fastapi import Depends, Header, Request
from fastapi.routing import APIRoute
from pydantic import ValidationError

from domain.access import AccessEntry, AccessKind, Outcome
from domain.application import CaseLedger
from domain.errors import CaseLedgerError, Forbidden
from domain.events import CATALOGUE, Actor, pii_paths
from domain.policy import Capability, Policy, Principal, Reach
from domain.state import CaseState, Entry
from domain.units import registry
from infra.tokens import InvalidToken, ProviderUnavailable, TokenVerifier

log = structlog.get_logger("caseledger.access")

REDACTED = "[restricted]"
PERSON_PII = ("full_name", "date_of_birth", "national_id", "address")


class Unauthenticated(Exception):
    """No verifiable identity (401 with ``WWW-Authenticate``)."""

    def __init__(self, detail: str, error: str = "invalid_token") -> None:
        super().__init__(detail)
        self.detail, self.error = detail, error


class AuditUnavailable(CaseLedgerError):
    """The access entry could not be written: the read is not served (503)."""

    retry_after = 5


class IdentityUnavailable(CaseLedgerError):
    """The identity provider's keys cannot be fetched (503)."""

    retry_after = 10


def get_policy(request: Request) -> Policy:
    return request.app.state.policy  # type: ignore[no-any-return]


def get_principal(
    request: Request,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    x_purpose_of_use: Annotated[
        str | None,
        Header(description="why this is asked (a purpose of the policy); default: the role's"),
    ] = None,
) -> Principal:
    """The verified caller (see the module's docstring)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        _refuse_identity(request, "no bearer token", error="invalid_request")
    verifier: TokenVerifier = request.app.state.tokens
    try:
        claims = verifier.verify(token.strip())
    except InvalidToken as e:
        _refuse_identity(request, str(e))
    except ProviderUnavailable as e:
        log.warning("identity_provider_unavailable", error=str(e))
        raise IdentityUnavailable("the identity provider cannot be reached; retry") from None
    policy = get_policy(request)
    role = policy.roles.get(claims.role)
    if role is None:
        raise Forbidden(f"role {claims.role!r} is not a role of the access policy", field="role")
    try:
        actor = Actor.model_validate({"id": claims.sub, "role": claims.role, "unit": claims.unit})
    except ValidationError as e:
        field = str(e.errors()[0]["loc"][0])
        _refuse_identity(request, f"the token's {field!r} claim is not valid")
    purpose = x_purpose_of_use or claims.purpose or role.default_purpose
    if purpose not in policy.purposes:
        raise Forbidden(
            f"{purpose!r} is not a purpose of use of the policy ({', '.join(policy.purposes)})",
            field="X-Purpose-Of-Use",
        )
    if purpose not in role.purposes and purpose != "emergency":
        raise Forbidden(
            f"role {role.name} may not state the purpose {purpose!r} "
            f"(it may state: {', '.join(role.purposes)})",
            field="X-Purpose-Of-Use",
        )
    principal = Principal(
        sub=actor.id,
        role=role,
        unit=actor.unit,
        name=claims.name,
        scopes=claims.scopes,
        purpose=purpose,
    )
    request.state.principal = principal
    return principal


def _refuse_identity(request: Request, detail: str, error: str = "invalid_token") -> Any:
    log.info("authentication_failed", path=request.url.path, reason=detail)
    raise Unauthenticated(detail, error)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def actor_of(principal: Principal) -> Actor:
    """The recording actor: always the verified caller, never the body."""
    return Actor(id=principal.sub, role=principal.role.name, unit=principal.unit)


class Access:
    """A route's access control and audit trail; the dependency ``Guard(capability)``."""

    def __init__(
        self, request: Request, principal: Principal, capability: Capability | None
    ) -> None:
        self.request = request
        self.principal = principal
        self.ledger: CaseLedger = request.app.state.ledger
        self.policy = get_policy(request)
        self.emergency_minutes: int = request.app.state.settings.emergency_minutes
        route = request.scope.get("route")
        path = route.path if isinstance(route, APIRoute) else request.url.path
        self.route = f"{request.method} {path}"
        if capability is not None and not self.policy.may(principal.role, capability):
            self.refuse(f"role {principal.role.name} may not read {capability.replace('_', ' ')}")
        if capability is not None and (scope := self.policy.missing_scope(principal, capability)):
            self.refuse(f"the token lacks the scope {scope!r}", field="scope")

    @property
    def personal_data(self) -> bool:
        """Whether the caller's role is entitled to personal fields at all."""
        return self.principal.role.personal_data

    def sees_personal(self, state: CaseState) -> bool:
        """Whether the caller sees this case's personal fields: an entitled role, unless
        processing is restricted (an erasure request under a legal hold), when only a role
        that answers data subjects' requests does."""
        if not self.personal_data:
            return False
        if state.restriction is not None and not state.erased:
            return self.policy.may(self.principal.role, "data_subject_requests")
        return True

    def pseudonym(self, case_id: UUID | str) -> str:
        return self.ledger.pseudonym(case_id)

    # --- checks ---

    def unit(self, unit: str, field: str = "unit") -> None:
        """The unit asked for must lie wholly in the caller's on today's map (an old commune
        split between the caller's and another is not the caller's to list)."""
        if not registry().contains(self.principal.unit, unit):
            self.refuse(f"unit {unit} is outside unit {self.principal.unit}'s subtree", field=field)

    def case(self, case_id: UUID, reach: Reach) -> Outcome:
        """Whether the caller may read this case: ``allowed`` in jurisdiction, ``emergency``
        under an unexpired grant of the caller's; otherwise refused (audited, 403)."""
        if reach.readable_by(self.principal.unit):
            return "allowed"
        if self.active_grant(case_id) is not None:
            return "emergency"
        self.refuse(
            f"case {case_id} is outside unit {self.principal.unit}'s jurisdiction",
            case_ids=(case_id,),
            field="case_id",
        )
        raise AssertionError("unreachable")

    def active_grant(self, case_id: UUID) -> dict[str, Any] | None:
        now = datetime.now(UTC)
        for record in self.ledger.access_entries(
            case_id=case_id, actor_id=self.principal.sub, kinds=["emergency_grant"], limit=1000
        ):
            expires = datetime.fromisoformat(str(record.entry.detail["expires_at"]))
            if expires > now:
                return {"position": record.position, **record.entry.detail}
        return None

    def refuse(
        self, reason: str, *, case_ids: Sequence[UUID] = (), field: str | None = None
    ) -> None:
        """Record the refusal, then refuse (403)."""
        self.record("refused", case_ids=case_ids, outcome="refused", detail={"reason": reason})
        raise Forbidden(reason, field=field)

    # --- the trace ---

    def read(
        self,
        case_ids: Iterable[UUID] = (),
        *,
        outcome: Outcome = "allowed",
        first_position: int | None = None,
        last_position: int | None = None,
    ) -> None:
        """Record that a response carrying these cases' data (or these log positions) is about
        to leave; raises ``AuditUnavailable`` if it cannot be recorded."""
        self.record(
            "read",
            case_ids=tuple(dict.fromkeys(case_ids)),
            outcome=outcome,
            first_position=first_position,
            last_position=last_position,
        )

    def record(
        self,
        kind: AccessKind,
        *,
        case_ids: Sequence[UUID] = (),
        outcome: Outcome = "allowed",
        first_position: int | None = None,
        last_position: int | None = None,
        detail: dict[str, object] | None = None,
    ) -> int:
        entry = AccessEntry(
            kind=kind,
            at=datetime.now(UTC),
            actor_id=self.principal.sub,
            role=self.principal.role.name,
            unit=self.principal.unit,
            purpose="emergency" if outcome == "emergency" else self.principal.purpose,
            route=self.route,
            query=self.request.url.query,
            case_ids=tuple(case_ids),
            first_position=first_position,
            last_position=last_position,
            outcome=outcome,
            request_id=getattr(self.request.state, "request_id", ""),
            detail=detail or {},
        )
        try:
            [record] = self.ledger.record_access(entry)
        except Exception as e:
            log.error("access_entry_not_written", route=self.route, error=str(e))
            raise AuditUnavailable(
                "the access could not be recorded, so it is not served; retry shortly"
            ) from None
        return record.position


class Guard:
    """``Depends(Guard("case"))``: the caller, checked for the capability, with its trail;
    ``Guard(None)`` for the recording routes, whose check depends on the events."""

    def __init__(self, capability: Capability | None) -> None:
        self.capability = capability

    def __call__(self, request: Request, principal: PrincipalDep) -> Access:
        return Access(request, principal, self.capability)


# --- personal fields ---------------------------------------------------------------------------


def redact_person(person: dict[str, Any]) -> dict[str, Any]:
    return {k: (REDACTED if k in PERSON_PII and v is not None else v) for k, v in person.items()}


def redact_data(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    """The payload with the type's PII fields replaced by ``[restricted]``; a correction's
    changed values too (a correction may change any field)."""
    event_type = CATALOGUE.get(type_)
    if event_type is None:
        return data
    out = _without(data, _paths(type_))
    if type_ == "EntryCorrected" and isinstance(out.get("changes"), dict):
        out["changes"] = {k: REDACTED for k in out["changes"]}
    return out


def redact_entry_data(entry: Entry) -> dict[str, Any]:
    return redact_data(entry.type, dict(entry.data))


_PATHS: dict[str, list[list[str]]] = {}


def _paths(type_: str) -> list[list[str]]:
    if type_ not in _PATHS:
        _PATHS[type_] = [p.split(".") for p in pii_paths(CATALOGUE[type_].model)]
    return _PATHS[type_]


def _without(data: dict[str, Any], paths: list[list[str]]) -> dict[str, Any]:
    out = dict(data)
    for path in paths:
        node: Any = out
        for part in path[:-1]:
            child = node.get(part) if isinstance(node, dict) else None
            if not isinstance(child, dict):
                node = None
                break
            node[part] = child = dict(child)
            node = child
        if isinstance(node, dict) and node.get(path[-1]) is not None:
            node[path[-1]] = REDACTED
    return out
