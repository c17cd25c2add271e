"""The app in a real browser: Debian's chromium driven by Playwright against `streamlit run` on a free port.

Needs ``/usr/bin/chromium`` (``apt-get install chromium``; Playwright never downloads a browser here). Without it
the tests are skipped with the reason, unless ``CI_REQUIRE_BROWSER=1``, which turns the skip into a failure.
Waits are on Streamlit's own state (``stApp[data-test-script-state]``) and on elements, never fixed sleeps.
The server gets its own data directory with an administrator and an inspector of 城关街道; each test signs in
through the form.
Screenshots of every page go to ``VILLAGE_AUDIT_SCREENSHOTS_DIR`` when it is set (``make screenshots`` sets it
to ``docs/screenshots/``, the ones shown in the README); otherwise to a temporary folder, so that a test run
never rewrites committed files.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import openpyxl
import pandas as pd
import pytest

from audit.area.export import download_name
from audit.labels import TIMEZONE

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# Where the page screenshots go: docs/screenshots/ only when asked (make screenshots).
SCREENSHOTS = Path(os.environ.get("VILLAGE_AUDIT_SCREENSHOTS_DIR") or tempfile.mkdtemp(prefix="va-screens-"))
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
TIMEOUT_MS = 90_000
PASSWORD = "browser-pass-1"
TOWN = "城关街道"
TOWN_VILLAGES = 27  # of the demo county's 400


def beijing_today():
    return pd.Timestamp.now(tz=TIMEZONE).date()
OTHER_VILLAGE = ("371599103201", "韩园村")  # 柳林镇

pytestmark = pytest.mark.browser
SERVER_DATA: list[Path] = []  # the server's data directory, for tests that look at what it stored


def _require_browser() -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "BROWSER TESTS NOT RUN: the playwright package is missing (pip install playwright==1.65.2)"
    else:
        if CHROMIUM.exists():
            return
        reason = f"BROWSER TESTS NOT RUN: {CHROMIUM} is missing (apt-get install -y chromium chromium-driver)"
    if os.environ.get("CI_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " and CI_REQUIRE_BROWSER=1", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120.0) -> None:
    """Poll Streamlit's health endpoint until it answers (or the server dies)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)  # polling interval while the server starts, not a wait for a result
    raise RuntimeError(f"streamlit did not answer within {timeout} s:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`streamlit run streamlit_app.py` on a free port, with its own data directory holding two accounts."""
    _require_browser()
    from audit.records.access import SYSTEM
    from audit.records.accounts import add_user
    from audit.records.db import open_store

    tmp = tmp_path_factory.mktemp("streamlit")
    port = free_port()
    log = tmp / "streamlit.log"
    env = dict(os.environ, VILLAGE_AUDIT_DATA_DIR=str(tmp / "data"), PYTHONUNBUFFERED="1",
               VILLAGE_AUDIT_BCRYPT_ROUNDS="4")
    env.pop("VILLAGE_AUDIT_DEMO", None)
    env.pop("VILLAGE_AUDIT_DB_URL", None)
    store = open_store(url=f"sqlite:///{tmp / 'data' / 'inspections.sqlite'}", data_dir=tmp / "data")
    try:
        add_user(store, "admin1", PASSWORD, role="admin", by=SYSTEM)
        add_user(store, "insp", PASSWORD, role="inspector", townships=[TOWN], display_name="城关检查员", by=SYSTEM)
    finally:
        store.close()
    cmd = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    SERVER_DATA[:] = [tmp / "data"]
    try:
        wait_healthy(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.external_assets = []  # scripts / stylesheets requested from anywhere but the app's own server

    def watch(request):
        if request.resource_type in ("script", "stylesheet") and urlparse(request.url).hostname != "127.0.0.1":
            page.external_assets.append(request.url)

    page.on("request", watch)
    yield page
    context.close()


def wait_for_app(page) -> None:
    """Wait until Streamlit is connected and has finished running the script."""
    page.locator('[data-testid="stApp"][data-test-connection-state="CONNECTED"]').wait_for()
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for()


def open_page(page, url: str, title: str, *, username: str = "insp") -> None:
    """Open ``url`` (a new Streamlit session: the sign-in page), sign in as ``username`` and wait for ``title``."""
    page.goto(url)
    page.get_by_role("heading", name="村级阵地核查 · 登录").wait_for()
    wait_for_app(page)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("heading", name=title).wait_for()
    wait_for_app(page)


def go_to(page, nav: str, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=nav).click()
    page.get_by_role("heading", name=title).wait_for()
    wait_for_app(page)


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def drawn_villages(page) -> int:
    """Villages the map holds once Leaflet.markercluster has taken them all (clustered at low zoom, each a circle
    marker on a canvas from zoom 13 on: not DOM elements to count)."""
    frame = page.frame_locator(MAP_FRAME)
    frame.locator(".leaflet-overlay-pane canvas").first.wait_for()
    body = frame.locator("body")
    body.evaluate("() => new Promise(r => { const t = () => (window.vaVillages && window.vaVillages.vaReady)"
                  " ? r() : setTimeout(t, 50); t(); })")
    return body.evaluate("() => window.vaVillages.getLayers().length")


def short_village_on_screen(page) -> dict:
    """Zoom the map onto a village that falls short (single villages show from zoom 13) and return its position
    in the map's frame and its name."""
    return page.frame_locator(MAP_FRAME).locator("body").evaluate("""() => {
        const g = window.vaVillages, d = g.vaData;
        const l = g.getLayers().find(l => d.s[l.options.va] === d.short);
        window.map.setView(l.getLatLng(), 16, {animate: false});
        const p = window.map.latLngToContainerPoint(l.getLatLng());
        return {x: p.x, y: p.y, name: d.n[l.options.va]};
    }""")


def test_pages_map_area_and_export(page, server, tmp_path):
    """An inspector of 城关街道 signs in through the form and works on their township only."""
    from playwright.sync_api import expect

    open_page(page, server, "总览 · 党群服务中心面积核查")
    expect(page.get_by_test_id("stMetric").first).to_be_visible()
    expect(page.get_by_test_id("stMetric").first).to_contain_text(str(TOWN_VILLAGES))
    expect(page.get_by_text("演示数据").first).to_be_visible()
    expect(page.get_by_test_id("stDataFrame").first.locator("canvas").first).to_be_visible()
    expect(page.get_by_test_id("stSidebar")).to_contain_text("城关检查员（insp）")
    nav = page.locator('[data-testid="stSidebarNav"]')
    expect(nav.get_by_role("link")).to_have_count(6)  # no 数据与规则, no 用户管理
    shot(page, "overview")

    # The map: Leaflet from static/vendor, the villages drawn (tiles cannot load offline; the points must).
    go_to(page, "设施地图", "设施地图")
    frame = page.frame_locator(MAP_FRAME)
    expect(frame.locator(".leaflet-control-layers")).to_be_visible()
    expect(page.locator(".va-legend")).to_contain_text("村庄")  # the legend is the page's, beside the map
    expect(page.locator(".va-legend")).to_contain_text("近似范围")
    expect(frame.locator(".va-legend")).to_have_count(0)
    assert drawn_villages(page) == TOWN_VILLAGES
    # Click a short village: its popup in Chinese with units, and its details below the map.
    target = short_village_on_screen(page)
    frame.locator("#map_div").click(position={"x": target["x"], "y": target["y"]})
    expect(frame.locator(".leaflet-popup-content")).to_contain_text("面积缺口（㎡）")
    detail = page.get_by_role("heading", name=target["name"])
    detail.wait_for()
    wait_for_app(page)
    expect(page.get_by_test_id("stTable")).to_contain_text("不达标")
    expect(page.get_by_test_id("stTable")).to_contain_text(TOWN)
    shot(page, "map")

    go_to(page, "面积核查", "面积核查")
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    expect(page.get_by_text(f"村级明细（{TOWN_VILLAGES} / {TOWN_VILLAGES} 个村）")).to_be_visible()
    expect(page.get_by_text("各乡镇面积缺口合计（㎡）")).to_be_visible()
    shot(page, "area")

    go_to(page, "导出", "导出面积核查结果")
    days = {beijing_today()}
    with page.expect_download() as download:
        page.get_by_role("button", name="下载 Excel 工作簿（XLSX）").click()
    path = tmp_path / "export.xlsx"
    download.value.save_as(path)
    days.add(beijing_today())
    # scope and date in the name; the date is Beijing's, taken on either side of the click (midnight may pass)
    assert download.value.suggested_filename in {download_name(TOWN, "面积核查", "xlsx", today=d) for d in days}
    wb = openpyxl.load_workbook(path, read_only=True)
    assert wb.sheetnames == ["村级明细", "乡镇汇总", "县级汇总", "说明"]
    rows = list(wb["村级明细"].values)
    town = rows[0].index("乡镇（街道）")
    assert rows[0][:2] == ("村代码", "村名") and len(rows) == TOWN_VILLAGES + 1
    assert {r[town] for r in rows[1:]} == {TOWN}
    shot(page, "export")

    # The inspection page offers only their villages: another township's village cannot be found or opened.
    go_to(page, "牌子核查", "牌子核查")
    expect(page.get_by_text("上传该村党群服务中心的照片").first).to_be_visible()
    expect(page.get_by_text(f"村庄（{TOWN_VILLAGES} 个）")).to_be_visible()
    shot(page, "inspection")
    page.get_by_label("按村名或代码搜索村庄").fill(OTHER_VILLAGE[0])
    page.get_by_label("按村名或代码搜索村庄").press("Enter")
    expect(page.get_by_text("没有符合条件的村庄。")).to_be_visible()
    wait_for_app(page)

    go_to(page, "核查记录", "核查记录")
    expect(page.get_by_text("尚无核查记录").first).to_be_visible()
    shot(page, "records")
    assert page.external_assets == []


def test_an_inspector_cannot_open_another_townships_village_by_link(page, server):
    from playwright.sync_api import expect

    open_page(page, f"{server}/inspection?village={OTHER_VILLAGE[0]}", "牌子核查")
    expect(page.get_by_test_id("stAlertContentError")).to_contain_text("无权对「柳林镇」的村庄提交核查")
    expect(page.get_by_text("上传该村党群服务中心的照片")).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_a_bad_upload_in_the_browser_keeps_the_app_running(page, server, tmp_path):
    from playwright.sync_api import expect

    open_page(page, server + "/data", "数据与规则", username="admin1")
    expect(page.get_by_test_id("stSidebarNav").get_by_role("link", name="用户管理")).to_be_visible()
    shot(page, "data")
    bad = tmp_path / "名册.xlsx"
    bad.write_bytes(b"PK\x03\x04 not a workbook")
    page.locator('.st-key-registry_upload input[type="file"]').set_input_files(bad)  # by its key, not its place
    expect(page.get_by_test_id("stAlertContentError")).to_contain_text("名册「名册.xlsx」无法读取")
    wait_for_app(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    go_to(page, "设施地图", "设施地图")
    assert drawn_villages(page) == 400  # still the demo county, all of it for the administrator
    page.get_by_role("button", name="退出登录").click()
    page.get_by_role("heading", name="村级阵地核查 · 登录").wait_for()
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)


# ------------------------------------------------------------------------------- the inspector's day in the field
# A facade the synthetic generator makes from its seed (an inside wall with both internal plaques, in order), on
# which the shipped engine finds both plaques and nothing to fix: 待复核 before any correction (the outside is not
# photographed).
INSIDE_IN_ORDER_SEED = 9051


def check_photo(tmp_path: Path) -> Path:
    from audit.model.synth.scene import generate_scene

    path = tmp_path / "大厅.jpg"
    path.write_bytes(generate_scene(INSIDE_IN_ORDER_SEED, long_side=1600, side="internal").jpeg_bytes())
    return path


def verdict(page) -> str:
    alert = page.locator('[data-testid^="stAlertContent"]').filter(has_text="核查结论：").first
    alert.wait_for()
    return alert.inner_text().split("核查结论：")[1].split("\n")[0].strip()


def stored_inspections(server_data: Path) -> list[tuple[str, str]]:
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(server_data / "inspections.sqlite")) as conn:
        return conn.execute("SELECT id, verdict FROM inspections").fetchall()


def first_official_row(server_data: Path) -> tuple[int, str]:
    """The review table's row (from 0) of the first official plaque of the check kept as a draft, and its name."""
    import json
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(server_data / "inspections.sqlite")) as conn:
        [(report,)] = conn.execute("SELECT report FROM drafts").fetchall()
    plaques = [p for ph in json.loads(report)["photos"] for p in ph["plaques"]]
    row = next(i for i, p in enumerate(plaques) if p["kind"] == "official")
    return row, plaques[row]["name_zh"]


