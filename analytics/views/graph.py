"""关系图谱: evidence subgraphs, clusters and their export, as the page shows them.

A view starts from a finding, a person, a staff member, an account or a cluster and returns at
most ``MAX_NODES`` nodes with masked labels, their edges, a layout, what to highlight and the
findings it touches. Clusters are the link graph's components (hubs left out) that hold
findings, ranked by how many findings and how much money (涉及金额, analytics.amounts) they hold;
a cluster is named on screen by its streets, households, findings and money, its key staying
internal. An identifier typed into a search is read as the app writes it (spaces, full-width
digits, dashes, a masked form). A run whose findings name people, accounts and cases the drop
does not have is said to belong to another drop.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import networkx as nx
import numpy as np
import polars as pl
from polars._typing import PolarsDataType

from analytics import amounts, export, formats
from analytics.linkgraph import (
    ACCOUNT,
    CASE,
    KIND_ZH,
    PERSON,
    STAFF,
    LinkGraph,
    induced,
    neighbourhood,
    node_label,
)
from analytics.masking import mask_account_expr, mask_id_expr
from analytics.schema import STREETS

MAX_NODES = 150
FAMILY = "integrity"
ALL_STREETS = "全部街镇"
UNKNOWN_STREET = "（未知街镇）"
STREET_ORDER = {s: i for i, s in enumerate(STREETS)}

FINDING_HEADERS = {
    "title": "检查项",
    "severity": "严重程度",
    "street": "街镇",
    "case_id": "救助编号",
    "staff_id": "工号",
    "id_number": "身份证号",
    "account_no": "银行账号",
    "amount": "涉及金额（元）",
    "summary": "摘要",
    "finding_id": "编号",
}
CLUSTER_HEADERS = {
    "rank": "排名",
    "street": "街镇",
    "households": "户数",
    "findings": "线索数",
    "amount": "涉及金额（元）",
    "checks": "检查项",
    "size": "关联节点数",
}


@dataclass
class GraphView:
    """What the page draws: nodes and edges with masked labels, layout and highlights."""

    title: str
    nodes: pl.DataFrame  # key, kind, kind_zh, label, hub, seed, highlight, x, y,
    # paid_fen (paid for a case node; may be absent)
    edges: pl.DataFrame  # source, target (node keys), label, kind, highlight
    findings: pl.DataFrame  # findings touching these nodes (raw; see findings_table)
    truncated: bool  # the neighbourhood had more than MAX_NODES nodes
    cluster: str | None = None
    money_fen: int = 0  # 涉及金额 of the findings (analytics.amounts), fen

    @property
    def path_keys(self) -> list[str]:
        return self.nodes.filter(pl.col("highlight")).get_column("key").to_list()


# --- findings and their evidence ------------------------------------------------------------


def _key_columns() -> list[pl.Expr]:
    return [
        pl.concat_str([pl.lit(kind + ":"), pl.col(column)]).alias(f"_{kind}")
        for kind, column in (
            (STAFF, "staff_id"),
            (CASE, "case_id"),
            (ACCOUNT, "account_no"),
            (PERSON, "id_number"),
        )
    ]


def anchors(findings: pl.DataFrame) -> pl.DataFrame:
    """finding_id -> anchor node key: the first node of its evidence path, else its staff
    member, case, account or person."""
    return findings.select(
        "finding_id",
        pl.coalesce(
            [pl.col("evidence").str.json_path_match("$.nodes[0].id"), *_key_columns()]
        ).alias("anchor"),
    )


_NODES_ONLY = pl.Struct({"nodes": pl.List(pl.Struct({"id": pl.String}))})


def evidence_keys(findings: pl.DataFrame) -> pl.DataFrame:
    """finding_id, key: every node a finding names, in its evidence or its key columns."""
    if findings.height == 0:
        return pl.DataFrame(schema={"finding_id": pl.String, "key": pl.String})
    from_evidence = (
        findings.select(
            "finding_id",
            pl.col("evidence").str.json_decode(_NODES_ONLY).struct.field("nodes").alias("key"),
        )
        .explode("key")
        .select("finding_id", pl.col("key").struct.field("id").alias("key"))
    )
    from_keys = findings.select("finding_id", pl.concat_list(_key_columns()).alias("key")).explode(
        "key"
    )
    return pl.concat([from_evidence, from_keys]).drop_nulls("key").unique(maintain_order=True)


def money_at_risk(findings: pl.DataFrame) -> int:
    """涉及金额 of ``findings`` in fen, by its one definition (analytics.amounts)."""
    if findings.height == 0:
        return 0
    return amounts.money_at_risk_fen(findings)


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
    return (
        findings.sort("amount_fen", "finding_id", descending=[True, False], nulls_last=True)
        .select(*FINDING_HEADERS)
        .with_columns(
            mask_id_expr("id_number").alias("id_number"),
            mask_account_expr("account_no").alias("account_no"),
        )
        .rename(FINDING_HEADERS)
    )


def integrity_findings(findings: pl.DataFrame) -> pl.DataFrame:
    return findings.filter(pl.col("family") == FAMILY)


def finding_choices(findings: pl.DataFrame) -> list[tuple[str, str]]:
    """(finding_id, what a picker shows) of the integrity findings, most money first."""
    rows = (
        integrity_findings(findings)
        .sort("amount_fen", "finding_id", descending=[True, False], nulls_last=True)
        .select(
            "finding_id",
            pl.concat_str(
                [
                    pl.col("title"),
                    pl.lit("｜"),
                    pl.col("street").fill_null(""),
                    pl.lit("｜"),
                    pl.col("summary").str.slice(0, 60),
                ]
            ),
        )
    )
    return list(rows.iter_rows())


# --- building a view --------------------------------------------------------------------------


def _touching(graph_keys: set[str], findings: pl.DataFrame) -> pl.DataFrame:
    if findings.height == 0:
        return findings
    hit = pl.any_horizontal(
        [expr.is_in(list(graph_keys)).fill_null(False) for expr in _key_columns()]
    )
    anchor = anchors(findings).filter(pl.col("anchor").is_in(list(graph_keys)))
    return findings.filter(
        hit | pl.col("finding_id").is_in(anchor.get_column("finding_id").implode())
    )


def _layout(nodes: pl.DataFrame, edges: pl.DataFrame) -> tuple[list[float], list[float]]:
    g = nx.Graph()
    keys = nodes.get_column("key").to_list()
    g.add_nodes_from(keys)
    g.add_edges_from(
        zip(edges.get_column("source").to_list(), edges.get_column("target").to_list(), strict=True)
    )
    if len(keys) == 1:
        return [0.0], [0.0]
    if nx.is_connected(g):
        # Distances on the page follow distances in the graph, so a household's members
        # spread around their case instead of piling up on it (deterministic, no seed).
        pos = nx.kamada_kawai_layout(g)
    else:
        pos = nx.spring_layout(g, seed=7, k=1.6 / max(np.sqrt(len(keys)), 1.0), iterations=60)
    return [float(pos[k][0]) for k in keys], [float(pos[k][1]) for k in keys]


def build_view(
    graph: LinkGraph,
    findings: pl.DataFrame,
    title: str,
    seeds: list[str],
    path_keys: set[str] | None = None,
    path_pairs: list[tuple[str, str, str]] | None = None,
    max_nodes: int = MAX_NODES,
    cluster: str | None = None,
) -> GraphView:
    """The neighbourhood of ``seeds`` (node keys), with the path (keys and edges) highlighted."""
    path_keys = set(path_keys or ())
    path_pairs = list(path_pairs or ())
    ordered_seeds = list(dict.fromkeys([*seeds, *sorted(path_keys)]))
    seed_idx = graph.index_of(ordered_seeds).tolist()
    chosen = neighbourhood(graph, seed_idx, max_nodes) if seed_idx else []
    reach = neighbourhood(graph, seed_idx, max_nodes + 1) if seed_idx else []
    nodes, edges = induced(graph, chosen)
    key_of = dict(
        zip(nodes.get_column("idx").to_list(), nodes.get_column("key").to_list(), strict=True)
    )
    edges = edges.select(
        pl.col("src").replace_strict(key_of, return_dtype=pl.String).alias("source"),
        pl.col("dst").replace_strict(key_of, return_dtype=pl.String).alias("target"),
        "label",
        "kind",
    )
    # A path edge the graph does not hold as such (a role pair, a derived step) is drawn too.
    present = set(
        zip(edges.get_column("source").to_list(), edges.get_column("target").to_list(), strict=True)
    )
    shown = set(nodes.get_column("key").to_list())
    extra = [
        (a, b, lab)
        for a, b, lab in path_pairs
        if a in shown and b in shown and (a, b) not in present and (b, a) not in present
    ]
    if extra:
        edges = pl.concat(
            [
                edges,
                pl.DataFrame(
                    {
                        "source": [a for a, _, _ in extra],
                        "target": [b for _, b, _ in extra],
                        "label": [lab for _, _, lab in extra],
                        "kind": ["evidence"] * len(extra),
                    }
                ),
            ]
        )
    on_path = {frozenset((a, b)) for a, b, _ in path_pairs}
    pair = [
        frozenset(p)
        for p in zip(
            edges.get_column("source").to_list(), edges.get_column("target").to_list(), strict=True
        )
    ]
    edges = edges.with_columns(
        pl.Series("highlight", [p in on_path for p in pair], dtype=pl.Boolean)
    )
    nodes = nodes.with_columns(
        pl.col("kind").replace_strict(KIND_ZH, default="", return_dtype=pl.String).alias("kind_zh"),
        pl.col("key").is_in(seeds).alias("seed"),
        pl.col("key").is_in(list(path_keys)).alias("highlight"),
    )
    x, y = _layout(nodes, edges)
    paid = graph.paid[nodes.get_column("idx").to_numpy().astype(np.int64)]
    nodes = nodes.with_columns(
        pl.Series("x", x, dtype=pl.Float64),
        pl.Series("y", y, dtype=pl.Float64),
        # money paid for a case node (fen), for its hover label
        pl.Series("paid_fen", paid, dtype=pl.Int64),
    ).select("key", "kind", "kind_zh", "label", "hub", "seed", "highlight", "x", "y", "paid_fen")
    touching = _touching(shown, findings)
    return GraphView(
        title=title,
        nodes=nodes,
        edges=edges,
        findings=touching,
        truncated=len(reach) > max_nodes,
        cluster=cluster,
        money_fen=money_at_risk(touching),
    )


def finding_view(
    graph: LinkGraph, findings: pl.DataFrame, finding_id: str, max_nodes: int = MAX_NODES
) -> GraphView:
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
    return build_view(
        graph,
        findings,
        title,
        keys[:1],
        set(keys),
        pairs,
        max_nodes,
        cluster=cluster_of(graph, findings, finding_id),
    )


def _shortest_path_pairs(
    graph: LinkGraph, keys: list[str], max_nodes: int
) -> list[tuple[str, str, str]]:
    """For a finding without a drawn path: the shortest path (networkx, on the neighbourhood
    only) from its first anchor to each other anchor."""
    idx = graph.index_of(keys).tolist()
    if len(idx) < 2:
        return []
    nodes, edges = induced(graph, neighbourhood(graph, idx, max_nodes))
    key_of = dict(
        zip(nodes.get_column("idx").to_list(), nodes.get_column("key").to_list(), strict=True)
    )
    g = nx.Graph()
    for s, d, label in edges.select("src", "dst", "label").iter_rows():
        g.add_edge(key_of[s], key_of[d], label=label)
    out = []
    start = key_of.get(idx[0])
    for target in (key_of.get(i) for i in idx[1:]):
        if start in g and target in g and nx.has_path(g, start, target):
            path = nx.shortest_path(g, start, target)
            out += [(a, b, g.edges[a, b]["label"]) for a, b in pairwise(path)]
    return out


class AmbiguousLookup(LookupError):
    """A masked identifier that fits several nodes: the page asks for the full one."""

    def __init__(self, matches: int):
        super().__init__(matches)
        self.matches = matches


# Layout a person types or copies between the digits of an identifier: blanks (a full-width
# space too), dashes of every width, the apostrophe a spreadsheet puts before long numbers.
_LAYOUT_RE = re.compile(r"[\s\u3000\-\u2010-\u2015\u2212\uFE58\uFE63\uFF0D]")
_MASKED_RE = re.compile(r"([^*]*)(\*+)([^*]*)")


def normalise_ident(kind: str, text: str | None) -> str:
    """An identifier as typed, in the form the graph keys hold: full-width characters made
    half-width (NFKC), blanks and dashes removed from ID numbers and accounts, a lower-case x
    upper-cased; a staff or case number only trimmed. Masking stars stay."""
    value = unicodedata.normalize("NFKC", text or "").strip().removeprefix("'").strip()
    if kind in (PERSON, ACCOUNT):
        value = _LAYOUT_RE.sub("", value)
    if kind == PERSON:
        value = value.upper()
        if re.fullmatch(r"[0-9]{15}", value):  # a legacy 15-digit number, as the reader reads it
            from analytics.parse import parse_id18

            value = parse_id18(value)[0] or value
    return value


def _masked_match(graph: LinkGraph, kind: str, value: str) -> str:
    """The one identifier of ``kind`` a masked value (``6222****3445``) fits: same length,
    head and tail."""
    parts = _MASKED_RE.fullmatch(value)
    if parts is None:
        raise KeyError(kind)
    head, _, tail = parts.groups()
    if not head and not tail:
        raise KeyError(kind)
    keys = graph.nodes.get_column("key")
    prefix = f"{kind}:{head}"
    lo = keys.search_sorted(prefix, side="left")
    hi = keys.search_sorted(prefix + "\U0010ffff", side="left")
    candidates = keys.slice(lo, hi - lo).str.strip_prefix(f"{kind}:")
    fits = candidates.filter(
        (candidates.str.len_chars() == len(value)) & candidates.str.ends_with(tail)
    )
    if fits.len() == 0:
        raise KeyError(kind)
    if fits.len() > 1:
        raise AmbiguousLookup(fits.len())
    return fits[0]


def resolve_ident(graph: LinkGraph, kind: str, text: str | None) -> str:
    """The identifier of the ``kind`` node that ``text`` names, as the graph holds it: the app's
    own spaced form (``6222 0000 1234 5678``), full-width digits, dashes and, when it fits one
    node only, the masked form the page shows. Raises KeyError when no node fits and
    AmbiguousLookup when a masked form fits several."""
    value = normalise_ident(kind, text)
    if not value:
        raise KeyError(kind)
    if "*" in value and kind in (PERSON, ACCOUNT):
        return _masked_match(graph, kind, value)
    if graph.index_of([f"{kind}:{value}"]).size == 0:
        raise KeyError(kind)
    return value


def node_view(
    graph: LinkGraph, findings: pl.DataFrame, kind: str, ident: str, max_nodes: int = MAX_NODES
) -> GraphView:
    """The neighbourhood of one person (ID number), staff member, account or case; ``ident``
    as typed (see resolve_ident)."""
    ident = resolve_ident(graph, kind, ident)
    key = f"{kind}:{ident}"
    label = pl.DataFrame({"v": [ident]}).select(node_label(kind, pl.col("v"))).item()
    title = f"{KIND_ZH[kind]} {label}" if kind in (PERSON, ACCOUNT) else label
    return build_view(
        graph,
        findings,
        title + " 的关联关系",
        [key],
        {key},
        [],
        max_nodes,
        cluster=_cluster_id_of_keys(graph, [key]),
    )


# --- clusters -------------------------------------------------------------------------------


def _finding_components(graph: LinkGraph, findings: pl.DataFrame) -> pl.DataFrame:
    """finding_id, component, cluster for findings whose anchor is in the graph."""
    anchored = anchors(findings)
    idx = graph.lookup(anchored.get_column("anchor"))
    found = idx >= 0
    component = graph.component[idx[found]]
    names = {int(c): graph.cluster_name(int(c)) for c in np.unique(component)}
    return (
        anchored.filter(pl.Series(found))
        .with_columns(pl.Series("component", component, dtype=pl.Int64))
        .with_columns(
            pl.col("component").replace_strict(names, return_dtype=pl.String).alias("cluster")
        )
    )


def _cluster_id_of_keys(graph: LinkGraph, keys: list[str]) -> str | None:
    idx = graph.index_of(keys)
    if idx.size == 0:
        return None
    return graph.cluster_name(int(graph.component[int(idx[0])]))


def cluster_of(graph: LinkGraph, findings: pl.DataFrame, finding_id: str) -> str | None:
    hit = _finding_components(graph, findings.filter(pl.col("finding_id") == finding_id))
    return hit.get_column("cluster")[0] if hit.height else None


RANK_SCHEMA: dict[str, PolarsDataType] = {
    "rank": pl.UInt32,
    "cluster": pl.String,
    "street": pl.String,
    "streets": pl.UInt32,
    "households": pl.UInt32,
    "findings": pl.UInt32,
    "amount_fen": pl.Int64,
    "checks": pl.String,
    "size": pl.UInt32,
    "label": pl.String,
}


def _street_order() -> pl.Expr:
    return pl.col("street").replace_strict(
        STREET_ORDER, default=len(STREETS), return_dtype=pl.Int32
    )


def _households(
    graph: LinkGraph, components: pl.Series, cases: pl.DataFrame | None
) -> pl.DataFrame:
    """component, households: the households with a case in each component (a case the cases
    table does not hold counts as one household); null without the cases table."""
    if cases is None:
        return pl.DataFrame(
            {
                "component": components,
                "households": pl.Series([None] * components.len(), dtype=pl.UInt32),
            }
        )
    case_nodes = graph.nodes.filter(
        pl.col("component").is_in(components.implode()) & pl.col("key").str.starts_with(CASE + ":")
    ).select("component", pl.col("key").str.strip_prefix(CASE + ":").alias("case_id"))
    homes = cases.select("case_id", "household_id").unique("case_id", keep="first")
    return (
        case_nodes.join(homes, on="case_id", how="left")
        .group_by("component")
        .agg(
            pl.coalesce("household_id", pl.lit("case:") + pl.col("case_id"))
            .n_unique()
            .cast(pl.UInt32)
            .alias("households")
        )
    )


def cluster_label(
    rank: int, street: str, streets: int, households: int | None, findings: int, amount_fen: int
) -> str:
    """How a person tells clusters apart: ``第1名 · 华阳路街道 · 3户 · 5条线索 · 涉及金额
    12,000.00元`` (the first street, and how many, when its findings are in several)."""
    where = street.split("、")[0] + (f"等{formats.count(streets)}个街镇" if streets > 1 else "")
    parts = [f"第{formats.count(rank)}名", where]
    if households is not None:
        parts.append(f"{formats.count(households)}户")
    parts += [f"{formats.count(findings)}条线索", f"涉及金额 {formats.money_fen(amount_fen)}元"]
    return " · ".join(parts)


def rank_clusters(
    graph: LinkGraph,
    findings: pl.DataFrame,
    street: str | None = None,
    cases: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Clusters holding integrity findings: most findings first, then most money (涉及金额,
    analytics.amounts, a ledger row counted once per cluster), then the key.

    For all streets (``None`` or ALL_STREETS) each cluster is one row, its street every street
    its findings are in (the contract's order); for one street, that street's findings in each
    cluster. ``households`` comes from ``cases`` (the drop's cases table; null without it).
    Columns (RANK_SCHEMA): rank, cluster (the internal key), street, streets, households,
    findings, amount_fen, checks, size (nodes of the whole cluster), label (cluster_label).
    """
    own = integrity_findings(findings)
    if own.height == 0:
        return pl.DataFrame(schema=RANK_SCHEMA)
    extra = [c for c in ("check_id", "amount_fen", "txn_id") if c in own.columns]
    placed = (
        _finding_components(graph, own)
        .join(own.select("finding_id", "street", "title", *extra), on="finding_id", how="inner")
        .with_columns(pl.col("street").fill_null(UNKNOWN_STREET))
    )
    if street and street != ALL_STREETS:
        placed = placed.filter(pl.col("street") == street)
    if placed.height == 0:
        return pl.DataFrame(schema=RANK_SCHEMA)
    # 涉及金额 per cluster by its one definition; a ledger row is counted once in a cluster.
    if "txn_id" in placed.columns:
        keyed = placed.with_columns(
            pl.concat_str([pl.col("cluster"), pl.col("txn_id")], separator="|").alias("txn_id")
        )
    else:
        keyed = placed
    money = (
        amounts.at_risk_rows(keyed)
        .group_by("cluster")
        .agg(pl.col("amount_fen").sum().alias("amount_fen"))
        .collect()
    )
    streets = (
        placed.select("cluster", "street")
        .unique()
        .sort("cluster", _street_order(), "street")
        .group_by("cluster", maintain_order=True)
        .agg(pl.col("street").str.join("、"), pl.len().cast(pl.UInt32).alias("streets"))
    )
    ranked = (
        placed.group_by("cluster", "component")
        .agg(
            pl.len().cast(pl.UInt32).alias("findings"),
            pl.col("title").unique().sort().str.join("、").alias("checks"),
        )
        .join(streets, on="cluster", how="left")
        .join(money, on="cluster", how="left")
        .with_columns(pl.col("amount_fen").fill_null(0))
    )
    components = ranked.get_column("component")
    ranked = (
        ranked.join(_households(graph, components, cases), on="component", how="left")
        # Looked up here, not in a Polars callback: a Python function run by Polars'
        # workers can deadlock the server while another page holds the interpreter lock.
        .with_columns(
            pl.Series("size", graph.component_size[components.to_numpy()], dtype=pl.UInt32)
        )
        .sort(["findings", "amount_fen", "cluster"], descending=[True, True, False])
        .with_columns(pl.int_range(1, pl.len() + 1).cast(pl.UInt32).alias("rank"))
    )
    labels = [
        cluster_label(*row)
        for row in ranked.select(
            "rank", "street", "streets", "households", "findings", "amount_fen"
        ).iter_rows()
    ]
    return (
        ranked.with_columns(pl.Series("label", labels, dtype=pl.String))
        .select(list(RANK_SCHEMA))
        .cast(pl.Schema(RANK_SCHEMA))
    )


