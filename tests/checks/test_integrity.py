"""Integrity checks: for each, tiny drops that fire and look-alikes that must not."""

from __future__ import annotations

import json
from dataclasses import replace

import polars as pl
import pytest

from analytics.minidrop import mini_drop as _mini_drop
from analytics.parse import address_column
from checks.engine import run_checks, shape_findings
from checks.integrity import (
    custodian_concentration,
    custody_not_filed,
    handled_linked_case,
    handled_relative_case,
    payee_not_household,
    relative_not_filed,
    shared_account,
    staff_contact_overlap,
    staff_linked_account,
)
from checks.registry import REGISTRY

STREET = "天山路街道"
STAFF_ID = "310105197506060312"
OTHER_STAFF_ID = "310105198109090427"
A = "310105198001010013"  # applicant of C1 (household H1)
B = "310105198203050224"  # second member of H1
X = "310105196512120035"  # somebody else (household H9)
Y = "310105199002020046"
Z = "310105199303030057"
PARENT = "310105195001010068"
ACC1 = "6222020200112233445"
ACC2 = "6217000011112222333"
ACC3 = "6228480402564890018"
SALARY = "6222600910022334455"
PHONE = "13812345678"
HOME = "上海市长宁区天山路100弄5号301室"


def mini_drop(**tables):
    """mini_drop with addresses normalised by the reader's own column parser."""
    drop = _mini_drop(**tables)
    frames = dict(drop.tables)
    for name in ("staff", "persons"):
        frame = frames[name].collect()
        normalised, _ = address_column(frame.get_column("address"))
        frames[name] = frame.with_columns(normalised.alias("address_norm")).lazy()
    return replace(drop, tables=frames, _memo={})


def person(idn, household, phone=None, address=None, street=STREET):
    return dict(
        id_number=idn,
        name="某",
        household_id=household,
        street=street,
        phone=phone,
        address=address,
    )


def case(case_id, household, applicant, status="在册", handler="S2", reviewer=None, approver=None):
    return dict(
        case_id=case_id,
        household_id=household,
        applicant_id_number=applicant,
        street=STREET,
        assistance_type="最低生活保障",
        status=status,
        accepted_date="2025-01-02",
        decided_date="2025-01-20",
        handler_id=handler,
        reviewer_id=reviewer,
        approver_id=approver,
    )


def account(case_id, account_no, holder, custodian=None):
    return dict(
        case_id=case_id,
        account_no=account_no,
        holder_id_number=holder,
        custodian_id_number=custodian,
    )


def staff(staff_id="S1", idn=STAFF_ID, phone=None, address=None, salary=None):
    return dict(
        staff_id=staff_id,
        name="工",
        id_number=idn,
        role="街镇经办",
        street=STREET,
        phone=phone,
        address=address,
        salary_account=salary,
    )


def txn(txn_id, case_id, account_no, amount=155000, status="成功"):
    return dict(
        txn_id=txn_id,
        month="2026-03",
        pay_date="2026-03-10",
        street=STREET,
        fund_code="JZ01",
        item="低保金",
        case_id=case_id,
        payee_id=A,
        account_no=account_no,
        amount=amount,
        status=status,
    )


def rel(a, b, relation):
    return dict(id_number_a=a, id_number_b=b, relation=relation)


def world(
    *,
    staff_rows=None,
    persons=(),
    cases=(),
    accounts=(),
    ledger=(),
    relations=(),
    relative_filings=(),
    custody_filings=(),
):
    """H1 = {A, B} with active case C1 on ACC1 held by A, handled by S2; plus what is given."""
    return mini_drop(
        as_of="2026-03-31",
        staff=staff_rows if staff_rows is not None else [staff(), staff("S2", OTHER_STAFF_ID)],
        persons=[person(A, "H1"), person(B, "H1"), *persons],
        cases=[case("C1", "H1", A), *cases],
        accounts=[account("C1", ACC1, A), *accounts],
        ledger=[txn("T1", "C1", ACC1), *ledger],
        entitlements=[],
        relations=list(relations),
        relative_filings=list(relative_filings),
        custody_filings=list(custody_filings),
    )


