"""The link graph behind the integrity checks: who is tied to whom, through what.

Nodes are persons, staff, cases, bank accounts, and the phones and addresses that two or more
people share. Edges are household membership, close kinship (配偶, 父母), holding (户名) and
keeping (代管) an account, an account's registration or payment for a case, a staff member's
salary account, a staff member's handling of a case, and shared contact details.

Candidate links come from joins over normalised values (blocking), so the city is never walked
pair by pair. Components come from scipy's sparse routines over integer edge lists; networkx only
ever sees a subgraph of at most a few hundred nodes (a page's evidence view). A phone or address
shared by more than ``settings.hub_threshold_persons`` people is a *hub*: it stays in the graph and
in the checks, but its edges do not glue clusters together, and hubs are listed on their own.

A node's key is ``"<kind>:<identifier>"``; the same keys appear in the checks' evidence, so a
finding's path can be drawn and highlighted on the graph without translation.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from polars.expr.whenthen import ChainedThen, Then

from analytics.masking import mask_account_expr, mask_id_expr, mask_phone_expr

if TYPE_CHECKING:
    from analytics.model import Drop

# --- vocabulary shared with checks.integrity and the page -------------------------------------

STAFF = "staff"
PERSON = "person"
CASE = "case"
ACCOUNT = "account"
PHONE = "phone"
ADDRESS = "address"
KINDS: tuple[str, ...] = (STAFF, PERSON, CASE, ACCOUNT, PHONE, ADDRESS)
KIND_ZH = {
    STAFF: "工作人员",
    PERSON: "人员",
    CASE: "案件",
    ACCOUNT: "银行账户",
    PHONE: "电话",
    ADDRESS: "地址",
}

SELF = "本人"
MEMBER = "家庭成员"
HOLDER = "户名"
CUSTODIAN = "代管"
REGISTERED = "登记账户"
PAID_TO = "实发账户"
SALARY = "工资账户"
SHARED_PHONE = "共用手机"
SHARED_ADDRESS = "共用地址"
ROLE_ZH = {"handler_id": "经办人", "reviewer_id": "审核人", "approver_id": "审批人"}

EDGE_KINDS = (
    "kin",
    "member",
    "self",
    "holding",
    "custody",
    "account",
    "salary",
    "contact",
    "handling",
)
EDGE_LABELS = (
    "配偶",
    "父母",
    MEMBER,
    SELF,
    HOLDER,
    CUSTODIAN,
    REGISTERED,
    PAID_TO,
    SALARY,
    SHARED_PHONE,
    SHARED_ADDRESS,
    *ROLE_ZH.values(),
)
# Enums: four million edges sort and sit in memory as small integers, not text.
EDGE_KIND = pl.Enum(EDGE_KINDS)
EDGE_LABEL = pl.Enum(EDGE_LABELS)

# Edge kinds that tie people into clusters. Handling does not: one handler serves hundreds of
# cases, and the tie that matters (staff member to case household) is found by the other kinds.
GLUE_KINDS = ("kin", "member", "self", "holding", "custody", "account", "salary", "contact")


def mask_address_expr(value: pl.Expr | str) -> pl.Expr:
    """Road and compound names kept, every digit starred: ``天山路100弄5号301`` ->
    ``天山路***弄*号***``. Enough to tell a shared address from a neighbour's on screen."""
    expr = pl.col(value) if isinstance(value, str) else value
    return expr.str.replace_all(r"[0-9０-９]", "*")


def node_key(kind: str, ident: pl.Expr) -> pl.Expr:
    return pl.concat_str([pl.lit(kind + ":"), ident])


def node_label(kind: str, ident: pl.Expr) -> pl.Expr:
    """The masked text shown for a node (and used in evidence and summaries)."""
    if kind == PERSON:
        return mask_id_expr(ident)
    if kind == ACCOUNT:
        return mask_account_expr(ident)
    if kind == PHONE:
        return mask_phone_expr(ident)
    if kind == ADDRESS:
        return mask_address_expr(ident)
    return pl.concat_str([pl.lit(KIND_ZH[kind] + " "), ident])