def clusters_table(ranked: pl.DataFrame) -> pl.DataFrame:
    """The ranking as the page shows it: Chinese headers with units, the key left out."""
    return (
        ranked.with_columns((pl.col("amount_fen").fill_null(0) / 100).round(2).alias("amount"))
        .select(list(CLUSTER_HEADERS))
        .rename(CLUSTER_HEADERS)
    )


def cluster_labels(ranked: pl.DataFrame) -> dict[str, str]:
    """cluster key -> its label, in ranking order (for a picker's format_func)."""
    return dict(
        zip(
            ranked.get_column("cluster").to_list(),
            ranked.get_column("label").to_list(),
            strict=True,
        )
    )


def cluster_findings(graph: LinkGraph, findings: pl.DataFrame, cluster: str) -> pl.DataFrame:
    placed = _finding_components(graph, integrity_findings(findings))
    ids = placed.filter(pl.col("cluster") == cluster).get_column("finding_id")
    return findings.filter(pl.col("finding_id").is_in(ids.implode()))


def cluster_view(
    graph: LinkGraph, findings: pl.DataFrame, cluster: str, max_nodes: int = MAX_NODES
) -> GraphView:
    """A cluster's findings, most money first, with their evidence paths highlighted: as many
    whole paths as fit in ``max_nodes``, then their surroundings."""
    own = cluster_findings(graph, findings, cluster).sort(
        "amount_fen", "finding_id", descending=[True, False], nulls_last=True
    )
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
    streets = (
        own.select(pl.col("street").fill_null(UNKNOWN_STREET))
        .unique()
        .sort(_street_order(), "street")
        .get_column("street")
        .to_list()
    )
    title = (
        f"线索群（{'、'.join(streets)}，{formats.count(own.height)} 条线索，"
        f"图中标出 {formats.count(drawn)} 条的证据路径）"
    )
    view = build_view(
        graph, findings, title, list(keys)[:1], set(keys), pairs, max_nodes, cluster=cluster
    )
    view.truncated = view.truncated or drawn < own.height
    return view


