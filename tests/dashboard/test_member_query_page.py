"""The 失信查询 page (AppTest): a member unit's query is refused without a unit, a person or a
purpose; answered with 已列入 / 未列入, the reference and the term only, the number masked; logged,
and the log below shows the count and never a number, nor does any text of the page."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.store import Workspace
from analytics.views import member_query as view
from tests.analytics.test_member_query import CLEAR, LISTED, PURPOSE, TODAY, publish

PAGE = Path(__file__).resolve().parents[2] / "dashboard" / "screens" / "member_query.py"


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("AIDWATCH_WORKSPACE", str(tmp_path / "workspace"))
    monkeypatch.setattr(view, "today", lambda: TODAY)
    ws = Workspace.open()
    publish(ws.store, LISTED)
    yield ws
    ws.store.dispose()


def texts(at: AppTest) -> str:
    """Every text the page drew: markdown, captions, messages, and the grids' cells."""
    parts = [e.value for kind in ("markdown", "caption", "title", "subheader", "success",
                                  "warning", "error", "info") for e in getattr(at, kind)]
    parts += [df.value.to_string() for df in at.dataframe]
    return "\n".join(str(p) for p in parts)


def query(at: AppTest, number: str, *, unit="区住房保障局", by="王科员", purpose=PURPOSE) -> AppTest:
    at.sidebar.text_input(key="member_query_unit").set_value(unit)
    at.sidebar.text_input(key="member_query_by").set_value(by)
    if purpose is not None:
        at.selectbox(key="member_query_purpose").set_value(purpose)
    at.text_input(key="member_query_number").set_value(number)
    at.button[0].click()
    return at.run()


def test_a_query_is_answered_listed_or_not_and_logged_without_the_number(workspace):
    at = AppTest.from_file(str(PAGE), default_timeout=60).run()
    assert not at.exception
    assert "还没有成员单位查询过" in texts(at)

    at = query(at, LISTED)
    assert not at.exception and not at.error
    answers, log = (df.value for df in at.dataframe)
    assert list(answers.columns) == list(view.ANSWER_COLUMNS)
    row = answers.iloc[0]
    assert (row["查询结果"], row["身份证号"]) == ("已列入", "310105********" + LISTED[-4:])
    assert row["失信记录编号"].startswith("SX2026")
    assert str(row["公布截止日期"])[:10] == "2027-04-20"
    assert list(log.columns) == list(view.LOG_COLUMNS)
    assert log[["查询单位", "查询人", "查询用途", "查询号码数", "其中已列入"]].values.tolist() == [
        ["区住房保障局", "王科员", PURPOSE, 1, 1]]

    at = query(at, CLEAR)
    answers, log = (df.value for df in at.dataframe)
    assert answers["查询结果"].tolist() == ["未列入"]
    assert answers[["失信记录编号", "异议"]].isna().all(axis=None)
    assert log["查询号码数"].tolist() == [1, 1] and log["其中已列入"].tolist() == [0, 1]
    page = texts(at)
    assert LISTED not in page and CLEAR not in page and "李明" not in page


def test_a_query_needs_a_unit_a_person_and_a_purpose_and_a_valid_number(workspace):
    at = AppTest.from_file(str(PAGE), default_timeout=60).run()
    at = query(at, LISTED, unit="", by="", purpose=None)
    assert "请在左侧填写查询单位" in at.error[0].value and "请选择查询用途" in at.error[0].value
    at = query(at, LISTED[:-1] + ("0" if LISTED[-1] != "0" else "1"))
    assert "身份证号无效" in at.error[0].value
    assert LISTED[:-1] not in texts(at)
    assert len(at.dataframe) == 0  # nothing asked, nothing logged
    assert "还没有成员单位查询过" in texts(at)
