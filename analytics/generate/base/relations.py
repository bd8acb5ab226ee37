"""Who is related to whom in the base, and the filings: family relations inside each
household, staff members' parents and siblings receiving aid in another street (filed, the
look-alike of an unfiled relative) and bank cards kept by a filed custodian (a member, an
outsider keeping two households' cards, a guardian holding the account).
"""

from __future__ import annotations

from datetime import date

import numpy as np

from analytics.generate import ids
from analytics.generate.base.dates import NAT, np_day, np_days, uniform_dates
from analytics.generate.base.plan import TEMPLATES, A, C, P, S
from analytics.generate.base.state import BuilderState


class RelationSteps(BuilderState):
    """Steps ``relations``, ``staff_relatives`` and ``custody``."""

    # -- relations ------------------------------------------------------------------------------

    def relations(self) -> None:
        hh, role = self.p_hh, self.p_role
        first = self.hh_first
        n = len(hh)
        idx = np.arange(n)
        spouse_of = np.full(self.n_hh, -1)
        spouse_of[hh[role == S]] = idx[role == S]
        a = first[hh]
        pairs = [
            (a[role == S], idx[role == S], "配偶"),
            (a[role == C], idx[role == C], "父母"),
            (spouse_of[hh[role == C]], idx[role == C], "父母"),
            (idx[role == P], a[role == P], "父母"),
        ]
        rows_a, rows_b, rel = [], [], []
        for x, y, r in pairs:
            keep = x >= 0
            rows_a.append(x[keep])
            rows_b.append(y[keep])
            rel.append(np.full(keep.sum(), r))
        self.rel_a = np.concatenate(rows_a)
        self.rel_b = np.concatenate(rows_b)
        self.rel_kind = np.concatenate(rel)

    def staff_relatives(self) -> None:
        """Look-alike: a staff member's parent or sibling receives aid in another street, is
        filed, and the staff member does not handle the case."""
        rng, c = self.rng, self.c
        claimed = self._claimed_mask()
        active = np.zeros(self.n_hh, dtype=bool)
        active[c.hh[c.status == 0]] = True
        # The recipient household holds nobody else the staff member would be related to: no
        # children and no parents of the applicant.
        cand = np.flatnonzero(active & np.isin(self.hh_template, [0, 1]) & self.hh_single)
        movable = np.flatnonzero((self.staff_role != "区级审批") & (self.staff_street_idx >= 0))
        staff_hh = np.arange(self.H, self.n_hh)
        with_parent = np.isin(
            self.hh_template[staff_hh], [i for i, t in enumerate(TEMPLATES) if P in t]
        )
        self.filings = []
        extra_a, extra_b = [], []
        adult = np_days(18 * 365)
        for variant in ("父母", "兄弟姐妹"):
            pool = movable[with_parent[movable] == (variant == "兄弟姐妹")]
            pool = pool[rng.permutation(len(pool))]
            want = self.lookalike_n
            for s in pool[: 50 * want]:
                if want == 0:
                    break
                options = cand[(self.hh_street[cand] != self.staff_street_idx[s]) & ~claimed[cand]]
                if not len(options):
                    break
                h = int(options[rng.integers(0, len(options))])
                x = int(self.hh_first[h])
                me = int(self.staff_pid[s])
                if variant == "父母":
                    if self.p_birth[x] > self.p_birth[me] - adult:
                        continue
                    extra_a.append(x)
                    extra_b.append(me)
                else:
                    parent = int(np.flatnonzero((self.p_hh == self.H + s) & (self.p_role == P))[0])
                    if self.p_birth[x] < self.p_birth[parent] + adult:
                        continue
                    extra_a.append(parent)
                    extra_b.append(x)
                want -= 1
                claimed[h] = True
                self.claim(np.array([h]))
                sid = self.staff_id[int(s)]
                self.ctx.claimed_staff.add(sid)
                filed = min(c.decided[h] + np_days(rng.integers(1, 60)), self.as_of)
                self.filings.append(
                    {
                        "staff_id": sid,
                        "relative_id_number": self.p_id[x],
                        "relative_name": self.p_name[x],
                        "relation": variant,
                        "filed_date": filed.astype(date),
                    }
                )
                self.ctx.lookalike(
                    "relative_not_filed",
                    f"工作人员的{variant}享受救助，已备案",
                    staff_id=sid,
                    id_number=self.p_id[x],
                )
        if extra_a:
            self.rel_a = np.concatenate([self.rel_a, extra_a])
            self.rel_b = np.concatenate([self.rel_b, extra_b])
            self.rel_kind = np.concatenate([self.rel_kind, np.full(len(extra_a), "父母")])

    # -- custody look-alikes --------------------------------------------------------------------

    def custody(self) -> None:
        """A few cards kept by a filed custodian: a household member; an outsider keeping the
        cards of two households (below the concentration threshold); a guardian who is not a
        member and holds the account, with a filing naming it."""
        rng, c = self.rng, self.c
        claimed = self._claimed_mask()
        hh = np.arange(self.H)
        cand = hh[self.hh_single[: self.H] & ~claimed[: self.H] & (c.status[hh] == 0)]
        cand = cand[rng.permutation(len(cand))]
        adult_other = np.full(self.n_hh, -1)
        keepers = np.flatnonzero((self.p_age >= 18) & (self.p_role != A))
        adult_other[self.p_hh[keepers]] = keepers
        with_member = cand[adult_other[cand] >= 0][: self.lookalike_n]
        rest = np.setdiff1d(cand, with_member)
        rest = rest[rng.permutation(len(rest))][:3]
        # outsiders: 0 keeps two households' cards, 1 is a guardian holding an account
        n_out = 2
        birth = uniform_dates(rng, np_day(date(1960, 1, 1)), np_day(date(1995, 12, 31)), n_out)
        self.outsider_body = ids.id_bodies(
            rng, birth, np.full(n_out, ids.CHANGNING), rng.random(n_out) < 0.5, taken=self.p_body
        )
        self.outsider_id = ids.id_strings(self.outsider_body)
        self.outsider_name = ids.surnames(rng, n_out) + ids.given_names(
            rng, rng.random(n_out) < 0.5
        )
        plan = [(int(h), int(adult_other[h]), "member") for h in with_member]
        if len(rest) == 3:
            plan += [
                (int(rest[0]), -2, "shared"),
                (int(rest[1]), -2, "shared"),
                (int(rest[2]), -3, "guardian"),
            ]
        notes = {
            "member": "家庭成员代管银行卡，已备案",
            "shared": "同一代管人代管两户（低于阈值），均已备案",
            "guardian": "监护人持卡（非家庭成员），有有效代管备案",
        }
        self.custody_rows = []
        for j, (h, keeper, kind) in enumerate(plan):
            self.custodian[h] = keeper  # the main case of household h is case h
            if kind == "guardian":
                self.holder[h] = keeper
            account = self.hh_account[h]
            filed = min(c.decided[h] + np_days(rng.integers(0, 30)), self.as_of)
            valid_to = (NAT, self.as_of, self.as_of + np_days(365))[j % 3]
            self.custody_rows.append(
                {
                    "account_no": account,
                    "custodian": keeper,
                    "filed_date": filed,
                    "valid_to": valid_to,
                }
            )
            self.ctx.lookalike("custody_not_filed", notes[kind], account_no=account)
            if kind == "guardian":
                self.ctx.lookalike("payee_not_household", notes[kind], account_no=account)
            self.claim(np.array([h]))
        if len(rest) == 3:
            self.ctx.lookalike(
                "custodian_concentration", notes["shared"], id_number=self.outsider_id[0]
            )
