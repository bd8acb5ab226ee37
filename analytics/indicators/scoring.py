"""The composite score: each indicator as a 0–100 score, their weighted mean, and the table
corrected for the families of checks a run did not include."""

from __future__ import annotations

from collections.abc import Collection

import polars as pl

from analytics import reference
from analytics.indicators.definitions import (
    BY_NAME,
    DISTRICT,
    FAMILY_LEADS,
    INDICATORS,
    unchecked_indicators,
)


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
            x = (
                pl.when(pl.col("denominator") > 0).then(pl.col("numerator") / pl.col("denominator"))
                if name in FAMILY_LEADS
                else pl.col("value")
            )
            rows = rows.with_columns(x.alias("x"))
            worst = (
                rows.filter(pl.col("street") != DISTRICT)
                .group_by("period")
                .agg(pl.col("x").max().alias("worst"))
            )
            rows = rows.join(worst, on="period", how="left")
            score = (
                pl.when(pl.col("x").is_null())
                .then(None)
                .when(pl.col("worst") <= 0)
                .then(100.0)
                .otherwise(100 * (1 - pl.col("x") / pl.col("worst")))
            )
        parts.append(
            rows.select("street", "period", "indicator", score.cast(pl.Float64).alias("score"))
        )
    if not parts:
        return pl.DataFrame(
            schema={
                "street": pl.String,
                "period": pl.String,
                "indicator": pl.String,
                "score": pl.Float64,
            }
        )
    return pl.concat(parts)


def composite_parts(values: pl.DataFrame, weights: dict[str, float]) -> pl.DataFrame:
    """street, period, numerator, denominator of the composite score from the other values."""
    unknown = [k for k in weights if k not in scored_names()]
    if unknown:
        raise ValueError(
            "设置文件 [indicators.weights] 中有无法计分的指标："
            + "、".join(unknown)
            + "；可用："
            + "、".join(scored_names())
        )
    weight = pl.col("indicator").replace_strict(weights, return_dtype=pl.Float64)
    return (
        component_scores(values, list(weights))
        .filter(pl.col("score").is_not_null())
        .with_columns(weight.alias("weight"))
        .group_by("street", "period")
        .agg(
            (pl.col("score") * pl.col("weight")).sum().alias("numerator"),
            pl.col("weight").sum().alias("denominator"),
        )
    )


def with_values(long: pl.DataFrame) -> pl.DataFrame:
    unit = pl.col("indicator").replace_strict({i.name: i.unit for i in INDICATORS})
    ratio = pl.when(pl.col("denominator") > 0).then(pl.col("numerator") / pl.col("denominator"))
    value = (
        pl.when(unit.is_in(["比率", "分"]))
        .then(ratio)
        .when(unit == "每千笔")
        .then(ratio * 1000)
        .otherwise(pl.col("numerator"))
    )
    return long.with_columns(value.alias("value"))


def blank_unchecked(
    table: pl.DataFrame,
    checks: Collection[str] | None,
    skipped: Collection[str] = (),
    weights: dict[str, float] | None = None,
) -> pl.DataFrame:
    """indicators.csv with the indicators of families a run did not check blank (value,
    numerator and denominator), and the composite score recomputed without them. A table
    computed with the run's checks (compute(..., checks=...)) comes back unchanged; one written
    before (where a family not run counted 0 findings and scored 100) is corrected."""
    names = list(unchecked_indicators(checks, skipped))
    target = pl.col("indicator").is_in(names)
    if not names or table.filter(target & pl.col("numerator").is_not_null()).is_empty():
        return table
    blank = table.with_columns(
        *(
            pl.when(target).then(None).otherwise(pl.col(c)).alias(c)
            for c in ("value", "numerator", "denominator")
        )
    )
    weights = weights if weights is not None else reference.load_settings().indicator_weights
    others = blank.filter(pl.col("indicator") != "composite_score")
    composite = (
        blank.filter(pl.col("indicator") == "composite_score")
        .select("street", "period", "indicator")
        .join(composite_parts(others, weights), on=["street", "period"], how="left")
    )
    scores = with_values(composite).select(
        "street", "period", "indicator", "value", "numerator", "denominator"
    )
    return (
        blank.join(scores, on=["street", "period", "indicator"], how="left", suffix="_new")
        .with_columns(
            *(
                pl.when(pl.col("indicator") == "composite_score")
                .then(pl.col(f"{c}_new"))
                .otherwise(pl.col(c))
                .alias(c)
                for c in ("value", "numerator", "denominator")
            )
        )
        .with_columns(
            pl.col("value").round(6), pl.col("numerator").round(6), pl.col("denominator").round(6)
        )
        .select(table.columns)
        .cast(table.schema)
    )


def left_out(values: pl.DataFrame, weights: dict[str, float] | None = None) -> pl.DataFrame:
    """street, period, left_out: the weighted indicators the composite score of each street and
    period did not count (no value: not computed, not checked, or no denominator), as a list of
    indicator names in the order of the weights."""
    weights = weights if weights is not None else reference.load_settings().indicator_weights
    names = [n for n in weights if n in BY_NAME]
    order = {n: i for i, n in enumerate(names)}
    missing = (
        values.filter(pl.col("indicator").is_in(names))
        .filter(pl.col("value").is_null())
        .sort(pl.col("indicator").replace_strict(order, return_dtype=pl.Int32))
        .group_by("street", "period", maintain_order=True)
        .agg(pl.col("indicator").alias("left_out"))
    )
    return (
        values.select("street", "period")
        .unique(maintain_order=True)
        .join(missing, on=["street", "period"], how="left")
        .with_columns(pl.col("left_out").fill_null(pl.lit([], pl.List(pl.String))))
    )
