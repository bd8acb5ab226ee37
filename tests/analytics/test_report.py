"""The yearly evaluation PDF: it opens, and pdftotext finds the streets, figures and sections."""

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
from analytics.views.overview import format_value, ranking
from checks.engine import run_checks

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                reason="pdftotext (poppler-utils) is not installed")


@dataclass
class Run:
    indicators: pl.DataFrame
    findings: pl.DataFrame


@pytest.fixture(scope="module")
def run() -> Run:
    """Two streets with a case each, paid in March 2026; one approval is late, one street
    trained."""
    a, b = "310105198001010013", "310105197512120025"
    drop = mini_drop(
        as_of="2026-03-31",
        persons=[dict(id_number=a, name="甲", household_id="H1", street="华阳路街道"),
                 dict(id_number=b, name="乙", household_id="H2", street="新泾镇")],
        cases=[dict(case_id="C1", household_id="H1", applicant_id_number=a, street="华阳路街道",
                    assistance_type="最低生活保障", status="在册", accepted_date="2026-01-05",
                    decided_date="2026-01-20"),
               dict(case_id="C2", household_id="H2", applicant_id_number=b, street="新泾镇",
                    assistance_type="最低生活保障", status="在册", accepted_date="2026-01-05",
                    decided_date="2026-02-10")],
        accounts=[dict(case_id="C1", account_no="6222020200112233445", holder_id_number=a),
                  dict(case_id="C2", account_no="6222020200112233446", holder_id_number=b)],
        entitlements=[dict(month="2026-03", case_id=c, id_number=i, item="低保金", kind="正常",
                           amount=155000) for c, i in (("C1", a), ("C2", b))],
        ledger=[dict(txn_id=f"T{c}", month="2026-03", pay_date="2026-03-10", street=s,
                     fund_code="JZ01", item="低保金", case_id=c, payee_id=i,
                     account_no=acc, amount=155000, status="成功")
                for c, i, s, acc in (("C1", a, "华阳路街道", "6222020200112233445"),
                                     ("C2", b, "新泾镇", "6222020200112233446"))],
        trainings=[dict(street="华阳路街道", date="2026-03-02", topic="政策培训")],
    )
    findings = run_checks(drop).findings
    return Run(compute(drop, findings), findings)


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          check=True)
    return done.stdout.decode("utf-8")


def test_report_shows_streets_figures_and_sections(run, tmp_path):
    data = report.yearly_report(run.indicators, run.findings, "2026", generated=date(2026, 4, 2))
    assert data.startswith(b"%PDF-")
    text = pdf_text(data, tmp_path)
    assert "长宁区社会救助街镇2026年度绩效评价报告" in text
    assert "评价期间：2026年3月至2026年3月" in text and "生成日期：2026-04-02" in text
    for street in STREETS:
        assert street in text
    for section in ("一、街镇绩效指标与综合得分", "二、培训情况", "三、问题线索分类统计",
                    "四、低收入人口四个圈层", "五、指标定义"):
        assert section in text
    # The ranked street's row carries its rank, score, rates and trainings mark in that order.
    top = ranking(run.indicators, "2026").row(0, named=True)
    line = next(ln for ln in text.splitlines() if top["street"] in ln and "达标" in ln)
    cells = line.split()
    assert cells[:3] == ["1", top["street"], format_value("composite_score",
                                                         top["composite_score"])]
    assert format_value("approval_on_time_rate", top["approval_on_time_rate"]) in cells
    assert cells[-1] == "达标"
    # The other nine held no training: marked and listed.
    assert "以下街镇2026年培训次数未达标" in text and "新泾镇" in text
    # Definitions come from the one table.
    assert "按时审批的案件数" in text


def test_report_is_deterministic_for_a_date(run):
    args = (run.indicators, run.findings, "2026")
    assert (report.yearly_report(*args, generated=date(2026, 4, 2))
            == report.yearly_report(*args, generated=date(2026, 4, 2)))


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
        "2026", "2025"]
