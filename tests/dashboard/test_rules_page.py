"""The 检查规则 page: every rule published, filtered by family, with the thresholds in force."""

from __future__ import annotations

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics.reference import PROJECT_ROOT
from checks.registry import ordered, select

PAGE = str(PROJECT_ROOT / "dashboard" / "screens" / "rules.py")


def tables(at: AppTest) -> list[pl.DataFrame]:
    """The rules (a static table) and the parameters (a data grid)."""
    return [pl.from_pandas(t.value) for t in (*at.table, *at.dataframe)]


def test_page_publishes_every_rule_and_the_thresholds():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "检查规则"
    assert "户籍、性别、年龄或残疾" in at.caption[0].value
    rules, params = tables(at)
    assert rules["编号"].to_list() == [s.check_id for s in ordered()]  # every check, once
    assert "身故后仍在册宽限期" in params["参数"].to_list()
    assert [b.label for b in at.get("download_button")] == ["导出检查规则（Excel）"]


def test_a_family_narrows_the_rules():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.button_group[0].set_value("廉洁风险").run()
    assert not at.exception, at.exception
    rules, _ = tables(at)
    assert rules["编号"].to_list() == [s.check_id for s in select(["integrity"])]
    assert set(rules["类别"]) == {"廉洁风险"}


@pytest.mark.browser
def test_rules_page_in_headless_chromium(
    run_dashboard, browser_page, browser_login, wait_for_app, small_drop, tmp_path
):
    base_url = run_dashboard(small_drop, tmp_path / "out")
    page = browser_page
    browser_login(page, base_url)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="检查规则").click()
    page.wait_for_url("**/rules", timeout=30_000)
    wait_for_app(page)
    page.get_by_role("heading", name="检查规则").wait_for()
    rows = page.locator(".st-key-rules_table tbody tr")
    rows.first.wait_for()
    assert rows.count() == len(ordered())
    rules = page.locator(".st-key-rules_table")
    assert rules.get_by_text("拨付日期晚于当月规定的发放日。").count() == 1
    assert page.locator('[data-testid="stException"]').count() == 0
