"""Integrity plants of payee accounts: one account for several households, accounts held
outside the household, and accounts linked to a staff member (salary account, held by them,
their spouse or their child).
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from analytics.generate.kit import Kit, not_handling, one_plant


def shared_account(kit: Kit) -> None:
    ctx = kit.ctx
    variants = (("registered", 2), ("paid", 2), ("registered", 3))
    for i in range(max(kit.n, len(variants))):
        order = variants[i % len(variants) :] + variants[: i % len(variants)]

        def plant(how: str, k: int) -> None:
            first = kit.take()
            others = [kit.take() for _ in range(k - 1)]
            acc = first["account_no"]
            if how == "registered":
                bank = kit.account_row(first["case_id"])["bank"]
                for h in others:
                    kit.move_case_account(
                        h["case_id"],
                        acc,
                        bank=bank,
                        holder_id_number=first["applicant_id_number"],
                        holder_name=first["applicant_name"],
                    )
                ctx.fire("shared_account", f"同一账户登记为{k}户的收款账户", account_no=acc)
                ctx.fire("payee_not_household", "收款账户户名为其他家庭的成员", account_no=acc)
            else:
                month = ctx.months[-1]
                for h in others:
                    for r in kit.paid_rows(h["case_id"], month):
                        kit.edits.update("ledger", "txn_id", r["txn_id"], account_no=acc)
                        if kit.in_scope(r):
                            ctx.fire(
                                "payee_not_registered", "拨付到其他家庭的账户", txn_id=r["txn_id"]
                            )
                ctx.fire("shared_account", "资金拨付到另一户的账户", account_no=acc)

        one_plant([lambda v=v: plant(*v) for v in order], "一卡多户")

    # Look-alike: the base registers one account for both cases of a two-case household.
    t = ctx.tables
    acc = t["accounts"].join(t["cases"].select("case_id", "household_id"), on="case_id")
    two = (
        acc.group_by("account_no")
        .agg(
            households=pl.col("household_id").n_unique(),
            cases=pl.len(),
            household_id=pl.col("household_id").first(),
        )
        .filter(
            pl.col("households") == 1,
            pl.col("cases") >= 2,
            ~pl.col("household_id").is_in(
                pl.Series(sorted(ctx.claimed_households), dtype=pl.String).implode()
            ),
            ~pl.col("household_id").is_in(kit.staff_households.implode()),
        )
        .sort("account_no")
    )
    if two.height:
        row = two.row(int(kit.rng.integers(0, two.height)), named=True)
        ctx.claimed_households.add(row["household_id"])
        ctx.lookalike(
            "shared_account", "同一户的两个案件使用同一账户", account_no=row["account_no"]
        )


def payee_not_household(kit: Kit) -> None:
    ctx = kit.ctx
    variants = ("outsider", "other_household", "expired_filing")
    for i in range(max(kit.n, len(variants))):
        order = variants[i % len(variants) :] + variants[: i % len(variants)]

        def plant(how: str) -> None:
            if how == "other_household":
                # A person of a household without an active case: no recipient, no staff kin.
                src = kit.take(
                    pl.col("adult_others").list.len() >= 1, kit.other_pool(("终止", "未通过"))
                )
                holder = src["adult_others"][0]
                name = kit.name_of(holder)
            else:
                holder, name = kit.outsider()
            h = kit.take()
            acc = h["account_no"]
            kit.edits.update(
                "accounts", "case_id", h["case_id"], holder_id_number=holder, holder_name=name
            )
            note = {
                "outsider": "收款账户户名为家庭以外人员",
                "other_household": "收款账户户名为其他家庭的成员",
                "expired_filing": "收款账户户名为家庭以外人员，代管备案已过期",
            }[how]
            if how == "expired_filing":
                valid_to = ctx.as_of - timedelta(days=int(kit.rng.integers(1, 120)))
                kit.file_custody(acc, holder, valid_to - timedelta(days=365), valid_to)
            ctx.fire("payee_not_household", note, account_no=acc)

        one_plant([lambda v=v: plant(v) for v in order], "收款人非家庭成员")

    def guardian() -> None:
        who, name = kit.outsider()
        h = kit.take()
        acc = h["account_no"]
        kit.edits.update(
            "accounts",
            "case_id",
            h["case_id"],
            holder_id_number=who,
            holder_name=name,
            custodian_id_number=who,
            custodian_name=name,
        )
        kit.file_custody(acc, who, h["decided_date"], None)
        ctx.lookalike("payee_not_household", "监护人持卡，有有效代管备案", account_no=acc)
        ctx.lookalike("custody_not_filed", "监护人持卡，有有效代管备案", account_no=acc)

    one_plant([guardian], "监护人持卡（对照）")


def staff_linked_account(kit: Kit) -> None:
    ctx = kit.ctx
    variants = ("salary_registered", "salary_paid", "staff_holds", "spouse_keeps", "child_holds")
    for i in range(max(kit.n, len(variants))):
        order = variants[i % len(variants) :] + variants[: i % len(variants)]

        def plant(how: str) -> None:
            need = {
                "salary_registered": pl.col("salary_account").is_not_null(),
                "salary_paid": pl.col("salary_account").is_not_null(),
                "staff_holds": None,
                "spouse_keeps": pl.col("spouse_id").is_not_null(),
                "child_holds": pl.col("child_id").is_not_null(),
            }[how]
            s, h = kit.take_pair(lambda s: not_handling(s["staff_id"]), need)
            case_id, acc = h["case_id"], h["account_no"]
            if how == "salary_registered":
                acc = s["salary_account"]
                kit.move_case_account(case_id, acc)
                note = "案件登记的收款账户是工作人员的工资账户"
            elif how == "salary_paid":
                acc = s["salary_account"]
                for r in kit.paid_rows(case_id, ctx.months[-1]):
                    kit.edits.update("ledger", "txn_id", r["txn_id"], account_no=acc)
                    if kit.in_scope(r):
                        ctx.fire(
                            "payee_not_registered", "拨付到工作人员的工资账户", txn_id=r["txn_id"]
                        )
                note = "救助资金拨付到工作人员的工资账户"
            elif how == "staff_holds":
                kit.edits.update(
                    "accounts",
                    "case_id",
                    case_id,
                    holder_id_number=s["id_number"],
                    holder_name=s["name"],
                )
                ctx.fire("payee_not_household", "收款账户户名为工作人员", account_no=acc)
                note = "收款账户户名为工作人员"
            elif how == "spouse_keeps":
                kit.edits.update(
                    "accounts",
                    "case_id",
                    case_id,
                    custodian_id_number=s["spouse_id"],
                    custodian_name=s["spouse_name"],
                )
                kit.file_custody(acc, s["spouse_id"], h["decided_date"], None)
                note = "工作人员的配偶代管银行卡（已备案）"
            else:
                kit.edits.update(
                    "accounts",
                    "case_id",
                    case_id,
                    holder_id_number=s["child_id"],
                    holder_name=s["child_name"],
                )
                ctx.fire("payee_not_household", "收款账户户名为工作人员的子女", account_no=acc)
                note = "收款账户户名为工作人员的子女"
            ctx.fire("staff_linked_account", note, account_no=acc)

        one_plant([lambda v=v: plant(v) for v in order], "账户关联工作人员")
