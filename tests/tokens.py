"""Tokens for the tests: signed by a key made once per test session (the embedded issuer's
key file is set for every ``Settings`` the tests build, through ``CASELEDGER_TOKEN_KEY_FILE``,
in ``tests/conftest.py``)."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

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
) -> str:
    settings = Settings(environment="test", token_key_file=KEY_FILE)
    return issue(settings, sub=sub, role=role, unit=unit, ttl=ttl, purpose=purpose)


def bearer(
    role: str = "commune_police", unit: str = "01.004.00127", sub: str = "u-17", **kw: str
) -> dict[str, str]:
    """``Authorization`` headers of a caller with this role, unit and id."""
    return {"Authorization": f"Bearer {token(role, unit, sub, **kw)}"}
