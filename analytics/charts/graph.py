"""The 关系图谱 network figure, drawn from an analytics.views.graph.GraphView.

Positions come with the view; this module only draws, so tests can inspect the traces without a
browser. Node shape and colour follow the kind; the evidence path is drawn thick and red. Labels
hold data (staff and case numbers, addresses) and go through analytics.export.plot_text: Plotly
draws some HTML tags in text and hover labels.

A small view labels every node and edge. A dense one labels only what can be read: the start,
then the evidence path, then the best-connected nodes, each only where it does not cover a
label already placed, at most ``MAX_LABELS``; every node and edge keeps its hover label.
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from analytics import formats
from analytics.export import plot_text
from analytics.linkgraph import ACCOUNT, ADDRESS, CASE, KIND_ZH, KINDS, PERSON, PHONE, STAFF

FONT = dict(family="'Noto Sans CJK SC', 'WenQuanYi Micro Hei', 'Microsoft YaHei', sans-serif")
SYMBOL = {
    STAFF: "star",
    PERSON: "circle",
    CASE: "square",
    ACCOUNT: "diamond",
    PHONE: "triangle-up",
    ADDRESS: "hexagon",
}
COLOUR = {
    STAFF: "#d62728",
    PERSON: "#1f77b4",
    CASE: "#7f7f7f",
    ACCOUNT: "#ff7f0e",
    PHONE: "#2ca02c",
    ADDRESS: "#9467bd",
}
PATH_COLOUR = "#e6194b"
EDGE_COLOUR = "#b8b8b8"
PATH_TRACE = "证据路径"
EDGE_TRACE = "关系"
LABEL_TRACE = "关系名称"
EMPTY = "没有可显示的关系"

LABEL_ALL = 20  # a view with at most this many nodes and edges labels all of them
MAX_LABELS = 30  # at most this many labels (nodes and edges together) in a denser view
# The drawing area the placement assumes, in px: the page's column at 1280 px wide, less the
# figure's margins, title and legend (a wider screen only adds room).
PLOT_WIDTH, PLOT_HEIGHT = 860, 560
FONT_PX = 10  # label font size; a CJK character is this wide, other characters ~0.62 of it
LINE_PX = 16  # a label's line height, with a little room
LIFT_PX = 18  # a node's label centre above the node (marker radius and half a line)
GAP_PX = 4


def text_width(text: str) -> float:
    """Approximate width in px of a label at FONT_PX."""
    return sum(FONT_PX if ord(ch) > 0x2E80 else 0.62 * FONT_PX for ch in text)


def readable(
    x: list[float],
    y: list[float],
    widths: list[float],
    priority: list[int],
    forced: list[bool],
    limit: int = MAX_LABELS,
) -> list[bool]:
    """Which points get their label: in ``priority`` order (a list of indices), each label that
    would not overlap one already placed, ``forced`` ones always, at most ``limit`` in all
    (forced ones included). Positions are data coordinates drawn at equal scale on both axes
    into PLOT_WIDTH x PLOT_HEIGHT px; ``widths`` are the labels' widths in px."""
    n = len(x)
    if n == 0:
        return []
    x_span, y_span = (max(x) - min(x)) or 1.0, (max(y) - min(y)) or 1.0
    scale = min(PLOT_WIDTH / x_span, PLOT_HEIGHT / y_span)  # px per data unit
    px = [v * scale for v in x]
    py = [v * scale for v in y]
    shown = [False] * n
    placed: list[int] = []
    for i in priority:
        if len(placed) >= limit:
            break
        free = all(
            abs(px[i] - px[j]) >= (widths[i] + widths[j]) / 2 + GAP_PX
            or abs(py[i] - py[j]) >= LINE_PX
            for j in placed
        )
        if forced[i] or free:
            shown[i] = True
            placed.append(i)
    return shown


def _segments(
    edges: pl.DataFrame, pos: dict[str, tuple[float, float]]
) -> tuple[list[float | None], list[float | None]]:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for source, target in edges.select("source", "target").iter_rows():
        (x0, y0), (x1, y1) = pos[source], pos[target]
        xs += [x0, x1, None]
        ys += [y0, y1, None]
    return xs, ys


def label_masks(
    view, mx: list[float], my: list[float], node_text: list[str], edge_text: list[str]
) -> tuple[list[bool], list[bool]]:
    """Which node labels (``view.nodes`` order) and edge labels (``view.edges`` order, at the
    midpoints ``mx``, ``my``) are drawn. A view of at most LABEL_ALL nodes and edges shows them
    all; a denser one places them together so that none covers another: the start first
    (always), then the evidence path's nodes and edges, then the nodes with most edges, then
    the other edges."""
    nodes, edges = view.nodes, view.edges
    n = nodes.height
    if n <= LABEL_ALL and len(mx) <= LABEL_ALL:
        return [True] * n, [True] * len(mx)
    keys = nodes.get_column("key").to_list()
    degree: dict[str, int] = {}
    for end in ("source", "target"):
        for key in edges.get_column(end).to_list():
            degree[key] = degree.get(key, 0) + 1
    seed = nodes.get_column("seed").to_list()
    path = nodes.get_column("highlight").to_list()
    edge_path = edges.get_column("highlight").to_list()
    rank = [
        (0 if seed[i] else 1 if path[i] else 3, -degree.get(keys[i], 0), keys[i]) for i in range(n)
    ]
    rank += [(2 if edge_path[j] else 4, 0, f"{j:09d}") for j in range(len(mx))]
    xs = nodes.get_column("x").to_list()
    ys = nodes.get_column("y").to_list()
    # A node's label sits above its marker.
    x_span = (max(xs) - min(xs)) or 1.0
    y_span = (max(ys) - min(ys)) or 1.0
    lift = LIFT_PX / min(PLOT_WIDTH / x_span, PLOT_HEIGHT / y_span)
    shown = readable(
        xs + list(mx),
        [v + lift for v in ys] + list(my),
        [text_width(t) for t in node_text + edge_text],
        sorted(range(n + len(mx)), key=rank.__getitem__),
        seed + [False] * len(mx),
    )
    return shown[:n], shown[n:]


