"""The clean demo district: households, staff, cases, accounts, payments and the optional
tables, built so that no check of the contract fires (shared semantics notes).

Legitimate look-alikes of defects are part of the base on purpose and recorded with
``ctx.lookalike``; their households and staff are claimed so that planters leave them alone.
Everything is drawn from ``ctx.rng`` in a fixed order and vectorised over households, persons
and rows; the only loops run over streets, templates, banks or a handful of look-alikes.

Planters use the helpers at the end of this module: ``plain_households`` for candidates,
``fresh_*`` for identifiers nobody else uses, ``district_size`` to scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from analytics import schema
from analytics.calendar import WorkdayCalendar
from analytics.generate import ids
from analytics.generate.core import PlantContext
from analytics.parse import address_column
from analytics.reference import load_catalogue, load_settings

STREETS = schema.STREETS
DISTRICT = schema.DISTRICT_OFFICE
N_STREETS = len(STREETS)
# Changning's street offices by size; another district's demo spreads households evenly.
_CHANGNING_WEIGHTS = (0.09, 0.06, 0.10, 0.09, 0.11, 0.12, 0.09, 0.05, 0.10, 0.19)
STREET_WEIGHTS = np.array(_CHANGNING_WEIGHTS if N_STREETS == len(_CHANGNING_WEIGHTS)
                          else [1.0] * N_STREETS)
FIRST_ACCEPTED = date(2023, 1, 1)
HOUSEHOLDS_PER_STAFF = 60
MIN_STAFF_PER_STREET = 6

# Household templates: roles of the members. A applicant (or the staff member), S spouse,
# C child, P elderly parent of A.
A, S, C, P = 0, 1, 2, 3
TEMPLATES = ((A,), (A, S), (A, C), (A, P), (A, S, C), (A, C, C), (A, S, P), (A, S, C, C),
             (A, S, C, P))
RECIPIENT_TEMPLATE_P = (0.30, 0.17, 0.08, 0.05, 0.17, 0.04, 0.04, 0.10, 0.05)
STAFF_TEMPLATE_P = (0.15, 0.20, 0.05, 0.05, 0.30, 0.00, 0.05, 0.10, 0.10)

MAIN_TYPES = ("最低生活保障", "重残无业", "低保边缘", "特困人员", "刚性支出困难", "困境儿童",
              "临时救助", "小金额救助")
MAIN_TYPE_P = (0.55, 0.10, 0.10, 0.07, 0.06, 0.05, 0.04, 0.03)
# Monthly amount in yuan: low, high, rounding step, times household size
AMOUNTS = {
    "最低生活保障": (500, 1550, 10, True),
    "重残无业": (1300, 1600, 10, False),
    "低保边缘": (300, 900, 10, False),
    "特困人员": (2300, 2700, 10, False),
    "刚性支出困难": (500, 2500, 10, False),
    "困境儿童": (1800, 2400, 10, False),
    "临时救助": (1000, 8000, 100, False),
    "小金额救助": (100, 450, 10, False),
}
ONE_OFF = "临时救助"
SMALL = "小金额救助"
SERVICE_ITEM = "服务类救助"
STATUSES = ("在册", "终止", "未通过", "申请中")
STATUS_P = (0.78, 0.10, 0.06, 0.06)
SECOND_CASE_SHARE = 0.08
BACK_PAY_SHARE = 0.015
RETURNED_SHARE = 0.004
SPECIAL_SHARE = 0.05
DIFFICULTY_P = (0.15, 0.35, 0.50)
STAFF_ROLE_EXTRA = ("救助顾问", "街镇经办", "居委干部", "街镇审核", "财务人员")
STAFF_ROLE_EXTRA_P = (0.35, 0.25, 0.25, 0.10, 0.05)
STAFF_ROLE_BASE = ("街镇经办", "救助顾问", "街镇审核", "居委干部", "财务人员", "街镇经办")
# Pay day of a month's batch, 1..15: most batches go out in the second week.
PAY_DAY_W = np.array([1, 1, 2, 4, 6, 8, 10, 12, 12, 12, 10, 8, 6, 4, 3], dtype=float)
SPRING_FESTIVAL_ACCEPTED = (date(2024, 2, 1), date(2025, 1, 20), date(2026, 2, 5))

PROVIDER_NAMES = ("长宁区{}居家养老服务中心", "上海{}社会工作服务社", "长宁区{}助餐服务点",
                  "上海{}康复护理服务中心", "长宁区{}社区助残服务社")
PROVIDER_SERVICES = ("居家照护", "助餐", "康复护理", "助浴", "精神慰藉")
EVENT_SOURCES = {"死亡": ("市公安局", "市卫生健康委"), "就业参保": ("市人社局",),
                 "刑事处罚": ("市司法局", "市公安局")}
TRAINING_TOPICS = ("社会救助政策解读", "低保审核确认业务培训", "廉政教育与近亲属备案",
                   "资金发放与财务管理", "救助顾问工作规范", "探访与动态管理",
                   "个人信息保护与数据安全")

NAT = np.datetime64("NaT", "D")


@dataclass(frozen=True)
class BaseParams:
    households: int = 3000
    seed: int = 7
    months: int = 6
    end_month: str = "2026-10"


# --- dates and months --------------------------------------------------------------------------

def period_months(end_month: str, n: int) -> list[str]:
    y, m = (int(x) for x in end_month.split("-"))
    ym = y * 12 + m - 1
    return [f"{k // 12:04d}-{k % 12 + 1:02d}" for k in range(ym - n + 1, ym + 1)]


def month_end(month: str) -> date:
    y, m = (int(x) for x in month.split("-"))
    return date(y + m // 12, m % 12 + 1, 1) - timedelta(days=1)


def _ym(d: np.ndarray) -> np.ndarray:
    """Month number (year * 12 + month - 1) of datetime64[D] values."""
    return d.astype("datetime64[M]").astype(np.int64) + 1970 * 12


def _ym_of(month: str) -> int:
    y, m = (int(x) for x in month.split("-"))
    return y * 12 + m - 1


def _month_text(ym: np.ndarray | pl.Series) -> pl.Series:
    ym = pl.Series(ym, dtype=pl.Int64)
    return ((ym // 12).cast(pl.String) + "-" + (ym % 12 + 1).cast(pl.String).str.zfill(2))


def _month_start(ym: np.ndarray) -> np.ndarray:
    return (np.asarray(ym) - 1970 * 12).astype("datetime64[M]").astype("datetime64[D]")


def _days(n) -> np.ndarray:
    return np.asarray(n, dtype=np.int64).astype("timedelta64[D]")


def _d(value: date) -> np.datetime64:
    return np.datetime64(value, "D")


def _uniform_dates(rng: np.random.Generator, lo, hi, n: int) -> np.ndarray:
    """Uniform dates in [lo, hi] (scalars or arrays of datetime64[D])."""
    span = (np.asarray(hi) - np.asarray(lo)).astype(np.int64) + 1
    return np.asarray(lo) + _days((rng.random(n) * np.maximum(span, 1)).astype(np.int64))


def _masked(values: np.ndarray, keep: np.ndarray) -> pl.Series:
    """Text values where keep, null elsewhere."""
    return pl.select(pl.when(pl.Series(keep)).then(pl.Series(values, dtype=pl.String)))\
        .to_series()


def _round_to(values: np.ndarray, step: int) -> np.ndarray:
    return (np.round(values / step) * step).astype(np.int64)


class _Cal:
    """Vectorised working-day arithmetic on numpy dates."""

    def __init__(self, cal: WorkdayCalendar):
        self.cal = cal
        self.end = _d(date(cal.years[-1], 12, 31))

    def nth(self, dates: np.ndarray, n: np.ndarray) -> np.ndarray:
        frame = pl.DataFrame({"d": pl.Series(dates, dtype=pl.Date),
                              "n": pl.Series(np.broadcast_to(n, len(dates)), dtype=pl.Int64)})
        return frame.select(self.cal.nth_workday_after("d", "n")).to_series().to_numpy()

    def ordinal(self, dates: np.ndarray) -> np.ndarray:
        frame = pl.DataFrame({"d": pl.Series(dates, dtype=pl.Date)})
        return frame.select(self.cal.workday_ordinal("d")).to_series().to_numpy()

    def on_or_before(self, dates: np.ndarray) -> np.ndarray:
        """The last working day on or before each date."""
        lo = dates - _days(20)
        return self.nth(lo, self.ordinal(dates) - self.ordinal(lo))

    def on_or_after(self, dates: np.ndarray) -> np.ndarray:
        return self.nth(dates - _days(1), np.ones(len(dates), dtype=np.int64))

    def in_month(self, dates: np.ndarray) -> np.ndarray:
        """A working day near each date in the same month: the one before, else the one after."""
        back = self.on_or_before(dates)
        same = back.astype("datetime64[M]") == dates.astype("datetime64[M]")
        return np.where(same, back, self.on_or_after(dates))

    def is_workday(self, dates: np.ndarray) -> np.ndarray:
        return self.ordinal(dates) - self.ordinal(dates - _days(1)) == 1

    def last_start(self, n: int) -> np.datetime64:
        """The latest date whose n-th working day after it is still in the calendar."""
        total = self.ordinal(np.array([self.end]))[0]
        days = self.end - _days(np.arange(0, 200))
        ok = self.ordinal(days) + n <= total
        return days[np.argmax(ok)]


# --- context -----------------------------------------------------------------------------------

def new_context(params: BaseParams) -> PlantContext:
    settings = load_settings()
    calendar = WorkdayCalendar.load()
    months = period_months(params.end_month, params.months)
    as_of = month_end(months[-1])
    if as_of.year not in calendar.years or _ym_of(months[0]) < FIRST_ACCEPTED.year * 12 + 6:
        raise ValueError(f"导出月份 {params.end_month} 超出工作日历覆盖的年份"
                         f"（{calendar.years[0]}—{calendar.years[-1]}）或早于 2023 年下半年，"
                         "无法生成演示数据。")
    if params.months < 2:
        raise ValueError("演示数据至少需要 2 个发放月份。")
    if params.households < 50:
        raise ValueError("演示街区至少需要 50 户救助家庭。")
    return PlantContext(tables={}, rng=np.random.default_rng(params.seed), settings=settings,
                        catalogue=load_catalogue(), calendar=calendar, months=months,
                        as_of=as_of)


def build_base(params: BaseParams, ctx: PlantContext | None = None) -> PlantContext:
    """Fill ``ctx`` (a new one by default) with the clean district; returns it."""
    ctx = ctx or new_context(params)
    _Builder(ctx, params.households).run()
    return ctx


def district_size(ctx: PlantContext) -> int:
    """Households with a case: the scale planters use for how many cases to plant."""
    return ctx.tables["cases"]["household_id"].n_unique()


# --- the builder -------------------------------------------------------------------------------

class _Builder:
    def __init__(self, ctx: PlantContext, households: int):
        self.ctx = ctx
        self.rng = ctx.rng
        self.H = households
        self.cal = _Cal(ctx.calendar)
        self.as_of = _d(ctx.as_of)
        self.ym0 = _ym_of(ctx.months[0])
        self.ym_end = _ym_of(ctx.months[-1])
        self.period_start = _month_start(np.array([self.ym0]))[0]
        self.cap = max(3, households // 1000)  # look-alikes recorded per kind
        self.lookalike_n = max(2, households // 1500)

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

    # -- households and staff plan --------------------------------------------------------------

    def households(self) -> None:
        rng, H = self.rng, self.H
        street = rng.choice(N_STREETS, size=H, p=STREET_WEIGHTS / STREET_WEIGHTS.sum())
        per_street = np.bincount(street, minlength=N_STREETS)
        roles, offices = [], []
        for s in range(N_STREETS):
            k = max(MIN_STAFF_PER_STREET, round(per_street[s] / HOUSEHOLDS_PER_STAFF))
            extra = rng.choice(len(STAFF_ROLE_EXTRA), size=k - len(STAFF_ROLE_BASE),
                               p=STAFF_ROLE_EXTRA_P)
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
            roles_2d[i, :len(t)] = t
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
        hi_d = (hi - 1970 + 1).astype("datetime64[Y]").astype("datetime64[D]") - _days(1)
        a_birth = _uniform_dates(rng, lo_d, hi_d, self.n_hh)
        year = 365
        anchor = a_birth[hh]
        latest = self.as_of - _days(400)
        # Ranges per role, drawn uniformly inside them (clipping would pile births on one day
        # and exhaust the ID sequence numbers of that day).
        lo = np.select([role == S, role == C, role == P],
                       [anchor - _days(6 * year), anchor + _days(18 * year),
                        np.maximum(anchor - _days(36 * year), _d(date(1925, 1, 1)))], anchor)
        hi = np.select([role == S, role == C, role == P],
                       [np.minimum(anchor + _days(6 * year), self.as_of - _days(18 * year + 10)),
                        np.minimum(anchor + _days(42 * year), latest),
                        anchor - _days(20 * year)], anchor)
        birth = _uniform_dates(rng, lo, np.maximum(hi, lo), n)
        self.p_birth = birth
        self.p_age = (self.as_of - birth).astype(np.int64) / 365.25

        a_male = rng.random(self.n_hh) < 0.5
        male = np.where(role == A, a_male[hh], np.where(role == S, ~a_male[hh],
                                                        rng.random(n) < 0.5))
        self.p_male = male
        local = self.hh_local[hh]
        region = np.where(
            local,
            np.where(rng.random(n) < 0.85, ids.CHANGNING,
                     rng.choice(ids.SHANGHAI_OTHER, n)),
            rng.choice(ids.ELSEWHERE, n))
        self.p_body = ids.id_bodies(rng, birth, region, male)
        self.p_id = ids.id_strings(self.p_body)

        hh_surname = ids.surnames(rng, self.n_hh)
        own = ids.surnames(rng, n)
        keep = (role == A) | (role == C) | ((role == P) & male & (rng.random(n) < 0.8))
        surname = pl.select(pl.when(pl.Series(keep)).then(hh_surname.gather(hh))
                            .otherwise(own)).to_series()
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
        self.staff_id = pl.select(pl.lit("YG") + pl.Series(np.arange(1, self.n_staff + 1))
                                  .cast(pl.String).str.zfill(6)).to_series()
        # Accounts for households, staff salaries and providers in one draw: all distinct.
        self.n_providers = min(40, max(3, self.H // 1500))
        keys, bank = ids.account_keys(rng, self.H + self.n_staff + self.n_providers)
        self.account_key, self.account_bank = keys, bank
        salary = ids.account_strings(keys[self.H:self.H + self.n_staff])
        self.tables_staff = pl.DataFrame({
            "staff_id": self.staff_id,
            "name": self.p_name.gather(pid),
            "id_number": self.p_id.gather(pid),
            "role": pl.Series(self.staff_role, dtype=pl.String),
            "street": pl.Series(self.staff_office, dtype=pl.String),
            "phone": self.p_phone.gather(pid),
            "address": self.hh_address.gather(staff_hh),
            "salary_account": salary,
        })
        # Case handling pools per street.
        street_of = np.array([STREETS.index(o) if o in STREETS else -1
                              for o in self.staff_office])
        self.pool_handler = [np.flatnonzero((street_of == s) & np.isin(
            self.staff_role, ["街镇经办", "救助顾问"])) for s in range(N_STREETS)]
        self.pool_reviewer = [np.flatnonzero((street_of == s) & (self.staff_role == "街镇审核"))
                              for s in range(N_STREETS)]
        self.pool_approver = np.flatnonzero(self.staff_role == "区级审批")
        self.staff_street_idx = street_of

    def _pick(self, pools: list[np.ndarray], street: np.ndarray) -> np.ndarray:
        counts = np.array([len(p) for p in pools])
        offsets = np.cumsum(np.r_[0, counts])[:-1]
        flat = np.concatenate(pools)
        return flat[offsets[street] + (self.rng.random(len(street)) * counts[street]).astype(int)]

    # -- cases ----------------------------------------------------------------------------------

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

        last20 = min(cal.last_start(20), self.as_of - _days(21))
        last45 = cal.last_start(45)
        # 申请中: accepted so recently that the deadline is not past on the as-of date.
        window = self.as_of - _days(np.arange(0, 90))
        window = window[window <= cal.last_start(20)]
        window = window[cal.nth(window, np.full(len(window), 20)) >= self.as_of]
        window = window[cal.is_workday(window)] if len(window) else window
        if not len(window):
            status = np.where(status == 3, 2, status)
        accepted = np.empty(H, dtype="datetime64[D]")
        first_day = _d(FIRST_ACCEPTED)
        sel = {k: status == k for k in range(4)}
        accepted[sel[0]] = _uniform_dates(rng, first_day, last20, sel[0].sum())
        accepted[sel[1]] = _uniform_dates(rng, first_day, self.period_start - _days(80),
                                          sel[1].sum())
        accepted[sel[2]] = _uniform_dates(rng, first_day, last20, sel[2].sum())
        accepted[sel[3]] = self.as_of
        accepted = cal.on_or_before(accepted)  # offices accept applications on working days
        if len(window):
            accepted[sel[3]] = window[rng.integers(0, len(window), sel[3].sum())]

        # Look-alike: approvals spanning the Spring Festival, decided on the 20th working day.
        festival = [d for d in SPRING_FESTIVAL_ACCEPTED if _d(d) <= self.as_of - _days(70)]
        fest_hh = np.flatnonzero(sel[0] & (kind == 0))[:len(festival)]
        accepted[fest_hh] = np.array([_d(d) for d in festival[:len(fest_hh)]])

        special = (rng.random(H) < SPECIAL_SHARE) & (accepted <= last45)
        special[fest_hh] = False
        deadline = np.where(special, 45, 20)
        k = rng.integers(3, deadline + 1)
        limit = np.where(sel[1], self.period_start - _days(10), self.as_of)
        avail = cal.ordinal(limit) - cal.ordinal(accepted)
        k = np.maximum(1, np.minimum(k, avail))
        k[fest_hh] = 20
        decided = cal.nth(accepted, k)
        decided = np.where(sel[3], NAT, decided)
        self.claim(fest_hh)

        term = np.full(H, NAT)
        term[sel[1]] = cal.in_month(_uniform_dates(rng, self.period_start, self.as_of,
                                                   sel[1].sum()))

        case = {
            "hh": hh, "kind": kind, "status": status, "accepted": accepted, "decided": decided,
            "special": special, "term": term, "second": np.zeros(H, dtype=bool),
        }

        # Second cases: a one-off 临时救助 or a monthly 小金额救助 for some active households.
        pick = np.flatnonzero(sel[0] & (rng.random(H) < SECOND_CASE_SHARE))
        pick = np.setdiff1d(pick, fest_hh)
        acc2 = decided[pick] + _days(rng.integers(15, 400, len(pick)))
        ok = acc2 <= last20
        pick, acc2 = pick[ok], cal.on_or_before(acc2[ok])
        small = kind[pick] != MAIN_TYPES.index(SMALL)
        small &= rng.random(len(pick)) < 0.4
        kind2 = np.where(small, MAIN_TYPES.index(SMALL), MAIN_TYPES.index(ONE_OFF))
        k2 = np.minimum(rng.integers(3, 21, len(pick)),
                        cal.ordinal(np.full(len(pick), self.as_of)) - cal.ordinal(acc2))
        dec2 = cal.nth(acc2, np.maximum(k2, 1))
        n2 = len(pick)
        second = {
            "hh": pick, "kind": kind2, "status": np.zeros(n2, dtype=np.int64), "accepted": acc2,
            "decided": dec2, "special": np.zeros(n2, dtype=bool), "term": np.full(n2, NAT),
            "second": np.ones(n2, dtype=bool),
        }
        c = {key: np.concatenate([case[key], second[key]]) for key in case}
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
            amt[m] = _round_to(val, step) * 100
        paying = c["status"] <= 1
        c["amount"] = np.where(paying, amt, -1)
        dec = c["decided"]
        day = (dec - dec.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64)
        # decided late in a month: paid from the next month's batch
        c["start"] = np.where(paying, _ym(np.where(paying, dec, self.as_of)) + (day >= 20), -1)
        diff = rng.choice(3, size=n, p=DIFFICULTY_P)
        c["difficulty"] = np.where(paying, diff, -1)
        street = self.hh_street[c["hh"]]
        c["street"] = street
        c["handler"] = self._pick(self.pool_handler, street)
        c["reviewer"] = np.where(c["status"] == 3, -1, self._pick(self.pool_reviewer, street))
        c["approver"] = np.where(
            c["status"] == 3, -1,
            self.pool_approver[rng.integers(0, len(self.pool_approver), n)])
        c["applicant"] = self.hh_first[c["hh"]]
        sc = np.array(schema.SPECIAL_CIRCUMSTANCES)
        c["special_text"] = _masked(sc[rng.integers(0, len(sc), n)], c["special"])

        # case_id by acceptance order: JZ + year + serial
        order = np.lexsort((c["second"], c["hh"], c["accepted"]))
        serial = np.empty(n, dtype=np.int64)
        serial[order] = np.arange(1, n + 1)
        year = c["accepted"].astype("datetime64[Y]").astype(np.int64) + 1970
        c["case_id"] = pl.select(pl.lit("JZ") + pl.Series(year).cast(pl.String)
                                 + pl.Series(serial).cast(pl.String).str.zfill(7)).to_series()
        self.c = c
        self.n_cases = n
        for h in fest_hh:
            self.ctx.lookalike("approval_overdue", "审批跨春节，恰在第20个工作日审批",
                               case_id=c["case_id"][int(h)])
        # catalogue item and fund code per case
        cat = self.ctx.catalogue
        items = dict(zip(cat["assistance_type"], cat["item"]))
        codes = dict(zip(cat["assistance_type"], cat["fund_code"]))
        self.type_item = np.array([items[t] for t in MAIN_TYPES])
        self.type_code = np.array([codes[t] for t in MAIN_TYPES])
        self.hh_single = np.bincount(c["hh"], minlength=self.n_hh) == 1

    def claim(self, households: np.ndarray) -> None:
        self.ctx.claimed_households.update(self.hh_id.gather(np.asarray(households)).to_list())

    def _claimed_mask(self) -> np.ndarray:
        claimed = pl.Series(sorted(self.ctx.claimed_households), dtype=pl.String)
        return self.hh_id.is_in(claimed.implode()).to_numpy()

    # -- accounts -------------------------------------------------------------------------------

    def accounts(self) -> None:
        c = self.c
        self.hh_account = ids.account_strings(self.account_key[:self.H])
        self.hh_bank = ids.bank_names(self.account_bank[:self.H])
        self.holder = c["applicant"].copy()
        self.custodian = np.full(self.n_cases, -1)  # person row, or -2 - outsider index
        # Look-alike: the two cases of one household share its account.
        two = self.second_hh[self.rng.permutation(len(self.second_hh))][:self.cap]
        for h in np.sort(two):
            self.ctx.lookalike("shared_account", "同一户的两个案件登记同一收款账户",
                               account_no=self.hh_account[int(h)])
        self.claim(two)

    # -- entitlements ---------------------------------------------------------------------------

    def entitlements(self) -> None:
        c, rng = self.c, self.rng
        paying = (c["status"] <= 1) & (c["start"] >= 0)
        last = np.where(c["status"] == 1, _ym(np.where(c["status"] == 1, c["term"],
                                                      self.as_of)), self.ym_end)
        first = np.maximum(c["start"], self.ym0)
        one_off = c["kind"] == MAIN_TYPES.index(ONE_OFF)
        last = np.where(one_off, c["start"], last)
        first = np.where(one_off, c["start"], first)
        ok = paying & (first <= last) & (first >= self.ym0) & (last <= self.ym_end)
        case_idx = np.flatnonzero(ok)
        frame = pl.DataFrame({"case": case_idx, "lo": first[ok], "hi": last[ok] + 1})
        rows = frame.with_columns(ym=pl.int_ranges("lo", "hi")).explode("ym")
        case = rows["case"].to_numpy()
        ym = rows["ym"].to_numpy()
        amount = c["amount"][case]
        kind = np.zeros(len(case), dtype=np.int64)  # 0 正常, 1 补发
        back_of = ym - 1

        # Back pay in a month's batch for an earlier month; half of the rows the same amount as
        # the regular row (a look-alike of a duplicate payment: two entitlements, two payments).
        claimed = self._claimed_mask()
        eligible = ~np.isin(c["kind"][case], [MAIN_TYPES.index(ONE_OFF), MAIN_TYPES.index(SMALL)])
        eligible &= ~claimed[c["hh"][case]]
        chosen = np.flatnonzero(eligible & (rng.random(len(case)) < BACK_PAY_SHARE))
        same = rng.random(len(chosen)) < 0.5
        part = _round_to(amount[chosen] * rng.uniform(0.2, 0.8, len(chosen)), 1000)
        back_amount = np.where(same, amount[chosen], np.maximum(part, 1000))
        self.back_same_rows = len(case) + np.flatnonzero(same)
        case = np.concatenate([case, case[chosen]])
        ym = np.concatenate([ym, ym[chosen]])
        amount = np.concatenate([amount, back_amount])
        kind = np.concatenate([kind, np.ones(len(chosen), dtype=np.int64)])
        back_of = np.concatenate([back_of, ym[chosen] - 1 - rng.integers(0, 3, len(chosen))])

        # Look-alike: 小金额救助金 adding up to exactly the cap in one month.
        small_rows = np.flatnonzero((c["kind"][case] == MAIN_TYPES.index(SMALL)) & (kind == 0)
                                    & (amount <= 40000) & ~claimed[c["hh"][case]])
        cap = self.ctx.settings.small_amount_cap_fen
        picked: list[int] = []
        seen: set[int] = set()
        for r in small_rows[rng.permutation(len(small_rows))]:
            h = int(c["hh"][case[r]])
            if h not in seen:
                seen.add(h)
                picked.append(int(r))
            if len(seen) >= self.lookalike_n:
                break
        r = np.array(picked, dtype=np.int64)
        self.small_lookalike = len(case) + np.arange(len(r))
        self.claim(c["hh"][case[r]])
        case = np.concatenate([case, case[r]])
        ym = np.concatenate([ym, ym[r]])
        amount = np.concatenate([amount, cap - amount[r]])
        kind = np.concatenate([kind, np.ones(len(r), dtype=np.int64)])
        back_of = np.concatenate([back_of, ym[r] - 1])
        self.e_case, self.e_ym, self.e_amount, self.e_kind = case, ym, amount, kind
        self.e_back_of = back_of

    # -- ledger ---------------------------------------------------------------------------------

    def ledger(self) -> None:
        c, rng, cal = self.c, self.rng, self.cal
        n = len(self.e_case)
        due = self.ctx.settings.payment_due_day
        # One batch per street and month, paid on one working day up to the due day.
        months = np.arange(self.ym0, self.ym_end + 1)
        n_batch = N_STREETS * len(months)
        batch_ym = np.tile(months, N_STREETS)
        batch_day = rng.choice(15, size=n_batch, p=PAY_DAY_W / PAY_DAY_W.sum()) + 1
        batch_date = cal.in_month(_month_start(batch_ym) + _days(batch_day - 1))
        batch_date = np.where(batch_date > _month_start(batch_ym) + _days(due - 1),
                              cal.on_or_before(_month_start(batch_ym) + _days(due - 1)),
                              batch_date)
        # Look-alike: one street's batch paid exactly on the due day, in the latest month whose
        # due day is a working day.
        due_dates = _month_start(months) + _days(due - 1)
        workday_due = np.flatnonzero(cal.is_workday(due_dates))
        on_due_batch = -1
        if len(workday_due):
            m = workday_due[-1]
            on_due_batch = int(rng.integers(0, N_STREETS)) * len(months) + m
            batch_date[on_due_batch] = due_dates[m]
        street = c["street"][self.e_case]
        hh = c["hh"][self.e_case]
        batch = street * len(months) + (self.e_ym - self.ym0)
        pay_date = batch_date[batch]
        claimed = self._claimed_mask()
        ok = (batch == on_due_batch) & (self.e_kind == 0) & self.hh_single[hh] & ~claimed[hh]
        ok &= ~np.isin(c["kind"][self.e_case], [MAIN_TYPES.index(ONE_OFF),
                                                 MAIN_TYPES.index(SMALL)])
        rows = np.flatnonzero(ok)
        on_due = np.sort(rng.choice(rows, size=min(self.lookalike_n, len(rows)), replace=False))
        self.claim(hh[on_due])
        claimed = self._claimed_mask()

        # Returned payments, repaid on a later working day up to the due day under a new serial.
        ret = np.flatnonzero(~claimed[hh] & (rng.random(n) < RETURNED_SHARE))
        repay = cal.nth(pay_date[ret], rng.integers(1, 3, len(ret)))
        keep = repay <= _month_start(self.e_ym[ret]) + _days(due - 1)
        ret, repay = ret[keep], repay[keep]
        status = np.zeros(n + len(ret), dtype=np.int64)  # 0 成功, 1 退票
        status[ret] = 1
        src = np.concatenate([np.arange(n), ret])
        pay_date = np.concatenate([pay_date, repay])
        l_ym = self.e_ym[src]
        e_case = self.e_case[src]
        m_item = self.type_item[c["kind"][e_case]]
        purpose_month = np.where(self.e_kind[src] == 1, self.e_back_of[src], l_ym)
        purpose = (pl.Series(np.where(self.e_kind[src] == 1, "补发", ""), dtype=pl.String)
                   + _month_text(purpose_month).str.replace("-", "年") + "月"
                   + pl.Series(m_item, dtype=pl.String))
        applicant = c["applicant"][e_case]
        frame = pl.DataFrame({
            "pay_date": pl.Series(pay_date, dtype=pl.Date),
            "street_idx": c["street"][e_case],
            "case_idx": e_case,
            "ym": l_ym,
            "fund_code": pl.Series(self.type_code[c["kind"][e_case]], dtype=pl.String),
            "item": pl.Series(m_item, dtype=pl.String),
            "case_id": c["case_id"].gather(e_case),
            "payee_id": self.p_id.gather(applicant),
            "payee_name": self.p_name.gather(applicant),
            "account_no": self.hh_account.gather(c["hh"][e_case]),
            "amount": self.e_amount[src],
            "status": pl.Series(np.array(schema.LEDGER_STATUSES)[status], dtype=pl.String),
            "purpose": purpose,
            "src": src,
        })
        frame = pl.concat([frame, self._provider_payments()], how="vertical")
        frame = frame.sort(["pay_date", "street_idx", "case_id", "status", "src"],
                           nulls_last=True, descending=[False, False, False, True, False])
        seq = pl.Series(np.arange(1, frame.height + 1)).cast(pl.String).str.zfill(8)
        frame = frame.with_columns(
            txn_id=pl.lit("LS") + pl.col("pay_date").dt.strftime("%Y%m%d") + seq,
            batch_id=pl.lit("PC") + _month_text(frame["ym"]).str.replace("-", "")
            + (pl.col("street_idx") + 1).cast(pl.String).str.zfill(2),
            month=_month_text(frame["ym"]),
            street=pl.Series(list(STREETS) + [DISTRICT], dtype=pl.String)
            .gather(pl.Series(frame["street_idx"]).replace(-1, N_STREETS)))
        self.ledger_frame = frame
        # Record look-alikes now that serial numbers exist.
        src_col = frame["src"].to_numpy()
        txn = frame["txn_id"]
        lookup = np.full(len(src), -1)
        first_rows = np.flatnonzero((src_col >= 0) & (frame["status"] == "成功").to_numpy())
        lookup_idx = src_col[first_rows]
        lookup[lookup_idx] = first_rows
        for r in on_due:
            self.ctx.lookalike("late_disbursement", "恰在每月发放截止日拨付",
                               txn_id=txn[int(lookup[r])], case_id=frame["case_id"][int(lookup[r])])
        for r in self.back_same_rows[:self.cap]:
            i = int(lookup[r])
            self.ctx.lookalike("duplicate_payment", "同月同额补发，应发两笔、实发两笔",
                               txn_id=txn[i], case_id=frame["case_id"][i],
                               month=frame["month"][i], item=frame["item"][i])
            self.claim(np.array([c["hh"][self.e_case[r]]]))
        for r in self.small_lookalike:
            i = int(lookup[r])
            self.ctx.lookalike("small_rescue_over_cap", "小金额救助金当月合计恰为500元",
                               id_number=frame["payee_id"][i], month=frame["month"][i])

    def _provider_payments(self) -> pl.DataFrame:
        rng = self.rng
        k = self.n_providers
        kinds = ["52" if i % 4 else "91" for i in range(k)]
        self.provider_uscc = ids.uscc_codes(rng, k, kinds)
        places = [self.hh_committee[int(i)].removesuffix("居委会")
                  for i in rng.integers(0, self.H, k)]
        self.provider_name = [PROVIDER_NAMES[i % len(PROVIDER_NAMES)].format(p) + (
            f"（{i // len(PROVIDER_NAMES) + 1}）" if i >= len(PROVIDER_NAMES) else "")
            for i, p in enumerate(places)]
        self.provider_account = ids.account_strings(self.account_key[self.H + self.n_staff:])
        code = dict(zip(self.ctx.catalogue["item"], self.ctx.catalogue["fund_code"]))[SERVICE_ITEM]
        months = np.arange(self.ym0, self.ym_end + 1)
        prov = np.repeat(np.arange(k), len(months))
        ym = np.tile(months, k)
        times = rng.integers(1, 3, len(prov))
        prov, ym = np.repeat(prov, times), np.repeat(ym, times)
        n = len(prov)
        street_idx = np.where(rng.random(n) < 0.3, -1, rng.integers(0, N_STREETS, n))
        day = rng.choice(15, size=n, p=PAY_DAY_W / PAY_DAY_W.sum()) + 1
        pay = self.cal.in_month(_month_start(ym) + _days(day - 1))
        pay = np.where(pay > _month_start(ym) + _days(self.ctx.settings.payment_due_day - 1),
                       self.cal.on_or_before(_month_start(ym) + _days(
                           self.ctx.settings.payment_due_day - 1)), pay)
        service = np.array(PROVIDER_SERVICES)[prov % len(PROVIDER_SERVICES)]
        return pl.DataFrame({
            "pay_date": pl.Series(pay, dtype=pl.Date),
            "street_idx": street_idx,
            "case_idx": np.full(n, -1),
            "ym": ym,
            "fund_code": pl.Series([code] * n, dtype=pl.String),
            "item": pl.Series([SERVICE_ITEM] * n, dtype=pl.String),
            "case_id": pl.Series([None] * n, dtype=pl.String),
            "payee_id": pl.Series(self.provider_uscc, dtype=pl.String).gather(prov),
            "payee_name": pl.Series(self.provider_name, dtype=pl.String).gather(prov),
            "account_no": self.provider_account.gather(prov),
            "amount": _round_to(rng.uniform(2000, 30000, n), 100) * 100,
            "status": pl.Series(["成功"] * n, dtype=pl.String),
            "purpose": _month_text(ym).str.replace("-", "年") + "月"
            + pl.Series(service, dtype=pl.String) + "服务费",
            "src": np.full(n, -1),
        })

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
        active[c["hh"][c["status"] == 0]] = True
        # The recipient household holds nobody else the staff member would be related to: no
        # children and no parents of the applicant.
        cand = np.flatnonzero(active & np.isin(self.hh_template, [0, 1]) & self.hh_single)
        movable = np.flatnonzero((self.staff_role != "区级审批") & (self.staff_street_idx >= 0))
        staff_hh = np.arange(self.H, self.n_hh)
        with_parent = np.isin(self.hh_template[staff_hh],
                              [i for i, t in enumerate(TEMPLATES) if P in t])
        self.filings: list[dict] = []
        extra_a, extra_b = [], []
        adult = _days(18 * 365)
        for variant in ("父母", "兄弟姐妹"):
            pool = movable[with_parent[movable] == (variant == "兄弟姐妹")]
            pool = pool[rng.permutation(len(pool))]
            want = self.lookalike_n
            for s in pool[:50 * want]:
                if want == 0:
                    break
                options = cand[(self.hh_street[cand] != self.staff_street_idx[s])
                               & ~claimed[cand]]
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
                    parent = int(np.flatnonzero((self.p_hh == self.H + s)
                                                & (self.p_role == P))[0])
                    if self.p_birth[x] < self.p_birth[parent] + adult:
                        continue
                    extra_a.append(parent)
                    extra_b.append(x)
                want -= 1
                claimed[h] = True
                self.claim(np.array([h]))
                sid = self.staff_id[int(s)]
                self.ctx.claimed_staff.add(sid)
                filed = min(c["decided"][h] + _days(rng.integers(1, 60)), self.as_of)
                self.filings.append({
                    "staff_id": sid, "relative_id_number": self.p_id[x],
                    "relative_name": self.p_name[x], "relation": variant,
                    "filed_date": filed.astype(date)})
                self.ctx.lookalike("relative_not_filed", f"工作人员的{variant}享受救助，已备案",
                                   staff_id=sid, id_number=self.p_id[x])
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
        cand = hh[self.hh_single[:self.H] & ~claimed[:self.H] & (c["status"][hh] == 0)]
        cand = cand[rng.permutation(len(cand))]
        adult_other = np.full(self.n_hh, -1)
        keeper = np.flatnonzero((self.p_age >= 18) & (self.p_role != A))
        adult_other[self.p_hh[keeper]] = keeper
        with_member = cand[adult_other[cand] >= 0][:self.lookalike_n]
        rest = np.setdiff1d(cand, with_member)
        rest = rest[rng.permutation(len(rest))][:3]
        # outsiders: 0 keeps two households' cards, 1 is a guardian holding an account
        n_out = 2
        birth = _uniform_dates(rng, _d(date(1960, 1, 1)), _d(date(1995, 12, 31)), n_out)
        self.outsider_body = ids.id_bodies(rng, birth, np.full(n_out, ids.CHANGNING),
                                           rng.random(n_out) < 0.5, taken=self.p_body)
        self.outsider_id = ids.id_strings(self.outsider_body)
        self.outsider_name = ids.surnames(rng, n_out) + ids.given_names(rng, rng.random(n_out) < .5)
        plan = [(int(h), int(adult_other[h]), "member") for h in with_member]
        if len(rest) == 3:
            plan += [(int(rest[0]), -2, "shared"), (int(rest[1]), -2, "shared"),
                     (int(rest[2]), -3, "guardian")]
        notes = {"member": "家庭成员代管银行卡，已备案",
                 "shared": "同一代管人代管两户（低于阈值），均已备案",
                 "guardian": "监护人持卡（非家庭成员），有有效代管备案"}
        self.custody_rows = []
        for j, (h, keeper, kind) in enumerate(plan):
            self.custodian[h] = keeper  # the main case of household h is case h
            if kind == "guardian":
                self.holder[h] = keeper
            account = self.hh_account[h]
            filed = min(c["decided"][h] + _days(rng.integers(0, 30)), self.as_of)
            valid_to = (NAT, self.as_of, self.as_of + _days(365))[j % 3]
            self.custody_rows.append({"account_no": account, "custodian": keeper,
                                      "filed_date": filed, "valid_to": valid_to})
            self.ctx.lookalike("custody_not_filed", notes[kind], account_no=account)
            if kind == "guardian":
                self.ctx.lookalike("payee_not_household", notes[kind], account_no=account)
            self.claim(np.array([h]))
        if len(rest) == 3:
            self.ctx.lookalike("custodian_concentration", notes["shared"],
                               id_number=self.outsider_id[0])

    def _main_case(self, households: np.ndarray) -> np.ndarray:
        """Main case of recipient households (case i is the main case of household i)."""
        return np.asarray(households)

    def _person_or_outsider(self, idx: np.ndarray, what: str) -> pl.Series:
        """Person rows (>= 0), outsiders (-2 - k) or nobody (-1) as ID numbers or names."""
        src = self.p_id if what == "id" else self.p_name
        out = self.outsider_id if what == "id" else self.outsider_name
        idx = np.asarray(idx, dtype=np.int64)
        vals = src.gather(np.maximum(idx, 0))
        o = np.where(idx <= -2, -2 - idx, 0)
        return pl.select(pl.when(pl.Series(idx == -1)).then(None)
                         .when(pl.Series(idx <= -2)).then(out.gather(o))
                         .otherwise(vals)).to_series()

    # -- events ---------------------------------------------------------------------------------

    def events(self) -> None:
        rng, c = self.rng, self.c
        as_of = self.as_of
        claimed = self._claimed_mask()
        rows: list[tuple[np.ndarray, str | np.ndarray, np.ndarray]] = []
        hh_status = np.full(self.n_hh, -1)
        hh_status[:self.H] = c["status"][:self.H]
        hh_decided = np.full(self.n_hh, NAT)
        hh_decided[:self.H] = c["decided"][:self.H]
        recipient = self.p_hh < self.H
        free = recipient & ~claimed[self.p_hh]

        # Deaths of members other than the applicant.
        pid = np.flatnonzero(free & (self.p_role != A) & (self.p_age >= 60)
                             & (rng.random(self.n_persons) < 0.03))
        rows.append((pid, "死亡", _uniform_dates(rng, _d(FIRST_ACCEPTED), as_of, len(pid))))

        # Deaths of applicants that ended their case: in the termination month, no later pay.
        term = np.flatnonzero((c["status"] == 1) & ~c["second"] & ~claimed[c["hh"]]
                              & (rng.random(self.n_cases) < 0.3))
        t = c["term"][term]
        back = t - _days(rng.integers(0, 16, len(term)))
        rows.append((c["applicant"][term], "死亡",
                     np.maximum(back, t.astype("datetime64[M]").astype("datetime64[D]"))))

        # Employment and criminal records: members of households without an active case, and
        # members of active households before the decision.
        kinds = np.where(rng.random(self.n_persons) < 0.8, "就业参保", "刑事处罚")
        pid = np.flatnonzero(free & (hh_status[self.p_hh] >= 1) & (self.p_age >= 18)
                             & (rng.random(self.n_persons) < 0.05))
        rows.append((pid, kinds[pid], _uniform_dates(rng, _d(FIRST_ACCEPTED), as_of, len(pid))))
        pid = np.flatnonzero(free & (hh_status[self.p_hh] == 0) & (self.p_age >= 18)
                             & (rng.random(self.n_persons) < 0.01))
        rows.append((pid, kinds[pid],
                     hh_decided[self.p_hh[pid]] - _days(rng.integers(1, 700, len(pid)))))
        has_event = np.zeros(self.n_hh, dtype=bool)
        for pid, _, _ in rows:
            has_event[self.p_hh[pid]] = True

        # Look-alikes: a record dated on the decision day itself; a death within the grace days.
        for kind, check in (("就业参保", "employment_found"),
                            ("刑事处罚", "criminal_sanction_found")):
            h = self._plain_active(self._claimed_mask() | has_event, self.lookalike_n)
            last_adult = np.zeros(self.n_hh, dtype=np.int64)
            adults = np.flatnonzero(np.isin(self.p_hh, h) & (self.p_age >= 18))
            last_adult[self.p_hh[adults]] = adults  # later rows overwrite: the last adult
            rows.append((last_adult[h], kind, c["decided"][h]))
            for cs in h:
                self.ctx.lookalike(check, f"{kind}信息日期与审批日期同日",
                                   case_id=c["case_id"][int(cs)])
            has_event[h] = True
            self.claim(h)
        grace = self.ctx.settings.death_grace_days
        day = int((as_of - as_of.astype("datetime64[M]").astype("datetime64[D]")).astype(int))
        h = self._plain_active(self._claimed_mask() | has_event, max(1, self.lookalike_n // 2))
        back = rng.integers(1, max(2, min(grace, day + 1)), len(h))
        rows.append((c["applicant"][h], "死亡", as_of - _days(back)))
        for cs in h:
            self.ctx.lookalike("deceased_still_active", "申请人死亡未满宽限期",
                               case_id=c["case_id"][int(cs)])
        self.claim(h)

        pid = np.concatenate([r[0] for r in rows])
        etype = np.concatenate([np.broadcast_to(np.asarray(r[1]), len(r[0])) for r in rows])
        edate = np.concatenate([r[2] for r in rows])
        first = {k: v[0] for k, v in EVENT_SOURCES.items()}
        last = {k: v[-1] for k, v in EVENT_SOURCES.items()}
        etype_s = pl.Series(etype, dtype=pl.String)
        source = pl.select(pl.when(pl.Series(rng.random(len(pid)) < 0.5))
                           .then(etype_s.replace_strict(first))
                           .otherwise(etype_s.replace_strict(last))).to_series()
        self.events_frame = pl.DataFrame({
            "id_number": self.p_id.gather(pid),
            "event_type": etype_s,
            "event_date": pl.Series(edate, dtype=pl.Date),
            "source": source,
        }).unique(subset=["id_number", "event_type"], keep="first", maintain_order=True)

    def _plain_active(self, claimed: np.ndarray, k: int) -> np.ndarray:
        """k single-case active recipient households not claimed (regular monthly items)."""
        c = self.c
        hh = np.arange(self.H)
        ok = self.hh_single[:self.H] & ~claimed[:self.H] & (c["status"][hh] == 0)
        ok &= ~np.isin(c["kind"][hh], [MAIN_TYPES.index(ONE_OFF), MAIN_TYPES.index(SMALL)])
        rows = np.flatnonzero(ok)
        return np.sort(self.rng.choice(rows, size=min(k, len(rows)), replace=False))

    # -- visits ---------------------------------------------------------------------------------

    def visits(self) -> None:
        rng, c = self.rng, self.c
        cycles = self.ctx.settings.visit_cycle_months
        months = np.array([cycles[d] for d in schema.DIFFICULTIES])
        cycle = np.where(c["difficulty"] >= 0, months[np.maximum(c["difficulty"], 0)],
                         cycles["低"])
        active = np.flatnonzero(c["status"] == 0)
        # Last visit within the cycle: at most 28 days per cycle month back (so last + cycle
        # months is on or after the as-of date), never before the decision.
        lo = np.maximum(c["decided"][active], self.as_of - _days(28 * cycle[active]))
        last = _uniform_dates(rng, lo, self.as_of, len(active))
        # Look-alike: last visit exactly one cycle before the as-of date, where the calendar
        # allows it (Oct 31 minus one month plus one month is Oct 30, not Oct 31).
        edge_back = {m: _add_months(self.ctx.as_of, -m) for m in set(months.tolist())}
        exact = {m: d for m, d in edge_back.items() if _add_months(d, m) == self.ctx.as_of}
        claimed = self._claimed_mask()
        ok = self.hh_single[c["hh"][active]] & ~claimed[c["hh"][active]]
        ok &= c["kind"][active] != MAIN_TYPES.index(ONE_OFF)
        back_by_cycle = np.full(max(months) + 1, NAT)
        for m, d in exact.items():
            back_by_cycle[m] = _d(d)
        back = back_by_cycle[cycle[active]]
        ok &= ~np.isnat(back)
        ok &= np.where(np.isnat(back), False, back >= c["decided"][active])
        pos = np.flatnonzero(ok)
        pos = np.sort(rng.choice(pos, size=min(self.lookalike_n, len(pos)), replace=False))
        last[pos] = back[pos]
        for cs in active[pos]:
            self.ctx.lookalike("visit_overdue", "上次探访加探访周期恰为截止日",
                               case_id=c["case_id"][int(cs)])
        self.claim(c["hh"][active[pos]])
        # up to two earlier visits, a cycle apart, not before the decision
        k = rng.integers(0, 3, len(active))
        k[pos] = 0
        rep = np.repeat(np.arange(len(active)), k)
        step = np.arange(len(rep)) - np.repeat(np.cumsum(k) - k, k) + 1
        earlier = last[rep] - _days(step * 30 * cycle[active][rep])
        keep = earlier >= c["decided"][active][rep]
        case = np.concatenate([active, active[rep][keep]])
        vdate = np.concatenate([last, earlier[keep]])
        # terminated cases: a visit before the termination
        ended = np.flatnonzero((c["status"] == 1) & (rng.random(self.n_cases) < 0.7))
        vend = _uniform_dates(rng, c["decided"][ended], c["term"][ended], len(ended))
        case = np.concatenate([case, ended])
        vdate = np.concatenate([vdate, vend])
        mode = np.array(schema.VISIT_MODES)[rng.choice(3, size=len(case), p=[0.6, 0.3, 0.1])]
        self.visits_frame = pl.DataFrame({
            "case_id": c["case_id"].gather(case),
            "visit_date": pl.Series(vdate, dtype=pl.Date),
            "staff_id": self.staff_id.gather(c["handler"][case]),
            "mode": pl.Series(mode, dtype=pl.String),
        }).unique(subset=["case_id", "visit_date"], keep="first", maintain_order=True)

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
                    rows.append({"street": u, "date": lo + timedelta(days=int(d)),
                                 "topic": topic, "participants": int(rng.integers(8, 61))})
        frame = pl.DataFrame(rows, schema={"street": pl.String, "date": pl.Date,
                                           "topic": pl.String, "participants": pl.Int64})
        dates = self.cal.on_or_before(frame["date"].to_numpy())
        self.trainings_frame = frame.with_columns(date=pl.Series(dates, dtype=pl.Date))

    # -- dishonesty -----------------------------------------------------------------------------

    def dishonesty(self) -> None:
        rng, c = self.rng, self.c
        n = max(5, self.H // 100)
        birth = _uniform_dates(rng, _d(date(1955, 1, 1)), _d(date(1998, 12, 31)), n)
        male = rng.random(n) < 0.6
        taken = np.concatenate([self.p_body, self.outsider_body])
        body = ids.id_bodies(rng, birth, np.where(rng.random(n) < 0.7, ids.CHANGNING,
                                                  rng.choice(ids.ELSEWHERE, n)), male, taken)
        start = _uniform_dates(rng, _d(date(2019, 1, 1)), self.as_of, n)
        end = start + _days(rng.integers(365, 3 * 365, n))
        frames = [pl.DataFrame({
            "id_number": ids.id_strings(body),
            "name": ids.surnames(rng, n) + ids.given_names(rng, male),
            "start_date": pl.Series(start, dtype=pl.Date),
            "end_date": pl.Series(end, dtype=pl.Date),
        })]
        claimed = self._claimed_mask()
        h = self._plain_active(claimed, self.lookalike_n)
        case = self._main_case(h)
        member = c["applicant"][case]
        dec = c["decided"][case]
        before = np.arange(len(h)) % 2 == 0
        s = np.where(before, dec - _days(rng.integers(365, 1000, len(h))), dec + _days(1))
        e = np.where(before, dec - _days(1), dec + _days(rng.integers(365, 1000, len(h))))
        frames.append(pl.DataFrame({
            "id_number": self.p_id.gather(member), "name": self.p_name.gather(member),
            "start_date": pl.Series(s, dtype=pl.Date), "end_date": pl.Series(e, dtype=pl.Date)}))
        for cs, b in zip(case, before):
            note = "失信期截止于审批日前一天" if b else "失信期始于审批日次日"
            self.ctx.lookalike("blacklisted_recipient", note, case_id=c["case_id"][int(cs)])
        self.claim(h)
        self.dishonesty_frame = pl.concat(frames)

    # -- tables ---------------------------------------------------------------------------------

    def finish(self) -> None:
        c = self.c
        t: dict[str, pl.DataFrame] = {}
        t["staff"] = self.tables_staff
        order = np.lexsort((self.p_role, self.p_hh))
        t["persons"] = pl.DataFrame({
            "id_number": self.p_id,
            "name": self.p_name,
            "household_id": self.hh_id.gather(self.p_hh),
            "street": pl.Series(np.array(STREETS)[self.hh_street[self.p_hh]], dtype=pl.String),
            "committee": self.hh_committee.gather(self.p_hh),
            "address": self.hh_address.gather(self.p_hh),
            "phone": self.p_phone,
            "hukou": pl.Series(np.where(self.hh_local[self.p_hh], "本市", "非本市"),
                               dtype=pl.String),
            "_hh": self.hh_id.gather(self.p_hh), "_order": np.argsort(order),
        }).sort(["_hh", "_order"]).drop("_hh", "_order")
        types = np.array(MAIN_TYPES)
        amount = pl.Series(np.where(c["amount"] >= 0, c["amount"], 0))
        t["cases"] = pl.DataFrame({
            "case_id": c["case_id"],
            "household_id": self.hh_id.gather(c["hh"]),
            "applicant_id_number": self.p_id.gather(c["applicant"]),
            "street": pl.Series(np.array(STREETS)[c["street"]], dtype=pl.String),
            "assistance_type": pl.Series(types[c["kind"]], dtype=pl.String),
            "status": pl.Series(np.array(STATUSES)[c["status"]], dtype=pl.String),
            "accepted_date": pl.Series(c["accepted"], dtype=pl.Date),
            "decided_date": pl.Series(c["decided"], dtype=pl.Date),
            "special_circumstance": c["special_text"],
            "monthly_amount": pl.select(pl.when(pl.Series(c["amount"] >= 0)).then(amount))
            .to_series(),
            "start_month": pl.select(pl.when(pl.Series(c["start"] >= 0))
                                     .then(_month_text(c["start"]))).to_series(),
            "termination_date": pl.Series(c["term"], dtype=pl.Date),
            "difficulty": _masked(np.array(schema.DIFFICULTIES)[np.maximum(c["difficulty"], 0)],
                                  c["difficulty"] >= 0),
            "handler_id": self.staff_id.gather(c["handler"]),
            "reviewer_id": self._staff_or_null(c["reviewer"]),
            "approver_id": self._staff_or_null(c["approver"]),
        }).sort("case_id")
        t["accounts"] = pl.DataFrame({
            "case_id": c["case_id"],
            "account_no": self.hh_account.gather(c["hh"]),
            "bank": self.hh_bank.gather(c["hh"]),
            "holder_id_number": self._person_or_outsider(self.holder, "id"),
            "holder_name": self._person_or_outsider(self.holder, "name"),
            "custodian_id_number": self._person_or_outsider(self.custodian, "id"),
            "custodian_name": self._person_or_outsider(self.custodian, "name"),
        }).sort("case_id")
        e_case = self.e_case
        t["entitlements"] = pl.DataFrame({
            "month": _month_text(self.e_ym),
            "case_id": c["case_id"].gather(e_case),
            "id_number": self.p_id.gather(c["applicant"][e_case]),
            "item": pl.Series(self.type_item[c["kind"][e_case]], dtype=pl.String),
            "kind": pl.Series(np.array(schema.ENTITLEMENT_KINDS)[self.e_kind], dtype=pl.String),
            "amount": self.e_amount,
            "account_no": self.hh_account.gather(c["hh"][e_case]),
        }).sort(["month", "case_id", "kind"])
        t["ledger"] = self.ledger_frame.select(schema.TABLES["ledger"].column_names) \
            .sort("txn_id")
        t["providers"] = pl.DataFrame({
            "uscc": self.provider_uscc, "name": self.provider_name,
            "items": [SERVICE_ITEM] * len(self.provider_uscc)}).sort("uscc")
        t["relations"] = pl.DataFrame({
            "id_number_a": self.p_id.gather(self.rel_a),
            "id_number_b": self.p_id.gather(self.rel_b),
            "relation": pl.Series(self.rel_kind, dtype=pl.String)})
        t["relative_filings"] = pl.DataFrame(
            self.filings, schema={"staff_id": pl.String, "relative_id_number": pl.String,
                                  "relative_name": pl.String, "relation": pl.String,
                                  "filed_date": pl.Date})
        cf = self.custody_rows
        t["custody_filings"] = pl.DataFrame({
            "account_no": pl.Series([f["account_no"] for f in cf], dtype=pl.String),
            "custodian_id_number": self._person_or_outsider(
                np.array([f["custodian"] for f in cf], dtype=np.int64), "id"),
            "filed_date": pl.Series(np.array([f["filed_date"] for f in cf],
                                             dtype="datetime64[D]"), dtype=pl.Date),
            "valid_to": pl.Series(np.array([f["valid_to"] if f["valid_to"] is not None else NAT
                                            for f in cf], dtype="datetime64[D]"), dtype=pl.Date),
        })
        t["events"] = self.events_frame
        t["visits"] = self.visits_frame
        t["trainings"] = self.trainings_frame
        t["dishonesty"] = self.dishonesty_frame
        self.ctx.tables = {name: conform(name, frame) for name, frame in t.items()}

    def _staff_or_null(self, idx: np.ndarray) -> pl.Series:
        vals = self.staff_id.gather(np.maximum(idx, 0))
        return pl.select(pl.when(pl.Series(idx >= 0)).then(vals)).to_series()


def _add_months(d: date, n: int) -> date:
    """Calendar months added, the day clamped to the month's end."""
    ym = d.year * 12 + d.month - 1 + n
    y, m = ym // 12, ym % 12 + 1
    last = month_end(f"{y:04d}-{m:02d}").day
    return date(y, m, min(d.day, last))


