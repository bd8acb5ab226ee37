"""The first steps of the base: the staff plan per street and the households (street,
template, residence, committee, address), their members (birth, sex, ID number, name, phone)
and the staff table with the case-handling pools per street.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import polars as pl

from analytics.generate import ids
from analytics.generate.base.dates import np_day, np_days, uniform_dates
from analytics.generate.base.plan import (
    DISTRICT,
    HOUSEHOLDS_PER_STAFF,
    MIN_STAFF_PER_STREET,
    N_STREETS,
    RECIPIENT_TEMPLATE_P,
    STAFF_ROLE_BASE,
    STAFF_ROLE_EXTRA,
    STAFF_ROLE_EXTRA_P,
    STAFF_TEMPLATE_P,
    STREET_WEIGHTS,
    STREETS,
    TEMPLATES,
    A,
    C,
    P,
    S,
)
from analytics.generate.base.state import BuilderState


class PeopleSteps(BuilderState):
    """Steps ``households`` (with the staff plan), ``persons`` and ``staff``."""

    # -- households and staff plan --------------------------------------------------------------

    def households(self) -> None:
        rng, H = self.rng, self.H
        street = rng.choice(N_STREETS, size=H, p=STREET_WEIGHTS / STREET_WEIGHTS.sum())
        per_street = np.bincount(street, minlength=N_STREETS)
        roles, offices = [], []
        for s in range(N_STREETS):
            k = max(MIN_STAFF_PER_STREET, round(per_street[s] / HOUSEHOLDS_PER_STAFF))
            extra = rng.choice(
                len(STAFF_ROLE_EXTRA), size=k - len(STAFF_ROLE_BASE), p=STAFF_ROLE_EXTRA_P
            )
            roles += list(STAFF_ROLE_BASE) + [STAFF_ROLE_EXTRA[i] for i in extra]
            offices += [STREETS[s]] * k
        approvers = max(3, math.ceil(len(roles) / 25))
        roles += ["区级审批"] * approvers + ["财务人员"]
        offices += [DISTRICT] * (approvers + 1)
        self.staff_role = np.array(roles)
        self.staff_office = np.array(offices)
        n_staff = len(roles)
        office_idx = np.array([STREETS.index(o) if o in STREETS else -1 for o in offices])
        staff_street = np.where(office_idx >= 0, office_idx, rng.integers(0, N_STREETS, n_staff))
        self.n_staff = n_staff
        self.n_hh = H + n_staff
        self.hh_street = np.concatenate([street, staff_street])
        self.hh_staff = np.arange(self.n_hh) >= H
        t_rec = rng.choice(len(TEMPLATES), size=H, p=RECIPIENT_TEMPLATE_P)
        t_staff = rng.choice(len(TEMPLATES), size=n_staff, p=STAFF_TEMPLATE_P)
        self.hh_template = np.concatenate([t_rec, t_staff])
        self.hh_local = np.where(self.hh_staff, True, rng.random(self.n_hh) < 0.92)
        number = pl.Series(rng.permutation(self.n_hh) + 1).cast(pl.String).str.zfill(8)
        self.hh_id = ("HH" + number).alias("household_id")
        committee_counts = np.array([len(c) for c in ids.COMMITTEES])
        committee_offsets = np.cumsum(np.r_[0, committee_counts])[:-1]
        pick = (rng.random(self.n_hh) * committee_counts[self.hh_street]).astype(np.int64)
        all_committees = pl.Series([c for s in ids.COMMITTEES for c in s], dtype=pl.String)
        self.hh_committee = all_committees.gather(committee_offsets[self.hh_street] + pick)
        self.hh_address_key = ids.address_keys(rng, self.hh_street)
        self.hh_address = ids.address_strings(rng, self.hh_address_key)

    # -- persons --------------------------------------------------------------------------------

    def persons(self) -> None:
        rng = self.rng
        sizes = np.array([len(t) for t in TEMPLATES])
        roles_2d = np.full((len(TEMPLATES), 4), -1)
        for i, t in enumerate(TEMPLATES):
            roles_2d[i, : len(t)] = t
        size = sizes[self.hh_template]
        hh = np.repeat(np.arange(self.n_hh), size)
        pos = np.arange(len(hh)) - np.repeat(np.cumsum(size) - size, size)
        role = roles_2d[self.hh_template[hh], pos]
        n = len(hh)
        self.p_hh, self.p_role, self.n_persons = hh, role, n
        first = np.cumsum(size) - size  # applicant row of each household
        self.hh_first = first

        # Birth dates consistent with the role.
        has_p = np.isin(self.hh_template, [i for i, t in enumerate(TEMPLATES) if P in t])
        has_c = np.isin(self.hh_template, [i for i, t in enumerate(TEMPLATES) if C in t])
        lo = np.where(self.hh_staff, 1966, np.where(has_p, 1960, np.where(has_c, 1968, 1940)))
        hi = np.where(self.hh_staff, 1998, np.where(has_p, 1990, np.where(has_c, 1994, 1995)))
        lo_d = (lo - 1970).astype("datetime64[Y]").astype("datetime64[D]")
        hi_d = (hi - 1970 + 1).astype("datetime64[Y]").astype("datetime64[D]") - np_days(1)
        a_birth = uniform_dates(rng, lo_d, hi_d, self.n_hh)
        year = 365
        anchor = a_birth[hh]
        latest = self.as_of - np_days(400)
        # Ranges per role, drawn uniformly inside them (clipping would pile births on one day
        # and exhaust the ID sequence numbers of that day).
        lo = np.select(
            [role == S, role == C, role == P],
            [
                anchor - np_days(6 * year),
                anchor + np_days(18 * year),
                np.maximum(anchor - np_days(36 * year), np_day(date(1925, 1, 1))),
            ],
            anchor,
        )
        hi = np.select(
            [role == S, role == C, role == P],
            [
                np.minimum(anchor + np_days(6 * year), self.as_of - np_days(18 * year + 10)),
                np.minimum(anchor + np_days(42 * year), latest),
                anchor - np_days(20 * year),
            ],
            anchor,
        )
        birth = uniform_dates(rng, lo, np.maximum(hi, lo), n)
        self.p_birth = birth
        self.p_age = (self.as_of - birth).astype(np.int64) / 365.25

        a_male = rng.random(self.n_hh) < 0.5
        male = np.where(
            role == A, a_male[hh], np.where(role == S, ~a_male[hh], rng.random(n) < 0.5)
        )
        self.p_male = male
        local = self.hh_local[hh]
        region = np.where(
            local,
            np.where(rng.random(n) < 0.85, ids.CHANGNING, rng.choice(ids.SHANGHAI_OTHER, n)),
            rng.choice(ids.ELSEWHERE, n),
        )
        self.p_body = ids.id_bodies(rng, birth, region, male)
        self.p_id = ids.id_strings(self.p_body)

        hh_surname = ids.surnames(rng, self.n_hh)
        own = ids.surnames(rng, n)
        keep = (role == A) | (role == C) | ((role == P) & male & (rng.random(n) < 0.8))
        surname = pl.select(
            pl.when(pl.Series(keep)).then(hh_surname.gather(hh)).otherwise(own)
        ).to_series()
        self.p_name = surname + ids.given_names(rng, male)

        own_phone = (self.p_age >= 18) & ~((role == P) & (rng.random(n) < 0.5))
        own_phone |= role == A
        idx = np.flatnonzero(own_phone)
        landline = (self.p_age[idx] >= 70) & (rng.random(len(idx)) < 0.4)
        keys = np.zeros(n, dtype=np.int64)
        keys[idx] = ids.phone_keys(rng, len(idx), landline)
        keys = np.where(own_phone, keys, keys[first[hh]])
        self.p_phone_key = keys
        self.p_phone = ids.phone_strings(keys)

    # -- staff ----------------------------------------------------------------------------------

    def staff(self) -> None:
        rng = self.rng
        staff_hh = np.arange(self.H, self.n_hh)
        pid = self.hh_first[staff_hh]
        self.staff_pid = pid
        self.staff_id = pl.select(
            pl.lit("YG") + pl.Series(np.arange(1, self.n_staff + 1)).cast(pl.String).str.zfill(6)
        ).to_series()
        # Accounts for households, staff salaries and providers in one draw: all distinct.
        self.n_providers = min(40, max(3, self.H // 1500))
        keys, bank = ids.account_keys(rng, self.H + self.n_staff + self.n_providers)
        self.account_key, self.account_bank = keys, bank
        salary = ids.account_strings(keys[self.H : self.H + self.n_staff])
        self.tables_staff = pl.DataFrame(
            {
                "staff_id": self.staff_id,
                "name": self.p_name.gather(pid),
                "id_number": self.p_id.gather(pid),
                "role": pl.Series(self.staff_role, dtype=pl.String),
                "street": pl.Series(self.staff_office, dtype=pl.String),
                "phone": self.p_phone.gather(pid),
                "address": self.hh_address.gather(staff_hh),
                "salary_account": salary,
            }
        )
        # Case handling pools per street.
        street_of = np.array([STREETS.index(o) if o in STREETS else -1 for o in self.staff_office])
        self.pool_handler = [
            np.flatnonzero((street_of == s) & np.isin(self.staff_role, ["街镇经办", "救助顾问"]))
            for s in range(N_STREETS)
        ]
        self.pool_reviewer = [
            np.flatnonzero((street_of == s) & (self.staff_role == "街镇审核"))
            for s in range(N_STREETS)
        ]
        self.pool_approver = np.flatnonzero(self.staff_role == "区级审批")
        self.staff_street_idx = street_of
