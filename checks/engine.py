"""Runs the registered checks over a drop and shapes their rows into findings (contract section 4).

Two shapes of result, never mixed: per-row findings with the fixed schema, and a per-check
summary (check_id, title, rows examined, findings, money at risk, skipped and why, and ``note``:
for a check that ran, what part of its rule it left unjudged and why; null when it judged all).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict

import polars as pl
from polars._typing import PolarsDataType

from analytics.model import Drop
from analytics.schema import FINDING_KEY_COLUMNS, FINDINGS_COLUMNS, FINDINGS_SCHEMA
from checks.common import plain_yuan
from checks.registry import FAMILIES, CheckSpec, select

SUMMARY_SCHEMA: dict[str, PolarsDataType] = {
    "check_id": pl.String,
    "title": pl.String,
    "family": pl.String,
    "severity": pl.String,
    "rows_examined": pl.Int64,
    "findings": pl.Int64,
    "amount_fen": pl.Int64,
    "skipped": pl.String,
    "note": pl.String,
}

Progress = Callable[[str, float], None]


class CheckSummary(TypedDict):
    """One row of a run's summary (SUMMARY_SCHEMA)."""

    check_id: str
    title: str
    family: str
    severity: str
    rows_examined: int
    findings: int
    amount_fen: int
    skipped: str | None
    note: str | None


@dataclass
class RunResult:
    findings: pl.DataFrame  # FINDINGS_COLUMNS plus finding_id, family, title, amount_fen
    summary: pl.DataFrame  # SUMMARY_SCHEMA

    def contract_findings(self) -> pl.DataFrame:
        return self.findings.select(FINDINGS_COLUMNS)


def finding_id(check_id: str, keys: dict[str, str | None]) -> str:
    """Stable across runs and months: a hash of the check id and its key columns' values."""
    raw = check_id + "".join(f"|{k}={keys.get(k) or ''}" for k in sorted(keys))
    return "F" + hashlib.sha1(raw.encode("utf-8")).hexdigest()[:16]


def finding_id_expr(check_id: str, keys: tuple[str, ...]) -> pl.Expr:
    """Vectorised :func:`finding_id` (same bytes hashed)."""
    parts: list[pl.Expr] = [pl.lit(check_id)]
    for k in sorted(keys):
        parts.append(pl.lit(f"|{k}="))
        parts.append(pl.col(k).cast(pl.String).fill_null(""))
    raw = pl.concat_str(parts)
    return raw.map_elements(
        lambda s: "F" + hashlib.sha1(s.encode("utf-8")).hexdigest()[:16],
        return_dtype=pl.String,
    )


def shape_findings(spec: CheckSpec, rows: pl.DataFrame) -> pl.DataFrame:
    """Add the common columns and order the rows deterministically."""
    missing_keys = [k for k in spec.keys if k not in rows.columns]
    if missing_keys:
        raise ValueError(f"{spec.check_id} returned no key columns {missing_keys}")
    for col in FINDING_KEY_COLUMNS:
        if col not in rows.columns:
            rows = rows.with_columns(pl.lit(None, dtype=pl.String).alias(col))
    if "amount_fen" not in rows.columns:
        rows = rows.with_columns(pl.lit(None, dtype=pl.Int64).alias("amount_fen"))
    if "evidence" not in rows.columns:
        rows = rows.with_columns(pl.lit(None, dtype=pl.String).alias("evidence"))
    fid = finding_id_expr(spec.check_id, spec.keys) if rows.height else pl.lit(None, pl.String)
    rows = rows.with_columns(
        [pl.col(c).cast(pl.String) for c in FINDING_KEY_COLUMNS]
        + [pl.col("amount_fen").cast(pl.Int64), fid.alias("finding_id")]
    )
    if isinstance(rows.schema["evidence"], pl.Struct):
        body = pl.col("evidence").struct.json_encode()
    else:
        body = pl.col("evidence").cast(pl.String)
    body = body.fill_null("{}")
    # The finding id travels inside evidence so that findings.csv keeps the contract's columns.
    joined = pl.concat_str(
        [
            pl.lit('{"finding_id":"'),
            pl.col("finding_id"),
            pl.lit('"'),
            pl.when(body == "{}")
            .then(pl.lit("}"))
            .otherwise(pl.concat_str([pl.lit(","), body.str.slice(1)])),
        ]
    )
    rows = rows.with_columns(
        pl.lit(spec.check_id).alias("check_id"),
        pl.lit(spec.severity).alias("severity"),
        plain_yuan(pl.col("amount_fen")).alias("amount"),
        joined.alias("evidence"),
        pl.lit(spec.family).alias("family"),
        pl.lit(spec.title).alias("title"),
    )
    out = rows.select(*FINDINGS_COLUMNS, "finding_id", "family", "title", "amount_fen")
    return out.unique(subset=["finding_id"], keep="first", maintain_order=True).sort(
        [*spec.keys, "finding_id"], nulls_last=True
    )


def empty_findings() -> pl.DataFrame:
    schema = dict(FINDINGS_SCHEMA)
    schema.update(finding_id=pl.String, family=pl.String, title=pl.String, amount_fen=pl.Int64)
    return pl.DataFrame(schema=schema)


def run_checks(
    drop: Drop, only: list[str] | None = None, progress: Progress | None = None
) -> RunResult:
    specs = select(only)
    frames: list[pl.DataFrame] = []
    summary: list[CheckSummary] = []
    for i, spec in enumerate(specs):
        if progress:
            progress(f"检查 {spec.title}（{spec.check_id}）", i / max(len(specs), 1))
        reason = spec.skip_reason(drop)
        if reason:
            summary.append(
                CheckSummary(
                    check_id=spec.check_id,
                    title=spec.title,
                    family=spec.family,
                    severity=spec.severity,
                    rows_examined=0,
                    findings=0,
                    amount_fen=0,
                    skipped=reason,
                    note=None,
                )
            )
            continue
        rows = spec.fn(drop).collect()
        shaped = shape_findings(spec, rows)
        frames.append(shaped)
        examined = drop[spec.needs[0]].select(pl.len()).collect().item()
        summary.append(
            CheckSummary(
                check_id=spec.check_id,
                title=spec.title,
                family=spec.family,
                severity=spec.severity,
                rows_examined=examined,
                findings=shaped.height,
                amount_fen=int(shaped.get_column("amount_fen").sum() or 0),
                skipped=None,
                note=spec.partial_reason(drop),
            )
        )
    if progress:
        progress("检查完成", 1.0)
    findings = pl.concat(frames, how="vertical") if frames else empty_findings()
    return RunResult(findings=findings, summary=pl.DataFrame(summary, schema=SUMMARY_SCHEMA))


def family_title(family: str) -> str:
    return FAMILIES[family]
