"""Figures of the 资金比对 page, built from the frames of analytics.views.funds.

Each function returns a plotly figure and reads nothing else, so the tests can inspect its traces
without a browser. Money arrives in fen and is drawn in yuan: hover and bar labels as
``804,530.00``, the money axis in 万 (analytics.formats.axis_wan), counts as ``1,376``. Labels
taken from the data go through analytics.export.plot_text: Plotly draws some HTML tags in them.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from analytics.export import plot_text
from analytics.formats import axis_wan

COUNT = "发现数"
MONEY = "涉及金额（元）"
MONEY_AXIS = "涉及金额"  # its ticks say 万
MONEY_HOVER = "%{x:,.2f}"
EMPTY = "当前筛选条件下没有发现"
COUNT_COLOUR = "#4c78a8"
MONEY_COLOUR = "#e45756"
FONT = dict(family="'Noto Sans CJK SC', 'WenQuanYi Micro Hei', 'Microsoft YaHei', sans-serif")


def _yuan(frame: pl.DataFrame, column: str = "amount_fen") -> list[float]:
    return (frame.get_column(column).fill_null(0) / 100).to_list()


def _empty(title: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=EMPTY, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(title=title, font=FONT, xaxis_visible=False, yaxis_visible=False, height=240)
    return fig


def _text_positions(values: Sequence[float]) -> list[str]:
    return ["outside" if not v else "auto" for v in values]


def _count_and_money(
    labels: list[str], counts: list[int], money: list[float], title: str, axis_title: str
) -> go.Figure:
    """Two horizontal bar panels sharing the category axis: count left, money right."""
    if not labels:
        return _empty(title)
    labels = [plot_text(label) for label in labels]
    fig = make_subplots(
        rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04, subplot_titles=(COUNT, MONEY)
    )
    # A zero bar has no inside to write in: its 0 is written beside it, so that a street or a
    # check without findings still shows its zero.
    fig.add_trace(
        go.Bar(
            name=COUNT,
            y=labels,
            x=counts,
            orientation="h",
            marker_color=COUNT_COLOUR,
            texttemplate="%{x:,}",
            textposition=_text_positions(counts),
            hovertemplate=f"%{{y}}<br>{COUNT}：%{{x:,}}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            name=MONEY,
            y=labels,
            x=money,
            orientation="h",
            marker_color=MONEY_COLOUR,
            texttemplate=MONEY_HOVER,
            textposition=_text_positions(money),
            hovertemplate=f"%{{y}}<br>{MONEY}：{MONEY_HOVER}<extra></extra>",
        ),
        row=1,
        col=2,
    )
    fig.update_yaxes(autorange="reversed", title_text=axis_title, row=1, col=1)
    fig.update_xaxes(title_text=COUNT, tickformat=",d", rangemode="tozero", row=1, col=1)
    ticks, tick_labels = axis_wan(money)
    fig.update_xaxes(
        title_text=MONEY_AXIS,
        tickmode="array",
        tickvals=ticks,
        ticktext=tick_labels,
        range=[min(0.0, ticks[0]), max(ticks[-1], 1.0)],
        row=1,
        col=2,
    )
    fig.update_layout(
        title=title,
        font=FONT,
        showlegend=False,
        bargap=0.3,
        height=max(260, 36 * len(labels) + 120),
        margin=dict(l=10, r=10, t=70),
    )
    return fig


def check_bars(totals: pl.DataFrame) -> go.Figure:
    """Count and money at risk per check (analytics.views.funds.by_check)."""
    return _count_and_money(
        totals.get_column("title").to_list(),
        totals.get_column("findings").to_list(),
        _yuan(totals),
        "各检查项的发现数与涉及金额",
        "检查项",
    )


def street_bars(totals: pl.DataFrame) -> go.Figure:
    """Count and money at risk per street (analytics.views.funds.by_street)."""
    return _count_and_money(
        totals.get_column("street").to_list(),
        totals.get_column("findings").to_list(),
        _yuan(totals),
        "各街镇的发现数与涉及金额",
        "街镇",
    )


def street_check_heatmap(counts: pl.DataFrame, money: pl.DataFrame | None = None) -> go.Figure:
    """Street × check heat map of counts (analytics.views.funds.matrix), with the money at risk
    (the ``amount_fen`` matrix of the same shape) in the hover text when given."""
    title = "街镇 × 检查项 发现数"
    checks = [c for c in counts.columns if c != "street"]
    if counts.height == 0 or not checks:
        return _empty(title)
    streets = [plot_text(s) for s in counts.get_column("street").to_list()]
    z = counts.select(checks).rows()
    hover = f"街镇：%{{y}}<br>检查项：%{{x}}<br>{COUNT}：%{{z:,}}"
    customdata = None
    if money is not None:
        customdata = (money.select(pl.col(checks) / 100)).rows()
        hover += f"<br>{MONEY}：%{{customdata:,.2f}}"
    # Zero cells stay blank so that the streets and checks with findings stand out.
    text = [["" if v == 0 else f"{v:,}" for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[plot_text(c) for c in checks],
            y=streets,
            customdata=customdata,
            colorscale="Reds",
            text=text,
            texttemplate="%{text}",
            hovertemplate=hover + "<extra></extra>",
            colorbar=dict(title=dict(text=COUNT)),
            xgap=2,
            ygap=2,
            name=COUNT,
        )
    )
    fig.update_yaxes(autorange="reversed", title_text="街镇")
    fig.update_xaxes(title_text="检查项", tickangle=-30)
    fig.update_layout(
        title=title,
        font=FONT,
        height=max(300, 40 * len(streets) + 200),
        margin=dict(l=10, r=10, t=60),
    )
    return fig
