"""The 档案核查 page (AppTest) on a workspace whose check run took in a drop of eleven cases in
two streets: a session started through the page with the parameters typed, a draw previewed
again with the same seed, a case answered through its checklist (a 不符合 without a note refused,
a stale form refused), the sign-off turning failures into findings to rectify, and a closed
session read-only; all of it by a district supervisor, logged in. A street office sees its own
cases only, read-only; nobody logged in sees nothing."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics import file_audit_report as report
from analytics import tracking
from analytics.access import Viewer
from analytics.export import WORD_JOINER
from analytics.reader import read_drop
from analytics.store import Workspace
from analytics.store import file_audit as stored
from analytics.store.findings import states_frame
from analytics.views import file_audit as view
from tests.conftest import APPLICANT
from tests.dashboard.conftest import login

PAGE = Path(__file__).resolve().parents[2] / "dashboard" / "screens" / "file_audit.py"
A, B = "华阳路街道", "江苏路街道"
NEW = "file_audit_new_0"  # the start widgets' prefix before anything was started
ACTOR = "王科长"
# The district's supervisor who starts, answers and closes (the name the records keep).
WANG = Viewer(name=ACTOR, role="civil_affairs", account="wangkz")
STREET_A = Viewer(name="华阳路街道经办（测试）", role="street", street=A, account="street")


def more_cases(drop: Path) -> None:
    """Ten more cases beside the small drop's C001: six cases in street A, five in B."""
    with open(drop / "cases.csv", "a", encoding="utf-8") as fh:
        for n in range(2, 12):
            fh.write(
                f"C{n:03d},H001,{APPLICANT},{A if n % 2 else B},最低生活保障,在册,"
                "2026-01-05,2026-02-10,S001\n"
            )


@pytest.fixture
def ws(tmp_path, monkeypatch, small_drop):
    more_cases(small_drop)
    monkeypatch.setenv("AIDWATCH_WORKSPACE", str(tmp_path / "workspace"))
    workspace = Workspace.open()
    recorded = tracking.record_check(
        workspace, small_drop, read_drop(small_drop), by="测试", origin="test"
    )
    monkeypatch.setenv("AIDWATCH_OUT", str(recorded.out))
    monkeypatch.setenv("AIDWATCH_DROP", str(small_drop))
    yield workspace
    workspace.store.dispose()


def snapshot_of(ws: Workspace) -> str:
    return view.latest_snapshot(ws)[0]


def started(
    ws: Workspace, seed: int = 7, title: str = "2026年2月档案材料集中核查", **overrides
) -> int:
    params = view.default_params("2026-02", seed=seed, **overrides)
    return view.start_session(
        ws,
        snapshot_of(ws),
        params,
        held_on=date(2026, 3, 5),
        title=title,
        team=["张三", "李四"],
        by="督查科",
        origin="test",
    )


def page(viewer: Viewer | None = WANG, **params: str) -> AppTest:
    """The page run on its own, logged in as ``viewer`` (None: nobody), with the link's query
    parameters."""
    at = login(AppTest.from_file(str(PAGE), default_timeout=60), viewer)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def grid(at: AppTest, first_column: str, nth: int = 0):
    found = [df.value for df in at.dataframe if df.value.columns[0] == first_column]
    return found[nth]


def case_form(at: AppTest, sid: int, case_id: str) -> dict:
    """item code -> (radio, note input) of the case's checklist form drawn now."""
    head = f"file_audit_f_{sid}_{case_id}_"
    radios = {r.key: r for r in at.radio if r.key and r.key.startswith(head)}
    notes = {t.key: t for t in at.text_input if t.key and t.key.startswith(head)}
    codes = [i.code for i in view.checklist()]
    out = {}
    for code in codes:
        (radio,) = [r for k, r in radios.items() if k.endswith(f"_{code}")]
        out[code] = (radio, notes[radio.key + "_note"])
    return out


def answer_all(
    ws: Workspace, sid: int, case_id: str, fail: dict[str, str] | None = None, by: str = "张三"
) -> None:
    fail = fail or {}
    given = {
        i.code: ("不符合", fail[i.code]) if i.code in fail else ("符合", None)
        for i in view.checklist()
    }
    view.save_case(ws, sid, case_id, given, {}, by=by)


