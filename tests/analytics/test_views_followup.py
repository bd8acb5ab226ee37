"""回头看 and the funnel as the pages show them, over a month-over-month scenario stored in
SQLite and in PostgreSQL: the street counts, each street's list, the re-check schedule, the
workbook the streets answer, and the funnel of a period and of one street."""

from __future__ import annotations

import io
from datetime import date

import polars as pl
import pytest

from analytics.charts import overview as charts
from analytics.store.db import open_store
from analytics.store.findings import (
    apply_move,
    findings_frame,
    history_frame,
    ingest,
    recoveries_frame,
    start_run,
    states_frame,
)
from analytics.views import followup as view
from analytics.views import overview as overview_view
from analytics.workflow.followup import FollowupRules, add_months
from analytics.workflow.triage import MoveInput

A, B = "华阳路街道", "新泾镇"
RECIPES = {"duplicate_payment": "1:txn_id", "visit_overdue": "1:case_id"}
MONTH_1, MONTH_2 = date(2026, 3, 31), date(2026, 4, 30)
TODAY = date(2026, 5, 5)
RULES = FollowupRules(recheck_after_months=1, exception_warning_days=30)


def _frame(rows) -> pl.DataFrame:
    return pl.DataFrame(
        [
            dict(
                finding_id=fid,
                check_id=check,
                family=family,
                severity="高",
                street=street,
                month="2026-03",
                case_id="C" + fid,
                txn_id=None,
                id_number=None,
                account_no=None,
                staff_id=None,
                item=None,
                amount_fen=amount,
                summary=f"线索 {fid}：金额不符。",
                evidence="{}",
            )
            for fid, check, family, street, amount in rows
        ]
    )


def _act(store, fid, name, on, **given):
    version = states_frame(store).filter(pl.col("finding_id") == fid)["version"].item()
    apply_move(
        store,
        fid,
        name,
        MoveInput(**given),
        by="督查员",
        expected_version=version,
        today=on,
        default_due=add_months(on, 1),
    )


def _run(store, rows, on):
    run_id = start_run(store, kind="check", origin="test", by="测试")
    ingest(store, run_id, _frame(rows), recipes=RECIPES, complete_checks=RECIPES, on_date=on)


def build_scenario(store) -> None:
    """Two months of a district, as a supervisor works them.

    March's run finds six leads. F1 (A) is verified and 300 yuan of it recovered; F2 (A) is
    dismissed; F3 and F4 (B) are to be rectified by 15 April; F6 (B) is excused until 20 May;
    F7 (A) is rectified the same day. In April F4 is rectified on time, F3 late, and the other
    200 yuan of F1 comes back. April's run finds F1, F4 (so it recurred) and F6 again, and a new
    F5 (A); F2, F3 and F7 are no longer found."""
    _run(
        store,
        [
            ("F1", "duplicate_payment", "funds", A, 50_000),
            ("F2", "duplicate_payment", "funds", A, 20_000),
            ("F3", "visit_overdue", "dynamic", B, 0),
            ("F4", "duplicate_payment", "funds", B, 10_000),
            ("F6", "duplicate_payment", "funds", B, 5_000),
            ("F7", "duplicate_payment", "funds", A, 8_000),
        ],
        MONTH_1,
    )
    _act(store, "F1", "assign", MONTH_1, assignee_street=A)
    _act(store, "F1", "confirm", MONTH_1)
    _act(store, "F1", "recover", MONTH_1)
    _act(store, "F1", "record_recovery", MONTH_1, amount_fen=30_000, paid_on=MONTH_1)
    _act(store, "F2", "dismiss", MONTH_1, reason="核实不属实")
    for fid in ("F3", "F4"):
        _act(store, fid, "assign", MONTH_1, assignee_street=B)
        _act(store, fid, "confirm", MONTH_1)
        _act(store, fid, "rectify", MONTH_1, due_date=date(2026, 4, 15))
    _act(store, "F6", "assign", MONTH_1, assignee="李四")
    _act(store, "F6", "confirm", MONTH_1)
    _act(store, "F6", "excuse", MONTH_1, reason="政策理解偏差", expires_on=date(2026, 5, 20))
    _act(store, "F7", "assign", MONTH_1, assignee_street=A)
    _act(store, "F7", "confirm", MONTH_1)
    _act(store, "F7", "rectify", MONTH_1, due_date=date(2026, 4, 15))
    _act(store, "F7", "rectified", MONTH_1)
    _act(store, "F4", "rectified", date(2026, 4, 10))
    _act(store, "F3", "rectified", date(2026, 4, 20))
    _act(
        store,
        "F1",
        "record_recovery",
        date(2026, 4, 28),
        amount_fen=20_000,
        paid_on=date(2026, 4, 28),
    )
    _run(
        store,
        [
            ("F1", "duplicate_payment", "funds", A, 50_000),
            ("F4", "duplicate_payment", "funds", B, 10_000),
            ("F6", "duplicate_payment", "funds", B, 5_000),
            ("F5", "visit_overdue", "dynamic", A, 0),
        ],
        MONTH_2,
    )


