"""失信名单 for the joint-meeting office's page: the records as they are today, filtered by state
and street, the deadlines coming up, the verified findings a record may be made from, and the
publication of the records that are due in one numbered, dated document.

No Streamlit here. Every table a page draws or a file carries holds ID numbers masked; the
publication document holds only the fields the rules allow (PUBLICATION_COLUMNS).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import polars as pl
from polars._typing import PolarsDataType

from analytics import export, schema
from analytics.masking import mask_id, mask_id_expr
from analytics.report import DISTRICT_NAME, ISSUER
from analytics.store import dishonesty as stored
from analytics.workflow import dishonesty as rules

DISTRICT = DISTRICT_NAME
PUBLISHER = schema.DISTRICT_INFO.joint_office  # publishes the list to its member units
DECISION_BODY = ISSUER  # the default issuer of a listing decision
NUMBER_PREFIX = f"{DISTRICT}救助失信公布"
PUBLICATION_MOVE = "publication"  # the history row of a record's publication
WINDOW_SOON_DAYS = 7
TERM_SOON_DAYS = 30
MAX_ROWS = 1_000
PUBLICATION_COLUMNS = ("序号", "姓名", "身份证号", "失信行为", "决定书文号", "公布期限")
CANDIDATE_STATES = ("recovering", "recovered")
PUBLICATION_NOTE = (
    f"本名单依据{schema.DISTRICT_INFO.basis}公布，公布期限自决定日期起算，期满自动停止公布。"
    "列入条件：以虚报、隐瞒、欺骗等手段骗取社会救助，经告知并经异议期、依法作出列入决定。"
    "移出条件：公布期限届满；或已退还违规获得的救助金并签署信用承诺，经信用修复后移出；"
    "决定被撤销的，在 3 个工作日内移出。"
    "当事人对公布信息有异议的，可向联席会议办公室提出，办公室在 1 个工作日内标注“异议中”，"
    "5 个工作日内核实答复；对决定不服的，可依法申请行政复议或提起行政诉讼。"
)

MOVE_LABELS = {
    "create": "新建记录",
    "edit": "修改事实",
    PUBLICATION_MOVE: "编入公布文件",
    **{name: m.label for name, m in rules.MOVES.items()},
}
FACT_LABELS = {
    "name": "姓名",
    "household_id": "户编号",
    "case_id": "救助编号",
    "street": "街镇",
    "conduct": "失信行为",
    "description": "事实",
    "severity": "严重程度",
    "basis": "列入依据",
    "money_obtained_fen": "违规获得金额（元）",
    "money_recovered_fen": "已退还金额（元）",
    "issuing_body": "作出决定单位",
}


def today() -> date:
    """The day the page works on (a test may fix it)."""
    return date.today()


@lru_cache(maxsize=1)
def _calendar():
    from analytics.calendar import WorkdayCalendar

    return WorkdayCalendar.load()


def calendar():
    """The official working-day calendar."""
    return _calendar()


def settings() -> rules.Rules:
    from analytics.reference import load_settings

    return rules.rules_from(load_settings().dishonesty)


def yuan(fen: int | None) -> float | None:
    return None if fen is None else fen / 100


def fen(yuan_value: float | None) -> int:
    return 0 if yuan_value is None else int(round(yuan_value * 100))


# --- the list ----------------------------------------------------------------------------------


def records_today(store, day: date, calendar=None, rules_=None) -> pl.DataFrame:
    """Every record with what it is on ``day`` (analytics.store.dishonesty.with_status)."""
    return stored.with_status(
        stored.records_frame(store), day, calendar or _calendar(), rules_ or settings()
    )


@dataclass(frozen=True)
class Options:
    states: list[str]  # SHOWN keys present, in SHOWN's order
    streets: list[str]


def options(records: pl.DataFrame) -> Options:
    present = set(records.get_column("status").to_list())
    streets = sorted(s for s in records.get_column("street").unique().to_list() if s)
    return Options([s for s in rules.SHOWN if s in present], streets)


def filter_records(records: pl.DataFrame, states=(), streets=()) -> pl.DataFrame:
    out = records
    if states:
        out = out.filter(pl.col("status").is_in(list(states)))
    if streets:
        out = out.filter(pl.col("street").is_in(list(streets)))
    return out


def list_table(records: pl.DataFrame) -> pl.DataFrame:
    """The list as the page shows it: one row a record, the ID number masked."""
    return records.select(
        pl.col("reference").alias("记录编号"),
        pl.col("name").alias("姓名"),
        mask_id_expr("id_number").alias("身份证号"),
        pl.col("street").alias("街镇"),
        pl.col("conduct").alias("失信行为"),
        pl.col("severity").alias("严重程度"),
        pl.col("status_label").alias("状态"),
        (pl.col("money_obtained_fen") / 100).alias("违规获得（元）"),
        (pl.col("money_recovered_fen") / 100).alias("已退还（元）"),
        pl.col("notified_on").alias("告知日期"),
        pl.col("window_end").alias("异议期至"),
        pl.col("objection_due").alias("异议答复期限"),
        pl.col("decision_no").alias("决定书文号"),
        pl.col("decision_date").alias("决定日期"),
        pl.col("term_end").alias("公布期限至"),
        pl.col("publication_no").alias("公布文件"),
    )


def record_of(records: pl.DataFrame, record_id: int) -> dict:
    return records.filter(pl.col("record_id") == record_id).row(0, named=True)


def record_label(row: dict) -> str:
    return f"{row['reference']} · {row['name']} · {row['status_label']}"


def facts_table(row: dict) -> pl.DataFrame:
    """A record's facts, the ID number masked, as 项目 / 内容 rows."""

    def day(d):
        return d.isoformat() if d else "—"

    items = [("记录编号", row["reference"]), ("身份证号", mask_id(row["id_number"]))]
    for name, label in FACT_LABELS.items():
        value = row.get(name)
        if name.endswith("_fen"):
            value = f"{(value or 0) / 100:,.2f}"
        items.append((label, value if value not in (None, "") else "—"))
    items += [
        ("关联线索", row.get("finding_id") or "—"),
        ("当前状态", row["status_label"]),
        ("告知日期", day(row["notified_on"])),
        ("告知方式", row["notify_method"] or "—"),
        ("异议期至", day(row["window_end"])),
        ("异议提出日期", day(row["objection_raised_on"])),
        ("异议答复期限", day(row["objection_due"])),
        ("决定书文号", row["decision_no"] or "—"),
        ("决定日期", day(row["decision_date"])),
        ("公布期限（月）", str(row["term_months"]) if row["term_months"] else "—"),
        ("公布期限至", day(row["term_end"])),
        ("公布文件", row["publication_no"] or "—"),
        ("退还款项日期", day(row["returned_on"])),
        ("信用承诺签署日期", day(row["commitment_on"])),
        ("版本", str(row["version"])),
    ]
    return pl.DataFrame({"项目": [k for k, _ in items], "内容": [str(v) for _, v in items]})


