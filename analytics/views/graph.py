"""关系图谱: evidence subgraphs, clusters and their export, as the page shows them.

A view starts from a finding, a person, a staff member, an account or a cluster and returns at
most ``MAX_NODES`` nodes with masked labels, their edges, a layout, what to highlight and the
findings it touches. Clusters are the link graph's components (hubs left out) that hold
findings, ranked per street by how many findings and how much money they hold.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import networkx as nx
import numpy as np
import polars as pl

from analytics import export
from analytics.linkgraph import (
    ACCOUNT, CASE, KIND_ZH, PERSON, STAFF, LinkGraph, induced, neighbourhood, node_label,
)
from analytics.masking import mask_account_expr, mask_id_expr
from analytics.schema import STREETS

MAX_NODES = 150
FAMILY = "integrity"
ALL_STREETS = "全部街镇"
UNKNOWN_STREET = "（未知街镇）"
STREET_ORDER = {s: i for i, s in enumerate(STREETS)}

FINDING_HEADERS = {
    "title": "检查项", "severity": "严重程度", "street": "街镇", "case_id": "救助编号",
    "staff_id": "工号", "id_number": "身份证号", "account_no": "银行账号",
    "amount": "涉及金额（元）", "summary": "摘要", "finding_id": "编号",
}
CLUSTER_HEADERS = {
    "rank": "排名", "street": "街镇", "cluster": "线索群", "findings": "线索数",
    "amount": "涉及案件实发金额（元）", "checks": "检查项", "size": "关联节点数",
}


@dataclass
class GraphView:
    """What the page draws: nodes and edges with masked labels, layout and highlights."""

    title: str
    nodes: pl.DataFrame     # key, kind, kind_zh, label, hub, seed, highlight, x, y
    edges: pl.DataFrame     # source, target (node keys), label, kind, highlight
    findings: pl.DataFrame  # findings touching these nodes (raw; see findings_table)
    truncated: bool         # the neighbourhood had more than MAX_NODES nodes
    cluster: str | None = None
    money_fen: int = 0      # paid for the distinct cases the findings name

    @property
    def path_keys(self) -> list[str]:
        return self.nodes.filter(pl.col("highlight")).get_column("key").to_list()


# --- findings and their evidence ------------------------------------------------------------

def _key_columns() -> list[pl.Expr]:
    return [pl.concat_str([pl.lit(kind + ":"), pl.col(column)]).alias(f"_{kind}")
            for kind, column in ((STAFF, "staff_id"), (CASE, "case_id"),
                                 (ACCOUNT, "account_no"), (PERSON, "id_number"))]


def anchors(findings: pl.DataFrame) -> pl.DataFrame:
    """finding_id -> anchor node key: the first node of its evidence path, else its staff
    member, case, account or person."""
    return findings.select(
        "finding_id",
        pl.coalesce([pl.col("evidence").str.json_path_match("$.nodes[0].id"), *_key_columns()])
        .alias("anchor"))


_NODES_ONLY = pl.Struct({"nodes": pl.List(pl.Struct({"id": pl.String}))})


def evidence_keys(findings: pl.DataFrame) -> pl.DataFrame:
    """finding_id, key: every node a finding names, in its evidence or its key columns."""
    if findings.height == 0:
        return pl.DataFrame(schema={"finding_id": pl.String, "key": pl.String})
    from_evidence = (findings.select(
        "finding_id",
        pl.col("evidence").str.json_decode(_NODES_ONLY).struct.field("nodes").alias("key"))
        .explode("key").select("finding_id", pl.col("key").struct.field("id").alias("key")))
    from_keys = (findings.select("finding_id", pl.concat_list(_key_columns()).alias("key"))
                 .explode("key"))
    return (pl.concat([from_evidence, from_keys]).drop_nulls("key")
            .unique(maintain_order=True))


def money_of(graph: LinkGraph, findings: pl.DataFrame) -> int:
    """Money paid for the distinct cases the findings name: each case counted once, however
    many findings point at it."""
    cases = (evidence_keys(findings).filter(pl.col("key").str.starts_with(CASE + ":"))
             .get_column("key").unique())
    idx = graph.index_of(cases.to_list())
    return int(graph.paid[idx].sum()) if idx.size else 0


def _parse(evidence: str | None, fallback: list[str]) -> tuple[list[dict], list[dict]]:
    body = json.loads(evidence or "{}")
    nodes = body.get("nodes") or [{"id": k} for k in fallback if k]
    return nodes, body.get("edges") or []


def evidence_of(findings: pl.DataFrame, finding_id: str) -> tuple[list[dict], list[dict]]:
    """(nodes, edges) of one finding's evidence; without a drawn path, its key columns' nodes
    and no edges."""
    row = findings.filter(pl.col("finding_id") == finding_id)
    if row.height == 0:
        return [], []
    return _parse(row.get_column("evidence")[0], list(row.select(_key_columns()).row(0)))


def findings_table(findings: pl.DataFrame) -> pl.DataFrame:
    """Findings with Chinese headers; ID numbers and accounts masked."""
    if findings.height == 0:
        return pl.DataFrame(schema={v: pl.String for v in FINDING_HEADERS.values()})
    return (findings
            .sort("amount_fen", "finding_id", descending=[True, False], nulls_last=True)
            .select(*FINDING_HEADERS)
            .with_columns(mask_id_expr("id_number").alias("id_number"),
                          mask_account_expr("account_no").alias("account_no"))
            .rename(FINDING_HEADERS))


def integrity_findings(findings: pl.DataFrame) -> pl.DataFrame:
    return findings.filter(pl.col("family") == FAMILY)


def finding_choices(findings: pl.DataFrame) -> list[tuple[str, str]]:
    """(finding_id, what a picker shows) of the integrity findings, most money first."""
    rows = (integrity_findings(findings)
            .sort("amount_fen", "finding_id", descending=[True, False], nulls_last=True)
            .select("finding_id", pl.concat_str([pl.col("title"), pl.lit("｜"), pl.col("street")
                                                 .fill_null(""), pl.lit("｜"),
                                                 pl.col("summary").str.slice(0, 60)])))
    return list(rows.iter_rows())


# --- building a view --------------------------------------------------------------------------

def _touching(graph_keys: set[str], findings: pl.DataFrame) -> pl.DataFrame:
    if findings.height == 0:
        return findings
    hit = pl.any_horizontal([expr.is_in(list(graph_keys)).fill_null(False)
                             for expr in _key_columns()])
    anchor = anchors(findings).filter(pl.col("anchor").is_in(list(graph_keys)))
    return findings.filter(hit | pl.col("finding_id").is_in(anchor.get_column("finding_id")
                                                           .implode()))


def _layout(nodes: pl.DataFrame, edges: pl.DataFrame) -> tuple[list[float], list[float]]:
    g = nx.Graph()
    keys = nodes.get_column("key").to_list()
    g.add_nodes_from(keys)
    g.add_edges_from(zip(edges.get_column("source").to_list(),
                         edges.get_column("target").to_list()))
    if len(keys) == 1:
        return [0.0], [0.0]
    pos = nx.spring_layout(g, seed=7, k=1.6 / max(np.sqrt(len(keys)), 1.0), iterations=60)
    return [float(pos[k][0]) for k in keys], [float(pos[k][1]) for k in keys]


def build_view(graph: LinkGraph, findings: pl.DataFrame, title: str, seeds: list[str],
               path_keys: set[str] | None = None,
               path_pairs: list[tuple[str, str, str]] | None = None,
               max_nodes: int = MAX_NODES, cluster: str | None = None) -> GraphView:
    """The neighbourhood of ``seeds`` (node keys), with the path (keys and edges) highlighted."""
    path_keys = set(path_keys or ())
    path_pairs = list(path_pairs or ())
    ordered_seeds = list(dict.fromkeys([*seeds, *sorted(path_keys)]))
    seed_idx = graph.index_of(ordered_seeds).tolist()
    chosen = neighbourhood(graph, seed_idx, max_nodes) if seed_idx else []
    reach = neighbourhood(graph, seed_idx, max_nodes + 1) if seed_idx else []
    nodes, edges = induced(graph, chosen)
    key_of = dict(zip(nodes.get_column("idx").to_list(), nodes.get_column("key").to_list()))
    edges = edges.select(
        pl.col("src").replace_strict(key_of, return_dtype=pl.String).alias("source"),
        pl.col("dst").replace_strict(key_of, return_dtype=pl.String).alias("target"),
        "label", "kind")
    # A path edge the graph does not hold as such (a role pair, a derived step) is drawn too.
    present = set(zip(edges.get_column("source").to_list(), edges.get_column("target").to_list()))
    shown = set(nodes.get_column("key").to_list())
    extra = [(a, b, lab) for a, b, lab in path_pairs
             if a in shown and b in shown and (a, b) not in present and (b, a) not in present]
    if extra:
        edges = pl.concat([edges, pl.DataFrame(
            {"source": [a for a, _, _ in extra], "target": [b for _, b, _ in extra],
             "label": [lab for _, _, lab in extra], "kind": ["evidence"] * len(extra)})])
    on_path = {frozenset((a, b)) for a, b, _ in path_pairs}
    pair = [frozenset(p) for p in zip(edges.get_column("source").to_list(),
                                       edges.get_column("target").to_list())]
    edges = edges.with_columns(pl.Series("highlight", [p in on_path for p in pair],
                                         dtype=pl.Boolean))
    nodes = nodes.with_columns(
        pl.col("kind").replace_strict(KIND_ZH, default="", return_dtype=pl.String)
        .alias("kind_zh"),
        pl.col("key").is_in(seeds).alias("seed"),
        pl.col("key").is_in(list(path_keys)).alias("highlight"))
    x, y = _layout(nodes, edges)
    nodes = nodes.with_columns(pl.Series("x", x, dtype=pl.Float64),
                               pl.Series("y", y, dtype=pl.Float64)).select(
        "key", "kind", "kind_zh", "label", "hub", "seed", "highlight", "x", "y")
    touching = _touching(shown, findings)
    return GraphView(title=title, nodes=nodes, edges=edges, findings=touching,
                     truncated=len(reach) > max_nodes, cluster=cluster,
                     money_fen=money_of(graph, touching))


def finding_view(graph: LinkGraph, findings: pl.DataFrame, finding_id: str,
                 max_nodes: int = MAX_NODES) -> GraphView:
    """A finding's evidence path, highlighted, in its neighbourhood."""
    row = findings.filter(pl.col("finding_id") == finding_id)
    if row.height == 0:
        raise KeyError(finding_id)
    nodes, edges = evidence_of(findings, finding_id)
    keys = [n["id"] for n in nodes]
    pairs = [(e["from"], e["to"], e["label"]) for e in edges]
    if not pairs and len(keys) > 1:
        pairs = _shortest_path_pairs(graph, keys, max_nodes)
        keys = list(dict.fromkeys([k for a, b, _ in pairs for k in (a, b)] or keys))
    title = f"{row.get_column('title')[0]}（线索 {finding_id}）"
    return build_view(graph, findings, title, keys[:1], set(keys), pairs, max_nodes,
                      cluster=cluster_of(graph, findings, finding_id))


