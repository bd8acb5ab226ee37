"""approval_overdue: the 20th (45th) working day after acceptance on the official calendar."""

from __future__ import annotations

import shutil
from datetime import date

import polars as pl
import pytest

from analytics.calendar import CalendarError, WorkdayCalendar
from analytics.minidrop import mini_drop
from analytics.model import Drop, DropError
from analytics.reference import PROJECT_ROOT
from checks.engine import run_checks, shape_findings
from checks.process import (
    ApprovalCalendarError,
    approval_assessment,
    unjudged_approvals,
    unjudged_note,
)
from checks.registry import REGISTRY, load_all

load_all()
AS_OF = date(2026, 10, 31)


def case(case_id="C1", accepted=date(2026, 2, 2), decided=None, status=None, special=None):
    return dict(
        case_id=case_id,
        household_id="H1",
        applicant_id_number="110101199001011237",
        street="新泾镇",
        assistance_type="最低生活保障",
        status=status or ("在册" if decided else "申请中"),
        accepted_date=accepted.isoformat(),
        decided_date=decided and decided.isoformat(),
        special_circumstance=special,
    )


def drop_of(*cases, as_of=AS_OF) -> Drop:
    return mini_drop(as_of=as_of.isoformat(), cases=list(cases))


def run(drop: Drop) -> pl.DataFrame:
    spec = REGISTRY["approval_overdue"]
    return shape_findings(spec, spec.fn(drop).collect())


# Deadlines counted by hand from the State Council notices (acceptance day not counted):
# - accepted Mon 2026-02-02, Spring Festival off 02-15..02-23, Saturdays 02-14 and 02-28 worked:
#   02-03..06 (4), 02-09..13 (9), Sat 02-14 (10), 02-24..27 (14), Sat 02-28 (15),
#   03-02..06 (20) -> 2026-03-06.
# - accepted Mon 2025-09-15, National Day off 10-01..10-08, Sun 09-28 and Sat 10-11 worked:
#   09-16..19 (4), 09-22..26 (9), Sun 09-28 (10), 09-29..30 (12), 10-09..10 (14),
#   Sat 10-11 (15), 10-13..17 (20) -> 2025-10-17.
# - accepted Fri 2024-09-20, National Day off 10-01..10-07, Sun 09-29 and Sat 10-12 worked:
#   09-23..27 (5), Sun 09-29 (6), 09-30 (7), 10-08..11 (11), Sat 10-12 (12), 10-14..18 (17),
#   10-21..23 (20) -> 2024-10-23.
# - accepted Mon 2026-01-05 with a special circumstance, 45 working days: January 06..30 (19),
#   02-02..13 (29), Sat 02-14 (30), 02-24..27 (34), Sat 02-28 (35), 03-02..13 (45) -> 2026-03-13.
@pytest.mark.parametrize(
    ("accepted", "special", "decided", "fires"),
    [
        (date(2026, 2, 2), None, date(2026, 3, 6), False),  # on the 20th working day
        (date(2026, 2, 2), None, date(2026, 3, 5), False),
        (date(2026, 2, 2), None, date(2026, 3, 7), True),  # a day off, still after it
        (date(2026, 2, 2), None, date(2026, 3, 9), True),  # the next working day
        (date(2025, 9, 15), None, date(2025, 10, 17), False),
        (date(2025, 9, 15), None, date(2025, 10, 18), True),  # a Saturday, but past the deadline
        (date(2024, 9, 20), None, date(2024, 10, 23), False),
        (date(2024, 9, 20), None, date(2024, 10, 24), True),
        (date(2026, 1, 5), "人户分离", date(2026, 3, 13), False),
        (date(2026, 1, 5), "人户分离", date(2026, 3, 16), True),
        (date(2026, 1, 5), None, date(2026, 3, 13), True),  # without it only 20 days
    ],
)
def test_decision_against_the_deadline(accepted, special, decided, fires):
    out = run(drop_of(case(accepted=accepted, decided=decided, special=special)))
    assert out.height == int(fires)


def test_finding_names_the_deadline_and_how_it_was_computed():
    out = run(drop_of(case(accepted=date(2026, 2, 2), decided=date(2026, 3, 10))))
    assert out.row(0, named=True)["summary"] == (
        "案件C1受理日2026-02-02，第20个工作日为2026-03-06，实际审批2026-03-10，超期2个工作日。"
    )
    row = out.row(0, named=True)
    assert (row["case_id"], row["street"], row["month"]) == ("C1", "新泾镇", "2026-03")
    assert '"deadline":"2026-03-06"' in row["evidence"]


@pytest.mark.parametrize(
    ("status", "fires"),
    [("未通过", True), ("终止", True), ("在册", True)],
)
def test_any_decided_case_is_judged_on_its_decision(status, fires):
    out = run(drop_of(case(accepted=date(2026, 2, 2), decided=date(2026, 3, 9), status=status)))
    assert out.height == int(fires)


# accepted Mon 2026-09-21; Mid-Autumn off Fri 09-25, National Day off 10-01..10-07, Sat 10-10
# worked: 09-22..24 (3), 09-28..30 (6), 10-08..09 (8), Sat 10-10 (9), 10-12..16 (14),
# 10-19..23 (19), 10-26 (20) -> 2026-10-26.
@pytest.mark.parametrize(
    ("as_of", "fires"),
    [(date(2026, 10, 26), False), (date(2026, 10, 27), True)],
)
def test_pending_case_is_judged_on_the_as_of_date(as_of, fires):
    out = run(drop_of(case(accepted=date(2026, 9, 21)), as_of=as_of))
    assert out.height == int(fires)
    if fires:
        assert out["summary"][0] == (
            "案件C1受理日2026-09-21，第20个工作日为2026-10-26，"
            "截至2026-10-27仍未审批，超期1个工作日。"
        )


