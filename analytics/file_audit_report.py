"""档案核查 session report: the PDF a district office files and signs, and the same figures as a
workbook.

Both are made from a :class:`analytics.views.file_audit.SessionView` and show exactly the
page's tables (analytics.views.file_audit), with a 全区 row computed from the same answers. A
session still open gives a draft, marked as such on every page. Case numbers and notes are text
that people and the audited systems typed: the PDF prints them as plain text (fpdf2's markdown
stays off), and the workbook goes through analytics.export.excel_bytes, which neutralises
formula-like text.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
from fpdf.enums import WrapMode

from analytics import export, formats
from analytics.report import DISTRICT_NAME, FONT_FAMILY, NUMERALS, _document
from analytics.store.file_audit import SESSION_STATES
from analytics.views import file_audit as v
from analytics.workflow import file_audit as fa

TITLE = f"{DISTRICT_NAME}社会救助档案材料集中核查报告"
DRAFT = "草稿（核查尚未结束）"
DISTRICT_ROW = "全区"
ITEM_TOTAL_ROW = "合计"
RATE_NOTE = (
    "案件合格率 = 已核查案件中无不符合项的占比（合格案件 / 已核查）；"
    "核查项符合率 = 符合 / (符合 + 不符合)，不适用不计。"
)
ITEM_RATE_NOTE = "符合率 = 符合 / (符合 + 不符合)，不适用不计。"
SIGN_LINE = "______________"
DRAFT_COLOUR = (190, 30, 30)
KEEP_WITH_HEADING = 30  # mm that must fit below a section heading, else it starts a new page

SAMPLE_COLUMNS = ["序号", "街镇", "救助编号", "救助类别", "抽取原因", "结论"]
ANSWER_COLUMNS = ["序号", "街镇", "救助编号", "核查项", "结论", "说明", "核查人", "时间"]


# --- the figures both files show -----------------------------------------------------------------


def _percent(num: int, den: int) -> str:
    """A rate as the page's tables write it (one decimal, "—" without a denominator)."""
    if not den:
        return "—"
    return f"{round(num / den * 100, 1)}%"


def street_frame(view: v.SessionView) -> pl.DataFrame:
    """各街镇核查结果 as the page shows it (v.street_table), with a 全区 row computed from the
    same answers: counts summed as numbers, the rates computed again from those sums."""
    shown = v.street_table(view)
    figures = fa.by_street(view.sample, view.answers, view.info.checklist)
    total = {
        c: int(figures[c].sum())
        for c in ("cases", "done", "passed", "failed_cases", "items_pass", "items_fail", "items_na")
    }
    row = pl.DataFrame(
        [
            {
                "街镇": DISTRICT_ROW,
                "抽查案件": total["cases"],
                "已核查": total["done"],
                "合格案件": total["passed"],
                "不合格案件": total["failed_cases"],
                "案件合格率": _percent(total["passed"], total["done"]),
                "符合项": total["items_pass"],
                "不符合项": total["items_fail"],
                "不适用项": total["items_na"],
                "核查项符合率": _percent(
                    total["items_pass"], total["items_pass"] + total["items_fail"]
                ),
            }
        ],
        schema=shown.schema,
    )
    return pl.concat([shown, row])


def item_frame(view: v.SessionView) -> pl.DataFrame:
    """各核查项结果 (v.item_table) with a 合计 row computed from the counts."""
    shown = v.item_table(view)
    passed, failed, na = (int(shown[c].sum()) for c in ("符合", "不符合", "不适用"))
    row = pl.DataFrame(
        [
            {
                "核查项": ITEM_TOTAL_ROW,
                "符合": passed,
                "不符合": failed,
                "不适用": na,
                "符合率": _percent(passed, passed + failed),
            }
        ],
        schema=shown.schema,
    )
    return pl.concat([shown, row])


