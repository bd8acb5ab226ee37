"""The 资金比对 services on a tiny drop run through the real engine, findings.csv and reader of
results: filters, totals, the street × check matrix, the comparison, masking and the export."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from dataclasses import dataclass
from decimal import Decimal

import polars as pl
import pytest
from stdnum.cn import ric

from analytics import amounts, evidence
from analytics.minidrop import mini_drop
from analytics.results import load_check_summary, load_findings
from analytics.views import funds as view
from checks.engine import run_checks
from checks.registry import REGISTRY, select


def make_id(body: str) -> str:
    return body + ric.calc_check_digit(body + "0")


A1 = make_id("31010519800101123")
A2 = make_id("31010519751212002")
A3 = make_id("31010519660303004")
ACC1, ACC2, ACC3 = "6222020200112233445", "6217000011112222333", "6228480012345678901"
ACC9 = "6212260011223344556"
SHOP = "91310105MA1FL00004"  # an organisation's credit code: public, never masked
H, J = "华阳路街道", "江苏路街道"
RAW = (A1, A2, A3, ACC1, ACC2, ACC3, ACC9)
# Every registered funds check, in registry order.
FUNDS = [s.check_id for s in select(["funds"])]


def case(case_id, household, applicant, street, **kw):
    row = dict(
        case_id=case_id,
        household_id=household,
        applicant_id_number=applicant,
        street=street,
        assistance_type="最低生活保障",
        status="在册",
        accepted_date="2025-01-02",
        decided_date="2025-01-20",
        monthly_amount=155000,
        start_month="2025-02",
        difficulty="中",
    )
    row.update(kw)
    return row


def ent(case_id, month, amount, idn, account, item="低保金", kind="正常"):
    return dict(
        month=month,
        case_id=case_id,
        id_number=idn,
        item=item,
        kind=kind,
        amount=amount,
        account_no=account,
    )


def txn(
    txn_id,
    case_id,
    month,
    amount,
    payee,
    account,
    street,
    pay_date=None,
    status="成功",
    item="低保金",
    fund="JZ01",
):
    return dict(
        txn_id=txn_id,
        batch_id="B" + month,
        month=month,
        pay_date=pay_date or f"{month}-10",
        street=street,
        fund_code=fund,
        item=item,
        case_id=case_id,
        payee_id=payee,
        payee_name="某",
        account_no=account,
        amount=amount,
        status=status,
    )


def tables() -> dict[str, list[dict]]:
    return dict(
        cases=[
            case("C1", "H1", A1, H),
            case("C2", "H2", A2, J),
            case("C3", "H3", A3, J, status="终止", termination_date="2026-02-15"),
        ],
        accounts=[
            dict(case_id="C1", account_no=ACC1, holder_id_number=A1),
            dict(case_id="C2", account_no=ACC2, holder_id_number=A2),
            dict(case_id="C3", account_no=ACC3, holder_id_number=A3),
        ],
        persons=[
            dict(id_number=a, name="某", household_id=h, street=s)
            for a, h, s in ((A1, "H1", H), (A2, "H2", J), (A3, "H3", J))
        ],
        entitlements=[
            ent("C1", "2026-02", 155000, A1, ACC1),
            ent("C1", "2026-03", 155000, A1, ACC1),
            ent("C2", "2026-02", 120000, A2, ACC2),
            ent("C2", "2026-03", 120000, A2, ACC2),
            ent("C1", "2026-03", 30000, A1, ACC1, item="小金额救助金"),
            ent("C1", "2026-03", 30000, A1, ACC1, item="小金额救助金", kind="补发"),
        ],
        ledger=[
            txn("T1", "C1", "2026-02", 155000, A1, ACC1, H),
            txn("T2", "C1", "2026-03", 155000, A1, ACC1, H),
            txn("T3", "C1", "2026-03", 155000, A1, ACC1, H, pay_date="2026-03-12"),
            txn("T4", "C2", "2026-03", 100000, A2, ACC9, J, pay_date="2026-03-20"),
            txn("T5", "C3", "2026-03", 80000, A3, ACC3, J),
            txn("T6", "C2", "2026-02", 120000, A2, ACC2, J, status="退票"),
            txn("T7", None, "2026-03", 500000, SHOP, ACC9, H, item="办公用品"),
            txn(
                "T8",
                "C1",
                "2026-03",
                30000,
                A1,
                ACC1,
                H,
                pay_date="2026-03-05",
                item="小金额救助金",
                fund="JZ08",
            ),
            txn(
                "T9",
                "C1",
                "2026-03",
                30000,
                A1,
                ACC1,
                H,
                pay_date="2026-03-06",
                item="小金额救助金",
                fund="JZ08",
            ),
        ],
    )


@dataclass
class Run:
    drop: object
    findings: pl.DataFrame  # all families, as load_findings reads them back
    summary: pl.DataFrame


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    drop = mini_drop(as_of="2026-03-31", **tables())
    result = run_checks(drop, only=["funds"])
    out = tmp_path_factory.mktemp("out")
    result.contract_findings().write_csv(out / "findings.csv")
    result.summary.write_csv(out / "checks.csv")
    return Run(drop, load_findings(out), load_check_summary(out))


@pytest.fixture(scope="module")
def funds(run) -> pl.DataFrame:
    return view.funds_findings(run.findings)


def one(funds: pl.DataFrame, check_id: str, **keys) -> dict:
    rows = funds.filter(pl.col("check_id") == check_id, *[pl.col(k) == v for k, v in keys.items()])
    assert rows.height == 1, rows
    return rows.row(0, named=True)


# --- selection and totals ------------------------------------------------------------------------


def test_funds_findings_are_the_family_most_severe_and_costly_first(run, funds):
    assert set(funds["family"]) == {"funds"}
    assert funds.height == run.findings.filter(pl.col("family") == "funds").height == 12
    ranks = [view.SEVERITY_RANK[s] for s in funds["severity"]]
    assert ranks == sorted(ranks)
    high = funds.filter(pl.col("severity") == "高")["amount_fen"].to_list()
    assert high == sorted(high, reverse=True)


@dataclass
class Scope:
    streets: frozenset[str] | None


@pytest.mark.parametrize(
    ("viewer", "streets"),
    [
        (None, {H, J}),
        (Scope(None), {H, J}),
        (Scope(frozenset({J})), {J}),
        (Scope(frozenset()), set()),
    ],
)
def test_viewer_scope_limits_streets(run, viewer, streets):
    assert set(view.funds_findings(run.findings, viewer)["street"]) == streets


@pytest.mark.parametrize(
    ("months", "streets", "checks", "expected"),
    [
        (None, None, None, 12),
        ([], [], [], 12),
        (["2026-02"], None, None, 2),
        (None, [H], None, 4),
        (None, [J], ["control_total_mismatch"], 2),
        (["2026-03"], [H], ["duplicate_payment", "out_of_scope_spending"], 2),
        (["2025-01"], None, None, 0),
    ],
)
def test_filter_findings(funds, months, streets, checks, expected):
    shown = view.filter_findings(funds, months, streets, checks)
    assert shown.height == expected
    if months:
        assert set(shown["month"]) <= set(months)


def test_filter_options_follow_the_findings(funds):
    options = view.filter_options(funds)
    assert options["months"] == ["2026-03", "2026-02"]
    assert options["streets"] == [H, J]  # contract order
    assert "paid_after_death" not in options["checks"]
    assert options["checks"][0] == "out_of_scope_spending"


def test_by_check_lists_every_funds_check(funds):
    totals = view.by_check(funds)
    assert totals["check_id"].to_list() == view.funds_checks()["check_id"].to_list()
    assert totals["check_id"].to_list() == FUNDS
    got = {r["check_id"]: (r["findings"], r["amount_fen"]) for r in totals.iter_rows(named=True)}
    assert got["duplicate_payment"] == (1, 155000)
    assert got["small_rescue_over_cap"] == (1, 10000)
    # 汇总金额不符 totals money other findings count row by row: no money of its own
    assert got["control_total_mismatch"] == (3, 0)
    # a payment two checks flag counts under each of them (each check's 涉及金额 on its own)
    assert got["paid_without_entitlement"] == got["paid_after_termination"] == (1, 80000)
    assert got["paid_after_death"] == (0, 0)
    assert sum(f for f, _ in got.values()) == funds.height


def test_by_street_lists_every_street_in_contract_order(funds):
    from analytics.schema import STREETS

    totals = view.by_street(funds)
    assert totals["street"].to_list() == list(STREETS)
    got = {r[0]: r[1:] for r in totals.rows()}
    # T3 and T7 and the 小金额 excess; the control total (155000) is not counted again
    assert got[H] == (4, 155000 + 500000 + 10000)
    # T4 (two checks) and T5 (two checks) once each, the unpaid entitlement, the difference
    assert got[J] == (8, 100000 + 80000 + 120000 + 20000)
    assert all(got[s] == (0, 0) for s in STREETS if s not in (H, J))
    # the streets a viewer chose or may see, in contract order, and findings of other streets
    assert view.by_street(funds, [J]).rows() == [(J, 8, 320000), (H, 4, 665000)]
    assert view.by_street(funds.filter(pl.col("street") == J), [J, H]).rows() == [
        (J, 8, 320000),
        (H, 0, 0),
    ]


def test_shown_streets_follow_the_viewer_and_the_filter():
    from analytics.access import Viewer
    from analytics.schema import STREETS

    assert view.shown_streets() == list(STREETS)
    assert view.shown_streets(Viewer(name="x", role="street", street=J)) == [J]
    assert view.shown_streets(None, [J, H, J]) == [H, J]


def test_matrix_counts_and_money_agree_with_the_totals(funds):
    counts, money = view.matrix(funds), view.matrix(funds, "amount_fen")
    titles = [t for t in view.funds_checks()["title"] if t in set(funds["title"])]
    assert counts.columns == money.columns == ["street", *titles]
    from analytics.schema import STREETS

    assert counts["street"].to_list() == money["street"].to_list() == list(STREETS)
    assert (
        counts.select(pl.sum_horizontal(pl.col(titles)).alias("n"))["n"].to_list()
        == view.by_street(funds)["findings"].to_list()
    )
    per_street = money.select(pl.sum_horizontal(pl.col(titles)).alias("m"))["m"].to_list()
    # each cell on its own: T4 and T5, flagged by two checks each, count in both cells
    assert per_street[:2] == [665000, 320000 + 100000 + 80000] and not any(per_street[2:])
    assert money.filter(pl.col("street") == J)["汇总金额不符"].item() == 0
    assert counts.filter(pl.col("street") == H)["汇总金额不符"].item() == 1
    assert counts.filter(pl.col("street") == H)["金额不符"].item() == 0
    with pytest.raises(ValueError):
        view.matrix(funds, "seconds")


def test_matrix_of_nothing_lists_the_streets_and_no_check(funds):
    from analytics.schema import STREETS

    assert view.matrix(funds.head(0))["street"].to_list() == list(STREETS)
    assert view.matrix_table(funds.head(0)).columns == ["街镇"]
    assert view.matrix(funds.head(0), streets=[J]).rows() == [(J,)]


def test_metrics_report_skipped_and_unrun_checks(run, funds):
    m = view.metrics(funds, run.summary)
    assert (m.findings, m.amount_fen) == (12, 985000)
    assert m.amount_fen == amounts.money_at_risk_fen(funds) < int(funds["amount_fen"].sum())
    # every funds check ran but 身故后仍拨付 (no events table); these ten fired
    assert m.checks_fired == funds["check_id"].n_unique() == 10
    assert m.checks_run == len(FUNDS) - 1
    assert m.skipped == (("身故后仍拨付", "缺少部门共享信息（events），本项未检查"),)

    only_two = run.summary.filter(
        pl.col("check_id").is_in(["duplicate_payment", "amount_mismatch"])
    )
    m = view.metrics(funds.head(0), only_two)
    assert (m.findings, m.amount_fen, m.checks_fired, m.checks_run) == (0, 0, 0, 2)
    assert len(m.skipped) == len(FUNDS) - 2
    assert {r for _, r in m.skipped} == {"本次检查未运行此项"}

    assert view.metrics(funds, run.summary.head(0)).checks_run == len(FUNDS)


# --- what the screen and the export show --------------------------------------------------------


def shown_text(frame: pl.DataFrame) -> str:
    return " ".join(str(v) for col in frame.columns for v in frame[col].to_list())


def test_findings_table_is_masked_and_in_chinese(funds):
    table = view.findings_table(funds)
    assert table.columns == list(view.FINDING_HEADERS.values())
    assert table.height == funds.height
    assert not any(raw in shown_text(table) for raw in RAW)
    ids = table["身份证号"].drop_nulls().to_list()
    assert ids and all(v[:6] == "310105" and v[6:14] == "*" * 8 for v in ids)
    accounts = table["银行账号"].drop_nulls().to_list()
    assert accounts and all(v.startswith(("6222 ****", "6212 ****", "6228 ****")) for v in accounts)
    assert table["涉及金额（元）"].to_list() == [Decimal(f) / 100 for f in funds["amount_fen"]]
    assert "evidence" not in table.columns and "证据" not in table.columns


def read_back(content: bytes) -> pl.DataFrame:
    return pl.read_excel(io.BytesIO(content), sheet_name=view.SHEET, infer_schema_length=0)


@pytest.mark.parametrize(
    "filters",
    [
        dict(),
        dict(streets=[J]),
        dict(months=["2026-02"], checks=["entitled_not_paid"]),
    ],
)
def test_excel_export_has_exactly_the_rows_on_screen_and_no_raw_values(funds, filters):
    shown = view.filter_findings(funds, **filters)
    table = view.findings_table(shown)

    content = view.findings_excel(shown)

    back = read_back(content)
    assert back.columns == table.columns
    assert back.height == table.height
    text_columns = [c for c in table.columns if c != "涉及金额（元）"]
    assert back.select(text_columns).rows() == table.select(text_columns).rows()
    assert [Decimal(v).quantize(Decimal("0.01")) for v in back["涉及金额（元）"]] == table[
        "涉及金额（元）"
    ].to_list()
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        xml = b"".join(archive.read(name) for name in archive.namelist()).decode("utf-8")
    assert not any(raw in xml for raw in RAW)


def test_display_tables_for_the_charts(funds):
    assert view.check_table(view.by_check(funds)).columns == [
        "检查项",
        "严重程度",
        "发现数",
        "涉及金额（元）",
    ]
    streets = view.street_table(view.by_street(funds))
    assert streets.rows()[0] == (H, 4, Decimal("6650.00"))
    assert streets.rows()[2][1:] == (0, Decimal("0.00"))
    matrix = view.matrix_table(funds, [H, J])
    assert matrix["街镇"].to_list() == [H, J]
    assert matrix.columns[1:] and all(c.endswith("（条）") for c in matrix.columns[1:])
    assert view.money_columns(streets) == ["涉及金额（元）"]


# --- one finding: entitlement rows against ledger rows --------------------------------------------


def cells_by_row(frame: pl.DataFrame, cells, key: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for row, column in cells:
        out.setdefault(frame[key][row], set()).add(column)
    return out


@pytest.mark.parametrize(
    ("check_id", "keys", "ent_cases", "paid_txns", "ent_cells", "paid_cells"),
    [
        ("duplicate_payment", dict(txn_id="T3"), ["C1"], ["T2", "T3"], {}, {"T3": {"流水号"}}),
        (
            "amount_mismatch",
            dict(case_id="C2"),
            ["C2"],
            ["T4"],
            {"C2": {"应发金额（元）", "银行账号"}},
            {"T4": {"金额（元）", "银行账号"}},
        ),
        (
            "entitled_not_paid",
            dict(case_id="C2"),
            ["C2"],
            ["T6"],
            {"C2": {"应发金额（元）"}},
            {"T6": {"状态"}},
        ),
        (
            "late_disbursement",
            dict(txn_id="T4"),
            ["C2"],
            ["T4"],
            {"C2": {"应发金额（元）", "银行账号"}},
            {"T4": {"拨付日期", "金额（元）", "银行账号"}},
        ),
        (
            "payee_not_registered",
            dict(txn_id="T4"),
            ["C2"],
            ["T4"],
            {"C2": {"应发金额（元）", "银行账号"}},
            {"T4": {"金额（元）", "银行账号"}},
        ),
        ("paid_after_termination", dict(txn_id="T5"), [], ["T5"], {}, {"T5": {"发放月份"}}),
        ("paid_without_entitlement", dict(txn_id="T5"), [], ["T5"], {}, {"T5": {"流水号"}}),
        ("out_of_scope_spending", dict(txn_id="T7"), [], ["T7"], {}, {"T7": {"救助项目"}}),
        (
            "small_rescue_over_cap",
            dict(),
            ["C1", "C1"],
            ["T8", "T9"],
            {},
            {"T8": {"金额（元）"}, "T9": {"金额（元）"}},
        ),
        (
            "control_total_mismatch",
            dict(street=J, month="2026-03"),
            ["C2"],
            ["T5", "T4"],
            {"C2": {"应发金额（元）", "银行账号"}},
            {
                "T5": {"救助编号", "收款人证件号", "银行账号", "金额（元）"},
                "T4": {"金额（元）", "银行账号"},
            },
        ),
        (
            "control_total_mismatch",
            dict(street=J, month="2026-02"),
            ["C2"],
            ["T6"],
            {"C2": {"应发金额（元）"}},
            {"T6": {"状态"}},
        ),
    ],
)
def test_compare_shows_both_sides_and_marks_the_differences(
    run, funds, check_id, keys, ent_cases, paid_txns, ent_cells, paid_cells
):
    finding = one(funds, check_id, **keys)

    c = view.compare(finding, run.drop.tables)

    assert c.entitled["救助编号"].to_list() == ent_cases
    assert c.paid["流水号"].to_list() == paid_txns
    assert cells_by_row(c.entitled, c.entitled_cells, "救助编号") == ent_cells
    assert cells_by_row(c.paid, c.paid_cells, "流水号") == paid_cells
    # the 差异 column names the same cells, for readers who cannot see the colour
    for frame, cells, key in ((c.entitled, ent_cells, "救助编号"), (c.paid, paid_cells, "流水号")):
        for k, diff in zip(frame[key], frame["差异"], strict=True):
            assert set(filter(None, diff.split("、"))) == cells.get(k, set())
    assert not any(raw in shown_text(c.entitled) + shown_text(c.paid) for raw in RAW)
    assert c.scope


def test_compare_marks_paid_amounts_when_nothing_was_entitled(run, funds):
    tables = dict(run.drop.tables)
    tables["entitlements"] = run.drop.tables["entitlements"].filter(pl.col("case_id") != "C2")
    c = view.compare(one(funds, "control_total_mismatch", street=J, month="2026-03"), tables)
    assert c.entitled.height == 0
    assert set(c.paid_cells) == {(0, "金额（元）"), (1, "金额（元）")}


def test_compare_marks_the_findings_own_ledger_row(run, funds):
    c = view.compare(one(funds, "duplicate_payment"), run.drop.tables)
    assert c.paid.columns[:3] == ["本条", "差异", "流水号"]
    assert c.paid.select("流水号", "本条").rows() == [("T2", ""), ("T3", "●")]
    assert "本条" not in view.compare(one(funds, "amount_mismatch"), run.drop.tables).paid.columns


def test_compare_keeps_an_organisations_code_and_masks_a_persons(run, funds):
    c = view.compare(one(funds, "out_of_scope_spending"), run.drop.tables)
    assert c.paid["收款人证件号"].to_list() == [SHOP]
    c = view.compare(one(funds, "late_disbursement"), run.drop.tables)
    assert c.paid["收款人证件号"].to_list() == [A2[:6] + "*" * 8 + A2[-4:]]


def test_compare_when_the_drop_no_longer_holds_the_row(run, funds):
    tables = dict(run.drop.tables)
    tables["ledger"] = run.drop.tables["ledger"].filter(pl.col("txn_id") != "T3")
    c = view.compare(one(funds, "duplicate_payment"), tables)
    assert c.entitled.height == c.paid.height == 0
    assert "T3" in c.scope and "没有" in c.scope


def register_funds_check(monkeypatch, keys: tuple[str, ...]) -> str:
    """A funds check of the given key shape in the registry for one test (none has it today)."""
    check_id = "test_" + "_".join(keys)
    spec = dataclasses.replace(REGISTRY["late_disbursement"], check_id=check_id, keys=keys)
    monkeypatch.setitem(REGISTRY, check_id, spec)
    return check_id


def synthetic(funds: pl.DataFrame, check_id: str, **keys) -> dict:
    """A funds finding of ``check_id`` with only ``keys`` filled in, as funds_findings gives it."""
    finding = dict.fromkeys(funds.columns)
    finding.update(check_id=check_id, family="funds", evidence="{}", **keys)
    return finding


@pytest.mark.parametrize(
    ("keys", "values", "ent_rows", "paid_txns", "scope"),
    [
        (
            ("account_no", "month"),
            dict(account_no=ACC1, month="2026-03"),
            [("C1", "低保金"), ("C1", "小金额救助金"), ("C1", "小金额救助金")],
            ["T8", "T9", "T2", "T3"],
            "与该线索银行账号、月份相同的全部应发记录与实发记录（含退票）。",
        ),
        (
            ("id_number", "item"),
            dict(id_number=A2, item="低保金"),
            [("C2", "低保金"), ("C2", "低保金")],
            ["T6", "T4"],
            "与该线索身份证号、救助项目相同的全部应发记录与实发记录（含退票）。",
        ),
        (
            ("street", "month"),
            dict(street=J, month="2026-03"),
            [("C2", "低保金")],
            ["T5", "T4"],
            "与该线索街镇、月份相同的全部应发记录与实发记录（含退票）（应发记录按案件所属街镇）。",
        ),
        (
            ("account_no", "month"),
            dict(account_no=ACC1, month=None),  # a blank key is not used
            [("C1", "低保金"), ("C1", "低保金"), ("C1", "小金额救助金"), ("C1", "小金额救助金")],
            ["T1", "T8", "T9", "T2", "T3"],
            "与该线索银行账号相同的全部应发记录与实发记录（含退票）。",
        ),
        (
            ("staff_id",),
            dict(staff_id="S001"),
            [],
            [],
            "应发名册和资金实发明细都没有工号，无法对照。",
        ),
    ],
    ids=["account_month", "id_number_item", "street_month", "blank_month", "staff_id"],
)
def test_compare_a_funds_check_of_another_key_shape(
    monkeypatch, run, funds, keys, values, ent_rows, paid_txns, scope
):
    # A new funds check whose keys are none of today's shapes: each side's rows are those equal
    # to the finding in the key columns that side holds (the ledger's payee is the ID number).
    check_id = register_funds_check(monkeypatch, keys)

    c = view.compare(synthetic(funds, check_id, **values), run.drop.tables)

    assert sorted(c.entitled.select("救助编号", "救助项目").rows()) == ent_rows
    assert c.paid["流水号"].to_list() == paid_txns
    assert c.scope == scope
    assert not any(raw in shown_text(c.entitled) + shown_text(c.paid) for raw in RAW)


def test_styled_highlights_the_marked_cells_and_formats_money(run, funds):
    c = view.compare(one(funds, "amount_mismatch"), run.drop.tables)
    paid = c.paid.with_columns(pl.lit(None, pl.String).alias("批次号"))
    styler = view.styled(paid, c.paid_cells)
    styler._compute()
    columns = list(paid.columns)
    marked = {(r, columns[col]) for (r, col), css in styler.ctx.items() if css}
    assert marked == set(c.paid_cells)
    body = styler._translate(False, False)["body"][0]  # the first entry is the index
    assert body[columns.index("金额（元）") + 1]["display_value"] == "1,000.00"
    assert body[columns.index("批次号") + 1]["display_value"] == "—"


def test_styled_grid_holds_neutralised_text(run, funds):
    """The grid's own CSV download is a spreadsheet too: a ledger item that is a formula is
    shown with its apostrophe, amounts untouched."""
    c = view.compare(one(funds, "amount_mismatch"), run.drop.tables)
    paid = c.paid.with_columns(pl.lit('=HYPERLINK("http://evil.example")').alias("救助项目"))
    styler = view.styled(paid, c.paid_cells)
    assert set(styler.data["救助项目"]) == {'\'=HYPERLINK("http://evil.example")'}
    assert styler.data["金额（元）"].tolist() == paid["金额（元）"].to_list()


def test_charts_draw_data_labels_as_text():
    from analytics.charts import funds as charts

    totals = pl.DataFrame({"street": ["<b>华阳路街道</b>"], "findings": [1], "amount_fen": [100]})
    fig = charts.street_bars(totals)
    assert {t.y for t in fig.data} == {("&lt;b&gt;华阳路街道&lt;/b&gt;",)}
    counts = pl.DataFrame({"street": ["<a href='x'>s</a>"], "<i>检查</i>": [2]})
    heat = charts.street_check_heatmap(counts)
    assert heat.data[0].y == ("&lt;a href='x'&gt;s&lt;/a&gt;",)
    assert heat.data[0].x == ("&lt;i&gt;检查&lt;/i&gt;",)


# --- evidence --------------------------------------------------------------------------------


def evidence_text(raw: str) -> str:
    """Every cell of the evidence's sections and its downloadable JSON, as one text."""
    cells = [
        str(v) for part in evidence.sections(raw) for c in part.table.columns for v in part.table[c]
    ]
    return " ".join(cells) + json.dumps(evidence.masked(raw), ensure_ascii=False)


def test_evidence_is_masked_and_labelled_in_chinese(funds):
    raw = one(funds, "payee_not_registered")["evidence"]
    assert ACC9 in raw and ACC2 in raw  # the check's own JSON names the rows

    parts = {part.title: part.table for part in evidence.sections(raw)}

    assert not any(value in evidence_text(raw) for value in RAW)
    facts = dict(parts["核查要点"].rows())
    assert facts["原因"] == "收款账号与案件登记的账户不一致"
    assert facts["登记收款账户"] == "6217 **** **** *** 2333"
    ledger = parts["资金实发明细"].row(0, named=True)
    assert ledger["流水号"] == "T4" and ledger["收款人证件号"] == A2[:6] + "*" * 8 + A2[-4:]
    assert evidence.masked(raw)["finding_id"].startswith("F")


def test_evidence_keeps_an_organisations_code(funds):
    raw = one(funds, "out_of_scope_spending")["evidence"]
    parts = {part.title: part.table for part in evidence.sections(raw)}
    assert parts["资金实发明细"].row(0, named=True)["收款人证件号"] == SHOP
    assert evidence.sections(None) == []
