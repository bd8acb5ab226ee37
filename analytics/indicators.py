"""Street-office performance indicators (indicators.csv, contract section 4) and the four circles
of the low-income population.

Every indicator is defined once, in :data:`INDICATORS`: its Chinese title, unit, definition,
numerator and denominator. The 总览 and 街镇 pages and the yearly PDF show that table as it is.

Rows: each of the ten street offices and the district (``全区``), for each month from the first
month of the entitlements and the ledger up to the as-of month, and for the quarters (``2026Q1``)
and years (``2026``) those months fall in. A *flow* indicator counts what happened inside the
period; a *stock* indicator is taken at the period's end, the last day of the period or the
as-of date if earlier. Money is in yuan. A value that cannot be computed (no denominator, or a
table missing from the drop) is blank, never zero.

To add an indicator (file audits and look-backs will come): one :class:`Indicator` in
``INDICATORS`` and one builder in ``_BUILDERS``.
"""

from __future__ import annotations

import calendar as _cal
import tomllib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from analytics import amounts, reference
from analytics.model import Drop
from analytics.schema import INDICATORS_COLUMNS, INDICATORS_SCHEMA, STREETS
from checks.common import due_date, paid_rows
from checks.dynamic import visit_due
from checks.funds import paid as in_scope_paid
from checks.process import approval_assessment

DISTRICT = "全区"
AREAS: tuple[str, ...] = (DISTRICT, *STREETS)
LEVELS = ("month", "quarter", "year")


@dataclass(frozen=True)
class Indicator:
    name: str
    title: str
    unit: str           # 比率 (0–1), 每千笔, 元, 件, 个, 次, 户, 分
    better: str         # higher | lower | "" (context, never scored)
    kind: str           # flow: within the period; stock: at the period's end
    # The definition, with the settings it depends on as {placeholders} (SETTING_TEXTS): a reader
    # sees what a setting means and its value, never its key in the settings file.
    text: str
    numerator: str
    denominator: str    # "—": the value is the numerator itself

    @property
    def has_denominator(self) -> bool:
        return self.denominator != "—"

    @property
    def definition(self) -> str:
        """The definition with the settings in force written in (data/settings.toml)."""
        return self.explained(reference.load_settings())

    def explained(self, settings: reference.Settings) -> str:
        return self.text.format_map(setting_texts(settings))


_ACTIVE = ("期末处于救助期的案件：期末日前已审批，现状态为在册，或现状态为终止而终止日期晚于期末日"
           "（期末日为该期最后一天，晚于检查基准日的取检查基准日）")
_LEADS = ("至期末已发生、检查基准日仍存在的{family}类线索数；线索按其月份归期，未填月份的视为检查基准日"
          "所在月份。分母为期末处于救助期的案件数，综合得分按“每案件线索数”比较不同规模的街镇。"
          "本次运行未包含全部{family}类检查时为“未检查”（空白），不按0计")
_UNCHECKED = "本次运行未包含全部{family}类检查时为“未检查”（空白），不按0计"

