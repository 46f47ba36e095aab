"""The rulebook (``../shared/domain/procedure-rules.md`` and its 2025-2026 delta,
``procedure-rules-2025.md``) as data, one module per section. ``../README.md`` tables every
rule with the periods that judge it (PRE22, 22+, 25A, 25B, 26); ``tools/rule_table.py`` makes
that table.

Judged: U3 U6 U7 U11 U12 (1a); D5 D6 D7 (1b); V2 V3 V6 (1c); C1 C2 C3 C4 C5 C6 C7 C8 (1d);
M1 (1e); J1 J2 J3 J4 (1f); K1 K2 K5 K6 K7 K10 K13 K15 (1g); E1 E2 E8 (1h); F1 F7 F8 F9 (1i);
P1 P3 P5 P6 (1j); O1 O2 O4 O7 (pre-2022); T55 (Law 73 Art 55(1)(d)); REC1 (late recording).
The 2025-2026 delta: X25-01 X25-02 X25-03 X25-04 X25-05 X25-06 X25-10 X25-12 (``reform2025``);
L26-01 L26-02 L26-06 L26-07 L26-08 L26-09 L26-10 (``law120``); L26-13 as a mark on the
decree deadline rules (``DECREE_DEADLINES``): their findings on anchors from 1 Jul 2026 say
"[basis possibly superseded]".
R-graded, off by default: J6, K6 for minors (PL 01/2022 window); the court deadlines K2 K5 K6
K10 K13 for dossiers accepted from 1 Jul 2025 (Ordinance 08/2025 not read); X25-01-deadline,
X25-03-replacement, X25-09, L26-08-compulsory. C9 (the limitation since 2022, R) was retired:
X25-10 is the same check, sourced.

Ended by the reforms (anchors from that day are another rule's): C2 C2-body C4-C8 J4 on
1 Mar 2025 (X25-01..03; a Labour-office deadline falling due from that day is not judged
either); K1 on 1 Jul 2025 (X25-04); K7 and the F/S court deadlines for dossiers accepted from
1 Jul 2025 (X25-05, and the R copies); V3 on 1 Jul 2026 (L26-08).

Not judged, because the catalogue's events do not carry what the rule is about:
- notices and transmissions with no event of their own: U2, U5 (folded into U6's 6 wd), K4, K9,
  K12, K17 (folded into E1's 8 days), V4, V5, E6;
- contents, forms and places of documents: U1, U4, U8, D2, D3, V1, V8, C3's other documents, M2,
  M5, K8, E2's handover minutes, F4, F8's handover of minors (Form 47); X25-01's place (the
  police of the residence or of the violation: codes across 1 Jul 2025 need the unit mapping);
- facts the record does not hold (illness, pregnancy, merit, family hardship, deaths, staffing):
  D1, D4 (the medical team's arrival), E4, E5, E7, F2, F3, F5, F6, F10, J5, V11; L26-09's
  "qualified" public facility for minors;
- durations computed from terms (credit of interim time, time absent): M3, E3, E9's exclusion;
  L26-10's resumption of a facility or voluntary term (reductions and exemptions are partly
  recorded): only post-rehab management's is judged;
- no deadline in the law ("promptly", "no deadline stated"): U9, U10 (stop when found addicted),
  M4, V9, P4, V7 beyond C3, K3 (the Art 9(2) window was not read);
- enforced at write time by the catalogue instead: U10's grounds, V10's certificate number,
  the acting bodies of the Law 120 types (L26-06's is also judged, for corrected entries);
- folded into another rule: P2 into P3 (dossier 3 wd + decision 2 wd), E9's search decision
  into E8 (every absconding phase); K14 (complaints about the court's own acts) has no event;
- R-graded and unverified, not implemented: K11, K16 (PL 09/2014 deadlines), E10, O5, O6;
  reporting duties R1-R6 are about units' reports, not case events;
- the delta rows X25-07 X25-08 X25-11 X25-13 L26-03 L26-04 L26-05 L26-11 L26-12 PD-*
  RP-*: ``../README.md`` says why each.
Known limits: C7's "supplement -> court within 2 wd" also applies to a supplement answering the
court (the event does not say which return it answers); F9 also applies to a release from a
voluntary facility (``ReleasedFromFacility`` does not say what kind of stay ended).
"""

from __future__ import annotations

from dataclasses import replace

from domain.compliance.rules import (
    court,
    determination,
    dossier,
    facility,
    law120,
    pre2022,
    reform2025,
    user_management,
    voluntary,
)
from domain.compliance.spec import LAW120_FROM, Rule

DECREE_DEADLINES = frozenset(
    {
        "U3",
        "U6",
        "U11",
        "D5",
        "D7",
        "V2",
        "V6",
        "J3",
        "E1",
        "F7",
        "F9",
        "P3",
        "X25-01-deadline",
        "X25-03-replacement",
    }
)
"""L26-13 (R): the deadlines of Decrees 105, 109 and 116/2021 (and TT18 under them) that still
judge anchors from 1 Jul 2026. The implementing decree of Law 120/2025 was not read (the
"Decree 163/2026" claim is unverified): they stay on, and their findings on anchors from that
day say "[basis possibly superseded]"."""


def _marked(rule: Rule) -> Rule:
    return replace(rule, superseded_from=LAW120_FROM) if rule.id in DECREE_DEADLINES else rule


RULEBOOK: tuple[Rule, ...] = tuple(
    _marked(rule)
    for rule in (
        *user_management.RULES,
        *determination.RULES,
        *voluntary.RULES,
        *dossier.RULES,
        *court.RULES,
        *facility.RULES,
        *pre2022.RULES,
        *reform2025.RULES,
        *law120.RULES,
    )
)
