"""Funds: the business system (应发名册, ``entitled``) against the fund ledger (实发明细, ``paid``).

Precedence (contract section 5): out-of-scope rows leave every other funds check; 退票 rows count
as unpaid; duplicates are left out of the amount comparison; back pay (补发) is an entitlement row
like any other, so a back payment of the same amount is matched, not a duplicate, and a back
payment after a case's termination is no finding when the business system holds it as back pay
only.

Without the optional ``providers`` table, 服务类救助 rows are judged on item and fund code only
(:func:`checks.common.with_scope`); out_of_scope_spending's summary note says so.
"""

from __future__ import annotations

import polars as pl

from analytics.model import Drop
from analytics.schema import TABLES
from checks.common import (
    SERVICE_ITEM,
    SMALL_ITEM,
    date_str,
    deaths,
    due_date,
    month_of,
    month_zh,
    with_scope,
    yuan,
)
from checks.registry import check

KEY = ["case_id", "month", "item"]
BACK_PAY = "补发"
NO_PROVIDERS = (
    f"缺少{TABLES['providers'].zh}（providers），服务类救助的收款方是否为登记的服务机构"
    "未核对，只核对了救助项目和资金科目"
)


# --- derived frames shared by the checks of one run ------------------------------------------


def scoped(drop: Drop) -> pl.LazyFrame:
    return drop.memo("funds.scoped", lambda: with_scope(drop))


def paid(drop: Drop) -> pl.LazyFrame:
    """In-scope paid rows."""
    return scoped(drop).filter(pl.col("in_scope")).drop("in_scope", "scope_reason")


def entitled(drop: Drop) -> pl.LazyFrame:
    return drop["entitlements"]


def paid_case(drop: Drop) -> pl.LazyFrame:
    """In-scope paid rows that name a case."""
    # A filter of the scoped memo is cheap; a second copy of the paid rows is not.
    return paid(drop).filter(pl.col("case_id").is_not_null())


def _sums(drop: Drop) -> pl.LazyFrame:
    """Per case, month and item: entitled sum and rows, paid sum and rows (duplicates included).

    Both sides go through one group-by over their concatenation, which costs less than two
    group-bys and a full join of millions of keys."""

    def build() -> pl.LazyFrame:
        # Each side in a column of its own, null on the other side's rows: plain sums and
        # counts cost half of filtered aggregations.
        ent = entitled(drop).select(*KEY, pl.col("amount").alias("entitled"))
        p = paid_case(drop).select(*KEY, pl.col("amount").alias("paid"))
        return (
            pl.concat([ent, p], how="diagonal")
            .group_by(KEY)
            .agg(
                pl.col("entitled").sum().alias("entitled_fen"),
                pl.col("entitled").count().alias("entitled_rows"),
                pl.col("paid").sum().alias("paid_fen"),
                pl.col("paid").count().alias("paid_rows"),
            )
        )

    return drop.memo("funds.sums", build)


def sides(drop: Drop) -> pl.LazyFrame:
    """Per case, month and item: the entitled sum and the paid sum with duplicates left out; a
    side with no row is null. It serves amount_mismatch, entitled_not_paid and
    paid_without_entitlement."""

    def build() -> pl.LazyFrame:
        dup = duplicates(drop).group_by(KEY).agg(pl.col("amount").sum().alias("dup_fen"))
        return (
            _sums(drop)
            .join(dup, on=KEY, how="left", validate="1:1")
            .with_columns(
                pl.when(pl.col("entitled_rows") > 0)
                .then(pl.col("entitled_fen"))
                .alias("entitled_fen"),
                # Removing duplicates never empties a key: the first max(e, 1) rows stay.
                pl.when(pl.col("paid_rows") > 0)
                .then(pl.col("paid_fen") - pl.col("dup_fen").fill_null(0))
                .alias("paid_fen"),
            )
            .drop("dup_fen")
        )

    return drop.memo("funds.sides", build)