def texts(at: AppTest, kind: str) -> list[str]:
    """The page's messages of a kind, as a person reads them (Markdown escapes undone)."""
    return [
        re.sub(r"\\(.)", r"\1", str(e.value)).replace(WORD_JOINER, "") for e in getattr(at, kind)
    ]


# --- starting a session ---------------------------------------------------------------------------


def test_without_a_session_the_page_offers_to_start_one(ws):
    at = page()
    assert not at.exception, at.exception
    assert at.title[0].value == "档案核查"
    assert "每月档案材料集中核查" in at.caption[0].value
    assert [e.label for e in at.expander][0] == "发起核查"
    today = date.today()
    last_month = today.replace(day=1) - timedelta(days=1)
    assert at.text_input(key=f"{NEW}_month").value == last_month.strftime("%Y-%m")
    assert (
        at.text_input(key=f"{NEW}_title").value
        == f"{last_month.year}年{last_month.month}月档案材料集中核查"
    )
    assert at.date_input(key=f"{NEW}_held_on").value == today
    settings = view.default_params("2026-02", seed=0)
    assert at.number_input(key=f"{NEW}_per_street").value == settings.per_street
    assert (
        at.number_input(key=f"{NEW}_weight_open_findings").value
        == settings.risk_weights["open_findings"]
    )
    assert isinstance(at.number_input(key=f"{NEW}_seed").value, int)
    assert any("还没有档案核查" in i for i in texts(at, "info"))
    assert not at.selectbox and not at.get("download_button")
    # the name follows the month typed
    at.text_input(key=f"{NEW}_month").set_value("2026-05").run()
    assert at.text_input(key=f"{NEW}_title").value == "2026年5月档案材料集中核查"
    # a name written by hand stays
    at.text_input(key=f"{NEW}_title").set_value("专项核查").run()
    at.text_input(key=f"{NEW}_month").set_value("2026-06").run()
    assert at.text_input(key=f"{NEW}_title").value == "专项核查"


def test_an_empty_workspace_says_to_import_first(tmp_path, monkeypatch):
    monkeypatch.setenv("AIDWATCH_WORKSPACE", str(tmp_path / "empty"))
    at = page()
    assert not at.exception
    assert "请先在「数据导入」页读入数据并运行检查" in at.info[0].value
    assert [e.label for e in at.expander] == []


def fill_start_form(at: AppTest, seed: int, manual: str = "") -> None:
    at.text_input(key=f"{NEW}_month").set_value("2026-02")
    at.number_input(key=f"{NEW}_per_street").set_value(2)
    at.number_input(key=f"{NEW}_min").set_value(1)
    at.number_input(key=f"{NEW}_weight_new_handler").set_value(4.0)
    at.text_area(key=f"{NEW}_manual").set_value(manual)
    at.number_input(key=f"{NEW}_seed").set_value(seed)


def test_a_session_started_through_the_page_keeps_what_was_typed(ws):
    at = page()
    fill_start_form(at, 12345, "C001、C004")
    at.text_input(key=f"{NEW}_title").set_value("二月档案核查")
    at.text_input(key=f"{NEW}_team").set_value("张三、李四，王五")
    at.button(key="file_audit_start").click().run()
    assert not at.exception, at.exception
    sessions = stored.sessions_frame(ws.store)
    assert sessions.height == 1
    sid = sessions["id"].item()
    info = stored.get_session(ws.store, sid)
    assert (info.title, info.team, info.month, info.held_on, info.created_by) == (
        "二月档案核查",
        ("张三", "李四", "王五"),
        "2026-02",
        date.today(),
        ACTOR,
    )
    assert info.params.seed == 12345 and sessions["seed"].item() == 12345
    assert (info.params.per_street, info.params.min_per_street, info.params.share) == (2, 1, 0.0)
    assert info.params.risk_weights["new_handler"] == 4.0
    assert info.params.manual == ("C001", "C004")
    sample = stored.sample_frame(ws.store, sid)
    # the draw is the one these parameters make, the named cases on top of two per street
    expected = view.draw(ws, snapshot_of(ws), info.params)
    assert sample["case_id"].to_list() == expected["case_id"].to_list()
    assert set(sample.filter(pl.col("manual"))["case_id"]) == {"C001", "C004"}
    assert sample.height == 6
    assert any("已发起第 1 期档案核查" in s for s in texts(at, "success"))
    assert at.selectbox(key="file_audit_session").value == sid
    assert grid(at, "序号")["救助编号"].tolist() == sample["case_id"].to_list()
    # a fresh form (and a fresh seed) for the next one
    assert at.text_area(key="file_audit_new_1_manual").value == ""


