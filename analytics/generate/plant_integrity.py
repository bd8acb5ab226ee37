"""Planted defects of the integrity family: staff relatives among recipients, cases handled by
relatives or by linked staff, contacts shared with staff, and payee accounts that are shared,
held outside the household, linked to staff, kept without a filing or kept by one custodian for
many households.

Each plant claims its households and staff, changes the data and records with ``ctx.fire``
every finding the change causes under the shared semantics, consequences in other checks
included; legitimate look-alikes are recorded with ``ctx.lookalike``. Kinship plants use
households of one member who has no relations, so the new edges relate the staff member to
exactly the intended recipient. ``Kit`` (candidates, fresh identifiers, collected edits) is
shared with the dynamic planter.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import numpy as np
import polars as pl

from analytics import schema
from analytics.generate import ids
from analytics.generate.base import plain_households
from analytics.generate.core import PlantContext
from analytics.generate.plant_funds import Edits, plants_per_check
from analytics.parse import parse_address

INTEGRITY_CHECKS = (
    "relative_not_filed", "handled_relative_case", "handled_linked_case",
    "staff_contact_overlap", "shared_account", "payee_not_household", "staff_linked_account",
    "custody_not_filed", "custodian_concentration",
)
ROLES = ("handler_id", "reviewer_id", "approver_id")
ROLE_STAFF = {"handler_id": ("街镇经办", "救助顾问"), "reviewer_id": ("街镇审核",),
              "approver_id": ("区级审批",)}
ROLE_ZH = {"handler_id": "经办人", "reviewer_id": "审核人", "approver_id": "审批人"}
KIN_ZH = {"spouse": "配偶", "child": "子女", "sibling": "兄弟姐妹", "grandparent": "祖父母"}
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
        cross = (rel.join(hh_of.rename({"id_number": "id_number_a", "household_id": "hh_a"}),
                          on="id_number_a", how="left")
                 .join(hh_of.rename({"id_number": "id_number_b", "household_id": "hh_b"}),
                       on="id_number_b", how="left")
                 .filter(pl.col("hh_a").ne_missing(pl.col("hh_b"))))
        self.cross_ids = pl.concat([cross["id_number_a"], cross["id_number_b"]]).unique()
        # Accounts held or kept outside the holder's or keeper's own household.
        acc = t["accounts"].join(t["cases"].select("case_id", "household_id"), on="case_id",
                                 how="left")
        people = pl.concat([acc.select("household_id", id_number="holder_id_number"),
                            acc.select("household_id", id_number="custodian_id_number")])
        outside = (people.drop_nulls("id_number")
                   .join(hh_of.rename({"household_id": "own"}), on="id_number", how="left")
                   .filter(pl.col("own").ne_missing(pl.col("household_id"))))
        self.busy_ids = pl.concat([self.cross_ids, outside["id_number"]]).unique()
        staff_hh = self.persons.filter(pl.col("id_number").is_in(staff_ids.implode()))
        self.staff_households = staff_hh["household_id"].unique()
        self.taken_ids = self._used_id_keys()
        self.norms = set(pl.concat([t["persons"]["address_norm"], t["staff"]["address_norm"]])
                         .drop_nulls().to_list())
        self.catalogue_code = dict(zip(ctx.catalogue["item"], ctx.catalogue["fund_code"]))
        plain = plain_households(ctx).join(
            t["cases"].select("case_id", "status", "accepted_date", "special_circumstance"),
            on="case_id", how="left", maintain_order="left")
        self.plain = self._enrich(plain[self.rng.permutation(plain.height)])
        self.staff = self._staff_pool()
        self._other_pools: dict[tuple[str, ...], pl.DataFrame] = {}

    # -- candidates ----------------------------------------------------------------------------

    def _enrich(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Member facts of candidate households; households with busy members are left out."""
        p = self.persons
        busy_hh = p.filter(pl.col("id_number").is_in(self.busy_ids.implode()))["household_id"]
        members = p.join(frame.select("household_id", "applicant_id_number"),
                         on="household_id", how="inner")
        stats = members.group_by("household_id").agg(
            n_members=pl.len(),
            members=pl.col("id_number").sort(),
            adult_others=pl.col("id_number").filter(
                (pl.col("id_number") != pl.col("applicant_id_number"))
                & (pl.col("birth") <= self.adult_cutoff)).sort(),
        )
        rel_ids = pl.concat([self.relations["id_number_a"], self.relations["id_number_b"]])
        applicant = p.select(pl.col("id_number").alias("applicant_id_number"),
                             applicant_name="name", applicant_birth="birth",
                             address="address", phone="phone",
                             applicant_in_relations=pl.col("id_number").is_in(rel_ids.implode()))
        return (frame
                .filter(~pl.col("household_id").is_in(busy_hh.implode()),
                        ~pl.col("household_id").is_in(self.staff_households.implode()))
                .join(stats, on="household_id", how="left", maintain_order="left")
                .join(applicant, on="applicant_id_number", how="left", maintain_order="left"))

    def other_pool(self, statuses: tuple[str, ...]) -> pl.DataFrame:
        """Single-case households whose case has one of ``statuses``, with no event, filing,
        dishonesty record, custodian or foreign holder; shuffled, enriched like the plain pool.
        Built once per status set (claims are filtered when taking)."""
        if statuses in self._other_pools:
            return self._other_pools[statuses]
        t = self.ctx.tables
        cases = t["cases"]
        single = cases.group_by("household_id").len().filter(pl.col("len") == 1)
        flagged = pl.concat([t["events"]["id_number"], t["dishonesty"]["id_number"],
                             t["relative_filings"]["relative_id_number"]])
        flagged_hh = self.persons.filter(pl.col("id_number").is_in(flagged.implode()))
        acc = t["accounts"].select("case_id", "account_no", "holder_id_number",
                                   "custodian_id_number")
        frame = (cases
                 .filter(pl.col("status").is_in(statuses),
                         pl.col("household_id").is_in(single["household_id"].implode()),
                         ~pl.col("household_id").is_in(flagged_hh["household_id"].implode()))
                 .join(acc, on="case_id", how="left")
                 .filter(pl.col("holder_id_number").is_null()
                         | (pl.col("holder_id_number") == pl.col("applicant_id_number")),
                         pl.col("custodian_id_number").is_null())
                 .sort("case_id"))
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
        spouse = pl.concat([
            rel.filter(pl.col("relation") == "配偶").select(pl.col("id_number_a").alias("x"),
                                                            pl.col("id_number_b").alias("y")),
            rel.filter(pl.col("relation") == "配偶").select(pl.col("id_number_b").alias("x"),
                                                            pl.col("id_number_a").alias("y"))])
        spouse = spouse.group_by("x").agg(spouse_id=pl.col("y").min())
        parent = (parent_edges
                  .join(n_children, on="id_number_a", how="left")
                  .filter(pl.col("len") == 1)
                  .group_by("id_number_b").agg(parent_id=pl.col("id_number_a").min())
                  .join(birth.rename({"id_number": "parent_id", "birth": "parent_birth"}),
                        on="parent_id", how="left"))
        child = (parent_edges
                 .join(birth.rename({"id_number": "id_number_b"}), on="id_number_b", how="left")
                 .filter(pl.col("birth") <= self.adult_cutoff)
                 .group_by("id_number_a").agg(child_id=pl.col("id_number_b").min()))
        own = p.select("id_number", "household_id", "birth",
                       home_street="street")
        size = p.group_by("household_id").agg(n_family=pl.len() - 1)
        staff = (t["staff"]
                 .filter(~pl.col("id_number").is_in(self.cross_ids.implode()))
                 .join(own, on="id_number", how="inner")
                 .join(size, on="household_id", how="left")
                 .join(spouse.rename({"x": "id_number"}), on="id_number", how="left")
                 .join(parent.rename({"id_number_b": "id_number"}), on="id_number", how="left")
                 .join(child.rename({"id_number_a": "id_number"}), on="id_number", how="left")
                 .join(p.select(pl.col("id_number").alias("spouse_id"), spouse_name="name"),
                       on="spouse_id", how="left")
                 .join(p.select(pl.col("id_number").alias("child_id"), child_name="name"),
                       on="child_id", how="left")
                 .sort("staff_id"))
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

    def staff_candidates(self, where: pl.Expr | None = None,
                         roles: tuple[str, ...] | None = None) -> list[dict]:
        """Unclaimed staff matching ``where``, those with one of ``roles`` first."""
        claimed = pl.Series(sorted(self.ctx.claimed_staff), dtype=pl.String)
        frame = self.staff.filter(~pl.col("staff_id").is_in(claimed.implode()))
        if where is not None:
            frame = frame.filter(where)
        if roles:
            frame = pl.concat([frame.filter(pl.col("role").is_in(roles)),
                               frame.filter(~pl.col("role").is_in(roles))])
        return frame.to_dicts()

    def take_staff(self, where: pl.Expr | None = None,
                   roles: tuple[str, ...] | None = None) -> dict:
        found = self.staff_candidates(where, roles)
        if not found:
            raise NoCandidate
        self.claim_staff(found[0])
        return found[0]

    def take_pair(self, hh_where, staff_where: pl.Expr | None = None,
                  roles: tuple[str, ...] | None = None,
                  pool: pl.DataFrame | None = None) -> tuple[dict, dict]:
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
        return (self.persons.filter(pl.col("household_id") == household_id)
                .sort("id_number").to_dicts())

    def name_of(self, id_number: str) -> str | None:
        found = self.persons.filter(pl.col("id_number") == id_number)["name"]
        return found[0] if len(found) else None

    def account_row(self, case_id: str) -> dict:
        return self.ctx.tables["accounts"].filter(pl.col("case_id") == case_id).row(0, named=True)

    def paid_rows(self, case_id: str, month: str | None = None) -> list[dict]:
        led = self.ctx.tables["ledger"].filter(pl.col("case_id") == case_id,
                                               pl.col("status") == "成功")
        if month is not None:
            led = led.filter(pl.col("month") == month)
        return led.sort("month", "txn_id").to_dicts()

    def in_scope(self, row: dict) -> bool:
        """A paid row in scope, for the payee_not_registered consequence (no provider rows
        here: these are case payments)."""
        return (row["item"] != SERVICE_ITEM
                and self.catalogue_code.get(row["item"]) == row["fund_code"])

    # -- fresh values --------------------------------------------------------------------------

    def _used_id_keys(self) -> set[int]:
        parts = []
        for name, frame in self.ctx.tables.items():
            for col in schema.TABLES[name].columns:
                if col.type in ("id18", "payee") and col.name in frame.columns:
                    parts.append(frame[col.name])
        return set(ids.id_body_keys(pl.concat(parts).unique()).tolist())

    def fresh_id(self, born: date, male: bool | None = None) -> str:
        """A Changning ID number with a valid check digit that appears nowhere."""
        sex = bool(self.rng.random() < 0.5) if male is None else male
        # A set lookup per draw: ids' own ``taken`` check sorts every used key on each call.
        while True:
            body = ids.id_bodies(self.rng, np.array([born], dtype="datetime64[D]"),
                                 np.array([ids.CHANGNING]), np.array([sex]))
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
            text = raw[:m.start(1)] + str(other) + "室"
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

    def file_relative(self, s: dict, person: str, name: str | None, relation: str,
                      after: date | None) -> None:
        lo = after or years_after(self.ctx.as_of, -2)
        self.edits.add("relative_filings", {
            "staff_id": s["staff_id"], "relative_id_number": person, "relative_name": name,
            "relation": relation, "filed_date": self.day_between(min(lo, self.ctx.as_of),
                                                                 self.ctx.as_of)})

    def file_custody(self, account_no: str, custodian: str, filed: date,
                     valid_to: date | None) -> None:
        self.edits.add("custody_filings", {"account_no": account_no,
                                           "custodian_id_number": custodian,
                                           "filed_date": filed, "valid_to": valid_to})

    def remove_rows(self, table: str, where: pl.Expr) -> None:
        self.row_removals.append((table, where))

    def drop_case_months_after(self, case: dict, month: str) -> None:
        """Remove a case's entitlement and ledger rows of months after ``month``, booking both
        sides so that control totals stay as they were."""
        t = self.ctx.tables
        later = (pl.col("case_id") == case["case_id"]) & (pl.col("month") > month)
        for r in t["entitlements"].filter(later, pl.col("item") != SERVICE_ITEM).iter_rows(
                named=True):
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