def _shortest_path_pairs(graph: LinkGraph, keys: list[str], max_nodes: int
                         ) -> list[tuple[str, str, str]]:
    """For a finding without a drawn path: the shortest path (networkx, on the neighbourhood
    only) from its first anchor to each other anchor."""
    idx = graph.index_of(keys).tolist()
    if len(idx) < 2:
        return []
    nodes, edges = induced(graph, neighbourhood(graph, idx, max_nodes))
    key_of = dict(zip(nodes.get_column("idx").to_list(), nodes.get_column("key").to_list()))
    g = nx.Graph()
    for s, d, label in edges.select("src", "dst", "label").iter_rows():
        g.add_edge(key_of[s], key_of[d], label=label)
    out = []
    start = key_of.get(idx[0])
    for target in (key_of.get(i) for i in idx[1:]):
        if start in g and target in g and nx.has_path(g, start, target):
            path = nx.shortest_path(g, start, target)
            out += [(a, b, g.edges[a, b]["label"]) for a, b in zip(path, path[1:])]
    return out


def node_view(graph: LinkGraph, findings: pl.DataFrame, kind: str, ident: str,
              max_nodes: int = MAX_NODES) -> GraphView:
    """The neighbourhood of one person (ID number), staff member, account or case."""
    key = f"{kind}:{ident.strip()}"
    if graph.index_of([key]).size == 0:
        raise KeyError(key)
    label = pl.DataFrame({"v": [ident.strip()]}).select(node_label(kind, pl.col("v"))).item()
    title = f"{KIND_ZH[kind]} {label}" if kind in (PERSON, ACCOUNT) else label
    return build_view(graph, findings, title + " 的关联关系", [key], {key}, [], max_nodes,
                      cluster=_cluster_id_of_keys(graph, [key]))