def test_decision_on_a_day_off_after_the_deadline_says_so():
    out = run(drop_of(case(accepted=date(2026, 2, 2), decided=date(2026, 3, 7))))
    assert out["summary"][0].endswith(
        "实际审批2026-03-07，晚于时限（该日为休息日，超期不足1个工作日）。"
    )


def test_blank_decision_outside_pending_is_not_judged():
    out = run(drop_of(case(accepted=date(2025, 1, 6), status="未通过")))
    assert out.height == 0


def test_verdict_known_without_next_year_is_given():
    # Accepted mid-December, decided 31 December: the deadline lies in January of a year the
    # calendar does not know, but the decision is on time whatever that year's holidays are.
    drop = drop_of(
        case(accepted=date(2026, 12, 14), decided=date(2026, 12, 31)), as_of=date(2027, 1, 31)
    )
    frame = approval_assessment(drop).collect()
    assert frame["overdue"].to_list() == [False]
    assert frame["deadline"].to_list() == [None]


@pytest.mark.parametrize(
    ("row", "years"),
    [
        (case(accepted=date(2026, 12, 14)), "2027年"),  # pending into 2027
        (case(accepted=date(2026, 12, 14), decided=date(2027, 1, 20)), "2027年"),
        (case(accepted=date(2003, 12, 1), decided=date(2004, 1, 20)), "2003年"),
        (case(accepted=date(2001, 5, 8), decided=date(2001, 7, 20)), "2001—2003年"),
        (case(accepted=date(2028, 3, 1), decided=date(2028, 5, 1)), "2027—2028年"),
    ],
)
def test_verdict_needing_an_unknown_year_is_not_judged(row, years):
    drop = drop_of(row, as_of=date(2028, 12, 31))
    assert run(drop).height == 0  # neither passed nor guessed late
    assert approval_assessment(drop).collect().height == 0
    assert unjudged_approvals(drop).collect()["case_id"].to_list() == ["C1"]
    note = unjudged_note(drop)
    assert note.startswith(f"1件案件的审批期限需用到工作日历未收录的{years}，未判断")
    assert "data/calendar" in note and "不按周末推算" in note


@pytest.mark.parametrize(
    "row",
    [
        case(accepted=date(2026, 12, 14)),
        case(accepted=date(2003, 12, 1), decided=date(2004, 1, 20)),
    ],
)
def test_strict_assessment_still_fails_closed(row):
    drop = drop_of(row, as_of=date(2027, 1, 31))
    with pytest.raises(ApprovalCalendarError, match="工作日历") as info:
        approval_assessment(drop, strict=True)
    assert isinstance(info.value, DropError) and isinstance(info.value, CalendarError)


def test_unjudged_cases_leave_the_rest_of_the_run_going():
    # Two cases the calendar cannot judge, one late case it can: the late one is a finding, the
    # summary's note counts the other two and names the year, and every other check runs.
    drop = drop_of(
        case("C1", accepted=date(2026, 2, 2), decided=date(2026, 3, 10)),
        case("C2", accepted=date(2026, 12, 14)),
        case("C3", accepted=date(2026, 12, 21), decided=date(2027, 2, 1)),
        as_of=date(2027, 2, 28),
    )
    result = run_checks(drop)
    assert result.findings.filter(pl.col("check_id") == "approval_overdue")[
        "case_id"
    ].to_list() == ["C1"]
    row = result.summary.filter(pl.col("check_id") == "approval_overdue").row(0, named=True)
    assert row["skipped"] is None and row["findings"] == 1
    assert row["note"].startswith("2件案件的审批期限需用到工作日历未收录的2027年，未判断")
    assert "2027.csv" in row["note"]
    # Every other check ran or was skipped for a missing table as usual; the only other note is
    # the one for the providers table this drop lacks.
    others = result.summary.filter(pl.col("check_id") != "approval_overdue")
    assert others.height == len(REGISTRY) - 1
    assert others.filter(pl.col("note").is_not_null())["check_id"].to_list() == [
        "out_of_scope_spending"
    ]


def test_a_verdict_known_without_next_year_leaves_no_note():
    drop = drop_of(
        case(accepted=date(2026, 12, 14), decided=date(2026, 12, 31)), as_of=date(2027, 1, 31)
    )
    assert unjudged_note(drop) is None
    assert run_checks(drop, only=["approval_overdue"]).summary["note"].to_list() == [None]


def test_note_names_a_calendar_folder_outside_the_project(tmp_path):
    folder = tmp_path / "日历"
    folder.mkdir()
    for year in (2025, 2026):
        shutil.copy(PROJECT_ROOT / "data" / "calendar" / f"{year}.csv", folder)
    cal = WorkdayCalendar.load(folder)
    drop = mini_drop(
        as_of="2027-01-31",
        calendar=cal,
        cases=[case(accepted=date(2024, 12, 20), decided=date(2025, 1, 27))],
    )
    assert run(drop).height == 0
    assert f"请在 {folder} 中" in unjudged_note(drop)


def test_known_deadline_with_unknown_decision_year_still_fires():
    # Deadline 2026-03-06 is known; a decision in 2027 is late whatever 2027's holidays are.
    out = run(
        drop_of(case(accepted=date(2026, 2, 2), decided=date(2027, 1, 5)), as_of=date(2027, 1, 31))
    )
    assert out.height == 1
    assert "超期工作日数待补充" in out["summary"][0]
