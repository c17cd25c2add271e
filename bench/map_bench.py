"""Speed of the facility map, printed as figures (`make bench-map`, or `.venv/bin/python bench/map_bench.py`).

1. The map's HTML for the demo county, a generated 6,000-village registry and a 70,000-village one (GCJ-02,
   written as CSV): villages, megabytes, median seconds to build and render it.
2. In a real browser — Debian's /usr/bin/chromium driven by Playwright (headless, no GPU) against
   `streamlit run` in demo mode — for 6,000 and 70,000 villages, five times each (median and all five):
   - **navigation → first clusters**: from clicking 设施地图 in the sidebar until supercluster has indexed
     every village and the first cluster icons are drawn (`window.vaVillages.vaReady` and a `.va-cluster` in
     the map's frame);
   - **click → popup**: the map is zoomed onto a village (single villages from zoom 13), then a real mouse click
     on it until its popup is in the page.
   The registries are generated here (``city_villages``: 124 townships, like the real 5,973-village city of
   issue 16; kept in .cache/bench-map). The first of the five navigations is the server's first (cold:
   registry read, audit, township areas and map built); the others find them cached. The registry is saved as
   the county's (as 数据与规则 does after a confirmed upload) before the server starts: the upload is not timed.
The machine's load average is printed with the figures: the map is CPU-bound in the browser.
"""

from __future__ import annotations

import html
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

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from audit.area import coords  # noqa: E402
from audit.area.demo import SUFFIXES, SURNAMES  # noqa: E402
from audit.area.floor_area import area_audit  # noqa: E402
from audit.area.mapping import audit_map  # noqa: E402
from audit.area.ranking import build_ranking  # noqa: E402
from audit.area.registry import registry_from_file  # noqa: E402
from audit.area.townships import townships_from_villages  # noqa: E402
from audit.records.demo_accounts import DEMO_PASSWORD  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
BROWSER_TIMEOUT_MS = int(os.environ.get("MAP_BENCH_TIMEOUT_MS", "600000"))
RUNS = int(os.environ.get("MAP_BENCH_RUNS", "5"))
SIZES = tuple(int(n) for n in os.environ.get("MAP_BENCH_SIZES", "6000,70000").split(","))
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
CACHE = REPO / ".cache" / "bench-map"
CLUSTERS_DRAWN = ("() => !!(window.vaVillages && window.vaVillages.vaReady"
                  " && document.querySelector('.va-cluster'))")


TOWNSHIPS = 124  # as the real 5,973-village city of issue 16


