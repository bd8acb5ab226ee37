"""The whole table, indicators.csv: every indicator for each street office and the district,
for each period."""

from __future__ import annotations

from collections.abc import Collection

import polars as pl

from analytics.indicators.builders import BUILDERS, Context, Part, circle_parts
from analytics.indicators.definitions import AREAS, INDICATORS, unchecked_indicators
from analytics.indicators.periods import period_table
from analytics.indicators.scoring import composite_parts, with_values
from analytics.model import Drop
from analytics.schema import INDICATORS_COLUMNS, INDICATORS_SCHEMA


def compute(
    drop: Drop,
    findings: pl.DataFrame,
    workflow: pl.DataFrame | None = None,
    checks: Collection[str] | None = None,
) -> pl.DataFrame:
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

    ctx = Context(drop, findings, period_table(drop), workflow)
    skipped = [s.check_id for s in ordered() if s.skip_reason(drop)]
    unchecked = unchecked_indicators(checks, skipped)
    parts: dict[str, Part] = {
        name: None if name in unchecked else build(ctx) for name, build in BUILDERS.items()
    }
    parts.update(circle_parts(ctx))
    grid = pl.DataFrame({"street": AREAS}).join(ctx.periods.select("period"), how="cross")
    frames = []
    for ind in INDICATORS:
        if ind.name == "composite_score":
            continue
        part = parts[ind.name]
        rows = grid
        if part is None:
            rows = rows.with_columns(
                numerator=pl.lit(None, pl.Float64), denominator=pl.lit(None, pl.Float64)
            )
        else:
            rows = rows.join(part, on=["street", "period"], how="left")
            if ind.name.startswith("circle_"):
                rows = rows.filter(
                    pl.col("period").is_in(part["period"].unique().to_list() if part.height else [])
                )
            rows = rows.with_columns(pl.col("numerator", "denominator").fill_null(0.0))
        if not ind.has_denominator:
            rows = rows.with_columns(denominator=pl.lit(None, pl.Float64))
        frames.append(
            rows.select(
                "street",
                "period",
                pl.lit(ind.name).alias("indicator"),
                pl.col("numerator").cast(pl.Float64),
                pl.col("denominator").cast(pl.Float64),
            )
        )
    values = with_values(pl.concat(frames))
    composite = grid.join(
        composite_parts(values, drop.settings.indicator_weights),
        on=["street", "period"],
        how="left",
    ).select(
        "street",
        "period",
        pl.lit("composite_score").alias("indicator"),
        "numerator",
        "denominator",
    )
    out = pl.concat([values, with_values(composite)], how="diagonal_relaxed")
    street_rank = {s: i for i, s in enumerate(AREAS)}
    ind_rank = {i.name: k for k, i in enumerate(INDICATORS)}
    money = pl.col("indicator").is_in(["money_paid", "money_at_risk"])
    return (
        out.with_columns(
            pl.col("value").round(6),
            pl.when(money)
            .then(pl.col("numerator").round(2))
            .otherwise(pl.col("numerator").round(6))
            .alias("numerator"),
            pl.col("denominator").round(6),
        )
        .sort(
            pl.col("street").replace_strict(street_rank),
            "period",
            pl.col("indicator").replace_strict(ind_rank),
        )
        .select(INDICATORS_COLUMNS)
        .cast(pl.Schema(INDICATORS_SCHEMA))
    )