def keys(check, drop):
    spec = REGISTRY[check.__name__]
    return sorted(check(drop).collect().select(spec.keys).iter_rows())


def filing(idn=A, staff_id="S1"):
    return dict(staff_id=staff_id, relative_id_number=idn, filed_date="2025-06-01")


def custody(account_no, custodian, filed="2025-01-01", valid_to=None):
    return dict(
        account_no=account_no, custodian_id_number=custodian, filed_date=filed, valid_to=valid_to
    )


# --- relative_not_filed -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("drop", "expected"),
    [
        (world(relations=[rel(STAFF_ID, A, "配偶")]), [("S1", A)]),
        (world(relations=[rel(A, STAFF_ID, "父母")]), [("S1", A)]),  # a parent
        (world(relations=[rel(PARENT, STAFF_ID, "父母"), rel(PARENT, B, "父母")]), [("S1", B)]),
        (world(relations=[rel(STAFF_ID, X, "配偶"), rel(X, A, "父母")]), []),  # step-child
        (world(relations=[rel(STAFF_ID, A, "配偶")], relative_filings=[filing()]), []),
        (
            world(relations=[rel(STAFF_ID, A, "配偶")], relative_filings=[filing(staff_id="S2")]),
            [("S1", A)],
        ),  # another's filing
        (
            world(
                relations=[rel(STAFF_ID, X, "配偶")],
                persons=[person(X, "H9")],
                cases=[case("C9", "H9", X, status="终止")],
            ),
            [],
        ),  # not a recipient
    ],
    ids=["spouse", "parent", "sibling", "step-child", "filed", "filed-by-other", "terminated"],
)
def test_relative_not_filed(drop, expected):
    assert keys(relative_not_filed, drop) == expected


# --- handled_relative_case ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("drop", "expected"),
    [
        (
            world(cases=[case("C2", "H1", B, handler="S1")], relations=[rel(STAFF_ID, B, "配偶")]),
            [("S1", "C2")],
        ),
        (
            world(
                cases=[case("C2", "H1", B, status="未通过", handler="S2", approver="S1")],
                relations=[rel(STAFF_ID, B, "配偶")],
                relative_filings=[filing(B)],
            ),
            [("S1", "C2")],
        ),  # filed, any status
        (
            world(
                persons=[person(STAFF_ID, "H1")],
                cases=[case("C2", "H1", B, handler="S2", reviewer="S1")],
            ),
            [("S1", "C2")],
        ),
        (
            world(
                cases=[case("C2", "H1", B, handler="S1")],
                relations=[
                    rel(PARENT, STAFF_ID, "父母"),
                    rel(PARENT, X, "父母"),
                    rel(X, B, "父母"),
                ],
            ),
            [],
        ),  # a nephew
        (
            world(cases=[case("C2", "H1", B, handler="S2")], relations=[rel(STAFF_ID, B, "配偶")]),
            [],
        ),  # not handled by S1
    ],
    ids=["spouse-handler", "filed-approver", "member-reviewer", "nephew", "other-handler"],
)
def test_handled_relative_case(drop, expected):
    assert keys(handled_relative_case, drop) == expected


# --- handled_linked_case -----------------------------------------------------------------------


def _linked_world(
    staff_phone=None,
    staff_address=None,
    member_phone=None,
    member_address=None,
    custodian=None,
    relations=(),
):
    return mini_drop(
        as_of="2026-03-31",
        staff=[staff(phone=staff_phone, address=staff_address)],
        persons=[person(A, "H1"), person(B, "H1", phone=member_phone, address=member_address)],
        cases=[case("C1", "H1", A, handler="S1")],
        accounts=[account("C1", ACC1, A, custodian)],
        ledger=[],
        entitlements=[],
        relations=list(relations),
    )


