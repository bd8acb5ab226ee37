"""Build a typed Drop from a few inline rows: for tests, examples and the docs.

Rows give contract columns by name; absent columns are null. Dates and months are ISO text,
money is fen (int). Address columns get their normalised twin from analytics.parse when it is
available.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

import polars as pl
from polars._typing import PolarsDataType

from analytics.model import Drop
from analytics.reference import load_catalogue, load_settings
from analytics.schema import REQUIRED_TABLES, TABLES, polars_schema

if TYPE_CHECKING:
    from analytics.calendar import WorkdayCalendar


def typed_frame(table: str, rows: Sequence[Mapping[str, object]]) -> pl.DataFrame:
    schema = polars_schema(table)
    base: dict[str, PolarsDataType] = {c: pl.String for c in schema}
    for c, t in schema.items():
        if t == pl.Int64:
            base[c] = pl.Int64
    raw = pl.DataFrame([{c: r.get(c) for c in base} for r in rows], schema=base, orient="row")
    exprs: list[pl.Expr] = []
    for c, t in schema.items():
        if t == pl.Date:
            exprs.append(pl.col(c).str.to_date("%Y-%m-%d"))
        else:
            exprs.append(pl.col(c).cast(t))
    frame = raw.with_columns(exprs)
    for col in TABLES[table].columns:
        if col.type == "address":
            frame = frame.with_columns(
                _normalise_address(pl.col(col.name)).alias(f"{col.name}_norm")
            )
    return frame


def _normalise_address(expr: pl.Expr) -> pl.Expr:
    try:
        from analytics.parse import address_expr
    except ImportError:  # pragma: no cover - the parser module is part of the package
        return expr
    return address_expr(expr)


def mini_drop(
    as_of: str = "2026-03-31",
    calendar: WorkdayCalendar | None = None,
    **tables: Sequence[Mapping[str, object]],
) -> Drop:
    """A Drop with the given tables; required tables not given are present and empty."""
    frames = {name: typed_frame(name, rows) for name, rows in tables.items()}
    for name in REQUIRED_TABLES:
        frames.setdefault(name, typed_frame(name, []))
    if calendar is None:
        try:
            from analytics.calendar import WorkdayCalendar

            calendar = WorkdayCalendar.load()
        except ImportError:  # pragma: no cover
            calendar = None
    return Drop(
        tables={k: v.lazy() for k, v in frames.items()},
        settings=load_settings(),
        catalogue=load_catalogue(),
        as_of=date.fromisoformat(as_of),
        calendar=calendar,
    )
