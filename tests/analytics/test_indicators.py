"""Indicators recomputed by hand on a five-household district, and the four circles' rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from analytics import reference
from analytics.calendar import WorkdayCalendar
from analytics.indicators import (
    AREAS,
    DISTRICT,
    INDICATORS,
    CircleRulesError,
    compute,
    definitions_table,
    household_circles,
    load_circles,
    period_table,
    scored_names,
)
from analytics.minidrop import mini_drop, typed_frame
from analytics.schema import INDICATORS_COLUMNS, INDICATORS_SCHEMA

HY, XJ = "华阳路街道", "新泾镇"
IDS = {  # valid check digits; the indicators never look at them
    "P1": "310105198001010013",
    "P2": "310105197512120025",
    "P3": "310105196002020011",
    "P4": "310105195503030017",
    "P5": "310105199004040012",
    "P6": "310105198505050010",
}


def five_households():
    """Two streets, five households, February and March 2026; as-of 2026-03-31."""
    persons = [
        dict(id_number=IDS["P1"], name="甲", household_id="H1", street=HY),
        dict(id_number=IDS["P6"], name="己", household_id="H1", street=HY),
        dict(id_number=IDS["P2"], name="乙", household_id="H2", street=HY),
        dict(id_number=IDS["P3"], name="丙", household_id="H3", street=HY),
        dict(id_number=IDS["P4"], name="丁", household_id="H4", street=XJ),
        dict(id_number=IDS["P5"], name="戊", household_id="H5", street=XJ),
    ]

    def case(cid, hh, who, street, kind, status, accepted, decided=None, **kw):
        return dict(
            case_id=cid,
            household_id=hh,
            applicant_id_number=IDS[who],
            street=street,
            assistance_type=kind,
            status=status,
            accepted_date=accepted,
            decided_date=decided,
            **kw,
        )

    cases = [
        case(
            "C1",
            "H1",
            "P1",
            HY,
            "最低生活保障",
            "在册",
            "2026-01-05",
            "2026-01-30",
            difficulty="高",
        ),
        case(
            "C2",
            "H2",
            "P2",
            HY,
            "临时救助",
            "终止",
            "2025-12-01",
            "2025-12-10",
            termination_date="2026-02-15",
            difficulty="中",
        ),
        case("C3", "H3", "P3", HY, "最低生活保障", "申请中", "2026-02-02"),
        case("C4", "H4", "P4", XJ, "特困人员", "在册", "2026-02-02", "2026-03-09", difficulty="低"),
        case("C5", "H5", "P5", XJ, "最低生活保障", "未通过", "2026-02-03", "2026-02-25"),
    ]

    def ent(cid, who, month, item, fen):
        return dict(
            month=month, case_id=cid, id_number=IDS[who], item=item, kind="正常", amount=fen
        )

    entitlements = [
        ent("C1", "P1", "2026-02", "低保金", 100000),
        ent("C1", "P1", "2026-03", "低保金", 100000),
        ent("C2", "P2", "2026-02", "临时救助金", 50000),
        ent("C4", "P4", "2026-03", "特困供养金", 200000),
    ]

    def txn(tid, cid, who, street, month, pay, item, fund, fen, status="成功"):
        return dict(
            txn_id=tid,
            month=month,
            pay_date=pay,
            street=street,
            fund_code=fund,
            item=item,
            case_id=cid,
            payee_id=IDS[who],
            account_no="6222020200112233445",
            amount=fen,
            status=status,
        )

    ledger = [
        txn("T1", "C1", "P1", HY, "2026-02", "2026-02-10", "低保金", "JZ01", 100000),
        txn("T2", "C1", "P1", HY, "2026-03", "2026-03-20", "低保金", "JZ01", 100000),  # late
        txn("T3", "C2", "P2", HY, "2026-02", "2026-02-12", "临时救助金", "JZ07", 50000),
        txn("T4", "C4", "P4", XJ, "2026-03", "2026-03-10", "特困供养金", "JZ02", 200000),
        txn("T5", "C4", "P4", XJ, "2026-03", "2026-03-10", "特困供养金", "JZ99", 30000),  # scope
        txn(
            "T6",
            "C4",
            "P4",
            XJ,
            "2026-03",
            "2026-03-10",
            "特困供养金",
            "JZ02",
            200000,
            status="退票",
        ),
    ]
    visits = [dict(case_id="C1", visit_date="2026-02-20", mode="入户")]
    trainings = [
        dict(street=HY, date="2026-03-05", topic="政策"),
        dict(street="区民政局", date="2026-02-10", topic="业务"),
    ]
    return mini_drop(
        as_of="2026-03-31",
        persons=persons,
        cases=cases,
        entitlements=entitlements,
        ledger=ledger,
        visits=visits,
        trainings=trainings,
    )


FINDINGS = pl.DataFrame(
    [
        ("late_disbursement", "funds", HY, "2026-03", "T2", 100000),
        ("out_of_scope_spending", "funds", XJ, "2026-03", "T5", 30000),
        ("payee_not_registered", "funds", XJ, "2026-03", "T5", 30000),  # same txn: counted once
        ("control_total_mismatch", "funds", XJ, "2026-03", None, 30000),  # a sum of others
        ("relative_not_filed", "integrity", HY, None, None, None),  # no month: the as-of month
        ("visit_overdue", "dynamic", HY, "2026-03", None, None),
        ("employment_found", "dynamic", HY, "2026-02", None, None),
        ("approval_overdue", "process", HY, "2026-03", None, None),
        ("approval_overdue", "process", XJ, "2026-03", None, None),
    ],
    schema={
        "check_id": pl.String,
        "family": pl.String,
        "street": pl.String,
        "month": pl.String,
        "txn_id": pl.String,
        "amount_fen": pl.Int64,
    },
    orient="row",
)

# (street, period, indicator) -> (value, numerator, denominator), worked out by hand.
# Periods: the data starts in 2026-02 and the as-of date is 2026-03-31, so the months 2026-02 and
# 2026-03, the quarter 2026Q1 and the year 2026 (ends: 02-28, then 03-31 for the other three).
EXPECTED = {
    # cases_active at the end: C1 (decided 01-30, 在册). C2 terminated 02-15, before 02-28.
    # C4 decided 03-09, so active at 03-31 only. C3 pending and C5 refused never count.
    (HY, "2026-02", "cases_active"): (1, 1, None),
    (HY, "2026-03", "cases_active"): (1, 1, None),
    (XJ, "2026-02", "cases_active"): (0, 0, None),
    (XJ, "2026Q1", "cases_active"): (1, 1, None),
    (DISTRICT, "2026", "cases_active"): (2, 2, None),
    # money_paid: 成功 rows. HY 02: T1 1000 + T3 500; HY 03: T2 1000.
    # XJ 03: T4 2000 + T5 300 (out of scope is still paid); T6 退票 is not paid.
    (HY, "2026-02", "money_paid"): (1500, 1500, None),
    (HY, "2026Q1", "money_paid"): (2500, 2500, None),
    (XJ, "2026-03", "money_paid"): (2300, 2300, None),
    (DISTRICT, "2026", "money_paid"): (4800, 4800, None),
    # approval_on_time_rate, deadlines on the official calendar:
    # C1 accepted 01-05: Jan 6-9 (4), 12-16 (9), 19-23 (14), 26-30 (19), Feb 2 (20) -> 02-02;
    #    decided 01-30, on time, counted in January: no month period, but in 2026Q1 and 2026.
    # C2 decided 2025-12-10: no 2025 period, counted nowhere.
    # C3 accepted 02-02 -> 03-06 (Spring Festival, Saturdays 02-14 and 02-28 worked); pending
    #    at 03-31: late, counted in March (first overdue day 03-07).
    # C4 accepted 02-02 -> 03-06, decided 03-09: late, March.
    # C5 accepted 02-03, decided 02-25 (the 11th working day): on time, February.
    (HY, "2026-02", "approval_on_time_rate"): (None, 0, 0),
    (HY, "2026-03", "approval_on_time_rate"): (0, 0, 1),
    (HY, "2026Q1", "approval_on_time_rate"): (0.5, 1, 2),
    (XJ, "2026-02", "approval_on_time_rate"): (1, 1, 1),
    (XJ, "2026-03", "approval_on_time_rate"): (0, 0, 1),
    (DISTRICT, "2026-03", "approval_on_time_rate"): (0, 0, 2),
    (DISTRICT, "2026", "approval_on_time_rate"): (0.5, 2, 4),
    # disbursement_on_time_rate over in-scope paid rows, due day 15:
    # T1 02-10 ok, T3 02-12 ok, T2 03-20 late, T4 03-10 ok; T5 (fund JZ99) is out of scope.
    (HY, "2026-02", "disbursement_on_time_rate"): (1, 2, 2),
    (HY, "2026-03", "disbursement_on_time_rate"): (0, 0, 1),
    (HY, "2026Q1", "disbursement_on_time_rate"): (0.666667, 2, 3),
    (XJ, "2026-02", "disbursement_on_time_rate"): (None, 0, 0),
    (DISTRICT, "2026Q1", "disbursement_on_time_rate"): (0.75, 3, 4),
    # funds_findings_per_1000: funds findings / 成功 rows x 1000.
    # HY 03: 1 / 1 (T2); XJ 03: 3 / 2 (T4, T5); district Q1: 4 / 5 (T1, T2, T3, T4, T5).
    (HY, "2026-02", "funds_findings_per_1000"): (0, 0, 2),
    (HY, "2026-03", "funds_findings_per_1000"): (1000, 1, 1),
    (HY, "2026Q1", "funds_findings_per_1000"): (333.333333, 1, 3),
    (XJ, "2026-03", "funds_findings_per_1000"): (1500, 3, 2),
    (DISTRICT, "2026-03", "funds_findings_per_1000"): (1333.333333, 4, 3),
    (DISTRICT, "2026Q1", "funds_findings_per_1000"): (800, 4, 5),
    # money_at_risk: T2 1000; T5 300 once (two findings); control total left out.
    (HY, "2026-03", "money_at_risk"): (1000, 1000, None),
    (XJ, "2026-03", "money_at_risk"): (300, 300, None),
    (DISTRICT, "2026Q1", "money_at_risk"): (1300, 1300, None),
    (DISTRICT, "2026-02", "money_at_risk"): (0, 0, None),
    # visit_compliance_rate: C1 (高, 1 month) visited 02-20, due 03-20: compliant at 02-28,
    # overdue at 03-31. C4 (低, 6 months) decided 03-09, no visit: due 09-09, compliant.
    (HY, "2026-02", "visit_compliance_rate"): (1, 1, 1),
    (HY, "2026-03", "visit_compliance_rate"): (0, 0, 1),
    (XJ, "2026-02", "visit_compliance_rate"): (None, 0, 0),
    (XJ, "2026-03", "visit_compliance_rate"): (1, 1, 1),
    (DISTRICT, "2026Q1", "visit_compliance_rate"): (0.5, 1, 2),
    # leads open at the as-of date that had arisen by the period's end; denominators are the
    # active cases at the end. Integrity: one in HY without a month (taken as 2026-03).
    (HY, "2026-02", "integrity_leads"): (0, 0, 1),
    (HY, "2026-03", "integrity_leads"): (1, 1, 1),
    (XJ, "2026-03", "integrity_leads"): (0, 0, 1),
    (DISTRICT, "2026", "integrity_leads"): (1, 1, 2),
    # dynamic: employment (HY, 02) and visit_overdue (HY, 03); approval_overdue is process.
    (HY, "2026-02", "dynamic_leads"): (1, 1, 1),
    (HY, "2026-03", "dynamic_leads"): (2, 2, 1),
    (DISTRICT, "2026-02", "dynamic_leads"): (1, 1, 1),
    (DISTRICT, "2026Q1", "dynamic_leads"): (2, 2, 2),
    # trainings: HY one in March; the district office's February training counts for 全区 only.
    (HY, "2026-02", "trainings_held"): (0, 0, None),
    (HY, "2026", "trainings_held"): (1, 1, None),
    (XJ, "2026", "trainings_held"): (0, 0, None),
    (DISTRICT, "2026-02", "trainings_held"): (1, 1, None),
    (DISTRICT, "2026", "trainings_held"): (2, 2, None),
    # circles at 2026-03-31, window (2024-03-31, 2026-03-31]: H1 (低保 在册) 1, H2 (临时救助
    # terminated 2026-02-15, inside the window) 2, H3 (pending only) 4, H4 (特困 在册) 1,
    # H5 (refused 2026-02-25) 3. Denominators: households known per street.
    (HY, "2026-03", "circle_1"): (1, 1, 3),
    (HY, "2026-03", "circle_2"): (1, 1, 3),
    (HY, "2026-03", "circle_3"): (0, 0, 3),
    (HY, "2026-03", "circle_4"): (1, 1, 3),
    (XJ, "2026Q1", "circle_1"): (1, 1, 2),
    (XJ, "2026Q1", "circle_3"): (1, 1, 2),
    (DISTRICT, "2026", "circle_1"): (2, 2, 5),
    # composite_score, weights 0.2 approval, 0.2 disbursement, 0.2 funds per 1000,
    # 0.2 visits, 0.1 integrity, 0.1 dynamic; lower-is-better scores 100 x (1 - x / worst street).
    # 2026-03 HY: approval 0, disbursement 0, funds 100 x (1 - 1000/1500) = 33.333333,
    #   visits 0, integrity per case 1/1 vs worst 1 -> 0, dynamic 2/1 vs worst 2 -> 0.
    #   (0.2 x 33.333333) / 1.0 = 6.666667
    (HY, "2026-03", "composite_score"): (6.666667, 6.666667, 1.0),
    # 2026-03 XJ: approval 0, disbursement 100, funds 1500/1500 -> 0, visits 100,
    #   integrity 0 -> 100, dynamic 0 -> 100: (20 + 20 + 10 + 10) / 1.0 = 60
    (XJ, "2026-03", "composite_score"): (60, 60, 1.0),
    # 2026-03 全区: approval 0, disbursement 50, funds 100 x (1 - 1333.33/1500) = 11.111111,
    #   visits 50, integrity 0.5 vs 1 -> 50, dynamic 1 vs 2 -> 50:
    #   10 + 2.222222 + 10 + 5 + 5 = 32.222222
    (DISTRICT, "2026-03", "composite_score"): (32.222222, 32.222222, 1.0),
    # 2026-02 HY: no approval in February (left out, weight 0.8 remains); disbursement 100,
    #   funds 0 vs worst 0 -> 100, visits 100, integrity 0 -> 100, dynamic 1 vs 1 -> 0:
    #   (20 + 20 + 20 + 10 + 0) / 0.8 = 87.5
    (HY, "2026-02", "composite_score"): (87.5, 70, 0.8),
    # 2026-02 XJ: only approval (1 -> 100) has a value: 20 / 0.2 = 100
    (XJ, "2026-02", "composite_score"): (100, 20, 0.2),
}


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return compute(five_households(), FINDINGS)


def test_shape_and_periods(table):
    assert table.columns == list(INDICATORS_COLUMNS)
    assert table.schema == pl.Schema(INDICATORS_SCHEMA)
    assert sorted(table["period"].unique()) == ["2026", "2026-02", "2026-03", "2026Q1"]
    assert set(table["street"]) == set(AREAS)
    # one row per street, period and indicator; circles only where the period ends on as-of
    assert table.select("street", "period", "indicator").is_duplicated().sum() == 0
    circles = table.filter(pl.col("indicator") == "circle_1")
    assert sorted(circles["period"].unique()) == ["2026", "2026-03", "2026Q1"]
    assert table.filter(pl.col("indicator") != "circle_1").height > 0


@pytest.mark.parametrize(("key", "expected"), EXPECTED.items(), ids=lambda x: str(x))
def test_hand_computed(table, key, expected):
    street, period, indicator = key
    row = table.filter(
        (pl.col("street") == street)
        & (pl.col("period") == period)
        & (pl.col("indicator") == indicator)
    )
    assert row.height == 1
    got = row.select("value", "numerator", "denominator").row(0)
    for g, e in zip(got, expected, strict=True):
        assert (g is None and e is None) or g == pytest.approx(e, abs=1e-6), (got, expected)


def test_streets_without_cases_are_blank_not_zero(table):
    other = table.filter((pl.col("street") == "天山路街道") & (pl.col("period") == "2026-03"))
    values = dict(zip(other["indicator"], other["value"], strict=True))
    assert values["approval_on_time_rate"] is None
    assert values["visit_compliance_rate"] is None
    assert values["composite_score"] is None
    assert values["cases_active"] == 0


def test_missing_optional_table_leaves_its_indicator_blank():
    drop = five_households()
    tables = {k: v for k, v in drop.tables.items() if k not in ("visits", "trainings")}
    drop = type(drop)(
        tables=tables,
        settings=drop.settings,
        catalogue=drop.catalogue,
        as_of=drop.as_of,
        calendar=drop.calendar,
    )
    out = compute(drop, FINDINGS.filter(pl.col("family") != "dynamic"))
    # Without visits (and with no events or dishonesty list) no dynamic check could run: the
    # count of dynamic leads is unknown, not zero.
    for name in ("visit_compliance_rate", "trainings_held", "dynamic_leads"):
        assert out.filter(pl.col("indicator") == name)["value"].is_null().all()
    assert out.filter(pl.col("indicator") == "integrity_leads")["value"].is_not_null().all()


@pytest.mark.parametrize(
    ("accepted", "expected"),
    [
        # accepted in 2024, a year the trimmed calendar lacks: not judged, so it leaves both the
        # numerator and the denominator (HY had no decision in February)
        ("2024-12-20", (None, 0, 0)),
        # the look-alike accepted a year later is judged: decided late
        ("2025-12-20", (0, 0, 1)),
    ],
)
def test_approval_not_judged_for_want_of_a_calendar_year_leaves_the_rate(
    tmp_path, accepted, expected
):
    folder = tmp_path / "calendar"
    folder.mkdir()
    for year in (2025, 2026):
        shutil.copy(reference.PROJECT_ROOT / "data" / "calendar" / f"{year}.csv", folder)
    drop = five_households()
    extra = typed_frame(
        "cases",
        [
            dict(
                case_id="C9",
                household_id="H9",
                applicant_id_number=IDS["P6"],
                street=HY,
                assistance_type="最低生活保障",
                status="未通过",
                accepted_date=accepted,
                decided_date="2026-02-20",
            )
        ],
    ).lazy()
    drop = type(drop)(
        tables={**drop.tables, "cases": pl.concat([drop["cases"], extra])},
        settings=drop.settings,
        catalogue=drop.catalogue,
        as_of=drop.as_of,
        calendar=WorkdayCalendar.load(folder),
    )
    out = compute(drop, FINDINGS)
    row = out.filter(
        (pl.col("street") == HY)
        & (pl.col("period") == "2026-02")
        & (pl.col("indicator") == "approval_on_time_rate")
    )
    assert row.select("value", "numerator", "denominator").row(0) == expected


def test_deterministic(table):
    again = compute(five_households(), FINDINGS.reverse())
    assert again.equals(table)


def test_period_table_ends_at_as_of():
    periods = period_table(five_households())
    assert periods.filter(pl.col("period") == "2026")["end"].item().isoformat() == "2026-03-31"
    assert periods.filter(pl.col("period") == "2026-02")["end"].item().isoformat() == "2026-02-28"


def test_definitions_cover_every_indicator_once():
    table = definitions_table()
    assert table["代码"].to_list() == [i.name for i in INDICATORS]
    assert table["定义"].str.len_chars().min() > 10


# --- circles ------------------------------------------------------------------------------------


def test_household_circles():
    out = household_circles(five_households())
    assert dict(zip(out["household_id"], out["circle"], strict=True)) == {
        "H1": 1,
        "H2": 2,
        "H3": 4,
        "H4": 1,
        "H5": 3,
    }


def test_shipped_rules_use_no_personal_attributes():
    _, circles = load_circles()
    used = {key for c in circles for rule in c.rules for key, v in rule.items() if v is not None}
    assert used <= {"status", "assistance_type", "within_window"}
    assert [c.number for c in circles] == [1, 2, 3, 4] and circles[-1].rest


@pytest.mark.parametrize("field", ["hukou", "gender", "age", "disability"])
def test_rules_on_personal_attributes_are_refused(tmp_path: Path, field):
    text = (Path(__file__).resolve().parents[2] / "data" / "circles.toml").read_text("utf-8")
    bad = text.replace('status = ["在册"]\n', f'status = ["在册"]\n{field} = ["x"]\n', 1)
    assert bad != text
    path = tmp_path / "circles.toml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(CircleRulesError, match=field):
        load_circles(path)


# --- the 失信名单 indicators of a run in a workspace ---------------------------------------------

DISHONESTY = ("dishonesty_proposed", "dishonesty_published", "dishonesty_repaired")


def dishonesty_values(out: pl.DataFrame, street: str, period: str) -> dict:
    rows = out.filter(
        (pl.col("street") == street)
        & (pl.col("period") == period)
        & pl.col("indicator").is_in(DISHONESTY)
    )
    return {
        r["indicator"]: (r["value"], r["numerator"], r["denominator"])
        for r in rows.iter_rows(named=True)
    }


def test_dishonesty_indicators_count_moves_by_street_and_month_only_in_a_workspace(table):
    from datetime import date

    assert all(i.better == "" and i.kind == "flow" for i in INDICATORS if i.name in DISHONESTY)
    assert not set(DISHONESTY) & set(scored_names())
    # no workspace: blank, never zero
    assert table.filter(pl.col("indicator").is_in(DISHONESTY))["value"].is_null().all()

    rectified = pl.DataFrame(
        {
            "finding_id": ["F1"],
            "street": [HY],
            "on_date": [date(2026, 3, 9)],
            "month": ["2026-03"],
            "on_time": [True],
            "recurred": [False],
        }
    )
    moves = pl.DataFrame(
        {
            "street": [HY, HY, HY, XJ, None, HY],
            "month": ["2026-02", "2026-03", "2026-03", "2026-03", "2026-03", "2026-04"],
            "dishonesty_move": ["create", "create", "publish", "repair", "create", "create"],
            "records": [2, 1, 1, 1, 1, 5],
        }
    )  # April is after the as-of date: not counted
    workflow = pl.concat([rectified, moves], how="diagonal_relaxed")
    out = compute(five_households(), FINDINGS, workflow)
    assert dishonesty_values(out, HY, "2026-02") == {
        "dishonesty_proposed": (2, 2, None),
        "dishonesty_published": (0, 0, None),
        "dishonesty_repaired": (0, 0, None),
    }
    assert dishonesty_values(out, HY, "2026Q1")["dishonesty_proposed"] == (3, 3, None)
    assert dishonesty_values(out, XJ, "2026")["dishonesty_repaired"] == (1, 1, None)
    # the district counts a record without a street too
    assert dishonesty_values(out, DISTRICT, "2026") == {
        "dishonesty_proposed": (4, 4, None),
        "dishonesty_published": (1, 1, None),
        "dishonesty_repaired": (1, 1, None),
    }
    # the rectification indicators read only their own rows
    rate = out.filter(
        (pl.col("street") == HY)
        & (pl.col("period") == "2026-03")
        & (pl.col("indicator") == "rectification_on_time_rate")
    )
    assert rate.select("value", "numerator", "denominator").row(0) == (1.0, 1.0, 1.0)
    # a workspace without the 失信名单 moves (rectifications only): zero, not blank
    only_rectified = compute(five_households(), FINDINGS, rectified)
    assert dishonesty_values(only_rectified, HY, "2026")["dishonesty_published"] == (0, 0, None)
    # the composite score does not move
    score = pl.col("indicator") == "composite_score"
    assert out.filter(score).equals(compute(five_households(), FINDINGS, rectified).filter(score))
