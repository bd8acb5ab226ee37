"""The base's records of what happened to people and cases: events from other departments
(deaths, employment, criminal records), visits within each case's cycle, trainings of every
office and the dishonesty list, each with the look-alikes that sit exactly on a rule's edge.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from analytics import schema
from analytics.generate import ids
from analytics.generate.base.dates import NAT, add_months, np_day, np_days, uniform_dates
from analytics.generate.base.plan import (
    DISTRICT,
    EVENT_SOURCES,
    FIRST_ACCEPTED,
    MAIN_TYPES,
    ONE_OFF,
    SMALL,
    STREETS,
    TRAINING_TOPICS,
    A,
)
from analytics.generate.base.state import BuilderState


class RecordSteps(BuilderState):
    """Steps ``events``, ``visits``, ``trainings`` and ``dishonesty``."""

    # -- events ---------------------------------------------------------------------------------

    def events(self) -> None:
        rng, c = self.rng, self.c
        as_of = self.as_of
        claimed = self._claimed_mask()
        rows: list[tuple[np.ndarray, str | np.ndarray, np.ndarray]] = []
        hh_status = np.full(self.n_hh, -1)
        hh_status[: self.H] = c.status[: self.H]
        hh_decided = np.full(self.n_hh, NAT)
        hh_decided[: self.H] = c.decided[: self.H]
        recipient = self.p_hh < self.H
        free = recipient & ~claimed[self.p_hh]

        # Deaths of members other than the applicant.
        pid = np.flatnonzero(
            free & (self.p_role != A) & (self.p_age >= 60) & (rng.random(self.n_persons) < 0.03)
        )
        rows.append((pid, "死亡", uniform_dates(rng, np_day(FIRST_ACCEPTED), as_of, len(pid))))

        # Deaths of applicants that ended their case: in the termination month, no later pay.
        term = np.flatnonzero(
            (c.status == 1) & ~c.second & ~claimed[c.hh] & (rng.random(self.n_cases) < 0.3)
        )
        t = c.term[term]
        back = t - np_days(rng.integers(0, 16, len(term)))
        rows.append(
            (
                c.applicant[term],
                "死亡",
                np.maximum(back, t.astype("datetime64[M]").astype("datetime64[D]")),
            )
        )

        # Employment and criminal records: members of households without an active case, and
        # members of active households before the decision.
        kinds = np.where(rng.random(self.n_persons) < 0.8, "就业参保", "刑事处罚")
        pid = np.flatnonzero(
            free
            & (hh_status[self.p_hh] >= 1)
            & (self.p_age >= 18)
            & (rng.random(self.n_persons) < 0.05)
        )
        rows.append((pid, kinds[pid], uniform_dates(rng, np_day(FIRST_ACCEPTED), as_of, len(pid))))
        pid = np.flatnonzero(
            free
            & (hh_status[self.p_hh] == 0)
            & (self.p_age >= 18)
            & (rng.random(self.n_persons) < 0.01)
        )
        rows.append(
            (pid, kinds[pid], hh_decided[self.p_hh[pid]] - np_days(rng.integers(1, 700, len(pid))))
        )
        has_event = np.zeros(self.n_hh, dtype=bool)
        for pid, _, _ in rows:
            has_event[self.p_hh[pid]] = True

        # Look-alikes: a record dated on the decision day itself; a death within the grace days.
        for kind, check in (
            ("就业参保", "employment_found"),
            ("刑事处罚", "criminal_sanction_found"),
        ):
            h = self._plain_active(self._claimed_mask() | has_event, self.lookalike_n)
            last_adult = np.zeros(self.n_hh, dtype=np.int64)
            adults = np.flatnonzero(np.isin(self.p_hh, h) & (self.p_age >= 18))
            last_adult[self.p_hh[adults]] = adults  # later rows overwrite: the last adult
            rows.append((last_adult[h], kind, c.decided[h]))
            for cs in h:
                self.ctx.lookalike(
                    check, f"{kind}信息日期与审批日期同日", case_id=c.case_id[int(cs)]
                )
            has_event[h] = True
            self.claim(h)
        grace = self.ctx.settings.death_grace_days
        day = int((as_of - as_of.astype("datetime64[M]").astype("datetime64[D]")).astype(int))
        h = self._plain_active(self._claimed_mask() | has_event, max(1, self.lookalike_n // 2))
        back = rng.integers(1, max(2, min(grace, day + 1)), len(h))
        rows.append((c.applicant[h], "死亡", as_of - np_days(back)))
        for cs in h:
            self.ctx.lookalike(
                "deceased_still_active", "申请人死亡未满宽限期", case_id=c.case_id[int(cs)]
            )
        self.claim(h)

        pid = np.concatenate([r[0] for r in rows])
        etype = np.concatenate([np.broadcast_to(np.asarray(r[1]), len(r[0])) for r in rows])
        edate = np.concatenate([r[2] for r in rows])
        first = {k: v[0] for k, v in EVENT_SOURCES.items()}
        last = {k: v[-1] for k, v in EVENT_SOURCES.items()}
        etype_s = pl.Series(etype, dtype=pl.String)
        source = pl.select(
            pl.when(pl.Series(rng.random(len(pid)) < 0.5))
            .then(etype_s.replace_strict(first))
            .otherwise(etype_s.replace_strict(last))
        ).to_series()
        self.events_frame = pl.DataFrame(
            {
                "id_number": self.p_id.gather(pid),
                "event_type": etype_s,
                "event_date": pl.Series(edate, dtype=pl.Date),
                "source": source,
            }
        ).unique(subset=["id_number", "event_type"], keep="first", maintain_order=True)

    def _plain_active(self, claimed: np.ndarray, k: int) -> np.ndarray:
        """k single-case active recipient households not claimed (regular monthly items)."""
        c = self.c
        hh = np.arange(self.H)
        ok = self.hh_single[: self.H] & ~claimed[: self.H] & (c.status[hh] == 0)
        ok &= ~np.isin(c.kind[hh], [MAIN_TYPES.index(ONE_OFF), MAIN_TYPES.index(SMALL)])
        rows = np.flatnonzero(ok)
        return np.sort(self.rng.choice(rows, size=min(k, len(rows)), replace=False))

    # -- visits ---------------------------------------------------------------------------------

    def visits(self) -> None:
        rng, c = self.rng, self.c
        cycles = self.ctx.settings.visit_cycle_months
        months = np.array([cycles[d] for d in schema.DIFFICULTIES])
        cycle = np.where(c.difficulty >= 0, months[np.maximum(c.difficulty, 0)], cycles["低"])
        active = np.flatnonzero(c.status == 0)
        # Last visit within the cycle: at most 28 days per cycle month back (so last + cycle
        # months is on or after the as-of date), never before the decision.
        lo = np.maximum(c.decided[active], self.as_of - np_days(28 * cycle[active]))
        last = uniform_dates(rng, lo, self.as_of, len(active))
        # Look-alike: last visit exactly one cycle before the as-of date, where the calendar
        # allows it (Oct 31 minus one month plus one month is Oct 30, not Oct 31).
        edge_back = {m: add_months(self.ctx.as_of, -m) for m in set(months.tolist())}
        exact = {m: d for m, d in edge_back.items() if add_months(d, m) == self.ctx.as_of}
        claimed = self._claimed_mask()
        ok = self.hh_single[c.hh[active]] & ~claimed[c.hh[active]]
        ok &= c.kind[active] != MAIN_TYPES.index(ONE_OFF)
        back_by_cycle = np.full(max(months) + 1, NAT)
        for m, d in exact.items():
            back_by_cycle[m] = np_day(d)
        back = back_by_cycle[cycle[active]]
        ok &= ~np.isnat(back)
        ok &= np.where(np.isnat(back), False, back >= c.decided[active])
        pos = np.flatnonzero(ok)
        pos = np.sort(rng.choice(pos, size=min(self.lookalike_n, len(pos)), replace=False))
        last[pos] = back[pos]
        for cs in active[pos]:
            self.ctx.lookalike(
                "visit_overdue", "上次探访加探访周期恰为截止日", case_id=c.case_id[int(cs)]
            )
        self.claim(c.hh[active[pos]])
        # up to two earlier visits, a cycle apart, not before the decision
        k = rng.integers(0, 3, len(active))
        k[pos] = 0
        rep = np.repeat(np.arange(len(active)), k)
        step = np.arange(len(rep)) - np.repeat(np.cumsum(k) - k, k) + 1
        earlier = last[rep] - np_days(step * 30 * cycle[active][rep])
        keep = earlier >= c.decided[active][rep]
        case = np.concatenate([active, active[rep][keep]])
        vdate = np.concatenate([last, earlier[keep]])
        # terminated cases: a visit before the termination
        ended = np.flatnonzero((c.status == 1) & (rng.random(self.n_cases) < 0.7))
        vend = uniform_dates(rng, c.decided[ended], c.term[ended], len(ended))
        case = np.concatenate([case, ended])
        vdate = np.concatenate([vdate, vend])
        mode = np.array(schema.VISIT_MODES)[rng.choice(3, size=len(case), p=[0.6, 0.3, 0.1])]
        self.visits_frame = pl.DataFrame(
            {
                "case_id": c.case_id.gather(case),
                "visit_date": pl.Series(vdate, dtype=pl.Date),
                "staff_id": self.staff_id.gather(c.handler[case]),
                "mode": pl.Series(mode, dtype=pl.String),
            }
        ).unique(subset=["case_id", "visit_date"], keep="first", maintain_order=True)

    # -- trainings ------------------------------------------------------------------------------

    def trainings(self) -> None:
        rng = self.rng
        units = list(STREETS) + [DISTRICT]
        rows = []
        for year in range(FIRST_ACCEPTED.year, self.ctx.as_of.year + 1):
            hi = min(date(year, 12, 20), self.ctx.as_of)
            lo = date(year, 1, 5)
            for u in units:
                k = int(rng.integers(2, 5))
                span = (hi - lo).days
                days = np.sort(rng.integers(0, span + 1, k))
                for d in days:
                    topic = TRAINING_TOPICS[int(rng.integers(0, len(TRAINING_TOPICS)))]
                    rows.append(
                        {
                            "street": u,
                            "date": lo + timedelta(days=int(d)),
                            "topic": topic,
                            "participants": int(rng.integers(8, 61)),
                        }
                    )
        frame = pl.DataFrame(
            rows,
            schema={
                "street": pl.String,
                "date": pl.Date,
                "topic": pl.String,
                "participants": pl.Int64,
            },
        )
        dates = self.cal.on_or_before(frame["date"].to_numpy())
        self.trainings_frame = frame.with_columns(date=pl.Series(dates, dtype=pl.Date))

    # -- dishonesty -----------------------------------------------------------------------------

    def dishonesty(self) -> None:
        rng, c = self.rng, self.c
        n = max(5, self.H // 100)
        birth = uniform_dates(rng, np_day(date(1955, 1, 1)), np_day(date(1998, 12, 31)), n)
        male = rng.random(n) < 0.6
        taken = np.concatenate([self.p_body, self.outsider_body])
        body = ids.id_bodies(
            rng,
            birth,
            np.where(rng.random(n) < 0.7, ids.CHANGNING, rng.choice(ids.ELSEWHERE, n)),
            male,
            taken,
        )
        start = uniform_dates(rng, np_day(date(2019, 1, 1)), self.as_of, n)
        end = start + np_days(rng.integers(365, 3 * 365, n))
        frames = [
            pl.DataFrame(
                {
                    "id_number": ids.id_strings(body),
                    "name": ids.surnames(rng, n) + ids.given_names(rng, male),
                    "start_date": pl.Series(start, dtype=pl.Date),
                    "end_date": pl.Series(end, dtype=pl.Date),
                }
            )
        ]
        claimed = self._claimed_mask()
        h = self._plain_active(claimed, self.lookalike_n)
        case = self._main_case(h)
        member = c.applicant[case]
        dec = c.decided[case]
        before = np.arange(len(h)) % 2 == 0
        s = np.where(before, dec - np_days(rng.integers(365, 1000, len(h))), dec + np_days(1))
        e = np.where(before, dec - np_days(1), dec + np_days(rng.integers(365, 1000, len(h))))
        frames.append(
            pl.DataFrame(
                {
                    "id_number": self.p_id.gather(member),
                    "name": self.p_name.gather(member),
                    "start_date": pl.Series(s, dtype=pl.Date),
                    "end_date": pl.Series(e, dtype=pl.Date),
                }
            )
        )
        for cs, b in zip(case, before, strict=True):
            note = "失信期截止于审批日前一天" if b else "失信期始于审批日次日"
            self.ctx.lookalike("blacklisted_recipient", note, case_id=c.case_id[int(cs)])
        self.claim(h)
        self.dishonesty_frame = pl.concat(frames)

    def _main_case(self, households: np.ndarray) -> np.ndarray:
        """Main case of recipient households (case i is the main case of household i)."""
        return np.asarray(households)
