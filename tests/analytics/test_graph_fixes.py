"""关系图谱 as a new supervisor reads it: readable labels, named staff and clusters, a search
that takes what the page shows, a district-wide ranking, 涉及金额 by its one definition, money
with separators, and a run that belongs to another drop said so."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from analytics import amounts
from analytics.charts.graph import (
    LINE_PX,
    MAX_LABELS,
    PLOT_HEIGHT,
    PLOT_WIDTH,
    network_figure,
    text_width,
)
from analytics.linkgraph import build_link_graph
from analytics.masking import mask_account, mask_id
from analytics.minidrop import mini_drop
from analytics.parse import id18_check_digit
from analytics.views import graph as views
from checks.engine import run_checks

STREET, OTHER = "天山路街道", "虹桥街道"  # 天山路 comes first in the contract's street order


def _id(body17: str) -> str:
    return body17 + id18_check_digit(body17)


STAFF_ID = _id("31010519750606031")
A, B, X, Y, Z = (
    _id("31010519800101001"),
    _id("31010519820305022"),
    _id("31010519651212003"),
    _id("31010519900202004"),
    _id("31010519930303005"),
)
PARENT = _id("31010519500101006")
FAR = _id("31010519880808001")
FAR_HOLDERS = [_id(f"3101051970010100{k}") for k in range(3)]
ACC1, ACC2, ACC3 = "6222020200112233445", "6217000011112222333", "6228480402564890018"
PHONE = "13812345678"
RAW = (STAFF_ID, A, B, X, Y, Z, PARENT, FAR, *FAR_HOLDERS, ACC1, ACC2, ACC3, PHONE)


def _person(idn, household, street=STREET, phone=None, address=None):
    return dict(
        id_number=idn,
        name="某",
        household_id=household,
        street=street,
        phone=phone,
        address=address,
    )


def _case(case_id, household, applicant, handler="S2", street=STREET):
    return dict(
        case_id=case_id,
        household_id=household,
        applicant_id_number=applicant,
        street=street,
        assistance_type="最低生活保障",
        status="在册",
        accepted_date="2025-01-02",
        decided_date="2025-01-20",
        handler_id=handler,
    )


def _txn(txn_id, case_id, account, amount=155000, street=STREET, month="2026-03"):
    return dict(
        txn_id=txn_id,
        month=month,
        pay_date=f"{month}-10",
        street=street,
        fund_code="JZ01",
        item="低保金",
        case_id=case_id,
        payee_id=A,
        account_no=account,
        amount=amount,
        status="成功",
    )


def world():
    """A staff member tied to four households in 天山路街道 (many findings, little money), and
    in 虹桥街道 a custodian of three households' cards (few findings, much money)."""
    far_cases = [_case(f"R{k}", f"R{k}", FAR_HOLDERS[k], street=OTHER) for k in range(3)]
    far_accounts = [
        dict(
            case_id=f"R{k}",
            account_no=f"62220000111100{k:02d}",
            holder_id_number=FAR_HOLDERS[k],
            custodian_id_number=FAR,
        )
        for k in range(3)
    ]
    return mini_drop(
        as_of="2026-03-31",
        staff=[
            dict(
                staff_id="S1",
                name="王芳",
                id_number=STAFF_ID,
                role="街镇经办",
                street=STREET,
                phone=PHONE,
                address="天山路100弄5号301",
                salary_account=ACC3,
            ),
            dict(
                staff_id="S2",
                name="李强",
                id_number=_id("31010519810909042"),
                role="街镇审核",
                street="区民政局",
            ),
        ],
        persons=[
            _person(A, "H1", phone=PHONE),
            _person(B, "H1", address="天山路100弄5号301"),
            _person(X, "H2"),
            _person(Y, "H3"),
            _person(Z, "H4"),
            *[_person(FAR_HOLDERS[k], f"R{k}", OTHER) for k in range(3)],
        ],
        cases=[
            _case("C1", "H1", A, "S1"),
            _case("C2", "H2", X, "S1"),
            _case("C3", "H3", Y),
            _case("C4", "H4", Z, "S9"),
            *far_cases,
        ],
        accounts=[
            dict(case_id="C1", account_no=ACC1, holder_id_number=A, custodian_id_number=PARENT),
            dict(case_id="C2", account_no=ACC1, holder_id_number=STAFF_ID),
            dict(case_id="C3", account_no=ACC2, holder_id_number=Y, custodian_id_number=PARENT),
            dict(case_id="C4", account_no=ACC3, holder_id_number=Z, custodian_id_number=PARENT),
            *far_accounts,
        ],
        ledger=[
            _txn("T1", "C1", ACC1, month="2026-02"),
            _txn("T2", "C3", ACC2),
            *[
                _txn(f"TR{k}", f"R{k}", f"62220000111100{k:02d}", 9_000_000, OTHER)
                for k in range(3)
            ],
        ],
        entitlements=[],
        relative_filings=[],
        custody_filings=[],
        relations=[
            dict(id_number_a=PARENT, id_number_b=STAFF_ID, relation="父母"),
            dict(id_number_a=PARENT, id_number_b=X, relation="父母"),
            dict(id_number_a=STAFF_ID, id_number_b=Y, relation="配偶"),
        ],
    )


