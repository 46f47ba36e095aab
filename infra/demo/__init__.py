"""Demo data: plausible life courses of people who use drugs in one province, 2019–2024.

``generate(app, people, seed)`` invents ``people`` persons living in the wards and communes of a
Hà Nội-like province (code ``01``; district and commune codes in the style of the national list,
illustrative only) and records what happens to each of them, one case per person, as the
commune police, counsellors, health workers, the district Labour office and Justice office, the
district court, rehab facilities and methadone clinics would record it:

- detection, drug tests, residence checks; drug-user management (2022+); addiction determination;
- voluntary rehab at home, in the community or at a facility, and methadone (OST);
- counselling, self-help groups, home visits, consents and referrals to services;
- compulsory rehab: the commune education measure, Justice-office check and ordinance 09/2014
  before 2022; the dossier, Labour office, court (PL 09/2014, PL 03/2022 from 01/02/2023, PL
  01/2022 for minors), appeals, deferrals and escort from 2022 -- some courses straddle the change;
- the facility (absconding and search, term adjustments, pre-release notice, release), the return
  home, post-rehab management, relapses (``RelapseRecorded`` citing the new test and determination),
  transfers between communes, closures and reopenings, notes, corrections and voided entries.

Real life is imperfect, so are the courses: some steps are late (a dossier sent to the Labour
office a week after the reading period, an escort weeks after the decision took effect), some are
missing (no residence check, no pre-release notice), and some entries are recorded days or weeks
after the fact.

Everything goes through the domain: ``NewEvent.parse`` validates each payload, the ``Case``
aggregate applies its write-time refusals, and ``CaseLedger.save`` stores each person's cases in
one transaction. Nothing is written to the store directly, and a refusal is a bug of this module.

Time. ``occurred_at`` is when a thing happened (Vietnam time, +07:00). ``recorded_at`` is the
server clock at the append, never supplied by a client; here the server clock is *simulated*: each
event is recorded a realistic delay after it happened (minutes, hours, days; sometimes weeks), the
recording times of a case are monotonic, and each is passed to ``Case.record`` as the server's
``now``. Nothing happens after 31/12/2024; a course still running then stays open.

Determinism. Only ``random.Random`` seeded from ``seed`` is used -- for the people, their courses,
the case and event ids and the simulated recording times -- so two runs with the same seed record
the same cases, events, ids, data and times.

Coverage. Every type of the event catalogue is used for ``people >= len(SHOWCASE)``: the first
people follow scripted plans which between them reach every branch; everyone else draws the
branches of their course at random.
"""

from __future__ import annotations

import contextlib
import heapq
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from datetime import time as clock_time
from functools import cache
from typing import Any, TypeVar

from domain.application import CaseLedger
from domain.case import Case, NewEvent
from domain.compliance.calendar import WorkingCalendar, add_months
from domain.events import Actor

T = TypeVar("T")

# --- time and law ------------------------------------------------------------------------------

VN = timezone(timedelta(hours=7))
REGIME_22 = datetime(2022, 1, 1, tzinfo=VN)  # Law 73/2021 and Decrees 105, 109, 116/2021
PL01_START = datetime(2022, 3, 24, tzinfo=VN)  # court ordinance for minors
PL03_START = datetime(2023, 2, 1, tzinfo=VN)  # court ordinance for adults, replaces PL 09/2014
FIRST_START = date(2019, 1, 2)
LAST_START = date(2024, 10, 31)
HORIZON = datetime(2024, 12, 31, 17, 0, tzinfo=VN)  # nothing happens after this
RECORDING_HORIZON = datetime(2024, 12, 31, 23, 30, tzinfo=VN)


@cache
def _calendar() -> WorkingCalendar:
    return WorkingCalendar()


def add_working_days(day: date, n: int) -> date:
    """``n`` working days after ``day`` (the start day not counted), by the legal calendar."""
    return _calendar().add_working_days(day, n)


# --- data tables -------------------------------------------------------------------------------

PROVINCE, PROVINCE_NAME = "01", "Hà Nội"

CommuneRow = tuple[
    str, str, str, tuple[str, ...], int
]  # code, kind, name, streets/villages, weight

# fmt: off
GEOGRAPHY: tuple[tuple[str, str, str, tuple[CommuneRow, ...]], ...] = (
    ("001", "quận", "Ba Đình", (
        ("00001", "phường", "Phúc Xá", ("phố Phúc Xá", "phố Nghĩa Dũng"), 5),
        ("00004", "phường", "Trúc Bạch", ("phố Trúc Bạch", "phố Châu Long"), 2),
        ("00007", "phường", "Cống Vị", ("phố Đội Cấn", "phố Đào Tấn"), 3),
        ("00016", "phường", "Ngọc Hà", ("phố Ngọc Hà", "phố Hoàng Hoa Thám"), 3),
    )),
    ("004", "quận", "Long Biên", (
        ("00118", "phường", "Ngọc Thụy", ("phố Ngọc Thụy", "đường Hồng Hà"), 5),
        ("00127", "phường", "Việt Hưng", ("phố Việt Hưng", "phố Hoa Lâm"), 3),
        ("00133", "phường", "Ngọc Lâm", ("phố Ngọc Lâm", "phố Nguyễn Văn Cừ"), 4),
        ("00139", "phường", "Bồ Đề", ("phố Bồ Đề", "phố Hồng Tiến"), 5),
        ("00148", "phường", "Thạch Bàn", ("phố Thạch Bàn", "phố Cổ Linh"), 3),
    )),
    ("006", "quận", "Đống Đa", (
        ("00205", "phường", "Văn Chương", ("phố Văn Chương", "phố Tôn Đức Thắng"), 4),
        ("00211", "phường", "Khâm Thiên", ("phố Khâm Thiên", "phố Lê Duẩn"), 4),
        ("00220", "phường", "Ô Chợ Dừa", ("phố Xã Đàn", "phố Hoàng Cầu"), 4),
        ("00238", "phường", "Kim Liên", ("phố Phạm Ngọc Thạch", "phố Lương Định Của"), 2),
    )),
    ("008", "quận", "Hoàng Mai", (
        ("00301", "phường", "Hoàng Liệt", ("đường Nguyễn Hữu Thọ", "phố Bằng Liệt"), 4),
        ("00307", "phường", "Vĩnh Hưng", ("phố Vĩnh Hưng", "phố Lĩnh Nam"), 4),
        ("00316", "phường", "Định Công", ("phố Định Công", "phố Định Công Hạ"), 3),
        ("00325", "phường", "Mai Động", ("phố Mai Động", "phố Kim Ngưu"), 3),
        ("00331", "phường", "Tương Mai", ("phố Tương Mai", "phố Trương Định"), 3),
    )),
    ("018", "huyện", "Gia Lâm", (
        ("00565", "thị trấn", "Trâu Quỳ", ("đường Ngô Xuân Quảng", "phố Nguyễn Đức Thuận"), 3),
        ("00568", "thị trấn", "Yên Viên", ("phố Hà Huy Tập", "phố Thiên Đức"), 3),
        ("00604", "xã", "Đa Tốn", ("Khoan Tế", "Ngọc Động", "Thuận Tốn"), 2),
        ("00607", "xã", "Kiêu Kỵ", ("Kiêu Kỵ", "Dương Đanh"), 2),
        ("00610", "xã", "Bát Tràng", ("Giang Cao", "Bát Tràng"), 1),
    )),
    ("019", "quận", "Nam Từ Liêm", (
        ("00592", "phường", "Cầu Diễn", ("phố Hồ Tùng Mậu", "đường Cầu Diễn"), 4),
        ("00598", "phường", "Mỹ Đình 1", ("đường Lê Đức Thọ", "phố Nguyễn Cơ Thạch"), 3),
        ("00601", "phường", "Mỹ Đình 2", ("phố Trần Văn Lai", "phố Nguyễn Hoàng"), 2),
        ("00622", "phường", "Xuân Phương", ("phố Xuân Phương", "đường Trịnh Văn Bô"), 3),
        ("00625", "phường", "Tây Mỗ", ("đường Tây Mỗ", "phố Đại Mỗ"), 2),
    )),
)
# fmt: on


@dataclass(frozen=True)
class District:
    code: str
    kind: str  # quận (urban) or huyện (rural)
    name: str

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Commune:
    code: str
    kind: str  # phường, thị trấn or xã
    name: str
    places: tuple[str, ...]  # streets of a ward or town, villages of a rural commune
    weight: int
    district: District

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Facility:
    key: str
    name: str
    district: str  # the district court that reviews its residents' terms


COMPULSORY_FACILITIES = (
    Facility("cs5", "Cơ sở cai nghiện ma túy số 5 Hà Nội", "01.018"),
    Facility("cs6", "Cơ sở cai nghiện ma túy số 6 Hà Nội", "01.019"),
)
MINORS_FACILITY = Facility(
    "cs1", "Cơ sở cai nghiện ma túy số 1 Hà Nội (khu người chưa thành niên)", "01.004"
)
VOLUNTARY_FACILITIES = (
    Facility("cs2", "Cơ sở cai nghiện ma túy số 2 Hà Nội", "01.008"),
    Facility("thanhbinh", "Cơ sở cai nghiện ma túy tư nhân Thanh Bình", "01.018"),
)
INTERIM_FACILITY = Facility(
    "cs2", "Cơ sở cai nghiện ma túy số 2 Hà Nội (khu lưu trú tạm thời)", "01.008"
)
SOCIAL_RECEPTION_CENTRE = "Trung tâm Bảo trợ xã hội 3 Hà Nội"
MENTAL_HOSPITAL = "Bệnh viện Tâm thần Hà Nội"
JOB_CENTRE = "Trung tâm Dịch vụ việc làm Hà Nội"
LEGAL_AID = "Trung tâm Trợ giúp pháp lý nhà nước thành phố Hà Nội"

# fmt: off
FAMILY_NAMES = (
    ("Nguyễn", 38), ("Trần", 11), ("Lê", 9), ("Phạm", 7), ("Hoàng", 5), ("Vũ", 4), ("Phan", 4),
    ("Đặng", 2), ("Bùi", 2), ("Đỗ", 2), ("Hồ", 1), ("Ngô", 1), ("Dương", 1), ("Đinh", 1),
    ("Trịnh", 1), ("Đào", 1), ("Lương", 1), ("Lý", 1), ("Mai", 1), ("Tạ", 1),
)
MALE_MIDDLE = ("Văn", "Văn", "Văn", "Đức", "Minh", "Quang", "Hữu", "Thành", "Mạnh", "Xuân",
               "Công", "Ngọc", "Tiến", "Trung", "Duy", "Hoàng", "Anh", "Việt")
MALE_GIVEN = ("Anh", "Hùng", "Dũng", "Tuấn", "Nam", "Long", "Hải", "Sơn", "Thắng", "Cường",
              "Hiếu", "Phong", "Quân", "Trung", "Tùng", "Việt", "Đức", "Huy", "Khánh", "Tiến",
              "Toàn", "Thành", "Bình", "Hoàng", "Lâm", "Minh", "Phúc", "Tâm", "Vinh", "Đạt",
              "Hưng", "Kiên", "Quang", "Thịnh", "Tú", "Hậu", "Chiến", "Duy", "Giang", "Nghĩa")
FEMALE_MIDDLE = ("Thị", "Thị", "Thị", "Thu", "Ngọc", "Thanh", "Minh", "Phương", "Hồng")
FEMALE_GIVEN = ("Hương", "Lan", "Hoa", "Hằng", "Linh", "Trang", "Nga", "Huyền", "Mai", "Thảo",
                "Phương", "Dung", "Hà", "Loan", "Yến", "Ngọc", "Thủy", "Vân")

SUBSTANCES = (("methamphetamine", 62), ("heroin", 14), ("MDMA", 8), ("ketamine", 7),
              ("cannabis", 7), ("morphine", 2))
OPIOIDS = frozenset({"heroin", "morphine"})
HOTELS = ("Hoa Hồng", "Thanh Bình", "Phương Anh", "Minh Châu", "Sao Mai", "Hải Yến", "Hoàng Long")
DETECTION_PLACES = (
    "Nhà nghỉ {hotel}, {street}", "Quán karaoke {hotel}, {street}", "Phòng trọ tại {street}",
    "Khu vực bãi sông Hồng thuộc {commune}", "Quán cà phê {hotel}, {street}",
    "Khu đất trống gần chợ {name}", "Nhà riêng tại {street}", "Bãi gửi xe gần {street}",
)
COUNSELLING_TOPICS = (
    "tác hại của ma túy", "kỹ năng từ chối", "phòng chống tái nghiện", "HIV/AIDS",
    "pháp luật về cai nghiện", "hỗ trợ việc làm", "quản lý cảm xúc", "vai trò của gia đình",
    "điều trị Methadone", "sức khỏe tâm thần",
)
VISIT_OUTCOMES = (
    "Gặp đối tượng và gia đình; đối tượng đang đi làm phụ hồ, tình hình ổn định.",
    "Đối tượng vắng nhà, mẹ cho biết đi làm ca đêm; hẹn gặp lại.",
    "Gia đình phản ánh đối tượng hay về muộn; đã nhắc nhở và tư vấn.",
    "Đối tượng hợp tác, mong muốn được hỗ trợ học nghề.",
    "Đối tượng sức khỏe yếu, đã hướng dẫn đến Trạm Y tế khám.",
    "Tình hình ổn định, không phát hiện dấu hiệu sử dụng ma túy.",
)
NOTES = (
    ("normal", "Đã liên hệ gia đình để trao đổi kế hoạch hỗ trợ."),
    ("normal", "Đối tượng xin được học nghề sửa chữa xe máy."),
    ("normal", "Gia đình cam kết phối hợp quản lý, giáo dục."),
    ("normal", "Đối tượng thay đổi số điện thoại liên lạc."),
    ("restricted", "Đối tượng có biểu hiện rối loạn tâm thần, cần phối hợp Trạm Y tế theo dõi."),
    ("restricted", "Đối tượng đang điều trị ARV; thông tin chỉ chia sẻ với cán bộ phụ trách."),
    ("restricted", "Gia đình có mâu thuẫn, vợ đề nghị không chia sẻ địa chỉ mới."),
)
ABSENCE_REASONS = ("đi làm ăn xa", "về quê chăm mẹ ốm", "đi điều trị tại bệnh viện")
# fmt: on

