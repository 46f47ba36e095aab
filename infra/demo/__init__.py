"""Demo data: plausible life courses of people who use drugs in one province, 2019–2024, and a
few named ones across the reforms of 2025 and 2026.

``generate(app, people, seed)`` invents ``people`` persons living in the wards and communes of a
Hà Nội-like province (code ``01``; district and commune codes in the style of the national list,
illustrative only) and records what happens to each of them, one case per person, as the commune
police, counsellors, health workers, the district Labour and Justice offices, the district court,
rehab facilities and methadone clinics would record it: detection and user management, voluntary
rehab and methadone, support and referrals, the compulsory route under the law before and from
2022 (some courses straddle the change), the facility, post-rehab management, relapses,
transfers, closures, corrections and voided entries. The showcase's last people live through
the police takeover of rehab (1 Mar 2025: the commune police compile the dossier, no Labour
office), the end of districts (1 Jul 2025: new commune codes, regional courts) and Law 120/2025
(1 Jul 2026: moves reported within 24 hours, electronic monitoring, prison terms); every unit
code is the one the registry (``domain.units``) holds on the event's day. Like real life,
courses are imperfect: some things are done late or not at all, and some entries are recorded
days or weeks after the fact.
It exists to give the API, the projections and the benchmarks a realistic store, and to exercise
every event type of the catalogue.

Everything goes through the domain (``NewEvent.parse``, the ``Case`` aggregate's write-time
refusals, ``CaseLedger.save`` one transaction per person); a refusal is a bug of the demo.
``occurred_at`` is Vietnam time (+07:00); ``recorded_at`` is a *simulated* server clock, a
realistic delay after the fact and monotonic per case; nothing happens after 31/12/2024 but in
the showcase's courses across the reforms, which run to 30/11/2026. Only
``random.Random`` seeded from ``seed`` is used, so a seed always records the same cases, events,
ids, data and times. With ``people >= len(SHOWCASE)`` every event type is used: the first people
follow scripted plans, everyone else draws their course at random.

Modules: ``world`` (time and law dates, the province's data tables, org units and staff),
``course`` (one case being lived and recorded), ``phases`` (what happens, phase by phase, and
``live``), ``people`` (random plans, persons, duplicate cases), ``showcase`` (the scripted plans)
and ``generator`` (``generate``).
"""

from infra.demo.generator import DemoAlreadyRecorded, DemoSummary, generate
from infra.demo.showcase import SHOWCASE

__all__ = ["SHOWCASE", "DemoAlreadyRecorded", "DemoSummary", "generate"]
