"""Named refusals. The API maps each class to one HTTP status (api/errors.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FieldError:
    loc: tuple[str | int, ...]
    msg: str
    type: str = "value_error"


class CaseLedgerError(Exception):
    """Base class of every refusal; ``field`` names the offending input when there is one."""

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extensions: dict[str, object] = {}
        """Members the problem+json body carries besides the standard ones."""


class InvalidEvent(CaseLedgerError):
    """Unknown type, invalid payload or envelope: nothing written (422)."""

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail, field=".".join(map(str, errors[0].loc)) if errors else None)
        self.errors = errors or []


class UnresolvedReference(InvalidEvent):
    """A referral, dossier or event id that does not resolve in this case: the request is well
    formed but conflicts with what the case holds (409, naming the field)."""


class CaseNotFound(CaseLedgerError):
    """No case with this id (404)."""


class UnitNotFound(CaseLedgerError):
    """No list of the unit registry holds this code, on any date (404)."""


class OutsideTheLog(CaseLedgerError):
    """A position or tree size the log does not hold, or no checkpoint yet (422, naming the
    parameter)."""


class Conflict(CaseLedgerError):
    """The write contradicts what the record already holds (409)."""


class CaseAlreadyExists(Conflict):
    pass


class CaseIsClosed(Conflict):
    pass


class CaseIsNotClosed(Conflict):
    pass


class ReferralAlreadyClosed(Conflict):
    pass


class EntryAlreadyVoided(Conflict):
    pass


class RepeatedOnceOnlyEvent(Conflict):
    pass


class VersionConflict(Conflict):
    """``expected_version`` is stale."""


class EventIdReused(Conflict):
    """A client-supplied event id already names an event with different content."""


class Contention(CaseLedgerError):
    """Too many concurrent writers on one case; the client may retry (503)."""


class Forbidden(CaseLedgerError):
    """The caller's role or jurisdiction does not allow this (403); says which rule, never
    what the case holds."""


class PersonalDataWasErased(Conflict):
    """The person's data was erased: the case records nothing more (409)."""


class LegalHold(Conflict):
    """An erasure that legal holds stop (409 naming them); processing is restricted instead."""

    def __init__(self, detail: str, holds: list[str], restricted_event_id: str) -> None:
        super().__init__(detail, field="case_id")
        self.holds = holds
        self.extensions = {"holds": holds, "restriction_event_id": restricted_event_id}
