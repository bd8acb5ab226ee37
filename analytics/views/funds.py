"""资金比对: the funds family's findings as the page shows them, sliced, summed, compared, exported.

Frames with English column names feed the charts and the comparison; the ``*_table`` frames are
what the screen and the export show: Chinese headers, ID numbers and accounts masked. The page
only renders what these functions return.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import polars as pl
from polars._typing import PolarsDataType

from analytics import amounts, export, schema
from analytics.masking import (
    mask_account_expr,
    mask_id_expr,
)

FAMILY = "funds"
# Findings the page draws at most; an export holds them all (see the page).
MAX_ROWS = 2_000
UNKNOWN_STREET = "（未知街镇）"
SHEET = "资金比对发现"
YUAN = pl.Decimal(38, 2)
SEVERITY_RANK = {s: i for i, s in enumerate(schema.SEVERITIES)}
# A payee is a person (masked) or an organisation (its credit code is public, shown as is).
PERSON_ID = r"^\d{17}[\dX]$"

FINDING_HEADERS = {
    "finding_id": "编号",
    "title": "检查项",
    "severity": "严重程度",
    "street": "街镇",
    "month": "发放月份",
    "item": "救助项目",
    "case_id": "救助编号",
    "txn_id": "流水号",
    "id_number": "身份证号",
    "account_no": "银行账号",
    "amount": "涉及金额（元）",
    "counted": "计入合计",
    "summary": "摘要",
}
# Whether a row's amount is counted in 涉及金额 (analytics.amounts), in the findings table.
COUNTED_YES = "是"
COUNTED_TOTAL = "否（汇总数）"
COUNTED_SAME_TXN = "否（同一流水已计）"
# The figure of the page: the funds family's findings only, so the label says so.
MONEY_LABEL = "资金类线索涉及金额（元）"
MONEY_HELP = (
    amounts.HELP + "本页只计资金比对类线索；全部线索的涉及金额见线索清单。"
    "各检查项、各街镇的金额按同一口径分别计算。"
)
# Both sides list the compared fields first and in the same order, so that they line up; the
# amount comes early, so that it shows without scrolling the grid sideways.
ENTITLED_HEADERS = {
    "month": "发放月份",
    "case_id": "救助编号",
    "item": "救助项目",
    "amount": "应发金额（元）",
    "id_number": "身份证号",
    "account_no": "银行账号",
    "kind": "类型",
}
PAID_HEADERS = {
    "txn_id": "流水号",
    "month": "发放月份",
    "case_id": "救助编号",
    "item": "救助项目",
    "amount": "金额（元）",
    "payee_id": "收款人证件号",
    "account_no": "银行账号",
    "status": "状态",
    "pay_date": "拨付日期",
    "street": "街镇",
    "fund_code": "资金科目",
    "batch_id": "批次号",
}
# A link (?finding=...) that names no finding the viewer may see, whether it does not exist or
# is another street's: the same words, and the number is not repeated.
LINK_NOT_FOUND = (
    "链接中的线索编号不在当前结果中：编号可能有误、该线索已被新的检查结果取代，"
    "或不在您可以查看的范围内。下方显示的是列表中的第一条发现。"
)
# A link naming a finding the viewer may see but the filters in force hide.
LINK_FILTERED = "这条发现由链接打开，不在当前筛选结果中；清除上方的筛选条件即可在列表中看到它。"
ENTITLED_SHEET = "应发名册（对照）"
PAID_SHEET = "资金实发明细（对照）"
OWN_ROW = "本条"
DIFF = "差异"
# (entitlements column, ledger column): the values both sides should agree on.
COMPARED = (
    ("month", "month"),
    ("case_id", "case_id"),
    ("item", "item"),
    ("id_number", "payee_id"),
    ("amount", "amount"),
    ("account_no", "account_no"),
)
# The ledger values that make a txn-level finding, marked on the finding's own row.
OWN_ROW_CELLS = {
    "paid_without_entitlement": ("txn_id",),
    "duplicate_payment": ("txn_id",),
    "paid_after_termination": ("month",),
    "paid_after_death": ("month",),
    "payee_not_registered": ("account_no",),
    "late_disbursement": ("pay_date",),
}


class Viewer(Protocol):
    """Who is looking. ``streets``: the street offices they may see; None: every one."""

    @property
    def streets(self) -> Collection[str] | None: ...


# --- the findings of the family ----------------------------------------------------------------


def funds_checks() -> pl.DataFrame:
    """check_id, title, severity of every funds check, in registry order."""
    from checks.registry import ordered

    rows = [(s.check_id, s.title, s.severity) for s in ordered() if s.family == FAMILY]
    return pl.DataFrame(
        rows,
        schema={"check_id": pl.String, "title": pl.String, "severity": pl.String},
        orient="row",
    )


def funds_findings(findings: pl.DataFrame, viewer: Viewer | None = None) -> pl.DataFrame:
    """The funds findings (as analytics.results.load_findings gives them) this viewer may see,
    most severe and costly first. Access rules belong here, never in the page."""
    return ordered_findings(findings.filter(pl.col("family") == FAMILY), viewer)


def ordered_findings(findings: pl.DataFrame, viewer: Viewer | None = None) -> pl.DataFrame:
    """The findings this viewer may see, street filled in, most severe and costly first."""
    rows = findings
    streets = None if viewer is None else viewer.streets
    if streets is not None:
        rows = rows.filter(pl.col("street").is_in(list(streets)))
    return most_severe_first(rows.with_columns(pl.col("street").fill_null(UNKNOWN_STREET)))


def most_severe_first(findings: pl.DataFrame) -> pl.DataFrame:
    """``findings`` by severity, then by the finding's own amount (largest first), then by id:
    the order every findings table and the verification sheet state."""
    return findings.sort(
        pl.col("severity").replace_strict(
            SEVERITY_RANK, default=len(SEVERITY_RANK), return_dtype=pl.Int32
        ),
        pl.col("amount_fen"),
        pl.col("finding_id"),
        descending=[False, True, False],
        nulls_last=True,
    )


def _street_rank(street: pl.Expr) -> pl.Expr:
    order = _street_order()
    return street.replace_strict(order, default=len(order), return_dtype=pl.Int32)


def filter_options(findings: pl.DataFrame) -> dict[str, list[str]]:
    """The choices for the filters: months (latest first), streets (contract order), check ids
    (registry order) that occur in ``findings``."""
    months = findings.get_column("month").drop_nulls().unique().sort(descending=True).to_list()
    streets = (
        findings.select(pl.col("street").unique())
        .drop_nulls()
        .sort(_street_rank(pl.col("street")), pl.col("street"))
        .get_column("street")
    )
    present = set(findings.get_column("check_id").to_list())
    checks = [c for c in funds_checks().get_column("check_id") if c in present]
    return {"months": months, "streets": streets.to_list(), "checks": checks}


def filter_findings(
    findings: pl.DataFrame,
    months: Sequence[str] | None = None,
    streets: Sequence[str] | None = None,
    checks: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Rows in the chosen months, streets and checks; an empty choice keeps everything."""
    for column, chosen in (("month", months), ("street", streets), ("check_id", checks)):
        if chosen:
            findings = findings.filter(pl.col(column).is_in(list(chosen)))
    return findings


