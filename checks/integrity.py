"""Integrity: close relatives, shared accounts and card custody behind favouritism.

Every check reads contract section 5 literally (see the shared semantics notes). Each finding's
evidence is the path that makes it: nodes ``{id, kind, label}`` (``id`` is the link graph's key,
``label`` masked) and edges ``{from, to, label}``, plus ``path``, the same chain as one line of
text, so a supervisor can follow it in the source systems without this tool.

Joins against the district's registers (cases, persons and the ledger's sums) go without
``validate=``: their keys are unique by the contract (the reader rejects repeats), and validating
would hash a million rows per join. Joins of derived frames keep it.

Optional tables: a missing ``relations``, ``relative_filings`` or ``custody_filings`` table reads as
empty where it only excuses or narrows a finding. The two "not filed" checks need their filing
table, and relative_not_filed needs ``relations``: without them they would flag everybody or
nobody, so they are skipped and the run says why.
"""

from __future__ import annotations

import polars as pl

from analytics.kinship import derived_steps_expr, relatives_of
from analytics.linkgraph import (
    ACCOUNT,
    ADDRESS,
    CASE,
    CUSTODIAN,
    HOLDER,
    MEMBER,
    PAID_TO,
    PERSON,
    PHONE,
    REGISTERED,
    ROLE_ZH,
    SALARY,
    SELF,
    SHARED_ADDRESS,
    SHARED_PHONE,
    STAFF,
    edge_expr,
    node_expr,
    node_key,
    node_label,
)
from analytics.masking import mask_account_expr, mask_id_expr
from analytics.model import Drop
from analytics.schema import polars_schema
from checks.common import paid_rows
from checks.registry import check

# Evidence lists longer than this are cut; the full count stays in the evidence.
MAX_LISTED = 50


# --- evidence paths -------------------------------------------------------------------------------


def _lit(label: pl.Expr | str) -> pl.Expr:
    return pl.lit(label) if isinstance(label, str) else label


class _Path:
    """A chain of nodes and edges built as Polars expressions, one chain per row."""

    def __init__(self, kind: str, ident: pl.Expr, suffix: pl.Expr | None = None):
        self.nodes = [node_expr(kind, ident)]
        self.edges: list[pl.Expr] = []
        self.text: list[pl.Expr] = [node_label(kind, ident)]
        if suffix is not None:
            self.text.append(suffix)
        self.last = node_key(kind, ident)

    def to(self, label: pl.Expr | str, kind: str, ident: pl.Expr) -> _Path:
        key = node_key(kind, ident)
        self.nodes.append(node_expr(kind, ident))
        self.edges.append(edge_expr(self.last, key, label))
        self.text += [
            pl.concat_str([pl.lit(" → "), _lit(label), pl.lit(" → ")]),
            node_label(kind, ident),
        ]
        self.last = key
        return self

    def kin(self, relation: pl.Expr, via: pl.Expr, ident: pl.Expr) -> _Path:
        """A close-relative step: direct, or through the intermediate person ``via``."""
        first, second = derived_steps_expr(relation)
        derived = via.is_not_null()
        via_key = node_key(PERSON, via)
        key = node_key(PERSON, ident)
        self.nodes += [pl.when(derived).then(node_expr(PERSON, via)), node_expr(PERSON, ident)]
        self.edges += [
            pl.when(derived)
            .then(edge_expr(self.last, via_key, first))
            .otherwise(edge_expr(self.last, key, relation)),
            pl.when(derived).then(edge_expr(via_key, key, second)),
        ]
        self.text += [
            pl.when(derived)
            .then(
                pl.concat_str(
                    [
                        pl.lit(" → "),
                        first,
                        pl.lit(" → "),
                        node_label(PERSON, via),
                        pl.lit(" → "),
                        second,
                        pl.lit(" → "),
                    ]
                )
            )
            .otherwise(pl.concat_str([pl.lit(" → "), relation, pl.lit(" → ")])),
            node_label(PERSON, ident),
        ]
        self.last = key
        return self

    def also(self, source: pl.Expr, label: pl.Expr | str, target: pl.Expr) -> _Path:
        """An edge that closes the chain (e.g. the handler's own edge to the case)."""
        self.edges.append(edge_expr(source, target, label))
        return self

    def evidence(self, **facts: pl.Expr) -> pl.Expr:
        return pl.struct(
            pl.concat_str(self.text, ignore_nulls=True).alias("path"),
            pl.concat_list(self.nodes).list.drop_nulls().alias("nodes"),
            pl.concat_list(self.edges).list.drop_nulls().alias("edges"),
            *[v.alias(k) for k, v in facts.items()],
        ).alias("evidence")


def _staff_text() -> pl.Expr:
    """'工作人员 S001（街镇经办）'."""
    return pl.concat_str(
        [pl.lit("工作人员 "), pl.col("staff_id"), pl.lit("（"), pl.col("role"), pl.lit("）")]
    )


def _relation_text() -> pl.Expr:
    """'配偶' or '兄弟姐妹（经由父母 310105********1234）'."""
    first, _ = derived_steps_expr(pl.col("relation_zh"))
    return (
        pl.when(pl.col("via").is_null())
        .then(pl.col("relation_zh"))
        .otherwise(
            pl.concat_str(
                [
                    pl.col("relation_zh"),
                    pl.lit("（经由"),
                    first,
                    pl.lit(" "),
                    mask_id_expr(pl.col("via")),
                    pl.lit("）"),
                ]
            )
        )
    )


# --- tables ------------------------------------------------------------------------------------


def _optional(drop: Drop, table: str) -> pl.LazyFrame:
    if table in drop.tables:
        return drop[table]
    return pl.LazyFrame(schema=polars_schema(table))


def _staff(drop: Drop) -> pl.LazyFrame:
    return drop["staff"].select(
        "staff_id",
        pl.col("id_number").alias("sid"),
        "role",
        pl.col("street").alias("staff_street"),
        pl.col("phone").alias("staff_phone"),
        pl.col("address_norm").alias("staff_address"),
        "salary_account",
    )


