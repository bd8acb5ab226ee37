"""Figures of the 总览 and 街镇 pages, built from the frames of analytics.views.overview and
analytics.views.street. Each returns a plotly figure and reads nothing else. Names taken from the
data go through analytics.export.plot_text: Plotly draws some HTML tags in them."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from analytics import formats
from analytics.charts.funds import FONT
from analytics.export import plot_text
from analytics.indicators import BY_NAME, DISTRICT
from analytics.views.overview import SCORE_SCALE as SCORES
from analytics.views.overview import format_value, indicator_title

EMPTY = "暂无数据"
BAR_COLOUR = "#4c78a8"
SHORT_COLOUR = "#e45756"
DISTRICT_COLOUR = "#222222"
# The landing table's colours, as plotly takes them.
SCORE_SCALE = [[at, colour] for at, colour in SCORES]


def _empty(title: str, height: int = 240) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=EMPTY, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(
        title=title, font=FONT, xaxis_visible=False, yaxis_visible=False, height=height
    )
    return fig


def ranking_bars(ranking: pl.DataFrame, title: str = "街镇综合得分排名") -> go.Figure:
    """Composite score per street, best at the top; a street short of trainings in red."""
    rows = ranking.filter(pl.col("composite_score").is_not_null())
    if rows.height == 0:
        return _empty(title)
    short = rows.get_column("training_mark").fill_null("") == "未达标"
    labels = [f"{r}. {plot_text(s)}" for r, s in rows.select("rank", "street").iter_rows()]
    scores = rows.get_column("composite_score").to_list()
    fig = go.Figure(
        go.Bar(
            y=labels,
            x=scores,
            orientation="h",
            marker_color=[SHORT_COLOUR if s else BAR_COLOUR for s in short.to_list()],
            text=[f"{v:.1f}" for v in scores],
            textposition="auto",
            customdata=rows.get_column("training_mark").fill_null("—").to_list(),
            hovertemplate="%{y}<br>综合得分：%{x:.1f}<br>培训：%{customdata}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="综合得分（分）", range=[0, 100])
    fig.update_layout(
        title=title,
        font=FONT,
        height=max(260, 32 * rows.height + 110),
        margin=dict(l=10, r=10, t=60),
        bargap=0.3,
    )
    return fig


def _stacked(title: str, width: int = 3) -> str:
    """A column title in lines of ``width`` characters, the unit on its own line: seven titles
    side by side overlap otherwise."""
    name, bracket, unit = title.partition("（")
    lines = [name[i : i + width] for i in range(0, len(name), width)]
    return "<br>".join(lines + ([bracket + unit] if bracket else []))


def _basis(per_case: float | None) -> str:
    """What a leads cell's score compares, for its hover text."""
    if per_case is None:
        return ""
    return f"<br>每个在册案件线索数：{per_case:.3f}（得分按此与十个街镇中最大者比较）"


def heatmap(
    heat: pl.DataFrame, title: str = "街镇 × 指标（颜色为得分，数字为指标值）"
) -> go.Figure:
    """Streets × indicators coloured by score (0–100, higher better), each cell showing the
    indicator's own value; the hover text gives both, and for leads the leads per active case
    the score compares."""
    if heat.height == 0:
        return _empty(title)
    streets = heat.get_column("street").unique(maintain_order=True).to_list()
    titles = heat.get_column("title").unique(maintain_order=True).to_list()
    names = dict(zip(heat["title"], heat["indicator"], strict=True))
    per_case = (
        heat["per_case"]
        if "per_case" in heat.columns
        else pl.Series([None] * heat.height, dtype=pl.Float64)
    )
    cells = {
        (s, t): (score, value, basis)
        for s, t, score, value, basis in zip(
            heat["street"], heat["title"], heat["score"], heat["value"], per_case, strict=True
        )
    }
    blank = (None, None, None)
    z = [[cells.get((s, t), blank)[0] for t in titles] for s in streets]
    text = [[format_value(names[t], cells.get((s, t), blank)[1]) for t in titles] for s in streets]
    basis = [[_basis(cells.get((s, t), blank)[2]) for t in titles] for s in streets]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=titles,
            y=[plot_text(s) for s in streets],
            text=text,
            texttemplate="%{text}",
            customdata=basis,
            zmin=0,
            zmax=100,
            colorscale=SCORE_SCALE,
            colorbar=dict(title="得分（分）"),
            hovertemplate=("%{y}<br>%{x}：%{text}<br>得分：%{z:.1f}%{customdata}<extra></extra>"),
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(
        side="top", tickangle=0, tickvals=titles, ticktext=[_stacked(t) for t in titles]
    )
    fig.update_layout(
        title=dict(text=title, y=0.99, yanchor="top"),
        font=FONT,
        height=max(330, 34 * len(streets) + 170),
        margin=dict(l=10, r=10, t=140),
    )
    return fig


