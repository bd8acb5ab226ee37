"""The yearly performance evaluation of the street offices, as a PDF a district office files.

Built with fpdf2 from a run's indicators.csv and findings.csv, and the year's funnel of the
follow-up loop when the caller read it from the workspace. The CJK font is embedded (subset),
so the Chinese shows in any viewer; without a CJK font on the machine the report is refused
rather than printed as boxes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, date
from pathlib import Path

import polars as pl
from fpdf import FPDF
from fpdf.enums import WrapMode
from fpdf.fonts import FontFace

from analytics import amounts, formats, schema
from analytics.indicators import BY_NAME, DISTRICT, INDICATORS, load_circles
from analytics.reference import load_settings
from analytics.views.overview import (
    FUNNEL_NOTE,
    NOT_COMPUTED,
    NOT_COMPUTED_NOTE,
    RANKED,
    format_value,
    last_month,
    leads_by_street,
    ranking,
    training_marks,
    uncomputed,
    values_at,
)

# The district and the body that issues the reports: data/district.toml.
DISTRICT_NAME = schema.DISTRICT_INFO.name
ISSUER = schema.DISTRICT_INFO.issuer
FONT_FAMILY = "cjk"
# (path, index in a collection): WenQuanYi Micro Hei first, Noto Sans CJK SC as a fallback.
FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf", 0),
)
HEAD_FILL = (230, 236, 245)
CELL_PADDING = 1  # mm, each side of a table cell's text
WRAP_SLACK = 0.4  # mm kept free in a cut line, for rounding in the PDF library's own measure
NUMERALS = "一二三四五六七八九十"


# How a table cell's text may be broken into lines: a run of letters and digits (a case number,
# a transaction number, an amount such as 804,530.00, a date) is never broken; any other
# character may end a line, except that closing punctuation stays with what it closes and
# opening punctuation with what it opens.
_TOKEN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_\-./:,%*]*[A-Za-z0-9%*])?|[ \t]+|.", re.S)
_NO_BREAK_BEFORE = frozenset("，。、；：！？）》」』”’%,.;:!?)]")
_NO_BREAK_AFTER = frozenset("（《「『“‘([")


def _tokens(text: str) -> list[str]:
    """``text`` (one line) cut where a line may break (see _TOKEN)."""
    out: list[str] = []
    glue_next = False
    for token in _TOKEN.findall(text):
        if out and (glue_next or (token[0] in _NO_BREAK_BEFORE and not out[-1].isspace())):
            out[-1] += token
        else:
            out.append(token)
        glue_next = token in _NO_BREAK_AFTER
    return out


def unbroken_lines(text: str, width: float, measure: Callable[[str], float]) -> str:
    """``text`` with line breaks put where it must wrap to fit ``width`` (as ``measure`` says,
    in the same unit), never inside a case number or any other run of letters and digits: fpdf2
    breaks a CJK line at any character, so a table cell gets its lines already cut. A run wider
    than the whole width is left to the PDF library."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0.0
        for token in _tokens(paragraph):
            size = measure(token)
            if line and not token.isspace() and used + size > width:
                lines.append(line.rstrip())
                line, used = "", 0.0
            if not line and token.isspace():
                continue
            line, used = line + token, used + size
        lines.append(line.rstrip())
    return "\n".join(lines)


class ReportError(Exception):
    """The report cannot be produced; the message says why, in Chinese."""


def cjk_font() -> tuple[Path, int]:
    for path, index in FONT_CANDIDATES:
        if Path(path).exists():
            return Path(path), index
    raise ReportError(
        "未找到中文字体，无法生成PDF报告。请安装 fonts-wqy-microhei 或 fonts-noto-cjk"
        "（如 apt-get install fonts-wqy-microhei）。"
    )


def report_years(indicators: pl.DataFrame) -> list[str]:
    """The years present in indicators.csv, latest first."""
    periods = indicators.get_column("period").unique().to_list()
    return sorted((p for p in periods if p.isdigit()), reverse=True)


