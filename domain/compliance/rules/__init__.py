"""The rulebook (``../shared/domain/procedure-rules.md``) as data, one module per section.

Judged: U3 U6 U7 U11 U12 (1a); D5 D6 D7 (1b); V2 V3 V6 (1c); C1 C2 C3 C4 C5 C6 C7 C8 (1d);
M1 (1e); J1 J2 J3 J4 (1f); K1 K2 K5 K6 K7 K10 K13 K15 (1g); E1 E2 E8 (1h); F1 F7 F8 F9 (1i);
P1 P3 P5 P6 (1j); O1 O2 O4 O7 (pre-2022); T55 (Law 73 Art 55(1)(d)); REC1 (late recording).
R-graded, off by default: C9 (limitation since 2022), J6, K6 for minors (PL 01/2022 window).

Not judged, because the catalogue's events do not carry what the rule is about:
- notices and transmissions with no event of their own: U2, U5 (folded into U6's 6 wd), K4, K9,
  K12, K17 (folded into E1's 8 days), V4, V5, E6;
- contents, forms and places of documents: U1, U4, U8, D2, D3, V1, V8, C3's other documents, M2,
  M5, K8, E2's handover minutes, F4, F8's handover of minors (Form 47);
- facts the record does not hold (illness, pregnancy, merit, family hardship, deaths, staffing):
  D1, D4 (the medical team's arrival), E4, E5, E7, F2, F3, F5, F6, F10, J5, V11;
- durations computed from terms (credit of interim time, time absent): M3, E3, E9's exclusion;
- no deadline in the law ("promptly", "no deadline stated"): U9, U10 (stop when found addicted),
  M4, V9, P4, V7 beyond C3, K3 (the Art 9(2) window was not read);
- enforced at write time by the catalogue instead: U10's grounds, V10's certificate number;
- folded into another rule: P2 into P3 (dossier 3 wd + decision 2 wd), E9's search decision
  into E8 (every absconding phase); K14 (complaints about the court's own acts) has no event;
- R-graded and unverified, not implemented: K11, K16 (PL 09/2014 deadlines), E10, O5, O6;
  reporting duties R1-R6 are about units' reports, not case events.
Known limits: C7's "supplement -> court within 2 wd" also applies to a supplement answering the
court (the event does not say which return it answers); F9 also applies to a release from a
voluntary facility (``ReleasedFromFacility`` does not say what kind of stay ended).
"""

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
