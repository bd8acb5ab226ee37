"""关系图谱 page on a generated district: staff and clusters named, the search taking what the
page shows, a district-wide ranking, money with separators, choices kept across pages, and a
run of another drop said so. The page stays a district role's."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics import amounts, formats, linkgraph, pipeline
from analytics.access import Viewer
from analytics.generate import generate
from analytics.masking import mask_account
from analytics.reader import read_drop
from analytics.reference import PROJECT_ROOT
from analytics.results import load_findings
from analytics.views import graph as views
from dashboard import auth, ui

PAGE = str(PROJECT_ROOT / "dashboard" / "screens" / "graph.py")
MONEY_RE = re.compile(r"^-?\d{1,3}(,\d{3})*\.\d{2}$")
CLUSTER_KEY_RE = re.compile(r"K[0-9A-F]{10}")


@dataclass(frozen=True)
class Demo:
    drop: Path
    out: Path
    other_out: Path  # a run of another district's drop
    findings: pl.DataFrame
    graph: linkgraph.LinkGraph
    staff: pl.DataFrame
    cases: pl.DataFrame
    identifiers: frozenset


def _run(drop: Path, out: Path) -> None:
    pipeline.write_outputs(pipeline.run(drop), out)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Demo:
    base = tmp_path_factory.mktemp("graph-demo")
    drop, other = base / "drop", base / "other-drop"
    generate(drop, households=300, seed=7)
    generate(other, households=300, seed=8)
    _run(drop, base / "out")
    _run(other, base / "other-out")
    read = read_drop(drop)
    graph = linkgraph.build_link_graph(pipeline.make_drop(read))
    raw = set()
    for table, columns in (
        ("persons", ("id_number", "phone")),
        ("accounts", ("account_no",)),
        ("staff", ("id_number", "salary_account", "phone")),
    ):
        for column in columns:
            raw |= set(read.tables[table][column].drop_nulls().to_list())
    return Demo(
        drop,
        base / "out",
        base / "other-out",
        load_findings(base / "out"),
        graph,
        read.tables["staff"],
        read.tables["cases"],
        frozenset(raw),
    )


def run_page(monkeypatch, drop: Path, out: Path, finding: str | None = None) -> AppTest:
    monkeypatch.setenv("AIDWATCH_DROP", str(drop))
    monkeypatch.setenv("AIDWATCH_OUT", str(out))
    at = AppTest.from_file(PAGE, default_timeout=60)
    if finding:
        at.query_params["finding"] = finding
    at.run()
    assert not at.exception, at.exception
    return at


def _warnings(at) -> list[str]:
    return [w.value for w in at.warning]


def _ranking(at):
    return next(df.value for df in at.dataframe if "排名" in df.value.columns)


def _figure(at) -> dict:
    (chart,) = at.get("plotly_chart")
    return json.loads(chart.proto.spec)


def test_staff_picker_lists_number_name_and_unit(monkeypatch, demo):
    at = run_page(monkeypatch, demo.drop, demo.out)
    at.radio(key="graph_start").set_value("从工作人员").run()
    box = at.selectbox(key="graph_staff")
    assert box.proto.placeholder == "选择或输入工号、姓名"
    first = demo.staff.sort("staff_id").row(0, named=True)
    assert box.options[0] == f"{first['staff_id']} · {first['name']} · {first['street']}"
    assert len(box.options) >= demo.staff.height
    box.set_value(first["staff_id"]).run()
    assert not at.exception
    assert _figure(at)["layout"]["title"]["text"].startswith(f"工作人员 {first['staff_id']}")


def test_clusters_are_listed_by_readable_labels_and_ranked_by_findings(monkeypatch, demo):
    at = run_page(monkeypatch, demo.drop, demo.out)
    ranking = _ranking(at)
    assert list(ranking.columns) == [
        "排名",
        "街镇",
        "户数",
        "线索数",
        "涉及金额（元）",
        "检查项",
        "关联节点数",
    ]
    order = list(zip(ranking["线索数"], ranking["涉及金额（元）"], strict=True))
    assert order == sorted(order, reverse=True)  # findings, then money: not by street
    assert ranking["排名"].tolist() == list(range(1, len(ranking) + 1))
    streets = [s.split("、")[0] for s in ranking["街镇"]]
    assert streets != sorted(streets, key=list(views.STREET_ORDER).index)  # the old order
    expected = views.rank_clusters(demo.graph, demo.findings, cases=demo.cases)
    assert ranking["涉及金额（元）"].tolist() == [v / 100 for v in expected["amount_fen"]]
    assert ranking["户数"].tolist() == expected["households"].to_list()

    at.radio(key="graph_start").set_value("从线索群").run()
    box = at.selectbox(key="graph_cluster")
    assert box.options == expected["label"].to_list()
    assert all(
        re.fullmatch(r"第\d+名 · \S+ · [\d,]+户 · [\d,]+条线索 · 涉及金额 [\d,]+\.\d\d元", o)
        for o in box.options
    )
    assert not [o for o in box.options if CLUSTER_KEY_RE.search(o)]
    box.set_value(expected["cluster"][1]).run()
    captions = [c.value for c in at.caption]
    assert f"所属线索群：{views.export.md_escape(expected['label'][1])}" in captions
    assert not [c for c in captions if CLUSTER_KEY_RE.search(c)]
    export = at.selectbox(key="graph_export")
    assert export.options == expected["label"].to_list()


def test_one_street_ranks_only_its_findings(monkeypatch, demo):
    at = run_page(monkeypatch, demo.drop, demo.out)
    street = demo.findings.filter(pl.col("family") == "integrity")["street"].mode()[0]
    at.selectbox(key="graph_street").set_value(street).run()
    ranking = _ranking(at)
    assert set(ranking["街镇"]) == {street}
    own = demo.findings.filter((pl.col("family") == "integrity") & (pl.col("street") == street))
    assert ranking["线索数"].sum() == own.height


def test_money_is_money_at_risk_with_separators(monkeypatch, demo):
    at = run_page(monkeypatch, demo.drop, demo.out)
    metrics = {m.label: m for m in at.metric}
    assert list(metrics) == ["节点（个）", "关系（条）", "关联线索（条）", "涉及金额（元）"]
    money = metrics["涉及金额（元）"]
    assert MONEY_RE.match(money.value)
    assert money.help == amounts.HELP
    finding = at.selectbox(key="graph_finding").value
    view = views.finding_view(demo.graph, demo.findings, finding)
    assert money.value == formats.money_fen(amounts.money_at_risk_fen(view.findings))
    assert metrics["节点（个）"].value == formats.count(view.nodes.height)
    # hovers on cases: money with separators
    hovers = [
        h for t in _figure(at)["data"] if t.get("name") == "案件" for h in t.get("hovertext", [])
    ]
    assert hovers and all(re.search(r"实发金额：[\d,]+\.\d\d元$", h) for h in hovers)


def _account_of_a_finding(demo) -> str:
    accounts = (
        demo.findings.filter(pl.col("family") == "integrity")["account_no"]
        .drop_nulls()
        .unique()
        .sort()
    )
    return next(a for a in accounts if len(a) >= 16)


@pytest.mark.parametrize("form", ["spaced", "fullwidth", "dashed"])
def test_account_search_takes_the_spaced_form_the_page_shows(monkeypatch, demo, form):
    account = _account_of_a_finding(demo)
    typed = {
        "spaced": " ".join(account[i : i + 4] for i in range(0, len(account), 4)),
        "fullwidth": account.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
        "dashed": f" {account[:4]}-{account[4:]} ",
    }[form]
    at = run_page(monkeypatch, demo.drop, demo.out)
    at.radio(key="graph_start").set_value("从银行账户").run()
    at.text_input(key="graph_account").input(typed).run()
    assert not at.exception
    assert not [w for w in _warnings(at) if "没有找到" in w]
    title = _figure(at)["layout"]["title"]["text"]
    assert title == f"银行账户 {mask_account(account)} 的关联关系"


def test_account_search_takes_the_masked_form(monkeypatch, demo):
    account = _account_of_a_finding(demo)
    at = run_page(monkeypatch, demo.drop, demo.out)
    at.radio(key="graph_start").set_value("从银行账户").run()
    at.text_input(key="graph_account").input(mask_account(account)).run()
    assert not at.exception
    try:
        views.resolve_ident(demo.graph, "account", mask_account(account))
    except views.AmbiguousLookup as many:
        assert f"有 {many.matches} 个银行账号与输入的脱敏号码相符" in _warnings(at)[0]
    else:
        assert _figure(at)["layout"]["title"]["text"].startswith(
            f"银行账户 {mask_account(account)}"
        )


KEPT = (
    "graph_start",
    "graph_finding",
    "graph_cluster",
    "graph_staff",
    "graph_person",
    "graph_account",
    "graph_street",
    "graph_export",
)


def _away_and_back(at: AppTest) -> AppTest:
    """The page opened again after another page ran in the same session: Streamlit has
    forgotten the widgets this page drew, and kept what the page stored itself."""
    back = AppTest.from_file(PAGE, default_timeout=60)
    back.session_state[auth.VIEWER_KEY] = at.session_state[auth.VIEWER_KEY]
    for key in ("graph_wanted", "graph_logged", *(ui.KEEP_PREFIX + k for k in KEPT)):
        if key in at.session_state:
            back.session_state[key] = at.session_state[key]
    return back.run()


def test_choices_are_kept_when_the_user_comes_back(monkeypatch, demo):
    at = run_page(monkeypatch, demo.drop, demo.out)
    labels = views.rank_clusters(demo.graph, demo.findings, cases=demo.cases)
    at.radio(key="graph_start").set_value("从线索群").run()
    at.selectbox(key="graph_cluster").set_value(labels["cluster"][2]).run()
    at.selectbox(key="graph_street").set_value("新泾镇").run()
    at = _away_and_back(at)
    assert not at.exception
    assert at.radio(key="graph_start").value == "从线索群"
    assert at.selectbox(key="graph_cluster").value == labels["cluster"][2]
    assert at.selectbox(key="graph_street").value == "新泾镇"

    account = _account_of_a_finding(demo)
    at.radio(key="graph_start").set_value("从银行账户").run()
    at.text_input(key="graph_account").input(account).run()
    at = _away_and_back(at)
    assert not at.exception
    assert at.text_input(key="graph_account").value == account
    assert _figure(at)["layout"]["title"]["text"].startswith("银行账户 ")


def test_a_kept_choice_no_longer_offered_is_dropped(monkeypatch, demo):
    at = run_page(monkeypatch, demo.drop, demo.out)
    at.session_state["graph_cluster"] = "K0000000000"
    at.session_state["graph_start"] = "从线索群"
    at.run()
    assert not at.exception
    assert (
        at.selectbox(key="graph_cluster").value
        == views.rank_clusters(demo.graph, demo.findings)["cluster"][0]
    )


def test_a_run_of_another_drop_is_warned_about(monkeypatch, demo):
    at = run_page(monkeypatch, demo.drop, demo.out)
    assert not [w for w in _warnings(at) if "不是同一批数据" in w]

    at = run_page(monkeypatch, demo.drop, demo.other_out)
    (warning,) = [w for w in _warnings(at) if "不是同一批数据" in w]
    assert "文件夹 drop，发放月份 " in warning
    assert "文件夹 other\\-out" in warning or "文件夹 other-out" in warning
    assert not [raw for raw in demo.identifiers if raw in warning]


def test_a_link_to_an_unknown_finding_says_so(monkeypatch, demo):
    at = run_page(monkeypatch, demo.drop, demo.out, finding="Fnot-in-this-run")
    assert "链接所指的线索不在当前检查结果中，请从下方选择线索。" in _warnings(at)
    assert at.selectbox(key="graph_finding").value == views.finding_choices(demo.findings)[0][0]


def test_every_selectbox_has_a_chinese_placeholder(monkeypatch, demo):
    at = run_page(monkeypatch, demo.drop, demo.out)
    seen = {}
    for start in ("从线索", "从工作人员", "从线索群"):
        at.radio(key="graph_start").set_value(start).run()
        seen |= {box.key: box.proto.placeholder for box in at.selectbox}
    assert set(seen) >= {
        "graph_finding",
        "graph_staff",
        "graph_cluster",
        "graph_street",
        "graph_export",
    }
    assert all(re.search(r"[\u4e00-\u9fff]", p) for p in seen.values()), seen


@pytest.mark.parametrize(
    "viewer",
    [
        Viewer(name="街镇（测试）", role="street", street="华阳路街道", account="s"),
        Viewer(name="成员单位（测试）", role="member_unit", unit="区住房保障局", account="m"),
    ],
)
def test_the_graph_stays_a_district_roles_page(monkeypatch, demo, viewer):
    monkeypatch.setenv("AIDWATCH_DROP", str(demo.drop))
    monkeypatch.setenv("AIDWATCH_OUT", str(demo.out))
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state[auth.VIEWER_KEY] = viewer
    at.run()
    assert [e.value for e in at.error] == ["当前账号无权查看本页。"]
    assert not at.get("plotly_chart") and not at.dataframe
