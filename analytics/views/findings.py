"""线索清单: every finding of a run, of every family, as the page shows it: filtered, masked, one
opened with its rule and its evidence, exported.

The page only renders what these functions return; who may see which street is decided here
(``viewer``), never in the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from analytics.masking import mask_account_expr
from analytics.views import funds as funds_view

UNKNOWN_STREET = funds_view.UNKNOWN_STREET
SHEET = "线索清单"
# Rows the page draws at most (the export holds them all): a city's run has hundreds of
# thousands of findings, and a browser grid of that size takes seconds on every rerun.
MAX_ROWS = 2_000
HEADERS = {
    "finding_id": "编号",
    "family_title": "类别",
    "title": "检查项",
    "severity": "严重程度",
    "street": "街镇",
    "month": "月份",
    "case_id": "救助编号",
    "txn_id": "流水号",
    "id_number": "身份证号",
    "account_no": "银行账号",
    "staff_id": "工号",
    "item": "救助项目",
    "amount": "涉及金额（元）",
    "summary": "摘要",
}
# The workflow's columns, when the findings carry them (analytics.views.triage.with_states).
STATE_HEADERS = {
    "state_label": "状态",
    "assignee_text": "承办",
    "due_date": "期限",
    "overdue": "逾期",
    "presence": "发现情况",
}
# Keys of the evidence of the integrity, dynamic and process checks, in Chinese (the funds
# checks' keys are labelled by the funds view).
# --- the findings -------------------------------------------------------------------------------


def visible_findings(
    findings: pl.DataFrame, viewer: funds_view.Viewer | None = None
) -> pl.DataFrame:
    """The findings (as analytics.results.load_findings gives them) this viewer may see, with
    the family's Chinese name, most severe and costly first."""
    from checks.registry import FINDING_FAMILIES

    return funds_view.ordered_findings(findings, viewer).with_columns(
        pl.col("family")
        .replace_strict(FINDING_FAMILIES, default=pl.col("family"), return_dtype=pl.String)
        .alias("family_title")
    )


@dataclass(frozen=True)
class Options:
    families: list[str]  # family ids, registry order
    checks: dict[str, str]  # check id -> title, registry order
    check_family: dict[str, str]  # check id -> family id
    streets: list[str]
    months: list[str]  # latest first
    severities: list[str]


def options(findings: pl.DataFrame) -> Options:
    """The choices of the filters: only values that occur in ``findings``."""
    from checks.registry import kinds

    present = set(findings.get_column("check_id").to_list())
    specs = [k for k in kinds() if k[0] in present]
    families = list(dict.fromkeys(family for _, _, family in specs))
    base = funds_view.filter_options(findings)
    severities = [
        s for s in funds_view.SEVERITY_RANK if s in set(findings.get_column("severity").to_list())
    ]
    return Options(
        families=families,
        checks={c: title for c, title, _ in specs},
        check_family={c: family for c, _, family in specs},
        streets=base["streets"],
        months=base["months"],
        severities=severities,
    )


def filter_findings(
    findings: pl.DataFrame,
    *,
    families: Sequence[str] | None = None,
    checks: Sequence[str] | None = None,
    streets: Sequence[str] | None = None,
    months: Sequence[str] | None = None,
    severities: Sequence[str] | None = None,
    case: str | None = None,
) -> pl.DataFrame:
    """Rows in the chosen families, checks, streets, months and severities (an empty choice
    keeps everything) whose case number contains ``case``."""
    for column, chosen in (
        ("family", families),
        ("check_id", checks),
        ("street", streets),
        ("month", months),
        ("severity", severities),
    ):
        if chosen:
            findings = findings.filter(pl.col(column).is_in(list(chosen)))
    case = (case or "").strip()
    if case:
        findings = findings.filter(pl.col("case_id").str.contains(case, literal=True))
    return findings


def scope_text(
    *,
    families: Sequence[str] = (),
    checks: Sequence[str] = (),
    streets: Sequence[str] = (),
    months: Sequence[str] = (),
    severities: Sequence[str] = (),
    case: str | None = None,
    states: Sequence[str] = (),
    assignees: Sequence[str] = (),
    due: str | None = None,
) -> str:
    """The filters in force as one Chinese phrase (titles and labels, not ids), for an export
    to say which findings it holds. ``due``: the due-date choice's label, None for all."""
    parts = [
        f"{label}：{'、'.join(values)}"
        for label, values in (
            ("类别", families),
            ("检查项", checks),
            ("街镇", streets),
            ("月份", months),
            ("严重程度", severities),
            ("状态", states),
            ("承办", assignees),
        )
        if values
    ]
    case_text = (case or "").strip()
    if case_text:
        parts.append(f"救助编号含“{case_text}”")
    if due:
        parts.append(f"期限：{due}")
    return "；".join(parts) if parts else "全部线索"


def by_family(findings: pl.DataFrame) -> dict[str, int]:
    """Family title -> number of findings, registry order."""
    from checks.registry import FINDING_FAMILIES

    counts = dict(findings.group_by("family").len().iter_rows())
    return {title: int(counts[f]) for f, title in FINDING_FAMILIES.items() if f in counts}


