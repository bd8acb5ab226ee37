"""失信查询 (他处受限), as the page builds it: a typed number or an uploaded list, invalid lines
named by number only, the cap on a list, answers that hold only listed / not listed (with
reference, term and 异议中), masked; every query logged with its count and never a number."""

from __future__ import annotations

import io
from datetime import date

import polars as pl
import pytest

from analytics.calendar import WorkdayCalendar
from analytics.reference import load_settings
from analytics.store import dishonesty as stored
from analytics.store.db import open_store
from analytics.views import member_query as view
from analytics.workflow import dishonesty as rules
from analytics.workflow.dishonesty import Given
from tests.conftest import bad_check_digit, make_id

CAL = WorkdayCalendar.load()
RULES = rules.rules_from(load_settings().dishonesty)
LISTED = make_id("31010519800101", "123")
DISPUTED = make_id("31010519820305", "224")
CLEAR = make_id("31010519750606", "031")
INVALID = bad_check_digit(make_id("31010519900909", "456"))
OLD = "310105800101123"  # LISTED's legacy 15-digit number
TODAY = date(2026, 11, 10)
PURPOSE = "保障性住房资格审核"
ALLOWED = {"行号", "身份证号", "查询结果", "失信记录编号", "公布起始日期", "公布截止日期", "异议"}


@pytest.fixture
def store(db_url):
    s = open_store(db_url)
    yield s
    s.dispose()


def publish(store, id_number: str, *, street: str = "华阳路街道", name: str = "李明") -> int:
    rid = stored.create_record(
        store,
        by="联席办",
        today=date(2026, 9, 30),
        id_number=id_number,
        name=name,
        conduct="隐瞒",
        description="隐瞒家庭成员就业收入",
        severity="一般",
        basis="《上海市社会救助条例》第五十七条",
        money_obtained_fen=300_000,
        street=street,
    )
    for move, today, given in (
        (
            "notify",
            date(2026, 9, 30),
            Given(notified_on=date(2026, 9, 30), notify_method="直接送达"),
        ),
        (
            "publish",
            date(2026, 10, 21),
            Given(decision_no="长民失〔2026〕1号", decision_date=date(2026, 10, 21), term_months=6),
        ),
    ):
        version = stored.records_frame(store).filter(pl.col("record_id") == rid)["version"]
        stored.apply(
            store,
            rid,
            move,
            given,
            by="联席办",
            expected_version=version.item(),
            today=today,
            calendar=CAL,
            settings=RULES,
        )
    return rid


def dispute(store, rid: int) -> None:
    version = stored.records_frame(store).filter(pl.col("record_id") == rid)["version"]
    stored.apply(
        store,
        rid,
        "object",
        Given(raised_on=date(2026, 11, 2), reason="已退款"),
        by="联席办",
        expected_version=version.item(),
        today=date(2026, 11, 2),
        calendar=CAL,
        settings=RULES,
    )


def ask(store, asked: view.Asked) -> pl.DataFrame:
    answers = stored.member_query(
        store, asked.numbers, unit="区住房保障局", purpose=PURPOSE, by="王科员", today=TODAY
    )
    return view.answers_table(asked, answers)


def test_a_typed_number_is_answered_listed_with_reference_and_term_only(store):
    publish(store, LISTED)
    table = ask(store, view.parse_typed(f" {OLD} "))  # the 15-digit number, upgraded
    assert set(table.columns) == ALLOWED
    row = table.row(0, named=True)
    assert row["查询结果"] == "已列入" and row["失信记录编号"].startswith("SX2026")
    assert (row["公布起始日期"], row["公布截止日期"]) == (date(2026, 10, 21), date(2027, 4, 20))
    assert row["异议"] is None and row["行号"] == 1
    assert row["身份证号"] == "310105********" + LISTED[-4:]
    assert LISTED not in str(table.rows()) and "李明" not in str(table.rows())