# --- clusters -------------------------------------------------------------------------------

def _finding_components(graph: LinkGraph, findings: pl.DataFrame) -> pl.DataFrame:
    """finding_id, component, cluster for findings whose anchor is in the graph."""
    anchored = anchors(findings)
    idx = graph.lookup(anchored.get_column("anchor"))
    found = idx >= 0
    component = graph.component[idx[found]]
    names = {int(c): graph.cluster_name(int(c)) for c in np.unique(component)}
    return (anchored.filter(pl.Series(found))
            .with_columns(pl.Series("component", component, dtype=pl.Int64))
            .with_columns(pl.col("component").replace_strict(names, return_dtype=pl.String)
                          .alias("cluster")))


def _cluster_id_of_keys(graph: LinkGraph, keys: list[str]) -> str | None:
    idx = graph.index_of(keys)
    if idx.size == 0:
        return None
    return graph.cluster_name(int(graph.component[int(idx[0])]))


def cluster_of(graph: LinkGraph, findings: pl.DataFrame, finding_id: str) -> str | None:
    hit = _finding_components(graph, findings.filter(pl.col("finding_id") == finding_id))
    return hit.get_column("cluster")[0] if hit.height else None


def _paid_of_keys(graph: LinkGraph, keys: pl.Series) -> pl.Series:
    idx = graph.lookup(keys)
    return pl.Series(np.where(idx >= 0, graph.paid[np.maximum(idx, 0)], 0), dtype=pl.Int64)