def _cases(drop: Drop) -> pl.LazyFrame:
    return drop["cases"].select("case_id", "household_id", "street", "status")


# --- frames shared by the checks of one run ---------------------------------------------------
#
# Built together, in two rounds of collect_all: first the ledger's sums per (account, case), the
# staff's relatives and the active cases (independent, so they run side by side); then what
# derives from them, from memory: money per case, household and account, the accounts tied to
# cases and the cases tied to staff.


def _first_round(drop: Drop) -> dict[str, pl.LazyFrame]:
    staff = _staff(drop).select("staff_id", "sid", "role")
    kin = relatives_of(drop.tables.get("relations"), drop["staff"].select("id_number").unique())
    return {
        "paid_pairs": (
            paid_rows(drop)
            .group_by("account_no", "case_id")
            .agg(pl.col("amount").sum().alias("paid_fen"))
        ),
        "staff_relatives": staff.join(
            kin.rename({"id_a": "sid", "id_b": "rid"}), on="sid", how="inner"
        ),
        "active_case": (
            _cases(drop)
            .filter(pl.col("status") == "在册")
            .group_by("household_id")
            .agg(pl.col("case_id").min().alias("active_case"))
        ),
    }


def _second_round(drop: Drop, pairs: pl.LazyFrame, kin: pl.LazyFrame) -> dict[str, pl.LazyFrame]:
    cases = _cases(drop)
    by_case = (
        pairs.filter(pl.col("case_id").is_not_null())
        .group_by("case_id")
        .agg(pl.col("paid_fen").sum())
    )
    registered = drop["accounts"].select("account_no", "case_id", pl.lit(REGISTERED).alias("link"))
    paid_ties = (
        pairs.filter(pl.col("case_id").is_not_null())
        .select("account_no", "case_id")
        .join(registered, on=["account_no", "case_id"], how="anti")
        .with_columns(pl.lit(PAID_TO).alias("link"))
    )
    own = (
        _staff(drop)
        .select("staff_id", "sid", "role")
        .with_columns(
            pl.col("sid").alias("rid"),
            pl.lit(SELF).alias("relation_zh"),
            pl.lit(None, pl.String).alias("via"),
        )
    )
    linked = pl.concat(
        [own.with_columns(pl.lit(0).alias("rank")), kin.with_columns(pl.lit(1).alias("rank"))],
        how="vertical",
    )
    return {
        "paid_by_case": by_case,
        "paid_by_household": (
            by_case.join(cases.select("case_id", "household_id"), on="case_id", how="inner")
            .group_by("household_id")
            .agg(pl.col("paid_fen").sum())
        ),
        "paid_by_account": pairs.group_by("account_no").agg(pl.col("paid_fen").sum()),
        "case_accounts": pl.concat([registered, paid_ties], how="vertical"),
        "related_cases": (
            linked.join(
                drop["persons"].select(pl.col("id_number").alias("rid"), "household_id"),
                on="rid",
                how="inner",
            ).join(
                cases.select("case_id", "household_id", "street"), on="household_id", how="inner"
            )
        ),
    }


def _shared(drop: Drop, name: str) -> pl.LazyFrame:
    def build_all() -> pl.LazyFrame:
        first = _first_round(drop)
        done = dict(zip(first, pl.collect_all(list(first.values())), strict=True))
        second = _second_round(drop, done["paid_pairs"].lazy(), done["staff_relatives"].lazy())
        done.update(zip(second, pl.collect_all(list(second.values())), strict=True))
        for key, frame in done.items():
            drop.memo(f"integrity.{key}", frame.lazy)
        return pl.LazyFrame()

    drop.memo("integrity.shared", build_all)
    return drop.memo(f"integrity.{name}", _never_built)


def _never_built() -> pl.LazyFrame:
    raise KeyError("shared integrity frame missing")


def staff_relatives(drop: Drop) -> pl.LazyFrame:
    """Close relatives of every staff member: staff_id, sid, role, rid, relation_zh, via."""
    return _shared(drop, "staff_relatives")


def related_cases(drop: Drop) -> pl.LazyFrame:
    """(staff_id, case_id) where the staff member is a member of the case household (``rank`` 0)
    or a close relative of a member (``rank`` 1), with the member, relation and via behind it."""
    return _shared(drop, "related_cases")


def case_accounts(drop: Drop) -> pl.LazyFrame:
    """Every (account_no, case_id) tie: registered in accounts, or paid (paid rows with a case_id,
    any scope), with ``link`` 登记账户 or 实发账户. Join the cases after narrowing it down."""
    return _shared(drop, "case_accounts")


def _active_case(drop: Drop) -> pl.LazyFrame:
    """household_id -> the first active case (for a recipient's evidence)."""
    return _shared(drop, "active_case")


def _paid_by_case(drop: Drop) -> pl.LazyFrame:
    return _shared(drop, "paid_by_case")


def _paid_by_household(drop: Drop) -> pl.LazyFrame:
    return _shared(drop, "paid_by_household")


def _paid_by_account(drop: Drop) -> pl.LazyFrame:
    return _shared(drop, "paid_by_account")


def _as_recipients(drop: Drop, people: pl.LazyFrame) -> pl.LazyFrame:
    """The rows of ``people`` (with household_id) who are recipients, with their active case.

    Applied after the staff-side joins have cut persons down, not to the whole register."""
    return people.join(_active_case(drop), on="household_id", how="inner")


def _persons(drop: Drop) -> pl.LazyFrame:
    return drop["persons"].select("id_number", "household_id", "street", "phone", "address_norm")


def _with_case(drop: Drop, ties: pl.LazyFrame) -> pl.LazyFrame:
    """``ties`` with the case's household and street (null for a case not in cases)."""
    return ties.join(
        _cases(drop).select("case_id", "household_id", "street"), on="case_id", how="left"
    )


