"""Vectorised makers of realistic, valid identifiers for the demo district.

Every maker takes a numpy Generator and a count and returns Polars Series (text), never a Python
loop over persons. Uniqueness is enforced by redrawing collisions, including against values that
are already taken (``taken``: an integer key array as returned alongside).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from analytics import schema

# --- resident ID numbers (GB 11643, ISO 7064 MOD 11-2) ----------------------------------------

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_CHECK = np.array(list("10X98765432"))

CHANGNING = 310105
# Other Shanghai districts (no validity period in the national code table, so valid for any
# birth year) and counties of other provinces for residents without a Shanghai hukou.
SHANGHAI_OTHER = np.array([310104, 310101, 310106, 310107, 310109, 310110])
ELSEWHERE = np.array(
    [330122, 330127, 340121, 340421, 340621, 350121, 360121, 430121, 430321, 510121, 510321, 510421]
)

_EPOCH = np.datetime64("1970-01-01", "D")


def _digits(values: np.ndarray, n: int) -> np.ndarray:
    """(len, n) array of the n decimal digits of each value, most significant first."""
    out = np.empty((len(values), n), dtype=np.int64)
    v = values.astype(np.int64, copy=True)
    for i in range(n - 1, -1, -1):
        out[:, i] = v % 10
        v //= 10
    return out


def id_check_chars(body17: np.ndarray) -> np.ndarray:
    """Check characters of 17-digit bodies given as integers."""
    return ID_CHECK[(_digits(body17, 17) @ ID_WEIGHTS) % 11]


def _unique_draw(draw, n: int, taken: np.ndarray | None) -> np.ndarray:
    """Draw n distinct int64 keys, none in ``taken``; ``draw(k, idx)`` redraws rows idx."""
    keys = draw(n, np.arange(n))
    taken = np.empty(0, dtype=np.int64) if taken is None else np.asarray(taken, dtype=np.int64)
    for _ in range(200):
        _, first = np.unique(keys, return_index=True)
        bad = np.ones(n, dtype=bool)
        bad[first] = False
        if len(taken):
            bad |= np.isin(keys, taken)
        if not bad.any():
            return keys
        idx = np.flatnonzero(bad)
        keys[idx] = draw(len(idx), idx)
    raise RuntimeError("标识符空间不足，无法生成不重复的编号")


def id_bodies(
    rng: np.random.Generator,
    birth: np.ndarray,
    region: np.ndarray,
    male: np.ndarray,
    taken: np.ndarray | None = None,
) -> np.ndarray:
    """Distinct 17-digit bodies: region, birth date, a sequence number odd for men."""
    birth = np.asarray(birth, dtype="datetime64[D]")
    years = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    months = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
    days = (birth - birth.astype("datetime64[M]")).astype(np.int64) + 1
    stem = (np.asarray(region, dtype=np.int64) * 10**8 + years * 10**4 + months * 100 + days) * 1000
    parity = np.asarray(male, dtype=np.int64)

    def draw(k: int, idx: np.ndarray) -> np.ndarray:
        seq = rng.integers(0, 500, size=k) * 2 + parity[idx]
        return stem[idx] + seq

    return _unique_draw(draw, len(stem), taken)


def id_strings(bodies: np.ndarray) -> pl.Series:
    body = pl.Series(bodies, dtype=pl.Int64).cast(pl.String).str.zfill(17)
    return (body + pl.Series(id_check_chars(bodies), dtype=pl.String)).alias("id_number")


def id_body_keys(ids: pl.Series) -> np.ndarray:
    """Integer keys (the 17-digit body) of existing ID numbers, for ``taken``."""
    ids = ids.drop_nulls()
    ids = ids.filter(ids.str.contains(r"^[0-9]{17}[0-9X]$"))
    return ids.str.slice(0, 17).cast(pl.Int64).to_numpy()


# --- phones ------------------------------------------------------------------------------------

_MOBILE_PREFIXES = np.array(
    [
        130,
        131,
        132,
        133,
        134,
        135,
        136,
        137,
        138,
        139,
        150,
        151,
        152,
        153,
        155,
        156,
        157,
        158,
        159,
        166,
        173,
        176,
        177,
        178,
        180,
        181,
        182,
        183,
        184,
        185,
        186,
        187,
        188,
        189,
        191,
        198,
        199,
    ]
)
_LANDLINE_LEADS = np.array([2, 3, 5, 6])  # 021-6xxx xxxx and friends


def phone_keys(
    rng: np.random.Generator,
    n: int,
    landline: float | np.ndarray = 0.0,
    taken: np.ndarray | None = None,
) -> np.ndarray:
    """Distinct phone numbers as integers: mobiles 1xxxxxxxxxx, landlines 21xxxxxxxx (the
    leading 0 of 021 comes back in ``phone_strings``). ``landline``: a share, or a mask."""
    if isinstance(landline, np.ndarray):
        land = landline.astype(bool)
    else:
        land = rng.random(n) < landline

    def draw(k: int, idx: np.ndarray) -> np.ndarray:
        mob = rng.choice(_MOBILE_PREFIXES, size=k) * 10**8 + rng.integers(0, 10**8, size=k)
        tel = (
            21 * 10**8
            + rng.choice(_LANDLINE_LEADS, size=k) * 10**7
            + rng.integers(0, 10**7, size=k)
        )
        return np.where(land[idx], tel, mob)

    return _unique_draw(draw, n, taken)


def phone_strings(keys: np.ndarray) -> pl.Series:
    return pl.Series(keys, dtype=pl.Int64).cast(pl.String).str.zfill(11).alias("phone")


def phone_keys_of(phones: pl.Series) -> np.ndarray:
    phones = phones.drop_nulls()
    phones = phones.filter(phones.str.contains(r"^[0-9]{7,12}$"))
    return phones.cast(pl.Int64).to_numpy()


# --- bank accounts -----------------------------------------------------------------------------

# (bank, issuer prefix, length, card (Luhn check digit) or passbook, weight)
BANKS: tuple[tuple[str, str, int, bool, float], ...] = (
    ("中国工商银行", "622202", 19, True, 0.18),
    ("中国农业银行", "622848", 19, True, 0.14),
    ("中国银行", "621661", 19, True, 0.10),
    ("中国建设银行", "621700", 19, True, 0.14),
    ("交通银行", "622262", 19, True, 0.08),
    ("上海银行", "622892", 16, True, 0.10),
    ("上海农商银行", "622478", 19, True, 0.10),
    ("中国邮政储蓄银行", "621799", 19, True, 0.08),
    ("上海农商银行", "3101", 18, False, 0.05),  # passbook (存折)
    ("中国邮政储蓄银行", "6030", 17, False, 0.03),  # passbook (存折)
)


def _luhn_digit(body: np.ndarray, length: int) -> np.ndarray:
    d = _digits(body, length)
    # double every second digit from the right of the body (the check digit comes after it)
    dbl = d[:, ::-1][:, ::2] * 2
    dbl = np.where(dbl > 9, dbl - 9, dbl)
    total = dbl.sum(axis=1) + d[:, ::-1][:, 1::2].sum(axis=1)
    return (10 - total % 10) % 10


def account_keys(
    rng: np.random.Generator, n: int, taken: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct account numbers (as uint64-safe int64) and the index of their bank in BANKS."""
    weights = np.array([b[4] for b in BANKS])
    bank = rng.choice(len(BANKS), size=n, p=weights / weights.sum())

    def draw(k: int, idx: np.ndarray) -> np.ndarray:
        out = np.empty(k, dtype=np.int64)
        for b, (_, prefix, length, card, _) in enumerate(BANKS):
            sel = np.flatnonzero(bank[idx] == b)
            if not len(sel):
                continue
            free = length - len(prefix) - (1 if card else 0)
            body = int(prefix) * 10**free + rng.integers(0, 10**free, size=len(sel))
            out[sel] = body * 10 + _luhn_digit(body, length - 1) if card else body
        return out

    return _unique_draw(draw, n, taken), bank


