import io
import json

import polars as pl
import pytest

from analytics import amounts
from analytics.charts.graph import PATH_COLOUR, PATH_TRACE, SYMBOL, network_figure
from analytics.linkgraph import build_link_graph
from analytics.minidrop import mini_drop
from analytics.views import graph as views
from checks.engine import run_checks

STREET = "天山路街道"
OTHER_STREET = "虹桥街道"
STAFF = "310105197506060312"
A, B, X, Y, Z = (
    "310105198001010013",
    "310105198203050224",
    "310105196512120035",
    "310105199002020046",
    "310105199303030057",
)
PARENT = "310105195001010068"
FAR = "310105198808080011"
ACC1, ACC2, ACC3 = "6222020200112233445", "6217000011112222333", "6228480402564890018"
PHONE = "13812345678"
RAW = (STAFF, A, B, X, Y, Z, PARENT, FAR, ACC1, ACC2, ACC3, PHONE)


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


def _txn(txn_id, case_id, account, amount=155000, street=STREET):
    return dict(
        txn_id=txn_id,
        month="2026-03",
        pay_date="2026-03-10",
        street=street,
        fund_code="JZ01",
        item="低保金",
        case_id=case_id,
        payee_id=A,
        account_no=account,
        amount=amount,
        status="成功",
    )


def world(care_home: int = 0):
    """One staff member tied to four households in 天山路街道, and in 虹桥街道 a custodian of
    three households' cards (a second, unrelated cluster)."""
    persons = [
        _person(A, "H1", phone=PHONE),
        _person(B, "H1", address="天山路100弄5号301"),
        _person(X, "H2"),
        _person(Y, "H3"),
        _person(Z, "H4"),
    ]
    persons += [_person(f"3101051970010100{k:02d}", f"R{k}", OTHER_STREET) for k in range(3)]
    persons += [
        _person(f"3101051960010100{k:02d}", f"G{k}", address="天山路999号")
        for k in range(care_home)
    ]
    far_cases = [
        _case(f"R{k}", f"R{k}", f"3101051970010100{k:02d}", street=OTHER_STREET) for k in range(3)
    ]
    far_accounts = [
        dict(
            case_id=f"R{k}",
            account_no=f"62220000111100{k:02d}",
            holder_id_number=f"3101051970010100{k:02d}",
            custodian_id_number=FAR,
        )
        for k in range(3)
    ]
    return mini_drop(
        as_of="2026-03-31",
        staff=[
            dict(
                staff_id="S1",
                name="工",
                id_number=STAFF,
                role="街镇经办",
                street=STREET,
                phone=PHONE,
                address="天山路100弄5号301",
                salary_account=ACC3,
            ),
            dict(
                staff_id="S2",
                name="工",
                id_number="310105198109090429",
                role="街镇审核",
                street=STREET,
            ),
        ],
        persons=persons,
        cases=[
            _case("C1", "H1", A, "S1"),
            _case("C2", "H2", X, "S1"),
            _case("C3", "H3", Y),
            _case("C4", "H4", Z),
            *far_cases,
        ],
        accounts=[
            dict(case_id="C1", account_no=ACC1, holder_id_number=A, custodian_id_number=PARENT),
            dict(case_id="C2", account_no=ACC1, holder_id_number=STAFF),
            dict(case_id="C3", account_no=ACC2, holder_id_number=Y, custodian_id_number=PARENT),
            dict(case_id="C4", account_no=ACC3, holder_id_number=Z, custodian_id_number=PARENT),
            *far_accounts,
        ],
        ledger=[
            _txn("T1", "C1", ACC1),
            _txn("T2", "C3", ACC2),
            *[
                _txn(f"TR{k}", f"R{k}", f"62220000111100{k:02d}", 900000, OTHER_STREET)
                for k in range(3)
            ],
        ],
        entitlements=[],
        relative_filings=[],
        custody_filings=[],
        relations=[
            dict(id_number_a=PARENT, id_number_b=STAFF, relation="父母"),
            dict(id_number_a=PARENT, id_number_b=X, relation="父母"),
            dict(id_number_a=STAFF, id_number_b=Y, relation="配偶"),
        ],
    )


@pytest.fixture(scope="module")
def setting():
    drop = world()
    return build_link_graph(drop), run_checks(drop, only=["integrity"]).findings


def _fid(findings, check_id, **keys):
    rows = findings.filter(pl.col("check_id") == check_id)
    for column, value in keys.items():
        rows = rows.filter(pl.col(column) == value)
    return rows.get_column("finding_id")[0]