def moves_for(row: dict) -> list[rules.Move]:
    """The moves due process allows from the record's state; 公布 only once its objection
    window has ended (the rules refuse it before, this only spares the form)."""
    out = [m for m in rules.MOVES.values() if row["state"] in m.sources]
    if row["status"] == "window":
        out = [m for m in out if m.name != "publish"]
    return out


def history_table(store, record_id: int) -> pl.DataFrame:
    history = stored.history_frame(store, record_id)
    return history.select(
        pl.col("on_date").alias("日期"),
        pl.col("move").replace_strict(MOVE_LABELS, default=pl.col("move")).alias("操作"),
        pl.col("from_state")
        .replace_strict(rules.STATES, default=pl.col("from_state"))
        .alias("原状态"),
        pl.col("to_state").replace_strict(rules.STATES, default=pl.col("to_state")).alias("新状态"),
        pl.col("by").alias("操作人"),
        pl.col("reason").alias("理由"),
        pl.col("version").alias("版本"),
    )


def earlier_versions_table(store, record_id: int) -> pl.DataFrame:
    """The record's facts before each edit (an edited published record keeps them)."""
    versions = stored.earlier_versions(store, record_id)
    columns = ["版本", *FACT_LABELS.values()]
    rows = [
        [str(v.get("version"))]
        + [
            "—" if v.get(n) is None else (f"{v[n] / 100:,.2f}" if n.endswith("_fen") else str(v[n]))
            for n in FACT_LABELS
        ]
        for v in versions
    ]
    return pl.DataFrame(rows, schema={c: pl.String for c in columns}, orient="row")


