"""失信名单 due process, against SQLite and PostgreSQL: every move, the objection window in working
days across a holiday, term limits, objections before and after publication, repair, expiry,
edits keeping earlier versions, and the member units' query."""

from __future__ import annotations

import dataclasses
from datetime import date

import polars as pl
import pytest

from analytics.calendar import WorkdayCalendar
from analytics.reference import load_settings
from analytics.store import dishonesty as store_d
from analytics.store.db import open_store
from analytics.workflow import dishonesty as rules
from analytics.workflow.dishonesty import DueProcessError, Given, Record

CAL = WorkdayCalendar.load()
RULES = rules.rules_from(load_settings().dishonesty)
PERSON = "310105198001011237"
OTHER = "31010519820305224X"
NOTIFIED = date(2026, 9, 30)  # the National Day holiday follows
WINDOW_END = date(2026, 10, 20)  # the 10th working day after it (10-10 is a make-up Saturday)


def test_the_objection_window_counts_working_days_across_the_holiday():
    record = Record(state="notified", severity="一般", notified_on=NOTIFIED)
    assert rules.window_end(record, CAL, RULES) == WINDOW_END
    assert rules.status(record, WINDOW_END, CAL, RULES) == "window"
    assert rules.status(record, date(2026, 10, 21), CAL, RULES) == "notified"


def test_every_move_is_allowed_only_from_its_states():
    full = Given(
        reason="理由",
        notified_on=NOTIFIED,
        notify_method="直接送达",
        raised_on=date(2026, 10, 5),
        decision_no="长民失〔2026〕1号",
        decision_date=date(2026, 10, 22),
        term_months=6,
        returned_on=NOTIFIED,
        commitment_on=NOTIFIED,
    )
    today = date(2026, 10, 22)
    for name, spec in rules.MOVES.items():
        for state in rules.STATES:
            record = Record(
                state=state,
                severity="一般",
                notified_on=NOTIFIED,
                objection_from="notified" if state == "objected" else None,
            )
            if state in spec.sources:
                target, _ = rules.plan(record, name, full, today=today, calendar=CAL, rules=RULES)
                assert target == (spec.target or "notified")
            else:
                with pytest.raises(DueProcessError):
                    rules.plan(record, name, full, today=today, calendar=CAL, rules=RULES)


@pytest.mark.parametrize(
    ("severity", "months", "ok"),
    [
        ("轻微", 3, True),
        ("轻微", 4, False),
        ("一般", 3, True),
        ("一般", 12, True),
        ("一般", 13, False),
        ("严重", 11, False),
        ("严重", 36, True),
        ("严重", 37, False),
    ],
)
def test_publication_terms_stay_within_the_limits_of_their_severity(severity, months, ok):
    record = Record(state="notified", severity=severity, notified_on=NOTIFIED)
    given = Given(decision_no="文号", decision_date=date(2026, 10, 21), term_months=months)
    if ok:
        rules.plan(record, "publish", given, today=date(2026, 10, 21), calendar=CAL, rules=RULES)
    else:
        with pytest.raises(DueProcessError, match="公布期限"):
            rules.plan(
                record, "publish", given, today=date(2026, 10, 21), calendar=CAL, rules=RULES
            )


def test_a_term_ends_by_itself_and_the_record_is_then_no_longer_listed():
    record = Record(
        state="published", severity="轻微", decision_date=date(2026, 1, 31), term_months=1
    )
    assert rules.term_end(record) == date(2026, 2, 27)
    assert rules.is_listed(record, date(2026, 2, 27))
    assert rules.status(record, date(2026, 2, 28), CAL, RULES) == "expired"
    assert not rules.is_listed(record, date(2026, 2, 28))


@pytest.fixture
def store(db_url):
    s = open_store(db_url)
    yield s
    s.dispose()


