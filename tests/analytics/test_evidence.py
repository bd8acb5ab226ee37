"""A finding's evidence as the rows and values a person checks (analytics.evidence): for the
evidence of every check that fires on the demo district (every check the generator plants among
them), Chinese titles and headers, flat cells, money in yuan, identifiers masked; for every
registered check, its key columns in Chinese; unknown keys shown as they are, never an error."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from analytics import evidence as ev
from analytics import pipeline, schema
from analytics.generate import generate
from analytics.results import load_findings
from checks.registry import REGISTRY, CheckSpec, load_all, ordered

ASCII_WORD = re.compile(r"[A-Za-z_]")


@pytest.fixture(scope="module")
def district(tmp_path_factory) -> tuple[Path, pl.DataFrame]:
    """(drop, findings) of the demo district: 600 households, seed 7."""
    base = tmp_path_factory.mktemp("evidence")
    drop, out = base / "drop", base / "out"
    generate(drop, households=600, seed=7)
    pipeline.write_outputs(pipeline.run(drop), out)
    return drop, load_findings(out)


def raw_identifiers(drop: Path) -> set[str]:
    """Every ID number, account number and phone of the drop, as the files hold them."""
    values: set[str] = set()
    for name, columns in (
        ("persons.csv", ("id_number", "phone")),
        ("staff.csv", ("id_number", "phone", "salary_account")),
        ("accounts.csv", ("account_no", "holder_id_number", "custodian_id_number")),
        ("entitlements.csv", ("id_number", "account_no")),
        ("ledger.csv", ("payee_id", "account_no")),
    ):
        frame = pl.read_csv(drop / name, infer_schema=False)
        for column in columns:
            if column in frame.columns:
                values |= set(frame.get_column(column).drop_nulls().to_list())
    # an organisation's credit code is public
    return {v for v in values if len(v) >= 11 and not re.search(r"[A-WYZa-wyz]", v)}


def cells(section: ev.Section) -> list:
    return [v for c in section.table.columns for v in section.table[c].to_list()]


def test_every_checks_evidence_reads_in_chinese_with_flat_cells(district):
    drop, findings = district
    load_all()
    present = set(findings["check_id"])
    # Every check the generator plants (truth.csv) fires; a check it does not plant is held to
    # its keys below and to its evidence by its own tests (tests/checks/test_<family>.py).
    planted = set(pl.read_csv(drop / "truth.csv", infer_schema=False)["check_id"])
    assert planted and planted <= present <= set(REGISTRY)
    for check_id in sorted(present):
        for evidence in findings.filter(pl.col("check_id") == check_id)["evidence"]:
            parts = ev.sections(evidence)
            assert parts, check_id
            keys = set(json.loads(evidence)) - ev.HIDDEN
            for title, table in parts:
                assert not ASCII_WORD.search(title), (check_id, title)
                for header in table.columns:
                    # units aside (（元）), a header names its column in Chinese
                    assert not ASCII_WORD.search(header), (check_id, title, header)
                for dtype in table.dtypes:
                    assert not isinstance(dtype, (pl.List, pl.Struct, pl.Array, pl.Object)), (
                        check_id,
                        title,
                        dtype,
                    )
                for value in cells(ev.Section(title, table)):
                    assert not isinstance(value, (dict, list)), (check_id, title, value)
                    assert value != "None", (check_id, title)
            facts = [t for t, _ in parts if t == ev.FACTS]
            shown = {label for s in parts if s.title == ev.FACTS for label in s.table["项目"]}
            shown |= {s.title for s in parts}
            # every key the check wrote is shown, under its Chinese name
            assert all(ev.label(k) in shown for k in keys), (check_id, keys, shown)
            assert len(facts) <= 1


# A value of each finding key column (schema.FINDING_KEY_COLUMNS), identifiers whole.
KEY_VALUES = {
    "street": "华阳路街道",
    "month": "2026-03",
    "case_id": "C1",
    "txn_id": "LS2026031090000001",
    "id_number": "310105198001010013",
    "account_no": "6222020200112233445",
    "staff_id": "S001",
    "item": "低保金",
}


@pytest.mark.parametrize("spec", ordered(), ids=lambda s: s.check_id)
def test_every_checks_key_columns_read_in_chinese_with_identifiers_masked(spec: CheckSpec):
    # Built from the check's declared keys, so that it holds for a check the demo does not fire.
    assert set(spec.keys) <= set(KEY_VALUES) == set(schema.FINDING_KEY_COLUMNS)
    evidence = json.dumps({k: KEY_VALUES[k] for k in spec.keys}, ensure_ascii=False)
    (facts,) = ev.sections(evidence)
    assert facts.title == ev.FACTS
    labels = facts.table["项目"].to_list()
    assert labels == [ev.label(k) for k in spec.keys]
    assert not any(ASCII_WORD.search(label) for label in labels), labels
    shown = " ".join(cells(facts)) + ev.masked_json(evidence).decode("utf-8")
    for key in ("id_number", "account_no"):
        assert KEY_VALUES[key] not in shown, (spec.check_id, key)


def test_no_identifier_is_shown_or_exported_whole(district):
    drop, findings = district
    raw = raw_identifiers(drop)
    assert len(raw) > 1000
    leaks = []
    for finding_id, evidence in findings.select("finding_id", "evidence").iter_rows():
        text = " ".join(str(v) for s in ev.sections(evidence) for v in cells(s))
        exported = ev.masked_json(evidence).decode("utf-8")
        leaks += [(finding_id, v) for v in raw if v in text or v in exported]
    assert leaks == []


def test_ledger_rows_have_the_contracts_headers_and_money_in_yuan(district):
    _, findings = district
    row = findings.filter(pl.col("check_id") == "duplicate_payment").row(0, named=True)
    body = json.loads(row["evidence"])
    parts = {s.title: s.table for s in ev.sections(row["evidence"])}
    assert list(parts) == [ev.FACTS, "资金实发明细"]
    ledger = parts["资金实发明细"]
    columns = {c.name: c.zh for c in schema.TABLES["ledger"].columns}
    assert ledger.columns == [
        columns[k] + ("（元）" if k == "amount" else "") for k in body["ledger"][0]
    ]
    assert ledger.schema["金额（元）"] == ev.YUAN_TYPE
    assert ledger["金额（元）"].to_list() == [
        Decimal(r["amount"].replace(",", "")) for r in body["ledger"]
    ]
    assert ledger["流水号"].to_list() == [r["txn_id"] for r in body["ledger"]]
    payee = body["ledger"][0]["payee_id"]
    assert ledger["收款人证件号"][0] == payee[:6] + "********" + payee[-4:]
    assert "*" in ledger["银行账号"][0]
    assert dict(parts[ev.FACTS].rows()) == {
        "应发笔数": str(body["entitlement_rows"]),
        "实发笔数": str(body["paid_rows"]),
    }


def test_an_organisations_credit_code_is_shown_as_it_is(district):
    _, findings = district
    rows = findings.filter(pl.col("check_id") == "out_of_scope_spending")
    for evidence in rows["evidence"]:
        ledger = json.loads(evidence)["ledger"]
        (table,) = [s.table for s in ev.sections(evidence) if s.title == "资金实发明细"]
        for shown, raw in zip(table["收款人证件号"], (r["payee_id"] for r in ledger), strict=True):
            person = re.fullmatch(r"\d{17}[\dX]", raw)
            assert shown == (raw[:6] + "********" + raw[-4:] if person else raw)


def test_a_path_reads_as_its_steps_and_what_is_on_it(district):
    _, findings = district
    row = findings.filter(pl.col("check_id") == "shared_account").row(0, named=True)
    body = json.loads(row["evidence"])
    parts = {s.title: s.table for s in ev.sections(row["evidence"])}
    assert list(parts) == [ev.FACTS, "关系链", "涉及对象"]
    facts = dict(parts[ev.FACTS].rows())
    assert facts == {
        "证据路径": body["path"],
        "涉及家庭（户）": str(body["households"]),
        "涉及案件（个）": str(body["cases"]),
    }
    labels = {n["id"]: n["label"] for n in body["nodes"]}
    assert parts["关系链"].rows() == [
        (labels[e["from"]], e["label"], labels[e["to"]]) for e in body["edges"]
    ]
    assert parts["涉及对象"].rows() == [
        (ev.NODE_KINDS[n["kind"]], n["label"]) for n in body["nodes"]
    ]


def test_the_downloaded_json_keeps_its_keys_and_hides_the_graphs_raw_keys(district):
    _, findings = district
    row = findings.filter(pl.col("check_id") == "staff_linked_account").row(0, named=True)
    body = json.loads(row["evidence"])
    saved = json.loads(ev.masked_json(row["evidence"]))
    assert set(saved) == set(body)
    assert saved["path"] == body["path"] and saved["finding_id"] == row["finding_id"]
    ids = [n["id"] for n in saved["nodes"]]
    assert len(set(ids)) == len(ids)
    assert ids == [f"{n['kind']}:{n['label']}" for n in body["nodes"]]
    assert {e["from"] for e in saved["edges"]} | {e["to"] for e in saved["edges"]} <= set(ids)
    assert not any(
        n["id"] in json.dumps(saved, ensure_ascii=False)
        for n in body["nodes"]
        if n["kind"] in ("person", "account")
    )


def test_dynamic_and_process_evidence(district):
    _, findings = district
    row = findings.filter(pl.col("check_id") == "blacklisted_recipient").row(0, named=True)
    body = json.loads(row["evidence"])
    parts = {s.title: s.table for s in ev.sections(row["evidence"])}
    assert parts["失信名单记录"].columns == ["身份证号", "公布日期", "截止日期"]
    assert parts["失信名单记录"]["公布日期"].to_list() == [
        r["start_date"] for r in body["dishonesty"]
    ]
    row = findings.filter(pl.col("check_id") == "visit_overdue").row(0, named=True)
    body = json.loads(row["evidence"])
    facts = dict(ev.sections(row["evidence"])[0].table.rows())
    assert facts["逾期天数"] == f"{body['days_overdue']:,}"
    assert facts["最近一次探访"] == (body["last_visit"] or "—")
    row = findings.filter(pl.col("check_id") == "approval_overdue").row(0, named=True)
    facts = dict(ev.sections(row["evidence"])[0].table.rows())
    assert facts["办理时限（工作日）"] == str(json.loads(row["evidence"])["working_days"])
    assert "工作日历" in facts and "超期工作日" in facts


def test_a_file_audit_findings_evidence():
    evidence = json.dumps(
        {
            "finding_id": "F1",
            "session": 12,
            "session_title": "十月档案核查",
            "held_on": "2026-11-03",
            "audit_item": "收入核对材料",
            "audit_note": "缺少银行流水",
            "audited_by": "张三",
            "team": "张三、李四",
        },
        ensure_ascii=False,
    )
    (facts,) = ev.sections(evidence)
    assert dict(facts.table.rows()) == {
        "核查期次": "12",
        "核查名称": "十月档案核查",
        "核查日期": "2026-11-03",
        "核查项": "收入核对材料",
        "问题说明": "缺少银行流水",
        "核查人": "张三",
        "核查组": "张三、李四",
    }


def test_unknown_keys_and_odd_values_are_shown_not_refused():
    evidence = json.dumps(
        {
            "new_fact": "账号6222021234561929",
            "amount": 155000,  # a whole number of money is fen
            "cap": "1,500.00",
            "flag": True,
            "tags": ["甲", "乙"],
            "ledger": [
                {"txn_id": "T1", "extra": {"a": 1, "b": [1, 2]}, "amount": "12.30"},
                {"txn_id": "T2", "amount": None},
            ],
            "odd": {"x": 1},
            "empty": [],
        },
        ensure_ascii=False,
    )
    parts = {s.title: s.table for s in ev.sections(evidence)}
    facts = dict(parts[ev.FACTS].rows())
    assert facts["new_fact"] == "账号622****1929"  # unknown key: its long digits masked
    assert facts["金额（元）"] == "1,550.00"
    assert facts["上限（元）"] == "1,500.00"
    assert facts["flag"] == "是"
    assert facts["tags"] == "甲、乙"
    assert facts["empty"] == "—"
    ledger = parts["资金实发明细"]
    assert ledger.columns == ["流水号", "extra", "金额（元）"]
    assert ledger["extra"].to_list() == ["a：1；b：1、2", None]
    assert ledger["金额（元）"].to_list() == [Decimal("12.30"), None]
    assert parts["odd"].columns == ["x"]


@pytest.mark.parametrize(
    "evidence",
    [None, "", "{}", "not json 310105199001011234", "[1, 2]", '"3101051990010112"', "null"],
)
def test_evidence_that_is_missing_or_not_an_object(evidence):
    parts = ev.sections(evidence)
    text = " ".join(str(v) for s in parts for v in cells(s))
    assert "310105199001011234" not in text and "3101051990010112" not in text
    masked = ev.masked_json(evidence).decode("utf-8")
    assert "310105199001011234" not in masked
    assert json.loads(masked) is not None


def test_file_name():
    assert ev.file_name("Fcd762ff9cbaa2a02") == "evidence-Fcd762ff9cbaa2a02.json"
    assert ev.file_name("../x y") == "evidence-___x_y.json"
    assert ev.file_name(None) == "evidence-finding.json"