# --- the world: org units and their staff ------------------------------------------------------


@dataclass(frozen=True)
class Staff:
    actor: Actor
    name: str


COMMUNE_ROLES = frozenset({"commune_police", "commune_officer", "counsellor", "volunteer"})


class World:
    """The province's org units and, per unit and role, a small deterministic staff roster."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.communes: list[Commune] = []
        for d_code, d_kind, d_name, communes in GEOGRAPHY:
            district = District(f"{PROVINCE}.{d_code}", d_kind, d_name)
            for c_code, c_kind, c_name, places, weight in communes:
                self.communes.append(
                    Commune(f"{district.code}.{c_code}", c_kind, c_name, places, weight, district)
                )
        self.weights = [c.weight for c in self.communes]
        self._staff: dict[tuple[str, str, str], list[Staff]] = {}

    def staff(self, role: str, unit: str, key: str = "") -> list[Staff]:
        roster = self._staff.get((role, unit, key))
        if roster is None:
            rng = random.Random(f"{self.seed}/{role}/{unit}/{key}")
            roster = [
                Staff(
                    Actor(id=f"{role}.{unit}{'.' + key if key else ''}.{i}", role=role, unit=unit),
                    full_name(rng, "male" if rng.random() < 0.6 else "female"),
                )
                for i in range(1, 4)
            ]
            self._staff[(role, unit, key)] = roster
        return roster


def full_name(rng: random.Random, sex: str) -> str:
    family = rng.choices([n for n, _ in FAMILY_NAMES], [w for _, w in FAMILY_NAMES])[0]
    if sex == "female":
        return f"{family} {rng.choice(FEMALE_MIDDLE)} {rng.choice(FEMALE_GIVEN)}"
    return f"{family} {rng.choice(MALE_MIDDLE)} {rng.choice(MALE_GIVEN)}"


def address(rng: random.Random, commune: Commune) -> str:
    district = commune.district
    tail = f"{commune.label}, {district.label}, {PROVINCE_NAME}"
    place = rng.choice(commune.places)
    if commune.kind == "xã":
        return f"Xóm {rng.randint(1, 9)}, thôn {place}, {tail}"
    if rng.random() < 0.6:
        return f"Số {rng.randint(1, 80)}, ngõ {rng.randint(2, 250)} {place}, {tail}"
    return f"Số {rng.randint(1, 300)} {place}, tổ dân phố {rng.randint(1, 30)}, {tail}"


# --- the course of one case --------------------------------------------------------------------


class EndOfTime(Exception):
    """The course ran past the horizon: what would come next has not happened yet."""


class Closing(Exception):
    """Something ends the case in the middle of a phase (the person died, moved away...)."""

    def __init__(self, reason: str, note: str) -> None:
        super().__init__(reason)
        self.reason, self.note = reason, note


# Events that other events depend on having been recorded first: recorded at once, never
# overtaken by an earlier-occurring entry that is recorded later.
NEVER_DEFERRED = frozenset(
    {
        "CaseOpened",
        "CaseClosed",
        "CaseReopened",
        "CaseTransferred",
        "EntryCorrected",
        "EntryVoided",
        "ReferralMade",
        "ReferralAccepted",
        "ReferralDeclined",
        "ReferralCompleted",
        "DossierOpened",
    }
)


@dataclass
class Plan:
    """Who the person is and which branches of the course are fixed in advance."""

    start: datetime
    birth: date
    sex: str
    commune: Commune
    source: str
    fixed: dict[str, Any] = field(default_factory=dict)
    duplicate: bool = False


class Course:
    """One case being lived: the simulated time, the decisions, and recording through the domain.

    ``t`` is the simulated present (occurred_at of what happens now). Each ``record`` is recorded
    a delay after it happened, on a per-case monotonic simulated server clock; an entry with a
    long delay waits in ``_pending`` while later events are recorded, unless something depends on
    it (``pin=True``, or a type in ``NEVER_DEFERRED``). ``later`` schedules an action (a
    correction, a referral's answer) for when the simulated time passes it.
    """

    def __init__(self, world: World, rng: random.Random, plan: Plan, case_id: uuid.UUID) -> None:
        self.world, self.rng, self.plan, self.fixed = world, rng, plan, plan.fixed
        self.case_id = case_id
        self.case: Case | None = None
        self.t = plan.start
        self.commune = plan.commune
        self.person: dict[str, Any] = {}
        self.counts: Counter[str] = Counter()
        self.last_recorded = datetime(2000, 1, 1, tzinfo=VN)
        self._pending: list[tuple[datetime, int, NewEvent, Actor]] = []
        self._tasks: list[tuple[datetime, int, Callable[[], object], bool]] = []
        self._seq = 0
        self.closed = False
        # what the course has been through
        self.stable = True
        self.substances: list[str] = []
        self.setting = "community"
        self.planned_months = 6
        self.violation = ""
        self.completed = ""  # voluntary, compulsory_adult, compulsory_minor
        self.dossier_id = ""
        self.minor_route = False
        self.term_months = 0
        self.custody_start = plan.start
        self.facility = COMPULSORY_FACILITIES[0]
        self.had_commune_education = False
        self.rounds = 0
        self.dossiers = 0
        self.referrals = 0
        self.consents: set[str] = set()
        self.extras: list[str] = []

    # --- decisions ---

    def chance(self, name: str, p: float) -> bool:
        if name in self.fixed:
            return bool(self.fixed[name])
        return self.rng.random() < p

    def choose(self, name: str, options: Sequence[T], weights: Sequence[float]) -> T:
        if name in self.fixed:
            return self.fixed[name]  # type: ignore[no-any-return]
        return self.rng.choices(options, weights)[0]

    # --- time ---

    @property
    def pre22(self) -> bool:
        return self.t < REGIME_22

    @property
    def district(self) -> District:
        return self.commune.district

    def age(self, on: date | None = None) -> int:
        on = on or self.t.date()
        b = self.plan.birth
        return on.year - b.year - ((on.month, on.day) < (b.month, b.day))

    @property
    def minor(self) -> bool:
        return self.age() < 18

    def office(self, day: date) -> datetime:
        minute = self.rng.randint(7 * 60 + 30, 16 * 60 + 45)
        return datetime.combine(day, clock_time(minute // 60, minute % 60), VN)

    def advance(self, to: datetime) -> datetime:
        """Move the present to ``to``, doing the scheduled actions that fall due on the way."""
        if to <= self.t:
            to = self.t + timedelta(minutes=self.rng.randint(5, 60))
        while self._tasks and self._tasks[0][0] <= min(to, HORIZON):
            due, _, action, allowed_when_closed = heapq.heappop(self._tasks)
            self.t = max(self.t, due)
            if allowed_when_closed or not self.closed:
                action()
        if to > HORIZON:
            raise EndOfTime
        self.t = to
        return to

    def wait(self, days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
        return self.advance(self.t + timedelta(days=days, hours=hours, minutes=minutes))

    def wait_days(self, lo: int, hi: int) -> datetime:
        """To office hours ``lo``..``hi`` calendar days from now."""
        return self.advance(self.office(self.t.date() + timedelta(days=self.rng.randint(lo, hi))))

    def wait_wd(self, lo: int, hi: int | None = None) -> datetime:
        """To office hours ``lo``..``hi`` working days from now."""
        n = lo if hi is None else self.rng.randint(lo, hi)
        return self.advance(self.office(add_working_days(self.t.date(), n)))

    def until(self, day: date) -> datetime:
        return self.advance(self.office(day))

    def later(
        self, days: tuple[int, int], action: Callable[[], object], allowed_when_closed: bool = False
    ) -> None:
        due = self.office(self.t.date() + timedelta(days=self.rng.randint(*days)))
        self._seq += 1
        heapq.heappush(self._tasks, (max(due, self.t), self._seq, action, allowed_when_closed))

    # --- who and on what basis ---

    def staff(self, role: str, unit: str | None = None, key: str = "") -> Staff:
        if unit is None:
            unit = self.commune.code if role in COMMUNE_ROLES else self.district.code
        return self.rng.choice(self.world.staff(role, unit, key))

    def actor(self, role: str, unit: str | None = None, key: str = "") -> Actor:
        return self.staff(role, unit, key).actor

    def facility_staff(self, facility: Facility) -> Actor:
        return self.actor("facility_staff", PROVINCE, facility.key)

    def body(self, kind: str, unit: str | None = None) -> dict[str, str]:
        if unit is None:
            commune_level = kind in ("commune_committee", "commune_police", "counselling_point")
            unit = self.commune.code if commune_level else self.district.code
        return {"kind": kind, "unit": unit}

    def doc(self, pattern: str, form: str | None = None, on: date | None = None) -> dict[str, Any]:
        on = on or self.t.date()
        number = pattern.format(n=self.rng.randint(1, 420), y=on.year)
        return {"number": number, "date": on, "form_no": form}

    # --- recording ---

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def _delay(self, deferrable: bool) -> timedelta:
        r = self.rng.random()
        if not deferrable:  # a decision entered the same day, now and then the next
            if r < 0.6:
                return timedelta(minutes=self.rng.uniform(2, 90))
            return timedelta(hours=self.rng.uniform(1.5, 30 if r < 0.97 else 72))
        if r < 0.55:
            return timedelta(minutes=self.rng.uniform(2, 120))
        if r < 0.85:
            return timedelta(hours=self.rng.uniform(2, 30))
        if r < 0.97:
            return timedelta(days=self.rng.uniform(1.5, 6))
        return timedelta(days=self.rng.uniform(8, 35))  # entered weeks late

    def record(
        self,
        type_: str,
        data: Mapping[str, Any],
        by: Actor,
        *,
        at: datetime | None = None,
        body: Mapping[str, str] | None = None,
        doc: Mapping[str, Any] | None = None,
        basis: tuple[str, str | None] | None = None,
        pin: bool = False,
    ) -> str:
        """Record one event that happened ``at`` (default: now); return its event id."""
        at = self.t if at is None else at
        if at > HORIZON:
            raise EndOfTime
        new = NewEvent.parse(
            type_,
            at,
            dict(data),
            event_id=self.new_id(),
            acting_body=dict(body) if body else None,
            document=dict(doc) if doc else None,
            legal_basis={"instrument": basis[0], "article": basis[1]} if basis else None,
        )
        deferrable = not pin and type_ not in NEVER_DEFERRED
        recorded = max(at + self._delay(deferrable), self.last_recorded)
        recorded = min(recorded, RECORDING_HORIZON)
        if deferrable:
            self._flush(until=at)
            self._seq += 1
            heapq.heappush(self._pending, (recorded, self._seq, new, by))
            return new.event_id
        if type_ == "CaseClosed":
            self._flush()  # what was still to be entered is entered before the case closes
            recorded = max(recorded, self.last_recorded)
        else:
            self._flush(until=recorded)
        self._apply(recorded, new, by)
        return new.event_id

    def _flush(self, until: datetime | None = None) -> None:
        while self._pending and (until is None or self._pending[0][0] <= until):
            recorded, _, new, by = heapq.heappop(self._pending)
            self._apply(recorded, new, by)

    def _apply(self, recorded: datetime, new: NewEvent, by: Actor) -> None:
        if self.case is None:
            self.case = Case.open(self.case_id, new, by, recorded)
        else:
            self.case.record(new, by, recorded)
        self.last_recorded = recorded
        self.counts[new.type] += 1
        if new.type == "CaseClosed":
            self.closed = True
        elif new.type == "CaseReopened":
            self.closed = False

    def finish(self) -> None:
        """Do what is still due before the horizon and enter everything still pending."""
        while self._tasks and self._tasks[0][0] <= HORIZON:
            due, _, action, allowed_when_closed = heapq.heappop(self._tasks)
            self.t = max(self.t, due)
            if allowed_when_closed or not self.closed:
                action()
        self._flush()

    # --- small shared pieces ---

    def place(self) -> str:
        pattern = self.rng.choice(DETECTION_PLACES)
        return pattern.format(
            hotel=self.rng.choice(HOTELS),
            street=self.rng.choice(self.commune.places),
            commune=self.commune.label,
            name=self.commune.name,
        )

    def correct(self, target: str, changes: dict[str, Any], reason: str) -> None:
        self.record(
            "EntryCorrected",
            {"corrects_event_id": target, "changes": changes, "reason": reason},
            self.actor("commune_officer"),
        )


Step = Callable[[Course], Any]  # a phase: records what happens, returns the next phase or None


def live(c: Course) -> None:
    """Run the phases of a course from the opening of the case until it ends or time runs out."""
    step: Step | None = open_case
    while step is not None:
        try:
            step = step(c)
        except Closing as e:
            step = closing(e.reason, e.note, reopen=False)


# --- phase: opening ----------------------------------------------------------------------------


def open_case(c: Course) -> Step | None:
    source = c.plan.source
    by_police = source in ("detection", "family")
    opener = c.actor("commune_police" if by_police else "commune_officer")
    first_contact = c.t
    if by_police:
        c.wait(hours=c.rng.uniform(0.5, 5))
    person = dict(c.person)
    typo = c.chance("correct_address", 0.02)
    if typo:
        person["address"] = person["address"].replace("Số ", "Số 1", 1)
    opened = c.record(
        "CaseOpened",
        {"person": person, "source": source, "managing_unit": c.commune.code},
        opener,
        body=c.body("commune_police" if by_police else "commune_committee"),
        pin=typo,
    )
    if typo:
        c.later(
            (3, 40),
            lambda: c.correct(
                opened,
                {"person.address": c.person["address"]},
                "Ghi sai số nhà khi lập hồ sơ; đã đối chiếu với dữ liệu dân cư",
            ),
            allowed_when_closed=True,
        )
    if c.chance("data_sharing_consent", 0.35):
        consent(c, "data_sharing")
    if c.chance("assigned", 0.85):
        c.later((1, 12), lambda: assign(c))
    c.extras = [name for name, p in EXTRAS if c.chance(name, p)]
    if source in ("detection", "family"):
        return lambda c: detected(c, first_contact)
    if source == "self_registration":
        return volunteered
    if source == "facility_release":
        return released_elsewhere
    if source == "transfer_in":
        return transferred_in
    return found_without_residence


def assign(c: Course) -> None:
    role = c.choose(
        "assignee_role",
        ("counsellor", "police_officer", "volunteer", "social_worker", "health_worker"),
        (40, 30, 15, 10, 5),
    )
    roster_role = {
        "police_officer": "commune_police",
        "social_worker": "commune_officer",
        "health_worker": "counsellor",
    }.get(role, role)
    c.record(
        "CaseAssigned",
        {"assignee_id": c.actor(roster_role).id, "assignee_role": role},
        c.actor("commune_officer"),
        body=c.body("commune_committee"),
        doc=c.doc("{n}/QĐ-UBND"),
    )


def consent(c: Course, scope: str) -> None:
    c.consents.add(scope)
    c.record(
        "ConsentRecorded",
        {"scope": scope, "given_by": "guardian" if c.minor else "person"},
        c.actor("counsellor"),
        body=c.body("counselling_point"),
    )


# --- phase: detection and user management -----------------------------------------------------


def detected(c: Course, first_contact: datetime) -> Step | None:
    detection(c, at=first_contact)
    residence(c)
    if c.pre22:
        conclusion, _ = determination(c, ground=None)
        return after_determination(c, conclusion)
    if not c.stable:
        conclusion, _ = determination(c, ground="b")
        return after_determination(c, conclusion)
    return user_management


def detection(c: Course, at: datetime, again: bool = False) -> str:
    """Police detect use and test; return the test's event id."""
    by_district = c.chance("district_police_detects", 0.15)
    unit = c.district.code if by_district else c.commune.code
    police = c.actor("district_police" if by_district else "commune_police", unit)
    ground = (
        "a"
        if again
        else c.choose("detection_ground", tuple("abcdefghi"), (50, 15, 8, 6, 5, 5, 4, 4, 3))
    )
    detained = c.chance("detained", 0.25)
    data: dict[str, Any] = {
        "ground": ground,
        "place": c.place(),
        "detecting_unit": unit,
        "administratively_detained": detained,
    }
    if detained:
        data["detention_decision_no"] = f"{c.rng.randint(1, 900)}/QĐ-TGHC"
    wrong_day = not again and c.chance("correct_occurred_at", 0.03)
    detected_id = c.record(
        "DrugUseDetected",
        data,
        police,
        at=at - timedelta(days=1) if wrong_day else at,
        body=c.body("district_police" if by_district else "commune_police", unit),
        doc=c.doc("{n}/BB-VPHC", on=at.date()),
        basis=("LXLVPHC2012", "Art 58") if at < REGIME_22 else ("ND105/2021", "Art 38"),
        pin=wrong_day,
    )
    if wrong_day:
        c.later(
            (2, 20),
            lambda: c.correct(
                detected_id,
                {"occurred_at": at.isoformat()},
                "Nhập sai ngày phát hiện; đã đối chiếu biên bản vi phạm",
            ),
            allowed_when_closed=True,
        )
    if not c.substances or again:
        c.substances = pick_substances(c)
    return drug_test(
        c,
        at + timedelta(minutes=c.rng.randint(30, 180)),
        True,
        police,
        unit,
        pin=True,
        confirm=True,
    )


def pick_substances(c: Course) -> list[str]:
    names, weights = [s for s, _ in SUBSTANCES], [w for _, w in SUBSTANCES]
    first = c.choose("substance", names, weights)
    if c.rng.random() < 0.2:
        second = c.rng.choices(names, weights)[0]
        return sorted({first, second})
    return [first]


def drug_test(
    c: Course,
    at: datetime,
    positive: bool,
    by: Actor,
    unit: str,
    pin: bool = False,
    confirm: bool = False,
) -> str:
    sample = c.rng.choices(("urine", "blood", "hair", "other"), (88, 5, 4, 3))[0]
    data: dict[str, Any] = {
        "sample": sample,
        "substances": list(c.substances) if positive else [],
        "result": "positive" if positive else "negative",
        "tester_unit": unit,
    }
    if c.age(at.date()) < 18:
        data["guardian_consent"] = True
    test_id = c.record(
        "DrugTestRecorded",
        data,
        by,
        at=at,
        pin=pin,
        doc=c.doc("{n}/PXN", "Mẫu số 03" if at >= REGIME_22 else None, on=at.date()),
        basis=("Law73/2021", "Art 22") if at >= REGIME_22 else ("TTLT17/2015", None),
    )
    if confirm and c.chance("correct_test_substances", 0.04):
        # the laboratory confirms one more substance than the quick test showed
        extra = "ketamine" if "ketamine" not in c.substances else "MDMA"
        c.substances = sorted({*c.substances, extra})
        fixed = list(c.substances)
        c.later(
            (2, 10),
            lambda: c.correct(
                test_id,
                {"substances": fixed},
                "Bổ sung chất theo kết quả khẳng định của phòng xét nghiệm",
            ),
            allowed_when_closed=True,
        )
    return test_id


def residence(c: Course) -> None:
    if c.chance("residence_unchecked", 0.05 if not c.pre22 else 0.4):
        return  # a missing step
    late = c.chance("residence_late", 0.08)
    c.wait_wd(6, 9) if late else c.wait_wd(1, 3)
    criterion = (
        c.rng.choice(
            (
                "Đang sinh sống tại nơi thường trú",
                "Đang sinh sống tại nơi tạm trú",
                "Sinh sống tại nơi ở hiện tại từ 30 ngày trở lên, được Trưởng Công an xã xác nhận",
            )
        )
        if c.stable
        else c.rng.choice(
            (
                "Không sinh sống tại nơi đăng ký thường trú, không xác định được nơi ở hiện tại",
                "Không có nơi thường trú, tạm trú và ở nơi hiện tại dưới 30 ngày",
            )
        )
    )
    c.record(
        "ResidenceVerified",
        {
            "status": "stable" if c.stable else "not_stable",
            "criterion": criterion,
            "remote_area": False,
        },
        c.actor("commune_police"),
        body=c.body("commune_police"),
        basis=("ND105/2021", "Art 41") if not c.pre22 else None,
    )


def user_management(c: Course, renewal: bool = False) -> Step | None:
    """22+: the commune chairman puts a drug user under management for a year."""
    c.rounds += 1
    c.wait_wd(9, 14) if c.chance("um_decision_late", 0.08) else c.wait_wd(2, 6)
    starts = c.t.date()
    ends = add_months(starts, 12) - timedelta(days=1)
    team = [
        {"name": c.staff("commune_police").name, "role": "Tổ trưởng - Công an xã/phường"},
        {"name": full_name(c.rng, "male"), "role": "Tổ phó - đại diện tổ dân phố/thôn"},
        {"name": full_name(c.rng, "female"), "role": "Thành viên - gia đình"},
        {"name": c.staff("commune_officer").name, "role": "Thành viên - công chức LĐTBXH, tư vấn"},
    ]
    wrong_doc = c.chance("correct_document", 0.02)
    document = c.doc("{n}/QĐ-UBND", "Mẫu số 07")
    decided = c.record(
        "UserManagementDecided",
        {"starts_on": starts, "ends_on": ends, "renewal": renewal, "team": team},
        c.actor("commune_officer"),
        body=c.body("commune_committee"),
        doc=document,
        basis=("ND105/2021", "Art 42"),
        pin=wrong_doc,
    )
    if wrong_doc:
        corrected = {
            **document,
            "number": f"{c.rng.randint(421, 600)}/QĐ-UBND",
            "date": document["date"].isoformat(),
        }
        c.later(
            (5, 30),
            lambda: c.correct(
                decided, {"document": corrected}, "Sai số quyết định; sửa theo bản gốc"
            ),
            allowed_when_closed=True,
        )
    outcome = c.choose("um_outcome", ("ended", "addicted", "stopped"), (45, 45, 10))
    if c.rounds > 3:
        outcome = "ended"
    if outcome == "ended":
        accompany(c, c.office(ends), "user")
        c.wait_wd(0, 3)
        c.record(
            "UserManagementEnded",
            {},
            c.actor("commune_officer"),
            body=c.body("commune_committee"),
            doc=c.doc("{n}/QĐ-UBND", "Mẫu số 10"),
            basis=("ND105/2021", "Art 48"),
        )
        return closing(
            "management_completed", "Hết thời hạn quản lý, không phát hiện sử dụng ma túy"
        )
    if outcome == "stopped":
        accompany(c, c.t + timedelta(days=c.rng.randint(40, 300)), "user")
        reason = c.choose(
            "um_stop_reason",
            ("imprisoned", "deceased", "missing", "education_measure"),
            (45, 15, 25, 15),
        )
        c.record(
            "UserManagementStopped",
            {"reason": reason},
            c.actor("commune_officer"),
            body=c.body("commune_committee"),
            doc=c.doc("{n}/QĐ-UBND", "Mẫu số 09"),
            basis=("ND105/2021", "Art 48"),
        )
        close_reason = {"imprisoned": "imprisoned", "deceased": "deceased"}.get(reason, "other")
        note = {
            "missing": "Đối tượng bỏ đi khỏi nơi cư trú, không xác định được nơi ở",
            "education_measure": "Áp dụng biện pháp giáo dục tại xã, phường, thị trấn",
        }.get(reason)
        return closing(close_reason, note)
    # caught using again: determination, then treatment
    accompany(c, c.t + timedelta(days=c.rng.randint(30, 300)), "user")
    detection(c, at=c.t, again=True)
    conclusion, _ = determination(c, ground="a")
    if conclusion != "addicted":
        return lambda c: user_management(c, renewal=True)
    c.wait_wd(0, 3)
    c.record(
        "UserManagementStopped",
        {"reason": "addicted"},
        c.actor("commune_officer"),
        body=c.body("commune_committee"),
        doc=c.doc("{n}/QĐ-UBND", "Mẫu số 09"),
        basis=("ND105/2021", "Art 48"),
    )
    return register


# --- phase: addiction determination -----------------------------------------------------------


def determination(c: Course, ground: str | None, force_addicted: bool = False) -> tuple[str, str]:
    """A doctor determines addiction (22+: on a police or volunteer request); return the
    conclusion and the determination's event id."""
    health = c.staff("health_worker")
    if not c.pre22 and ground is not None:
        c.wait(hours=c.rng.uniform(1, 20))
        handed_over = c.t + timedelta(hours=c.rng.uniform(0.5, 4))
        c.record(
            "AddictionDeterminationRequested",
            {"ground": ground, "requester_unit": c.commune.code, "handed_over_at": handed_over},
            c.actor("commune_police" if ground != "dd" else "commune_officer"),
            body=c.body("commune_police" if ground != "dd" else "commune_committee"),
            doc=c.doc("{n}/CV-CA", "Mẫu số 02"),
            basis=("Law73/2021", "Art 27"),
        )
        c.advance(handed_over)
        c.wait_days(6, 9) if c.chance("determination_late", 0.06) else c.wait_days(1, 5)
    else:
        c.wait_days(1, 7)
    if force_addicted:
        conclusion = "addicted"
    else:
        conclusion = c.choose(
            "conclusion", ("addicted", "observation", "not_addicted"), (80, 4, 16)
        )
    if conclusion == "addicted":
        criteria = sorted(c.rng.sample(range(1, 7), c.rng.randint(3, 6)))
    elif conclusion == "observation":
        criteria = sorted(c.rng.sample(range(1, 6), 2))
    else:
        criteria = c.rng.choice(([1], [2], [3, 6], []))
    determined = c.record(
        "AddictionDetermined",
        {
            "facility": f"Trung tâm Y tế {c.district.label}",
            "physician": f"BS. {health.name}",
            "criteria_met": criteria,
            "conclusion": conclusion,
            "substances": list(c.substances) if conclusion != "not_addicted" else [],
            "returned_on": c.t.date(),
        },
        health.actor,
        body=c.body("health_facility"),
        doc=c.doc("{n}/KQ-TTYT", "Mẫu số 05" if not c.pre22 else None),
        basis=("TT18/2021", "Art 4") if not c.pre22 else ("TTLT17/2015", None),
        pin=True,
    )
    if conclusion == "observation":
        c.wait_days(25, 40)
        return determination(c, None, force_addicted=c.rng.random() < 0.6)
    return conclusion, determined


def after_determination(c: Course, conclusion: str) -> Step | None:
    if conclusion == "addicted":
        return register
    if not c.pre22 and c.stable:
        return user_management
    return closing("other", "Kết luận không nghiện ma túy; chuyển Công an xã theo dõi")


def volunteered(c: Course) -> Step | None:
    """The person (or a minor's parent) comes to the commune to be determined and treated."""
    c.substances = pick_substances(c)
    if c.rng.random() < 0.5:
        drug_test(c, c.wait(hours=2), True, c.actor("health_worker"), c.district.code, pin=True)
    conclusion, _ = determination(c, ground="dd" if c.t >= REGIME_22 else None)
    return after_determination(c, conclusion)


def found_without_residence(c: Course) -> Step | None:
    c.stable = False
    c.substances = pick_substances(c)
    drug_test(c, c.wait(hours=1), True, c.actor("commune_police"), c.commune.code, pin=True)
    conclusion, _ = determination(c, ground="b" if c.t >= REGIME_22 else None)
    return after_determination(c, conclusion)


def transferred_in(c: Course) -> Step | None:
    """A file sent from another province: management continues here."""
    c.substances = pick_substances(c)
    note(c, "normal", "Tiếp nhận hồ sơ chuyển đến từ Công an xã nơi cư trú cũ tại tỉnh Bắc Ninh.")
    if c.pre22:
        return register
    return user_management


def released_elsewhere(c: Course) -> Step | None:
    """Back home after compulsory rehab in a facility of another province."""
    c.substances = pick_substances(c)
    c.completed = "compulsory_minor" if c.minor else "compulsory_adult"
    c.wait_wd(0, 3)
    c.record(
        "ReturnReported",
        {"reported_to": "commune_police"},
        c.actor("commune_police"),
        body=c.body("commune_police"),
        basis=("ND116/2021", "Art 62") if not c.pre22 else None,
    )
    return post_rehab


# --- phase: voluntary treatment and OST -------------------------------------------------------


def register(c: Course) -> Step | None:
    """After an addiction finding: register for voluntary rehab or OST (22+: within 5 wd)."""
    c.rounds += 1
    if c.rounds > 6:
        return closing("other", "Chuyển theo dõi tại cộng đồng")
    if c.pre22:
        if not c.stable and not c.minor:
            c.violation = "not_registered"
            return dossier
        route = c.choose("pre22_route", ("voluntary", "education"), (70, 30))
        if route == "education" and not c.had_commune_education and not c.minor:
            return commune_education
        c.wait_wd(1, 10)
    else:
        how = c.choose("registration", ("on_time", "late", "none"), (66, 10, 24))
        if how == "none":
            c.until(add_working_days(c.t.date(), c.rng.randint(6, 9)))
            return violation(c, "not_registered")
        c.wait_wd(1, 5) if how == "on_time" else c.wait_wd(7, 15)
    opioid = bool(OPIOIDS & set(c.substances))
    if opioid and c.chance("ost_if_opioid", 0.7):
        setting = "ost"
    else:
        setting = c.choose("setting", ("family", "community", "facility"), (35, 40, 25))
    c.setting = setting
    provider = treatment_provider(c, setting)
    c.planned_months = 24 if setting == "ost" else c.rng.choice((6, 6, 9, 12))
    old = ("ND94/2010", None) if setting != "ost" else ("ND90/2016", None)
    c.record(
        "VoluntaryTreatmentRegistered",
        {"setting": setting, "registered_at_unit": c.commune.code},
        c.actor("commune_officer"),
        body=c.body("commune_committee"),
        doc=c.doc("{n}/ĐK-UBND", "Mẫu số 22" if not c.pre22 else None),
        basis=("ND116/2021", "Art 28") if not c.pre22 else old,
    )
    c.wait_wd(5, 8) if c.chance("voluntary_decision_late", 0.07) else c.wait_wd(1, 3)
    c.record(
        "VoluntaryTreatmentDecided",
        {"setting": setting, "provider": provider, "planned_months": c.planned_months},
        c.actor("commune_officer"),
        body=c.body("rehab_facility", PROVINCE)
        if setting == "facility"
        else c.body("commune_committee"),
        doc=c.doc(
            "{n}/QĐ-UBND" if setting != "facility" else "{n}/HĐ-CSCN",
            ("Mẫu số 24" if setting != "facility" else "Mẫu số 28") if not c.pre22 else None,
        ),
        basis=("ND116/2021", "Art 30" if setting != "facility" else "Art 36")
        if not c.pre22
        else old,
    )
    return voluntary


def treatment_provider(c: Course, setting: str) -> str:
    if setting == "ost":
        return f"Cơ sở điều trị Methadone {c.district.label}"
    if setting == "facility":
        c.facility = c.rng.choice(VOLUNTARY_FACILITIES)
        return c.facility.name
    if setting == "community":
        return f"Tổ công tác cai nghiện {c.commune.label}"
    return f"Gia đình, dưới sự hỗ trợ của Tổ công tác cai nghiện {c.commune.label}"


def voluntary(c: Course) -> Step | None:
    if c.setting == "ost":
        return ost(c)
    if c.setting == "facility":
        return voluntary_at_facility(c)
    provider = treatment_provider(c, c.setting)
    by = c.actor("commune_officer")
    basis = ("ND116/2021", "Art 31") if not c.pre22 else ("ND94/2010", None)
    if c.chance("not_performed", 0.05):
        c.wait_wd(6, 9)
        c.record(
            "TreatmentQuit",
            {"kind": "not_performed"},
            by,
            body=c.body("commune_committee"),
            basis=basis,
        )
        return violation(c, "not_performed")
    c.wait_wd(1, 4)
    c.record(
        "TreatmentStarted",
        {"setting": c.setting, "provider": provider},
        by,
        body=c.body("commune_committee"),
        basis=basis,
    )
    end = c.office(add_months(c.t.date(), c.planned_months))
    outcome = c.choose("treatment_outcome", ("completed", "quit", "used"), (68, 16, 16))
    if outcome == "completed":
        accompany(c, end, "community")
        c.record(
            "TreatmentCompleted",
            {"setting": c.setting, "certificate_no": f"{c.rng.randint(1, 300)}/GCN-UBND"},
            c.actor("commune_officer"),
            body=c.body("commune_committee"),
            doc=c.doc("{n}/GCN-UBND", "Mẫu số 26a" if not c.pre22 else None),
            basis=("ND116/2021", "Art 32") if not c.pre22 else ("ND94/2010", None),
        )
        c.completed = "voluntary"
        return post_rehab
    accompany(c, c.t + (end - c.t) * c.rng.uniform(0.2, 0.8), "community")
    if outcome == "quit":
        c.record(
            "TreatmentQuit",
            {"kind": "quit", "last_attended_on": c.t.date() - timedelta(days=c.rng.randint(5, 12))},
            c.actor("commune_officer"),
            body=c.body("commune_committee"),
            basis=basis,
        )
        return violation(c, "quit")
    drug_test(c, c.t, True, c.actor("commune_police"), c.commune.code)
    return violation(c, "used_during_treatment")


def voluntary_at_facility(c: Course) -> Step | None:
    facility = c.facility
    staff = c.facility_staff(facility)
    c.wait_wd(1, 5)
    c.record(
        "AdmittedToFacility",
        {"facility": facility.name, "admission_kind": "voluntary"},
        staff,
        body=c.body("rehab_facility", PROVINCE),
    )
    c.record(
        "TreatmentStarted",
        {"setting": "facility", "provider": facility.name},
        staff,
        at=c.wait(hours=2),
        body=c.body("rehab_facility", PROVINCE),
    )
    end = c.office(add_months(c.t.date(), c.planned_months))
    if c.chance("facility_quit", 0.15):
        accompany(c, c.t + (end - c.t) * c.rng.uniform(0.1, 0.6), "facility")
        kind = c.rng.choice(("quit", "expelled"))
        c.record(
            "TreatmentQuit",
            {"kind": kind, "last_attended_on": c.t.date()},
            staff,
            body=c.body("rehab_facility", PROVINCE),
        )
        c.record(
            "ReleasedFromFacility",
            {"facility": facility.name},
            staff,
            at=c.wait(hours=1),
            body=c.body("rehab_facility", PROVINCE),
        )
        return violation(c, "quit")
    accompany(c, end, "facility")
    certificate = f"{c.rng.randint(1, 500)}/GCN-CSCN"
    c.record(
        "ReleasedFromFacility",
        {"facility": facility.name, "certificate_no": certificate},
        staff,
        body=c.body("rehab_facility", PROVINCE),
        basis=("ND116/2021", "Art 38") if not c.pre22 else None,
    )
    c.record(
        "TreatmentCompleted",
        {"setting": "facility", "certificate_no": certificate},
        staff,
        at=c.wait(minutes=30),
        body=c.body("rehab_facility", PROVINCE),
        doc=c.doc(certificate, "Mẫu số 26b" if not c.pre22 else None),
    )
    c.completed = "voluntary"
    return post_rehab


def ost(c: Course) -> Step | None:
    clinic = f"Cơ sở điều trị Methadone {c.district.label}"
    staff = c.actor("ost_staff")
    c.wait_wd(1, 5)
    c.record(
        "TreatmentStarted",
        {"setting": "ost", "provider": clinic},
        staff,
        body=c.body("ost_clinic"),
        basis=("ND116/2021", "Art 28") if not c.pre22 else None,
    )
    outcome = c.choose("ost_outcome", ("ongoing", "quit", "completed"), (55, 30, 15))
    if outcome == "ongoing":
        accompany(c, HORIZON + timedelta(days=1), "ost")
        return None
    if outcome == "quit":
        accompany(c, c.t + timedelta(days=c.rng.randint(60, 700)), "ost")
        c.record(
            "TreatmentQuit",
            {"kind": "quit", "last_attended_on": c.t.date() - timedelta(days=c.rng.randint(5, 15))},
            staff,
            body=c.body("ost_clinic"),
        )
        return violation(c, "ost_quit")
    accompany(c, c.t + timedelta(days=c.rng.randint(540, 1000)), "ost")
    c.record(
        "TreatmentCompleted",
        {"setting": "ost", "certificate_no": f"{c.rng.randint(1, 200)}/XN-MMT"},
        staff,
        body=c.body("ost_clinic"),
    )
    c.completed = "voluntary"
    return post_rehab


def violation(c: Course, kind: str) -> Step | None:
    """A violation record (22+ Form 27), the basis for a compulsory dossier."""
    c.violation = kind
    c.wait_days(0, 3)
    c.record(
        "ViolationRecorded",
        {"violation": kind},
        c.actor("commune_police"),
        body=c.body("commune_committee"),
        doc=c.doc("{n}/BB-VPHC", "Mẫu số 27" if not c.pre22 else None),
        basis=("ND116/2021", "Art 33") if not c.pre22 else None,
    )
    if c.pre22:
        if c.stable and not c.had_commune_education and not c.minor:
            return commune_education
        return dossier if not c.minor else register
    if not c.minor or c.t >= PL01_START:
        return dossier
    return register  # a minor before PL 01/2022: no court route yet, try again at home


# --- phase: support (counselling, self-help, visits, referrals, notes) ------------------------


def counselling(c: Course, phase: str, pin: bool = False) -> str:
    counsellor = c.staff("counsellor")
    in_facility = phase == "facility"
    mode = c.rng.choices(("individual", "family", "group", "thematic_talk"), (55, 20, 15, 10))[0]
    return c.record(
        "CounsellingSessionHeld",
        {
            "mode": mode,
            "topics": c.rng.sample(COUNSELLING_TOPICS, c.rng.randint(1, 3)),
            "duration_minutes": c.rng.choice((30, 45, 60, 60, 90)),
            "counsellor": counsellor.name
            if not in_facility
            else f"Cán bộ tư vấn {c.facility.name}",
            "counselling_point": f"Điểm tư vấn {c.commune.label}"
            if not in_facility
            else c.facility.name,
        },
        counsellor.actor if not in_facility else c.facility_staff(c.facility),
        body=c.body("counselling_point") if not in_facility else c.body("rehab_facility", PROVINCE),
        pin=pin,
    )


def self_help(c: Course, phase: str) -> None:
    group = (
        f"NTL-{c.commune.code[-5:]}" if c.rng.random() < 0.7 else f"CLB-B93-{c.district.code[-3:]}"
    )
    c.record(
        "SelfHelpGroupAttended",
        {"group_id": group, "session_on": c.t.date()},
        c.actor(c.rng.choice(("counsellor", "volunteer"))),
        body=c.body("counselling_point"),
    )


def home_visit(c: Course, phase: str) -> None:
    visitor = c.staff(c.rng.choice(("volunteer", "commune_police", "counsellor")))
    c.record(
        "HomeVisitMade",
        {"visitor": visitor.name, "outcome": c.rng.choice(VISIT_OUTCOMES)},
        visitor.actor,
    )


def negative_test(c: Course, phase: str) -> None:
    if phase == "ost":
        drug_test(c, c.t, False, c.actor("ost_staff"), c.district.code)
    elif phase == "facility":
        drug_test(c, c.t, False, c.facility_staff(c.facility), PROVINCE)
    else:
        drug_test(c, c.t, False, c.actor("commune_police"), c.commune.code)


def check_in(c: Course, phase: str) -> None:
    kind = c.rng.choices(("visit", "contact", "report", "drug_test"), (35, 25, 25, 15))[0]
    by = c.staff(c.rng.choice(("commune_police", "volunteer")))
    c.record(
        "PostRehabCheckIn", {"kind": kind, "by": by.name}, by.actor, body=c.body("commune_police")
    )
    if kind == "drug_test" and c.rng.random() < 0.5:
        drug_test(c, c.wait(minutes=20), False, c.actor("commune_police"), c.commune.code)


def note(c: Course, sensitivity: str | None = None, text: str | None = None) -> None:
    if text is None:
        sensitivity, text = c.rng.choice(NOTES)
    c.record(
        "NoteAdded",
        {"text": text, "sensitivity": sensitivity or "normal"},
        c.actor(c.rng.choice(("commune_officer", "counsellor", "commune_police"))),
    )


REFERRAL_SERVICES = {
    "user": (
        ("hiv_care", 3),
        ("mental_health", 2),
        ("general_health", 3),
        ("legal_aid", 2),
        ("social_assistance", 2),
        ("detox", 1),
        ("ost", 2),
    ),
    "community": (
        ("hiv_care", 3),
        ("mental_health", 2),
        ("general_health", 2),
        ("legal_aid", 1),
        ("vocational_training", 3),
        ("social_assistance", 2),
        ("ost", 1),
    ),
    "ost": (
        ("hiv_care", 4),
        ("mental_health", 2),
        ("general_health", 3),
        ("job_placement", 2),
        ("social_assistance", 2),
    ),
    "facility": (
        ("vocational_training", 5),
        ("hiv_care", 2),
        ("general_health", 2),
        ("legal_aid", 1),
    ),
    "post_rehab": (
        ("job_placement", 4),
        ("loan", 3),
        ("vocational_training", 3),
        ("social_assistance", 2),
        ("legal_aid", 1),
        ("other", 1),
    ),
}


def provider_for(c: Course, service: str, phase: str) -> str:
    d = c.district.label
    if phase == "facility" and service in ("vocational_training", "general_health"):
        return (
            f"Tổ dạy nghề, {c.facility.name}"
            if service == "vocational_training"
            else "Bệnh viện Đa khoa Đức Giang"
        )
    return {
        "ost": f"Cơ sở điều trị Methadone {d}",
        "detox": VOLUNTARY_FACILITIES[0].name,
        "hiv_care": f"Phòng khám ngoại trú HIV/AIDS - Trung tâm Y tế {d}",
        "mental_health": MENTAL_HOSPITAL,
        "general_health": f"Trạm Y tế {c.commune.label}",
        "vocational_training": f"Trung tâm Giáo dục nghề nghiệp - Giáo dục thường xuyên {d}",
        "job_placement": JOB_CENTRE,
        "loan": f"Ngân hàng Chính sách xã hội {d}",
        "legal_aid": LEGAL_AID,
        "social_assistance": f"Phòng Lao động - Thương binh và Xã hội {d}",
        "education": f"Trường THCS {c.commune.name}",
        "other": f"Hội Liên hiệp Phụ nữ {c.commune.label}",
    }[service]


def referral(c: Course, phase: str, service: str | None = None) -> None:
    """A referral and, as the answers come in, its acceptance, completion or refusal."""
    if service is None:
        options = REFERRAL_SERVICES[phase]
        service = c.rng.choices([s for s, _ in options], [w for _, w in options])[0]
        if c.minor and c.rng.random() < 0.5:
            service = "education"
    if "referral" not in c.consents:
        consent(c, "referral")
        c.wait(minutes=c.rng.randint(5, 30))
    by = c.actor("counsellor") if phase != "facility" else c.facility_staff(c.facility)
    body = (
        c.body("counselling_point") if phase != "facility" else c.body("rehab_facility", PROVINCE)
    )
    c.referrals += 1
    referral_id = f"CG-{c.t.year}-{c.referrals:03d}"
    reason = {
        "education": "Hỗ trợ quay lại trường học",
        "loan": "Vay vốn tự tạo việc làm",
        "job_placement": "Giới thiệu việc làm sau cai nghiện",
    }.get(service, "Theo nhu cầu và đánh giá của cán bộ tư vấn")
    wrong = c.chance("void_referral", 0.01)
    if wrong:  # entered with the wrong provider: voided, then entered again
        made = c.record(
            "ReferralMade",
            {
                "referral_id": referral_id,
                "service": service,
                "provider": f"Trạm Y tế {c.commune.label}",
                "reason": reason,
            },
            by,
            body=body,
        )
        c.wait(hours=c.rng.uniform(2, 48))
        c.record(
            "EntryVoided",
            {"voids_event_id": made, "reason": "Nhập nhầm nơi tiếp nhận chuyển gửi"},
            c.actor("commune_officer"),
        )
        c.referrals += 1
        referral_id = f"CG-{c.t.year}-{c.referrals:03d}"
    c.record(
        "ReferralMade",
        {
            "referral_id": referral_id,
            "service": service,
            "provider": provider_for(c, service, phase),
            "reason": reason,
        },
        by,
        body=body,
    )
    answer = c.choose(
        "referral_answer",
        ("completed", "accepted", "declined_provider", "declined_person", "none"),
        (62, 14, 9, 10, 5),
    )
    if answer == "none":
        return
    if answer.startswith("declined"):
        declined_by = answer.removeprefix("declined_")
        why = (
            "Không đủ điều kiện tiếp nhận"
            if declined_by == "provider"
            else "Đối tượng không có nhu cầu"
        )
        c.later(
            (2, 20),
            lambda: c.record(
                "ReferralDeclined",
                {"referral_id": referral_id, "declined_by": declined_by, "reason": why},
                by,
            ),
        )
        return
    c.later((1, 10), lambda: c.record("ReferralAccepted", {"referral_id": referral_id}, by))
    if answer == "completed":
        outcome = {
            "vocational_training": "Hoàn thành khóa học nghề 3 tháng",
            "job_placement": "Đã có việc làm ổn định",
            "loan": "Được vay 50 triệu đồng",
        }.get(service, "Đã được cung cấp dịch vụ")
        c.later(
            (25, 150),
            lambda: c.record(
                "ReferralCompleted", {"referral_id": referral_id, "outcome": outcome}, by
            ),
        )


ACTIVITIES: dict[str, tuple[tuple[Callable[[Course, str], Any], int], ...]] = {
    "user": ((counselling, 18), (home_visit, 26), (negative_test, 30), (note, 8), (referral, 7)),
    "community": (
        (counselling, 28),
        (home_visit, 20),
        (self_help, 25),
        (referral, 10),
        (note, 5),
        (negative_test, 12),
    ),
    "ost": (
        (counselling, 25),
        (negative_test, 30),
        (home_visit, 15),
        (self_help, 12),
        (referral, 8),
        (note, 5),
    ),
    "facility": ((counselling, 45), (referral, 15), (note, 10), (negative_test, 10)),
    "post_rehab": (
        (check_in, 45),
        (self_help, 18),
        (counselling, 12),
        (referral, 10),
        (home_visit, 8),
        (note, 5),
    ),
}
MEAN_GAP_DAYS = {"user": 30, "community": 28, "ost": 60, "facility": 75, "post_rehab": 32}


def accompany(c: Course, until: datetime, phase: str) -> None:
    """Routine follow-up until ``until``; also where the course's planned extras happen."""
    table = ACTIVITIES[phase]
    gap = MEAN_GAP_DAYS[phase]
    while True:
        nxt = c.t + timedelta(days=gap * c.rng.uniform(0.3, 1.7))
        if nxt >= until:
            break
        c.advance(c.office(nxt.date()))
        extra = next((e for e in c.extras if phase in EXTRA_PHASES[e]), None)
        if extra is not None and (extra in c.fixed or c.rng.random() < 0.3):
            c.extras.remove(extra)
            EXTRA_ACTIONS[extra](c, phase)
            continue
        activity = c.rng.choices([a for a, _ in table], [w for _, w in table])[0]
        activity(c, phase)
    # extras a plan insists on happen before the phase ends
    for extra in [e for e in c.extras if phase in EXTRA_PHASES[e] and e in c.fixed]:
        c.extras.remove(extra)
        c.advance(c.t + (until - c.t) / 3)
        EXTRA_ACTIONS[extra](c, phase)
    c.advance(until)


# --- extras: things that happen once in some courses ---


def update_details(c: Course, phase: str) -> None:
    if c.person.get("national_id") is None or len(c.person["national_id"]) == 9:
        c.person["national_id"] = national_id(c.rng, c.plan.birth, c.plan.sex)
        change = {
            "national_id": c.person["national_id"],
            "reason": "Được cấp thẻ Căn cước công dân",
        }
    else:
        c.person["address"] = address(c.rng, c.commune)
        change = {"address": c.person["address"], "reason": "Chuyển chỗ ở trong cùng xã/phường"}
    c.record(
        "PersonDetailsUpdated", change, c.actor("commune_police"), body=c.body("commune_police")
    )


def transfer(c: Course, phase: str) -> None:
    """The person moves to another commune of the province; the case follows (U9, P4)."""
    old = c.commune
    new = c.rng.choice([x for x in c.world.communes if x.code != old.code])
    c.person["residence_unit"], c.person["address"] = new.code, address(c.rng, new)
    c.record(
        "PersonDetailsUpdated",
        {"residence_unit": new.code, "address": c.person["address"], "reason": "Chuyển nơi cư trú"},
        c.actor("commune_police"),
        body=c.body("commune_police"),
    )
    c.wait_wd(1, 5)
    c.record(
        "CaseTransferred",
        {
            "from_unit": old.code,
            "to_unit": new.code,
            "reason": f"Chuyển nơi cư trú về {new.label}, {new.district.label}",
        },
        c.actor("commune_officer"),
        body=c.body("commune_committee"),
        doc=c.doc("{n}/CV-CA", "Mẫu số 08" if phase == "user" else "Mẫu số 53"),
        basis=("ND105/2021", "Art 47") if phase == "user" and not c.pre22 else None,
    )
    c.commune = new
    c.wait_wd(1, 4)
    assign(c)


def void_entry(c: Course, phase: str) -> None:
    """An entry made in error is voided; a wrong test result is entered again correctly."""
    if c.rng.random() < 0.5:
        counselling(c, phase, pin=True)
        duplicate = counselling(c, phase, pin=True)  # a colleague enters the same session again
        c.later(
            (1, 10),
            lambda: c.record(
                "EntryVoided",
                {"voids_event_id": duplicate, "reason": "Nhập trùng buổi tư vấn"},
                c.actor("commune_officer"),
            ),
            allowed_when_closed=True,
        )
        return
    police = c.actor("commune_police")
    substances, c.substances = c.substances, ["methamphetamine"]
    wrong = drug_test(c, c.t, True, police, c.commune.code, pin=True)
    c.substances = substances
    at = c.t

    def void_and_reenter() -> None:
        c.record(
            "EntryVoided",
            {"voids_event_id": wrong, "reason": "Nhập nhầm kết quả xét nghiệm của người khác"},
            c.actor("commune_officer"),
        )
        drug_test(c, at, False, police, c.commune.code)

    c.later((1, 6), void_and_reenter)


def withdraw_consent(c: Course, phase: str) -> None:
    scope = "data_sharing" if "data_sharing" in c.consents else "referral"
    if scope not in c.consents:
        consent(c, scope)
        c.wait_days(10, 60)
    c.consents.discard(scope)
    c.record(
        "ConsentWithdrawn",
        {"scope": scope},
        c.actor("counsellor"),
        body=c.body("counselling_point"),
    )


def correct_duration(c: Course, phase: str) -> None:
    session = counselling(c, phase, pin=True)
    c.later(
        (1, 15),
        lambda: c.correct(session, {"duration_minutes": 45}, "Ghi sai thời lượng buổi tư vấn"),
        allowed_when_closed=True,
    )


def absence(c: Course, phase: str) -> None:
    in_advance = c.rng.random() < 0.6
    start = c.t.date() + timedelta(
        days=c.rng.randint(2, 10) if in_advance else -c.rng.randint(20, 40)
    )
    end = start + timedelta(days=c.rng.randint(7, 30))
    if not in_advance:
        c.until(max(end, c.t.date()) + timedelta(days=1))
    c.record(
        "PostRehabAbsenceReported",
        {"from_on": start, "to_on": end, "reported_in_advance": in_advance},
        c.actor("commune_police"),
        body=c.body("commune_police"),
        basis=("ND116/2021", "Art 79") if not c.pre22 else None,
    )
    note(c, "normal", f"Vắng mặt tại nơi cư trú: {c.rng.choice(ABSENCE_REASONS)}.")


def moved_away(c: Course, phase: str) -> None:
    raise Closing("moved_away", "Chuyển đi tỉnh Bắc Ninh; đã gửi thông báo cho Công an xã nơi đến")


def died(c: Course, phase: str) -> None:
    note(c, "restricted", "Gia đình báo tin đối tượng đã chết do bệnh.")
    raise Closing("deceased", "Có giấy báo tử của UBND xã")


EXTRAS = (
    ("update_details", 0.12),
    ("transfer", 0.06),
    ("void", 0.04),
    ("withdraw_consent", 0.04),
    ("correct_duration", 0.02),
    ("absence", 0.15),
    ("moved_away", 0.015),
    ("died", 0.008),
    ("refer", 0.0),
)
EXTRA_ACTIONS: dict[str, Callable[[Course, str], None]] = {
    "update_details": update_details,
    "transfer": transfer,
    "void": void_entry,
    "withdraw_consent": withdraw_consent,
    "correct_duration": correct_duration,
    "absence": absence,
    "moved_away": moved_away,
    "died": died,
    "refer": referral,
}
_AT_HOME = frozenset({"user", "community", "ost", "post_rehab"})
EXTRA_PHASES: dict[str, frozenset[str]] = {
    "update_details": _AT_HOME,
    "transfer": _AT_HOME,
    "void": _AT_HOME,
    "withdraw_consent": _AT_HOME,
    "correct_duration": _AT_HOME,
    "absence": frozenset({"post_rehab"}),
    "moved_away": _AT_HOME,
    "died": _AT_HOME,
    "refer": _AT_HOME,
}


# --- phase: compulsory rehab (commune education, dossier, court, execution) --------------------


def commune_education(c: Course) -> Step | None:
    """Before 2022: the commune education measure comes before compulsory rehab (O2)."""
    c.had_commune_education = True
    c.wait_wd(3, 10)
    if not c.pre22:  # the measure no longer precedes compulsory rehab from 2022
        return dossier
    months = c.rng.choice((3, 3, 4, 6))
    c.record(
        "CommuneEducationDecided",
        {"months": months},
        c.actor("commune_officer"),
        body=c.body("commune_committee"),
        doc=c.doc("{n}/QĐ-UBND"),
        basis=("LXLVPHC2012", "Art 90"),
    )
    end = c.office(add_months(c.t.date(), months))
    if c.choose("education_outcome", ("still_using", "completed"), (65, 35)) == "completed":
        accompany(c, end, "community")
        return closing("management_completed", "Chấp hành xong biện pháp giáo dục tại xã, phường")
    accompany(c, c.t + (end - c.t) * c.rng.uniform(0.3, 1.0), "community")
    detection(c, at=c.t, again=True)
    c.violation = "used_during_treatment"
    return dossier


DOSSIER_GROUNDS = {
    "not_registered": "Law73 Art 32(1)",
    "not_performed": "Law73 Art 32(1)",
    "quit": "Law73 Art 32(1)",
    "used_during_treatment": "Law73 Art 32(2)",
    "ost_quit": "Law73 Art 32(3)",
    "relapse_in_post_rehab": "Law73 Art 32(4)",
}


def dossier(c: Course) -> Step | None:
    """Compile the compulsory-rehab dossier and take it through the Labour office and the court."""
    c.rounds += 1
    c.dossiers += 1
    c.wait_wd(7, 12) if c.chance("dossier_late", 0.08) else c.wait_wd(1, 5)
    minor = c.minor_route = c.minor
    did = f"HS-{c.commune.code[-5:]}-{c.t.year}-{c.dossiers:02d}"
    c.dossier_id = did
    police = c.actor("commune_police")
    basis: tuple[str, str | None]
    if c.pre22:
        ground, basis = "LXLVPHC2012 Art 96", ("ND221/2013", None)
    else:
        ground = "Law73 Art 33" if minor else DOSSIER_GROUNDS.get(c.violation, "Law73 Art 32(1)")
        basis = ("ND116/2021", "Art 50" if minor else "Art 40")
    c.record(
        "DossierOpened",
        {
            "dossier_id": did,
            "compiler_unit": c.commune.code,
            "ground": ground,
            "route": "minor" if minor else "adult",
            "residence_status": "stable" if c.stable else "not_stable",
        },
        police,
        body=c.body("commune_committee"),
        doc=c.doc("{n}/CV-UBND", "Mẫu số 29" if not c.pre22 else None),
        basis=basis,
    )
    if not c.pre22:
        interim(c, did, minor)
    if not c.chance("dossier_not_served", 0.05):
        c.wait_wd(1, 3)
        served_on = (
            "parent" if minor else c.rng.choices(("person", "legal_representative"), (92, 8))[0]
        )
        c.record(
            "DossierServed",
            {"dossier_id": did, "served_on": served_on},
            police,
            body=c.body("commune_committee"),
            doc=c.doc("{n}/TB-UBND", "Mẫu số 32" if not c.pre22 else None),
            basis=("ND116/2021", "Art 42") if not c.pre22 else None,
        )
    reading_ends = add_working_days(c.t.date(), 3)
    check_on = add_working_days(reading_ends, c.rng.randint(1, 3))
    if check_on < REGIME_22.date():  # from 2022 the dossier is finished under the new law
        legality_check(c, did, check_on)
    if c.chance("late_to_labour_office", 0.12):
        c.until(add_working_days(max(reading_ends, c.t.date()), c.rng.randint(5, 8)))
    else:
        c.until(add_working_days(max(reading_ends, c.t.date()), 1))
    c.record(
        "DossierSentToLabourOffice",
        {"dossier_id": did, "pages": c.rng.randint(18, 90)},
        c.actor("commune_officer"),
        body=c.body("commune_committee"),
        basis=("ND116/2021", "Art 42") if not c.pre22 else ("LXLVPHC2012", "Art 104"),
    )
    if c.chance("labour_office_returns", 0.08):
        returned_for_supplement(c, did, "labour_office")
    labour = c.actor("labour_officer")
    c.wait_wd(3, 6) if c.chance("labour_office_late", 0.1) else c.wait_wd(1, 2)
    facility = MINORS_FACILITY if minor else c.rng.choice(COMPULSORY_FACILITIES)
    c.facility = facility
    to_court = {
        "dossier_id": did,
        "court_unit": c.district.code,
        "proposed_facility": facility.name,
    }
    if minor:
        to_court["child_rights_note"] = (
            "Đề nghị bảo đảm quyền được học tập của người chưa thành niên; "
            "gia đình có ý kiến đồng ý tại Mẫu số 38"
        )
    c.record(
        "DossierSentToCourt",
        to_court,
        labour,
        body=c.body("labour_office"),
        doc=c.doc(
            "{n}/CV-LĐTBXH", ("Mẫu số 39" if minor else "Mẫu số 34") if not c.pre22 else None
        ),
        basis=("ND116/2021", "Art 53" if minor else "Art 43")
        if not c.pre22
        else ("LXLVPHC2012", "Art 104"),
    )
    if c.chance("court_returns", 0.05):
        returned_for_supplement(c, did, "court")
        c.wait_wd(1, 2)
        c.record("DossierSentToCourt", to_court, labour, body=c.body("labour_office"))
    return court


def interim(c: Course, did: str, minor: bool) -> None:
    """22+: management while the dossier is pending (M1): at home with the family's consent,
    or at a facility."""
    weights = (70, 28, 2) if c.stable else (0, 80, 20)
    form = c.choose("interim_form", ("family", "facility", "social_reception_centre"), weights)
    if form == "family" and not c.stable:
        form = "facility"
    c.wait_wd(0, 1)
    if form == "family":
        c.record(
            "ConsentRecorded",
            {
                "scope": "family_management",
                "given_by": "guardian" if minor else "legal_representative",
            },
            c.actor("commune_officer"),
            body=c.body("commune_committee"),
            doc=c.doc("{n}/ĐN", "Mẫu số 35"),
        )
    facility = (
        None
        if form == "family"
        else (INTERIM_FACILITY.name if form == "facility" else SOCIAL_RECEPTION_CENTRE)
    )
    data: dict[str, Any] = {"dossier_id": did, "form": form, "family_consent": form == "family"}
    if facility:
        data["facility"] = facility
    c.record(
        "InterimManagementDecided",
        data,
        c.actor("commune_officer"),
        body=c.body("commune_committee"),
        doc=c.doc("{n}/QĐ-UBND", "Mẫu số 36"),
        basis=("ND116/2021", "Art 44"),
    )
    if form == "facility":
        c.wait(hours=c.rng.uniform(2, 24))
        c.record(
            "AdmittedToFacility",
            {"facility": INTERIM_FACILITY.name, "admission_kind": "interim"},
            c.facility_staff(INTERIM_FACILITY),
            body=c.body("rehab_facility", PROVINCE),
            doc=c.doc("{n}/BB-BG", "Mẫu số 37"),
        )
    if c.chance("abscond_interim", 0.03):
        c.wait_days(2, 8)
        by = c.facility_staff(INTERIM_FACILITY) if form == "facility" else c.actor("commune_police")
        c.record("Absconded", {"phase": "interim"}, by, basis=("ND116/2021", "Art 48"))
        c.wait_days(0, 2)
        c.record(
            "SearchDecided",
            {},
            c.actor("commune_officer"),
            body=c.body("commune_committee"),
            doc=c.doc("{n}/QĐ-UBND"),
        )
        c.wait_days(3, 20)
        c.record(
            "Returned",
            {"how": c.rng.choice(("voluntary", "apprehended"))},
            c.actor("commune_police"),
            body=c.body("commune_police"),
        )


def legality_check(c: Course, did: str, on: date) -> None:
    """Before 2022: the district Justice office checks the dossier's legality (O5)."""
    justice = c.actor("justice_officer")
    c.until(on)
    if c.chance("legality_invalid", 0.08):
        c.record(
            "DossierLegalityChecked",
            {"dossier_id": did, "result": "invalid"},
            justice,
            body=c.body("justice_office"),
            basis=("TT19/2015", None),
        )
        c.wait_wd(2, 5)
        c.record(
            "DossierSupplemented",
            {"dossier_id": did},
            c.actor("commune_police"),
            body=c.body("commune_committee"),
        )
        c.wait_wd(1, 3)
    c.record(
        "DossierLegalityChecked",
        {"dossier_id": did, "result": "valid"},
        justice,
        body=c.body("justice_office"),
        basis=("TT19/2015", None),
    )


def returned_for_supplement(c: Course, did: str, by: str) -> None:
    c.wait_wd(1, 2)
    reasons = c.rng.sample(
        (
            "Thiếu bản sao kết quả xác định tình trạng nghiện",
            "Bản tóm tắt lý lịch chưa có xác nhận",
            "Chưa đánh số bút lục",
            "Thiếu văn bản ý kiến của người bị đề nghị",
        ),
        c.rng.randint(1, 2),
    )
    c.record(
        "DossierReturnedForSupplement",
        {"dossier_id": did, "returned_by": by, "reasons": reasons},
        c.actor("labour_officer" if by == "labour_office" else "court_clerk"),
        body=c.body("labour_office" if by == "labour_office" else "district_court"),
        doc=c.doc(
            "{n}/CV-LĐTBXH" if by == "labour_office" else "{n}/CV-TA",
            "Mẫu số 33" if by == "labour_office" and not c.pre22 else None,
        ),
    )
    c.wait_wd(1, 2) if c.rng.random() < 0.8 else c.wait_wd(4, 7)
    c.record(
        "DossierSupplemented",
        {"dossier_id": did},
        c.actor("commune_police"),
        body=c.body("commune_committee"),
    )


def ordinance(c: Course, minor: bool) -> tuple[str, str]:
    if minor:
        return "PL01_2022", "PL01/2022"
    return ("PL03_2022", "PL03/2022") if c.t >= PL03_START else ("PL09_2014", "PL09/2014")


def court_basis(instrument: str, article: str) -> tuple[str, str | None]:
    """Articles are cited for PL 03/2022 only: those of PL 09/2014 and PL 01/2022 are unverified."""
    return instrument, article if instrument == "PL03/2022" else None


def court(c: Course) -> Step | None:
    """The district court accepts, holds a session, decides; appeals; the decision takes effect."""
    did = c.dossier_id
    minor = c.minor_route
    clerk = c.actor("court_clerk")
    court_body = c.body("district_court")
    c.wait_wd(1, 3)
    code, instrument = ordinance(c, minor)
    judge = c.staff("judge").name
    case_no = f"{c.rng.randint(1, 400)}/{c.t.year}/TLST-BPXLHC"
    wrong_no = c.chance("correct_court_case_no", 0.02)
    accepted = c.record(
        "CourtAccepted",
        {
            "dossier_id": did,
            "court_case_no": case_no.replace("/", "-", 1) if wrong_no else case_no,
            "judge": judge,
            "ordinance": code,
        },
        clerk,
        body=court_body,
        doc=c.doc(case_no),
        basis=court_basis(instrument, "Art 9"),
        pin=wrong_no,
    )
    if wrong_no:
        c.later(
            (1, 20),
            lambda: c.correct(accepted, {"court_case_no": case_no}, "Sửa số thụ lý theo sổ thụ lý"),
            allowed_when_closed=True,
        )
    opened_on = add_working_days(c.t.date(), c.rng.randint(1, 5))
    session_on = add_working_days(opened_on, c.rng.randint(2, 7))
    mode = "online" if c.t.year >= 2021 and c.rng.random() < 0.25 else "in_person"
    c.until(opened_on)
    c.record(
        "CourtSessionScheduled",
        {"dossier_id": did, "session_on": session_on, "mode": mode, "opened_on": opened_on},
        clerk,
        body=court_body,
        doc=c.doc("{n}/{y}/QĐ-MPH"),
        basis=court_basis(instrument, "Art 17"),
    )
    if c.chance("session_postponed", 0.07):
        c.until(session_on)
        session_on = add_working_days(session_on, c.rng.randint(3, 8))
        c.record(
            "CourtSessionPostponed",
            {
                "dossier_id": did,
                "new_session_on": session_on,
                "reason": c.rng.choice(
                    (
                        "Kiểm sát viên vắng mặt",
                        "Người bị đề nghị ốm, có giấy xác nhận",
                        "Đại diện cơ quan đề nghị vắng mặt",
                    )
                ),
            },
            clerk,
            body=court_body,
            basis=court_basis(instrument, "Art 20"),
        )
    c.until(session_on)
    procurator = c.staff("procurator").name
    attendees = [
        f"Thẩm phán {judge}",
        f"Kiểm sát viên {procurator}",
        f"Đại diện Phòng LĐTBXH {c.district.label}",
        "Người bị đề nghị",
    ]
    if minor:
        attendees.append("Cha/mẹ của người bị đề nghị")
    c.record(
        "CourtSessionHeld",
        {"dossier_id": did, "procurator_present": c.rng.random() < 0.98, "attendees": attendees},
        clerk,
        body=court_body,
        basis=court_basis(instrument, "Art 21"),
    )
    c.wait(hours=c.rng.uniform(0.5, 3))
    outcome = c.choose("court_outcome", ("apply", "not_apply"), (93, 7))
    term = c.rng.choice((6, 9, 12, 12)) if minor else c.rng.choices((12, 18, 24), (25, 25, 50))[0]
    decision: dict[str, Any] = {"dossier_id": did, "outcome": outcome, "announced_on": c.t.date()}
    if outcome == "apply":
        decision.update(term_months=term, facility=c.facility.name)
    c.record(
        "CourtDecisionIssued",
        decision,
        clerk,
        body=court_body,
        doc=c.doc("{n}/{y}/QĐ-TA"),
        basis=court_basis(instrument, "Art 21"),
    )
    if outcome != "apply":
        note(
            c,
            "normal",
            "Tòa án quyết định không áp dụng biện pháp; tiếp tục vận động cai nghiện tự nguyện.",
        )
        return register
    c.term_months = term
    announced = c.t.date()
    if c.chance("appeal", 0.07):
        kind = c.choose("appeal_kind", ("complaint", "protest", "petition"), (80, 15, 5))
        filed_by = {
            "complaint": "Người bị đề nghị",
            "protest": f"Viện kiểm sát nhân dân {c.district.label}",
            "petition": f"Phòng LĐTBXH {c.district.label}",
        }[kind]
        c.until(add_working_days(announced, c.rng.randint(1, 5)))
        c.record(
            "CourtDecisionAppealed",
            {"dossier_id": did, "kind": kind, "filed_by": filed_by, "filed_on": c.t.date()},
            clerk,
            body=court_body,
            basis=court_basis(instrument, "Art 32"),
        )
        c.wait_days(10, 25)
        appeal_outcome = c.choose("appeal_outcome", ("upheld", "modified"), (80, 20))
        appeal: dict[str, Any] = {"dossier_id": did, "outcome": appeal_outcome}
        if appeal_outcome == "modified":
            c.term_months = max(6 if minor else 12, term - 6)
            appeal["term_months"] = c.term_months
        c.record(
            "AppealDecided",
            appeal,
            c.actor("court_clerk", PROVINCE),
            body=c.body("provincial_court", PROVINCE),
            doc=c.doc("{n}/{y}/QĐ-PT"),
            basis=court_basis(instrument, "Art 37"),
        )
        effective = c.t.date()
    else:
        effective = add_working_days(announced, 5) + timedelta(days=1)
        c.until(effective)
    c.record(
        "CourtDecisionTookEffect",
        {"dossier_id": did, "effective_on": effective},
        clerk,
        body=court_body,
        basis=court_basis(instrument, "Art 24"),
    )
    return execution


def execution(c: Course) -> Step | None:
    """Deferral, absconding before admission, escort and admission (E1-E8)."""
    did = c.dossier_id
    received = add_working_days(c.t.date(), c.rng.randint(1, 3))
    if c.chance("execution_deferred", 0.05):
        kind = c.choose("deferral_kind", ("postponed", "exempted"), (85, 15))
        c.wait_wd(2, 6)
        until = add_months(c.t.date(), c.rng.randint(1, 4)) if kind == "postponed" else None
        reason = (
            c.rng.choice(
                (
                    "Đang ốm nặng, có giấy xác nhận của bệnh viện cấp huyện",
                    "Gia đình có hoàn cảnh đặc biệt khó khăn",
                )
            )
            if kind == "postponed"
            else "Mắc bệnh hiểm nghèo"
        )
        deferral: dict[str, Any] = {"dossier_id": did, "kind": kind, "reason": reason}
        if until:
            deferral["until"] = until
        c.record(
            "ExecutionDeferred",
            deferral,
            c.actor("court_clerk"),
            body=c.body("district_court"),
            doc=c.doc("{n}/{y}/QĐ-TA", "Mẫu số 42a" if kind == "postponed" else "Mẫu số 42b"),
            basis=("ND116/2021", "Art 57") if not c.pre22 else ("LXLVPHC2012", "Art 111"),
        )
        if until is None:
            return closing(
                "other", "Được miễn chấp hành quyết định đưa vào cơ sở cai nghiện bắt buộc"
            )
        accompany(c, c.office(until), "community")
        received = c.t.date()
    district_police = c.actor("district_police")
    if c.chance("abscond_before_admission", 0.04):
        c.until(received)
        c.wait_days(1, 3)
        c.record(
            "Absconded",
            {"phase": "before_admission"},
            district_police,
            body=c.body("district_police"),
        )
        c.wait_days(0, 2)
        c.record(
            "SearchDecided",
            {},
            district_police,
            body=c.body("district_police"),
            doc=c.doc("{n}/QĐ-CAH", "Mẫu số 41" if not c.pre22 else None),
            basis=("ND116/2021", "Art 56") if not c.pre22 else ("LXLVPHC2012", "Art 132"),
        )
        c.wait_days(5, 60)
        c.record(
            "Returned",
            {"how": "apprehended" if c.rng.random() < 0.8 else "voluntary"},
            district_police,
            body=c.body("district_police"),
        )
        received = c.t.date()
    c.until(received)
    c.wait_days(8, 25) if c.chance("escort_late", 0.08) else c.wait_days(0, 5)
    custody = c.t - timedelta(hours=c.rng.uniform(1, 6))
    c.custody_start = custody
    c.record(
        "EscortedToFacility",
        {
            "dossier_id": did,
            "facility": c.facility.name,
            "custody_started_at": custody,
            "decision_received_on": received,
        },
        district_police,
        body=c.body("district_police"),
        basis=("ND116/2021", "Art 54") if not c.pre22 else ("LXLVPHC2012", "Art 110"),
    )
    c.wait(hours=c.rng.uniform(1, 4))
    c.record(
        "AdmittedToFacility",
        {"facility": c.facility.name, "admission_kind": "compulsory"},
        c.facility_staff(c.facility),
        body=c.body("rehab_facility", PROVINCE),
        doc=c.doc("{n}/BB-TN", "Mẫu số 40" if not c.pre22 else None),
        basis=("ND116/2021", "Art 55") if not c.pre22 else None,
    )
    return facility_stay


# --- phase: in the facility and release -------------------------------------------------------


def facility_stay(c: Course) -> Step | None:
    facility = c.facility
    staff = c.facility_staff(facility)
    body = c.body("rehab_facility", PROVINCE)
    minor = c.minor_route
    start = c.custody_start
    ends = c.office(add_months(start.date(), c.term_months))
    if c.chance("abscond_from_facility", 0.06):
        accompany(c, start + (ends - start) * c.rng.uniform(0.1, 0.4), "facility")
        c.record("Absconded", {"phase": "in_facility"}, staff, body=body)
        c.wait_days(0, 2)
        c.record(
            "SearchDecided",
            {},
            staff,
            body=body,
            doc=c.doc("{n}/QĐ-CSCN", "Mẫu số 41" if not c.pre22 else None),
            basis=("ND116/2021", "Art 56") if not c.pre22 else ("ND221/2013", None),
        )
        away = c.t
        c.wait_days(4, 80)
        c.record(
            "Returned",
            {"how": "apprehended" if c.rng.random() < 0.7 else "voluntary"},
            staff,
            body=body,
        )
        ends += c.t - away  # time absent does not count toward the term
    if c.chance("term_adjusted", 0.15):
        accompany(c, start + (ends - start) * c.rng.uniform(0.5, 0.75), "facility")
        kind = c.choose(
            "term_adjustment",
            ("reduction", "suspension", "temporary_removal", "exemption"),
            (75, 8, 10, 7),
        )
        months = c.rng.randint(1, 3) if kind == "reduction" else None
        adjustment: dict[str, Any] = {"kind": kind}
        if months:
            adjustment["months"] = months
        c.record(
            "TermAdjusted",
            adjustment,
            staff,
            body=c.body("district_court", facility.district),
            doc=c.doc("{n}/{y}/QĐ-TA", "Mẫu số 45" if kind == "temporary_removal" else None),
            basis=("ND116/2021", "Art 59" if kind == "temporary_removal" else "Art 58")
            if not c.pre22
            else ("LXLVPHC2012", "Art 112"),
        )
        if kind == "reduction" and months:
            ends = c.office(add_months(ends.date(), -months))
        elif kind == "exemption":
            ends = c.t + timedelta(days=c.rng.randint(1, 5))
    if ends > c.t + timedelta(days=30) and not c.chance("no_pre_release_notice", 0.05):
        days_before = (
            c.rng.randint(5, 12) if c.chance("pre_release_late", 0.1) else c.rng.randint(15, 25)
        )
        accompany(c, ends - timedelta(days=days_before), "facility")
        family = "cha mẹ" if minor else c.rng.choice(("vợ", "mẹ", "bố", "anh trai"))
        c.record(
            "PreReleaseNoticeSent",
            {
                "term_ends_on": ends.date(),
                "recipients": [
                    f"Tòa án nhân dân {c.district.label}",
                    f"UBND {c.commune.label}",
                    f"Gia đình ({family})",
                ],
            },
            staff,
            body=body,
            doc=c.doc("{n}/TB-CSCN"),
            basis=("ND116/2021", "Art 62") if not c.pre22 else None,
        )
    accompany(c, ends, "facility")
    c.record(
        "ReleasedFromFacility",
        {"facility": facility.name, "certificate_no": f"{c.rng.randint(1, 900)}/GCN-CSCN"},
        staff,
        body=body,
        doc=c.doc("{n}/GCN-CSCN", "Mẫu số 46" if not c.pre22 else None),
        basis=("ND116/2021", "Art 62") if not c.pre22 else ("ND221/2013", None),
    )
    c.completed = "compulsory_minor" if minor else "compulsory_adult"
    if not c.chance("no_return_report", 0.05):
        c.wait_wd(6, 12) if c.chance("return_report_late", 0.1) else c.wait_wd(1, 5)
        c.record(
            "ReturnReported",
            {"reported_to": c.rng.choice(("commune_police", "commune_committee"))},
            c.actor("commune_police"),
            body=c.body("commune_police"),
            basis=("ND116/2021", "Art 62") if not c.pre22 else None,
        )
    return post_rehab


# --- phase: post-rehab management and relapse -------------------------------------------------


def post_rehab(c: Course) -> Step | None:
    """Management at the place of residence: 2 years after an adult's compulsory rehab, else 1."""
    years = 2 if c.completed == "compulsory_adult" else 1
    if c.pre22:
        years = c.rng.choice((1, 2))
    c.wait_wd(7, 12) if c.chance("post_rehab_decision_late", 0.08) else c.wait_wd(2, 5)
    starts = c.t.date()
    ends = add_months(starts, 12 * years) - timedelta(days=1)
    c.record(
        "PostRehabManagementDecided",
        {
            "starts_on": starts,
            "ends_on": ends,
            "mentor": full_name(c.rng, c.rng.choice(("male", "female"))),
        },
        c.actor("commune_officer"),
        body=c.body("commune_committee"),
        doc=c.doc("{n}/QĐ-UBND", "Mẫu số 51" if not c.pre22 else None),
        basis=("ND116/2021", "Art 78") if not c.pre22 else ("ND94/2009", None),
    )
    end = c.office(ends)
    if c.chance("relapse_in_post_rehab", 0.12):
        accompany(c, c.t + (end - c.t) * c.rng.uniform(0.1, 0.8), "post_rehab")
        return relapse_in_post_rehab
    accompany(c, end, "post_rehab")
    c.wait_wd(0, 5)
    c.record(
        "PostRehabManagementCompleted",
        {"certificate_no": f"{c.rng.randint(1, 200)}/GCN-UBND"},
        c.actor("commune_officer"),
        body=c.body("commune_committee"),
        doc=c.doc("{n}/GCN-UBND", "Mẫu số 54" if not c.pre22 else None),
        basis=("ND116/2021", "Art 81") if not c.pre22 else None,
    )
    return closing("management_completed", "Hoàn thành quản lý sau cai nghiện")


def relapse_in_post_rehab(c: Course) -> Step | None:
    """A surprise test during post-rehab is positive and a doctor finds the person addicted (P6)."""
    police = c.staff("commune_police")
    c.record(
        "PostRehabCheckIn",
        {"kind": "drug_test", "by": police.name},
        police.actor,
        body=c.body("commune_police"),
    )
    c.substances = pick_substances(c)
    test = drug_test(c, c.wait(minutes=30), True, police.actor, c.commune.code, pin=True)
    _, determined = determination(c, ground="d" if not c.pre22 else None, force_addicted=True)
    c.wait(hours=c.rng.uniform(1, 48))
    c.record(
        "RelapseRecorded",
        {"evidence_event_ids": [test, determined], "substances": c.substances},
        police.actor,
        body=c.body("commune_police"),
        basis=("ND116/2021", "Art 3") if not c.pre22 else None,
    )
    if c.pre22 or c.minor:
        return register
    return violation(c, "relapse_in_post_rehab")


def relapse_after_closure(c: Course) -> Step | None:
    """Months after the case closed the person is caught using again: reopen, determine, relapse."""
    c.wait_days(60, 540)
    detected_at = c.t
    c.wait(hours=c.rng.uniform(1, 20))
    c.record(
        "CaseReopened",
        {"reason": "Phát hiện sử dụng ma túy trở lại sau khi kết thúc quản lý"},
        c.actor("commune_officer"),
        body=c.body("commune_committee"),
    )
    test = detection(c, at=detected_at, again=True)
    _, determined = determination(c, ground="a" if not c.pre22 else None, force_addicted=True)
    c.wait(hours=c.rng.uniform(1, 48))
    c.record(
        "RelapseRecorded",
        {"evidence_event_ids": [test, determined], "substances": c.substances},
        c.actor("commune_police"),
        body=c.body("commune_police"),
        basis=("ND116/2021", "Art 3") if not c.pre22 else None,
    )
    return register


# --- phase: closure ---------------------------------------------------------------------------


def closing(reason: str, note_text: str | None, reopen: bool = True) -> Step:
    def close(c: Course) -> Step | None:
        c.wait_wd(0, 4)
        data: dict[str, Any] = {"reason": reason}
        if note_text:
            data["note"] = note_text
        c.record("CaseClosed", data, c.actor("commune_officer"), body=c.body("commune_committee"))
        if c.chance("note_after_closure", 0.05):
            c.wait_days(5, 90)
            note(c, "normal", "Gia đình đến hỏi về việc cấp giấy xác nhận đã hoàn thành quản lý.")
        if (
            reopen
            and reason == "management_completed"
            and c.rounds < 6
            and c.chance("relapse_after_closure", 0.1)
        ):
            return relapse_after_closure
        return None

    return close


# --- people and plans -------------------------------------------------------------------------


def national_id(rng: random.Random, birth: date, sex: str) -> str:
    century = (0 if birth.year < 2000 else 2) + (1 if sex == "female" else 0)
    return f"001{century}{birth.year % 100:02d}{rng.randint(0, 999999):06d}"


def random_plan(rng: random.Random, world: World) -> Plan:
    day = FIRST_START + timedelta(days=rng.randint(0, (LAST_START - FIRST_START).days))
    hour = rng.choices((9, 14, 19, 21, 23, 1), (15, 15, 20, 25, 15, 10))[0]
    start = datetime.combine(day, clock_time(hour, rng.randint(0, 59)), VN)
    group = rng.choices(("minor", "young", "adult", "older"), (6, 50, 36, 8))[0]
    age = {"minor": (12, 17), "young": (18, 30), "adult": (31, 45), "older": (46, 60)}[group]
    source = rng.choices(
        ("detection", "family", "self_registration", "facility_release", "transfer_in", "other"),
        (68, 8, 13, 4, 4, 3),
    )[0]
    return Plan(
        start=start,
        birth=birth_for(rng, day, rng.randint(*age)),
        sex="male" if rng.random() < 0.95 else "female",
        commune=rng.choices(world.communes, world.weights)[0],
        source=source,
        duplicate=rng.random() < 0.01,
    )


def birth_for(rng: random.Random, on: date, age: int) -> date:
    return on - timedelta(days=365 * age + rng.randint(10, 355) + age // 4)


# Scripted plans for the first people: between them every branch, so every event type, is reached
# whatever the seed. Each fixes the start, age, entry and the decisions that matter.
SHOWCASE: tuple[dict[str, Any], ...] = (
    # before 2022: community rehab quit, commune education, Justice-office check found invalid,
    # PL 09/2014 court with a postponed session and an appeal, absconding from the facility,
    # a term reduction, post-rehab with an absence, a corrected detection date
    dict(
        start="2019-02-18T21:10",
        age=27,
        source="detection",
        fixed=dict(
            stable_residence=True,
            conclusion="addicted",
            pre22_route="voluntary",
            ost_if_opioid=False,
            setting="community",
            not_performed=False,
            treatment_outcome="quit",
            education_outcome="still_using",
            legality_invalid=True,
            session_postponed=True,
            court_outcome="apply",
            appeal=True,
            appeal_kind="complaint",
            appeal_outcome="modified",
            execution_deferred=False,
            abscond_before_admission=False,
            abscond_from_facility=True,
            term_adjusted=True,
            term_adjustment="reduction",
            relapse_in_post_rehab=False,
            absence=True,
            correct_occurred_at=True,
            update_details=True,
            moved_away=False,
            died=False,
        ),
    ),
    # 2022+: user management that ends after a year; a transfer, a voided entry, a consent
    # withdrawn, a corrected document number
    dict(
        start="2022-03-07T20:30",
        age=23,
        source="detection",
        fixed=dict(
            stable_residence=True,
            um_outcome="ended",
            transfer=True,
            void=True,
            withdraw_consent=True,
            correct_document=True,
            correct_duration=True,
            refer=True,
            referral_answer="declined_provider",
            void_referral=True,
        ),
    ),
    # 2022+: user management, caught again, addicted, methadone, quits, compulsory with interim
    # management at a facility, both returns for supplement, PL 03/2022, deferral, absconding
    # before admission, then release and a relapse during post-rehab
    dict(
        start="2022-01-10T22:00",
        age=34,
        source="detection",
        substance="heroin",
        fixed=dict(
            stable_residence=True,
            um_outcome="addicted",
            conclusion="addicted",
            registration="on_time",
            ost_if_opioid=True,
            ost_outcome="quit",
            interim_form="facility",
            abscond_interim=True,
            labour_office_returns=True,
            court_returns=True,
            court_outcome="apply",
            appeal=False,
            execution_deferred=True,
            deferral_kind="postponed",
            abscond_before_admission=True,
            abscond_from_facility=False,
            term_adjusted=False,
            relapse_in_post_rehab=True,
            moved_away=False,
            died=False,
            dossier_late=False,
            late_to_labour_office=False,
        ),
    ),
    # a minor (PL 01/2022) who did not register
    dict(
        start="2022-05-16T16:00",
        age=15,
        source="detection",
        fixed=dict(
            stable_residence=True,
            um_outcome="addicted",
            conclusion="addicted",
            registration="none",
            interim_form="family",
            court_outcome="apply",
            appeal=False,
            execution_deferred=False,
            abscond_before_admission=False,
            abscond_from_facility=False,
            term_adjusted=True,
            term_adjustment="temporary_removal",
            relapse_in_post_rehab=False,
            moved_away=False,
            died=False,
        ),
    ),
    # before 2022: voluntary at a facility, post-rehab, closed, reopened after a relapse
    dict(
        start="2019-04-02T09:30",
        age=31,
        source="self_registration",
        fixed=dict(
            conclusion="addicted",
            pre22_route="voluntary",
            ost_if_opioid=False,
            setting="facility",
            facility_quit=False,
            relapse_in_post_rehab=False,
            relapse_after_closure=True,
            registration="on_time",
            moved_away=False,
            died=False,
            absence=False,
        ),
    ),
    # user management stopped (imprisoned)
    dict(
        start="2023-03-01T23:15",
        age=29,
        source="detection",
        fixed=dict(stable_residence=True, um_outcome="stopped", um_stop_reason="imprisoned"),
    ),
    # a dossier that straddles 2022: opened late 2021, finished under the new law
    dict(
        start="2021-06-14T20:00",
        age=38,
        source="detection",
        fixed=dict(
            stable_residence=False,
            conclusion="addicted",
            court_outcome="apply",
            dossier_late=False,
            appeal=False,
            execution_deferred=False,
            abscond_before_admission=False,
            moved_away=False,
            died=False,
        ),
    ),
    # 2022+: a volunteer at family rehab who completes it, post-rehab, completion
    dict(
        start="2022-09-05T10:00",
        age=26,
        source="self_registration",
        fixed=dict(
            conclusion="addicted",
            registration="on_time",
            ost_if_opioid=False,
            setting="family",
            not_performed=False,
            treatment_outcome="completed",
            relapse_in_post_rehab=False,
            absence=True,
            moved_away=False,
            died=False,
        ),
    ),
    # a court that does not apply the measure; a protest that is upheld
    dict(
        start="2022-02-21T21:40",
        age=41,
        source="detection",
        fixed=dict(
            stable_residence=False,
            conclusion="addicted",
            registration="none",
            court_outcome="not_apply",
            setting="community",
            treatment_outcome="completed",
            moved_away=False,
            died=False,
        ),
    ),
    dict(
        start="2023-04-03T20:10",
        age=22,
        source="detection",
        fixed=dict(
            stable_residence=False,
            conclusion="addicted",
            registration="none",
            interim_form="social_reception_centre",
            court_outcome="apply",
            appeal=True,
            appeal_kind="protest",
            appeal_outcome="upheld",
            execution_deferred=True,
            deferral_kind="exempted",
            moved_away=False,
            died=False,
        ),
    ),
    # released from a facility elsewhere; transfer in; observation first
    dict(
        start="2020-08-10T09:00",
        age=33,
        source="facility_release",
        fixed=dict(relapse_in_post_rehab=False, absence=True),
    ),
    dict(
        start="2022-06-01T09:00",
        age=36,
        source="transfer_in",
        fixed=dict(
            um_outcome="addicted",
            conclusion="observation",
            registration="on_time",
            setting="community",
            treatment_outcome="used",
            interim_form="family",
            court_outcome="apply",
            term_adjusted=True,
            term_adjustment="suspension",
        ),
    ),
)


def showcase_plan(rng: random.Random, world: World, script: Mapping[str, Any]) -> Plan:
    plan = random_plan(rng, world)
    start = datetime.fromisoformat(script["start"]).replace(tzinfo=VN)
    fixed = {"moved_away": False, "died": False, **script.get("fixed", {})}
    if "substance" in script:
        fixed["substance"] = script["substance"]
    plan.start, plan.source, plan.fixed, plan.duplicate = start, script["source"], fixed, False
    plan.birth = birth_for(rng, start.date(), script["age"])
    plan.sex = "male"
    return plan


# --- one person ---------------------------------------------------------------------------------


def person_of(rng: random.Random, plan: Plan) -> dict[str, Any]:
    nid: str | None = national_id(rng, plan.birth, plan.sex)
    if plan.start.year - plan.birth.year < 16 or rng.random() < 0.08:
        nid = None
    elif plan.start.year < 2021 and rng.random() < 0.3:
        nid = f"01{rng.randint(0, 9999999):07d}"  # the old 9-digit identity card
    person: dict[str, Any] = {
        "full_name": full_name(rng, plan.sex),
        "date_of_birth": plan.birth,
        "sex": plan.sex,
        "residence_unit": plan.commune.code,
        "address": address(rng, plan.commune),
    }
    if nid:
        person["national_id"] = nid
    return person


def live_person(world: World, rng: random.Random, plan: Plan) -> list[Course]:
    """Build the person's case(s) in memory, through the aggregate; return them unsaved."""
    main = Course(world, rng, plan, uuid.UUID(int=rng.getrandbits(128), version=4))
    main.person = person_of(rng, plan)
    main.stable = main.chance("stable_residence", 0.9)
    courses = [main]
    with contextlib.suppress(EndOfTime):
        live(main)
    main.finish()
    if plan.duplicate:
        courses.append(duplicate_case(world, rng, plan, main))
    return courses


def duplicate_case(world: World, rng: random.Random, plan: Plan, main: Course) -> Course:
    """Another commune opened a case for the same person; it is closed as a duplicate."""
    other = rng.choice([x for x in world.communes if x.code != plan.commune.code])
    dup_plan = Plan(
        start=plan.start + timedelta(days=rng.randint(2, 40)),
        birth=plan.birth,
        sex=plan.sex,
        commune=other,
        source="detection",
        fixed={"correct_address": False},
    )
    dup = Course(world, rng, dup_plan, uuid.UUID(int=rng.getrandbits(128), version=4))
    dup.person = dict(main.person, residence_unit=plan.commune.code)
    try:
        dup.record(
            "CaseOpened",
            {"person": dup.person, "source": "detection", "managing_unit": other.code},
            dup.actor("commune_police"),
            body=dup.body("commune_police"),
        )
        dup.wait_days(3, 30)
        note(dup, "normal", "Đối chiếu dữ liệu dân cư: đối tượng đã có hồ sơ tại nơi cư trú.")
        dup.wait_wd(1, 5)
        dup.record(
            "CaseClosed",
            {"reason": "duplicate", "note": f"Trùng với hồ sơ {main.case_id}"},
            dup.actor("commune_officer"),
            body=dup.body("commune_committee"),
        )
    except EndOfTime:
        pass
    dup.finish()
    return dup


# --- the entry point --------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSummary:
    people: int
    cases: int
    events: int
    event_counts: Mapping[str, int]
    elapsed_seconds: float


def generate(
    app: CaseLedger,
    people: int,
    seed: int,
    progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Record ``people`` life courses through the domain; deterministic for ``seed``.

    Each person's case(s) are built on in-memory aggregates, each event recorded at its
    simulated server time (``Case.record``'s ``now``), and saved in one transaction.
    ``progress`` is called with the number of people done so far.
    """
    started = time.perf_counter()
    rng = random.Random(seed)
    world = World(seed)
    counts: Counter[str] = Counter()
    cases = 0
    for i in range(people):
        person_rng = random.Random(rng.getrandbits(64))
        if i < len(SHOWCASE):
            plan = showcase_plan(person_rng, world, SHOWCASE[i])
        else:
            plan = random_plan(person_rng, world)
        courses = [c for c in live_person(world, person_rng, plan) if c.case is not None]
        if courses:
            app.save(*(c.case for c in courses))
        for c in courses:
            counts.update(c.counts)
        cases += len(courses)
        if progress is not None:
            progress(i + 1)
    return DemoSummary(
        people=people,
        cases=cases,
        events=sum(counts.values()),
        event_counts=dict(sorted(counts.items())),
        elapsed_seconds=time.perf_counter() - started,
    )
