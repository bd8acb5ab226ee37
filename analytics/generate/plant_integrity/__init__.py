"""Planted defects of the integrity family: staff relatives among recipients, cases handled by
relatives or by linked staff, contacts shared with staff, and payee accounts that are shared,
held outside the household, linked to staff, kept without a filing or kept by one custodian for
many households.

Each plant claims its households and staff, changes the data and records with ``ctx.fire``
every finding the change causes under the shared semantics, consequences in other checks
included; legitimate look-alikes are recorded with ``ctx.lookalike``. Kinship plants use
households of one member who has no relations, so the new edges relate the staff member to
exactly the intended recipient.

The plants run in the order of ``plant_integrity``, from one module per kind: ``kin``
(relatives), ``contacts`` (shared phones and addresses), ``accounts`` (payee accounts) and
``custody`` (kept bank cards). ``analytics.generate.kit.Kit`` (candidates, fresh identifiers,
collected edits) is shared with the dynamic planter.
"""

from __future__ import annotations

from analytics.generate.core import PlantContext
from analytics.generate.kit import Kit, NoCandidate, address_variant, month_of, one_plant
from analytics.generate.plant_integrity.accounts import (
    payee_not_household,
    shared_account,
    staff_linked_account,
)
from analytics.generate.plant_integrity.contacts import handled_linked_case, staff_contact_overlap
from analytics.generate.plant_integrity.custody import custodian_concentration, custody_not_filed
from analytics.generate.plant_integrity.kin import handled_relative_case, relative_not_filed

__all__ = [
    "INTEGRITY_CHECKS",
    "Kit",
    "NoCandidate",
    "address_variant",
    "month_of",
    "one_plant",
    "plant_integrity",
]

INTEGRITY_CHECKS = (
    "relative_not_filed",
    "handled_relative_case",
    "handled_linked_case",
    "staff_contact_overlap",
    "shared_account",
    "payee_not_household",
    "staff_linked_account",
    "custody_not_filed",
    "custodian_concentration",
)


def plant_integrity(ctx: PlantContext) -> None:
    """Plant every integrity check on claimed households and staff and record the truth."""
    kit = Kit(ctx)
    relative_not_filed(kit)
    handled_relative_case(kit)
    handled_linked_case(kit)
    staff_contact_overlap(kit)
    shared_account(kit)
    payee_not_household(kit)
    staff_linked_account(kit)
    custody_not_filed(kit)
    custodian_concentration(kit)
    kit.apply()
