import geopandas as gpd
import pandas as pd
import pytest

from audit.area.demo import write_demo
from audit.area.floor_area import area_audit
from audit.area.registry import registry_from_file
from tests.test_cli import DEMO


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("demo"), seed=2026)


def test_same_seed_same_bytes(tmp_path, generated):
    again = write_demo(tmp_path, seed=2026)
    assert again["xlsx"].read_bytes() == generated["xlsx"].read_bytes()
    other = write_demo(tmp_path / "other", seed=7)
    assert other["xlsx"].read_bytes() != generated["xlsx"].read_bytes()


def test_committed_demo_is_the_generator_output(generated):
    assert DEMO.read_bytes() == generated["xlsx"].read_bytes()
    committed = gpd.read_file(DEMO.with_suffix(".gpkg"))
    fresh = gpd.read_file(generated["gpkg"])
    pd.testing.assert_frame_equal(pd.DataFrame(committed.drop(columns="geometry")),
                                  pd.DataFrame(fresh.drop(columns="geometry")))
    assert committed.geometry.geom_equals_exact(fresh.geometry, 1e-9).all()


def test_demo_county_is_realistic(generated, rules):
    reg = registry_from_file(generated["xlsx"], rules=rules, crs="gcj02")
    v = area_audit(reg.villages, rules=rules)
    assert len(v) == 400 and v["township"].nunique() == 15
    assert 0.05 < v["is_central"].mean() < 0.3
    judged = v[v["area_status"] != "unknown"]
    fail = (judged["area_status"] == "non_compliant").mean()
    assert 0.20 <= fail <= 0.35
    assert v["village_code"].str.fullmatch(r"\d{12}").all()
    messages = " ".join(str(p) for p in reg.problems)
    assert "村代码重复" in messages and "面积缺失" in messages and "面积不是有效数字" in messages
    assert [p.message for p in reg.dropped] == ["合计/小计行，不是村庄，已剔除"]
    # GCJ-02 in the sheet, WGS84 in the GeoPackage: converted points land within a metre of the truth.
    truth = gpd.read_file(generated["gpkg"]).to_crs(3857)
    assert v.to_crs(3857).geometry.distance(truth.geometry).max() < 1.0
