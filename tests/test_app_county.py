"""The county's dataset is shared: what the administrator saves on 数据与规则 is what every user and every later
session sees (AppTest, real script runs; the store and the county files live in ``tmp_path``)."""

from __future__ import annotations

import pytest

from audit.records import county_data
from audit.rules import DEFAULT_RULES
from tests.test_app import CSV, Accounts, accounts_for_app, errors, open_page, sidebar_text, upload

DATA = "app/pages/data.py"
CSV4 = CSV + "孙庄村,西镇,800,400,115.91,36.43\n"


@pytest.fixture(autouse=True)
def users(tmp_path, monkeypatch) -> Accounts:
    return accounts_for_app(tmp_path, monkeypatch)


def villages(at) -> str:
    return {m.label: m.value for m in at.metric}["村庄数"]


def admin_uploads(name: str, data: bytes, *, crs: str = "wgs84"):
    at = open_page(DATA)
    at.selectbox(key="data_crs").select(crs).run()
    return upload(at, "registry_upload", name, data)


def test_a_registry_saved_by_the_administrator_is_what_a_new_planner_session_sees():
    assert villages(open_page(user="plan")) == "400"  # the demo county before
    at = admin_uploads("本县名册.csv", CSV.encode("gbk"))
    assert not errors(at)
    assert any("已保存县名册「本县名册.csv」：3 个村" in s.value for s in at.success)
    assert any(c.value.startswith("当前名册：「本县名册.csv」 · 上传人 县管理员（admin1） · ") and "北京时间" in c.value
               for c in at.caption)
    planner = open_page(user="plan")
    assert villages(planner) == "3"
    assert "本县名册.csv" in sidebar_text(planner) and "WGS84" in sidebar_text(planner)
    assert "演示数据" not in sidebar_text(planner)
    planner.switch_page("app/pages/area.py").run()
    assert not planner.exception and len(planner.dataframe[0].value) == 3
    assert villages(open_page(user="admin1")) == "3"  # the administrator's next session too


def test_an_open_session_sees_a_new_upload_at_its_next_rerun():
    admin_uploads("本县名册.csv", CSV.encode())
    planner = open_page(user="plan")
    assert villages(planner) == "3"
    admin_uploads("新名册.csv", CSV4.encode())
    planner.run()
    assert not planner.exception and villages(planner) == "4" and "新名册.csv" in sidebar_text(planner)


def test_a_bad_upload_is_refused_and_everyone_keeps_the_previous_registry():
    admin_uploads("本县名册.csv", CSV.encode())
    at = upload(open_page(DATA), "registry_upload", "missing.csv", "村名,乡镇\n王庄村,东镇\n".encode())
    [error] = errors(at)
    assert "名册「missing.csv」无法读取，仍使用原来的数据" in error and "缺少必需的列：户数" in error
    assert not at.success or not any("missing.csv" in s.value for s in at.success)
    at.run()  # the file left in the uploader is still reported, and still not saved
    assert len(errors(at)) == 1 and county_data.county_files()["registry"].name == "本县名册.csv"
    assert villages(open_page(user="plan")) == "3"


def test_a_file_left_in_an_uploader_does_not_overwrite_a_newer_upload():
    first = admin_uploads("甲.csv", CSV.encode())
    admin_uploads("乙.csv", CSV4.encode())  # another administrator, another session
    first.run()
    assert not first.exception and county_data.county_files()["registry"].name == "乙.csv"
    assert not any("甲.csv" in s.value for s in first.success)
    assert villages(open_page(user="plan")) == "4"


def test_restore_the_demo_for_everyone_after_asking():
    admin_uploads("本县名册.csv", CSV.encode())
    at = open_page(DATA)
    at.button(key="restore_demo").click().run()  # asks first; 取消 changes nothing
    assert any("恢复演示数据后，全县用户不再使用名册「本县名册.csv」" in w.value for w in at.warning)
    at.button(key="restore_demo_no").click().run()
    assert county_data.county_file_path("registry") is not None and not at.warning
    at.button(key="restore_demo").click().run()
    at.button(key="restore_demo_yes").click().run()
    assert not at.exception and not errors(at)
    assert any(s.value == "已恢复演示数据。" for s in at.success)
    assert county_data.county_file_path("registry") is None
    assert any(c.value == "当前名册：演示数据（demo_county.xlsx）" for c in at.caption)
    assert not any(b.key == "restore_demo" for b in at.button)
    assert villages(open_page(user="plan")) == "400"


