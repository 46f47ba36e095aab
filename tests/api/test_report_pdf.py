"""The data subject's report as PDF (``api.report_pdf``): Vietnamese text survives (the font
has its glyphs, the text can be extracted back), hostile values are text not markup, and a
long record paginates. Pure: no store, no app."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from pypdf import PdfReader

from api.report_pdf import render

NAME = "Đỗ Thị Thu Hương"
ADDRESS = "Số 12 ngõ 34 phố Nguyễn Trãi, phường Thượng Đình, quận Thanh Xuân, Hà Nội"
HOSTILE = "<b>&amp; </para>"
CASE_ID = "7d3f1c2e-9a4b-4c6d-8e0f-112233445566"


def _report(entries: int = 2, accesses: int = 3) -> dict[str, Any]:
    actor = {"id": "officer-1", "role": "commune_police", "unit": "01.004.00127"}
    return {
        "case_id": CASE_ID,
        "pseudonym": "P-8QZ4K2",
        "generated_at": "2026-03-02T03:04:05+00:00",
        "personal_data": "restricted",
        "restriction": {
            "request_reference": "YC-2026/015",
            "holds": ["case_open", "retention_period"],
            "event_id": "e-9",
        },
        "person": {
            "full_name": NAME,
            "date_of_birth": "1990-07-15",
            "sex": "female",
            "national_id": "001190012345",
            "residence_unit": "01.004.00127",
            "address": ADDRESS,
        },
        "entries": [
            {
                "event_id": f"e-{i}",
                "version": i + 1,
                "type": "CaseOpened" if i == 0 else "NoteRecorded",
                "occurred_at": "2026-01-05T08:00:00+07:00",
                "recorded_at": "2026-01-05T01:00:01+00:00",
                "recorded_by": actor,
                "data": {
                    "note": HOSTILE if i == 1 else "Đã làm việc với gia đình. " * 8,
                    "substances": ["heroin", "ma túy tổng hợp"],
                    "count": i,
                },
            }
            for i in range(entries)
        ],
        "accesses": [
            {
                "at": "2026-02-01T02:03:04+00:00",
                "kind": kind,
                "actor_id": "officer-1" if kind == "read" else HOSTILE,
                "role": "commune_police",
                "unit": "01.004.00127",
                "purpose": "quản lý sau cai nghiện",
                "route": "GET /v1/cases/{case_id}",
                "outcome": outcome,
            }
            for i in range(accesses)
            for kind, outcome in [
                [("read", "allowed"), ("refused", "refused"), ("read", "emergency")][i % 3]
            ]
        ],
    }


def _text(pdf: bytes) -> tuple[str, int]:
    reader = PdfReader(BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages), len(reader.pages)


def test_the_report_reads_back_in_vietnamese() -> None:
    pdf = render(_report())

    assert pdf.startswith(b"%PDF-")
    text, _ = _text(pdf)
    flat = " ".join(text.split())
    assert NAME in flat
    assert "Thanh Xuân, Hà Nội" in flat
    for label in (
        "Báo cáo dữ liệu cá nhân",
        "Theo Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15",
        "Thông tin cá nhân",
        "Họ và tên",
        "Ngày sinh",
        "Giới tính",
        "Số định danh cá nhân",
        "Địa chỉ",
        "Đơn vị cư trú",
        "Tình trạng dữ liệu",
        "hạn chế xử lý",
        "Các bản ghi",
        "Lịch sử truy cập",
        "Trang 1/1",
    ):
        assert label in flat, label
    assert "15/07/1990" in flat and "Nữ" in flat
    assert "case_open" in flat and "retention_period" in flat
    # the hostile value is shown as it is, not taken as markup
    assert HOSTILE in flat
    assert "P-8QZ4K2" in flat
    assert CASE_ID not in flat


def test_the_state_of_the_data_is_named() -> None:
    shown = _text(render({**_report(), "personal_data": "shown", "restriction": None}))[0]
    erased = _text(render({**_report(), "personal_data": "erased", "restriction": None}))[0]

    assert "đang được xử lý" in " ".join(shown.split())
    assert "đã xoá" in " ".join(erased.split())


def test_hundreds_of_entries_paginate() -> None:
    pdf = render(_report(entries=300, accesses=300))

    text, pages = _text(pdf)
    assert pages > 1
    assert f"Trang {pages}/{pages}" in text
    # the header rows repeat on the following pages
    assert text.count("Loại bản ghi") > 1


def test_an_empty_report_renders() -> None:
    pdf = render({**_report(entries=0, accesses=0), "person": {}, "restriction": None})

    text, pages = _text(pdf)
    assert pages == 1
    assert "Không có bản ghi nào." in text