INDICATORS: tuple[Indicator, ...] = (
    Indicator("cases_active", "在册案件数", "件", "", "stock", _ACTIVE + "。",
              "期末处于救助期的案件数", "—"),
    Indicator("money_paid", "实发金额", "元", "", "flow",
              "资金实发明细中状态为成功的拨付金额合计，按发放月份和实发明细的街镇归期（退票不计）。",
              "成功拨付金额（元）", "—"),
    Indicator("approval_on_time_rate", "审批及时率", "比率", "higher", "flow",
              "审批日期不晚于审批时限（受理日后第{approval_days}个工作日，有特殊情形的第"
              "{approval_special_days}个；工作日按国务院节假日安排，含调休上班日，受理日不计）的案件占比。已审批的案件按审批日期归期；至检查基准日已超过"
              "时限仍在申请中的案件计为不及时，归入超时首日所在的期。审批期限需用到工作日历未收录"
              "年份的案件不作判断，不计入分子和分母。",
              "按时审批的案件数", "本期审批的案件数与本期超时仍未审批的案件数之和"),
    Indicator("disbursement_on_time_rate", "发放及时率", "比率", "higher", "flow",
              "在救助目录范围内的成功拨付中，拨付日期不晚于当月规定发放日（{payment_due_day}）的"
              "笔数占比，按发放月份和实发明细的街镇归期。",
              "按时拨付笔数", "范围内成功拨付笔数"),
    Indicator("funds_findings_per_1000", "资金线索率", "每千笔", "lower", "flow",
              "资金比对类线索数除以成功拨付笔数再乘以1000；线索按其发放月份和街镇归期。"
              + _UNCHECKED.format(family="资金比对") + "。",
              "资金比对类线索数", "成功拨付笔数"),
    Indicator("money_at_risk", "涉及金额", "元", "lower", "flow",
              "本期各类线索的涉及金额合计：同一流水号只计一次（取最大）；汇总金额不符是其他线索的"
              "汇总，不计入；未填月份的线索计入检查基准日所在的期。只运行了部分检查时，只含已运行的"
              "检查发现的线索。",
              "涉及金额（元）", "—"),
    Indicator("visit_compliance_rate", "探访合规率", "比率", "higher", "stock",
              "期末处于救助期的案件中，最近一次探访（无探访记录的自审批日起算）加探访周期（"
              "{visit_cycles}；日按月末截取）不早于期末日的案件占比。",
              "未逾期的案件数", "期末处于救助期的案件数"),
    Indicator("integrity_leads", "廉洁风险线索", "个", "lower", "stock",
              _LEADS.format(family="廉洁风险") + "。", "廉洁风险线索数", "期末处于救助期的案件数"),
    Indicator("dynamic_leads", "动态管理线索", "个", "lower", "stock",
              _LEADS.format(family="动态管理") + "。", "动态管理线索数", "期末处于救助期的案件数"),
    Indicator("rectification_on_time_rate", "整改按期率", "比率", "higher", "flow",
              "本期完成整改（在线索清单上标记“整改完成”）的线索中，完成日期不晚于整改期限的占比；"
              "按完成日期归期，按线索的街镇归属。只在工作区中运行的检查计算（取运行时的处置记录）。",
              "按期完成整改的线索数", "本期完成整改的线索数"),
    Indicator("recurrence_rate", "整改复发率", "比率", "lower", "flow",
              "本期完成整改的线索中，其后被检查运行再次发现或回头看认定复发的占比；按完成日期归期。"
              "只在工作区中运行的检查计算（取运行时的处置记录）。",
              "其后复发的线索数", "本期完成整改的线索数"),
    Indicator("file_audit_pass_rate", "档案核查合格率", "比率", "higher", "flow",
              "已结束（签发）的每月档案材料集中核查中，已核查的抽查案件里核查清单没有一项“不符合”的"
              "案件占比；按所核查的月份归期，按案件的街镇归属。只在工作区中运行的检查计算（取运行时"
              "已签发的核查）；没有核查的街镇和期间为空，不参与综合得分。",
              "合格案件数", "已核查案件数"),
    *(Indicator(f"dishonesty_{key}", title, "件", "", "flow",
                f"本期{what}的失信记录数（联席会议办公室的失信名单），按{what}操作的日期归期、按记录的"
                "街镇归属；不参与综合得分。只在工作区中运行的检查计算（取运行时的失信名单记录）。",
                f"{what}的失信记录数", "—")
      for key, title, what in (("proposed", "失信拟列入", "拟列入"),
                               ("published", "失信公布", "公布"),
                               ("repaired", "信用修复", "信用修复"))),
    Indicator("trainings_held", "培训次数", "次", "", "flow",
              "培训记录中本期举办的培训次数；全年少于规定次数（{trainings_per_year}）的街镇在年度"
              "评价中标注。区民政局举办的培训只计入全区。",
              "培训次数", "—"),
    Indicator("composite_score", "综合得分", "分", "higher", "flow",
              "各项得分的加权平均（权重：{weights}；按参与计分的项归一）。比率类得分为比率×100，"
              "整改复发率为(1−比率)×100；越少越好的项（资金线索率，廉洁风险、动态管理线索按每个在册"
              "案件的线索数）得分为100×(1−本单位值÷十个街镇中的最大值)，最大值为0时得100分。没有值的"
              "项（包括本次运行没有包含其所属类别全部检查的项）不参与计分，其权重不计入。",
              "加权得分之和", "参与计分的权重之和"),
    *(Indicator(f"circle_{n}", f"{name}户数", "户", "", "stock",
                f"检查基准日按 data/circles.toml 的规则归入{name}的家庭户数（每户只归入第一个满足"
                "规则的圈层）；只在包含检查基准日的月、季、年报告。",
                f"{name}户数", "区内已掌握的家庭户数")
      for n, name in ((1, "第一圈层"), (2, "第二圈层"), (3, "第三圈层"), (4, "第四圈层"))),
)
BY_NAME: dict[str, Indicator] = {i.name: i for i in INDICATORS}
FAMILY_LEADS = {"integrity_leads": "integrity", "dynamic_leads": "dynamic"}
# Indicators that count the findings of one family of checks: "未检查" (blank) when a run did not
# include every check of the family, never 0.
FAMILY_INDICATORS = {"funds_findings_per_1000": "funds", **FAMILY_LEADS}
# The 失信名单 indicators: the move of a record each counts (analytics.store.dishonesty).
DISHONESTY_MOVES = {"dishonesty_proposed": "create", "dishonesty_published": "publish",
                    "dishonesty_repaired": "repair"}


