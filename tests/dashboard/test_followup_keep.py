"""回头看 keeps the street chosen when the user opens another page and comes back, a street link
followed again wins, and its grids write counts with separators and empty cells as a dash
(AppTest, on the two-month workspace of test_followup_page)."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from analytics import formats
from analytics.views import followup as view
from tests.dashboard.test_followup_page import (
    PAGES,
    B,
    expected,
    grid,
    page,
    scenario_workspace,
    shown,
)

PAGE = str(PAGES / "followup.py")


@pytest.fixture
def workspace(tmp_path, monkeypatch, small_drop):
    ws = scenario_workspace(tmp_path, monkeypatch, small_drop)
    yield ws
    ws.store.dispose()


def _widgets(at: AppTest) -> set[str]:
    def walk(node):
        yield node
        for child in (getattr(node, "children", None) or {}).values():
            yield from walk(child)

    return {n.key for n in walk(at._tree) if getattr(n, "key", None)}


def come_back(at: AppTest, held: dict | None = None, **params: str) -> AppTest:
    """The page after a visit to another page: its widget values dropped by Streamlit,
    everything else the session holds (``held`` added) still there."""
    widgets = _widgets(at)
    state = {k: v for k, v in at._session_state._state.filtered_state.items() if k not in widgets}
    again = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in {**state, **(held or {})}.items():
        again.session_state[key] = value
    for name, value in params.items():
        again.query_params[name] = value
    again.run()
    assert not again.exception, again.exception
    return again


def test_the_street_chosen_is_kept_across_pages(workspace):
    at = page()
    at.selectbox(key="followup_street").set_value(B).run()
    fv = expected(workspace)
    back = come_back(at)
    assert back.selectbox(key="followup_street").value == B
    assert grid(back, "街镇", 1).equals(shown(view.items_table(view.items_of(fv, B))))
    assert back.get("download_button")[0].proto.label == f"导出{B}回头看清单（Excel）"


def test_a_street_link_followed_again_wins_over_the_kept_street(workspace):
    at = page(street=B)
    at.selectbox(key="followup_street").set_value(view.ALL_STREETS).run()
    assert come_back(at).selectbox(key="followup_street").value == view.ALL_STREETS
    assert come_back(at, street=B).selectbox(key="followup_street").value == B


def test_a_kept_street_with_nothing_left_shows_every_street(workspace):
    at = page()
    back = come_back(at, held={"_kept_followup_street": "不在清单中的街道"})
    box = back.selectbox(key="followup_street")
    assert box.value == view.ALL_STREETS
    # the box is told what to show: never the street kept from before
    assert box.proto.set_value and box.proto.raw_value == view.ALL_STREETS


def test_counts_have_separators_and_empty_cells_a_dash(workspace):
    at = page()
    (summary,) = [df for df in at.dataframe if "未办结" in df.value.columns]
    config = json.loads(summary.proto.columns)
    assert {name: config[name]["type_config"]["format"] for name in view.COUNTS.values()} == {
        name: formats.GRID_FORMAT[formats.COUNT] for name in view.COUNTS.values()
    }
    (items,) = [df for df in at.dataframe if "阶段" in df.value.columns]
    assert items.proto.placeholder == formats.DASH
    config = json.loads(items.proto.columns)
    assert config["涉及金额（元）"]["type_config"]["format"] == "%,.2f"
