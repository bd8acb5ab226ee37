"""数据导入 as a new supervisor met it: the check date, one folder box, no server paths, files
the reader did not recognise, a folder missing tables, the generator's answer key."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from analytics import amounts, formats, tracking
from analytics.access import Viewer
from analytics.reader import read_drop
from analytics.reference import PROJECT_ROOT
from analytics.results import load_findings
from analytics.store import Workspace, accounts
from dashboard import auth, data, ui
from tests.conftest import BAD_ID, TEST_PASSWORD
from tests.dashboard.conftest import login

PAGE = str(PROJECT_ROOT / "dashboard" / "screens" / "import_data.py")
ADMIN = Viewer(name="测试管理员（admin）", role="admin", account="admin")
AS_OF_KEY = "import_as_of_20260331"  # the small drop's payments are of 2026-03
RUN_KEY = "import_run"


def open_page(monkeypatch, drop: Path, viewer: Viewer | None = None, **state) -> AppTest:
    monkeypatch.setenv("AIDWATCH_DROP", str(drop))
    monkeypatch.setenv("AIDWATCH_OUT", str(drop.parent / "no-run-yet"))
    at = AppTest.from_file(PAGE, default_timeout=120)
    if viewer is not None:
        login(at, viewer)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def frames(at: AppTest) -> list[pl.DataFrame]:
    return [pl.from_pandas(df.value) for df in at.dataframe]


def texts(at: AppTest) -> str:
    return "\n".join(
        e.value
        for kind in ("caption", "markdown", "info", "warning", "error", "success")
        for e in getattr(at, kind)
    )


@pytest.fixture
def clean_drop(small_drop) -> Path:
    """The small drop without its rejected person."""
    persons = small_drop / "persons.csv"
    lines = persons.read_text(encoding="utf-8").splitlines()
    persons.write_text("\n".join(x for x in lines if BAD_ID not in x) + "\n", encoding="utf-8")
    return small_drop


# --- the check date -----------------------------------------------------------------------------


def test_a_check_date_before_the_data_is_refused_before_running(monkeypatch, small_drop):
    at = open_page(monkeypatch, small_drop)
    assert not at.button(key=RUN_KEY).disabled and not at.error
    at.date_input(key=AS_OF_KEY).set_value(date(2026, 1, 1)).run()
    (error,) = at.error
    assert error.value.startswith("检查基准日 2026-01-01 早于本批数据的第一个发放月份 2026-03")
    assert "请选择 2026-03-01 至 2026-03-31 之间的日期" in error.value
    assert at.button(key=RUN_KEY).disabled
    assert not at.checkbox  # nothing to confirm: refused

    at.date_input(key=AS_OF_KEY).set_value(date(2026, 3, 31)).run()
    assert not at.error and not at.button(key=RUN_KEY).disabled


def test_a_look_back_date_runs_only_once_the_user_says_so(monkeypatch, small_drop):
    at = open_page(monkeypatch, small_drop)
    at.date_input(key=AS_OF_KEY).set_value(date(2026, 3, 15)).run()
    (warning,) = [w.value for w in at.warning if "检查基准日" in w.value]
    assert warning.startswith("检查基准日 2026-03-15 早于本批数据最后一个发放月份 2026-03 的月末")
    assert "资金比对类检查也照样检查此日之后的发放" in warning
    assert at.button(key=RUN_KEY).disabled
    (confirm,) = at.checkbox
    assert confirm.label == "我了解上述影响，仍按此基准日检查" and not confirm.value
    confirm.check().run()
    assert not at.button(key=RUN_KEY).disabled


# --- one folder box -----------------------------------------------------------------------------


def test_the_page_reads_the_sidebars_folder_and_has_no_box_of_its_own(
    monkeypatch, small_drop, tmp_path
):
    other = tmp_path / "other"
    other.mkdir()
    (other / "persons.csv").write_bytes((small_drop / "persons.csv").read_bytes())
    at = open_page(monkeypatch, small_drop, ADMIN)
    assert not at.text_input  # no second place to type a folder
    assert any(ui.md_code(small_drop) in c.value and "侧栏" in c.value for c in at.caption)

    at.session_state[ui.DROP_KEY] = str(other)  # what the sidebar's box holds
    at.run()
    assert not at.exception, at.exception
    assert frames(at)[0]["英文名"].to_list() == ["persons"]
    assert any(ui.md_code(other) in c.value for c in at.caption)


def test_in_the_app_the_sidebar_box_is_the_only_one_and_the_page_follows_it(
    monkeypatch, small_drop, tmp_path
):
    other = tmp_path / "other"
    other.mkdir()
    (other / "persons.csv").write_bytes((small_drop / "persons.csv").read_bytes())
    monkeypatch.setenv("AIDWATCH_DROP", str(small_drop))
    monkeypatch.setenv("AIDWATCH_OUT", str(tmp_path / "no-run-yet"))
    ws = Workspace.open(None)
    try:
        accounts.add_user(
            ws.store,
            username="admin",
            display_name="测试管理员",
            role="admin",
            password=TEST_PASSWORD,
            by="测试",
        )
        token = accounts.start_session(ws.store, "admin")
    finally:
        ws.close()
    at = AppTest.from_file(str(PROJECT_ROOT / "dashboard" / "app.py"), default_timeout=120)
    at.session_state[auth.TOKEN_KEY] = token
    at.run()
    at.switch_page("screens/import_data.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "数据导入"
    boxes = [t for t in at.text_input if t.label == "数据文件夹"]
    assert [t.key for t in boxes] == [ui.DROP_KEY]  # the sidebar's, and no other
    assert set(frames(at)[0]["英文名"]) > {"persons", "ledger"}

    at.sidebar.text_input(key=ui.DROP_KEY).set_value(str(other)).run()
    assert not at.exception, at.exception
    assert frames(at)[0]["英文名"].to_list() == ["persons"]


# --- no server paths ----------------------------------------------------------------------------


def test_a_supervisor_is_told_no_server_path(monkeypatch, tmp_path):
    nowhere = tmp_path / "nowhere"
    at = open_page(monkeypatch, nowhere)  # a district supervisor (conftest)
    (warning,) = at.warning
    assert warning.value == "管理员设置的数据文件夹不存在，请联系管理员，或改用“上传文件”。"
    assert str(tmp_path) not in texts(at)

    admin = open_page(monkeypatch, nowhere, ADMIN)
    assert ui.md(nowhere) in admin.warning[0].value


def test_how_to_run_names_the_folder_to_an_administrator_only(monkeypatch):
    out = Path("/srv/aidwatch/out")
    monkeypatch.setattr(
        auth, "viewer", lambda: Viewer(name="督查", role="civil_affairs", account="x")
    )
    text = ui.how_to_run(out)
    assert "/srv" not in text and "aidwatch check" in text and "管理员" in text
    monkeypatch.setattr(auth, "viewer", lambda: ADMIN)
    assert "--out /srv/aidwatch/out" in ui.how_to_run(out)


@pytest.fixture
def drop_with_duplicate(small_drop):
    """The March payment made twice: a duplicate and a control total, which counts the same
    money again."""
    ledger = small_drop / "资金实发明细.csv"
    first = ledger.read_bytes().decode("gb18030").splitlines()[1]
    with ledger.open("ab") as fh:
        fh.write(
            (first.replace("T0001", "T0002").replace("2026-03-10", "2026-03-11") + "\n").encode(
                "gb18030"
            )
        )
    return small_drop


def test_the_finished_run_is_told_without_a_path_and_with_the_one_money_at_risk(
    monkeypatch, drop_with_duplicate
):
    drop = drop_with_duplicate
    ws = Workspace.open(None)  # the page's own (AIDWATCH_WORKSPACE of the test)
    try:
        out = tracking.record_check(ws, drop, read_drop(drop), by="测试", origin="test").out
    finally:
        ws.close()
    findings = load_findings(out)
    at_risk = amounts.money_at_risk_fen(findings)
    plain = int(findings["amount_fen"].sum())
    assert "control_total_mismatch" in findings["check_id"].to_list() and plain > at_risk > 0

    at = open_page(
        monkeypatch,
        drop,
        **{ui.LAST_RUN_KEY: {"source": str(drop), "out": str(out)}, ui.OUT_KEY: str(out)},
    )
    (success,) = at.success
    assert success.value.startswith("检查完成：运行 ")
    assert f"涉及金额 {formats.money_fen(at_risk)} 元" in success.value
    assert "各页面已切换到本次结果。" in success.value
    assert str(out) not in success.value and str(out.parent) not in success.value
    assert "/" not in success.value
    metric = {m.label: m for m in at.metric}["涉及金额（元）"]
    assert metric.value == formats.money_fen(at_risk)
    assert metric.proto.help == amounts.HELP
    (history,) = [f for f in frames(at) if "完成时间" in f.columns]
    assert history["涉及金额（元）"].to_list() == [at_risk / 100]


# --- what the drop holds ------------------------------------------------------------------------


def test_a_file_with_an_unknown_name_is_listed_and_no_green_all_clear(monkeypatch, clean_drop):
    at = open_page(monkeypatch, clean_drop)  # 会议记录.csv is no table
    (unknown,) = [w.value for w in at.warning if w.value.startswith("未识别的文件")]
    assert "会议记录" in unknown and "没有读取" in unknown and "数据文件应如何命名" in unknown
    assert not at.success  # no "没有拒收记录。" in green while a file went unread
    assert any("未识别的文件没有读取" in i.value for i in at.info)
    (expected,) = [f for f in frames(at) if "可用的文件名" in f.columns]
    ledger = expected.filter(pl.col("英文名") == "ledger").row(0, named=True)
    assert ledger["是否必需"] == "必需" and "资金实发明细.csv" in ledger["可用的文件名"]
    assert expected.height == len(data.schema.TABLES)

    (clean_drop / "会议记录.csv").unlink()
    at = open_page(monkeypatch, clean_drop)
    assert [s.value for s in at.success] == ["没有拒收记录。"]
    assert not [w for w in at.warning if w.value.startswith("未识别的文件")]
    assert not [f for f in frames(at) if "可用的文件名" in f.columns]


def test_the_generators_answer_key_is_explained(monkeypatch, clean_drop):
    (clean_drop / "会议记录.csv").unlink()
    (clean_drop / "truth.csv").write_text("check_id\nduplicate_payment\n", encoding="utf-8")
    (clean_drop / "lookalikes.csv").write_text("kind\nx\n", encoding="utf-8")
    at = open_page(monkeypatch, clean_drop)
    (ignored,) = [f for f in frames(at) if f.columns == ["文件", "原因"]]
    reasons = dict(ignored.rows())
    assert reasons["truth.csv"].startswith("演示数据生成器写出的答案清单")
    assert reasons["lookalikes.csv"].startswith("演示数据生成器写出的形似问题清单")
    assert all("检查不读取此文件" in r for r in reasons.values())
    # the answer key is no unknown file
    assert not [w for w in at.warning if w.value.startswith("未识别的文件")]
    assert [s.value for s in at.success] == ["没有拒收记录。"]


def missing_warning(at: AppTest) -> str:
    (warning,) = [w.value for w in at.warning if w.value.startswith("缺少必需的数据表")]
    return warning


def test_a_folder_and_an_upload_missing_tables_get_the_same_warning(
    monkeypatch, small_drop, tmp_path
):
    folder = tmp_path / "partial"
    folder.mkdir()
    for name in ("persons.csv", "会议记录.csv"):
        (folder / name).write_bytes((small_drop / name).read_bytes())
    from_folder = open_page(monkeypatch, folder)
    assert not from_folder.error

    class Upload:
        def __init__(self, path: Path):
            self.name, self._bytes = path.name, path.read_bytes()

        def getvalue(self) -> bytes:
            return self._bytes

    monkeypatch.setattr(data, "UPLOAD_ROOT", tmp_path / "uploads")
    monkeypatch.setattr(
        streamlit, "file_uploader", lambda *a, **k: [Upload(p) for p in sorted(folder.iterdir())]
    )
    from_upload = open_page(monkeypatch, folder, import_source="上传文件")
    assert not from_upload.error

    assert missing_warning(from_folder) == missing_warning(from_upload)
    warning = missing_warning(from_folder)
    for table in ("资金实发明细（ledger）", "应发名册（entitlements）", "救助案件（cases）"):
        assert table in warning
    assert "人员信息（persons）" not in warning
    for at in (from_folder, from_upload):
        assert frames(at)[0]["英文名"].to_list() == ["persons"]
        assert [w for w in at.warning if w.value.startswith("未识别的文件")]
        assert not at.button
        assert any("补齐必需的数据表" in c.value for c in at.caption)
