"""回头看 and the funnel, from the workflow's events (pure functions over frames), and the
month-over-month scenario as a supervisor would read it."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

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
from analytics.workflow.followup import (
    FollowupRules,
    add_months,
    followup_items,
    funnel,
    rectification_rates,
    street_summary,
)
from analytics.workflow.triage import MoveInput

RECIPES = {"duplicate_payment": "1:txn_id", "visit_overdue": "1:case_id"}


def frame(rows):
    return pl.DataFrame(
        [
            dict(
                finding_id=fid,
                check_id=check,
                family=family,
                severity="高",
                street=street,
                month="2026-10",
                case_id="C" + fid,
                txn_id=None,
                id_number=None,
                account_no=None,
                staff_id=None,
                item=None,
                amount_fen=amount,
                summary=f"线索 {fid}",
                evidence="{}",
            )
            for fid, check, family, street, amount in rows
        ]
    )


@pytest.fixture
def store(db_url):
    s = open_store(db_url)
    yield s
    s.dispose()


def act(store, fid, name, on, **given):
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


def month(store, rows, on):
    run_id = start_run(store, kind="check", origin="test", by="测试")
    return ingest(store, run_id, frame(rows), recipes=RECIPES, complete_checks=RECIPES, on_date=on)


def test_add_months_clamps_to_the_month_end():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_funnel_and_followup_over_two_months(store):
    A, B = "华阳路街道", "新泾镇"
    m1, m2 = date(2026, 10, 31), date(2026, 11, 30)
    month(
        store,
        [
            ("F1", "duplicate_payment", "funds", A, 50_000),
            ("F2", "duplicate_payment", "funds", A, 20_000),
            ("F3", "visit_overdue", "dynamic", B, 0),
            ("F4", "duplicate_payment", "funds", B, 10_000),
        ],
        m1,
    )
    # October: F1 verified and partly recovered, F2 dismissed, F3 and F4 to rectify
    act(store, "F1", "assign", date(2026, 10, 31), assignee_street=A)
    act(store, "F1", "confirm", date(2026, 10, 31))
    act(store, "F1", "recover", date(2026, 10, 31))
    act(
        store,
        "F1",
        "record_recovery",
        date(2026, 10, 31),
        amount_fen=30_000,
        paid_on=date(2026, 10, 31),
    )
    act(store, "F2", "dismiss", date(2026, 10, 31), reason="核实不属实")
    for fid in ("F3", "F4"):
        act(store, fid, "assign", date(2026, 10, 31), assignee_street=B)
        act(store, fid, "confirm", date(2026, 10, 31))
        act(store, fid, "rectify", date(2026, 10, 31), due_date=date(2026, 11, 15))
    act(store, "F4", "rectified", date(2026, 11, 10))  # on time
    act(store, "F3", "rectified", date(2026, 11, 20))  # late
    # November: the rest of F1 comes back; the run finds F4 again (recurred) and a new F5
    act(
        store,
        "F1",
        "record_recovery",
        date(2026, 11, 30),
        amount_fen=20_000,
        paid_on=date(2026, 11, 28),
    )
    month(
        store,
        [
            ("F1", "duplicate_payment", "funds", A, 50_000),
            ("F4", "duplicate_payment", "funds", B, 10_000),
            ("F5", "visit_overdue", "dynamic", A, 0),
        ],
        m2,
    )

    findings, history = findings_frame(store), history_frame(store)
    recoveries = recoveries_frame(store)
    october = funnel(findings, history, recoveries, start=date(2026, 10, 1), end=date(2026, 10, 31))
    assert dict(october.select("stage", "count").iter_rows()) == {
        "leads": 4,
        "verified": 3,
        "rectified": 0,
        "recovered": 1,
    }
    assert october.filter(pl.col("stage") == "recovered")["amount_fen"].item() == 30_000
    assert october.filter(pl.col("stage") == "leads")["amount_fen"].item() == 80_000
    november = funnel(
        findings, history, recoveries, start=date(2026, 11, 1), end=date(2026, 11, 30)
    )
    assert dict(november.select("stage", "count").iter_rows()) == {
        "leads": 1,
        "verified": 0,
        "rectified": 2,
        "recovered": 1,
    }
    assert november.filter(pl.col("stage") == "recovered")["amount_fen"].item() == 20_000
    total = funnel(findings, history, recoveries)
    assert total.filter(pl.col("stage") == "recovered")["amount_fen"].item() == 50_000

    rates = rectification_rates(findings, history).filter(pl.col("street") == B).row(0, named=True)
    assert (rates["rectified"], rates["on_time"], rates["recurred"]) == (2, 1, 1)
    assert rates["on_time_rate"] == 0.5 and rates["recurrence_rate"] == 0.5

    items = followup_items(
        findings, history, today=date(2026, 12, 5), rules=FollowupRules(recheck_after_months=1)
    )
    by_id = {r["finding_id"]: r for r in items.iter_rows(named=True)}
    assert by_id["F3"]["stage"] == "待回头看"
    assert by_id["F3"]["deadline"] == date(2026, 12, 20) and not by_id["F3"]["overdue"]
    assert by_id["F4"]["stage"] == "回头看复发"
    assert by_id["F5"]["stage"] == "待核实"
    assert "F2" not in by_id  # dismissed: nothing to follow
    summary = {r["street"]: r for r in street_summary(items).iter_rows(named=True)}
    assert summary[B]["recurred"] == 1 and summary[B]["rectified"] == 1
    assert summary[A]["open"] == 2  # F1 recovering, F5 new


def test_an_exception_about_to_end_is_flagged_and_an_ended_one_is_overdue(store):
    month(
        store,
        [
            ("F1", "duplicate_payment", "funds", "新泾镇", 100),
            ("F2", "duplicate_payment", "funds", "新泾镇", 100),
        ],
        date(2026, 10, 31),
    )
    for fid, ends in (("F1", date(2026, 12, 20)), ("F2", date(2026, 11, 20))):
        act(store, fid, "assign", date(2026, 10, 31), assignee="李四")
        act(store, fid, "confirm", date(2026, 10, 31))
        act(store, fid, "excuse", date(2026, 10, 31), reason="政策理解偏差", expires_on=ends)
    items = followup_items(findings_frame(store), history_frame(store), today=date(2026, 12, 5))
    by_id = {r["finding_id"]: r for r in items.iter_rows(named=True)}
    assert by_id["F1"]["warning"] and not by_id["F1"]["overdue"]
    assert by_id["F2"]["overdue"] and by_id["F2"]["stage"] == "容错免责"
