"""Speed of the facility map, printed as figures (run with `.venv/bin/python bench/map_bench.py`).

- the map's HTML payload and its build + render time for the demo county and a generated 6,000-village county;
- the map page's first render in a real browser (Debian's /usr/bin/chromium driven by Playwright against
  `streamlit run`): from clicking 设施地图 in the sidebar until Leaflet has drawn every village, for the demo
  county and for the 6,000-village registry uploaded through 数据与规则. "cold" is the first visit of the server
  (nothing cached), "warm" the next visit.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from audit.area.demo import write_demo  # noqa: E402
from audit.area.floor_area import area_audit  # noqa: E402
from audit.area.mapping import audit_map  # noqa: E402
from audit.area.registry import registry_from_file  # noqa: E402
from audit.area.townships import townships_from_villages  # noqa: E402
from audit.records.demo_accounts import DEMO_PASSWORD  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
BROWSER_TIMEOUT_MS = int(os.environ.get("MAP_BENCH_TIMEOUT_MS", "300000"))
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
DRAWN = ("() => window.map ? Object.values(window.map._layers)"
         ".filter(l => l.feature && l.feature.geometry.type === 'Point').length : 0")


def payload(path: Path, repeat: int = 3) -> tuple[int, int, float]:
    """(villages, HTML bytes, median seconds to build and render the map) for a registry."""
    audited = area_audit(registry_from_file(path, crs="gcj02").villages)
    areas = townships_from_villages(audited)
    times, html = [], ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        html = audit_map(audited, townships=areas).get_root().render()
        times.append(time.perf_counter() - t0)
    return len(audited), len(html.encode("utf-8")), statistics.median(times)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = (tmp / "streamlit.log").open("wb")
    # Demo mode: the demo accounts exist in the fresh data directory; the bench signs in as the administrator.
    env = dict(os.environ, VILLAGE_AUDIT_DATA_DIR=str(tmp / "data"), VILLAGE_AUDIT_DEMO="1")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true"],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return proc, url
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"streamlit did not start:\n{(tmp / 'streamlit.log').read_text(errors='replace')}")


def wait_for_app(page) -> None:
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for()


def map_first_render(page, expected: int) -> float:
    """Seconds from clicking 设施地图 until Leaflet has drawn ``expected`` villages."""
    t0 = time.perf_counter()
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="设施地图").click()
    # Streamlit may replace the component's iframe while it mounts, so the frame is looked up afresh each poll.
    body = page.frame_locator(MAP_FRAME).locator("body")
    deadline = time.monotonic() + BROWSER_TIMEOUT_MS / 1000
    while body.evaluate(DRAWN) < expected:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the map did not draw {expected} villages in {BROWSER_TIMEOUT_MS / 1000:.0f} s")
        time.sleep(0.02)  # polling interval of the measurement
    elapsed = time.perf_counter() - t0
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="总览").click()
    page.get_by_role("heading", name="总览 · 党群服务中心面积核查").wait_for()
    wait_for_app(page)
    return elapsed


def browser_figures(big: Path, n_big: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    out = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        proc, url = start_server(Path(tmp))
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(BROWSER_TIMEOUT_MS)
            page.goto(url)
            page.get_by_role("heading", name="村级阵地核查 · 登录").wait_for()
            wait_for_app(page)
            page.get_by_label("用户名").fill("demo-admin")
            page.get_by_label("密码", exact=True).fill(DEMO_PASSWORD)
            page.get_by_role("button", name="登录").click()
            page.get_by_role("heading", name="总览 · 党群服务中心面积核查").wait_for()
            wait_for_app(page)
            out["demo (400) cold"] = map_first_render(page, 400)
            out["demo (400) warm"] = map_first_render(page, 400)

            # The same session (a reload would sign out): the sidebar link, not a new URL.
            page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="数据与规则").click()
            page.get_by_role("heading", name="数据与规则").wait_for()
            wait_for_app(page)
            page.locator('[data-testid="stFileUploader"]').first.locator('input[type="file"]').set_input_files(big)
            page.locator('[data-testid="stSidebar"]').get_by_text(f"{n_big} 个村").wait_for(timeout=BROWSER_TIMEOUT_MS)
            wait_for_app(page)
            out[f"{n_big} villages cold"] = map_first_render(page, n_big)
            out[f"{n_big} villages warm"] = map_first_render(page, n_big)
        finally:
            browser.close()
            proc.terminate()
            proc.wait(timeout=30)
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        big = write_demo(tmp, n_villages=6000)["xlsx"]
        for label, path in (("demo county", REPO / "data" / "demo" / "demo_county.xlsx"), ("6,000-village county", big)):
            n, size, secs = payload(path)
            print(f"map HTML, {label}: {n} villages, {size / 1e6:.2f} MB, build+render {secs:.2f} s (median of 3)")
        if not Path(CHROMIUM).exists():
            print(f"browser figures not measured: {CHROMIUM} is missing")
            return
        n_big = len(registry_from_file(big, crs="gcj02").villages)
        for label, secs in browser_figures(big, n_big).items():
            print(f"map page first render in chromium, {label}: {secs:.2f} s")


if __name__ == "__main__":
    main()
