"""The app through Streamlit's AppTest (real script runs, no browser): every page on the demo county, the shared
sidebar, and bad uploads that must end in a Chinese error while the app keeps running.

Every test runs with its own store in ``tmp_path`` (``VILLAGE_AUDIT_DATA_DIR``) holding one account per role, and
signs in by putting a session in ``at.session_state`` before the first run (the sign-in form itself is tested in
``test_app_auth.py``)."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from app import auth, state
from audit.area.floor_area import area_audit
from audit.area.registry import registry_from_file
from audit.records.access import SYSTEM, User
from audit.records.accounts import add_user, user_from_store
from audit.rules import DEFAULT_RULES, load_rules

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "streamlit_app.py")
PAGES = {"总览": None, "设施地图": "app/pages/facility_map.py", "面积核查": "app/pages/area.py",
         "牌子核查": "app/pages/inspection.py", "核查记录": "app/pages/records.py", "导出": "app/pages/export.py",
         "数据与规则": "app/pages/data.py", "用户管理": "app/pages/users.py"}
CSV = "村名,乡镇,户数,党群服务中心面积,经度,纬度\n王庄村,东镇,300,150,116.0,36.4\n李庄村,东镇,500,90,116.02,36.41\n" \
      "赵庄村,西镇,1200,300,115.9,36.42\n"


PASSWORD = "correct-horse-7"


@dataclass(frozen=True)
class Accounts:
    """The store of one test: its data directory and one user per role."""

    data_dir: Path
    admin: User
    inspector: User
    planner: User


@pytest.fixture(autouse=True)
def users(tmp_path, monkeypatch) -> Accounts:
    return accounts_for_app(tmp_path, monkeypatch)


def accounts_for_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Accounts:
    """A store in tmp_path (the app's data directory) with an administrator, an inspector of 城关街道 and a
    planner; cheap bcrypt; no demo mode."""
    from audit.records.db import open_store

    data = tmp_path / "data"
    monkeypatch.setenv("VILLAGE_AUDIT_DATA_DIR", str(data))
    monkeypatch.setenv("VILLAGE_AUDIT_BCRYPT_ROUNDS", "4")
    for name in ("VILLAGE_AUDIT_DB_URL", "VILLAGE_AUDIT_DEMO", "VILLAGE_AUDIT_LOCKOUT_ATTEMPTS",
                 "VILLAGE_AUDIT_SESSION_HOURS"):
        monkeypatch.delenv(name, raising=False)
    store = open_store(data_dir=data)
    try:
        made = Accounts(data,
                        add_user(store, "admin1", PASSWORD, role="admin", display_name="县管理员", by=SYSTEM),
                        add_user(store, "insp", PASSWORD, role="inspector", townships=["城关街道"],
                                 display_name="城关检查员", by=SYSTEM),
                        add_user(store, "plan", PASSWORD, role="planner", by=SYSTEM))
    finally:
        store.close()
    return made


@pytest.fixture(scope="module")
def demo():
    reg = registry_from_file(state.DEMO, crs=state.DEMO_CRS)
    return area_audit(reg.villages)


@pytest.fixture(scope="module")
def demo_registry():
    """The demo county's registry as the store files inspections against it (the app's default dataset)."""
    from audit.records.inspections import village_registry_from_file

    return village_registry_from_file(state.DEMO, crs=state.DEMO_CRS)


def open_page(page: str | None = None, *, user: User | None | str = "admin1", **session) -> AppTest:
    """Run the app signed in as ``user`` (a User, a user name of the fixture's store, or None: not signed in),
    then switch to ``page``."""
    at = AppTest.from_file(APP, default_timeout=120)
    if isinstance(user, str):
        from audit.records.db import open_store

        store = open_store()
        try:
            user = user_from_store(store, user)
        finally:
            store.close()
    if user is not None:  # a sign-in as the form makes it: a session kept on the server
        from audit.records.db import open_store
        from audit.records.sessions import start_session

        store = open_store()
        try:
            at.session_state[auth.SESSION] = start_session(store, user)
        finally:
            store.close()
    for key, value in session.items():
        at.session_state[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def sidebar_text(at: AppTest) -> str:
    return " ".join([m.value for m in at.sidebar.markdown] + [c.value for c in at.sidebar.caption])


def upload(at: AppTest, key: str, name: str, data: bytes, *, confirm: bool = True) -> AppTest:
    """Upload a file on 数据与规则 and, with ``confirm``, confirm its preview (the county files are saved only
    once confirmed)."""
    at.file_uploader(key=key).set_value((name, data, "application/octet-stream")).run()
    assert not at.exception, [e.value for e in at.exception]
    button = f"{key.removesuffix('_upload')}_confirm"
    if confirm and any(b.key == button for b in at.button):
        at.button(key=button).click().run()
        assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("title", list(PAGES))
def test_every_page_runs_on_the_demo_county(title):
    at = open_page(PAGES[title])
    assert not errors(at)
    assert title.replace("导出", "导出面积核查结果").replace("总览", "总览 · 党群服务中心面积核查") == at.title[0].value
    assert "演示数据" in sidebar_text(at) and "2026.1" in sidebar_text(at) and "400 个村" in sidebar_text(at)
    assert at.sidebar.selectbox(key="township").value == state.ALL


def test_overview_figures_and_worst_townships(demo):
    at = open_page()
    assert "演示数据" in at.info[0].value
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["村庄数"] == str(len(demo))
    assert metrics["不达标"] == str(int((demo["area_status"] == "non_compliant").sum()))
    judged = demo["area_status"].isin(["compliant", "non_compliant"]).sum()
    assert metrics["达标率"] == f"{(demo['area_status'] == 'compliant').sum() / judged:.1%}"
    worst = at.dataframe[0].value
    assert len(worst) == 5 and worst["达标率"].is_monotonic_increasing


def test_township_filter_applies_to_every_page(demo):
    town = "柳林镇"
    n = int((demo["township"] == town).sum())
    at = open_page()
    at.sidebar.selectbox(key="township").select(town).run()
    assert {m.label: m.value for m in at.metric}["村庄数"] == str(n)
    at.switch_page("app/pages/area.py").run()
    assert len(at.dataframe[0].value) == n and set(at.dataframe[0].value["乡镇（街道）"]) == {town}
    at.switch_page("app/pages/facility_map.py").run()
    assert any(f"范围：{town} · 显示 {n} 个" in c.value for c in at.caption)
    at.switch_page("app/pages/export.py").run()
    assert at.selectbox(key="export_scope").value == town


def test_area_page_filters_and_chart(demo):
    at = open_page("app/pages/area.py")
    assert len(at.dataframe[0].value) == len(demo)
    at.multiselect(key="area_status_filter").set_value(["non_compliant"]).run()
    table = at.dataframe[0].value
    assert len(table) == int((demo["area_status"] == "non_compliant").sum()) and set(table["面积核查结果"]) == {"不达标"}
    assert (table["面积缺口（㎡）"] > 0).all()
    # one non-compliant village by its (unique) code: exactly its row; a compliant one's code: none (filtered out)
    unique = demo[~demo["village_code"].duplicated(keep=False)]
    short = unique[unique["area_status"] == "non_compliant"].iloc[3]
    at.text_input(key="area_search").set_value(short["village_code"]).run()
    found = at.dataframe[0].value
    assert found[["村代码", "村名"]].values.tolist() == [[short["village_code"], short["village_name"]]]
    fine = unique[unique["area_status"] == "compliant"].iloc[0]
    at.text_input(key="area_search").set_value(fine["village_code"]).run()
    assert at.dataframe[0].value.empty
    assert len(at.dataframe[1].value) == demo["township"].nunique()
    assert at.get("vega_lite_chart") or at.get("arrow_vega_lite_chart")


def test_map_page_filters():
    at = open_page("app/pages/facility_map.py")
    [component] = at.get("component_instance")
    args = json.loads(component.proto.json_args)
    assert args["returned_objects"] == ["last_object_clicked"]  # panning and zooming do not rerun the app
    assert args["js_links"] and all(u.startswith("/app/static/vendor/") for u in args["js_links"] + args["css_links"])
    at.multiselect(key="map_status").set_value(["unknown"]).run()
    assert not at.exception
    shown = next(c.value for c in at.caption if c.value.startswith("范围"))
    assert "近似范围" in shown and "显示 400" not in shown
    at.selectbox(key="map_basemap").select("gaode").run()
    at.selectbox(key="map_central").select("central").run()
    assert not at.exception


def test_records_page(users, demo_registry):
    at = open_page("app/pages/records.py")
    assert any("尚无核查记录" in i.value for i in at.info)
    # the administrator also sees how the engine does on the county's reviewed photos (none reviewed yet)
    assert any("识别效果" in e.label for e in at.expander)
    assert any("还没有复核过的核查记录" in i.value for i in at.info)

    from audit.records.db import open_store
    from audit.records.inspections import submit_inspection
    from audit.signs.engine import SignageReport, inventory_from_photos
    from tests.test_store import AUDITED

    rules = load_rules()
    report = SignageReport(village={"code": "371599101201", "name": "石楼村"}, rules_version=rules.version,
                           photos=[], errors=[], summary=inventory_from_photos([], rules))
    store = open_store(data_dir=users.data_dir)
    submit_inspection(store, report, [], user=users.inspector, registry=demo_registry, audited=AUDITED)
    store.close()
    at = open_page("app/pages/records.py")
    # only the engine-scores note (nothing reviewed yet) remains
    assert [i.value for i in at.info] == ["还没有复核过的核查记录。复核后的照片越多，这里的统计越可靠，也可导出用于模型微调。"]
    ledger, table = (d.value for d in at.dataframe)
    assert list(table["村名"]) == ["石楼村"] and list(table["核查人"]) == ["城关检查员（insp）"]  # the person, by name
    assert list(table["结论"]) == ["未核查"]
    # The county signage ledger: every village, the inspected one with its last inspection.
    assert len(ledger) == 400 and {m.label: m.value for m in at.metric}["本轮未核查"] == "399"
    assert ledger.loc[ledger["村代码"] == "371599101201", "核查人"].tolist() == ["城关检查员（insp）"]


def test_records_page_shows_rectification_progress(users, demo_registry):
    import datetime as dt

    from audit.records.db import open_store
    from audit.records.inspections import inspections_table, submit_inspection
    from tests.test_store import AUDITED, jpeg_bytes, model_report, official

    rules = load_rules()
    store = open_store(data_dir=users.data_dir)
    first = jpeg_bytes(1)
    submit_inspection(store, model_report(first, rules, code="371599101201", name="石楼村"), [first],
                      user=users.inspector, registry=demo_registry, audited=AUDITED,
                      inspected_at=dt.datetime(2026, 10, 1, 9))
    second = jpeg_bytes(2)
    plaques = [official(t, rules) for t in ("party_org", "villagers_committee", "supervision_committee",
                                            "service_centre_sign", "civilisation_station_sign", "militia",
                                            "collective_economy")]
    submit_inspection(store, model_report(second, rules, plaques=plaques, code="371599101201", name="石楼村"),
                      [second], user=users.inspector, registry=demo_registry, audited=AUDITED,
                      inspected_at=dt.datetime(2026, 11, 20, 9))
    latest = inspections_table(store, user=SYSTEM).sort_values("inspected_at")["inspection_id"].iloc[-1]
    store.close()
    at = open_page("app/pages/records.py", user="insp")
    at.selectbox(key="records_open").select(latest).run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["已整改"] == "4" and metrics["仍未整改"] == "0" and metrics["新发现"] == "0"  # 2 missing, 1 duplicate, 1 sign
    assert any("已整改：缺少民兵连" in m.value for m in at.markdown)


def test_export_page_offers_three_formats():
    at = open_page("app/pages/export.py")
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["下载 Excel 工作簿（XLSX）", "下载 CSV（UTF-8 带 BOM）", "下载 GeoPackage（GPKG）"]
    at.selectbox(key="export_scope").select("张秋镇").run()
    assert not at.exception and any("张秋镇 · " in c.value for c in at.caption)


def test_export_bytes_for_one_township(demo):
    cur = state.Current(state.demo_dataset(), load_rules(), None, demo, [], [], None, None)
    data = state.export_bytes(cur.key, "张秋镇", "xlsx", cur)
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    assert wb.sheetnames == ["村级明细", "乡镇汇总", "县级汇总", "说明"]
    rows = list(wb["村级明细"].values)
    town = rows[0].index("乡镇（街道）")
    assert len(rows) - 1 == int((demo["township"] == "张秋镇").sum()) and {r[town] for r in rows[1:]} == {"张秋镇"}
    csv = state.export_bytes(cur.key, state.ALL, "csv", cur)
    assert csv.startswith(b"\xef\xbb\xbf") and csv.count(b"\n") == len(demo) + 1
    assert state.export_bytes(cur.key, state.ALL, "gpkg", cur).startswith(b"SQLite format 3")


@pytest.mark.parametrize(("name", "data", "message"), [
    ("broken.xlsx", b"PK\x03\x04 not really a workbook", "无法读取"),
    ("report.pdf", b"%PDF-1.4", "不支持的文件类型「.pdf」"),
    ("missing.csv", "村名,乡镇\n王庄村,东镇\n".encode(), "缺少必需的列：户数"),
    ("broken.gpkg", b"SQLite format 3\x00 broken", "无法读取"),
    ("empty.zip", b"PK\x05\x06" + b"\x00" * 18, "没有 .shp"),
])
def test_a_bad_registry_upload_is_reported_and_the_demo_stays(name, data, message):
    at = upload(open_page("app/pages/data.py"), "registry_upload", name, data)
    [error] = errors(at)
    assert f"名册「{name}」无法读取" in error and message in error
    assert "village-audit-" not in error  # no temporary path in the message
    assert "演示数据" in sidebar_text(at)
    at.switch_page("app/pages/area.py").run()  # the app keeps running on the previous data
    assert not at.exception and len(at.dataframe[0].value) == 400


def test_a_good_registry_upload_replaces_the_demo():
    at = open_page("app/pages/data.py")
    at.selectbox(key="data_crs").select("wgs84").run()
    upload(at, "registry_upload", "本县名册.csv", CSV.encode("gbk"))
    assert not errors(at)
    assert "本县名册.csv" in sidebar_text(at) and "3 个村" in sidebar_text(at) and "WGS84" in sidebar_text(at)
    assert "演示数据" not in sidebar_text(at)
    at.switch_page("app/pages/facility_map.py").run()
    assert not at.exception and any("显示 3 个" in c.value for c in at.caption)
    at.switch_page("app/pages/overview.py").run()
    assert {m.label: m.value for m in at.metric}["不达标"] == "2"  # 李庄村 90 < 150 ㎡; 赵庄村 300 < 360 ㎡ (1,200 households)


def test_a_registry_without_coordinates_still_shows_a_map():
    at = upload(open_page("app/pages/data.py"), "registry_upload", "无坐标.csv",
                "村名,户数,党群服务中心面积\n王庄村,300,120\n".encode())
    at.switch_page("app/pages/facility_map.py").run()
    assert not at.exception and any("显示 0 个" in c.value for c in at.caption)


@pytest.mark.parametrize(("name", "data", "message"), [
    ("county.toml", b"version = 1\n[area\n", "格式错误"),
    ("county.toml", b'version = "x"\ntitle = "t"\n', "key 'area'"),
    ("county.toml", b"\xff\xfe\x00", "格式错误"),
])
def test_a_bad_rules_file_is_reported_and_the_default_rules_stay(name, data, message):
    at = upload(open_page("app/pages/data.py"), "rules_upload", name, data)
    [error] = errors(at)
    assert f"规则文件「{name}」无法使用" in error and message in error
    assert "2026.1（默认规则）" in sidebar_text(at)


def test_a_county_rules_file_is_used():
    text = DEFAULT_RULES.read_text(encoding="utf-8").replace('version = "2026.1"', 'version = "2026.1-县"', 1)
    at = upload(open_page("app/pages/data.py"), "rules_upload", "county.toml", text.encode())
    assert not errors(at) and "2026.1-县（county.toml）" in sidebar_text(at)


def test_boundary_layer_upload():
    polygon = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"乡镇": "柳林镇"},
        "geometry": {"type": "Polygon", "coordinates": [[[115.7, 36.2], [116.3, 36.2], [116.3, 36.7], [115.7, 36.7],
                                                         [115.7, 36.2]]]}}]}
    at = upload(open_page("app/pages/data.py"), "boundary_upload", "乡镇.geojson", json.dumps(polygon).encode())
    assert not errors(at) and "乡镇边界：乡镇.geojson（1 个）" in sidebar_text(at)
    at.switch_page("app/pages/facility_map.py").run()
    assert not at.exception and not any("近似范围" in c.value for c in at.caption if c.value.startswith("范围"))
    at = upload(open_page("app/pages/data.py"), "boundary_upload", "乡镇.geojson", b"{not json")
    assert "乡镇边界「乡镇.geojson」无法使用" in errors(at)[0]


@pytest.mark.slow
def test_inspection_page_runs_the_plaque_engine_and_saves(users):
    """The real engine on a generated facade (truth in its JSON) and a broken photo, then the review is saved
    under the signed-in inspector's name."""
    import json

    import streamlit as st

    from audit.records.db import open_store
    from audit.records.inspections import inspection_from_store, inspections_table

    fixture = REPO / "tests" / "fixtures" / "signage" / "external_unauthorised.jpg"
    truth = json.loads(fixture.with_suffix(".json").read_text(encoding="utf-8"))
    try:
        at = open_page("app/pages/inspection.py", user="insp")
        at.text_input(key="inspect_search").set_value("371599101201").run()
        at.file_uploader(key="inspect_photos").set_value(
            [("门口.jpg", fixture.read_bytes(), "image/jpeg"), ("坏.jpg", b"not a photo", "image/jpeg")])
        at.run()
        assert any("不是可识别的图片" in e for e in errors(at))           # the preview refuses the broken one
        assert any("可核查的照片 1 张：外部 1 张，内部 0 张；另有 1 个文件无法识别" in c.value for c in at.caption)
        assert len(at.radio) == 1                                      # and offers it no side
        at.button(key="inspect_run").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert "核查结论：需要整改" in at.warning[0].value
        wanted = [p["text"] for p in truth["plaques"] if "unauthorised" in p["violations"]]
        page_text = " ".join(m.value for m in at.markdown)
        assert all(w in page_text for w in wanted)
        assert not any("坏.jpg" in e for e in errors(at) if "不是可识别的图片" not in e)  # not sent to the engine
        assert any("门口.jpg（外部" in c for img in at.image for c in img.captions)  # the annotated photo
        assert not any(t.key == "inspect_inspector" for t in at.text_input)  # no free-text inspector any more
        assert any("核查人：城关检查员（insp）" in c.value for c in at.caption)
        next(b for b in at.button if b.label == "保存到核查记录").click().run()
        assert not at.exception and at.success, (errors(at), [w.value for w in at.warning])
        assert "已保存到核查记录" in at.success[-1].value
        store = open_store(data_dir=users.data_dir)
        table = inspections_table(store, user=SYSTEM)
        insp = inspection_from_store(store, table["inspection_id"].iloc[0], user=SYSTEM)
        store.close()
        assert list(table["village_code"]) == ["371599101201"] and list(table["inspector"]) == ["insp"]
        assert (insp.township, insp.village_name) == ("城关街道", "石楼村")  # the registry's, as the store found them
        assert insp.registry_sha256 == hashlib.sha256(state.DEMO.read_bytes()).hexdigest()
        assert insp.rules_sha256 == hashlib.sha256(DEFAULT_RULES.read_bytes()).hexdigest()
        model = REPO / "models" / "plaques.onnx"
        assert insp.model_sha256 == hashlib.sha256(model.read_bytes()).hexdigest()
        # The photo is 长乐村's (the generator's village), audited as the registry's 石楼村: its official plaques
        # name another village, so none is counted present; each is left to the inspector, saying so
        officials = [p for p in truth["plaques"] if p["type"] != "other_sign" and p["labelled"]]
        assert officials and insp.summary.present == []
        for board in officials:
            saved = [q.plaque for q in insp.plaques if board["text"] in q.plaque.text and q.plaque.kind == "undecided"]
            assert saved and "不是本村" in saved[0].reason, board["text"]
        assert {p.status for p in insp.plaques} == {"confirmed"}          # reviewed as it stood
    finally:
        st.cache_resource.clear()
