"""Close relatives (近亲属, Civil Code art. 1045) as contract section 5 defines them.

``relations`` holds two kinds of direct edge: 配偶 (symmetric) and 父母 (A is a parent of B).
Children are the reverse of 父母; siblings share at least one parent; grandparents are a parent's
parent and grandchildren a child's child. Nobody is their own close relative.

Everything is a Polars join so that a city's relations derive in seconds; restricting the people
asked about (``of``) pushes the filter into the joins, which is what the staff-centred checks need.
"""

from __future__ import annotations

import polars as pl
from polars._typing import PolarsDataType

SPOUSE = "配偶"
PARENT = "父母"
CHILD = "子女"
SIBLING = "兄弟姐妹"
GRANDPARENT = "祖父母外祖父母"
GRANDCHILD = "孙子女外孙子女"

# Closest first: when one pair is related in several ways, the first one names the pair.
RELATION_ORDER: tuple[str, ...] = (SPOUSE, PARENT, CHILD, SIBLING, GRANDPARENT, GRANDCHILD)

# For a derived relation, the two steps through the intermediate person ``via``:
# id_a -> first -> via -> second -> id_b, read as "via is id_a's <first>, id_b is via's <second>".
DERIVED_STEPS: dict[str, tuple[str, str]] = {
    SIBLING: (PARENT, CHILD),
    GRANDPARENT: (PARENT, PARENT),
    GRANDCHILD: (CHILD, CHILD),
}

KIN_SCHEMA: dict[str, PolarsDataType] = {
    "id_a": pl.String,
    "id_b": pl.String,
    "relation_zh": pl.String,
    "via": pl.String,
}


def _edges(relations: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(parent, child) and symmetric (id_a, id_b) spouse pairs, without self-loops."""
    rel = relations.select(
        pl.col("id_number_a").alias("a"), pl.col("id_number_b").alias("b"), "relation"
    ).filter(pl.col("a").is_not_null() & pl.col("b").is_not_null() & (pl.col("a") != pl.col("b")))
    # Repeated rows are left in: the final group-by removes what they repeat, and a unique over
    # a city's relations would cost more than the few extra join rows.
    parent = rel.filter(pl.col("relation") == PARENT).select(
        pl.col("a").alias("parent"), pl.col("b").alias("child")
    )
    spouse = rel.filter(pl.col("relation") == SPOUSE).select("a", "b")
    spouse = pl.concat([spouse.select(id_a="a", id_b="b"), spouse.select(id_a="b", id_b="a")])
    return parent, spouse


def close_relatives(relations: pl.LazyFrame, of: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """One row per ordered pair: ``id_b`` is ``id_a``'s ``relation_zh``.

    ``via`` is the intermediate person of a derived relation (the shared parent of siblings, the
    parent between a grandchild and a grandparent), null for a direct one. When a pair is related
    in more than one way the closest relation (``RELATION_ORDER``), then the smallest ``via``,
    names it. ``of`` (a frame with an ``id_number`` column) limits ``id_a`` to those people.
    """
    parent, spouse = _edges(relations)
    wanted = None if of is None else of.select(pl.col("id_number").alias("_id")).unique()

    def only(frame: pl.LazyFrame, col: str) -> pl.LazyFrame:
        if wanted is None:
            return frame
        return frame.join(wanted, left_on=col, right_on="_id", how="semi")

    spouses = only(spouse, "id_a").select(
        "id_a", "id_b", pl.lit(SPOUSE).alias("relation_zh"), pl.lit(None, pl.String).alias("via")
    )
    my_parents = only(parent, "child")  # rows (parent, child): parent of id_a = child
    my_children = only(parent, "parent")  # rows (parent, child): child of id_a = parent
    parents = my_parents.select(
        id_a="child", id_b="parent", relation_zh=pl.lit(PARENT), via=pl.lit(None, pl.String)
    )
    children = my_children.select(
        id_a="parent", id_b="child", relation_zh=pl.lit(CHILD), via=pl.lit(None, pl.String)
    )
    siblings = (
        my_parents.join(parent.rename({"child": "sibling"}), on="parent")
        .filter(pl.col("child") != pl.col("sibling"))
        .select(id_a="child", id_b="sibling", relation_zh=pl.lit(SIBLING), via="parent")
    )
    grandparents = my_parents.join(
        parent.rename({"parent": "grand", "child": "parent"}), on="parent"
    ).select(id_a="child", id_b="grand", relation_zh=pl.lit(GRANDPARENT), via="parent")
    grandchildren = my_children.join(
        parent.rename({"parent": "child", "child": "grand"}), on="child"
    ).select(id_a="parent", id_b="grand", relation_zh=pl.lit(GRANDCHILD), via="child")
    rank = {r: str(i) for i, r in enumerate(RELATION_ORDER)}
    every = pl.concat(
        [spouses, parents, children, siblings, grandparents, grandchildren], how="vertical"
    )
    # One group-by picks the closest relation and then the smallest via: both ride in one
    # sortable text key (rank digit, then via), cheaper than a sort and a keep-first.
    best = (
        every.filter(pl.col("id_a") != pl.col("id_b"))
        .with_columns(
            pl.concat_str(
                [
                    pl.col("relation_zh").replace_strict(rank, return_dtype=pl.String),
                    pl.col("via").fill_null(""),
                ]
            ).alias("_key")
        )
        .group_by("id_a", "id_b")
        .agg(pl.col("_key").min())
        .select(
            "id_a",
            "id_b",
            pl.col("_key")
            .str.head(1)
            .replace_strict({v: k for k, v in rank.items()}, return_dtype=pl.String)
            .alias("relation_zh"),
            pl.col("_key").str.slice(1).replace("", None).alias("via"),
        )
    )
    return best


def relatives_of(relations: pl.LazyFrame | None, ids: pl.LazyFrame) -> pl.LazyFrame:
    """:func:`close_relatives` of ``ids`` (column ``id_number``); empty when there is no
    relations table."""
    if relations is None:
        return pl.LazyFrame(schema=KIN_SCHEMA)
    return close_relatives(relations, of=ids)


def derived_steps_expr(relation: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The two step labels (id_a -> via, via -> id_b) of a derived relation; null when direct."""
    first = relation.replace_strict(
        {k: v[0] for k, v in DERIVED_STEPS.items()}, default=None, return_dtype=pl.String
    )
    second = relation.replace_strict(
        {k: v[1] for k, v in DERIVED_STEPS.items()}, default=None, return_dtype=pl.String
    )
    return first, second
