"""The money of the base: each case's payee account, the monthly entitlements (with back pay
and the 小金额救助 look-alike) and the ledger of payments in one batch per street and month
(with returned and repaid payments, the service providers' payments and serial numbers).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from analytics import schema
from analytics.generate import ids
from analytics.generate.base.dates import month_start, month_text, np_days, round_to, ym_of_days
from analytics.generate.base.plan import (
    BACK_PAY_SHARE,
    DISTRICT,
    MAIN_TYPES,
    N_STREETS,
    ONE_OFF,
    PAY_DAY_W,
    PROVIDER_NAMES,
    PROVIDER_SERVICES,
    RETURNED_SHARE,
    SERVICE_ITEM,
    SMALL,
    STREETS,
)
from analytics.generate.base.state import BuilderState


class MoneySteps(BuilderState):
    """Steps ``accounts``, ``entitlements`` and ``ledger``."""

    # -- accounts -------------------------------------------------------------------------------

    def accounts(self) -> None:
        c = self.c
        self.hh_account = ids.account_strings(self.account_key[: self.H])
        self.hh_bank = ids.bank_names(self.account_bank[: self.H])
        self.holder = c.applicant.copy()
        self.custodian = np.full(self.n_cases, -1)  # person row, or -2 - outsider index
        # Look-alike: the two cases of one household share its account.
        two = self.second_hh[self.rng.permutation(len(self.second_hh))][: self.cap]
        for h in np.sort(two):
            self.ctx.lookalike(
                "shared_account",
                "同一户的两个案件登记同一收款账户",
                account_no=self.hh_account[int(h)],
            )
        self.claim(two)

    # -- entitlements ---------------------------------------------------------------------------

    def entitlements(self) -> None:
        c, rng = self.c, self.rng
        paying = (c.status <= 1) & (c.start >= 0)
        last = np.where(
            c.status == 1, ym_of_days(np.where(c.status == 1, c.term, self.as_of)), self.ym_end
        )
        first = np.maximum(c.start, self.ym0)
        one_off = c.kind == MAIN_TYPES.index(ONE_OFF)
        last = np.where(one_off, c.start, last)
        first = np.where(one_off, c.start, first)
        ok = paying & (first <= last) & (first >= self.ym0) & (last <= self.ym_end)
        case_idx = np.flatnonzero(ok)
        frame = pl.DataFrame({"case": case_idx, "lo": first[ok], "hi": last[ok] + 1})
        rows = frame.with_columns(ym=pl.int_ranges("lo", "hi")).explode("ym")
        case = rows["case"].to_numpy()
        ym = rows["ym"].to_numpy()
        amount = c.amount[case]
        kind = np.zeros(len(case), dtype=np.int64)  # 0 正常, 1 补发
        back_of = ym - 1

        # Back pay in a month's batch for an earlier month; half of the rows the same amount as
        # the regular row (a look-alike of a duplicate payment: two entitlements, two payments).
        claimed = self._claimed_mask()
        eligible = ~np.isin(c.kind[case], [MAIN_TYPES.index(ONE_OFF), MAIN_TYPES.index(SMALL)])
        eligible &= ~claimed[c.hh[case]]
        chosen = np.flatnonzero(eligible & (rng.random(len(case)) < BACK_PAY_SHARE))
        same = rng.random(len(chosen)) < 0.5
        part = round_to(amount[chosen] * rng.uniform(0.2, 0.8, len(chosen)), 1000)
        back_amount = np.where(same, amount[chosen], np.maximum(part, 1000))
        self.back_same_rows = len(case) + np.flatnonzero(same)
        case = np.concatenate([case, case[chosen]])
        ym = np.concatenate([ym, ym[chosen]])
        amount = np.concatenate([amount, back_amount])
        kind = np.concatenate([kind, np.ones(len(chosen), dtype=np.int64)])
        back_of = np.concatenate([back_of, ym[chosen] - 1 - rng.integers(0, 3, len(chosen))])

        # Look-alike: 小金额救助金 adding up to exactly the cap in one month.
        small_rows = np.flatnonzero(
            (c.kind[case] == MAIN_TYPES.index(SMALL))
            & (kind == 0)
            & (amount <= 40000)
            & ~claimed[c.hh[case]]
        )
        cap = self.ctx.settings.small_amount_cap_fen
        picked: list[int] = []
        seen: set[int] = set()
        for r in small_rows[rng.permutation(len(small_rows))]:
            h = int(c.hh[case[r]])
            if h not in seen:
                seen.add(h)
                picked.append(int(r))
            if len(seen) >= self.lookalike_n:
                break
        r = np.array(picked, dtype=np.int64)
        self.small_lookalike = len(case) + np.arange(len(r))
        self.claim(c.hh[case[r]])
        case = np.concatenate([case, case[r]])
        ym = np.concatenate([ym, ym[r]])
        amount = np.concatenate([amount, cap - amount[r]])
        kind = np.concatenate([kind, np.ones(len(r), dtype=np.int64)])
        back_of = np.concatenate([back_of, ym[r] - 1])
        self.e_case, self.e_ym, self.e_amount, self.e_kind = case, ym, amount, kind
        self.e_back_of = back_of

    # -- ledger ---------------------------------------------------------------------------------

    def ledger(self) -> None:
        c, rng, cal = self.c, self.rng, self.cal
        n = len(self.e_case)
        due = self.ctx.settings.payment_due_day
        # One batch per street and month, paid on one working day up to the due day.
        months = np.arange(self.ym0, self.ym_end + 1)
        n_batch = N_STREETS * len(months)
        batch_ym = np.tile(months, N_STREETS)
        batch_day = rng.choice(15, size=n_batch, p=PAY_DAY_W / PAY_DAY_W.sum()) + 1
        batch_date = cal.in_month(month_start(batch_ym) + np_days(batch_day - 1))
        batch_date = np.where(
            batch_date > month_start(batch_ym) + np_days(due - 1),
            cal.on_or_before(month_start(batch_ym) + np_days(due - 1)),
            batch_date,
        )
        # Look-alike: one street's batch paid exactly on the due day, in the latest month whose
        # due day is a working day.
        due_dates = month_start(months) + np_days(due - 1)
        workday_due = np.flatnonzero(cal.is_workday(due_dates))
        on_due_batch = -1
        if len(workday_due):
            m = workday_due[-1]
            on_due_batch = int(rng.integers(0, N_STREETS)) * len(months) + m
            batch_date[on_due_batch] = due_dates[m]
        street = c.street[self.e_case]
        hh = c.hh[self.e_case]
        batch = street * len(months) + (self.e_ym - self.ym0)
        pay_date = batch_date[batch]
        claimed = self._claimed_mask()
        ok = (batch == on_due_batch) & (self.e_kind == 0) & self.hh_single[hh] & ~claimed[hh]
        ok &= ~np.isin(c.kind[self.e_case], [MAIN_TYPES.index(ONE_OFF), MAIN_TYPES.index(SMALL)])
        rows = np.flatnonzero(ok)
        on_due = np.sort(rng.choice(rows, size=min(self.lookalike_n, len(rows)), replace=False))
        self.claim(hh[on_due])
        claimed = self._claimed_mask()

        # Returned payments, repaid on a later working day up to the due day under a new serial.
        ret = np.flatnonzero(~claimed[hh] & (rng.random(n) < RETURNED_SHARE))
        repay = cal.nth(pay_date[ret], rng.integers(1, 3, len(ret)))
        keep = repay <= month_start(self.e_ym[ret]) + np_days(due - 1)
        ret, repay = ret[keep], repay[keep]
        status = np.zeros(n + len(ret), dtype=np.int64)  # 0 成功, 1 退票
        status[ret] = 1
        src = np.concatenate([np.arange(n), ret])
        pay_date = np.concatenate([pay_date, repay])
        l_ym = self.e_ym[src]
        e_case = self.e_case[src]
        m_item = self.type_item[c.kind[e_case]]
        purpose_month = np.where(self.e_kind[src] == 1, self.e_back_of[src], l_ym)
        purpose = (
            pl.Series(np.where(self.e_kind[src] == 1, "补发", ""), dtype=pl.String)
            + month_text(purpose_month).str.replace("-", "年")
            + "月"
            + pl.Series(m_item, dtype=pl.String)
        )
        applicant = c.applicant[e_case]
        frame = pl.DataFrame(
            {
                "pay_date": pl.Series(pay_date, dtype=pl.Date),
                "street_idx": c.street[e_case],
                "case_idx": e_case,
                "ym": l_ym,
                "fund_code": pl.Series(self.type_code[c.kind[e_case]], dtype=pl.String),
                "item": pl.Series(m_item, dtype=pl.String),
                "case_id": c.case_id.gather(e_case),
                "payee_id": self.p_id.gather(applicant),
                "payee_name": self.p_name.gather(applicant),
                "account_no": self.hh_account.gather(c.hh[e_case]),
                "amount": self.e_amount[src],
                "status": pl.Series(np.array(schema.LEDGER_STATUSES)[status], dtype=pl.String),
                "purpose": purpose,
                "src": src,
            }
        )
        frame = pl.concat([frame, self._provider_payments()], how="vertical")
        frame = frame.sort(
            ["pay_date", "street_idx", "case_id", "status", "src"],
            nulls_last=True,
            descending=[False, False, False, True, False],
        )
        seq = pl.Series(np.arange(1, frame.height + 1)).cast(pl.String).str.zfill(8)
        frame = frame.with_columns(
            txn_id=pl.lit("LS") + pl.col("pay_date").dt.strftime("%Y%m%d") + seq,
            batch_id=pl.lit("PC")
            + month_text(frame["ym"]).str.replace("-", "")
            + (pl.col("street_idx") + 1).cast(pl.String).str.zfill(2),
            month=month_text(frame["ym"]),
            street=pl.Series(list(STREETS) + [DISTRICT], dtype=pl.String).gather(
                pl.Series(frame["street_idx"]).replace(-1, N_STREETS)
            ),
        )
        self.ledger_frame = frame
        # Record look-alikes now that serial numbers exist.
        src_col = frame["src"].to_numpy()
        txn = frame["txn_id"]
        lookup = np.full(len(src), -1)
        first_rows = np.flatnonzero((src_col >= 0) & (frame["status"] == "成功").to_numpy())
        lookup_idx = src_col[first_rows]
        lookup[lookup_idx] = first_rows
        for r in on_due:
            self.ctx.lookalike(
                "late_disbursement",
                "恰在每月发放截止日拨付",
                txn_id=txn[int(lookup[r])],
                case_id=frame["case_id"][int(lookup[r])],
            )
        for r in self.back_same_rows[: self.cap]:
            i = int(lookup[r])
            self.ctx.lookalike(
                "duplicate_payment",
                "同月同额补发，应发两笔、实发两笔",
                txn_id=txn[i],
                case_id=frame["case_id"][i],
                month=frame["month"][i],
                item=frame["item"][i],
            )
            self.claim(np.array([c.hh[self.e_case[r]]]))
        for r in self.small_lookalike:
            i = int(lookup[r])
            self.ctx.lookalike(
                "small_rescue_over_cap",
                "小金额救助金当月合计恰为500元",
                id_number=frame["payee_id"][i],
                month=frame["month"][i],
            )

    def _provider_payments(self) -> pl.DataFrame:
        rng = self.rng
        k = self.n_providers
        kinds = ["52" if i % 4 else "91" for i in range(k)]
        self.provider_uscc = ids.uscc_codes(rng, k, kinds)
        places = [
            self.hh_committee[int(i)].removesuffix("居委会") for i in rng.integers(0, self.H, k)
        ]
        self.provider_name = [
            PROVIDER_NAMES[i % len(PROVIDER_NAMES)].format(p)
            + (f"（{i // len(PROVIDER_NAMES) + 1}）" if i >= len(PROVIDER_NAMES) else "")
            for i, p in enumerate(places)
        ]
        self.provider_account = ids.account_strings(self.account_key[self.H + self.n_staff :])
        catalogue = self.ctx.catalogue
        code = dict(zip(catalogue["item"], catalogue["fund_code"], strict=True))[SERVICE_ITEM]
        months = np.arange(self.ym0, self.ym_end + 1)
        prov = np.repeat(np.arange(k), len(months))
        ym = np.tile(months, k)
        times = rng.integers(1, 3, len(prov))
        prov, ym = np.repeat(prov, times), np.repeat(ym, times)
        n = len(prov)
        street_idx = np.where(rng.random(n) < 0.3, -1, rng.integers(0, N_STREETS, n))
        day = rng.choice(15, size=n, p=PAY_DAY_W / PAY_DAY_W.sum()) + 1
        pay = self.cal.in_month(month_start(ym) + np_days(day - 1))
        pay = np.where(
            pay > month_start(ym) + np_days(self.ctx.settings.payment_due_day - 1),
            self.cal.on_or_before(month_start(ym) + np_days(self.ctx.settings.payment_due_day - 1)),
            pay,
        )
        service = np.array(PROVIDER_SERVICES)[prov % len(PROVIDER_SERVICES)]
        return pl.DataFrame(
            {
                "pay_date": pl.Series(pay, dtype=pl.Date),
                "street_idx": street_idx,
                "case_idx": np.full(n, -1),
                "ym": ym,
                "fund_code": pl.Series([code] * n, dtype=pl.String),
                "item": pl.Series([SERVICE_ITEM] * n, dtype=pl.String),
                "case_id": pl.Series([None] * n, dtype=pl.String),
                "payee_id": pl.Series(self.provider_uscc, dtype=pl.String).gather(prov),
                "payee_name": pl.Series(self.provider_name, dtype=pl.String).gather(prov),
                "account_no": self.provider_account.gather(prov),
                "amount": round_to(rng.uniform(2000, 30000, n), 100) * 100,
                "status": pl.Series(["成功"] * n, dtype=pl.String),
                "purpose": month_text(ym).str.replace("-", "年")
                + "月"
                + pl.Series(service, dtype=pl.String)
                + "服务费",
                "src": np.full(n, -1),
            }
        )