def node_expr(kind: str, ident: pl.Expr) -> pl.Expr:
    """Evidence node: ``{id, kind, label}``; ``id`` is the graph key."""
    return pl.struct(
        node_key(kind, ident).alias("id"),
        pl.lit(kind).alias("kind"),
        node_label(kind, ident).alias("label"),
    )


def edge_expr(source: pl.Expr, target: pl.Expr, label: pl.Expr | str) -> pl.Expr:
    """Evidence edge: ``{from, to, label}`` between graph keys, in reading order."""
    lab = pl.lit(label) if isinstance(label, str) else label
    return pl.struct(source.alias("from"), target.alias("to"), lab.alias("label"))


# --- the graph ----------------------------------------------------------------------------------


@dataclass
class LinkGraph:
    """The district's link graph as integer-indexed frames, with components precomputed.

    ``nodes``: idx (row number), key ('<kind>:<identifier>'), hub, component, paid_fen (money
    paid for a case node, else null); sorted by key, so a key is found by binary search.
    ``edges``: src, dst (node idx), kind, label, glue (whether it joins clusters).
    ``hubs``: phones and addresses shared by more than the threshold (kind, key, people).
    The numpy arrays repeat what the views read per node or edge, so that a page's work does
    not scan a city-sized frame.
    """

    nodes: pl.DataFrame
    edges: pl.DataFrame
    hubs: pl.DataFrame
    indptr: np.ndarray  # adjacency of every edge, both directions, CSR layout
    neighbour: np.ndarray
    edge_of: np.ndarray
    glue: np.ndarray  # per edge
    hub: np.ndarray  # per node
    component: np.ndarray  # per node
    paid: np.ndarray  # per node, fen (0 where nothing was paid)
    component_first: np.ndarray  # per component: its smallest node index (= smallest key)
    component_size: np.ndarray  # per component: its number of nodes

    @property
    def size(self) -> int:
        return self.nodes.height

    def lookup(self, keys: list[str] | pl.Series) -> np.ndarray:
        """Node index of each key, -1 where the graph has no such node."""
        wanted = pl.Series(keys, dtype=pl.String)
        if wanted.len() == 0:
            return np.empty(0, dtype=np.int64)
        column = self.nodes.get_column("key")
        pos = column.search_sorted(wanted.fill_null(""), side="left").to_numpy().astype(np.int64)
        pos = np.minimum(pos, self.size - 1)
        hit = (column.gather(pos) == wanted).fill_null(False).to_numpy()
        return np.where(hit, pos, -1)

    def index_of(self, keys: list[str]) -> np.ndarray:
        """Node indices of the given keys, in order; unknown keys are left out."""
        found = self.lookup(keys)
        return found[found >= 0]

    def neighbours(self, idx: int) -> tuple[np.ndarray, np.ndarray]:
        """(neighbour node indices, edge row indices) of one node."""
        lo, hi = self.indptr[idx], self.indptr[idx + 1]
        return self.neighbour[lo:hi], self.edge_of[lo:hi]

    def cluster_name(self, component: int) -> str:
        """A stable, non-personal name: a hash of the component's smallest node key."""
        key = self.nodes.get_column("key")[int(self.component_first[component])]
        return "K" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10].upper()