def workflow_of(store) -> dict[str, pl.DataFrame]:
    return {
        "findings": findings_frame(store),
        "history": history_frame(store),
        "recoveries": recoveries_frame(store),
    }


@pytest.fixture
def workflow(db_url):
    store = open_store(db_url)
    build_scenario(store)
    frames = workflow_of(store)
    store.dispose()
    return frames


@pytest.fixture
def fv(workflow):
    return view.followup_view(workflow["findings"], workflow["history"], today=TODAY, rules=RULES)


def test_each_finding_waits_for_what_a_supervisor_expects(fv):
    by_id = {r["finding_id"]: r for r in fv.items.iter_rows(named=True)}
    assert sorted(by_id) == ["F1", "F3", "F4", "F5", "F6", "F7"]  # F2 dismissed: nothing to do
    stages = {fid: r["stage"] for fid, r in by_id.items()}
    assert stages == {
        "F1": "待处置",
        "F3": "待回头看",
        "F4": "回头看复发",
        "F5": "待核实",
        "F6": "容错免责",
        "F7": "待回头看",
    }
    # re-checks fall due a month after each rectification
    assert (by_id["F7"]["deadline"], by_id["F7"]["overdue"]) == (date(2026, 4, 30), True)
    assert (by_id["F3"]["deadline"], by_id["F3"]["overdue"]) == (date(2026, 5, 20), False)
    # the exception ends within the warning days
    assert by_id["F6"]["warning"] and not by_id["F6"]["overdue"]
    assert by_id["F1"]["title"] == "重复拨付" and by_id["F5"]["title"] == "探访逾期"
    assert fv.tracked == 7


def test_street_counts(fv):
    summary = {r["street"]: r for r in fv.summary.iter_rows(named=True)}
    assert fv.summary["street"].to_list()[:2] == [A, "江苏路街道"]  # the ten, in their order
    assert fv.summary.height == 10
    a, b = summary[A], summary[B]
    assert (a["open"], a["rectified"], a["recheck_due"], a["recurred"]) == (2, 1, 1, 0)
    assert (b["open"], b["rectified"], b["recheck_due"], b["recurred"]) == (1, 1, 0, 1)
    assert (a["exceptions_due"], b["exceptions_due"]) == (0, 1)
    assert a["overdue"] == 1  # F1: its deadline (30 April) has passed
    assert all(v == 0 for k, v in summary["新华路街道"].items() if k != "street")
    table = view.summary_table(fv.summary)
    assert table.columns == ["街镇", *view.COUNTS.values()]
    assert table.row(-1, named=True) == {
        "街镇": "合计",
        **{t: sum(r[c] for r in summary.values()) for c, t in view.COUNTS.items()},
    }
    assert view.counts_of(fv.summary)["open"] == 3
    assert view.counts_of(fv.summary, B)["recurred"] == 1


