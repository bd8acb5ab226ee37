"""The integrity, dynamic and process plants of the demo generator, checked against the data
they leave behind (never against the check code): every truth row is really there, and the
look-alikes really miss their check."""

from collections import defaultdict
from datetime import date, timedelta
from types import SimpleNamespace

import polars as pl
import pytest
from stdnum.cn import ric

from analytics.generate import build_base, plant_all
from analytics.generate.base import BaseParams
from analytics.generate.plant_dynamic import DYNAMIC_CHECKS, PROCESS_CHECKS, add_months
from analytics.generate.plant_integrity import INTEGRITY_CHECKS, address_variant
from analytics.parse import parse_address

MY_CHECKS = INTEGRITY_CHECKS + DYNAMIC_CHECKS + PROCESS_CHECKS
SEED = 11


def _district(seed: int):
    ctx = build_base(BaseParams(households=600, seed=seed))
    plant_all(ctx)
    return ctx


@pytest.fixture(scope="module")
def ctx():
    return _district(SEED)


@pytest.fixture(scope="module")
def facts(ctx):
    """Plain lookups over the planted district, built without any check code."""
    t = ctx.tables
    f = SimpleNamespace()
    f.as_of = ctx.as_of
    f.truth = ctx.truth_frame()
    f.lookalikes = ctx.lookalike_frame()
    f.cases = {r["case_id"]: r for r in t["cases"].iter_rows(named=True)}
    f.household = dict(t["persons"].select("id_number", "household_id").iter_rows())
    f.members = defaultdict(set)
    for pid, hh in f.household.items():
        f.members[hh].add(pid)
    active = {c["household_id"] for c in f.cases.values() if c["status"] == "在册"}
    f.recipients = {p for p, hh in f.household.items() if hh in active}
    f.person = {r["id_number"]: r for r in t["persons"].iter_rows(named=True)}
    f.staff = {r["staff_id"]: r for r in t["staff"].iter_rows(named=True)}
    f.staff_ids = {r["id_number"]: r["staff_id"] for r in f.staff.values()}
    f.accounts = {r["case_id"]: r for r in t["accounts"].iter_rows(named=True)}
    f.filed = set(t["relative_filings"].select("staff_id", "relative_id_number").iter_rows())
    f.custody = t["custody_filings"].to_dicts()
    f.events = t["events"].to_dicts()
    f.ledger = t["ledger"]
    f.entitlements = t["entitlements"]
    f.visits = t["visits"]
    f.dishonesty = t["dishonesty"].to_dicts()
    spouse, parents, children = defaultdict(set), defaultdict(set), defaultdict(set)
    for a, b, rel in t["relations"].iter_rows():
        if rel == "配偶":
            spouse[a].add(b)
            spouse[b].add(a)
        else:
            parents[b].add(a)
            children[a].add(b)

    def close(x: str) -> set[str]:
        out = spouse[x] | parents[x] | children[x]
        for p in parents[x]:
            out = out | children[p] | parents[p]
        for c in children[x]:
            out = out | children[c]
        return out - {x}

    f.close = close
    return f


def _rows(facts, check_id: str, frame: str = "truth") -> list[dict]:
    return getattr(facts, frame).filter(pl.col("check_id") == check_id).to_dicts()


def _valid(filing: dict, as_of: date) -> bool:
    return filing["filed_date"] <= as_of and (
        filing["valid_to"] is None or filing["valid_to"] >= as_of
    )


def _roles(case: dict) -> set[str]:
    return {case[r] for r in ("handler_id", "reviewer_id", "approver_id")} - {None}


def _account_rows(facts, account_no: str) -> list[dict]:
    return [a for a in facts.accounts.values() if a["account_no"] == account_no]


def _households_of_account(facts, account_no: str) -> set[str]:
    cases = {a["case_id"] for a in _account_rows(facts, account_no)}
    paid = facts.ledger.filter(
        pl.col("account_no") == account_no,
        pl.col("status") == "成功",
        pl.col("case_id").is_not_null(),
    )
    cases |= set(paid["case_id"])
    return {facts.cases[c]["household_id"] for c in cases}


