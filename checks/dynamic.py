"""Dynamic management: the quarterly checks of information shared by other departments (deaths,
employment, criminal sanctions), visits on the cycle set by a case's difficulty, and approvals
granted during a household member's dishonesty record.

Each finding is one case. Besides its key (case_id) it fills the case's street and the month the
defect arose (the month of the event, of the decision, or of the first day a visit was overdue),
so that the indicators can place it in a period.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from analytics.model import Drop
from checks.common import date_str, deaths, month_of
from checks.registry import check

ACTIVE = "在册"
LOW = "低"


def active_cases(drop: Drop) -> pl.LazyFrame:
    return (
        drop["cases"]
        .filter(pl.col("status") == ACTIVE)
        .select(
            "case_id", "household_id", "applicant_id_number", "street", "decided_date", "difficulty"
        )
    )


# --- deaths -------------------------------------------------------------------------------------


@check(
    title="身故仍在册",
    family="dynamic",
    severity="高",
    keys=("case_id",),
    needs=("cases", "events"),
)
def deceased_still_active(drop: Drop) -> pl.LazyFrame:
    """申请人已身故（部门共享信息）超过宽限天数，案件仍在册，应及时终止救助。"""
    grace = drop.settings.death_grace_days
    as_of = pl.lit(drop.as_of)
    rows = (
        active_cases(drop)
        .join(
            deaths(drop),
            left_on="applicant_id_number",
            right_on="id_number",
            how="inner",
            validate="m:1",
        )
        .with_columns((as_of - pl.col("death_date")).dt.total_days().alias("days"))
        .filter(pl.col("days") > grace)
    )
    return rows.select(
        "case_id",
        "street",
        month_of(pl.col("death_date")).alias("month"),
        pl.col("applicant_id_number").alias("id_number"),
        pl.concat_str(
            [
                pl.lit("案件"),
                pl.col("case_id"),
                pl.lit("申请人已于"),
                date_str(pl.col("death_date")),
                pl.lit("身故（来源："),
                pl.col("death_source").fill_null("部门共享信息"),
                pl.lit("），至"),
                date_str(as_of),
                pl.lit("已"),
                pl.col("days").cast(pl.String),
                pl.lit(f"天，超过{grace}天宽限期仍在册，请及时终止救助并核查期间发放。"),
            ]
        ).alias("summary"),
        pl.struct(
            date_str(pl.col("death_date")).alias("death_date"),
            "death_source",
            date_str(as_of).alias("as_of"),
            pl.col("days").alias("days_since_death"),
            pl.lit(grace).alias("grace_days"),
        ).alias("evidence"),
    )


# --- events of household members after the decision ------------------------------------------


def _member_events_after_decision(
    drop: Drop, event_type: str, what: str, action: str
) -> pl.LazyFrame:
    """Active cases with an ``event_type`` event of a household member after decided_date.

    One row per case; the earliest such event (then the lowest id_number) names the month and
    the person, and the evidence lists every such event."""
    events = (
        drop["events"]
        .filter(pl.col("event_type") == event_type)
        .select("id_number", "event_date", "source")
    )
    members = drop["persons"].select("id_number", "household_id")
    rows = (
        active_cases(drop)
        .drop("applicant_id_number")
        .join(members, on="household_id", how="inner")
        .join(events, on="id_number", how="inner")
        .filter(pl.col("event_date") > pl.col("decided_date"))
        .sort("case_id", "event_date", "id_number", "source", nulls_last=True)
        .group_by("case_id", maintain_order=True)
        .agg(
            pl.col("street", "decided_date").first(),
            pl.col("id_number", "event_date", "source").first(),
            pl.len().alias("events"),
            pl.struct(
                "id_number", date_str(pl.col("event_date")).alias("event_date"), "source"
            ).alias("member_events"),
        )
    )
    more = (
        pl.when(pl.col("events") > 1)
        .then(pl.concat_str([pl.lit("等"), pl.col("events").cast(pl.String), pl.lit("条")]))
        .otherwise(pl.lit(""))
    )
    return rows.select(
        "case_id",
        "street",
        month_of(pl.col("event_date")).alias("month"),
        "id_number",
        pl.concat_str(
            [
                pl.lit("案件"),
                pl.col("case_id"),
                pl.lit("于"),
                date_str(pl.col("decided_date")),
                pl.lit("审批后，家庭成员于"),
                date_str(pl.col("event_date")),
                pl.lit(f"有{what}记录（来源："),
                pl.col("source").fill_null("部门共享信息"),
                pl.lit("）"),
                more,
                pl.lit(f"，请{action}。"),
            ]
        ).alias("summary"),
        pl.struct(
            date_str(pl.col("decided_date")).alias("decided_date"),
            pl.lit(event_type).alias("event_type"),
            "member_events",
        ).alias("evidence"),
    )


@check(
    title="就业参保待核查",
    family="dynamic",
    severity="中",
    keys=("case_id",),
    needs=("cases", "persons", "events"),
)
def employment_found(drop: Drop) -> pl.LazyFrame:
    """在册案件审批后，家庭成员出现就业参保记录，需核查家庭收入是否仍符合救助条件。"""
    return _member_events_after_decision(
        drop, "就业参保", "就业参保", "核查家庭收入变化，必要时调整或终止救助"
    )


@check(
    title="刑事处罚待核查",
    family="dynamic",
    severity="中",
    keys=("case_id",),
    needs=("cases", "persons", "events"),
)
def criminal_sanction_found(drop: Drop) -> pl.LazyFrame:
    """在册案件审批后，家庭成员出现刑事处罚记录，需核查服刑人员是否仍计入救助家庭。"""
    return _member_events_after_decision(
        drop, "刑事处罚", "刑事处罚", "核查服刑期间家庭人口与救助金额，必要时调整救助"
    )


# --- visits ------------------------------------------------------------------------------------


def visit_due(
    cases: pl.LazyFrame, visits: pl.LazyFrame, on: pl.Expr, cycles: dict[str, int]
) -> pl.LazyFrame:
    """``cases`` (case_id, decided_date, difficulty, ...) with ``last_visit`` (latest visit on or
    before ``on``), ``last`` (that visit, else decided_date), ``cycle_months`` and ``due``: last
    plus the cycle in calendar months, the day clamped to the month's end.

    ``on`` may be a column of ``cases`` (one cut-off date per row) or a literal date."""
    known = (
        cases.select("case_id", on.alias("_on"))
        .unique()
        .join(visits.select("case_id", "visit_date"), on="case_id", how="inner")
        .filter(pl.col("visit_date") <= pl.col("_on"))
        .group_by("case_id", "_on")
        .agg(pl.col("visit_date").max().alias("last_visit"), pl.len().alias("visits_to_date"))
    )
    cycle = pl.col("difficulty").fill_null(LOW).replace_strict(cycles, return_dtype=pl.Int64)
    return (
        cases.with_columns(on.alias("_on"))
        .join(known, on=["case_id", "_on"], how="left", validate="m:1")
        .with_columns(
            pl.coalesce("last_visit", "decided_date").alias("last"), cycle.alias("cycle_months")
        )
        .with_columns(
            pl.col("last").dt.offset_by(pl.format("{}mo", pl.col("cycle_months"))).alias("due")
        )
        .drop("_on")
    )


@check(
    title="探访逾期", family="dynamic", severity="低", keys=("case_id",), needs=("cases", "visits")
)
def visit_overdue(drop: Drop) -> pl.LazyFrame:
    """在册案件最近一次探访（无探访记录则自审批日起）加上按困难程度确定的探访周期已过期，未按期探访。"""
    as_of = pl.lit(drop.as_of)
    rows = (
        visit_due(active_cases(drop), drop["visits"], as_of, drop.settings.visit_cycle_months)
        .filter(pl.col("due") < as_of)
        .with_columns((as_of - pl.col("due")).dt.total_days().alias("days_overdue"))
    )
    since = (
        pl.when(pl.col("last_visit").is_not_null())
        .then(pl.concat_str([pl.lit("最近一次探访为"), date_str(pl.col("last_visit"))]))
        .otherwise(
            pl.concat_str(
                [pl.lit("无探访记录，自审批日"), date_str(pl.col("decided_date")), pl.lit("起算")]
            )
        )
    )
    return rows.select(
        "case_id",
        "street",
        month_of(pl.col("due") + timedelta(days=1)).alias("month"),
        pl.concat_str(
            [
                pl.lit("案件"),
                pl.col("case_id"),
                pl.lit("困难程度"),
                pl.col("difficulty").fill_null(f"未填（按{LOW}）"),
                pl.lit("，"),
                since,
                pl.lit("，按"),
                pl.col("cycle_months").cast(pl.String),
                pl.lit("个月周期应于"),
                date_str(pl.col("due")),
                pl.lit("前探访，至"),
                date_str(as_of),
                pl.lit("已逾期"),
                pl.col("days_overdue").cast(pl.String),
                pl.lit("天，请安排探访。"),
            ]
        ).alias("summary"),
        pl.struct(
            pl.col("difficulty"),
            "cycle_months",
            date_str(pl.col("last_visit")).alias("last_visit"),
            date_str(pl.col("decided_date")).alias("decided_date"),
            date_str(pl.col("due")).alias("due"),
            date_str(as_of).alias("as_of"),
            "days_overdue",
        ).alias("evidence"),
    )


# --- dishonesty ---------------------------------------------------------------------------------


@check(
    title="失信期内获批救助",
    family="dynamic",
    severity="中",
    keys=("case_id",),
    needs=("cases", "persons", "dishonesty"),
)
def blacklisted_recipient(drop: Drop) -> pl.LazyFrame:
    """案件获批（在册或已终止）时，家庭成员处于失信名单公布期内（含起止日），应核实审批依据。"""
    approved = (
        drop["cases"]
        .filter(pl.col("status").is_in(["在册", "终止"]))
        .select("case_id", "household_id", "street", "status", "decided_date")
    )
    records = drop["dishonesty"].select("id_number", "start_date", "end_date")
    rows = (
        approved.join(
            drop["persons"].select("id_number", "household_id"), on="household_id", how="inner"
        )
        .join(records, on="id_number", how="inner")
        .filter(
            pl.col("decided_date").is_between(
                pl.col("start_date"), pl.col("end_date"), closed="both"
            )
        )
        .sort("case_id", "start_date", "id_number", "end_date")
        .group_by("case_id", maintain_order=True)
        .agg(
            pl.col(
                "street", "status", "decided_date", "id_number", "start_date", "end_date"
            ).first(),
            pl.len().alias("records"),
            pl.struct(
                "id_number",
                date_str(pl.col("start_date")).alias("start_date"),
                date_str(pl.col("end_date")).alias("end_date"),
            ).alias("dishonesty"),
        )
    )
    return rows.select(
        "case_id",
        "street",
        month_of(pl.col("decided_date")).alias("month"),
        "id_number",
        pl.concat_str(
            [
                pl.lit("案件"),
                pl.col("case_id"),
                pl.lit("于"),
                date_str(pl.col("decided_date")),
                pl.lit("获批（现状态："),
                pl.col("status"),
                pl.lit("），当时家庭成员处于失信名单公布期（"),
                date_str(pl.col("start_date")),
                pl.lit("至"),
                date_str(pl.col("end_date")),
                pl.lit("），请核实审批依据。"),
            ]
        ).alias("summary"),
        pl.struct(
            date_str(pl.col("decided_date")).alias("decided_date"), "status", "dishonesty"
        ).alias("evidence"),
    )
