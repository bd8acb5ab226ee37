"""The periods reported: months from the first payment month up to the as-of month, and the
quarters and years they fall in, each with its end date."""

from __future__ import annotations

import calendar as _cal
from datetime import date

import polars as pl

from analytics.model import Drop


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
    firsts = [
        drop[t].select(pl.col("month").min()).collect().item()
        for t in ("entitlements", "ledger")
        if t in drop.tables
    ]
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
    return pl.DataFrame(
        list(rows.values()),
        orient="row",
        schema={"period": pl.String, "level": pl.String, "end": pl.Date},
    )