# The streets' lines: distinct colours, thin, beside the district's thick dark line.
STREET_COLOURS = (
    "#4c78a8",
    "#f58518",
    "#54a24b",
    "#e45756",
    "#72b7b2",
    "#b279a2",
    "#eeca3b",
    "#9d755d",
    "#ff9da6",
    "#79706e",
)
# Hover formats (d3) per unit: money with two decimals, rates and scores with one, counts whole.
HOVER = {"元": ",.2f", "比率": ".1f", "分": ".1f", "每千笔": ".1f"}


def trend_lines(trends: pl.DataFrame, indicator: str, title: str | None = None) -> go.Figure:
    """``indicator`` month by month: 全区 a thick dark line drawn on top, each street a thin
    line of its own colour; a money axis in 万 (never "4M")."""
    title = title or f"{indicator_title(indicator)}月度趋势"
    if trends.height == 0 or trends.get_column("value").is_null().all():
        return _empty(title)
    unit = BY_NAME[indicator].unit
    scale = 100 if unit == "比率" else 1
    hover = HOVER.get(unit, ",.0f")
    suffix = "%" if unit == "比率" else ""
    fig = go.Figure()
    streets = trends.get_column("street").unique(maintain_order=True).to_list()
    # The district last, so that its line is drawn over the streets'.
    ordered = [s for s in streets if s != DISTRICT] + [s for s in streets if s == DISTRICT]
    values = []
    for i, street in enumerate(ordered):
        rows = trends.filter(pl.col("street") == street)
        district = street == DISTRICT
        name = plot_text(street)
        y = [None if v is None else v * scale for v in rows.get_column("value").to_list()]
        values += y
        fig.add_trace(
            go.Scatter(
                x=rows.get_column("period").to_list(),
                y=y,
                mode="lines+markers",
                name=name,
                line=dict(
                    width=5 if district else 1.5,
                    color=DISTRICT_COLOUR if district else STREET_COLOURS[i % len(STREET_COLOURS)],
                ),
                marker=dict(size=9 if district else 5),
                opacity=1.0 if district else 0.8,
                hovertemplate=f"{name}<br>%{{x}}：%{{y:{hover}}}{suffix}<extra></extra>",
            )
        )
    fig.update_xaxes(title_text="月份", type="category")
    fig.update_yaxes(title_text=indicator_title(indicator))
    if unit == "元":
        ticks, labels = formats.axis_wan(values)
        fig.update_yaxes(
            tickvals=ticks,
            ticktext=labels,
            title_text=f"{BY_NAME[indicator].title}（元，刻度以万元计）",
        )
    else:
        fig.update_yaxes(tickformat=",")
    fig.update_layout(
        title=title,
        font=FONT,
        height=420,
        margin=dict(l=10, r=10, t=60),
        legend=dict(orientation="h", y=-0.2),
    )
    return fig


def leads_bars(leads: pl.DataFrame, title: str = "线索分类") -> go.Figure:
    """Open leads per family of checks."""
    if leads.height == 0 or not leads.get_column("findings").fill_null(0).sum():
        return _empty(title)
    counts = leads.get_column("findings").to_list()
    fig = go.Figure(
        go.Bar(
            x=leads.get_column("family_title").to_list(),
            y=[c or 0 for c in counts],
            marker_color=BAR_COLOUR,
            text=["未检查" if c is None else formats.count(c) for c in counts],
            textposition="outside",
            hovertemplate="%{x}：%{text}<extra></extra>",
        )
    )
    fig.update_yaxes(title_text="线索数")
    fig.update_layout(title=title, font=FONT, height=300, margin=dict(l=10, r=10, t=60))
    return fig


