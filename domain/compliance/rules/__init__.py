"""The rulebook (``../shared/domain/procedure-rules.md``) as data, one module per section."""

from __future__ import annotations

from domain.compliance.rules import (
    court,
    determination,
    dossier,
    facility,
    pre2022,
    user_management,
    voluntary,
)
from domain.compliance.spec import Rule

RULEBOOK: tuple[Rule, ...] = (
    *user_management.RULES,
    *determination.RULES,
    *voluntary.RULES,
    *dossier.RULES,
    *court.RULES,
    *facility.RULES,
    *pre2022.RULES,
)
