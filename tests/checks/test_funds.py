"""Funds checks: for each, a tiny drop that fires and a look-alike that must not."""

from __future__ import annotations

import json

import polars as pl
import pytest

from analytics.minidrop import mini_drop
from checks.engine import run_checks
from checks.funds import (
    amount_mismatch,
    control_total_mismatch,
    duplicate_payment,
    entitled_not_paid,
    late_disbursement,
    out_of_scope_spending,
    paid_after_death,
    paid_after_termination,
    paid_without_entitlement,
    payee_not_registered,
    small_rescue_over_cap,
)
from checks.registry import select

A1 = "310105198001010013"
A2 = "310105197512120025"
ACC1 = "6222020200112233445"
ACC2 = "6217000011112222333"
PROVIDER = "91310105MA1FL00004"
UNREGISTERED = "91310105MA1FL0013E"
STREET = "华阳路街道"


def case(case_id="C1", household="H1", applicant=A1, **kw):
    row = dict(
        case_id=case_id,
        household_id=household,
        applicant_id_number=applicant,
        street=STREET,
        assistance_type="最低生活保障",
        status="在册",
        accepted_date="2025-01-02",
        decided_date="2025-01-20",
        monthly_amount=155000,
        start_month="2025-02",
        difficulty="中",
    )
    row.update(kw)
    return row


def ent(
    case_id="C1", month="2026-03", amount=155000, item="低保金", kind="正常", idn=A1, account=ACC1
):
    return dict(
        month=month,
        case_id=case_id,
        id_number=idn,
        item=item,
        kind=kind,
        amount=amount,
        account_no=account,
    )


def txn(
    txn_id,
    case_id="C1",
    month="2026-03",
    amount=155000,
    item="低保金",
    fund="JZ01",
    pay_date=None,
    status="成功",
    payee=A1,
    account=ACC1,
    street=STREET,
):
    return dict(
        txn_id=txn_id,
        batch_id="B1",
        month=month,
        pay_date=pay_date or f"{month}-10",
        street=street,
        fund_code=fund,
        item=item,
        case_id=case_id,
        payee_id=payee,
        payee_name="甲",
        account_no=account,
        amount=amount,
        status=status,
    )


def drop(entitlements, ledger, cases=None, accounts=None, with_providers=True, **extra):
    cases = cases if cases is not None else [case()]
    accounts = (
        accounts
        if accounts is not None
        else [
            dict(
                case_id=c["case_id"],
                account_no=ACC1 if c["case_id"] == "C1" else ACC2,
                holder_id_number=c["applicant_id_number"],
            )
            for c in cases
        ]
    )
    persons = [
        dict(
            id_number=c["applicant_id_number"],
            name="甲",
            household_id=c["household_id"],
            street=STREET,
        )
        for c in cases
    ]
    if with_providers:
        extra["providers"] = [dict(uscc=PROVIDER, name="长宁区某助老服务社", items="服务类救助")]
    return mini_drop(
        as_of="2026-03-31",
        cases=cases,
        accounts=accounts,
        persons=persons,
        entitlements=entitlements,
        ledger=ledger,
        **extra,
    )


def keys(check, d, *cols):
    return sorted(check(d).collect().select(cols).iter_rows())


CLEAN = dict(entitlements=[ent()], ledger=[txn("T1")])


@pytest.mark.parametrize(
    "check",
    [
        out_of_scope_spending,
        paid_without_entitlement,
        duplicate_payment,
        amount_mismatch,
        entitled_not_paid,
        paid_after_termination,
        payee_not_registered,
        late_disbursement,
        small_rescue_over_cap,
        control_total_mismatch,
    ],
)
def test_clean_month_fires_nothing(check):
    assert check(drop(**CLEAN)).collect().height == 0


@pytest.mark.parametrize(
    "row,reason",
    [
        (txn("T9", case_id=None, item="办公用品", fund="JZ01", payee=PROVIDER), "不在目录"),
        (txn("T9", fund="JZ07"), "资金科目应为JZ01"),
        (txn("T9", case_id=None, item="服务类救助", fund="JZ09", payee=UNREGISTERED), "不是登记的"),
    ],
)
def test_out_of_scope_fires(row, reason):
    d = drop([ent()], [txn("T1"), row])
    out = out_of_scope_spending(d).collect()
    assert out.get_column("txn_id").to_list() == ["T9"]
    assert reason in out.get_column("summary")[0]


