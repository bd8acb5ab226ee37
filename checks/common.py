"""Expressions and frames shared by the rules: formatting for the Chinese sentences, and the
terms of contract section 5 (paid rows, in-scope rows, household members, recipients)."""

from __future__ import annotations

import polars as pl

from analytics.model import Drop

SERVICE_ITEM = "服务类救助"
SMALL_ITEM = "小金额救助金"


# --- formatting -------------------------------------------------------------------------------


def yuan(fen: pl.Expr) -> pl.Expr:
    """Fen as a yuan amount with thousands separators: 155000 -> '1,550.00'."""
    a = fen.abs()
    whole = (a // 100).cast(pl.String).str.zfill(18)
    groups = pl.concat_str([whole.str.slice(i, 3) for i in range(0, 18, 3)], separator=",")
    whole = groups.str.strip_chars_start("0,")
    whole = pl.when(whole == "").then(pl.lit("0")).otherwise(whole)
    cents = (a % 100).cast(pl.String).str.zfill(2)
    sign = pl.when(fen < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str([sign, whole, pl.lit("."), cents])


def plain_yuan(fen: pl.Expr) -> pl.Expr:
    """Fen as a plain yuan amount for the findings' amount column: 155000 -> '1550.00'."""
    a = fen.abs()
    sign = pl.when(fen < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str(
        [sign, (a // 100).cast(pl.String), pl.lit("."), (a % 100).cast(pl.String).str.zfill(2)]
    )


def month_zh(month: pl.Expr) -> pl.Expr:
    """'2026-03' -> '2026年3月'."""
    return pl.concat_str(
        [
            month.str.slice(0, 4),
            pl.lit("年"),
            month.str.slice(5, 2).cast(pl.Int32).cast(pl.String),
            pl.lit("月"),
        ]
    )


def date_str(d: pl.Expr) -> pl.Expr:
    return d.dt.strftime("%Y-%m-%d")


def month_of(d: pl.Expr) -> pl.Expr:
    return d.dt.strftime("%Y-%m")


def due_date(month: pl.Expr, due_day: int) -> pl.Expr:
    """The day by which a month's batch is due: '2026-03' with 15 -> 2026-03-15."""
    return pl.date(
        month.str.slice(0, 4).cast(pl.Int32), month.str.slice(5, 2).cast(pl.Int32), due_day
    )


# --- contract terms -----------------------------------------------------------------------------


def paid_rows(drop: Drop) -> pl.LazyFrame:
    """Ledger rows with status 成功; 退票 rows count as not paid."""
    return drop["ledger"].filter(pl.col("status") == "成功")


def with_scope(drop: Drop) -> pl.LazyFrame:
    """Paid rows with ``in_scope`` and, for out-of-scope rows, ``scope_reason``.

    In scope: a catalogue item, paid under that item's fund code, and for 服务类救助 to a
    registered provider of that item.

    Without the optional ``providers`` table the provider clause is left out, never judged as
    failing: a 服务类救助 row is judged on its item and fund code only, and one that passes them is
    in scope (a provider payment, for paid_without_entitlement). The run says so through
    out_of_scope_spending's ``partial`` note."""
    cat = drop.catalogue.lazy().select("item", pl.col("fund_code").alias("catalogue_fund_code"))
    paid = paid_rows(drop).join(cat, on="item", how="left", validate="m:1")
    if "providers" in drop.tables:
        providers = (
            drop["providers"]
            .filter(pl.col("items").str.split(";").list.contains(SERVICE_ITEM))
            .select(pl.col("uscc").alias("payee_id"), pl.lit(True).alias("_provider"))
            .unique("payee_id")
        )
        paid = paid.join(providers, on="payee_id", how="left", validate="m:1")
        unregistered = (pl.col("item") == SERVICE_ITEM) & pl.col("_provider").is_null()
    else:
        paid = paid.with_columns(pl.lit(None, dtype=pl.Boolean).alias("_provider"))
        unregistered = pl.lit(False)
    reason = (
        pl.when(pl.col("catalogue_fund_code").is_null())
        .then(pl.lit("救助项目不在目录内"))
        .when(pl.col("fund_code") != pl.col("catalogue_fund_code"))
        .then(
            pl.concat_str(
                [
                    pl.lit("资金科目应为"),
                    pl.col("catalogue_fund_code"),
                    pl.lit("，实为"),
                    pl.col("fund_code"),
                ]
            )
        )
        .when(unregistered)
        .then(pl.lit("收款方不是登记的服务类救助机构"))
    )
    return (
        paid.with_columns(reason.alias("scope_reason"))
        .with_columns(pl.col("scope_reason").is_null().alias("in_scope"))
        .drop("_provider")
    )


def in_scope_paid(drop: Drop) -> pl.LazyFrame:
    return with_scope(drop).filter(pl.col("in_scope")).drop("in_scope", "scope_reason")


def deaths(drop: Drop) -> pl.LazyFrame:
    """id_number, death_date, death_source: the earliest 死亡 event of each person."""
    return (
        drop["events"]
        .filter(pl.col("event_type") == "死亡")
        .sort("event_date", "source", nulls_last=True)
        .group_by("id_number")
        .agg(
            pl.col("event_date").first().alias("death_date"),
            pl.col("source").first().alias("death_source"),
        )
    )


def members(drop: Drop) -> pl.LazyFrame:
    """household_id, id_number of every person."""
    return drop["persons"].select("household_id", "id_number")


def recipients(drop: Drop) -> pl.LazyFrame:
    """Persons of households with an active (在册) case."""
    active = drop["cases"].filter(pl.col("status") == "在册").select("household_id").unique()
    return drop["persons"].join(active, on="household_id", how="semi")