class _Pdf(FPDF):
    def __init__(self, footer_text: str):
        super().__init__(orientation="L", unit="mm", format="A4")
        self.footer_text = footer_text
        path, index = cjk_font()
        self.add_font(FONT_FAMILY, fname=str(path), collection_font_number=index)
        self.set_font(FONT_FAMILY, size=10)
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(12, 12, 12)

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FONT_FAMILY, size=8)
        self.cell(0, 5, f"{self.footer_text}    第 {self.page_no()} 页", align="C")

    def heading(self, text: str) -> None:
        self.ln(3)
        self.set_font(FONT_FAMILY, size=13)
        self.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT_FAMILY, size=9)

    def paragraph(self, text: str, size: float = 9) -> None:
        self.set_font(FONT_FAMILY, size=size)
        self.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT", wrapmode=WrapMode.CHAR)

    def grid(
        self,
        header: list[str],
        rows: list[list[str]],
        widths: Sequence[float],
        size: float = 8,
        align: str = "CENTER",
    ) -> None:
        """A table; each cell's text is cut into lines here, so that a case number or an
        amount is never broken across two lines (see unbroken_lines)."""
        self.set_font(FONT_FAMILY, size=size)
        style = FontFace(emphasis=None, fill_color=HEAD_FILL)
        room = [w - 2 * CELL_PADDING - WRAP_SLACK for w in widths]
        measured: dict[str, float] = {}  # the font is the same for the whole table

        def width_of(text: str) -> float:
            if text not in measured:
                measured[text] = self.get_string_width(text)
            return measured[text]

        with self.table(
            col_widths=widths,
            width=sum(widths),
            line_height=size * 0.55,
            text_align=align,
            headings_style=style,
            wrapmode=WrapMode.CHAR,
            align="LEFT",
            padding=CELL_PADDING,
        ) as table:
            for values in [header, *rows]:
                row = table.row()
                for value, fits in zip(values, room, strict=True):
                    row.cell(unbroken_lines(value, fits, width_of))


def _document(title: str, subject: str, generated: date, size: float, height: float) -> _Pdf:
    """A landscape A4 document with its footer, metadata and centred title on page one."""
    pdf = _Pdf(f"{ISSUER} · {subject} · 生成于 {generated.isoformat()}")
    pdf.set_title(title)
    pdf.set_creation_date(_midnight(generated))
    pdf.add_page()
    pdf.set_font(FONT_FAMILY, size=size)
    pdf.cell(0, height, title, align="C", new_x="LMARGIN", new_y="NEXT")
    return pdf


def _fmt(indicator: str, value: float | None) -> str:
    return format_value(indicator, value)


def _funnel_rows(funnel: pl.DataFrame) -> list[list[str]]:
    """One row per street (全区 last): count and money of each stage."""
    if "street" not in funnel.columns:
        funnel = funnel.with_columns(pl.lit(DISTRICT).alias("street"))
    out = []
    streets = funnel.get_column("street").unique(maintain_order=True).to_list()
    for street in [s for s in streets if s != DISTRICT] + [s for s in streets if s == DISTRICT]:
        stages = {
            r["stage"]: r for r in funnel.filter(pl.col("street") == street).iter_rows(named=True)
        }
        row = [street]
        for stage in ("leads", "verified", "rectified", "recovered"):
            hit = stages.get(stage) or {"count": 0, "amount_fen": 0}
            row += [formats.count(hit["count"]), formats.money_fen(hit["amount_fen"])]
        out.append(row)
    return out


def funnel_sentence(funnel: pl.DataFrame, year: str) -> str:
    """The district's funnel of ``year`` in one sentence."""
    district = funnel.filter(pl.col("street") == DISTRICT) if "street" in funnel.columns else funnel
    stage = {r["stage"]: r for r in district.iter_rows(named=True)}

    def get(name: str) -> tuple[int, int]:
        hit = stage.get(name) or {"count": 0, "amount_fen": 0}
        return hit["count"], hit["amount_fen"]

    (leads, at_risk), (verified, _), (rectified, _), (paid_for, recovered) = (
        get("leads"),
        get("verified"),
        get("rectified"),
        get("recovered"),
    )
    return (
        f"{year}年全区发现线索 {leads:,} 条（涉及金额 {formats.money_fen(at_risk)} 元），"
        f"核实属实 {verified:,} 条，整改完成 {rectified:,} 条，"
        f"追回资金 {formats.money_fen(recovered)} 元（{paid_for:,} 条线索）。"
    )


def year_findings(findings: pl.DataFrame, year: str, as_of_month: str | None) -> pl.DataFrame:
    """The findings the report counts for ``year`` (section 问题线索分类统计), as
    analytics.views.overview.leads_by_street counts them: the streets' findings of the months up
    to the year's end, a finding without a month at the check's as-of month."""
    end = last_month(year)
    month = pl.col("month").fill_null(as_of_month or end)
    return findings.filter((month <= end) & pl.col("street").is_in(list(schema.STREETS)))


