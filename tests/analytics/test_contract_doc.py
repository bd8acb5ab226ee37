"""docs/data-contract.md is generated from the schema and says what the reader does."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from analytics import contract_doc, parse, reader, reference, schema

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def doc() -> str:
    return contract_doc.render()


def test_docs_file_is_what_the_generator_makes_now(doc):
    on_disk = contract_doc.DOC_PATH.read_text(encoding="utf-8")
    assert on_disk == doc, (
        f"docs/data-contract.md is out of date with analytics/schema.py: run {contract_doc.COMMAND}"
    )


def test_every_table_and_column_is_in_the_doc(doc):
    for t in schema.TABLES.values():
        needed = "required" if t.required else "optional"
        assert f"#### {t.name} · {t.zh} ({needed})" in doc
        for stem in t.file_stems:
            assert f"`{stem}`" in doc
        for c in t.columns:
            row = next(
                line
                for line in doc.splitlines()
                if line.startswith(f"| `{c.name}` | {c.zh}") and line in _section(doc, t.name)
            )
            cells = [cell.strip() for cell in row.strip("|").split("|")]
            assert cells[2] == c.type
            assert cells[3] == ("yes" if c.required else "")
            streets = (schema.STREETS, schema.STREETS + (schema.DISTRICT_OFFICE,))
            if c.type == "enum" and not isinstance(c.values, str) and c.values not in streets:
                assert "、".join(c.values) in cells[4]


def _section(doc: str, table: str) -> str:
    start = doc.index(f'<a id="{table}"></a>')
    end = doc.find('<a id="', start + 1)
    return doc[start : end if end > 0 else None]


def test_street_columns_say_the_street_rule_and_streets_come_from_the_district(doc):
    persons = _section(doc, "persons")
    assert (
        "| `street` | 居住街镇 | enum | yes | a street office (the street rule, 2.11) |" in persons
    )
    staff = _section(doc, "staff")
    assert f"a street office or {schema.DISTRICT_OFFICE} (the street rule" in staff
    streets = doc[doc.index("### 2.11 The street offices") : doc.index("### 2.12 The tables")]
    assert [
        line.split("|")[1].strip()
        for line in streets.splitlines()
        if line.startswith("| ") and not line.startswith("| street office")
    ] == list(schema.STREETS)


def test_another_district_file_gives_another_doc(tmp_path):
    """The street list is read when the doc is made: a renamed street office without
    regenerating makes the file in docs/ differ, and the test above fails."""
    path = tmp_path / "district.toml"
    path.write_text(
        textwrap.dedent("""
        [district]
        name = "示例区"
        city = "示例市"
        issuer = "示例区民政局"
        office = "区民政局"
        joint_office = "示例区社会救助联席会议办公室"
        basis = "《示例市社会救助办法》"

        [[streets]]
        name = "东风街道"
        short = "东风"

        [[streets]]
        name = "南山镇"
    """),
        encoding="utf-8",
    )
    script = "from analytics import contract_doc; print(contract_doc.render(), end='')"
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        env={**os.environ, "AIDWATCH_DISTRICT_FILE": str(path)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    other = done.stdout.decode("utf-8")
    assert "| 东风街道 | 东风 |" in other and "| 南山镇 | 南山镇 |" in other
    assert "华阳路街道" not in other
    assert "`示例区`" in other and "(示例市示例区)" in other
    assert other != contract_doc.DOC_PATH.read_text(encoding="utf-8")


def test_notes_and_type_words_name_what_the_schema_has():
    for table, column in contract_doc.NOTES:
        schema.TABLES[table].column(column)  # KeyError for a note about nothing
    used = {c.type for t in schema.TABLES.values() for c in t.columns}
    assert used <= set(contract_doc.TYPE_NOTES)


def test_every_reason_a_cell_can_get_is_listed(doc):
    listed = {text for text, _ in contract_doc.reasons()}
    cell_reasons = {v for k, v in vars(parse).items() if k.startswith("R_") and isinstance(v, str)}
    cell_reasons |= {reader.R_BEYOND, reader.R_DAMAGED}
    assert cell_reasons <= listed, cell_reasons - listed
    for text in listed:
        assert text.replace("{}", "…") in doc


@pytest.mark.parametrize(
    "section, parser, examples, expected",
    [
        (
            "### 2.3 Dates",
            parse.parse_date,
            ["2026-03-05", "2026/3/5", "2026.3.5", "20260305", "2026年3月5日"],
            "2026-03-05",
        ),
        (
            "### 2.4 Months",
            parse.parse_month,
            ["2026-03", "2026/3", "2026.3", "202603", "2026年3月", "2026-03-01"],
            "2026-03",
        ),
        (
            "### 2.5 Money",
            parse.parse_money,
            ["1550", "1550.00", "1,550.00", "¥1,550.00", "1550元"],
            155000,
        ),
    ],
)
def test_the_forms_the_doc_gives_are_read(doc, section, parser, examples, expected):
    start = doc.index(section)
    text = doc[start : doc.index("\n###", start + 1)]
    for example in examples:
        assert f"`{example}`" in text
        value, reason = parser(example)
        assert reason is None and str(value) == str(expected), example


def test_the_rejections_the_doc_gives_are_rejected(doc):
    assert "`3.10105E+17`" in doc and "`2026-02-30`" in doc and "`-0`" in doc
    assert parse.parse_id18("3.10105E+17")[1] == parse.R_EXCEL_DIGITS
    assert parse.parse_account("310105198001010000.0")[1] == parse.R_EXCEL_DIGITS
    assert parse.parse_date("2026-02-30")[1] == parse.R_DATE_INVALID
    assert parse.parse_money("-0")[1] == parse.R_MONEY_NEGATIVE
    assert parse.parse_month("2026.1", numeric=True)[1] == parse.R_MONTH_NUMERIC
    assert "`+86 21 6212 3456` is `02162123456`" in doc
    assert parse.parse_phone("+86 21 6212 3456") == ("02162123456", None)
    assert reader.identify_table("实发明细.CSV") == "ledger"
    assert reader.identify_table("ledger-2026-10.csv") is None
    assert f"among the first {reader.HEADER_SCAN_ROWS}," in doc


def test_command_line_prints_writes_and_checks(tmp_path, monkeypatch, capsys, doc):
    done = subprocess.run(
        [sys.executable, "-m", "analytics.contract_doc"], cwd=ROOT, capture_output=True, timeout=120
    )
    assert done.returncode == 0
    assert done.stdout.decode("utf-8") == doc

    target = tmp_path / "data-contract.md"
    monkeypatch.setattr(contract_doc, "DOC_PATH", target)
    target.write_text(doc.replace("华阳路街道", "旧街道"), encoding="utf-8")
    assert contract_doc.main(["--check"]) == 1
    assert contract_doc.COMMAND in capsys.readouterr().err
    assert contract_doc.main(["--write"]) == 0
    assert target.read_text(encoding="utf-8") == doc
    assert contract_doc.main(["--check"]) == 0


def test_sections_are_numbered_as_the_code_cites_them(doc):
    """Comments in the code cite "contract section 1" (the drop), 2 (tables), 4 (outputs)."""
    headings = [line for line in doc.splitlines() if line.startswith("## ")]
    assert headings == [
        "## 1. A data drop",
        "## 2. The tables",
        "## 3. The catalogue",
        "## 4. What a check run writes",
        "## 5. The checks",
    ]
    catalogue = doc[doc.index("## 3. The catalogue") : doc.index("## 4.")]
    for row in reference.load_catalogue().iter_rows():
        assert "| " + " | ".join(row) + " |" in catalogue


def test_doc_links_resolve(doc):
    for link in re.findall(r"\]\((\.\./[^)#]+)\)", doc):
        assert (contract_doc.DOC_PATH.parent / link).resolve().exists(), link
