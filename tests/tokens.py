"""Tokens for the tests: signed by a key made once per test session (the embedded issuer's
key file is set for every ``Settings`` the tests build, through ``CASELEDGER_TOKEN_KEY_FILE``,
in ``tests/conftest.py``)."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from infra.settings import Settings
from infra.tokens import issue

KEY_FILE = Path(tempfile.mkdtemp(prefix="caseledger-test-keys-")) / "token-signing-key.pem"


@cache
def token(
    role: str = "commune_police",
    unit: str = "01.004.00127",
    sub: str = "u-17",
    purpose: str | None = None,
    ttl: int = 3600,
    scopes: tuple[str, ...] | None = None,
) -> str:
    """A token; ``scopes`` by default those a client of that role is granted (a subscriber's
    ``events:read``, as the Keycloak realm's downstream client has)."""
    settings = Settings(environment="test", token_key_file=KEY_FILE)
    if scopes is None:
        scopes = DEFAULT_SCOPES.get(role, ())
    return issue(settings, sub=sub, role=role, unit=unit, ttl=ttl, purpose=purpose, scopes=scopes)


DEFAULT_SCOPES = {"subscriber": ("events:read",)}


def bearer(
    role: str = "commune_police", unit: str = "01.004.00127", sub: str = "u-17", **kw: Any
) -> dict[str, str]:
    """``Authorization`` headers of a caller with this role, unit and id."""
    return {"Authorization": f"Bearer {token(role, unit, sub, **kw)}"}
