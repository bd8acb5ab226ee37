"""The demo-district generator: valid identifiers, a clean base, planted funds truth that the
checks reproduce exactly, every format read back unchanged, the same bytes for the same seed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from stdnum import luhn
from stdnum.cn import ric, uscc

from analytics import schema
from analytics.generate import FORMATS, build_district, generate, ids
from analytics.generate.base import BaseParams, build_base, conform, plain_households
from analytics.generate.core import TRUTH_COLUMNS
from analytics.generate.plant_funds import FUNDS_CHECKS, plant_funds
from analytics.generate.write import (
    EXCEL_MAX_ROWS,
    LOOKALIKES_FILE,
    TRUTH_FILE,
    check_excel_limits,
    file_name,
    ordered,
    write_drop,
)
from analytics.model import Drop
from analytics.reader import read_drop
from checks.engine import run_checks
from checks.registry import load_all

HOUSEHOLDS = 300
PARAMS = BaseParams(households=HOUSEHOLDS, seed=7)


@pytest.fixture(scope="module")
def base():
    return build_base(PARAMS)


@pytest.fixture(scope="module")
def planted():
    ctx = build_base(PARAMS)
    plant_funds(ctx)
    ctx.control_total_truth()
    return ctx


@pytest.fixture(scope="module")
def planted_findings(planted):
    return _findings(planted)


@pytest.fixture(scope="module")
def district():
    """Base and every planter: what generate() writes for PARAMS."""
    return build_district(PARAMS)


@pytest.fixture(scope="module")
def drops(tmp_path_factory, district):
    """The district in every format: csv through generate() (with its progress messages), the
    others written from the same tables."""
    root = tmp_path_factory.mktemp("drops")
    progress: list[tuple[str, float]] = []
    out = {
        "csv": generate(
            root / "csv",
            households=HOUSEHOLDS,
            seed=PARAMS.seed,
            fmt="csv",
            progress=lambda message, share: progress.append((message, share)),
        )
    }
    for fmt in FORMATS[1:]:
        _write(district, root / fmt, fmt)
        out[fmt] = root / fmt
    out["csv"], out["progress"], out["summary"] = root / "csv", progress, out["csv"]
    return out


def _write(ctx, folder: Path, fmt: str) -> None:
    write_drop(
        ctx.tables,
        folder,
        fmt=fmt,
        seed=PARAMS.seed,
        export_month=ctx.months[-1],
        truth=ctx.truth_frame(),
        lookalikes=ctx.lookalike_frame(),
    )


def _findings(ctx) -> pl.DataFrame:
    drop = Drop(
        tables={k: v.lazy() for k, v in ctx.tables.items()},
        settings=ctx.settings,
        catalogue=ctx.catalogue,
        as_of=ctx.as_of,
        calendar=ctx.calendar,
    )
    return run_checks(drop).findings


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# --- identifiers -----------------------------------------------------------------------------


def test_resident_ids_are_valid_unique_and_match_birth_and_sex():
    rng = np.random.default_rng(3)
    n = 2000
    birth = np.datetime64("1930-01-01") + rng.integers(0, 34000, n).astype("timedelta64[D]")
    region = rng.choice(np.r_[ids.CHANGNING, ids.SHANGHAI_OTHER, ids.ELSEWHERE], n)
    male = rng.random(n) < 0.5
    out = ids.id_strings(ids.id_bodies(rng, birth, region, male)).to_list()
    assert len(set(out)) == n
    assert all(ric.is_valid(x) for x in out)
    assert [ric.get_birth_date(x) for x in out[:50]] == birth[:50].astype(object).tolist()
    assert [int(x[16]) % 2 == 1 for x in out] == male.tolist()


def test_ids_avoid_taken_values():
    rng = np.random.default_rng(4)
    birth = np.full(400, np.datetime64("1980-01-01"))
    first = ids.id_bodies(rng, birth, np.full(400, ids.CHANGNING), np.ones(400, bool))
    second = ids.id_bodies(
        rng, birth[:50], np.full(50, ids.CHANGNING), np.ones(50, bool), taken=first
    )
    assert not set(first) & set(second)


def test_accounts_phones_and_credit_codes():
    rng = np.random.default_rng(5)
    keys, bank = ids.account_keys(rng, 3000)
    accounts = ids.account_strings(keys).to_list()
    names = ids.bank_names(bank).to_list()
    assert len(set(accounts)) == 3000
    assert all(x.isdigit() and 16 <= len(x) <= 19 for x in accounts)
    cards = [a for a, b in zip(accounts, bank, strict=True) if ids.BANKS[b][3]]
    assert all(luhn.is_valid(a) for a in cards)
    assert len(cards) < len(accounts)  # some passbooks
    assert set(names) <= {b[0] for b in ids.BANKS}
    phones = ids.phone_strings(ids.phone_keys(rng, 2000, 0.3)).to_list()
    assert len(set(phones)) == 2000
    assert all(
        len(p) == 11 and (p[:2] in {"13", "15", "16", "17", "18", "19"} or p.startswith("021"))
        for p in phones
    )
    assert any(p.startswith("021") for p in phones)
    codes = ids.uscc_codes(rng, 20, ["52", "91"] * 10)
    assert all(uscc.is_valid(c) for c in codes)


# --- the clean base ----------------------------------------------------------------------------


def test_base_tables_follow_the_contract_schema(base):
    for name, frame in base.tables.items():
        assert frame.schema == pl.Schema(schema.polars_schema(name)), name
    assert set(schema.REQUIRED_TABLES) <= set(base.tables)


def test_base_fires_no_check(base):
    findings = _findings(base)
    assert findings.height == 0, findings.group_by("check_id").len().to_dicts()


def test_base_identifiers_are_valid_and_unique(base):
    t = base.tables
    persons = t["persons"]
    assert persons["id_number"].n_unique() == persons.height
    assert all(ric.is_valid(x) for x in persons["id_number"])
    assert all(uscc.is_valid(x) for x in t["providers"]["uscc"])
    assert t["ledger"]["txn_id"].n_unique() == t["ledger"].height
    assert t["cases"]["case_id"].n_unique() == t["cases"].height
    per_household = persons.group_by("household_id").agg(pl.col("address_norm").n_unique())
    assert (per_household["address_norm"] == 1).all()
    assert persons["address_norm"].n_unique() == persons["household_id"].n_unique()
    assert persons.group_by("household_id").len()["len"].is_between(1, 4).all()


def test_staff_share_nothing_with_recipients(base):
    t = base.tables
    staff, persons, cases = t["staff"], t["persons"], t["cases"]
    recipients = persons.filter(
        pl.col("household_id").is_in(
            cases.filter(pl.col("status") == "在册")["household_id"].implode()
        )
    )
    assert not set(staff["phone"]) & set(recipients["phone"])
    assert not set(staff["address_norm"]) & set(recipients["address_norm"])
    assert staff["salary_account"].n_unique() == staff.height
    used = set(t["accounts"]["account_no"]) | set(t["ledger"]["account_no"])
    assert not set(staff["salary_account"]) & used
    staff_households = persons.filter(pl.col("id_number").is_in(staff["id_number"].implode()))
    assert staff_households.height == staff.height
    assert not set(staff_households["household_id"]) & set(cases["household_id"])
    for pool, roles in (
        ("handler_id", {"街镇经办", "救助顾问"}),
        ("reviewer_id", {"街镇审核"}),
        ("approver_id", {"区级审批"}),
    ):
        joined = cases.join(
            staff.select(pl.col("staff_id").alias(pool), "role", "street"),
            on=pool,
            how="inner",
            suffix="_staff",
        )
        assert set(joined["role"]) <= roles
        if pool != "approver_id":
            assert (joined["street"] == joined["street_staff"]).all()


def test_every_entitlement_has_exactly_one_payment(base):
    t = base.tables
    key = ["case_id", "month", "item", "amount"]
    entitled = t["entitlements"].group_by(key).len("entitled")
    paid = (
        t["ledger"]
        .filter(pl.col("status") == "成功", pl.col("case_id").is_not_null())
        .group_by(key)
        .len("paid")
    )
    both = entitled.join(paid, on=key, how="full", coalesce=True)
    assert both.filter(pl.col("entitled").is_null() | pl.col("paid").is_null()).height == 0
    assert (both["entitled"] == both["paid"]).all()
    cases = t["cases"].select("case_id", pl.col("street").alias("case_street"))
    ledger = t["ledger"].filter(pl.col("case_id").is_not_null()).join(cases, on="case_id")
    assert (ledger["street"] == ledger["case_street"]).all()
    due = base.settings.payment_due_day
    assert (t["ledger"]["pay_date"].dt.day() <= due).all()
    assert (t["ledger"]["pay_date"].dt.strftime("%Y-%m") == t["ledger"]["month"]).all()
    assert set(t["entitlements"]["month"]) == set(base.months)


def test_no_amount_is_negative(district):
    # Money is never negative in a drop (a return is a 退票 row): the reader rejects a minus sign.
    for name, frame in district.tables.items():
        for col in schema.TABLES[name].columns:
            if col.type == "money":
                assert (frame[col.name].drop_nulls() >= 0).all(), (name, col.name)


def test_base_has_the_intended_mix(base):
    t = base.tables
    cases = t["cases"]
    share = cases.filter(pl.col("assistance_type") == "最低生活保障").height / cases.height
    assert 0.4 < share < 0.7
    assert {"在册", "终止", "未通过"} <= set(cases["status"])
    assert (
        cases.filter(pl.col("status") == "申请中")["decided_date"].null_count()
        == cases.filter(pl.col("status") == "申请中").height
    )
    assert (cases["accepted_date"] <= base.as_of).all()
    assert cases.group_by("household_id").len()["len"].max() == 2
    assert set(t["entitlements"]["kind"]) == {"正常", "补发"}
    assert plain_households(base).height > HOUSEHOLDS // 4


def test_lookalikes_are_recorded(base):
    kinds = set(base.lookalike_frame()["check_id"])
    assert {
        "approval_overdue",
        "late_disbursement",
        "duplicate_payment",
        "relative_not_filed",
        "custody_not_filed",
        "custodian_concentration",
        "deceased_still_active",
        "blacklisted_recipient",
        "employment_found",
    } <= kinds


# --- planted funds defects -------------------------------------------------------------------


def test_funds_truth_is_exactly_what_the_checks_find(planted, planted_findings):
    truth = planted.truth_frame()
    findings = planted_findings
    specs = load_all()
    assert set(truth["check_id"]) <= set(specs)
    assert set(FUNDS_CHECKS) <= set(truth["check_id"])
    for check_id, spec in specs.items():
        keys = list(spec.keys)
        expected = truth.filter(pl.col("check_id") == check_id).select(keys).unique()
        found = findings.filter(pl.col("check_id") == check_id).select(keys).unique()
        assert_frame_equal(found.sort(keys), expected.sort(keys), check_dtypes=False)


def _back_pay_look_alikes(ctx) -> pl.DataFrame:
    return ctx.lookalike_frame().filter(pl.col("check_id") == "paid_after_termination")


def test_back_pay_after_termination_look_alike_in_the_data(planted):
    """Each look-alike is a payment after its case's termination that the business system holds
    as back pay only, with a row of the paid amount, every row paid once, on time, to the
    registered account (read from the data, not from the check code)."""
    t = planted.tables
    looks = _back_pay_look_alikes(planted)
    assert looks["case_id"].n_unique() >= 2
    assert looks.group_by("case_id").len()["len"].to_list().count(2) >= 1  # two back payments
    cases = {r["case_id"]: r for r in t["cases"].iter_rows(named=True)}
    registered = dict(t["accounts"].select("case_id", "account_no").iter_rows())
    due = planted.settings.payment_due_day
    by_txn = t["ledger"].select("txn_id", pl.col("case_id").alias("txn_case"))
    planted_cases = set(
        planted.truth_frame()
        .join(by_txn, on="txn_id", how="left")
        .select(pl.coalesce("case_id", "txn_case"))
        .to_series()
        .drop_nulls()
    )
    for look in looks.iter_rows(named=True):
        paid = t["ledger"].filter(pl.col("txn_id") == look["txn_id"]).row(0, named=True)
        case = cases[paid["case_id"]]
        assert case["status"] == "终止"
        assert paid["month"] > case["termination_date"].strftime("%Y-%m")
        assert paid["status"] == "成功" and paid["pay_date"].day <= due
        assert paid["account_no"] == registered[case["case_id"]]
        assert paid["purpose"].startswith("补发")
        key = (
            (pl.col("case_id") == paid["case_id"])
            & (pl.col("month") == paid["month"])
            & (pl.col("item") == paid["item"])
        )
        ents = t["entitlements"].filter(key)
        assert set(ents["kind"]) == {"补发"} and paid["amount"] in ents["amount"].to_list()
        paid_key = t["ledger"].filter(key, pl.col("status") == "成功")
        assert sorted(paid_key["amount"]) == sorted(ents["amount"])
        assert case["case_id"] not in planted_cases


def test_back_pay_look_alike_fires_nothing(planted, planted_findings):
    looks = _back_pay_look_alikes(planted)
    assert looks.height
    hit = planted_findings.filter(
        pl.col("txn_id").is_in(looks["txn_id"].implode())
        | pl.col("case_id").is_in(looks["case_id"].implode())
    )
    assert hit.height == 0, hit.select("check_id", "txn_id", "case_id").to_dicts()
    assert planted.truth_frame().filter(pl.col("check_id") == "paid_after_termination").height


def test_without_providers_only_the_provider_plants_go_unfound(planted):
    # A drop without the optional providers table: the service payments to unregistered
    # organisations cannot be told apart, and no other service payment becomes a finding.
    tables = {k: v.lazy() for k, v in planted.tables.items() if k != "providers"}
    drop = Drop(
        tables=tables,
        settings=planted.settings,
        catalogue=planted.catalogue,
        as_of=planted.as_of,
        calendar=planted.calendar,
    )
    result = run_checks(drop, only=["funds"])
    truth = planted.truth_frame().filter(pl.col("note") != "服务类救助支付给未登记的服务机构")
    assert truth.height < planted.truth_frame().height
    for check_id in FUNDS_CHECKS:
        keys = list(load_all()[check_id].keys)
        expected = truth.filter(pl.col("check_id") == check_id).select(keys).unique().sort(keys)
        found = (
            result.findings.filter(pl.col("check_id") == check_id).select(keys).unique().sort(keys)
        )
        assert_frame_equal(found, expected, check_dtypes=False)
    notes = result.summary.filter(pl.col("note").is_not_null())["check_id"].to_list()
    assert notes == ["out_of_scope_spending"]


def test_plants_scale_and_use_distinct_households(planted):
    truth = planted.truth_frame()
    for check_id in FUNDS_CHECKS:
        assert truth.filter(pl.col("check_id") == check_id).height >= 3
    t = planted.tables
    by_txn = t["ledger"].select("txn_id", pl.col("case_id").alias("txn_case"))
    households = (
        truth.join(by_txn, on="txn_id", how="left")
        .with_columns(case_id=pl.coalesce("case_id", "txn_case"))
        .join(t["cases"].select("case_id", "household_id"), on="case_id")
        .group_by("household_id")
        .agg(pl.col("check_id").unique())
    )
    assert set(households["household_id"]) <= planted.claimed_households
    together = {"paid_after_death", "deceased_still_active"}
    for checks in households["check_id"]:
        assert len(checks) == 1 or set(checks) == together, checks


# --- writing and reading back ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_reads_back_unchanged(drops, district, fmt):
    result = read_drop(drops[fmt])
    assert result.rejects.height == 0, result.rejects.head(5).to_dicts()
    assert {name for name, _ in result.ignored} == {TRUTH_FILE, LOOKALIKES_FILE}
    assert set(result.tables) == set(district.tables)
    for name, frame in district.tables.items():
        expected = conform(name, ordered(name, frame))
        assert_frame_equal(
            result.tables[name].select(expected.columns), expected, check_dtypes=True
        )


def test_generate_is_deterministic_and_writes_the_built_district(drops, district, tmp_path):
    again = generate(tmp_path / "again", households=HOUSEHOLDS, seed=PARAMS.seed, fmt="csv")
    assert _digests(again.out) == _digests(drops["csv"])
    _write(district, tmp_path / "written", "csv")
    assert _digests(tmp_path / "written") == _digests(drops["csv"])


@pytest.mark.parametrize("fmt", FORMATS[1:])
def test_writers_give_the_same_bytes(drops, district, tmp_path, fmt):
    # money, dates, months, integers and text: cases and trainings between them have them all
    tables = {k: district.tables[k] for k in ("cases", "trainings")}
    for folder in ("a", "b"):
        write_drop(
            tables,
            tmp_path / folder,
            fmt=fmt,
            seed=PARAMS.seed,
            export_month=district.months[-1],
            truth=district.truth_frame(),
            lookalikes=district.lookalike_frame(),
        )
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    for name in tables:
        file = file_name(name, fmt)
        assert (tmp_path / "a" / file).read_bytes() == (drops[fmt] / file).read_bytes()


def test_other_seed_other_data(drops, tmp_path):
    other = generate(tmp_path / "other", households=HOUSEHOLDS, seed=PARAMS.seed + 1, fmt="csv")
    mine, theirs = _digests(drops["csv"]), _digests(other.out)
    assert mine.keys() == theirs.keys()
    assert all(mine[k] != theirs[k] for k in ("persons.csv", "ledger.csv", "truth.csv"))


def test_csv_is_english_utf8_with_yuan(drops):
    folder = drops["csv"]
    head = (folder / "ledger.csv").read_text("utf-8").splitlines()[:2]
    assert head[0] == ",".join(schema.TABLES["ledger"].column_names)
    amount = head[1].split(",")[schema.TABLES["ledger"].column_names.index("amount")]
    assert amount.endswith(".00") or amount[-3] == "."


def test_zh_csv_is_gb18030_with_chinese_headers_in_a_seeded_order(drops):
    folder = drops["zh-csv"]
    table = schema.TABLES["ledger"]
    text = (folder / file_name("ledger", "zh-csv")).read_bytes().decode("gb18030")
    header = text.split("\r\n")[0].split(",")
    assert sorted(header) == sorted(c.zh for c in table.columns)
    assert header != [c.zh for c in table.columns]


def test_xlsx_has_title_total_and_typed_cells(drops):
    import fastexcel

    path = drops["xlsx"] / file_name("ledger", "xlsx")
    sheet = fastexcel.read_excel(str(path)).load_sheet(0, header_row=None)
    frame = sheet.to_polars()
    first = frame.row(0)
    assert first[0].startswith("长宁区资金实发明细表") and "导出" in first[0]
    assert frame.row(1)[0] == "流水号"
    assert frame.row(frame.height - 1)[0] == "合计"
    typed = fastexcel.read_excel(str(path)).load_sheet(0, header_row=1).to_polars()
    assert typed.schema["拨付日期"] in (pl.Date, pl.Datetime)
    assert typed.schema["金额"] == pl.Float64
    assert typed.schema["流水号"] == typed.schema["银行账号"] == pl.String


def test_xlsx_refuses_a_table_beyond_the_sheet_limit():
    too_big = pl.DataFrame({"x": pl.zeros(EXCEL_MAX_ROWS - 2, dtype=pl.Int8, eager=True)})
    with pytest.raises(ValueError, match="Excel"):
        check_excel_limits({"ledger": too_big})
    check_excel_limits({"persons": too_big})  # no 合计 row: title + header + data fit


def test_truth_files_and_summary(drops):
    summary = drops["summary"]
    truth = pl.read_csv(summary.out / TRUTH_FILE, infer_schema=False)
    lookalikes = pl.read_csv(summary.out / LOOKALIKES_FILE, infer_schema=False)
    assert tuple(truth.columns) == TRUTH_COLUMNS == tuple(lookalikes.columns)
    assert truth.height == summary.truth and lookalikes.height == summary.lookalikes
    assert set(FUNDS_CHECKS) <= set(truth["check_id"])
    assert set(truth["check_id"]) <= set(load_all())
    ledger = pl.read_csv(summary.out / "ledger.csv", infer_schema=False)
    assert ledger.height == summary.rows["ledger"]


def test_progress_reports_in_chinese_and_in_order(drops):
    shares = [s for _, s in drops["progress"]]
    assert shares == sorted(shares) and shares[-1] == 1.0 and 0.0 <= shares[0]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in m) for m, _ in drops["progress"])


def test_a_real_drop_is_never_overwritten(tmp_path, small_drop):
    before = _digests(small_drop)
    with pytest.raises(ValueError, match="覆盖"):
        generate(small_drop, households=150, fmt="csv")
    assert _digests(small_drop) == before


def test_a_previous_demo_in_another_format_is_replaced(drops, district, tmp_path):
    folder = tmp_path / "demo"
    _write(district, folder, "parquet")
    _write(district, folder, "csv")
    assert _digests(folder) == _digests(drops["csv"])


def test_unknown_format_is_refused_in_chinese(tmp_path):
    with pytest.raises(ValueError, match="格式"):
        generate(tmp_path / "x", households=150, fmt="json")
    assert not (tmp_path / "x").exists()
