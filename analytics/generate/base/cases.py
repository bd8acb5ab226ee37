"""The cases of the base: each recipient household's main case (type, status, acceptance and
decision on working days, special circumstances, termination) and a second case for some active
households, with amounts, first paid month, difficulty, the staff who handled, reviewed and
approved them, and their case ids in order of acceptance.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from analytics import schema
from analytics.generate.base.dates import (
    NAT,
    masked_text,
    np_day,
    np_days,
    round_to,
    uniform_dates,
    ym_of_days,
)
from analytics.generate.base.plan import (
    AMOUNTS,
    DIFFICULTY_P,
    FIRST_ACCEPTED,
    MAIN_TYPE_P,
    MAIN_TYPES,
    ONE_OFF,
    SECOND_CASE_SHARE,
    SMALL,
    SPECIAL_SHARE,
    SPRING_FESTIVAL_ACCEPTED,
    STATUS_P,
    STATUSES,
    TEMPLATES,
    C,
)
from analytics.generate.base.state import BuilderState, Cases


class CaseSteps(BuilderState):
    """Step ``cases``: sets ``self.c`` (see ``state.Cases``)."""

    def cases(self) -> None:
        rng, H, cal = self.rng, self.H, self.cal
        hh = np.arange(H)
        size = np.array([len(t) for t in TEMPLATES])[self.hh_template[hh]]
        minor = np.zeros(self.n_hh, dtype=bool)
        np.logical_or.at(minor, self.p_hh, (self.p_role == C) & (self.p_age < 18))
        kind = rng.choice(len(MAIN_TYPES), size=H, p=MAIN_TYPE_P)
        kind = np.where((kind == MAIN_TYPES.index("困境儿童")) & ~minor[hh], 0, kind)
        kind = np.where((kind == MAIN_TYPES.index("特困人员")) & (size > 1), 0, kind)
        status = rng.choice(len(STATUSES), size=H, p=STATUS_P)

        last20 = np.minimum(cal.last_start(20), self.as_of - np_days(21))
        last45 = cal.last_start(45)
        # 申请中: accepted so recently that the deadline is not past on the as-of date.
        window = self.as_of - np_days(np.arange(0, 90))
        window = window[window <= cal.last_start(20)]
        window = window[cal.nth(window, np.full(len(window), 20)) >= self.as_of]
        window = window[cal.is_workday(window)] if len(window) else window
        if not len(window):
            status = np.where(status == 3, 2, status)
        accepted = np.empty(H, dtype="datetime64[D]")
        first_day = np_day(FIRST_ACCEPTED)
        sel = {k: status == k for k in range(4)}
        accepted[sel[0]] = uniform_dates(rng, first_day, last20, sel[0].sum())
        accepted[sel[1]] = uniform_dates(
            rng, first_day, self.period_start - np_days(80), sel[1].sum()
        )
        accepted[sel[2]] = uniform_dates(rng, first_day, last20, sel[2].sum())
        accepted[sel[3]] = self.as_of
        accepted = cal.on_or_before(accepted)  # offices accept applications on working days
        if len(window):
            accepted[sel[3]] = window[rng.integers(0, len(window), sel[3].sum())]

        # Look-alike: approvals spanning the Spring Festival, decided on the 20th working day.
        festival = [d for d in SPRING_FESTIVAL_ACCEPTED if np_day(d) <= self.as_of - np_days(70)]
        fest_hh = np.flatnonzero(sel[0] & (kind == 0))[: len(festival)]
        accepted[fest_hh] = np.array([np_day(d) for d in festival[: len(fest_hh)]])

        special = (rng.random(H) < SPECIAL_SHARE) & (accepted <= last45)
        special[fest_hh] = False
        deadline = np.where(special, 45, 20)
        k = rng.integers(3, deadline + 1)
        limit = np.where(sel[1], self.period_start - np_days(10), self.as_of)
        avail = cal.ordinal(limit) - cal.ordinal(accepted)
        k = np.maximum(1, np.minimum(k, avail))
        k[fest_hh] = 20
        decided = cal.nth(accepted, k)
        decided = np.where(sel[3], NAT, decided)
        self.claim(fest_hh)

        term = np.full(H, NAT)
        term[sel[1]] = cal.in_month(uniform_dates(rng, self.period_start, self.as_of, sel[1].sum()))

        case = {
            "hh": hh,
            "kind": kind,
            "status": status,
            "accepted": accepted,
            "decided": decided,
            "special": special,
            "term": term,
            "second": np.zeros(H, dtype=bool),
        }

        # Second cases: a one-off 临时救助 or a monthly 小金额救助 for some active households.
        pick = np.flatnonzero(sel[0] & (rng.random(H) < SECOND_CASE_SHARE))
        pick = np.setdiff1d(pick, fest_hh)
        acc2 = decided[pick] + np_days(rng.integers(15, 400, len(pick)))
        ok = acc2 <= last20
        pick, acc2 = pick[ok], cal.on_or_before(acc2[ok])
        small = kind[pick] != MAIN_TYPES.index(SMALL)
        small &= rng.random(len(pick)) < 0.4
        kind2 = np.where(small, MAIN_TYPES.index(SMALL), MAIN_TYPES.index(ONE_OFF))
        k2 = np.minimum(
            rng.integers(3, 21, len(pick)),
            cal.ordinal(np.full(len(pick), self.as_of)) - cal.ordinal(acc2),
        )
        dec2 = cal.nth(acc2, np.maximum(k2, 1))
        n2 = len(pick)
        second = {
            "hh": pick,
            "kind": kind2,
            "status": np.zeros(n2, dtype=np.int64),
            "accepted": acc2,
            "decided": dec2,
            "special": np.zeros(n2, dtype=bool),
            "term": np.full(n2, NAT),
            "second": np.ones(n2, dtype=bool),
        }
        c: dict[str, np.ndarray] = {key: np.concatenate([case[key], second[key]]) for key in case}
        self.second_hh = pick
        n = len(c["hh"])
        amt = np.zeros(n, dtype=np.int64)
        for t, (lo, hi, step, per_person) in AMOUNTS.items():
            m = c["kind"] == MAIN_TYPES.index(t)
            val = rng.uniform(lo, hi, m.sum())
            if per_person:
                val = val * size[c["hh"][m]]
            if t == SMALL:
                val = np.where(c["second"][m], np.minimum(val, 400), val)
            amt[m] = round_to(val, step) * 100
        paying = c["status"] <= 1
        c["amount"] = np.where(paying, amt, -1)
        dec = c["decided"]
        day = (dec - dec.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64)
        # decided late in a month: paid from the next month's batch
        c["start"] = np.where(
            paying, ym_of_days(np.where(paying, dec, self.as_of)) + (day >= 20), -1
        )
        diff = rng.choice(3, size=n, p=DIFFICULTY_P)
        c["difficulty"] = np.where(paying, diff, -1)
        street = self.hh_street[c["hh"]]
        c["street"] = street
        c["handler"] = self._pick(self.pool_handler, street)
        c["reviewer"] = np.where(c["status"] == 3, -1, self._pick(self.pool_reviewer, street))
        c["approver"] = np.where(
            c["status"] == 3, -1, self.pool_approver[rng.integers(0, len(self.pool_approver), n)]
        )
        c["applicant"] = self.hh_first[c["hh"]]
        sc = np.array(schema.SPECIAL_CIRCUMSTANCES)
        special_text = masked_text(sc[rng.integers(0, len(sc), n)], c["special"])

        # case_id by acceptance order: JZ + year + serial
        order = np.lexsort((c["second"], c["hh"], c["accepted"]))
        serial = np.empty(n, dtype=np.int64)
        serial[order] = np.arange(1, n + 1)
        year = c["accepted"].astype("datetime64[Y]").astype(np.int64) + 1970
        case_id = pl.select(
            pl.lit("JZ")
            + pl.Series(year).cast(pl.String)
            + pl.Series(serial).cast(pl.String).str.zfill(7)
        ).to_series()
        self.c = Cases(**c, special_text=special_text, case_id=case_id)
        self.n_cases = n
        for h in fest_hh:
            self.ctx.lookalike(
                "approval_overdue", "审批跨春节，恰在第20个工作日审批", case_id=case_id[int(h)]
            )
        # catalogue item and fund code per case
        cat = self.ctx.catalogue
        items = dict(zip(cat["assistance_type"], cat["item"], strict=True))
        codes = dict(zip(cat["assistance_type"], cat["fund_code"], strict=True))
        self.type_item = np.array([items[t] for t in MAIN_TYPES])
        self.type_code = np.array([codes[t] for t in MAIN_TYPES])
        self.hh_single = np.bincount(c["hh"], minlength=self.n_hh) == 1

    def _pick(self, pools: list[np.ndarray], street: np.ndarray) -> np.ndarray:
        counts = np.array([len(p) for p in pools])
        offsets = np.cumsum(np.r_[0, counts])[:-1]
        flat = np.concatenate(pools)
        return flat[offsets[street] + (self.rng.random(len(street)) * counts[street]).astype(int)]
