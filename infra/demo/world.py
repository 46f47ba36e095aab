"""The demo's world: time frame and law dates, the working calendar, the province's places,
facilities, names and substances, and the org units with their staff rosters -- fixed data, or
derived only from the seed, so that every course draws on the same province and people."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cache

from domain.compliance.calendar import WorkingCalendar
from domain.events import Actor
from domain.units import registry

# --- time and law ------------------------------------------------------------------------------

VN = timezone(timedelta(hours=7))
REGIME_22 = datetime(2022, 1, 1, tzinfo=VN)  # Law 73/2021 and Decrees 105, 109, 116/2021
PL01_START = datetime(2022, 3, 24, tzinfo=VN)  # court ordinance for minors
PL03_START = datetime(2023, 2, 1, tzinfo=VN)  # court ordinance for adults, replaces PL 09/2014
FIRST_START = date(2019, 1, 2)
LAST_START = date(2024, 10, 31)
HORIZON = datetime(2024, 12, 31, 17, 0, tzinfo=VN)  # nothing happens after this
RECORDING_HORIZON = datetime(2024, 12, 31, 23, 30, tzinfo=VN)
RECORDING_LAG = RECORDING_HORIZON - HORIZON  # the last entries are made that evening
# The police run rehab (Decree 02/2025, Joint Circular 03/2025): the commune police compile the
# compulsory-rehab dossier and send it to the court; no district police, no Labour-office check.
POLICE_TAKEOVER = datetime(2025, 3, 1, tzinfo=VN)
# Two tiers (Resolution 202/2025/QH15): no districts, the communes of the new list and their
# codes, regional people's courts and procuracies.
TWO_TIERS = datetime(2025, 7, 1, tzinfo=VN)
# Law 120/2025/QH15: a move reported within 24 h, electronic monitoring, a prison term
# suspending rehab or post-rehab management.
LAW_120 = datetime(2026, 7, 1, tzinfo=VN)
# The showcase's courses across the 2025-2026 reforms run to here (a random course stops at
# HORIZON): past Law 120's first months, before the December 2026 in which the demo is recorded.
REFORMS_HORIZON = datetime(2026, 11, 30, 17, 0, tzinfo=VN)


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
    """A commune of the old list (with its ``district``), or of the list from 1 Jul 2025
    (``district`` ``None``: there are no districts)."""

    code: str
    kind: str  # phường, thị trấn or xã (đặc khu from 1 Jul 2025)
    name: str
    places: tuple[str, ...]  # streets of a ward or town, villages of a rural commune
    weight: int
    district: District | None

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Facility:
    key: str
    name: str
    district: str  # the district court that reviews its residents' terms (to 30 Jun 2025)
    seat: str  # the commune of the 2025 list it stands in: its regional court's, from 1 Jul 2025


COMPULSORY_FACILITIES = (
    Facility("cs5", "Cơ sở cai nghiện ma túy số 5 Hà Nội", "01.018", "01.00565"),
    Facility("cs6", "Cơ sở cai nghiện ma túy số 6 Hà Nội", "01.019", "01.00592"),
)
MINORS_FACILITY = Facility(
    "cs1",
    "Cơ sở cai nghiện ma túy số 1 Hà Nội (khu người chưa thành niên)",
    "01.004",
    "01.00118",
)
VOLUNTARY_FACILITIES = (
    Facility("cs2", "Cơ sở cai nghiện ma túy số 2 Hà Nội", "01.008", "01.00331"),
    Facility("thanhbinh", "Cơ sở cai nghiện ma túy tư nhân Thanh Bình", "01.018", "01.00565"),
)
INTERIM_FACILITY = Facility(
    "cs2", "Cơ sở cai nghiện ma túy số 2 Hà Nội (khu lưu trú tạm thời)", "01.008", "01.00331"
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
        self._new_communes: list[Commune] | None = None

    def commune(self, code: str) -> Commune:
        """The commune of the old list with ``code``."""
        return next(c for c in self.communes if c.code == code)

    def after_reform(self, commune: Commune, pick: str | None = None) -> Commune:
        """The commune of the 1 Jul 2025 list that took ``commune``'s territory (``commune``
        itself if it is of that list already), from the unit registry's mapping. A commune
        divided among several ("part") goes to ``pick``, one of them; without a pick, to the
        first by code: the registry does not say which part a street went to. The new commune
        keeps the old one's streets and villages (those the person lives on)."""
        if commune.district is None:
            return commune
        went = sorted(unit.code for unit, _ in registry().successors(commune.code))
        if not went:
            raise ValueError(f"{commune.code} ({commune.label}): no commune of the 2025 list")
        if pick is not None and pick not in went:
            raise ValueError(f"{commune.code} ({commune.label}) went into {went}, not {pick}")
        return commune_of_2025(pick or went[0], commune.places)

    def communes_on(self, moment: datetime) -> list[Commune]:
        """The communes of the province on the map of ``moment``: the demo's old communes,
        or from 1 Jul 2025 the communes of the new list they went into (those the registry
        maps: the demo's illustrative codes it does not hold have no successor)."""
        if moment < TWO_TIERS:
            return self.communes
        if self._new_communes is None:
            mapped = [c for c in self.communes if registry().successors(c.code)]
            by_code = {new.code: new for new in map(self.after_reform, mapped)}
            self._new_communes = [by_code[code] for code in sorted(by_code)]
        return self._new_communes

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


COMMUNE_KINDS_2025 = ("Phường", "Xã", "Đặc khu")


@cache
def commune_of_2025(code: str, places: tuple[str, ...]) -> Commune:
    """The commune ``code`` of the list from 1 Jul 2025, its name as the registry has it."""
    unit = registry().unit(code, TWO_TIERS.date())
    if unit is None or unit.level != "commune":
        raise ValueError(f"{code} is no commune of the 2025 list")
    kind = next(k for k in COMMUNE_KINDS_2025 if unit.name.startswith(k + " "))
    return Commune(code, kind.lower(), unit.name.removeprefix(kind + " "), places, 0, None)


def _tail(commune: Commune) -> str:
    district = commune.district
    if district is None:
        return f"{commune.label}, {PROVINCE_NAME}"
    return f"{commune.label}, {district.label}, {PROVINCE_NAME}"


def readdress(text: str, old: Commune, new: Commune) -> str:
    """An address of ``old`` as it reads in ``new`` (same home, the new commune named)."""
    return text.replace(_tail(old), _tail(new))


def address(rng: random.Random, commune: Commune) -> str:
    tail = _tail(commune)
    place = rng.choice(commune.places)
    if commune.kind == "xã":
        return f"Xóm {rng.randint(1, 9)}, thôn {place}, {tail}"
    if rng.random() < 0.6:
        return f"Số {rng.randint(1, 80)}, ngõ {rng.randint(2, 250)} {place}, {tail}"
    return f"Số {rng.randint(1, 300)} {place}, tổ dân phố {rng.randint(1, 30)}, {tail}"


def national_id(rng: random.Random, birth: date, sex: str) -> str:
    century = (0 if birth.year < 2000 else 2) + (1 if sex == "female" else 0)
    return f"001{century}{birth.year % 100:02d}{rng.randint(0, 999999):06d}"
