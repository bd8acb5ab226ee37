"""检查规则: every check is published with its rule, and no rule reads who people are."""

from __future__ import annotations

import io
import re
from pathlib import Path

import polars as pl

from analytics.reference import PROJECT_ROOT, load_settings
from analytics.views import rules as view
from checks.registry import REGISTRY, load_all, ordered


def test_every_check_is_published_with_its_rule():
    load_all()
    table = view.rules_table()
    assert sorted(table["编号"].to_list()) == sorted(REGISTRY)  # each check once
    assert table["类别"].unique(maintain_order=True).to_list() == [
        "资金比对",
        "廉洁风险",
        "动态管理",
        "审批流程",
    ]
    assert table["编号"].to_list() == [s.check_id for s in ordered()]  # in registry order
    for row in table.iter_rows(named=True):
        spec = REGISTRY[row["编号"]]
        assert row["检查项"] == spec.title and row["规则"] == spec.description
        assert row["规则"] and row["依据的数据"] and row["一条线索指"]
    late = table.filter(pl.col("编号") == "late_disbursement").row(0, named=True)
    assert (late["类别"], late["依据的数据"], late["一条线索指"]) == (
        "资金比对",
        "资金实发明细",
        "流水号",
    )


def test_published_rules_are_chinese_sentences_without_developer_notes():
    load_all()
    for check_id, spec in REGISTRY.items():
        assert "\n\n" not in spec.description, check_id
        assert not re.search(r"[A-Za-z_]{2,}", spec.description), check_id
        assert re.search(r"[\u4e00-\u9fff]", spec.description), check_id
        assert spec.description.endswith("。"), check_id
    # A docstring's further paragraphs stay with the code.
    assert "ApprovalCalendarError" in REGISTRY["approval_overdue"].fn.__doc__


def test_parameters_are_the_settings_in_force():
    settings = load_settings()
    table = view.parameters_table(settings)
    values = dict(zip(table["参数"], table["当前值"], strict=True))
    assert values["当月救助金规定发放日"] == f"每月 {settings.payment_due_day} 日"
    assert values["身故后仍在册宽限期"] == f"{settings.death_grace_days} 天"
    assert values["小金额救助金每人每月上限"] == f"{settings.small_amount_cap_fen / 100:,.2f} 元"
    for months in settings.visit_cycle_months.values():
        assert f"{months} 个月" in values["探访周期"]
    titles = {spec.title for spec in REGISTRY.values()}
    for used in table["用于"]:
        assert used in titles or used in ("绩效评价", "关系图谱中的线索群（枢纽不连接线索群）")


def test_export_holds_both_tables():
    content = view.rules_excel(load_settings())
    rules = pl.read_excel(io.BytesIO(content), sheet_name="检查规则", infer_schema_length=0)
    params = pl.read_excel(io.BytesIO(content), sheet_name="参数", infer_schema_length=0)
    assert rules["编号"].to_list() == view.rules_table()["编号"].to_list()
    assert params.height == view.parameters_table(load_settings()).height


def test_no_rule_reads_hukou_gender_age_or_disability():
    """Fairness: the checks are rules over facts, never over who people are. No check module
    names the hukou column, and none derives gender or birth date (age) from an ID number."""
    forbidden = re.compile(
        r"hukou|户籍|gender|性别|残疾|disab|birth|出生|年龄|\bage\b"
        r"|str\.slice\(\s*6|str\.slice\(\s*16|\[6:14\]|\[16\]"
    )
    sources = sorted((PROJECT_ROOT / "checks").glob("*.py"))
    assert len(sources) >= 6
    hits = [
        (p.name, m.group())
        for p in sources
        for m in forbidden.finditer(Path(p).read_text(encoding="utf-8"))
    ]
    assert hits == []
    for row in view.rules_table().iter_rows(named=True):
        assert not forbidden.search(row["规则"]), row["编号"]
