"""The administrative-unit registry: which unit a code named on a day, and what became of it.

Against the packaged data (``domain/unit_data``), with real units; and, for a later reform,
against a small registry written to a temporary folder, as a maintainer would add one.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from domain.units import Registry, Unit, registry

BEFORE = date(2025, 6, 30)
REFORM = date(2025, 7, 1)


def levels(on: date) -> Counter[str]:
    return Counter(u.level for u in registry().units_on(on))


def test_from_1_july_2025_there_are_34_provinces_and_3321_communes() -> None:
    assert levels(REFORM) == {"province": 34, "commune": 3321}
    assert levels(date(2030, 1, 1)) == levels(REFORM)


def test_before_the_reform_there_are_63_provinces_696_districts_and_10035_communes() -> None:
    assert levels(BEFORE) == {"province": 63, "district": 696, "commune": 10035}
    assert levels(date(2010, 1, 1)) == levels(BEFORE)


def test_hanoi_is_01_on_both_sides_of_the_reform_as_two_dated_units() -> None:
    before, after = registry().unit("01", BEFORE), registry().unit("01", REFORM)
    assert before is not None and after is not None
    assert before.name == after.name == "Thành phố Hà Nội"
    assert (before.valid_from, before.valid_to) == (None, REFORM)
    assert (after.valid_from, after.valid_to) == (REFORM, None)


def test_a_merged_ward_names_its_successor_which_names_it_back() -> None:
    phuc_xa = registry().unit("01.001.00001", BEFORE)
    assert phuc_xa == Unit("01.001.00001", "commune", "Phường Phúc Xá", "01.001", None, REFORM)

    [(hong_ha, kind)] = registry().successors("01.001.00001")
    assert (hong_ha.code, hong_ha.name, hong_ha.parent, kind) == (
        "01.00097",
        "Phường Hồng Hà",
        "01",
        "whole",
    )
    assert (phuc_xa, "whole") in registry().predecessors("01.00097")


def test_a_commune_split_among_several_new_ones_is_flagged_part_for_each() -> None:
    successors = registry().successors("01.001.00019")  # Phường Điện Biên, Ba Đình

    assert {kind for _, kind in successors} == {"part"}
    assert sorted(u.name for u, _ in successors) == [
        "Phường Ba Đình",
        "Phường Hoàn Kiếm",
        "Phường Văn Miếu - Quốc Tử Giám",
        "Phường Ô Chợ Dừa",
    ]
    for new, _ in successors:
        assert any(old.code == "01.001.00019" for old, _ in registry().predecessors(new.code))


def test_a_code_valid_only_before_the_reform_answers_none_after_it() -> None:
    for code in ("01.001", "01.001.00001", "27"):  # a district, a commune, Bắc Ninh's old code
        assert registry().unit(code, BEFORE) is not None
        assert registry().unit(code, REFORM) is None
        assert registry().known(code)


def test_a_code_of_the_new_list_answers_none_before_the_reform() -> None:
    assert registry().unit("01.00097", REFORM) is not None
    assert registry().unit("01.00097", BEFORE) is None


def test_a_province_code_can_name_another_province_after_the_reform() -> None:
    assert registry().unit("24", BEFORE) == Unit(
        "24", "province", "Tỉnh Bắc Giang", "", None, REFORM
    )
    assert registry().unit("24", REFORM) == Unit(
        "24", "province", "Tỉnh Bắc Ninh", "", REFORM, None
    )
    assert [(u.name, k) for u, k in registry().successors("27")] == [("Tỉnh Bắc Ninh", "whole")]
    assert sorted(u.name for u, _ in registry().predecessors("24")) == [
        "Tỉnh Bắc Giang",
        "Tỉnh Bắc Ninh",
    ]


def test_a_code_no_list_holds_is_an_unknown_unit_not_an_error() -> None:
    # "28" (a province code absent from the 30 Jun 2025 list: Hà Tây's, merged into Hà Nội in
    # 2008) and a commune code between two listed ones stand for codes old records may carry
    for code in ("28", "01.001.00002"):
        assert registry().unit(code, date(2005, 1, 1)) is None
        assert registry().ancestors(code, date(2005, 1, 1)) == []
        assert registry().successors(code) == []
        assert not registry().known(code)


def test_ancestors_run_from_the_parent_up_to_the_province_on_the_date() -> None:
    assert [u.code for u in registry().ancestors("01.001.00001", BEFORE)] == ["01.001", "01"]
    assert [u.code for u in registry().ancestors("01.00097", REFORM)] == ["01"]
    assert registry().ancestors("01.001.00001", REFORM) == []


def test_descendants_are_the_units_below_on_the_date() -> None:
    before = registry().descendants_on("01", BEFORE)
    after = registry().descendants_on("01", REFORM)

    assert Counter(u.level for u in before) == {"district": 30, "commune": 526}
    assert Counter(u.level for u in after) == {"commune": 126}  # 51 phường, 75 xã
    assert [u.code for u in registry().descendants_on("01.001", BEFORE)][:2] == [
        "01.001.00001",
        "01.001.00004",
    ]


def test_islands_that_had_no_communes_went_whole_into_special_zones() -> None:
    [(zone, kind)] = registry().successors("77.755")  # Huyện Côn Đảo, Bà Rịa - Vũng Tàu
    assert (zone.code, zone.name, kind) == ("79.26732", "Đặc khu Côn Đảo", "whole")


def test_every_old_commune_has_a_successor_and_every_new_one_a_predecessor() -> None:
    for unit in registry().units_on(BEFORE):
        if unit.level == "commune":
            assert registry().successors(unit.code), unit
    for unit in registry().units_on(REFORM):
        assert registry().predecessors(unit.code), unit


def test_names_carry_vietnamese_diacritics_in_nfc() -> None:
    names = [u.name for u in registry().units_on(BEFORE) + registry().units_on(REFORM)]

    assert all(n == unicodedata.normalize("NFC", n) and n == n.strip() for n in names)
    assert registry().unit("48", REFORM) == Unit(
        "48", "province", "Thành phố Đà Nẵng", "", REFORM, None
    )
    assert sum(1 for n in names if not n.isascii()) > 0.95 * len(names)


def test_the_packaged_registry_is_read_once() -> None:
    assert registry() is registry()


# -- on today's map: what a recorded code stands for ---------------------------------------------

VIET_HUNG_2024 = "01.004.00127"
"""Phường Việt Hưng, quận Long Biên: split on 1 Jul 2025 between Việt Hưng and Phúc Lợi."""


def test_a_merged_commune_stands_for_the_commune_it_went_into() -> None:
    assert registry().current("01.004.00133", BEFORE) == {"01.00118"}  # Ngọc Lâm -> Bồ Đề


def test_a_split_commune_stands_for_every_commune_that_received_a_part() -> None:
    assert registry().current(VIET_HUNG_2024, BEFORE) == {"01.00127", "01.00136"}


def test_a_unit_of_todays_list_stands_for_itself() -> None:
    assert registry().current("01.00127", date(2026, 12, 5)) == {"01.00127"}


def test_an_abolished_district_stands_for_the_communes_its_territory_went_into() -> None:
    long_bien = registry().current("01.004", BEFORE)
    assert {"01.00118", "01.00127", "01.00136"} <= long_bien
    assert all(code.startswith("01.") and code.count(".") == 1 for code in long_bien)


def test_a_merged_provinces_old_code_lies_in_the_province_it_merged_into() -> None:
    assert registry().current("27", BEFORE) == {"24"}  # Bắc Ninh went into the new Bắc Ninh, 24
    assert registry().lies_in("27.256.09190", BEFORE, "24")
    assert not registry().lies_in("27.256.09190", BEFORE, "01")


def test_a_code_no_list_holds_stands_for_its_province_only() -> None:
    assert registry().current("01.004.00999", BEFORE) == {"01"}
    assert registry().lies_in("01.004.00999", BEFORE, "01")
    assert not registry().lies_in("01.004.00999", BEFORE, "01.00127")


def test_a_scope_no_list_holds_is_not_widened_to_its_province() -> None:
    """A token naming an unknown commune reaches that code only, never the province."""
    assert not registry().lies_in("01.004.00127", BEFORE, "01.004.00999")
    assert not registry().contains("01.004.00999", "01.00127")
    assert registry().lies_in("01.004.00999", BEFORE, "01.004.00999")
    assert registry().lies_in("01.004.00999", BEFORE, "01.004")  # quận Long Biên's, by its code


def test_a_new_commune_holds_the_old_cases_of_the_communes_that_went_into_it() -> None:
    assert registry().lies_in(VIET_HUNG_2024, BEFORE, "01.00127")
    assert registry().lies_in(VIET_HUNG_2024, BEFORE, "01.00136")
    assert not registry().lies_in(VIET_HUNG_2024, BEFORE, "01.00118")


def test_only_a_scope_that_holds_all_of_a_split_commune_contains_it() -> None:
    assert not registry().contains("01.00127", VIET_HUNG_2024, BEFORE)
    assert registry().contains("01", VIET_HUNG_2024, BEFORE)
    assert registry().contains("01.004", VIET_HUNG_2024, BEFORE)


def test_todays_ward_counts_the_old_communes_and_districts_that_went_into_it() -> None:
    ba_dinh = registry().area("01.00004")  # Phường Ba Đình (2025)
    assert ba_dinh.current and ba_dinh.holds("01.00004")
    assert ba_dinh.mapped["01.001.00004"] == "whole"  # Trúc Bạch went wholly into it
    assert ba_dinh.mapped["01.001.00016"] == "part"  # Ngọc Hà, split
    assert ba_dinh.holds("01.001.00004") and not ba_dinh.holds("01.001.00001")


def test_an_old_district_counts_only_the_new_communes_wholly_formed_from_it() -> None:
    long_bien = registry().area("01.004")  # quận Long Biên (before 2025)
    assert not long_bien.current
    assert long_bien.holds("01.004.00133") and long_bien.holds("01.00127")  # Việt Hưng (2025)
    assert not long_bien.holds("01.00136")  # Phúc Lợi also took in a part of Gia Lâm
    assert not long_bien.holds("01") and set(long_bien.mapped.values()) == {"whole"}
    assert registry().area("01.001").codes == frozenset()  # no ward lies wholly in quận Ba Đình


def test_a_provinces_area_takes_in_the_old_provinces_merged_into_it_by_prefix() -> None:
    bac_ninh = registry().area("24")
    assert bac_ninh.prefixes == ("24", "27")
    assert bac_ninh.holds("27.256.09190") and not bac_ninh.holds("01.004.00127")


@pytest.mark.parametrize(
    ("code", "day", "says"),
    [
        (VIET_HUNG_2024, REFORM, "went into 01.00127, 01.00136"),
        ("01.00004", BEFORE, "Phường Ba Đình (from 2025-07-01)"),
        ("01.004", REFORM, "Quận Long Biên (until 2025-06-30)"),
        ("01.004.00999", REFORM, "no list holds it"),
    ],
)
def test_a_code_not_in_force_on_a_day_is_explained(code: str, day: date, says: str) -> None:
    problem = registry().problem(code, day)
    assert problem is not None and str(day) in problem and says in problem


def test_an_old_shaped_code_no_list_holds_is_accepted_before_the_reform_only() -> None:
    assert registry().problem("01.004.00999", BEFORE) is None
    assert registry().problem("99", BEFORE) is not None  # not even a province


# -- a later reform is data ---------------------------------------------------------------------


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text.strip() + "\n", encoding="utf-8")


HEADER = "code,level,name,parent,valid_from,valid_to"


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """One province of three communes; on 1 Jan 2027 two of them merge and one is renamed."""
    write(
        tmp_path,
        "reforms.toml",
        """
