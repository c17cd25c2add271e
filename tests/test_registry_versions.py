"""Versions of the county's files: preview, confirmation, history, restore, reset (real files, real SQLite)."""

from __future__ import annotations

import datetime as dt

import pytest

from audit.errors import AccessError, AuditError, RegistryError
from audit.records import county_data
from audit.records.access import SYSTEM, User
from audit.records.accounts import add_user, disable_user
from audit.records.registry_versions import (
    confirm_upload,
    preview_upload,
    registry_diff,
    reset_to_default,
    restore_version,
    versions,
    versions_table,
)
from audit.rules import DEFAULT_RULES

CSV1 = ("村代码,村名,乡镇,户数,党群服务中心面积,经度,纬度\n"
        "1001,王庄村,东镇,300,150,116.0,36.4\n"
        "1002,李庄村,东镇,500,90,116.02,36.41\n"
        "1003,赵庄村,西镇,1200,300,115.9,36.42\n")
# 1002 changes its households; 1003 is gone; 1004 is new; 王庄村 keeps its code.
CSV2 = ("村代码,村名,乡镇,户数,党群服务中心面积,经度,纬度\n"
        "1001,王庄村,东镇,300,150,116.0,36.4\n"
        "1002,李庄村,东镇,520,90,116.02,36.41\n"
        "1004,孙庄村,西镇,800,400,115.91,36.43\n"
        "1005,钱庄村,西镇,abc,400,115.92,36.44\n")
# Without codes: matched by township + name.
NOCODE = ("村名,乡镇,户数,党群服务中心面积,经度,纬度\n"
          "王庄村,东镇,310,150,116.0,36.4\n"
          "李庄村,东镇,500,90,116.02,36.41\n")
T0 = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def admin(fresh_store) -> User:
    add_user(fresh_store, "admin1", "a-long-password-1", role="admin", display_name="县管理员", by=SYSTEM)
    add_user(fresh_store, "admin2", "a-long-password-2", role="admin", display_name="副管理员", by=SYSTEM)
    add_user(fresh_store, "plan", "a-long-password-3", role="planner", by=SYSTEM)
    return User("admin1", "admin", display_name="县管理员")


def upload(store, admin, text: str, name: str, *, when=T0, crs="wgs84"):
    preview = preview_upload("registry", text.encode(), name, crs=crs)
    return preview, confirm_upload(store, preview, text.encode(), user=admin, now=when)


def test_preview_counts_problems_and_diff_by_code_before_anything_is_saved(fresh_store, admin):
    upload(fresh_store, admin, CSV1, "一版.csv")
    preview = preview_upload("registry", CSV2.encode(), "二版.csv", crs="wgs84")
    assert county_data.county_files()["registry"].name == "一版.csv"  # nothing saved by a preview
    assert preview.base_name == "一版.csv" and not preview.same_as_current
    assert preview.counts["villages"] == 4 and preview.base_counts["villages"] == 3
    assert preview.counts["unknown"] == 1 and any("第 6 行" in p or "户数" in p for p in preview.problems)
    d = preview.diff
    assert list(d.added["village_code"]) == ["1004", "1005"] and list(d.removed["village_name"]) == ["赵庄村"]
    assert list(d.changed["village_code"]) == ["1002"] and d.changed["changes"][0] == "户数 500 → 520"
    assert set(d.changed["basis"]) == {"code"} and (d.matched_by_code, d.matched_by_name) == (2, 0)
    assert "按村代码匹配 2 个村" in d.basis_text


def test_without_codes_villages_are_matched_by_township_and_name(fresh_store, admin):
    upload(fresh_store, admin, CSV1, "一版.csv")
    d = preview_upload("registry", NOCODE.encode(), "无代码.csv", crs="wgs84").diff
    assert (d.matched_by_code, d.matched_by_name) == (0, 2)
    assert list(d.changed["village_name"]) == ["王庄村"] and list(d.changed["basis"]) == ["name"]
    assert d.changed["changes"][0] == "户数 300 → 310" and list(d.removed["village_name"]) == ["赵庄村"]


def test_registry_diff_sees_a_moved_village_and_ignores_rounding():
    import geopandas as gpd
    from shapely.geometry import Point

    before = gpd.GeoDataFrame({"village_code": ["1", "2"], "village_name": ["甲村", "乙村"], "township": ["东镇"] * 2,
                               "households": [100, 200]}, geometry=[Point(116, 36), Point(116.1, 36.1)], crs=4326)
    after = before.copy()
    after.geometry = [Point(116.000001, 36), Point(116.2, 36.1)]
    d = registry_diff(before, after)
    assert list(d.changed["village_name"]) == ["乙村"] and d.changed["changes"][0] == "位置已改变"
    assert d.unchanged == 1 and d.added.empty and d.removed.empty