# --- deadlines ---------------------------------------------------------------------------------

DEADLINE_SCHEMA: dict[str, PolarsDataType] = {
    "kind": pl.String,
    "record_id": pl.Int64,
    "due": pl.Date,
}


def deadlines(records: pl.DataFrame, day: date) -> pl.DataFrame:
    """What falls due soon: objection windows ending within WINDOW_SOON_DAYS, every objection
    awaiting its decision (overdue ones too), terms ending within TERM_SOON_DAYS. One row each,
    the soonest first, with the record's columns."""
    soon_window = day + timedelta(days=WINDOW_SOON_DAYS)
    soon_term = day + timedelta(days=TERM_SOON_DAYS)
    parts = [
        records.filter(
            (pl.col("status") == "window") & (pl.col("window_end") <= soon_window)
        ).with_columns(pl.lit("异议期届满").alias("kind"), pl.col("window_end").alias("due")),
        records.filter(
            (pl.col("state") == "objected") & pl.col("objection_due").is_not_null()
        ).with_columns(pl.lit("异议答复期限").alias("kind"), pl.col("objection_due").alias("due")),
        records.filter(
            (pl.col("status") == "published") & (pl.col("term_end") <= soon_term)
        ).with_columns(pl.lit("公布期满").alias("kind"), pl.col("term_end").alias("due")),
    ]
    return pl.concat(parts).sort("due", "record_id")


def deadlines_table(due: pl.DataFrame, day: date) -> pl.DataFrame:
    return due.select(
        pl.col("kind").alias("事项"),
        pl.col("due").alias("日期"),
        (pl.col("due") - pl.lit(day)).dt.total_days().alias("剩余天数"),
        pl.when(pl.col("due") < pl.lit(day))
        .then(pl.lit("是"))
        .otherwise(pl.lit(""))
        .alias("已超期"),
        pl.col("reference").alias("记录编号"),
        pl.col("name").alias("姓名"),
        mask_id_expr("id_number").alias("身份证号"),
        pl.col("street").alias("街镇"),
        pl.col("status_label").alias("状态"),
    )


# --- records from verified findings ------------------------------------------------------------


def candidates(
    findings: pl.DataFrame,
    records: pl.DataFrame,
    recoveries: pl.DataFrame | None = None,
    people: dict[str, str] | None = None,
) -> pl.DataFrame:
    """Verified findings disposed of by recovery (追回 / 已追回) that no record names yet, with
    what a record is prefilled with: case, street, money at issue and money recovered, and the
    person's ID number where the finding names one (``people``: finding id -> ID number)."""
    taken = set(records.get_column("finding_id").drop_nulls().to_list())
    out = findings.filter(
        pl.col("state").is_in(list(CANDIDATE_STATES)) & ~pl.col("finding_id").is_in(list(taken))
    )
    if recoveries is not None and recoveries.height:
        paid = recoveries.group_by("finding_id").agg(
            pl.col("amount_fen").sum().alias("recovered_fen")
        )
        out = out.join(paid, on="finding_id", how="left")
    else:
        out = out.with_columns(pl.lit(None, dtype=pl.Int64).alias("recovered_fen"))
    people = people or {}
    return out.with_columns(
        pl.col("recovered_fen").fill_null(0),
        pl.col("finding_id")
        .replace_strict(people, default=None, return_dtype=pl.String)
        .alias("id_number"),
    ).sort("finding_id")


def finding_people(store, finding_ids: list[str]) -> dict[str, str]:
    """The ID number each finding names, where it names one."""
    if not finding_ids:
        return {}
    return stored.finding_id_numbers(store, finding_ids)


def candidates_table(c: pl.DataFrame) -> pl.DataFrame:
    from analytics.workflow.triage import STATES as FINDING_STATES

    return c.select(
        pl.col("finding_id").alias("线索编号"),
        pl.col("street").alias("街镇"),
        pl.col("case_id").alias("救助编号"),
        mask_id_expr("id_number").alias("身份证号"),
        pl.col("state").replace_strict(FINDING_STATES, default=pl.col("state")).alias("状态"),
        (pl.col("amount_fen") / 100).alias("涉及金额（元）"),
        (pl.col("recovered_fen") / 100).alias("已追回（元）"),
        pl.col("summary").alias("线索"),
    )