def account_strings(keys: np.ndarray) -> pl.Series:
    return pl.Series(keys, dtype=pl.Int64).cast(pl.String).alias("account_no")


def bank_names(bank_idx: np.ndarray) -> pl.Series:
    names = pl.Series([b[0] for b in BANKS], dtype=pl.String)
    return names.gather(bank_idx).alias("bank")


def account_keys_of(accounts: pl.Series) -> np.ndarray:
    accounts = accounts.drop_nulls()
    accounts = accounts.filter(accounts.str.contains(r"^[1-9][0-9]{9,17}$"))
    return accounts.cast(pl.Int64).to_numpy()


# --- unified social credit codes (GB 32100) ----------------------------------------------------

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def uscc_codes(
    rng: np.random.Generator,
    n: int,
    kinds: list[str] | None = None,
    region: str = "310105",
    taken: set[str] | None = None,
) -> list[str]:
    """Unified social credit codes: registration kind (e.g. 52 民办非企业单位, 91 企业), region,
    an organisation code with its GB 11714 check character, and the GB 32100 check character.
    A handful per district, so a plain loop."""
    kinds = kinds or ["52"] * n
    seen = set(taken or ())
    out: list[str] = []
    while len(out) < n:
        org = "".join(str(int(x)) for x in rng.integers(0, 10, size=8))
        c = 11 - sum(int(ch) * w for ch, w in zip(org, _ORG_WEIGHTS, strict=True)) % 11
        org += {10: "X", 11: "0"}.get(c, str(c))
        body = kinds[len(out)] + region + org
        total = sum(_USCC_ALPHABET.index(ch) * w for ch, w in zip(body, _USCC_WEIGHTS, strict=True))
        code = body + _USCC_ALPHABET[(31 - total) % 31]
        if code not in seen:
            seen.add(code)
            out.append(code)
    return out


