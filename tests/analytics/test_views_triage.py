"""线索清单's triage service against SQLite and PostgreSQL: a run's findings beside their state,
the filters on it, single and bulk moves through the same rules, stale versions refused, and a
finding's history, occurrences and money recovered."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from analytics import tracking
from analytics.calendar import WorkdayCalendar
from analytics.generate import generate
from analytics.reader import read_drop
from analytics.reference import load_settings
from analytics.results import load_findings
from analytics.store import Workspace
from analytics.store import findings as stored
from analytics.views import findings as view
from analytics.views import triage
from analytics.workflow.triage import MoveInput
from checks.registry import REGISTRY, load_all

TODAY = date(2026, 11, 10)  # the calendar holds this year and the deadlines that follow it
DEADLINES = triage.Deadlines(10, 20, 365, WorkdayCalendar.load())


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    """A generated district's drop, read once for the module."""
    drop = tmp_path_factory.mktemp("triage-district") / "drop"
    generate(drop, households=300, seed=7)
    return drop, read_drop(drop)


@pytest.fixture
def recorded(tmp_path, db_url, monkeypatch, district):
    """A workspace on each database with one check run of the district taken in."""
    monkeypatch.setenv("AIDWATCH_DATABASE_URL", db_url)
    drop, read = district
    ws = Workspace.open(tmp_path / "ws")
    run = tracking.record_check(ws, drop, read, by="测试", origin="test")
    yield ws, run
    ws.close()


def listed(ws, run, today=TODAY) -> pl.DataFrame:
    """The run's findings as 线索清单 lists them, with their state now."""
    return triage.with_states(
        view.visible_findings(load_findings(run.out)), stored.states_frame(ws.store), today=today
    )


def row(frame: pl.DataFrame, fid: str) -> dict:
    return frame.filter(pl.col("finding_id") == fid).row(0, named=True)


def move(ws, run, fid, name, by="张三", files=(), **given) -> int:
    finding = row(listed(ws, run), fid)
    return triage.make_move(
        ws,
        finding,
        name,
        triage.move_input(**given),
        files,
        by=by,
        expected_version=finding["version"],
        today=TODAY,
        deadlines=DEADLINES,
    )


def of_family(frame: pl.DataFrame, family: str, n: int = 1) -> list[str]:
    ids = frame.filter(pl.col("family") == family)["finding_id"].to_list()
    assert len(ids) >= n
    return ids[:n]


# --- the list ------------------------------------------------------------------------------------


def test_every_finding_of_the_run_shows_its_state_and_one_not_taken_in_shows_unregistered(recorded):
    ws, run = recorded
    findings = view.visible_findings(load_findings(run.out))
    outside = findings.head(1).with_columns(pl.lit("Fnot0in0workspace").alias("finding_id"))
    frame = triage.with_states(
        pl.concat([findings, outside]), stored.states_frame(ws.store), today=TODAY
    )
    # order kept, one row per finding
    assert frame["finding_id"].to_list() == [*findings["finding_id"], "Fnot0in0workspace"]
    inside = frame.head(findings.height)
    assert inside["registered"].all() and set(inside["state_label"]) == {"待核实"}
    assert (inside["version"] == 1).all()
    stray = row(frame, "Fnot0in0workspace")
    assert (stray["registered"], stray["state"], stray["state_label"]) == (
        False,
        triage.UNREGISTERED,
        "未登记",
    )
    assert triage.moves_for(stray) == []
    assert triage.status_text(stray) == "未登记"
    assert [m.name for m in triage.moves_for(row(frame, findings["finding_id"][0]))] == [
        "assign",
        "dismiss",
    ]
    # the list and its export show the state columns
    table = view.findings_table(frame)
    assert table.columns[:6] == ["编号", "状态", "承办", "期限", "逾期", "发现情况"]
    assert table["状态"].to_list()[-1] == "未登记"