def _not_handling(staff_id: str) -> pl.Expr:
    return pl.all_horizontal([pl.col(r).ne_missing(pl.lit(staff_id)) for r in ROLES])


def _single_unrelated() -> pl.Expr:
    return (pl.col("n_members") == 1) & ~pl.col("applicant_in_relations")


def _kin_where(kind: str, s: dict) -> pl.Expr:
    """Households whose one member can plausibly be the staff member's ``kind``."""
    sb = s["birth"]
    ab = pl.col("applicant_birth")
    cond = _single_unrelated()
    if kind == "spouse":
        return cond & ab.is_between(years_after(sb, -12), years_after(sb, 12))
    if kind == "child":
        return cond & (ab >= years_after(sb, 22))
    if kind == "sibling":
        cond = cond & ab.is_between(years_after(sb, -15), years_after(sb, 15))
        if s["parent_id"] is not None:
            cond = cond & (ab >= years_after(s["parent_birth"], 18))
        return cond
    if s["parent_id"] is not None:  # grandparent through the staff member's own parent
        return cond & (ab <= years_after(s["parent_birth"], -18))
    return cond & (ab <= years_after(sb, -40))


def _make_kin(kit: Kit, kind: str, s: dict, h: dict) -> None:
    """Relations making the household's one member the staff member's ``kind``.

    That member has no relations and the staff member's parent (if used) has no other child,
    so the only new close-relative pair involving staff is (staff member, that member): a
    spouse edge derives nothing; a new child gains the staff member's other children as
    siblings and parents as grandparents (none of them staff, none recipients); a shared parent
    has exactly these two children; a grandparent's only grandchild is the staff member.
    """
    p, sid = h["applicant_id_number"], s["id_number"]
    if kind == "spouse":
        kit.relate(sid, p, "配偶")
    elif kind == "child":
        kit.relate(sid, p, "父母")
    elif kind == "sibling":
        parent = s["parent_id"]
        if parent is None:
            parent = kit.fresh_id(years_after(min(s["birth"], h["applicant_birth"]), -26))
            kit.relate(parent, sid, "父母")
        kit.relate(parent, p, "父母")
    else:
        parent = s["parent_id"]
        if parent is None:
            mid = h["applicant_birth"] + (s["birth"] - h["applicant_birth"]) / 2
            parent = kit.fresh_id(mid)
            kit.relate(parent, sid, "父母")
        kit.relate(p, parent, "父母")


