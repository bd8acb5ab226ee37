"""Triage across runs, against SQLite and PostgreSQL: ingest, moves, recurrence, presence,
concurrent edits."""

from __future__ import annotations

import threading
from datetime import date

import polars as pl
import pytest

from analytics.store.db import open_store
from analytics.store.findings import (
    ConcurrentEditError,
    apply_bulk,
    apply_move,
    history_frame,
    ingest,
    occurrences_frame,
    recoveries_frame,
    start_run,
    states_frame,
)
from analytics.workflow.triage import (
    MOVES,
    STATES,
    MoveError,
    MoveInput,
    after_seen,
    allowed_moves,
    plan_move,
)

TODAY = date(2026, 11, 10)
RECIPES = {"duplicate_payment": "1:txn_id", "visit_overdue": "1:case_id"}


def findings(*rows: tuple[str, str, str, int]) -> pl.DataFrame:
    """(finding_id, check_id, family, amount_fen) rows in the engine's shape."""
    return pl.DataFrame(
        [
            dict(
                finding_id=fid,
                check_id=check,
                family=family,
                severity="高",
                street="华阳路街道",
                month="2026-10",
                case_id="C" + fid,
                txn_id=None,
                id_number=None,
                account_no=None,
                staff_id=None,
                item=None,
                amount_fen=amount,
                summary=f"线索 {fid}",
                evidence=f'{{"finding_id":"{fid}"}}',
            )
            for fid, check, family, amount in rows
        ]
    )


@pytest.fixture
def store(db_url):
    s = open_store(db_url)
    yield s
    s.dispose()


def run(store, frame, complete=("duplicate_payment", "visit_overdue"), on=TODAY):
    run_id = start_run(store, kind="check", origin="test", by="测试")
    result = ingest(store, run_id, frame, recipes=RECIPES, complete_checks=complete, on_date=on)
    return run_id, result


def state(store, fid) -> dict:
    return states_frame(store).filter(pl.col("finding_id") == fid).row(0, named=True)


def move(store, fid, name, **given):
    return apply_move(
        store,
        fid,
        name,
        MoveInput(**given),
        by="张三",
        expected_version=state(store, fid)["version"],
        today=TODAY,
        default_due=date(2026, 11, 24),
        max_exception_days=365,
    )


def test_every_move_of_the_table_is_allowed_from_its_sources_and_refused_elsewhere():
    full = MoveInput(
        reason="理由",
        assignee="李四",
        due_date=date(2026, 12, 1),
        amount_fen=100,
        paid_on=TODAY,
        expires_on=date(2027, 3, 1),
    )
    for name, spec in MOVES.items():
        for source in STATES:
            family = spec.families[0]
            if source in spec.sources:
                plan = plan_move(source, family, name, full, today=TODAY)
                assert plan.to_state == (spec.target or source)
            else:
                with pytest.raises(MoveError):
                    plan_move(source, family, name, full, today=TODAY)


@pytest.mark.parametrize(
    ("name", "needs"),
    [
        ("dismiss", "理由"),
        ("assign", "核实人或街镇"),
        ("excuse", "理由"),
        ("reopen", "理由"),
        ("extend", "期限"),
        ("record_recovery", "金额"),
    ],
)
def test_a_move_without_what_it_needs_is_refused(name, needs):
    source = sorted(MOVES[name].sources)[0]
    with pytest.raises(MoveError, match=needs):
        plan_move(source, MOVES[name].families[0], name, MoveInput(), today=TODAY)


def test_dispositions_suit_the_family():
    dynamic = {m.name for m in allowed_moves("confirmed", "dynamic")}
    integrity = {m.name for m in allowed_moves("confirmed", "integrity")}
    assert {"include", "terminate", "refer_service"} <= dynamic
    assert "refer_discipline" not in dynamic
    assert "refer_discipline" in integrity and "include" not in integrity
    with pytest.raises(MoveError, match="不适用"):
        plan_move("confirmed", "process", "include", MoveInput(), today=TODAY)


def test_a_run_never_changes_a_decision_but_a_rectified_finding_recurs():
    assert after_seen("unfounded") == ("unfounded", "seen_closed")
    assert after_seen("excused") == ("excused", "seen_closed")
    assert after_seen("referred_discipline") == ("referred_discipline", "seen_closed")
    assert after_seen("rectified") == ("recurred", "recurred")
    assert after_seen("verifying") == ("verifying", "seen")


