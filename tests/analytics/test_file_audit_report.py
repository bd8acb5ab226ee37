"""The 档案核查 session report: the PDF read back with pdftotext and the workbook read back show
the team, the figures of the answers recorded (per street with a 全区 row, per item), every
failure with its note, the signature block, and the state (a draft while open); hostile notes
stay text."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from analytics import file_audit_report as far
from analytics import report, tracking
from analytics.reader import read_drop
from analytics.store import Workspace
from analytics.store import file_audit as stored
from analytics.views import file_audit as v
from analytics.workflow import file_audit as fa
from tests.analytics.test_export import sheet_cells
from tests.conftest import APPLICANT, write_small_drop

HUAYANG, XINJING = "华阳路街道", "新泾镇"
TEAM = ["张三", "李四"]
HYPERLINK = '=HYPERLINK("http://x")'
MARKUP = "**审批**签字<b>缺失</b>"
MISSING = "缺少户口簿复印件"
GENERATED = date(2026, 2, 21)
CLOSED_ON, DUE = date(2026, 2, 20), date(2026, 3, 20)

# The checklist's item codes (data/checklist.toml), in order.
ITEMS = (
    "application_complete",
    "credit_pledge",
    "economic_check",
    "home_visit",
    "public_review",
    "approval_signatures",
    "relative_filing",
    "custody_filing",
)


def _answers(**special: tuple[str, str | None]) -> dict[str, tuple[str, str | None]]:
    """Every item 符合 but those given."""
    return {code: special.get(code, ("符合", None)) for code in ITEMS}


# case -> item -> (result label, note). C005 is answered in part while the session is open.
ANSWERS = {
    "C001": _answers(),
    "C002": _answers(
        application_complete=("不符合", MISSING), relative_filing=("不适用", "无近亲属")
    ),
    "C003": _answers(custody_filing=("不适用", None)),
    "C004": _answers(home_visit=("不符合", HYPERLINK), approval_signatures=("不符合", MARKUP)),
    "C005": {code: ("符合", None) for code in ITEMS[:3]},
}
FAILURES = [
    ("C002", "申请材料齐全", MISSING),
    ("C004", "入户调查记录", HYPERLINK),
    ("C004", "审批签字完整", MARKUP),
]

# 街镇, 抽查案件, 已核查, 合格案件, 不合格案件, 案件合格率, 符合项, 不符合项, 不适用项, 核查项符合率
# 华阳路街道: C001 passes; C002 fails one item (one 不适用); C003 passes (one 不适用):
#   items 8 + 6 + 7 = 21 符合, 1 不符合, 2 不适用 -> 21 / 22
OPEN_STREETS = {
    HUAYANG: ["3", "3", "2", "1", "66.7%", "21", "1", "2", "95.5%"],
    # C004 fails two items, C005 has 3 of 8 answered (not done): 6 + 3 符合, 2 不符合
    XINJING: ["2", "1", "0", "1", "0.0%", "9", "2", "0", "81.8%"],
    "全区": ["5", "4", "2", "2", "50.0%", "30", "3", "2", "90.9%"],
}
CLOSED_STREETS = {
    HUAYANG: OPEN_STREETS[HUAYANG],
    XINJING: ["2", "2", "1", "1", "50.0%", "14", "2", "0", "87.5%"],
    "全区": ["5", "5", "3", "2", "60.0%", "35", "3", "2", "92.1%"],
}


@pytest.fixture
def pdftotext():
    if shutil.which("pdftotext") is None:
        if os.environ.get("CI"):
            pytest.fail("pdftotext is not installed: make setup installs it (poppler-utils)")
        pytest.skip("pdftotext (poppler-utils) is not installed")


def pdf_text(data: bytes, tmp_path: Path, name: str = "report.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return done.stdout.decode("utf-8")


class Scenario:
    def __init__(self, ws: Workspace, session_id: int):
        self.ws, self.session_id = ws, session_id

    def view(self) -> v.SessionView:
        return v.session_view(self.ws, self.session_id)

    def answer(self, case_id: str, given: dict) -> None:
        v.save_case(self.ws, self.session_id, case_id, given, {}, by="张三")

    def close(self) -> None:
        # C005 answered in full: 符合 throughout
        current = v.case_answers(self.view(), "C005")
        given = {code: ("符合", None) for code in ITEMS}
        v.save_case(
            self.ws,
            self.session_id,
            "C005",
            given,
            {code: row["version"] for code, row in current.items()},
            by="李四",
        )
        stored.close_session(
            self.ws.store,
            self.session_id,
            by="张三",
            today=CLOSED_ON,
            rectify_due=DUE,
            expected_version=self.view().info.version,
        )


@pytest.fixture
def scenario(tmp_path) -> Scenario:
    """The small drop with four more cases decided in January 2026: three in 华阳路街道, two in
    新泾镇; a session of January drawing them all, answered as ANSWERS says."""
    drop = write_small_drop(tmp_path / "drop")
    extra = "".join(
        f"C00{n},H001,{APPLICANT},{street},最低生活保障,在册,2026-01-05,2026-01-20,S001\n"
        for n, street in ((2, HUAYANG), (3, HUAYANG), (4, XINJING), (5, XINJING))
    )
    with open(drop / "cases.csv", "a", encoding="utf-8") as fh:
        fh.write(extra)
    ws = Workspace.open(tmp_path / "ws")
    # A snapshot without a check run: the session draws from the latest snapshot either way.
    tracking.import_drop(ws, drop, read_drop(drop), by="测试", origin="test")
    sid, _ = v.latest_snapshot(ws)
    params = v.default_params("2026-01", seed=7, per_street=10)
    session_id = v.start_session(
        ws, sid, params, held_on=date(2026, 2, 3), title="2026年1月档案核查", team=TEAM, by="张三"
    )
    made = Scenario(ws, session_id)
    view = made.view()
    assert sorted(view.sample["case_id"].to_list()) == ["C001", "C002", "C003", "C004", "C005"]
    assert [i.code for i in view.info.checklist] == list(ITEMS)
    for case_id, given in ANSWERS.items():
        made.answer(case_id, given)
    return made


def _item_counts(closed: bool) -> dict[str, tuple[int, int, int]]:
    """label -> (符合, 不符合, 不适用), counted from ANSWERS (C005 all 符合 once closed)."""
    view_labels = dict(
        zip(
            ITEMS,
            (
                "申请材料齐全",
                "信用承诺书已签",
                "家庭经济状况核对报告",
                "入户调查记录",
                "民主评议/公示记录",
                "审批签字完整",
                "近亲属备案核对",
                "卡折代管备案核对",
            ),
            strict=True,
        )
    )
    answers = dict(ANSWERS)
    if closed:
        answers["C005"] = {code: ("符合", None) for code in ITEMS}
    out = {}
    for code, label in view_labels.items():
        results = [given[code][0] for given in answers.values() if code in given]
        out[label] = (results.count("符合"), results.count("不符合"), results.count("不适用"))
    return out


def _rate(passed: int, failed: int) -> str:
    return f"{round(passed / (passed + failed) * 100, 1)}%" if passed + failed else "—"


def _street_line(text: str, street: str) -> list[str]:
    """The figures of a street's row of 三、各街镇核查结果 (a line starting with the street and
    a number; the sample's rows start with their 序号)."""
    lines = [ln.split() for ln in text.splitlines() if re.match(rf"^\s*{street}\s+\d", ln)]
    assert len(lines) == 1, (street, lines)
    return lines[0][1:]


