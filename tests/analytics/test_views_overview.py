"""总览 and 街镇 service functions and their figures, on a hand-written indicators.csv."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser

import polars as pl
import pytest

from analytics import amounts
from analytics.charts import overview as charts
from analytics.indicators import DISTRICT, INDICATORS
from analytics.schema import INDICATORS_SCHEMA, STREETS
from analytics.views import overview as view
from analytics.views import street as street_view

A, B, C = STREETS[0], STREETS[1], STREETS[2]  # 华阳路街道, 江苏路街道, 新华路街道


def indicators_frame(cells: dict[tuple[str, str, str], tuple]) -> pl.DataFrame:
    """Every street × period × indicator row, blank unless given as (value, num, den)."""
    periods = ["2026-02", "2026-03", "2026Q1", "2026"]
    rows = []
    for street in (DISTRICT, *STREETS):
        for period in periods:
            for ind in INDICATORS:
                if ind.name.startswith("circle_") and period == "2026-02":
                    continue
                value, num, den = cells.get((street, period, ind.name), (None, None, None))
                rows.append((street, period, ind.name, value, num, den))
    return pl.DataFrame(rows, schema=INDICATORS_SCHEMA, orient="row")


CELLS = {
    # composite: B best, A and C tied, the other streets have none
    (A, "2026-03", "composite_score"): (70.0, 70.0, 1.0),
    (B, "2026-03", "composite_score"): (90.0, 90.0, 1.0),
    (C, "2026-03", "composite_score"): (70.0, 70.0, 1.0),
    (DISTRICT, "2026-03", "composite_score"): (75.0, 75.0, 1.0),
    (A, "2026-03", "approval_on_time_rate"): (0.5, 1, 2),
    (B, "2026-03", "approval_on_time_rate"): (1.0, 3, 3),
    (A, "2026-03", "funds_findings_per_1000"): (20.0, 2, 100),
    (B, "2026-03", "funds_findings_per_1000"): (5.0, 1, 200),
    (C, "2026-03", "funds_findings_per_1000"): (0.0, 0, 50),
    (A, "2026-03", "dynamic_leads"): (4.0, 4, 2),  # 2 per case
    (B, "2026-03", "dynamic_leads"): (4.0, 4, 8),  # 0.5 per case
    (DISTRICT, "2026-03", "cases_active"): (12.0, 12.0, None),
    (DISTRICT, "2026-03", "money_paid"): (12345.6, 12345.6, None),
    (DISTRICT, "2026-03", "money_at_risk"): (300.0, 300.0, None),
    (DISTRICT, "2026-02", "money_paid"): (9000.0, 9000.0, None),
    (A, "2026-02", "composite_score"): (60.0, 60.0, 1.0),
    (DISTRICT, "2026-02", "composite_score"): (65.0, 65.0, 1.0),
    # trainings in the year: A held one, B none; the rest blank (no trainings table): no mark
    (A, "2026", "trainings_held"): (1.0, 1.0, None),
    (B, "2026", "trainings_held"): (0.0, 0.0, None),
    (A, "2026-03", "circle_1"): (3.0, 3.0, 10.0),
    (A, "2026-03", "circle_4"): (7.0, 7.0, 10.0),
}
IND = indicators_frame(CELLS)
FINDINGS = pl.DataFrame(
    [
        ("approval_overdue", "process", A, "2026-03", "C1", None, None, "案件C1审批超时。"),
        ("visit_overdue", "dynamic", A, "2026-02", "C2", None, None, "案件C2探访逾期。"),
        ("employment_found", "dynamic", A, "2026-03", "C3", "310105198001010013", None, "就业。"),
        ("relative_not_filed", "integrity", B, None, None, "310105197512120025", None, "未备案。"),
        ("late_disbursement", "funds", B, "2026-03", "C9", None, "6222020200112233445", "迟发。"),
    ],
    schema={
        "check_id": pl.String,
        "family": pl.String,
        "street": pl.String,
        "month": pl.String,
        "case_id": pl.String,
        "id_number": pl.String,
        "account_no": pl.String,
        "summary": pl.String,
    },
    orient="row",
).with_columns(amount_fen=pl.lit(None, pl.Int64))


@pytest.mark.parametrize(
    ("period", "level", "label", "last"),
    [
        ("2026-03", "month", "2026年3月", "2026-03"),
        ("2026Q1", "quarter", "2026年第1季度", "2026-03"),
        ("2026Q4", "quarter", "2026年第4季度", "2026-12"),
        ("2026", "year", "2026年", "2026-12"),
    ],
)
def test_periods(period, level, label, last):
    assert (view.level_of(period), view.period_label(period), view.last_month(period)) == (
        level,
        label,
        last,
    )


def test_period_options_latest_first():
    assert view.period_options(IND) == {
        "month": ["2026-03", "2026-02"],
        "quarter": ["2026Q1"],
        "year": ["2026"],
    }


@pytest.mark.parametrize(
    ("indicator", "value", "text"),
    [
        ("approval_on_time_rate", 0.9524, "95.2%"),
        ("money_paid", 1234.5, "1,234.50"),
        ("funds_findings_per_1000", 12.345, "12.3"),
        ("dynamic_leads", 3.0, "3"),
        ("composite_score", None, "—"),
    ],
)
def test_format_value(indicator, value, text):
    assert view.format_value(indicator, value) == text


def test_ranking_orders_by_score_ties_share_a_rank_blank_last():
    r = view.ranking(IND, "2026-03")
    assert r.height == 10
    assert r["street"].to_list()[:3] == [B, A, C]
    assert r["rank"].to_list()[:3] == [1, 2, 2]
    assert r["rank"][3] is None
    marks = dict(zip(r["street"], r["training_mark"], strict=True))
    assert (marks[A], marks[B], marks[C]) == ("达标", "未达标", None)


def test_heat_scores():
    h = view.heat(IND, "2026-03")
    score = {(s, i): v for s, i, v in h.select("street", "indicator", "score").iter_rows()}
    assert score[(A, "approval_on_time_rate")] == pytest.approx(50)
    # funds findings per 1000: worst street 20 -> 100 x (1 - x / 20)
    assert score[(A, "funds_findings_per_1000")] == pytest.approx(0)
    assert score[(B, "funds_findings_per_1000")] == pytest.approx(75)
    assert score[(C, "funds_findings_per_1000")] == pytest.approx(100)
    # dynamic leads per case: A 2, B 0.5 -> B scores 100 x (1 - 0.5 / 2)
    assert score[(B, "dynamic_leads")] == pytest.approx(75)
    assert score[(B, "composite_score")] == pytest.approx(90)
    assert DISTRICT not in set(h["street"])


def test_overview_headline_and_leads():
    ov = view.overview(IND, FINDINGS, "2026-03")
    assert (
        ov.headline.cases_active,
        ov.headline.money_paid,
        ov.headline.money_at_risk,
        ov.headline.composite_score,
    ) == (12, 12345.6, 300, 75)
    leads = dict(zip(ov.leads["family"], ov.leads["findings"], strict=True))
    assert leads == {"funds": 1, "integrity": 1, "dynamic": 2, "process": 1}
    assert ov.headline.open_leads == 5
    # February: only the February finding has arisen by then; the one without a month counts
    # from the run's latest month (2026-03), so not yet.
    feb = view.overview(IND, FINDINGS, "2026-02")
    assert dict(zip(feb.leads["family"], feb.leads["findings"], strict=True))["dynamic"] == 1
    assert feb.headline.open_leads == 1 and feb.headline.money_paid == 9000


def test_overview_for_a_viewer_limited_to_one_street():
    ov = view.overview(IND, FINDINGS, "2026-03", streets=[A])
    assert set(ov.ranking["street"]) == {A}
    assert ov.headline.open_leads == 3 and ov.headline.composite_score is None


def test_trends_are_monthly():
    t = view.trends(IND, "composite_score")
    assert t["period"].unique().sort().to_list() == ["2026-02", "2026-03"]
    table = view.trend_table(t.filter(pl.col("street").is_in([DISTRICT, A])), "composite_score")
    # each area's header carries the unit, so that grids and workbooks format its numbers
    assert table.columns == ["月份", f"{DISTRICT}（分）", f"{A}（分）"]
    assert table.row(0) == ("2026-02", 65.0, 60.0)


def test_tables_have_chinese_headers_and_display_values():
    table = view.ranking_table(view.ranking(IND, "2026-03"))
    assert table.columns[:4] == ["排名", "街镇", "综合得分（分）", "审批及时率（%）"]
    row = table.row(0, named=True)
    assert (row["街镇"], row["审批及时率（%）"], row["培训达标"]) == (B, 100.0, "未达标")
    sheets = view.excel_sheets(view.overview(IND, FINDINGS, "2026-03"))
    assert list(sheets) == [
        "街镇排名",
        "街镇指标值",
        "街镇指标得分",
        "月度趋势",
        "线索分类",
        "指标定义",
    ]
    assert sheets["街镇指标值"].height == sheets["街镇指标得分"].height == 10


def test_leads_by_street():
    t = view.leads_by_street(FINDINGS, "2026", "2026-03")
    a = t.filter(pl.col("street") == A).row(0, named=True)
    assert (a["动态管理"], a["审批流程"], a["total"]) == (2, 1, 3)


# --- static blocks of the landing view ------------------------------------------------------


class Cells(HTMLParser):
    """Every <th>/<td> of an HTML table as (text, style), row by row."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.rows: list[list[tuple[str, str]]] = []
        self._cell: list | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = ["", dict(attrs).get("style", "")]

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[0] += data

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[-1].append(tuple(self._cell))
            self._cell = None