def test_a_streets_list_and_its_schedule(fv):
    assert view.street_choices(fv) == [view.ALL_STREETS, A, B]
    table = view.items_table(view.items_of(fv, A))
    assert table.columns == [
        "街镇",
        "阶段",
        "期限",
        "超期",
        "提示",
        "检查项",
        "月份",
        "救助编号",
        "涉及金额（元）",
        "线索",
        "承办",
        "最近一次检查",
        "编号",
    ]
    rows = {r["编号"]: r for r in table.iter_rows(named=True)}
    assert sorted(rows) == ["F1", "F5", "F7"]
    assert (rows["F7"]["阶段"], rows["F7"]["超期"], rows["F7"]["最近一次检查"]) == (
        "待回头看",
        "是",
        "未再发现",
    )
    assert (rows["F1"]["涉及金额（元）"], rows["F1"]["承办"], rows["F1"]["救助编号"]) == (
        500.0,
        A,
        "CF1",
    )
    assert rows["F5"]["期限"] is None and rows["F5"]["超期"] == "否"
    everyone = view.items_table(view.items_of(fv, view.ALL_STREETS))
    assert everyone.height == 6
    assert everyone.filter(pl.col("编号") == "F6")["提示"].item() == "免责即将到期"

    due = view.schedule(view.items_of(fv))
    assert due["finding_id"].to_list() == ["F7", "F3"]  # by the date each falls due
    shown = view.schedule_table(due)
    assert shown.row(0, named=True)["是否到期"] == "已到期"
    assert shown["整改完成日期"].to_list() == [date(2026, 3, 31), date(2026, 4, 20)]
    assert view.schedule_by_month(due).rows() == [("2026-04", 1), ("2026-05", 1)]


def test_the_workbook_the_streets_answer(fv):
    sheets = view.answer_sheets(fv)
    assert list(sheets) == [view.SUMMARY_SHEET, A, B]
    for street in (A, B):
        sheet = sheets[street]
        assert sheet.columns[-2:] == list(view.ANSWER_COLUMNS)
        assert sheet.select(view.ANSWER_COLUMNS).null_count().row(0) == (sheet.height,) * 2
        assert sheet.drop(view.ANSWER_COLUMNS).equals(view.items_table(view.items_of(fv, street)))
    only_b = view.answer_sheets(fv, B)
    assert list(only_b) == [view.SUMMARY_SHEET, B]
    assert only_b[view.SUMMARY_SHEET]["街镇"].to_list() == [B, "合计"]

    workbook = view.answer_excel(fv)
    read = pl.read_excel(io.BytesIO(workbook), sheet_id=0)
    assert list(read) == [view.SUMMARY_SHEET, A, B]
    assert read[A]["编号"].to_list() == sheets[A]["编号"].to_list()
    assert (
        read[view.SUMMARY_SHEET]["未办结"].to_list()
        == sheets[view.SUMMARY_SHEET]["未办结"].to_list()
    )


def test_sheet_names_excel_accepts():
    assert view.sheet_name("新泾镇", []) == "新泾镇"
    assert view.sheet_name("a[b]:c*d?e/f\\g", []) == "a_b__c_d_e_f_g"
    assert view.sheet_name("'引号'", []) == "引号"
    assert len(view.sheet_name("长" * 40, [])) == 31
    assert view.sheet_name("汇总", ["汇总"]) == "汇总_2"
    assert view.sheet_name("History", []) == "History_2"
    assert view.sheet_name("", []) == "街镇"


def test_a_viewer_limited_to_one_street_sees_only_its_items(workflow):
    fv = view.followup_view(
        workflow["findings"], workflow["history"], today=TODAY, rules=RULES, streets=[B]
    )
    assert set(fv.items["street"]) == {B}
    assert fv.summary["street"].to_list() == [B]
    assert fv.tracked == 3


def test_rules_come_from_the_settings():
    from analytics.reference import load_settings

    rules = view.rules_from()
    workflow = load_settings().workflow
    assert (rules.recheck_after_months, rules.exception_warning_days) == (
        workflow.recheck_after_months,
        workflow.exception_warning_days,
    )


def test_an_empty_workspace(db_url):
    store = open_store(db_url)
    try:
        frames = workflow_of(store)
    finally:
        store.dispose()
    fv = view.followup_view(frames["findings"], frames["history"], today=TODAY)
    assert fv.tracked == 0 and fv.items.height == 0
    table = view.summary_table(fv.summary)
    assert table.row(-1) == ("合计", *(0,) * len(view.COUNTS))
    assert list(view.answer_sheets(fv)) == [view.SUMMARY_SHEET]
    assert charts.followup_bars(fv.summary).layout.annotations[0].text == charts.EMPTY
    funnel = overview_view.funnel_of(frames, "2026-03")
    assert funnel["count"].to_list() == [0, 0, 0, 0]
    assert charts.funnel_chart(funnel).layout.annotations[0].text == charts.EMPTY