def city_villages(n: int, *, seed: int = 2026) -> pd.DataFrame:
    """A generated city of ``n`` villages in ``TOWNSHIPS`` townships (names unique within a township, about a
    quarter short of floor area, GCJ-02 coordinates), spread over about 0.9° per 10,000 villages a side."""
    rng = np.random.default_rng(seed)
    side = 0.9 * max(1.0, (n / 10_000) ** 0.5)
    town = np.repeat(np.arange(TOWNSHIPS), -(-n // TOWNSHIPS))[:n]
    cx, cy = 115.5 + rng.uniform(0, side, TOWNSHIPS), 36.0 + rng.uniform(0, side * 0.8, TOWNSHIPS)
    spread = side / TOWNSHIPS ** 0.5 / 3
    lon, lat = cx[town] + rng.normal(0, spread, n), cy[town] + rng.normal(0, spread * 0.8, n)
    combos = np.array([a + b + "村" for a in SURNAMES for b in SUFFIXES])
    order = np.concatenate([rng.permutation(len(combos)) for _ in range(-(-n // len(combos)) + TOWNSHIPS)])
    within = np.arange(n) - np.searchsorted(town, town)  # the village's number in its township
    names = np.where(within < len(combos), combos[order[within % len(combos)]],
                     np.char.add(combos[order[within % len(combos)]], (within // len(combos)).astype(str)))
    central = rng.random(n) < 0.15
    households = rng.lognormal(np.where(central, np.log(1300), np.log(420)), 0.45).astype(int)
    required = np.maximum(np.where(central, 500, 100), households * 30 / 100)
    area = np.maximum(np.round(required * rng.normal(1.22, 0.28, n) * 2) / 2, 20.0)
    glon, glat = coords.wgs84_to_gcj02(lon, lat)
    return pd.DataFrame({
        "县（市、区）": "示例市（DEMO）", "乡镇（街道）": [f"第{t + 1:03d}镇" for t in town], "行政村名称": names,
        "统计用区划代码": [f"3715{t:04d}{v:04d}" for t, v in zip(town, within, strict=True)],
        "村庄类型": np.where(central, "中心村", "非中心村"), "户籍户数": households, "党群服务中心面积（㎡）": area,
        "经度": np.round(glon, 6), "纬度": np.round(glat, 6)})


def registry(n: int) -> Path:
    """A generated registry of ``n`` villages as CSV (kept in .cache/bench-map: the same seed, the same file)."""
    path = CACHE / f"city_{n}.csv"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        city_villages(n).to_csv(path, index=False, encoding="utf-8")
    return path


def payload(path: Path, repeat: int = 3) -> tuple[int, int, float]:
    """(villages, HTML bytes, median seconds to build and render the map) for a registry."""
    audited = area_audit(registry_from_file(path, crs="gcj02").villages)
    areas = townships_from_villages(audited)
    ranking = build_ranking(audited)
    times, html = [], ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        html = audit_map(audited, townships=areas, ranking=ranking).get_root().render()
        times.append(time.perf_counter() - t0)
    return len(audited), len(html.encode("utf-8")), statistics.median(times)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp: Path, registry_path: Path) -> tuple[subprocess.Popen, str]:
    from audit.records import county_data
    from audit.records.access import SYSTEM

    data = tmp / "data"
    env = dict(os.environ, VILLAGE_AUDIT_DATA_DIR=str(data), VILLAGE_AUDIT_DEMO="1")
    os.environ["VILLAGE_AUDIT_DATA_DIR"] = str(data)  # where save_county_file writes, in this process
    county_data.save_county_file("registry", registry_path.read_bytes(), registry_path.name, user=SYSTEM, crs="gcj02")
    port = free_port()
    log = (tmp / "streamlit.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true"],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
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


def first_clusters(page) -> float:
    """Seconds from clicking 设施地图 until every village is taken and the first clusters are drawn."""
    t0 = time.perf_counter()
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="设施地图").click()
    deadline = time.monotonic() + BROWSER_TIMEOUT_MS / 1000
    while True:  # the component's iframe may be replaced while it mounts: look it up afresh each poll
        try:
            if page.frame_locator(MAP_FRAME).locator("body").evaluate(CLUSTERS_DRAWN, timeout=1000):
                break
        except Exception:  # noqa: BLE001 - no frame yet, or one detached while we asked
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"no clusters drawn in {BROWSER_TIMEOUT_MS / 1000:.0f} s")
        time.sleep(0.02)  # polling interval of the measurement
    return time.perf_counter() - t0


def click_to_popup(page) -> float:
    """Zoom onto a village, then seconds from a real mouse click on it until its popup is shown."""
    frame = page.frame_locator(MAP_FRAME)
    body = frame.locator("body")
    spot = body.evaluate("""() => {
        const g = window.vaVillages, l = g.getLayers()[Math.floor(g.vaCount / 2)];
        window.map.closePopup();
        window.map.setView(l.getLatLng(), 16, {animate: false});
        const p = window.map.latLngToContainerPoint(l.getLatLng());
        return {x: p.x, y: p.y, name: g.vaData.n[l.options.va]};
    }""")
    page.wait_for_timeout(300)  # the zoom's markers are added on moveend
    t0 = time.perf_counter()
    frame.locator("#map_div").click(position={"x": spot["x"], "y": spot["y"]})  # a real mouse click, through Playwright
    frame.locator(".leaflet-popup-content").wait_for()
    elapsed = time.perf_counter() - t0
    text = frame.locator(".leaflet-popup-content").inner_text()
    assert "面积缺口（㎡）" in text, text
    # The click also reruns the page (st_folium sends it a quarter of a second later) to show the village below
    # the map: wait for that, or a navigation started meanwhile is lost to the rerun.
    page.get_by_role("heading", name=html.unescape(spot["name"])).wait_for()
    return elapsed


def back_to_overview(page) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="总览").click()
    page.get_by_role("heading", name="总览 · 党群服务中心面积核查").wait_for()
    wait_for_app(page)


def browser_figures(path: Path) -> tuple[list[float], list[float]]:
    from playwright.sync_api import sync_playwright

    nav, click = [], []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        proc, url = start_server(Path(tmp), path)
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
            for _ in range(RUNS):
                nav.append(first_clusters(page))
                click.append(click_to_popup(page))
                wait_for_app(page)  # the click reruns the page (the village's details below the map)
                back_to_overview(page)
        finally:
            browser.close()
            proc.terminate()
            proc.wait(timeout=30)
    return nav, click


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} CPUs"


def main() -> None:
    print(f"before: {load()}")
    paths = {n: registry(n) for n in SIZES}
    for label, path in [("demo county", REPO / "data" / "demo" / "demo_county.xlsx")] + \
            [(f"{n:,}-village registry", p) for n, p in paths.items()]:
        n, size, secs = payload(path)
        print(f"map HTML, {label}: {n} villages, {size / 1e6:.2f} MB, build+render {secs:.2f} s (median of 3)")
    if not Path(CHROMIUM).exists():
        print(f"browser figures not measured: {CHROMIUM} is missing")
        return
    for n, path in paths.items():
        nav, click = browser_figures(path)
        print(f"chromium, {n:,} villages, navigation → first clusters: median {statistics.median(nav):.2f} s "
              f"of {len(nav)} (cold first: {', '.join(f'{s:.2f}' for s in nav)})")
        print(f"chromium, {n:,} villages, click → popup: median {statistics.median(click):.3f} s "
              f"of {len(click)} ({', '.join(f'{s:.3f}' for s in click)})")
        print(f"  {load()}")


if __name__ == "__main__":
    main()