def _ledger_evidence() -> pl.Expr:
    return pl.struct(
        "txn_id",
        "batch_id",
        "month",
        date_str(pl.col("pay_date")).alias("pay_date"),
        "street",
        "fund_code",
        "item",
        "case_id",
        "payee_id",
        "account_no",
        yuan(pl.col("amount")).alias("amount"),
        "status",
    )


def _entitlement_evidence() -> pl.Expr:
    return pl.struct(
        "month",
        "case_id",
        "id_number",
        "item",
        "kind",
        yuan(pl.col("amount")).alias("amount"),
        "account_no",
    )


def duplicates(drop: Drop) -> pl.LazyFrame:
    """The paid rows that are duplicates: per case, month, item and amount, the rows after the
    first max(e, 1) by pay_date then txn_id, where e counts entitlement rows of that amount."""

    def build() -> pl.LazyFrame:
        group = [*KEY, "amount"]
        # Only a key paid at least twice can hold a duplicate.
        p = paid_case(drop).join(
            _sums(drop).filter(pl.col("paid_rows") > 1).select(KEY), on=KEY, how="semi"
        )
        multi = p.group_by(group).agg(pl.len().alias("n")).filter(pl.col("n") > 1)
        e = (
            entitled(drop)
            .join(multi, on=group, how="semi")
            .group_by(group)
            .agg(pl.len().alias("e"))
        )
        cand = (
            multi.join(e, on=group, how="left", validate="1:1")
            .with_columns(pl.max_horizontal(pl.col("e").fill_null(0), pl.lit(1)).alias("allowed"))
            .filter(pl.col("n") > pl.col("allowed"))
        )
        rows = (
            p.join(cand.select(*group, "allowed", "e"), on=group, how="inner")
            .sort([*group, "pay_date", "txn_id"])
            .with_columns(pl.int_range(pl.len()).over(group).alias("rank"))
        )
        return rows.filter(pl.col("rank") >= pl.col("allowed"))

    return drop.memo("funds.duplicates", build)


# --- the checks ---------------------------------------------------------------------------------


@check(
    title="超范围使用资金",
    family="funds",
    severity="高",
    keys=("txn_id",),
    needs=("ledger",),
    partial={"providers": NO_PROVIDERS},
)
def out_of_scope_spending(drop: Drop) -> pl.LazyFrame:
    """拨付的项目不在救助目录内、资金科目与项目不符，或服务类救助付给了未登记的机构，属超范围使用资金。

    The provider clause reads the optional ``providers`` table; without it that clause is left
    out (never judged as failing) and the run's summary note says so.
    """
    rows = scoped(drop).filter(~pl.col("in_scope"))
    return rows.select(
        "txn_id",
        "street",
        "month",
        "case_id",
        "item",
        "account_no",
        pl.col("amount").alias("amount_fen"),
        pl.concat_str(
            [
                month_zh(pl.col("month")),
                pl.col("street"),
                pl.lit("以“"),
                pl.col("item"),
                pl.lit("”名义拨付"),
                yuan(pl.col("amount")),
                pl.lit("元（流水号"),
                pl.col("txn_id"),
                pl.lit("），"),
                pl.col("scope_reason"),
                pl.lit("，请核实资金用途。"),
            ]
        ).alias("summary"),
        pl.struct(
            pl.col("scope_reason").alias("reason"),
            pl.col("catalogue_fund_code").alias("catalogue_fund_code"),
            pl.concat_list(_ledger_evidence()).alias("ledger"),
        ).alias("evidence"),
    )