def setting_texts(settings: reference.Settings) -> dict[str, str]:
    """The settings the definitions depend on, each as its meaning and value in Chinese."""
    cycles = settings.visit_cycle_months
    cycle_text = "、".join(f"{k}{v}个月" for k, v in cycles.items())
    if "低" in cycles:
        cycle_text += "，未填的按低"
    weights = "、".join(f"{BY_NAME[k].title} {v:g}" for k, v in settings.indicator_weights.items()
                        if k in BY_NAME)
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
        [(i.title, i.unit, DIRECTIONS.get(i.better, "参考"),
          "期内累计" if i.kind == "flow" else "期末时点", i.explained(settings), i.numerator,
          i.denominator, i.name)
         for i in INDICATORS],
        schema=["指标", "单位", "方向", "口径", "定义", "分子", "分母", "代码"], orient="row")


# --- which checks a run included ---------------------------------------------------------------

def unchecked_families(checks: Collection[str] | None,
                       skipped: Collection[str] = ()) -> dict[str, str]:
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


def unchecked_indicators(checks: Collection[str] | None,
                         skipped: Collection[str] = ()) -> dict[str, str]:
    """indicator -> the title of its family of checks, for the indicators a run left unchecked
    (:func:`unchecked_families`)."""
    families = unchecked_families(checks, skipped)
    return {name: families[f] for name, f in FAMILY_INDICATORS.items() if f in families}


def blank_unchecked(table: pl.DataFrame, checks: Collection[str] | None,
                    skipped: Collection[str] = (),
                    weights: dict[str, float] | None = None) -> pl.DataFrame:
    """indicators.csv with the indicators of families a run did not check blank (value,
    numerator and denominator), and the composite score recomputed without them. A table
    computed with the run's checks (compute(..., checks=...)) comes back unchanged; one written
    before (where a family not run counted 0 findings and scored 100) is corrected."""
    names = list(unchecked_indicators(checks, skipped))
    target = pl.col("indicator").is_in(names)
    if not names or table.filter(target & pl.col("numerator").is_not_null()).is_empty():
        return table
    blank = table.with_columns(
        *(pl.when(target).then(None).otherwise(pl.col(c)).alias(c)
          for c in ("value", "numerator", "denominator")))
    weights = weights if weights is not None else reference.load_settings().indicator_weights
    others = blank.filter(pl.col("indicator") != "composite_score")
    composite = (blank.filter(pl.col("indicator") == "composite_score")
                 .select("street", "period", "indicator")
                 .join(_composite(others, weights), on=["street", "period"], how="left"))
    scores = _values(composite).select("street", "period", "indicator", "value", "numerator",
                                       "denominator")
    return (blank.join(scores, on=["street", "period", "indicator"], how="left", suffix="_new")
            .with_columns(*(pl.when(pl.col("indicator") == "composite_score")
                            .then(pl.col(f"{c}_new")).otherwise(pl.col(c)).alias(c)
                            for c in ("value", "numerator", "denominator")))
            .with_columns(pl.col("value").round(6), pl.col("numerator").round(6),
                          pl.col("denominator").round(6))
            .select(table.columns)
            .cast(table.schema))


def left_out(values: pl.DataFrame, weights: dict[str, float] | None = None) -> pl.DataFrame:
    """street, period, left_out: the weighted indicators the composite score of each street and
    period did not count (no value: not computed, not checked, or no denominator), as a list of
    indicator names in the order of the weights."""
    weights = weights if weights is not None else reference.load_settings().indicator_weights
    names = [n for n in weights if n in BY_NAME]
    order = {n: i for i, n in enumerate(names)}
    missing = (values.filter(pl.col("indicator").is_in(names))
               .filter(pl.col("value").is_null())
               .sort(pl.col("indicator").replace_strict(order, return_dtype=pl.Int32))
               .group_by("street", "period", maintain_order=True)
               .agg(pl.col("indicator").alias("left_out")))
    return (values.select("street", "period").unique(maintain_order=True)
            .join(missing, on=["street", "period"], how="left")
            .with_columns(pl.col("left_out").fill_null(pl.lit([], pl.List(pl.String)))))


# --- periods ------------------------------------------------------------------------------------

def _month_key(month: str) -> tuple[int, int]:
    return int(month[:4]), int(month[5:7])


def period_of(month: pl.Expr, level: str) -> pl.Expr:
    """'2026-03' -> '2026-03' (month), '2026Q1' (quarter) or '2026' (year)."""
    if level == "month":
        return month
    if level == "year":
        return month.str.slice(0, 4)
    quarter = (month.str.slice(5, 2).cast(pl.Int32) + 2) // 3
    return pl.concat_str([month.str.slice(0, 4), pl.lit("Q"), quarter.cast(pl.String)])


