"""Process: approval within the statutory number of working days.

Working days come from the official calendar (``drop.calendar``, data/calendar): weekends off,
the State Council's holidays off, its make-up Saturdays and Sundays worked. A case the calendar
cannot judge (its deadline needs a year without a file) is left out and counted in the run's note.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from analytics.calendar import README as CALENDAR_README
from analytics.calendar import CalendarError, WorkdayCalendar
from analytics.model import Drop, DropError
from checks.common import date_str, month_of
from checks.registry import check

PENDING = "申请中"


class ApprovalCalendarError(DropError, CalendarError):
    """An approval verdict needs a year the working-day calendar does not know.

    Raised only by ``approval_assessment(drop, strict=True)``, for a caller that would rather stop
    than leave cases unjudged; a check run never raises it (it counts such cases in its note)."""


def approval_assessment(drop: Drop, *, strict: bool = False) -> pl.LazyFrame:
    """Every case whose approval can be judged, with its deadline and verdict.

    A case is judged on ``on_date``: its decided_date, or the as-of date while it is 申请中
    without one; other cases without a decided_date are left out. Columns: case_id, street,
    status, special_circumstance, accepted_date, decided_date, on_date, pending, working_days,
    deadline (null when it falls after the calendar's last year), overdue, overdue_workdays (null
    when on_date falls after the calendar's last year) and month (of the decision, or of the
    first overdue day of a pending case).

    Fails closed: a verdict is computed exactly from the known years when it can be (a case
    decided on or before 31 December of the last known year, whose deadline lies beyond it, is on
    time whatever next year's holidays are). A case whose verdict depends on a year the calendar
    does not know (accepted outside its years, or both the deadline and on_date after its last
    year) is not judged, never guessed from weekends alone: it is left out of this frame (and so of
    the check and of the on-time indicator), and :func:`unjudged_note` counts it. With
    ``strict`` such a case raises :class:`ApprovalCalendarError` naming the year to add instead.
    """
    frame = _assessed(drop)
    unknown = frame.filter(pl.col("needs_from").is_not_null())
    if strict and (found := unknown.collect()).height:
        needed: list[int] = found["needs_from"].to_list()
        year = min(needed)
        try:  # the calendar's own message says which file to add and how
            _calendar(drop).is_workday(date(year, 1, 1))
            how = ""
        except CalendarError as exc:
            how = str(exc)
        first = found.sort("case_id")["case_id"][0]
        raise ApprovalCalendarError(
            f"审批超时无法判定：{found.height} 件案件（如 {first}）的审批"
            f"时限需要 {year} 年的工作日历。{how}"
        )
    return frame.filter(pl.col("needs_from").is_null()).drop("needs_from", "needs_to")


def unjudged_approvals(drop: Drop) -> pl.LazyFrame:
    """The cases approval_assessment leaves out: case_id, street, and the first and last year
    (``needs_from``, ``needs_to``) the calendar would have to hold to judge them."""
    return (
        _assessed(drop)
        .filter(pl.col("needs_from").is_not_null())
        .select("case_id", "street", "needs_from", "needs_to")
    )


def unjudged_note(drop: Drop) -> str | None:
    """The run's note on the cases left unjudged for want of calendar years; None without any."""
    spans = (
        unjudged_approvals(drop)
        .group_by("needs_from", "needs_to")
        .agg(pl.len().alias("cases"))
        .collect()
    )
    if spans.height == 0:
        return None
    years = sorted(
        {
            y
            for first, last in spans.select("needs_from", "needs_to").iter_rows()
            for y in range(first, last + 1)
        }
    )
    runs = _runs(years)
    label = "、".join(f"{a}年" if a == b else f"{a}—{b}年" for a, b in runs)
    files = "、".join(f"{a}.csv" if a == b else f"{a}.csv 至 {b}.csv" for a, b in runs)
    which = "该年" if len(years) == 1 else "这些年份"
    return (
        f"{int(spans['cases'].sum())}件案件的审批期限需用到工作日历未收录的{label}，未判断"
        f"（不按周末推算）；请在 {_calendar(drop).folder_label()} 中按国务院办公厅节假日安排通知"
        f"补充{which}的日历文件（{files}，格式见 {CALENDAR_README}）"
    )


def _runs(years: list[int]) -> list[tuple[int, int]]:
    """Consecutive years as (first, last) spans: [2001, 2002, 2027] -> [(2001, 2002),
    (2027, 2027)]."""
    out: list[tuple[int, int]] = []
    for y in years:
        if out and out[-1][1] == y - 1:
            out[-1] = (out[-1][0], y)
        else:
            out.append((y, y))
    return out


def _calendar(drop: Drop) -> WorkdayCalendar:
    if drop.calendar is None:
        raise ValueError("approval checks need the working-day calendar (drop.calendar)")
    return drop.calendar


def _assessed(drop: Drop) -> pl.LazyFrame:
    return drop.memo("process.approval", lambda: _assess(drop))


def _assess(drop: Drop) -> pl.LazyFrame:
    cal = _calendar(drop)
    first_year, last_year = cal.years[0], cal.years[-1]
    first_day = date(first_year, 1, 1)
    last_day = date(last_year, 12, 31)
    last_ordinal = _ordinal(cal, last_day)
    settings = drop.settings
    n = (
        pl.when(pl.col("special_circumstance").is_not_null())
        .then(pl.lit(settings.approval_deadline_special_working_days))
        .otherwise(pl.lit(settings.approval_deadline_working_days))
    )
    pending = (pl.col("status") == PENDING) & pl.col("decided_date").is_null()
    # The calendar raises on any date outside its years, even in a row a when() discards, so
    # such dates are nulled before they reach it.
    accepted_known = pl.col("accepted_date").is_between(pl.lit(first_day), pl.lit(last_day))
    cases = (
        drop["cases"]
        .filter(pl.col("decided_date").is_not_null() | pending)
        .select(
            "case_id",
            "street",
            "status",
            "special_circumstance",
            "accepted_date",
            "decided_date",
            pl.coalesce("decided_date", pl.lit(drop.as_of)).alias("on_date"),
            pending.alias("pending"),
            n.cast(pl.Int64).alias("working_days"),
        )
        # Deciding on or before the day of acceptance can never be late.
        .with_columns((pl.col("on_date") > pl.col("accepted_date")).alias("_needs_calendar"))
        .with_columns(
            pl.when(accepted_known)
            .then(
                cal.workday_ordinal(pl.when(accepted_known).then(pl.col("accepted_date")))
                + pl.col("working_days")
            )
            .alias("_target")
        )
    )
    in_calendar = pl.col("_target") <= last_ordinal
    cases = cases.with_columns(
        cal.nth_workday_after(
            pl.when(in_calendar).then(pl.col("accepted_date")),
            pl.when(in_calendar).then(pl.col("working_days")),
        ).alias("deadline")
    )
    beyond = pl.col("_target") > last_ordinal  # deadline after the calendar's last day
    accepted_year = pl.col("accepted_date").dt.year()
    # The years the calendar would need, first and last; the calendar's years are consecutive,
    # so a date far from them needs every year between.
    before = pl.col("accepted_date") < pl.lit(first_day)
    after = (pl.col("accepted_date") > pl.lit(last_day)) | (
        beyond & (pl.col("on_date") > pl.lit(last_day))
    )
    needs_from = (
        pl.when(~pl.col("_needs_calendar"))
        .then(None)
        .when(before)
        .then(accepted_year)
        .when(after)
        .then(pl.lit(last_year + 1))
    )
    needs_to = (
        pl.when(~pl.col("_needs_calendar"))
        .then(None)
        .when(before)
        .then(pl.lit(first_year - 1))
        .when(after)
        .then(pl.max_horizontal(accepted_year, pl.lit(last_year + 1)))
    )
    # Working days past the deadline, when on_date is inside the calendar.
    counted = pl.col("overdue") & (pl.col("on_date") <= pl.lit(last_day))
    return (
        cases.with_columns(
            needs_from.cast(pl.Int32).alias("needs_from"),
            needs_to.cast(pl.Int32).alias("needs_to"),
            (pl.col("deadline").is_not_null() & (pl.col("on_date") > pl.col("deadline"))).alias(
                "overdue"
            ),
        )
        .with_columns(
            pl.when(counted)
            .then(
                cal.workday_ordinal(pl.when(counted).then(pl.col("on_date")))
                - cal.workday_ordinal(pl.when(counted).then(pl.col("deadline")))
            )
            .alias("overdue_workdays"),
            pl.when(pl.col("pending"))
            .then(month_of(pl.coalesce(pl.col("deadline") + timedelta(days=1), pl.col("on_date"))))
            .otherwise(month_of(pl.col("decided_date")))
            .alias("month"),
        )
        .drop("_needs_calendar", "_target")
    )


def _ordinal(cal: WorkdayCalendar, day: date) -> int:
    return int(pl.select(cal.workday_ordinal(pl.lit(day))).item())


@check(
    title="审批超时",
    family="process",
    severity="低",
    keys=("case_id",),
    needs=("cases",),
    note=unjudged_note,
)
def approval_overdue(drop: Drop) -> pl.LazyFrame:
    """审批日期晚于受理日后第20个工作日（有特殊情形的第45个），或至检查基准日超过时限仍未审批；工作日按国务院节假日安排（含调休）计算，审批期限需用到工作日历未收录年份的案件不作判断。

    A case whose verdict needs a year missing from the working-day calendar is neither passed nor
    guessed: it is left out, and the run's summary note counts such cases and names the years to
    add (:func:`unjudged_note`). Every other case, check and indicator still runs; only
    ``approval_assessment(drop, strict=True)`` raises :class:`ApprovalCalendarError` instead.
    """
    rows = approval_assessment(drop).filter(pl.col("overdue"))
    special = (
        pl.when(pl.col("special_circumstance").is_not_null())
        .then(pl.concat_str([pl.lit("（特殊情形："), pl.col("special_circumstance"), pl.lit("）")]))
        .otherwise(pl.lit(""))
    )
    late = (
        pl.when(pl.col("overdue_workdays") == 0)
        .then(pl.lit("晚于时限（该日为休息日，超期不足1个工作日）"))
        .when(pl.col("overdue_workdays").is_not_null())
        .then(
            pl.concat_str(
                [pl.lit("超期"), pl.col("overdue_workdays").cast(pl.String), pl.lit("个工作日")]
            )
        )
        .otherwise(pl.lit("已超期（超期工作日数待补充下一年工作日历后计算）"))
    )
    outcome = (
        pl.when(pl.col("pending"))
        .then(
            pl.concat_str([pl.lit("截至"), date_str(pl.col("on_date")), pl.lit("仍未审批，"), late])
        )
        .otherwise(
            pl.concat_str(
                [pl.lit("实际审批"), date_str(pl.col("decided_date")), pl.lit("，"), late]
            )
        )
    )
    return rows.select(
        "case_id",
        "street",
        "month",
        pl.concat_str(
            [
                pl.lit("案件"),
                pl.col("case_id"),
                special,
                pl.lit("受理日"),
                date_str(pl.col("accepted_date")),
                pl.lit("，第"),
                pl.col("working_days").cast(pl.String),
                pl.lit("个工作日为"),
                date_str(pl.col("deadline")),
                pl.lit("，"),
                outcome,
                pl.lit("。"),
            ]
        ).alias("summary"),
        pl.struct(
            date_str(pl.col("accepted_date")).alias("accepted_date"),
            "special_circumstance",
            "working_days",
            pl.lit("国务院办公厅节假日安排（含调休上班日），受理日不计").alias("calendar"),
            date_str(pl.col("deadline")).alias("deadline"),
            "status",
            date_str(pl.col("decided_date")).alias("decided_date"),
            date_str(pl.col("on_date")).alias("judged_on"),
            "overdue_workdays",
        ).alias("evidence"),
    )
