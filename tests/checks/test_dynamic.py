"""Dynamic management checks: each fires on its defect and not on the look-alikes."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from analytics import schema
from analytics.minidrop import mini_drop
from analytics.model import Drop
from checks.engine import shape_findings
from checks.registry import REGISTRY, load_all

load_all()
AS_OF = date(2026, 10, 31)
APPLICANT = "110101199001011237"
MEMBER = "11010119850202123X"
OUTSIDER = "110101197003030019"


PERSONS = [
    dict(id_number=APPLICANT, name="甲", household_id="H1", street="新泾镇"),
    dict(id_number=MEMBER, name="乙", household_id="H1", street="新泾镇"),
    dict(id_number=OUTSIDER, name="丙", household_id="H2", street="新泾镇"),
]


def iso(row: dict) -> dict:
    """Dates written as ISO text, as mini_drop reads them."""
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in row.items()}


def case(status="在册", decided=date(2026, 3, 10), difficulty="中") -> dict:
    return dict(
        case_id="C1",
        household_id="H1",
        applicant_id_number=APPLICANT,
        street="新泾镇",
        assistance_type="最低生活保障",
        status=status,
        accepted_date=date(2026, 2, 2),
        decided_date=decided,
        difficulty=difficulty,
    )


def drop_of(cases: list[dict], as_of: date = AS_OF, **tables: list[dict]) -> Drop:
    rows = {name: [iso(r) for r in table] for name, table in tables.items()}
    return mini_drop(
        as_of=as_of.isoformat(), cases=[iso(c) for c in cases], persons=PERSONS, **rows
    )


def run(check_id: str, drop: Drop) -> pl.DataFrame:
    spec = REGISTRY[check_id]
    return shape_findings(spec, spec.fn(drop).collect())


def event(id_number: str, kind: str, day: date) -> dict:
    return dict(id_number=id_number, event_type=kind, event_date=day, source="公安")


# --- deceased_still_active ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "events", "fires"),
    [
        ("在册", [event(APPLICANT, "死亡", date(2026, 9, 30))], True),  # 31 days before as_of
        ("在册", [event(APPLICANT, "死亡", date(2026, 10, 1))], False),  # 30 days: inside grace
        ("在册", [event(APPLICANT, "死亡", date(2026, 10, 20))], False),
        ("终止", [event(APPLICANT, "死亡", date(2026, 1, 5))], False),  # no longer active
        ("在册", [event(MEMBER, "死亡", date(2026, 1, 5))], False),  # not the applicant
        ("在册", [event(APPLICANT, "就业参保", date(2026, 1, 5))], False),
        # two death records: the earliest counts
        (
            "在册",
            [
                event(APPLICANT, "死亡", date(2026, 10, 20)),
                event(APPLICANT, "死亡", date(2026, 8, 1)),
            ],
            True,
        ),
    ],
)
def test_deceased_still_active(status, events, fires):
    out = run("deceased_still_active", drop_of([case(status=status)], events=events))
    assert out.height == int(fires)


def test_deceased_still_active_names_the_death_and_the_grace():
    out = run(
        "deceased_still_active",
        drop_of([case()], events=[event(APPLICANT, "死亡", date(2026, 9, 30))]),
    )
    row = out.row(0, named=True)
    assert (row["case_id"], row["street"], row["month"], row["id_number"]) == (
        "C1",
        "新泾镇",
        "2026-09",
        APPLICANT,
    )
    assert "2026-09-30身故" in row["summary"] and "已31天，超过30天宽限期" in row["summary"]


# --- employment_found / criminal_sanction_found -------------------------------------------------


@pytest.mark.parametrize(
    ("check_id", "kind", "other"),
    [
        ("employment_found", "就业参保", "刑事处罚"),
        ("criminal_sanction_found", "刑事处罚", "就业参保"),
    ],
)
@pytest.mark.parametrize(
    ("status", "who", "day", "fires"),
    [
        ("在册", MEMBER, date(2026, 3, 11), True),  # the day after the decision
        ("在册", APPLICANT, date(2026, 6, 1), True),
        ("在册", MEMBER, date(2026, 3, 10), False),  # on the day of the decision
        ("在册", MEMBER, date(2026, 1, 15), False),  # before approval
        ("在册", OUTSIDER, date(2026, 6, 1), False),  # not a household member
        ("终止", MEMBER, date(2026, 6, 1), False),  # not an active case
        ("申请中", MEMBER, date(2026, 6, 1), False),
    ],
)
def test_member_event_after_decision(check_id, kind, other, status, who, day, fires):
    events = [event(who, kind, day), event(MEMBER, other, date(2026, 6, 1))]
    out = run(check_id, drop_of([case(status=status)], events=events))
    assert out.height == int(fires)


def test_member_events_give_one_finding_per_case_named_by_the_earliest():
    events = [
        event(APPLICANT, "就业参保", date(2026, 7, 1)),
        event(MEMBER, "就业参保", date(2026, 5, 2)),
    ]
    out = run("employment_found", drop_of([case()], events=events))
    row = out.row(0, named=True)
    assert (out.height, row["month"], row["id_number"]) == (1, "2026-05", MEMBER)
    assert "2026-05-02有就业参保记录（来源：公安）等2条" in row["summary"]


# --- visit_overdue ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("difficulty", "decided", "visits", "as_of", "fires"),
    [
        # 高: one month. 2026-09-30 + 1 month = 2026-10-30, before 10-31.
        ("高", date(2026, 3, 10), [date(2026, 9, 30)], AS_OF, True),
        ("高", date(2026, 3, 10), [date(2026, 9, 30)], date(2026, 10, 30), False),  # due on as_of
        # clamped: 2026-01-31 + 1 month = 2026-02-28
        ("高", date(2025, 12, 1), [date(2026, 1, 31)], date(2026, 2, 28), False),
        ("高", date(2025, 12, 1), [date(2026, 1, 31)], date(2026, 3, 1), True),
        # 中: three months. 2026-07-31 + 3 months = 2026-10-31.
        ("中", date(2026, 3, 10), [date(2026, 7, 31)], AS_OF, False),
        ("中", date(2026, 3, 10), [date(2026, 7, 30)], AS_OF, True),
        # 低 and blank: six months, from the decision when there is no visit.
        # 2026-05-01 + 6 months = 2026-11-01; 2026-04-30 + 6 months = 2026-10-30 (day kept).
        ("低", date(2026, 5, 1), [], AS_OF, False),
        (None, date(2026, 5, 1), [], AS_OF, False),
        (None, date(2026, 4, 30), [], AS_OF, True),
        # a visit after the as-of date does not count
        ("中", date(2026, 3, 10), [date(2026, 7, 1), date(2026, 11, 2)], AS_OF, True),
        # the latest visit counts, not the first
        ("中", date(2026, 3, 10), [date(2026, 4, 1), date(2026, 9, 1)], AS_OF, False),
    ],
)
def test_visit_overdue(difficulty, decided, visits, as_of, fires):
    rows = [dict(case_id="C1", visit_date=v, mode="入户") for v in visits]
    out = run(
        "visit_overdue",
        drop_of([case(decided=decided, difficulty=difficulty)], as_of=as_of, visits=rows),
    )
    assert out.height == int(fires)


@pytest.mark.parametrize("status", ["终止", "申请中", "未通过"])
def test_visit_overdue_only_for_active_cases(status):
    out = run("visit_overdue", drop_of([case(status=status, decided=date(2025, 1, 1))], visits=[]))
    assert out.height == 0


def test_visit_overdue_names_the_due_date():
    out = run(
        "visit_overdue",
        drop_of([case(difficulty="高")], visits=[dict(case_id="C1", visit_date=date(2026, 9, 15))]),
    )
    row = out.row(0, named=True)
    assert row["month"] == "2026-10"  # first overdue day 2026-10-16
    assert "最近一次探访为2026-09-15，按1个月周期应于2026-10-15前探访" in row["summary"]


# --- blacklisted_recipient -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "who", "start", "end", "fires"),
    [
        ("在册", MEMBER, date(2026, 3, 10), date(2027, 3, 9), True),  # decided on the start day
        ("在册", MEMBER, date(2025, 3, 10), date(2026, 3, 10), True),  # decided on the end day
        ("终止", APPLICANT, date(2025, 1, 1), date(2026, 12, 31), True),
        ("在册", MEMBER, date(2025, 3, 10), date(2026, 3, 9), False),  # ended the day before
        ("在册", MEMBER, date(2026, 3, 11), date(2027, 3, 9), False),  # began the day after
        ("在册", OUTSIDER, date(2025, 1, 1), date(2026, 12, 31), False),
        ("未通过", MEMBER, date(2025, 1, 1), date(2026, 12, 31), False),
        ("申请中", MEMBER, date(2025, 1, 1), date(2026, 12, 31), False),
    ],
)
def test_blacklisted_recipient(status, who, start, end, fires):
    records = [dict(id_number=who, start_date=start, end_date=end)]
    out = run("blacklisted_recipient", drop_of([case(status=status)], dishonesty=records))
    assert out.height == int(fires)


@pytest.mark.parametrize(
    "check_id",
    [
        "deceased_still_active",
        "employment_found",
        "criminal_sanction_found",
        "visit_overdue",
        "blacklisted_recipient",
    ],
)
def test_empty_tables_give_the_findings_shape(check_id):
    drop = drop_of([], events=[], visits=[], dishonesty=[])
    out = run(check_id, drop)
    assert out.height == 0
    assert set(schema.FINDINGS_COLUMNS) <= set(out.columns)


# --- against the demo generator's truth -----------------------------------------------------------

SIX = (
    "deceased_still_active",
    "employment_found",
    "criminal_sanction_found",
    "visit_overdue",
    "blacklisted_recipient",
    "approval_overdue",
)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [7, 11])
def test_precision_and_recall_against_the_generator(tmp_path, seed):
    from analytics.generate import generate
    from analytics.pipeline import make_drop
    from analytics.reader import read_drop
    from checks.engine import run_checks

    generate(tmp_path, households=1500, seed=seed)
    drop = make_drop(read_drop(tmp_path))
    found = run_checks(drop, only=list(SIX)).findings
    truth = pl.read_csv(tmp_path / "truth.csv", infer_schema=False)
    lookalikes = pl.read_csv(tmp_path / "lookalikes.csv", infer_schema=False)
    for check_id in SIX:
        # Every one of the six is keyed by case_id.
        got = set(found.filter(pl.col("check_id") == check_id)["case_id"])
        want = set(truth.filter(pl.col("check_id") == check_id)["case_id"])
        assert want, f"the generator planted no {check_id}"
        assert got == want, (
            check_id,
            "false positives",
            sorted(got - want),
            "missed",
            sorted(want - got),
        )
        alike = set(lookalikes.filter(pl.col("check_id") == check_id)["case_id"])
        assert alike and not alike & got, (check_id, "look-alikes that fired", alike & got)


def test_blacklisted_recipient_reads_the_workspace_list_with_the_drops_own():
    """A run in a workspace adds the published records to the drop's own table."""
    from analytics.minidrop import typed_frame
    from analytics.model import ReadResult
    from analytics.tracking import with_published_records

    own = typed_frame(
        "dishonesty", [dict(id_number=OUTSIDER, start_date="2025-01-01", end_date="2026-12-31")]
    )
    read = ReadResult(
        tables={"dishonesty": own},
        rejects=pl.DataFrame(),
        files=[],
        ignored=[],
        missing_optional=[],
    )
    published = pl.DataFrame(
        {
            "id_number": [MEMBER],
            "name": ["乙"],
            "start_date": [date(2026, 3, 1)],
            "end_date": [date(2026, 8, 31)],
        },
        schema=schema.polars_schema("dishonesty"),
    )
    both = with_published_records(read, published).tables["dishonesty"]
    assert both.schema == pl.Schema(schema.polars_schema("dishonesty"))
    assert both["id_number"].to_list() == [OUTSIDER, MEMBER]
    assert read.tables["dishonesty"].height == 1  # the drop's own is left as it was
    rows = [
        {k: (v.isoformat() if isinstance(v, date) else v) for k, v in r.items()}
        for r in both.iter_rows(named=True)
    ]
    assert run("blacklisted_recipient", drop_of([case()], dishonesty=rows)).height == 1
    # without the drop's own table, the workspace's alone
    bare = ReadResult(
        tables={}, rejects=pl.DataFrame(), files=[], ignored=[], missing_optional=["dishonesty"]
    )
    alone = with_published_records(bare, published)
    assert alone.tables["dishonesty"]["id_number"].to_list() == [MEMBER]
    assert alone.missing_optional == []
    assert with_published_records(bare, published.head(0)) is bare  # nothing to add