def hubs_table(graph: LinkGraph) -> pl.DataFrame:
    """Phones and addresses shared by more people than the hub threshold, masked."""
    frame = graph.hubs.with_columns(
        pl.col("key").str.splitn(":", 2).struct.field("field_1").alias("ident")
    )
    label = (
        pl.when(pl.col("kind") == "phone")
        .then(node_label("phone", pl.col("ident")))
        .otherwise(node_label("address", pl.col("ident")))
    )
    return frame.select(
        pl.col("kind").replace_strict(KIND_ZH, return_dtype=pl.String).alias("类型"),
        label.alias("共用的联系方式"),
        pl.col("people").alias("共用人数"),
    )


# --- does the run belong to the drop? --------------------------------------------------------

NAMED_KINDS = (PERSON, ACCOUNT, CASE, STAFF)


@dataclass(frozen=True)
class Pairing:
    """How a run's findings fit a drop: of the findings naming a person, account, case or
    staff member, how many name one the drop's graph does not hold."""

    named: int
    missing: int

    @property
    def mismatched(self) -> bool:
        """Most findings name what the drop lacks: the run was made on another drop. A few
        misses are normal (a payment to an account no table registers)."""
        return (
            self.named > 0
            and 2 * self.missing > self.named
            and (self.missing >= 3 or self.missing == self.named)
        )


