"""The 失信名单 page (AppTest) on a workspace of its own: the list by state with IDs masked, a
move of due process through the form (and a stale version refused), a record made by hand, and a
publication in one action with its Excel and PDF."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics.access import Viewer
from analytics.calendar import WorkdayCalendar
from analytics.reference import load_settings
from analytics.store import Workspace
from analytics.store import dishonesty as store_d
from analytics.views import dishonesty as view
from analytics.workflow import dishonesty as rules
from analytics.workflow.dishonesty import Given
from tests.conftest import APPLICANT
from tests.dashboard.conftest import SUPERVISOR, login

PAGE = Path(__file__).resolve().parents[2] / "dashboard" / "screens" / "dishonesty.py"
CAL = WorkdayCalendar.load()
RULES = rules.rules_from(load_settings().dishonesty)
PERSON = "310105198001011237"
OTHER = "31010519820305224X"
NOTIFIED = date(2026, 9, 30)
DECIDED = date(2026, 10, 21)
TODAY = date(2026, 11, 2)
FULL_ID = re.compile(r"\d{17}[\dX]")
# The joint-meeting office keeps the list: the one role that may open the page.
OFFICE = Viewer(name="王科长", role="joint_office", account="wangkz")


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.setenv("AIDWATCH_WORKSPACE", str(tmp_path / "workspace"))
    monkeypatch.setattr(view, "today", lambda: TODAY)
    workspace = Workspace.open()
    yield workspace
    workspace.store.dispose()


def new(store, id_number=PERSON, name="李明", street="华阳路街道") -> int:
    return store_d.create_record(
        store,
        by="联席办",
        today=NOTIFIED,
        id_number=id_number,
        name=name,
        conduct="隐瞒",
        description="隐瞒家庭成员就业收入",
        severity="一般",
        basis="《上海市社会救助条例》第五十七条",
        money_obtained_fen=300_000,
        street=street,
    )


def act(store, rid, move, day, **given):
    v = store_d.records_frame(store).filter(pl.col("record_id") == rid)["version"].item()
    store_d.apply(
        store,
        rid,
        move,
        Given(**given),
        by="联席办",
        expected_version=v,
        today=day,
        calendar=CAL,
        settings=RULES,
    )


def published(store, **kw) -> int:
    rid = new(store, **kw)
    act(store, rid, "notify", NOTIFIED, notified_on=NOTIFIED, notify_method="直接送达")
    act(
        store,
        rid,
        "publish",
        DECIDED,
        decision_no="长民失〔2026〕1号",
        decision_date=DECIDED,
        term_months=6,
    )
    return rid


def state_of(store, rid) -> dict:
    return store_d.records_frame(store).filter(pl.col("record_id") == rid).row(0, named=True)


def page(viewer: Viewer | None = OFFICE, **state) -> AppTest:
    """The page run on its own, logged in as ``viewer`` (None: nobody)."""
    at = login(AppTest.from_file(str(PAGE), default_timeout=60), viewer)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def grid(at: AppTest, column: str):
    """The one grid of the page that has ``column`` first."""
    (found,) = [df.value for df in at.dataframe if df.value.columns[0] == column]
    return found


def texts(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("markdown", "caption", "info", "success", "error", "warning")
        for e in getattr(at, kind)
    ]
    parts.extend(frame.value.to_csv() for frame in at.dataframe)
    return "\n".join(str(p) for p in parts)


def test_the_list_by_state_with_ids_masked(ws):
    a = published(ws.store)
    new(ws.store, id_number=OTHER, name="张丽", street="江苏路街道")
    at = page()
    assert not at.exception
    shown = texts(at)
    assert "310105********1237" in shown and "310105********224X" in shown
    assert not FULL_ID.search(shown)
    assert grid(at, "记录编号")["状态"].tolist() == ["已公布", "拟列入"]
    at.multiselect(key="dishonesty_states").set_value(["proposed"]).run()
    assert grid(at, "记录编号")["姓名"].tolist() == ["张丽"]
    at.multiselect(key="dishonesty_states").set_value([]).run()
    at.selectbox(key="dishonesty_pick").set_value(a).run()
    assert at.radio(key="dishonesty_move").options == ["登记异议", "信用修复", "撤销"]


def test_a_move_through_the_form_and_a_stale_version_refused(ws):
    rid = new(ws.store)
    at = page(dishonesty_pick=rid)
    assert at.radio(key="dishonesty_move").options == ["告知当事人", "撤销"]
    at.radio(key="dishonesty_move").set_value("notify").run()
    labels = [d.label for d in at.date_input] + [s.label for s in at.selectbox]
    assert "告知日期" in labels and "告知方式" in labels
    at.selectbox(key=next(s.key for s in at.selectbox if s.label == "告知方式")).set_value(
        "邮寄送达"
    )
    at.button(key="dishonesty_move_submit").click().run()
    assert not at.exception
    record = state_of(ws.store, rid)
    assert (record["state"], record["notified_on"], record["notify_method"]) == (
        "notified",
        TODAY,
        "邮寄送达",
    )
    assert any("已告知当事人" in s.value for s in at.success)
    assert "王科长" in grid(at, "日期").to_csv()
    # in its objection window: no 公布 offered; an objection form asks for a date and a reason
    assert at.radio(key="dishonesty_move").options == ["登记异议", "撤销"]
    at.radio(key="dishonesty_move").set_value("revoke").run()
    assert [t.label for t in at.text_area if t.key.startswith("dishonesty_f_")] == ["理由（必填）"]
    # someone else registers an objection meanwhile: the form's version is stale
    act(ws.store, rid, "object", TODAY, raised_on=TODAY, reason="当事人称已申报收入")
    area = next(t for t in at.text_area if t.label.startswith("理由"))
    area.input("重复录入")
    at.button(key="dishonesty_move_submit").click().run()
    assert any("刚被他人修改过" in e.value for e in at.error)
    assert state_of(ws.store, rid)["state"] == "objected"
    assert any("异议中" in w.value for w in at.warning)


def test_a_move_needs_a_login(ws):
    """With nobody logged in the page shows only that one must log in, and a form drawn before
    the login ended writes nothing."""
    rid = new(ws.store)
    at = page(dishonesty_pick=rid)
    at.radio(key="dishonesty_move").set_value("notify").run()
    login(at, None)
    at.button(key="dishonesty_move_submit").click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == ["请先登录。"]
    assert not at.title and not at.dataframe and not at.tabs and not at.button
    assert "李明" not in texts(at) and "310105" not in texts(at)
    assert state_of(ws.store, rid)["state"] == "proposed"
    assert store_d.history_frame(ws.store, rid)["by"].to_list() == ["联席办"]

    at = page(viewer=None, dishonesty_pick=rid)
    assert [e.value for e in at.error] == ["请先登录。"] and not at.dataframe


@pytest.mark.parametrize(
    "viewer",
    [
        SUPERVISOR,
        Viewer(name="纪检（测试）", role="discipline"),
        Viewer(name="街镇（测试）", role="street", street="华阳路街道"),
        Viewer(name="成员单位（测试）", role="member_unit", unit="区住房保障局"),
        Viewer(name="管理员（测试）", role="admin"),
    ],
    ids=lambda v: v.role,
)
def test_only_the_joint_office_opens_the_list(ws, viewer):
    """Every other role is refused the page: no record, no name, no masked number, no form."""
    rid = published(ws.store)
    at = page(viewer=viewer, dishonesty_pick=rid)
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == ["当前账号无权查看本页。"]
    assert not at.title and not at.dataframe and not at.tabs and not at.button
    assert not at.radio and not at.text_input and not at.selectbox
    shown = texts(at)
    assert "李明" not in shown and "310105" not in shown and "长民失" not in shown


def test_a_record_made_by_hand(ws):
    at = page(dishonesty_source="hand")
    fields = {t.label: t for t in at.text_input}
    fields["身份证号"].input("310105198001011237")  # a wrong check digit: refused
    fields["姓名"].input("李明")
    at.button(key="dishonesty_create").click().run()
    assert any("校验位" in e.value for e in at.error)
    assert store_d.records_frame(ws.store).height == 0
    fields = {t.label: t for t in at.text_input}
    fields["身份证号"].input(APPLICANT)
    fields["姓名"].input("李明")
    next(s for s in at.selectbox if s.label == "街镇").set_value("华阳路街道")
    next(t for t in at.text_area if t.label == "失信事实").input("隐瞒就业收入")
    next(t for t in at.text_area if t.label == "列入依据").input("《上海市社会救助条例》")
    at.button(key="dishonesty_create").click().run()
    assert not at.exception
    records = store_d.records_frame(ws.store)
    assert records.select("id_number", "name", "street", "state").rows() == [
        (APPLICANT, "李明", "华阳路街道", "proposed")
    ]
    rid = records["record_id"].item()
    assert store_d.history_frame(ws.store, rid)["by"].to_list() == ["王科长"]
    assert at.selectbox(key="dishonesty_pick").value == rid


def test_publication_in_one_action_with_its_documents(ws, downloads):
    a = published(ws.store)
    b = published(ws.store, id_number=OTHER, name="张丽")
    at = page()
    pending = [df.value for df in at.dataframe if df.value.columns[0] == "序号"]
    assert [p.columns.tolist() for p in pending] == [list(view.PUBLICATION_COLUMNS)]
    at.button(key="dishonesty_publish").click().run()
    assert not at.exception
    number = "长宁区救助失信公布〔2026〕1号"
    assert {state_of(ws.store, r)["publication_no"] for r in (a, b)} == {number}
    assert any(number in s.value for s in at.success)
    assert at.selectbox(key="dishonesty_doc").value == number
    (doc,) = [df.value for df in at.dataframe if df.value.columns[0] == "序号"]
    assert doc["身份证号"].tolist() == ["310105********1237", "310105********224X"]
    assert any("没有待公布的记录" in i.value for i in at.info)
    xlsx = downloads[f"{view.file_stem(number)}.xlsx"]()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        xml = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
    assert number in xml and "310105********1237" in xml and not FULL_ID.search(xml)
    pdf = downloads[f"{view.file_stem(number)}.pdf"]()
    assert pdf.startswith(b"%PDF-")
    # publishing again with nothing new does nothing
    assert view.publish_batch(ws.store, "王科长", TODAY, calendar=CAL, rules_=RULES) is None


def test_a_published_record_corrected_keeps_its_earlier_version(ws):
    rid = published(ws.store)
    at = page(dishonesty_pick=rid)
    recovered = next(n for n in at.number_input if n.key.endswith("_e_recovered"))
    recovered.set_value(3000.0)
    next(t for t in at.text_area if t.key.endswith("_e_reason")).input("已全部退还")
    at.button(key="dishonesty_edit_submit").click().run()
    assert not at.exception
    record = state_of(ws.store, rid)
    assert record["money_recovered_fen"] == 300_000 and record["state"] == "published"
    earlier = store_d.earlier_versions(ws.store, rid)
    assert earlier[0]["money_recovered_fen"] == 0
    assert any("修改前的版本" in m.value for m in at.markdown)
    # someone else corrects it meanwhile: this page's form is stale and changes nothing
    store_d.edit(
        ws.store,
        rid,
        {"basis": "另一依据"},
        by="他人",
        reason="更正",
        expected_version=state_of(ws.store, rid)["version"],
        today=TODAY,
    )
    at = page(dishonesty_pick=rid)
    store_d.edit(
        ws.store,
        rid,
        {"basis": "第三依据"},
        by="他人",
        reason="再更正",
        expected_version=state_of(ws.store, rid)["version"],
        today=TODAY,
    )
    next(t for t in at.text_area if t.key.endswith("_e_reason")).input("我的更正")
    next(t for t in at.text_area if t.key.endswith("_e_desc")).input("改写的事实")
    at.button(key="dishonesty_edit_submit").click().run()
    assert any("刚被他人修改过" in e.value for e in at.error)
    assert state_of(ws.store, rid)["basis"] == "第三依据"