[baseline]
units = "base.csv"

[[reform]]
date = 2027-01-01
units = "2027-01-01_units.csv"
mapping = "2027-01-01_mapping.csv"
ends = "mapped"
""",
    )
    write(
        tmp_path,
        "base.csv",
        f"""
{HEADER}
01,province,Thành phố Hà Nội,,2025-07-01,
01.00004,commune,Phường Ba Đình,01,2025-07-01,
01.00008,commune,Phường Ngọc Hà,01,2025-07-01,
01.00025,commune,Phường Giảng Võ,01,2025-07-01,
""",
    )
    write(
        tmp_path,
        "2027-01-01_units.csv",
        f"""
{HEADER}
01.00004,commune,Phường Ba Đình Mới,01,2027-01-01,
01.00025,commune,Phường Giảng Võ Mới,01,2027-01-01,
""",
    )
    write(
        tmp_path,
        "2027-01-01_mapping.csv",
        """
old_code,new_code,kind
01.00004,01.00004,whole
01.00008,01.00004,whole
""",
    )
    return tmp_path


def test_a_later_reform_is_a_manifest_entry_and_two_files(small: Path) -> None:
    later = Registry.load(small)
    day_before, day = date(2026, 12, 31), date(2027, 1, 1)

    assert later.unit("01.00008", day_before) is not None
    assert later.unit("01.00008", day) is None  # merged away
    renamed = later.unit("01.00025", day)
    assert renamed is not None and renamed.name == "Phường Giảng Võ Mới"
    assert later.unit("01", day) == later.unit("01", day_before)  # untouched: carries on
    assert [(u.code, u.valid_from, k) for u, k in later.successors("01.00008")] == [
        ("01.00004", day, "whole")
    ]
    assert sorted(u.name for u, _ in later.predecessors("01.00004")) == [
        "Phường Ba Đình",
        "Phường Ngọc Hà",
    ]
    assert len(later.units_on(day)) == 3
    assert later.current("01.00008", day_before) == {"01.00004"}
    assert later.lies_in("01.00008", day_before, "01.00004")
    assert later.reforms == (day,)


def test_a_mapping_naming_a_unit_missing_on_its_side_of_the_date_is_refused(small: Path) -> None:
    write(small, "2027-01-01_mapping.csv", "old_code,new_code,kind\n01.00099,01.00004,whole")
    with pytest.raises(ValueError, match=r"no unit 01\.00099"):
        Registry.load(small)


def test_overlapping_versions_of_a_code_are_refused(small: Path) -> None:
    manifest = (small / "reforms.toml").read_text().replace('ends = "mapped"', 'ends = "all"')
    (small / "reforms.toml").write_text(manifest)
    write(small, "base.csv", f"{HEADER}\n01,province,Hà Nội,,2025-07-01,2028-01-01")
    write(small, "2027-01-01_units.csv", f"{HEADER}\n01,province,Hà Nội,,2027-01-01,")
    write(small, "2027-01-01_mapping.csv", "old_code,new_code,kind")
    with pytest.raises(ValueError, match="versions overlap"):
        Registry.load(small)