def _item_line(text: str, label: str) -> list[str]:
    lines = [
        ln.split() for ln in text.splitlines() if re.match(rf"^\s*{re.escape(label)}\s+\d", ln)
    ]
    assert len(lines) == 1, (label, lines)
    return lines[0][1:]


# --- the PDF -----------------------------------------------------------------------------------


def test_open_session_pdf_is_a_draft_with_the_figures_recorded(scenario, pdftotext, tmp_path):
    view = scenario.view()
    data = far.session_pdf(view, generated=GENERATED)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data, tmp_path)

    assert "长宁区社会救助档案材料集中核查报告" in text
    assert "2026年1月档案核查（第 1 期）" in text
    assert "草稿（核查尚未结束）" in text
    assert "结束日期" not in text and "整改期限：" not in text
    assert "核查月份：2026-01" in text and "核查日期：2026-02-03" in text
    assert "核查组成员：张三、李四" in text
    assert f"数据快照：{view.info.snapshot_id[:12]}" in text
    assert view.info.snapshot_id[:13] not in text
    assert "状态：进行中" in text
    # every page's footer says it is a draft
    pages = text.count("\f")
    assert pages >= 1 and text.count("档案核查报告 第1期（草稿）") == pages
    for section in (
        "一、抽样方法",
        "二、抽查案件",
        "三、各街镇核查结果",
        "四、各核查项结果",
        "五、不符合事项",
        "六、签字",
    ):
        assert section in text
    assert "随机种子：7" in text and "每个街镇 10 件" in text

    # 二、the sample: every case, with its verdict
    for case_id in ANSWERS:
        assert case_id in text
    assert "不合格（1 项不符合）" in text and "不合格（2 项不符合）" in text
    assert "未完成" in text

    # 三、per street, and the district computed from the same answers
    for street, figures in OPEN_STREETS.items():
        assert _street_line(text, street) == figures, street
    assert "案件合格率 = 已核查案件中无不符合项的占比" in text
    assert "核查项符合率 = 符合 / (符合 + 不符合)，不适用不计" in text

    # 四、per item
    for label, (passed, failed, na) in _item_counts(closed=False).items():
        assert _item_line(text, label) == [
            str(passed),
            str(failed),
            str(na),
            _rate(passed, failed),
        ], label
    assert _item_line(text, "合计") == ["30", "3", "2", "90.9%"]

    # 五、each failure on a line of its own with its case, item and note, as typed
    for case_id, label, note in FAILURES:
        lines = [ln for ln in text.splitlines() if note in ln]
        assert len(lines) == 1, (note, lines)
        assert case_id in lines[0] and label in lines[0]
    assert HYPERLINK in text and MARKUP in text

    # 六、the signature block
    for name in TEAM:
        assert re.search(rf"核查人：{name}\s+签字：_+\s+日期：_+", text), name
    assert re.search(r"审核：_+\s+日期：_+", text)
    assert re.search(r"审批（盖章）：_+\s+日期：_+", text)