def test_out_of_scope_rows_take_part_in_no_other_funds_check():
    # The only payment is under the wrong fund code: it is out of scope, so the entitlement
    # counts as not paid, and no txn-level funds check sees the row.
    d = drop([ent()], [txn("T1", fund="JZ07", pay_date="2026-03-20", account=ACC2)])
    assert keys(out_of_scope_spending, d, "txn_id") == [("T1",)]
    for c in (late_disbursement, payee_not_registered, paid_without_entitlement, duplicate_payment):
        assert c(d).collect().height == 0
    assert keys(entitled_not_paid, d, "case_id", "month", "item") == [("C1", "2026-03", "低保金")]


def test_registered_provider_payment_is_in_scope_and_needs_no_entitlement():
    d = drop(
        [ent()],
        [
            txn("T1"),
            txn(
                "T2",
                case_id=None,
                item="服务类救助",
                fund="JZ09",
                payee=PROVIDER,
                account=ACC2,
                amount=990000,
            ),
        ],
    )
    assert out_of_scope_spending(d).collect().height == 0
    assert paid_without_entitlement(d).collect().height == 0
    assert control_total_mismatch(d).collect().height == 0


SERVICE_ROWS = [
    txn(
        "T2",
        case_id=None,
        item="服务类救助",
        fund="JZ09",
        payee=PROVIDER,
        account=ACC2,
        amount=990000,
    ),
    txn(
        "T3",
        case_id=None,
        item="服务类救助",
        fund="JZ09",
        payee=UNREGISTERED,
        account=ACC2,
        amount=50000,
    ),
]


def test_without_providers_service_payments_are_not_judged_on_the_provider():
    # The providers table is optional: without it the provider clause is left out, never judged
    # as failing, and the run's summary says so. With it, the unregistered payee fires.
    with_table = drop([ent()], [txn("T1"), *SERVICE_ROWS])
    assert keys(out_of_scope_spending, with_table, "txn_id") == [("T3",)]
    without = drop([ent()], [txn("T1"), *SERVICE_ROWS], with_providers=False)
    assert out_of_scope_spending(without).collect().height == 0
    # Judged on item and fund code only, they are in scope provider payments: no entitlement is
    # asked of them, and they leave the control totals as before.
    for c in (
        paid_without_entitlement,
        duplicate_payment,
        late_disbursement,
        control_total_mismatch,
        payee_not_registered,
    ):
        assert c(without).collect().height == 0, c.__name__
    summary = run_checks(without, only=["funds"]).summary
    note = dict(zip(summary["check_id"], summary["note"], strict=True))
    assert note["out_of_scope_spending"] == (
        "缺少服务机构（providers），服务类救助的收款方是否为登记的服务机构未核对，只核对了救助项目和资金科目"
    )
    assert [c for c, n in note.items() if n is not None] == ["out_of_scope_spending"]
    scope = summary.filter(pl.col("check_id") == "out_of_scope_spending").row(0, named=True)
    assert scope["skipped"] is None and scope["findings"] == 0  # it ran, on part of the rule
    # With the table, no note: every funds check ran on its whole rule.
    summary = run_checks(with_table, only=["funds"]).summary
    assert summary["check_id"].to_list() == [s.check_id for s in select(["funds"])]
    assert summary["note"].null_count() == summary.height


def test_without_providers_the_rest_of_the_scope_rule_still_fires():
    rows = [
        txn("T1"),
        txn(
            "T8",
            case_id=None,
            item="服务类救助",
            fund="JZ07",
            payee=UNREGISTERED,
            account=ACC2,
            amount=50000,
        ),
        txn(
            "T9",
            case_id=None,
            item="办公用品",
            fund="JZ09",
            payee=UNREGISTERED,
            account=ACC2,
            amount=50000,
        ),
    ]
    d = drop([ent()], rows, with_providers=False)
    out = out_of_scope_spending(d).collect()
    assert out["txn_id"].to_list() == ["T8", "T9"]
    assert "资金科目应为JZ09" in out["summary"][0] and "不在目录" in out["summary"][1]
    assert paid_without_entitlement(d).collect().height == 0  # out of scope: no other check


@pytest.mark.parametrize(
    "extra",
    [
        txn("T2", month="2026-03", item="临时救助金", fund="JZ07", amount=80000),
        txn("T2", case_id=None, amount=80000),
    ],
)
def test_paid_without_entitlement_fires(extra):
    d = drop([ent()], [txn("T1"), extra])
    assert keys(paid_without_entitlement, d, "txn_id") == [("T2",)]