def period_table(drop: Drop) -> pl.DataFrame:
    """period, level, end: the periods reported, with their end date (the last day of the
    period, or the as-of date if earlier)."""
    as_of_month = drop.as_of.strftime("%Y-%m")
    firsts = [drop[t].select(pl.col("month").min()).collect().item()
              for t in ("entitlements", "ledger") if t in drop.tables]
    first = min([m for m in firsts if m and m <= as_of_month] or [as_of_month])
    y, m = _month_key(first)
    months = []
    while f"{y:04d}-{m:02d}" <= as_of_month:
        months.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    rows = {}
    for month in months:
        y, m = _month_key(month)
        q = (m - 1) // 3 + 1
        last = {"month": (month, m), "quarter": (f"{y}Q{q}", 3 * q), "year": (str(y), 12)}
        for level, (name, lm) in last.items():
            rows[name] = (name, level, min(date(y, lm, _cal.monthrange(y, lm)[1]), drop.as_of))
    return pl.DataFrame(list(rows.values()), orient="row",
                        schema={"period": pl.String, "level": pl.String, "end": pl.Date})


# --- building blocks ------------------------------------------------------------------------------

@dataclass
class _Context:
    drop: Drop
    findings: pl.DataFrame
    periods: pl.DataFrame
    # A run in a workspace: rectifications completed (workflow.followup) and, in rows whose
    # dishonesty_move is set, the 失信名单 records' moves (analytics.tracking.dishonesty_facts)
    workflow: pl.DataFrame | None = None

    @property
    def as_of_month(self) -> str:
        return self.drop.as_of.strftime("%Y-%m")

    def finding_months(self) -> pl.Expr:
        return pl.col("month").fill_null(self.as_of_month)


Part = pl.DataFrame | None  # street, period, numerator, denominator; None: cannot be computed


def _with_district(facts: pl.LazyFrame) -> pl.LazyFrame:
    return pl.concat([facts, facts.with_columns(pl.lit(DISTRICT).alias("street"))])


def _flow(ctx: _Context, facts: pl.LazyFrame) -> pl.DataFrame:
    """facts: street, month, num, den -> sums per street and period."""
    facts = _with_district(facts.select("street", "month", pl.col("num").cast(pl.Float64),
                                        pl.col("den").cast(pl.Float64)))
    by_level = pl.concat([facts.with_columns(period_of(pl.col("month"), lv).alias("period"))
                          for lv in LEVELS])
    return (by_level.join(ctx.periods.lazy().select("period"), on="period", how="semi")
            .group_by("street", "period")
            .agg(pl.col("num").sum().alias("numerator"), pl.col("den").sum().alias("denominator"))
            .collect())


def _stock(ctx: _Context, facts: pl.LazyFrame) -> pl.DataFrame:
    """facts: street, end, num, den (one row per fact and period end) -> sums per period."""
    facts = _with_district(facts.select("street", "end", pl.col("num").cast(pl.Float64),
                                        pl.col("den").cast(pl.Float64)))
    return (facts.join(ctx.periods.lazy().select("period", "end"), on="end", how="inner")
            .group_by("street", "period")
            .agg(pl.col("num").sum().alias("numerator"), pl.col("den").sum().alias("denominator"))
            .collect())


def _ends(ctx: _Context) -> pl.LazyFrame:
    return ctx.periods.lazy().select("end").unique()


def active_at_ends(drop: Drop, ends: pl.LazyFrame) -> pl.LazyFrame:
    """Cases in their assistance period at each end date: decided by then, and 在册 now or
    terminated after it. Columns of cases plus ``end``."""
    cases = drop["cases"].filter(pl.col("status").is_in(["在册", "终止"])
                                 & pl.col("decided_date").is_not_null())
    return (cases.join(ends, how="cross")
            .filter((pl.col("decided_date") <= pl.col("end"))
                    & ((pl.col("status") == "在册") | (pl.col("termination_date") > pl.col("end")))))


# --- the builders, one per indicator ----------------------------------------------------------

def _cases_active(ctx: _Context) -> Part:
    facts = active_at_ends(ctx.drop, _ends(ctx)).select("street", "end", num=pl.lit(1), den=None)
    return _stock(ctx, facts)


def _money_paid(ctx: _Context) -> Part:
    facts = paid_rows(ctx.drop).select("street", "month", num=pl.col("amount") / 100, den=None)
    return _flow(ctx, facts)


def _approval_on_time(ctx: _Context) -> Part:
    judged = (approval_assessment(ctx.drop)
              .filter(~pl.col("pending") | pl.col("overdue"))
              .select("street", "month", num=(~pl.col("overdue")).cast(pl.Int64), den=pl.lit(1)))
    return _flow(ctx, judged)