@check(
    title="无应发记录的拨付",
    family="funds",
    severity="高",
    keys=("txn_id",),
    needs=("ledger", "entitlements"),
)
def paid_without_entitlement(drop: Drop) -> pl.LazyFrame:
    """实发明细中有拨付，业务系统却没有同一案件、月份、项目的应发记录（或既无案件又非服务机构付款）。

    A provider payment is an in-scope 服务类救助 row: with ``providers`` its payee is a registered
    provider (an unregistered one is out of scope and leaves this check); without, its payee is
    not checked (see out_of_scope_spending's note), so it is never judged here as failing.
    """
    unentitled = sides(drop).filter(pl.col("entitled_fen").is_null()).select(KEY)
    with_case = paid_case(drop).join(unentitled, on=KEY, how="semi")
    no_case = paid(drop).filter(pl.col("case_id").is_null() & (pl.col("item") != SERVICE_ITEM))
    rows = pl.concat([with_case, no_case], how="vertical")
    reason = (
        pl.when(pl.col("case_id").is_null())
        .then(pl.lit("该笔拨付没有救助编号，且不是付给服务机构的款项"))
        .otherwise(
            pl.concat_str(
                [
                    pl.lit("应发名册中没有案件"),
                    pl.col("case_id"),
                    pl.lit("当月的"),
                    pl.col("item"),
                    pl.lit("记录"),
                ]
            )
        )
    )
    return rows.select(
        "txn_id",
        "street",
        "month",
        "case_id",
        "item",
        "account_no",
        pl.col("amount").alias("amount_fen"),
        pl.concat_str(
            [
                month_zh(pl.col("month")),
                pl.col("item"),
                pl.lit("实发"),
                yuan(pl.col("amount")),
                pl.lit("元（流水号"),
                pl.col("txn_id"),
                pl.lit("），"),
                reason,
                pl.lit("，请核实拨付依据。"),
            ]
        ).alias("summary"),
        pl.struct(reason.alias("reason"), pl.concat_list(_ledger_evidence()).alias("ledger")).alias(
            "evidence"
        ),
    )


@check(
    title="重复拨付",
    family="funds",
    severity="高",
    keys=("txn_id",),
    needs=("ledger", "entitlements"),
)
def duplicate_payment(drop: Drop) -> pl.LazyFrame:
    """同一案件、月份、项目、金额的实发笔数多于应发笔数，多出的较晚笔为重复拨付。"""
    dup = duplicates(drop)
    group = [*KEY, "amount"]
    paid_group = (
        paid(drop)
        .join(dup.select(group).unique(), on=group, how="semi")
        .sort("pay_date", "txn_id")
        .group_by(group)
        .agg(_ledger_evidence().alias("ledger"), pl.len().alias("paid_rows"))
    )
    return dup.join(paid_group, on=group, how="left", validate="m:1").select(
        "txn_id",
        "street",
        "month",
        "case_id",
        "item",
        "account_no",
        pl.col("amount").alias("amount_fen"),
        pl.concat_str(
            [
                month_zh(pl.col("month")),
                pl.col("item"),
                pl.lit("案件"),
                pl.col("case_id"),
                pl.lit("应发"),
                pl.col("e").fill_null(0).cast(pl.String),
                pl.lit("笔"),
                yuan(pl.col("amount")),
                pl.lit("元，实发"),
                pl.col("paid_rows").cast(pl.String),
                pl.lit("笔，流水号"),
                pl.col("txn_id"),
                pl.lit("为多出的重复拨付，请追回或核实。"),
            ]
        ).alias("summary"),
        pl.struct(
            pl.col("e").fill_null(0).alias("entitlement_rows"),
            pl.col("paid_rows"),
            pl.col("ledger"),
        ).alias("evidence"),
    )


def _entitlement_rows(drop: Drop, keys: pl.LazyFrame) -> pl.LazyFrame:
    """The entitlement rows behind the flagged keys only: evidence is built after filtering."""
    return (
        entitled(drop)
        .join(keys, on=KEY, how="semi")
        .sort("month", "case_id", "kind", "amount")
        .group_by(KEY)
        .agg(_entitlement_evidence().alias("entitlements"))
    )


def _ledger_rows(drop: Drop, keys: pl.LazyFrame) -> pl.LazyFrame:
    return (
        paid_case(drop)
        .join(keys, on=KEY, how="semi")
        .join(duplicates(drop).select("txn_id"), on="txn_id", how="anti")
        .sort("pay_date", "txn_id")
        .group_by(KEY)
        .agg(_ledger_evidence().alias("ledger"))
    )