@pytest.mark.parametrize(
    ("drop", "expected"),
    [
        (_linked_world(staff_phone=PHONE, member_phone=PHONE), [("S1", "C1")]),
        (_linked_world(staff_address="天山路100弄5号301", member_address=HOME), [("S1", "C1")]),
        (_linked_world(custodian=STAFF_ID), [("S1", "C1")]),
        (_linked_world(staff_address="天山路100弄5号302", member_address=HOME), []),  # neighbour
        (
            _linked_world(
                staff_phone=PHONE, member_phone=PHONE, relations=[rel(STAFF_ID, B, "配偶")]
            ),
            [],
        ),  # a relative
        (_linked_world(staff_phone=PHONE, member_phone="13812345679"), []),
    ],
    ids=["phone", "address-normalised", "custodian", "neighbour", "relative", "other-phone"],
)
def test_handled_linked_case(drop, expected):
    assert keys(handled_linked_case, drop) == expected


# --- staff_contact_overlap ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        (dict(), [("S1", B)]),
        (dict(relative_filings=[filing(B)]), []),
        (dict(relations=[rel(B, STAFF_ID, "父母")]), []),
        (dict(member_address="天山路100弄5号302"), []),  # neighbour
        (dict(member_id=STAFF_ID), []),  # herself
        (dict(status="终止"), []),  # no active case
    ],
    ids=["same-address", "filed", "parent", "neighbour", "self", "terminated"],
)
def test_staff_contact_overlap(kw, expected):
    member = kw.get("member_id", B)
    drop = mini_drop(
        as_of="2026-03-31",
        staff=[staff(address="天山路100弄5号301")],
        persons=[person(A, "H1"), person(member, "H1", address=kw.get("member_address", HOME))],
        cases=[case("C1", "H1", A, status=kw.get("status", "在册"))],
        accounts=[account("C1", ACC1, A)],
        ledger=[],
        entitlements=[],
        relations=kw.get("relations", []),
        relative_filings=kw.get("relative_filings", []),
    )
    assert keys(staff_contact_overlap, drop) == expected


# --- shared_account ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("drop", "expected"),
    [
        (
            world(
                persons=[person(X, "H2")],
                cases=[case("C2", "H2", X)],
                accounts=[account("C2", ACC1, X)],
            ),
            [(ACC1,)],
        ),
        (
            world(
                persons=[person(X, "H2")],
                cases=[case("C2", "H2", X)],
                accounts=[account("C2", ACC2, X)],
                ledger=[txn("T2", "C2", ACC1)],
            ),
            [(ACC1,)],
        ),
        (
            world(cases=[case("C3", "H1", B)], accounts=[account("C3", ACC1, B)]),
            [],
        ),  # one household
        (
            world(
                persons=[person(X, "H2")],
                cases=[case("C2", "H2", X)],
                accounts=[account("C2", ACC2, X)],
                ledger=[txn("T2", "C2", ACC1, status="退票")],
            ),
            [],
        ),  # returned
    ],
    ids=["registered", "paid", "same-household", "returned"],
)
def test_shared_account(drop, expected):
    assert keys(shared_account, drop) == expected


def test_shared_account_money_is_what_the_account_received():
    drop = world(
        persons=[person(X, "H2")],
        cases=[case("C2", "H2", X)],
        accounts=[account("C2", ACC1, X)],
        ledger=[txn("T2", "C2", ACC1, amount=50000)],
    )
    assert shared_account(drop).collect().get_column("amount_fen").to_list() == [205000]


# --- payee_not_household -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("holder", "filings", "expected"),
    [
        (X, [], [(ACC1,)]),
        (B, [], []),  # a member
        (X, [custody(ACC1, Y)], []),  # any valid filing
        (X, [custody(ACC1, Y, valid_to="2026-03-30")], [(ACC1,)]),  # expired
        (X, [custody(ACC1, Y, valid_to="2026-03-31")], []),  # valid to as_of
        (X, [custody(ACC1, Y, filed="2026-04-01")], [(ACC1,)]),  # filed later
    ],
    ids=["outsider", "member", "filed", "expired", "ends-on-as-of", "future"],
)
def test_payee_not_household(holder, filings, expected):
    drop = mini_drop(
        as_of="2026-03-31",
        staff=[staff()],
        persons=[person(A, "H1"), person(B, "H1"), person(X, "H9")],
        cases=[case("C1", "H1", A)],
        accounts=[account("C1", ACC1, holder)],
        ledger=[],
        entitlements=[],
        custody_filings=filings,
    )
    assert keys(payee_not_household, drop) == expected