def test_reload_double_save_and_a_correction_in_the_browser(page, server, tmp_path):
    """An inspector checks a village, the page is reloaded (still signed in, the check offered back), a correction
    changes the verdict on screen, and a double click on 保存 stores one record."""
    from playwright.sync_api import expect

    open_page(page, server + "/inspection", "牌子核查")
    cookie = {c["name"]: c for c in page.context.cookies()}["va_session"]
    assert cookie["sameSite"] == "Strict" and not cookie["secure"]          # plain HTTP here; Secure over HTTPS
    search = page.get_by_label("按村名或代码搜索村庄")
    search.fill("371599101201")
    search.press("Enter")
    wait_for_app(page)
    page.locator('.st-key-inspect_photos input[type="file"]').set_input_files(str(check_photo(tmp_path)))
    wait_for_app(page)
    page.get_by_text("内部（室内）").first.click()
    wait_for_app(page)
    page.get_by_role("button", name="开始核查").click()
    assert verdict(page) == "待复核"
    wait_for_app(page)

    # A reload (pull-to-refresh, a phone's screen lock): still signed in, the unsaved check offered back.
    page.reload()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="牌子核查")).to_be_visible()
    expect(page.get_by_test_id("stSidebar")).to_contain_text("城关检查员（insp）")
    expect(page.get_by_text("未保存的核查：石楼村（371599101201）· 1 张照片")).to_be_visible()
    page.get_by_role("button", name="继续核查").click()
    wait_for_app(page)
    assert verdict(page) == "待复核"
    shot(page, "inspection")

    # A correction: an official plaque the engine found is called a false detection -> that plaque is missing,
    # 需要整改, on screen at once. Which row it is, the draft the server keeps says (the review table's order).
    row, name = first_official_row(SERVER_DATA[0])
    grid = page.locator(".st-key-inspect_review canvas[data-testid=data-grid-canvas]")
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 20, box["y"] + 36 + 35 * row + 17)     # that row's first cell (rows 35 px)
    for _ in range(5):
        page.keyboard.press("ArrowRight")                                 # to its 删除（误检） cell
    page.keyboard.press("Space")
    expect(page.locator('[data-testid^="stAlertContent"]').filter(has_text="核查结论：需要整改")).to_be_visible()
    wait_for_app(page)
    expect(page.get_by_text("识别结果原为「待复核」")).to_be_visible()
    expect(page.get_by_text(f"缺少：{name}")).to_be_visible()

    # A double click on 保存: one record, and the button gives way to a link to it.
    page.get_by_role("button", name="保存到核查记录").dblclick()
    expect(page.get_by_role("link", name="打开这条核查记录")).to_be_visible()
    wait_for_app(page)
    rows = stored_inspections(SERVER_DATA[0])
    assert [v for _, v in rows] == ["needs_rectification"]
    expect(page.get_by_role("button", name="保存到核查记录")).to_have_count(0)
    assert verdict(page) == "需要整改"
    # The record page shows the saved record with its correction.
    page.get_by_role("link", name="打开这条核查记录").click()
    page.get_by_role("heading", name="石楼村（城关街道）").wait_for()
    wait_for_app(page)
    expect(page.get_by_text("复核修改")).to_be_visible()
    assert verdict(page) == "需要整改"
    # Signing out ends the session: a reload does not sign in again.
    page.get_by_role("button", name="退出登录").click()
    page.get_by_role("heading", name="村级阵地核查 · 登录").wait_for()
    page.reload()
    page.get_by_role("heading", name="村级阵地核查 · 登录").wait_for()
    wait_for_app(page)
    assert "va_session" not in {c["name"] for c in page.context.cookies()}