def pairing(graph: LinkGraph, findings: pl.DataFrame) -> Pairing:
    """Pairing of a run's findings (every family) with the drop's link graph."""
    if findings.height == 0:
        return Pairing(0, 0)
    keys = evidence_keys(findings).filter(
        pl.col("key").str.contains("^(" + "|".join(NAMED_KINDS) + "):")
    )
    if keys.height == 0:
        return Pairing(0, 0)
    per = (
        keys.with_columns(pl.Series("hit", graph.lookup(keys.get_column("key")) >= 0))
        .group_by("finding_id")
        .agg(pl.col("hit").all())
    )
    return Pairing(per.height, per.filter(~pl.col("hit")).height)


def _span(months: pl.Series | None) -> str | None:
    months = months.drop_nulls() if months is not None else None
    if months is None or months.len() == 0:
        return None
    lo, hi = str(months.min()), str(months.max())
    return lo if lo == hi else f"{lo} 至 {hi}"


def drop_label(folder: Path, ledger: pl.DataFrame | None) -> str:
    """The drop folder's name and the months its payments cover (no personal data)."""
    span = _span(
        ledger.get_column("month") if ledger is not None and "month" in ledger.columns else None
    )
    return f"文件夹 {folder.name}" + (f"，发放月份 {span}" if span else "")