def _kin_staff_where(kind: str) -> pl.Expr | None:
    # A second spouse edge is avoided: only staff without one become a recipient's spouse.
    return pl.col("spouse_id").is_null() if kind == "spouse" else None


# --- relatives ------------------------------------------------------------------------------

def _relative_not_filed(kit: Kit) -> None:
    ctx = kit.ctx
    kinds = ("spouse", "child", "sibling", "grandparent")
    for i in range(max(kit.n, len(kinds))):
        order = kinds[i % len(kinds):] + kinds[:i % len(kinds)]

        def plant(kind: str) -> None:
            s, h = kit.take_pair(lambda s: _kin_where(kind, s) & _not_handling(s["staff_id"]),
                                 _kin_staff_where(kind))
            _make_kin(kit, kind, s, h)
            ctx.fire("relative_not_filed", f"工作人员的{KIN_ZH[kind]}享受救助，未备案",
                     staff_id=s["staff_id"], id_number=h["applicant_id_number"])

        one_plant([lambda k=k: plant(k) for k in order], "近亲属享受救助未备案")

    def filed() -> None:
        s, h = kit.take_pair(lambda s: _kin_where("spouse", s) & _not_handling(s["staff_id"]),
                             _kin_staff_where("spouse"))
        _make_kin(kit, "spouse", s, h)
        kit.file_relative(s, h["applicant_id_number"], h["applicant_name"], "配偶",
                          h["decided_date"])
        ctx.lookalike("relative_not_filed", "工作人员的配偶享受救助，已备案",
                      staff_id=s["staff_id"], id_number=h["applicant_id_number"])

    one_plant([filed], "近亲属已备案（对照）")


