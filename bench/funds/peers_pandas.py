"""The eleven funds checks (contract section 5, as notes/semantics.md reads it) in pandas.

Same output as the DuckDB peer: the finding rows with their key and context columns,
``amount_fen`` and the figures behind each finding, without the sentence, evidence JSON and
finding id that the Polars engine adds. pandas matches missing keys with each other in a merge,
so every merge here runs on rows whose keys are present.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import polars as pl

from analytics.reference import Settings

SERVICE = "服务类救助"
SMALL = "小金额救助金"
BACK_PAY = "补发"
KEY = ["case_id", "month", "item"]
ROW = ["txn_id", "street", "month", "case_id", "item", "account_no"]
TABLES = ("ledger", "entitlements", "cases", "accounts", "providers", "events")


def frames(tables: dict[str, pl.DataFrame], catalogue: pl.DataFrame) -> dict[str, pd.DataFrame]:
    out = {name: tables[name].to_pandas() for name in TABLES}
    out["catalogue"] = catalogue.select("item", "fund_code").to_pandas()
    return out


class _Run:
    def __init__(self, t: dict[str, pd.DataFrame], settings: Settings):
        self.t = t
        self.settings = settings
        self._memo: dict[str, pd.DataFrame] = {}

    def memo(self, key, build) -> pd.DataFrame:
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    # --- shared ---------------------------------------------------------------------------

    def scoped(self) -> pd.DataFrame:
        def build():
            ledger = self.t["ledger"]
            paid = ledger[ledger["status"] == "成功"]
            cat = self.t["catalogue"].rename(columns={"fund_code": "catalogue_fund_code"})
            s = paid.merge(cat, on="item", how="left")
            prov = self.t["providers"]
            service = prov.loc[prov["items"].str.split(";").map(lambda xs: SERVICE in xs), "uscc"]
            code = s["catalogue_fund_code"]
            no_item = code.isna()
            wrong_fund = ~no_item & (s["fund_code"] != code)
            no_provider = (s["item"] == SERVICE) & ~s["payee_id"].isin(set(service))
            reason = pd.Series(pd.NA, index=s.index, dtype="str")
            reason[no_provider] = "收款方不是登记的服务类救助机构"
            reason[wrong_fund] = (
                "资金科目应为" + code[wrong_fund] + "，实为" + s["fund_code"][wrong_fund]
            )
            reason[no_item] = "救助项目不在目录内"
            s["scope_reason"] = reason
            return s

        return self.memo("scoped", build)

    def paid(self) -> pd.DataFrame:
        def build():
            s = self.scoped()
            return s[s["scope_reason"].isna()].drop(columns=["catalogue_fund_code", "scope_reason"])

        return self.memo("paid", build)

    def paid_cases(self) -> pd.DataFrame:
        return self.memo("paid_cases", lambda: self.paid()[self.paid()["case_id"].notna()])

    def duplicates(self) -> pd.DataFrame:
        def build():
            group = [*KEY, "amount"]
            p = self.paid_cases()
            n = p.groupby(group, sort=False).size().rename("n").reset_index()
            multi = n[n["n"] > 1]
            e = self.t["entitlements"].groupby(group, sort=False).size().rename("e").reset_index()
            cand = multi.merge(e, on=group, how="left")
            cand["allowed"] = np.maximum(cand["e"].fillna(0), 1)
            cand = cand[cand["n"] > cand["allowed"]]
            rows = p.merge(cand[[*group, "e", "allowed"]], on=group, how="inner")
            rows = rows.sort_values([*group, "pay_date", "txn_id"])
            rows["rank"] = rows.groupby(group, sort=False).cumcount()
            return rows[rows["rank"] >= rows["allowed"]]

        return self.memo("dups", build)

    def entitled_sums(self) -> pd.DataFrame:
        return self.memo(
            "ent",
            lambda: (
                self.t["entitlements"]
                .groupby(KEY, sort=False)["amount"]
                .sum()
                .rename("entitled_fen")
                .reset_index()
            ),
        )

    def case_street(self) -> pd.DataFrame:
        return self.t["cases"][["case_id", "street", "applicant_id_number"]].rename(
            columns={"applicant_id_number": "id_number"}
        )

    # --- the checks -------------------------------------------------------------------------

    def out_of_scope_spending(self) -> pd.DataFrame:
        s = self.scoped()
        rows = s[s["scope_reason"].notna()]
        return rows[[*ROW, "amount", "scope_reason", "catalogue_fund_code"]].rename(
            columns={"amount": "amount_fen"}
        )

    def paid_without_entitlement(self) -> pd.DataFrame:
        p = self.paid_cases()
        keys = self.t["entitlements"][KEY].drop_duplicates()
        m = p.merge(keys, on=KEY, how="left", indicator=True)
        with_case = m[m["_merge"] == "left_only"].assign(reason="no_entitlement")
        paid = self.paid()
        no_case = paid[paid["case_id"].isna() & (paid["item"] != SERVICE)].assign(reason="no_case")
        rows = pd.concat([with_case, no_case], ignore_index=True)
        return rows[[*ROW, "amount", "reason"]].rename(columns={"amount": "amount_fen"})

    def duplicate_payment(self) -> pd.DataFrame:
        group = [*KEY, "amount"]
        dup = self.duplicates()
        counts = (
            self.paid_cases()
            .merge(dup[group].drop_duplicates(), on=group, how="inner")
            .groupby(group, sort=False)
            .size()
            .rename("paid_rows")
            .reset_index()
        )
        rows = dup.merge(counts, on=group, how="left")
        rows["entitlement_rows"] = rows["e"].fillna(0).astype("int64")
        return rows[[*ROW, "amount", "entitlement_rows", "paid_rows"]].rename(
            columns={"amount": "amount_fen"}
        )

    def amount_mismatch(self) -> pd.DataFrame:
        p = self.paid_cases()
        p = p[~p["txn_id"].isin(self.duplicates()["txn_id"])]
        paid = p.groupby(KEY, sort=False)["amount"].sum().rename("paid_fen").reset_index()
        rows = self.entitled_sums().merge(paid, on=KEY, how="inner")
        rows = rows[rows["entitled_fen"] != rows["paid_fen"]]
        rows = rows.merge(self.case_street(), on="case_id", how="left")
        rows["amount_fen"] = (rows["paid_fen"] - rows["entitled_fen"]).abs()
        return rows[[*KEY, "street", "id_number", "amount_fen", "entitled_fen", "paid_fen"]]

    def entitled_not_paid(self) -> pd.DataFrame:
        keys = self.paid_cases()[KEY].drop_duplicates()
        m = self.entitled_sums().merge(keys, on=KEY, how="left", indicator=True)
        rows = m[m["_merge"] == "left_only"].drop(columns="_merge")
        ledger = self.t["ledger"]
        returned = ledger[(ledger["status"] == "退票") & ledger["case_id"].notna()]
        returned = returned.groupby(KEY, sort=False).size().rename("returned_rows").reset_index()
        rows = rows.merge(returned, on=KEY, how="left").merge(
            self.case_street(), on="case_id", how="left"
        )
        rows["returned_rows"] = rows["returned_rows"].fillna(0).astype("int64")
        return rows.rename(columns={"entitled_fen": "amount_fen"})[
            [*KEY, "street", "id_number", "amount_fen", "returned_rows"]
        ]

    def paid_after_termination(self) -> pd.DataFrame:
        cases = self.t["cases"]
        term = cases.loc[cases["termination_date"].notna(), ["case_id", "termination_date"]]
        rows = self.paid_cases().merge(term, on="case_id", how="inner")
        rows = rows[rows["month"] > rows["termination_date"].dt.strftime("%Y-%m")]
        # No finding when every entitlement row of the case, month and item is back pay (补发)
        # and one of them has the payment's amount.
        ent = self.t["entitlements"].merge(rows[KEY].drop_duplicates(), on=KEY, how="inner")
        kinds = (
            ent.assign(back_only=ent["kind"] == BACK_PAY)
            .groupby(KEY, sort=False)["back_only"]
            .all()
            .reset_index()
        )
        back = ent.merge(kinds.loc[kinds["back_only"], KEY], on=KEY, how="inner")[
            [*KEY, "amount"]
        ].drop_duplicates()
        m = rows.merge(back, on=[*KEY, "amount"], how="left", indicator=True)
        rows = m[m["_merge"] == "left_only"].drop(columns="_merge").merge(kinds, on=KEY, how="left")
        return rows[[*ROW, "amount", "termination_date", "back_only"]].rename(
            columns={"amount": "amount_fen"}
        )

    def paid_after_death(self) -> pd.DataFrame:
        events = self.t["events"]
        deaths = (
            events[events["event_type"] == "死亡"]
            .groupby("id_number", sort=False)["event_date"]
            .min()
            .rename("death_date")
            .reset_index()
        )
        applicant = (
            self.t["cases"][["case_id", "applicant_id_number"]]
            .rename(columns={"applicant_id_number": "id_number"})
            .merge(deaths, on="id_number")
        )
        rows = self.paid_cases().merge(applicant, on="case_id", how="inner")
        rows = rows[rows["month"] > rows["death_date"].dt.strftime("%Y-%m")]
        return rows[[*ROW, "id_number", "amount", "death_date"]].rename(
            columns={"amount": "amount_fen"}
        )

    def payee_not_registered(self) -> pd.DataFrame:
        registered = self.t["accounts"][["case_id", "account_no"]].rename(
            columns={"account_no": "registered_account"}
        )
        rows = self.paid_cases().merge(registered, on="case_id", how="left")
        rows = rows[
            rows["registered_account"].isna() | (rows["registered_account"] != rows["account_no"])
        ]
        return rows[[*ROW, "amount", "registered_account"]].rename(columns={"amount": "amount_fen"})

    def late_disbursement(self) -> pd.DataFrame:
        p = self.paid()
        due = pd.to_datetime(
            p["month"] + f"-{self.settings.payment_due_day:02d}", format="%Y-%m-%d"
        ).astype(p["pay_date"].dtype)
        late = p["pay_date"] > due
        rows = p[late].assign(due_date=due[late])
        rows["days_late"] = (rows["pay_date"] - rows["due_date"]).dt.days
        return rows[[*ROW, "amount", "due_date", "days_late"]].rename(
            columns={"amount": "amount_fen"}
        )

    def small_rescue_over_cap(self) -> pd.DataFrame:
        cap = self.settings.small_amount_cap_fen
        p = self.paid()
        p = p[p["item"] == SMALL].sort_values(["pay_date", "txn_id"])
        total = p.groupby(["payee_id", "month"], sort=False)["amount"].sum().rename("total_fen")
        over = total[total > cap].reset_index()
        # groupby's "first" skips missing values; the first row is wanted, blank or not
        first = p.drop_duplicates(["payee_id", "month"], keep="first")[
            ["payee_id", "month", "street", "case_id"]
        ]
        rows = over.merge(first, on=["payee_id", "month"], how="left").rename(
            columns={"payee_id": "id_number"}
        )
        rows["item"] = SMALL
        rows["amount_fen"] = rows["total_fen"] - cap
        return rows[["id_number", "month", "street", "case_id", "item", "amount_fen", "total_fen"]]

    def control_total_mismatch(self) -> pd.DataFrame:
        group = ["street", "month", "item"]
        ent = self.t["entitlements"]
        ent = ent[ent["item"] != SERVICE].merge(
            self.t["cases"][["case_id", "street"]], on="case_id", how="left"
        )
        ent = (
            ent.groupby(group, sort=False, dropna=False)
            .agg(entitled_fen=("amount", "sum"), entitled_rows=("amount", "size"))
            .reset_index()
        )
        p = self.paid()
        p = (
            p[p["item"] != SERVICE]
            .groupby(group, sort=False)
            .agg(paid_fen=("amount", "sum"), paid_rows=("amount", "size"))
            .reset_index()
        )
        # A null street (an entitlement of an unknown case) matches nothing, as in SQL.
        known = ent["street"].notna()
        rows = pd.concat(
            [ent[known].merge(p, on=group, how="outer"), ent[~known]], ignore_index=True
        )
        for c in ("entitled_fen", "paid_fen", "entitled_rows", "paid_rows"):
            rows[c] = rows[c].fillna(0).astype("int64")
        rows = rows[rows["entitled_fen"] != rows["paid_fen"]]
        rows["amount_fen"] = (rows["paid_fen"] - rows["entitled_fen"]).abs()
        return rows[
            [*group, "amount_fen", "entitled_fen", "paid_fen", "entitled_rows", "paid_rows"]
        ]


CHECK_IDS = (
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


def run_funds(
    t: dict[str, pd.DataFrame],
    settings: Settings,
    seconds: dict[str, float] | None = None,
    cpu: dict[str, float] | None = None,
) -> dict[str, pd.DataFrame]:
    """Every funds check. ``seconds`` and ``cpu`` receive each check's wall and CPU time (a
    shared result counts in the first check that needs it)."""
    run = _Run(t, settings)
    out: dict[str, pd.DataFrame] = {}
    for check_id in CHECK_IDS:
        started, cpu_started = time.perf_counter(), time.process_time()
        out[check_id] = getattr(run, check_id)()
        if seconds is not None:
            seconds[check_id] = time.perf_counter() - started
        if cpu is not None:
            cpu[check_id] = time.process_time() - cpu_started
    return out
