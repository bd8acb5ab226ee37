"""What each indicator is: its title, unit, direction, numerator and denominator, and the one
table of definitions the 总览 and 街镇 pages and the yearly PDF show as it is."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import polars as pl

from analytics import reference
from analytics.schema import STREETS

DISTRICT = "全区"
AREAS: tuple[str, ...] = (DISTRICT, *STREETS)
LEVELS = ("month", "quarter", "year")


@dataclass(frozen=True)
class Indicator:
    name: str
    title: str
    unit: str  # 比率 (0–1), 每千笔, 元, 件, 个, 次, 户, 分
    better: str  # higher | lower | "" (context, never scored)
    kind: str  # flow: within the period; stock: at the period's end
    # The definition, with the settings it depends on as {placeholders} (SETTING_TEXTS): a reader
    # sees what a setting means and its value, never its key in the settings file.
    text: str
    numerator: str
    denominator: str  # "—": the value is the numerator itself

    @property
    def has_denominator(self) -> bool:
        return self.denominator != "—"

    @property
    def definition(self) -> str:
        """The definition with the settings in force written in (data/settings.toml)."""
        return self.explained(reference.load_settings())

    def explained(self, settings: reference.Settings) -> str:
        return self.text.format_map(setting_texts(settings))


_ACTIVE = (
    "期末处于救助期的案件：期末日前已审批，现状态为在册，或现状态为终止而终止日期晚于期末日"
    "（期末日为该期最后一天，晚于检查基准日的取检查基准日）"
)
_LEADS = (
    "至期末已发生、检查基准日仍存在的{family}类线索数；线索按其月份归期，未填月份的视为检查基准日"
    "所在月份。分母为期末处于救助期的案件数，综合得分按“每案件线索数”比较不同规模的街镇。"
    "本次运行未包含全部{family}类检查时为“未检查”（空白），不按0计"
)
_UNCHECKED = "本次运行未包含全部{family}类检查时为“未检查”（空白），不按0计"

INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "cases_active",
        "在册案件数",
        "件",
        "",
        "stock",
        _ACTIVE + "。",
        "期末处于救助期的案件数",
        "—",
    ),
    Indicator(
        "money_paid",
        "实发金额",
        "元",
        "",
        "flow",
        "资金实发明细中状态为成功的拨付金额合计，按发放月份和实发明细的街镇归期（退票不计）。",
        "成功拨付金额（元）",
        "—",
    ),
    Indicator(
        "approval_on_time_rate",
        "审批及时率",
        "比率",
        "higher",
        "flow",
        "审批日期不晚于审批时限（受理日后第{approval_days}个工作日，有特殊情形的第"
        "{approval_special_days}个；工作日按国务院节假日安排，含调休上班日，受理日不计）的案件占比。已审批的案件按审批日期归期；至检查基准日已超过"
        "时限仍在申请中的案件计为不及时，归入超时首日所在的期。审批期限需用到工作日历未收录"
        "年份的案件不作判断，不计入分子和分母。",
        "按时审批的案件数",
        "本期审批的案件数与本期超时仍未审批的案件数之和",
    ),
    Indicator(
        "disbursement_on_time_rate",
        "发放及时率",
        "比率",
        "higher",
        "flow",
        "在救助目录范围内的成功拨付中，拨付日期不晚于当月规定发放日（{payment_due_day}）的"
        "笔数占比，按发放月份和实发明细的街镇归期。",
        "按时拨付笔数",
        "范围内成功拨付笔数",
    ),
    Indicator(
        "funds_findings_per_1000",
        "资金线索率",
        "每千笔",
        "lower",
        "flow",
        "资金比对类线索数除以成功拨付笔数再乘以1000；线索按其发放月份和街镇归期。"
        + _UNCHECKED.format(family="资金比对")
        + "。",
        "资金比对类线索数",
        "成功拨付笔数",
    ),
    Indicator(
        "money_at_risk",
        "涉及金额",
        "元",
        "lower",
        "flow",
        "本期各类线索的涉及金额合计：同一流水号只计一次（取最大）；汇总金额不符是其他线索的"
        "汇总，不计入；未填月份的线索计入检查基准日所在的期。只运行了部分检查时，只含已运行的"
        "检查发现的线索。",
        "涉及金额（元）",
        "—",
    ),
    Indicator(
        "visit_compliance_rate",
        "探访合规率",
        "比率",
        "higher",
        "stock",
        "期末处于救助期的案件中，最近一次探访（无探访记录的自审批日起算）加探访周期（"
        "{visit_cycles}；日按月末截取）不早于期末日的案件占比。",
        "未逾期的案件数",
        "期末处于救助期的案件数",
    ),
    Indicator(
        "integrity_leads",
        "廉洁风险线索",
        "个",
        "lower",
        "stock",
        _LEADS.format(family="廉洁风险") + "。",
        "廉洁风险线索数",
        "期末处于救助期的案件数",
    ),
    Indicator(
        "dynamic_leads",
        "动态管理线索",
        "个",
        "lower",
        "stock",
        _LEADS.format(family="动态管理") + "。",
        "动态管理线索数",
        "期末处于救助期的案件数",
    ),
    Indicator(
        "rectification_on_time_rate",
        "整改按期率",
        "比率",
        "higher",
        "flow",
        "本期完成整改（在线索清单上标记“整改完成”）的线索中，完成日期不晚于整改期限的占比；"
        "按完成日期归期，按线索的街镇归属。只在工作区中运行的检查计算（取运行时的处置记录）。",
        "按期完成整改的线索数",
        "本期完成整改的线索数",
    ),
    Indicator(
        "recurrence_rate",
        "整改复发率",
        "比率",
        "lower",
        "flow",
        "本期完成整改的线索中，其后被检查运行再次发现或回头看认定复发的占比；按完成日期归期。"
        "只在工作区中运行的检查计算（取运行时的处置记录）。",
        "其后复发的线索数",
        "本期完成整改的线索数",
    ),
    Indicator(
        "file_audit_pass_rate",
        "档案核查合格率",
        "比率",
        "higher",
        "flow",
        "已结束（签发）的每月档案材料集中核查中，已核查的抽查案件里核查清单没有一项“不符合”的"
        "案件占比；按所核查的月份归期，按案件的街镇归属。只在工作区中运行的检查计算（取运行时"
        "已签发的核查）；没有核查的街镇和期间为空，不参与综合得分。",
        "合格案件数",
        "已核查案件数",
    ),
    *(
        Indicator(
            f"dishonesty_{key}",
            title,
            "件",
            "",
            "flow",
            f"本期{what}的失信记录数（联席会议办公室的失信名单），按{what}操作的日期归期、按记录的"
            "街镇归属；不参与综合得分。只在工作区中运行的检查计算（取运行时的失信名单记录）。",
            f"{what}的失信记录数",
            "—",
        )
        for key, title, what in (
            ("proposed", "失信拟列入", "拟列入"),
            ("published", "失信公布", "公布"),
            ("repaired", "信用修复", "信用修复"),
        )
    ),
    Indicator(
        "trainings_held",
        "培训次数",
        "次",
        "",
        "flow",
        "培训记录中本期举办的培训次数；全年少于规定次数（{trainings_per_year}）的街镇在年度"
        "评价中标注。区民政局举办的培训只计入全区。",
        "培训次数",
        "—",
    ),
    Indicator(
        "composite_score",
        "综合得分",
        "分",
        "higher",
        "flow",
        "各项得分的加权平均（权重：{weights}；按参与计分的项归一）。比率类得分为比率×100，"
        "整改复发率为(1−比率)×100；越少越好的项（资金线索率，廉洁风险、动态管理线索按每个在册"
        "案件的线索数）得分为100×(1−本单位值÷十个街镇中的最大值)，最大值为0时得100分。没有值的"
        "项（包括本次运行没有包含其所属类别全部检查的项）不参与计分，其权重不计入。",
        "加权得分之和",
        "参与计分的权重之和",
    ),
    *(
        Indicator(
            f"circle_{n}",
            f"{name}户数",
            "户",
            "",
            "stock",
            f"检查基准日按 data/circles.toml 的规则归入{name}的家庭户数（每户只归入第一个满足"
            "规则的圈层）；只在包含检查基准日的月、季、年报告。",
            f"{name}户数",
            "区内已掌握的家庭户数",
        )
        for n, name in ((1, "第一圈层"), (2, "第二圈层"), (3, "第三圈层"), (4, "第四圈层"))
    ),
)
BY_NAME: dict[str, Indicator] = {i.name: i for i in INDICATORS}
FAMILY_LEADS = {"integrity_leads": "integrity", "dynamic_leads": "dynamic"}
# Indicators that count the findings of one family of checks: "未检查" (blank) when a run did not
# include every check of the family, never 0.
FAMILY_INDICATORS = {"funds_findings_per_1000": "funds", **FAMILY_LEADS}
# The 失信名单 indicators: the move of a record each counts (analytics.store.dishonesty).
DISHONESTY_MOVES = {
    "dishonesty_proposed": "create",
    "dishonesty_published": "publish",
    "dishonesty_repaired": "repair",
}


def setting_texts(settings: reference.Settings) -> dict[str, str]:
    """The settings the definitions depend on, each as its meaning and value in Chinese."""
    cycles = settings.visit_cycle_months
    cycle_text = "、".join(f"{k}{v}个月" for k, v in cycles.items())
    if "低" in cycles:
        cycle_text += "，未填的按低"
    weights = "、".join(
        f"{BY_NAME[k].title} {v:g}" for k, v in settings.indicator_weights.items() if k in BY_NAME
    )
    return {
        "payment_due_day": f"现定为每月{settings.payment_due_day}日",
        "approval_days": str(settings.approval_deadline_working_days),
        "approval_special_days": str(settings.approval_deadline_special_working_days),
        "visit_cycles": f"按困难程度：{cycle_text}",
        "trainings_per_year": f"现定为每年{settings.trainings_per_year}次",
        "weights": weights,
    }


DIRECTIONS = {"higher": "越高越好", "lower": "越低越好"}


def definitions_table(settings: reference.Settings | None = None) -> pl.DataFrame:
    """The one table of definitions, with Chinese headers, as the pages and the PDF show it: the
    settings a definition depends on written in as their meaning and value; the code last, as
    indicators.csv names the indicator."""
    settings = settings or reference.load_settings()
    return pl.DataFrame(
        [
            (
                i.title,
                i.unit,
                DIRECTIONS.get(i.better, "参考"),
                "期内累计" if i.kind == "flow" else "期末时点",
                i.explained(settings),
                i.numerator,
                i.denominator,
                i.name,
            )
            for i in INDICATORS
        ],
        schema=["指标", "单位", "方向", "口径", "定义", "分子", "分母", "代码"],
        orient="row",
    )


# --- which checks a run included ---------------------------------------------------------------


def unchecked_families(
    checks: Collection[str] | None, skipped: Collection[str] = ()
) -> dict[str, str]:
    """family -> its Chinese title, for each family of checks whose findings a run cannot be
    counted on: not every check of the family was in the run (``checks``: the check ids the
    run included, as its checks.csv lists them; None: every check), or every one of them was
    skipped (``skipped``: check ids skipped for a missing table)."""
    from checks.registry import FAMILIES, ordered

    specs = ordered()
    ran = None if checks is None else set(checks)
    out = {}
    for family, title in FAMILIES.items():
        ids = [s.check_id for s in specs if s.family == family]
        if (ran is not None and not set(ids) <= ran) or set(ids) <= set(skipped):
            out[family] = title
    return out


def unchecked_indicators(
    checks: Collection[str] | None, skipped: Collection[str] = ()
) -> dict[str, str]:
    """indicator -> the title of its family of checks, for the indicators a run left unchecked
    (:func:`unchecked_families`)."""
    families = unchecked_families(checks, skipped)
    return {name: families[f] for name, f in FAMILY_INDICATORS.items() if f in families}