@pytest.fixture(scope="module")
def setting():
    drop = world()
    return (
        build_link_graph(drop),
        run_checks(drop, only=["integrity"]).findings,
        drop["cases"].collect(),
        drop["staff"].collect(),
    )


# --- labels in a dense view --------------------------------------------------------------------


def dense_view(n: int = 150, spread: float = 1.0) -> views.GraphView:
    """A household of ``n`` people around one case, drawn in a small area."""
    keys = ["case:C1", *[f"person:{k:04d}" for k in range(n - 1)]]
    import math

    x = [0.0] + [spread * math.cos(k) * (k % 7) / 7 for k in range(n - 1)]
    y = [0.0] + [spread * math.sin(k) * (k % 7) / 7 for k in range(n - 1)]
    nodes = pl.DataFrame(
        {
            "key": keys,
            "kind": ["case"] + ["person"] * (n - 1),
            "kind_zh": ["案件"] + ["人员"] * (n - 1),
            "label": ["案件 C1"] + [f"310105********{k:04d}" for k in range(n - 1)],
            "hub": [False] * n,
            "seed": [True] + [False] * (n - 1),
            "highlight": [True, True] + [False] * (n - 2),
            "x": x,
            "y": y,
            "paid_fen": [123_456_700] + [0] * (n - 1),
        }
    )
    edges = pl.DataFrame(
        {
            "source": ["case:C1"] * (n - 1),
            "target": keys[1:],
            "label": ["家庭成员"] * (n - 1),
            "kind": ["member"] * (n - 1),
            "highlight": [True] + [False] * (n - 2),
        }
    )
    return views.GraphView(
        title="t", nodes=nodes, edges=edges, findings=pl.DataFrame(), truncated=False
    )


def _texts(fig) -> dict[str, list[str]]:
    return {t.name: list(t.text) for t in fig.data if t.text is not None}


def test_a_dense_cluster_does_not_label_every_node():
    fig = network_figure(dense_view())
    texts = _texts(fig)
    node_texts = texts["案件"] + texts["人员"]
    drawn = [t for t in node_texts if t]
    drawn_edges = [t for t in texts["关系名称"] if t]
    assert len(node_texts) == 150
    assert 0 < len(drawn) + len(drawn_edges) <= MAX_LABELS
    assert texts["案件"] == ["案件 C1"]  # the start is always labelled
    # every node can still be read on hover
    hovers = [h for t in fig.data if t.name in ("案件", "人员") for h in t.hovertext]
    assert len(hovers) == 150 and all(h for h in hovers)