def test_closed_session_pdf_has_its_dates_and_final_figures(scenario, pdftotext, tmp_path):
    scenario.close()
    view = scenario.view()
    assert view.info.closed
    text = pdf_text(far.session_pdf(view, generated=GENERATED), tmp_path)

    assert "草稿" not in text and "尚未结束" not in text
    assert "状态：已结束" in text
    assert "结束日期：2026-02-20" in text and "整改期限：2026-03-20" in text
    assert "未完成" not in text
    for street, figures in CLOSED_STREETS.items():
        assert _street_line(text, street) == figures, street
    for label, (passed, failed, na) in _item_counts(closed=True).items():
        assert _item_line(text, label) == [
            str(passed),
            str(failed),
            str(na),
            _rate(passed, failed),
        ], label
    for case_id, label, note in FAILURES:
        assert any(case_id in ln and label in ln and note in ln for ln in text.splitlines())


def test_a_session_without_failures_says_none(scenario, pdftotext, tmp_path):
    for case_id, given in ANSWERS.items():
        versions = {
            code: row["version"] for code, row in v.case_answers(scenario.view(), case_id).items()
        }
        fixed = {
            code: (("符合", None) if result == "不符合" else (result, note))
            for code, (result, note) in given.items()
        }
        v.save_case(scenario.ws, scenario.session_id, case_id, fixed, versions, by="李四")
    text = pdf_text(far.session_pdf(scenario.view(), generated=GENERATED), tmp_path)
    section = text.split("五、不符合事项", 1)[1].split("六、签字", 1)[0]
    assert section.split() == ["无"]
    assert _street_line(text, HUAYANG)[:5] == ["3", "3", "3", "0", "100.0%"]


def test_no_cjk_font_is_a_report_error(scenario, monkeypatch):
    monkeypatch.setattr(report, "FONT_CANDIDATES", (("/nonexistent/font.ttc", 0),))
    with pytest.raises(report.ReportError, match="未找到中文字体"):
        far.session_pdf(scenario.view(), generated=GENERATED)


def test_file_name(scenario):
    view = scenario.view()
    assert far.file_name(view, "pdf") == "档案核查_第1期_2026-01.pdf"
    assert far.file_name(view, ".xlsx") == "档案核查_第1期_2026-01.xlsx"


# --- the workbook ------------------------------------------------------------------------------


def _sheet(content: bytes, name: str) -> pl.DataFrame:
    return pl.read_excel(
        io.BytesIO(content), sheet_name=name, engine="calamine", infer_schema_length=0
    )