def indicator_lines(over_time: pl.DataFrame, indicators: list[str], title: str) -> go.Figure:
    """One street's indicators over time (``period``, ``indicator``, ``value``), one line each,
    rates in percent."""
    rows = over_time.filter(pl.col("indicator").is_in(indicators))
    if rows.height == 0 or rows.get_column("value").is_null().all():
        return _empty(title)
    fig = go.Figure()
    for name in indicators:
        line = rows.filter(pl.col("indicator") == name)
        scale = 100 if indicator_title(name).endswith("（%）") else 1
        fig.add_trace(
            go.Scatter(
                x=line.get_column("period").to_list(),
                y=[None if v is None else v * scale for v in line.get_column("value").to_list()],
                mode="lines+markers",
                name=indicator_title(name),
                hovertemplate=f"{indicator_title(name)}<br>%{{x}}：%{{y:,.1f}}<extra></extra>",
            )
        )
    fig.update_xaxes(title_text="期间", type="category")
    fig.update_layout(
        title=title,
        font=FONT,
        height=380,
        margin=dict(l=10, r=10, t=60),
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


def check_bars(by_check: pl.DataFrame, title: str = "各检查项线索数") -> go.Figure:
    """Findings per check (``title``, ``findings``), most first."""
    rows = by_check.filter(pl.col("findings") > 0)
    if rows.height == 0:
        return _empty(title)
    fig = go.Figure(
        go.Bar(
            y=rows.get_column("title").to_list(),
            x=rows.get_column("findings").to_list(),
            orientation="h",
            marker_color=BAR_COLOUR,
            text=rows.get_column("findings").to_list(),
            textposition="auto",
            hovertemplate="%{y}：%{x}条<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="线索数")
    fig.update_layout(
        title=title,
        font=FONT,
        height=max(240, 30 * rows.height + 110),
        margin=dict(l=10, r=10, t=60),
        bargap=0.3,
    )
    return fig


def circle_bars(circles: pl.DataFrame, title: str = "低收入人口四个圈层") -> go.Figure:
    """Households per circle (``name``, ``households``)."""
    if circles.height == 0 or circles.get_column("households").is_null().all():
        return _empty(title)
    households = [
        None if v is None else int(round(v)) for v in circles.get_column("households").to_list()
    ]
    fig = go.Figure(
        go.Bar(
            x=[plot_text(n) for n in circles.get_column("name").to_list()],
            y=households,
            marker_color=BAR_COLOUR,
            text=[formats.count(v) if v is not None else "" for v in households],
            textposition="auto",
            hovertemplate="%{x}：%{y:,}户<extra></extra>",
        )
    )
    fig.update_yaxes(title_text="户数")
    fig.update_layout(title=title, font=FONT, height=300, margin=dict(l=10, r=10, t=60))
    return fig


FUNNEL_COLOURS = ("#4c78a8", "#72b7b2", "#54a24b", "#eeca3b")


def funnel_chart(funnel: pl.DataFrame, title: str = "线索处置漏斗") -> go.Figure:
    """The follow-up funnel (analytics.workflow.followup.funnel: stage, label, count,
    amount_fen): leads found, verified, rectified, money recovered, each bar as long as its
    count, its money beside it."""
    if funnel.height == 0 or funnel.get_column("count").sum() == 0:
        return _empty(title)
    counts = funnel.get_column("count").to_list()
    money = [f"{fen / 100:,.2f}" for fen in funnel.get_column("amount_fen").to_list()]
    fig = go.Figure(
        go.Funnel(
            y=funnel.get_column("label").to_list(),
            x=counts,
            text=[f"{n:,}条 · {m}元" for n, m in zip(counts, money, strict=True)],
            textinfo="text",
            textposition="inside",
            customdata=money,
            marker=dict(color=list(FUNNEL_COLOURS[: funnel.height])),
            hovertemplate="%{y}：%{x:,}条<br>金额：%{customdata}元<extra></extra>",
        )
    )
    fig.update_layout(title=title, font=FONT, height=320, margin=dict(l=10, r=10, t=60))
    return fig


FOLLOWUP_SERIES = (
    ("open", "未办结", "#4c78a8"),
    ("overdue", "已超期", "#e45756"),
    ("rectified", "已整改待回头看", "#72b7b2"),
    ("rechecked", "回头看通过", "#54a24b"),
    ("recurred", "回头看复发", "#f58518"),
    ("exceptions_due", "免责将到期或已到期", "#b279a2"),
)


def followup_bars(summary: pl.DataFrame, title: str = "各街镇回头看情况") -> go.Figure:
    """Per street (analytics.workflow.followup.street_summary): open, overdue, rectified
    awaiting 回头看, re-checked, recurred and exceptions ending, side by side."""
    columns = [c for c, _, _ in FOLLOWUP_SERIES]
    rows = summary.filter(pl.sum_horizontal(*columns) > 0) if summary.height else summary
    if rows.height == 0:
        return _empty(title)
    streets = [plot_text(s) for s in rows.get_column("street").to_list()]
    fig = go.Figure()
    for column, name, colour in FOLLOWUP_SERIES:
        values = rows.get_column(column).to_list()
        fig.add_trace(
            go.Bar(
                x=streets,
                y=values,
                name=name,
                marker_color=colour,
                hovertemplate=f"%{{x}}<br>{name}：%{{y}}条<extra></extra>",
            )
        )
    fig.update_yaxes(title_text="线索数")
    fig.update_layout(
        title=title,
        font=FONT,
        height=380,
        barmode="group",
        margin=dict(l=10, r=10, t=60),
        legend=dict(orientation="h", y=-0.2),
    )
    return fig