def _disbursement_on_time(ctx: _Context) -> Part:
    due = due_date(pl.col("month"), ctx.drop.settings.payment_due_day)
    on_time = (pl.col("pay_date") <= due).cast(pl.Int64)
    facts = in_scope_paid(ctx.drop).select("street", "month", num=on_time, den=pl.lit(1))
    return _flow(ctx, facts)


def _funds_findings_per_1000(ctx: _Context) -> Part:
    leads = (ctx.findings.lazy().filter(pl.col("family") == "funds")
             .select("street", ctx.finding_months().alias("month"), num=pl.lit(1), den=pl.lit(0)))
    rows = paid_rows(ctx.drop).select("street", "month", num=pl.lit(0), den=pl.lit(1))
    return _flow(ctx, pl.concat([leads, rows]))


def _money_at_risk(ctx: _Context) -> Part:
    rows = amounts.at_risk_rows(ctx.findings).with_columns(ctx.finding_months().alias("month"))
    return _flow(ctx, rows.select("street", "month", num=pl.col("amount_fen") / 100, den=None))


def _visit_compliance(ctx: _Context) -> Part:
    if "visits" not in ctx.drop.tables:
        return None
    cases = active_at_ends(ctx.drop, _ends(ctx))
    due = visit_due(cases, ctx.drop["visits"], pl.col("end"),
                    ctx.drop.settings.visit_cycle_months)
    facts = due.select("street", "end", num=(pl.col("due") >= pl.col("end")).cast(pl.Int64),
                       den=pl.lit(1))
    return _stock(ctx, facts)


def _leads(family: str) -> Callable[[_Context], Part]:
    def build(ctx: _Context) -> Part:
        # A family not run, or every check of it lacking a table: compute() leaves it blank.
        ends = _ends(ctx).with_columns(pl.col("end").dt.strftime("%Y-%m").alias("end_month"))
        counts = (ctx.findings.lazy().filter(pl.col("family") == family)
                  .with_columns(ctx.finding_months().alias("month"))
                  .group_by("street", "month").agg(pl.len().alias("num")))
        leads = (counts.join(ends, how="cross").filter(pl.col("month") <= pl.col("end_month"))
                 .select("street", "end", "num", den=pl.lit(0)))
        cases = active_at_ends(ctx.drop, ends.select("end")).select("street", "end", num=pl.lit(0),
                                                                    den=pl.lit(1))
        return _stock(ctx, pl.concat([leads, cases], how="vertical_relaxed"))
    return build


def _workflow_rows(ctx: _Context, dishonesty: bool) -> pl.LazyFrame:
    """The rectification rows of the workspace facts, or its 失信名单 rows."""
    facts = ctx.workflow.lazy()
    if "audit_cases" in ctx.workflow.columns:  # 档案核查 rows are neither
        facts = facts.filter(pl.col("audit_cases").is_null())
    if "dishonesty_move" not in ctx.workflow.columns:
        return facts if not dishonesty else facts.head(0).with_columns(
            pl.lit(None, pl.String).alias("dishonesty_move"),
            pl.lit(None, pl.Int64).alias("records"))
    moved = pl.col("dishonesty_move").is_not_null()
    return facts.filter(moved if dishonesty else ~moved)


def _file_audit(ctx: _Context) -> Part:
    if ctx.workflow is None:
        return None  # no workspace: unknown, not zero
    # computed, if on no session: every street has a count of 0 (blank, never "not computed")
    zero = pl.LazyFrame({"street": list(STREETS), "month": [ctx.as_of_month] * len(STREETS),
                         "num": [0] * len(STREETS), "den": [0] * len(STREETS)},
                        schema={"street": pl.String, "month": pl.String, "num": pl.Int64,
                                "den": pl.Int64})
    if "audit_cases" not in ctx.workflow.columns:
        return _flow(ctx, zero)
    facts = (ctx.workflow.lazy().filter(pl.col("audit_cases").is_not_null()
                                        & pl.col("street").is_in(STREETS)
                                        & (pl.col("month") <= ctx.as_of_month))
             .select("street", "month", num=pl.col("audit_passed").cast(pl.Int64),
                     den=pl.col("audit_cases").cast(pl.Int64)))
    return _flow(ctx, pl.concat([facts, zero]))


def _rectification(column: str) -> Callable[[_Context], Part]:
    def build(ctx: _Context) -> Part:
        if ctx.workflow is None:
            return None  # no workspace: unknown, not zero
        facts = (_workflow_rows(ctx, dishonesty=False).filter(pl.col("street").is_in(STREETS))
                 .select("street", "month", num=pl.col(column).cast(pl.Int64), den=pl.lit(1)))
        return _flow(ctx, facts)
    return build


