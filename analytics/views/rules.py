"""检查规则: the published rules every finding comes from, the thresholds they use today, and the
definitions of the street indicators.

Every check is one registered function whose docstring is the sentence a supervisor reads; the
thresholds come from ``data/settings.toml``. This page publishes both, as a table a person can
read and an export they can hand on.
"""

from __future__ import annotations

import polars as pl

from analytics import export, schema
from analytics.indicators import definitions_table, setting_texts
from analytics.reference import Settings

SHEETS = ("检查规则", "参数", "指标定义")
KEY_NAMES = {
    "street": "街镇",
    "month": "月份",
    "case_id": "救助编号",
    "txn_id": "流水号",
    "id_number": "身份证号",
    "account_no": "银行账号",
    "staff_id": "工号",
    "item": "救助项目",
}


def rules_table() -> pl.DataFrame:
    """One row per check, in registry order: family, title, id, severity, the rule, the data it
    reads and what identifies one finding."""
    from checks.registry import FAMILIES, load_all, ordered

    load_all()
    rows = [
        {
            "类别": FAMILIES[s.family],
            "检查项": s.title,
            "编号": s.check_id,
            "严重程度": s.severity,
            "规则": s.description,
            "依据的数据": "、".join(schema.TABLES[t].zh for t in s.needs),
            "一条线索指": "、".join(KEY_NAMES.get(k, k) for k in s.keys),
        }
        for s in ordered()
    ]
    return pl.DataFrame(
        rows,
        schema={
            c: pl.String
            for c in ("类别", "检查项", "编号", "严重程度", "规则", "依据的数据", "一条线索指")
        },
    )


def parameters_table(settings: Settings) -> pl.DataFrame:
    """The thresholds of the rules as set in data/settings.toml, with what each one governs."""
    cycles = "、".join(f"困难程度{k} {v} 个月" for k, v in settings.visit_cycle_months.items())
    rows = [
        ("当月救助金规定发放日", f"每月 {settings.payment_due_day} 日", "拨付不及时"),
        (
            "小金额救助金每人每月上限",
            f"{settings.small_amount_cap_fen / 100:,.2f} 元",
            "小金额救助超限",
        ),
        ("审批时限", f"受理后第 {settings.approval_deadline_working_days} 个工作日", "审批超时"),
        (
            "审批时限（特殊情形）",
            f"受理后第 {settings.approval_deadline_special_working_days} 个工作日",
            "审批超时",
        ),
        (
            "同一代管人代管户数阈值",
            f"{settings.custodian_concentration_households} 户",
            "代管人集中代管",
        ),
        (
            "共用电话或住址的枢纽人数",
            f"超过 {settings.hub_threshold_persons} 人",
            "关系图谱中的线索群（枢纽不连接线索群）",
        ),
        ("身故后仍在册宽限期", f"{settings.death_grace_days} 天", "身故仍在册"),
        ("探访周期", cycles, "探访逾期"),
        ("街镇每年培训次数要求", f"{settings.trainings_per_year} 次", "绩效评价"),
        (
            "综合得分各项权重",
            setting_texts(settings)["weights"] + "（按参与计分的项归一）",
            "绩效评价",
        ),
    ]
    return pl.DataFrame(
        rows, schema={"参数": pl.String, "当前值": pl.String, "用于": pl.String}, orient="row"
    )


def rules_excel(settings: Settings) -> bytes:
    """The rules, the thresholds and the indicator definitions in one workbook, a sheet each."""
    return export.excel_bytes(
        dict(
            zip(
                SHEETS,
                (rules_table(), parameters_table(settings), definitions_table(settings)),
                strict=True,
            )
        )
    )
