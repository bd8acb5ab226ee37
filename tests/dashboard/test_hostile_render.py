"""Every page of the running app in headless Chromium, over a drop whose names, items, numbers
and headers hold Markdown links and images, raw HTML, Streamlit directives and LaTeX (see
conftest.py): nothing of it becomes a link, an image or an element; it shows as typed.

One server, one browser page logged in as 民政监督, one visit per page of the app."""

from __future__ import annotations

import re

import pytest

from analytics.export import WORD_JOINER

pytestmark = pytest.mark.browser

# What the hostile markup would have made: links and images to these hosts, the image with an
# onerror handler, bold or coloured words, LaTeX, the Streamlit logo of :streamlit:.
FOUND_MADE_UP = """(words) => {
  const hostile = /evil\\.example|attacker\\.example/;
  const made = [];
  const attr = (el, name) => el.getAttribute(name) || el.getAttribute('xlink:' + name)
    || el.getAttributeNS('http://www.w3.org/1999/xlink', name) || '';
  for (const a of document.querySelectorAll('a')) {
    if (hostile.test(attr(a, 'href'))) made.push('link ' + attr(a, 'href'));
  }
  for (const img of document.querySelectorAll('img, image')) {
    const src = attr(img, 'src') || attr(img, 'href');
    if (hostile.test(src) || src === 'x') made.push('image ' + src);
    if (img.getAttribute('alt') === 'Streamlit logo') made.push('streamlit logo');
  }
  if (document.querySelector('[onerror]')) made.push('onerror handler');
  if (document.querySelector('.katex, math')) made.push('LaTeX');
  if (document.querySelector('[data-testid="stMarkdownContainer"] img')) made.push('image in text');
  for (const el of document.querySelectorAll('b, strong, em, i, del, span, tspan')) {
    const text = el.textContent.trim();
    const tag = el.tagName.toLowerCase();
    if (!words.includes(text)) continue;
    if (tag === 'tspan' && !/bold|italic/.test(el.getAttribute('style') || '')) continue;
    if (tag === 'span' && !/stMarkdownColored/.test(el.getAttribute('class') || '')) continue;
    made.push(tag + ' ' + text);
  }
  return made;
}"""


def visit(page, url: str, wait_for_app) -> str:
    """Open ``url``, wait for the app, fail on an exception shown; the page's visible text (the
    invisible word joiners of escaped text left out)."""
    page.goto(url)
    wait_for_app(page, timeout_ms=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0, url
    return page.locator("body").inner_text().replace(WORD_JOINER, "")


def assert_nothing_made(page, run, where: str) -> None:
    words = [*run.markup_words, "工", "案件", "名"]
    assert page.evaluate(FOUND_MADE_UP, words) == [], where


def test_hostile_text_is_shown_as_typed_on_every_page(
    run_dashboard, browser_page, browser_login, wait_for_app, hostile_run
):
    run = hostile_run
    base = run_dashboard(run.drop, run.out)
    page = browser_page
    markup_parts = run.markup.split(" ")
    # 民政监督 may open every page visited here (analytics.access.PAGES); the login cookie keeps
    # each visit below logged in.
    browser_login(page, base, role="civil_affairs")
    page.wait_for_function("() => document.cookie.includes('aidwatch_session=')")

    # 总览: street offices and indicators only; nothing of the drop's free text.
    text = visit(page, base, wait_for_app)
    assert "总览" in text
    assert_nothing_made(page, run, "总览")

    # 线索清单, the finding whose ledger item is the markup opened by its link.
    text = visit(page, f"{base}/findings?finding={run.markup_finding}", wait_for_app)
    for part in markup_parts:
        assert part in text, part
    assert_nothing_made(page, run, "线索清单")

    # 资金比对: the same finding, its sentence and the comparison's scope.
    text = visit(page, f"{base}/funds?finding={run.markup_finding}", wait_for_app)
    assert text.count(run.markup) >= 2  # the finding's sentence and the comparison's scope
    assert_nothing_made(page, run, "资金比对")

    # 关系图谱: an evidence path through the hostile staff and case numbers, drawn and written.
    text = visit(page, f"{base}/graph?finding={run.graph_finding}", wait_for_app)
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
    assert run.staff_id in text and run.case_id in text
    # Masked ID numbers keep their asterisks (no bold text eats them).
    assert re.search(r"证据路径：.*310105\*{8}\d{3}[\dX]", text)
    labels = page.evaluate(
        "() => Array.from(document.querySelectorAll('.js-plotly-plot text'))"
        ".map(t => t.textContent)"
    )
    assert any(run.staff_id in label for label in labels)
    assert_nothing_made(page, run, "关系图谱")

    # 街镇 and 检查规则: fixed vocabulary; nothing made either.
    for name, title in (("street", "街镇"), ("rules", "检查规则")):
        text = visit(page, f"{base}/{name}", wait_for_app)
        assert title in text
        assert_nothing_made(page, run, title)

    # 数据导入: the ledger's extra column, named with HTML and a link, is listed as typed.
    visit(page, f"{base}/import_data", wait_for_app)
    page.get_by_test_id("stExpander").filter(has_text="资金实发明细").first.click()
    page.get_by_text("已忽略的多余列").wait_for()
    text = page.locator("body").inner_text().replace(WORD_JOINER, "")
    assert run.header in text
    assert_nothing_made(page, run, "数据导入")