@pytest.mark.parametrize(
    "check_id",
    [
        "relative_not_filed",
        "handled_relative_case",
        "handled_linked_case",
        "staff_contact_overlap",
        "shared_account",
        "payee_not_household",
        "staff_linked_account",
        "custody_not_filed",
        "custodian_concentration",
    ],
)
def test_finding_view_highlights_exactly_its_evidence(setting, check_id):
    graph, findings = setting
    fid = _fid(findings, check_id)
    nodes, edges = views.evidence_of(findings, fid)
    view = views.finding_view(graph, findings, fid)

    assert set(view.path_keys) == {n["id"] for n in nodes}
    lit = {
        frozenset(p)
        for p in view.edges.filter(pl.col("highlight")).select("source", "target").iter_rows()
    }
    assert lit == {frozenset((e["from"], e["to"])) for e in edges}
    assert view.nodes.height <= views.MAX_NODES
    assert fid in view.findings.get_column("finding_id").to_list()
    assert not any(raw in label for raw in RAW for label in view.nodes.get_column("label"))


def test_derived_path_runs_along_real_parent_edges(setting):
    graph, findings = setting
    view = views.finding_view(
        graph, findings, _fid(findings, "handled_relative_case", case_id="C2")
    )
    lit = view.edges.filter(pl.col("highlight"))
    assert sorted(lit.get_column("label").to_list()) == sorted(
        ["本人", "父母", "父母", "家庭成员", "经办人"]
    )
    assert set(lit.get_column("kind")) <= {"self", "kin", "member", "handling"}


def test_view_is_bounded_and_says_so():
    drop = world(care_home=0)
    graph = build_link_graph(drop)
    findings = run_checks(drop, only=["integrity"]).findings
    view = views.node_view(graph, findings, "staff", "S1", max_nodes=6)
    assert view.nodes.height == 6 and view.truncated
    assert not views.node_view(graph, findings, "staff", "S1").truncated


def test_unknown_start_raises_key_error(setting):
    graph, findings = setting
    with pytest.raises(KeyError):
        views.node_view(graph, findings, "person", "310105199901011234")
    with pytest.raises(KeyError):
        views.finding_view(graph, findings, "Fnope")


def test_clusters_ranked_per_street(setting):
    graph, findings = setting
    ranked = views.rank_clusters(graph, findings)
    # one district-wide ranking: the cluster with more findings first
    assert ranked.get_column("street").to_list() == [STREET, OTHER_STREET]
    assert ranked.get_column("rank").to_list() == [1, 2]
    near = ranked.filter(pl.col("street") == STREET).row(0, named=True)
    assert near["findings"] == findings.filter(pl.col("street") == STREET).height
    far = views.rank_clusters(graph, findings, OTHER_STREET)
    far_findings = findings.filter(pl.col("street") == OTHER_STREET)
    # 涉及金额 by its one definition (analytics.amounts), not the cases' payments
    assert far.height == 1 and far.get_column("amount_fen").to_list() == [
        amounts.money_at_risk_fen(far_findings)
    ]
    assert far.get_column("checks").to_list() == ["代管人集中代管、卡折代管未备案"]
    table = views.clusters_table(ranked)
    assert list(table.columns) == list(views.CLUSTER_HEADERS.values())
    assert "线索群" not in table.columns  # the key stays internal


def test_ranking_orders_by_findings_then_money_counting_each_ledger_row_once():
    def evidence(person, case):
        return json.dumps({"nodes": [{"id": f"person:{person}"}, {"id": f"case:{case}"}]})

    findings = pl.DataFrame(
        {
            "finding_id": ["F1", "F2", "F3", "F4"],
            "family": ["integrity"] * 4,
            "check_id": ["a", "b", "a", "a"],
            "title": ["甲", "乙", "甲", "甲"],
            "street": [STREET] * 4,
            "amount_fen": [100, 100, 900, 5],
            "txn_id": ["T2", "T2", "T3", "T4"],
            "evidence": [
                evidence(X, "C2"),
                evidence(X, "C2"),
                evidence(Y, "C3"),
                evidence(Z, "C4"),
            ],
            **{c: [None] * 4 for c in ("staff_id", "case_id", "account_no", "id_number")},
        },
        schema_overrides={c: pl.String for c in ("staff_id", "case_id", "account_no", "id_number")},
    )
    graph = build_link_graph(
        mini_drop(
            persons=[_person(X, "H2"), _person(Y, "H3"), _person(Z, "H4")],
            cases=[_case("C2", "H2", X), _case("C3", "H3", Y), _case("C4", "H4", Z)],
            ledger=[
                _txn("T2", "C2", ACC1, 100),
                _txn("T3", "C3", ACC2, 900),
                _txn("T4", "C4", ACC3, 5),
            ],
            entitlements=[],
        )
    )
    ranked = views.rank_clusters(graph, findings)
    assert ranked.get_column("findings").to_list() == [2, 1, 1]
    # T2 flagged by two checks counts once (analytics.amounts)
    assert ranked.get_column("amount_fen").to_list() == [100, 900, 5]


def test_cluster_view_and_excel_export(setting):
    graph, findings = setting
    cluster = views.rank_clusters(graph, findings, STREET).get_column("cluster")[0]
    view = views.cluster_view(graph, findings, cluster)
    assert view.cluster == cluster and view.nodes.get_column("highlight").sum() > 5
    data = views.cluster_excel(graph, findings, cluster)
    sheets = pl.read_excel(io.BytesIO(data), sheet_id=0)
    assert list(sheets) == ["线索", "节点", "关系"]
    assert sheets["线索"].height == findings.filter(pl.col("street") == STREET).height
    assert "证据路径" in sheets["线索"].columns
    text = " ".join(
        str(v)
        for frame in sheets.values()
        for col in frame.columns
        for v in frame.get_column(col).to_list()
    )
    assert not [raw for raw in RAW if raw in text]
    assert "是" in sheets["关系"].get_column("在证据路径上").to_list()


