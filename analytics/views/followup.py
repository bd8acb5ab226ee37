"""回头看: what the follow-up loop is waiting for, by street office, as the page shows it and as
each street office gets it back to answer.

Built on analytics.workflow.followup (plain functions over the workflow's frames, read fresh from
the workspace): :func:`followup_view` is the one call the page makes; the ``*_table`` functions
give what the screen shows (Chinese headers, money in yuan), :func:`answer_sheets` what the Excel
workbook holds (each street's list with blank columns for the street to fill in). The findings'
sentences name no personal data; no ID number or account is listed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date

import polars as pl

from analytics import export, schema
from analytics.reference import Settings, load_settings
from analytics.workflow.followup import FollowupRules, followup_items, street_summary

# Rows a list on the page draws at most; the workbook holds them all.
MAX_ROWS = 2_000
ALL_STREETS = "全部街镇"
TOTAL = "合计"
SUMMARY_SHEET = "汇总"
# street_summary's counts, in the order the table and the chart show them.
COUNTS = {
    "open": "未办结",
    "overdue": "已超期",
    "rectified": "已整改待回头看",
    "recheck_due": "回头看已到期",
    "rechecked": "回头看通过",
    "recurred": "回头看复发",
    "exceptions_due": "免责将到期或已到期",
}
COUNT_HELP = {
    "open": "待核实、核实中、待处置、整改中和回头看复发的线索",
    "overdue": "未办结线索中已过核实或整改期限的",
    "rectified": "已整改、等待回头看的线索",
    "recheck_due": "已整改线索中已到回头看日期的",
    "rechecked": "回头看通过的线索",
    "recurred": "整改后被检查再次发现或回头看认定复发的线索",
    "exceptions_due": "容错免责已到期或将在提醒天数内到期的线索",
}
# The blank columns a street office fills in and sends back.
ANSWER_COLUMNS = ("核查结果", "说明")
_SHEET_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})


def rules_from(settings: Settings | None = None) -> FollowupRules:
    """The 回头看 rules of the settings' [workflow] section."""
    workflow = (settings or load_settings()).workflow
    return FollowupRules(
        recheck_after_months=workflow.recheck_after_months,
        exception_warning_days=workflow.exception_warning_days,
    )


@dataclass(frozen=True)
class FollowupView:
    today: date
    rules: FollowupRules
    tracked: int  # findings held in the workspace this viewer may see, any state
    items: pl.DataFrame  # followup_items with the check's title
    summary: pl.DataFrame  # street_summary, every street listed (ten streets first)


def _check_titles() -> dict[str, str]:
    from checks.registry import titles

    return titles()


def _street_order(street: pl.Expr) -> pl.Expr:
    order = {s: i for i, s in enumerate(schema.STREETS)}
    return street.replace_strict(order, default=len(order), return_dtype=pl.Int32)


def followup_view(
    findings: pl.DataFrame,
    history: pl.DataFrame,
    *,
    today: date,
    rules: FollowupRules | None = None,
    streets: Collection[str] | None = None,
) -> FollowupView:
    """Everything the 回头看 page shows, from the workflow's findings and history.

    ``streets``: the street offices this viewer may see; None: every one."""
    rules = rules or rules_from()
    if streets is not None:
        findings = findings.filter(pl.col("street").is_in(list(streets)))
        history = history.join(findings.select("finding_id"), on="finding_id", how="semi")
    items = followup_items(findings, history, today=today, rules=rules)
    titles = _check_titles()
    items = items.with_columns(
        pl.col("check_id")
        .replace_strict(titles, default=pl.col("check_id"), return_dtype=pl.String)
        .alias("title")
    )
    counted = street_summary(items)
    listed = (
        list(schema.STREETS)
        if streets is None
        else [s for s in schema.STREETS if s in set(streets)]
    )
    frame = pl.DataFrame({"street": listed}, schema={"street": pl.String})
    summary = (
        frame.join(counted, on="street", how="full", coalesce=True)
        .with_columns(pl.col(*COUNTS).fill_null(0).cast(pl.Int64))
        .sort(_street_order(pl.col("street")), pl.col("street"))
        .select("street", *COUNTS)
    )
    return FollowupView(
        today=today, rules=rules, tracked=findings.height, items=items, summary=summary
    )


def street_choices(view: FollowupView) -> list[str]:
    """The streets the page offers: 全部街镇, then each street that has an item."""
    present = set(view.items.get_column("street").to_list())
    return [ALL_STREETS, *(s for s in view.summary["street"].to_list() if s in present)]


def items_of(view: FollowupView, street: str | None = None) -> pl.DataFrame:
    """The items of one street (None or 全部街镇: all of them), in the service's order."""
    if street in (None, ALL_STREETS):
        return view.items
    return view.items.filter(pl.col("street") == street)


def _yes(flag: pl.Expr) -> pl.Expr:
    return pl.when(flag.fill_null(False)).then(pl.lit("是")).otherwise(pl.lit("否"))