def at_risk_by_street(findings: pl.DataFrame) -> dict[str, int]:
    """Street -> 涉及金额 (fen) of its findings (analytics.amounts)."""
    return {
        street: amounts.money_at_risk_fen(part)
        for (street,), part in findings.partition_by("street", as_dict=True).items()
    }


DISHONESTY_INDICATORS = ("dishonesty_proposed", "dishonesty_published", "dishonesty_repaired")


def yearly_report(
    indicators: pl.DataFrame,
    findings: pl.DataFrame,
    year: str,
    generated: date | None = None,
    funnel: pl.DataFrame | None = None,
) -> bytes:
    """The evaluation of ``year`` as PDF bytes: title, period, per-street indicators and score,
    rank, trainings mark, findings by family, the year's funnel of the follow-up loop, the four
    circles, definitions, generated date.

    ``funnel``: the year's funnel (analytics.views.overview.funnel_by_street: street, stage,
    label, count, amount_fen; or funnel_of without a street, the district's), read from the
    workspace by the caller; None: the report says that no follow-up records were read."""
    if year not in report_years(indicators):
        raise ReportError(f"检查结果中没有 {year} 年的指标，无法生成该年度报告。")
    generated = generated or date.today()
    months = sorted(p for p in indicators["period"].unique().to_list() if p.startswith(f"{year}-"))
    all_months = sorted(p for p in indicators["period"].unique().to_list() if "-" in p)
    as_of_month = all_months[-1] if all_months else None
    span = (
        f"{months[0][:4]}年{int(months[0][5:])}月至{months[-1][:4]}年{int(months[-1][5:])}月"
        if months
        else f"{year}年"
    )
    settings = load_settings()
    sections = iter(NUMERALS)

    def heading(text: str) -> None:
        pdf.heading(f"{next(sections)}、{text}")

    pdf = _document(
        f"{DISTRICT_NAME}社会救助街镇{year}年度绩效评价报告",
        f"{year}年度街镇绩效评价",
        generated,
        size=18,
        height=12,
    )
    pdf.set_font(FONT_FAMILY, size=10)
    pdf.cell(
        0,
        6,
        f"评价年度：{year}年　　评价期间：{span}　　报送单位：{ISSUER}　　"
        f"生成日期：{generated.isoformat()}",
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )

    # 一、per-street indicators, score and rank
    ranked = ranking(indicators, year)
    district = values_at(indicators, year).filter(pl.col("street") == DISTRICT)
    blank = uncomputed(indicators, year)

    def cell(name: str, value: float | None) -> str:
        return NOT_COMPUTED if name in blank else _fmt(name, value)

    heading("街镇绩效指标与综合得分")
    header = ["排名", "街镇", *[BY_NAME[n].title for n in RANKED], "培训达标"]
    rows = [
        [
            str(r["rank"]) if r["rank"] is not None else "—",
            r["street"],
            *[cell(n, r[n]) for n in RANKED],
            r["training_mark"] or "—",
        ]
        for r in ranked.iter_rows(named=True)
    ]
    if district.height:
        d = district.row(0, named=True)
        rows.append(["", DISTRICT, *[cell(n, d[n]) for n in RANKED], ""])
    widths = [9, 22, *[18] * len(RANKED), 14]
    pdf.grid(header, rows, widths)
    weights = "，".join(f"{BY_NAME[k].title} {v:g}" for k, v in settings.indicator_weights.items())
    pdf.paragraph(
        f"比率以百分数表示，资金线索率为每千笔拨付的线索数，金额单位为元。综合得分权重"
        f"（设置文件）：{weights}。排名按综合得分从高到低，得分相同的并列；缺值的项不参与"
        "计分。整改按期率、整改复发率按当年完成整改的线索计算；档案核查合格率按当年已签发的档案"
        "核查计算。" + (NOT_COMPUTED_NOTE if blank else "")
    )

    # 二、trainings
    marks = training_marks(indicators, year).filter(pl.col("street") != DISTRICT)
    short = marks.filter(pl.col("training_mark") == "未达标")["street"].to_list()
    unknown = marks.filter(pl.col("training_mark").is_null())["street"].to_list()
    heading("培训情况")
    if unknown and len(unknown) == marks.height:
        pdf.paragraph("本次数据未包含培训记录，无法评价培训情况。")
    elif short:
        pdf.paragraph(
            f"按每年至少举办 {settings.trainings_per_year} 次培训的要求，以下街镇"
            f"{year}年培训次数未达标（已在上表标注）：{'、'.join(short)}。"
        )
    else:
        pdf.paragraph(
            f"各街镇{year}年均达到每年至少举办 {settings.trainings_per_year} 次培训的要求。"
        )

    # 三、findings by family
    leads = leads_by_street(findings, year, as_of_month)
    family_titles = [c for c in leads.columns if c not in ("street", "total")]
    year_rows = year_findings(findings, year, as_of_month)
    at_risk = at_risk_by_street(year_rows)
    total_at_risk = amounts.money_at_risk_fen(year_rows)
    heading("问题线索分类统计")
    pdf.paragraph(
        f"截至{year}年末（或检查基准日）已发生、尚未处理的线索，按检查类别统计：共 "
        f"{year_rows.height:,} 条，涉及金额 {formats.money_fen(total_at_risk)} 元。" + amounts.HELP
    )
    rows = [
        [
            r["street"],
            *[f"{r[t]:,}" for t in family_titles],
            f"{r['total']:,}",
            formats.money_fen(at_risk.get(r["street"], 0)),
        ]
        for r in leads.iter_rows(named=True)
    ]
    totals = leads.select(pl.exclude("street").sum()).row(0, named=True)
    rows.append(
        [
            f"{DISTRICT}（十个街镇合计）",
            *[f"{totals[t]:,}" for t in family_titles],
            f"{totals['total']:,}",
            formats.money_fen(total_at_risk),
        ]
    )
    pdf.grid(
        ["街镇", *family_titles, "合计", "涉及金额（元）"],
        rows,
        [50, *[30] * len(family_titles), 30, 40],
    )

    # the follow-up loop: the year's funnel
    heading("线索核实、整改与追回（处置漏斗）")
    if funnel is None:
        pdf.paragraph("本报告生成时未读取工作区的处置记录，未列出线索核实、整改与追回情况。")
    else:
        pdf.paragraph(funnel_sentence(funnel, year) + FUNNEL_NOTE)
        stage_header = [
            "发现线索（条）",
            "涉及金额（元）",
            "核实属实（条）",
            "涉及金额（元）",
            "整改完成（条）",
            "涉及金额（元）",
            "有追回款（条）",
            "追回资金（元）",
        ]
        pdf.grid(["街镇", *stage_header], _funnel_rows(funnel), [45, *[28] * 8])

    # 失信名单: records proposed, published and repaired in the year, by street
    heading("失信记录（联席会议办公室）")
    counted = indicators.filter(
        (pl.col("period") == year) & pl.col("indicator").is_in(list(DISHONESTY_INDICATORS))
    )
    if counted.height == 0 or counted["numerator"].is_null().all():
        pdf.paragraph("本报告所依据的检查不在工作区中运行，未统计失信记录。")
    else:
        wide = counted.pivot(
            on="indicator", index="street", values="numerator", aggregate_function=None
        )
        rows = [
            [r["street"], *[f"{int(r.get(n) or 0):,}" for n in DISHONESTY_INDICATORS]]
            for r in wide.sort(pl.col("street") == DISTRICT).iter_rows(named=True)
        ]
        pdf.paragraph(f"{year}年各街镇拟列入、公布和信用修复的失信记录条数，按操作日期归期。")
        pdf.grid(
            ["街镇", *[BY_NAME[n].title for n in DISHONESTY_INDICATORS]], rows, [50, 40, 40, 40]
        )

    # 四、the four circles
    circles = indicators.filter(
        (pl.col("period") == year) & pl.col("indicator").str.starts_with("circle_")
    )
    if circles.height:
        _, rules = load_circles()
        names = [f"{c.name}（{c.label}）" for c in rules]
        wide = circles.pivot(
            on="indicator", index="street", values="value", aggregate_function=None
        )
        heading("低收入人口四个圈层（户）")
        rows = [
            [r["street"], *[format_value("circle_1", r.get(f"circle_{n}")) for n in range(1, 5)]]
            for r in wide.sort(pl.col("street") == DISTRICT).iter_rows(named=True)
        ]
        pdf.grid(["街镇", *names], rows, [50, 55, 55, 55, 55])

    # 五、definitions
    heading("指标定义")
    rows = [[i.title, i.unit, i.definition, i.numerator, i.denominator] for i in INDICATORS]
    pdf.grid(
        ["指标", "单位", "定义", "分子", "分母"],
        rows,
        [26, 14, 150, 42, 41],
        size=7.5,
        align="LEFT",
    )
    pdf.paragraph(
        f"本报告由救助资金监督审计台根据检查结果自动生成，生成日期 {generated.isoformat()}。"
    )
    return bytes(pdf.output())