def test_month_over_month(store):
    # month 1: four leads
    month1 = findings(
        ("F1", "duplicate_payment", "funds", 50_000),
        ("F2", "duplicate_payment", "funds", 20_000),
        ("F3", "visit_overdue", "dynamic", 0),
        ("F4", "duplicate_payment", "funds", 10_000),
    )
    first, result = run(store, month1)
    assert result.counts["new"] == 4
    assert set(states_frame(store)["state"]) == {"new"}

    # triage: F1 true and recovered in part, F2 dismissed, F3 rectified, F4 rectified
    move(store, "F1", "assign", assignee_street="华阳路街道")
    assert state(store, "F1")["due_date"] == date(2026, 11, 24)
    move(store, "F1", "confirm")
    move(store, "F1", "recover")
    move(store, "F1", "record_recovery", amount_fen=30_000, paid_on=TODAY)
    move(store, "F1", "record_recovery", amount_fen=5_000, paid_on=TODAY, note="第二笔")
    move(store, "F2", "dismiss", reason="重复记录系系统导出问题")
    for fid in ("F3", "F4"):
        move(store, fid, "assign", assignee="李四")
        move(store, fid, "confirm")
        move(store, fid, "rectify")
    move(store, "F4", "rectified")

    # month 2: F1 still there, F2 seen again (dismissed), F3 fixed (gone), F4 recurs, F5 new
    month2 = findings(
        ("F1", "duplicate_payment", "funds", 50_000),
        ("F2", "duplicate_payment", "funds", 20_000),
        ("F4", "duplicate_payment", "funds", 10_000),
        ("F5", "visit_overdue", "dynamic", 0),
    )
    second, result = run(store, month2, on=date(2026, 12, 10))
    assert result.counts == {"new": 1, "seen": 1, "recurred": 1, "seen_closed": 1, "gone": 1}
    f1, f2, f3, f4, f5 = (state(store, f) for f in ("F1", "F2", "F3", "F4", "F5"))
    assert f1["state"] == "recovering" and f1["present"]
    assert f2["state"] == "unfounded" and f2["seen_while_closed"]
    assert f3["state"] == "rectifying" and not f3["present"] and f3["gone_run"] == second
    assert f4["state"] == "recurred" and f4["cycle"] == 1 and f4["first_run"] == first
    assert f5["state"] == "new" and f5["first_run"] == second
    assert (
        recoveries_frame(store).filter(pl.col("finding_id") == "F1")["amount_fen"].sum() == 35_000
    )
    history = history_frame(store, "F4")
    assert history["move"].to_list() == [
        "found",
        "assign",
        "confirm",
        "rectify",
        "rectified",
        "recur",
    ]
    assert history["run_id"].to_list()[-1] == second
    events = dict(
        occurrences_frame(store)
        .filter(pl.col("run_id") == second)
        .select("finding_id", "event")
        .iter_rows()
    )
    assert events == {
        "F1": "seen",
        "F2": "seen_closed",
        "F3": "gone",
        "F4": "recurred",
        "F5": "new",
    }
    # a recurred finding enters a new rectification cycle of the same finding
    move(store, "F4", "rectify")
    f4 = state(store, "F4")
    assert (f4["state"], f4["cycle"], f4["first_run"]) == ("rectifying", 2, first)


def test_presence_is_changed_only_by_a_complete_run_of_the_same_check(store):
    run(
        store,
        findings(("F1", "duplicate_payment", "funds", 1), ("F3", "visit_overdue", "dynamic", 0)),
    )
    # a run of the funds family only: F3's check was not judged, F3 stays present
    _, result = run(
        store, findings(("F1", "duplicate_payment", "funds", 1)), complete=("duplicate_payment",)
    )
    assert result.counts["gone"] == 0 and state(store, "F3")["present"]
    # an empty run that judged nothing completely closes nothing
    _, result = run(store, findings(("F1", "duplicate_payment", "funds", 1)).clear(), complete=())
    assert result.counts["gone"] == 0 and state(store, "F1")["present"]
    # the complete run: F3 no longer found, its state left for a person
    _, result = run(store, findings(("F1", "duplicate_payment", "funds", 1)))
    assert result.counts["gone"] == 1 and not state(store, "F3")["present"]
    assert state(store, "F3")["state"] == "new"


def test_one_finding_per_key_per_run(store):
    twice = findings(
        ("F1", "duplicate_payment", "funds", 1), ("F1", "duplicate_payment", "funds", 1)
    )
    run_id, result = run(store, twice)
    assert result.counts["new"] == 1
    assert occurrences_frame(store).height == 1


