"""档案核查: the sample (reproducible, stratified, weighted toward risk, with the cases a
supervisor names), the answers of several people at once, and the sign-off turning failures
into findings of the follow-up loop; against SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from analytics import tracking
from analytics.reader import read_drop
from analytics.reference import checklist_path
from analytics.schema import STREETS
from analytics.store import Workspace
from analytics.store import file_audit as stored
from analytics.store.db import open_store
from analytics.store.findings import ConcurrentEditError, apply_move, history_frame, states_frame
from analytics.store.models import Snapshot
from analytics.views import file_audit as view
from analytics.views import triage as triage_view
from analytics.workflow import file_audit as fa
from analytics.workflow.followup import followup_items
from analytics.workflow.triage import MoveInput, allowed_moves

MONTH = "2026-10"
TODAY = date(2026, 11, 10)
DUE = date(2026, 12, 10)
CHECKLIST = fa.load_checklist(checklist_path())
CODES = [i.code for i in CHECKLIST]
WEIGHTS = {
    "open_findings": 3.0,
    "decided_in_month": 2.0,
    "special_circumstance": 2.0,
    "new_handler": 1.0,
}


def district_cases() -> pl.DataFrame:
    """Street i (0-based) has 2 + 2i cases on the rolls; its first case was decided in the month
    audited, every third has a special circumstance; 新泾镇 also has two cases that ended (not
    drawn) and handler H9 is new (cases accepted in August and September 2026 only)."""
    rows = [
        dict(
            case_id=f"C{i:02d}{n:03d}",
            household_id=f"H{i:02d}{n:03d}",
            street=street,
            assistance_type="最低生活保障",
            status="在册",
            accepted_date=(
                date(2026, 8, 3) if (i, n) == (1, 1) else date(2024, 1, 5) + timedelta(days=n)
            ),
            decided_date=date(2026, 10, 12) if n == 0 else date(2024, 2, 5),
            special_circumstance="人户分离" if n % 3 == 2 else None,
            handler_id="H9" if (i, n) == (1, 1) else f"S{i}",
        )
        for i, street in enumerate(STREETS)
        for n in range(2 + 2 * i)
    ]
    rows += [
        dict(
            case_id=f"X{n}",
            household_id=f"HX{n}",
            street=STREETS[-1],
            assistance_type="最低生活保障",
            status="终止",
            accepted_date=date(2023, 1, 5),
            decided_date=date(2023, 2, 5),
            special_circumstance=None,
            handler_id="S9",
        )
        for n in range(2)
    ]
    rows.append(
        dict(
            case_id="N1",
            household_id="HN1",
            street=STREETS[1],
            assistance_type="最低生活保障",
            status="申请中",
            accepted_date=date(2026, 9, 20),
            decided_date=None,
            special_circumstance=None,
            handler_id="H9",
        )
    )
    return pl.DataFrame(rows)


def params(**overrides) -> fa.SampleParams:
    values = dict(
        month=MONTH,
        seed=20261110,
        per_street=3,
        share=0.0,
        min_per_street=2,
        new_handler_months=6,
        statuses=("在册",),
        risk_weights=dict(WEIGHTS),
    )
    values.update(overrides)
    return fa.SampleParams(**values)


# --- the sample ----------------------------------------------------------------------------------


def test_the_same_parameters_draw_the_same_sample_whatever_the_order_of_the_rows():
    cases = district_cases()
    first = fa.draw_sample(cases, {"C05003"}, params())
    again = fa.draw_sample(cases.sample(fraction=1.0, shuffle=True, seed=3), {"C05003"}, params())
    assert first.height > 0 and first.equals(again)
    # stored and read back, the parameters draw it once more
    restored = fa.SampleParams.from_dict(params().to_dict())
    assert restored == params()
    assert fa.draw_sample(cases, {"C05003"}, restored).equals(first)


def test_another_seed_draws_another_sample():
    cases = district_cases()
    a = fa.draw_sample(cases, set(), params(seed=1))["case_id"].to_list()
    b = fa.draw_sample(cases, set(), params(seed=2))["case_id"].to_list()
    assert a != b


def test_every_street_gets_its_number_or_share_and_at_least_the_minimum():
    cases = district_cases()
    sizes = {s: 2 + 2 * i for i, s in enumerate(STREETS)}
    drawn = dict(fa.draw_sample(cases, set(), params()).group_by("street").len().iter_rows())
    assert drawn == {s: min(3, n) for s, n in sizes.items()}
    # a share: ceil(25 % of the street's cases), never below the minimum of 2
    drawn = dict(
        fa.draw_sample(cases, set(), params(per_street=0, share=0.25))
        .group_by("street")
        .len()
        .iter_rows()
    )
    assert drawn == {s: max(-(-n // 4), 2) for s, n in sizes.items()}
    assert drawn[STREETS[-1]] == 5  # 20 cases on the rolls; the 2 ended are not drawn from
    # a minimum larger than a street: all it has
    drawn = dict(
        fa.draw_sample(cases, set(), params(per_street=0, min_per_street=5))
        .group_by("street")
        .len()
        .iter_rows()
    )
    assert drawn[STREETS[0]] == 2 and drawn[STREETS[1]] == 4 and drawn[STREETS[2]] == 5
    # only some streets
    only = fa.draw_sample(cases, set(), params(streets=(STREETS[3],)))
    assert set(only["street"]) == {STREETS[3]} and only.height == 3


def test_the_sample_is_in_street_order_and_numbered():
    sample = fa.draw_sample(district_cases(), set(), params())
    assert sample["position"].to_list() == list(range(1, sample.height + 1))
    order = [STREETS.index(s) for s in sample["street"]]
    assert order == sorted(order)


def test_cases_named_by_hand_are_always_in_and_say_so():
    cases = district_cases()
    sample = fa.draw_sample(cases, set(), params(manual=("X0", "C05000")))
    picked = sample.filter(pl.col("manual"))
    assert sorted(picked["case_id"]) == ["C05000", "X0"]  # X0 ended: still in, as asked
    # on top of the street's draw of 3, which never draws a hand-picked case twice
    assert sample.filter(pl.col("street") == STREETS[5]).height == 3 + 1
    assert sample.filter(pl.col("street") == STREETS[5])["manual"].to_list()[0]  # listed first
    assert sample["case_id"].is_unique().all()
    x0 = picked.filter(pl.col("case_id") == "X0").row(0, named=True)
    assert fa.reasons_text(x0["reasons"], x0["manual"]) == fa.MANUAL_LABEL
    with pytest.raises(fa.FileAuditError, match="不在所选数据快照中：NOPE"):
        fa.draw_sample(cases, set(), params(manual=("NOPE",)))


def test_the_draw_leans_toward_risk_and_says_why_each_case_was_drawn():
    cases = district_cases()
    # a weight that dwarfs the base: where a street has enough risky cases, only they are drawn
    heavy = params(per_street=2, risk_weights={"special_circumstance": 1e6})
    sample = fa.draw_sample(cases, set(), heavy)
    big = sample.filter(pl.col("street") == STREETS[-1])
    assert big.height == 2
    assert big["reasons"].to_list() == [["special_circumstance"]] * 2
    assert all(w == 1e6 + 1 for w in big["weight"])
    # every factor is recognised and explained
    facts = fa.risk_facts(cases, {"C05003"}, params())
    flagged = {
        c: [k for k in fa.REASONS if row[k]]
        for row in facts.iter_rows(named=True)
        for c in [row["case_id"]]
    }
    assert flagged["C05003"] == ["open_findings"]
    assert flagged["C05000"] == ["decided_in_month"]
    assert flagged["C05002"] == ["special_circumstance"]
    assert flagged["C01001"] == ["new_handler"]  # handler H9 started in August
    assert flagged["C05001"] == []
    text = fa.reasons_text(["decided_in_month", "special_circumstance"], False)
    assert text == "随机抽取（风险加权：本月审批、有特殊情形）"
    assert fa.reasons_text([], False) == "随机抽取（无风险因素，基础权重）"


def test_the_risk_factors_are_facts_about_handling_never_about_the_family():
    assert set(fa.REASONS) == {
        "open_findings",
        "decided_in_month",
        "special_circumstance",
        "new_handler",
    }
    with pytest.raises(fa.FileAuditError, match="未知的风险因素：hukou"):
        fa.draw_sample(district_cases(), set(), params(risk_weights={"hukou": 5}))


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(month="2026-13"), "YYYY-MM"),
        (dict(share=1.5), "0 到 1"),
        (dict(per_street=-1), "不能为负数"),
        (dict(per_street=0, share=0.0, min_per_street=0), "请设置"),
    ],
)
def test_parameters_that_draw_nothing_sensible_are_refused(bad, message):
    with pytest.raises(fa.FileAuditError, match=message):
        fa.draw_sample(district_cases(), set(), params(**bad))


def test_the_checklist_is_the_administrators_list(tmp_path):
    labels = [i.label for i in CHECKLIST]
    assert labels == [
        "申请材料齐全",
        "信用承诺书已签",
        "家庭经济状况核对报告",
        "入户调查记录",
        "民主评议/公示记录",
        "审批签字完整",
        "近亲属备案核对",
        "卡折代管备案核对",
    ]
    assert all(i.guide for i in CHECKLIST)
    bad = tmp_path / "checklist.toml"
    bad.write_text(
        '[[item]]\ncode = "a"\nlabel = "甲"\n[[item]]\ncode = "a"\nlabel = "乙"\n', encoding="utf-8"
    )
    with pytest.raises(fa.FileAuditError, match="checklist.toml 中 code “a” 出现了两次"):
        fa.load_checklist(bad)
    bad.write_text('[[item]]\ncode = "a"\n', encoding="utf-8")
    with pytest.raises(fa.FileAuditError, match="第 1 项缺少 code 或 label"):
        fa.load_checklist(bad)


# --- the session in the database ------------------------------------------------------------------


@pytest.fixture
def store(db_url):
    s = open_store(db_url)
    with s.session() as session:
        session.add(
            Snapshot(
                id="snap1", created_by="测试", label="2026年10月数据", path="x", files=[], rows={}
            )
        )
    yield s
    s.dispose()


def start(store, **overrides) -> int:
    p = params(**overrides)
    sample = fa.draw_sample(district_cases(), set(), p)
    return stored.create_session(
        store,
        sample=sample,
        params=p,
        checklist=CHECKLIST,
        snapshot_id="snap1",
        held_on=date(2026, 11, 5),
        title="2026年10月档案核查",
        team=["张三", "李四"],
        by="张三",
        origin="test",
    )


def answer_all(store, sid, case_id, fail: dict[str, str] | None = None, by="张三") -> None:
    fail = fail or {}
    answers = {
        c: stored.Answer("fail", fail[c]) if c in fail else stored.Answer("pass") for c in CODES
    }
    current = stored.answers_frame(store, sid).filter(pl.col("case_id") == case_id)
    versions = dict(zip(current["item"], current["version"], strict=True))
    stored.save_answers(
        store, sid, case_id, answers, by=by, expected={c: versions.get(c) for c in CODES}
    )


def close(store, sid, today=TODAY, due=DUE) -> stored.Closed:
    version = stored.get_session(store, sid).version
    return stored.close_session(
        store, sid, by="李四", today=today, rectify_due=due, expected_version=version
    )


def test_a_session_keeps_its_sample_seed_parameters_and_checklist(store):
    sid = start(store, manual=("X1",))
    info = stored.get_session(store, sid)
    assert info.params == params(manual=("X1",)) and info.checklist == CHECKLIST
    assert info.team == ("张三", "李四") and info.state == "open"
    kept = stored.sample_frame(store, sid)
    assert kept.equals(fa.draw_sample(district_cases(), set(), info.params))
    listed = stored.sessions_frame(store).row(0, named=True)
    assert (listed["cases"], listed["answered_cases"], listed["items"]) == (kept.height, 0, 8)


def test_answers_are_checked_and_a_failure_needs_a_note(store):
    sid = start(store)
    case = stored.sample_frame(store, sid)["case_id"][0]
    with pytest.raises(fa.FileAuditError, match="“申请材料齐全”不符合，请在说明中写明问题"):
        stored.save_answers(
            store,
            sid,
            case,
            {"application_complete": stored.Answer("fail")},
            by="张三",
            expected={},
        )
    with pytest.raises(fa.FileAuditError, match="不在本次核查的样本中"):
        stored.save_answers(
            store,
            sid,
            "X0",
            {"application_complete": stored.Answer("pass")},
            by="张三",
            expected={},
        )
    with pytest.raises(fa.FileAuditError, match="没有“nope”这一项"):
        stored.save_answers(
            store, sid, case, {"nope": stored.Answer("pass")}, by="张三", expected={}
        )
    assert stored.answers_frame(store, sid).height == 0


def test_two_people_answering_different_cases_at_once_lose_nothing(db_url, store):
    sid = start(store)
    cases = stored.sample_frame(store, sid)["case_id"].to_list()
    halves = {"张三": cases[::2], "李四": cases[1::2]}
    barrier = threading.Barrier(2, timeout=60)
    errors: list[BaseException] = []
    # each person's own engine and connections, as two server sessions have
    own = {person: open_store(db_url) for person in halves}

    def work(person: str) -> None:
        try:
            barrier.wait()
            for case in halves[person]:
                answer_all(own[person], sid, case, by=person)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(p,)) for p in halves]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in own.values():
        s.dispose()
    assert errors == []
    answers = stored.answers_frame(store, sid)
    assert answers.height == len(cases) * len(CODES)
    by_person = dict(answers.group_by("by").agg(pl.col("case_id").n_unique()).iter_rows())
    assert by_person == {"张三": len(halves["张三"]), "李四": len(halves["李四"])}


def test_an_answer_changed_since_it_was_read_is_refused_and_kept(store):
    sid = start(store)
    case = stored.sample_frame(store, sid)["case_id"][0]
    stored.save_answers(
        store,
        sid,
        case,
        {"credit_pledge": stored.Answer("pass")},
        by="张三",
        expected={"credit_pledge": None},
    )
    # 李四 read it unanswered, and saves after 张三: refused, 张三's answer stands
    with pytest.raises(ConcurrentEditError, match="信用承诺书已签"):
        stored.save_answers(
            store,
            sid,
            case,
            {"credit_pledge": stored.Answer("fail", "未签字"), "home_visit": stored.Answer("pass")},
            by="李四",
            expected={"credit_pledge": None, "home_visit": None},
        )
    kept = stored.answers_frame(store, sid)
    assert kept.select("item", "result", "by").rows() == [("credit_pledge", "pass", "张三")]
    # read again, 李四 can change it; the version moves on
    stored.save_answers(
        store,
        sid,
        case,
        {"credit_pledge": stored.Answer("fail", "未签字")},
        by="李四",
        expected={"credit_pledge": 1},
    )
    row = stored.answers_frame(store, sid).row(0, named=True)
    assert (row["result"], row["note"], row["by"], row["version"]) == ("fail", "未签字", "李四", 2)


def test_a_session_closes_only_when_every_case_is_answered_and_then_is_read_only(store):
    sid = start(store, streets=(STREETS[0],))
    cases = stored.sample_frame(store, sid)["case_id"].to_list()
    answer_all(store, sid, cases[0])
    with pytest.raises(fa.FileAuditError, match=f"还有 {len(cases) - 1} 个案件没有填完"):
        close(store, sid)
    for case in cases[1:]:
        answer_all(store, sid, case)
    with pytest.raises(fa.FileAuditError, match="整改期限不能早于今天"):
        close(store, sid, due=TODAY - timedelta(days=1))
    close(store, sid)
    assert stored.get_session(store, sid).state == "closed"
    with pytest.raises(fa.FileAuditError, match="已结束，不能再修改"):
        answer_all(store, sid, cases[0])
    with pytest.raises(fa.FileAuditError, match="已经结束"):
        close(store, sid)


def test_a_failure_becomes_a_finding_that_triage_and_the_followup_loop_see(store):
    sid = start(store, streets=(STREETS[2],))
    cases = stored.sample_frame(store, sid)["case_id"].to_list()
    answer_all(store, sid, cases[0], fail={"home_visit": "入户调查记录只有一人签字"})
    for case in cases[1:]:
        answer_all(store, sid, case)
    assert close(store, sid) == stored.Closed(new=1, recurred=0, seen=0, gone=0)

    fid = stored.finding_id(cases[0], "home_visit")
    state = states_frame(store).filter(pl.col("finding_id") == fid).row(0, named=True)
    assert (state["state"], state["due_date"], state["assignee_street"]) == (
        "rectifying",
        DUE,
        STREETS[2],
    )
    moves = history_frame(store, fid)
    assert moves["move"].to_list() == ["found", "confirm", "rectify"]
    assert set(moves["by"]) == {"李四"} and moves["due_after"].to_list()[-1] == DUE
    # the 线索清单 lists it beside a run's findings, with its rule's kind and its evidence
    recorded = stored.recorded_findings(store)
    row = recorded.row(0, named=True)
    assert (row["finding_id"], row["check_id"], row["family"], row["case_id"]) == (
        fid,
        "file_audit_failure",
        "file_audit",
        cases[0],
    )
    assert "入户调查记录" in row["summary"] and "只有一人签字" in row["summary"]
    assert '"audit_note": "入户调查记录只有一人签字"' in row["evidence"]
    listed = triage_view.with_states(recorded, states_frame(store), today=TODAY)
    assert listed["registered"].to_list() == [True]
    assert "rectified" in [m.name for m in allowed_moves("rectifying", "file_audit")]
    # the street rectifies it; 回头看 schedules it like any other
    apply_move(
        store,
        fid,
        "rectified",
        MoveInput(note="已补签"),
        by="街镇经办",
        expected_version=3,
        today=TODAY + timedelta(days=5),
    )
    from analytics.store.findings import findings_frame

    items = followup_items(
        findings_frame(store), history_frame(store), today=TODAY + timedelta(days=5)
    )
    item = items.filter(pl.col("finding_id") == fid).row(0, named=True)
    assert item["stage"] == "待回头看" and item["rectified_on"] == TODAY + timedelta(days=5)


def test_failing_again_after_rectification_recurs_and_passing_marks_it_gone(store):
    def session_on(case_fail: str | None, streets=(STREETS[0],)) -> int:
        sid = start(store, streets=streets)
        for case in stored.sample_frame(store, sid)["case_id"]:
            answer_all(
                store,
                sid,
                case,
                fail={"approval_signatures": "缺审批签字"} if case == case_fail else None,
            )
        return sid

    first = session_on("C00000")
    close(store, first)
    fid = stored.finding_id("C00000", "approval_signatures")
    apply_move(store, fid, "rectified", MoveInput(), by="街镇经办", expected_version=3, today=TODAY)
    second = session_on("C00000")
    assert (
        close(
            store, second, today=TODAY + timedelta(days=30), due=DUE + timedelta(days=30)
        ).recurred
        == 1
    )
    state = states_frame(store).filter(pl.col("finding_id") == fid).row(0, named=True)
    assert (state["state"], state["cycle"], state["due_date"]) == (
        "rectifying",
        2,
        DUE + timedelta(days=30),
    )
    assert history_frame(store, fid)["move"].to_list()[-2:] == ["recur", "rectify"]
    third = session_on(None)
    assert (
        close(store, third, today=TODAY + timedelta(days=60), due=DUE + timedelta(days=60)).gone
        == 1
    )
    state = states_frame(store).filter(pl.col("finding_id") == fid).row(0, named=True)
    assert state["present"] is False and state["state"] == "rectifying"  # people decide that
    assert stored.recorded_findings(store).height == 0


def test_the_report_figures_and_the_indicator_facts_match_the_answers(store):
    sid = start(store, streets=(STREETS[1], STREETS[2]))
    sample = stored.sample_frame(store, sid)
    by_street = dict(sample.group_by("street").agg(pl.col("case_id")).iter_rows())
    b1, b2 = sorted(by_street[STREETS[1]]), sorted(by_street[STREETS[2]])
    answer_all(
        store, sid, b1[0], fail={"custody_filing": "无代管协议", "relative_filing": "未备案"}
    )
    for case in b1[1:] + b2:
        answer_all(store, sid, case)
    na = {c: stored.Answer("pass") for c in CODES} | {"custody_filing": stored.Answer("na")}
    versions = dict(
        stored.answers_frame(store, sid)
        .filter(pl.col("case_id") == b2[0])
        .select("item", "version")
        .iter_rows()
    )
    stored.save_answers(store, sid, b2[0], na, by="张三", expected=versions)
    info = stored.get_session(store, sid)
    answers = stored.answers_frame(store, sid)
    streets = {
        r["street"]: r for r in fa.by_street(sample, answers, CHECKLIST).iter_rows(named=True)
    }
    s1 = streets[STREETS[1]]
    assert (s1["cases"], s1["done"], s1["passed"], s1["failed_cases"], s1["items_fail"]) == (
        len(b1),
        len(b1),
        len(b1) - 1,
        1,
        2,
    )
    assert s1["case_pass_rate"] == pytest.approx((len(b1) - 1) / len(b1))
    assert s1["item_pass_rate"] == pytest.approx((8 * len(b1) - 2) / (8 * len(b1)))
    assert streets[STREETS[2]]["items_na"] == 1 and streets[STREETS[2]]["case_pass_rate"] == 1
    items = {r["code"]: r for r in fa.by_item(answers, CHECKLIST).iter_rows(named=True)}
    n = sample.height
    assert (
        items["custody_filing"]["pass"],
        items["custody_filing"]["fail"],
        items["custody_filing"]["na"],
    ) == (n - 2, 1, 1)
    assert items["custody_filing"]["pass_rate"] == pytest.approx((n - 2) / (n - 1))
    failures = fa.failures(sample, answers, CHECKLIST)
    assert failures.select("case_id", "label", "note").rows() == [
        (b1[0], "近亲属备案核对", "未备案"),
        (b1[0], "卡折代管备案核对", "无代管协议"),
    ]
    # facts of an open session count for nothing; closed, each case counts once
    assert stored.pass_rate_facts(store).height == 0
    close(store, sid)
    facts = stored.pass_rate_facts(store)
    got = dict(facts.group_by("street").agg(pl.col("audit_passed").sum()).iter_rows())
    assert got == {STREETS[1]: len(b1) - 1, STREETS[2]: len(b2)}
    assert set(facts["month"]) == {info.month}


# --- in a workspace: drawn from a snapshot, and in the indicators of the next run ----------------


def test_a_closed_session_gives_the_next_run_its_pass_rate(tmp_path: Path, small_drop):
    ws = Workspace.open(tmp_path / "ws")
    try:
        tracking.record_check(ws, small_drop, read_drop(small_drop), by="测试", origin="test")
        sid, _ = view.latest_snapshot(ws)
        p = view.default_params("2026-03", seed=5)
        session = view.start_session(
            ws,
            sid,
            p,
            held_on=date(2026, 4, 2),
            title="3月档案核查",
            team=["张三"],
            by="张三",
            origin="test",
        )
        shown = view.session_view(ws, session)
        assert shown.sample["case_id"].to_list() == ["C001"]
        view.save_case(
            ws,
            session,
            "C001",
            {c: ("符合", None) for c in CODES} | {"home_visit": ("不符合", "无入户记录")},
            {},
            by="张三",
        )
        stored.close_session(
            ws.store,
            session,
            by="李四",
            today=date(2026, 4, 3),
            rectify_due=date(2026, 5, 6),
            expected_version=stored.get_session(ws.store, session).version,
        )
        out = tracking.record_check(
            ws, small_drop, read_drop(small_drop), by="测试", origin="test"
        ).out
        ind = pl.read_csv(out / "indicators.csv").filter(
            (pl.col("indicator") == "file_audit_pass_rate") & (pl.col("period") == "2026-03")
        )
        row = ind.filter(pl.col("street") == "华阳路街道").row(0, named=True)
        assert (row["value"], row["numerator"], row["denominator"]) == (0.0, 0.0, 1.0)
        other = ind.filter(pl.col("street") == "新泾镇").row(0, named=True)
        assert other["value"] is None and other["numerator"] == 0  # not audited: blank
    finally:
        ws.close()


def test_a_sign_off_drawn_before_someone_changed_an_answer_is_refused(store):
    sid = start(store, streets=(STREETS[0],))
    cases = stored.sample_frame(store, sid)["case_id"].to_list()
    for case in cases:
        answer_all(store, sid, case)
    seen = stored.get_session(store, sid).version
    # 李四 changes an answer after 张三 looked at the figures he is about to sign
    answer_all(store, sid, cases[0], fail={"credit_pledge": "承诺书缺签名"}, by="李四")
    with pytest.raises(ConcurrentEditError, match="请刷新后查看最新结果再签发"):
        stored.close_session(
            store, sid, by="张三", today=TODAY, rectify_due=DUE, expected_version=seen
        )
    assert stored.get_session(store, sid).state == "open"
    assert close(store, sid).new == 1