def test_a_session_is_refused_without_a_team_and_a_bad_month_is_said(ws):
    at = page()
    fill_start_form(at, 1)
    at.button(key="file_audit_start").click().run()
    assert any("请填写核查组成员" in e for e in texts(at, "error"))
    at.text_input(key=f"{NEW}_team").set_value("张三")
    at.text_input(key=f"{NEW}_month").set_value("2026-13")
    at.button(key="file_audit_start").click().run()
    assert any("应为 YYYY-MM" in e for e in texts(at, "error"))
    at.text_input(key=f"{NEW}_month").set_value("2026-02")
    at.text_area(key=f"{NEW}_manual").set_value("C999")
    at.button(key="file_audit_preview_button").click().run()
    assert any("不在所选数据快照中" in e for e in texts(at, "error"))
    assert stored.sessions_frame(ws.store).height == 0


def test_a_preview_stores_nothing_and_the_same_seed_draws_the_same_cases(ws):
    base = view.default_params(
        "2026-02",
        seed=0,
        per_street=2,
        min_per_street=1,
        risk_weights={**view.default_params("2026-02", seed=0).risk_weights, "new_handler": 4.0},
    )

    def drawn(seed: int) -> list[str]:
        return view.draw(ws, snapshot_of(ws), replace(base, seed=seed))["case_id"].to_list()

    other = next(s for s in range(2, 500) if drawn(s) != drawn(1))
    at = page()
    fill_start_form(at, 1)
    at.button(key="file_audit_preview_button").click().run()
    assert not at.exception, at.exception
    first = grid(at, "序号")
    assert list(first.columns) == [
        "序号",
        "街镇",
        "救助编号",
        "救助类别",
        "经办人工号",
        "抽取原因",
        "抽取权重",
    ]
    assert first["救助编号"].tolist() == drawn(1)
    assert all(w.startswith("随机抽取") for w in first["抽取原因"])
    assert any("尚未保存" in c for c in texts(at, "caption"))
    at.number_input(key=f"{NEW}_seed").set_value(other)
    at.run()
    assert not [df for df in at.dataframe if df.value.columns[0] == "序号"]  # params changed
    at.button(key="file_audit_preview_button").click().run()
    assert grid(at, "序号")["救助编号"].tolist() == drawn(other) != drawn(1)
    # the same seed again, on a page opened afresh: the same cases
    at = page()
    fill_start_form(at, 1)
    at.button(key="file_audit_preview_button").click().run()
    assert grid(at, "序号")["救助编号"].tolist() == first["救助编号"].tolist()
    assert stored.sessions_frame(ws.store).height == 0


# --- answering a case ----------------------------------------------------------------------------


