"""Planted defects of the funds family (business system against the fund ledger).

Each planted change touches one claimed household (or none, for spending outside any case),
records with ``ctx.fire`` every finding it must cause under the shared semantics, and books its
effect on the entitled and in-scope paid totals with ``ctx.book_funds``, from which the
control-total truth is derived once all planters have run.

Changes are collected first and applied to the tables in one pass per table, so that the cost
does not grow with the number of plants times the size of the ledger.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import polars as pl

from analytics import schema
from analytics.generate import ids
from analytics.generate.base.dates import month_end
from analytics.generate.base.plan import STREETS
from analytics.generate.base.planting import (
    batch_id,
    district_size,
    fresh_accounts,
    fresh_txn_id,
    plain_households,
)
from analytics.generate.base.tables import conform
from analytics.generate.core import PlantContext

FUNDS_CHECKS = (
    "out_of_scope_spending",
    "paid_without_entitlement",
    "duplicate_payment",
    "amount_mismatch",
    "entitled_not_paid",
    "paid_after_termination",
    "paid_after_death",
    "payee_not_registered",
    "late_disbursement",
    "small_rescue_over_cap",
    "control_total_mismatch",
)
NON_CATALOGUE_ITEMS = ("办公用品", "慰问品", "会议费", "节日慰问物资")
SUPPLIERS = ("上海长宁{}商贸有限公司", "上海{}文化用品有限公司", "上海{}实业有限公司")
UNREGISTERED_ORGS = ("长宁区{}助老服务社", "上海{}家政服务有限公司")
SUPPLIER_WORDS = ("华新", "虹安", "仙霞", "协新", "天诚", "金钟", "程桥", "新泾")
ONE_OFF_ITEM = "临时救助金"
SMALL_TYPE, SMALL_ITEM = "小金额救助", "小金额救助金"
SERVICE_ITEM = "服务类救助"
SMALL_PLANT_FEN = 30_000  # two rows of 300 yuan: 600 against the 500 cap


def plants_per_check(ctx: PlantContext) -> int:
    return max(3, district_size(ctx) // 3000)


# --- collected edits -------------------------------------------------------------------------


class Edits:
    """Row updates (by a key column, every matching row), removals and additions per table,
    applied in one pass: updates, then removals, then additions."""

    def __init__(self) -> None:
        self.updates: dict[tuple[str, str], dict[str, dict[str, object]]] = defaultdict(dict)
        self.removals: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.additions: dict[str, list[dict]] = defaultdict(list)

    def update(self, table: str, key_col: str, key: str, **values: object) -> None:
        self.updates[(table, key_col)].setdefault(key, {}).update(values)

    def remove(self, table: str, key_col: str, key: str) -> None:
        self.removals[(table, key_col)].add(key)

    def add(self, table: str, row: dict) -> None:
        self.additions[table].append(row)

    def apply(self, ctx: PlantContext) -> None:
        tables = ctx.tables
        touched: set[str] = set()
        for (table, key_col), by_key in self.updates.items():
            frame = tables[table]
            columns = sorted({c for v in by_key.values() for c in v})
            keys = list(by_key)
            patch = pl.DataFrame(
                {key_col: pl.Series(keys, dtype=pl.String)}
                | {
                    f"__v_{c}": pl.Series([by_key[k].get(c) for k in keys], dtype=frame.schema[c])
                    for c in columns
                }
                | {
                    f"__s_{c}": pl.Series([c in by_key[k] for k in keys], dtype=pl.Boolean)
                    for c in columns
                }
            )
            frame = (
                frame.join(patch, on=key_col, how="left", maintain_order="left")
                .with_columns(
                    [
                        pl.when(pl.col(f"__s_{c}").fill_null(False))
                        .then(pl.col(f"__v_{c}"))
                        .otherwise(pl.col(c))
                        .alias(c)
                        for c in columns
                    ]
                )
                .select(frame.columns)
            )
            tables[table] = frame
            touched.add(table)
        for (table, key_col), removed in self.removals.items():
            tables[table] = tables[table].filter(
                ~pl.col(key_col).is_in(pl.Series(sorted(removed), dtype=pl.String).implode())
            )
            touched.add(table)
        for table, rows in self.additions.items():
            target = schema.polars_schema(table)
            base = {c: t for c, t in target.items() if not c.endswith("_norm")}
            extra = pl.DataFrame(
                [{c: r.get(c) for c in base} for r in rows], schema=base, orient="row"
            )
            tables[table] = pl.concat([tables[table], conform(table, extra)], how="vertical")
            touched.add(table)
        for table in touched:
            tables[table] = conform(table, tables[table])


# --- the planter -------------------------------------------------------------------------------


class _Planter:
    def __init__(self, ctx: PlantContext):
        self.ctx = ctx
        self.rng = ctx.rng
        self.n = plants_per_check(ctx)
        self.edits = Edits()
        cat = ctx.catalogue
        self.code_of = dict(zip(cat["item"].to_list(), cat["fund_code"].to_list(), strict=True))
        self.due = ctx.settings.payment_due_day
        plain = plain_households(ctx)
        self.plain = plain[self.rng.permutation(plain.height)]
        self.next_plain = 0
        self.ledger_of: dict[str, list[dict]] = {}
        self.terminated_left = pl.DataFrame()  # candidates after_termination did not use
        # Fresh accounts and organisation codes for every plant, drawn in one go: looking up
        # what is taken costs a pass over the whole ledger.
        self.accounts = [a for a, _ in fresh_accounts(ctx, 4 * self.n)]
        taken = set(ctx.tables["ledger"]["payee_id"].unique().to_list())
        if "providers" in ctx.tables:
            taken |= set(ctx.tables["providers"]["uscc"].to_list())
        self.taken_codes = taken

    # -- households --------------------------------------------------------------------------

    def take(self, k: int) -> list[dict]:
        """k plain households, claimed now; their paid rows are loaded by load_rows()."""
        out: list[dict] = []
        while len(out) < k and self.next_plain < self.plain.height:
            row = self.plain.row(self.next_plain, named=True)
            self.next_plain += 1
            if row["household_id"] in self.ctx.claimed_households:
                continue
            self.ctx.claimed_households.add(row["household_id"])
            out.append(row)
        if len(out) < k:
            raise ValueError("演示街区中可用于植入问题的救助家庭不足，请增加户数。")
        return out

    def load_rows(self, cases: list[dict]) -> None:
        ids_ = [c["case_id"] for c in cases if c["case_id"] not in self.ledger_of]
        if not ids_:
            return
        rows = (
            self.ctx.tables["ledger"]
            .filter(
                pl.col("case_id").is_in(pl.Series(ids_, dtype=pl.String).implode()),
                pl.col("status") == "成功",
            )
            .sort("month", "txn_id")
        )
        for r in rows.to_dicts():
            self.ledger_of.setdefault(r["case_id"], []).append(r)

    def name(self, case: dict) -> str | None:
        return self.ledger_of[case["case_id"]][0]["payee_name"]

    def rows_of(self, case: dict) -> list[dict]:
        return self.ledger_of[case["case_id"]]

    def pick_row(self, case: dict) -> dict:
        rows = self.rows_of(case)
        return rows[int(self.rng.integers(0, len(rows)))]

    # -- row builders ------------------------------------------------------------------------

    def pay_date(self, month: str, lo: int = 1, hi: int | None = None) -> date:
        """A working day of the month between days lo and hi (the due day by default)."""
        y, m = (int(x) for x in month.split("-"))
        hi = min(hi or self.due, month_end(month).day)
        days = [date(y, m, d) for d in range(lo, hi + 1)]
        work = [d for d in days if self.ctx.calendar.is_workday(d)] or days
        return work[int(self.rng.integers(0, len(work)))]

    def month(self) -> str:
        return self.ctx.months[int(self.rng.integers(0, len(self.ctx.months)))]

    def ledger_row(
        self,
        *,
        month: str,
        pay_date: date,
        street: str,
        item: str,
        fund_code: str,
        case_id: str | None,
        payee_id: str,
        payee_name: str | None,
        account_no: str,
        amount: int,
        purpose: str,
        status: str = "成功",
    ) -> dict:
        return {
            "txn_id": fresh_txn_id(self.ctx, pay_date),
            "batch_id": batch_id(month, street),
            "month": month,
            "pay_date": pay_date,
            "street": street,
            "fund_code": fund_code,
            "item": item,
            "case_id": case_id,
            "payee_id": payee_id,
            "payee_name": payee_name,
            "account_no": account_no,
            "amount": amount,
            "status": status,
            "purpose": purpose,
        }

    def add_ledger(self, **kw) -> dict:
        row = self.ledger_row(**kw)
        self.edits.add("ledger", row)
        return row

    @staticmethod
    def purpose(month: str, item: str, back: bool = False) -> str:
        y, m = month.split("-")
        return f"{'补发' if back else ''}{y}年{m}月{item}"

    def account(self) -> str:
        return self.accounts.pop()

    def org(self, names: tuple[str, ...], kind: str) -> tuple[str, str]:
        code = ids.uscc_codes(self.rng, 1, [kind], taken=self.taken_codes)[0]
        self.taken_codes.add(code)
        word = SUPPLIER_WORDS[int(self.rng.integers(0, len(SUPPLIER_WORDS)))]
        return code, names[int(self.rng.integers(0, len(names)))].format(word)

    # -- plants ------------------------------------------------------------------------------

    def run(self) -> None:
        n = self.n
        cases = {
            check: self.take(n)
            for check in (
                "paid_without_entitlement",
                "duplicate_payment",
                "amount_mismatch",
                "entitled_not_paid",
                "paid_after_death",
                "payee_not_registered",
                "late_disbursement",
                "small_rescue_over_cap",
                "control_total_mismatch",
            )
        }
        cases["out_of_scope_spending"] = self.take(len(range(1, n, 3)))
        self.load_rows([c for group in cases.values() for c in group])
        self.out_of_scope(cases["out_of_scope_spending"])
        self.without_entitlement(cases["paid_without_entitlement"])
        self.duplicate(cases["duplicate_payment"])
        self.amount_mismatch(cases["amount_mismatch"])
        self.not_paid(cases["entitled_not_paid"])
        self.after_termination()
        self.after_death(cases["paid_after_death"])
        self.not_registered(cases["payee_not_registered"])
        self.late(cases["late_disbursement"])
        self.small_over_cap(cases["small_rescue_over_cap"])
        self.wrong_street(cases["control_total_mismatch"])
        # Last, and drawing nothing from the random stream: every plant above stays as it was.
        self.back_pay_after_termination()
        self.edits.apply(self.ctx)

    def out_of_scope(self, cases: list[dict]) -> None:
        """Spending outside the catalogue, a catalogue item under another fund code, and a
        service payment to an organisation that is no registered provider. Not booked: control
        totals leave out-of-scope rows out."""
        for i in range(self.n):
            month = self.month()
            pay = self.pay_date(month)
            if i % 3 == 1:
                case = cases[i // 3]
                wrong = sorted(c for c in set(self.code_of.values()) if c != case["fund_code"])
                fund = wrong[int(self.rng.integers(0, len(wrong)))]
                row = self.add_ledger(
                    month=month,
                    pay_date=pay,
                    street=case["street"],
                    item=case["item"],
                    fund_code=fund,
                    case_id=case["case_id"],
                    payee_id=case["applicant_id_number"],
                    payee_name=self.name(case),
                    account_no=case["account_no"],
                    amount=case["monthly_amount"],
                    purpose=self.purpose(month, case["item"]),
                )
                note = "目录内项目记入了其他资金科目"
            else:
                if i % 3 == 0:
                    item = NON_CATALOGUE_ITEMS[int(self.rng.integers(0, len(NON_CATALOGUE_ITEMS)))]
                    codes = sorted(c for it, c in self.code_of.items() if it != SERVICE_ITEM)
                    fund = codes[int(self.rng.integers(0, len(codes)))]
                    payee, name = self.org(SUPPLIERS, "91")
                    note = f"救助资金科目列支{item}"
                else:
                    item, fund = SERVICE_ITEM, self.code_of[SERVICE_ITEM]
                    payee, name = self.org(UNREGISTERED_ORGS, "52")
                    note = "服务类救助支付给未登记的服务机构"
                street = STREETS[int(self.rng.integers(0, len(STREETS)))]
                account = self.account()
                amount = int(self.rng.integers(20, 200)) * 10_000
                row = self.add_ledger(
                    month=month,
                    pay_date=pay,
                    street=street,
                    item=item,
                    fund_code=fund,
                    case_id=None,
                    payee_id=payee,
                    payee_name=name,
                    account_no=account,
                    amount=amount,
                    purpose=f"{month.replace('-', '年')}月{item}",
                )
            self.ctx.fire("out_of_scope_spending", note, txn_id=row["txn_id"])

    def without_entitlement(self, cases: list[dict]) -> None:
        """A one-off payment for a case with no such entitlement, or paid to a person with no
        case at all."""
        for i, case in enumerate(cases):
            month = self.month()
            amount = int(self.rng.integers(5, 31)) * 10_000
            if i % 2 == 0:
                row = self.add_ledger(
                    month=month,
                    pay_date=self.pay_date(month),
                    street=case["street"],
                    item=ONE_OFF_ITEM,
                    fund_code=self.code_of[ONE_OFF_ITEM],
                    case_id=case["case_id"],
                    payee_id=case["applicant_id_number"],
                    payee_name=self.name(case),
                    account_no=case["account_no"],
                    amount=amount,
                    purpose=self.purpose(month, ONE_OFF_ITEM),
                )
                note = "案件无临时救助应发记录却拨付了临时救助金"
            else:
                row = self.add_ledger(
                    month=month,
                    pay_date=self.pay_date(month),
                    street=case["street"],
                    item=ONE_OFF_ITEM,
                    fund_code=self.code_of[ONE_OFF_ITEM],
                    case_id=None,
                    payee_id=case["applicant_id_number"],
                    payee_name=self.name(case),
                    account_no=self.account(),
                    amount=amount,
                    purpose=self.purpose(month, ONE_OFF_ITEM),
                )
                note = "无救助编号向个人拨付临时救助金"
            self.ctx.fire("paid_without_entitlement", note, txn_id=row["txn_id"])
            self.ctx.book_funds(case["street"], month, ONE_OFF_ITEM, paid=amount)

    def duplicate(self, cases: list[dict]) -> None:
        for case in cases:
            src = self.pick_row(case)
            day = src["pay_date"].day
            pay = self.pay_date(src["month"], lo=day)
            row = self.add_ledger(
                month=src["month"],
                pay_date=pay,
                street=src["street"],
                item=src["item"],
                fund_code=src["fund_code"],
                case_id=src["case_id"],
                payee_id=src["payee_id"],
                payee_name=src["payee_name"],
                account_no=src["account_no"],
                amount=src["amount"],
                purpose=src["purpose"],
            )
            self.ctx.fire("duplicate_payment", "同一笔应发重复拨付", txn_id=row["txn_id"])
            self.ctx.book_funds(src["street"], src["month"], src["item"], paid=src["amount"])

    def amount_mismatch(self, cases: list[dict]) -> None:
        for i, case in enumerate(cases):
            src = self.pick_row(case)
            delta = int(self.rng.integers(1, 11)) * 1_000 * (1 if i % 2 else -1)
            if src["amount"] + delta <= 0:
                delta = -delta
            self.edits.update("ledger", "txn_id", src["txn_id"], amount=src["amount"] + delta)
            self.ctx.fire(
                "amount_mismatch",
                "实发金额与应发金额不符",
                case_id=src["case_id"],
                month=src["month"],
                item=src["item"],
            )
            self.ctx.book_funds(src["street"], src["month"], src["item"], paid=delta)

    def not_paid(self, cases: list[dict]) -> None:
        for i, case in enumerate(cases):
            src = self.pick_row(case)
            if i % 2 == 0:
                self.edits.remove("ledger", "txn_id", src["txn_id"])
                note = "应发名册有记录，资金平台无拨付"
            else:
                self.edits.update("ledger", "txn_id", src["txn_id"], status="退票")
                note = "拨付被退票且未重新拨付"
            self.ctx.fire(
                "entitled_not_paid",
                note,
                case_id=src["case_id"],
                month=src["month"],
                item=src["item"],
            )
            self.ctx.book_funds(src["street"], src["month"], src["item"], paid=-src["amount"])

    def terminated_cases(self) -> pl.DataFrame:
        """Terminated single-case households with a regular monthly item, a registered account
        held by the applicant, no event of any member and a termination before the last
        month; in a seeded random order."""
        t = self.ctx.tables
        last = self.ctx.months[-1]
        dead = t["events"].filter(pl.col("event_type") == "死亡")["id_number"]
        per_hh = t["cases"].group_by("household_id").len().filter(pl.col("len") == 1)
        cat = self.ctx.catalogue.select("assistance_type", "item", "fund_code")
        members_with_events = t["persons"].filter(
            pl.col("id_number").is_in(t["events"]["id_number"].implode())
        )["household_id"]
        cand = (
            t["cases"]
            .filter(
                pl.col("status") == "终止",
                pl.col("termination_date").dt.strftime("%Y-%m") < last,
                pl.col("household_id").is_in(per_hh["household_id"].implode()),
                ~pl.col("household_id").is_in(members_with_events.implode()),
                ~pl.col("applicant_id_number").is_in(dead.implode()),
                ~pl.col("assistance_type").is_in(["临时救助", SMALL_TYPE]),
                pl.col("monthly_amount").is_not_null(),
            )
            .join(cat, on="assistance_type", how="inner", validate="m:1")
            .join(
                t["accounts"].select(
                    "case_id", "account_no", "holder_id_number", "custodian_id_number"
                ),
                on="case_id",
                how="inner",
                validate="1:1",
            )
            .filter(
                pl.col("holder_id_number") == pl.col("applicant_id_number"),
                pl.col("custodian_id_number").is_null(),
            )
            .sort("case_id")
        )
        cand = cand.join(
            t["persons"].select(pl.col("id_number").alias("applicant_id_number"), "name"),
            on="applicant_id_number",
            how="left",
            validate="m:1",
        ).sort("case_id")
        return cand[self.rng.permutation(cand.height)]

    def after_termination(self) -> None:
        """Entitlement and payment both continue after the termination month: balanced, so
        only the termination check fires. The candidates left over serve the back-pay
        look-alike."""
        cand = self.terminated_cases()
        done = 0
        i = 0
        while i < cand.height and done < self.n:
            case = cand.row(i, named=True)
            i += 1
            if case["household_id"] in self.ctx.claimed_households:
                continue
            self.ctx.claimed_households.add(case["household_id"])
            term_month = case["termination_date"].strftime("%Y-%m")
            later = [m for m in self.ctx.months if m > term_month]
            month = later[int(self.rng.integers(0, len(later)))]
            amount = case["monthly_amount"]
            self.edits.add(
                "entitlements",
                {
                    "month": month,
                    "case_id": case["case_id"],
                    "id_number": case["applicant_id_number"],
                    "item": case["item"],
                    "kind": "正常",
                    "amount": amount,
                    "account_no": case["account_no"],
                },
            )
            row = self.add_ledger(
                month=month,
                pay_date=self.pay_date(month),
                street=case["street"],
                item=case["item"],
                fund_code=case["fund_code"],
                case_id=case["case_id"],
                payee_id=case["applicant_id_number"],
                payee_name=case["name"],
                account_no=case["account_no"],
                amount=amount,
                purpose=self.purpose(month, case["item"]),
            )
            self.ctx.fire(
                "paid_after_termination", "案件终止后仍列入名册并拨付", txn_id=row["txn_id"]
            )
            self.ctx.book_funds(case["street"], month, case["item"], entitled=amount, paid=amount)
            done += 1
        if done < self.n:
            raise ValueError("演示街区中可用于植入“终止后仍拨付”的终止案件不足，请增加户数。")
        self.terminated_left = cand[i:]

    def back_pay_after_termination(self) -> None:
        """Look-alike of paid_after_termination: in the batch of the month after its
        termination, a terminated case receives back pay for months before the termination
        (a difference approved afterwards), held in the business system as 补发 rows only and
        paid once per row with that row's amount: a third of the monthly amount for the
        termination month and, for every other look-alike, a fifth for the month before.
        Balanced, paid to the registered account in the street's regular batch: no check
        fires. Taken in the candidates' seeded order, drawing nothing from the random
        stream."""
        batches = (
            self.ctx.tables["ledger"]
            .filter(pl.col("status") == "成功", pl.col("case_id").is_not_null())
            .group_by("batch_id")
            .agg(pl.col("pay_date").min())
        )
        batch_day = dict(batches.iter_rows())
        want = max(2, self.n // 2)
        done = 0
        for case in self.terminated_left.iter_rows(named=True):
            if done == want:
                break
            if case["household_id"] in self.ctx.claimed_households:
                continue
            self.ctx.claimed_households.add(case["household_id"])
            term_month = case["termination_date"].strftime("%Y-%m")
            month = min(m for m in self.ctx.months if m > term_month)
            monthly = case["monthly_amount"]
            back = [(term_month, _tens_of_yuan(monthly // 3))]
            before = _month_before(term_month)
            if done % 2 == 1 and (case["start_month"] is None or before >= case["start_month"]):
                back.append((before, _tens_of_yuan(monthly // 5)))
            street = case["street"]
            pay = batch_day.get(batch_id(month, street)) or self.last_due_workday(month)
            for back_month, amount in back:
                self.edits.add(
                    "entitlements",
                    {
                        "month": month,
                        "case_id": case["case_id"],
                        "id_number": case["applicant_id_number"],
                        "item": case["item"],
                        "kind": "补发",
                        "amount": amount,
                        "account_no": case["account_no"],
                    },
                )
                row = self.add_ledger(
                    month=month,
                    pay_date=pay,
                    street=street,
                    item=case["item"],
                    fund_code=case["fund_code"],
                    case_id=case["case_id"],
                    payee_id=case["applicant_id_number"],
                    payee_name=case["name"],
                    account_no=case["account_no"],
                    amount=amount,
                    purpose=self.purpose(back_month, case["item"], back=True),
                )
                self.ctx.lookalike(
                    "paid_after_termination",
                    "终止后月份拨付终止前月份的补发，应发名册中只有补发记录",
                    txn_id=row["txn_id"],
                    case_id=case["case_id"],
                    month=month,
                    item=case["item"],
                )
                self.ctx.book_funds(street, month, case["item"], entitled=amount, paid=amount)
            done += 1

    def last_due_workday(self, month: str) -> date:
        """The last working day of the month up to the due day (the due day if none)."""
        y, m = (int(x) for x in month.split("-"))
        days = [date(y, m, d) for d in range(min(self.due, month_end(month).day), 0, -1)]
        return next((d for d in days if self.ctx.calendar.is_workday(d)), days[0])

    def after_death(self, cases: list[dict]) -> None:
        grace = self.ctx.settings.death_grace_days
        for case in cases:
            months = self.ctx.months[:-1]
            month = months[int(self.rng.integers(0, len(months)))]
            y, m = (int(x) for x in month.split("-"))
            died = date(y, m, int(self.rng.integers(1, 29)))
            self.edits.add(
                "events",
                {
                    "id_number": case["applicant_id_number"],
                    "event_type": "死亡",
                    "event_date": died,
                    "source": "市公安局",
                },
            )
            for row in self.rows_of(case):
                if row["month"] > month:
                    self.ctx.fire("paid_after_death", "申请人死亡后仍拨付", txn_id=row["txn_id"])
            if (self.ctx.as_of - died).days > grace:
                self.ctx.fire(
                    "deceased_still_active", "申请人死亡后案件仍在册", case_id=case["case_id"]
                )

    def not_registered(self, cases: list[dict]) -> None:
        for i, case in enumerate(cases):
            if i % 3 == 2:
                self.edits.remove("accounts", "case_id", case["case_id"])
                for row in self.rows_of(case):
                    self.ctx.fire(
                        "payee_not_registered", "案件无登记收款账户", txn_id=row["txn_id"]
                    )
            else:
                src = self.pick_row(case)
                self.edits.update("ledger", "txn_id", src["txn_id"], account_no=self.account())
                self.ctx.fire(
                    "payee_not_registered", "拨付账户不是案件登记的收款账户", txn_id=src["txn_id"]
                )

    def late(self, cases: list[dict]) -> None:
        for case in cases:
            src = self.pick_row(case)
            pay = self.pay_date(src["month"], lo=self.due + 1, hi=28)
            self.edits.update("ledger", "txn_id", src["txn_id"], pay_date=pay)
            self.ctx.fire("late_disbursement", "超过每月发放截止日拨付", txn_id=src["txn_id"])

    def small_over_cap(self, cases: list[dict]) -> None:
        """The case becomes a monthly 小金额救助 of 300 yuan (entitlements and payments rewritten
        alike, so totals stay balanced), then one month gets a second entitled and paid 300."""
        code = self.code_of[SMALL_ITEM]
        for case in cases:
            cid = case["case_id"]
            self.edits.update(
                "cases", "case_id", cid, assistance_type=SMALL_TYPE, monthly_amount=SMALL_PLANT_FEN
            )
            self.edits.update(
                "entitlements", "case_id", cid, item=SMALL_ITEM, amount=SMALL_PLANT_FEN
            )
            for row in self.rows_of(case):
                self.edits.update(
                    "ledger",
                    "txn_id",
                    row["txn_id"],
                    item=SMALL_ITEM,
                    fund_code=code,
                    amount=SMALL_PLANT_FEN,
                    purpose=self.purpose(row["month"], SMALL_ITEM),
                )
            src = self.pick_row(case)
            month = src["month"]
            self.edits.add(
                "entitlements",
                {
                    "month": month,
                    "case_id": cid,
                    "id_number": case["applicant_id_number"],
                    "item": SMALL_ITEM,
                    "kind": "补发",
                    "amount": SMALL_PLANT_FEN,
                    "account_no": case["account_no"],
                },
            )
            year, mon = (int(x) for x in month.split("-"))
            prev = date(year, mon, 1) - timedelta(days=1)
            self.add_ledger(
                month=month,
                pay_date=self.pay_date(month, lo=src["pay_date"].day),
                street=case["street"],
                item=SMALL_ITEM,
                fund_code=code,
                case_id=cid,
                payee_id=case["applicant_id_number"],
                payee_name=src["payee_name"],
                account_no=case["account_no"],
                amount=SMALL_PLANT_FEN,
                purpose=self.purpose(prev.strftime("%Y-%m"), SMALL_ITEM, back=True),
            )
            self.ctx.fire(
                "small_rescue_over_cap",
                "同一人当月小金额救助金合计超过500元",
                id_number=case["applicant_id_number"],
                month=month,
            )

    def wrong_street(self, cases: list[dict]) -> None:
        """A payment booked under another street office: that street's paid total rises, the
        case street's falls."""
        for case in cases:
            src = self.pick_row(case)
            others = [s for s in STREETS if s != src["street"]]
            other = others[int(self.rng.integers(0, len(others)))]
            self.edits.update(
                "ledger",
                "txn_id",
                src["txn_id"],
                street=other,
                batch_id=batch_id(src["month"], other),
            )
            self.ctx.book_funds(src["street"], src["month"], src["item"], paid=-src["amount"])
            self.ctx.book_funds(other, src["month"], src["item"], paid=src["amount"])


def _tens_of_yuan(fen: int) -> int:
    """Fen rounded down to whole ten yuan, at least ten yuan."""
    return max(1_000, fen // 1_000 * 1_000)


def _month_before(month: str) -> str:
    y, m = (int(x) for x in month.split("-"))
    return f"{y - (m == 1):04d}-{(m - 2) % 12 + 1:02d}"


def plant_funds(ctx: PlantContext) -> None:
    """Plant every funds check on distinct claimed households and record the truth."""
    _Planter(ctx).run()