def test_back_pay_of_the_same_amount_is_no_duplicate():
    d = drop([ent(), ent(kind="补发")], [txn("T1"), txn("T2", pay_date="2026-03-11")])
    assert duplicate_payment(d).collect().height == 0
    assert amount_mismatch(d).collect().height == 0


def test_duplicate_fires_on_the_later_row():
    d = drop([ent()], [txn("T2", pay_date="2026-03-12"), txn("T1", pay_date="2026-03-10")])
    out = duplicate_payment(d).collect()
    assert out.get_column("txn_id").to_list() == ["T2"]
    assert out.get_column("amount_fen").to_list() == [155000]
    evidence = out.get_column("evidence").struct.json_encode()[0]
    assert json.loads(evidence)["paid_rows"] == 2
    # duplicates are left out of the amount comparison
    assert amount_mismatch(d).collect().height == 0


def test_same_pay_date_orders_duplicates_by_txn_id():
    d = drop([ent()], [txn("T5"), txn("T4"), txn("T6")])
    assert keys(duplicate_payment, d, "txn_id") == [("T5",), ("T6",)]


def test_one_row_of_a_wrong_amount_is_a_mismatch_not_a_duplicate():
    d = drop([ent()], [txn("T1"), txn("T2", amount=150000)])
    assert duplicate_payment(d).collect().height == 0
    assert keys(amount_mismatch, d, "case_id", "month", "item") == [("C1", "2026-03", "低保金")]


def test_amount_mismatch_sentence():
    d = drop([ent()], [txn("T1", amount=150000)])
    out = amount_mismatch(d).collect()
    assert out.get_column("summary")[0].startswith(
        "2026年3月低保金应发1,550.00元，实发1,500.00元，差额50.00元"
    )
    assert out.get_column("amount_fen").to_list() == [5000]


@pytest.mark.parametrize("ledger", [[], [txn("T1", status="退票")]])
def test_entitled_not_paid_fires_when_missing_or_returned(ledger):
    d = drop([ent()], ledger)
    assert keys(entitled_not_paid, d, "case_id", "month", "item") == [("C1", "2026-03", "低保金")]


def test_returned_and_repaid_is_paid():
    d = drop(
        [ent()], [txn("T1", status="退票", pay_date="2026-03-05"), txn("T2", pay_date="2026-03-12")]
    )
    for c in (entitled_not_paid, amount_mismatch, duplicate_payment, control_total_mismatch):
        assert c(d).collect().height == 0


@pytest.mark.parametrize("term,fires", [("2026-02-20", True), ("2026-03-01", False)])
def test_paid_after_termination(term, fires):
    d = drop([ent()], [txn("T1")], cases=[case(status="终止", termination_date=term)])
    assert keys(paid_after_termination, d, "txn_id") == ([("T1",)] if fires else [])


TERMINATED = [case(status="终止", termination_date="2026-02-20")]


@pytest.mark.parametrize(
    "entitlements,fires,reason",
    [
        # back pay for a month before the termination, same amount: approved, no finding
        ([ent(kind="补发", amount=80000)], False, None),
        # two back-pay rows, one of the payment's amount
        ([ent(kind="补发", amount=30000), ent(kind="补发", amount=80000)], False, None),
        # back pay of another amount
        ([ent(kind="补发", amount=50000)], True, "只有补发记录，但没有与拨付金额相同的一笔"),
        # a regular row beside the back pay: the month was still entitled as if the case ran on
        ([ent(kind="补发", amount=80000), ent(kind="正常", amount=155000)], True, "有正常发放记录"),
        ([ent(kind="正常", amount=80000)], True, "有正常发放记录"),
        # no entitlement at all
        ([], True, "没有该案件当月该项目的记录"),
        # back pay of the amount, but for another item
        ([ent(kind="补发", amount=80000, item="临时救助金")], True, "没有该案件当月该项目的记录"),
    ],
)
def test_paid_after_termination_and_back_pay(entitlements, fires, reason):
    d = drop(entitlements, [txn("T1", amount=80000)], cases=TERMINATED)
    out = paid_after_termination(d).collect()
    assert out["txn_id"].to_list() == (["T1"] if fires else [])
    if fires:
        assert reason in out["summary"][0]
        evidence = json.loads(out["evidence"].struct.json_encode()[0])
        assert len(evidence["entitlements"] or []) == len(entitlements) - (
            1 if entitlements and entitlements[0]["item"] != "低保金" else 0
        )


