"""The 关系图谱 network figure, drawn from an analytics.views.graph.GraphView.

Positions come with the view; this module only draws, so tests can inspect the traces without a
browser. Node shape and colour follow the kind; the evidence path is drawn thick and red. Labels
hold data (staff and case numbers, addresses) and go through analytics.export.plot_text: Plotly
draws some HTML tags in text and hover labels.
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from analytics.export import plot_text
from analytics.linkgraph import ACCOUNT, ADDRESS, CASE, KIND_ZH, KINDS, PERSON, PHONE, STAFF

FONT = dict(family="'Noto Sans CJK SC', 'WenQuanYi Micro Hei', 'Microsoft YaHei', sans-serif")
SYMBOL = {STAFF: "star", PERSON: "circle", CASE: "square", ACCOUNT: "diamond",
          PHONE: "triangle-up", ADDRESS: "hexagon"}
COLOUR = {STAFF: "#d62728", PERSON: "#1f77b4", CASE: "#7f7f7f", ACCOUNT: "#ff7f0e",
          PHONE: "#2ca02c", ADDRESS: "#9467bd"}
PATH_COLOUR = "#e6194b"
EDGE_COLOUR = "#b8b8b8"
PATH_TRACE = "证据路径"
EDGE_TRACE = "关系"
LABEL_TRACE = "关系名称"
EMPTY = "没有可显示的关系"


def _segments(edges: pl.DataFrame, pos: dict[str, tuple[float, float]]
              ) -> tuple[list[float | None], list[float | None]]:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for source, target in edges.select("source", "target").iter_rows():
        (x0, y0), (x1, y1) = pos[source], pos[target]
        xs += [x0, x1, None]
        ys += [y0, y1, None]
    return xs, ys


def network_figure(view, height: int = 680) -> go.Figure:
    """Nodes by kind (shape, colour, masked label), edges with their labels, the path in red."""
    fig = go.Figure()
    if view.nodes.height == 0:
        fig.add_annotation(text=EMPTY, showarrow=False, x=0.5, y=0.5, xref="paper",
                           yref="paper")
        fig.update_layout(title=plot_text(view.title), font=FONT, xaxis_visible=False,
                          yaxis_visible=False, height=260)
        return fig
    pos = {k: (x, y) for k, x, y in view.nodes.select("key", "x", "y").iter_rows()}
    plain = view.edges.filter(~pl.col("highlight"))
    path = view.edges.filter(pl.col("highlight"))
    xs, ys = _segments(plain, pos)
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=EDGE_TRACE, hoverinfo="skip",
                             line=dict(color=EDGE_COLOUR, width=1.2), showlegend=False))
    xs, ys = _segments(path, pos)
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=PATH_TRACE, hoverinfo="skip",
                             line=dict(color=PATH_COLOUR, width=4), showlegend=path.height > 0))
    mid = view.edges.select(
        pl.col("source").replace_strict({k: v[0] for k, v in pos.items()},
                                        return_dtype=pl.Float64).alias("x0"),
        pl.col("target").replace_strict({k: v[0] for k, v in pos.items()},
                                        return_dtype=pl.Float64).alias("x1"),
        pl.col("source").replace_strict({k: v[1] for k, v in pos.items()},
                                        return_dtype=pl.Float64).alias("y0"),
        pl.col("target").replace_strict({k: v[1] for k, v in pos.items()},
                                        return_dtype=pl.Float64).alias("y1"),
        "label", "highlight")
    fig.add_trace(go.Scatter(
        x=((mid["x0"] + mid["x1"]) / 2).to_list(), y=((mid["y0"] + mid["y1"]) / 2).to_list(),
        mode="text", text=[plot_text(label) for label in mid["label"].to_list()],
        name=LABEL_TRACE, hoverinfo="skip",
        showlegend=False,
        textfont=dict(size=10, color=[PATH_COLOUR if h else "#555555"
                                      for h in mid["highlight"].to_list()])))
    for kind in KINDS:
        part = view.nodes.filter(pl.col("kind") == kind)
        if part.height == 0:
            continue
        on_path = part.get_column("highlight").to_list()
        hubs = part.get_column("hub").to_list()
        labels = [plot_text(label) for label in part.get_column("label").to_list()]
        fig.add_trace(go.Scatter(
            x=part["x"].to_list(), y=part["y"].to_list(), mode="markers+text",
            name=KIND_ZH[kind], text=labels, textposition="top center",
            textfont=dict(size=10),
            hovertext=[f"{KIND_ZH[kind]}：{lab}" + ("（多人共用）" if hub else "")
                       for lab, hub in zip(labels, hubs)],
            hoverinfo="text",
            marker=dict(symbol=SYMBOL[kind], color=COLOUR[kind],
                        size=[22 if h else 15 for h in on_path],
                        line=dict(color=[PATH_COLOUR if h else "#ffffff" for h in on_path],
                                  width=[3 if h else 1 for h in on_path]),
                        opacity=[1.0 if h else 0.85 for h in on_path])))
    fig.update_layout(
        title=dict(text=plot_text(view.title), font=dict(size=14)), font=FONT, height=height,
        hovermode="closest", showlegend=True, plot_bgcolor="#ffffff",
        legend=dict(orientation="h", yanchor="bottom", y=-0.08, x=0),
        xaxis=dict(visible=False), yaxis=dict(visible=False, scaleanchor="x"),
        margin=dict(l=10, r=10, t=60, b=40))
    return fig
