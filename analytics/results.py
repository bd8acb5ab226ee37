"""Reading what a check run wrote, for the pages and exports."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from analytics.export import restore_expr
from analytics.schema import FINDING_KEY_COLUMNS, FINDINGS_SCHEMA, INDICATORS_SCHEMA


def load_findings(out_dir: Path) -> pl.DataFrame:
    """findings.csv with ``finding_id`` (from evidence), ``family``, ``title`` and
    ``amount_fen`` added; an empty frame of that shape when there is no run yet."""
    from checks.registry import ordered

    specs = pl.DataFrame(
        [(s.check_id, s.family, s.title) for s in ordered()],
        schema={"check_id": pl.String, "family": pl.String, "title": pl.String},
        orient="row",
    )
    path = Path(out_dir) / "findings.csv"
    if path.exists():
        frame = pl.read_csv(path, schema=FINDINGS_SCHEMA)
    else:
        frame = pl.DataFrame(schema=FINDINGS_SCHEMA)
    # The file's formula-like text carries the apostrophe written against spreadsheets; the
    # pages look rows up by these values, so they get the values back.
    keys = [c for c in FINDING_KEY_COLUMNS if c in frame.columns] + ["summary"]
    frame = frame.with_columns(restore_expr(pl.col(c)).alias(c) for c in keys)
    return frame.with_columns(
        pl.col("evidence").str.extract(r'"finding_id":"([^"]*)"').alias("finding_id"),
        (pl.col("amount").cast(pl.Decimal(18, 2)) * 100).cast(pl.Int64).alias("amount_fen"),
    ).join(specs, on="check_id", how="left", validate="m:1")


def load_indicators(out_dir: Path) -> pl.DataFrame:
    path = Path(out_dir) / "indicators.csv"
    if not path.exists():
        return pl.DataFrame(schema=INDICATORS_SCHEMA)
    return pl.read_csv(path, schema=INDICATORS_SCHEMA)


def load_check_summary(out_dir: Path) -> pl.DataFrame:
    """checks.csv in SUMMARY_SCHEMA. A summary written before a column existed (``note``) reads
    with that column blank."""
    from checks.engine import SUMMARY_SCHEMA

    path = Path(out_dir) / "checks.csv"
    if not path.exists():
        return pl.DataFrame(schema=SUMMARY_SCHEMA)
    frame = pl.read_csv(path, infer_schema=False)
    return frame.select(
        [
            (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in SUMMARY_SCHEMA.items()
        ]
    )