def answers_frame(view: v.SessionView) -> pl.DataFrame:
    """Every answer recorded: 序号, 街镇, 救助编号, 核查项, 结论 (in Chinese), 说明, 核查人,
    时间 (local, to the minute), in sample and checklist order."""
    checklist = view.info.checklist
    labels = {i.code: i.label for i in checklist}
    order = {i.code: n for n, i in enumerate(checklist)}
    rows = (
        view.answers.join(
            view.sample.select("position", "case_id", "street"), on="case_id", how="left"
        )
        .with_columns(
            pl.col("item")
            .replace_strict(order, default=len(order), return_dtype=pl.Int64)
            .alias("_order")
        )
        .sort("position", "case_id", "_order", nulls_last=True)
    )
    return pl.DataFrame(
        {
            "序号": rows["position"],
            "街镇": rows["street"],
            "救助编号": rows["case_id"],
            "核查项": [labels.get(i, i) for i in rows["item"].to_list()],
            "结论": [fa.RESULTS.get(r, r) for r in rows["result"].to_list()],
            "说明": rows["note"],
            "核查人": rows["by"],
            "时间": [_local(at) for at in rows["at"].to_list()],
        },
        schema={
            "序号": pl.Int64,
            "街镇": pl.String,
            "救助编号": pl.String,
            "核查项": pl.String,
            "结论": pl.String,
            "说明": pl.String,
            "核查人": pl.String,
            "时间": pl.String,
        },
    )


def _local(at: datetime | None) -> str | None:
    """A stored time (naive UTC) in the server's time zone, to the minute."""
    if at is None:
        return None
    return at.replace(tzinfo=UTC).astimezone().strftime("%Y-%m-%d %H:%M")


def _state_text(info) -> str:
    return SESSION_STATES.get(info.state, info.state)


def _progress_sentence(view: v.SessionView) -> str:
    p = v.progress(view)
    return (
        f"抽查案件 {p['cases']:,} 件，已核查 {p['done']:,} 件，其中合格 {p['passed']:,} 件、"
        f"有不符合项的 {p['failed_cases']:,} 件，不符合事项共 {p['failed_items']:,} 项。"
    )


# --- the PDF -----------------------------------------------------------------------------------


def _text(value) -> str:
    """A cell as the PDF prints it: a count with thousands separators (1,376), empty as —."""
    if value is None:
        return formats.DASH
    if isinstance(value, int) and not isinstance(value, bool):
        return formats.count(value)
    return str(value)


def _rows(frame: pl.DataFrame, columns: list[str] | None = None) -> list[list[str]]:
    """The rows as text; a 序号 stays a plain number. Case numbers and notes are cut into lines
    by analytics.report's table, never inside a case number."""
    frame = frame if columns is None else frame.select(columns)
    plain = [c == "序号" for c in frame.columns]
    return [
        [str(x) if keep and x is not None else _text(x) for x, keep in zip(r, plain, strict=True)]
        for r in frame.iter_rows()
    ]


