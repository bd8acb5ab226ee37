"""Integrity plants of bank cards kept by a custodian: kept without a valid filing (a member,
an expired filing, a filing naming someone else) and one custodian keeping the cards of many
households, with the look-alikes on the edges (a filing valid until the as-of date or made
on it, a custodian just below the threshold).
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from analytics.generate.kit import Kit, one_plant


def custody_not_filed(kit: Kit) -> None:
    ctx = kit.ctx
    as_of = ctx.as_of
    variants = ("member", "expired", "other_custodian")
    for i in range(max(kit.n, len(variants))):
        order = variants[i % len(variants) :] + variants[: i % len(variants)]

        def plant(how: str) -> None:
            if how == "member":
                h = kit.take(pl.col("adult_others").list.len() >= 1)
                keeper = h["adult_others"][0]
                name = kit.name_of(keeper)
            else:
                h = kit.take()
                keeper, name = kit.outsider()
            acc = h["account_no"]
            kit.edits.update(
                "accounts", "case_id", h["case_id"], custodian_id_number=keeper, custodian_name=name
            )
            if how == "expired":
                valid_to = as_of - timedelta(days=int(kit.rng.integers(1, 200)))
                kit.file_custody(acc, keeper, valid_to - timedelta(days=365), valid_to)
                note = "代管备案已过期"
            elif how == "other_custodian":
                kit.file_custody(acc, kit.outsider()[0], h["decided_date"], None)
                note = "备案的代管人不是实际代管人"
            else:
                note = "家庭成员代管银行卡，未备案"
            ctx.fire("custody_not_filed", note, account_no=acc)

        one_plant([lambda v=v: plant(v) for v in order], "卡折代管未备案")

    def until_as_of() -> None:
        h = kit.take(pl.col("adult_others").list.len() >= 1)
        keeper = h["adult_others"][0]
        kit.edits.update(
            "accounts",
            "case_id",
            h["case_id"],
            custodian_id_number=keeper,
            custodian_name=kit.name_of(keeper),
        )
        kit.file_custody(h["account_no"], keeper, h["decided_date"], as_of)
        ctx.lookalike(
            "custody_not_filed", "代管备案有效期截止于检查基准日", account_no=h["account_no"]
        )

    def filed_on_as_of() -> None:
        h = kit.take()
        keeper, name = kit.outsider()
        kit.edits.update(
            "accounts", "case_id", h["case_id"], custodian_id_number=keeper, custodian_name=name
        )
        kit.file_custody(h["account_no"], keeper, as_of, None)
        ctx.lookalike(
            "custody_not_filed", "代管备案于检查基准日当天办理", account_no=h["account_no"]
        )

    one_plant([until_as_of], "代管备案有效期截止于基准日（对照）")
    one_plant([filed_on_as_of], "代管备案于基准日办理（对照）")


def custodian_concentration(kit: Kit) -> None:
    ctx = kit.ctx
    k = ctx.settings.custodian_concentration_households
    # (households, filings: valid / none / one expired)
    variants = ((k, "valid"), (k + 1, "none"), (k, "one_expired"))

    def keep(custodian: tuple[str, str], count: int, filing: str) -> list[str]:
        homes = [kit.take() for _ in range(count)]
        accounts = []
        for j, h in enumerate(homes):
            acc = h["account_no"]
            kit.edits.update(
                "accounts",
                "case_id",
                h["case_id"],
                custodian_id_number=custodian[0],
                custodian_name=custodian[1],
            )
            if filing == "valid" or (filing == "one_expired" and j > 0):
                kit.file_custody(acc, custodian[0], h["decided_date"], None)
            elif filing == "one_expired":
                valid_to = ctx.as_of - timedelta(days=int(kit.rng.integers(1, 90)))
                kit.file_custody(acc, custodian[0], valid_to - timedelta(days=365), valid_to)
                ctx.fire("custody_not_filed", "集中代管中一户的代管备案已过期", account_no=acc)
            else:
                ctx.fire("custody_not_filed", "集中代管且未备案", account_no=acc)
            accounts.append(acc)
        return accounts

    for i in range(max(kit.n, len(variants))):
        count, filing = variants[i % len(variants)]

        def plant(count: int = count, filing: str = filing) -> None:
            who = kit.outsider()
            keep(who, count, filing)
            ctx.fire("custodian_concentration", f"同一人代管{count}户的银行卡", id_number=who[0])

        one_plant([plant], "代管人集中代管")

    def below() -> None:
        who = kit.outsider()
        for acc in keep(who, k - 1, "valid"):
            ctx.lookalike("custody_not_filed", "代管两户，均已备案", account_no=acc)
        ctx.lookalike(
            "custodian_concentration", f"同一人代管{k - 1}户（低于阈值）", id_number=who[0]
        )

    one_plant([below], "低于阈值的代管（对照）")