SORT_KEYS: dict[str, tuple[str, ...]] = {
    "staff": ("staff_id",),
    "persons": ("household_id", "id_number"),
    "cases": ("case_id",),
    "accounts": ("case_id",),
    "entitlements": ("month", "case_id", "kind", "item", "amount"),
    "ledger": ("txn_id",),
    "providers": ("uscc",),
    "relations": ("id_number_a", "id_number_b", "relation"),
    "relative_filings": ("staff_id", "relative_id_number"),
    "custody_filings": ("account_no", "custodian_id_number", "filed_date"),
    "events": ("event_date", "id_number", "event_type"),
    "visits": ("case_id", "visit_date"),
    "trainings": ("street", "date"),
    "dishonesty": ("start_date", "id_number"),
}


def conform(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The frame in its contract schema (columns, order, types), normalised address twins
    recomputed from the address as the reader computes them."""
    target = schema.polars_schema(name)
    cols = []
    for col, dtype in target.items():
        if col.endswith("_norm") and col.removesuffix("_norm") in frame.columns:
            continue
        cols.append(pl.col(col).cast(dtype) if col in frame.columns
                    else pl.lit(None, dtype=dtype).alias(col))
    out = frame.select(cols)
    for col in schema.TABLES[name].columns:
        if col.type == "address":
            norm, _ = address_column(out[col.name])
            out = out.with_columns(norm.alias(f"{col.name}_norm"))
    return out.select(list(target))


# --- helpers for planters ----------------------------------------------------------------------

def plain_households(ctx: PlantContext) -> pl.DataFrame:
    """Unclaimed households with exactly one active case of a regular monthly item that was paid
    every month of the period exactly once, to its registered account held by the applicant,
    with no back pay, returned payment, custodian, event, filing or dishonesty record. Sorted by
    case_id; sample from it with ctx.rng.

    Columns: household_id, case_id, street, applicant_id_number, account_no, assistance_type,
    item, fund_code, monthly_amount (fen), decided_date, difficulty, handler_id, reviewer_id,
    approver_id.
    """
    t = ctx.tables
    cases = t["cases"]
    per_hh = cases.group_by("household_id").len()
    single = per_hh.filter(pl.col("len") == 1)["household_id"]
    ent = t["entitlements"]
    led = t["ledger"]
    n_months = len(ctx.months)
    ent_ok = (ent.group_by("case_id").agg(
        n=pl.len(), normal=(pl.col("kind") == "正常").all(), months=pl.col("month").n_unique())
        .filter((pl.col("n") == n_months) & pl.col("normal") & (pl.col("months") == n_months))
        ["case_id"])
    led_cases = led.filter(pl.col("case_id").is_not_null())
    led_ok = (led_cases.group_by("case_id").agg(
        n=pl.len(), ok=(pl.col("status") == "成功").all(), months=pl.col("month").n_unique())
        .filter((pl.col("n") == n_months) & pl.col("ok") & (pl.col("months") == n_months))
        ["case_id"])
    persons = t["persons"]
    flagged_ids = pl.concat([
        t[name][col] for name, col in (("events", "id_number"), ("dishonesty", "id_number"),
                                       ("relative_filings", "relative_id_number"))
        if name in t])
    flagged_hh = persons.filter(pl.col("id_number").is_in(flagged_ids.implode()))["household_id"]
    staff_ids = t["staff"]["id_number"]
    staff_hh = persons.filter(pl.col("id_number").is_in(staff_ids.implode()))["household_id"]
    excluded = (list(ctx.claimed_households) + flagged_hh.to_list() + staff_hh.to_list())
    cat = ctx.catalogue.select("assistance_type", "item", "fund_code")
    acc = t["accounts"].select("case_id", "account_no", "holder_id_number",
                               "custodian_id_number")
    shared_acc = acc.group_by("account_no").len().filter(pl.col("len") > 1)["account_no"]
    return (cases
            .filter(pl.col("status") == "在册", pl.col("household_id").is_in(single.implode()),
                    ~pl.col("household_id").is_in(pl.Series(excluded, dtype=pl.String)
                                                  .implode()),
                    pl.col("case_id").is_in(ent_ok.implode()),
                    pl.col("case_id").is_in(led_ok.implode()),
                    ~pl.col("assistance_type").is_in([ONE_OFF, SMALL]))
            .join(cat, on="assistance_type", how="inner", validate="m:1")
            .join(acc, on="case_id", how="inner", validate="1:1")
            .filter(pl.col("holder_id_number") == pl.col("applicant_id_number"),
                    pl.col("custodian_id_number").is_null(),
                    ~pl.col("account_no").is_in(shared_acc.implode()))
            .select("household_id", "case_id", "street", "applicant_id_number", "account_no",
                    "assistance_type", "item", "fund_code", "monthly_amount", "decided_date",
                    "difficulty", "handler_id", "reviewer_id", "approver_id")
            .sort("case_id"))


_PLANTED_TXN_BASE = 90_000_000


def fresh_txn_id(ctx: PlantContext, pay_date: date) -> str:
    """A new serial number of the pay date that sorts after every base serial of that day."""
    serial = int(ctx.serial(""))
    return f"LS{pay_date:%Y%m%d}{_PLANTED_TXN_BASE + serial:08d}"


def batch_id(month: str, street: str) -> str:
    code = STREETS.index(street) + 1 if street in STREETS else 0
    return f"PC{month.replace('-', '')}{code:02d}"


def _used_accounts(ctx: PlantContext) -> np.ndarray:
    t = ctx.tables
    parts = [t["accounts"]["account_no"], t["ledger"]["account_no"],
             t["entitlements"]["account_no"], t["staff"]["salary_account"]]
    if "custody_filings" in t:
        parts.append(t["custody_filings"]["account_no"])
    return ids.account_keys_of(pl.concat([p.cast(pl.String) for p in parts]))


def fresh_accounts(ctx: PlantContext, n: int) -> list[tuple[str, str]]:
    """n (account_no, bank) pairs used nowhere in the tables."""
    keys, bank = ids.account_keys(ctx.rng, n, taken=_used_accounts(ctx))
    return list(zip(ids.account_strings(keys).to_list(), ids.bank_names(bank).to_list()))


def _used_ids(ctx: PlantContext) -> np.ndarray:
    t = ctx.tables
    parts = []
    for table, frame in t.items():
        for col in schema.TABLES[table].columns:
            if col.type in ("id18", "payee") and col.name in frame.columns:
                parts.append(frame[col.name])
    return ids.id_body_keys(pl.concat(parts))


def fresh_person_ids(ctx: PlantContext, n: int, born: tuple[int, int] = (1955, 1995),
                     male: bool | None = None) -> list[str]:
    """n resident ID numbers (Changning) that appear nowhere in the tables."""
    rng = ctx.rng
    birth = _uniform_dates(rng, _d(date(born[0], 1, 1)), _d(date(born[1], 12, 31)), n)
    sex = rng.random(n) < 0.5 if male is None else np.full(n, male)
    body = ids.id_bodies(rng, birth, np.full(n, ids.CHANGNING), sex, taken=_used_ids(ctx))
    return ids.id_strings(body).to_list()


def fresh_names(ctx: PlantContext, n: int) -> list[str]:
    rng = ctx.rng
    return (ids.surnames(rng, n) + ids.given_names(rng, rng.random(n) < 0.5)).to_list()


def fresh_phones(ctx: PlantContext, n: int) -> list[str]:
    """n mobile numbers nobody in persons or staff has."""
    t = ctx.tables
    used = ids.phone_keys_of(pl.concat([t["persons"]["phone"], t["staff"]["phone"]]))
    return ids.phone_strings(ids.phone_keys(ctx.rng, n, 0.0, taken=used)).to_list()


def fresh_addresses(ctx: PlantContext, street: str, n: int) -> list[str]:
    """n addresses in the street whose normalised form nobody in persons or staff has."""
    t = ctx.tables
    used = set(pl.concat([t["persons"]["address_norm"], t["staff"]["address_norm"]])
               .drop_nulls().to_list())
    out: list[str] = []
    while len(out) < n:
        keys = ids.address_keys(ctx.rng, np.full(n, STREETS.index(street)))
        cand = ids.address_strings(ctx.rng, keys)
        norm, _ = address_column(cand)
        for a, k in zip(cand.to_list(), norm.to_list()):
            if k not in used and len(out) < n:
                used.add(k)
                out.append(a)
    return out
