"""The yearly evaluation PDF: it opens, and pdftotext finds the streets, figures and sections,
the year's funnel of the follow-up loop and the rectification indicators."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from analytics import report
from analytics.indicators import compute
from analytics.minidrop import mini_drop
from analytics.schema import STREETS
from analytics.views.overview import format_value, funnel_by_street, ranking
from checks.engine import run_checks

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed"
)


@dataclass
class Run:
    indicators: pl.DataFrame
    findings: pl.DataFrame
    drop: object


@pytest.fixture(scope="module")
def run() -> Run:
    """Two streets with a case each, paid in March 2026; one approval is late, one street
    trained."""
    a, b = "310105198001010013", "310105197512120025"
    drop = mini_drop(
        as_of="2026-03-31",
        persons=[
            dict(id_number=a, name="甲", household_id="H1", street="华阳路街道"),
            dict(id_number=b, name="乙", household_id="H2", street="新泾镇"),
        ],
        cases=[
            dict(
                case_id="C1",
                household_id="H1",
                applicant_id_number=a,
                street="华阳路街道",
                assistance_type="最低生活保障",
                status="在册",
                accepted_date="2026-01-05",
                decided_date="2026-01-20",
            ),
            dict(
                case_id="C2",
                household_id="H2",
                applicant_id_number=b,
                street="新泾镇",
                assistance_type="最低生活保障",
                status="在册",
                accepted_date="2026-01-05",
                decided_date="2026-02-10",
            ),
        ],
        accounts=[
            dict(case_id="C1", account_no="6222020200112233445", holder_id_number=a),
            dict(case_id="C2", account_no="6222020200112233446", holder_id_number=b),
        ],
        entitlements=[
            dict(month="2026-03", case_id=c, id_number=i, item="低保金", kind="正常", amount=155000)
            for c, i in (("C1", a), ("C2", b))
        ],
        ledger=[
            dict(
                txn_id=f"T{c}",
                month="2026-03",
                pay_date="2026-03-10",
                street=s,
                fund_code="JZ01",
                item="低保金",
                case_id=c,
                payee_id=i,
                account_no=acc,
                amount=155000,
                status="成功",
            )
            for c, i, s, acc in (
                ("C1", a, "华阳路街道", "6222020200112233445"),
                ("C2", b, "新泾镇", "6222020200112233446"),
            )
        ],
        trainings=[dict(street="华阳路街道", date="2026-03-02", topic="政策培训")],
    )
    findings = run_checks(drop).findings
    return Run(compute(drop, findings), findings, drop)


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def test_report_shows_streets_figures_and_sections(run, tmp_path):
    data = report.yearly_report(run.indicators, run.findings, "2026", generated=date(2026, 4, 2))
    assert data.startswith(b"%PDF-")
    text = pdf_text(data, tmp_path)
    assert "长宁区社会救助街镇2026年度绩效评价报告" in text
    assert "评价期间：2026年3月至2026年3月" in text and "生成日期：2026-04-02" in text
    for street in STREETS:
        assert street in text
    for section in (
        "一、街镇绩效指标与综合得分",
        "二、培训情况",
        "三、问题线索分类统计",
        "四、线索核实、整改与追回（处置漏斗）",
        "五、失信记录（联席会议办公室）",
        "六、低收入人口四个圈层",
        "七、指标定义",
    ):
        assert section in text
    # a run outside a workspace: the dishonesty records are said not to be counted
    assert "未统计失信记录" in text
    # The ranked street's row carries its rank, score, rates and trainings mark in that order.
    top = ranking(run.indicators, "2026").row(0, named=True)
    line = next(ln for ln in text.splitlines() if top["street"] in ln and "达标" in ln)
    cells = line.split()
    assert cells[:3] == [
        "1",
        top["street"],
        format_value("composite_score", top["composite_score"]),
    ]
    assert format_value("approval_on_time_rate", top["approval_on_time_rate"]) in cells
    assert cells[-1] == "达标"
    # The other nine held no training: marked and listed.
    assert "以下街镇2026年培训次数未达标" in text and "新泾镇" in text
    # Definitions come from the one table.
    assert "按时审批的案件数" in text


A, B = "华阳路街道", "新泾镇"


def workflow() -> dict[str, pl.DataFrame]:
    """The workspace's frames of a year: three leads found, two verified, one rectified, 200
    and 150 yuan recovered on one of them; a lead of the year before is left out."""
    findings = pl.DataFrame(
        {
            "finding_id": ["F1", "F2", "F3", "F0"],
            "street": [A, A, B, B],
            "amount_fen": [50_000, 20_000, 10_000, 99_900],
        }
    )
    history = pl.DataFrame(
        {
            "finding_id": ["F1", "F2", "F3", "F0", "F1", "F3", "F3"],
            "move": ["found", "found", "found", "found", "confirm", "confirm", "rectified"],
            "on_date": [date(2026, 3, 31)] * 3
            + [date(2025, 12, 31), date(2026, 4, 2), date(2026, 4, 2), date(2026, 5, 6)],
        }
    )
    recoveries = pl.DataFrame(
        {
            "finding_id": ["F1", "F1"],
            "paid_on": [date(2026, 4, 10), date(2026, 6, 1)],
            "amount_fen": [20_000, 15_000],
        }
    )
    return {"findings": findings, "history": history, "recoveries": recoveries}


def test_report_shows_the_years_funnel(run, tmp_path):
    funnel = funnel_by_street(workflow(), "2026")
    text = pdf_text(
        report.yearly_report(
            run.indicators, run.findings, "2026", generated=date(2026, 4, 2), funnel=funnel
        ),
        tmp_path,
    )
    flat = " ".join(text.split())
    assert (
        "2026年全区发现线索 3 条（涉及金额 800.00 元），核实属实 2 条，整改完成 1 条，"
        "追回资金 350.00 元（1 条线索）。"
    ) in flat
    # one row per street, the district last: count and money of each stage
    rows = {
        cells[0]: cells[1:]
        for cells in map(str.split, text.splitlines())
        if len(cells) == 9 and all(c.replace(".", "").replace(",", "").isdigit() for c in cells[1:])
    }
    assert list(rows)[-1] == "全区" and len(rows) == 11  # the ten streets, then the district
    assert rows[A] == ["2", "700.00", "1", "500.00", "0", "0.00", "1", "350.00"]
    assert rows[B] == ["1", "100.00", "1", "100.00", "1", "100.00", "0", "0.00"]
    assert rows["全区"] == ["3", "800.00", "2", "600.00", "1", "100.00", "1", "350.00"]


def test_report_without_the_workspace_says_so(run, tmp_path):
    text = pdf_text(
        report.yearly_report(run.indicators, run.findings, "2026", generated=date(2026, 4, 2)),
        tmp_path,
    )
    assert "本报告生成时未读取工作区的处置记录" in text


def test_report_shows_the_rectification_indicators(run, tmp_path):
    # outside a workspace: not computed, never 0
    text = pdf_text(
        report.yearly_report(run.indicators, run.findings, "2026", generated=date(2026, 4, 2)),
        tmp_path,
    )
    header = next(ln for ln in text.splitlines() if ln.split()[:2] == ["排名", "街镇"])
    assert "整改按期率" in header and "整改复发率" in header
    assert "档案核查" in text and "合格率" in text  # a long title wraps in its column
    line = next(ln for ln in text.splitlines() if ln.split()[1:2] == [A])
    assert line.split()[-5:-2] == ["未计算", "未计算", "未计算"]
    assert "本次检查结果未计算" in " ".join(text.split())
    # in a workspace: A completed two rectifications, one on time; B one, on time, recurred;
    # a file audit found one of A's two cases in order, and none of B's was audited
    facts = pl.concat(
        [
            pl.DataFrame(
                {
                    "street": [A, A, B],
                    "month": ["2026-03"] * 3,
                    "on_time": [True, False, True],
                    "recurred": [False, False, True],
                }
            ),
            pl.DataFrame(
                {
                    "street": [A, A],
                    "month": ["2026-03"] * 2,
                    "audit_passed": [1, 0],
                    "audit_cases": [1, 1],
                }
            ),
        ],
        how="diagonal_relaxed",
    )
    indicators = compute(run.drop, run.findings, facts)
    text = pdf_text(
        report.yearly_report(indicators, run.findings, "2026", generated=date(2026, 4, 2)), tmp_path
    )
    cells = {
        ln.split()[1]: ln.split()
        for ln in text.splitlines()
        if len(ln.split()) > 4 and ln.split()[1] in (A, B, "江苏路街道")
    }
    assert cells[A][-5:-2] == ["50.0%", "0.0%", "50.0%"]
    assert cells[B][-5:-2] == ["100.0%", "100.0%", "—"]
    assert cells["江苏路街道"][-5:-2] == ["—", "—", "—"]  # none: blank, not 0
    assert "未计算" not in text


def test_report_is_deterministic_for_a_date(run):
    args = (run.indicators, run.findings, "2026")
    assert report.yearly_report(*args, generated=date(2026, 4, 2)) == report.yearly_report(
        *args, generated=date(2026, 4, 2)
    )


def test_unknown_year_is_refused(run):
    with pytest.raises(report.ReportError, match="2025"):
        report.yearly_report(run.indicators, run.findings, "2025")


def test_no_cjk_font_is_refused(run, monkeypatch):
    monkeypatch.setattr(report, "FONT_CANDIDATES", (("/nonexistent/font.ttc", 0),))
    with pytest.raises(report.ReportError, match="中文字体"):
        report.yearly_report(run.indicators, run.findings, "2026")


def test_report_years(run):
    assert report.report_years(run.indicators) == ["2026"]
    assert report.report_years(pl.DataFrame({"period": ["2025", "2026-01", "2026"]})) == [
        "2026",
        "2025",
    ]


def test_report_lists_the_dishonesty_records_of_the_year_by_street(run, tmp_path):
    rows = []
    for street, proposed, published in (("华阳路街道", 3, 2), ("新泾镇", 1, 0)):
        for name, value in (
            ("dishonesty_proposed", proposed),
            ("dishonesty_published", published),
            ("dishonesty_repaired", 0),
        ):
            rows.append((street, "2026", name, float(value), float(value), None))
    extra = pl.DataFrame(rows, schema=run.indicators.schema, orient="row")
    indicators = pl.concat(
        [run.indicators.filter(~pl.col("indicator").str.starts_with("dishonesty_")), extra]
    )
    text = pdf_text(
        report.yearly_report(indicators, run.findings, "2026", generated=date(2026, 4, 2)), tmp_path
    )
    assert "五、失信记录（联席会议办公室）" in text and "未统计失信记录" not in text
    line = next(ln for ln in text.splitlines() if "华阳路街道" in ln and " 3 " in f" {ln} ")
    assert line.split()[-3:] == ["3", "2", "0"]
