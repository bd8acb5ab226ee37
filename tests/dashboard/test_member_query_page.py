"""The 失信查询 page (AppTest): a member unit asks for its own unit, under its own name (both
from its account), and is refused without a purpose or a valid number; answered with 已列入 /
未列入, the reference and the term only, the number masked; logged, and the log (who asked, for
which unit, never a number) is shown to the joint office only, never to a member unit. An office
account, which has no unit, names the unit it asks for."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.access import Viewer
from analytics.store import Workspace
from analytics.store import dishonesty as stored
from analytics.views import member_query as view
from tests.analytics.test_member_query import CLEAR, LISTED, PURPOSE, TODAY, publish
from tests.dashboard.conftest import SUPERVISOR, login

PAGE = Path(__file__).resolve().parents[2] / "dashboard" / "screens" / "member_query.py"
MEMBER = Viewer(name="王科员", role="member_unit", unit="区住房保障局", account="wangky")
OFFICE = Viewer(name="联席办李科长", role="joint_office", account="likz")


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("AIDWATCH_WORKSPACE", str(tmp_path / "workspace"))
    monkeypatch.setattr(view, "today", lambda: TODAY)
    ws = Workspace.open()
    publish(ws.store, LISTED)
    yield ws
    ws.store.dispose()


def page(viewer: Viewer | None) -> AppTest:
    """The page run on its own, logged in as ``viewer`` (None: nobody)."""
    return login(AppTest.from_file(str(PAGE), default_timeout=60), viewer).run()


def texts(at: AppTest) -> str:
    """Every text the page drew: markdown, captions, messages, and the grids' cells."""
    parts = [
        e.value
        for kind in (
            "markdown",
            "caption",
            "title",
            "subheader",
            "success",
            "warning",
            "error",
            "info",
        )
        for e in getattr(at, kind)
    ]
    parts += [df.value.to_string() for df in at.dataframe]
    return "\n".join(str(p) for p in parts)


def query(at: AppTest, number: str, *, purpose=PURPOSE, unit: str | None = None) -> AppTest:
    """Ask about ``number``; ``unit`` is typed in the sidebar (only an account without a unit
    has that box)."""
    if unit is not None:
        at.sidebar.text_input(key="member_query_unit").set_value(unit)
    if purpose is not None:
        at.selectbox(key="member_query_purpose").set_value(purpose)
    at.text_input(key="member_query_number").set_value(number)
    at.button[0].click()
    return at.run()


def log_rows(at: AppTest) -> list[list]:
    (log,) = [df.value for df in at.dataframe if "查询单位" in df.value.columns]
    assert list(log.columns) == list(view.LOG_COLUMNS)
    return log[["查询单位", "查询人", "查询用途", "查询号码数", "其中已列入"]].values.tolist()


def test_a_query_is_answered_listed_or_not_and_logged_without_the_number(workspace):
    at = page(OFFICE)
    assert not at.exception
    assert "还没有成员单位查询过" in texts(at)

    at = page(MEMBER)
    assert not at.exception
    # The unit and the asker are the account's: no box to type them in.
    assert not at.sidebar.text_input
    at = query(at, LISTED)
    assert not at.exception and not at.error
    (answers,) = (df.value for df in at.dataframe)
    assert list(answers.columns) == list(view.ANSWER_COLUMNS)
    row = answers.iloc[0]
    assert (row["查询结果"], row["身份证号"]) == ("已列入", "310105********" + LISTED[-4:])
    assert row["失信记录编号"].startswith("SX2026")
    assert str(row["公布截止日期"])[:10] == "2027-04-20"

    at = query(at, CLEAR)
    (answers,) = (df.value for df in at.dataframe)
    assert answers["查询结果"].tolist() == ["未列入"]
    assert answers[["失信记录编号", "异议"]].isna().all(axis=None)
    shown = texts(at)
    assert LISTED not in shown and CLEAR not in shown and "李明" not in shown
    # A member unit never sees who else asked: no log on its page.
    assert "查询记录" not in [s.value for s in at.subheader]
    assert "还没有成员单位查询过" not in shown and "最近的在前" not in shown

    # Logged under the account's unit and name; the office sees the log.
    logged = stored.query_log(workspace.store)
    assert logged.select("unit", "by", "numbers", "listed").rows() == [
        ("区住房保障局", "王科员", 1, 0),
        ("区住房保障局", "王科员", 1, 1),
    ]
    at = page(OFFICE)
    assert "查询记录" in [s.value for s in at.subheader]
    assert log_rows(at) == [
        ["区住房保障局", "王科员", PURPOSE, 1, 0],
        ["区住房保障局", "王科员", PURPOSE, 1, 1],
    ]
    shown = texts(at)
    assert "共 2 次查询，最近的在前" in shown
    assert LISTED not in shown and CLEAR not in shown and "李明" not in shown


def test_a_query_needs_a_purpose_and_a_valid_number(workspace):
    at = page(MEMBER)
    at = query(at, LISTED, purpose=None)
    (error,) = at.error
    assert "请选择查询用途" in error.value
    assert "查询单位" not in error.value and "查询人" not in error.value  # the account's
    at = query(at, LISTED[:-1] + ("0" if LISTED[-1] != "0" else "1"))
    assert "身份证号无效" in at.error[0].value
    assert LISTED[:-1] not in texts(at)
    assert len(at.dataframe) == 0  # nothing asked, nothing logged
    assert stored.query_log(workspace.store).height == 0
    assert "还没有成员单位查询过" in texts(page(OFFICE))


def test_an_office_account_without_a_unit_names_the_unit(workspace):
    at = page(OFFICE)
    assert [t.label for t in at.sidebar.text_input] == ["查询单位"]  # no 查询人: the account's
    at = query(at, LISTED)
    assert "请在左侧填写查询单位" in at.error[0].value
    assert stored.query_log(workspace.store).height == 0
    at = query(at, LISTED, unit="区民政局")
    assert not at.error, [e.value for e in at.error]
    assert log_rows(at) == [["区民政局", "联席办李科长", PURPOSE, 1, 1]]


@pytest.mark.parametrize(
    "viewer",
    [
        SUPERVISOR,
        Viewer(name="纪检（测试）", role="discipline"),
        Viewer(name="街镇（测试）", role="street", street="华阳路街道"),
        Viewer(name="管理员（测试）", role="admin"),
    ],
    ids=lambda v: v.role,
)
def test_other_roles_may_not_query(workspace, viewer):
    at = page(viewer)
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == ["当前账号无权查看本页。"]
    assert not at.title and not at.text_input and not at.button and not at.dataframe


def test_nobody_logged_in_is_asked_to_log_in(workspace):
    at = page(None)
    assert [e.value for e in at.error] == ["请先登录。"]
    assert not at.title and not at.text_input and not at.button and not at.dataframe