# Findings one verification sheet lists at most: a sheet is for people to work through by hand.
SHEET_MAX_FINDINGS = 1_000


def verification_sheet(findings: pl.DataFrame, scope: str, generated: date | None = None) -> bytes:
    """线索核查单: the findings (as analytics.views.findings.visible_findings gives them, in
    their order; at most SHEET_MAX_FINDINGS) as a PDF to hand to the people who verify them: one
    row each with the sentence that states it and blank columns for the result, the verifier
    and the date; then the published rule of every check listed. ``scope`` says which findings
    these are (the filters), in Chinese. The sentences name no personal data, and nothing else
    from the findings is printed."""
    from analytics.views.findings import rule
    from analytics.views.funds import most_severe_first

    generated = generated or date.today()
    rows = most_severe_first(findings).head(SHEET_MAX_FINDINGS)
    pdf = _document(
        f"{DISTRICT_NAME}社会救助问题线索核查单", "问题线索核查单", generated, size=16, height=10
    )
    cut = f"，本单列出前 {rows.height:,} 条" if findings.height > rows.height else ""
    at_risk = formats.money_fen(amounts.money_at_risk_fen(findings))
    pdf.paragraph(
        f"范围：{scope}。共 {findings.height:,} 条线索{cut}，合计涉及金额 {at_risk} 元"
        "（同一笔流水只计一次，汇总金额不符不重复计入）；按严重程度和涉及金额排序。"
        "线索是需要核实的疑点，不是对任何家庭的结论；请逐条核实后填写核查结果"
        "（属实 / 不属实 / 部分属实）、核查人和日期。",
        size=9.5,
    )
    pdf.ln(2)
    header = ["序号", "编号", "检查项", "街镇", "救助编号", "线索", "核查结果", "核查人", "日期"]
    body = [
        [
            str(i),
            r["finding_id"],
            r["title"],
            r["street"] or "—",
            r["case_id"] or "—",
            r["summary"],
            "",
            "",
            "",
        ]
        for i, r in enumerate(rows.iter_rows(named=True), start=1)
    ]
    pdf.grid(header, body, [10, 30, 24, 22, 26, 102, 20, 17, 17], size=7.5, align="LEFT")

    pdf.heading("所依据的检查规则")
    checks = rows.get_column("check_id").unique(maintain_order=True).to_list()
    published = [(c, rule(c)) for c in checks]
    pdf.grid(
        ["检查项", "类别", "严重程度", "规则"],
        [
            [r.title, r.family_title, r.severity, r.description]
            for _, r in published
            if r is not None
        ],
        [34, 22, 16, 196],
        size=7.5,
        align="LEFT",
    )
    pdf.paragraph(
        "本核查单由救助资金监督审计台根据检查结果生成，"
        f"生成日期 {generated.isoformat()}；"
        "身份证号、银行账号等个人信息不在本单中列出。"
    )
    return bytes(pdf.output())