def _case_street(drop: Drop) -> pl.LazyFrame:
    return drop["cases"].select("case_id", "street", "applicant_id_number")


@check(
    title="金额不符",
    family="funds",
    severity="中",
    keys=("case_id", "month", "item"),
    needs=("ledger", "entitlements", "cases"),
)
def amount_mismatch(drop: Drop) -> pl.LazyFrame:
    """同一案件、月份、项目的应发合计与实发合计（不含重复拨付）不一致。"""
    flagged = (
        sides(drop)
        .filter(pl.col("entitled_fen") != pl.col("paid_fen"))
        .with_columns((pl.col("paid_fen") - pl.col("entitled_fen")).alias("diff_fen"))
        .collect()
        .lazy()
    )
    keys = flagged.select(KEY)
    rows = (
        flagged.join(_entitlement_rows(drop, keys), on=KEY, how="left", validate="1:1")
        .join(_ledger_rows(drop, keys), on=KEY, how="left", validate="1:1")
        .join(_case_street(drop), on="case_id", how="left", validate="m:1")
    )
    return rows.select(
        "case_id",
        "month",
        "item",
        "street",
        pl.col("applicant_id_number").alias("id_number"),
        pl.col("diff_fen").abs().alias("amount_fen"),
        pl.concat_str(
            [
                month_zh(pl.col("month")),
                pl.col("item"),
                pl.lit("应发"),
                yuan(pl.col("entitled_fen")),
                pl.lit("元，实发"),
                yuan(pl.col("paid_fen")),
                pl.lit("元，差额"),
                yuan(pl.col("diff_fen").abs()),
                pl.lit("元（案件"),
                pl.col("case_id"),
                pl.lit("），请核对发放金额。"),
            ]
        ).alias("summary"),
        pl.struct(
            yuan(pl.col("entitled_fen")).alias("entitled_total"),
            yuan(pl.col("paid_fen")).alias("paid_total"),
            "entitlements",
            "ledger",
        ).alias("evidence"),
    )


@check(
    title="应发未发",
    family="funds",
    severity="高",
    keys=("case_id", "month", "item"),
    needs=("ledger", "entitlements", "cases"),
)
def entitled_not_paid(drop: Drop) -> pl.LazyFrame:
    """业务系统有应发记录，实发明细中没有同一案件、月份、项目的成功拨付（退票视为未发）。"""
    flagged = sides(drop).filter(pl.col("paid_fen").is_null()).drop("paid_fen").collect().lazy()
    keys = flagged.select(KEY)
    returned = (
        drop["ledger"]
        .filter(pl.col("status") == "退票")
        .join(keys, on=KEY, how="semi")
        .group_by(KEY)
        .agg(pl.len().alias("returned_rows"))
    )
    rows = (
        flagged.join(_entitlement_rows(drop, keys), on=KEY, how="left", validate="1:1")
        .join(returned, on=KEY, how="left", validate="1:1")
        .join(_case_street(drop), on="case_id", how="left", validate="m:1")
    )
    note = (
        pl.when(pl.col("returned_rows").is_not_null())
        .then(pl.lit("（有退票记录，未见重新拨付）"))
        .otherwise(pl.lit(""))
    )
    return rows.select(
        "case_id",
        "month",
        "item",
        "street",
        pl.col("applicant_id_number").alias("id_number"),
        pl.col("entitled_fen").alias("amount_fen"),
        pl.concat_str(
            [
                month_zh(pl.col("month")),
                pl.col("item"),
                pl.lit("应发"),
                yuan(pl.col("entitled_fen")),
                pl.lit("元，实发明细中没有成功拨付"),
                note,
                pl.lit("（案件"),
                pl.col("case_id"),
                pl.lit("），请核实是否截留或漏发。"),
            ]
        ).alias("summary"),
        pl.struct(
            yuan(pl.col("entitled_fen")).alias("entitled_total"),
            pl.col("returned_rows").fill_null(0).alias("returned_rows"),
            "entitlements",
        ).alias("evidence"),
    )