# --- names -------------------------------------------------------------------------------------

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜"
    "叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎"
    "贺顾毛郝龚邵万钱严覃武戴莫孔向汤施缪"
)
_MALE_CHARS = (
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林欢阳建国志文斌峰亮成"
    "东海晨昊睿轩子豪嘉懿宏德春荣福忠良贤"
)
_FEMALE_CHARS = (
    "芳娜敏静丽艳娟霞秀英华慧巧美娅玉萍红玲桂兰凤洁梅琳素云莲真雪荣爱妹琴倩婷雯欣怡"
    "佳颖蓉晓琪萱梦涵悦薇珍"
)


def surnames(rng: np.random.Generator, n: int) -> pl.Series:
    chars = np.array(list(_SURNAMES))
    # Zipf-like: the common surnames dominate, as in any Chinese register.
    w = 1.0 / np.arange(1, len(chars) + 1) ** 0.9
    return pl.Series(chars[rng.choice(len(chars), size=n, p=w / w.sum())], dtype=pl.String)


def given_names(rng: np.random.Generator, male: np.ndarray) -> pl.Series:
    n = len(male)
    m = np.array(list(_MALE_CHARS))
    f = np.array(list(_FEMALE_CHARS))
    first = np.where(male, m[rng.integers(0, len(m), n)], f[rng.integers(0, len(f), n)])
    second = np.where(male, m[rng.integers(0, len(m), n)], f[rng.integers(0, len(f), n)])
    two = rng.random(n) < 0.7
    return pl.Series(first, dtype=pl.String) + pl.Series(np.where(two, second, ""), dtype=pl.String)


# --- addresses in Changning --------------------------------------------------------------------

# Roads per street office of Changning, in the order of data/district.toml. Another district's
# demo reuses them in turn (the generator's addresses are synthetic either way).
_CHANGNING_ROADS: tuple[tuple[str, ...], ...] = (
    ("华阳路", "安西路", "武夷路", "长宁路", "镇宁路", "定西路", "愚园路"),
    ("江苏路", "愚园路", "东诸安浜路", "利西路", "宣化路", "长宁路"),
    ("新华路", "番禺路", "法华镇路", "定西路", "幸福路", "平武路", "延安西路"),
    ("长宁路", "万航渡路", "长宁支路", "中山西路", "云雾山路", "凯旋路"),
    ("天山路", "娄山关路", "遵义路", "茅台路", "天山支路", "芙蓉江路"),
    ("仙霞路", "茅台路", "威宁路", "虹古路", "水城路", "安龙路"),
    ("虹桥路", "古北路", "伊犁路", "玉屏南路", "宋园路", "延安西路"),
    ("哈密路", "程家桥路", "剑河路", "龙溪路", "青溪路"),
    ("北翟路", "平塘路", "天山西路", "北渔路", "泉口路", "双流路"),
    ("金钟路", "协和路", "福泉路", "剑河路", "淞虹路", "天山西路", "哈密路"),
)