def test_a_case_answered_through_its_checklist(ws):
    sid = started(ws)
    case = stored.sample_frame(ws.store, sid)["case_id"][0]
    at = page()
    assert at.selectbox(key="file_audit_case").value == case
    form = case_form(at, sid, case)
    assert all(radio.value is None for radio, _ in form.values())  # nothing answered: no default
    codes = list(form)
    for radio, _ in form.values():
        radio.set_value("符合")
    form[codes[1]][0].set_value("不符合")  # without a note: refused
    form[codes[2]][0].set_value("不适用")
    at.button(key="file_audit_save").click().run()
    assert not at.exception, at.exception
    label = view.checklist()[1].label
    assert any(f"“{label}”不符合，请在说明中写明问题" in e for e in texts(at, "error"))
    assert stored.answers_frame(ws.store, sid).height == 0
    form = case_form(at, sid, case)
    form[codes[1]][1].set_value("缺少入户调查签字")
    at.button(key="file_audit_save").click().run()
    assert not at.exception, at.exception
    answers = stored.answers_frame(ws.store, sid)
    assert answers.height == len(codes)
    results = dict(zip(answers["item"], answers["result"], strict=True))
    assert results[codes[1]] == "fail" and results[codes[2]] == "na"
    assert {r for c, r in results.items() if c not in codes[1:3]} == {"pass"}
    assert answers.filter(pl.col("item") == codes[1])["note"].item() == "缺少入户调查签字"
    assert set(answers["by"]) == {ACTOR}
    assert any(f"已保存案件 {case} 的核查结论" in s for s in texts(at, "success"))
    # the form drawn again shows what was stored, and who answered
    form = case_form(at, sid, case)
    assert form[codes[1]][0].value == "不符合" and form[codes[1]][1].value == "缺少入户调查签字"
    assert any(f"上次由 {ACTOR} 于" in c for c in texts(at, "caption"))
    sample = grid(at, "序号")
    assert sample.loc[sample["救助编号"] == case, "结论"].item() == "不合格（1 项不符合）"
    failures = grid(at, "序号", 1)
    assert failures["问题说明"].tolist() == ["缺少入户调查签字"]


def test_another_case_is_chosen_in_the_box(ws):
    sid = started(ws)
    cases = stored.sample_frame(ws.store, sid)
    at = page()
    at.selectbox(key="file_audit_street").set_value(B).run()
    in_b = cases.filter(pl.col("street") == B)["case_id"].to_list()
    assert grid(at, "序号")["救助编号"].tolist() == in_b
    position = cases.filter(pl.col("street") == B)["position"][0]
    assert at.selectbox(key="file_audit_case").options[0].startswith(f"{position}. {in_b[0]}（")
    at.selectbox(key="file_audit_case").set_value(in_b[1]).run()
    assert case_form(at, sid, in_b[1])


def test_a_stale_form_is_refused_and_nothing_is_overwritten(ws):
    sid = started(ws)
    case = stored.sample_frame(ws.store, sid)["case_id"][0]
    first = view.checklist()[0].code
    at = page()
    # someone else answers the first item meanwhile
    view.save_case(ws, sid, case, {first: ("符合", None)}, {}, by="他人")
    form = case_form(at, sid, case)
    form[first][0].set_value("不符合")
    form[first][1].set_value("我的结论")
    at.button(key="file_audit_save").click().run()
    assert not at.exception, at.exception
    assert any("刚被他人修改过" in w for w in texts(at, "warning"))
    answers = stored.answers_frame(ws.store, sid)
    assert answers.select("item", "result", "by").rows() == [(first, "pass", "他人")]
    # reloaded: the form shows the other's answer, and saving over it now works
    at.button(key="file_audit_reload").click().run()
    assert not texts(at, "warning")
    form = case_form(at, sid, case)
    assert form[first][0].value == "符合"
    form[first][0].set_value("不符合")
    form[first][1].set_value("我的结论")
    at.button(key="file_audit_save").click().run()
    answers = stored.answers_frame(ws.store, sid)
    assert answers.select("item", "result", "note", "by", "version").rows() == [
        (first, "fail", "我的结论", ACTOR, 2)
    ]


def test_saving_needs_a_login(ws):
    """With nobody logged in the page shows only that one must log in, and a checklist filled
    in before the login ended writes nothing."""
    sid = started(ws)
    case = stored.sample_frame(ws.store, sid)["case_id"][0]
    at = page()
    for radio, _ in case_form(at, sid, case).values():
        radio.set_value("符合")
    login(at, None)
    at.button(key="file_audit_save").click().run()
    assert not at.exception, at.exception
    assert texts(at, "error") == ["请先登录。"]
    assert not at.title and not at.dataframe and not at.radio and not at.button
    assert not at.selectbox and not at.expander
    assert stored.answers_frame(ws.store, sid).height == 0

    at = page(viewer=None)
    assert texts(at, "error") == ["请先登录。"] and not at.dataframe and not at.button


# --- closing -------------------------------------------------------------------------------------