def _dishonesty(name: str) -> Callable[[_Context], Part]:
    def build(ctx: _Context) -> Part:
        if ctx.workflow is None:
            return None  # no workspace: unknown, not zero
        facts = (_workflow_rows(ctx, dishonesty=True)
                 .filter((pl.col("dishonesty_move") == DISHONESTY_MOVES[name])
                         & (pl.col("month") <= ctx.as_of_month))
                 .select("street", "month", num=pl.col("records").cast(pl.Int64), den=None))
        return _flow(ctx, facts)
    return build


def _trainings(ctx: _Context) -> Part:
    if "trainings" not in ctx.drop.tables:
        return None
    facts = ctx.drop["trainings"].select("street", pl.col("date").dt.strftime("%Y-%m")
                                         .alias("month"), num=pl.lit(1), den=None)
    return _flow(ctx, facts)


def _circles(ctx: _Context) -> dict[str, Part]:
    households = household_circles(ctx.drop)
    at = ctx.periods.filter(pl.col("end") == ctx.drop.as_of).select("period")
    facts = _with_district(households.lazy().select("street", "circle"))
    total = facts.group_by("street").agg(pl.len().cast(pl.Float64).alias("denominator"))
    out = {}
    for n in (1, 2, 3, 4):
        counts = (facts.group_by("street")
                  .agg((pl.col("circle") == n).sum().cast(pl.Float64).alias("numerator"))
                  .join(total, on="street"))
        out[f"circle_{n}"] = counts.join(at.lazy(), how="cross").collect()
    return out


_BUILDERS: dict[str, Callable[[_Context], Part]] = {
    "cases_active": _cases_active,
    "money_paid": _money_paid,
    "approval_on_time_rate": _approval_on_time,
    "disbursement_on_time_rate": _disbursement_on_time,
    "funds_findings_per_1000": _funds_findings_per_1000,
    "money_at_risk": _money_at_risk,
    "visit_compliance_rate": _visit_compliance,
    "integrity_leads": _leads("integrity"),
    "dynamic_leads": _leads("dynamic"),
    "rectification_on_time_rate": _rectification("on_time"),
    "recurrence_rate": _rectification("recurred"),
    "file_audit_pass_rate": _file_audit,
    **{name: _dishonesty(name) for name in DISHONESTY_MOVES},
    "trainings_held": _trainings,
}


# --- the four circles ----------------------------------------------------------------------------

class CircleRulesError(ValueError):
    """data/circles.toml cannot be used; the message says what to fix, in Chinese."""


RULE_KEYS = {"status", "assistance_type", "within_window"}
WINDOW_FIELDS = ("decided_date", "termination_date", "active")


@dataclass(frozen=True)
class Circle:
    number: int
    name: str
    label: str
    description: str
    rules: tuple[dict, ...]   # each: status, assistance_type (tuples or None), within_window
    rest: bool


def load_circles(path: Path | None = None) -> tuple[int, tuple[Circle, ...]]:
    """(window_years, circles) from data/circles.toml, validated.

    A rule may look only at a household's cases (status, assistance type, a date inside the
    window); any other key, such as hukou, gender, age or disability, is refused."""
    path = path or reference.data_dir() / "circles.toml"
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    where = f"圈层规则文件 {path.name}"
    window = raw.get("window_years")
    if not isinstance(window, int) or window < 1:
        raise CircleRulesError(f"{where}：window_years 应为正整数（年）。")
    circles = []
    for i, c in enumerate(raw.get("circle", []), start=1):
        rest = bool(c.get("rest", False))
        rules = []
        for rule in c.get("rule", []):
            unknown = set(rule) - RULE_KEYS
            if unknown:
                raise CircleRulesError(
                    f"{where}：第{i}个圈层的规则含不允许的字段 {'、'.join(sorted(unknown))}；规则只能"
                    f"使用 {'、'.join(sorted(RULE_KEYS))}（不得使用户籍、性别、年龄或残疾等个人属性）。")
            if rule.get("within_window") not in (None, *WINDOW_FIELDS):
                raise CircleRulesError(f"{where}：第{i}个圈层的 within_window 只能是 "
                                       f"{'、'.join(WINDOW_FIELDS)}。")
            rules.append({"status": tuple(rule["status"]) if "status" in rule else None,
                          "assistance_type": (tuple(rule["assistance_type"])
                                              if "assistance_type" in rule else None),
                          "within_window": rule.get("within_window")})
        if rest == bool(rules):
            raise CircleRulesError(f"{where}：第{i}个圈层应当或写规则（[[circle.rule]]），或写 "
                                   "rest = true，二者只取其一。")
        circles.append(Circle(int(c["number"]), c["name"], c.get("label", ""),
                              c.get("description", ""), tuple(rules), rest))
    if [c.number for c in circles] != [1, 2, 3, 4] or not circles[-1].rest \
            or any(c.rest for c in circles[:-1]):
        raise CircleRulesError(f"{where}：应依次列出第1至第4圈层，且只有最后一个圈层写 rest = true。")
    return window, tuple(circles)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _rule_expr(rule: dict, start: date, as_of: date) -> pl.Expr:
    cond = pl.lit(True)
    if rule["status"] is not None:
        cond &= pl.col("status").is_in(list(rule["status"]))
    if rule["assistance_type"] is not None:
        cond &= pl.col("assistance_type").is_in(list(rule["assistance_type"]))
    field = rule["within_window"]
    if field == "active":
        cond &= ((pl.col("decided_date") <= as_of)
                 & (pl.col("termination_date").is_null() | (pl.col("termination_date") > start)))
    elif field is not None:
        cond &= (pl.col(field) > start) & (pl.col(field) <= as_of)
    return cond.fill_null(False)