def network_figure(view, height: int = 680) -> go.Figure:
    """Nodes by kind (shape, colour, masked label), edges with their labels, the path in red."""
    fig = go.Figure()
    if view.nodes.height == 0:
        fig.add_annotation(text=EMPTY, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
        fig.update_layout(
            title=plot_text(view.title),
            font=FONT,
            xaxis_visible=False,
            yaxis_visible=False,
            height=260,
        )
        return fig
    pos = {k: (x, y) for k, x, y in view.nodes.select("key", "x", "y").iter_rows()}
    plain = view.edges.filter(~pl.col("highlight"))
    path = view.edges.filter(pl.col("highlight"))
    xs, ys = _segments(plain, pos)
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            name=EDGE_TRACE,
            hoverinfo="skip",
            line=dict(color=EDGE_COLOUR, width=1.2),
            showlegend=False,
        )
    )
    xs, ys = _segments(path, pos)
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            name=PATH_TRACE,
            hoverinfo="skip",
            line=dict(color=PATH_COLOUR, width=4),
            showlegend=path.height > 0,
        )
    )
    mid = view.edges.select(
        pl.col("source")
        .replace_strict({k: v[0] for k, v in pos.items()}, return_dtype=pl.Float64)
        .alias("x0"),
        pl.col("target")
        .replace_strict({k: v[0] for k, v in pos.items()}, return_dtype=pl.Float64)
        .alias("x1"),
        pl.col("source")
        .replace_strict({k: v[1] for k, v in pos.items()}, return_dtype=pl.Float64)
        .alias("y0"),
        pl.col("target")
        .replace_strict({k: v[1] for k, v in pos.items()}, return_dtype=pl.Float64)
        .alias("y1"),
        "label",
        "highlight",
    )
    mx = ((mid["x0"] + mid["x1"]) / 2).to_list()
    my = ((mid["y0"] + mid["y1"]) / 2).to_list()
    edge_labels = [plot_text(label) for label in mid["label"].to_list()]
    on_path = mid["highlight"].to_list()
    all_node_labels = [plot_text(label) for label in view.nodes.get_column("label").to_list()]
    node_labels, show = label_masks(view, mx, my, all_node_labels, edge_labels)
    fig.add_trace(
        go.Scatter(
            x=mx,
            y=my,
            mode="markers+text",
            text=[lab if s_ else "" for lab, s_ in zip(edge_labels, show, strict=True)],
            name=LABEL_TRACE,
            hovertext=[f"关系：{lab}" for lab in edge_labels],
            hoverinfo="text",
            showlegend=False,
            marker=dict(size=8, opacity=0),
            textfont=dict(size=10, color=[PATH_COLOUR if h else "#555555" for h in on_path]),
        )
    )
    for kind in KINDS:
        part = view.nodes.with_columns(pl.Series("_shown", node_labels, dtype=pl.Boolean)).filter(
            pl.col("kind") == kind
        )
        if part.height == 0:
            continue
        on_path = part.get_column("highlight").to_list()
        hubs = part.get_column("hub").to_list()
        labels = [plot_text(label) for label in part.get_column("label").to_list()]
        paid = (
            part.get_column("paid_fen").to_list()
            if "paid_fen" in part.columns
            else [None] * part.height
        )
        hover = [
            f"{KIND_ZH[kind]}：{lab}"
            + ("（多人共用）" if hub else "")
            + (
                f"<br>实发金额：{formats.money_fen(fen)}元"
                if kind == CASE and fen is not None
                else ""
            )
            for lab, hub, fen in zip(labels, hubs, paid, strict=True)
        ]
        fig.add_trace(
            go.Scatter(
                x=part["x"].to_list(),
                y=part["y"].to_list(),
                mode="markers+text",
                name=KIND_ZH[kind],
                text=[
                    lab if s_ else ""
                    for lab, s_ in zip(labels, part["_shown"].to_list(), strict=True)
                ],
                textposition="top center",
                textfont=dict(size=10),
                hovertext=hover,
                hoverinfo="text",
                marker=dict(
                    symbol=SYMBOL[kind],
                    color=COLOUR[kind],
                    size=[22 if h else 15 for h in on_path],
                    line=dict(
                        color=[PATH_COLOUR if h else "#ffffff" for h in on_path],
                        width=[3 if h else 1 for h in on_path],
                    ),
                    opacity=[1.0 if h else 0.85 for h in on_path],
                ),
            )
        )
    fig.update_layout(
        title=dict(text=plot_text(view.title), font=dict(size=14)),
        font=FONT,
        height=height,
        hovermode="closest",
        showlegend=True,
        plot_bgcolor="#ffffff",
        legend=dict(orientation="h", yanchor="bottom", y=-0.08, x=0),
        xaxis=dict(visible=False),
        yaxis=dict(visible=False, scaleanchor="x"),
        margin=dict(l=10, r=10, t=60, b=40),
    )
    return fig