def test_changing_the_coordinate_system_of_the_saved_registry():
    admin_uploads("本县名册.csv", CSV.encode())
    at = open_page(DATA)
    assert not any(b.key == "registry_crs" for b in at.button)  # same crs: nothing to apply
    at.selectbox(key="data_crs").select("bd09").run()
    at.button(key="registry_crs").click().run()
    at.button(key="registry_crs_yes").click().run()
    assert not at.exception and county_data.county_files()["registry"].crs == "bd09"
    assert "BD-09" in sidebar_text(open_page(user="plan"))


def test_rules_saved_for_everyone_and_restored():
    text = DEFAULT_RULES.read_text(encoding="utf-8").replace('version = "2026.1"', 'version = "2026.1-县"', 1)
    at = upload(open_page(DATA), "rules_upload", "county.toml", text.encode())
    assert not errors(at) and any("已保存县规则文件「county.toml」" in s.value for s in at.success)
    assert "2026.1-县（county.toml）" in sidebar_text(open_page(user="insp"))
    at = open_page(DATA)
    at.button(key="restore_rules").click().run()
    at.button(key="restore_rules_yes").click().run()
    assert not at.exception and "2026.1（默认规则）" in sidebar_text(open_page(user="plan"))


def test_an_inspector_or_planner_cannot_reach_the_page():
    for username in ("insp", "plan"):
        at = open_page(user=username)
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(DATA)
    assert county_data.county_files() == {}


def test_upload_preview_confirm_then_restore_the_earlier_version():
    admin_uploads("一版.csv", CSV.encode())
    at = upload(open_page(DATA), "registry_upload", "二版.csv", CSV4.encode(), confirm=False)
    assert county_data.county_files()["registry"].name == "一版.csv"  # the preview saves nothing
    assert any("预览：「二版.csv」" in m.value for m in at.markdown)
    assert any("新增 1 个村 · 删除 0 个村" in c.value and "按乡镇＋村名匹配 3 个村" in c.value for c in at.caption)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["村庄数"] == "4"
    at.button(key="registry_confirm").click().run()
    assert not errors(at) and county_data.county_files()["registry"].name == "二版.csv"
    assert any("已保存县名册「二版.csv」：4 个村" in s.value for s in at.success)
    assert villages(open_page(user="plan")) == "4"

    at = open_page(DATA)
    history = at.dataframe[0].value  # the versions, newest first
    assert list(history["文件"]) == ["二版.csv", "一版.csv"] and list(history["当前"]) == ["是", ""]
    assert at.selectbox(key="registry_version").value is not None
    at.button(key="registry_restore").click().run()
    assert any("全县所有用户立即改用该版本" in w.value for w in at.warning)
    at.button(key="registry_restore_yes").click().run()
    assert not errors(at) and county_data.county_files()["registry"].name == "一版.csv"
    assert villages(open_page(user="plan")) == "3"


def test_discarding_a_preview_saves_nothing():
    at = upload(open_page(DATA), "registry_upload", "二版.csv", CSV4.encode(), confirm=False)
    at.button(key="registry_discard").click().run()
    assert not at.exception and county_data.county_files() == {}
    assert not any(b.key == "registry_confirm" for b in at.button)


TWO_COUNTIES = ("村名,乡镇,县,户数,党群服务中心面积,经度,纬度\n王庄村,城关镇,甲县,300,150,116.0,36.4\n"
                "李庄村,城关镇,甲县,500,90,116.02,36.41\n赵庄村,城关镇,乙县,1200,300,115.9,36.42\n")


def test_a_county_administrator_of_a_city_registry_sees_only_its_county(users):
    """Two counties each with a 城关镇: the county's administrator sees its 2 villages, everywhere in the app."""
    from audit.records.access import SYSTEM
    from audit.records.accounts import add_user
    from audit.records.db import open_store
    from tests.test_app import PASSWORD

    admin_uploads("全市名册.csv", TWO_COUNTIES.encode())
    assert county_data.county_files()["registry"].name == "全市名册.csv"
    store = open_store(data_dir=users.data_dir)
    try:
        add_user(store, "jia_admin", PASSWORD, role="admin", counties=["甲县"], display_name="甲县管理员", by=SYSTEM)
    finally:
        store.close()
    assert villages(open_page(user="admin1")) == "3"   # the city's administrator
    jia = open_page(user="jia_admin")
    assert not jia.exception and villages(jia) == "2"
    jia.switch_page("app/pages/area.py").run()
    assert not jia.exception
    assert sorted(jia.dataframe[0].value["村名"]) == ["李庄村", "王庄村"]
