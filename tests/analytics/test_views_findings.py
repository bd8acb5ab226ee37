"""线索清单's service layer: every family's findings, filtered, masked, their evidence shown
without a raw identifier."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest

from analytics import evidence, pipeline
from analytics.generate import generate
from analytics.results import load_findings
from analytics.views import findings as view
from checks.registry import FAMILIES


@pytest.fixture(scope="module")
def district(tmp_path_factory) -> tuple[Path, pl.DataFrame]:
    """(drop folder, findings as the pages load them) of a generated 600-household district."""
    base = tmp_path_factory.mktemp("district")
    drop, out = base / "drop", base / "out"
    generate(drop, households=600, seed=7)
    pipeline.write_outputs(pipeline.run(drop), out)
    return drop, load_findings(out)


def raw_identifiers(drop: Path) -> set[str]:
    """Every ID number, account number and phone of the drop, as the files hold them."""
    values: set[str] = set()
    for name, columns in (
        ("persons.csv", ("id_number", "phone")),
        ("staff.csv", ("id_number",)),
        ("accounts.csv", ("account_no", "holder_id_number", "custodian_id_number")),
    ):
        frame = pl.read_csv(drop / name, infer_schema_length=0)
        for column in columns:
            if column in frame.columns:
                values |= set(frame.get_column(column).drop_nulls().to_list())
    return {v for v in values if len(v) >= 11}


def test_every_family_is_listed_most_severe_first(district):
    _, findings = district
    visible = view.visible_findings(findings)
    assert visible.height == findings.height
    assert set(visible["family_title"]) == set(FAMILIES.values())
    ranks = visible["severity"].replace_strict({"高": 0, "中": 1, "低": 2}).to_list()
    assert ranks == sorted(ranks)


def test_a_viewer_sees_only_their_streets(district):
    _, findings = district

    class StreetOffice:
        streets = ("华阳路街道",)

    seen = view.visible_findings(findings, StreetOffice())
    assert seen.height > 0 and set(seen["street"]) == {"华阳路街道"}
    assert seen.height == findings.filter(pl.col("street") == "华阳路街道").height


def test_options_and_filters(district):
    _, findings = district
    visible = view.visible_findings(findings)
    options = view.options(visible)
    assert options.families == list(FAMILIES)
    assert set(options.checks) == set(findings["check_id"])
    assert all(options.check_family[c] in FAMILIES for c in options.checks)
    assert options.months == sorted(options.months, reverse=True)

    integrity = view.filter_findings(visible, families=["integrity"])
    assert integrity.height == findings.filter(pl.col("family") == "integrity").height > 0
    case = visible.drop_nulls("case_id")["case_id"][0]
    part = case[-5:]
    by_case = view.filter_findings(visible, case=f"  {part} ")
    assert by_case.height > 0 and all(part in c for c in by_case["case_id"])
    both = view.filter_findings(visible, families=["funds"], severities=["高"])
    assert set(both["family"]) == {"funds"} and set(both["severity"]) == {"高"}
    assert view.filter_findings(visible, case="no such case").height == 0


def test_table_and_export_hold_no_raw_identifier(district):
    drop, findings = district
    visible = view.visible_findings(findings)
    table = view.findings_table(visible)
    assert table.columns == list(view.HEADERS.values())
    assert table["编号"].to_list() == visible["finding_id"].to_list()
    shown = table.write_csv()
    raw = raw_identifiers(drop)
    assert not [v for v in raw if v in shown]

    exported = pl.read_excel(
        io.BytesIO(view.findings_excel(visible)), sheet_name=view.SHEET, infer_schema_length=0
    )
    assert exported.height == table.height
    assert exported["编号"].to_list() == table["编号"].to_list()


def test_table_and_export_carry_the_workflow_state_when_the_findings_do(district):
    """With their state (views.triage.with_states), the rows show it after the number: state,
    assignee, due date, overdue and whether a later run saw them again; the export holds the
    same columns."""
    from datetime import date

    from analytics.store.findings import FINDING_STATE_SCHEMA
    from analytics.views import triage

    _, findings = district
    visible = view.visible_findings(findings)
    first, second, third = visible["finding_id"].head(3).to_list()
    base = {
        "present": True,
        "seen_while_closed": False,
        "expires_on": None,
        "cycle": 1,
        "first_run": 1,
        "last_run": 1,
        "gone_run": None,
        "first_seen_at": None,
        "updated_at": None,
    }
    states = pl.DataFrame(
        [
            {
                **base,
                "finding_id": first,
                "state": "verifying",
                "version": 2,
                "assignee": "李四",
                "assignee_street": "华阳路街道",
                "due_date": date(2026, 11, 1),
            },
            {
                **base,
                "finding_id": second,
                "state": "unfounded",
                "version": 3,
                "assignee": None,
                "assignee_street": None,
                "due_date": None,
                "seen_while_closed": True,
            },
        ],
        schema=FINDING_STATE_SCHEMA,
    )
    with_states = triage.with_states(visible, states, today=date(2026, 11, 10))
    table = view.findings_table(with_states)
    assert table.columns == ["编号", *view.STATE_HEADERS.values(), *list(view.HEADERS.values())[1:]]
    rows = {r["编号"]: r for r in table.head(3).iter_rows(named=True)}
    assert (rows[first]["状态"], rows[first]["承办"], rows[first]["期限"], rows[first]["逾期"]) == (
        "核实中",
        "华阳路街道 · 李四",
        date(2026, 11, 1),
        "是",
    )
    assert (rows[second]["状态"], rows[second]["发现情况"], rows[second]["逾期"]) == (
        "不属实",
        "关闭后再次发现",
        None,
    )
    assert rows[third]["状态"] == "未登记"

    exported = pl.read_excel(
        io.BytesIO(view.findings_excel(with_states)), sheet_name=view.SHEET, infer_schema_length=0
    )
    assert exported.columns == table.columns and exported.height == table.height
    assert exported["状态"].head(3).to_list() == ["核实中", "不属实", "未登记"]
    assert exported["期限"][0].startswith("2026-11-01")


def test_scope_names_the_workflow_filters_too():
    assert view.scope_text() == "全部线索"
    assert (
        view.scope_text(
            streets=["华阳路街道"], states=["核实中", "未登记"], assignees=["李四"], due="7日内到期"
        )
        == "街镇：华阳路街道；状态：核实中、未登记；承办：李四；期限：7日内到期"
    )


def test_evidence_of_every_finding_shows_no_raw_identifier(district):
    drop, findings = district
    raw = raw_identifiers(drop)
    assert raw
    leaks = []
    for finding_id, body in findings.select("finding_id", "evidence").iter_rows():
        cells = [
            str(v)
            for part in evidence.sections(body)
            for c in part.table.columns
            for v in part.table[c]
        ]
        shown = " ".join(cells) + json.dumps(evidence.masked(body), ensure_ascii=False)
        leaks += [(finding_id, v) for v in raw if v in shown]
    assert leaks == []


def test_evidence_path_is_shown_by_labels(district):
    _, findings = district
    row = findings.filter(pl.col("check_id") == "staff_linked_account").row(0, named=True)
    body = json.loads(row["evidence"])
    parts = {part.title: part.table for part in evidence.sections(row["evidence"])}
    assert dict(parts["核查要点"].rows())["证据路径"] == body["path"]
    assert parts["涉及对象"]["名称"].to_list() == [n["label"] for n in body["nodes"]]
    assert parts["涉及对象"].columns == ["类型", "名称"]
    labels = {n["id"]: n["label"] for n in body["nodes"]}
    assert parts["关系链"].select("起点", "终点").rows() == [
        (labels[e["from"]], labels[e["to"]]) for e in body["edges"]
    ]
    assert view.opens_in_graph(row)


def test_rule_is_the_published_sentence():
    rule = view.rule("deceased_still_active")
    assert rule.title == "身故仍在册" and rule.family_title == "动态管理" and rule.description
    assert view.rule("no_such_check") is None