def _deadline(ctx, case: dict) -> date:
    s = ctx.settings
    n = (
        s.approval_deadline_special_working_days
        if case["special_circumstance"]
        else s.approval_deadline_working_days
    )
    return ctx.calendar.add_workdays(case["accepted_date"], n)


# --- coverage and determinism -----------------------------------------------------------------


@pytest.mark.parametrize("check_id", MY_CHECKS)
def test_every_check_is_planted_at_least_three_times(facts, check_id):
    assert len(_rows(facts, check_id)) >= 3


def test_look_alikes_cover_the_families(facts):
    got = set(facts.lookalikes["check_id"])
    assert {
        "relative_not_filed",
        "staff_contact_overlap",
        "handled_linked_case",
        "shared_account",
        "payee_not_household",
        "custody_not_filed",
        "custodian_concentration",
        "deceased_still_active",
        "employment_found",
        "criminal_sanction_found",
        "visit_overdue",
        "blacklisted_recipient",
        "approval_overdue",
        "paid_after_termination",
    } <= got


def test_same_seed_same_district_and_truth(ctx):
    again = _district(SEED)
    assert again.truth_frame().equals(ctx.truth_frame())
    assert again.lookalike_frame().equals(ctx.lookalike_frame())
    for name, frame in ctx.tables.items():
        assert again.tables[name].equals(frame), name


def test_every_id_number_has_a_valid_check_digit(ctx):
    for name, column in (
        ("relations", "id_number_a"),
        ("relations", "id_number_b"),
        ("accounts", "holder_id_number"),
        ("accounts", "custodian_id_number"),
        ("custody_filings", "custodian_id_number"),
        ("events", "id_number"),
        ("dishonesty", "id_number"),
        ("cases", "applicant_id_number"),
    ):
        for value in ctx.tables[name][column].drop_nulls().unique():
            assert ric.calc_check_digit(value) == value[17], (name, column)


# --- integrity: truth rows ----------------------------------------------------------------------


def test_relative_not_filed_rows_are_unfiled_recipient_relatives(facts):
    for row in _rows(facts, "relative_not_filed"):
        staff_id_number = facts.staff[row["staff_id"]]["id_number"]
        assert row["id_number"] in facts.close(staff_id_number)
        assert row["id_number"] in facts.recipients
        assert (row["staff_id"], row["id_number"]) not in facts.filed


def test_relative_not_filed_truth_is_every_unfiled_pair(facts):
    """Kinship plants must not relate staff to anyone else: the truth is the whole set."""
    pairs = {
        (sid, p)
        for idn, sid in facts.staff_ids.items()
        for p in facts.close(idn) & facts.recipients
        if (sid, p) not in facts.filed
    }
    truth = {(r["staff_id"], r["id_number"]) for r in _rows(facts, "relative_not_filed")}
    assert pairs == truth


def test_relative_plants_use_every_kind_of_kinship(facts):
    notes = " ".join(r["note"] for r in _rows(facts, "relative_not_filed"))
    for word in ("配偶", "子女", "兄弟姐妹", "祖父母"):
        assert word in notes


def test_handled_relative_case_rows(facts):
    roles_seen = set()
    for row in _rows(facts, "handled_relative_case"):
        case = facts.cases[row["case_id"]]
        sid = row["staff_id"]
        assert sid in _roles(case)
        roles_seen |= {r for r in ("handler_id", "reviewer_id", "approver_id") if case[r] == sid}
        me = facts.staff[sid]["id_number"]
        members = facts.members[case["household_id"]]
        assert me in members or facts.close(me) & members
    assert roles_seen == {"handler_id", "reviewer_id", "approver_id"}


def test_handled_linked_case_rows(facts):
    by_normalisation_only = 0
    for row in _rows(facts, "handled_linked_case"):
        case = facts.cases[row["case_id"]]
        s = facts.staff[row["staff_id"]]
        members = facts.members[case["household_id"]]
        assert row["staff_id"] in _roles(case)
        assert s["id_number"] not in members and not facts.close(s["id_number"]) & members
        account = facts.accounts.get(row["case_id"], {})
        linked = [
            m
            for m in members
            if facts.person[m]["phone"] == s["phone"]
            or facts.person[m]["address_norm"] == s["address_norm"]
        ]
        holds = s["id_number"] in (
            account.get("holder_id_number"),
            account.get("custodian_id_number"),
        )
        assert linked or holds
        by_normalisation_only += any(
            facts.person[m]["address_norm"] == s["address_norm"]
            and facts.person[m]["address"] != s["address"]
            for m in linked
        )
    assert by_normalisation_only >= 3


