"""The planters' kit: candidate households and staff taken (and claimed) one at a time, fresh
identifiers, address variants, and the edits a planter collects and applies in one pass.

Used by the integrity planters (``plant_integrity``) and the dynamic planter. Candidates are
households of the base's plain pool (``base.planting.plain_households``) whose members have no
ties outside the household, or another pool of a given case status; staff come with their
own household, spouse, parent and child. A plant tries its variants with ``one_plant``: the
first that finds candidates wins, ``NoCandidate`` moves on to the next.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import numpy as np
import polars as pl

from analytics import schema
from analytics.generate import ids
from analytics.generate.base.planting import plain_households
from analytics.generate.core import PlantContext
from analytics.generate.plant_funds import Edits, plants_per_check
from analytics.parse import parse_address

# The roles on a case, the staff roles that fill each, and their Chinese names.
ROLES = ("handler_id", "reviewer_id", "approver_id")
ROLE_STAFF = {
    "handler_id": ("街镇经办", "救助顾问"),
    "reviewer_id": ("街镇审核",),
    "approver_id": ("区级审批",),
}
ROLE_ZH = {"handler_id": "经办人", "reviewer_id": "审核人", "approver_id": "审批人"}
SERVICE_ITEM = "服务类救助"
ADULT_YEARS = 18
_BIRTH = pl.col("id_number").str.slice(6, 8).str.to_date("%Y%m%d")
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


class NoCandidate(Exception):
    """No unclaimed household or staff member fits a plant; the caller tries another variant."""


def years_after(d: date, years: int) -> date:
    return date(d.year + years, d.month, min(d.day, 28))


def month_of(d: date) -> str:
    return d.strftime("%Y-%m")


def address_variant(raw: str, how: str) -> str:
    """The same address written so that only the contract's normalisation makes it equal:
    ``spaced`` (blanks between the parts), ``fullwidth`` (full-width digits) or ``prefix``
    (the city and district prefix and the 室 suffix added, or both dropped)."""
    core = parse_address(raw)[0]
    city, name = schema.DISTRICT_INFO.city, schema.DISTRICT_INFO.name
    if how == "spaced":
        text = f"{city} {name} " + re.sub(r"(弄|号)", r"\1 ", core) + " 室"
    elif how == "fullwidth":
        text = name + core.translate(_FULLWIDTH) + "室"
    elif raw.startswith((city.removesuffix("市"), name)):
        text = core
    else:
        text = city + name + core + "室"
    if text == raw or parse_address(text)[0] != core:
        raise ValueError("address variant does not normalise to the original")
    return text


def one_plant(tries, fails: str) -> None:
    """Run the first variant that finds candidates; a district too small for any raises."""
    for attempt in tries:
        try:
            attempt()
            return
        except NoCandidate:
            continue
    raise ValueError(f"演示街区中可用于植入“{fails}”的家庭或工作人员不足，请增加户数。")


class Kit:
    """Candidate households and staff, fresh identifiers and the edits of one planter."""

    def __init__(self, ctx: PlantContext):
        self.ctx = ctx
        self.rng = ctx.rng
        self.n = plants_per_check(ctx)
        self.edits = Edits()
        self.row_removals: list[tuple[str, pl.Expr]] = []
        t = ctx.tables
        self.adult_cutoff = years_after(ctx.as_of, -ADULT_YEARS)
        self.persons = t["persons"].with_columns(birth=_BIRTH)
        rel = t["relations"]
        self.relations = rel
        staff_ids = t["staff"]["id_number"]
        hh_of = self.persons.select("id_number", "household_id")
        # People related to someone outside their household (base look-alikes): not planted on.
        cross = (
            rel.join(
                hh_of.rename({"id_number": "id_number_a", "household_id": "hh_a"}),
                on="id_number_a",
                how="left",
            )
            .join(
                hh_of.rename({"id_number": "id_number_b", "household_id": "hh_b"}),
                on="id_number_b",
                how="left",
            )
            .filter(pl.col("hh_a").ne_missing(pl.col("hh_b")))
        )
        self.cross_ids = pl.concat([cross["id_number_a"], cross["id_number_b"]]).unique()
        # Accounts held or kept outside the holder's or keeper's own household.
        acc = t["accounts"].join(
            t["cases"].select("case_id", "household_id"), on="case_id", how="left"
        )
        people = pl.concat(
            [
                acc.select("household_id", id_number="holder_id_number"),
                acc.select("household_id", id_number="custodian_id_number"),
            ]
        )
        outside = (
            people.drop_nulls("id_number")
            .join(hh_of.rename({"household_id": "own"}), on="id_number", how="left")
            .filter(pl.col("own").ne_missing(pl.col("household_id")))
        )
        self.busy_ids = pl.concat([self.cross_ids, outside["id_number"]]).unique()
        staff_hh = self.persons.filter(pl.col("id_number").is_in(staff_ids.implode()))
        self.staff_households = staff_hh["household_id"].unique()
        self.taken_ids = self._used_id_keys()
        self.norms = set(
            pl.concat([t["persons"]["address_norm"], t["staff"]["address_norm"]])
            .drop_nulls()
            .to_list()
        )
        self.catalogue_code = dict(
            zip(ctx.catalogue["item"], ctx.catalogue["fund_code"], strict=True)
        )
        plain = plain_households(ctx).join(
            t["cases"].select("case_id", "status", "accepted_date", "special_circumstance"),
            on="case_id",
            how="left",
            maintain_order="left",
        )
        self.plain = self._enrich(plain[self.rng.permutation(plain.height)])
        self.staff = self._staff_pool()
        self._other_pools: dict[tuple[str, ...], pl.DataFrame] = {}

    # -- candidates ----------------------------------------------------------------------------

    def _enrich(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Member facts of candidate households; households with busy members are left out."""
        p = self.persons
        busy_hh = p.filter(pl.col("id_number").is_in(self.busy_ids.implode()))["household_id"]
        members = p.join(
            frame.select("household_id", "applicant_id_number"), on="household_id", how="inner"
        )
        stats = members.group_by("household_id").agg(
            n_members=pl.len(),
            members=pl.col("id_number").sort(),
            adult_others=pl.col("id_number")
            .filter(
                (pl.col("id_number") != pl.col("applicant_id_number"))
                & (pl.col("birth") <= self.adult_cutoff)
            )
            .sort(),
        )
        rel_ids = pl.concat([self.relations["id_number_a"], self.relations["id_number_b"]])
        applicant = p.select(
            pl.col("id_number").alias("applicant_id_number"),
            applicant_name="name",
            applicant_birth="birth",
            address="address",
            phone="phone",
            applicant_in_relations=pl.col("id_number").is_in(rel_ids.implode()),
        )
        return (
            frame.filter(
                ~pl.col("household_id").is_in(busy_hh.implode()),
                ~pl.col("household_id").is_in(self.staff_households.implode()),
            )
            .join(stats, on="household_id", how="left", maintain_order="left")
            .join(applicant, on="applicant_id_number", how="left", maintain_order="left")
        )

    def other_pool(self, statuses: tuple[str, ...]) -> pl.DataFrame:
        """Single-case households whose case has one of ``statuses``, with no event, filing,
        dishonesty record, custodian or foreign holder; shuffled, enriched like the plain pool.
        Built once per status set (claims are filtered when taking)."""
        if statuses in self._other_pools:
            return self._other_pools[statuses]
        t = self.ctx.tables
        cases = t["cases"]
        single = cases.group_by("household_id").len().filter(pl.col("len") == 1)
        flagged = pl.concat(
            [
                t["events"]["id_number"],
                t["dishonesty"]["id_number"],
                t["relative_filings"]["relative_id_number"],
            ]
        )
        flagged_hh = self.persons.filter(pl.col("id_number").is_in(flagged.implode()))
        acc = t["accounts"].select(
            "case_id", "account_no", "holder_id_number", "custodian_id_number"
        )
        frame = (
            cases.filter(
                pl.col("status").is_in(statuses),
                pl.col("household_id").is_in(single["household_id"].implode()),
                ~pl.col("household_id").is_in(flagged_hh["household_id"].implode()),
            )
            .join(acc, on="case_id", how="left")
            .filter(
                pl.col("holder_id_number").is_null()
                | (pl.col("holder_id_number") == pl.col("applicant_id_number")),
                pl.col("custodian_id_number").is_null(),
            )
            .sort("case_id")
        )
        pool = self._enrich(frame[self.rng.permutation(frame.height)])
        self._other_pools[statuses] = pool
        return pool

    def _staff_pool(self) -> pl.DataFrame:
        t = self.ctx.tables
        p = self.persons
        rel = self.relations
        birth = p.select("id_number", "birth")
        parent_edges = rel.filter(pl.col("relation") == "父母")
        n_children = parent_edges.group_by("id_number_a").len()
        spouse = pl.concat(
            [
                rel.filter(pl.col("relation") == "配偶").select(
                    pl.col("id_number_a").alias("x"), pl.col("id_number_b").alias("y")
                ),
                rel.filter(pl.col("relation") == "配偶").select(
                    pl.col("id_number_b").alias("x"), pl.col("id_number_a").alias("y")
                ),
            ]
        )
        spouse = spouse.group_by("x").agg(spouse_id=pl.col("y").min())
        parent = (
            parent_edges.join(n_children, on="id_number_a", how="left")
            .filter(pl.col("len") == 1)
            .group_by("id_number_b")
            .agg(parent_id=pl.col("id_number_a").min())
            .join(
                birth.rename({"id_number": "parent_id", "birth": "parent_birth"}),
                on="parent_id",
                how="left",
            )
        )
        child = (
            parent_edges.join(
                birth.rename({"id_number": "id_number_b"}), on="id_number_b", how="left"
            )
            .filter(pl.col("birth") <= self.adult_cutoff)
            .group_by("id_number_a")
            .agg(child_id=pl.col("id_number_b").min())
        )
        own = p.select("id_number", "household_id", "birth", home_street="street")
        size = p.group_by("household_id").agg(n_family=pl.len() - 1)
        staff = (
            t["staff"]
            .filter(~pl.col("id_number").is_in(self.cross_ids.implode()))
            .join(own, on="id_number", how="inner")
            .join(size, on="household_id", how="left")
            .join(spouse.rename({"x": "id_number"}), on="id_number", how="left")
            .join(parent.rename({"id_number_b": "id_number"}), on="id_number", how="left")
            .join(child.rename({"id_number_a": "id_number"}), on="id_number", how="left")
            .join(
                p.select(pl.col("id_number").alias("spouse_id"), spouse_name="name"),
                on="spouse_id",
                how="left",
            )
            .join(
                p.select(pl.col("id_number").alias("child_id"), child_name="name"),
                on="child_id",
                how="left",
            )
            .sort("staff_id")
        )
        return staff[self.rng.permutation(staff.height)]

    def take(self, where: pl.Expr | None = None, pool: pl.DataFrame | None = None) -> dict:
        """The first unclaimed household of the pool (plain by default) matching ``where``,
        claimed now."""
        frame = self.plain if pool is None else pool
        claimed = pl.Series(sorted(self.ctx.claimed_households), dtype=pl.String)
        frame = frame.filter(~pl.col("household_id").is_in(claimed.implode()))
        if where is not None:
            frame = frame.filter(where)
        if frame.is_empty():
            raise NoCandidate
        row = frame.row(0, named=True)
        self.ctx.claimed_households.add(row["household_id"])
        return row

    def staff_candidates(
        self, where: pl.Expr | None = None, roles: tuple[str, ...] | None = None
    ) -> list[dict]:
        """Unclaimed staff matching ``where``, those with one of ``roles`` first."""
        claimed = pl.Series(sorted(self.ctx.claimed_staff), dtype=pl.String)
        frame = self.staff.filter(~pl.col("staff_id").is_in(claimed.implode()))
        if where is not None:
            frame = frame.filter(where)
        if roles:
            frame = pl.concat(
                [
                    frame.filter(pl.col("role").is_in(roles)),
                    frame.filter(~pl.col("role").is_in(roles)),
                ]
            )
        return frame.to_dicts()

    def take_staff(
        self, where: pl.Expr | None = None, roles: tuple[str, ...] | None = None
    ) -> dict:
        found = self.staff_candidates(where, roles)
        if not found:
            raise NoCandidate
        self.claim_staff(found[0])
        return found[0]

    def take_pair(
        self,
        hh_where,
        staff_where: pl.Expr | None = None,
        roles: tuple[str, ...] | None = None,
        pool: pl.DataFrame | None = None,
    ) -> tuple[dict, dict]:
        """A staff member and a household that fit together (``hh_where(staff)``)."""
        for s in self.staff_candidates(staff_where, roles):
            try:
                h = self.take(hh_where(s), pool)
            except NoCandidate:
                continue
            self.claim_staff(s)
            return s, h
        raise NoCandidate

    def claim_staff(self, s: dict) -> None:
        self.ctx.claimed_staff.add(s["staff_id"])

    def members(self, household_id: str) -> list[dict]:
        return (
            self.persons.filter(pl.col("household_id") == household_id).sort("id_number").to_dicts()
        )

    def name_of(self, id_number: str) -> str | None:
        found = self.persons.filter(pl.col("id_number") == id_number)["name"]
        return found[0] if len(found) else None

    def account_row(self, case_id: str) -> dict:
        return self.ctx.tables["accounts"].filter(pl.col("case_id") == case_id).row(0, named=True)

    def paid_rows(self, case_id: str, month: str | None = None) -> list[dict]:
        led = self.ctx.tables["ledger"].filter(
            pl.col("case_id") == case_id, pl.col("status") == "成功"
        )
        if month is not None:
            led = led.filter(pl.col("month") == month)
        return led.sort("month", "txn_id").to_dicts()

    def in_scope(self, row: dict) -> bool:
        """A paid row in scope, for the payee_not_registered consequence (no provider rows
        here: these are case payments)."""
        return (
            row["item"] != SERVICE_ITEM and self.catalogue_code.get(row["item"]) == row["fund_code"]
        )

    # -- fresh values --------------------------------------------------------------------------

    def _used_id_keys(self) -> set[int]:
        parts = [
            frame[col.name]
            for name, frame in self.ctx.tables.items()
            for col in schema.TABLES[name].columns
            if col.type in ("id18", "payee") and col.name in frame.columns
        ]
        return set(ids.id_body_keys(pl.concat(parts).unique()).tolist())

    def fresh_id(self, born: date, male: bool | None = None) -> str:
        """A Changning ID number with a valid check digit that appears nowhere."""
        sex = bool(self.rng.random() < 0.5) if male is None else male
        # A set lookup per draw: ids' own ``taken`` check sorts every used key on each call.
        while True:
            body = ids.id_bodies(
                self.rng,
                np.array([born], dtype="datetime64[D]"),
                np.array([ids.CHANGNING]),
                np.array([sex]),
            )
            if int(body[0]) not in self.taken_ids:
                break
        self.taken_ids.add(int(body[0]))
        return ids.id_strings(body)[0]

    def fresh_name(self) -> str:
        male = self.rng.random(1) < 0.5
        return (ids.surnames(self.rng, 1) + ids.given_names(self.rng, male))[0]

    def outsider(self) -> tuple[str, str]:
        """A person outside the district's registers: an ID and a name."""
        born = date(1950, 1, 1) + timedelta(days=int(self.rng.integers(0, 40 * 365)))
        return self.fresh_id(born), self.fresh_name()

    def neighbour_address(self, raw: str) -> str:
        """Another flat of the same building: same road, lane and number, another room."""
        m = re.search(r"(\d+)室$", raw)
        if m is None:
            raise NoCandidate
        room = int(m.group(1))
        for k in range(1, 40):
            floor, unit = divmod(room, 100)
            other = (floor + (k - 1) // 5) * 100 + (unit + k % 5) % 6 + 1
            text = raw[: m.start(1)] + str(other) + "室"
            norm = parse_address(text)[0]
            if other != room and norm not in self.norms:
                self.norms.add(norm)
                return text
        raise NoCandidate

    def day_between(self, lo: date, hi: date) -> date:
        return lo + timedelta(days=int(self.rng.integers(0, max((hi - lo).days, 0) + 1)))

    # -- edits ---------------------------------------------------------------------------------

    def relate(self, a: str, b: str, relation: str) -> None:
        self.edits.add("relations", {"id_number_a": a, "id_number_b": b, "relation": relation})

    def file_relative(
        self, s: dict, person: str, name: str | None, relation: str, after: date | None
    ) -> None:
        lo = after or years_after(self.ctx.as_of, -2)
        self.edits.add(
            "relative_filings",
            {
                "staff_id": s["staff_id"],
                "relative_id_number": person,
                "relative_name": name,
                "relation": relation,
                "filed_date": self.day_between(min(lo, self.ctx.as_of), self.ctx.as_of),
            },
        )

    def file_custody(
        self, account_no: str, custodian: str, filed: date, valid_to: date | None
    ) -> None:
        self.edits.add(
            "custody_filings",
            {
                "account_no": account_no,
                "custodian_id_number": custodian,
                "filed_date": filed,
                "valid_to": valid_to,
            },
        )

    def remove_rows(self, table: str, where: pl.Expr) -> None:
        self.row_removals.append((table, where))

    def drop_case_months_after(self, case: dict, month: str) -> None:
        """Remove a case's entitlement and ledger rows of months after ``month``, booking both
        sides so that control totals stay as they were."""
        t = self.ctx.tables
        later = (pl.col("case_id") == case["case_id"]) & (pl.col("month") > month)
        for r in (
            t["entitlements"].filter(later, pl.col("item") != SERVICE_ITEM).iter_rows(named=True)
        ):
            self.ctx.book_funds(case["street"], r["month"], r["item"], entitled=-r["amount"])
        for r in t["ledger"].filter(later, pl.col("status") == "成功").iter_rows(named=True):
            if self.in_scope(r):
                self.ctx.book_funds(r["street"], r["month"], r["item"], paid=-r["amount"])
        self.remove_rows("entitlements", later)
        self.remove_rows("ledger", later)

    def move_case_account(self, case_id: str, account_no: str, **account: object) -> None:
        """Register another account for a case; its entitlement and ledger rows follow, so no
        payment leaves the registered account."""
        self.edits.update("accounts", "case_id", case_id, account_no=account_no, **account)
        self.edits.update("entitlements", "case_id", case_id, account_no=account_no)
        self.edits.update("ledger", "case_id", case_id, account_no=account_no)

    def apply(self) -> None:
        # Row removals first: additions (a new visit, say) must survive them. A null
        # predicate (a ledger row without case_id) keeps the row.
        for table, where in self.row_removals:
            self.ctx.tables[table] = self.ctx.tables[table].filter(~where.fill_null(False))
        self.edits.apply(self.ctx)


def not_handling(staff_id: str) -> pl.Expr:
    return pl.all_horizontal([pl.col(r).ne_missing(pl.lit(staff_id)) for r in ROLES])