def _handled_relative_case(kit: Kit) -> None:
    """Handler, reviewer or approver related to the household; filed or not."""
    ctx = kit.ctx
    variants = (("handler_id", "spouse", True), ("reviewer_id", "sibling", False),
                ("approver_id", "member", False), ("handler_id", "grandparent", False),
                ("reviewer_id", "child", True))
    for i in range(max(kit.n, len(variants))):
        order = variants[i % len(variants):] + variants[:i % len(variants)]

        def plant(role: str, kind: str, filed: bool) -> None:
            if kind == "member":
                _own_household_case(kit, role)
                return
            s, h = kit.take_pair(lambda s: _kin_where(kind, s), _kin_staff_where(kind),
                                 ROLE_STAFF[role])
            _make_kin(kit, kind, s, h)
            kit.edits.update("cases", "case_id", h["case_id"], **{role: s["staff_id"]})
            state = "已备案" if filed else "未备案"
            ctx.fire("handled_relative_case",
                     f"申请人是{ROLE_ZH[role]}的{KIN_ZH[kind]}（{state}）",
                     staff_id=s["staff_id"], case_id=h["case_id"])
            if filed:
                kit.file_relative(s, h["applicant_id_number"], h["applicant_name"],
                                  KIN_ZH[kind], h["decided_date"])
            else:
                ctx.fire("relative_not_filed", f"工作人员的{KIN_ZH[kind]}享受救助，未备案",
                         staff_id=s["staff_id"], id_number=h["applicant_id_number"])

        one_plant([lambda v=v: plant(*v) for v in order], "经办近亲属案件未回避")