def test_staff_contact_overlap_rows(facts):
    for row in _rows(facts, "staff_contact_overlap"):
        s = facts.staff[row["staff_id"]]
        p = facts.person[row["id_number"]]
        assert row["id_number"] in facts.recipients and row["id_number"] != s["id_number"]
        assert p["phone"] == s["phone"] or p["address_norm"] == s["address_norm"]
        assert row["id_number"] not in facts.close(s["id_number"])
        assert (row["staff_id"], row["id_number"]) not in facts.filed


def test_shared_account_rows_reach_two_households(facts):
    for row in _rows(facts, "shared_account"):
        assert len(_households_of_account(facts, row["account_no"])) >= 2


def test_payee_not_household_rows(facts):
    for row in _rows(facts, "payee_not_household"):
        outside = [
            a
            for a in _account_rows(facts, row["account_no"])
            if a["holder_id_number"] not in facts.members[facts.cases[a["case_id"]]["household_id"]]
        ]
        assert outside
        assert not [
            c
            for c in facts.custody
            if c["account_no"] == row["account_no"] and _valid(c, facts.as_of)
        ]


def test_staff_linked_account_rows(facts):
    salaries = {s["salary_account"] for s in facts.staff.values()}
    for row in _rows(facts, "staff_linked_account"):
        acc = row["account_no"]
        linked = acc in salaries
        for a in _account_rows(facts, acc):
            members = facts.members[facts.cases[a["case_id"]]["household_id"]]
            for who in (a["holder_id_number"], a["custodian_id_number"]):
                linked |= who in facts.staff_ids
                linked |= who not in members and any(
                    who in facts.close(idn) for idn in facts.staff_ids
                )
        assert linked, acc


def test_custody_rows_have_a_custodian_without_valid_filing(facts):
    for row in _rows(facts, "custody_not_filed"):
        keepers = {a["custodian_id_number"] for a in _account_rows(facts, row["account_no"])}
        assert keepers - {None}
        for keeper in keepers - {None}:
            assert not [
                c
                for c in facts.custody
                if (c["account_no"], c["custodian_id_number"]) == (row["account_no"], keeper)
                and _valid(c, facts.as_of)
            ]


@pytest.mark.parametrize(
    "check_id", ["custody_not_filed", "custodian_concentration", "payee_not_household"]
)
def test_account_truth_is_complete(facts, ctx, check_id):
    """No plant leaves an unrecorded custody or holder defect behind."""
    found = set()
    per_keeper = defaultdict(set)
    for a in facts.accounts.values():
        hh = facts.cases[a["case_id"]]["household_id"]
        valid = [
            c
            for c in facts.custody
            if c["account_no"] == a["account_no"] and _valid(c, facts.as_of)
        ]
        keeper = a["custodian_id_number"]
        if keeper:
            per_keeper[keeper].add(hh)
            if check_id == "custody_not_filed" and keeper not in {
                c["custodian_id_number"] for c in valid
            }:
                found.add(a["account_no"])
        if (
            check_id == "payee_not_household"
            and a["holder_id_number"] not in facts.members[hh]
            and not valid
        ):
            found.add(a["account_no"])
    if check_id == "custodian_concentration":
        threshold = ctx.settings.custodian_concentration_households
        found = {k for k, hh in per_keeper.items() if len(hh) >= threshold}
        key = "id_number"
    else:
        key = "account_no"
    assert found == {r[key] for r in _rows(facts, check_id)}


def test_concentration_plants_three_and_four_households(facts):
    sizes = set()
    for row in _rows(facts, "custodian_concentration"):
        hh = {
            facts.cases[a["case_id"]]["household_id"]
            for a in facts.accounts.values()
            if a["custodian_id_number"] == row["id_number"]
        }
        sizes.add(len(hh))
    assert {3, 4} <= sizes