def finding_by_id(findings: pl.DataFrame, finding_id: str) -> dict[str, Any] | None:
    rows = findings.filter(pl.col("finding_id") == finding_id)
    return rows.row(0, named=True) if rows.height else None


# --- totals --------------------------------------------------------------------------------


def shown_streets(viewer: Viewer | None = None, chosen: Sequence[str] | None = None) -> list[str]:
    """The streets the charts and totals list, each even with no finding: the streets chosen in
    the filter, else every street office this viewer may see, in contract order."""
    if chosen:
        order = _street_order()
        return sorted(dict.fromkeys(chosen), key=lambda s: (order.get(s, len(order)), s))
    streets = None if viewer is None else viewer.streets
    return [s for s in schema.STREETS if streets is None or s in streets]


def _street_order() -> dict[str, int]:
    return {s: i for i, s in enumerate((*schema.STREETS, schema.DISTRICT_OFFICE))}


def _totals(findings: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """``by``, findings, amount_fen: per group, its count and its 涉及金额 (analytics.amounts:
    each group's findings on their own, so a payment two checks flag counts under each)."""
    schema_: dict[str, PolarsDataType] = {
        **{c: findings.schema[c] for c in by},
        "findings": pl.Int64,
        "amount_fen": pl.Int64,
    }
    rows = [
        (*key, part.height, amounts.money_at_risk_fen(part))
        for key, part in findings.partition_by(by, as_dict=True, maintain_order=True).items()
    ]
    return pl.DataFrame(rows, schema=schema_, orient="row")


def by_check(findings: pl.DataFrame) -> pl.DataFrame:
    """Every funds check with its count and money at risk (fen), zero where it found nothing.
    汇总金额不符 counts no money (analytics.amounts.TOTALS_ONLY)."""
    counts = _totals(findings, ["check_id"])
    return (
        funds_checks()
        .join(counts, on="check_id", how="left", validate="1:1")
        .with_columns(pl.col("findings", "amount_fen").fill_null(0))
    )


def by_street(findings: pl.DataFrame, streets: Sequence[str] | None = None) -> pl.DataFrame:
    """street, findings, amount_fen: every street of ``streets`` (default: the ten, in contract
    order) with zeros where it has no finding, then any other street the findings name (the
    district office, an unknown street)."""
    listed = list(schema.STREETS if streets is None else streets)
    totals = _totals(findings, ["street"])
    others = (
        totals.filter(~pl.col("street").is_in(listed))
        .sort(_street_rank(pl.col("street")), pl.col("street"))
        .get_column("street")
        .to_list()
    )
    frame = pl.DataFrame({"street": [*listed, *others]}, schema={"street": pl.String})
    return frame.join(totals, on="street", how="left", validate="1:1").with_columns(
        pl.col("findings", "amount_fen").fill_null(0)
    )


def street_check(findings: pl.DataFrame, streets: Sequence[str] | None = None) -> pl.DataFrame:
    """street, check_id, title, findings, amount_fen: one row per pair that has findings, the
    streets as in :func:`by_street`, the checks in registry order."""
    checks = funds_checks().with_row_index("_check_rank")
    order = by_street(findings, streets).select("street").with_row_index("_street_rank")
    return (
        _totals(findings, ["street", "check_id"])
        .join(
            checks.select("check_id", "title", "_check_rank"),
            on="check_id",
            how="left",
            validate="m:1",
        )
        .join(order, on="street", how="left", validate="m:1")
        .sort("_street_rank", "_check_rank")
        .select("street", "check_id", "title", "findings", "amount_fen")
    )


def matrix(
    findings: pl.DataFrame, value: str = "findings", streets: Sequence[str] | None = None
) -> pl.DataFrame:
    """Street × check: ``street`` and one column per check title that has findings, holding
    ``value`` (``findings`` or ``amount_fen``), zero where a street has none; every street as in
    :func:`by_street`, checks in registry order."""
    if value not in ("findings", "amount_fen"):
        raise ValueError(f"unknown value {value!r}")
    long = street_check(findings, streets)
    titles = [t for t in funds_checks().get_column("title") if t in set(long["title"])]
    rows = by_street(findings, streets).select("street")
    if long.height == 0:
        return rows
    wide = long.pivot(on="title", index="street", values=value, aggregate_function=None)
    return rows.join(wide, on="street", how="left", validate="1:1").select(
        "street", *[pl.col(t).fill_null(0) for t in titles]
    )


@dataclass(frozen=True)
class Metrics:
    findings: int
    amount_fen: int  # 涉及金额 of the findings (analytics.amounts)
    checks_fired: int
    checks_run: int
    skipped: tuple[tuple[str, str], ...]  # (check title, Chinese reason)


def metrics(findings: pl.DataFrame, summary: pl.DataFrame) -> Metrics:
    """Headline numbers of the filtered findings, and the funds checks the run skipped or did not
    run (``summary`` as analytics.results.load_check_summary gives it)."""
    checks = funds_checks()
    if summary.height:
        ran = summary.filter(pl.col("family") == FAMILY)
        skipped = ran.filter(pl.col("skipped").is_not_null())
        not_run = checks.join(ran, on="check_id", how="anti")
        reasons = [(t, r) for t, r in skipped.select("title", "skipped").iter_rows()] + [
            (t, "本次检查未运行此项") for t in not_run.get_column("title")
        ]
        run_count = ran.height - skipped.height
    else:
        reasons, run_count = [], checks.height
    return Metrics(
        findings=findings.height,
        amount_fen=amounts.money_at_risk_fen(findings),
        checks_fired=findings.get_column("check_id").n_unique(),
        checks_run=run_count,
        skipped=tuple(reasons),
    )


# --- what the screen and the export show ---------------------------------------------------------


def yuan_expr(fen: pl.Expr) -> pl.Expr:
    return fen.cast(YUAN) / 100


def mask_payee(value: pl.Expr) -> pl.Expr:
    return pl.when(value.str.contains(PERSON_ID)).then(mask_id_expr(value)).otherwise(value)


def counted_text(findings: pl.DataFrame) -> pl.Series:
    """Per finding: whether its amount is counted in 涉及金额 (analytics.amounts), in words:
    是, 否（汇总数） for 汇总金额不符, 否（同一流水已计） for a ledger row another finding
    already counts; empty without an amount."""
    if findings.is_empty():
        return pl.Series("counted", [], dtype=pl.String)
    counted = amounts.counted(findings)
    return findings.select(
        pl.when(pl.col("amount_fen").is_null())
        .then(pl.lit(None, pl.String))
        .when(pl.lit(counted))
        .then(pl.lit(COUNTED_YES))
        .when(pl.col("check_id").is_in(list(amounts.TOTALS_ONLY)))
        .then(pl.lit(COUNTED_TOTAL))
        .otherwise(pl.lit(COUNTED_SAME_TXN))
        .alias("counted")
    ).to_series()


def findings_table(findings: pl.DataFrame) -> pl.DataFrame:
    """The findings as the screen and the export show them: Chinese headers, IDs and accounts
    masked, each amount in yuan (a number) with whether 涉及金额 counts it, evidence left out
    (it is shown masked for one finding at a time)."""
    return findings.select(
        *[
            pl.col(c)
            for c in (
                "finding_id",
                "title",
                "severity",
                "street",
                "month",
                "item",
                "case_id",
                "txn_id",
            )
        ],
        mask_payee(pl.col("id_number")).alias("id_number"),
        mask_account_expr("account_no").alias("account_no"),
        yuan_expr(pl.col("amount_fen")).alias("amount"),
        pl.lit(counted_text(findings)).alias("counted"),
        "summary",
    ).rename(FINDING_HEADERS)


def check_table(totals: pl.DataFrame) -> pl.DataFrame:
    """:func:`by_check` for the screen."""
    return totals.select(
        pl.col("title").alias("检查项"),
        pl.col("severity").alias("严重程度"),
        pl.col("findings").alias("发现数"),
        yuan_expr(pl.col("amount_fen")).alias("涉及金额（元）"),
    )


def street_table(totals: pl.DataFrame) -> pl.DataFrame:
    """:func:`by_street` for the screen."""
    return totals.select(
        pl.col("street").alias("街镇"),
        pl.col("findings").alias("发现数"),
        yuan_expr(pl.col("amount_fen")).alias("涉及金额（元）"),
    )


def matrix_table(findings: pl.DataFrame, streets: Sequence[str] | None = None) -> pl.DataFrame:
    """:func:`matrix` of counts for the screen, each check's column headed as a count."""
    counts = matrix(findings, streets=streets)
    return counts.rename(
        {"street": "街镇", **{c: f"{c}（条）" for c in counts.columns if c != "street"}}
    )


def excel_bytes(table: pl.DataFrame, sheet: str = SHEET) -> bytes:
    """An .xlsx workbook holding ``table`` on one sheet, neutralised (analytics.export)."""
    return export.excel_bytes({sheet: table}, float_precision=2)


def findings_excel(
    findings: pl.DataFrame, comparison: Comparison | None = None, finding_id: str | None = None
) -> bytes:
    """The export of the findings on screen: exactly the rows of :func:`findings_table`, and,
    when the page shows one finding's entitlement and ledger rows (``comparison``), those rows
    on two more sheets, headed by the finding's number (``finding_id``), as the page shows them.
    Amounts stay numbers (formatted #,##0.00 by their （元） header)."""
    sheets = {SHEET: findings_table(findings)}
    if comparison is not None:
        sheets.update(comparison_sheets(comparison, finding_id))
    return export.excel_bytes(sheets, float_precision=2)


def comparison_sheets(
    comparison: Comparison, finding_id: str | None = None
) -> dict[str, pl.DataFrame]:
    """The two sides of :func:`compare` as export sheets: 应发名册（对照）, 资金实发明细（对照）,
    each row led by the finding's number (编号) it was shown for."""

    def sheet(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.select(
            pl.lit(finding_id, pl.String).alias(FINDING_HEADERS["finding_id"]), pl.all()
        )

    return {ENTITLED_SHEET: sheet(comparison.entitled), PAID_SHEET: sheet(comparison.paid)}


# --- one finding: the entitlement rows against the ledger rows ------------------------------------


@dataclass(frozen=True)
class Comparison:
    """The rows behind one finding, both sides masked, with Chinese headers.

    ``*_cells`` are the (row, header) positions whose values differ from the other side or make
    the finding; the ``差异`` column names them for each row, for readers who cannot see colour.
    """

    entitled: pl.DataFrame
    paid: pl.DataFrame
    entitled_cells: tuple[tuple[int, str], ...]
    paid_cells: tuple[tuple[int, str], ...]
    scope: str  # which rows are shown, in Chinese


def _frame(tables: Mapping[str, pl.DataFrame | pl.LazyFrame], name: str) -> pl.LazyFrame:
    frame = tables.get(name)
    return schema.empty_frame(name).lazy() if frame is None else frame.lazy()


def _month_zh(month: str | None) -> str:
    if not month or len(month) < 7:
        return month or ""
    return f"{month[:4]}年{int(month[5:7])}月"


def _related(
    finding: Mapping[str, Any], tables: Mapping[str, pl.DataFrame | pl.LazyFrame]
) -> tuple[pl.DataFrame, pl.DataFrame, str]:
    """Entitlement rows, ledger rows and a sentence saying which, chosen by the check's keys."""
    from checks.registry import REGISTRY, load_all

    load_all()
    keys = REGISTRY[finding["check_id"]].keys
    ent, led = _frame(tables, "entitlements"), _frame(tables, "ledger")
    month, item, case_id = finding.get("month"), finding.get("item"), finding.get("case_id")

    if "txn_id" in keys:
        txn = finding["txn_id"]
        own = led.filter(pl.col("txn_id") == txn).collect()
        if own.height == 0:
            return (
                schema.empty_frame("entitlements"),
                schema.empty_frame("ledger"),
                f"数据文件夹的资金实发明细中没有流水号{txn}（数据可能已更新），无法对照。",
            )
        row = own.row(0, named=True)
        if row["case_id"] is None:
            return (
                schema.empty_frame("entitlements"),
                own,
                f"流水号{txn}没有救助编号，应发名册中无可对照的记录。",
            )
        key = pl.all_horizontal(pl.col(c) == row[c] for c in ("case_id", "month", "item"))
        scope = (
            f"流水号{txn}，以及案件{row['case_id']}在{_month_zh(row['month'])}的"
            f"{row['item']}全部应发与实发记录（含退票）。"
        )
        return ent.filter(key).collect(), led.filter(key).collect(), scope

    if keys == ("id_number", "month"):
        person = finding["id_number"]
        ent_rows = ent.filter(
            (pl.col("id_number") == person) & (pl.col("month") == month) & (pl.col("item") == item)
        )
        led_rows = led.filter(
            (pl.col("payee_id") == person) & (pl.col("month") == month) & (pl.col("item") == item)
        )
        scope = f"该收款人在{_month_zh(month)}的{item}全部应发与实发记录（含退票）。"
        return ent_rows.collect(), led_rows.collect(), scope

    if set(keys) == {"street", "month", "item"}:
        street = finding.get("street")
        same_street = (
            pl.col("street").is_null()
            if street in (None, UNKNOWN_STREET)
            else pl.col("street") == street
        )
        cases = _frame(tables, "cases").select("case_id", "street")
        ent_rows = (
            ent.filter((pl.col("month") == month) & (pl.col("item") == item))
            .join(cases, on="case_id", how="left", validate="m:1")
            .filter(same_street)
            .drop("street")
        )
        led_rows = led.filter(same_street & (pl.col("month") == month) & (pl.col("item") == item))
        scope = (
            f"{street}在{_month_zh(month)}的{item}全部应发记录（按案件所属街镇）与实发记录"
            "（按实发明细的街镇，含退票）。"
        )
        return ent_rows.collect(), led_rows.collect(), scope

    if set(keys) == {"case_id", "month", "item"}:
        key = (pl.col("case_id") == case_id) & (pl.col("month") == month) & (pl.col("item") == item)
        scope = f"案件{case_id}在{_month_zh(month)}的{item}全部应发与实发记录（含退票）。"
        return ent.filter(key).collect(), led.filter(key).collect(), scope

    return _related_by_keys(finding, keys, ent, led, _frame(tables, "cases"))


# A finding's key column as the ledger names it, where the name differs: the payee's ID number.
_LEDGER_KEY_COLUMNS = {"id_number": "payee_id"}


def _related_by_keys(
    finding: Mapping[str, Any],
    keys: Sequence[str],
    ent: pl.LazyFrame,
    led: pl.LazyFrame,
    cases: pl.LazyFrame,
) -> tuple[pl.DataFrame, pl.DataFrame, str]:
    """A funds finding of any other key shape: on each side, the rows equal to the finding in
    every key column that side holds (an entitlement's street is its case's). A key the finding
    leaves blank is not used; a side that holds none of the keys shows no rows."""
    from analytics.views.rules import KEY_NAMES

    def names(columns: Sequence[str]) -> str:
        return "、".join(KEY_NAMES.get(k, k) for k in columns)

    values = {
        k: str(v)
        for k in keys
        if (v := finding.get(k)) not in (None, "") and not (k == "street" and v == UNKNOWN_STREET)
    }
    if not values:
        return (
            schema.empty_frame("entitlements"),
            schema.empty_frame("ledger"),
            f"该线索的{names(keys)}均为空，无法对照。",
        )

    ent_columns = schema.TABLES["entitlements"].column_names
    ent_used = [k for k in values if k in ent_columns or k == "street"]
    ent_rows = schema.empty_frame("entitlements")
    if ent_used:
        own = [pl.col(k) == values[k] for k in ent_used if k != "street"]
        rows = ent.filter(pl.all_horizontal(own)) if own else ent
        if "street" in ent_used:
            of_street = cases.filter(pl.col("street") == values["street"]).select("case_id")
            rows = rows.join(of_street, on="case_id", how="semi")
        ent_rows = rows.collect()

    led_columns = schema.TABLES["ledger"].column_names
    led_used = [k for k in values if _LEDGER_KEY_COLUMNS.get(k, k) in led_columns]
    led_rows = schema.empty_frame("ledger")
    if led_used:
        own = [pl.col(_LEDGER_KEY_COLUMNS.get(k, k)) == values[k] for k in led_used]
        led_rows = led.filter(pl.all_horizontal(own)).collect()

    if not ent_used and not led_used:
        return ent_rows, led_rows, f"应发名册和资金实发明细都没有{names(list(values))}，无法对照。"
    by_case = "（应发记录按案件所属街镇）" if "street" in ent_used else ""
    if ent_used == led_used:
        return (
            ent_rows,
            led_rows,
            f"与该线索{names(ent_used)}相同的全部应发记录与实发记录（含退票）{by_case}。",
        )
    ent_part = (
        f"应发名册中{names(ent_used)}与该线索相同的全部记录{by_case}"
        if ent_used
        else f"应发名册没有{names(list(values))}，不列应发记录"
    )
    led_part = (
        f"资金实发明细中{names(led_used)}与该线索相同的全部记录（含退票）"
        if led_used
        else f"资金实发明细没有{names(list(values))}，不列实发记录"
    )
    return ent_rows, led_rows, f"{ent_part}；{led_part}。"


def _flag(column: str) -> str:
    return f"_diff_{column}"


def _own_row_cells(finding: Mapping[str, Any]) -> tuple[str, ...]:
    check_id = finding["check_id"]
    if check_id != "out_of_scope_spending":
        return OWN_ROW_CELLS.get(check_id, ())
    evidence = json.loads(finding.get("evidence") or "{}")
    catalogue_code = evidence.get("catalogue_fund_code")
    if catalogue_code is None:
        return ("item",)
    ledger = evidence.get("ledger") or [{}]
    if ledger[0].get("fund_code") != catalogue_code:
        return ("fund_code",)
    return ("payee_id",)


def _with_flags(
    finding: Mapping[str, Any], ent: pl.DataFrame, led: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Add a boolean ``_diff_<column>`` for each marked column of each side."""
    ent_flags: dict[str, pl.Expr] = {}
    led_flags: dict[str, pl.Expr] = {}

    def absent_from(other: pl.DataFrame, other_col: str, col: str) -> pl.Expr:
        values = other.get_column(other_col).drop_nulls().unique()
        if values.len() == 0:
            return pl.lit(False)
        return pl.col(col).is_not_null() & ~pl.col(col).is_in(values.implode())

    for ent_col, led_col in COMPARED:
        ent_flags[ent_col] = absent_from(led, led_col, ent_col)
        led_flags[led_col] = absent_from(ent, ent_col, led_col)

    def add(flags: dict[str, pl.Expr], col: str, expr: pl.Expr) -> None:
        flags[col] = flags[col] | expr if col in flags else expr

    add(led_flags, "status", pl.col("status") != "成功")
    check_id = finding["check_id"]
    if check_id == "entitled_not_paid":
        add(ent_flags, "amount", pl.lit(True))
    if check_id == "control_total_mismatch":
        # With one side missing, the other side's amounts are the whole difference.
        if led.filter(pl.col("status") == "成功").height == 0:
            add(ent_flags, "amount", pl.lit(True))
        if ent.height == 0:
            add(led_flags, "amount", pl.col("status") == "成功")
    if check_id == "small_rescue_over_cap":
        add(led_flags, "amount", pl.col("status") == "成功")
    txn = finding.get("txn_id")
    own = pl.lit(False) if txn is None else pl.col("txn_id") == txn
    for col in _own_row_cells(finding):
        add(led_flags, col, own)

    def apply(frame: pl.DataFrame, flags: dict[str, pl.Expr]) -> pl.DataFrame:
        return frame.with_columns([e.fill_null(False).alias(_flag(c)) for c, e in flags.items()])

    led = apply(led, led_flags)
    if txn is not None:
        led = led.with_columns(own.fill_null(False).alias(_flag(OWN_ROW)))
    return apply(ent, ent_flags), led


def _display(
    frame: pl.DataFrame, headers: dict[str, str], masks: dict[str, pl.Expr]
) -> tuple[pl.DataFrame, tuple[tuple[int, str], ...]]:
    flagged = [c for c in headers if _flag(c) in frame.columns]
    names = (
        pl.concat_list([pl.when(pl.col(_flag(c))).then(pl.lit(headers[c])) for c in flagged])
        .list.drop_nulls()
        .list.join("、")
    )
    columns: list[pl.Expr] = []
    if _flag(OWN_ROW) in frame.columns:
        columns.append(
            pl.when(pl.col(_flag(OWN_ROW))).then(pl.lit("●")).otherwise(pl.lit("")).alias(OWN_ROW)
        )
    columns.append((names if flagged else pl.lit("")).alias(DIFF))
    for c, header in headers.items():
        expr = masks.get(c, pl.col(c))
        if c == "amount":
            expr = yuan_expr(pl.col(c))
        elif frame.schema[c] == pl.Date:
            expr = pl.col(c).dt.strftime("%Y-%m-%d")
        columns.append(expr.alias(header))
    shown = frame.select(columns)
    indexed = frame.with_row_index("_row")
    cells = [
        (row, headers[c])
        for c in flagged
        for row in indexed.filter(pl.col(_flag(c))).get_column("_row").to_list()
    ]
    return shown, tuple(sorted(cells))


def compare(
    finding: Mapping[str, Any], tables: Mapping[str, pl.DataFrame | pl.LazyFrame]
) -> Comparison:
    """The entitlement rows and ledger rows behind a funds finding, with the differing values.

    ``finding`` is one row of :func:`funds_findings`; ``tables`` the drop's typed tables
    (entitlements, ledger, cases). Case-level findings take the rows of their case, month and
    item; ledger-level ones the rows of their transaction's case, month and item (their own row
    marked ``本条``); 小金额救助超限 the payee's rows of the month; 汇总金额不符 the street's;
    a check of any other key shape the rows equal to the finding in the key columns each side
    holds.
    A value is marked when the other side has values for that field and none equals it, when a
    ledger row was returned (退票), where it makes the finding (a late pay date, an unregistered
    account, a month after termination, a duplicate's transaction), and for amounts with nothing
    on the other side to match them (应发未发, 汇总金额不符 with one side missing)."""
    ent, led, scope = _related(finding, tables)
    ent = ent.sort("month", "case_id", "kind", "amount", nulls_last=True)
    led = led.sort("pay_date", "txn_id", nulls_last=True)
    ent, led = _with_flags(finding, ent, led)
    entitled, entitled_cells = _display(
        ent,
        ENTITLED_HEADERS,
        {"id_number": mask_id_expr("id_number"), "account_no": mask_account_expr("account_no")},
    )
    paid, paid_cells = _display(
        led,
        PAID_HEADERS,
        {"payee_id": mask_payee(pl.col("payee_id")), "account_no": mask_account_expr("account_no")},
    )
    return Comparison(entitled, paid, entitled_cells, paid_cells, scope)


def styled(frame: pl.DataFrame, cells: Collection[tuple[int, str]], colour: str = "#ffd6d6"):
    """A pandas Styler of ``frame``, neutralised as every grid is (its own CSV download is a
    spreadsheet too), with ``cells`` highlighted (st.dataframe renders it)."""
    import pandas as pd

    data = export.neutralise(frame).to_pandas()
    css = pd.DataFrame("", index=data.index, columns=data.columns)
    for row, column in cells:
        css.loc[row, column] = f"background-color: {colour}; color: #8a1c1c; font-weight: 600"
    # The Styler's display text replaces the value on screen; a Decimal left as is shows blank.
    money = {c: (lambda x: "—" if x is None else f"{x:,.2f}") for c in money_columns(frame)}
    rest = [c for c in frame.columns if c not in money]
    return data.style.apply(lambda _: css, axis=None).format(money).format(na_rep="—", subset=rest)


def money_columns(frame: pl.DataFrame) -> list[str]:
    """The yuan columns of a screen frame (exact decimals), for the page's number format."""
    return [c for c, t in frame.schema.items() if isinstance(t, pl.Decimal)]