def test_confirm_keeps_every_version_and_any_earlier_one_can_be_restored(fresh_store, admin):
    _, v1 = upload(fresh_store, admin, CSV1, "一版.csv", when=T0)
    _, v2 = upload(fresh_store, admin, CSV2, "二版.csv", when=T0 + dt.timedelta(hours=1))
    assert (v2.made_by, v2.made_by_name, v2.action) == ("admin1", "县管理员（admin1）", "upload")
    assert v2.summary["added"] == 2 and v2.summary["removed"] == 1 and v2.summary["changed"] == 1
    history = versions(fresh_store, "registry", user=admin)
    assert [v.name for v in history] == ["二版.csv", "一版.csv"]
    assert history[1].sha256 == v1.sha256
    # both files are kept in the county directory
    assert county_data.stored_county_file(v1.entry()) == CSV1.encode()

    restored = restore_version(fresh_store, v1.id, user=admin, base_sha256=v2.sha256, now=T0 + dt.timedelta(hours=2))
    assert restored.action == "restore" and restored.restored_from == v1.id
    assert county_data.county_file_bytes("registry")[1] == CSV1.encode()
    table = versions_table(versions(fresh_store, "registry", user=admin), current_sha256=v1.sha256)
    assert list(table["操作"]) == ["恢复", "上传", "上传"] and list(table["当前"]) == ["是", "", ""]
    assert table["时间（北京时间）"][0] == "2026-11-30 12:00" and table["变化"][1] == "新增 2；删除 1；变更 1"


def test_a_confirmation_made_on_a_stale_preview_is_refused(fresh_store, admin):
    upload(fresh_store, admin, CSV1, "一版.csv")
    stale = preview_upload("registry", CSV2.encode(), "二版.csv", crs="wgs84")
    other = User("admin2", "admin", display_name="副管理员")
    upload(fresh_store, other, NOCODE, "别人的.csv")
    with pytest.raises(AuditError, match="已被更换为「别人的.csv」（副管理员（admin2） 上传）"):
        confirm_upload(fresh_store, stale, CSV2.encode(), user=admin)
    with pytest.raises(AuditError, match="与预览的文件不同"):
        confirm_upload(fresh_store, stale, CSV1.encode(), user=admin)
    assert county_data.county_files()["registry"].name == "别人的.csv"


def test_reset_keeps_the_file_so_the_version_before_can_be_restored(fresh_store, admin):
    _, v1 = upload(fresh_store, admin, CSV1, "一版.csv")
    reset = reset_to_default(fresh_store, "registry", user=admin, base_sha256=v1.sha256)
    assert reset.action == "reset" and county_data.county_files() == {}
    assert reset_to_default(fresh_store, "registry", user=admin) is None
    restore_version(fresh_store, v1.id, user=admin, base_sha256=None)
    assert county_data.county_files()["registry"].sha256 == v1.sha256


def test_a_file_saved_before_versions_were_kept_enters_the_history(fresh_store, admin):
    legacy = county_data.save_county_file("registry", CSV1.encode(), "旧名册.csv", user=admin, crs="gcj02", now=T0)
    upload(fresh_store, admin, CSV2, "二版.csv", when=T0 + dt.timedelta(hours=1))  # later: equal times would order by id
    history = versions(fresh_store, "registry", user=admin)
    assert [(v.action, v.name, v.crs) for v in history] == [("upload", "二版.csv", "wgs84"), ("earlier", "旧名册.csv", "gcj02")]
    restore_version(fresh_store, history[1].id, user=admin)
    assert county_data.county_files()["registry"] == legacy


def test_only_an_enabled_administrator_may_change_versions(fresh_store, admin):
    preview = preview_upload("registry", CSV1.encode(), "一版.csv", crs="wgs84")
    with pytest.raises(AccessError, match="无权"):
        confirm_upload(fresh_store, preview, CSV1.encode(), user=User("plan", "planner"))
    disable_user(fresh_store, "admin2", by=SYSTEM)
    with pytest.raises(AccessError, match="已停用"):
        confirm_upload(fresh_store, preview, CSV1.encode(), user=User("admin2", "admin"))
    assert county_data.county_files() == {}
    with pytest.raises(AccessError):
        versions(fresh_store, "registry", user=User("plan", "planner"))


def test_a_refused_file_is_refused_by_the_preview_with_its_name(fresh_store, admin):
    with pytest.raises(RegistryError, match="坏的.csv"):
        preview_upload("registry", "甲,乙\n1,2\n".encode(), "坏的.csv", crs="wgs84")


def test_rules_versions_preview_the_changed_values_and_their_effect(fresh_store, admin):
    upload(fresh_store, admin, CSV1, "一版.csv")
    text = DEFAULT_RULES.read_text(encoding="utf-8").replace("per_hundred_households_m2 = 30",
                                                               "per_hundred_households_m2 = 40")
    preview = preview_upload("rules", text.encode(), "县规则.toml")
    assert any("40" in after and "30" in before for _, before, after in preview.rule_changes)
    # 1,200 households need 480 m² instead of 360: 赵庄村 (300 m²) was already short, 李庄村 too
    assert preview.counts["non_compliant"] >= preview.base_counts["non_compliant"]
    v = confirm_upload(fresh_store, preview, text.encode(), user=admin)
    assert county_data.current_rules().area.per_hundred_households_m2 == 40
    reset_to_default(fresh_store, "rules", user=admin)
    assert county_data.current_rules().area.per_hundred_households_m2 == 30
    restore_version(fresh_store, v.id, user=admin)
    assert county_data.current_rules().area.per_hundred_households_m2 == 40