def background(style: str) -> tuple[int, int, int] | None:
    found = re.search(r"background-color: rgb\((\d+), (\d+), (\d+)\)", style)
    return tuple(map(int, found.groups())) if found else None


def bar_width(style: str) -> float | None:
    found = re.search(r"linear-gradient\(90deg, #[0-9a-f]{6} ([\d.]+)%", style)
    return float(found.group(1)) if found else None


RED, YELLOW, GREEN = (215, 48, 39), (254, 224, 139), (26, 152, 80)


@pytest.mark.parametrize(
    ("score", "rgb", "text"),
    [
        (0.0, RED, "#ffffff"),
        (50.0, YELLOW, "#222222"),
        (100.0, GREEN, "#ffffff"),
        (75.0, (140, 188, 110), "#222222"),  # halfway from yellow to green
        (-5.0, RED, "#ffffff"),
        (130.0, GREEN, "#ffffff"),  # clipped to 0–100
    ],
)
def test_score_colour(score, rgb, text):
    style = pl.select(view.score_colour(pl.lit(score))).item()
    assert background(style) == rgb
    assert style.endswith(f"color: {text}")


def test_score_colour_and_bar_leave_a_missing_score_blank():
    blank = pl.lit(None, dtype=pl.Float64)
    assert pl.select(view.score_colour(blank), view.score_bar(blank).alias("bar")).row(0) == (
        None,
        None,
    )