def test_excel_has_the_same_figures_and_keeps_hostile_notes_as_text(scenario):
    scenario.close()
    view = scenario.view()
    content = far.session_excel(view)

    # no cell is a formula or a link; the hostile note is written neutralised, as text
    texts, _ = sheet_cells(content)
    assert "'" + HYPERLINK in texts and HYPERLINK not in texts
    assert MARKUP in texts

    overview = dict(_sheet(content, "核查概况").iter_rows())
    assert overview["名称"] == "2026年1月档案核查"
    assert overview["核查月份"] == "2026-01" and overview["核查日期"] == "2026-02-03"
    assert overview["核查组"] == "张三、李四"
    assert overview["状态"] == "已结束"
    assert overview["结束日期"] == "2026-02-20" and overview["整改期限"] == "2026-03-20"
    assert overview["数据快照"] == view.info.snapshot_id
    assert overview["随机种子"] == "7"
    methods = _sheet(content, "核查概况").filter(pl.col("项目") == "抽样方法")["内容"].to_list()
    assert methods == fa.params_text(view.info.params)

    streets = _sheet(content, "各街镇结果")
    assert streets.columns == [
        "街镇",
        "抽查案件",
        "已核查",
        "合格案件",
        "不合格案件",
        "案件合格率",
        "符合项",
        "不符合项",
        "不适用项",
        "核查项符合率",
    ]
    got = {
        r[0]: [str(int(float(x))) if re.fullmatch(r"[\d.]+", x) else x for x in r[1:]]
        for r in streets.iter_rows()
    }
    assert got == CLOSED_STREETS

    items = _sheet(content, "各核查项结果")
    counted = {r[0]: tuple(int(float(x)) for x in r[1:4]) for r in items.iter_rows()}
    assert counted == {**_item_counts(closed=True), "合计": (35, 3, 2)}

    failures = _sheet(content, "不符合事项")
    assert [
        (r["救助编号"], r["核查项"], r["问题说明"]) for r in failures.iter_rows(named=True)
    ] == [(c, label, "'" + n if n.startswith("=") else n) for c, label, n in FAILURES]

    sample = _sheet(content, "抽查案件")
    assert sorted(sample["救助编号"].to_list()) == sorted(ANSWERS)
    verdicts = dict(zip(sample["救助编号"], sample["结论"], strict=True))
    assert verdicts == {
        "C001": "合格",
        "C002": "不合格（1 项不符合）",
        "C003": "合格",
        "C004": "不合格（2 项不符合）",
        "C005": "合格",
    }

    answers = _sheet(content, "全部结论")
    assert answers.columns == [
        "序号",
        "街镇",
        "救助编号",
        "核查项",
        "结论",
        "说明",
        "核查人",
        "时间",
    ]
    assert answers.height == 5 * len(ITEMS)
    row = answers.filter((pl.col("救助编号") == "C004") & (pl.col("核查项") == "入户调查记录"))
    assert row.select("街镇", "结论", "说明", "核查人").row(0) == (
        XINJING,
        "不符合",
        "'" + HYPERLINK,
        "张三",
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", row["时间"][0])
    # C005: the three items 张三 answered 符合 are kept as they were; 李四 answered the rest
    assert answers.filter(pl.col("救助编号") == "C005")["核查人"].to_list() == (
        ["张三"] * 3 + ["李四"] * (len(ITEMS) - 3)
    )
    assert sorted(answers.filter(pl.col("结论") == "不适用")["救助编号"]) == ["C002", "C003"]
    # in sample order, each case's items in checklist order
    positions = [int(float(p)) for p in answers["序号"].to_list()]
    assert positions == sorted(positions)
    first = answers.filter(pl.col("救助编号") == "C001")["核查项"].to_list()
    assert first == list(_item_counts(closed=True))


def test_excel_of_an_open_session_says_draft(scenario):
    content = far.session_excel(scenario.view())
    overview = dict(_sheet(content, "核查概况").iter_rows())
    assert overview["状态"] == "进行中（草稿，核查尚未结束）"
    assert "结束日期" not in overview
    got = {
        r[0]: [str(int(float(x))) if re.fullmatch(r"[\d.]+", x) else x for x in r[1:]]
        for r in _sheet(content, "各街镇结果").iter_rows()
    }
    assert got == OPEN_STREETS
