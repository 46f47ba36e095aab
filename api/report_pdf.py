"""A data subject's report (``PersonReportPublic``) as a PDF a person can be handed, labelled in
Vietnamese (Law 91/2025/QH15).

``render(report)`` takes the report's JSON form (``model.model_dump(mode="json")``: instants are
ISO strings) and returns the PDF's bytes: the person's data, its state (processed, restricted
with the holds, or erased), the record's entries and the accesses to it, on A4 pages whose
footer carries the time of the report, the case's pseudonym (never the case id) and the page
number. Instants are shown in Vietnam time (UTC+7).

The text is set in DejaVu Sans (``api/fonts``, package data read through
``importlib.resources``, so it works from an installed wheel), which has every Vietnamese
glyph; the PDF's standard fonts have none. Every value is escaped before it goes into
paragraph markup, and long tables repeat their header row on each page.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from importlib.resources import files
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "CaseledgerSans"
FONT_BOLD = "CaseledgerSans-Bold"
VN = timezone(timedelta(hours=7), "ICT")

TITLE = "Báo cáo dữ liệu cá nhân"
LEGAL_REFERENCE = "Theo Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15"

PERSON_FIELDS = (
    ("full_name", "Họ và tên"),
    ("date_of_birth", "Ngày sinh"),
    ("sex", "Giới tính"),
    ("national_id", "Số định danh cá nhân"),
    ("address", "Địa chỉ"),
    ("residence_unit", "Đơn vị cư trú"),
)
SEX = {"male": "Nam", "female": "Nữ", "other": "Khác"}
STATE = {"shown": "đang được xử lý", "restricted": "hạn chế xử lý", "erased": "đã xoá"}
HOLDS = {
    "case_open": "hồ sơ còn đang được quản lý",
    "open_dossier": "hồ sơ đề nghị áp dụng biện pháp đang được lập",
    "court_procedure": "thủ tục tại Toà án chưa kết thúc",
    "retention_period": "chưa hết thời hạn lưu trữ",
}
KIND = {
    "read": "đọc",
    "refused": "bị từ chối",
    "emergency_grant": "cấp quyền khẩn cấp",
    "emergency_review": "xem xét quyền khẩn cấp",
}
OUTCOME = {"allowed": "được phép", "refused": "bị từ chối", "emergency": "quyền khẩn cấp"}

_MARGIN = 15 * mm
_WIDTH = A4[0] - 2 * _MARGIN
_ENTRY_COLUMNS = [0.15, 0.17, 0.18, 0.50]
_ACCESS_COLUMNS = [0.14, 0.18, 0.18, 0.14, 0.22, 0.14]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@cache
def _fonts() -> None:
    """Register DejaVu Sans (regular and bold) once per process, as one family, so that
    ``<b>`` in a paragraph picks the bold face."""
    for name, filename in ((FONT, "DejaVuSans.ttf"), (FONT_BOLD, "DejaVuSans-Bold.ttf")):
        data = (files("api") / "fonts" / filename).read_bytes()
        pdfmetrics.registerFont(TTFont(name, BytesIO(data)))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD
    )


def _style(name: str, size: float, bold: bool = False, **more: Any) -> ParagraphStyle:
    return ParagraphStyle(
        name,
        fontName=FONT_BOLD if bold else FONT,
        fontSize=size,
        leading=size * 1.25,
        splitLongWords=1,
        **more,
    )


TITLE_STYLE = _style("title", 16, bold=True, alignment=TA_CENTER, spaceAfter=2 * mm)
SUBTITLE_STYLE = _style("subtitle", 9, alignment=TA_CENTER, textColor=colors.HexColor("#444444"))
HEADING_STYLE = _style("heading", 12, bold=True, spaceBefore=5 * mm, spaceAfter=2 * mm)
BODY_STYLE = _style("body", 10)
CELL_STYLE = _style("cell", 8)
HEAD_STYLE = _style("head", 8, bold=True)


def _text(value: Any) -> str:
    """A value as plain text: NFC (Vietnamese set as precomposed letters, which the font has),
    without control characters; ``None`` as an empty string, structures as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool | int | float):
        text = json.dumps(value)
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    return _CONTROL.sub("", unicodedata.normalize("NFC", text))


def _markup(value: Any) -> str:
    """A value escaped for paragraph markup, its line breaks kept."""
    return escape(_text(value)).replace("\r\n", "\n").replace("\n", "<br/>").replace("\t", " ")


def _p(value: Any, style: ParagraphStyle = CELL_STYLE) -> Paragraph:
    return Paragraph(_markup(value), style)


def _instant(value: Any) -> str:
    """An ISO instant in Vietnam time (``dd/mm/yyyy HH:MM:SS``); anything else as given."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return _text(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VN).strftime("%d/%m/%Y %H:%M:%S")


def _day(value: Any) -> str:
    try:
        return date.fromisoformat(str(value)).strftime("%d/%m/%Y")
    except ValueError:
        return _text(value)


def _person_value(key: str, value: Any) -> str:
    if key == "date_of_birth" and value:
        return _day(value)
    if key == "sex" and isinstance(value, str):
        return SEX.get(value, value)
    return _text(value)


def _compact(data: Any) -> str:
    """An entry's data as ``key: value`` lines, escaped markup."""
    if not isinstance(data, dict):
        return _markup(data)
    return (
        "<br/>".join(f"<b>{_markup(key)}</b>: {_markup(value)}" for key, value in data.items())
        or "—"
    )


def _table(rows: list[list[Any]], fractions: list[float]) -> Table:
    table = Table(
        rows,
        colWidths=[_WIDTH * f for f in fractions],
        repeatRows=1,
        splitInRow=1,
    )
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6e6e6")),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _head(*labels: str) -> list[Paragraph]:
    return [Paragraph(escape(label), HEAD_STYLE) for label in labels]