def rank_clusters(graph: LinkGraph, findings: pl.DataFrame, street: str | None = None
                  ) -> pl.DataFrame:
    """Clusters holding integrity findings, per street: most findings, then most money.

    Columns: street, rank, cluster, findings, amount_fen, checks, size.
    """
    own = integrity_findings(findings)
    schema = {"street": pl.String, "rank": pl.UInt32, "cluster": pl.String,
              "findings": pl.UInt32, "amount_fen": pl.Int64, "checks": pl.String,
              "size": pl.UInt32}
    if own.height == 0:
        return pl.DataFrame(schema=schema)
    placed = (_finding_components(graph, own)
              .join(own.select("finding_id", "street", "title"), on="finding_id", how="inner")
              .with_columns(pl.col("street").fill_null(UNKNOWN_STREET)))
    if street and street != ALL_STREETS:
        placed = placed.filter(pl.col("street") == street)
    # Money: paid for the distinct cases the cluster's findings name (no double counting when
    # several checks point at the same case).
    cases = (evidence_keys(own).join(placed.select("finding_id", "street", "cluster"),
                                     on="finding_id", how="inner")
             .filter(pl.col("key").str.starts_with(CASE + ":"))
             .select("street", "cluster", "key").unique())
    case_money = (cases.with_columns(_paid_of_keys(graph, cases.get_column("key"))
                                     .alias("paid_fen"))
                  .group_by("street", "cluster").agg(pl.col("paid_fen").sum()
                                                     .alias("amount_fen")))
    ranked = (placed.group_by("street", "cluster", "component")
              .agg(pl.len().alias("findings"),
                   pl.col("title").unique().sort().str.join("、").alias("checks"))
              .join(case_money, on=["street", "cluster"], how="left")
              .with_columns(pl.col("amount_fen").fill_null(0))
              # Looked up here, not in a Polars callback: a Python function run by Polars'
              # workers can deadlock the server while another page holds the interpreter lock.
              .pipe(lambda f: f.with_columns(pl.Series(
                  "size", graph.component_size[f.get_column("component").to_numpy()],
                  dtype=pl.UInt32)))
              .with_columns(pl.col("street").replace_strict(STREET_ORDER, default=len(STREETS),
                                                            return_dtype=pl.Int32)
                            .alias("_street"))
              .sort(["_street", "street", "findings", "amount_fen", "cluster"],
                    descending=[False, False, True, True, False])
              .with_columns(pl.int_range(1, pl.len() + 1).over("street").cast(pl.UInt32)
                            .alias("rank")))
    return ranked.select(list(schema)).cast(schema)