def test_filters_by_state_assignee_and_due_date(recorded):
    ws, run = recorded
    f1, f2, f3, f4, f5 = listed(ws, run)["finding_id"].head(5).to_list()
    move(ws, run, f1, "assign", assignee_street="华阳路街道", due_date=date(2026, 11, 12))
    move(ws, run, f2, "assign", assignee="李四", due_date=date(2026, 11, 30))
    move(
        ws,
        run,
        f3,
        "assign",
        assignee="李四",
        assignee_street="新华路街道",
        due_date=date(2026, 11, 24),
    )
    move(ws, run, f4, "dismiss", reason="系统导出重复")
    frame = listed(ws, run, today=date(2026, 11, 20))

    options = triage.triage_options(frame)
    assert options.states == ["new", "verifying", "unfounded"]
    assert options.assignees == ["华阳路街道", "新华路街道", "李四", triage.UNASSIGNED]
    one = row(frame, f3)
    assert one["assignee_text"] == "新华路街道 · 李四" and one["state_label"] == "核实中"
    assert triage.status_text(one) == "核实中 · 承办：新华路街道 · 李四 · 期限：2026-11-24"
    assert triage.status_text(row(frame, f1)).endswith("期限：2026-11-12（已逾期）")

    def ids(**chosen) -> set[str]:
        return set(triage.filter_triage(frame, today=date(2026, 11, 20), **chosen)["finding_id"])

    assert ids(states=["verifying"]) == {f1, f2, f3}
    assert ids(states=["unfounded", "verifying"]) == {f1, f2, f3, f4}
    assert ids(assignees=["李四"]) == {f2, f3}
    assert ids(assignees=["华阳路街道"]) == {f1}
    unassigned = ids(assignees=[triage.UNASSIGNED])
    assert f5 in unassigned and f4 in unassigned and not unassigned & {f1, f2, f3}
    assert ids(due="overdue") == {f1}
    assert ids(due="week") == {f3}
    assert ids(due="month") == {f2, f3}
    assert ids(due="all") == set(frame["finding_id"])
    assert ids(states=["verifying"], assignees=["李四"], due="week") == {f3}
    # the export says which filters made it
    assert (
        view.scope_text(states=["核实中"], assignees=["李四"], due="已逾期")
        == "状态：核实中；承办：李四；期限：已逾期"
    )


def test_a_later_run_marks_closed_findings_seen_again_and_missing_ones_no_longer_found(recorded):
    ws, run = recorded
    frame = listed(ws, run)
    dismissed, rectifying = (
        frame.filter(pl.col("check_id") == frame["check_id"][0])["finding_id"].head(2).to_list()
    )
    move(ws, run, dismissed, "dismiss", reason="已核实不属实")
    for name in ("assign", "confirm", "rectify"):
        move(ws, run, rectifying, name, assignee="李四", due_date=date(2026, 12, 1))
    load_all()
    second = stored.start_run(ws.store, kind="check", origin="test", by="测试")
    stored.ingest(
        ws.store,
        second,
        run.outcome.findings.filter(pl.col("finding_id") != rectifying),
        recipes={c: REGISTRY[c].recipe for c in set(frame["check_id"])},
        complete_checks=set(frame["check_id"]),
        on_date=TODAY,
    )
    after = listed(ws, run)
    assert row(after, dismissed)["presence"] == "关闭后再次发现"
    assert row(after, rectifying)["presence"] == "不再发现"
    assert row(after, frame["finding_id"][-1])["presence"] is None
    assert triage.status_text(row(after, dismissed)) == "不属实 · 关闭后再次发现"
    table = triage.occurrences_table(ws, dismissed)
    assert table["情况"].to_list() == ["首次发现", "关闭后再次发现"]
    assert table["检查运行"].to_list() == [run.run_id, second]
    assert triage.occurrences_table(ws, rectifying)["情况"].to_list() == ["首次发现", "不再发现"]


# --- one finding ----------------------------------------------------------------------------------


def test_assign_then_confirm_with_an_attachment_written_in_the_history(recorded):
    ws, run = recorded
    (fid,) = of_family(listed(ws, run), "integrity")
    move(ws, run, fid, "assign", assignee_street="华阳路街道")  # the default deadline
    assert row(listed(ws, run), fid)["due_date"] == WorkdayCalendar.load().add_workdays(TODAY, 10)
    move(ws, run, fid, "confirm", by="李四", note="走访核实", files=[("核查报告.pdf", b"%PDF-1.4")])

    history = triage.history_table(ws, fid)
    assert history.columns == [
        "时间",
        "操作人",
        "操作",
        "状态变化",
        "理由",
        "备注",
        "期限",
        "附件",
        "检查运行",
    ]
    assert history["操作"].to_list() == ["发现线索", "分派核实", "核实属实"]
    assert history["操作人"].to_list() == ["系统（检查运行）", "张三", "李四"]
    assert history["状态变化"].to_list() == ["— → 待核实", "待核实 → 核实中", "核实中 → 属实"]
    assert history["附件"].to_list() == [0, 0, 1]
    assert history["备注"].to_list()[-1] == "走访核实"
    assert history["检查运行"].to_list() == [run.run_id, None, None]
    assert history["期限"].to_list()[1] == WorkdayCalendar.load().add_workdays(TODAY, 10)
    attached = list((ws.root / "attachments").iterdir())
    assert len(attached) == 1 and attached[0].read_bytes() == b"%PDF-1.4"
    assert triage.done_text("confirm", "verifying") == "已执行“核实属实”：核实中 → 属实。"