def _paid_with_case(drop: Drop, extra: pl.LazyFrame, on: str = "case_id") -> pl.LazyFrame:
    return paid_case(drop).join(extra, on=on, how="inner")


@check(
    title="终止后仍拨付",
    family="funds",
    severity="高",
    keys=("txn_id",),
    needs=("ledger", "cases", "entitlements"),
)
def paid_after_termination(drop: Drop) -> pl.LazyFrame:
    """案件已终止，此后月份仍有拨付；但若业务系统中该案件当月该项目的应发记录全部为补发、且其中一笔与拨付金额相同（终止前月份的补发），不列为线索。"""
    term = (
        drop["cases"]
        .filter(pl.col("termination_date").is_not_null())
        .select("case_id", "termination_date")
    )
    # Few rows at any scale: taken once, so that the plan below does not scan the ledger and
    # the entitlements again for each use.
    rows = (
        (_paid_with_case(drop, term).filter(pl.col("month") > month_of(pl.col("termination_date"))))
        .collect()
        .lazy()
    )
    cases = rows.select("case_id").unique().collect().to_series()
    ents = (
        entitled(drop)
        .filter(pl.col("case_id").is_in(cases.implode()))
        .join(rows.select(KEY).unique(), on=KEY, how="semi")
        .collect()
        .lazy()
    )
    kinds = ents.group_by(KEY).agg((pl.col("kind") == BACK_PAY).all().alias("back_only"))
    # Back pay approved in the business system: every entitlement row of the key is 补发 and
    # one of them has the payment's amount.
    back_pay = (
        ents.join(kinds.filter(pl.col("back_only")), on=KEY, how="semi")
        .select(*KEY, "amount")
        .unique()
    )
    rows = rows.join(back_pay, on=[*KEY, "amount"], how="anti").join(
        kinds, on=KEY, how="left", validate="m:1"
    )
    evidence_rows = (
        ents.join(rows.select(KEY).unique(), on=KEY, how="semi")
        .sort("month", "case_id", "kind", "amount")
        .group_by(KEY)
        .agg(_entitlement_evidence().alias("entitlements"))
    )
    rows = rows.join(evidence_rows, on=KEY, how="left", validate="m:1")
    reason = (
        pl.when(pl.col("back_only").is_null())
        .then(pl.lit("应发名册中没有该案件当月该项目的记录"))
        .when(pl.col("back_only"))
        .then(pl.lit("应发名册中该月只有补发记录，但没有与拨付金额相同的一笔"))
        .otherwise(pl.lit("应发名册中该月有正常发放记录，不是终止前月份的补发"))
    )
    return rows.select(
        "txn_id",
        "street",
        "month",
        "case_id",
        "item",
        "account_no",
        pl.col("amount").alias("amount_fen"),
        pl.concat_str(
            [
                pl.lit("案件"),
                pl.col("case_id"),
                pl.lit("已于"),
                date_str(pl.col("termination_date")),
                pl.lit("终止，"),
                month_zh(pl.col("month")),
                pl.lit("仍拨付"),
                pl.col("item"),
                yuan(pl.col("amount")),
                pl.lit("元（流水号"),
                pl.col("txn_id"),
                pl.lit("），"),
                reason,
                pl.lit("，请核实并追回。"),
            ]
        ).alias("summary"),
        pl.struct(
            date_str(pl.col("termination_date")).alias("termination_date"),
            reason.alias("reason"),
            pl.concat_list(_ledger_evidence()).alias("ledger"),
            "entitlements",
        ).alias("evidence"),
    )