def test_closing_makes_the_failures_findings_to_rectify(ws):
    sid = started(ws)
    cases = stored.sample_frame(ws.store, sid)["case_id"].to_list()
    codes = [i.code for i in view.checklist()]
    for case in cases[1:]:
        answer_all(ws, sid, case)
    due = date.today() + timedelta(days=40)
    at = page()
    # a case still to answer: refused
    at.date_input(key=f"file_audit_close_{sid}_0_due").set_value(due)
    at.checkbox(key=f"file_audit_close_{sid}_0_confirm").check()
    at.button(key="file_audit_close").click().run()
    assert any("还有 1 个案件没有填完核查清单" in e for e in texts(at, "error"))
    answer_all(ws, sid, cases[0], fail={codes[3]: "无入户调查记录"})
    at = page()
    at.date_input(key=f"file_audit_close_{sid}_0_due").set_value(due)
    at.button(key="file_audit_close").click().run()  # not confirmed
    assert any("请先勾选确认" in e for e in texts(at, "error"))
    assert stored.get_session(ws.store, sid).state == "open"
    at.checkbox(key=f"file_audit_close_{sid}_0_confirm").check()
    at.button(key="file_audit_close").click().run()
    assert not at.exception, at.exception
    info = stored.get_session(ws.store, sid)
    assert (info.state, info.rectify_due, info.closed_by) == ("closed", due, ACTOR)
    (success,) = texts(at, "success")
    assert "新转入线索清单 1 条" in success and due.isoformat() in success
    states = states_frame(ws.store).filter(
        pl.col("finding_id") == stored.finding_id(cases[0], codes[3])
    )
    assert states.select("state", "due_date").rows() == [("rectifying", due)]
    # closed: read-only, no form and no closing
    assert not [r for r in at.radio if r.key and r.key.startswith("file_audit_f_")]
    assert "file_audit_save" not in [b.key for b in at.button]
    assert "file_audit_close" not in [b.key for b in at.button]
    assert any("结束并签发" in i for i in texts(at, "info"))
    answers = grid(at, "核查项")
    assert answers["结论"].tolist() == [
        "符合",
        "符合",
        "符合",
        "不符合",
        "符合",
        "符合",
        "符合",
        "符合",
    ]
    assert answers["说明"].tolist()[3] == "无入户调查记录"


def test_a_closed_session_has_no_form_and_its_report_downloads(ws, downloads):
    sid = started(ws)
    for case in stored.sample_frame(ws.store, sid)["case_id"]:
        answer_all(ws, sid, case)
    stored.close_session(
        ws.store,
        sid,
        by="督查科",
        today=date.today(),
        rectify_due=date.today() + timedelta(days=30),
        expected_version=stored.get_session(ws.store, sid).version,
    )
    at = page()
    assert not at.exception, at.exception
    assert at.metric[0].value == str(stored.sample_frame(ws.store, sid).height)
    assert "file_audit_save" not in [b.key for b in at.button]
    assert not [r for r in at.radio]
    assert "已结束" in at.selectbox(key="file_audit_session").options[0]
    sv = view.session_view(ws, sid)
    assert [b.proto.label for b in at.get("download_button")] == [
        "下载核查报告（PDF）",
        "下载核查台账（Excel）",
    ]
    pdf = downloads[report.file_name(sv, "pdf")]()
    assert pdf.startswith(b"%PDF-")
    xlsx = downloads[report.file_name(sv, "xlsx")]()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        assert any(n.startswith("xl/worksheets/") for n in z.namelist())


def test_the_session_in_the_link_is_chosen(ws):
    first = started(ws, title="第一期")
    second = started(ws, seed=8, title="第二期")
    at = page()
    assert at.selectbox(key="file_audit_session").value == second  # the newest
    assert at.subheader[0].value == "第二期"
    at = page(session=str(first))
    assert not at.exception
    assert at.selectbox(key="file_audit_session").value == first
    assert at.subheader[0].value == "第一期"
    at = page(session="99")  # no such session: the newest
    assert at.selectbox(key="file_audit_session").value == second


# --- roles ---------------------------------------------------------------------------------------


def page_text(at: AppTest) -> str:
    """Everything the page drew, as text: every element's message (labels, values, options,
    Markdown, the grids' data) and the grids' cells."""
    parts: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in (getattr(node, "children", None) or {}).values():
            walk(child)

    walk(at._tree)
    parts += [df.value.to_csv() for df in at.dataframe]
    return "\n".join(parts)


