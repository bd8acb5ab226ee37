"""Integrity plants of contacts: cases handled by staff who share the applicant's phone or
address (written differently), hold or keep the payee account; contacts shared with staff who
do not handle the case; and the look-alikes (a neighbour in the same building, a filed overlap).
"""

from __future__ import annotations

import polars as pl

from analytics.generate.kit import (
    ROLE_STAFF,
    ROLE_ZH,
    Kit,
    address_variant,
    not_handling,
    one_plant,
)


def handled_linked_case(kit: Kit) -> None:
    ctx = kit.ctx
    variants = (
        ("handler_id", "phone"),
        ("reviewer_id", "spaced"),
        ("approver_id", "fullwidth"),
        ("handler_id", "prefix"),
        ("reviewer_id", "holder"),
        ("handler_id", "custodian"),
    )
    notes = {
        "phone": "与申请人电话相同",
        "spaced": "与申请人住址相同（空格写法不同）",
        "fullwidth": "住址与该户相同（全角数字）",
        "prefix": "与申请人住址相同（省市区前缀与“室”写法不同）",
        "holder": "本人是该案收款账户的户名人",
        "custodian": "本人代管该案银行卡（已备案）",
    }
    for i in range(max(kit.n, len(variants))):
        order = variants[i % len(variants) :] + variants[: i % len(variants)]

        def plant(role: str, how: str) -> None:
            need = (
                pl.col("phone").is_not_null()
                if how == "phone"
                else (pl.col("address").is_not_null())
            )
            s = kit.take_staff(need, ROLE_STAFF[role])
            h = kit.take()
            case_id, p = h["case_id"], h["applicant_id_number"]
            kit.edits.update("cases", "case_id", case_id, **{role: s["staff_id"]})
            ctx.fire(
                "handled_linked_case",
                f"{ROLE_ZH[role]}{notes[how]}",
                staff_id=s["staff_id"],
                case_id=case_id,
            )
            if how == "phone":
                kit.edits.update("persons", "id_number", p, phone=s["phone"])
                ctx.fire(
                    "staff_contact_overlap",
                    "救助对象电话与工作人员相同",
                    staff_id=s["staff_id"],
                    id_number=p,
                )
            elif how in ("spaced", "prefix"):
                kit.edits.update(
                    "persons", "id_number", p, address=address_variant(s["address"], how)
                )
                ctx.fire(
                    "staff_contact_overlap",
                    "救助对象住址与工作人员相同",
                    staff_id=s["staff_id"],
                    id_number=p,
                )
            elif how == "fullwidth":
                kit.edits.update(
                    "staff", "staff_id", s["staff_id"], address=address_variant(h["address"], how)
                )
                for m in h["members"]:
                    ctx.fire(
                        "staff_contact_overlap",
                        "工作人员住址与救助家庭相同",
                        staff_id=s["staff_id"],
                        id_number=m,
                    )
            else:
                acc = h["account_no"]
                if how == "holder":
                    kit.edits.update(
                        "accounts",
                        "case_id",
                        case_id,
                        holder_id_number=s["id_number"],
                        holder_name=s["name"],
                    )
                    ctx.fire("payee_not_household", "收款账户户名为工作人员", account_no=acc)
                else:
                    kit.edits.update(
                        "accounts",
                        "case_id",
                        case_id,
                        custodian_id_number=s["id_number"],
                        custodian_name=s["name"],
                    )
                    kit.file_custody(acc, s["id_number"], h["decided_date"], None)
                ctx.fire("staff_linked_account", "收款账户由工作人员持有或代管", account_no=acc)

        one_plant([lambda v=v: plant(*v) for v in order], "经办关联案件")

    def neighbour() -> None:
        s = kit.take_staff(pl.col("address").is_not_null(), ROLE_STAFF["handler_id"])
        h = kit.take()
        kit.edits.update(
            "staff", "staff_id", s["staff_id"], address=kit.neighbour_address(h["address"])
        )
        kit.edits.update("cases", "case_id", h["case_id"], handler_id=s["staff_id"])
        ctx.lookalike(
            "handled_linked_case",
            "经办人住同一楼栋的另一户",
            staff_id=s["staff_id"],
            case_id=h["case_id"],
        )
        for m in h["members"]:
            ctx.lookalike(
                "staff_contact_overlap",
                "工作人员住同一楼栋的另一户",
                staff_id=s["staff_id"],
                id_number=m,
            )

    one_plant([neighbour], "同楼栋邻居（对照）")


def staff_contact_overlap(kit: Kit) -> None:
    """Contacts shared with a staff member who does not handle the household's case."""
    ctx = kit.ctx
    variants = ("phone", "address", "staff_moves")
    for i in range(max(kit.n, len(variants))):
        order = variants[i % len(variants) :] + variants[: i % len(variants)]

        def plant(how: str, i: int = i) -> None:
            col = "phone" if how == "phone" else "address"
            s, h = kit.take_pair(lambda s: not_handling(s["staff_id"]), pl.col(col).is_not_null())
            if how == "phone":
                p = (h["adult_others"] or [h["applicant_id_number"]])[0]
                kit.edits.update("persons", "id_number", p, phone=s["phone"])
                ctx.fire(
                    "staff_contact_overlap",
                    "救助对象电话与工作人员相同",
                    staff_id=s["staff_id"],
                    id_number=p,
                )
            elif how == "address":
                p = h["applicant_id_number"]
                style = ("spaced", "prefix", "fullwidth")[i % 3]
                kit.edits.update(
                    "persons", "id_number", p, address=address_variant(s["address"], style)
                )
                ctx.fire(
                    "staff_contact_overlap",
                    "救助对象登记住址与工作人员住址相同",
                    staff_id=s["staff_id"],
                    id_number=p,
                )
            else:
                kit.edits.update(
                    "staff",
                    "staff_id",
                    s["staff_id"],
                    address=address_variant(h["address"], "prefix"),
                )
                for m in h["members"]:
                    ctx.fire(
                        "staff_contact_overlap",
                        "工作人员住址与救助家庭相同",
                        staff_id=s["staff_id"],
                        id_number=m,
                    )

        one_plant([lambda v=v: plant(v) for v in order], "工作人员与救助对象联系方式重合")

    def neighbour() -> None:
        s, h = kit.take_pair(lambda s: not_handling(s["staff_id"]), pl.col("address").is_not_null())
        kit.edits.update(
            "staff", "staff_id", s["staff_id"], address=kit.neighbour_address(h["address"])
        )
        for m in h["members"]:
            ctx.lookalike(
                "staff_contact_overlap",
                "工作人员住同一楼栋的另一户",
                staff_id=s["staff_id"],
                id_number=m,
            )

    def filed() -> None:
        s, h = kit.take_pair(lambda s: not_handling(s["staff_id"]), pl.col("phone").is_not_null())
        p = h["applicant_id_number"]
        kit.edits.update("persons", "id_number", p, phone=s["phone"])
        kit.file_relative(s, p, h["applicant_name"], "其他", h["decided_date"])
        ctx.lookalike(
            "staff_contact_overlap", "电话相同但已备案", staff_id=s["staff_id"], id_number=p
        )

    one_plant([neighbour], "同楼栋邻居（对照）")
    one_plant([filed], "已备案的联系方式重合（对照）")