# --- integrity: look-alikes ---------------------------------------------------------------------


def test_filed_relative_look_alike_has_its_filing(facts):
    rows = _rows(facts, "relative_not_filed", "lookalikes")
    assert rows
    for row in rows:
        staff_id_number = facts.staff[row["staff_id"]]["id_number"]
        assert row["id_number"] in facts.close(staff_id_number)
        assert (row["staff_id"], row["id_number"]) in facts.filed


def test_neighbour_look_alike_lives_in_another_flat_of_the_building(facts):
    rows = [r for r in _rows(facts, "staff_contact_overlap", "lookalikes") if "楼栋" in r["note"]]
    assert rows
    for row in rows:
        s, p = facts.staff[row["staff_id"]], facts.person[row["id_number"]]
        assert s["address_norm"] != p["address_norm"]
        building = p["address_norm"].rsplit("号", 1)[0]
        assert s["address_norm"].startswith(building + "号")


def test_custody_look_alikes_have_a_valid_filing(facts):
    for row in _rows(facts, "custody_not_filed", "lookalikes"):
        accounts = _account_rows(facts, row["account_no"])
        keeper = accounts[0]["custodian_id_number"]
        assert keeper
        assert [
            c
            for c in facts.custody
            if (c["account_no"], c["custodian_id_number"]) == (row["account_no"], keeper)
            and _valid(c, facts.as_of)
        ]


def test_shared_account_look_alike_is_one_household(facts):
    rows = _rows(facts, "shared_account", "lookalikes")
    assert rows
    for row in rows:
        assert len(_account_rows(facts, row["account_no"])) >= 2
        assert len(_households_of_account(facts, row["account_no"])) == 1


@pytest.mark.parametrize("how", ["spaced", "fullwidth", "prefix"])
@pytest.mark.parametrize(
    "raw",
    ["上海市长宁区仙霞路123弄5号302室", "长宁区天山路8号1201室", "上海长宁区定西路59弄59号1206室"],
)
def test_address_variants_differ_but_normalise_equal(raw, how):
    text = address_variant(raw, how)
    assert text != raw
    assert parse_address(text)[0] == parse_address(raw)[0]


# --- dynamic and process ------------------------------------------------------------------------


def _death(facts, person: str) -> date | None:
    days = [
        e["event_date"]
        for e in facts.events
        if e["id_number"] == person and e["event_type"] == "死亡"
    ]
    return min(days) if days else None


def test_deceased_rows_are_active_past_grace(facts, ctx):
    """Payments after the death are either stopped (entitlements too) or each recorded."""
    grace = ctx.settings.death_grace_days
    recorded = {r["txn_id"] for r in _rows(facts, "paid_after_death")}
    stopped = 0
    for row in _rows(facts, "deceased_still_active"):
        case = facts.cases[row["case_id"]]
        died = _death(facts, case["applicant_id_number"])
        assert case["status"] == "在册" and (facts.as_of - died).days > grace
        later = (pl.col("case_id") == row["case_id"]) & (pl.col("month") > died.strftime("%Y-%m"))
        paid = facts.ledger.filter(later, pl.col("status") == "成功")
        assert set(paid["txn_id"]) <= recorded
        stopped += paid.is_empty() and facts.entitlements.filter(later).is_empty()
    assert stopped >= 3


def test_death_within_grace_look_alike(facts, ctx):
    grace = ctx.settings.death_grace_days
    rows = _rows(facts, "deceased_still_active", "lookalikes")
    assert rows
    for row in rows:
        died = _death(facts, facts.cases[row["case_id"]]["applicant_id_number"])
        assert (facts.as_of - died).days <= grace


@pytest.mark.parametrize(
    ("check_id", "kind"),
    [("employment_found", "就业参保"), ("criminal_sanction_found", "刑事处罚")],
)
def test_member_events_after_decision(facts, check_id, kind):
    def after(case: dict) -> bool:
        members = facts.members[case["household_id"]]
        return any(
            e["event_type"] == kind
            and e["id_number"] in members
            and e["event_date"] > case["decided_date"]
            for e in facts.events
        )

    for row in _rows(facts, check_id):
        case = facts.cases[row["case_id"]]
        assert case["status"] == "在册" and after(case)
    for row in _rows(facts, check_id, "lookalikes"):
        assert not after(facts.cases[row["case_id"]])