def test_a_changed_recipe_orphans_nothing_silently(store):
    run(store, findings(("F1", "duplicate_payment", "funds", 1)))
    run_id = start_run(store, kind="check", origin="test", by="测试")
    result = ingest(
        store,
        run_id,
        findings(("G1", "duplicate_payment", "funds", 1)),
        recipes={**RECIPES, "duplicate_payment": "2:txn_id,month"},
        complete_checks=RECIPES,
        on_date=TODAY,
    )
    assert result.warnings and "duplicate_payment" in result.warnings[0]
    assert state(store, "F1")["present"]  # not marked gone by a run that cannot match it


def test_a_stale_version_is_refused_and_loses_nothing(store):
    run(store, findings(("F1", "duplicate_payment", "funds", 1)))
    version = state(store, "F1")["version"]
    apply_move(
        store,
        "F1",
        "assign",
        MoveInput(assignee="甲"),
        by="甲",
        expected_version=version,
        today=TODAY,
        default_due=date(2026, 11, 24),
    )
    with pytest.raises(ConcurrentEditError):
        apply_move(
            store,
            "F1",
            "dismiss",
            MoveInput(reason="乙的理由"),
            by="乙",
            expected_version=version,
            today=TODAY,
        )
    assert state(store, "F1")["state"] == "verifying"
    assert history_frame(store, "F1")["move"].to_list() == ["found", "assign"]


def test_two_people_at_once_lose_neither_change(store):
    """Two threads move the same finding from the same version: one wins, the other is told,
    and the history holds exactly the winner's move."""
    run(store, findings(("F1", "duplicate_payment", "funds", 1)))
    version = state(store, "F1")["version"]
    barrier, outcomes = threading.Barrier(2), {}

    def person(name, move_name, given):
        barrier.wait()
        try:
            apply_move(
                store,
                "F1",
                move_name,
                given,
                by=name,
                expected_version=version,
                today=TODAY,
                default_due=date(2026, 11, 24),
            )
            outcomes[name] = "ok"
        except ConcurrentEditError:
            outcomes[name] = "stale"

    threads = [
        threading.Thread(target=person, args=("甲", "assign", MoveInput(assignee="甲"))),
        threading.Thread(target=person, args=("乙", "dismiss", MoveInput(reason="不属实"))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes.values()) == ["ok", "stale"]
    winner = next(n for n, o in outcomes.items() if o == "ok")
    history = history_frame(store, "F1")
    assert history["by"].to_list() == ["系统（检查运行）", winner]
    assert state(store, "F1")["version"] == version + 1


def test_bulk_goes_through_the_same_moves(store):
    run(
        store,
        findings(("F1", "duplicate_payment", "funds", 1), ("F2", "duplicate_payment", "funds", 1)),
    )
    move(store, "F2", "dismiss", reason="已核实")
    versions = dict(states_frame(store).select("finding_id", "version").iter_rows())
    done, refused = apply_bulk(
        store, versions, "dismiss", MoveInput(reason="批量：系统误报"), by="张三", today=TODAY
    )
    assert done == ["F1"] and list(refused) == ["F2"]
    assert "不能执行" in refused["F2"]


def test_every_move_that_closes_a_finding_needs_a_reason():
    from analytics.workflow.triage import CLOSED

    closing = [m for m in MOVES.values() if m.target in CLOSED]
    assert {m.name for m in closing} >= {
        "dismiss",
        "finish_recovery",
        "include",
        "terminate",
        "refer_service",
        "refer_discipline",
        "excuse",
        "recheck_pass",
    }
    for spec in closing:
        with pytest.raises(MoveError, match="理由"):
            plan_move(
                sorted(spec.sources)[0],
                spec.families[0],
                spec.name,
                MoveInput(expires_on=date(2027, 1, 1)),
                today=TODAY,
            )


def test_the_workflow_stamp_changes_with_every_move_run_and_payment(store):
    from analytics.store.findings import workflow_stamp

    stamps = [workflow_stamp(store)]
    run(store, findings(("F1", "duplicate_payment", "funds", 100)))
    stamps.append(workflow_stamp(store))
    move(store, "F1", "assign", assignee="李四")
    stamps.append(workflow_stamp(store))
    move(store, "F1", "confirm")
    move(store, "F1", "recover")
    stamps.append(workflow_stamp(store))
    move(store, "F1", "record_recovery", amount_fen=50, paid_on=TODAY)
    stamps.append(workflow_stamp(store))
    start_run(store, kind="import", origin="test", by="测试")
    stamps.append(workflow_stamp(store))
    assert len(set(stamps)) == len(stamps)
    assert workflow_stamp(store) == stamps[-1]  # reading changes nothing
