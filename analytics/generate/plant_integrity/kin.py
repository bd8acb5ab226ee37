"""Integrity plants of kinship: a staff member's close relative receiving aid unfiled (and a
filed look-alike), and cases handled, reviewed or approved by a relative of the household or
by a member of it. The relations are made so that the only new close-relative pair involving
staff is the intended one (``make_kin``).
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from analytics.generate.kit import (
    ROLE_STAFF,
    ROLE_ZH,
    ROLES,
    Kit,
    not_handling,
    one_plant,
    years_after,
)

KIN_ZH = {"spouse": "配偶", "child": "子女", "sibling": "兄弟姐妹", "grandparent": "祖父母"}


def _single_unrelated() -> pl.Expr:
    return (pl.col("n_members") == 1) & ~pl.col("applicant_in_relations")


def kin_where(kind: str, s: dict) -> pl.Expr:
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


def make_kin(kit: Kit, kind: str, s: dict, h: dict) -> None:
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


def kin_staff_where(kind: str) -> pl.Expr | None:
    # A second spouse edge is avoided: only staff without one become a recipient's spouse.
    return pl.col("spouse_id").is_null() if kind == "spouse" else None


# --- relatives ------------------------------------------------------------------------------


def relative_not_filed(kit: Kit) -> None:
    ctx = kit.ctx
    kinds = ("spouse", "child", "sibling", "grandparent")
    for i in range(max(kit.n, len(kinds))):
        order = kinds[i % len(kinds) :] + kinds[: i % len(kinds)]

        def plant(kind: str) -> None:
            s, h = kit.take_pair(
                lambda s: kin_where(kind, s) & not_handling(s["staff_id"]), kin_staff_where(kind)
            )
            make_kin(kit, kind, s, h)
            ctx.fire(
                "relative_not_filed",
                f"工作人员的{KIN_ZH[kind]}享受救助，未备案",
                staff_id=s["staff_id"],
                id_number=h["applicant_id_number"],
            )

        one_plant([lambda k=k: plant(k) for k in order], "近亲属享受救助未备案")

    def filed() -> None:
        s, h = kit.take_pair(
            lambda s: kin_where("spouse", s) & not_handling(s["staff_id"]),
            kin_staff_where("spouse"),
        )
        make_kin(kit, "spouse", s, h)
        kit.file_relative(
            s, h["applicant_id_number"], h["applicant_name"], "配偶", h["decided_date"]
        )
        ctx.lookalike(
            "relative_not_filed",
            "工作人员的配偶享受救助，已备案",
            staff_id=s["staff_id"],
            id_number=h["applicant_id_number"],
        )

    one_plant([filed], "近亲属已备案（对照）")


def handled_relative_case(kit: Kit) -> None:
    """Handler, reviewer or approver related to the household; filed or not."""
    ctx = kit.ctx
    variants = (
        ("handler_id", "spouse", True),
        ("reviewer_id", "sibling", False),
        ("approver_id", "member", False),
        ("handler_id", "grandparent", False),
        ("reviewer_id", "child", True),
    )
    for i in range(max(kit.n, len(variants))):
        order = variants[i % len(variants) :] + variants[: i % len(variants)]

        def plant(role: str, kind: str, filed: bool) -> None:
            if kind == "member":
                _own_household_case(kit, role)
                return
            s, h = kit.take_pair(
                lambda s: kin_where(kind, s), kin_staff_where(kind), ROLE_STAFF[role]
            )
            make_kin(kit, kind, s, h)
            kit.edits.update("cases", "case_id", h["case_id"], **{role: s["staff_id"]})
            state = "已备案" if filed else "未备案"
            ctx.fire(
                "handled_relative_case",
                f"申请人是{ROLE_ZH[role]}的{KIN_ZH[kind]}（{state}）",
                staff_id=s["staff_id"],
                case_id=h["case_id"],
            )
            if filed:
                kit.file_relative(
                    s,
                    h["applicant_id_number"],
                    h["applicant_name"],
                    KIN_ZH[kind],
                    h["decided_date"],
                )
            else:
                ctx.fire(
                    "relative_not_filed",
                    f"工作人员的{KIN_ZH[kind]}享受救助，未备案",
                    staff_id=s["staff_id"],
                    id_number=h["applicant_id_number"],
                )

        one_plant([lambda v=v: plant(*v) for v in order], "经办近亲属案件未回避")


def _own_household_case(kit: Kit, role: str) -> None:
    """A rejected application of the staff member's own household that they decided on
    themselves. Rejected: the household gets no recipients, so no other check is touched."""
    ctx = kit.ctx
    cal = ctx.calendar
    s = kit.take_staff(pl.col("n_family") >= 1, ROLE_STAFF[role])
    family = [
        m
        for m in kit.members(s["household_id"])
        if m["id_number"] != s["id_number"] and m["birth"] <= kit.adult_cutoff
    ]
    applicant = family[0] if family else kit.members(s["household_id"])[0]
    accepted = kit.day_between(ctx.as_of - timedelta(days=400), ctx.as_of - timedelta(days=60))
    decided = cal.add_workdays(accepted, int(kit.rng.integers(5, 18)))
    others = {
        r: kit.staff_candidates(
            pl.col("role").is_in(ROLE_STAFF[r]) & (pl.col("street") == s["home_street"])
        )
        for r in ROLES
        if r != role
    }
    case_id = f"JZ{accepted.year}{9_000_000 + int(ctx.serial('')):07d}"
    row = {
        "case_id": case_id,
        "household_id": s["household_id"],
        "applicant_id_number": applicant["id_number"],
        "street": s["home_street"],
        "assistance_type": "最低生活保障",
        "status": "未通过",
        "accepted_date": accepted,
        "decided_date": decided,
        role: s["staff_id"],
    }
    for r, found in others.items():
        row[r] = found[0]["staff_id"] if found else None
        if found:
            kit.claim_staff(found[0])
    kit.edits.add("cases", row)
    ctx.fire(
        "handled_relative_case",
        f"{ROLE_ZH[role]}审批本人家庭的救助申请",
        staff_id=s["staff_id"],
        case_id=case_id,
    )