def run_label(folder: Path, findings: pl.DataFrame, record: dict | None = None) -> str:
    """The run folder's name and what the run log says of it (its number, check date and the
    drop it read), else the months its findings name."""
    text = f"文件夹 {folder.name}"
    if record:
        text += f"，第 {record['run_id']} 次检查"
        if record.get("as_of"):
            text += f"，检查基准日 {record['as_of']}"
        if record.get("label"):
            # the drop by its name: a folder of the server is not for every viewer to see
            from analytics import runs

            name = pl.select(runs.folder_name(pl.lit(record["label"], pl.String))).item()
            text += f"，检查的数据为 {name}"
        return text
    span = _span(findings.get_column("month") if "month" in findings.columns else None)
    return text + (f"，线索月份 {span}" if span else "")


def run_record(workspace, out_dir: Path) -> dict | None:
    """The run log's row of the run whose outputs are in ``out_dir``, if the workspace has it
    and can be read."""
    from analytics import runs

    history, _ = runs.read_history(workspace)
    wanted = str(Path(out_dir).resolve())
    for row in history.iter_rows(named=True):
        if str(Path(row["out"]).resolve()) == wanted:
            return row
    return None


def pairing_warning(fit: Pairing, drop: str, run: str) -> str:
    """The page's warning (Chinese, no personal data) when a run was made on another drop."""
    return (
        f"数据文件夹与检查结果不是同一批数据：检查结果（{run}）中有 "
        f"{formats.count(fit.named)} 条线索指向具体的人员、账户、案件或工作人员，其中 "
        f"{formats.count(fit.missing)} 条所指的对象在数据文件夹（{drop}）中不存在，"
        "关系图谱因此为空或不完整。请在「数据导入」页选择与这批数据对应的检查记录，"
        "或对这批数据重新运行检查。"
    )


