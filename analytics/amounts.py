"""涉及金额: the one definition of the money a set of findings puts at risk.

Every page, export, report and the CLI add up money at risk through :func:`at_risk_rows` or
:func:`money_at_risk_fen`, so the figure a supervisor reads on 线索清单 is the figure on 资金比对
(for the same findings), in the CLI and in the yearly PDF:

- findings without an amount count nothing;
- 汇总金额不符 (``control_total_mismatch``) is a street-month-item total of payments other
  findings already count row by row, so it is left out (its own amount stays on its row, as
  evidence);
- one ledger row (``txn_id``) flagged by several checks counts once, at its largest amount.

:data:`HELP` says this in a sentence for a figure's help text.
"""

from __future__ import annotations

import polars as pl

#: Checks whose amount is a total of money other findings count row by row.
TOTALS_ONLY: frozenset[str] = frozenset({"control_total_mismatch"})

HELP = (
    "涉及金额：各条线索涉及金额的合计。同一笔流水被多项检查命中只计一次（取最大）；"
    "“汇总金额不符”是其他线索所涉流水的汇总，不再重复计入。"
)


def at_risk_rows(findings: pl.DataFrame | pl.LazyFrame, amount: str = "amount_fen") -> pl.LazyFrame:
    """The rows of ``findings`` whose ``amount`` (fen) is counted in 涉及金额: one per ledger
    row, plus every finding with an amount and no ledger row; 汇总金额不符 left out."""
    frame = findings.lazy()
    f = frame.filter(~pl.col("check_id").is_in(list(TOTALS_ONLY)) & pl.col(amount).is_not_null())
    if "txn_id" not in frame.collect_schema().names():
        return f
    per_txn = (
        f.filter(pl.col("txn_id").is_not_null())
        .sort("txn_id", pl.col(amount), "check_id", descending=[False, True, False])
        .unique("txn_id", keep="first")
    )
    return pl.concat([per_txn, f.filter(pl.col("txn_id").is_null())])


def money_at_risk_fen(findings: pl.DataFrame | pl.LazyFrame, amount: str = "amount_fen") -> int:
    """涉及金额 of ``findings`` in fen."""
    total = at_risk_rows(findings, amount).select(pl.col(amount).sum()).collect().item()
    return int(total or 0)


def counted(findings: pl.DataFrame, amount: str = "amount_fen") -> pl.Series:
    """Per row of ``findings``: whether its amount is counted in 涉及金额 (the row kept for its
    ledger row, not a total), for tables that show the amount of each finding."""
    if findings.is_empty():
        return pl.Series("counted", [], dtype=pl.Boolean)
    keyed = findings.with_row_index("__row")
    kept = at_risk_rows(keyed, amount).select("__row").collect()["__row"]
    return keyed["__row"].is_in(kept.implode()).alias("counted")