def _person(person: Any) -> Table:
    person = person if isinstance(person, dict) else {}
    rows = [
        [Paragraph(escape(label), HEAD_STYLE), _p(_person_value(key, person.get(key)), BODY_STYLE)]
        for key, label in PERSON_FIELDS
    ]
    table = Table(rows, colWidths=[_WIDTH * 0.3, _WIDTH * 0.7], splitInRow=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f2f2f2")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONTNAME", (0, 0), (-1, -1), FONT),
            ]
        )
    )
    return table


def _state(report: dict[str, Any]) -> list[Any]:
    state = _text(report.get("personal_data"))
    story: list[Any] = [
        Paragraph(f"Tình trạng: <b>{escape(STATE.get(state, state))}</b>", BODY_STYLE)
    ]
    restriction = report.get("restriction")
    if state == "restricted" and isinstance(restriction, dict):
        if restriction.get("request_reference"):
            story.append(
                Paragraph(f"Số yêu cầu: {_markup(restriction['request_reference'])}", BODY_STYLE)
            )
        holds = restriction.get("holds") or []
        if holds:
            story.append(Paragraph("Căn cứ tiếp tục lưu giữ dữ liệu:", BODY_STYLE))
            for hold in holds if isinstance(holds, list) else [holds]:
                label = HOLDS.get(hold, "") if isinstance(hold, str) else ""
                text = f"{_markup(label)} ({_markup(hold)})" if label else _markup(hold)
                story.append(Paragraph(f"• {text}", BODY_STYLE))
    return story


def _entries(entries: list[Any]) -> Any:
    if not entries:
        return Paragraph("Không có bản ghi nào.", BODY_STYLE)
    rows: list[list[Any]] = [_head("Thời điểm", "Loại bản ghi", "Người ghi", "Nội dung")]
    for entry in entries:
        by = entry.get("recorded_by") or {}
        by = by if isinstance(by, dict) else {"id": by}
        recorder = " / ".join(_text(by.get(k)) for k in ("role", "unit") if by.get(k))
        rows.append(
            [
                _p(_instant(entry.get("occurred_at"))),
                _p(entry.get("type")),
                _p(recorder),
                Paragraph(_compact(entry.get("data")), CELL_STYLE),
            ]
        )
    return _table(rows, _ENTRY_COLUMNS)


def _accesses(accesses: list[Any]) -> Any:
    if not accesses:
        return Paragraph("Không có lượt truy cập nào.", BODY_STYLE)
    rows: list[list[Any]] = [
        _head("Thời điểm", "Người truy cập", "Vai trò", "Đơn vị", "Mục đích", "Kết quả")
    ]
    for access in accesses:
        outcome = _text(access.get("outcome"))
        kind = _text(access.get("kind"))
        result = OUTCOME.get(outcome, outcome)
        if kind.startswith("emergency_"):
            result = f"{KIND.get(kind, kind)}: {result}"
        rows.append(
            [
                _p(_instant(access.get("at"))),
                _p(access.get("actor_id")),
                _p(access.get("role")),
                _p(access.get("unit")),
                _p(access.get("purpose")),
                _p(result),
            ]
        )
    return _table(rows, _ACCESS_COLUMNS)


def _footer_canvas(generated: str, pseudonym: str) -> type[Canvas]:
    """A canvas that writes each page's footer once the page count is known."""

    class FooterCanvas(Canvas):  # type: ignore[misc]  # reportlab is untyped
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, page in enumerate(self._pages, start=1):
                self.__dict__.update(page)
                self.setFont(FONT, 7.5)
                self.setFillColor(colors.HexColor("#444444"))
                self.drawString(
                    _MARGIN, 9 * mm, f"Lập lúc {generated} (giờ Việt Nam) · Mã hồ sơ: {pseudonym}"
                )
                self.drawRightString(A4[0] - _MARGIN, 9 * mm, f"Trang {number}/{total}")
                super().showPage()
            super().save()

    return FooterCanvas


def render(report: dict[str, Any]) -> bytes:
    """The report (``PersonReportPublic.model_dump(mode="json")``) as PDF bytes."""
    _fonts()
    generated = _instant(report.get("generated_at"))
    pseudonym = _text(report.get("pseudonym"))
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN + 6 * mm,
        title=TITLE,
        subject=LEGAL_REFERENCE,
        initialFontName=FONT,
        author="caseledger",
        creator="caseledger",
        lang="vi",
    )
    story: list[Any] = [
        Paragraph(escape(TITLE), TITLE_STYLE),
        Paragraph(escape(LEGAL_REFERENCE), SUBTITLE_STYLE),
        Paragraph(
            f"Mã hồ sơ: {_markup(pseudonym)} · Lập lúc: {escape(generated)} (giờ Việt Nam, UTC+7)",
            SUBTITLE_STYLE,
        ),
        Spacer(1, 3 * mm),
        Paragraph("Thông tin cá nhân", HEADING_STYLE),
        _person(report.get("person")),
        Paragraph("Tình trạng dữ liệu", HEADING_STYLE),
        *_state(report),
        Paragraph("Các bản ghi", HEADING_STYLE),
        _entries([e for e in report.get("entries") or [] if isinstance(e, dict)]),
        Paragraph("Lịch sử truy cập", HEADING_STYLE),
        _accesses([a for a in report.get("accesses") or [] if isinstance(a, dict)]),
    ]
    document.build(story, canvasmaker=_footer_canvas(generated, pseudonym))
    return buffer.getvalue()