def test_heat_map_and_table_share_the_colour_scale():
    assert charts.SCORE_SCALE == [[0.0, "#d73027"], [0.5, "#fee08b"], [1.0, "#1a9850"]]
    assert [list(stop) for stop in view.SCORE_SCALE] == charts.SCORE_SCALE


def test_glance_table():
    rows = Cells(view.glance_html(view.ranking(IND, "2026-03"), view.heat(IND, "2026-03"))).rows
    header, body = [text for text, _ in rows[0]], rows[1:]
    # the ranking's columns but the last (综合得分未计入, which the caption states)
    assert header == view.ranking_table(view.ranking(IND, "2026-03")).columns[:-1]
    assert len(body) == 10
    col = {name: header.index(view.indicator_title(name)) for name in view.RANKED}
    by_street = {row[1][0]: row for row in body}
    a, b, c = by_street[A], by_street[B], by_street[C]
    assert [row[1][0] for row in body[:3]] == [B, A, C]
    assert [row[0][0] for row in body[:4]] == ["1", "2", "2", "—"]
    # Each scored indicator's cell is coloured by its heat-map score and shows its own value.
    approval = col["approval_on_time_rate"]
    assert (a[approval][0], background(a[approval][1])) == ("50.0%", YELLOW)
    assert (b[approval][0], background(b[approval][1])) == ("100.0%", GREEN)
    funds = col["funds_findings_per_1000"]
    assert [(row[funds][0], background(row[funds][1])) for row in (a, b, c)] == [
        ("20.0", RED),
        ("5.0", (140, 188, 110)),
        ("0.0", GREEN),
    ]
    # No score, no colour: a street without data, and money at risk, which is not scored.
    assert background(by_street[STREETS[5]][approval][1]) is None
    assert background(b[col["money_at_risk"]][1]) is None
    # The composite score is a bar as long as the score; none where there is no score.
    composite = col["composite_score"]
    assert [(row[composite][0], bar_width(row[composite][1])) for row in (b, a)] == [
        ("90.0", 90.0),
        ("70.0", 70.0),
    ]
    assert bar_width(by_street[STREETS[5]][composite][1]) is None
    # The trainings of the year, and the street short of them marked.
    assert (a[-2][0], a[-1][0], b[-2][0], b[-1][0], c[-1][0]) == ("1", "达标", "0", "未达标", "—")
    assert b[-1][1].endswith(view.SHORT_STYLE) and view.SHORT_STYLE not in a[-1][1]