def test_an_uploaded_list_is_answered_in_order_masked_with_invalid_lines_named(store):
    publish(store, LISTED)
    dispute(store, publish(store, DISPUTED, name="张丽"))
    text = f"身份证号\n{CLEAR}\n{INVALID}\n\n{DISPUTED.lower()}\n{LISTED},备注\n"
    asked = view.parse_upload("名单.csv", text.encode("gb18030"), 1000)
    assert asked.invalid_lines == [3] and asked.lines == [2, 5, 6]
    message = view.invalid_message(asked.invalid_lines)
    assert "第 3 行" in message and INVALID not in message
    table = ask(store, asked)
    assert table.columns == list(view.ANSWER_COLUMNS)
    assert table.select("行号", "查询结果", "异议").rows() == [
        (2, "未列入", None),
        (5, "已列入", "异议中"),
        (6, "已列入", None),
    ]
    assert table.row(0, named=True) | {"行号": 0, "身份证号": ""} == {
        "行号": 0,
        "身份证号": "",
        "查询结果": "未列入",
        "失信记录编号": None,
        "公布起始日期": None,
        "公布截止日期": None,
        "异议": None,
    }
    assert table["身份证号"].to_list() == [
        f"310105********{n[-4:]}" for n in (CLEAR, DISPUTED, LISTED)
    ]
    everything = str(table.rows())
    assert all(n not in everything for n in (CLEAR, DISPUTED, LISTED, INVALID))
    assert "张丽" not in everything and "李明" not in everything
    assert (
        view.summary_line(table)
        == "共查询 3 个身份证号，其中已列入失信名单 2 个（1 个异议中，结论待定）。"
    )


def test_every_query_is_logged_with_its_count_and_no_number(store):
    publish(store, LISTED)
    ask(store, view.parse_typed(LISTED))
    ask(store, view.parse_upload("list.txt", f"{CLEAR}\n{LISTED}\n{CLEAR}\n".encode(), 10))
    log = view.log_table(stored.query_log(store))
    assert log.columns == list(view.LOG_COLUMNS)
    assert log.select("查询人", "查询单位", "查询用途", "查询号码数", "其中已列入").rows() == [
        ("王科员", "区住房保障局", PURPOSE, 3, 1),
        ("王科员", "区住房保障局", PURPOSE, 1, 1),
    ]
    assert all(log["查询时间"].is_not_null())
    text = str(log.rows()) + str(stored.query_log(store).rows())
    assert LISTED not in text and CLEAR not in text and LISTED[-6:] not in text


def test_a_list_over_the_cap_is_refused_whole():
    text = "\n".join([CLEAR, LISTED, DISPUTED]).encode()
    assert view.parse_upload("a.txt", text, 3).numbers == [CLEAR, LISTED, DISPUTED]
    with pytest.raises(view.QueryInputError, match="上限 2 个") as refused:
        view.parse_upload("a.txt", text, 2)
    assert all(n not in str(refused.value) for n in (CLEAR, LISTED, DISPUTED))


def test_an_xlsx_list_is_read_from_its_first_column(tmp_path):
    buffer = io.BytesIO()
    pl.DataFrame({"身份证号": [LISTED, INVALID, CLEAR], "备注": ["甲", "乙", "丙"]}).write_excel(
        buffer
    )
    asked = view.parse_upload("名单.xlsx", buffer.getvalue(), 10)
    assert (asked.numbers, asked.lines, asked.invalid_lines) == ([LISTED, CLEAR], [2, 4], [3])


def test_bad_input_is_refused_without_quoting_it():
    with pytest.raises(view.QueryInputError, match="身份证号无效") as bad:
        view.parse_typed(INVALID)
    assert INVALID not in str(bad.value)
    for name, data in (("a.pdf", b"x"), ("a.csv", b"\n\n"), ("a.xlsx", b"not a workbook")):
        with pytest.raises(view.QueryInputError):
            view.parse_upload(name, data, 10)