def clusters_table(ranked: pl.DataFrame) -> pl.DataFrame:
    return (ranked.with_columns((pl.col("amount_fen").fill_null(0) / 100).round(2)
                                .alias("amount"))
            .select(list(CLUSTER_HEADERS)).rename(CLUSTER_HEADERS))


def cluster_findings(graph: LinkGraph, findings: pl.DataFrame, cluster: str) -> pl.DataFrame:
    placed = _finding_components(graph, integrity_findings(findings))
    ids = placed.filter(pl.col("cluster") == cluster).get_column("finding_id")
    return findings.filter(pl.col("finding_id").is_in(ids.implode()))


def cluster_view(graph: LinkGraph, findings: pl.DataFrame, cluster: str,
                 max_nodes: int = MAX_NODES) -> GraphView:
    """A cluster's findings, most money first, with their evidence paths highlighted: as many
    whole paths as fit in ``max_nodes``, then their surroundings."""
    own = cluster_findings(graph, findings, cluster).sort(
        "amount_fen", "finding_id", descending=[True, False], nulls_last=True)
    if own.height == 0:
        raise KeyError(cluster)
    keys: dict[str, None] = {}
    pairs: list[tuple[str, str, str]] = []
    drawn = 0
    for evidence, *key_values in own.select("evidence", *_key_columns()).iter_rows():
        nodes, edges = _parse(evidence, key_values)
        new = [n["id"] for n in nodes if n["id"] not in keys]
        if keys and len(keys) + len(new) > max_nodes:
            break
        keys.update(dict.fromkeys(new))
        pairs += [(e["from"], e["to"], e["label"]) for e in edges]
        drawn += 1
    title = f"线索群 {cluster}（{own.height} 条线索，图中标出 {drawn} 条的证据路径）"
    view = build_view(graph, findings, title, list(keys)[:1], set(keys), pairs, max_nodes,
                      cluster=cluster)
    view.truncated = view.truncated or drawn < own.height
    return view