# --- staff_linked_account ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("drop", "expected"),
    [
        (world(staff_rows=[staff(salary=ACC1)]), [(ACC1,)]),
        (world(staff_rows=[staff(salary=ACC3)], ledger=[txn("T2", "C1", ACC3)]), [(ACC3,)]),
        (world(staff_rows=[staff(salary=ACC3)], ledger=[txn("T2", "C1", ACC3, status="退票")]), []),
        (
            world(
                persons=[person(X, "H2")],
                cases=[case("C2", "H2", X)],
                accounts=[account("C2", ACC2, STAFF_ID)],
            ),
            [(ACC2,)],
        ),  # staff holds it
        (
            world(
                persons=[person(X, "H2"), person(Y, "H7")],
                cases=[case("C2", "H2", X)],
                accounts=[account("C2", ACC2, X, custodian=Y)],
                relations=[rel(STAFF_ID, Y, "配偶")],
            ),
            [(ACC2,)],
        ),  # spouse keeps it
        (
            world(
                persons=[person(X, "H2"), person(Y, "H2")],
                cases=[case("C2", "H2", X)],
                accounts=[account("C2", ACC2, X, custodian=Y)],
                relations=[rel(STAFF_ID, Y, "配偶")],
            ),
            [],
        ),  # spouse is a member
    ],
    ids=[
        "salary",
        "salary-paid",
        "salary-returned",
        "holder",
        "relative-custodian",
        "relative-member",
    ],
)
def test_staff_linked_account(drop, expected):
    assert keys(staff_linked_account, drop) == expected


# --- custody_not_filed -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("custodian", "filings", "expected"),
    [
        (Y, [], [(ACC1,)]),
        (None, [], []),
        (Y, [custody(ACC1, Y)], []),
        (Y, [custody(ACC1, Y, filed="2026-03-31")], []),  # filed on as_of
        (Y, [custody(ACC1, Z)], [(ACC1,)]),  # someone else
        (Y, [custody(ACC1, Y, valid_to="2026-01-31")], [(ACC1,)]),  # expired
        (Y, [custody(ACC2, Y)], [(ACC1,)]),  # other account
    ],
    ids=[
        "unfiled",
        "no-custodian",
        "filed",
        "filed-on-as-of",
        "other-custodian",
        "expired",
        "other-account",
    ],
)
def test_custody_not_filed(custodian, filings, expected):
    drop = mini_drop(
        as_of="2026-03-31",
        staff=[staff()],
        persons=[person(A, "H1")],
        cases=[case("C1", "H1", A)],
        accounts=[account("C1", ACC1, A, custodian)],
        ledger=[],
        entitlements=[],
        custody_filings=filings,
    )
    assert keys(custody_not_filed, drop) == expected


# --- custodian_concentration -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("households", "expected"),
    [
        (["H1", "H2", "H3"], [(Z,)]),
        (["H1", "H2"], []),
        (["H1", "H1", "H2"], []),  # 3 cases, 2 homes
    ],
    ids=["three", "two", "three-cases-two-households"],
)
def test_custodian_concentration(households, expected):
    cases = [case(f"C{i}", h, A) for i, h in enumerate(households)]
    accounts = [
        account(f"C{i}", f"62220202001122334{i:02d}", A, custodian=Z)
        for i in range(len(households))
    ]
    drop = mini_drop(
        as_of="2026-03-31",
        staff=[staff()],
        persons=[person(A, "H1")],
        cases=cases,
        accounts=accounts,
        ledger=[],
        entitlements=[],
    )
    assert keys(custodian_concentration, drop) == expected


# --- evidence ------------------------------------------------------------------------------------

EVERY = [
    relative_not_filed,
    handled_relative_case,
    handled_linked_case,
    staff_contact_overlap,
    shared_account,
    payee_not_household,
    staff_linked_account,
    custody_not_filed,
    custodian_concentration,
]

