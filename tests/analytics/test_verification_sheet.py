"""线索核查单: the findings as a PDF to verify by hand; pdftotext finds every finding, the blank
columns and the rules, and no personal identifier."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from analytics import pipeline, report
from analytics.generate import generate
from analytics.results import load_findings
from analytics.views import findings as view

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed"
)


@pytest.fixture(scope="module")
def district(tmp_path_factory) -> tuple[Path, pl.DataFrame]:
    base = tmp_path_factory.mktemp("sheet")
    drop, out = base / "drop", base / "out"
    generate(drop, households=600, seed=7)
    pipeline.write_outputs(pipeline.run(drop), out)
    return drop, view.visible_findings(load_findings(out))


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "sheet.pdf"
    path.write_bytes(data)
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_sheet_lists_each_finding_with_blank_columns_and_the_rules(district, tmp_path):
    _, findings = district
    street = view.filter_findings(findings, streets=["华阳路街道"])
    scope = view.scope_text(streets=["华阳路街道"])
    data = report.verification_sheet(street, scope, generated=date(2026, 11, 30))
    assert data.startswith(b"%PDF")
    text = squeeze(pdf_text(data, tmp_path))
    assert "长宁区社会救助问题线索核查单" in text
    assert "范围：街镇：华阳路街道" in text and f"共{street.height:,}条线索" in text
    for header in ("核查结果", "核查人", "日期", "所依据的检查规则"):
        assert header in text
    for finding_id in street["finding_id"]:
        assert finding_id in text
    for check_id in street["check_id"].unique():
        assert squeeze(view.rule(check_id).description) in text
    assert data == report.verification_sheet(street, scope, generated=date(2026, 11, 30))


def test_sheet_holds_no_personal_identifier(district, tmp_path):
    drop, findings = district
    text = pdf_text(report.verification_sheet(findings, "全部线索"), tmp_path)
    raw = set()
    for name, column in (
        ("persons.csv", "id_number"),
        ("persons.csv", "phone"),
        ("accounts.csv", "account_no"),
    ):
        frame = pl.read_csv(drop / name, infer_schema_length=0)
        raw |= set(frame.get_column(column).drop_nulls().to_list())
    flat = squeeze(text)
    assert raw and not [v for v in raw if len(v) >= 11 and v in flat]


def test_a_long_list_is_cut_and_says_so(district, tmp_path, monkeypatch):
    _, findings = district
    monkeypatch.setattr(report, "SHEET_MAX_FINDINGS", 5)
    text = squeeze(pdf_text(report.verification_sheet(findings, "全部线索"), tmp_path))
    assert f"共{findings.height:,}条线索，本单列出前5条" in text
    assert findings["finding_id"][4] in text and findings["finding_id"][5] not in text


def test_scope_text_names_the_filters():
    assert view.scope_text() == "全部线索"
    assert view.scope_text(
        families=["资金比对"], streets=["华阳路街道", "新泾镇"], case=" JZ2026 "
    ) == ("类别：资金比对；街镇：华阳路街道、新泾镇；救助编号含“JZ2026”")
