"""What planters take from the built base: households plain enough to plant a defect on
(``plain_households``), identifiers nobody uses yet (``fresh_*``), serial and batch numbers in
the base's style, and the district's size to scale how many defects to plant.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from analytics import schema
from analytics.generate import ids
from analytics.generate.base.dates import np_day, uniform_dates
from analytics.generate.base.plan import ONE_OFF, SMALL, STREETS
from analytics.generate.core import PlantContext
from analytics.parse import address_column


def district_size(ctx: PlantContext) -> int:
    """Households with a case: the scale planters use for how many cases to plant."""
    return ctx.tables["cases"]["household_id"].n_unique()


def plain_households(ctx: PlantContext) -> pl.DataFrame:
    """Unclaimed households with exactly one active case of a regular monthly item that was paid
    every month of the period exactly once, to its registered account held by the applicant,
    with no back pay, returned payment, custodian, event, filing or dishonesty record. Sorted by
    case_id; sample from it with ctx.rng.

    Columns: household_id, case_id, street, applicant_id_number, account_no, assistance_type,
    item, fund_code, monthly_amount (fen), decided_date, difficulty, handler_id, reviewer_id,
    approver_id.
    """
    t = ctx.tables
    cases = t["cases"]
    per_hh = cases.group_by("household_id").len()
    single = per_hh.filter(pl.col("len") == 1)["household_id"]
    ent = t["entitlements"]
    led = t["ledger"]
    n_months = len(ctx.months)
    ent_ok = (
        ent.group_by("case_id")
        .agg(n=pl.len(), normal=(pl.col("kind") == "正常").all(), months=pl.col("month").n_unique())
        .filter((pl.col("n") == n_months) & pl.col("normal") & (pl.col("months") == n_months))[
            "case_id"
        ]
    )
    led_cases = led.filter(pl.col("case_id").is_not_null())
    led_ok = (
        led_cases.group_by("case_id")
        .agg(n=pl.len(), ok=(pl.col("status") == "成功").all(), months=pl.col("month").n_unique())
        .filter((pl.col("n") == n_months) & pl.col("ok") & (pl.col("months") == n_months))[
            "case_id"
        ]
    )
    persons = t["persons"]
    flagged_ids = pl.concat(
        [
            t[name][col]
            for name, col in (
                ("events", "id_number"),
                ("dishonesty", "id_number"),
                ("relative_filings", "relative_id_number"),
            )
            if name in t
        ]
    )
    flagged_hh = persons.filter(pl.col("id_number").is_in(flagged_ids.implode()))["household_id"]
    staff_ids = t["staff"]["id_number"]
    staff_hh = persons.filter(pl.col("id_number").is_in(staff_ids.implode()))["household_id"]
    excluded = list(ctx.claimed_households) + flagged_hh.to_list() + staff_hh.to_list()
    cat = ctx.catalogue.select("assistance_type", "item", "fund_code")
    acc = t["accounts"].select("case_id", "account_no", "holder_id_number", "custodian_id_number")
    shared_acc = acc.group_by("account_no").len().filter(pl.col("len") > 1)["account_no"]
    return (
        cases.filter(
            pl.col("status") == "在册",
            pl.col("household_id").is_in(single.implode()),
            ~pl.col("household_id").is_in(pl.Series(excluded, dtype=pl.String).implode()),
            pl.col("case_id").is_in(ent_ok.implode()),
            pl.col("case_id").is_in(led_ok.implode()),
            ~pl.col("assistance_type").is_in([ONE_OFF, SMALL]),
        )
        .join(cat, on="assistance_type", how="inner", validate="m:1")
        .join(acc, on="case_id", how="inner", validate="1:1")
        .filter(
            pl.col("holder_id_number") == pl.col("applicant_id_number"),
            pl.col("custodian_id_number").is_null(),
            ~pl.col("account_no").is_in(shared_acc.implode()),
        )
        .select(
            "household_id",
            "case_id",
            "street",
            "applicant_id_number",
            "account_no",
            "assistance_type",
            "item",
            "fund_code",
            "monthly_amount",
            "decided_date",
            "difficulty",
            "handler_id",
            "reviewer_id",
            "approver_id",
        )
        .sort("case_id")
    )


_PLANTED_TXN_BASE = 90_000_000


def fresh_txn_id(ctx: PlantContext, pay_date: date) -> str:
    """A new serial number of the pay date that sorts after every base serial of that day."""
    serial = int(ctx.serial(""))
    return f"LS{pay_date:%Y%m%d}{_PLANTED_TXN_BASE + serial:08d}"


def batch_id(month: str, street: str) -> str:
    code = STREETS.index(street) + 1 if street in STREETS else 0
    return f"PC{month.replace('-', '')}{code:02d}"


def _used_accounts(ctx: PlantContext) -> np.ndarray:
    t = ctx.tables
    parts = [
        t["accounts"]["account_no"],
        t["ledger"]["account_no"],
        t["entitlements"]["account_no"],
        t["staff"]["salary_account"],
    ]
    if "custody_filings" in t:
        parts.append(t["custody_filings"]["account_no"])
    return ids.account_keys_of(pl.concat([p.cast(pl.String) for p in parts]))


def fresh_accounts(ctx: PlantContext, n: int) -> list[tuple[str, str]]:
    """n (account_no, bank) pairs used nowhere in the tables."""
    keys, bank = ids.account_keys(ctx.rng, n, taken=_used_accounts(ctx))
    return list(
        zip(ids.account_strings(keys).to_list(), ids.bank_names(bank).to_list(), strict=True)
    )


def _used_ids(ctx: PlantContext) -> np.ndarray:
    parts = [
        frame[col.name]
        for table, frame in ctx.tables.items()
        for col in schema.TABLES[table].columns
        if col.type in ("id18", "payee") and col.name in frame.columns
    ]
    return ids.id_body_keys(pl.concat(parts))


def fresh_person_ids(
    ctx: PlantContext, n: int, born: tuple[int, int] = (1955, 1995), male: bool | None = None
) -> list[str]:
    """n resident ID numbers (Changning) that appear nowhere in the tables."""
    rng = ctx.rng
    birth = uniform_dates(rng, np_day(date(born[0], 1, 1)), np_day(date(born[1], 12, 31)), n)
    sex = rng.random(n) < 0.5 if male is None else np.full(n, male)
    body = ids.id_bodies(rng, birth, np.full(n, ids.CHANGNING), sex, taken=_used_ids(ctx))
    return ids.id_strings(body).to_list()


def fresh_names(ctx: PlantContext, n: int) -> list[str]:
    rng = ctx.rng
    return (ids.surnames(rng, n) + ids.given_names(rng, rng.random(n) < 0.5)).to_list()


def fresh_phones(ctx: PlantContext, n: int) -> list[str]:
    """n mobile numbers nobody in persons or staff has."""
    t = ctx.tables
    used = ids.phone_keys_of(pl.concat([t["persons"]["phone"], t["staff"]["phone"]]))
    return ids.phone_strings(ids.phone_keys(ctx.rng, n, 0.0, taken=used)).to_list()


def fresh_addresses(ctx: PlantContext, street: str, n: int) -> list[str]:
    """n addresses in the street whose normalised form nobody in persons or staff has."""
    t = ctx.tables
    used = set(
        pl.concat([t["persons"]["address_norm"], t["staff"]["address_norm"]]).drop_nulls().to_list()
    )
    out: list[str] = []
    while len(out) < n:
        keys = ids.address_keys(ctx.rng, np.full(n, STREETS.index(street)))
        cand = ids.address_strings(ctx.rng, keys)
        norm, _ = address_column(cand)
        for a, k in zip(cand.to_list(), norm.to_list(), strict=True):
            if k not in used and len(out) < n:
                used.add(k)
                out.append(a)
    return out