def hubs_table(graph: LinkGraph) -> pl.DataFrame:
    """Phones and addresses shared by more people than the hub threshold, masked."""
    frame = graph.hubs.with_columns(
        pl.col("key").str.splitn(":", 2).struct.field("field_1").alias("ident"))
    label = pl.when(pl.col("kind") == "phone").then(node_label("phone", pl.col("ident"))) \
        .otherwise(node_label("address", pl.col("ident")))
    return frame.select(pl.col("kind").replace_strict(KIND_ZH, return_dtype=pl.String)
                        .alias("类型"), label.alias("共用的联系方式"),
                        pl.col("people").alias("共用人数"))


# --- export ---------------------------------------------------------------------------------

def cluster_frames(graph: LinkGraph, findings: pl.DataFrame, cluster: str
                   ) -> dict[str, pl.DataFrame]:
    """The sheets of a cluster's export: its findings, nodes and edges, all masked."""
    view = cluster_view(graph, findings, cluster, max_nodes=10 * MAX_NODES)
    own = cluster_findings(graph, findings, cluster)
    paths = own.select("finding_id", pl.col("evidence").str.json_path_match("$.path")
                       .alias("证据路径"))
    table = findings_table(own).join(paths.rename({"finding_id": "编号"}), on="编号",
                                     how="left")
    label_of = dict(zip(view.nodes.get_column("key").to_list(),
                        view.nodes.get_column("label").to_list()))
    kind_of = dict(zip(view.nodes.get_column("key").to_list(),
                       view.nodes.get_column("kind_zh").to_list()))
    nodes = view.nodes.select(pl.col("kind_zh").alias("类型"), pl.col("label").alias("名称"),
                              pl.when(pl.col("highlight")).then(pl.lit("是")).otherwise(
                                  pl.lit("")).alias("在证据路径上"))
    edges = view.edges.select(
        pl.col("source").replace_strict(kind_of, return_dtype=pl.String).alias("起点类型"),
        pl.col("source").replace_strict(label_of, return_dtype=pl.String).alias("起点"),
        pl.col("label").alias("关系"),
        pl.col("target").replace_strict(kind_of, return_dtype=pl.String).alias("终点类型"),
        pl.col("target").replace_strict(label_of, return_dtype=pl.String).alias("终点"),
        pl.when(pl.col("highlight")).then(pl.lit("是")).otherwise(pl.lit(""))
        .alias("在证据路径上"))
    return {"线索": table, "节点": nodes, "关系": edges}


def cluster_excel(graph: LinkGraph, findings: pl.DataFrame, cluster: str) -> bytes:
    """A cluster's evidence as an .xlsx workbook (线索, 节点, 关系 sheets), neutralised."""
    return export.excel_bytes(cluster_frames(graph, findings, cluster))


def staff_choices(graph: LinkGraph) -> list[str]:
    """Staff ids in the graph (not personal data), for a picker."""
    keys = graph.nodes.get_column("key")
    lo, hi = keys.search_sorted(STAFF + ":"), keys.search_sorted(STAFF + ";")
    return keys.slice(lo, hi - lo).str.strip_prefix(STAFF + ":").sort().to_list()


def path_text(findings: pl.DataFrame, finding_id: str) -> str:
    """The evidence path of a finding as one masked line, or its summary without one."""
    row = findings.filter(pl.col("finding_id") == finding_id)
    if row.height == 0:
        return ""
    body = json.loads(row.get_column("evidence")[0] or "{}")
    return body.get("path") or row.get_column("summary")[0] or ""


def summary_of(findings: pl.DataFrame, finding_id: str) -> str:
    row = findings.filter(pl.col("finding_id") == finding_id)
    return (row.get_column("summary")[0] or "") if row.height else ""


def log_lookup(store, viewer, kind: str, value: str) -> None:
    """A look-up by a full identifier, for a role that may look people up: logged (the value
    masked by the log) before the graph answers. Raises AccessError otherwise."""
    from analytics import access
    from analytics.store import audit

    access.require(viewer, "lookup_person")
    audit.record(store, actor=viewer.name, role=viewer.role, action="lookup_person",
                 target=value.strip(), detail={"kind": kind})