def test_a_move_is_refused_without_an_actor_or_what_it_needs_and_keeps_no_file(recorded):
    ws, run = recorded
    frame = listed(ws, run)
    finding = frame.row(0, named=True)
    with pytest.raises(triage.MoveError, match="操作人"):
        triage.make_move(
            ws,
            finding,
            "dismiss",
            triage.move_input(reason="不属实"),
            by="  ",
            expected_version=1,
            today=TODAY,
            deadlines=DEADLINES,
        )
    with pytest.raises(triage.MoveError, match="理由"):
        triage.make_move(
            ws,
            finding,
            "dismiss",
            triage.move_input(reason="  "),
            [("a.txt", b"x")],
            by="张三",
            expected_version=1,
            today=TODAY,
            deadlines=DEADLINES,
        )
    with pytest.raises(triage.MoveError, match="不能执行"):
        triage.make_move(
            ws,
            finding,
            "confirm",
            triage.move_input(),
            [("a.txt", b"x")],
            by="张三",
            expected_version=1,
            today=TODAY,
            deadlines=DEADLINES,
        )
    stray = {**finding, "registered": False, "version": None, "state": triage.UNREGISTERED}
    with pytest.raises(triage.MoveError, match="未登记"):
        triage.make_move(
            ws,
            stray,
            "dismiss",
            triage.move_input(reason="x"),
            by="张三",
            expected_version=1,
            today=TODAY,
            deadlines=DEADLINES,
        )
    assert list((ws.root / "attachments").iterdir()) == []
    assert stored.history_frame(ws.store, finding["finding_id"]).height == 1


def test_a_stale_version_is_refused_and_the_latest_state_named(recorded):
    ws, run = recorded
    drawn = listed(ws, run).row(0, named=True)  # the page draws the form
    move(ws, run, drawn["finding_id"], "dismiss", by="李四", reason="已核实")  # someone else
    now = row(listed(ws, run), drawn["finding_id"])  # what the submit's rerun reads
    with pytest.raises(triage.ConcurrentEditError, match="这条线索刚被他人修改过"):
        triage.make_move(
            ws,
            now,
            "assign",
            triage.move_input(assignee="王五"),
            by="张三",
            expected_version=drawn["version"],
            today=TODAY,
            deadlines=DEADLINES,
        )
    # even where the page's read raced with the change, the database refuses it
    with pytest.raises(triage.ConcurrentEditError):
        triage.make_move(
            ws,
            {**now, "version": drawn["version"], "state": "new"},
            "assign",
            triage.move_input(assignee="王五"),
            by="张三",
            expected_version=drawn["version"],
            today=TODAY,
            deadlines=DEADLINES,
        )
    latest = triage.latest_text(ws, drawn["finding_id"])
    assert latest.startswith("最新状态：不属实（李四 于 ") and latest.endswith("核实不属实）")
    assert row(listed(ws, run), drawn["finding_id"])["state"] == "unfounded"
    assert triage.history_table(ws, drawn["finding_id"])["操作人"].to_list() == [
        "系统（检查运行）",
        "李四",
    ]


def test_recovered_money_adds_up_in_yuan(recorded):
    ws, run = recorded
    (fid,) = of_family(listed(ws, run), "funds")
    assert not triage.shows_recovery(row(listed(ws, run), fid), triage.recovered(ws, fid))
    move(ws, run, fid, "assign", assignee="李四", due_date=date(2026, 11, 30))
    move(ws, run, fid, "confirm")
    move(ws, run, fid, "recover")
    move(ws, run, fid, "record_recovery", amount_yuan=300.5, paid_on=TODAY)
    move(ws, run, fid, "record_recovery", amount_yuan="0.25", paid_on=TODAY - timedelta(days=1))
    money = triage.recovered(ws, fid)
    assert money.total_fen == 30_075 and money.text == "已追回 300.75 元（2 笔）"
    assert money.payments.columns == ["到账日期", "金额（元）", "登记人"]
    assert triage.shows_recovery(row(listed(ws, run), fid), money)


# --- many findings --------------------------------------------------------------------------------