_CHANGNING_COMMITTEES: tuple[tuple[str, ...], ...] = (
    ("华三居委会", "大西别墅居委会", "飞乐居委会", "秀水居委会", "利西居委会", "长新居委会"),
    ("曹家堰居委会", "岐山居委会", "愚三居委会", "华山居委会", "西浜居委会"),
    ("梅泾居委会", "新华居委会", "番禺居委会", "法华居委会", "香花桥居委会", "左家宅居委会"),
    ("天义居委会", "长宁新村居委会", "万一居委会", "安化居委会", "中山居委会"),
    ("天山一村居委会", "紫云居委会", "遵义居委会", "茅台居委会", "天山四村居委会", "仙霞居委会"),
    ("虹仙居委会", "威宁居委会", "仙逸居委会", "虹日居委会", "茅台新苑居委会", "水霞居委会"),
    ("古北居委会", "虹桥居委会", "荣华居委会", "虹储居委会", "伊犁居委会"),
    ("上航居委会", "程桥一村居委会", "程桥二村居委会", "剑河居委会"),
    ("新泾一村居委会", "新泾二村居委会", "平塘居委会", "北渔居委会", "泉口居委会"),
    ("淞虹居委会", "新泾六村居委会", "绿八居委会", "金平居委会", "协和居委会", "福泉居委会"),
)


# Some roads cross several streets: keys index the distinct road names, so that distinct keys
# are distinct addresses.
def _per_street(table: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
    """``table`` fitted to the district's street offices: row i for the i-th office, in turn."""
    return tuple(table[i % len(table)] for i in range(len(schema.STREETS)))


ROADS = _per_street(_CHANGNING_ROADS)
COMMITTEES = _per_street(_CHANGNING_COMMITTEES)
ROAD_NAMES: tuple[str, ...] = tuple(dict.fromkeys(r for street in ROADS for r in street))
_STREET_ROADS = [np.array([ROAD_NAMES.index(r) for r in street]) for street in ROADS]

_CITY = schema.DISTRICT_INFO.city
_NAME = schema.DISTRICT_INFO.name
_PREFIXES = np.array(
    [_CITY + _NAME, _CITY + _NAME, _CITY + _NAME, _NAME, _CITY.removesuffix("市") + _NAME]
)


def address_keys(
    rng: np.random.Generator, street_idx: np.ndarray, taken: np.ndarray | None = None
) -> np.ndarray:
    """Distinct address keys: road (global index), lane (0: none), house number, room."""
    street_idx = np.asarray(street_idx, dtype=np.int64)
    flat = np.concatenate(_STREET_ROADS)
    counts = np.array([len(r) for r in _STREET_ROADS])
    offsets = np.cumsum(np.r_[0, counts])[:-1]

    def draw(k: int, idx: np.ndarray) -> np.ndarray:
        s = street_idx[idx]
        road = flat[offsets[s] + (rng.random(k) * counts[s]).astype(np.int64)]
        lane = np.where(rng.random(k) < 0.8, rng.integers(1, 1000, k), 0)
        house = rng.integers(1, 100, k)
        room = rng.integers(1, 25, k) * 100 + rng.integers(1, 7, k)
        return ((road * 1000 + lane) * 1000 + house) * 10000 + room

    return _unique_draw(draw, len(street_idx), taken)


def address_strings(rng: np.random.Generator, keys: np.ndarray) -> pl.Series:
    roads = pl.Series(ROAD_NAMES, dtype=pl.String)
    room = keys % 10000
    house = keys // 10000 % 1000
    lane = keys // 10**7 % 1000
    road = keys // 10**10
    prefix = pl.Series(_PREFIXES[rng.integers(0, len(_PREFIXES), len(keys))], dtype=pl.String)
    lane_txt = pl.Series(
        np.where(lane > 0, np.char.add(lane.astype(str), "弄"), ""), dtype=pl.String
    )
    return (
        prefix
        + roads.gather(road)
        + lane_txt
        + pl.Series(house).cast(pl.String)
        + "号"
        + pl.Series(room).cast(pl.String)
        + "室"
    ).alias("address")