def publication_pdf(
    rows: pl.DataFrame, number: str, on: date, district: str, body: str, note: str | None = None
) -> bytes:
    """A 失信名单 publication document as PDF: the district's heading, its number and date, the
    publishing body, the rows exactly as given (the caller gives only the fields the rules allow,
    ID numbers masked), and ``note`` (the conditions of entry and removal, how to object)."""
    title = f"{district}社会救助失信名单"
    pdf = _document(title, f"失信名单公布 {number}", on, size=18, height=12)
    pdf.set_font(FONT_FAMILY, size=10.5)
    pdf.cell(0, 7, number, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(
        0,
        6,
        f"公布单位：{body}　　公布日期：{on.year}年{on.month}月{on.day}日　　共 {rows.height:,} 条",
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    header = list(rows.columns)
    body_rows = [["—" if v is None else str(v) for v in r] for r in rows.iter_rows()]
    base = {
        "序号": 14,
        "姓名": 34,
        "身份证号": 50,
        "失信行为": 28,
        "决定书文号": 72,
        "公布期限": 62,
    }
    widths = [base.get(c, 40) for c in header]
    scale = 273 / sum(widths)
    pdf.grid(header, body_rows, [w * scale for w in widths], size=9)
    if note:
        pdf.ln(2)
        pdf.paragraph(note, size=9)
    pdf.ln(4)
    pdf.set_font(FONT_FAMILY, size=10.5)
    pdf.cell(0, 7, body, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 7, f"{on.year}年{on.month}月{on.day}日", align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _midnight(day: date):
    from datetime import datetime

    return datetime(day.year, day.month, day.day, tzinfo=UTC)
