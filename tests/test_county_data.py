"""The county's shared dataset in the data directory: saved once by an administrator, read by everyone."""

from __future__ import annotations

import datetime as dt
import json
import stat

import pytest

from audit.errors import AccessError, AuditError, RegistryError, RulesError
from audit.records import county_data
from audit.records.access import User
from audit.rules import DEFAULT_RULES

ADMIN = User("admin1", "admin", display_name="县管理员")
INSPECTOR = User("insp", "inspector", townships=("城关街道",))
PLANNER = User("plan", "planner")
CSV = "村名,乡镇,户数,党群服务中心面积,经度,纬度\n王庄村,东镇,300,150,116.0,36.4\n李庄村,东镇,500,90,116.02,36.41\n"
CSV2 = CSV + "赵庄村,西镇,1200,300,115.9,36.42\n"
BOUNDARY = {"type": "FeatureCollection", "features": [{
    "type": "Feature", "properties": {"乡镇": "东镇"},
    "geometry": {"type": "Polygon", "coordinates": [[[115.7, 36.2], [116.3, 36.2], [116.3, 36.7], [115.7, 36.7],
                                                     [115.7, 36.2]]]}}]}
WHEN = dt.datetime(2026, 11, 27, 6, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("VILLAGE_AUDIT_DATA_DIR", str(data))
    return data


def stored_files(data_dir) -> list[str]:
    return sorted(p.name for p in (data_dir / "county").iterdir() if p.name != ".lock")


def test_nothing_saved_means_the_defaults(data_dir):
    assert county_data.county_files() == {}
    assert county_data.county_file_path("registry") is None and county_data.county_file_bytes("rules") is None
    assert stat.S_IMODE((data_dir / "county").stat().st_mode) == 0o700


def test_save_a_registry_and_read_it_back(data_dir):
    entry = county_data.save_county_file("registry", CSV.encode("gbk"), "本县名册.csv", user=ADMIN, crs="gcj02",
                                         now=WHEN)
    assert (entry.kind, entry.name, entry.crs, entry.uploaded_by) == ("registry", "本县名册.csv", "gcj02", "admin1")
    assert entry.uploaded_by_name == "县管理员（admin1）" and entry.uploaded == WHEN
    assert county_data.county_files() == {"registry": entry}
    path = county_data.county_file_path("registry")
    assert path is not None and path.parent == data_dir / "county" and path.read_bytes() == CSV.encode("gbk")
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0  # readable by the app's account only
    assert county_data.county_file_bytes("registry") == (entry, CSV.encode("gbk"))
    manifest = json.loads((data_dir / "county" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["registry"]["name"] == "本县名册.csv" and manifest["registry"]["uploaded_at"] == WHEN.isoformat()


@pytest.mark.parametrize("name", ["../../outside/名册.csv", "/etc/passwd.csv", "..\\..\\名册.csv", "manifest.json.csv",
                                  ".lock.csv"])
def test_stored_file_names_come_from_the_kind_not_the_upload(data_dir, name):
    entry = county_data.save_county_file("registry", CSV.encode(), name, user=ADMIN, crs="wgs84")
    assert entry.file.startswith("registry-") and entry.file.endswith(".csv") and "/" not in entry.file
    assert entry.name == name.replace("\\", "/").rsplit("/", 1)[-1]
    assert stored_files(data_dir) == sorted(["manifest.json", entry.file])
    assert sorted(p.name for p in data_dir.iterdir()) == ["county"]  # nothing written outside


def test_a_new_file_replaces_the_old_one(data_dir):
    old = county_data.save_county_file("registry", CSV.encode(), "a.csv", user=ADMIN, crs="wgs84")
    new = county_data.save_county_file("registry", CSV2.encode(), "b.xlsx.csv", user=ADMIN, crs="bd09")
    assert old.file != new.file and county_data.county_files()["registry"] == new
    assert stored_files(data_dir) == sorted(["manifest.json", new.file])
    assert county_data.county_file_bytes("registry") == (new, CSV2.encode())


@pytest.mark.parametrize(("kind", "name", "data", "error", "message"), [
    ("registry", "missing.csv", "村名,乡镇\n王庄村,东镇\n".encode(), RegistryError, "missing.csv: 缺少必需的列：户数"),
    ("registry", "report.pdf", b"%PDF-1.4", RegistryError, "report.pdf: 不支持的文件类型「.pdf」"),
    ("registry", "broken.xlsx", b"PK\x03\x04 not really a workbook", AuditError, "broken.xlsx"),
    ("registry", "noextension", CSV.encode(), AuditError, "noextension: 不支持的文件类型「无扩展名」"),
    ("rules", "county.toml", b"version = 1\n[area\n", RulesError, "规则文件 county.toml 格式错误"),
    ("rules", "county.toml", b'version = "x"\ntitle = "t"\n', RulesError, "county.toml: key 'area'"),
    ("boundary", "乡镇.geojson", b"{not json", AuditError, "乡镇.geojson"),
    ("boundary", "乡镇.csv", b"a,b\n", RegistryError, "乡镇.csv: 乡镇边界须为"),
])
def test_a_bad_file_is_refused_and_the_old_one_stays(data_dir, kind, name, data, error, message):
    good = {"registry": (CSV.encode(), "good.csv", "wgs84"), "rules": (DEFAULT_RULES.read_bytes(), "good.toml", None),
            "boundary": (json.dumps(BOUNDARY).encode(), "good.geojson", None)}[kind]
    before = county_data.save_county_file(kind, good[0], good[1], user=ADMIN, crs=good[2])
    files = stored_files(data_dir)
    crs = "wgs84" if kind == "registry" else None
    with pytest.raises(error, match=message) as caught:
        county_data.save_county_file(kind, data, name, user=ADMIN, crs=crs)
    assert ".tmp-" not in str(caught.value)  # the message names the upload, not our temporary file
    assert county_data.county_files() == {kind: before} and stored_files(data_dir) == files
    assert county_data.county_file_bytes(kind) == (before, good[0])


@pytest.mark.parametrize("who", [INSPECTOR, PLANNER, User("gone", "admin", disabled=True)], ids=lambda u: u.username)
def test_only_an_administrator_may_change_the_county_data(data_dir, who):
    with pytest.raises(AccessError, match=r"管理规则文件和村庄名录 \(manage_rules\)"):
        county_data.save_county_file("registry", CSV.encode(), "a.csv", user=who, crs="wgs84")
    assert county_data.county_files() == {} and stored_files(data_dir) == []
    county_data.save_county_file("registry", CSV.encode(), "a.csv", user=ADMIN, crs="wgs84")
    with pytest.raises(AccessError, match="manage_rules"):
        county_data.reset_county_file("registry", user=who)
    assert set(county_data.county_files()) == {"registry"}


def test_crs_is_explicit_for_a_registry_only():
    with pytest.raises(AuditError, match="须指明坐标系"):
        county_data.save_county_file("registry", CSV.encode(), "a.csv", user=ADMIN)
    with pytest.raises(RegistryError, match="'crs' should be one of"):
        county_data.save_county_file("registry", CSV.encode(), "a.csv", user=ADMIN, crs="utm50")
    with pytest.raises(AuditError, match="'crs' applies to a registry only"):
        county_data.save_county_file("rules", DEFAULT_RULES.read_bytes(), "r.toml", user=ADMIN, crs="wgs84")
    with pytest.raises(AuditError, match="'kind' should be one of"):
        county_data.save_county_file("photos", b"", "p.jpg", user=ADMIN)  # type: ignore[arg-type]
    assert county_data.county_files() == {}


def test_manifest_holds_every_kind_and_reset_goes_back_to_the_default(data_dir):
    reg = county_data.save_county_file("registry", CSV.encode(), "名册.csv", user=ADMIN, crs="wgs84", now=WHEN)
    rules = county_data.save_county_file("rules", DEFAULT_RULES.read_bytes(), "本县规则.toml", user=ADMIN)
    area = county_data.save_county_file("boundary", json.dumps(BOUNDARY).encode(), "乡镇.geojson", user=ADMIN)
    assert county_data.county_files() == {"registry": reg, "rules": rules, "boundary": area}
    assert rules.file.startswith("rules-") and rules.file.endswith(".toml") and area.file.endswith(".geojson")
    assert county_data.reset_county_file("rules", user=ADMIN) == rules
    assert county_data.county_files() == {"registry": reg, "boundary": area}
    assert county_data.county_file_path("rules") is None
    assert stored_files(data_dir) == sorted(["manifest.json", reg.file, area.file])
    assert county_data.reset_county_file("rules", user=ADMIN) is None  # already the default
    county_data.reset_county_file("registry", user=ADMIN)
    county_data.reset_county_file("boundary", user=ADMIN)
    assert county_data.county_files() == {} and stored_files(data_dir) == ["manifest.json"]


def test_a_corrupt_manifest_is_named(data_dir):
    (data_dir / "county").mkdir(parents=True)
    (data_dir / "county" / "manifest.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(AuditError, match="manifest.json 已损坏"):
        county_data.county_files()
