import polars as pl
import pytest

pytestmark = pytest.mark.browser


def test_import_page_in_headless_chromium(
    run_dashboard, browser_page, browser_login, wait_for_app, small_drop, tmp_path
):
    base_url = run_dashboard(small_drop, tmp_path / "out")
    page = browser_page

    browser_login(page, base_url)  # 民政监督: may import, may not choose the server's folders
    assert page.title() == "救助资金监督审计台"
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="数据导入").click()
    # The click changes the address before the page's script starts; wait for both.
    page.wait_for_url("**/import_data", timeout=30_000)
    wait_for_app(page)
    page.get_by_role("heading", name="数据导入").wait_for()
    page.get_by_text("已识别的数据表").wait_for()
    page.get_by_text("拒收记录", exact=True).wait_for()
    # The page reads the server's drop folder (AIDWATCH_DROP); typing a server path, here or in
    # the sidebar, is the administrator's only.
    main = page.get_by_test_id("stMain")
    main.get_by_text("读取管理员设置的数据文件夹").wait_for()
    assert main.get_by_role("textbox", name="数据文件夹").count() == 0
    assert page.get_by_test_id("stSidebar").get_by_role("textbox").count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(tmp_path / "import.png"), full_page=True)
    assert (tmp_path / "import.png").stat().st_size > 10_000

    with page.expect_download() as download:
        page.get_by_role("button", name="下载拒收记录（Excel）").click()
    assert download.value.suggested_filename == "拒收记录.xlsx"
    download.value.save_as(tmp_path / "rejects.xlsx")
    rejects = pl.read_excel(tmp_path / "rejects.xlsx", infer_schema_length=0)
    assert rejects["文件"].to_list() == ["persons.csv"]
    assert rejects["值"].item().count("*") == 8


def test_a_deep_link_on_a_fresh_server_runs_the_entrypoint(
    run_dashboard, browser_page, browser_login, wait_for_app, small_drop, tmp_path
):
    base_url = run_dashboard(small_drop, tmp_path / "fresh-server")
    page = browser_page

    # The first address this server is asked for is a deep link: the entrypoint serves its login
    # page there, and after the login the page the link named.
    browser_login(page, base_url, path="import_data")
    assert page.url.endswith("/import_data")
    page.get_by_role("heading", name="数据导入").wait_for()
    assert page.get_by_test_id("stSidebarNav").get_by_role("link", name="数据导入").count() == 1
    assert page.title() == "救助资金监督审计台"
