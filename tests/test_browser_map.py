"""A city-scale registry in a real browser (Debian's chromium through Playwright, against `streamlit run`):
6,000 villages uploaded → previewed → confirmed; at county zoom the map shows township summaries and clusters,
not 6,000 overlapping circles (clustered by supercluster; a cluster's click zooms in); a village's popup in
Chinese with units; back to the demo and the 6,000-village version restored from the history (each asks first);
the ranking downloaded with the scope and date in its name."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from tests.test_browser import (  # noqa: F401 - fixtures
    MAP_FRAME,
    browser,
    drawn_villages,
    go_to,
    open_page,
    page,
    server,
    wait_for_app,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
N = 6000


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> tuple:
    from audit.area.demo import write_demo
    from audit.area.registry import registry_from_file

    path = write_demo(tmp_path_factory.mktemp("city"), n_villages=N)["xlsx"]
    villages = registry_from_file(path, crs="gcj02").villages
    located = villages[~(villages.geometry.isna() | villages.geometry.is_empty).to_numpy()]
    return path, len(villages), len(located), str(located["village_code"].iloc[0])


def test_a_city_registry_previewed_confirmed_mapped_restored_and_ranked(page, server, city, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    path, n, located, first_code = city
    open_page(page, server + "/data", "数据与规则", username="admin1")
    # the coordinate system offered is the current registry's: the demo's GCJ-02, which the city file also uses
    assert page.get_by_role("combobox", name="名册坐标系").input_value() == "GCJ-02（高德、腾讯）"
    page.locator('.st-key-registry_upload input[type="file"]').set_input_files(path)
    expect(page.get_by_text(f"预览：「{path.name}」")).to_be_visible(timeout=300_000)
    expect(page.get_by_text("按村代码匹配")).to_be_visible()
    assert page.get_by_test_id("stSidebar").inner_text().count(f"{n} 个村") == 0  # nothing saved by a preview
    page.get_by_role("button", name="确认使用此名册").click()
    expect(page.get_by_text(f"已保存县名册「{path.name}」：{n} 个村")).to_be_visible(timeout=300_000)
    wait_for_app(page)

    # The map at county zoom: clusters and township summaries, not thousands of circles.
    go_to(page, "设施地图", "设施地图")
    assert drawn_villages(page) == located
    frame = page.frame_locator(MAP_FRAME)
    clusters = frame.locator(".va-cluster").count()
    assert 0 < clusters < 300
    # each cluster says how many villages it holds and the share falling short, and is ringed by that share
    first = frame.locator(".va-cluster").first
    assert re.fullmatch(r"[\d,]+\d+%", first.inner_text().replace("\n", ""))
    assert first.evaluate("e => e.style.borderColor") in {"rgb(26, 152, 80)", "rgb(253, 174, 97)", "rgb(215, 48, 39)"}
    # A click on a cluster zooms into it (clustered up to zoom 12, single villages from 13) and is not a village
    # click for the page (st_folium counts the clicks of the layers it listens to).
    spot = frame.locator("body").evaluate("""() => {
        for (const e of document.querySelectorAll('.va-cluster')) {
            const r = e.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
            if (e.contains(document.elementFromPoint(x, y))) {
                return {x: x, y: y, zoom: window.map.getZoom(), clicks: window.__GLOBAL_DATA__.last_object_clicked_count};
            }
        }
    }""")
    frame.locator("#map_div").click(position={"x": spot["x"], "y": spot["y"]})
    after = frame.locator("body").evaluate("() => [window.map.getZoom(), window.__GLOBAL_DATA__.last_object_clicked_count]")
    assert spot["zoom"] < after[0] <= 13 and after[1] == spot["clicks"]
    assert frame.locator(".va-town").count() > 0
    expect(frame.locator(".va-town").first).to_contain_text("达标率")
    expect(page.locator(".va-legend")).to_contain_text("村庄聚合")
    height = page.locator(MAP_FRAME).bounding_box()["height"]
    assert 420 <= height <= 1000 - 200  # fits the 1,000-px window below the filters
    # One village up close: its popup in Chinese, with units.
    target = frame.locator("body").evaluate("""() => {
        const g = window.vaVillages, l = g.getLayers()[0];
        window.map.setView(l.getLatLng(), 16, {animate: false});
        const p = window.map.latLngToContainerPoint(l.getLatLng());
        return {x: p.x, y: p.y, name: g.vaData.n[l.options.va], code: g.vaData.code[l.options.va]};
    }""")
    assert target["code"] == first_code  # the codes reach the page as differences, added up again there
    frame.locator("#map_div").click(position={"x": target["x"], "y": target["y"]})
    popup = frame.locator(".leaflet-popup-content")
    expect(popup).to_contain_text(target["name"])
    expect(popup).to_contain_text(first_code)
    for words in ("村代码", "户数", "服务中心面积（㎡）", "核定面积（㎡）", "面积缺口（㎡）", "面积核查结果"):
        expect(popup).to_contain_text(words)
    expect(page.get_by_role("heading", name=target["name"])).to_be_visible()  # the details below the map

    # Back to the demo (asks first), then the city's version restored from the history (asks first).
    go_to(page, "数据与规则", "数据与规则")
    page.get_by_role("button", name="恢复演示数据").click()
    expect(page.get_by_text("恢复演示数据后，全县用户不再使用名册")).to_be_visible()
    page.get_by_role("button", name="确认").click()
    expect(page.get_by_text("已恢复演示数据。")).to_be_visible()
    wait_for_app(page)
    expect(page.get_by_test_id("stSidebar")).to_contain_text("400 个村")
    expect(page.get_by_text("村庄名册的版本记录（2 条）")).to_be_visible()
    page.get_by_role("button", name="恢复此版本").click()
    page.get_by_role("button", name="确认").click()
    expect(page.get_by_text(f"已恢复村庄名册「{path.name}」")).to_be_visible(timeout=300_000)
    wait_for_app(page)
    expect(page.get_by_test_id("stSidebar")).to_contain_text(f"{n} 个村")

    # The ranking, downloaded: the county's name and today's date in the file name.
    go_to(page, "面积核查", "面积核查")
    with page.expect_download() as download:
        page.get_by_role("button", name="下载建设优先排序（XLSX）").click()
    name = download.value.suggested_filename
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y%m%d")
    assert name.endswith(f"_建设优先排序_{today}.xlsx"), name
    saved = tmp_path / name
    download.value.save_as(saved)
    wb = openpyxl.load_workbook(saved, read_only=True)
    rows = list(wb["建设优先排序"].values)
    assert rows[0][0] == "全县排序" and len(rows) > 100 and rows[1][0] == 1
    assert page.external_assets == []