def household_circles(drop: Drop, path: Path | None = None) -> pl.DataFrame:
    """household_id, street, circle (1–4) of every household known to the district.

    Known: in persons or in cases. Street: the street of residence of its members (the first in
    the list of streets when they differ), else the street of its latest case."""
    window, circles = load_circles(path)
    start = _years_before(drop.as_of, window)
    cases = drop["cases"]
    circle_of_case = pl.lit(None, dtype=pl.Int32)
    for c in reversed(circles[:-1]):
        hit = pl.lit(False)
        for rule in c.rules:
            hit |= _rule_expr(rule, start, drop.as_of)
        circle_of_case = pl.when(hit).then(pl.lit(c.number, dtype=pl.Int32)).otherwise(
            circle_of_case)
    rest = circles[-1].number
    street_rank = {s: i for i, s in enumerate(STREETS)}
    residence = (drop["persons"]
                 .with_columns(pl.col("street").replace_strict(street_rank, default=len(STREETS),
                                                               return_dtype=pl.Int32).alias("_r"))
                 .sort("household_id", "_r").group_by("household_id").agg(pl.col("street").first()))
    latest = (cases.sort("household_id", "accepted_date", "case_id")
              .group_by("household_id").agg(pl.col("street").last().alias("case_street")))
    by_case = (cases.with_columns(circle_of_case.alias("circle"))
               .group_by("household_id").agg(pl.col("circle").min()))
    known = pl.concat([drop["persons"].select("household_id"), cases.select("household_id")]
                      ).unique()
    return (known
            .join(residence, on="household_id", how="left", validate="1:1")
            .join(latest, on="household_id", how="left", validate="1:1")
            .join(by_case, on="household_id", how="left", validate="1:1")
            .select("household_id", pl.coalesce("street", "case_street").alias("street"),
                    pl.col("circle").fill_null(rest).cast(pl.Int32))
            .sort("household_id")
            .collect())


# --- the whole table ------------------------------------------------------------------------------

def scored_names() -> list[str]:
    """Indicators that can carry a weight in the composite score."""
    return [i.name for i in INDICATORS if i.better and i.name != "composite_score"]