def test_labels_drawn_in_a_dense_view_do_not_cover_each_other():
    view = dense_view(spread=3.0)
    fig = network_figure(view)
    boxes = []
    for trace in fig.data:
        if trace.text is None or trace.name not in ("案件", "人员"):
            continue
        for text, x, y in zip(trace.text, trace.x, trace.y, strict=True):
            if text:
                boxes.append((x, y, text_width(text)))
    xs = view.nodes["x"].to_list()
    ys = view.nodes["y"].to_list()
    scale = min(PLOT_WIDTH / (max(xs) - min(xs)), PLOT_HEIGHT / (max(ys) - min(ys)))
    for i, (x0, y0, w0) in enumerate(boxes):
        for x1, y1, w1 in boxes[i + 1 :]:
            assert abs(x0 - x1) * scale >= (w0 + w1) / 2 or abs(y0 - y1) * scale >= LINE_PX, (
                x0,
                y0,
                x1,
                y1,
            )
    assert len(boxes) > 3  # a spread-out view still names several nodes


def test_a_small_view_labels_everything(setting):
    graph, findings, _, _ = setting
    view = views.node_view(graph, findings, "staff", "S2")
    assert view.nodes.height <= 20 and view.edges.height <= 20
    texts = _texts(network_figure(view))
    assert all(t for name, values in texts.items() for t in values)


def test_case_hover_shows_money_with_separators():
    fig = network_figure(dense_view(n=5))
    case = next(t for t in fig.data if t.name == "案件")
    assert case.hovertext == ("案件：案件 C1<br>实发金额：1,234,567.00元",)


# --- staff and clusters by name ---------------------------------------------------------------


def test_staff_picker_shows_number_name_and_unit(setting):
    graph, _, _, staff = setting
    labels = views.staff_labels(graph, staff)
    assert labels == {
        "S1": "S1 · 王芳 · 天山路街道",
        "S2": "S2 · 李强 · 区民政局",
        "S9": "S9",
    }  # S9 handles a case but is not in the staff table
    assert views.staff_labels(graph, None) == {"S1": "S1", "S2": "S2", "S9": "S9"}


def test_clusters_are_named_by_street_households_findings_and_money(setting):
    graph, findings, cases, _ = setting
    ranked = views.rank_clusters(graph, findings, cases=cases)
    near = findings.filter(pl.col("street") == STREET)
    far = findings.filter(pl.col("street") == OTHER)
    money = {s: amounts.money_at_risk_fen(f) for s, f in ((STREET, near), (OTHER, far))}
    assert money[OTHER] > money[STREET] and near.height > far.height
    first, second = ranked.rows(named=True)
    assert first["label"] == (
        f"第1名 · {STREET} · 4户 · {near.height}条线索 · 涉及金额 {money[STREET] / 100:,.2f}元"
    )
    assert second["label"] == (
        f"第2名 · {OTHER} · 3户 · {far.height}条线索 · 涉及金额 {money[OTHER] / 100:,.2f}元"
    )
    assert "," in second["label"]  # 27,000.00-style money, never a bare 2700000
    labels = views.cluster_labels(ranked)
    assert list(labels) == ranked["cluster"].to_list()
    assert not any(key in label for key, label in labels.items())
    table = views.clusters_table(ranked)
    assert table["户数"].to_list() == [4, 3]
    assert "线索群" not in table.columns


def test_a_cluster_label_names_the_first_street_and_how_many():
    assert views.cluster_label(3, "华阳路街道、新泾镇", 2, 3, 5, 120_000) == (
        "第3名 · 华阳路街道等2个街镇 · 3户 · 5条线索 · 涉及金额 1,200.00元"
    )
    assert views.cluster_label(1, "华阳路街道", 1, None, 1234, 0) == (
        "第1名 · 华阳路街道 · 1,234条线索 · 涉及金额 0.00元"
    )


# --- 线索群排名 across the district --------------------------------------------------------------


def _evidence(person, case):
    return json.dumps({"nodes": [{"id": f"person:{person}"}, {"id": f"case:{case}"}]})