def test_bulk_dismiss_does_what_it_suits_and_says_why_not_the_rest(recorded):
    ws, run = recorded
    frame = listed(ws, run)
    a, b, c, d = frame["finding_id"].head(4).to_list()
    move(ws, run, b, "dismiss", reason="已核实")
    drawn = listed(ws, run)
    versions = {fid: row(drawn, fid)["version"] for fid in (a, b, c)}
    versions["Fnot0in0workspace"] = None
    move(ws, run, c, "assign", by="李四", assignee="李四", due_date=date(2026, 11, 30))
    selected = drawn.filter(pl.col("finding_id").is_in([a, b, c, d]))
    assert [m.name for m in triage.bulk_moves(selected)] == ["assign", "dismiss", "reopen"]

    with pytest.raises(triage.MoveError, match="操作人"):
        triage.bulk_move(
            ws, versions, "dismiss", MoveInput(reason="x"), by="", today=TODAY, deadlines=DEADLINES
        )
    outcome = triage.bulk_move(
        ws,
        versions,
        "dismiss",
        triage.move_input(reason="档案核查：系统误报"),
        by="张三",
        today=TODAY,
        deadlines=DEADLINES,
    )
    assert outcome.done == [a]
    assert list(outcome.refused) == [b, c, "Fnot0in0workspace"]
    assert "不能执行" in outcome.refused[b]
    assert "刚被他人修改过" in outcome.refused[c]
    assert "未登记" in outcome.refused["Fnot0in0workspace"]
    after = listed(ws, run)
    assert row(after, a)["state"] == "unfounded" and row(after, c)["state"] == "verifying"
    assert stored.history_frame(ws.store, a)["reason"].to_list()[-1] == "档案核查：系统误报"
    table = triage.refused_table(outcome.refused, after)
    assert table.columns == ["编号", "检查项", "状态", "原因"]
    assert table["编号"].to_list() == [b, c, "Fnot0in0workspace"]
    assert table["状态"].to_list()[:2] == ["不属实", "核实中"]

    # a bulk assignment takes the default deadline; a payment is never recorded in bulk
    done = triage.bulk_move(
        ws,
        {d: 1},
        "assign",
        triage.move_input(assignee_street="新泾镇"),
        by="张三",
        today=TODAY,
        deadlines=DEADLINES,
    )
    assert done.done == [d]
    assert row(listed(ws, run), d)["due_date"] == DEADLINES.default_due("assign", None, TODAY)
    with pytest.raises(triage.MoveError, match="不能批量执行"):
        triage.bulk_move(
            ws,
            {d: 2},
            "record_recovery",
            MoveInput(amount_fen=1, paid_on=TODAY),
            by="张三",
            today=TODAY,
            deadlines=DEADLINES,
        )


# --- without a database ---------------------------------------------------------------------------


def test_an_unreachable_database_leaves_the_list_readable(recorded):
    _, run = recorded

    def broken():
        raise RuntimeError("connection to postgresql://secret@db failed")

    ws, states, problem = triage.read_states(broken)
    assert ws is None and states.height == 0 and "secret" not in problem
    assert "工作区数据库" in problem
    frame = triage.with_states(view.visible_findings(load_findings(run.out)), states, today=TODAY)
    assert frame.height > 0 and set(frame["state_label"]) == {"未登记"}
    assert triage.triage_options(frame) == triage.TriageOptions([triage.UNREGISTERED], [])


def test_deadlines_come_from_the_settings_and_the_calendar():
    calendar = WorkdayCalendar.load()
    deadlines = triage.Deadlines.load()
    workflow = load_settings().workflow
    assert deadlines.exception_max_days == workflow.exception_max_days
    assert deadlines.default_due("assign", "new", TODAY) == calendar.add_workdays(
        TODAY, workflow.verify_working_days
    )
    assert deadlines.default_due("rectify", "confirmed", TODAY) == calendar.add_workdays(
        TODAY, workflow.rectify_working_days
    )
    assert deadlines.default_due("extend", "verifying", TODAY) == calendar.add_workdays(
        TODAY, workflow.verify_working_days
    )
    assert deadlines.default_due("confirm", "verifying", TODAY) is None
    # a deadline in a year the calendar does not hold is not guessed: the form asks for it
    last = date(max(calendar.years), 12, 28)
    assert deadlines.default_due("rectify", "confirmed", last) is None
    assert triage.Deadlines(10, 20, 365, None).default_due("assign", "new", TODAY) is None


def test_each_move_asks_for_what_it_needs():
    assert triage.form_spec("assign") == triage.FormSpec(
        ("assignee", "due_date", "note"), frozenset({"assignee"})
    )
    assert triage.form_spec("extend").required == {"reason", "due_date"}
    assert triage.form_spec("confirm").fields == ("note",)
    assert triage.form_spec("record_recovery").fields == ("amount", "paid_on", "note")
    assert triage.form_spec("excuse").fields == ("expires_on", "reason", "note")
    assert triage.form_spec("dismiss").required == {"reason"}
    assert triage.yuan_to_fen(1550.5) == 155_050
    assert triage.yuan_to_fen(0.1 + 0.2) == 30
    assert triage.yuan_to_fen("12.345") == 1_235
    assert triage.yuan_to_fen(None) is None
    with pytest.raises(triage.MoveError):
        triage.yuan_to_fen("十元")
    given = triage.move_input(reason="  ", note=" 备注 ", assignee="", amount_yuan=2)
    assert (given.reason, given.note, given.assignee, given.amount_fen) == (None, "备注", None, 200)