def test_a_street_sees_its_own_cases_read_only(ws, downloads):
    """A street office: no start form, no checklist form, no sign-off; the cases, figures,
    answers and report of its own street only (another street's named case too)."""
    sid = started(ws, per_street=2, min_per_street=1, manual=("C004",))  # C004 is in street B
    sample = stored.sample_frame(ws.store, sid)
    own = sample.filter(pl.col("street") == A)["case_id"].to_list()
    others = sample.filter(pl.col("street") != A)["case_id"].to_list()
    assert own and "C004" in others
    codes = [i.code for i in view.checklist()]
    answer_all(ws, sid, own[0], fail={codes[2]: "甲街镇缺少签字"})
    answer_all(ws, sid, others[0], fail={codes[3]: "乙街镇缺少入户调查"})

    at = page(viewer=STREET_A)
    assert not at.exception, at.exception
    assert not at.error
    # no start form
    assert "发起核查" not in [e.label for e in at.expander]
    assert not [
        w
        for w in (*at.text_input, *at.number_input, *at.text_area, *at.date_input)
        if w.key and w.key.startswith("file_audit_new_")
    ]
    buttons = [b.key for b in at.button]
    assert "file_audit_start" not in buttons and "file_audit_preview_button" not in buttons
    # its own cases only
    assert at.selectbox(key="file_audit_street").options == ["全部街镇", A]
    assert grid(at, "序号")["救助编号"].tolist() == own
    assert [
        o.split(". ", 1)[1].split("（")[0] for o in at.selectbox(key="file_audit_case").options
    ] == own
    assert at.metric[0].value == str(len(own))
    assert grid(at, "序号", 1)["问题说明"].tolist() == ["甲街镇缺少签字"]
    # read-only: the answers shown, no checklist form, no saving, no sign-off
    assert at.selectbox(key="file_audit_case").value == own[0]
    assert not at.radio and "file_audit_save" not in buttons
    answers = grid(at, "核查项")
    assert answers["说明"].tolist()[2] == "甲街镇缺少签字"
    assert "file_audit_close" not in buttons
    assert "结束核查并签发" not in [s.value for s in at.subheader]
    text = page_text(at)
    assert own[0] in text
    assert not [c for c in others if c in text]
    assert "乙街镇缺少入户调查" not in text
    # the report and the ledger it downloads are its street's too
    sv = view.session_view(ws, sid, STREET_A)
    xlsx = downloads[report.file_name(sv, "xlsx")]()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        xml = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
    assert own[0] in xml and not [c for c in others if c in xml]
    assert "乙街镇缺少入户调查" not in xml


def test_a_street_cannot_save_an_answer_even_through_a_form_drawn_before(ws):
    """The service refuses a street office's answer whatever the page drew."""
    sid = started(ws)
    case = stored.sample_frame(ws.store, sid).filter(pl.col("street") == A)["case_id"][0]
    at = page()
    for radio, _ in case_form(at, sid, case).values():
        radio.set_value("符合")
    login(at, STREET_A)
    at.button(key="file_audit_save").click().run()
    assert not at.exception, at.exception
    assert not at.radio and "file_audit_save" not in [b.key for b in at.button]
    assert stored.answers_frame(ws.store, sid).height == 0
    with pytest.raises(Exception, match="无权"):
        view.save_case(
            ws,
            sid,
            case,
            {c: ("符合", None) for c in (i.code for i in view.checklist())},
            {},
            by=STREET_A.name,
            viewer=STREET_A,
        )
    assert stored.answers_frame(ws.store, sid).height == 0


def test_other_roles_may_not_open_the_page(ws):
    started(ws)
    for viewer in (
        Viewer(name="联席办（测试）", role="joint_office"),
        Viewer(name="成员单位（测试）", role="member_unit", unit="区住房保障局"),
        Viewer(name="管理员（测试）", role="admin"),
    ):
        at = page(viewer=viewer)
        assert not at.exception, at.exception
        assert texts(at, "error") == ["当前账号无权查看本页。"], viewer.role
        assert not at.title and not at.dataframe and not at.selectbox and not at.button