BUSY = mini_drop(
    as_of="2026-03-31",
    staff=[
        staff(phone=PHONE, address="天山路100弄5号301", salary=ACC3),
        staff("S2", OTHER_STAFF_ID),
    ],
    persons=[
        person(A, "H1", phone=PHONE),
        person(B, "H1", address=HOME),
        person(X, "H2"),
        person(Y, "H3"),
        person(Z, "H4"),
    ],
    cases=[
        case("C1", "H1", A, handler="S1"),
        case("C2", "H2", X, handler="S1"),
        case("C3", "H3", Y),
        case("C4", "H4", Z),
    ],
    accounts=[
        account("C1", ACC1, A, custodian=PARENT),
        account("C2", ACC1, STAFF_ID),
        account("C3", ACC2, Y, custodian=PARENT),
        account("C4", ACC3, Z, PARENT),
    ],
    ledger=[txn("T1", "C1", ACC1), txn("T2", "C3", ACC2)],
    entitlements=[],
    relations=[rel(PARENT, STAFF_ID, "父母"), rel(PARENT, X, "父母"), rel(STAFF_ID, Y, "配偶")],
)


@pytest.mark.parametrize("check", EVERY, ids=lambda c: c.__name__)
def test_evidence_is_a_connected_masked_path(check):
    rows = check(BUSY).collect()
    assert rows.height > 0
    spec = REGISTRY[check.__name__]
    shaped = shape_findings(spec, rows)
    raw = [A, B, X, Y, Z, STAFF_ID, PARENT, ACC1, ACC2, ACC3, PHONE]
    for summary, evidence in shaped.select("summary", "evidence").iter_rows():
        assert not any(value in summary for value in raw), summary
        body = json.loads(evidence)
        ids = {n["id"] for n in body["nodes"]}
        assert body["edges"] and all(e["from"] in ids and e["to"] in ids for e in body["edges"])
        assert not any(value in n["label"] for n in body["nodes"] for value in raw)
        assert all(
            n["kind"] in {"staff", "person", "case", "account", "phone", "address"}
            for n in body["nodes"]
        )
        assert body["path"].count("→") >= 2


def test_derived_relative_path_names_the_shared_parent():
    rows = relative_not_filed(BUSY).collect()
    (evidence,) = rows.filter(pl.col("id_number") == X).get_column("evidence").to_list()
    labels = [e["label"] for e in evidence["edges"]]
    assert labels == ["本人", "父母", "子女", "家庭成员"]
    assert evidence["nodes"][2]["id"] == f"person:{PARENT}"
    assert evidence["relation"] == "兄弟姐妹"


@pytest.mark.parametrize("check", EVERY, ids=lambda c: c.__name__)
def test_integrity_registration(check):
    spec = REGISTRY[check.__name__]
    assert spec.family == "integrity" and spec.title and spec.description.endswith("。")


# --- against the demo generator's truth ---------------------------------------------------------

INTEGRITY = [c.__name__ for c in EVERY]


@pytest.fixture(scope="module", params=[7, 23], ids=lambda s: f"seed{s}")
def generated(request, tmp_path_factory):
    from analytics.generate import generate
    from analytics.pipeline import make_drop
    from analytics.reader import read_drop

    folder = tmp_path_factory.mktemp(f"district{request.param}")
    generate(folder, households=1500, seed=request.param)
    findings = run_checks(make_drop(read_drop(folder)), only=["integrity"]).findings
    truth = pl.read_csv(folder / "truth.csv", infer_schema=False)
    return findings, truth, folder


@pytest.mark.slow
@pytest.mark.parametrize("check_id", INTEGRITY)
def test_generated_district_matches_truth(generated, check_id):
    findings, truth, _ = generated
    cols = list(REGISTRY[check_id].keys)
    expected = set(truth.filter(pl.col("check_id") == check_id).select(cols).iter_rows())
    found = set(findings.filter(pl.col("check_id") == check_id).select(cols).iter_rows())
    assert expected, f"the generator planted no {check_id}"
    assert found - expected == set(), "false positives (precision < 1)"
    assert expected - found == set(), "missed findings (recall < 1)"


@pytest.mark.slow
def test_generated_district_findings_are_reproducible(generated):
    from analytics.pipeline import make_drop
    from analytics.reader import read_drop

    findings, _, folder = generated
    again = run_checks(make_drop(read_drop(folder)), only=["integrity"]).findings
    assert again.equals(findings)  # evidence lists included, in the same order
