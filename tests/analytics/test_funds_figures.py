"""资金比对's figures as numbers and as drawn: every street listed (zero where nothing was found),
money at risk by the one definition, money written 804,530.00 in hover and bar labels and in 万
on the axis, counts with separators. No browser."""

from __future__ import annotations

import json
from decimal import Decimal

import polars as pl
import pytest

from analytics import amounts
from analytics.charts import funds as charts
from analytics.schema import STREETS
from analytics.views import funds as view

H, J, XJ = "华阳路街道", "江苏路街道", "新泾镇"


def finding(
    fid: str,
    check_id: str,
    street: str,
    amount_fen: int | None,
    txn_id: str | None = None,
    month: str = "2026-03",
) -> dict:
    return dict(
        finding_id=fid,
        check_id=check_id,
        family="funds",
        severity="高",
        street=street,
        month=month,
        txn_id=txn_id,
        amount_fen=amount_fen,
    )


FINDINGS = pl.DataFrame(
    [
        finding("F1", "duplicate_payment", H, 80_453_000, "T1"),
        finding("F2", "payee_not_registered", H, 80_453_000, "T1"),
        finding("F3", "control_total_mismatch", H, 80_453_000),
        finding("F4", "entitled_not_paid", J, 155_000),
        *[finding(f"G{i}", "late_disbursement", J, 100, f"T{100 + i}") for i in range(1_234)],
    ]
)


def test_by_street_lists_every_street_with_the_definitions_money():
    totals = view.by_street(FINDINGS)
    assert totals["street"].to_list() == list(STREETS)
    rows = {s: (n, fen) for s, n, fen in totals.rows()}
    assert rows[H] == (3, 80_453_000)  # T1 once, the control total not again
    assert rows[J] == (1_235, 155_000 + 123_400)
    assert rows[XJ] == (0, 0)
    assert sum(fen for _, fen in rows.values()) == amounts.money_at_risk_fen(FINDINGS)


def test_findings_of_no_listed_street_come_after_the_streets():
    other = FINDINGS.head(1).with_columns(pl.lit(view.UNKNOWN_STREET).alias("street"))
    totals = view.by_street(pl.concat([FINDINGS, other]), [J, H])
    assert totals["street"].to_list() == [J, H, view.UNKNOWN_STREET]
    assert totals.row(2) == (view.UNKNOWN_STREET, 1, 80_453_000)


def test_street_bars_draw_every_street_money_in_wan_on_the_axis():
    fig = charts.street_bars(view.by_street(FINDINGS))
    count, money = fig.data
    assert list(count.y) == list(money.y) == list(STREETS)
    assert list(money.x)[:2] == [pytest.approx(804_530.0), pytest.approx(2_784.0)]
    assert list(count.x)[STREETS.index(XJ)] == 0
    # zero bars write their zero beside the bar
    assert count.textposition[STREETS.index(XJ)] == "outside"
    assert count.textposition[STREETS.index(J)] == "auto"
    # money: 804,530.00 in hover and on the bars; 万 on the axis, never plotly's "k" or "M"
    assert ":,.2f" in money.hovertemplate and money.texttemplate == "%{x:,.2f}"
    assert "%{x:,}" in count.hovertemplate and count.texttemplate == "%{x:,}"
    axis = fig.layout.xaxis2
    assert axis.tickmode == "array" and axis.ticktext[-1].endswith("万")
    assert axis.tickvals[-1] >= 804_530.0 and axis.range[1] >= 804_530.0
    assert "万" in "".join(axis.ticktext) and not any(t.endswith(("k", "M")) for t in axis.ticktext)
    assert fig.layout.xaxis.tickformat == ",d"


def test_check_bars_count_no_money_for_a_control_total():
    totals = view.by_check(FINDINGS)
    money = dict(totals.select("check_id", "amount_fen").rows())
    assert money["control_total_mismatch"] == 0
    assert money["duplicate_payment"] == money["payee_not_registered"] == 80_453_000
    fig = charts.check_bars(totals)
    titles = totals["title"].to_list()
    assert fig.data[1].x[titles.index("汇总金额不符")] == 0
    assert fig.data[0].x[titles.index("汇总金额不符")] == 1


def test_heatmap_lists_every_street_and_writes_counts_and_money_with_separators():
    counts, money = view.matrix(FINDINGS), view.matrix(FINDINGS, "amount_fen")
    assert counts["street"].to_list() == list(STREETS)
    fig = charts.street_check_heatmap(counts, money)
    (heat,) = fig.data
    assert list(heat.y) == list(STREETS)
    late = list(heat.x).index("拨付不及时")
    assert heat.text[STREETS.index(J)][late] == "1,234"
    assert heat.customdata[STREETS.index(J)][late] == pytest.approx(1_234.0)
    assert "%{z:,}" in heat.hovertemplate and "%{customdata:,.2f}" in heat.hovertemplate
    assert all(v == 0 for v in heat.z[STREETS.index(XJ)])


def test_figures_of_nothing_still_list_the_streets():
    empty = FINDINGS.head(0)
    totals = view.by_street(empty)
    assert totals["street"].to_list() == list(STREETS) and set(totals["findings"]) == {0}
    fig = charts.street_bars(totals)
    assert list(fig.data[0].y) == list(STREETS)
    json.loads(fig.to_json())  # serialises with the all-zero axis


def test_the_findings_table_keeps_money_numeric_and_says_what_is_counted():
    table = view.findings_table(
        FINDINGS.head(4).with_columns(
            *[
                pl.lit(None, pl.String).alias(c)
                for c in ("title", "item", "case_id", "id_number", "account_no", "summary")
            ]
        )
    )
    assert table.schema["涉及金额（元）"] == view.YUAN
    assert table["涉及金额（元）"].to_list()[0] == Decimal("804530.00")
    assert table["计入合计"].to_list() == [
        view.COUNTED_YES,
        view.COUNTED_SAME_TXN,
        view.COUNTED_TOTAL,
        view.COUNTED_YES,
    ]