def test_glance_table_of_a_period_without_scores():
    rows = Cells(view.glance_html(view.ranking(IND, "2026Q1"), view.heat(IND, "2026Q1"))).rows
    assert len(rows) == 11
    assert all(text == "—" for row in rows[1:] for text, _ in row[2:-2])
    assert not any(background(style) or bar_width(style) for row in rows for _, style in row)


def test_table_html_escapes_and_wraps_long_text():
    frame = pl.DataFrame({"名称": ["<b>甲</b>", None], "说明": ["很长" * 10, "短"], "数": [1, 2]})
    html = view.table_html(frame)
    assert "<b>" not in html and "&lt;b&gt;甲&lt;/b&gt;" in html
    rows = Cells(html).rows
    assert [text for text, _ in rows[0]] == ["名称", "说明", "数"]
    assert rows[2][0][0] == "—"
    name, note, number = rows[1]
    assert "nowrap" in name[1] and "nowrap" not in note[1] and "text-align: right" in number[1]


class Figures(HTMLParser):
    """(label, value, tooltip) of each figure of :func:`view.metrics_html`."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.texts: list[tuple[str, str | None]] = []
        self._open: dict | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self._open = {"title": dict(attrs).get("title"), "text": ""}

    def handle_data(self, data):
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag):
        if self._open and self._open["text"]:
            self.texts.append((self._open["text"], self._open["title"]))
        self._open = None

    @property
    def figures(self) -> list[tuple[str, str, str | None]]:
        pairs = zip(self.texts[::2], self.texts[1::2], strict=True)
        return [(label.removesuffix(" ⓘ"), value, tip) for (label, tip), (value, _) in pairs]


def test_headline_metrics_drawn_as_figures():
    ov = view.overview(IND, FINDINGS, "2026-03")
    rows = view.headline_metrics(ov)
    assert [len(row) for row in rows] == [5, 4]
    figures = Figures(view.metrics_html(rows)).figures
    # short labels with their unit; the period and what each counts in the help
    assert [(label, value) for label, value, _ in figures[:5]] == [
        ("在册案件（件）", "12"),
        ("实发金额（元）", "12,345.60"),
        ("涉及金额（元）", "300.00"),
        ("未处理线索（条）", "5"),
        ("综合得分（分）", "75.0"),
    ]
    helps = [tip for _, _, tip in figures[:5]]
    assert helps[0] == "2026年3月期末处于救助期的案件"
    assert helps[2].startswith("2026年3月的线索。") and amounts.HELP in helps[2]
    # the district's composite left out the follow-up indicators (not computed) and the
    # indicators without a value in March
    assert helps[4].startswith("未计入：审批及时率（本期无数据）、")
    assert "整改按期率（未计算）" in helps[4]
    assert dict((label, value) for label, value, _ in figures[5:]) == {
        "资金比对（条）": "1",
        "廉洁风险（条）": "1",
        "动态管理（条）": "2",
        "审批流程（条）": "1",
    }
    # a row wraps rather than squeezing five figures into a narrow screen
    assert f"repeat(auto-fill, minmax({view.FIGURE_MIN_WIDTH}, 1fr))" in view.metrics_html(rows)


def test_static_blocks_escape_every_text():
    hostile = '<img src=x onerror="alert(1)">'
    html = view.metrics_html([[(hostile, hostile, f'"{hostile}')]])
    assert "<img" not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    ranking = view.ranking(IND, "2026-03").with_columns(
        pl.when(pl.col("rank") == 1)
        .then(pl.lit(hostile))
        .otherwise(pl.col("street"))
        .alias("street")
    )
    glance = view.glance_html(ranking, view.heat(IND, "2026-03"))
    assert "<img" not in glance and "&lt;img" in glance


# --- 街镇 ----------------------------------------------------------------------------------------


def test_street_view():
    sv = street_view.street_view(IND, FINDINGS, A, "month")
    assert sv.period == "2026-03" and sv.label == "2026年3月"
    latest = dict(zip(sv.latest["indicator"], sv.latest["shown"], strict=True))
    previous = dict(zip(sv.latest["indicator"], sv.latest["previous"], strict=True))
    assert (latest["composite_score"], previous["composite_score"]) == ("70.0", "60.0")
    counts = dict(zip(sv.by_check["check_id"], sv.by_check["findings"], strict=True))
    assert counts["approval_overdue"] == 1 and counts["late_disbursement"] == 0
    assert sv.by_check["findings"][0] == 1
    assert sv.overdue["check_id"].to_list() == ["approval_overdue", "visit_overdue"]
    circles = street_view.circles_table(sv)
    assert circles["户数"].to_list() == [3, None, None, 7]
    assert circles["占比（%）"].to_list()[0] == 30.0


def test_street_tables_mask_personal_data():
    findings = FINDINGS.with_columns(pl.lit("approval_overdue").alias("check_id"))
    sv = street_view.street_view(IND, findings, A)
    table = street_view.overdue_table(sv)
    assert table["身份证号"].drop_nulls().to_list() == ["310105********0013"]
    sheets = street_view.excel_sheets(sv)
    text = str(sheets)
    assert "310105198001010013" not in text


def test_street_over_time_table():
    sv = street_view.street_view(IND, FINDINGS, A, "month")
    table = street_view.over_time_table(sv)
    assert table["期间"].to_list() == ["2026-02", "2026-03"]
    assert table["审批及时率（%）"].to_list() == [None, 50.0]


# --- figures -----------------------------------------------------------------------------------


def test_ranking_bars_mark_trainings():
    fig = charts.ranking_bars(view.ranking(IND, "2026-03"))
    bar = fig.data[0]
    assert list(bar.y) == [f"1. {B}", f"2. {A}", f"2. {C}"]
    assert list(bar.marker.color) == [charts.SHORT_COLOUR, charts.BAR_COLOUR, charts.BAR_COLOUR]


def test_heatmap_cells():
    fig = charts.heatmap(view.heat(IND, "2026-03"))
    hm = fig.data[0]
    assert list(hm.y)[:3] == [A, B, C]
    col = list(hm.x).index(view.indicator_title("funds_findings_per_1000"))
    assert hm.z[1][col] == pytest.approx(75) and hm.text[1][col] == "5.0"
    # Column titles stacked in short lines so that seven fit side by side.
    assert fig.layout.xaxis.ticktext[col] == "资金线<br>索率<br>（每千笔）"


def test_trend_lines_draw_the_district_bold():
    fig = charts.trend_lines(view.trends(IND, "approval_on_time_rate"), "approval_on_time_rate")
    district = next(t for t in fig.data if t.name == DISTRICT)
    assert district.line.width == 5 and district.line.color == charts.DISTRICT_COLOUR
    assert fig.data[-1].name == DISTRICT  # drawn over the streets' lines
    a = next(t for t in fig.data if t.name == A)
    assert list(a.y) == [None, 50.0]


@pytest.mark.parametrize(
    "build",
    [
        lambda: charts.ranking_bars(view.ranking(IND, "2026Q1")),
        lambda: charts.leads_bars(view.open_leads(FINDINGS.clear(), "2026-03", "2026-03")),
        lambda: charts.check_bars(street_view.street_view(IND, FINDINGS.clear(), A).by_check),
    ],
)
def test_empty_figures_say_so(build):
    fig = build()
    assert fig.layout.annotations[0].text == charts.EMPTY


# --- the follow-up loop: its indicators and its funnel --------------------------------------------

FOLLOWUP = ("rectification_on_time_rate", "recurrence_rate", "file_audit_pass_rate")
# A run in a workspace: A completed two rectifications in March, one on time; B four, one of
# which recurred; the other streets none (numerator 0, no value). A's file audit of March found
# four of its five cases in order; no other street was audited.
COMPUTED = indicators_frame(
    {
        **CELLS,
        **{
            (s, p, n): (None, 0.0, 0.0)
            for s in (DISTRICT, *STREETS)
            for p in ("2026-02", "2026-03")
            for n in FOLLOWUP
        },
        (A, "2026-03", "rectification_on_time_rate"): (0.5, 1.0, 2.0),
        (A, "2026-03", "recurrence_rate"): (0.0, 0.0, 2.0),
        (B, "2026-03", "rectification_on_time_rate"): (1.0, 4.0, 4.0),
        (B, "2026-03", "recurrence_rate"): (0.25, 1.0, 4.0),
        (A, "2026-03", "file_audit_pass_rate"): (0.8, 4.0, 5.0),
    }
)


def workflow_frames() -> dict[str, pl.DataFrame]:
    """The workspace's frames: in March three leads found (A, A, B), two verified, one of B's
    rectified; 200 yuan of an A lead recovered in March and 150 in April."""
    findings = pl.DataFrame(
        {
            "finding_id": ["F1", "F2", "F3"],
            "street": [A, A, B],
            "amount_fen": [50_000, 20_000, 10_000],
        }
    )
    history = pl.DataFrame(
        {
            "finding_id": ["F1", "F2", "F3", "F1", "F3", "F3"],
            "move": ["found", "found", "found", "confirm", "confirm", "rectified"],
            "on_date": [date(2026, 3, 2)] * 3 + [date(2026, 3, 9)] * 2 + [date(2026, 3, 30)],
        }
    )
    recoveries = pl.DataFrame(
        {
            "finding_id": ["F1", "F1"],
            "paid_on": [date(2026, 3, 20), date(2026, 4, 1)],
            "amount_fen": [20_000, 15_000],
        }
    )
    return {"findings": findings, "history": history, "recoveries": recoveries}


def test_followup_indicators_are_ranked_and_scored():
    assert set(FOLLOWUP) <= set(view.RANKED) and set(FOLLOWUP) <= set(view.HEAT)
    table = view.ranking_table(view.ranking(COMPUTED, "2026-03"))
    rows = {r["街镇"]: r for r in table.iter_rows(named=True)}
    assert (rows[A]["整改按期率（%）"], rows[A]["整改复发率（%）"]) == (50.0, 0.0)
    assert (rows[B]["整改按期率（%）"], rows[B]["整改复发率（%）"]) == (100.0, 25.0)
    assert rows[C]["整改按期率（%）"] is None  # no rectification: blank, never 0
    score = {
        (s, i): v
        for s, i, v in view.heat(COMPUTED, "2026-03")
        .select("street", "indicator", "score")
        .iter_rows()
    }
    assert score[(A, "rectification_on_time_rate")] == pytest.approx(50)
    assert score[(B, "recurrence_rate")] == pytest.approx(75)  # lower is better
    assert score[(C, "recurrence_rate")] is None
    assert score[(A, "file_audit_pass_rate")] == pytest.approx(80)
    assert score[(B, "file_audit_pass_rate")] is None  # not audited: not scored, never 0
    assert view.heat_table(view.heat(COMPUTED, "2026-03")).columns[-4:] == [
        "整改按期率（%）",
        "整改复发率（%）",
        "档案核查合格率（%）",
        "综合得分（分）",
    ]


def test_followup_indicators_not_computed_show_so():
    # IND: a run outside a workspace, every numerator blank
    assert view.uncomputed(IND, "2026-03") == frozenset(FOLLOWUP)
    assert view.uncomputed(COMPUTED, "2026-03") == frozenset()
    assert view.uncomputed(
        IND.filter(~pl.col("indicator").is_in(FOLLOWUP)), "2026-03"
    ) == frozenset(FOLLOWUP)  # results from before these indicators existed
    ov = view.overview(IND, FINDINGS, "2026-03")
    rows = Cells(view.glance_html(ov.ranking, ov.heat, ov.uncomputed)).rows
    header = [text for text, _ in rows[0]]
    cols = [header.index(view.indicator_title(n)) for n in FOLLOWUP]
    assert {rows[i][c][0] for i in range(1, 11) for c in cols} == {view.NOT_COMPUTED}
    assert not any(background(rows[i][c][1]) for i in range(1, 11) for c in cols)
    computed = view.overview(COMPUTED, FINDINGS, "2026-03")
    rows = Cells(view.glance_html(computed.ranking, computed.heat, computed.uncomputed)).rows
    by_street = {row[1][0]: row for row in rows[1:]}
    assert [by_street[A][c][0] for c in cols] == ["50.0%", "0.0%", "80.0%"]
    assert background(by_street[A][cols[0]][1]) == YELLOW
    assert [by_street[C][c][0] for c in cols] == ["—", "—", "—"]
    assert view.shown_value("recurrence_rate", None, None) == view.NOT_COMPUTED
    assert view.shown_value("recurrence_rate", None, 0.0) == "—"
    assert view.shown_value("money_paid", None, None) == "—"


def test_overview_funnel_of_the_period():
    ov = view.overview(IND, FINDINGS, "2026-03", workflow=workflow_frames())
    assert ov.funnel.select("stage", "count", "amount_fen").rows() == [
        ("leads", 3, 80_000),
        ("verified", 2, 60_000),
        ("rectified", 1, 10_000),
        ("recovered", 1, 20_000),
    ]
    assert [len(row) for row in view.headline_metrics(ov)] == [5, 4]  # the funnel has its view
    sheets = view.excel_sheets(ov)
    assert list(sheets) == [
        "街镇排名",
        "街镇指标值",
        "街镇指标得分",
        "月度趋势",
        "线索分类",
        "处置漏斗",
        "指标定义",
    ]
    assert sheets["处置漏斗"]["线索数（条）"].to_list() == [3, 2, 1, 1]
    quarter = view.overview(IND, FINDINGS, "2026Q1", workflow=workflow_frames())
    assert quarter.funnel.filter(pl.col("stage") == "recovered")["amount_fen"].item() == 20_000
    year = view.overview(IND, FINDINGS, "2026", workflow=workflow_frames())
    assert year.funnel.filter(pl.col("stage") == "recovered")["amount_fen"].item() == 35_000
    # a viewer limited to one street sees its funnel only
    b = view.overview(IND, FINDINGS, "2026-03", streets=[B], workflow=workflow_frames())
    assert b.funnel["count"].to_list() == [1, 1, 1, 0]
    # without a workspace: no funnel, no third row
    assert view.overview(IND, FINDINGS, "2026-03").funnel is None
    fig = charts.funnel_chart(ov.funnel, "2026年3月线索处置漏斗")
    assert list(fig.data[0].x) == [3, 2, 1, 1]
    assert fig.layout.title.text == "2026年3月线索处置漏斗"


def test_street_funnel_and_rectification_metrics():
    sv = street_view.street_view(COMPUTED, FINDINGS, A, "month", workflow=workflow_frames())
    assert sv.period == "2026-03"
    assert sv.funnel.select("stage", "count", "amount_fen").rows() == [
        ("leads", 2, 70_000),
        ("verified", 1, 50_000),
        ("rectified", 0, 0),
        ("recovered", 1, 20_000),
    ]
    assert street_view.excel_sheets(sv)["处置漏斗"]["线索数（条）"].to_list() == [2, 1, 0, 1]
    metrics = street_view.rectification_metrics(sv)
    assert [(t, v) for t, v, _ in metrics] == [
        ("整改按期率（%）", "50.0%"),
        ("整改复发率（%）", "0.0%"),
        ("档案核查合格率（%）", "80.0%"),
    ]
    # a street without rectifications or file audits in a workspace run: —, and why
    c = street_view.rectification_metrics(street_view.street_view(COMPUTED, FINDINGS, C))
    assert [(v, why) for _, v, why in c] == [("—", "本期没有完成整改的线索")] * 2 + [
        ("—", "本期没有已签发的档案核查")
    ]
    # outside a workspace: 未计算, and no funnel without the workspace's frames
    plain = street_view.street_view(IND, FINDINGS, A)
    assert [v for _, v, _ in street_view.rectification_metrics(plain)] == ["未计算"] * 3
    assert plain.funnel is None and "处置漏斗" not in street_view.excel_sheets(plain)
    assert street_view.over_time_table(plain)["整改按期率（%）"].to_list() == [None, None]
