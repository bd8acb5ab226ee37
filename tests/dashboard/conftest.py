"""A hostile drop: a generated district whose free text (ledger items, purposes, payee, staff and
person names, a case number, a staff number, a transaction number, a header, a file name, cells
that are rejected) holds spreadsheet formulas, Markdown, HTML and Streamlit directives."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from analytics import pipeline, tracking
from analytics.access import Viewer
from analytics.generate import generate
from analytics.reader import read_drop
from analytics.results import load_findings
from analytics.store import Workspace

FORMULAS = (
    '=HYPERLINK("http://evil.example/f","点我")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "@SUM(1)",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
)
EVIL_LINK = "http://evil.example/link"
EVIL_IMAGE = "http://attacker.example/pixel.png"
# Everything a renderer might run, in one ledger item.
MARKUP = (
    f"[点此核实]({EVIL_LINK}) ![t]({EVIL_IMAGE}) <img src=x onerror=alert(1)> "
    "<b>粗体</b> :red[红字] $x^2$ :streamlit: **加粗** http://evil.example/bare"
)
# Words that show only if the markup around them was obeyed.
MARKUP_WORDS = ("粗体", "加粗", "红字")
CASE_ID = '=HYPERLINK("http://evil.example/c","案")<b>案件</b>'
STAFF_ID = "+S1[工号](http://evil.example/staff)<b>工</b>"
TXN_ID = "@LS(1)"
HEADER = "[注](//evil.example)<b>粗体</b>"  # short: the reader shortens long names
IGNORED_FILE = "[说明](evil.example) <img src=x onerror=alert(3)> :red[红字].txt"
NAME = '=HYPERLINK("http://evil.example/n","名")<b>名</b>'


@dataclass(frozen=True)
class HostileRun:
    drop: Path
    out: Path
    markup_finding: str  # the finding whose summary holds MARKUP
    graph_finding: str  # an integrity finding whose evidence path names STAFF_ID or CASE_ID
    identifiers: frozenset  # every ID number, account and phone of the drop, raw
    workspace: Path  # the run went through it: its findings are in triage
    audit_session: int  # a 档案核查 session of the workspace, its text hostile
    markup: str = MARKUP
    markup_words: tuple = MARKUP_WORDS
    staff_id: str = STAFF_ID
    case_id: str = CASE_ID
    header: str = HEADER
    name: str = NAME


def _rename(drop: Path, old: str, new: str) -> None:
    """``old`` -> ``new`` in every cell of every table of the drop."""
    for path in drop.glob("*.csv"):
        frame = pl.read_csv(path, infer_schema=False)
        frame.with_columns(pl.col(pl.String).replace(old, new)).write_csv(path)


def build_hostile_drop(drop: Path, scratch: Path) -> None:
    generate(drop, households=300, seed=7)
    # The integrity finding drawn first on 关系图谱 gets a hostile case and staff number.
    first = pipeline.run(drop)
    pipeline.write_outputs(first, scratch)
    top = (
        load_findings(scratch)
        .filter(
            (pl.col("family") == "integrity")
            & pl.col("staff_id").is_not_null()
            & pl.col("case_id").is_not_null()
        )
        .sort("amount_fen", "finding_id", descending=[True, False], nulls_last=True)
        .row(0, named=True)
    )
    _rename(drop, top["case_id"], CASE_ID)
    _rename(drop, top["staff_id"], STAFF_ID)

    ledger = pl.read_csv(drop / "ledger.csv", infer_schema=False).with_row_index("_i")
    paid = ledger.filter(
        (pl.col("status") == "成功")
        & pl.col("case_id").is_not_null()
        & (pl.col("case_id") != CASE_ID)
    )
    items = (*FORMULAS, MARKUP)
    rows = paid.get_column("_i").gather_every(7).head(len(items) + 3).to_list()
    hostile, rejected = rows[: len(items)], rows[len(items) :]
    item = dict(zip(hostile, items, strict=True))
    ledger = ledger.with_columns(
        pl.col("_i")
        .replace_strict(item, default=pl.col("item"), return_dtype=pl.String)
        .alias("item"),
        pl.when(pl.col("_i").is_in(hostile))
        .then(pl.lit(MARKUP))
        .otherwise(pl.col("purpose"))
        .alias("purpose"),
        pl.when(pl.col("_i").is_in(hostile))
        .then(pl.lit(NAME))
        .otherwise(pl.col("payee_name"))
        .alias("payee_name"),
        pl.when(pl.col("_i") == hostile[2])
        .then(pl.lit(TXN_ID))
        .otherwise(pl.col("txn_id"))
        .alias("txn_id"),
        # Cells the reader rejects, their values kept in rejects.csv.
        pl.col("_i")
        .replace_strict(
            {rejected[0]: "=1+1", rejected[1]: "-12.50"},
            default=pl.col("amount"),
            return_dtype=pl.String,
        )
        .alias("amount"),
        pl.when(pl.col("_i") == rejected[2])
        .then(pl.lit(f"[退票]({EVIL_LINK})"))
        .otherwise(pl.col("status"))
        .alias("status"),
        pl.lit("=1+1").alias(HEADER),
    ).drop("_i")
    ledger.write_csv(drop / "ledger.csv")
    for table in ("persons", "staff"):
        frame = pl.read_csv(drop / f"{table}.csv", infer_schema=False)
        frame.with_columns(
            pl.when(pl.int_range(pl.len()) < 20)
            .then(pl.lit(NAME))
            .otherwise(pl.col("name"))
            .alias("name")
        ).write_csv(drop / f"{table}.csv")
    (drop / IGNORED_FILE).write_text("=1+1\n", encoding="utf-8")


def identifiers(drop: Path) -> frozenset:
    """Every raw ID number of a person, bank account and phone number of the drop, as digits
    (an organisation's credit code is public and not among them)."""
    columns = {
        "persons": ("id_number", "phone"),
        "staff": ("id_number", "phone", "salary_account"),
        "accounts": ("account_no", "holder_id_number", "custodian_id_number"),
        "entitlements": ("id_number", "account_no"),
        "ledger": ("payee_id", "account_no"),
    }
    found: set[str] = set()
    for table, names in columns.items():
        frame = pl.read_csv(drop / f"{table}.csv", infer_schema=False)
        for name in (n for n in names if n in frame.columns):
            for value in frame[name].drop_nulls():
                if re.fullmatch(r"\d{17}[\dXx]", value):
                    found.add(value.upper())
                elif not re.search(r"[A-Za-z]", value):
                    digits = re.sub(r"\D", "", value)
                    if len(digits) >= 11:
                        found.add(digits[-11:] if name == "phone" else digits)
    return frozenset(found)


def publish_hostile_record(workspace: Workspace, drop: Path) -> None:
    """A dishonesty record whose name and facts are hostile, taken through due process and put
    into a publication document, so that the document's exports are scanned too."""
    from datetime import date

    from analytics.calendar import WorkdayCalendar
    from analytics.store import dishonesty as records
    from analytics.views import dishonesty as listing
    from analytics.workflow.dishonesty import Given

    person = pl.read_csv(drop / "persons.csv", infer_schema=False).row(0, named=True)
    store, calendar = workspace.store, WorkdayCalendar.load()
    rid = records.create_record(
        store,
        by=NAME,
        today=date(2026, 10, 9),
        id_number=person["id_number"],
        name=NAME,
        conduct="隐瞒",
        description=MARKUP,
        severity="一般",
        basis="=1+1",
    )
    version = 1
    for move, on, given in (
        (
            "notify",
            date(2026, 10, 9),
            Given(notified_on=date(2026, 10, 9), notify_method="直接送达"),
        ),
        (
            "publish",
            date(2026, 11, 2),
            Given(decision_no="@SUM(1)", decision_date=date(2026, 11, 2), term_months=6),
        ),
    ):
        version = records.apply(
            store,
            rid,
            move,
            given,
            by="测试",
            expected_version=version,
            today=on,
            calendar=calendar,
        )
    listing.publish_batch(store, "测试", date(2026, 11, 2), calendar=calendar)


def audit_hostile_session(workspace: Workspace) -> int:
    """A 档案核查 session of the run's snapshot whose title, team, cases and notes are hostile
    (the hostile case named by hand), left open, so that its exports are scanned too."""
    from datetime import date

    from analytics.views import file_audit as audit

    snapshot_id, _ = audit.latest_snapshot(workspace)
    params = audit.default_params(
        "2026-10", seed=7, per_street=1, min_per_street=1, manual=(CASE_ID,)
    )
    sid = audit.start_session(
        workspace,
        snapshot_id,
        params,
        held_on=date(2026, 11, 3),
        title=NAME,
        team=[NAME, "+1+1"],
        by=NAME,
        origin="test",
    )
    codes = [item.code for item in audit.checklist()]
    cases = audit.session_view(workspace, sid).sample["case_id"].to_list()
    for case, note in zip(cases, (FORMULAS[0], MARKUP), strict=False):  # the first two cases
        given = {code: ("符合", None) for code in codes}
        given[codes[0]] = ("不符合", note)
        given[codes[1]] = ("不适用", "@SUM(1)")
        audit.save_case(workspace, sid, case, given, {}, by=NAME)
    return sid


# Who a page test is logged in as, unless it says otherwise (``login(at, viewer)`` or
# ``at.session_state[auth.VIEWER_KEY] = ...``): a district supervisor, who may open the
# supervisors' pages. Pages are run one by one (AppTest), so app.py's login is not in the way;
# each page still checks the viewer itself.
SUPERVISOR = Viewer(name="测试督查（tester）", role="civil_affairs", account="tester")


def login(at: AppTest, viewer: Viewer | None) -> AppTest:
    from dashboard import auth

    if viewer is None:
        if auth.VIEWER_KEY in at.session_state:
            del at.session_state[auth.VIEWER_KEY]
    else:
        at.session_state[auth.VIEWER_KEY] = viewer
    return at


@pytest.fixture(autouse=True)
def _logged_in(monkeypatch):
    """Every AppTest starts logged in as SUPERVISOR."""
    original = AppTest.from_file.__func__

    def from_file(cls, *args, **kwargs):
        return login(original(cls, *args, **kwargs), SUPERVISOR)

    monkeypatch.setattr(AppTest, "from_file", classmethod(from_file))


@pytest.fixture(scope="session")
def hostile_run(tmp_path_factory) -> HostileRun:
    base = tmp_path_factory.mktemp("hostile")
    drop, root = base / "drop", base / "workspace"
    build_hostile_drop(drop, base / "first-run")
    # as `aidwatch check` and the browser run it: through a workspace of its own
    workspace = Workspace(root)
    try:
        out = tracking.record_check(workspace, drop, read_drop(drop), by="测试", origin="test").out
        publish_hostile_record(workspace, drop)
        audit_session = audit_hostile_session(workspace)
    finally:
        workspace.close()
    findings = load_findings(out)
    markup = findings.filter(
        pl.col("summary").str.contains(MARKUP, literal=True)
        & (pl.col("check_id") == "out_of_scope_spending")
    )
    integrity = findings.filter(
        (pl.col("family") == "integrity")
        & (
            pl.col("evidence").str.contains(STAFF_ID, literal=True)
            | pl.col("evidence").str.contains("案件 " + CASE_ID.replace('"', '\\"'), literal=True)
        )
    )
    return HostileRun(
        drop=drop,
        out=out,
        markup_finding=markup.get_column("finding_id")[0],
        graph_finding=integrity.sort("amount_fen", descending=True).get_column("finding_id")[0],
        identifiers=identifiers(drop),
        workspace=root,
        audit_session=audit_session,
    )


@pytest.fixture
def downloads(monkeypatch) -> dict:
    """file name -> the bytes a download button of the page would deliver when clicked."""
    made: dict = {}
    add = MediaFileManager.add_deferred

    def spy(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        made[file_name] = data_callable
        return add(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    return made
