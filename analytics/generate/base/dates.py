"""Dates and months as the base builder computes them: month numbers (year * 12 + month - 1),
numpy day arithmetic, uniform draws of dates and working-day arithmetic over whole arrays; and
two small array helpers (text masked to null, rounding to a step).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import polars as pl

from analytics.calendar import WorkdayCalendar

NAT = np.datetime64("NaT", "D")


def period_months(end_month: str, n: int) -> list[str]:
    """The n months up to and including end_month, ascending, as 'YYYY-MM'."""
    y, m = (int(x) for x in end_month.split("-"))
    ym = y * 12 + m - 1
    return [f"{k // 12:04d}-{k % 12 + 1:02d}" for k in range(ym - n + 1, ym + 1)]


def month_end(month: str) -> date:
    y, m = (int(x) for x in month.split("-"))
    return date(y + m // 12, m % 12 + 1, 1) - timedelta(days=1)


def ym_of_days(d: np.ndarray) -> np.ndarray:
    """Month number (year * 12 + month - 1) of datetime64[D] values."""
    return d.astype("datetime64[M]").astype(np.int64) + 1970 * 12


def ym_of(month: str) -> int:
    """The month number of a 'YYYY-MM' month."""
    y, m = (int(x) for x in month.split("-"))
    return y * 12 + m - 1


def month_text(ym: np.ndarray | pl.Series) -> pl.Series:
    """Month numbers as 'YYYY-MM' text."""
    ym = pl.Series(ym, dtype=pl.Int64)
    return (ym // 12).cast(pl.String) + "-" + (ym % 12 + 1).cast(pl.String).str.zfill(2)


def month_start(ym: npt.ArrayLike) -> np.ndarray:
    """The first day of each month number, as datetime64[D]."""
    return (np.asarray(ym) - 1970 * 12).astype("datetime64[M]").astype("datetime64[D]")


def np_days(n: npt.ArrayLike) -> np.ndarray:
    """Whole days as numpy timedelta64[D] (a scalar or an array)."""
    return np.asarray(n, dtype=np.int64).astype("timedelta64[D]")


def np_day(value: date) -> np.datetime64:
    """A date as a numpy datetime64[D]."""
    return np.datetime64(value, "D")


def uniform_dates(
    rng: np.random.Generator, lo: npt.ArrayLike, hi: npt.ArrayLike, n: int
) -> np.ndarray:
    """Uniform dates in [lo, hi] (scalars or arrays of datetime64[D])."""
    span = (np.asarray(hi) - np.asarray(lo)).astype(np.int64) + 1
    return np.asarray(lo) + np_days((rng.random(n) * np.maximum(span, 1)).astype(np.int64))


def masked_text(values: np.ndarray, keep: np.ndarray) -> pl.Series:
    """Text values where keep, null elsewhere."""
    return pl.select(pl.when(pl.Series(keep)).then(pl.Series(values, dtype=pl.String))).to_series()


def round_to(values: np.ndarray, step: int) -> np.ndarray:
    """Rounded to a multiple of step, as integers."""
    return (np.round(values / step) * step).astype(np.int64)


class WorkdayArrays:
    """Vectorised working-day arithmetic on numpy dates."""

    def __init__(self, cal: WorkdayCalendar) -> None:
        self.cal = cal
        self.end = np_day(date(cal.years[-1], 12, 31))

    def nth(self, dates: np.ndarray, n: np.ndarray) -> np.ndarray:
        frame = pl.DataFrame(
            {
                "d": pl.Series(dates, dtype=pl.Date),
                "n": pl.Series(np.broadcast_to(n, len(dates)), dtype=pl.Int64),
            }
        )
        return frame.select(self.cal.nth_workday_after("d", "n")).to_series().to_numpy()

    def ordinal(self, dates: np.ndarray) -> np.ndarray:
        frame = pl.DataFrame({"d": pl.Series(dates, dtype=pl.Date)})
        return frame.select(self.cal.workday_ordinal("d")).to_series().to_numpy()

    def on_or_before(self, dates: np.ndarray) -> np.ndarray:
        """The last working day on or before each date."""
        lo = dates - np_days(20)
        return self.nth(lo, self.ordinal(dates) - self.ordinal(lo))

    def on_or_after(self, dates: np.ndarray) -> np.ndarray:
        return self.nth(dates - np_days(1), np.ones(len(dates), dtype=np.int64))

    def in_month(self, dates: np.ndarray) -> np.ndarray:
        """A working day near each date in the same month: the one before, else the one after."""
        back = self.on_or_before(dates)
        same = back.astype("datetime64[M]") == dates.astype("datetime64[M]")
        return np.where(same, back, self.on_or_after(dates))

    def is_workday(self, dates: np.ndarray) -> np.ndarray:
        return self.ordinal(dates) - self.ordinal(dates - np_days(1)) == 1

    def last_start(self, n: int) -> np.datetime64:
        """The latest date whose n-th working day after it is still in the calendar."""
        total = self.ordinal(np.array([self.end]))[0]
        days = self.end - np_days(np.arange(0, 200))
        ok = self.ordinal(days) + n <= total
        return days[np.argmax(ok)]


def add_months(d: date, n: int) -> date:
    """Calendar months added, the day clamped to the month's end."""
    ym = d.year * 12 + d.month - 1 + n
    y, m = ym // 12, ym % 12 + 1
    last = month_end(f"{y:04d}-{m:02d}").day
    return date(y, m, min(d.day, last))
