import networkx as nx
import numpy as np
import polars as pl
import pytest

from analytics.linkgraph import (
    build_link_graph,
    induced,
    label_expr,
    mask_address_expr,
    neighbourhood,
)
from analytics.minidrop import mini_drop


def _ident(i: int) -> str:
    return f"3101051980{i:08d}"


def random_drop(seed: int, people: int = 60, threshold_fill: int = 0):
    """Households of 1-4 people, some with a case and an account, random kinship, shared
    phones and addresses, a few staff."""
    rng = np.random.default_rng(seed)
    persons, cases, accounts, relations, staff = [], [], [], [], []
    household = 0
    i = 0
    while i < people:
        size = int(rng.integers(1, 5))
        for _ in range(size):
            persons.append(
                dict(
                    id_number=_ident(i),
                    name="某",
                    household_id=f"H{household}",
                    street="天山路街道",
                    phone=f"1380000{int(rng.integers(0, people // 2)):04d}"
                    if rng.random() < 0.4
                    else None,
                    address=f"天山路{int(rng.integers(0, people // 2))}号"
                    if rng.random() < 0.4
                    else None,
                )
            )
            i += 1
        if rng.random() < 0.6:
            cid = f"C{household}"
            cases.append(
                dict(
                    case_id=cid,
                    household_id=f"H{household}",
                    applicant_id_number=persons[-1]["id_number"],
                    street="天山路街道",
                    assistance_type="最低生活保障",
                    status="在册",
                    accepted_date="2025-01-01",
                    handler_id=f"S{int(rng.integers(0, 3))}",
                )
            )
            holder = _ident(int(rng.integers(0, i)))
            custodian = _ident(int(rng.integers(0, i))) if rng.random() < 0.2 else None
            accounts.append(
                dict(
                    case_id=cid,
                    account_no=f"62220000{int(rng.integers(0, 40)):04d}",
                    holder_id_number=holder,
                    custodian_id_number=custodian,
                )
            )
        household += 1
    for _ in range(people // 3):
        a, b = (int(x) for x in rng.integers(0, people, 2))
        relations.append(
            dict(
                id_number_a=_ident(a),
                id_number_b=_ident(b),
                relation=str(rng.choice(["配偶", "父母"])),
            )
        )
    staff.extend(
        dict(
            staff_id=f"S{s}",
            name="工",
            id_number=_ident(int(rng.integers(0, people))),
            role="街镇经办",
            street="天山路街道",
            phone=f"1380000{int(rng.integers(0, people // 2)):04d}",
            salary_account=f"62220000{int(rng.integers(0, 40)):04d}",
        )
        for s in range(3)
    )
    persons.extend(  # a care home: one address for many
        dict(
            id_number=_ident(1000 + k),
            name="某",
            household_id=f"G{k}",
            street="天山路街道",
            address="天山路999号",
        )
        for k in range(threshold_fill)
    )
    return mini_drop(
        staff=staff,
        persons=persons,
        cases=cases,
        accounts=accounts,
        relations=relations,
        ledger=[],
        entitlements=[],
    )


def _oracle(drop) -> list[set[str]]:
    """Components straight from the tables, on a networkx graph with pairwise contact edges."""
    t = {k: v.collect() for k, v in drop.tables.items()}
    g = nx.Graph()
    threshold = drop.settings.hub_threshold_persons
    for p in t["persons"].iter_rows(named=True):
        g.add_node("person:" + p["id_number"])
    for c in t["cases"].iter_rows(named=True):
        g.add_node("case:" + c["case_id"])
        for p in (
            t["persons"].filter(pl.col("household_id") == c["household_id"]).iter_rows(named=True)
        ):
            g.add_edge("case:" + c["case_id"], "person:" + p["id_number"])
    for s in t["staff"].iter_rows(named=True):
        g.add_edge("staff:" + s["staff_id"], "person:" + s["id_number"])
        g.add_edge("staff:" + s["staff_id"], "account:" + s["salary_account"])
    for r in t["relations"].iter_rows(named=True):
        if r["id_number_a"] != r["id_number_b"]:
            g.add_edge("person:" + r["id_number_a"], "person:" + r["id_number_b"])
    for a in t["accounts"].iter_rows(named=True):
        g.add_edge("account:" + a["account_no"], "case:" + a["case_id"])
        g.add_edge("account:" + a["account_no"], "person:" + a["holder_id_number"])
        if a["custodian_id_number"]:
            g.add_edge("account:" + a["account_no"], "person:" + a["custodian_id_number"])
    for column in ("phone", "address_norm"):
        owners: dict[str, list[tuple[str, str | None]]] = {}
        for p in t["persons"].iter_rows(named=True):
            if p[column]:
                owners.setdefault(p[column], []).append(
                    ("person:" + p["id_number"], p["household_id"])
                )
        for s in t["staff"].iter_rows(named=True):
            if s[column]:
                owners.setdefault(s[column], []).append(("staff:" + s["staff_id"], None))
        for holders in owners.values():
            keys = {k for k, _ in holders}
            homes = {h for _, h in holders}
            if 2 <= len(keys) <= threshold and (len(homes) >= 2 or None in homes):
                first, *rest = sorted(keys)
                g.add_edges_from((first, other) for other in rest)
    return [set(c) for c in nx.connected_components(g)]


@pytest.mark.parametrize("seed", range(5))
def test_components_match_networkx(seed):
    drop = random_drop(seed)
    graph = build_link_graph(drop)
    comp = dict(graph.nodes.select("key", "component").iter_rows())
    for members in _oracle(drop):
        assert len({comp[k] for k in members}) == 1, "a component was split"
    # and nothing joined that the oracle keeps apart
    oracle_of = {k: i for i, members in enumerate(_oracle(drop)) for k in members}
    together: dict[int, set[int]] = {}
    for key, c in comp.items():
        if key in oracle_of:
            together.setdefault(c, set()).add(oracle_of[key])
    assert all(len(v) == 1 for v in together.values())


def test_hub_is_listed_and_does_not_join_clusters():
    drop = random_drop(1, people=20, threshold_fill=12)
    graph = build_link_graph(drop)
    assert graph.hubs.get_column("key").to_list() == ["address:天山路999号"]
    assert graph.hubs.get_column("people").to_list() == [12]
    residents = graph.nodes.filter(pl.col("key").str.starts_with("person:31010519800000100"))
    assert residents.get_column("component").n_unique() == residents.height
    hub = graph.index_of(["address:天山路999号"])
    near, _ = graph.neighbours(int(hub[0]))
    assert len(near) == 12  # the edges are kept, only not as glue


def test_neighbourhood_is_bounded_and_does_not_expand_hubs():
    drop = random_drop(2, people=20, threshold_fill=30)
    graph = build_link_graph(drop)
    resident = graph.index_of(["person:310105198000001000"]).tolist()
    reached = neighbourhood(graph, resident, max_nodes=150)
    keys = graph.nodes[reached].get_column("key").to_list()
    assert "address:天山路999号" in keys
    assert (
        sum(
            k.startswith("person:31010519800000") and k >= "person:310105198000001000" for k in keys
        )
        == 1
    )
    every = graph.index_of(graph.nodes.get_column("key").to_list()).tolist()
    assert len(neighbourhood(graph, every[:5], max_nodes=8)) == 8


def test_neighbourhood_does_not_follow_handling():
    drop = random_drop(3)
    graph = build_link_graph(drop)
    staff = graph.index_of(["staff:S0"]).tolist()
    reached = set(graph.nodes[neighbourhood(graph, staff, 10_000)].get_column("key"))
    component = graph.nodes.filter(pl.col("key") == "staff:S0").get_column("component")[0]
    same = set(graph.nodes.filter(pl.col("component") == component).get_column("key"))
    hubs = set(graph.hubs.get_column("key"))
    assert reached - hubs <= same


def test_induced_edges_stay_inside():
    graph = build_link_graph(random_drop(4))
    chosen = neighbourhood(graph, graph.index_of(["staff:S1"]).tolist(), 25)
    nodes, edges = induced(graph, chosen)
    inside = set(nodes.get_column("idx").to_list())
    assert set(edges.get_column("src").to_list()) <= inside
    assert set(edges.get_column("dst").to_list()) <= inside
    assert edges.height > 0


def test_labels_are_masked():
    frame = pl.DataFrame(
        {
            "kind": ["person", "account", "phone", "address", "staff", "case"],
            "ident": [
                "310105198001010013",
                "6222020200112233445",
                "13812345678",
                "天山路100弄5号301",
                "S1",
                "C1",
            ],
        }
    )
    assert frame.select(label_expr()).to_series().to_list() == [
        "310105********0013",
        "6222 **** **** *** 3445",
        "138****5678",
        "天山路***弄*号***",
        "工作人员 S1",
        "案件 C1",
    ]


def test_mask_address_stars_full_width_digits_too():
    out = pl.select(mask_address_expr(pl.lit("虹桥路１２号"))).item()
    assert out == "虹桥路**号"


def test_index_of_keeps_order_and_skips_unknown():
    graph = build_link_graph(random_drop(0))
    idx = graph.index_of(["staff:S2", "nobody:x", "staff:S0"])
    assert graph.nodes[idx.tolist()].get_column("key").to_list() == ["staff:S2", "staff:S0"]
