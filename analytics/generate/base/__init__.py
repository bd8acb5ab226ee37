"""The clean demo district: households, staff, cases, accounts, payments and the optional
tables, built so that no check of the contract fires (shared semantics notes).

Legitimate look-alikes of defects are part of the base on purpose and recorded with
``ctx.lookalike``; their households and staff are claimed so that planters leave them alone.
Everything is drawn from ``ctx.rng`` in a fixed order and vectorised over households, persons
and rows; the only loops run over streets, templates, banks or a handful of look-alikes.

What every step uses:

- ``plan``: what the district is drawn from (streets, templates, types, amounts, shares);
- ``dates``: month numbers and working days over numpy arrays;
- ``state``: what the steps share (the ``Cases`` arrays, claims of look-alikes).

The steps, one module each in the order ``_Builder.run`` calls them:

- ``people``: households, persons and staff;
- ``cases``: main and second cases with their staff and case ids;
- ``money``: accounts, entitlements and the ledger;
- ``relations``: family relations, staff relatives and custodians with their filings;
- ``records``: events, visits, trainings and the dishonesty list;
- ``tables``: the contract tables (and ``conform``, ``SORT_KEYS`` for the planters and writer).

Planters use ``planting``: ``plain_households`` for candidates, ``fresh_*`` for identifiers
nobody else uses, ``district_size`` to scale. What callers import from
``analytics.generate.base`` is re-exported here (``__all__``).
"""

from __future__ import annotations

import numpy as np

from analytics.calendar import WorkdayCalendar
from analytics.generate.base.cases import CaseSteps
from analytics.generate.base.dates import month_end, period_months, ym_of
from analytics.generate.base.money import MoneySteps
from analytics.generate.base.people import PeopleSteps
from analytics.generate.base.plan import FIRST_ACCEPTED, STREETS, BaseParams
from analytics.generate.base.planting import (
    batch_id,
    district_size,
    fresh_accounts,
    fresh_addresses,
    fresh_names,
    fresh_person_ids,
    fresh_phones,
    fresh_txn_id,
    plain_households,
)
from analytics.generate.base.records import RecordSteps
from analytics.generate.base.relations import RelationSteps
from analytics.generate.base.tables import SORT_KEYS, TableSteps, conform
from analytics.generate.core import PlantContext
from analytics.reference import load_catalogue, load_settings

__all__ = [
    "FIRST_ACCEPTED",
    "SORT_KEYS",
    "STREETS",
    "BaseParams",
    "batch_id",
    "build_base",
    "conform",
    "district_size",
    "fresh_accounts",
    "fresh_addresses",
    "fresh_names",
    "fresh_person_ids",
    "fresh_phones",
    "fresh_txn_id",
    "month_end",
    "new_context",
    "period_months",
    "plain_households",
]


def new_context(params: BaseParams) -> PlantContext:
    settings = load_settings()
    calendar = WorkdayCalendar.load()
    months = period_months(params.end_month, params.months)
    as_of = month_end(months[-1])
    if as_of.year not in calendar.years or ym_of(months[0]) < FIRST_ACCEPTED.year * 12 + 6:
        raise ValueError(
            f"导出月份 {params.end_month} 超出工作日历覆盖的年份"
            f"（{calendar.years[0]}—{calendar.years[-1]}）或早于 2023 年下半年，"
            "无法生成演示数据。"
        )
    if params.months < 2:
        raise ValueError("演示数据至少需要 2 个发放月份。")
    if params.households < 50:
        raise ValueError("演示街区至少需要 50 户救助家庭。")
    return PlantContext(
        tables={},
        rng=np.random.default_rng(params.seed),
        settings=settings,
        catalogue=load_catalogue(),
        calendar=calendar,
        months=months,
        as_of=as_of,
    )


def build_base(params: BaseParams, ctx: PlantContext | None = None) -> PlantContext:
    """Fill ``ctx`` (a new one by default) with the clean district; returns it."""
    ctx = ctx or new_context(params)
    _Builder(ctx, params.households).run()
    return ctx


class _Builder(PeopleSteps, CaseSteps, MoneySteps, RelationSteps, RecordSteps, TableSteps):
    """The base builder: every step, in the order each one needs the ones before it."""

    def run(self) -> None:
        self.households()
        self.persons()
        self.staff()
        self.cases()
        self.accounts()
        self.entitlements()
        self.ledger()
        self.relations()
        self.staff_relatives()
        self.custody()
        self.events()
        self.visits()
        self.trainings()
        self.dishonesty()
        self.finish()