def _contact_edges(
    owners: pl.LazyFrame, kind: str, label: str, hub_threshold: int
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Edges owner -> shared value for values held by people of two or more households (or by
    staff), and the hub values among them. ``owners``: key, household, value."""
    counted = (
        owners.filter(pl.col("value").is_not_null())
        .group_by("value")
        .agg(
            pl.col("key").n_unique().alias("people"),
            pl.col("household").n_unique().alias("households"),
            pl.col("household").is_null().any().alias("staff_owner"),
        )
    )
    shared = counted.filter(
        (pl.col("people") >= 2) & ((pl.col("households") >= 2) | pl.col("staff_owner"))
    )
    value_key = node_key(kind, pl.col("value"))
    edges = (
        owners.join(shared.select("value", "people"), on="value", how="inner")
        .select(
            pl.col("key").alias("src"),
            value_key.alias("dst"),
            pl.lit(label).alias("label"),
            (pl.col("people") <= hub_threshold).alias("glue"),
        )
        .unique(["src", "dst"])
    )
    hubs = shared.filter(pl.col("people") > hub_threshold).select(
        pl.lit(kind).alias("kind"), value_key.alias("key"), "people"
    )
    return edges, hubs


def build_link_graph(drop: Drop) -> LinkGraph:
    """Nodes, edges, hubs and the adjacency of a drop (analytics.model.Drop).

    Every frame is built with joins; the only per-node work is numpy over integer arrays.
    """
    threshold = drop.settings.hub_threshold_persons
    persons = drop["persons"]
    cases = drop["cases"]
    accounts = drop["accounts"]
    staff = drop["staff"]
    person_key = node_key(PERSON, pl.col("id_number"))

    def edges(frame: pl.LazyFrame, kind: str, glue: bool = True) -> pl.LazyFrame:
        return frame.select(
            pl.col("src"),
            pl.col("dst"),
            pl.col("label").cast(EDGE_LABEL),
            pl.lit(kind, dtype=EDGE_KIND).alias("kind"),
            pl.lit(glue).alias("glue"),
        )

    parts: list[pl.LazyFrame] = []
    if "relations" in drop.tables:
        rel = drop["relations"].filter(pl.col("id_number_a") != pl.col("id_number_b"))
        parts.append(
            edges(
                rel.select(
                    # 父母: the child's parent, read child -> 父母 -> parent (as in the evidence)
                    pl.when(pl.col("relation") == "父母")
                    .then(node_key(PERSON, pl.col("id_number_b")))
                    .otherwise(node_key(PERSON, pl.col("id_number_a")))
                    .alias("src"),
                    pl.when(pl.col("relation") == "父母")
                    .then(node_key(PERSON, pl.col("id_number_a")))
                    .otherwise(node_key(PERSON, pl.col("id_number_b")))
                    .alias("dst"),
                    pl.col("relation").alias("label"),
                ),
                "kin",
            )
        )
    parts.append(
        edges(
            persons.join(
                cases.select("case_id", "household_id"), on="household_id", how="inner"
            ).select(
                person_key.alias("src"),
                node_key(CASE, pl.col("case_id")).alias("dst"),
                pl.lit(MEMBER).alias("label"),
            ),
            "member",
        )
    )
    parts.append(
        edges(
            staff.select(
                node_key(STAFF, pl.col("staff_id")).alias("src"),
                node_key(PERSON, pl.col("id_number")).alias("dst"),
                pl.lit(SELF).alias("label"),
            ),
            "self",
        )
    )
    for column, label, kind in (
        ("holder_id_number", HOLDER, "holding"),
        ("custodian_id_number", CUSTODIAN, "custody"),
    ):
        parts.append(
            edges(
                accounts.filter(pl.col(column).is_not_null()).select(
                    node_key(PERSON, pl.col(column)).alias("src"),
                    node_key(ACCOUNT, pl.col("account_no")).alias("dst"),
                    pl.lit(label).alias("label"),
                ),
                kind,
            )
        )
    paid_pairs = (
        drop["ledger"]
        .filter((pl.col("status") == "成功") & pl.col("case_id").is_not_null())
        .select("account_no", "case_id")
        .unique()
    )
    registered = accounts.select("account_no", "case_id")
    ties = pl.concat(
        [
            registered.with_columns(pl.lit(REGISTERED).alias("label")),
            paid_pairs.join(registered, on=["account_no", "case_id"], how="anti").with_columns(
                pl.lit(PAID_TO).alias("label")
            ),
        ],
        how="vertical",
    )
    parts.append(
        edges(
            ties.select(
                node_key(ACCOUNT, pl.col("account_no")).alias("src"),
                node_key(CASE, pl.col("case_id")).alias("dst"),
                "label",
            ),
            "account",
        )
    )
    parts.append(
        edges(
            staff.filter(pl.col("salary_account").is_not_null()).select(
                node_key(STAFF, pl.col("staff_id")).alias("src"),
                node_key(ACCOUNT, pl.col("salary_account")).alias("dst"),
                pl.lit(SALARY).alias("label"),
            ),
            "salary",
        )
    )
    for column, label in ROLE_ZH.items():
        parts.append(
            edges(
                cases.filter(pl.col(column).is_not_null()).select(
                    node_key(STAFF, pl.col(column)).alias("src"),
                    node_key(CASE, pl.col("case_id")).alias("dst"),
                    pl.lit(label).alias("label"),
                ),
                "handling",
                glue=False,
            )
        )
    hub_parts: list[pl.LazyFrame] = []
    for column, kind, label in (
        ("phone", PHONE, SHARED_PHONE),
        ("address_norm", ADDRESS, SHARED_ADDRESS),
    ):
        owners = pl.concat(
            [
                persons.select(
                    person_key.alias("key"),
                    pl.col("household_id").alias("household"),
                    pl.col(column).alias("value"),
                ),
                staff.select(
                    node_key(STAFF, pl.col("staff_id")).alias("key"),
                    pl.lit(None, pl.String).alias("household"),
                    pl.col(column).alias("value"),
                ),
            ],
            how="vertical",
        )
        contact, kind_hubs = _contact_edges(owners, kind, label, threshold)
        parts.append(
            contact.select(
                "src",
                "dst",
                pl.col("label").cast(EDGE_LABEL),
                pl.lit("contact", dtype=EDGE_KIND).alias("kind"),
                "glue",
            )
        )
        hub_parts.append(kind_hubs)

    every, hubs = pl.collect_all(
        [
            pl.concat(parts, how="vertical").filter(pl.col("src") != pl.col("dst")),
            pl.concat(hub_parts, how="vertical"),
        ]
    )
    keys = (
        pl.concat(
            [
                every.lazy().select(pl.col("src").alias("key")),
                every.lazy().select(pl.col("dst").alias("key")),
                persons.select(person_key.alias("key")),
                staff.select(node_key(STAFF, pl.col("staff_id")).alias("key")),
                cases.select(node_key(CASE, pl.col("case_id")).alias("key")),
            ]
        )
        .unique()
        .sort("key")
        .collect()
    )
    hub_keys = hubs.get_column("key")
    # kind and identifier are split off the key only for the nodes a view shows (split_key)
    nodes = keys.with_row_index("idx").with_columns(
        pl.col("key").is_in(hub_keys.implode()).alias("hub")
    )
    # Joins map edge ends to node indices (a binary search per end is slower when the ends
    # come in no order); the sort makes the edge order, and so every view, reproducible.
    index = nodes.lazy().select("key", "idx")
    edge_frame = (
        every.lazy()
        .join(index.rename({"key": "src", "idx": "s"}), on="src", how="inner")
        .join(index.rename({"key": "dst", "idx": "d"}), on="dst", how="inner")
        .select(pl.col("s").alias("src"), pl.col("d").alias("dst"), "kind", "label", "glue")
        .sort("src", "dst", "kind", "label")
        .collect()
    )
    n = nodes.height
    src = edge_frame.get_column("src").to_numpy().astype(np.int64)
    dst = edge_frame.get_column("dst").to_numpy().astype(np.int64)
    component = _components(n, src, dst, edge_frame.get_column("glue").to_numpy())
    nodes = nodes.with_columns(pl.Series("component", component, dtype=pl.Int64))
    # Money paid for each case (paid rows, any scope): what a cluster's cases received.
    paid_by_case = (
        drop["ledger"]
        .filter((pl.col("status") == "成功") & pl.col("case_id").is_not_null())
        .group_by("case_id")
        .agg(pl.col("amount").sum().alias("paid_fen"))
        .select(node_key(CASE, pl.col("case_id")).alias("key"), "paid_fen")
        .collect()
    )
    nodes = nodes.join(paid_by_case, on="key", how="left", validate="1:1", maintain_order="left")
    paid = nodes.get_column("paid_fen").fill_null(0).to_numpy().astype(np.int64)
    component_ids, first = np.unique(component, return_index=True)
    eid = np.arange(edge_frame.height, dtype=np.int64)
    both_from = np.concatenate([src, dst])
    both_to = np.concatenate([dst, src])
    both_eid = np.concatenate([eid, eid])
    order = np.argsort(both_from, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(both_from, minlength=n), out=indptr[1:])
    return LinkGraph(
        nodes=nodes,
        edges=edge_frame,
        hubs=hubs.sort("people", "key", descending=[True, False]),
        indptr=indptr,
        neighbour=both_to[order],
        edge_of=both_eid[order],
        glue=edge_frame.get_column("glue").to_numpy().astype(bool),
        hub=nodes.get_column("hub").to_numpy().astype(bool),
        component=component,
        paid=paid,
        component_first=first.astype(np.int64),
        component_size=np.bincount(component, minlength=len(component_ids)),
    )


def _components(n: int, src: np.ndarray, dst: np.ndarray, glue: np.ndarray) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    keep = glue.astype(bool)
    adjacency = coo_matrix(
        (np.ones(int(keep.sum()), dtype=np.int8), (src[keep], dst[keep])), shape=(n, n)
    ).tocsr()
    _, labels = connected_components(adjacency, directed=False)
    return np.asarray(labels, dtype=np.int64)


def split_key() -> list[pl.Expr]:
    """``kind`` and ``ident`` of a node frame's ``key`` ('person:3101...')."""
    parts = pl.col("key").str.splitn(":", 2)
    return [
        parts.struct.field("field_0").alias("kind"),
        parts.struct.field("field_1").alias("ident"),
    ]


def label_expr() -> pl.Expr:
    """Masked label of a node frame with ``kind`` and ``ident`` columns."""
    out: Then | ChainedThen = pl.when(pl.lit(False)).then(pl.lit(None, pl.String))
    for kind in KINDS:
        out = out.when(pl.col("kind") == kind).then(node_label(kind, pl.col("ident")))
    return out.otherwise(pl.col("ident"))


def neighbourhood(graph: LinkGraph, seeds: list[int], max_nodes: int = 150) -> list[int]:
    """Breadth-first over glue edges from the seeds, closest first, at most ``max_nodes``.

    Seeds always come first. Hubs are reached (their edges are no glue, but a resident's view
    should show the care home) but not expanded, so a care home's address does not pull in all
    its residents; handling edges are not followed (a handler's caseload is no cluster).
    """
    glue, hub = graph.glue, graph.hub
    seen: dict[int, None] = dict.fromkeys(int(s) for s in seeds)
    queue = deque(seen)
    while queue and len(seen) < max_nodes:
        current = queue.popleft()
        if hub[current] and current not in seeds:
            continue
        near, eids = graph.neighbours(current)
        for other in near[glue[eids] | hub[near]]:
            other = int(other)
            if other not in seen:
                seen[other] = None
                queue.append(other)
                if len(seen) >= max_nodes:
                    break
    return list(seen)[: max(max_nodes, len(seeds))]


def induced(graph: LinkGraph, idx: list[int]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Nodes (with masked labels) and every edge among the given node indices."""
    chosen = np.asarray(idx, dtype=np.int64)
    inside = np.zeros(graph.size, dtype=bool)
    inside[chosen] = True
    eids = []
    for node in chosen:
        near, edge_rows = graph.neighbours(int(node))
        eids.append(edge_rows[inside[near]])
    rows = np.unique(np.concatenate(eids)) if eids else np.empty(0, dtype=np.int64)
    nodes = (
        graph.nodes[chosen.tolist()]
        .with_columns(split_key())
        .with_columns(label_expr().alias("label"))
        .select("idx", "key", "kind", "ident", "label", "hub", "component")
    )
    edges = graph.edges[rows.tolist()]
    return nodes, edges