def _own_household_case(kit: Kit, role: str) -> None:
    """A rejected application of the staff member's own household that they decided on
    themselves. Rejected: the household gets no recipients, so no other check is touched."""
    ctx = kit.ctx
    cal = ctx.calendar
    s = kit.take_staff(pl.col("n_family") >= 1, ROLE_STAFF[role])
    family = [m for m in kit.members(s["household_id"]) if m["id_number"] != s["id_number"]
              and m["birth"] <= kit.adult_cutoff]
    applicant = family[0] if family else kit.members(s["household_id"])[0]
    accepted = kit.day_between(ctx.as_of - timedelta(days=400), ctx.as_of - timedelta(days=60))
    decided = cal.add_workdays(accepted, int(kit.rng.integers(5, 18)))
    others = {r: kit.staff_candidates(pl.col("role").is_in(ROLE_STAFF[r])
                                      & (pl.col("street") == s["home_street"]))
              for r in ROLES if r != role}
    case_id = f"JZ{accepted.year}{9_000_000 + int(ctx.serial('')):07d}"
    row = {"case_id": case_id, "household_id": s["household_id"],
           "applicant_id_number": applicant["id_number"], "street": s["home_street"],
           "assistance_type": "最低生活保障", "status": "未通过", "accepted_date": accepted,
           "decided_date": decided, role: s["staff_id"]}
    for r, found in others.items():
        row[r] = found[0]["staff_id"] if found else None
        if found:
            kit.claim_staff(found[0])
    kit.edits.add("cases", row)
    ctx.fire("handled_relative_case", f"{ROLE_ZH[role]}审批本人家庭的救助申请",
             staff_id=s["staff_id"], case_id=case_id)


# --- contacts -------------------------------------------------------------------------------

def _handled_linked_case(kit: Kit) -> None:
    ctx = kit.ctx
    variants = (("handler_id", "phone"), ("reviewer_id", "spaced"), ("approver_id", "fullwidth"),
                ("handler_id", "prefix"), ("reviewer_id", "holder"), ("handler_id", "custodian"))
    notes = {"phone": "与申请人电话相同", "spaced": "与申请人住址相同（空格写法不同）",
             "fullwidth": "住址与该户相同（全角数字）",
             "prefix": "与申请人住址相同（省市区前缀与“室”写法不同）",
             "holder": "本人是该案收款账户的户名人", "custodian": "本人代管该案银行卡（已备案）"}
    for i in range(max(kit.n, len(variants))):
        order = variants[i % len(variants):] + variants[:i % len(variants)]

        def plant(role: str, how: str) -> None:
            need = pl.col("phone").is_not_null() if how == "phone" else (
                pl.col("address").is_not_null())
            s = kit.take_staff(need, ROLE_STAFF[role])
            h = kit.take()
            case_id, p = h["case_id"], h["applicant_id_number"]
            kit.edits.update("cases", "case_id", case_id, **{role: s["staff_id"]})
            ctx.fire("handled_linked_case", f"{ROLE_ZH[role]}{notes[how]}",
                     staff_id=s["staff_id"], case_id=case_id)
            if how == "phone":
                kit.edits.update("persons", "id_number", p, phone=s["phone"])
                ctx.fire("staff_contact_overlap", "救助对象电话与工作人员相同",
                         staff_id=s["staff_id"], id_number=p)
            elif how in ("spaced", "prefix"):
                kit.edits.update("persons", "id_number", p,
                                 address=address_variant(s["address"], how))
                ctx.fire("staff_contact_overlap", "救助对象住址与工作人员相同",
                         staff_id=s["staff_id"], id_number=p)
            elif how == "fullwidth":
                kit.edits.update("staff", "staff_id", s["staff_id"],
                                 address=address_variant(h["address"], how))
                for m in h["members"]:
                    ctx.fire("staff_contact_overlap", "工作人员住址与救助家庭相同",
                             staff_id=s["staff_id"], id_number=m)
            else:
                acc = h["account_no"]
                if how == "holder":
                    kit.edits.update("accounts", "case_id", case_id,
                                     holder_id_number=s["id_number"], holder_name=s["name"])
                    ctx.fire("payee_not_household", "收款账户户名为工作人员",
                             account_no=acc)
                else:
                    kit.edits.update("accounts", "case_id", case_id,
                                     custodian_id_number=s["id_number"], custodian_name=s["name"])
                    kit.file_custody(acc, s["id_number"], h["decided_date"], None)
                ctx.fire("staff_linked_account", "收款账户由工作人员持有或代管", account_no=acc)

        one_plant([lambda v=v: plant(*v) for v in order], "经办关联案件")

    def neighbour() -> None:
        s = kit.take_staff(pl.col("address").is_not_null(), ROLE_STAFF["handler_id"])
        h = kit.take()
        kit.edits.update("staff", "staff_id", s["staff_id"],
                         address=kit.neighbour_address(h["address"]))
        kit.edits.update("cases", "case_id", h["case_id"], handler_id=s["staff_id"])
        ctx.lookalike("handled_linked_case", "经办人住同一楼栋的另一户", staff_id=s["staff_id"],
                      case_id=h["case_id"])
        for m in h["members"]:
            ctx.lookalike("staff_contact_overlap", "工作人员住同一楼栋的另一户",
                          staff_id=s["staff_id"], id_number=m)

    one_plant([neighbour], "同楼栋邻居（对照）")