def test_all_streets_are_ranked_by_findings_then_money_not_by_street():
    people = {"C1": (X, "华阳路街道"), "C2": (Y, "新泾镇"), "C3": (Z, "虹桥街道")}
    rows = [
        ("F1", "C1", 900),
        ("F2", "C2", 100),
        ("F3", "C2", 200),
        ("F4", "C3", 500),
        ("F5", "C3", 50),
    ]
    findings = pl.DataFrame(
        {
            "finding_id": [r[0] for r in rows],
            "family": ["integrity"] * 5,
            "check_id": ["shared_account"] * 5,
            "title": ["一卡多户"] * 5,
            "street": [people[r[1]][1] for r in rows],
            "amount_fen": [r[2] for r in rows],
            "txn_id": [None] * 5,
            "evidence": [_evidence(people[r[1]][0], r[1]) for r in rows],
            **{c: [None] * 5 for c in ("staff_id", "case_id", "account_no", "id_number")},
        },
        schema_overrides={
            c: pl.String for c in ("staff_id", "case_id", "account_no", "id_number", "txn_id")
        },
    )
    graph = build_link_graph(
        mini_drop(
            persons=[
                _person(X, "H1", "华阳路街道"),
                _person(Y, "H2", "新泾镇"),
                _person(Z, "H3", "虹桥街道"),
            ],
            cases=[
                _case("C1", "H1", X, street="华阳路街道"),
                _case("C2", "H2", Y, street="新泾镇"),
                _case("C3", "H3", Z, street="虹桥街道"),
            ],
            ledger=[],
            entitlements=[],
        )
    )
    ranked = views.rank_clusters(graph, findings, views.ALL_STREETS)
    # 华阳路 comes first in the contract's order but holds one finding: it is ranked last
    assert ranked["street"].to_list() == ["虹桥街道", "新泾镇", "华阳路街道"]
    assert ranked["findings"].to_list() == [2, 2, 1]
    assert ranked["amount_fen"].to_list() == [550, 300, 900]
    assert ranked["rank"].to_list() == [1, 2, 3]
    assert views.rank_clusters(graph, findings, None).equals(ranked)


def test_a_cluster_in_several_streets_is_one_row_district_wide(setting):
    graph, findings, cases, _ = setting
    moved = findings.with_columns(
        pl.when(pl.col("check_id") == "staff_linked_account")
        .then(pl.lit("华阳路街道"))
        .otherwise(pl.col("street"))
        .alias("street")
    )
    ranked = views.rank_clusters(graph, moved, cases=cases)
    assert ranked.height == 2
    top = ranked.row(0, named=True)
    assert top["street"] == f"华阳路街道、{STREET}" and top["streets"] == 2
    assert top["label"].startswith("第1名 · 华阳路街道等2个街镇 · 4户 · ")
    one = views.rank_clusters(graph, moved, "华阳路街道", cases=cases)
    assert one["findings"].to_list() == [moved.filter(pl.col("street") == "华阳路街道").height]


# --- 涉及金额 ---------------------------------------------------------------------------------


def test_money_of_a_view_is_money_at_risk(setting):
    graph, findings, _, _ = setting
    view = views.node_view(graph, findings, "staff", "S1")
    assert view.findings.height > 1
    assert view.money_fen == amounts.money_at_risk_fen(view.findings)
    assert view.money_fen == int(view.findings["amount_fen"].sum())  # no ledger row repeated
    # a total of other findings' rows (汇总金额不符) is not counted again
    total = view.findings.head(1).with_columns(
        pl.lit("control_total_mismatch").alias("check_id"),
        pl.lit(10**9).alias("amount_fen"),
        pl.lit("Ftotal").alias("finding_id"),
    )
    with_total = pl.concat([findings, total], how="vertical_relaxed")
    assert views.node_view(graph, with_total, "staff", "S1").money_fen == view.money_fen


# --- search as the page writes identifiers ------------------------------------------------------


def _full_width(text: str) -> str:
    return text.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))


@pytest.mark.parametrize(
    "typed",
    [
        ACC1,
        "6222 0202 0011 2233 445",  # grouped as a bank prints it
        " 6222-0202-0011-2233-445 ",  # dashes and blanks around
        _full_width(ACC1),  # full-width digits (NFKC)
        "6222\u30000202\u30000011\u30002233\u3000445",  # full-width spaces
        "'" + ACC1,  # a spreadsheet's text mark
        mask_account(ACC1),  # the masked form the page shows
        mask_account(ACC1).replace(" ", ""),
    ],
    ids=[
        "plain",
        "spaced",
        "dashes",
        "fullwidth",
        "ideographic-space",
        "apostrophe",
        "masked",
        "masked-compact",
    ],
)
def test_account_search_takes_the_forms_the_app_shows(setting, typed):
    graph, findings, _, _ = setting
    assert views.resolve_ident(graph, "account", typed) == ACC1
    view = views.node_view(graph, findings, "account", typed)
    assert f"account:{ACC1}" in view.nodes["key"].to_list()
    assert ACC1 not in view.title


