"""A vectorised synthetic district for the funds benchmark: contract-shaped tables of any size.

The project's generator (analytics.generate) plants every defect with its truth and is meant for
demos and acceptance tests; this builder only has to give the funds checks realistic volume and
a few percent of defects of every funds kind, fast enough for a million households. It plants no
truth: the benchmark's correctness test compares the three implementations with each other.

One case per household; six monthly batches; about six entitlement and six ledger rows per
household. :func:`build_tables` returns typed frames (analytics.schema.polars_schema);
:func:`write_drop` writes them as a parquet drop with every value as text in the contract's
formats (ISO dates, ``YYYY-MM`` months, yuan with two decimals), as an export would carry them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
from stdnum.cn import uscc

from analytics.schema import STREETS, polars_schema

MONTHS = ("2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03")
FIRST_DAY = date(2025, 10, 1)

# assistance_type -> (share of cases, monthly amounts in fen)
MAIN_TYPES = {
    "最低生活保障": (0.50, (155000, 186000, 232500)),
    "特困人员": (0.08, (240000, 280000)),
    "重残无业": (0.10, (155000, 170000)),
    "低保边缘": (0.15, (77500, 93000)),
    "刚性支出困难": (0.12, (60000, 120000)),
    "困境儿童": (0.05, (210000,)),
}
TYPE_ITEM = {
    "最低生活保障": "低保金",
    "特困人员": "特困供养金",
    "重残无业": "重残无业补助",
    "低保边缘": "低保边缘专项救助",
    "刚性支出困难": "刚性支出生活救助",
    "困境儿童": "困境儿童基本生活费",
}
ITEM_FUND = {
    "低保金": "JZ01",
    "特困供养金": "JZ02",
    "重残无业补助": "JZ03",
    "低保边缘专项救助": "JZ04",
    "刚性支出生活救助": "JZ05",
    "困境儿童基本生活费": "JZ06",
    "临时救助金": "JZ07",
    "小金额救助金": "JZ08",
    "服务类救助": "JZ09",
}
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "桂英",
    "建华",
    "玉兰",
    "志强",
    "海燕",
    "文博",
]
REGIONS = (310101, 310104, 310105, 310106, 310107, 310109, 310110, 310112, 310113, 310115)
_ID_WEIGHTS = np.array((7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), dtype=np.int64)
_ID_CHECK = np.array(list("10X98765432"))

# Defect rates, per ledger row unless said otherwise.
RATES = dict(
    unpaid=0.004,  # entitlement with no paid row (half of them with a 退票 row)
    amount=0.003,  # paid amount differs
    duplicate=0.002,  # the same payment twice
    late=0.01,  # paid after the due day
    wrong_account=0.002,  # paid to an account that is not the registered one
    wrong_fund=0.001,  # paid under another item's fund code
    other_street=0.001,  # booked under another street
    no_entitlement=0.001,  # an extra payment under an item the case is not entitled to
    no_account=0.002,  # per case: no registered account
    paid_on=0.1,  # per terminated case: paid one month after termination
    back_paid_on=0.5,  # of those: the main item that month is back pay only (补发)
    back_paid_off=0.25,  # of those: the back pay is paid with another amount
    unentitled_on=0.25,  # of the others paid on: no entitlement row that month
    death=0.003,  # per active case: the applicant dies, payments go on
)


def _ids(index: np.ndarray, rng: np.random.Generator) -> pl.Series:
    """Distinct valid 18-character ID numbers, one per index (< 25 million)."""
    perm = (index.astype(np.int64) * 7919) % 25_000_000
    birth = np.datetime64("1935-01-01") + (perm % 25_000).astype("timedelta64[D]")
    seq = perm // 25_000
    region = np.asarray(REGIONS, dtype=np.int64)[rng.integers(0, len(REGIONS), len(index))]
    ymd = birth.astype("datetime64[D]").astype(str).astype("U10")
    ymd_num = np.char.replace(ymd, "-", "").astype(np.int64)
    body = region * 10**11 + ymd_num * 10**3 + seq
    digits = np.stack([(body // 10**k) % 10 for k in range(16, -1, -1)], axis=1)
    check = _ID_CHECK[(digits @ _ID_WEIGHTS) % 11]
    return (pl.Series(body).cast(pl.String).str.zfill(17) + pl.Series(check)).alias("id")


def _digits(values: np.ndarray, width: int) -> pl.Series:
    return pl.Series(values.astype(np.int64)).cast(pl.String).str.zfill(width)


def _accounts(index: np.ndarray, prefix: str) -> pl.Series:
    return prefix + _digits((index.astype(np.int64) * 1_000_003 + 12_345) % 10**15, 15)


def _pick(rng: np.random.Generator, choices, n: int, p=None) -> np.ndarray:
    return np.asarray(choices, dtype=object)[rng.choice(len(choices), n, p=p)]


def _names(rng: np.random.Generator, n: int) -> pl.Series:
    surname = pl.Series(_pick(rng, SURNAMES, n).astype(str))
    return surname + pl.Series(_pick(rng, GIVEN, n).astype(str))


def _month_dates(month_index: np.ndarray, day: np.ndarray) -> pl.Series:
    start = np.array([np.datetime64(m + "-01") for m in MONTHS])
    return pl.Series(
        (start[month_index] + (day - 1).astype("timedelta64[D]")).astype("datetime64[D]")
    ).cast(pl.Date)


def _rows(**columns) -> pl.DataFrame:
    """A frame from arrays of one length, scalars repeated: a dict of scalars and empty arrays
    would give Null-typed columns that no longer stack with the others."""
    n = next(len(v) for v in columns.values() if not isinstance(v, (str, int)))
    return pl.DataFrame(
        {
            k: pl.repeat(v, n, eager=True) if isinstance(v, (str, int)) else v
            for k, v in columns.items()
        }
    )


def _typed(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    schema = polars_schema(table)
    missing = [pl.lit(None, dtype=t).alias(c) for c, t in schema.items() if c not in frame.columns]
    return frame.with_columns(missing).select([pl.col(c).cast(t) for c, t in schema.items()])


def build_tables(households: int, seed: int = 1) -> dict[str, pl.DataFrame]:
    """Typed contract tables for a district of ``households`` households."""
    rng = np.random.default_rng(seed)
    n = households
    hh = np.arange(n)
    street_of = rng.integers(0, len(STREETS), n)
    streets = np.asarray(STREETS, dtype=object)
    household_id = "H" + _digits(hh, 8)

    # persons: 1 to 4 members, the first one applies
    size = rng.integers(1, 5, n)
    p_household = np.repeat(hh, size)
    n_persons = len(p_household)
    first = np.zeros(n_persons, dtype=bool)
    first[np.concatenate([[0], np.cumsum(size)[:-1]])] = True
    person_ids = _ids(np.arange(n_persons), rng)
    p_street = street_of[p_household]
    building = rng.integers(1, 400, n)
    persons = pl.DataFrame(
        {
            "id_number": person_ids,
            "name": _names(rng, n_persons),
            "household_id": household_id.gather(p_household),
            "street": streets[p_street].astype(str),
            "committee": pl.Series(streets[p_street].astype(str)).str.slice(0, 2) + "居委",
            "address": (
                pl.Series(streets[p_street].astype(str)).str.slice(0, 2)
                + "路"
                + _digits(building[p_household], 1)
                + "弄"
                + _digits(p_household % 97 + 1, 1)
                + "号"
            ),
            "phone": "13" + _digits(rng.integers(0, 10**9, n_persons), 9),
            "hukou": _pick(rng, ["本市", "非本市"], n_persons, [0.9, 0.1]).astype(str),
        }
    ).with_columns(pl.col("address").alias("address_norm"))
    applicant = person_ids.filter(pl.Series(first))

    # staff
    n_staff = max(30, n // 250)
    staff_index = n_persons + np.arange(n_staff)
    staff = pl.DataFrame(
        {
            "staff_id": "S" + _digits(np.arange(n_staff), 5),
            "name": _names(rng, n_staff),
            "id_number": _ids(staff_index, rng),
            "role": _pick(rng, ["救助顾问", "街镇经办", "街镇审核", "区级审批"], n_staff).astype(
                str
            ),
            "street": streets[rng.integers(0, len(STREETS), n_staff)].astype(str),
            "phone": "139" + _digits(rng.integers(0, 10**8, n_staff), 8),
            "salary_account": _accounts(10**9 + np.arange(n_staff), "6217"),
        }
    ).with_columns(pl.lit("天山路1号").alias("address"), pl.lit("天山路1号").alias("address_norm"))

    # cases: one per household
    types = list(MAIN_TYPES)
    type_idx = rng.choice(len(types), n, p=[MAIN_TYPES[t][0] for t in types])
    status = _pick(rng, ["在册", "终止", "申请中", "未通过"], n, [0.88, 0.08, 0.02, 0.02]).astype(
        str
    )
    amount = np.zeros(n, dtype=np.int64)
    for i, t in enumerate(types):
        sel = type_idx == i
        choices = np.asarray(MAIN_TYPES[t][1])
        amount[sel] = choices[rng.integers(0, len(choices), sel.sum())]
    # start month index: most cases started before the period
    start_m = np.where(rng.random(n) < 0.85, -1, rng.integers(0, len(MONTHS), n))
    term_m = rng.integers(0, len(MONTHS), n)
    accepted = np.datetime64("2025-09-01") + ((start_m * 30) - rng.integers(40, 400, n)).astype(
        "timedelta64[D]"
    )
    decided = accepted + rng.integers(5, 40, n).astype("timedelta64[D]")
    term_date = _month_dates(term_m, rng.integers(1, 28, n))
    active = status == "在册"
    terminated = status == "终止"
    handler = rng.integers(0, n_staff, n)
    cases = pl.DataFrame(
        {
            "case_id": "C" + _digits(hh, 8),
            "household_id": household_id,
            "applicant_id_number": applicant,
            "street": streets[street_of].astype(str),
            "assistance_type": np.asarray(types)[type_idx],
            "status": status,
            "accepted_date": pl.Series(accepted.astype("datetime64[D]")).cast(pl.Date),
            "decided_date": pl.Series(decided.astype("datetime64[D]")).cast(pl.Date),
            "monthly_amount": amount,
            "start_month": np.asarray(("2025-09",) + MONTHS)[start_m + 1],
            "termination_date": term_date,
            "difficulty": _pick(rng, ["高", "中", "低"], n, [0.2, 0.5, 0.3]).astype(str),
            "handler_id": "S" + _digits(handler, 5),
            "reviewer_id": "S" + _digits((handler + 1) % n_staff, 5),
            "approver_id": "S" + _digits((handler + 2) % n_staff, 5),
        }
    ).with_columns(
        pl.when(pl.col("status") == "申请中")
        .then(None)
        .otherwise(pl.col("decided_date"))
        .alias("decided_date"),
        pl.when(pl.col("status") == "终止")
        .then(pl.col("termination_date"))
        .otherwise(None)
        .alias("termination_date"),
    )
    case_id = cases["case_id"]

    # accounts: one registered account per case, a few cases without one, a few kept by someone
    has_account = rng.random(n) >= RATES["no_account"]
    account_no = _accounts(hh, "6222")
    custodian = rng.random(n) < 0.01
    accounts = (
        pl.DataFrame(
            {
                "case_id": case_id,
                "account_no": account_no,
                "bank": _pick(rng, ["工商银行", "农业银行", "上海银行"], n).astype(str),
                "holder_id_number": applicant,
                "holder_name": persons["name"].filter(pl.Series(first)),
                "custodian_id_number": person_ids.gather(rng.integers(0, n_persons, n)),
            }
        )
        .with_columns(
            pl.when(pl.Series(custodian)).then(pl.col("custodian_id_number")).otherwise(None)
        )
        .filter(pl.Series(has_account))
    )

    # entitlements: the main item every month the case is payable, plus extras
    paid_on = terminated & (rng.random(n) < RATES["paid_on"])
    # Paid on after the termination as back pay for months before it, held as 补发 only: no
    # finding unless the payment's amount differs; or paid on with no entitlement at all. Drawn
    # from a generator of their own, so that every other value the seed gives stays the same.
    side = np.random.default_rng([seed, 1])
    back_on = paid_on & (side.random(n) < RATES["back_paid_on"])
    back_off = back_on & (side.random(n) < RATES["back_paid_off"])
    unentitled_on = paid_on & ~back_on & (side.random(n) < RATES["unentitled_on"])
    main_item = np.asarray([TYPE_ITEM[t] for t in types])[type_idx]
    ent_parts = []
    for m in range(len(MONTHS)):
        payable = ((active | terminated) & (start_m <= m)) & (
            active | (m <= term_m) | (paid_on & (m == term_m + 1))
        )
        idx = np.flatnonzero(payable)
        kind = np.where(back_on[idx] & (m == term_m[idx] + 1), "补发", "正常")
        ent_parts.append(_rows(h=idx, m=m, item=main_item[idx], kind=kind, amount=amount[idx]))
        k = len(idx)
        for item, share, amounts in (
            ("临时救助金", 0.05, (50000, 80000, 100000)),
            ("小金额救助金", 0.055, (20000, 30000, 40000)),
            ("小金额救助金", 0.006, (20000, 30000)),
        ):
            sel = idx[rng.random(k) < share]
            ent_parts.append(
                _rows(
                    h=sel,
                    m=m,
                    item=item,
                    kind="正常",
                    amount=np.asarray(amounts)[rng.integers(0, len(amounts), len(sel))],
                )
            )
        back = idx[rng.random(k) < 0.005]
        ent_parts.append(
            _rows(
                h=back,
                m=m,
                item=main_item[back],
                kind="补发",
                amount=amount[back] // rng.integers(1, 3, len(back)),
            )
        )
    ent = pl.concat(ent_parts, how="vertical_relaxed").with_columns(
        pl.col("h").cast(pl.Int64), pl.col("m").cast(pl.Int32)
    )
    ent = ent.sort("m", "h", "item", "kind", maintain_order=True)
    e_h = ent["h"].to_numpy()
    after_term = ent["m"].to_numpy() == term_m[e_h] + 1
    entitlements = pl.DataFrame(
        {
            "month": np.asarray(MONTHS)[ent["m"].to_numpy()],
            "case_id": case_id.gather(e_h),
            "id_number": applicant.gather(e_h),
            "item": ent["item"],
            "kind": ent["kind"],
            "amount": ent["amount"],
            "account_no": account_no.gather(e_h),
        }
    ).filter(~pl.Series(unentitled_on[e_h] & after_term))  # paid all the same, below

    # ledger: one paid row per entitlement row, then the defects
    n_e = ent.height
    r = rng.random(n_e)
    unpaid = r < RATES["unpaid"]
    e_m = ent["m"].to_numpy()
    e_amount = ent["amount"].to_numpy().copy()
    changed = rng.random(n_e) < RATES["amount"]
    n_changed = changed.sum()
    e_amount[changed] += rng.choice([-1, 1], n_changed) * rng.integers(10, 200, n_changed) * 100
    e_amount = np.maximum(e_amount, 100)
    e_amount[back_off[e_h] & after_term & (ent["kind"].to_numpy() == "补发")] += 10_000
    day = rng.integers(3, 16, n_e)
    late = rng.random(n_e) < RATES["late"]
    day[late] = rng.integers(16, 29, late.sum())
    pay_street = street_of[e_h].copy()
    other = rng.random(n_e) < RATES["other_street"]
    pay_street[other] = (pay_street[other] + 1) % len(STREETS)
    wrong_fund = pl.Series(rng.random(n_e) < RATES["wrong_fund"])
    wrong_acc = rng.random(n_e) < RATES["wrong_account"]
    other_acc = _accounts(rng.integers(2 * 10**8, 3 * 10**8, n_e), "6228")
    base = pl.DataFrame(
        {
            "m": e_m,
            "day": day,
            "street_i": pay_street,
            "item": ent["item"],
            "h": e_h,
            "account_no": account_no.gather(e_h),
            "amount": e_amount,
            "status": np.where(unpaid, "退票", "成功"),
            "changed": changed,
        }
    ).with_columns(
        pl.when(wrong_fund & (pl.col("item") == "临时救助金"))
        .then(pl.lit("JZ01"))
        .when(wrong_fund)
        .then(pl.lit("JZ07"))
        .otherwise(pl.col("item").replace_strict(ITEM_FUND))
        .alias("fund_code"),
        pl.when(pl.Series(wrong_acc))
        .then(other_acc)
        .otherwise(pl.col("account_no"))
        .alias("account_no"),
    )
    keep = ~unpaid | (rng.random(n_e) < 0.5)  # half of the unpaid rows leave a 退票 row
    base = base.filter(pl.Series(keep))
    # Some doubled payments of an amount nobody is entitled to (e = 0): one of the two is the
    # duplicate, the other an amount mismatch.
    dup = base.filter(
        (
            pl.Series(rng.random(base.height) < RATES["duplicate"])
            | (pl.col("changed") & pl.Series(rng.random(base.height) < 0.1))
        )
        & (pl.col("status") == "成功")
    )
    dup = dup.with_columns(
        (pl.col("day") + pl.Series(rng.integers(1, 4, dup.height)))
        .clip(upper_bound=28)
        .alias("day")
    )
    stray = base.filter(
        pl.Series(rng.random(base.height) < RATES["no_entitlement"])
        & (pl.col("status") == "成功")
        & (pl.col("item") != "困境儿童基本生活费")
    )
    stray = stray.with_columns(
        pl.lit("困境儿童基本生活费").alias("item"),
        pl.lit("JZ06").alias("fund_code"),
        pl.lit(60000, dtype=pl.Int64).alias("amount"),
    )
    case_rows = (
        pl.concat([base, dup, stray]).drop("changed").with_columns(pl.col("h").cast(pl.Int64))
    )
    c_h = case_rows["h"].to_numpy()
    case_rows = case_rows.with_columns(
        case_id.gather(c_h).alias("case_id"),
        applicant.gather(c_h).alias("payee_id"),
        persons["name"].filter(pl.Series(first)).gather(c_h).alias("payee_name"),
    ).drop("h")

    # rows without a case: provider payments (a few to unregistered providers), stray spending
    n_prov = 20
    bodies = [f"91310105MA1FL{i:04d}" for i in range(n_prov + 5)]
    codes = [b + uscc.calc_check_digit(b) for b in bodies]
    providers = pl.DataFrame(
        {
            "uscc": codes[:n_prov],
            "name": [f"长宁区第{i + 1}助老服务社" for i in range(n_prov)],
            "items": ["服务类救助" if i % 4 else "服务类救助;临时救助金" for i in range(n_prov)],
        }
    )
    k = max(6, n // 50) * len(MONTHS)
    prov_idx = np.where(
        rng.random(k) < 0.05, rng.integers(n_prov, n_prov + 5, k), rng.integers(0, n_prov, k)
    )
    service = pl.DataFrame(
        {
            "m": rng.integers(0, len(MONTHS), k),
            "day": rng.integers(3, 16, k),
            "street_i": rng.integers(0, len(STREETS), k),
            "fund_code": "JZ09",
            "item": "服务类救助",
            "account_no": _accounts(4 * 10**8 + prov_idx, "6216"),
            "amount": rng.integers(300, 2000, k) * 100,
            "status": "成功",
            "case_id": pl.Series([None] * k, dtype=pl.String),
            "payee_id": np.asarray(codes)[prov_idx],
            "payee_name": "服务社",
        }
    )
    k2 = max(3, n // 5000)
    outsider = rng.integers(0, n_persons, k2)
    loose = pl.DataFrame(
        {
            "m": rng.integers(0, len(MONTHS), k2),
            "day": rng.integers(3, 16, k2),
            "street_i": rng.integers(0, len(STREETS), k2),
            "fund_code": _pick(rng, ["JZ07", "JZ07", "JZ01"], k2).astype(str),
            "item": _pick(rng, ["临时救助金", "慰问品采购", "办公用品"], k2).astype(str),
            "account_no": _accounts(5 * 10**8 + outsider, "6225"),
            "amount": rng.integers(100, 3000, k2) * 100,
            "status": "成功",
            "case_id": pl.Series([None] * k2, dtype=pl.String),
            "payee_id": person_ids.gather(outsider),
            "payee_name": "个人",
        }
    )
    rows = pl.concat([case_rows, service, loose], how="diagonal_relaxed")
    rows = rows.sort("m", "street_i", "day", "case_id", nulls_last=True)
    rows = rows.with_columns(
        pl.Series(np.asarray(MONTHS)[rows["m"].to_numpy()]).alias("month"),
        _month_dates(rows["m"].to_numpy(), rows["day"].to_numpy()).alias("pay_date"),
        pl.Series(streets[rows["street_i"].to_numpy()].astype(str)).alias("street"),
        ("T" + _digits(np.arange(rows.height), 10)).alias("txn_id"),
    ).with_columns(
        pl.concat_str(
            [
                pl.lit("P"),
                pl.col("month").str.replace("-", ""),
                pl.col("street_i").cast(pl.String).str.zfill(2),
            ]
        ).alias("batch_id"),
        pl.concat_str([pl.col("month"), pl.col("item")], separator=" ").alias("purpose"),
    )
    ledger = rows

    # events: deaths of applicants (payments go on), a few of other members, other kinds
    died = active & (rng.random(n) < RATES["death"])
    d_idx = np.flatnonzero(died)
    others = rng.integers(0, n_persons, max(3, n_persons // 1000))
    kinds = _pick(rng, ["就业参保", "刑事处罚"], len(others), [0.9, 0.1]).astype(str)
    events = pl.concat(
        [
            _rows(
                id_number=applicant.gather(d_idx),
                event_type="死亡",
                event_date=_month_dates(
                    rng.integers(0, len(MONTHS) - 1, len(d_idx)), rng.integers(1, 28, len(d_idx))
                ),
            ),
            _rows(
                id_number=person_ids.gather(others),
                event_type=kinds,
                event_date=_month_dates(
                    rng.integers(0, len(MONTHS), len(others)), rng.integers(1, 28, len(others))
                ),
            ),
        ]
    ).with_columns(pl.lit("区大数据中心").alias("source"))

    frames = dict(
        persons=persons,
        staff=staff,
        cases=cases,
        accounts=accounts,
        entitlements=entitlements,
        ledger=ledger,
        providers=providers,
        events=events,
    )
    return {name: _typed(name, frame) for name, frame in frames.items()}


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Every value as text in the contract's formats; money in yuan with two decimals."""
    out = []
    for name, dtype in frame.schema.items():
        if name.endswith("_norm"):
            continue  # the reader derives the normalised address itself
        col = pl.col(name)
        if dtype == pl.Date:
            out.append(col.dt.strftime("%Y-%m-%d"))
        elif dtype == pl.Int64 and name in ("amount", "monthly_amount"):
            out.append(
                pl.concat_str(
                    [
                        (col // 100).cast(pl.String),
                        pl.lit("."),
                        (col % 100).cast(pl.String).str.zfill(2),
                    ]
                ).alias(name)
            )
        else:
            out.append(col.cast(pl.String))
    return frame.select(out)


def write_drop(tables: dict[str, pl.DataFrame], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        _as_text(frame).write_parquet(out / f"{name}.parquet")
    return out


def build_drop(out: Path, households: int, seed: int = 1) -> Path:
    return write_drop(build_tables(households, seed), out)