# --- export ---------------------------------------------------------------------------------


def cluster_frames(
    graph: LinkGraph, findings: pl.DataFrame, cluster: str
) -> dict[str, pl.DataFrame]:
    """The sheets of a cluster's export: its findings, nodes and edges, all masked."""
    view = cluster_view(graph, findings, cluster, max_nodes=10 * MAX_NODES)
    own = cluster_findings(graph, findings, cluster)
    paths = own.select(
        "finding_id", pl.col("evidence").str.json_path_match("$.path").alias("证据路径")
    )
    table = findings_table(own).join(paths.rename({"finding_id": "编号"}), on="编号", how="left")
    label_of = dict(
        zip(
            view.nodes.get_column("key").to_list(),
            view.nodes.get_column("label").to_list(),
            strict=True,
        )
    )
    kind_of = dict(
        zip(
            view.nodes.get_column("key").to_list(),
            view.nodes.get_column("kind_zh").to_list(),
            strict=True,
        )
    )
    nodes = view.nodes.select(
        pl.col("kind_zh").alias("类型"),
        pl.col("label").alias("名称"),
        pl.when(pl.col("highlight")).then(pl.lit("是")).otherwise(pl.lit("")).alias("在证据路径上"),
    )
    edges = view.edges.select(
        pl.col("source").replace_strict(kind_of, return_dtype=pl.String).alias("起点类型"),
        pl.col("source").replace_strict(label_of, return_dtype=pl.String).alias("起点"),
        pl.col("label").alias("关系"),
        pl.col("target").replace_strict(kind_of, return_dtype=pl.String).alias("终点类型"),
        pl.col("target").replace_strict(label_of, return_dtype=pl.String).alias("终点"),
        pl.when(pl.col("highlight")).then(pl.lit("是")).otherwise(pl.lit("")).alias("在证据路径上"),
    )
    return {"线索": table, "节点": nodes, "关系": edges}