def _staff_contact_overlap(kit: Kit) -> None:
    """Contacts shared with a staff member who does not handle the household's case."""
    ctx = kit.ctx
    variants = ("phone", "address", "staff_moves")
    for i in range(max(kit.n, len(variants))):
        order = variants[i % len(variants):] + variants[:i % len(variants)]

        def plant(how: str) -> None:
            col = "phone" if how == "phone" else "address"
            s, h = kit.take_pair(lambda s: _not_handling(s["staff_id"]),
                                 pl.col(col).is_not_null())
            if how == "phone":
                p = (h["adult_others"] or [h["applicant_id_number"]])[0]
                kit.edits.update("persons", "id_number", p, phone=s["phone"])
                ctx.fire("staff_contact_overlap", "救助对象电话与工作人员相同",
                         staff_id=s["staff_id"], id_number=p)
            elif how == "address":
                p = h["applicant_id_number"]
                style = ("spaced", "prefix", "fullwidth")[i % 3]
                kit.edits.update("persons", "id_number", p,
                                 address=address_variant(s["address"], style))
                ctx.fire("staff_contact_overlap", "救助对象登记住址与工作人员住址相同",
                         staff_id=s["staff_id"], id_number=p)
            else:
                kit.edits.update("staff", "staff_id", s["staff_id"],
                                 address=address_variant(h["address"], "prefix"))
                for m in h["members"]:
                    ctx.fire("staff_contact_overlap", "工作人员住址与救助家庭相同",
                             staff_id=s["staff_id"], id_number=m)

        one_plant([lambda v=v: plant(v) for v in order], "工作人员与救助对象联系方式重合")

    def neighbour() -> None:
        s, h = kit.take_pair(lambda s: _not_handling(s["staff_id"]),
                             pl.col("address").is_not_null())
        kit.edits.update("staff", "staff_id", s["staff_id"],
                         address=kit.neighbour_address(h["address"]))
        for m in h["members"]:
            ctx.lookalike("staff_contact_overlap", "工作人员住同一楼栋的另一户",
                          staff_id=s["staff_id"], id_number=m)

    def filed() -> None:
        s, h = kit.take_pair(lambda s: _not_handling(s["staff_id"]),
                             pl.col("phone").is_not_null())
        p = h["applicant_id_number"]
        kit.edits.update("persons", "id_number", p, phone=s["phone"])
        kit.file_relative(s, p, h["applicant_name"], "其他", h["decided_date"])
        ctx.lookalike("staff_contact_overlap", "电话相同但已备案", staff_id=s["staff_id"],
                      id_number=p)

    one_plant([neighbour], "同楼栋邻居（对照）")
    one_plant([filed], "已备案的联系方式重合（对照）")


# --- accounts -------------------------------------------------------------------------------

def _shared_account(kit: Kit) -> None:
    ctx = kit.ctx
    variants = (("registered", 2), ("paid", 2), ("registered", 3))
    for i in range(max(kit.n, len(variants))):
        order = variants[i % len(variants):] + variants[:i % len(variants)]

        def plant(how: str, k: int) -> None:
            first = kit.take()
            others = [kit.take() for _ in range(k - 1)]
            acc = first["account_no"]
            if how == "registered":
                bank = kit.account_row(first["case_id"])["bank"]
                for h in others:
                    kit.move_case_account(h["case_id"], acc, bank=bank,
                                          holder_id_number=first["applicant_id_number"],
                                          holder_name=first["applicant_name"])
                ctx.fire("shared_account", f"同一账户登记为{k}户的收款账户", account_no=acc)
                ctx.fire("payee_not_household", "收款账户户名为其他家庭的成员", account_no=acc)
            else:
                month = ctx.months[-1]
                for h in others:
                    for r in kit.paid_rows(h["case_id"], month):
                        kit.edits.update("ledger", "txn_id", r["txn_id"], account_no=acc)
                        if kit.in_scope(r):
                            ctx.fire("payee_not_registered", "拨付到其他家庭的账户",
                                     txn_id=r["txn_id"])
                ctx.fire("shared_account", "资金拨付到另一户的账户", account_no=acc)

        one_plant([lambda v=v: plant(*v) for v in order], "一卡多户")

    # Look-alike: the base registers one account for both cases of a two-case household.
    t = ctx.tables
    acc = t["accounts"].join(t["cases"].select("case_id", "household_id"), on="case_id")
    two = (acc.group_by("account_no")
           .agg(households=pl.col("household_id").n_unique(), cases=pl.len(),
                household_id=pl.col("household_id").first())
           .filter(pl.col("households") == 1, pl.col("cases") >= 2,
                   ~pl.col("household_id").is_in(
                       pl.Series(sorted(ctx.claimed_households), dtype=pl.String).implode()),
                   ~pl.col("household_id").is_in(kit.staff_households.implode()))
           .sort("account_no"))
    if two.height:
        row = two.row(int(kit.rng.integers(0, two.height)), named=True)
        ctx.claimed_households.add(row["household_id"])
        ctx.lookalike("shared_account", "同一户的两个案件使用同一账户", account_no=row["account_no"])