@check(
    title="身故后仍拨付",
    family="funds",
    severity="高",
    keys=("txn_id",),
    needs=("ledger", "cases", "events"),
)
def paid_after_death(drop: Drop) -> pl.LazyFrame:
    """申请人已身故（部门共享信息），此后月份仍有拨付。"""
    applicant_death = (
        drop["cases"]
        .select("case_id", pl.col("applicant_id_number").alias("id_number"))
        .join(deaths(drop), on="id_number", how="inner")
    )
    rows = _paid_with_case(drop, applicant_death).filter(
        pl.col("month") > month_of(pl.col("death_date"))
    )
    return rows.select(
        "txn_id",
        "street",
        "month",
        "case_id",
        "item",
        "account_no",
        "id_number",
        pl.col("amount").alias("amount_fen"),
        pl.concat_str(
            [
                pl.lit("案件"),
                pl.col("case_id"),
                pl.lit("申请人于"),
                date_str(pl.col("death_date")),
                pl.lit("身故，"),
                month_zh(pl.col("month")),
                pl.lit("仍拨付"),
                pl.col("item"),
                yuan(pl.col("amount")),
                pl.lit("元（流水号"),
                pl.col("txn_id"),
                pl.lit("），请核实并追回。"),
            ]
        ).alias("summary"),
        pl.struct(
            date_str(pl.col("death_date")).alias("death_date"),
            pl.col("death_source"),
            pl.concat_list(_ledger_evidence()).alias("ledger"),
        ).alias("evidence"),
    )


@check(
    title="收款账户与登记不符",
    family="funds",
    severity="高",
    keys=("txn_id",),
    needs=("ledger", "accounts"),
)
def payee_not_registered(drop: Drop) -> pl.LazyFrame:
    """拨付的银行账号不是该案件登记的收款账户，或案件没有登记收款账户。"""
    registered = drop["accounts"].select(
        "case_id", pl.col("account_no").alias("registered_account")
    )
    rows = (
        paid_case(drop)
        .join(registered, on="case_id", how="left", validate="m:1")
        .filter(
            pl.col("registered_account").is_null()
            | (pl.col("registered_account") != pl.col("account_no"))
        )
    )
    reason = (
        pl.when(pl.col("registered_account").is_null())
        .then(pl.lit("该案件没有登记收款账户"))
        .otherwise(pl.lit("收款账号与案件登记的账户不一致"))
    )
    return rows.select(
        "txn_id",
        "street",
        "month",
        "case_id",
        "item",
        "account_no",
        pl.col("amount").alias("amount_fen"),
        pl.concat_str(
            [
                month_zh(pl.col("month")),
                pl.col("item"),
                yuan(pl.col("amount")),
                pl.lit("元（流水号"),
                pl.col("txn_id"),
                pl.lit("）"),
                reason,
                pl.lit("，请核实资金去向。"),
            ]
        ).alias("summary"),
        pl.struct(
            reason.alias("reason"),
            "registered_account",
            pl.concat_list(_ledger_evidence()).alias("ledger"),
        ).alias("evidence"),
    )


@check(title="拨付不及时", family="funds", severity="低", keys=("txn_id",), needs=("ledger",))
def late_disbursement(drop: Drop) -> pl.LazyFrame:
    """拨付日期晚于当月规定的发放日。"""
    rows = (
        paid(drop)
        .with_columns(due_date(pl.col("month"), drop.settings.payment_due_day).alias("due_date"))
        .filter(pl.col("pay_date") > pl.col("due_date"))
        .with_columns((pl.col("pay_date") - pl.col("due_date")).dt.total_days().alias("days_late"))
    )
    return rows.select(
        "txn_id",
        "street",
        "month",
        "case_id",
        "item",
        "account_no",
        pl.col("amount").alias("amount_fen"),
        pl.concat_str(
            [
                month_zh(pl.col("month")),
                pl.col("item"),
                yuan(pl.col("amount")),
                pl.lit("元（流水号"),
                pl.col("txn_id"),
                pl.lit("）应于"),
                date_str(pl.col("due_date")),
                pl.lit("前发放，实际"),
                date_str(pl.col("pay_date")),
                pl.lit("拨付，迟"),
                pl.col("days_late").cast(pl.String),
                pl.lit("天。"),
            ]
        ).alias("summary"),
        pl.struct(
            date_str(pl.col("due_date")).alias("due_date"),
            "days_late",
            pl.concat_list(_ledger_evidence()).alias("ledger"),
        ).alias("evidence"),
    )