def _due(facts, ctx, case: dict) -> date:
    visits = facts.visits.filter(
        pl.col("case_id") == case["case_id"], pl.col("visit_date") <= facts.as_of
    )["visit_date"]
    last = visits.max() if len(visits) else case["decided_date"]
    cycle = ctx.settings.visit_cycle_months[case["difficulty"] or "低"]
    return add_months(last, cycle)


def test_visit_overdue_rows_and_look_alikes(facts, ctx):
    rows = _rows(facts, "visit_overdue")
    difficulties = set()
    for row in rows:
        case = facts.cases[row["case_id"]]
        assert case["status"] == "在册" and _due(facts, ctx, case) < facts.as_of
        difficulties.add(case["difficulty"])
    assert {"高", "低", None} <= difficulties
    for row in _rows(facts, "visit_overdue", "lookalikes"):
        assert _due(facts, ctx, facts.cases[row["case_id"]]) >= facts.as_of


def test_visit_plants_include_a_clamped_month_end(facts, ctx):
    clamped = 0
    for row in _rows(facts, "visit_overdue"):
        case = facts.cases[row["case_id"]]
        visits = facts.visits.filter(pl.col("case_id") == row["case_id"])["visit_date"]
        if len(visits):
            last = visits.max()
            due = _due(facts, ctx, case)
            clamped += due.day < last.day
    assert clamped >= 1


@pytest.mark.parametrize(
    ("last", "months", "due"),
    [
        (date(2026, 4, 30), 6, date(2026, 10, 30)),
        (date(2026, 3, 31), 6, date(2026, 9, 30)),
        (date(2026, 8, 31), 1, date(2026, 9, 30)),
        (date(2023, 11, 30), 3, date(2024, 2, 29)),
        (date(2026, 7, 31), 3, date(2026, 10, 31)),
    ],
)
def test_add_months_clamps_to_the_month_end(last, months, due):
    assert add_months(last, months) == due


def _blacklisted(facts, case: dict) -> bool:
    members = facts.members[case["household_id"]]
    return case["status"] in ("在册", "终止") and any(
        d["id_number"] in members and d["start_date"] <= case["decided_date"] <= d["end_date"]
        for d in facts.dishonesty
    )


def test_blacklisted_rows_and_look_alikes(facts):
    statuses = set()
    for row in _rows(facts, "blacklisted_recipient"):
        case = facts.cases[row["case_id"]]
        assert _blacklisted(facts, case)
        statuses.add(case["status"])
    assert statuses == {"在册", "终止"}
    for row in _rows(facts, "blacklisted_recipient", "lookalikes"):
        assert not _blacklisted(facts, facts.cases[row["case_id"]])


def test_approval_overdue_truth_is_every_late_case(facts, ctx):
    late = set()
    for case in facts.cases.values():
        deadline = _deadline(ctx, case)
        if case["decided_date"] is not None:
            late |= {case["case_id"]} if case["decided_date"] > deadline else set()
        elif case["status"] == "申请中" and facts.as_of > deadline:
            late.add(case["case_id"])
    truth = {r["case_id"] for r in _rows(facts, "approval_overdue")}
    assert late == truth
    statuses = {facts.cases[c]["status"] for c in truth}
    assert "申请中" in statuses
    assert any(facts.cases[c]["special_circumstance"] for c in truth)


def test_approval_look_alikes_on_the_deadline_across_holidays(facts, ctx):
    cal = ctx.calendar
    exact = [r for r in _rows(facts, "approval_overdue", "lookalikes") if "恰在" in r["note"]]
    assert {"春节", "国庆"} <= {w for r in exact for w in ("春节", "国庆") if w in r["note"]}
    for row in exact:
        case = facts.cases[row["case_id"]]
        assert case["decided_date"] == _deadline(ctx, case)
        span = (case["decided_date"] - case["accepted_date"]).days
        days = (case["accepted_date"] + timedelta(days=k) for k in range(1, span))
        holidays = [d for d in days if d.weekday() < 5 and not cal.is_workday(d)]
        assert len(holidays) >= 3