def _with_roles(drop: Drop, pairs: pl.LazyFrame) -> pl.LazyFrame:
    """The ``pairs`` (case_id, staff_id, ...) where the staff member handled, reviewed or
    approved the case, with ``roles_zh`` ('经办人、审核人'). Roles are gathered for the candidate
    pairs only, not for every case of the district."""
    wanted = pairs.select("case_id", "staff_id").unique()
    cases = drop["cases"].join(wanted.select("case_id").unique(), on="case_id", how="semi")
    parts = [
        cases.select(
            "case_id",
            pl.col(col).alias("staff_id"),
            pl.lit(zh).alias("role_zh"),
            pl.lit(i).alias("_o"),
        )
        for i, (col, zh) in enumerate(ROLE_ZH.items())
    ]
    roles = (
        pl.concat(parts, how="vertical")
        .join(wanted, on=["case_id", "staff_id"], how="semi")
        .group_by("case_id", "staff_id")
        .agg(pl.col("role_zh").sort_by("_o").str.join("、").alias("roles_zh"))
    )
    return pairs.join(roles, on=["case_id", "staff_id"], how="inner", validate="m:1")


def _valid_custody(drop: Drop) -> pl.LazyFrame:
    """Custody filings valid on the as-of date."""
    as_of = pl.lit(drop.as_of)
    return _optional(drop, "custody_filings").filter(
        (pl.col("filed_date") <= as_of)
        & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= as_of))
    )


def _filings(drop: Drop) -> pl.LazyFrame:
    return (
        _optional(drop, "relative_filings")
        .select("staff_id", pl.col("relative_id_number").alias("rid"))
        .unique()
    )