@check(
    title="小金额救助超限",
    family="funds",
    severity="中",
    keys=("id_number", "month"),
    needs=("ledger",),
)
def small_rescue_over_cap(drop: Drop) -> pl.LazyFrame:
    """同一收款人同月小金额救助金实发合计超过规定上限。"""
    cap = drop.settings.small_amount_cap_fen
    rows = (
        paid(drop)
        .filter(pl.col("item") == SMALL_ITEM)
        .sort("pay_date", "txn_id")
        .group_by("payee_id", "month")
        .agg(
            pl.col("amount").sum().alias("total_fen"),
            pl.col("street").first(),
            pl.col("case_id").first(),
            _ledger_evidence().alias("ledger"),
        )
        .filter(pl.col("total_fen") > cap)
    )
    return rows.select(
        pl.col("payee_id").alias("id_number"),
        "month",
        "street",
        "case_id",
        pl.lit(SMALL_ITEM).alias("item"),
        (pl.col("total_fen") - cap).alias("amount_fen"),
        pl.concat_str(
            [
                month_zh(pl.col("month")),
                pl.lit("同一收款人小金额救助金实发合计"),
                yuan(pl.col("total_fen")),
                pl.lit("元，超过上限"),
                yuan(pl.lit(cap)),
                pl.lit("元，超出"),
                yuan(pl.col("total_fen") - cap),
                pl.lit("元。"),
            ]
        ).alias("summary"),
        pl.struct(
            yuan(pl.col("total_fen")).alias("paid_total"), yuan(pl.lit(cap)).alias("cap"), "ledger"
        ).alias("evidence"),
    )


@check(
    title="汇总金额不符",
    family="funds",
    severity="中",
    keys=("street", "month", "item"),
    needs=("ledger", "entitlements", "cases"),
)
def control_total_mismatch(drop: Drop) -> pl.LazyFrame:
    """某街镇某月某项目的应发总额与实发总额不一致（含一方缺失）。"""
    group = ["street", "month", "item"]
    ent = (
        entitled(drop)
        .filter(pl.col("item") != SERVICE_ITEM)
        .join(drop["cases"].select("case_id", "street"), on="case_id", how="left", validate="m:1")
        .group_by(group)
        .agg(pl.col("amount").sum().alias("entitled_fen"), pl.len().alias("entitled_rows"))
    )
    p = (
        paid(drop)
        .filter(pl.col("item") != SERVICE_ITEM)
        .group_by(group)
        .agg(pl.col("amount").sum().alias("paid_fen"), pl.len().alias("paid_rows"))
    )
    rows = (
        ent.join(p, on=group, how="full", coalesce=True, validate="1:1")
        .with_columns(pl.col("entitled_fen", "paid_fen", "entitled_rows", "paid_rows").fill_null(0))
        .filter(pl.col("entitled_fen") != pl.col("paid_fen"))
        .with_columns((pl.col("paid_fen") - pl.col("entitled_fen")).alias("diff_fen"))
    )
    return rows.select(
        "street",
        "month",
        "item",
        pl.col("diff_fen").abs().alias("amount_fen"),
        pl.concat_str(
            [
                pl.col("street").fill_null("（未知街镇）"),
                month_zh(pl.col("month")),
                pl.col("item"),
                pl.lit("应发总额"),
                yuan(pl.col("entitled_fen")),
                pl.lit("元（"),
                pl.col("entitled_rows").cast(pl.String),
                pl.lit("笔），实发总额"),
                yuan(pl.col("paid_fen")),
                pl.lit("元（"),
                pl.col("paid_rows").cast(pl.String),
                pl.lit("笔），差额"),
                yuan(pl.col("diff_fen").abs()),
                pl.lit("元。"),
            ]
        ).alias("summary"),
        pl.struct(
            yuan(pl.col("entitled_fen")).alias("entitled_total"),
            yuan(pl.col("paid_fen")).alias("paid_total"),
            "entitled_rows",
            "paid_rows",
        ).alias("evidence"),
    )