def items_table(items: pl.DataFrame) -> pl.DataFrame:
    """One street's (or every street's) list as the screen and the workbook show it."""
    return items.select(
        pl.col("street").alias("街镇"),
        pl.col("stage").alias("阶段"),
        pl.col("deadline").alias("期限"),
        _yes(pl.col("overdue")).alias("超期"),
        pl.when(pl.col("warning")).then(pl.lit("免责即将到期")).otherwise(pl.lit("")).alias("提示"),
        pl.col("title").alias("检查项"),
        pl.col("month").alias("月份"),
        pl.col("case_id").alias("救助编号"),
        (pl.col("amount_fen") / 100).round(2).alias("涉及金额（元）"),
        pl.col("summary").alias("线索"),
        pl.coalesce("assignee_street", "assignee").alias("承办"),
        pl.when(pl.col("present"))
        .then(pl.lit("仍发现"))
        .otherwise(pl.lit("未再发现"))
        .alias("最近一次检查"),
        pl.col("finding_id").alias("编号"),
    )


def summary_table(summary: pl.DataFrame) -> pl.DataFrame:
    """street_summary with Chinese headers and a 合计 row."""
    if summary.height == 0:
        return pl.DataFrame(schema={"街镇": pl.String, **{t: pl.Int64 for t in COUNTS.values()}})
    total = summary.select(pl.lit(TOTAL).alias("street"), *(pl.col(c).sum() for c in COUNTS))
    return pl.concat([summary, total]).rename({"street": "街镇", **COUNTS})


def schedule(items: pl.DataFrame) -> pl.DataFrame:
    """The re-check schedule: rectified findings waiting for 回头看, by the date it is due
    (the rectification's completion date plus the settings' months), earliest first."""
    return items.filter(pl.col("state") == "rectified").sort(
        "deadline", _street_order(pl.col("street")), "finding_id", nulls_last=True
    )


def schedule_table(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.select(
        pl.col("deadline").alias("回头看日期"),
        pl.when(pl.col("overdue"))
        .then(pl.lit("已到期"))
        .otherwise(pl.lit("未到期"))
        .alias("是否到期"),
        pl.col("rectified_on").alias("整改完成日期"),
        pl.col("street").alias("街镇"),
        pl.col("title").alias("检查项"),
        pl.col("month").alias("月份"),
        pl.col("case_id").alias("救助编号"),
        pl.col("summary").alias("线索"),
        pl.col("finding_id").alias("编号"),
    )


def schedule_by_month(rows: pl.DataFrame) -> pl.DataFrame:
    """How many re-checks fall due in each month: 月份, 回头看数."""
    return (
        rows.filter(pl.col("deadline").is_not_null())
        .group_by(pl.col("deadline").dt.strftime("%Y-%m").alias("月份"))
        .agg(pl.len().cast(pl.Int64).alias("回头看数"))
        .sort("月份")
    )


# --- the workbook the street offices answer ------------------------------------------------------


def sheet_name(text: str, taken: Collection[str]) -> str:
    """``text`` as a worksheet name Excel accepts: none of []:*?/\\, no apostrophe at either
    end, at most 31 characters, unique (ignoring case) among ``taken``."""
    base = (text or "").translate(_SHEET_FORBIDDEN).strip("'").strip() or "街镇"
    lower = {t.lower() for t in taken}
    name, n = base[:31], 1
    while name.lower() in lower or name.lower() == "history":
        n += 1
        suffix = f"_{n}"
        name = base[: 31 - len(suffix)] + suffix
    return name


def answer_table(items: pl.DataFrame) -> pl.DataFrame:
    """One street's list as the street gets it: the page's columns, then blank columns for the
    result of its check and a note."""
    return items_table(items).with_columns(
        *(pl.lit(None, dtype=pl.String).alias(c) for c in ANSWER_COLUMNS)
    )


def answer_sheets(view: FollowupView, street: str | None = None) -> dict[str, pl.DataFrame]:
    """The workbook: the counts by street, then one sheet per street with items (only the
    chosen one when ``street`` names one), each to be filled in by that street office."""
    chosen = [s for s in street_choices(view)[1:] if street in (None, ALL_STREETS, s)]
    summary = (
        view.summary
        if street in (None, ALL_STREETS)
        else view.summary.filter(pl.col("street") == street)
    )
    sheets: dict[str, pl.DataFrame] = {SUMMARY_SHEET: summary_table(summary)}
    for name in chosen:
        sheets[sheet_name(name, sheets)] = answer_table(items_of(view, name))
    return sheets


def answer_excel(view: FollowupView, street: str | None = None) -> bytes:
    return export.excel_bytes(answer_sheets(view, street))


def counts_of(summary: pl.DataFrame, street: str | None = None) -> Mapping[str, int]:
    """The counts of one street (None or 全部街镇: the total), by column of street_summary."""
    rows = summary if street in (None, ALL_STREETS) else summary.filter(pl.col("street") == street)
    return {c: int(rows[c].sum()) for c in COUNTS}
