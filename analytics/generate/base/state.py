"""What the base builder's steps share: the context and the period, the arrays each step leaves
for the later ones, and the claims that keep planters away from the base's look-alikes.

Rows are addressed by position throughout: household ``h`` (recipients ``0 .. H-1``, then one
household per staff member), person row, staff row, case row (case ``h < H`` is household
``h``'s main case; second cases follow) and entitlement row. The steps run in the order of
``base._Builder.run``; each attribute below is set by the step named above it and read by the
later ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from analytics.generate.base.dates import WorkdayArrays, month_start, np_day, ym_of
from analytics.generate.core import PlantContext


@dataclass(frozen=True)
class Cases:
    """The cases, one array per column, in case-row order."""

    hh: np.ndarray  # household row
    kind: np.ndarray  # index into plan.MAIN_TYPES
    status: np.ndarray  # index into plan.STATUSES
    accepted: np.ndarray  # datetime64[D]
    decided: np.ndarray  # datetime64[D], NaT while 申请中
    special: np.ndarray  # bool: a special circumstance (45 working days to decide)
    term: np.ndarray  # termination date, NaT unless 终止
    second: np.ndarray  # bool: the household's second case
    amount: np.ndarray  # monthly amount in fen, -1 when the case pays nothing
    start: np.ndarray  # month number of the first payment, -1 when the case pays nothing
    difficulty: np.ndarray  # index into schema.DIFFICULTIES, -1 when the case pays nothing
    street: np.ndarray  # street index
    handler: np.ndarray  # staff row
    reviewer: np.ndarray  # staff row, -1 for none
    approver: np.ndarray  # staff row, -1 for none
    applicant: np.ndarray  # person row
    special_text: pl.Series  # the special circumstance, null for none
    case_id: pl.Series


class BuilderState:
    """The state of one build: set up here, then filled in by the steps (the mixins of
    ``base._Builder``), each attribute by the step named above it."""

    ctx: PlantContext
    rng: np.random.Generator
    H: int  # recipient households
    cal: WorkdayArrays
    as_of: np.datetime64
    ym0: int  # month number of the first and the last month of the period
    ym_end: int
    period_start: np.datetime64
    cap: int  # at most this many look-alikes recorded of a kind the base has many of
    lookalike_n: int  # look-alikes made of a kind the base has none of by itself

    # people.households: the staff plan and the households
    staff_role: np.ndarray
    staff_office: np.ndarray
    n_staff: int
    n_hh: int
    hh_street: np.ndarray
    hh_staff: np.ndarray
    hh_template: np.ndarray
    hh_local: np.ndarray
    hh_id: pl.Series
    hh_committee: pl.Series
    hh_address_key: np.ndarray
    hh_address: pl.Series

    # people.persons
    p_hh: np.ndarray
    p_role: np.ndarray
    n_persons: int
    hh_first: np.ndarray  # the applicant's (or staff member's) person row of each household
    p_birth: np.ndarray
    p_age: np.ndarray
    p_male: np.ndarray
    p_body: np.ndarray
    p_id: pl.Series
    p_name: pl.Series
    p_phone_key: np.ndarray
    p_phone: pl.Series

    # people.staff
    staff_pid: np.ndarray
    staff_id: pl.Series
    n_providers: int
    account_key: np.ndarray  # households, then staff salaries, then providers
    account_bank: np.ndarray
    tables_staff: pl.DataFrame
    pool_handler: list[np.ndarray]  # staff rows per street
    pool_reviewer: list[np.ndarray]
    pool_approver: np.ndarray
    staff_street_idx: np.ndarray

    # cases.cases
    c: Cases
    second_hh: np.ndarray
    n_cases: int
    type_item: np.ndarray  # catalogue item and fund code per plan.MAIN_TYPES
    type_code: np.ndarray
    hh_single: np.ndarray  # households with exactly one case

    # money.accounts
    hh_account: pl.Series
    hh_bank: pl.Series
    holder: np.ndarray  # person row per case, or -2 - outsider index (a guardian)
    custodian: np.ndarray  # person row per case, or -2 - outsider index, or -1 for none

    # money.entitlements
    back_same_rows: np.ndarray
    small_lookalike: np.ndarray
    e_case: np.ndarray
    e_ym: np.ndarray
    e_amount: np.ndarray
    e_kind: np.ndarray  # 0 正常, 1 补发
    e_back_of: np.ndarray  # month number a back payment is for

    # money.ledger
    ledger_frame: pl.DataFrame
    provider_uscc: list[str]
    provider_name: list[str]
    provider_account: pl.Series

    # relations.relations and relations.staff_relatives
    rel_a: np.ndarray
    rel_b: np.ndarray
    rel_kind: np.ndarray
    filings: list[dict[str, Any]]

    # relations.custody
    outsider_body: np.ndarray
    outsider_id: pl.Series
    outsider_name: pl.Series
    custody_rows: list[dict[str, Any]]

    # records
    events_frame: pl.DataFrame
    visits_frame: pl.DataFrame
    trainings_frame: pl.DataFrame
    dishonesty_frame: pl.DataFrame

    def __init__(self, ctx: PlantContext, households: int) -> None:
        self.ctx = ctx
        self.rng = ctx.rng
        self.H = households
        self.cal = WorkdayArrays(ctx.calendar)
        self.as_of = np_day(ctx.as_of)
        self.ym0 = ym_of(ctx.months[0])
        self.ym_end = ym_of(ctx.months[-1])
        self.period_start = month_start(np.array([self.ym0]))[0]
        self.cap = max(3, households // 1000)
        self.lookalike_n = max(2, households // 1500)

    def claim(self, households: np.ndarray) -> None:
        self.ctx.claimed_households.update(self.hh_id.gather(np.asarray(households)).to_list())

    def _claimed_mask(self) -> np.ndarray:
        claimed = pl.Series(sorted(self.ctx.claimed_households), dtype=pl.String)
        return self.hh_id.is_in(claimed.implode()).to_numpy()