def new(store, **kw) -> int:
    fields = dict(
        by="联席办",
        today=NOTIFIED,
        id_number=PERSON,
        name="李明",
        conduct="隐瞒",
        description="隐瞒家庭成员就业收入",
        severity="一般",
        basis="《上海市社会救助条例》第五十七条",
        money_obtained_fen=300_000,
        street="华阳路街道",
    )
    fields.update(kw)
    return store_d.create_record(store, **fields)


def version(store, rid) -> int:
    return store_d.records_frame(store).filter(pl.col("record_id") == rid)["version"].item()


def act(store, rid, move, today, **given):
    return store_d.apply(
        store,
        rid,
        move,
        Given(**given),
        by="联席办",
        expected_version=version(store, rid),
        today=today,
        calendar=CAL,
        settings=RULES,
    )


def test_a_record_is_never_published_before_notice_and_its_window(store):
    rid = new(store)
    with pytest.raises(DueProcessError, match="不能“公布”"):
        act(
            store,
            rid,
            "publish",
            date(2026, 11, 2),
            decision_no="1",
            term_months=6,
            decision_date=date(2026, 11, 2),
        )
    act(store, rid, "notify", NOTIFIED, notified_on=NOTIFIED, notify_method="直接送达")
    with pytest.raises(DueProcessError, match="异议期尚未结束"):
        act(
            store,
            rid,
            "publish",
            WINDOW_END,
            decision_no="1",
            term_months=6,
            decision_date=WINDOW_END,
        )
    # an objection inside the window: no publication while it is undecided
    act(store, rid, "object", date(2026, 10, 9), raised_on=date(2026, 10, 9), reason="收入已申报")
    status = store_d.with_status(store_d.records_frame(store), date(2026, 10, 9), CAL, RULES)
    row = status.row(0, named=True)
    assert row["status_label"] == "异议中"
    assert row["objection_due"] == date(2026, 10, 15)  # 5 working days
    with pytest.raises(DueProcessError):
        act(
            store,
            rid,
            "publish",
            date(2026, 10, 21),
            decision_no="1",
            term_months=6,
            decision_date=date(2026, 10, 21),
        )
    act(store, rid, "reject", date(2026, 10, 14), reason="经核实，就业收入未申报")
    act(
        store,
        rid,
        "publish",
        date(2026, 10, 21),
        decision_no="长民失〔2026〕3号",
        term_months=6,
        decision_date=date(2026, 10, 21),
    )
    row = store_d.with_status(store_d.records_frame(store), date(2026, 10, 22), CAL, RULES).row(
        0, named=True
    )
    assert (row["status"], row["term_end"], row["listed"]) == ("published", date(2027, 4, 20), True)


def test_an_objection_after_publication_shows_as_disputed_until_decided(store):
    rid = new(store)
    act(store, rid, "notify", NOTIFIED, notified_on=NOTIFIED, notify_method="邮寄送达")
    act(
        store,
        rid,
        "publish",
        date(2026, 10, 21),
        decision_no="文号",
        term_months=6,
        decision_date=date(2026, 10, 21),
    )
    act(store, rid, "object", date(2026, 11, 2), raised_on=date(2026, 11, 2), reason="已退款")
    answer = store_d.member_query(
        store,
        [PERSON],
        unit="区住房保障局",
        purpose="保障性住房资格审核",
        by="甲",
        today=date(2026, 11, 3),
    ).row(0, named=True)
    assert answer["listed"] and answer["disputed"]
    assert store_d.published_for_check(store).height == 1
    act(store, rid, "uphold", date(2026, 11, 5), reason="当事人已于公布前退款，列入依据不足")
    answer = store_d.member_query(
        store,
        [PERSON],
        unit="区住房保障局",
        purpose="保障性住房资格审核",
        by="甲",
        today=date(2026, 11, 6),
    ).row(0, named=True)
    assert not answer["listed"] and answer["reference"] is None
    assert store_d.published_for_check(store).height == 0


