import networkx as nx
import numpy as np
import polars as pl
import pytest

from analytics.kinship import (
    CHILD,
    GRANDCHILD,
    GRANDPARENT,
    PARENT,
    RELATION_ORDER,
    SIBLING,
    SPOUSE,
    close_relatives,
    derived_steps_expr,
    relatives_of,
)


def _relations(rows: list[tuple[str, str, str]]) -> pl.LazyFrame:
    return pl.LazyFrame(
        rows,
        schema={"id_number_a": pl.String, "id_number_b": pl.String, "relation": pl.String},
        orient="row",
    )


def _pairs(frame: pl.LazyFrame) -> dict[tuple[str, str], tuple[str, str | None]]:
    return {
        (r["id_a"], r["id_b"]): (r["relation_zh"], r["via"])
        for r in frame.collect().iter_rows(named=True)
    }


@pytest.mark.parametrize(
    ("rows", "a", "b", "expected"),
    [
        ([("H", "W", SPOUSE)], "W", "H", (SPOUSE, None)),
        ([("P", "C", PARENT)], "C", "P", (PARENT, None)),
        ([("P", "C", PARENT)], "P", "C", (CHILD, None)),
        ([("P", "A", PARENT), ("P", "B", PARENT)], "A", "B", (SIBLING, "P")),
        ([("G", "P", PARENT), ("P", "C", PARENT)], "C", "G", (GRANDPARENT, "P")),
        ([("G", "P", PARENT), ("P", "C", PARENT)], "G", "C", (GRANDCHILD, "P")),
        # half siblings through either parent: the smaller via names the pair
        (
            [("M", "A", PARENT), ("F", "A", PARENT), ("M", "B", PARENT), ("F", "B", PARENT)],
            "A",
            "B",
            (SIBLING, "F"),
        ),
        # spouse and sibling at once (bad data): the closest relation wins
        ([("P", "A", PARENT), ("P", "B", PARENT), ("A", "B", SPOUSE)], "A", "B", (SPOUSE, None)),
    ],
)
def test_relation_of_a_pair(rows, a, b, expected):
    assert _pairs(close_relatives(_relations(rows)))[(a, b)] == expected


@pytest.mark.parametrize(
    "rows",
    [
        [("A", "A", SPOUSE)],
        [("A", "A", PARENT)],
        [("A", "B", PARENT), ("B", "A", PARENT)],  # a cycle would make A its own grandparent
    ],
)
def test_nobody_is_their_own_relative(rows):
    assert all(a != b for a, b in _pairs(close_relatives(_relations(rows))))


@pytest.mark.parametrize(
    ("rows", "a", "b"),
    [
        ([("H", "P", SPOUSE), ("P", "C", PARENT)], "C", "H"),  # a step-parent
        ([("P", "A", PARENT), ("A", "S", SPOUSE)], "P", "S"),  # a child's spouse
        ([("G", "P", PARENT), ("G", "U", PARENT), ("U", "C", PARENT)], "P", "C"),  # nephew
    ],
)
def test_not_close_relatives(rows, a, b):
    assert (a, b) not in _pairs(close_relatives(_relations(rows)))


def _oracle(n: int, parent_edges, spouse_edges) -> dict[tuple[str, str], str]:
    """Close relatives straight from the definition, on networkx graphs."""
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from((p, c) for p, c in parent_edges if p != c)
    s = nx.Graph()
    s.add_nodes_from(range(n))
    s.add_edges_from((a, b) for a, b in spouse_edges if a != b)
    found: dict[tuple[str, str], str] = {}
    for a in range(n):
        parents = set(g.predecessors(a))
        children = set(g.successors(a))
        by_relation = {
            SPOUSE: set(s.neighbors(a)),
            PARENT: parents,
            CHILD: children,
            SIBLING: {x for p in parents for x in g.successors(p)},
            GRANDPARENT: {x for p in parents for x in g.predecessors(p)},
            GRANDCHILD: {x for c in children for x in g.successors(c)},
        }
        for relation in reversed(RELATION_ORDER):  # closest written last wins
            for b in by_relation[relation] - {a}:
                found[(str(a), str(b))] = relation
    return found


@pytest.mark.parametrize("seed", range(6))
def test_matches_networkx_on_random_families(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 80))
    parent_edges = [tuple(int(x) for x in rng.integers(0, n, 2)) for _ in range(n)]
    spouse_edges = [tuple(int(x) for x in rng.integers(0, n, 2)) for _ in range(n // 3)]
    rows = [(str(p), str(c), PARENT) for p, c in parent_edges] + [
        (str(a), str(b), SPOUSE) for a, b in spouse_edges
    ]
    got = close_relatives(_relations(rows)).collect()
    assert {(a, b): r for a, b, r, _ in got.iter_rows()} == _oracle(n, parent_edges, spouse_edges)
    # every derived pair names an intermediate that really links it
    parents = {(str(p), str(c)) for p, c in parent_edges}
    for a, b, relation, via in got.filter(pl.col("via").is_not_null()).iter_rows():
        first = {SIBLING: (via, a), GRANDPARENT: (via, a), GRANDCHILD: (a, via)}[relation]
        second = {SIBLING: (via, b), GRANDPARENT: (b, via), GRANDCHILD: (via, b)}[relation]
        assert first in parents and second in parents


@pytest.mark.parametrize("seed", range(3))
def test_restricting_to_some_people_is_a_filter(seed):
    rng = np.random.default_rng(100 + seed)
    n = 60
    rows = [(str(p), str(c), PARENT) for p, c in rng.integers(0, n, (n, 2))]
    rows += [(str(a), str(b), SPOUSE) for a, b in rng.integers(0, n, (n // 4, 2))]
    some = [str(x) for x in rng.choice(n, 12, replace=False)]
    full = close_relatives(_relations(rows)).filter(pl.col("id_a").is_in(some))
    part = close_relatives(_relations(rows), of=pl.LazyFrame({"id_number": some}))
    order = ["id_a", "id_b"]
    assert part.collect().sort(order).equals(full.collect().sort(order))


def test_relatives_without_relations_table_is_empty():
    out = relatives_of(None, pl.LazyFrame({"id_number": ["A"]})).collect()
    assert out.height == 0 and out.columns == ["id_a", "id_b", "relation_zh", "via"]


def test_derived_steps():
    frame = pl.DataFrame({"r": [SIBLING, GRANDPARENT, GRANDCHILD, SPOUSE]})
    first, second = derived_steps_expr(pl.col("r"))
    out = frame.select(first.alias("f"), second.alias("s"))
    assert out.rows() == [(PARENT, CHILD), (PARENT, PARENT), (CHILD, CHILD), (None, None)]