def candidate_label(row: dict) -> str:
    return f"{row['finding_id']} · {row['street'] or '—'} · {row['case_id'] or '—'}"


# --- publication -------------------------------------------------------------------------------


def due_for_publication(records: pl.DataFrame) -> pl.DataFrame:
    """Published records not yet in a publication document, whose term is still running (a
    record whose term has ended is no longer published)."""
    return records.filter((pl.col("status") == "published") & pl.col("publication_no").is_null())


@dataclass(frozen=True)
class Publication:
    number: str
    on: date
    record_ids: tuple[int, ...]


def number_for(year: int, n: int) -> str:
    return f"{NUMBER_PREFIX}〔{year}〕{n}号"


def publish_batch(store, by: str, day: date, *, calendar=None, rules_=None) -> Publication | None:
    """Every record due for publication (published, in its term, in no document yet) put into
    one new document, numbered within the year and dated ``day``, in one transaction; each
    record's version bumped and a history row written. None when nothing is due (publishing
    again with nothing new does nothing)."""
    due = due_for_publication(records_today(store, day, calendar, rules_))
    if due.height == 0:
        return None
    versions: dict[int, int] = dict(due.select("record_id", "version").iter_rows())
    number = stored.publish_in_document(
        store,
        versions,
        f"{NUMBER_PREFIX}〔{day.year}〕",
        lambda n: number_for(day.year, n),
        by=by,
        day=day,
        move=PUBLICATION_MOVE,
    )
    return Publication(number, day, tuple(sorted(versions)))


def publications(store) -> pl.DataFrame:
    """Every publication document: number, date, records; the latest first."""
    frame = pl.DataFrame(
        stored.publication_events(store, PUBLICATION_MOVE),
        schema={"record_id": pl.Int64, "on": pl.Date, "number": pl.String},
        orient="row",
    )
    return (
        frame.group_by("number", maintain_order=True)
        .agg(pl.col("on").min(), pl.col("record_id").n_unique().alias("records"))
        .reverse()
    )


def publication_records(records: pl.DataFrame, number: str) -> pl.DataFrame:
    return records.filter(pl.col("publication_no") == number)


def publication_table(records: pl.DataFrame) -> pl.DataFrame:
    """The publication document's rows: only PUBLICATION_COLUMNS, the ID number masked
    (``310105********123X``), in order of decision date and record."""
    ordered = records.sort("decision_date", "record_id")
    table = ordered.select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).cast(pl.String).alias("序号"),
        pl.col("name").alias("姓名"),
        mask_id_expr("id_number").alias("身份证号"),
        pl.col("conduct").alias("失信行为"),
        pl.col("decision_no").alias("决定书文号"),
        pl.concat_str(
            pl.col("decision_date").dt.strftime("%Y-%m-%d"),
            pl.lit(" 至 "),
            pl.col("term_end").dt.strftime("%Y-%m-%d"),
        ).alias("公布期限"),
    )
    assert tuple(table.columns) == PUBLICATION_COLUMNS
    return table


def publication_title() -> str:
    return f"{DISTRICT}社会救助失信名单"


def publication_excel(table: pl.DataFrame, number: str, on: date) -> bytes:
    """The document as a workbook: a heading sheet (title, number, date, publisher, conditions
    of entry and removal, how to object) and the list."""
    heading = pl.DataFrame(
        {
            "项目": ["标题", "文号", "公布日期", "公布单位", "条数", "说明"],
            "内容": [
                publication_title(),
                number,
                on.isoformat(),
                PUBLISHER,
                str(table.height),
                PUBLICATION_NOTE,
            ],
        }
    )
    return export.excel_bytes({"公布文件": heading, "失信名单": table})


def publication_pdf(table: pl.DataFrame, number: str, on: date) -> bytes:
    from analytics import report

    return report.publication_pdf(table, number, on, DISTRICT, PUBLISHER, PUBLICATION_NOTE)


def file_stem(number: str) -> str:
    return number.replace("〔", "_").replace("〕", "_")