@pytest.mark.parametrize(
    "typed",
    [
        Y,
        Y.lower(),
        f" {Y[:6]} {Y[6:14]} {Y[14:]} ",
        _full_width(Y),
        mask_id(Y),
    ],
    ids=["plain", "lower", "spaced", "fullwidth", "masked"],
)
def test_person_search_takes_the_forms_the_app_shows(setting, typed):
    graph, _, _, _ = setting
    assert views.resolve_ident(graph, "person", typed) == Y


def test_a_masked_form_fitting_several_asks_for_the_whole_number(setting):
    graph, _, _, _ = setting
    # all the 虹桥 holders share a head and a tail shape: one masked form, several people
    common = FAR_HOLDERS[0][:6] + "*" * 12
    with pytest.raises(views.AmbiguousLookup) as many:
        views.resolve_ident(graph, "person", common)
    assert many.value.matches > 1
    with pytest.raises(KeyError):
        views.resolve_ident(graph, "account", "6222 **** **** *** 0000")
    with pytest.raises(KeyError):
        views.resolve_ident(graph, "account", "   ")
    with pytest.raises(KeyError):
        views.resolve_ident(graph, "person", "****")


# --- a run of another drop ---------------------------------------------------------------------


def test_a_run_on_the_same_drop_fits(setting):
    graph, findings, _, _ = setting
    fit = views.pairing(graph, findings)
    assert fit.named == findings.height and fit.missing == 0 and not fit.mismatched


def test_a_run_of_another_drop_is_detected_and_said_without_personal_data(setting):
    _, findings, _, _ = setting
    other = build_link_graph(
        mini_drop(
            persons=[_person(_id("31010519990101001"), "Q1")],
            cases=[_case("C1", "Q1", _id("31010519990101001"))],  # a case number both share
            ledger=[_txn("Q1", "C1", "6222999988887777", month="2026-09")],
            entitlements=[],
        )
    )
    fit = views.pairing(other, findings)
    assert fit.mismatched and fit.missing == fit.named == findings.height
    ledger = pl.DataFrame({"month": ["2026-08", "2026-09"]})
    text = views.pairing_warning(
        fit,
        views.drop_label(Path("/d/2026-09导出"), ledger),
        views.run_label(Path("/r/000007"), findings.with_columns(pl.lit("2026-03").alias("month"))),
    )
    assert "不是同一批数据" in text
    assert "文件夹 2026-09导出，发放月份 2026-08 至 2026-09" in text
    assert "检查结果（文件夹 000007，线索月份 2026-03）" in text
    assert f"其中 {fit.missing} 条" in text
    assert not [raw for raw in RAW if raw in text]


def test_run_label_uses_the_run_log_when_it_has_the_run():
    record = {"run_id": 7, "as_of": "2026-10-31", "label": "十月数据"}
    assert views.run_label(Path("/w/runs/000007"), pl.DataFrame(), record) == (
        "文件夹 000007，第 7 次检查，检查基准日 2026-10-31，检查的数据为 十月数据"
    )
    # a drop recorded by its folder on the server is named by the folder's name only
    on_server = {**record, "label": "/srv/drops/十月数据"}
    assert views.run_label(Path("/w/runs/000007"), pl.DataFrame(), on_server).endswith(
        "检查的数据为 十月数据"
    )


@pytest.mark.parametrize(
    ("named", "missing", "mismatched"),
    [
        (0, 0, False),
        (126, 3, False),
        (10, 4, False),
        (10, 6, True),
        (120, 111, True),
        (2, 2, True),
        (1, 1, True),
        (4, 2, False),
        (5, 3, True),
    ],
)
def test_pairing_rule(named, missing, mismatched):
    assert views.Pairing(named, missing).mismatched is mismatched
