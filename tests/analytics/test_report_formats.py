"""Numbers and identifiers in the files people keep: in the PDFs (read back with pdftotext) a case
number is never broken across two lines and money reads 804,530.00; in the workbooks (read back
with openpyxl) money is a number formatted #,##0.00, never text or General."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from analytics import amounts, formats, report
from analytics import file_audit_report as far
from analytics.views import file_audit as v
from analytics.views import funds as funds_view
from tests.analytics.test_file_audit_report import ITEMS, scenario  # noqa: F401 (fixture)
from tests.analytics.test_report import run  # noqa: F401 (fixture)

needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed"
)
CASES = [f"JZ2023{n:07d}" for n in range(40, 52)]


def pdf_text(data: bytes, tmp_path: Path, *, layout: bool = False) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    args = ["pdftotext", *(["-layout"] if layout else []), str(path), "-"]
    return subprocess.run(args, capture_output=True, check=True).stdout.decode("utf-8")


# --- cutting a cell's text into lines ----------------------------------------------------------


def width(text: str) -> float:
    """One unit a character: enough to see where the lines are cut."""
    return float(len(text))


def test_lines_are_cut_between_words_never_inside_a_case_number():
    text = "登记或收取了救助金（案件 JZ20230000083、JZ20240000201），请核实。"
    for room in range(16, 40):  # the widest unbreakable piece is 15 wide
        lines = report.unbroken_lines(text, room, width).split("\n")
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        assert all(width(line) <= room for line in lines), (room, lines)
        for case in ("JZ20230000083", "JZ20240000201"):
            assert any(case in line for line in lines), (room, lines)


def test_punctuation_stays_with_what_it_belongs_to():
    lines = report.unbroken_lines("甲乙丙（JZ1）。丁", 6, width).split("\n")
    assert not any(line.startswith(("。", "）", "、", "，")) for line in lines)
    assert not any(line.endswith("（") for line in lines)
    # money and dates are words too
    lines = report.unbroken_lines("金额 804,530.00 元 2026-03-10", 12, width).split("\n")
    assert "804,530.00" in lines[0] + lines[1] and any("2026-03-10" in ln for ln in lines)


def test_text_that_fits_is_left_alone_and_newlines_are_kept():
    assert report.unbroken_lines("JZ20230000083", 100, width) == "JZ20230000083"
    assert report.unbroken_lines("一\n二", 100, width) == "一\n二"
    assert report.unbroken_lines("", 10, width) == ""
    # a run wider than the cell is left whole (the PDF library breaks it, as it must)
    assert report.unbroken_lines("甲 JZ20230000083", 5, width) == "甲\nJZ20230000083"


# --- the PDFs -------------------------------------------------------------------------------------


def sheet_findings() -> pl.DataFrame:
    """Findings whose sentences list case numbers at every offset of a line."""
    rows = []
    for k in range(24):
        summary = (
            "甲" * k
            + "银行账户登记或收取了多户家庭、多个案件的救助金（案件 "
            + "、".join(CASES[k % 4 : k % 4 + 8])
            + "），请核实是否一卡多户。"
        )
        rows.append(
            dict(
                finding_id=f"F{k:016x}",
                check_id="shared_account",
                title="一卡多户",
                severity="高",
                street="华阳路街道",
                case_id=CASES[k % len(CASES)],
                txn_id=None,
                amount_fen=80_453_000 if k == 0 else 1_000,
                summary=summary,
            )
        )
    return pl.DataFrame(rows)


@needs_pdftotext
def test_the_verification_sheet_never_breaks_a_case_number(tmp_path):
    findings = sheet_findings()
    text = pdf_text(
        report.verification_sheet(findings, "全部线索", generated=date(2026, 12, 5)), tmp_path
    )
    # every case number printed (in the sentences and the 救助编号 column) is read back whole
    for case in CASES:
        printed = sum(s.count(case) for s in findings["summary"]) + findings[
            "case_id"
        ].to_list().count(case)
        assert text.count(case) == printed, case
    # nothing of a case number left at a line's end or start
    lines = [ln.strip() for ln in text.splitlines()]
    assert not [ln for ln in lines if re.search(r"(^|[^\w])JZ\d{0,10}$", ln)]
    assert not [ln for ln in lines if re.match(r"^\d{1,10}[、）]", ln)]
    # the money the sheet covers, as the one definition counts it, written 804,760.00
    total = formats.money_fen(amounts.money_at_risk_fen(findings))
    assert total == "804,760.00"
    assert f"合计涉及金额 {total} 元" in " ".join(text.split())


@needs_pdftotext
def test_the_yearly_funnel_writes_money_with_separators_and_two_decimals(
    run,  # noqa: F811
    tmp_path,
):
    funnel = pl.DataFrame(
        {
            "street": ["全区"] * 4,
            "stage": ["leads", "verified", "rectified", "recovered"],
            "label": ["发现线索", "核实属实", "整改完成", "追回资金"],
            "count": [1_376, 3, 2, 1],
            "amount_fen": [80_453_000, 20_005, 100, 35_050],
        }
    )
    text = pdf_text(
        report.yearly_report(
            run.indicators, run.findings, "2026", generated=date(2026, 4, 2), funnel=funnel
        ),
        tmp_path,
        layout=True,
    )
    flat = " ".join(text.split())
    assert "发现线索 1,376 条（涉及金额 804,530.00 元）" in flat
    assert "追回资金 350.50 元（1 条线索）" in flat
    row = next(
        ln.split() for ln in text.splitlines() if ln.split()[:1] == ["全区"] and "804,530.00" in ln
    )
    assert row == ["全区", "1,376", "804,530.00", "3", "200.05", "2", "1.00", "1", "350.50"]


@needs_pdftotext
def test_the_file_audit_report_never_breaks_a_case_number(scenario, tmp_path):  # noqa: F811
    note = (
        "与"
        + "、".join(f"案件 {c}" for c in CASES)
        + "的材料重复，申请书签字日期早于受理日期，请复核。"
    )
    versions = {
        code: row["version"] for code, row in v.case_answers(scenario.view(), "C003").items()
    }
    given = {code: ("符合", None) for code in ITEMS}
    for n, code in enumerate(ITEMS[:4]):
        given[code] = ("不符合", "甲" * (3 * n) + note)
    v.save_case(scenario.ws, scenario.session_id, "C003", given, versions, by="李四")
    text = pdf_text(far.session_pdf(scenario.view(), generated=date(2026, 2, 21)), tmp_path)
    failures = text.split("五、不符合事项", 1)[1]
    for case in CASES:
        assert failures.count(case) == 4, case
    lines = [ln.strip() for ln in failures.splitlines()]
    assert not [ln for ln in lines if re.search(r"JZ\d{0,10}$", ln)]


# --- the workbooks --------------------------------------------------------------------------------


def test_the_funds_workbook_holds_money_as_numbers_formatted_as_money():
    from tests.analytics.test_funds_figures import FINDINGS

    shown = FINDINGS.head(4).with_columns(
        *[pl.lit("某").alias(c) for c in ("title", "item", "summary")],
        *[pl.lit(None, pl.String).alias(c) for c in ("case_id", "id_number", "account_no")],
    )
    entitled = pl.DataFrame(
        {"差异": ["应发金额（元）"], "发放月份": ["2026-03"], "应发金额（元）": [1_550.0]}
    ).with_columns(pl.col("应发金额（元）").cast(funds_view.YUAN))
    paid = pl.DataFrame(
        {"本条": ["●"], "差异": [""], "流水号": ["T1"], "金额（元）": [804_530.0]}
    ).with_columns(pl.col("金额（元）").cast(funds_view.YUAN))
    comparison = funds_view.Comparison(entitled, paid, ((0, "应发金额（元）"),), (), "范围")
    book = openpyxl.load_workbook(io.BytesIO(funds_view.findings_excel(shown, comparison, "F1")))
    assert book.sheetnames == [funds_view.SHEET, funds_view.ENTITLED_SHEET, funds_view.PAID_SHEET]

    def money_cells(sheet, header: str):
        names = [c.value for c in book[sheet][1]]
        column = names.index(header)
        return [row[column] for row in book[sheet].iter_rows(min_row=2)]

    cells = money_cells(funds_view.SHEET, "涉及金额（元）")
    assert [c.value for c in cells] == [804_530, 804_530, 804_530, 1_550]
    assert {c.number_format for c in cells} == {"#,##0.00"}
    assert all(c.data_type == "n" for c in cells)
    (cell,) = money_cells(funds_view.PAID_SHEET, "金额（元）")
    assert (cell.value, cell.number_format, cell.data_type) == (804_530, "#,##0.00", "n")
    (cell,) = money_cells(funds_view.ENTITLED_SHEET, "应发金额（元）")
    assert (cell.value, cell.number_format) == (1_550, "#,##0.00")
    assert [c.value for c in book[funds_view.PAID_SHEET][2]][:4] == ["F1", "●", None, "T1"]


def test_the_file_audit_workbook_keeps_counts_as_numbers(scenario):  # noqa: F811
    book = openpyxl.load_workbook(io.BytesIO(far.session_excel(scenario.view())))
    sheet = book["各街镇结果"]
    names = [c.value for c in sheet[1]]
    cases = names.index("抽查案件")
    cells = [row[cases] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in cells] == [3, 2, 5]
    assert {c.number_format for c in cells} == {"#,##0"} and {c.data_type for c in cells} == {"n"}