def session_pdf(view: v.SessionView, *, generated: date) -> bytes:
    """The session's report as a landscape A4 PDF with the CJK font embedded; a session still
    open gives a draft, marked on the first page and in every page's footer. Raises
    analytics.report.ReportError without a CJK font."""
    info = view.info
    draft = not info.closed
    subject = f"档案核查报告 第{info.id}期" + ("（草稿）" if draft else "")
    pdf = _document(TITLE, subject, generated, size=16, height=10)
    pdf.set_font(FONT_FAMILY, size=12)
    pdf.multi_cell(
        0,
        7,
        f"{info.title}（第 {info.id} 期）",
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
        wrapmode=WrapMode.CHAR,
    )
    if draft:
        pdf.set_text_color(*DRAFT_COLOUR)
        pdf.set_font(FONT_FAMILY, size=14)
        pdf.cell(0, 8, DRAFT, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
    pdf.ln(2)

    lines = [
        f"核查月份：{info.month}　　核查日期：{info.held_on.isoformat()}",
        f"核查组成员：{'、'.join(info.team)}",
    ]
    if draft:
        lines.append(
            f"状态：{_state_text(info)}（核查尚未结束，本报告为草稿，结论和数字以结束核查后的"
            "报告为准）"
        )
    else:
        lines.append(
            f"状态：{_state_text(info)}　　结束日期："
            f"{info.closed_on.isoformat() if info.closed_on else '—'}　　整改期限："
            f"{info.rectify_due.isoformat() if info.rectify_due else '—'}"
        )
    lines.append(f"数据快照：{info.snapshot_id[:12]}　　生成日期：{generated.isoformat()}")
    lines.append(_progress_sentence(view))
    for line in lines:
        pdf.paragraph(line, size=10)

    sections = iter(NUMERALS)

    def heading(text: str, keep: float = KEEP_WITH_HEADING) -> None:
        """A numbered section heading, on a new page unless ``keep`` mm fit below it."""
        if pdf.will_page_break(keep):
            pdf.add_page()
        pdf.heading(f"{next(sections)}、{text}")

    heading("抽样方法")
    for line in fa.params_text(info.params):
        pdf.paragraph(line)

    heading("抽查案件")
    pdf.grid(
        SAMPLE_COLUMNS,
        _rows(v.sample_table(view), SAMPLE_COLUMNS),
        [14, 30, 40, 36, 105, 48],
        align="LEFT",
    )

    heading("各街镇核查结果")
    streets = street_frame(view)
    pdf.grid(list(streets.columns), _rows(streets), [33, *[26] * 9])
    pdf.ln(1)
    pdf.paragraph(RATE_NOTE)

    heading("各核查项结果")
    items = item_frame(view)
    pdf.grid(list(items.columns), _rows(items), [90, 40, 40, 40, 40])
    pdf.ln(1)
    pdf.paragraph(ITEM_RATE_NOTE)

    heading("不符合事项")
    failures = v.failures_table(view)
    if failures.height == 0:
        pdf.paragraph("无", size=10)
    else:
        pdf.grid(list(failures.columns), _rows(failures), [14, 30, 40, 45, 114, 30], align="LEFT")
        if not draft:
            pdf.ln(1)
            pdf.paragraph(
                "以上不符合事项已转入问题线索整改流程，由所在街镇在整改期限"
                f"（{info.rectify_due.isoformat() if info.rectify_due else '—'}）前整改。"
            )

    signatures = [f"核查人：{name}　　签字：{SIGN_LINE}　　日期：{SIGN_LINE}" for name in info.team]
    signatures += [
        f"审核：{SIGN_LINE}　　日期：{SIGN_LINE}",
        f"审批（盖章）：{SIGN_LINE}　　日期：{SIGN_LINE}",
    ]
    # the block and the closing line together, unless the team is too large for one page
    heading("签字", keep=min(20 + 10 * len(signatures), 120))
    pdf.ln(2)
    pdf.set_font(FONT_FAMILY, size=10.5)
    for line in signatures:
        pdf.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.paragraph(
        f"本报告由救助资金监督审计台根据档案核查记录生成，生成日期 {generated.isoformat()}。"
    )
    return bytes(pdf.output())


# --- the workbook ------------------------------------------------------------------------------


def overview_frame(view: v.SessionView) -> pl.DataFrame:
    """核查概况: one key/value row each."""
    info = view.info
    p = v.progress(view)
    rows = [
        ("名称", info.title),
        ("期次", f"第 {info.id} 期"),
        ("核查月份", info.month),
        ("核查日期", info.held_on.isoformat()),
        ("核查组", "、".join(info.team)),
        ("状态", _state_text(info) + ("（草稿，核查尚未结束）" if not info.closed else "")),
    ]
    if info.closed:
        rows += [
            ("结束日期", info.closed_on.isoformat() if info.closed_on else "—"),
            ("整改期限", info.rectify_due.isoformat() if info.rectify_due else "—"),
        ]
    rows += [
        ("数据快照", info.snapshot_id),
        ("随机种子", str(info.params.seed)),
        ("抽查案件", str(p["cases"])),
        ("已核查", str(p["done"])),
        ("合格案件", str(p["passed"])),
        ("不合格案件", str(p["failed_cases"])),
        ("不符合事项", str(p["failed_items"])),
    ]
    rows += [("抽样方法", line) for line in fa.params_text(info.params)]
    rows += [("指标说明", RATE_NOTE)]
    return pl.DataFrame(rows, schema={"项目": pl.String, "内容": pl.String}, orient="row")


def session_excel(view: v.SessionView) -> bytes:
    """The session as a workbook: 核查概况, 抽查案件, 各街镇结果, 各核查项结果, 不符合事项,
    全部结论 (every answer)."""
    return export.excel_bytes(
        {
            "核查概况": overview_frame(view),
            "抽查案件": v.sample_table(view),
            "各街镇结果": street_frame(view),
            "各核查项结果": item_frame(view),
            "不符合事项": v.failures_table(view),
            "全部结论": answers_frame(view),
        }
    )


def file_name(view: v.SessionView, suffix: str) -> str:
    """档案核查_第1期_2026-01.pdf (``suffix`` with or without its dot)."""
    return f"档案核查_第{view.info.id}期_{view.info.month}.{suffix.lstrip('.')}"