def test_repair_needs_the_money_back_and_ends_the_listing(store):
    rid = new(store, money_obtained_fen=300_000, money_recovered_fen=100_000)
    act(store, rid, "notify", NOTIFIED, notified_on=NOTIFIED, notify_method="直接送达")
    act(
        store,
        rid,
        "publish",
        date(2026, 10, 21),
        decision_no="文号",
        term_months=12,
        decision_date=date(2026, 10, 21),
    )
    with pytest.raises(DueProcessError, match="尚未全部退还"):
        act(
            store,
            rid,
            "repair",
            date(2026, 11, 20),
            reason="申请修复",
            returned_on=date(2026, 11, 18),
            commitment_on=date(2026, 11, 19),
        )
    store_d.edit(
        store,
        rid,
        {"money_recovered_fen": 300_000},
        by="联席办",
        reason="已全部退还",
        expected_version=version(store, rid),
        today=date(2026, 11, 19),
    )
    act(
        store,
        rid,
        "repair",
        date(2026, 11, 20),
        reason="已退还并签署信用承诺",
        returned_on=date(2026, 11, 18),
        commitment_on=date(2026, 11, 19),
    )
    assert not store_d.member_query(
        store, [PERSON], unit="区教育局", purpose="教育资助审核", by="乙", today=date(2026, 11, 21)
    )["listed"].item()
    history = store_d.history_frame(store, rid)
    assert history["move"].to_list() == ["create", "notify", "publish", "edit", "repair"]
    earlier = store_d.earlier_versions(store, rid)
    assert earlier[0]["money_recovered_fen"] == 100_000 and earlier[0]["version"] == 3


def test_a_stale_version_is_refused(store):
    rid = new(store)
    stale = version(store, rid)
    act(store, rid, "notify", NOTIFIED, notified_on=NOTIFIED, notify_method="直接送达")
    with pytest.raises(store_d.StaleRecordError):
        store_d.apply(
            store,
            rid,
            "revoke",
            Given(reason="x"),
            by="乙",
            expected_version=stale,
            today=NOTIFIED,
            calendar=CAL,
            settings=RULES,
        )


def test_the_member_query_answers_only_listed_or_not_and_logs_no_number(store):
    rid = new(store)
    act(store, rid, "notify", NOTIFIED, notified_on=NOTIFIED, notify_method="直接送达")
    act(
        store,
        rid,
        "publish",
        date(2026, 10, 21),
        decision_no="文号",
        term_months=6,
        decision_date=date(2026, 10, 21),
    )
    answers = store_d.member_query(
        store,
        [OTHER, PERSON.lower()],
        unit="区医保局",
        purpose="医疗救助审核",
        by="丙",
        today=date(2026, 11, 1),
    )
    assert answers.columns == [
        "query_index",
        "listed",
        "reference",
        "term_start",
        "term_end",
        "disputed",
    ]
    assert answers["listed"].to_list() == [False, True]
    assert answers["reference"].to_list()[1].startswith("SX2026")
    log = store_d.query_log(store)
    assert log.row(0, named=True) | {"at": None} == {
        "at": None,
        "by": "丙",
        "unit": "区医保局",
        "purpose": "医疗救助审核",
        "numbers": 2,
        "listed": 1,
    }
    assert all(PERSON not in str(v) and OTHER not in str(v) for v in log.row(0))
    with pytest.raises(DueProcessError, match="查询用途"):
        store_d.member_query(
            store, [PERSON], unit="x", purpose="好奇", by="丁", today=date(2026, 11, 1)
        )
    too_many = dataclasses.replace(load_settings().dishonesty, query_max_numbers=1)
    with pytest.raises(DueProcessError, match="最多"):
        store_d.member_query(
            store,
            [PERSON, OTHER],
            unit="x",
            purpose="医疗救助审核",
            by="丁",
            today=date(2026, 11, 1),
            settings=too_many,
        )
