"""线索清单 as a new supervisor meets it: the finding picker shows the finding whose detail is
shown, a link that opens nothing says so, 涉及金额 is the one definition, evidence is rows in
Chinese with the masked JSON beside it, and the filters and the finding opened are still there
after a visit to another page (AppTest)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics import amounts, formats, pipeline
from analytics.export import md_escape
from analytics.generate import generate
from analytics.results import load_findings
from analytics.views import findings as view
from tests.dashboard.test_findings_page import (
    PAGE,
    STREET,
    STREET_USER,
    listed,
    open_page,
)


@pytest.fixture(scope="module")
def district(tmp_path_factory) -> tuple[Path, Path]:
    """(drop, run outputs) of the demo district: 600 households, seed 7."""
    base = tmp_path_factory.mktemp("findings-fixes")
    drop, out = base / "drop", base / "out"
    generate(drop, households=600, seed=7)
    pipeline.write_outputs(pipeline.run(drop), out)
    return drop, out


def visible(out) -> pl.DataFrame:
    return view.visible_findings(load_findings(out))


def drawn_label(at: AppTest) -> str:
    """The label the browser shows in the finding box after this run: the value the page sent
    with the box (the browser keeps its own otherwise)."""
    box = at.selectbox(key="findings_pick")
    assert box.proto.set_value, "the page left the browser to show what it had"
    return box.proto.raw_value


def label_of(finding: dict) -> str:
    return f"{finding['title']} · {finding['summary']}"


def grids(at: AppTest) -> list[pl.DataFrame]:
    return [pl.from_pandas(df.value) for df in at.dataframe]


def metrics(at: AppTest) -> dict:
    return {m.label: m for m in at.metric}


# --- the finding picker ---------------------------------------------------------------------------


def test_after_a_filter_change_the_box_shows_the_finding_whose_detail_is_shown(
    monkeypatch, district
):
    drop, out = district
    findings = visible(out)
    picked = findings.filter(pl.col("family") == "integrity").row(1, named=True)
    at = open_page(monkeypatch, drop, out)
    at.selectbox(key="findings_pick").set_value(picked["finding_id"]).run()
    assert at.info[0].value == md_escape(picked["summary"])
    assert drawn_label(at) == label_of(picked)

    # The finding opened is filtered out: the first of the new list is opened, and named.
    at.multiselect(key="findings_families").set_value(["dynamic"]).run()
    first = findings.filter(pl.col("family") == "dynamic").row(0, named=True)
    assert at.selectbox(key="findings_pick").value == first["finding_id"]
    assert at.info[0].value == md_escape(first["summary"])
    assert drawn_label(at) == label_of(first)

    # A finding still in the list after the next change stays opened, and named.
    second = findings.filter(pl.col("family") == "dynamic").row(1, named=True)
    at.selectbox(key="findings_pick").set_value(second["finding_id"]).run()
    at.multiselect(key="findings_severities").set_value([second["severity"]]).run()
    assert at.selectbox(key="findings_pick").value == second["finding_id"]
    assert at.info[0].value == md_escape(second["summary"])
    assert drawn_label(at) == label_of(second)


def test_a_link_to_no_finding_says_so(monkeypatch, district):
    drop, out = district
    findings = visible(out)
    at = open_page(monkeypatch, drop, out, finding="Fdoesnotexist00")
    assert [w.value for w in at.warning] == [view.LINK_NOT_FOUND]
    first = findings.row(0, named=True)
    assert at.selectbox(key="findings_pick").value == first["finding_id"]
    assert at.info[0].value == md_escape(first["summary"])

    # A good link: no warning.
    at = open_page(monkeypatch, drop, out, finding=findings["finding_id"][3])
    assert not at.warning
    assert at.selectbox(key="findings_pick").value == findings["finding_id"][3]


def test_a_link_to_another_streets_finding_reads_as_one_to_no_finding(monkeypatch, district):
    drop, out = district
    findings = visible(out)
    foreign = findings.filter(pl.col("street") != STREET).row(0, named=True)
    at = open_page(monkeypatch, drop, out, STREET_USER, finding=foreign["finding_id"])
    # the same words as for a finding that does not exist: the link learns nothing
    assert [w.value for w in at.warning] == [view.LINK_NOT_FOUND]
    own = findings.filter(pl.col("street") == STREET).row(0, named=True)
    assert at.selectbox(key="findings_pick").value == own["finding_id"]
    assert foreign["finding_id"] not in " ".join(w.value for w in at.warning)


def test_a_link_to_a_finding_the_filters_hide_still_opens_it(monkeypatch, district):
    drop, out = district
    findings = visible(out)
    at = open_page(monkeypatch, drop, out)
    at.multiselect(key="findings_families").set_value(["dynamic"]).run()
    hidden = findings.filter(pl.col("family") == "integrity").row(0, named=True)
    at.query_params["finding"] = hidden["finding_id"]
    at.run()
    assert not at.exception and not at.warning
    assert set(listed(at)["类别"]) == {"动态管理"}
    assert at.selectbox(key="findings_pick").value == hidden["finding_id"]
    assert at.info[0].value == md_escape(hidden["summary"])
    assert view.LINK_FILTERED in [c.value for c in at.caption]
    assert drawn_label(at) == label_of(hidden)


# --- 涉及金额 and number formats ------------------------------------------------------------


def test_money_at_risk_is_the_one_definition(monkeypatch, district):
    drop, out = district
    findings = visible(out)
    at = open_page(monkeypatch, drop, out)
    at_risk = amounts.money_at_risk_fen(findings)
    # control_total_mismatch re-counts money other findings count: a plain sum is more
    assert int(findings["amount_fen"].sum()) > at_risk > 0
    kpi = metrics(at)["涉及金额（元）"]
    assert kpi.value == formats.money_fen(at_risk)
    assert kpi.proto.help == amounts.HELP
    assert metrics(at)["线索"].value == f"{findings.height:,}"

    at.multiselect(key="findings_families").set_value(["funds"]).run()
    funds = findings.filter(pl.col("family") == "funds")
    assert metrics(at)["涉及金额（元）"].value == formats.money_fen(
        amounts.money_at_risk_fen(funds)
    )


def test_grids_write_money_one_way_and_empty_cells_as_a_dash(monkeypatch, district):
    drop, out = district
    at = open_page(monkeypatch, drop, out)
    (grid,) = [df for df in at.dataframe if "编号" in df.value.columns]
    config = json.loads(grid.proto.columns)
    assert config["涉及金额（元）"]["type_config"]["format"] == "%,.2f"
    assert grid.proto.placeholder == formats.DASH
    assert "None" not in grid.value.astype(str).to_numpy().tolist()


# --- evidence ------------------------------------------------------------------------------------


def test_evidence_is_the_rows_a_person_checks_with_the_json_to_download(
    monkeypatch, district, downloads
):
    drop, out = district
    finding = load_findings(out).filter(pl.col("check_id") == "amount_mismatch").row(0, named=True)
    body = json.loads(finding["evidence"])
    at = open_page(monkeypatch, drop, out, finding=finding["finding_id"])
    titles = [m.value for m in at.markdown]
    assert {"**核查要点**", "**应发名册**", "**资金实发明细**"} <= set(titles)

    (facts,) = [g for g in grids(at) if g.columns == ["项目", "内容"]]
    assert dict(facts.rows()) == {
        "应发合计（元）": body["entitled_total"],
        "实发合计（元）": body["paid_total"],
    }
    (entitled,) = [g for g in grids(at) if "应发金额（元）" in g.columns]
    assert entitled.columns == [
        "发放月份",
        "救助编号",
        "身份证号",
        "救助项目",
        "类型",
        "应发金额（元）",
        "银行账号",
    ]
    assert [Decimal(str(v)) for v in entitled["应发金额（元）"]] == [
        Decimal(r["amount"].replace(",", "")) for r in body["entitlements"]
    ]
    raw_id = body["entitlements"][0]["id_number"]
    assert entitled["身份证号"][0] == raw_id[:6] + "********" + raw_id[-4:]
    (paid,) = [g for g in grids(at) if "批次号" in g.columns]
    assert paid["流水号"].to_list() == [r["txn_id"] for r in body["ledger"]]

    # The JSON, its own keys kept, masked like the grids: in an expander and as a file.
    assert "原始证据（JSON）" in [e.label for e in at.expander]
    shown = json.loads(at.json[0].value)
    assert shown["entitlements"][0]["id_number"] == entitled["身份证号"][0]
    name = f"evidence-{finding['finding_id']}.json"
    assert name in downloads
    saved = json.loads(downloads[name]().decode("utf-8"))
    assert saved == shown and raw_id not in json.dumps(saved)
    assert saved["finding_id"] == finding["finding_id"]


def test_an_evidence_path_is_its_steps_by_masked_labels(monkeypatch, district):
    drop, out = district
    finding = (
        load_findings(out).filter(pl.col("check_id") == "staff_linked_account").row(0, named=True)
    )
    body = json.loads(finding["evidence"])
    at = open_page(monkeypatch, drop, out, finding=finding["finding_id"])
    (steps,) = [g for g in grids(at) if g.columns == ["起点", "关系", "终点"]]
    labels = {n["id"]: n["label"] for n in body["nodes"]}
    assert steps.rows() == [(labels[e["from"]], e["label"], labels[e["to"]]) for e in body["edges"]]
    text = " ".join(str(v) for g in grids(at) for c in g.columns for v in g[c])
    assert not any(n["id"] in text for n in body["nodes"])  # the graph's raw keys
    assert not any(n["id"] in at.json[0].value for n in body["nodes"])


# --- filters and the finding opened, kept across pages -------------------------------------------


def _widgets(at: AppTest) -> set[str]:
    def walk(node):
        yield node
        for child in (getattr(node, "children", None) or {}).values():
            yield from walk(child)

    return {n.key for n in walk(at._tree) if getattr(n, "key", None)}


def come_back(at: AppTest, **params: str) -> AppTest:
    """What Streamlit does when the user opens another page and comes back (with the link's
    query parameters, if any): the page's widget values are dropped, everything else the
    session holds is still there."""
    widgets = _widgets(at)
    held = {k: v for k, v in at._session_state._state.filtered_state.items() if k not in widgets}
    again = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in held.items():
        again.session_state[key] = value
    for name, value in params.items():
        again.query_params[name] = value
    again.run()
    assert not again.exception, again.exception
    return again


def test_filters_and_the_finding_opened_are_kept_across_pages(monkeypatch, district):
    drop, out = district
    findings = visible(out)
    at = open_page(monkeypatch, drop, out)
    at.multiselect(key="findings_families").set_value(["funds", "dynamic"]).run()
    at.multiselect(key="findings_severities").set_value(["高"]).run()
    at.text_input(key="findings_case").set_value("JZ2023").run()
    at.selectbox(key="findings_due").set_value("all").run()
    expected = view.filter_findings(
        findings, families=["funds", "dynamic"], severities=["高"], case="JZ2023"
    )
    assert 2 < expected.height < findings.height
    assert listed(at)["编号"].to_list() == expected["finding_id"].to_list()
    third = expected.row(2, named=True)
    at.selectbox(key="findings_pick").set_value(third["finding_id"]).run()

    back = come_back(at)
    assert back.multiselect(key="findings_families").value == ["funds", "dynamic"]
    assert back.multiselect(key="findings_severities").value == ["高"]
    assert back.text_input(key="findings_case").value == "JZ2023"
    assert listed(back)["编号"].to_list() == expected["finding_id"].to_list()
    assert back.selectbox(key="findings_pick").value == third["finding_id"]
    assert back.info[0].value == md_escape(third["summary"])
    assert drawn_label(back) == label_of(third)
    # and once more: what was put back is kept again
    again = come_back(back)
    assert again.selectbox(key="findings_pick").value == third["finding_id"]
    assert listed(again).height == expected.height


def test_a_link_followed_again_after_another_page_opens_its_finding(monkeypatch, district):
    drop, out = district
    findings = visible(out)
    linked, other = findings.row(5, named=True), findings.row(1, named=True)
    at = open_page(monkeypatch, drop, out, finding=linked["finding_id"])
    at.selectbox(key="findings_pick").set_value(other["finding_id"]).run()
    assert at.info[0].value == md_escape(other["summary"])
    # back through the sidebar (no link): the finding last opened
    assert come_back(at).selectbox(key="findings_pick").value == other["finding_id"]
    # back through the same link (关系图谱's 在线索清单中查看): the link's finding
    back = come_back(at, finding=linked["finding_id"])
    assert back.selectbox(key="findings_pick").value == linked["finding_id"]
    assert back.info[0].value == md_escape(linked["summary"])


def test_a_street_link_wins_over_the_kept_streets(monkeypatch, district):
    drop, out = district
    findings = visible(out)
    streets = findings.drop_nulls("street")["street"].unique(maintain_order=True).to_list()
    at = open_page(monkeypatch, drop, out, street=streets[0])
    at.multiselect(key="findings_streets").set_value([streets[1]]).run()
    assert come_back(at).multiselect(key="findings_streets").value == [streets[1]]
    back = come_back(at, street=streets[0])
    assert back.multiselect(key="findings_streets").value == [streets[0]]