def component_scores(values: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """street, period, indicator, score: each named indicator as a 0–100 score, higher better.

    ``values``: rows of indicators.csv. Rates score rate × 100 (a lower-is-better rate
    (1 − rate) × 100). Any other lower-is-better indicator scores
    100 × (1 − x ÷ the largest x of the ten streets in that period), 100 when that is 0; for
    leads x is per active case, so that a large street is not punished for its size."""
    parts = []
    for name in names:
        ind = BY_NAME[name]
        rows = values.filter(pl.col("indicator") == name)
        if ind.better == "higher":
            score = pl.col("value") * (100 if ind.unit == "比率" else 1)
        elif ind.unit == "比率":  # a rate of something bad: its complement
            score = 100 * (1 - pl.col("value"))
        else:
            x = (pl.when(pl.col("denominator") > 0)
                 .then(pl.col("numerator") / pl.col("denominator"))
                 if name in FAMILY_LEADS else pl.col("value"))
            rows = rows.with_columns(x.alias("x"))
            worst = (rows.filter(pl.col("street") != DISTRICT).group_by("period")
                     .agg(pl.col("x").max().alias("worst")))
            rows = rows.join(worst, on="period", how="left")
            score = (pl.when(pl.col("x").is_null()).then(None)
                     .when(pl.col("worst") <= 0).then(100.0)
                     .otherwise(100 * (1 - pl.col("x") / pl.col("worst"))))
        parts.append(rows.select("street", "period", "indicator",
                                 score.cast(pl.Float64).alias("score")))
    if not parts:
        return pl.DataFrame(schema={"street": pl.String, "period": pl.String,
                                    "indicator": pl.String, "score": pl.Float64})
    return pl.concat(parts)


def _composite(values: pl.DataFrame, weights: dict[str, float]) -> pl.DataFrame:
    """street, period, numerator, denominator of the composite score from the other values."""
    unknown = [k for k in weights if k not in scored_names()]
    if unknown:
        raise ValueError("设置文件 [indicators.weights] 中有无法计分的指标："
                         + "、".join(unknown) + "；可用：" + "、".join(scored_names()))
    weight = pl.col("indicator").replace_strict(weights, return_dtype=pl.Float64)
    return (component_scores(values, list(weights))
            .filter(pl.col("score").is_not_null())
            .with_columns(weight.alias("weight"))
            .group_by("street", "period")
            .agg((pl.col("score") * pl.col("weight")).sum().alias("numerator"),
                 pl.col("weight").sum().alias("denominator")))


def _values(long: pl.DataFrame) -> pl.DataFrame:
    unit = pl.col("indicator").replace_strict({i.name: i.unit for i in INDICATORS})
    ratio = pl.when(pl.col("denominator") > 0).then(pl.col("numerator") / pl.col("denominator"))
    value = (pl.when(unit.is_in(["比率", "分"])).then(ratio)
             .when(unit == "每千笔").then(ratio * 1000)
             .otherwise(pl.col("numerator")))
    return long.with_columns(value.alias("value"))


def compute(drop: Drop, findings: pl.DataFrame,
            workflow: pl.DataFrame | None = None,
            checks: Collection[str] | None = None) -> pl.DataFrame:
    """indicators.csv: street, period, indicator, value, numerator, denominator.

    ``findings`` needs check_id, family, street, month, txn_id and amount_fen (the engine's
    findings, or analytics.results.load_findings). ``workflow``: the rectifications completed so
    far (analytics.workflow.followup.rectification_facts: street, month, on_time, recurred), for
    a run in a workspace, with, in rows whose ``dishonesty_move`` is set (create, publish or
    repair), the 失信名单 records moved per street and month (``records``); without it the
    rectification and 失信名单 indicators are blank. ``checks``: the check ids the run included
    (its summary's check_id; None: every check); the indicators that count the findings of a
    family not wholly included, or whose every check lacked a table, are blank ("未检查"), and
    the composite score is weighted over the indicators that have a value."""
    from checks.registry import ordered

    ctx = _Context(drop, findings, period_table(drop), workflow)
    skipped = [s.check_id for s in ordered() if s.skip_reason(drop)]
    unchecked = unchecked_indicators(checks, skipped)
    parts: dict[str, Part] = {name: None if name in unchecked else build(ctx)
                              for name, build in _BUILDERS.items()}
    parts.update(_circles(ctx))
    grid = (pl.DataFrame({"street": AREAS})
            .join(ctx.periods.select("period"), how="cross"))
    frames = []
    for ind in INDICATORS:
        if ind.name == "composite_score":
            continue
        part = parts[ind.name]
        rows = grid
        if part is None:
            rows = rows.with_columns(numerator=pl.lit(None, pl.Float64),
                                     denominator=pl.lit(None, pl.Float64))
        else:
            rows = rows.join(part, on=["street", "period"], how="left")
            if ind.name.startswith("circle_"):
                rows = rows.filter(pl.col("period").is_in(part["period"].unique().to_list()
                                                          if part.height else []))
            rows = rows.with_columns(pl.col("numerator", "denominator").fill_null(0.0))
        if not ind.has_denominator:
            rows = rows.with_columns(denominator=pl.lit(None, pl.Float64))
        frames.append(rows.select("street", "period", pl.lit(ind.name).alias("indicator"),
                                  pl.col("numerator").cast(pl.Float64),
                                  pl.col("denominator").cast(pl.Float64)))
    values = _values(pl.concat(frames))
    composite = (grid.join(_composite(values, drop.settings.indicator_weights),
                           on=["street", "period"], how="left")
                 .select("street", "period", pl.lit("composite_score").alias("indicator"),
                         "numerator", "denominator"))
    out = pl.concat([values, _values(composite)], how="diagonal_relaxed")
    street_rank = {s: i for i, s in enumerate(AREAS)}
    ind_rank = {i.name: k for k, i in enumerate(INDICATORS)}
    money = pl.col("indicator").is_in(["money_paid", "money_at_risk"])
    return (out
            .with_columns(pl.col("value").round(6),
                          pl.when(money).then(pl.col("numerator").round(2))
                          .otherwise(pl.col("numerator").round(6)).alias("numerator"),
                          pl.col("denominator").round(6))
            .sort(pl.col("street").replace_strict(street_rank),
                  "period", pl.col("indicator").replace_strict(ind_rank))
            .select(INDICATORS_COLUMNS)
            .cast(INDICATORS_SCHEMA))
