"""失信名单 views against SQLite and PostgreSQL: the list as it is today with IDs masked, the
deadlines coming up, candidates from verified findings, and the publication document (one
number for a batch, numbered within the year, nothing published twice; only the allowed fields,
no unmasked ID in the table, the workbook or the PDF)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from datetime import date

import polars as pl
import pytest

from analytics.calendar import WorkdayCalendar
from analytics.reference import load_settings
from analytics.store import dishonesty as store_d
from analytics.store.db import open_store
from analytics.views import dishonesty as view
from analytics.workflow import dishonesty as rules
from analytics.workflow.dishonesty import Given

CAL = WorkdayCalendar.load()
RULES = rules.rules_from(load_settings().dishonesty)
PERSON = "310105198001011237"
OTHER = "31010519820305224X"
THIRD = "310105197506060313"
NOTIFIED = date(2026, 9, 30)
DECIDED = date(2026, 10, 21)
TODAY = date(2026, 11, 2)
FULL_ID = re.compile(r"\d{17}[\dX]")


@pytest.fixture
def store(db_url):
    s = open_store(db_url)
    yield s
    s.dispose()


def new(store, id_number=PERSON, name="李明", street="华阳路街道", **kw) -> int:
    fields = dict(
        by="联席办",
        today=NOTIFIED,
        id_number=id_number,
        name=name,
        conduct="隐瞒",
        description="隐瞒家庭成员就业收入",
        severity="一般",
        basis="《上海市社会救助条例》第五十七条",
        money_obtained_fen=300_000,
        street=street,
    )
    fields.update(kw)
    return store_d.create_record(store, **fields)


def act(store, rid, move, day, **given):
    v = store_d.records_frame(store).filter(pl.col("record_id") == rid)["version"].item()
    return store_d.apply(
        store,
        rid,
        move,
        Given(**given),
        by="联席办",
        expected_version=v,
        today=day,
        calendar=CAL,
        settings=RULES,
    )


def published(
    store,
    id_number=PERSON,
    name="李明",
    decision_no="长民失〔2026〕1号",
    street="华阳路街道",
    months=6,
) -> int:
    rid = new(store, id_number=id_number, name=name, street=street)
    act(store, rid, "notify", NOTIFIED, notified_on=NOTIFIED, notify_method="直接送达")
    act(
        store,
        rid,
        "publish",
        DECIDED,
        decision_no=decision_no,
        decision_date=DECIDED,
        term_months=months,
    )
    return rid


def today_records(store, day=TODAY):
    return view.records_today(store, day, CAL, RULES)


def test_the_list_is_filtered_by_state_and_street_with_ids_masked(store):
    a = published(store)
    b = new(store, id_number=OTHER, name="张丽", street="江苏路街道")
    records = today_records(store)
    opts = view.options(records)
    assert opts.states == ["proposed", "published"]
    assert opts.streets == ["华阳路街道", "江苏路街道"]
    assert view.filter_records(records, states=["published"])["record_id"].to_list() == [a]
    assert view.filter_records(records, streets=["江苏路街道"])["record_id"].to_list() == [b]
    table = view.list_table(records)
    assert table["身份证号"].to_list() == ["310105********1237", "310105********224X"]
    assert table["状态"].to_list() == ["已公布", "拟列入"]
    assert not any(FULL_ID.search(str(v)) for row in table.iter_rows() for v in row)
    facts = view.facts_table(view.record_of(records, a))
    assert not any(FULL_ID.search(v) for v in facts["内容"].to_list())
    assert [m.name for m in view.moves_for(view.record_of(records, b))] == ["notify", "revoke"]


def test_deadlines_coming_up(store):
    window = new(store)  # window ends 2026-10-20
    act(store, window, "notify", NOTIFIED, notified_on=NOTIFIED, notify_method="直接送达")
    objected = new(store, id_number=OTHER, name="张丽")
    act(store, objected, "notify", NOTIFIED, notified_on=NOTIFIED, notify_method="直接送达")
    act(store, objected, "object", date(2026, 10, 9), raised_on=date(2026, 10, 9), reason="异议")
    ending = published(store, id_number=THIRD, name="王五", months=3)  # term ends 2027-01-20
    day = date(2026, 10, 14)
    due = view.deadlines(today_records(store, day), day)
    assert list(zip(due["kind"], due["record_id"], due["due"], strict=True)) == [
        ("异议答复期限", objected, date(2026, 10, 15)),
        ("异议期届满", window, date(2026, 10, 20)),
    ]
    later = date(2026, 12, 28)
    due = view.deadlines(today_records(store, later), later)
    assert list(zip(due["kind"], due["record_id"], strict=True)) == [
        ("异议答复期限", objected),
        ("公布期满", ending),
    ]
    table = view.deadlines_table(due, later)
    assert table["已超期"].to_list() == ["是", ""]
    assert not any(FULL_ID.search(str(v)) for v in table["身份证号"].to_list())


def test_candidates_are_verified_findings_under_recovery_not_yet_recorded():
    findings = pl.DataFrame(
        {
            "finding_id": ["F1", "F2", "F3", "F4"],
            "street": ["华阳路街道"] * 4,
            "case_id": ["C1", "C2", "C3", "C4"],
            "amount_fen": [100, 200, 300, 400],
            "summary": ["s"] * 4,
            "state": ["recovering", "recovered", "confirmed", "recovered"],
        }
    )
    records = pl.DataFrame({"finding_id": ["F4", None]}, schema={"finding_id": pl.String})
    recoveries = pl.DataFrame({"finding_id": ["F1", "F1"], "amount_fen": [30, 20]})
    c = view.candidates(findings, records, recoveries, people={"F1": PERSON})
    assert c["finding_id"].to_list() == ["F1", "F2"]
    assert c["recovered_fen"].to_list() == [50, 0]
    table = view.candidates_table(c)
    assert table["身份证号"].to_list() == ["310105********1237", None]


def test_publication_numbers_a_batch_once_and_is_idempotent(store):
    a = published(store)
    b = published(store, id_number=OTHER, name="张丽", decision_no="长民失〔2026〕2号")
    new(store, id_number=THIRD, name="王五")  # proposed: not due
    first = view.publish_batch(store, "联席办", TODAY, calendar=CAL, rules_=RULES)
    assert first.number == "长宁区救助失信公布〔2026〕1号"
    assert (first.on, first.record_ids) == (TODAY, (a, b))
    assert view.publish_batch(store, "联席办", TODAY, calendar=CAL, rules_=RULES) is None
    records = today_records(store)
    assert (
        records.filter(pl.col("record_id").is_in([a, b]))["publication_no"].to_list()
        == [first.number] * 2
    )
    assert view.due_for_publication(records).height == 0
    # the history says so, and the version moved on (a form drawn before is stale)
    assert view.history_table(store, a)["操作"].to_list()[-1] == "编入公布文件"
    assert records.filter(pl.col("record_id") == a)["version"].item() == 4
    c = published(store, id_number=THIRD, name="王五", decision_no="长民失〔2026〕3号")
    second = view.publish_batch(store, "联席办", TODAY, calendar=CAL, rules_=RULES)
    assert (second.number, second.record_ids) == ("长宁区救助失信公布〔2026〕2号", (c,))
    docs = view.publications(store)
    assert docs["number"].to_list() == [second.number, first.number]
    assert docs["records"].to_list() == [1, 2]
    # a new year starts again at 1
    d = published(store, id_number="110101199003071234", name="赵六", decision_no="文号4")
    third = view.publish_batch(store, "联席办", date(2027, 1, 4), calendar=CAL, rules_=RULES)
    assert (third.number, third.record_ids) == ("长宁区救助失信公布〔2027〕1号", (d,))


def test_an_expired_term_is_not_published(store):
    published(store, months=3)  # term ends 2027-01-20
    assert (
        view.publish_batch(store, "联席办", date(2027, 1, 21), calendar=CAL, rules_=RULES) is None
    )


def _document(store):
    published(store)
    published(store, id_number=OTHER, name="张丽", decision_no="长民失〔2026〕2号")
    pub = view.publish_batch(store, "联席办", TODAY, calendar=CAL, rules_=RULES)
    rows = view.publication_records(today_records(store), pub.number)
    return pub, view.publication_table(rows)


def test_the_publication_table_holds_only_the_allowed_fields_masked(store):
    pub, table = _document(store)
    assert tuple(table.columns) == view.PUBLICATION_COLUMNS
    assert table.rows() == [
        (
            "1",
            "李明",
            "310105********1237",
            "隐瞒",
            "长民失〔2026〕1号",
            "2026-10-21 至 2027-04-20",
        ),
        (
            "2",
            "张丽",
            "310105********224X",
            "隐瞒",
            "长民失〔2026〕2号",
            "2026-10-21 至 2027-04-20",
        ),
    ]
    workbook = view.publication_excel(table, pub.number, pub.on)
    with zipfile.ZipFile(io.BytesIO(workbook)) as z:
        xml = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
    assert PERSON not in xml and OTHER not in xml and not FULL_ID.search(xml)
    assert "310105********1237" in xml and pub.number in xml and "2026-11-02" in xml
    for hidden in ("华阳路街道", "隐瞒家庭成员就业收入", "第五十七条", "3,000", "SX2026"):
        assert hidden not in xml
    headers = set(re.findall(r"<t[^>]*>([^<]*)</t>", xml))
    assert set(view.PUBLICATION_COLUMNS) <= headers


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext is not installed")
def test_the_publication_pdf_is_numbered_dated_and_masked(store, tmp_path):
    pub, table = _document(store)
    data = view.publication_pdf(table, pub.number, pub.on)
    assert data.startswith(b"%PDF-")
    path = tmp_path / "publication.pdf"
    path.write_bytes(data)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    assert "长宁区社会救助失信名单" in text and pub.number in text and "2026年11月2日" in text
    assert "310105********1237" in text and "310105********224X" in text
    assert PERSON not in text and OTHER not in text and not FULL_ID.search(text.replace(" ", ""))
    for hidden in ("华阳路街道", "隐瞒家庭成员就业收入", "第五十七条"):
        assert hidden not in text
    for column in view.PUBLICATION_COLUMNS:
        assert column in text