# --- what the screen and the export show ---------------------------------------------------------


def findings_table(findings: pl.DataFrame) -> pl.DataFrame:
    """The findings as the screen and the export show them: Chinese headers, ID numbers and
    accounts masked, evidence left out (it is shown masked for one finding at a time). Findings
    that carry their workflow state (analytics.views.triage.with_states) show it after the
    number: 状态, 承办, 期限, 逾期 (是 when an open finding is past its due date), 发现情况."""
    workflow: list[str | pl.Expr] = []
    if "state_label" in findings.columns:
        workflow = [
            "state_label",
            "assignee_text",
            "due_date",
            pl.when(pl.col("overdue"))
            .then(pl.lit("是"))
            .otherwise(pl.lit(None, pl.String))
            .alias("overdue"),
            "presence",
        ]
    return findings.select(
        "finding_id",
        *workflow,
        "family_title",
        "title",
        "severity",
        "street",
        "month",
        "case_id",
        "txn_id",
        funds_view.mask_payee(pl.col("id_number")).alias("id_number"),
        mask_account_expr("account_no").alias("account_no"),
        "staff_id",
        "item",
        funds_view.yuan_expr(pl.col("amount_fen")).alias("amount"),
        "summary",
    ).rename({**HEADERS, **STATE_HEADERS}, strict=False)


def findings_excel(findings: pl.DataFrame) -> bytes:
    """The export of the findings on screen: exactly the rows of :func:`findings_table`."""
    return funds_view.excel_bytes(findings_table(findings), sheet=SHEET)


# A link naming a finding that does not exist or that the viewer may not see: one message for
# both, so that a link cannot tell whether a finding of another street exists.
LINK_NOT_FOUND = (
    "链接所指的线索不在当前检查结果中，或不在您可以查看的范围内，无法打开；"
    "下方显示的是列表中的线索。"
)
# A link naming a finding the viewer may see but the filters in force hide.
LINK_FILTERED = "这条线索由链接打开，不在当前筛选结果中；清除上方的筛选条件即可在列表中看到它。"


def link_status(visible: pl.DataFrame, shown: pl.DataFrame, finding_id: str | None) -> str | None:
    """What a link's finding is to this viewer: None (no link), ``"listed"`` (in the filtered
    findings), ``"filtered"`` (visible, hidden by the filters) or ``"unknown"`` (no such
    finding, or one the viewer may not see: the two are not told apart)."""
    if not finding_id:
        return None
    if shown.filter(pl.col("finding_id") == finding_id).height:
        return "listed"
    if visible.filter(pl.col("finding_id") == finding_id).height:
        return "filtered"
    return "unknown"


def finding_by_id(findings: pl.DataFrame, finding_id: str | None) -> dict[str, Any] | None:
    if not finding_id:
        return None
    return funds_view.finding_by_id(findings, finding_id)


@dataclass(frozen=True)
class Rule:
    title: str
    family_title: str
    severity: str
    description: str  # the published rule, as the check's docstring states it


def rule(check_id: str) -> Rule | None:
    """The published rule behind a finding."""
    from checks.registry import FINDING_FAMILIES, RECORDED, REGISTRY, load_all

    load_all()
    spec = REGISTRY.get(check_id) or RECORDED.get(check_id)
    if spec is None:
        return None
    return Rule(spec.title, FINDING_FAMILIES[spec.family], spec.severity, spec.description)


UNMASKABLE = {"id_number": "身份证号", "account_no": "银行账号"}


def unmaskable(finding: dict[str, Any], viewer) -> bool:
    """Whether this viewer may ask to see this finding's full identifiers (and it has any)."""
    from analytics import access

    return (
        access.may(viewer, "unmask")
        and access.may_see_street(viewer, finding.get("street"))
        and any(finding.get(c) for c in UNMASKABLE)
    )


def unmask(store, viewer, finding: dict[str, Any], reason: str) -> dict[str, str]:
    """The full ID number and account of one finding, for a role that may see them, with a
    reason; the request (who, which finding, why, which fields; never the values) goes to the
    audit log first. Raises AccessError or ValueError (Chinese)."""
    from analytics import access
    from analytics.store import audit

    access.require_row(viewer, "unmask", finding.get("street"))
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise ValueError("请写明查看完整信息的理由（至少4个字）")
    values = {label: str(finding[c]) for c, label in UNMASKABLE.items() if finding.get(c)}
    if not values:
        raise ValueError("这条线索没有身份证号或银行账号")
    audit.record(
        store,
        actor=viewer.name,
        role=viewer.role,
        action="unmask",
        target=finding["finding_id"],
        detail={"reason": reason, "fields": sorted(values)},
    )
    return values


def opens_in_graph(finding: dict[str, Any]) -> bool:
    """Whether 关系图谱 can draw this finding's evidence path."""
    return finding.get("family") == "integrity"