def _settle(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Compute a narrowed-down frame once: the summary, the counts and each evidence branch read
    it next, and the engine would otherwise run its joins again for every one of them."""
    return frame.collect().lazy()


def _first(frame: pl.LazyFrame, keys: list[str], order: list[str]) -> pl.LazyFrame:
    """The first row of each key by ``order``: one finding per distinct key."""
    return frame.sort([*keys, *order], nulls_last=True).unique(
        keys, keep="first", maintain_order=True
    )


# --- relatives and handling ---------------------------------------------------------------------


@check(
    title="近亲属享受救助未备案",
    family="integrity",
    severity="中",
    keys=("staff_id", "id_number"),
    needs=("staff", "persons", "cases", "relations", "relative_filings"),
)
def relative_not_filed(drop: Drop) -> pl.LazyFrame:
    """工作人员的近亲属正在享受救助，但该工作人员没有就这名亲属申报近亲属备案。"""
    rows = (
        staff_relatives(drop)
        .join(_persons(drop).rename({"id_number": "rid"}), on="rid", how="inner")
        .pipe(lambda people: _as_recipients(drop, people))
        .join(_filings(drop), on=["staff_id", "rid"], how="anti")
        .join(_paid_by_household(drop), on="household_id", how="left")
    )
    path = (
        _Path(STAFF, pl.col("staff_id"))
        .to(SELF, PERSON, pl.col("sid"))
        .kin(pl.col("relation_zh"), pl.col("via"), pl.col("rid"))
        .to(MEMBER, CASE, pl.col("active_case"))
    )
    return rows.select(
        "staff_id",
        pl.col("rid").alias("id_number"),
        "street",
        pl.col("active_case").alias("case_id"),
        pl.col("paid_fen").alias("amount_fen"),
        pl.concat_str(
            [
                _staff_text(),
                pl.lit("的"),
                _relation_text(),
                pl.lit(" "),
                mask_id_expr(pl.col("rid")),
                pl.lit(" 是在册救助对象（案件 "),
                pl.col("active_case"),
                pl.lit("），未见近亲属备案，请核实并补办备案。"),
            ]
        ).alias("summary"),
        path.evidence(relation=pl.col("relation_zh")),
    )


@check(
    title="经办近亲属案件未回避",
    family="integrity",
    severity="高",
    keys=("staff_id", "case_id"),
    needs=("staff", "persons", "cases"),
)
def handled_relative_case(drop: Drop) -> pl.LazyFrame:
    """案件的经办、审核或审批人员本人是该户家庭成员，或是家庭成员的近亲属，未回避（无论是否备案）。"""
    rows = _with_roles(drop, related_cases(drop))
    rows = _settle(
        _first(rows, ["staff_id", "case_id"], ["rank", "rid"]).join(
            _paid_by_case(drop), on="case_id", how="left"
        )
    )
    is_self = pl.col("rank") == 0
    own_path = (
        _Path(
            STAFF,
            pl.col("staff_id"),
            pl.concat_str([pl.lit("（"), pl.col("roles_zh"), pl.lit("）")]),
        )
        .to(SELF, PERSON, pl.col("sid"))
        .to(MEMBER, CASE, pl.col("case_id"))
        .also(
            node_key(STAFF, pl.col("staff_id")),
            pl.col("roles_zh"),
            node_key(CASE, pl.col("case_id")),
        )
    )
    kin_path = (
        _Path(
            STAFF,
            pl.col("staff_id"),
            pl.concat_str([pl.lit("（"), pl.col("roles_zh"), pl.lit("）")]),
        )
        .to(SELF, PERSON, pl.col("sid"))
        .kin(pl.col("relation_zh"), pl.col("via"), pl.col("rid"))
        .to(MEMBER, CASE, pl.col("case_id"))
        .also(
            node_key(STAFF, pl.col("staff_id")),
            pl.col("roles_zh"),
            node_key(CASE, pl.col("case_id")),
        )
    )
    who = (
        pl.when(is_self)
        .then(pl.lit("本人是该户家庭成员"))
        .otherwise(
            pl.concat_str(
                [
                    pl.lit("其"),
                    _relation_text(),
                    pl.lit(" "),
                    mask_id_expr(pl.col("rid")),
                    pl.lit(" 是该户家庭成员"),
                ]
            )
        )
    )
    facts = dict(roles=pl.col("roles_zh"), relation=pl.col("relation_zh"))
    return pl.concat(
        [
            rows.filter(is_self).select(*_handled_cols(who), own_path.evidence(**facts)),
            rows.filter(~is_self).select(*_handled_cols(who), kin_path.evidence(**facts)),
        ],
        how="vertical",
    )


def _handled_cols(who: pl.Expr) -> list[pl.Expr | str]:
    return [
        "staff_id",
        "case_id",
        "street",
        pl.col("paid_fen").alias("amount_fen"),
        pl.concat_str(
            [
                _staff_text(),
                pl.lit("担任案件 "),
                pl.col("case_id"),
                pl.lit(" 的"),
                pl.col("roles_zh"),
                pl.lit("，"),
                who,
                pl.lit("，应当回避而未回避，请复核该案。"),
            ]
        ).alias("summary"),
    ]


# Link kinds of handled_linked_case and staff_contact_overlap, in the order that names a finding.
_LINK_ORDER = {HOLDER: 0, CUSTODIAN: 1, SHARED_PHONE: 2, SHARED_ADDRESS: 3}


def _contact_matches(drop: Drop, people: pl.LazyFrame) -> pl.LazyFrame:
    """Staff sharing a phone or a normalised address with ``people`` (id_number, phone,
    address_norm, ...): staff_id, sid, role, link, via (the phone or address), and people's cols."""
    staff = _staff(drop)
    by_phone = staff.join(
        people, left_on="staff_phone", right_on="phone", how="inner"
    ).with_columns(pl.lit(SHARED_PHONE).alias("link"), pl.col("staff_phone").alias("via"))
    by_address = staff.join(
        people, left_on="staff_address", right_on="address_norm", how="inner"
    ).with_columns(pl.lit(SHARED_ADDRESS).alias("link"), pl.col("staff_address").alias("via"))
    cols = by_phone.collect_schema().names()
    keep = [c for c in cols if c in by_address.collect_schema().names()]
    return pl.concat([by_phone.select(keep), by_address.select(keep)], how="vertical")


def _link_text(link: pl.Expr) -> pl.Expr:
    return (
        pl.when(link == HOLDER)
        .then(pl.lit("是该案收款账户的户名人"))
        .when(link == CUSTODIAN)
        .then(pl.lit("代管该案收款账户"))
        .when(link == SHARED_PHONE)
        .then(pl.lit("与该户家庭成员使用同一电话"))
        .otherwise(pl.lit("与该户家庭成员登记同一住址"))
    )


@check(
    title="经办关联案件",
    family="integrity",
    severity="中",
    keys=("staff_id", "case_id"),
    needs=("staff", "persons", "cases", "accounts"),
)
def handled_linked_case(drop: Drop) -> pl.LazyFrame:
    """经办、审核或审批人员虽非该户近亲属，但与家庭成员共用电话或住址，或本人是该案收款账户的户名人、代管人。"""
    members = drop["persons"].select("id_number", "household_id", "phone", "address_norm")
    contact = (
        _contact_matches(drop, members)
        .join(
            _cases(drop).select("case_id", "household_id", "street"), on="household_id", how="inner"
        )
        .select(
            "staff_id",
            "sid",
            "role",
            "case_id",
            "street",
            "link",
            "via",
            pl.col("id_number").alias("member"),
        )
    )
    accounts = drop["accounts"]
    staff_ids = drop["staff"].select(pl.col("id_number").alias("sid")).unique()
    held = pl.concat(
        [
            accounts.join(staff_ids, left_on=column, right_on="sid", how="semi").select(
                "case_id", "account_no", pl.col(column).alias("sid"), pl.lit(link).alias("link")
            )
            for column, link in (("holder_id_number", HOLDER), ("custodian_id_number", CUSTODIAN))
        ],
        how="vertical",
    )
    holding = (
        _staff(drop)
        .select("staff_id", "sid", "role")
        .join(held, on="sid", how="inner")
        .join(_cases(drop).select("case_id", "street"), on="case_id", how="inner")
        .select(
            "staff_id",
            "sid",
            "role",
            "case_id",
            "street",
            "link",
            pl.col("account_no").alias("via"),
            pl.lit(None, pl.String).alias("member"),
        )
    )
    rows = _settle(
        _with_roles(drop, pl.concat([holding, contact], how="vertical"))
        .join(
            related_cases(drop).select("staff_id", "case_id").unique(),
            on=["staff_id", "case_id"],
            how="anti",
        )
        .with_columns(pl.col("link").replace_strict(_LINK_ORDER, return_dtype=pl.Int32).alias("_o"))
    )
    links = rows.group_by("staff_id", "case_id").agg(
        pl.col("link").sort_by("_o").unique(maintain_order=True).str.join("、").alias("links")
    )
    rows = _settle(
        _first(rows, ["staff_id", "case_id"], ["_o", "member", "via"])
        .join(links, on=["staff_id", "case_id"], how="inner", validate="1:1")
        .join(_paid_by_case(drop), on="case_id", how="left")
    )
    suffix = pl.concat_str([pl.lit("（"), pl.col("roles_zh"), pl.lit("）")])
    close = (
        node_key(STAFF, pl.col("staff_id")),
        pl.col("roles_zh"),
        node_key(CASE, pl.col("case_id")),
    )
    is_account = pl.col("link").is_in([HOLDER, CUSTODIAN])
    account_path = (
        _Path(STAFF, pl.col("staff_id"), suffix)
        .to(SELF, PERSON, pl.col("sid"))
        .to(pl.col("link"), ACCOUNT, pl.col("via"))
        .to(REGISTERED, CASE, pl.col("case_id"))
        .also(*close)
    )
    phone_path = (
        _Path(STAFF, pl.col("staff_id"), suffix)
        .to(SHARED_PHONE, PHONE, pl.col("via"))
        .to(SHARED_PHONE, PERSON, pl.col("member"))
        .to(MEMBER, CASE, pl.col("case_id"))
        .also(*close)
    )
    address_path = (
        _Path(STAFF, pl.col("staff_id"), suffix)
        .to(SHARED_ADDRESS, ADDRESS, pl.col("via"))
        .to(SHARED_ADDRESS, PERSON, pl.col("member"))
        .to(MEMBER, CASE, pl.col("case_id"))
        .also(*close)
    )
    cols: list[pl.Expr | str] = [
        "staff_id",
        "case_id",
        "street",
        pl.col("paid_fen").alias("amount_fen"),
        pl.concat_str(
            [
                _staff_text(),
                pl.lit("担任案件 "),
                pl.col("case_id"),
                pl.lit(" 的"),
                pl.col("roles_zh"),
                pl.lit("，本人不是该户近亲属，但"),
                _link_text(pl.col("link")),
                pl.lit("（关联："),
                pl.col("links"),
                pl.lit("），请核实是否存在利益关联。"),
            ]
        ).alias("summary"),
    ]
    facts = dict(roles=pl.col("roles_zh"), links=pl.col("links"))
    return pl.concat(
        [
            rows.filter(is_account).select(*cols, account_path.evidence(**facts)),
            rows.filter(pl.col("link") == SHARED_PHONE).select(*cols, phone_path.evidence(**facts)),
            rows.filter(pl.col("link") == SHARED_ADDRESS).select(
                *cols, address_path.evidence(**facts)
            ),
        ],
        how="vertical",
    )


@check(
    title="工作人员与救助对象联系方式重合",
    family="integrity",
    severity="低",
    keys=("staff_id", "id_number"),
    needs=("staff", "persons", "cases"),
)
def staff_contact_overlap(drop: Drop) -> pl.LazyFrame:
    """在册救助对象与工作人员登记了同一电话或住址，既非其近亲属，也未见该工作人员的近亲属备案。"""
    rows = _settle(
        _as_recipients(drop, _contact_matches(drop, _persons(drop)))
        .filter(pl.col("id_number") != pl.col("sid"))
        .join(
            staff_relatives(drop).select("staff_id", pl.col("rid").alias("id_number")),
            on=["staff_id", "id_number"],
            how="anti",
        )
        .join(_filings(drop).rename({"rid": "id_number"}), on=["staff_id", "id_number"], how="anti")
        .with_columns(pl.col("link").replace_strict(_LINK_ORDER, return_dtype=pl.Int32).alias("_o"))
    )
    links = rows.group_by("staff_id", "id_number").agg(
        pl.col("link").sort_by("_o").unique(maintain_order=True).str.join("、").alias("links")
    )
    rows = _settle(
        _first(rows, ["staff_id", "id_number"], ["_o"])
        .join(links, on=["staff_id", "id_number"], how="inner", validate="1:1")
        .join(_paid_by_household(drop), on="household_id", how="left")
    )
    phone_path = (
        _Path(STAFF, pl.col("staff_id"))
        .to(SHARED_PHONE, PHONE, pl.col("via"))
        .to(SHARED_PHONE, PERSON, pl.col("id_number"))
        .to(MEMBER, CASE, pl.col("active_case"))
    )
    address_path = (
        _Path(STAFF, pl.col("staff_id"))
        .to(SHARED_ADDRESS, ADDRESS, pl.col("via"))
        .to(SHARED_ADDRESS, PERSON, pl.col("id_number"))
        .to(MEMBER, CASE, pl.col("active_case"))
    )
    cols: list[pl.Expr | str] = [
        "staff_id",
        "id_number",
        "street",
        pl.col("active_case").alias("case_id"),
        pl.col("paid_fen").alias("amount_fen"),
        pl.concat_str(
            [
                _staff_text(),
                pl.lit("与在册救助对象 "),
                mask_id_expr(pl.col("id_number")),
                pl.lit("（案件 "),
                pl.col("active_case"),
                pl.lit("）"),
                pl.col("links").str.replace_all("共用", ""),
                pl.lit("相同，二人无登记的近亲属关系，也未备案，请核实关系。"),
            ]
        ).alias("summary"),
    ]
    facts = dict(links=pl.col("links"))
    return pl.concat(
        [
            rows.filter(pl.col("link") == SHARED_PHONE).select(*cols, phone_path.evidence(**facts)),
            rows.filter(pl.col("link") == SHARED_ADDRESS).select(
                *cols, address_path.evidence(**facts)
            ),
        ],
        how="vertical",
    )


# --- accounts and custody -----------------------------------------------------------------------


def _case_node_label() -> pl.Expr:
    return pl.concat_str(
        [
            pl.lit("案件 "),
            pl.col("case_id"),
            pl.lit("（家庭 "),
            pl.col("household_id").fill_null("未登记"),
            pl.lit("）"),
        ]
    )


@check(
    title="一卡多户",
    family="integrity",
    severity="高",
    keys=("account_no",),
    needs=("accounts", "cases", "ledger"),
)
def shared_account(drop: Drop) -> pl.LazyFrame:
    """同一银行账户登记为或实际收取了两户及以上家庭的救助金。"""
    # Two households need two cases: a cheap count narrows the ties before the cases join.
    ties = case_accounts(drop)  # distinct pairs: counting rows counts cases
    several = (
        ties.group_by("account_no")
        .agg(pl.len().alias("_n"))
        .filter(pl.col("_n") >= 2)
        .select("account_no")
    )
    ties = _settle(
        _with_case(drop, ties.join(several, on="account_no", how="semi")).filter(
            pl.col("household_id").is_not_null()
        )
    )
    shared = (
        ties.group_by("account_no")
        .agg(pl.col("household_id").n_unique().alias("households"))
        .filter(pl.col("households") >= 2)
    )
    rows = _settle(
        ties.join(shared, on="account_no", how="semi")
        .sort("account_no", "case_id")
        .with_columns(pl.int_range(pl.len()).over("account_no").alias("_i"))
    )
    listed = rows.filter(pl.col("_i") < MAX_LISTED)
    account_key = node_key(ACCOUNT, pl.col("account_no"))
    star = listed.group_by("account_no", maintain_order=True).agg(
        pl.struct(
            node_key(CASE, pl.col("case_id")).alias("id"),
            pl.lit(CASE).alias("kind"),
            _case_node_label().alias("label"),
        ).alias("_nodes"),
        edge_expr(account_key, node_key(CASE, pl.col("case_id")), pl.col("link")).alias("edges"),
        pl.concat_str([pl.col("link"), pl.lit(" → "), _case_node_label()]).alias("_text"),
    )
    totals = rows.group_by("account_no").agg(
        pl.len().alias("cases"),
        pl.col("street").first().alias("street"),
        pl.col("case_id").str.join("、").alias("case_list"),
    )
    out = (
        star.join(totals, on="account_no", how="inner", validate="1:1")
        .join(shared, on="account_no", how="inner", validate="1:1")
        .join(_paid_by_account(drop), on="account_no", how="left")
    )
    label = node_label(ACCOUNT, pl.col("account_no"))
    return out.select(
        "account_no",
        "street",
        pl.col("paid_fen").alias("amount_fen"),
        pl.concat_str(
            [
                pl.lit("银行账户 "),
                label,
                pl.lit(" 登记或收取了"),
                pl.col("households").cast(pl.String),
                pl.lit("户家庭、"),
                pl.col("cases").cast(pl.String),
                pl.lit("个案件的救助金（案件 "),
                pl.col("case_list").str.slice(0, 120),
                pl.lit("），请核实是否一卡多户。"),
            ]
        ).alias("summary"),
        pl.struct(
            pl.concat_str([label, pl.lit(" → "), pl.col("_text").list.join("；")]).alias("path"),
            pl.concat_list([node_expr(ACCOUNT, pl.col("account_no")), pl.col("_nodes")]).alias(
                "nodes"
            ),
            pl.col("edges"),
            pl.col("households"),
            pl.col("cases"),
        ).alias("evidence"),
    )


@check(
    title="收款人非家庭成员",
    family="integrity",
    severity="中",
    keys=("account_no",),
    needs=("accounts", "cases", "persons"),
)
def payee_not_household(drop: Drop) -> pl.LazyFrame:
    """登记的收款账户户名人不是该案家庭成员，且基准日没有有效的卡折代管备案。"""
    members = drop["persons"].select(pl.col("id_number").alias("holder_id_number"), "household_id")
    holder_home = drop["persons"].select(
        pl.col("id_number").alias("holder_id_number"),
        pl.col("household_id").alias("holder_household"),
    )
    rows = _settle(
        drop["accounts"]
        .join(_cases(drop).select("case_id", "household_id", "street"), on="case_id", how="inner")
        .join(members, on=["holder_id_number", "household_id"], how="anti")
        .join(_valid_custody(drop).select("account_no").unique(), on="account_no", how="anti")
    )
    counts = rows.group_by("account_no").agg(pl.len().alias("cases"))
    rows = (
        _first(rows, ["account_no"], ["case_id"])
        .join(counts, on="account_no", how="inner", validate="1:1")
        .join(holder_home, on="holder_id_number", how="left")
        .join(_paid_by_account(drop), on="account_no", how="left")
    )
    path = (
        _Path(PERSON, pl.col("holder_id_number"))
        .to(HOLDER, ACCOUNT, pl.col("account_no"))
        .to(REGISTERED, CASE, pl.col("case_id"))
    )
    holder_is = (
        pl.when(pl.col("holder_household").is_null())
        .then(pl.lit("（不在人员信息中）"))
        .otherwise(pl.concat_str([pl.lit("（属家庭 "), pl.col("holder_household"), pl.lit("）")]))
    )
    return rows.select(
        "account_no",
        "case_id",
        "street",
        pl.col("holder_id_number").alias("id_number"),
        pl.col("paid_fen").alias("amount_fen"),
        pl.concat_str(
            [
                pl.lit("案件 "),
                pl.col("case_id"),
                pl.lit(" 的收款账户 "),
                mask_account_expr(pl.col("account_no")),
                pl.lit(" 户名人 "),
                mask_id_expr(pl.col("holder_id_number")),
                holder_is,
                pl.lit("不是该户家庭成员（家庭 "),
                pl.col("household_id"),
                pl.lit("），基准日无有效代管备案，请核实资金是否到达本人。"),
            ]
        ).alias("summary"),
        path.evidence(
            household=pl.col("household_id"),
            holder_household=pl.col("holder_household"),
            cases=pl.col("cases"),
        ),
    )


@check(
    title="账户关联工作人员",
    family="integrity",
    severity="高",
    keys=("account_no",),
    needs=("staff", "accounts", "cases", "persons", "ledger"),
)
def staff_linked_account(drop: Drop) -> pl.LazyFrame:
    """案件的收款账户是工作人员的工资账户，或户名人、代管人是工作人员本人，或是工作人员的非本户近亲属。"""
    staff = _staff(drop)
    ties = case_accounts(drop)
    salary = (
        staff.filter(pl.col("salary_account").is_not_null())
        .join(ties, left_on="salary_account", right_on="account_no", how="inner")
        .pipe(lambda frame: _with_case(drop, frame))
        .select(
            "staff_id",
            "sid",
            "role",
            pl.col("salary_account").alias("account_no"),
            "case_id",
            "street",
            "link",
            pl.lit(SALARY).alias("how"),
            pl.lit(None, pl.String).alias("rid"),
            pl.lit(None, pl.String).alias("relation_zh"),
            pl.lit(None, pl.String).alias("via"),
            pl.lit(0).alias("_o"),
        )
    )
    # Holders and keepers who are staff or staff relatives: narrowed before the cases join.
    suspects = pl.concat(
        [
            staff.select(pl.col("sid").alias("pid")),
            staff_relatives(drop).select(pl.col("rid").alias("pid")),
        ]
    ).unique()
    accounts = drop["accounts"]
    named = (
        pl.concat(
            [
                accounts.select(
                    "account_no",
                    "case_id",
                    pl.col("holder_id_number").alias("pid"),
                    pl.lit(HOLDER).alias("how"),
                ),
                accounts.select(
                    "account_no",
                    "case_id",
                    pl.col("custodian_id_number").alias("pid"),
                    pl.lit(CUSTODIAN).alias("how"),
                ),
            ],
            how="vertical",
        )
        .join(suspects, on="pid", how="semi")
        .join(_cases(drop).select("case_id", "household_id", "street"), on="case_id", how="left")
    )
    own = staff.join(named, left_on="sid", right_on="pid", how="inner").select(
        "staff_id",
        "sid",
        "role",
        "account_no",
        "case_id",
        "street",
        pl.lit(REGISTERED).alias("link"),
        "how",
        pl.lit(None, pl.String).alias("rid"),
        pl.lit(None, pl.String).alias("relation_zh"),
        pl.lit(None, pl.String).alias("via"),
        (pl.lit(1) + (pl.col("how") == CUSTODIAN).cast(pl.Int32)).alias("_o"),
    )
    members = drop["persons"].select(pl.col("id_number").alias("pid"), "household_id")
    relative = (
        staff_relatives(drop)
        .join(named, left_on="rid", right_on="pid", how="inner")
        .join(members.rename({"pid": "rid"}), on=["rid", "household_id"], how="anti")
        .select(
            "staff_id",
            "sid",
            "role",
            "account_no",
            "case_id",
            "street",
            pl.lit(REGISTERED).alias("link"),
            "how",
            "rid",
            "relation_zh",
            "via",
            (pl.lit(3) + (pl.col("how") == CUSTODIAN).cast(pl.Int32)).alias("_o"),
        )
    )
    every = _settle(pl.concat([salary, own, relative], how="vertical"))
    reasons = every.group_by("account_no").agg(pl.col("staff_id").n_unique().alias("staff_count"))
    rows = _settle(
        _first(every, ["account_no"], ["_o", "staff_id", "case_id", "rid"])
        .join(reasons, on="account_no", how="inner", validate="1:1")
        .join(_paid_by_account(drop), on="account_no", how="left")
    )
    salary_path = (
        _Path(STAFF, pl.col("staff_id"))
        .to(SALARY, ACCOUNT, pl.col("account_no"))
        .to(pl.col("link"), CASE, pl.col("case_id"))
    )
    own_path = (
        _Path(STAFF, pl.col("staff_id"))
        .to(SELF, PERSON, pl.col("sid"))
        .to(pl.col("how"), ACCOUNT, pl.col("account_no"))
        .to(REGISTERED, CASE, pl.col("case_id"))
    )
    kin_path = (
        _Path(STAFF, pl.col("staff_id"))
        .to(SELF, PERSON, pl.col("sid"))
        .kin(pl.col("relation_zh"), pl.col("via"), pl.col("rid"))
        .to(pl.col("how"), ACCOUNT, pl.col("account_no"))
        .to(REGISTERED, CASE, pl.col("case_id"))
    )
    role_of = pl.when(pl.col("how") == HOLDER).then(pl.lit("户名人")).otherwise(pl.lit("代管人"))
    reason = (
        pl.when(pl.col("how") == SALARY)
        .then(pl.lit("是其工资账户"))
        .when(pl.col("rid").is_null())
        .then(pl.concat_str([pl.lit("该账户"), role_of, pl.lit("是其本人")]))
        .otherwise(
            pl.concat_str(
                [
                    pl.lit("该账户"),
                    role_of,
                    pl.lit("是其"),
                    _relation_text(),
                    pl.lit(" "),
                    mask_id_expr(pl.col("rid")),
                    pl.lit("（非该户家庭成员）"),
                ]
            )
        )
    )
    cols: list[pl.Expr | str] = [
        "account_no",
        "staff_id",
        "case_id",
        "street",
        pl.col("paid_fen").alias("amount_fen"),
        pl.concat_str(
            [
                pl.lit("案件 "),
                pl.col("case_id"),
                pl.lit(" 的"),
                pl.col("link"),
                pl.lit(" "),
                mask_account_expr(pl.col("account_no")),
                pl.lit(" 关联"),
                _staff_text(),
                pl.lit("："),
                reason,
                pl.lit("，请核实救助金去向。"),
            ]
        ).alias("summary"),
    ]
    facts = dict(
        how=pl.col("how"), relation=pl.col("relation_zh"), staff_count=pl.col("staff_count")
    )
    return pl.concat(
        [
            rows.filter(pl.col("how") == SALARY).select(*cols, salary_path.evidence(**facts)),
            rows.filter((pl.col("how") != SALARY) & pl.col("rid").is_null()).select(
                *cols, own_path.evidence(**facts)
            ),
            rows.filter(pl.col("rid").is_not_null()).select(*cols, kin_path.evidence(**facts)),
        ],
        how="vertical",
    )


@check(
    title="卡折代管未备案",
    family="integrity",
    severity="中",
    keys=("account_no",),
    needs=("accounts", "cases", "custody_filings"),
)
def custody_not_filed(drop: Drop) -> pl.LazyFrame:
    """收款账户登记了代管人，但基准日没有该账户、该代管人的有效卡折代管备案。"""
    filings = _optional(drop, "custody_filings")
    rows = _settle(
        drop["accounts"]
        .filter(pl.col("custodian_id_number").is_not_null())
        .join(
            _valid_custody(drop).select("account_no", "custodian_id_number").unique(),
            on=["account_no", "custodian_id_number"],
            how="anti",
        )
        .join(_cases(drop).select("case_id", "street"), on="case_id", how="left")
    )
    on_file = (
        filings.join(rows.select("account_no").unique(), on="account_no", how="semi")
        .sort("account_no", "filed_date", "custodian_id_number", "valid_to", nulls_last=True)
        .group_by("account_no", maintain_order=True)
        .agg(
            pl.struct(
                mask_id_expr(pl.col("custodian_id_number")).alias("custodian"),
                pl.col("filed_date").dt.strftime("%Y-%m-%d").alias("filed_date"),
                pl.col("valid_to").dt.strftime("%Y-%m-%d").alias("valid_to"),
            ).alias("filings")
        )
    )
    rows = (
        _first(rows, ["account_no"], ["case_id", "custodian_id_number"])
        .join(on_file, on="account_no", how="left", validate="1:1")
        .join(_paid_by_account(drop), on="account_no", how="left")
    )
    path = (
        _Path(PERSON, pl.col("custodian_id_number"))
        .to(CUSTODIAN, ACCOUNT, pl.col("account_no"))
        .to(REGISTERED, CASE, pl.col("case_id"))
    )
    state = (
        pl.when(pl.col("filings").is_null())
        .then(pl.lit("没有任何代管备案"))
        .otherwise(pl.lit("已有备案在基准日无效或不是此代管人"))
    )
    return rows.select(
        "account_no",
        "case_id",
        "street",
        pl.col("custodian_id_number").alias("id_number"),
        pl.col("paid_fen").alias("amount_fen"),
        pl.concat_str(
            [
                pl.lit("案件 "),
                pl.col("case_id"),
                pl.lit(" 的收款账户 "),
                mask_account_expr(pl.col("account_no")),
                pl.lit(" 由 "),
                mask_id_expr(pl.col("custodian_id_number")),
                pl.lit(" 代管，"),
                state,
                pl.lit("，请补办备案或核实代管原因。"),
            ]
        ).alias("summary"),
        path.evidence(filings=pl.col("filings")),
    )


@check(
    title="代管人集中代管",
    family="integrity",
    severity="中",
    keys=("id_number",),
    needs=("accounts", "cases"),
)
def custodian_concentration(drop: Drop) -> pl.LazyFrame:
    """同一代管人代管了达到阈值户数及以上家庭的收款账户（无论是否备案）。"""
    threshold = drop.settings.custodian_concentration_households
    kept = _settle(
        drop["accounts"]
        .filter(pl.col("custodian_id_number").is_not_null())
        .join(_cases(drop).select("case_id", "household_id", "street"), on="case_id", how="inner")
        .rename({"custodian_id_number": "cid"})
    )
    many = (
        kept.group_by("cid")
        .agg(
            pl.col("household_id").n_unique().alias("households"),
            pl.col("account_no").n_unique().alias("accounts"),
            pl.len().alias("cases"),
        )
        .filter(pl.col("households") >= threshold)
    )
    kept = _settle(
        kept.join(many.select("cid"), on="cid", how="semi").sort("cid", "account_no", "case_id")
    )
    cid_key = node_key(PERSON, pl.col("cid"))
    account_key = node_key(ACCOUNT, pl.col("account_no"))
    accounts = (
        kept.select("cid", "account_no")
        .unique(maintain_order=True)
        .join(
            _paid_by_account(drop), on="account_no", how="left", maintain_order="left"
        )  # the evidence lists follow this order
        .group_by("cid", maintain_order=True)
        .agg(
            pl.col("paid_fen").sum().alias("paid_fen"),
            node_expr(ACCOUNT, pl.col("account_no")).head(MAX_LISTED).alias("_a_nodes"),
            edge_expr(cid_key, account_key, CUSTODIAN).head(MAX_LISTED).alias("_a_edges"),
        )
    )
    cases = kept.group_by("cid", maintain_order=True).agg(
        pl.struct(
            node_key(CASE, pl.col("case_id")).alias("id"),
            pl.lit(CASE).alias("kind"),
            _case_node_label().alias("label"),
        )
        .head(MAX_LISTED)
        .alias("_c_nodes"),
        edge_expr(account_key, node_key(CASE, pl.col("case_id")), REGISTERED)
        .head(MAX_LISTED)
        .alias("_c_edges"),
        pl.col("street").mode().sort().first().alias("case_street"),
        pl.concat_str(
            [
                node_label(ACCOUNT, pl.col("account_no")),
                pl.lit(" → 登记账户 → "),
                _case_node_label(),
            ]
        )
        .head(MAX_LISTED)
        .str.join("；")
        .alias("_text"),
    )
    home = drop["persons"].select(
        pl.col("id_number").alias("cid"), pl.col("street").alias("home_street")
    )
    filed = (
        _valid_custody(drop)
        .select(pl.col("custodian_id_number").alias("cid"), "account_no")
        .unique()
        .join(kept.select("cid", "account_no").unique(), on=["cid", "account_no"], how="semi")
        .group_by("cid")
        .agg(pl.len().alias("filed_accounts"))
    )
    out = (
        many.join(accounts, on="cid", how="inner", validate="1:1")
        .join(cases, on="cid", how="inner", validate="1:1")
        .join(home, on="cid", how="left")
        .join(filed, on="cid", how="left", validate="1:1")
    )
    label = node_label(PERSON, pl.col("cid"))
    return out.select(
        pl.col("cid").alias("id_number"),
        pl.coalesce("home_street", "case_street").alias("street"),
        pl.col("paid_fen").alias("amount_fen"),
        pl.concat_str(
            [
                pl.lit("代管人 "),
                label,
                pl.lit(" 代管了"),
                pl.col("households").cast(pl.String),
                pl.lit("户家庭的"),
                pl.col("accounts").cast(pl.String),
                pl.lit("个收款账户（达到"),
                pl.lit(str(threshold)),
                pl.lit("户的阈值，其中有效备案"),
                pl.col("filed_accounts").fill_null(0).cast(pl.String),
                pl.lit("个），请逐户核实救助金是否到达本人。"),
            ]
        ).alias("summary"),
        pl.struct(
            pl.concat_str([label, pl.lit(" → 代管 → "), pl.col("_text")]).alias("path"),
            pl.concat_list(
                [node_expr(PERSON, pl.col("cid")), pl.col("_a_nodes"), pl.col("_c_nodes")]
            ).alias("nodes"),
            pl.concat_list([pl.col("_a_edges"), pl.col("_c_edges")]).alias("edges"),
            pl.col("households"),
            pl.col("accounts"),
            pl.col("filed_accounts").fill_null(0).alias("filed_accounts"),
        ).alias("evidence"),
    )