# --- the funnel of a period, of a street -----------------------------------------------------


def counts(frame: pl.DataFrame) -> dict[str, tuple[int, int]]:
    return {s: (n, fen) for s, n, fen in frame.select("stage", "count", "amount_fen").iter_rows()}


def test_funnel_by_period(workflow):
    march = overview_view.funnel_of(workflow, "2026-03")
    assert counts(march) == {
        "leads": (6, 93_000),
        "verified": (5, 73_000),
        "rectified": (1, 8_000),
        "recovered": (1, 30_000),
    }
    april = overview_view.funnel_of(workflow, "2026-04")
    assert counts(april) == {
        "leads": (1, 0),
        "verified": (0, 0),
        "rectified": (2, 10_000),
        "recovered": (1, 20_000),
    }
    quarter = overview_view.funnel_of(workflow, "2026Q2")
    assert counts(quarter) == counts(april)
    year = overview_view.funnel_of(workflow, "2026")
    assert counts(year) == {
        "leads": (7, 93_000),
        "verified": (5, 73_000),
        "rectified": (3, 18_000),
        "recovered": (1, 50_000),
    }
    assert counts(overview_view.funnel_of(workflow)) == counts(year)
    table = overview_view.funnel_table(year)
    assert table.columns == ["环节", "线索数（条）", "金额（元）"]
    assert table.rows() == [
        ("发现线索", 7, 930.0),
        ("核实属实", 5, 730.0),
        ("整改完成", 3, 180.0),
        ("追回资金", 1, 500.0),
    ]


def test_funnel_of_one_street(workflow):
    b = overview_view.funnel_of(workflow, "2026", [B])
    assert counts(b) == {
        "leads": (3, 15_000),
        "verified": (3, 15_000),
        "rectified": (2, 10_000),
        "recovered": (0, 0),
    }
    a = overview_view.funnel_of(workflow, "2026", [A])
    assert counts(a)["recovered"] == (1, 50_000)  # F1's two payments
    by_street = overview_view.funnel_by_street(workflow, "2026")
    assert by_street["street"].unique(maintain_order=True).to_list()[:2] == ["全区", A]
    streets = by_street.filter(pl.col("street") != "全区")
    total = streets.group_by("stage").agg(pl.col("count", "amount_fen").sum())
    district = by_street.filter(pl.col("street") == "全区")
    assert counts(district.select("stage", "count", "amount_fen")) == {
        s: (n, fen) for s, n, fen in total.iter_rows()
    }


@pytest.mark.parametrize(
    ("period", "first", "last"),
    [
        ("2026-02", date(2026, 2, 1), date(2026, 2, 28)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2026Q2", date(2026, 4, 1), date(2026, 6, 30)),
        ("2026Q4", date(2026, 10, 1), date(2026, 12, 31)),
        ("2026", date(2026, 1, 1), date(2026, 12, 31)),
    ],
)
def test_period_bounds(period, first, last):
    assert overview_view.period_bounds(period) == (first, last)


def test_charts_of_the_funnel_and_the_streets(workflow, fv):
    year = overview_view.funnel_of(workflow, "2026")
    fig = charts.funnel_chart(year, "2026年线索处置漏斗")
    funnel = fig.data[0]
    assert list(funnel.y) == ["发现线索", "核实属实", "整改完成", "追回资金"]
    assert list(funnel.x) == [7, 5, 3, 1]
    assert funnel.text[3] == "1条 · 500.00元"
    bars = charts.followup_bars(fv.summary)
    assert [t.name for t in bars.data] == [name for _, name, _ in charts.FOLLOWUP_SERIES]
    assert list(bars.data[0].x) == [A, B]  # streets with nothing to follow are left out
    recurred = next(t for t in bars.data if t.name == "回头看复发")
    assert list(recurred.y) == [0, 1]