def test_hub_table_is_masked():
    drop = world(care_home=12)
    graph = build_link_graph(drop)
    table = views.hubs_table(graph)
    assert table.rows() == [("地址", "天山路***号", 12)]


def test_findings_table_masks(setting):
    _, findings = setting
    table = views.findings_table(findings)
    text = table.write_csv()
    assert not [raw for raw in RAW if raw in text]
    assert list(table.columns) == list(views.FINDING_HEADERS.values())


def test_finding_choices_and_texts(setting):
    _, findings = setting
    choices = views.finding_choices(findings)
    assert len(choices) == findings.height
    fid, label = choices[0]
    assert label.split("｜")[0] in set(findings.get_column("title"))
    assert "→" in views.path_text(findings, fid)
    assert views.summary_of(findings, fid)


def test_funds_finding_falls_back_to_a_shortest_path(setting):
    graph, findings = setting
    row = findings.row(0, named=True)
    fake = pl.DataFrame(
        [
            {
                **row,
                "finding_id": "Ffunds",
                "family": "funds",
                "evidence": "{}",
                "staff_id": "S1",
                "case_id": "C3",
                "account_no": None,
                "id_number": None,
            }
        ],
        schema=findings.schema,
    )
    view = views.finding_view(graph, pl.concat([findings, fake]), "Ffunds")
    lit = view.edges.filter(pl.col("highlight"))
    assert lit.height >= 2
    assert {"staff:S1", "case:C3"} <= set(view.path_keys)


def test_network_figure(setting):
    graph, findings = setting
    view = views.finding_view(graph, findings, _fid(findings, "staff_linked_account"))
    fig = network_figure(view)
    by_name = {t.name: t for t in fig.data}
    path = by_name[PATH_TRACE]
    assert path.line.color == PATH_COLOUR
    assert len(path.x) == 3 * view.edges.get_column("highlight").sum()
    for kind, zh in (
        ("staff", "工作人员"),
        ("person", "人员"),
        ("account", "银行账户"),
        ("case", "案件"),
    ):
        assert by_name[zh].marker.symbol == SYMBOL[kind]
    labels = by_name["关系名称"].text
    assert "工资账户" in labels or "户名" in labels
    assert not [
        raw
        for raw in RAW
        if raw in json.dumps(fig.to_plotly_json(), default=str, ensure_ascii=False)
    ]


def test_empty_view_figure():
    empty = views.GraphView(
        title="无",
        nodes=pl.DataFrame(
            schema={
                "key": pl.String,
                "kind": pl.String,
                "kind_zh": pl.String,
                "label": pl.String,
                "hub": pl.Boolean,
                "seed": pl.Boolean,
                "highlight": pl.Boolean,
                "x": pl.Float64,
                "y": pl.Float64,
            }
        ),
        edges=pl.DataFrame(),
        findings=pl.DataFrame(),
        truncated=False,
    )
    fig = network_figure(empty)
    assert not fig.data and fig.layout.annotations[0].text == "没有可显示的关系"


def test_network_figure_draws_data_labels_as_text():
    """Plotly draws <a href>, <b> and <br> in text and hover labels: a staff number or case
    number holding them shows as typed."""
    hostile = '<a href="http://evil.example">S1</a><b>x</b>'
    view = views.GraphView(
        title=f"线索 {hostile}",
        nodes=pl.DataFrame(
            {
                "key": ["staff:1", "case:2"],
                "kind": ["staff", "case"],
                "kind_zh": ["工作人员", "案件"],
                "label": [f"工作人员 {hostile}", "案件 C&1"],
                "hub": [False, False],
                "seed": [True, False],
                "highlight": [True, True],
                "x": [0.0, 1.0],
                "y": [0.0, 1.0],
            }
        ),
        edges=pl.DataFrame(
            {
                "source": ["staff:1"],
                "target": ["case:2"],
                "label": ["<br>经办"],
                "kind": ["handles"],
                "highlight": [True],
            }
        ),
        findings=pl.DataFrame(),
        truncated=False,
    )
    fig = network_figure(view)
    by_name = {t.name: t for t in fig.data}
    escaped = '&lt;a href="http://evil.example"&gt;S1&lt;/a&gt;&lt;b&gt;x&lt;/b&gt;'
    assert by_name["工作人员"].text == (f"工作人员 {escaped}",)
    assert by_name["工作人员"].hovertext == (f"工作人员：工作人员 {escaped}",)
    assert by_name["案件"].text == ("案件 C&amp;1",)
    assert by_name["关系名称"].text == ("&lt;br&gt;经办",)
    assert fig.layout.title.text == f"线索 {escaped}"