def _payee_not_household(kit: Kit) -> None:
    ctx = kit.ctx
    variants = ("outsider", "other_household", "expired_filing")
    for i in range(max(kit.n, len(variants))):
        order = variants[i % len(variants):] + variants[:i % len(variants)]

        def plant(how: str) -> None:
            if how == "other_household":
                # A person of a household without an active case: no recipient, no staff kin.
                src = kit.take(pl.col("adult_others").list.len() >= 1,
                               kit.other_pool(("终止", "未通过")))
                holder = src["adult_others"][0]
                name = kit.name_of(holder)
            else:
                holder, name = kit.outsider()
            h = kit.take()
            acc = h["account_no"]
            kit.edits.update("accounts", "case_id", h["case_id"], holder_id_number=holder,
                             holder_name=name)
            note = {"outsider": "收款账户户名为家庭以外人员",
                    "other_household": "收款账户户名为其他家庭的成员",
                    "expired_filing": "收款账户户名为家庭以外人员，代管备案已过期"}[how]
            if how == "expired_filing":
                valid_to = ctx.as_of - timedelta(days=int(kit.rng.integers(1, 120)))
                kit.file_custody(acc, holder, valid_to - timedelta(days=365), valid_to)
            ctx.fire("payee_not_household", note, account_no=acc)

        one_plant([lambda v=v: plant(v) for v in order], "收款人非家庭成员")

    def guardian() -> None:
        who, name = kit.outsider()
        h = kit.take()
        acc = h["account_no"]
        kit.edits.update("accounts", "case_id", h["case_id"], holder_id_number=who,
                         holder_name=name, custodian_id_number=who, custodian_name=name)
        kit.file_custody(acc, who, h["decided_date"], None)
        ctx.lookalike("payee_not_household", "监护人持卡，有有效代管备案", account_no=acc)
        ctx.lookalike("custody_not_filed", "监护人持卡，有有效代管备案", account_no=acc)

    one_plant([guardian], "监护人持卡（对照）")


def _staff_linked_account(kit: Kit) -> None:
    ctx = kit.ctx
    variants = ("salary_registered", "salary_paid", "staff_holds", "spouse_keeps",
                "child_holds")
    for i in range(max(kit.n, len(variants))):
        order = variants[i % len(variants):] + variants[:i % len(variants)]

        def plant(how: str) -> None:
            need = {"salary_registered": pl.col("salary_account").is_not_null(),
                    "salary_paid": pl.col("salary_account").is_not_null(),
                    "staff_holds": None,
                    "spouse_keeps": pl.col("spouse_id").is_not_null(),
                    "child_holds": pl.col("child_id").is_not_null()}[how]
            s, h = kit.take_pair(lambda s: _not_handling(s["staff_id"]), need)
            case_id, acc = h["case_id"], h["account_no"]
            if how == "salary_registered":
                acc = s["salary_account"]
                kit.move_case_account(case_id, acc)
                note = "案件登记的收款账户是工作人员的工资账户"
            elif how == "salary_paid":
                acc = s["salary_account"]
                for r in kit.paid_rows(case_id, ctx.months[-1]):
                    kit.edits.update("ledger", "txn_id", r["txn_id"], account_no=acc)
                    if kit.in_scope(r):
                        ctx.fire("payee_not_registered", "拨付到工作人员的工资账户",
                                 txn_id=r["txn_id"])
                note = "救助资金拨付到工作人员的工资账户"
            elif how == "staff_holds":
                kit.edits.update("accounts", "case_id", case_id,
                                 holder_id_number=s["id_number"], holder_name=s["name"])
                ctx.fire("payee_not_household", "收款账户户名为工作人员", account_no=acc)
                note = "收款账户户名为工作人员"
            elif how == "spouse_keeps":
                kit.edits.update("accounts", "case_id", case_id,
                                 custodian_id_number=s["spouse_id"],
                                 custodian_name=s["spouse_name"])
                kit.file_custody(acc, s["spouse_id"], h["decided_date"], None)
                note = "工作人员的配偶代管银行卡（已备案）"
            else:
                kit.edits.update("accounts", "case_id", case_id,
                                 holder_id_number=s["child_id"], holder_name=s["child_name"])
                ctx.fire("payee_not_household", "收款账户户名为工作人员的子女", account_no=acc)
                note = "收款账户户名为工作人员的子女"
            ctx.fire("staff_linked_account", note, account_no=acc)

        one_plant([lambda v=v: plant(v) for v in order], "账户关联工作人员")


