"""涉及金额 has one definition (analytics.amounts): a control total is not counted again, a
payment two checks flag counts once; and on the demo district 资金比对 and the yearly report show
exactly that figure for the findings they cover."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics import amounts, formats, pipeline, report
from analytics.generate import generate
from analytics.reference import PROJECT_ROOT
from analytics.results import load_check_summary, load_findings, load_indicators
from analytics.views import funds as funds_view
from analytics.views.overview import leads_by_street
from tests.dashboard.conftest import SUPERVISOR, login

H, J = "华阳路街道", "江苏路街道"


def findings(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "finding_id": pl.String,
            "check_id": pl.String,
            "street": pl.String,
            "txn_id": pl.String,
            "amount_fen": pl.Int64,
        },
        orient="row",
    )


MIXED = findings(
    # one payment flagged by two checks: counted once, at the larger amount
    ("F1", "paid_after_termination", J, "T5", 80_000),
    ("F2", "paid_without_entitlement", J, "T5", 90_000),
    # the street-month total those payments are part of: not counted again
    ("F3", "control_total_mismatch", J, None, 170_000),
    # a case-level finding (no ledger row) and one without an amount
    ("F4", "entitled_not_paid", H, None, 120_000),
    ("F5", "late_disbursement", H, "T9", None),
)


def test_a_control_total_and_two_checks_on_one_payment_count_once():
    assert amounts.money_at_risk_fen(MIXED) == 90_000 + 120_000
    assert amounts.money_at_risk_fen(MIXED.lazy()) == 210_000
    assert int(MIXED["amount_fen"].sum()) == 460_000  # what adding the column gave
    assert amounts.counted(MIXED).to_list() == [False, True, False, True, False]
    assert amounts.money_at_risk_fen(MIXED.head(0)) == 0
    assert "汇总金额不符" in amounts.HELP and "只计一次" in amounts.HELP


def test_the_funds_page_figures_use_the_definition():
    funds = MIXED.with_columns(pl.lit("funds").alias("family"))
    metrics = funds_view.metrics(funds, pl.DataFrame())
    assert metrics.amount_fen == 210_000
    totals = funds_view.by_street(funds)
    assert dict(totals.select("street", "amount_fen").rows())[J] == 90_000
    assert dict(totals.select("street", "amount_fen").rows())[H] == 120_000
    checks = dict(funds_view.by_check(funds).select("check_id", "amount_fen").rows())
    assert checks["control_total_mismatch"] == 0
    assert checks["paid_after_termination"] == 80_000  # each check's own findings
    assert funds_view.counted_text(funds).to_list() == [
        "否（同一流水已计）",
        "是",
        "否（汇总数）",
        "是",
        None,
    ]


# --- the demo district ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("demo_amounts")
    drop, out = base / "drop", base / "out"
    generate(drop, households=600, seed=7)
    pipeline.write_outputs(pipeline.run(drop), out)
    return drop, out


def test_the_funds_page_shows_the_funds_familys_money_at_risk(demo, monkeypatch):
    drop, out = demo
    every = load_findings(out)
    funds = every.filter(pl.col("family") == "funds")
    expected = amounts.money_at_risk_fen(funds)
    # the demo has control totals: the old sum of the column was larger
    assert funds.filter(pl.col("check_id") == "control_total_mismatch").height
    assert expected < int(funds["amount_fen"].sum())

    assert (
        funds_view.metrics(funds_view.funds_findings(every), load_check_summary(out)).amount_fen
        == expected
    )
    monkeypatch.setenv("AIDWATCH_DROP", str(drop))
    monkeypatch.setenv("AIDWATCH_OUT", str(out))
    at = login(
        AppTest.from_file(
            str(PROJECT_ROOT / "dashboard" / "screens" / "funds.py"), default_timeout=60
        ),
        SUPERVISOR,
    )
    at.run()
    assert not at.exception
    figures = {m.label: m.value for m in at.metric}
    assert figures[funds_view.MONEY_LABEL] == formats.money_fen(expected)
    # every street's figure is the definition over that street's funds findings
    by_street = dict(funds_view.by_street(funds).select("street", "amount_fen").rows())
    for street, part in funds.partition_by("street", as_dict=True).items():
        assert by_street[street[0]] == amounts.money_at_risk_fen(part)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext is not installed")
def test_the_yearly_report_shows_the_years_money_at_risk(demo, tmp_path):
    _, out = demo
    every, indicators = load_findings(out), load_indicators(out)
    as_of = max(p for p in indicators["period"].unique().to_list() if "-" in p)
    year_rows = report.year_findings(every, "2026", as_of)
    # the same findings the section counts
    assert year_rows.height == leads_by_street(every, "2026", as_of)["total"].sum()
    expected = formats.money_fen(amounts.money_at_risk_fen(year_rows))
    assert amounts.money_at_risk_fen(year_rows) < int(year_rows["amount_fen"].sum())

    path = tmp_path / "yearly.pdf"
    path.write_bytes(report.yearly_report(indicators, every, "2026", generated=date(2026, 12, 5)))
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    flat = " ".join(text.split())
    assert re.search(rf"共 {year_rows.height:,} 条，涉及金额 {re.escape(expected)} 元", flat)
    district = next(ln for ln in text.splitlines() if "十个街镇合计" in ln)
    assert district.split()[-1] == expected
    # each street's row ends with its own figure
    for (street,), part in year_rows.partition_by("street", as_dict=True).items():
        line = next(
            ln
            for ln in text.splitlines()
            if ln.split()[:1] == [street] and re.search(r"\d+\.\d\d$", ln.strip())
        )
        assert line.split()[-1] == formats.money_fen(amounts.money_at_risk_fen(part)), street


def test_the_funnel_counts_the_money_of_its_leads_by_the_definition():
    """总览's and the yearly report's funnel: 发现线索 and the later stages give 涉及金额 of the
    findings that reached them, not the sum of their amounts."""
    from analytics.workflow.followup import funnel

    history = pl.DataFrame(
        {
            "finding_id": ["F1", "F2", "F3", "F4", "F5", "F1", "F3"],
            "move": ["found"] * 5 + ["confirm", "confirm"],
            "on_date": [date(2026, 10, 9)] * 7,
        }
    )
    recoveries = pl.DataFrame(
        schema={"finding_id": pl.String, "paid_on": pl.Date, "amount_fen": pl.Int64}
    )
    stages = {r["stage"]: r for r in funnel(MIXED, history, recoveries).iter_rows(named=True)}
    assert (stages["leads"]["count"], stages["leads"]["amount_fen"]) == (5, 210_000)
    # F1 alone counts its payment (F2, the larger flag of it, was not confirmed); F3 is a total
    assert (stages["verified"]["count"], stages["verified"]["amount_fen"]) == (2, 80_000)