def cluster_excel(graph: LinkGraph, findings: pl.DataFrame, cluster: str) -> bytes:
    """A cluster's evidence as an .xlsx workbook (线索, 节点, 关系 sheets), neutralised."""
    return export.excel_bytes(cluster_frames(graph, findings, cluster))


def staff_choices(graph: LinkGraph) -> list[str]:
    """Staff ids in the graph, for a picker."""
    keys = graph.nodes.get_column("key")
    lo, hi = keys.search_sorted(STAFF + ":"), keys.search_sorted(STAFF + ";")
    return keys.slice(lo, hi - lo).str.strip_prefix(STAFF + ":").sort().to_list()


def staff_labels(graph: LinkGraph, staff: pl.DataFrame | None) -> dict[str, str]:
    """staff id -> ``工号 · 姓名 · 所属单位`` for every staff member in the graph, in id order;
    a number the staff table does not hold (a handler named only in a case) shows alone."""
    ids = pl.DataFrame({"staff_id": staff_choices(graph)}, schema={"staff_id": pl.String})
    if staff is None or staff.height == 0:
        return {i: i for i in ids.get_column("staff_id").to_list()}
    known = staff.select("staff_id", "name", "street").unique("staff_id", keep="first")
    shown = ids.join(known, on="staff_id", how="left", maintain_order="left").select(
        "staff_id",
        pl.concat_str(
            [pl.col("staff_id"), pl.col("name"), pl.col("street")],
            separator=" · ",
            ignore_nulls=True,
        ).alias("label"),
    )
    return dict(shown.iter_rows())


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
    audit.record(
        store,
        actor=viewer.name,
        role=viewer.role,
        action="lookup_person",
        target=value.strip(),
        detail={"kind": kind},
    )