def _custody_not_filed(kit: Kit) -> None:
    ctx = kit.ctx
    as_of = ctx.as_of
    variants = ("member", "expired", "other_custodian")
    for i in range(max(kit.n, len(variants))):
        order = variants[i % len(variants):] + variants[:i % len(variants)]

        def plant(how: str) -> None:
            if how == "member":
                h = kit.take(pl.col("adult_others").list.len() >= 1)
                keeper = h["adult_others"][0]
                name = kit.name_of(keeper)
            else:
                h = kit.take()
                keeper, name = kit.outsider()
            acc = h["account_no"]
            kit.edits.update("accounts", "case_id", h["case_id"], custodian_id_number=keeper,
                             custodian_name=name)
            if how == "expired":
                valid_to = as_of - timedelta(days=int(kit.rng.integers(1, 200)))
                kit.file_custody(acc, keeper, valid_to - timedelta(days=365), valid_to)
                note = "代管备案已过期"
            elif how == "other_custodian":
                kit.file_custody(acc, kit.outsider()[0], h["decided_date"], None)
                note = "备案的代管人不是实际代管人"
            else:
                note = "家庭成员代管银行卡，未备案"
            ctx.fire("custody_not_filed", note, account_no=acc)

        one_plant([lambda v=v: plant(v) for v in order], "卡折代管未备案")

    def until_as_of() -> None:
        h = kit.take(pl.col("adult_others").list.len() >= 1)
        keeper = h["adult_others"][0]
        kit.edits.update("accounts", "case_id", h["case_id"], custodian_id_number=keeper,
                         custodian_name=kit.name_of(keeper))
        kit.file_custody(h["account_no"], keeper, h["decided_date"], as_of)
        ctx.lookalike("custody_not_filed", "代管备案有效期截止于检查基准日",
                      account_no=h["account_no"])

    def filed_on_as_of() -> None:
        h = kit.take()
        keeper, name = kit.outsider()
        kit.edits.update("accounts", "case_id", h["case_id"], custodian_id_number=keeper,
                         custodian_name=name)
        kit.file_custody(h["account_no"], keeper, as_of, None)
        ctx.lookalike("custody_not_filed", "代管备案于检查基准日当天办理",
                      account_no=h["account_no"])

    one_plant([until_as_of], "代管备案有效期截止于基准日（对照）")
    one_plant([filed_on_as_of], "代管备案于基准日办理（对照）")


def _custodian_concentration(kit: Kit) -> None:
    ctx = kit.ctx
    k = ctx.settings.custodian_concentration_households
    # (households, filings: valid / none / one expired)
    variants = ((k, "valid"), (k + 1, "none"), (k, "one_expired"))

    def keep(custodian: tuple[str, str], count: int, filing: str) -> list[str]:
        homes = [kit.take() for _ in range(count)]
        accounts = []
        for j, h in enumerate(homes):
            acc = h["account_no"]
            kit.edits.update("accounts", "case_id", h["case_id"],
                             custodian_id_number=custodian[0], custodian_name=custodian[1])
            if filing == "valid" or (filing == "one_expired" and j > 0):
                kit.file_custody(acc, custodian[0], h["decided_date"], None)
            elif filing == "one_expired":
                valid_to = ctx.as_of - timedelta(days=int(kit.rng.integers(1, 90)))
                kit.file_custody(acc, custodian[0], valid_to - timedelta(days=365), valid_to)
                ctx.fire("custody_not_filed", "集中代管中一户的代管备案已过期", account_no=acc)
            else:
                ctx.fire("custody_not_filed", "集中代管且未备案", account_no=acc)
            accounts.append(acc)
        return accounts

    for i in range(max(kit.n, len(variants))):
        count, filing = variants[i % len(variants)]

        def plant(count: int = count, filing: str = filing) -> None:
            who = kit.outsider()
            keep(who, count, filing)
            ctx.fire("custodian_concentration", f"同一人代管{count}户的银行卡",
                     id_number=who[0])

        one_plant([plant], "代管人集中代管")

    def below() -> None:
        who = kit.outsider()
        for acc in keep(who, k - 1, "valid"):
            ctx.lookalike("custody_not_filed", "代管两户，均已备案", account_no=acc)
        ctx.lookalike("custodian_concentration", f"同一人代管{k - 1}户（低于阈值）",
                      id_number=who[0])

    one_plant([below], "低于阈值的代管（对照）")


def plant_integrity(ctx: PlantContext) -> None:
    """Plant every integrity check on claimed households and staff and record the truth."""
    kit = Kit(ctx)
    _relative_not_filed(kit)
    _handled_relative_case(kit)
    _handled_linked_case(kit)
    _staff_contact_overlap(kit)
    _shared_account(kit)
    _payee_not_household(kit)
    _staff_linked_account(kit)
    _custody_not_filed(kit)
    _custodian_concentration(kit)
    kit.apply()