def test_back_pay_after_termination_matches_each_payment_on_its_own():
    # One back-pay entitlement of 800 yuan; two payments after the termination: the one of that
    # amount is back pay, the other is not.
    d = drop(
        [ent(kind="补发", amount=80000)],
        [txn("T1", amount=80000), txn("T2", amount=155000, pay_date="2026-03-11")],
        cases=TERMINATED,
    )
    assert keys(paid_after_termination, d, "txn_id") == [("T2",)]


def test_back_pay_in_the_termination_month_or_before_is_never_judged():
    d = drop([ent(month="2026-02", kind="正常")], [txn("T1", month="2026-02")], cases=TERMINATED)
    assert paid_after_termination(d).collect().height == 0


@pytest.mark.parametrize("death,fires", [("2026-02-27", True), ("2026-03-02", False)])
def test_paid_after_death(death, fires):
    d = drop(
        [ent()],
        [txn("T1")],
        events=[dict(id_number=A1, event_type="死亡", event_date=death, source="公安")],
    )
    assert keys(paid_after_death, d, "txn_id") == ([("T1",)] if fires else [])


def test_death_of_another_member_is_not_the_applicants():
    d = drop(
        [ent()],
        [txn("T1")],
        events=[dict(id_number=A2, event_type="死亡", event_date="2026-01-01")],
    )
    assert paid_after_death(d).collect().height == 0


@pytest.mark.parametrize(
    "accounts,fires",
    [
        (None, False),
        ([dict(case_id="C1", account_no=ACC2, holder_id_number=A1)], True),
        ([], True),
    ],
)
def test_payee_not_registered(accounts, fires):
    d = drop([ent()], [txn("T1")], accounts=accounts)
    assert keys(payee_not_registered, d, "txn_id") == ([("T1",)] if fires else [])


@pytest.mark.parametrize("pay_date,fires", [("2026-03-15", False), ("2026-03-16", True)])
def test_late_disbursement_on_and_after_due_day(pay_date, fires):
    d = drop([ent()], [txn("T1", pay_date=pay_date)])
    assert keys(late_disbursement, d, "txn_id") == ([("T1",)] if fires else [])


@pytest.mark.parametrize("amounts,fires", [((30000, 20000), False), ((30000, 30000), True)])
def test_small_rescue_cap(amounts, fires):
    cases = [case(), case("C2", assistance_type="小金额救助")]
    ents = [ent()] + [ent("C2", amount=a, item="小金额救助金", account=ACC2) for a in amounts]
    ledger = [txn("T1")] + [
        txn(f"S{i}", case_id="C2", amount=a, item="小金额救助金", fund="JZ08", account=ACC2)
        for i, a in enumerate(amounts)
    ]
    d = drop(ents, ledger, cases=cases)
    assert keys(small_rescue_over_cap, d, "id_number", "month") == (
        [(A1, "2026-03")] if fires else []
    )


def test_control_total_counts_the_case_street_against_the_ledger_street():
    d = drop([ent()], [txn("T1", street="江苏路街道")])
    got = keys(control_total_mismatch, d, "street", "month", "item")
    assert got == [("华阳路街道", "2026-03", "低保金"), ("江苏路街道", "2026-03", "低保金")]
    assert amount_mismatch(d).collect().height == 0


def test_engine_shapes_findings_and_ids_are_stable():
    d = drop([ent()], [txn("T1", amount=150000, pay_date="2026-03-20")])
    first = run_checks(d, only=["funds"]).findings
    second = run_checks(
        drop([ent()], [txn("T1", amount=150000, pay_date="2026-03-20")]), only=["funds"]
    ).findings
    assert first.equals(second)
    assert set(first.get_column("check_id")) == {
        "amount_mismatch",
        "late_disbursement",
        "control_total_mismatch",
    }
    row = first.filter(pl.col("check_id") == "amount_mismatch").row(0, named=True)
    assert row["amount"] == "50.00" and row["street"] == STREET and row["severity"] == "中"
    assert json.loads(row["evidence"])["finding_id"] == row["finding_id"]
    assert row["txn_id"] is None  # unrelated key columns stay blank
