"""The facility map (rendered to HTML and asserted on, as folium's own tests do) and the approximate townships."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, box

from audit import settings
from audit.area import coords
from audit.area.floor_area import area_audit
from audit.area.mapping import (
    RADIUS_BASE,
    RADIUS_MAX,
    STATUS_COLOURS,
    AssetError,
    audit_map,
    legend_html,
    localise_assets,
    marker_radius,
    packed_columns,
    rate_colour,
    village_at,
    village_columns,
    village_features,
)
from audit.area.registry import registry_from_file
from audit.area.townships import townships_from_villages

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo" / "demo_county.xlsx"
XSS = "<script>alert(1)</script>"


def villages(rows: list[tuple], rules) -> gpd.GeoDataFrame:
    """(name, township, type, households, area, lon, lat) rows → an audited GeoDataFrame in WGS84."""
    df = pd.DataFrame(rows, columns=["village_name", "township", "village_type", "households", "floor_area_m2",
                                     "lon", "lat"])
    gdf = gpd.GeoDataFrame(
        df.drop(columns=["lon", "lat"]).assign(
            village_code=[f"3715990000{k:02d}" for k in range(len(df))], county="县",
            is_central=df["village_type"] == "central", excel_row=np.arange(len(df)) + 2,
            problems=[[] for _ in range(len(df))]),
        geometry=[None if pd.isna(x) else Point(x, y) for x, y in zip(df["lon"], df["lat"], strict=True)],
        crs="EPSG:4326")
    return area_audit(gdf, rules=rules)


@pytest.fixture
def small(rules) -> gpd.GeoDataFrame:
    return villages([
        (XSS, "<b>东镇</b>", "ordinary", 300, 150.0, 116.00, 36.40),       # compliant
        ("李庄村", "<b>东镇</b>", "ordinary", 500, 90.0, 116.02, 36.41),     # short by 60
        ("王庄村", "西镇 & 北", "central", 1200, 300.0, 115.90, 36.42),     # short by 200
        ("赵庄村", "西镇 & 北", "ordinary", None, 120.0, 115.92, 36.45),     # unknown
        ("无坐标村", "西镇 & 北", "ordinary", 200, 130.0, None, None),       # not on the map
    ], rules)


@pytest.fixture(scope="module")
def demo() -> gpd.GeoDataFrame:
    return area_audit(registry_from_file(DEMO, crs="gcj02").villages)


def parsed(literal: str) -> object:
    """The value of a ``JSON.parse('…')`` in the page, as the browser gets it."""
    assert "'" not in literal and "<" not in literal  # nothing that ends the string or the <script> element
    return json.loads(literal.replace("\\\\", "\\"))


def layer_data(html: str) -> list[dict]:
    """The map's GeoJSON layers (the township areas) as the browser gets them."""
    return [parsed(d) for d in re.findall(r"return L\.geoJSON\(JSON\.parse\('([^']*)'\), \{\n", html)]


def village_data(html: str) -> dict:
    """The villages' columns as the browser gets them."""
    [raw] = re.findall(r"var d = JSON\.parse\('([^']*)'\), n = d\.dlat\.length", html)
    return unpacked(parsed(raw))


def unpacked(d: dict) -> dict:
    """``packed_columns`` with the differences added up again, as the page does."""
    d = dict(d)
    for key in ("lat", "lng"):
        d[key] = [round(v / 1e5, 5) for v in np.cumsum(d.pop("d" + key)).tolist()]
    if "dcode" in d:
        packed = d.pop("dcode")
        d["code"] = [str(v).zfill(packed["w"]) for v in np.cumsum(packed["d"]).tolist()]
    return d


def popup_values(d: dict, k: int) -> list:
    """The popup of village ``k`` as the page builds it (numbers still numbers)."""
    t = d["tables"]
    return [d["code"][k], t["t"][d["t"][k]], t["y"][d["y"][k]], d["h"][k], d["a"][k], d["q"][k], d["g"][k],
            t["s"][d["s"][k]], t["e"][d["e"][k]]]


def render(m: folium.Map) -> str:
    return m.get_root().render()


def unescaped(html: str) -> str:
    """The page with JSON \\uXXXX escapes decoded (folium writes layer names that way)."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), html)


def test_popups_and_tooltips_escape_user_data(small):
    html = render(audit_map(small, townships=townships_from_villages(small)))
    assert XSS not in html and "<script>alert" not in html and "<b>东镇</b>" not in html
    d = village_data(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in d["n"]
    k = d["n"].index("&lt;script&gt;alert(1)&lt;/script&gt;")
    assert popup_values(d, k)[1] == "&lt;b&gt;东镇&lt;/b&gt;"
    township_tips = [f["properties"]["t"] for fc in layer_data(html) for f in fc["features"]]
    assert any("西镇 &amp; 北" in t for t in township_tips) and not any("<b>东镇" in t for t in township_tips)
    assert "&lt;b&gt;东镇&lt;/b&gt;</b> 达标率" in unescaped(html)  # the township summary labels


def test_popup_shows_the_villages_figures(small, rules):
    types = {t.id: t.name_zh for t in rules.area.types}
    fc = village_features(small, type_names=types)
    wang = next(f["properties"] for f in fc["features"] if f["properties"]["n"] == "王庄村")
    # 1,200 households need 1,200 × 30 ÷ 100 = 360 ㎡, below a central village's 500 ㎡: the 500 ㎡ minimum
    # applies, and 300 ㎡ falls 200 ㎡ short of it
    assert wang["v"] == ["371599000002", "西镇 &amp; 北", "中心村", "1,200", "300", "500", "200", "不达标",
                         "不达标：面积低于中心村最低 500 ㎡的要求"]
    assert wang["c"] == STATUS_COLOURS["non_compliant"]
    # 500 households need 150 ㎡, above an ordinary village's 100 ㎡: the household rule applies, 60 ㎡ short
    li = next(f["properties"] for f in fc["features"] if f["properties"]["n"] == "李庄村")
    assert li["v"][4:] == ["90", "150", "60", "不达标", "不达标：面积低于按户数核定（每百户 30 ㎡）的要求"]
    unknown = next(f["properties"] for f in fc["features"] if f["properties"]["n"] == "赵庄村")
    assert unknown["v"][3:] == ["—", "120", "—", "—", "无法判定", "无法判定：面积、户数或村庄类型缺失"]
    # the same figures as the map's columns (numbers stay numbers; the page writes them with 千分位 and "—")
    d = village_columns(small, type_names=types)
    assert popup_values(d, d["n"].index("王庄村")) == ["371599000002", "西镇 &amp; 北", "中心村", 1200, 300.0, 500.0,
                                                     200.0, "不达标", "不达标：面积低于中心村最低 500 ㎡的要求"]
    assert popup_values(d, d["n"].index("赵庄村"))[3:7] == [None, 120.0, None, None]


def test_map_references_no_external_script_or_stylesheet(demo):
    html = render(audit_map(demo, townships=townships_from_villages(demo)))
    refs = re.findall(r"<script[^>]*\bsrc=[\"']([^\"']+)", html) + re.findall(r"<link[^>]*\bhref=[\"']([^\"']+)", html)
    assert refs, "the map must load Leaflet from somewhere"
    external = [r for r in refs if r.startswith(("http://", "https://", "//"))]
    assert external == []
    for ref in refs:  # every local reference is a committed file
        assert ref.startswith("/app/static/vendor/"), ref
        assert (REPO / "static" / ref.removeprefix("/app/static/")).is_file(), ref
    assert "leaflet/leaflet.js" in " ".join(refs)
    assert "d3js.org" not in html and "cdn" not in " ".join(refs)


def test_streamlit_folium_gets_only_local_links(demo):
    """st_folium loads every element's default_js/default_css itself (and d3 from a CDN for a branca colormap)."""
    import branca.colormap

    m = audit_map(demo)
    links = []
    stack = [m]
    while stack:
        element = stack.pop()
        assert not isinstance(element, branca.colormap.ColorMap)
        links += [u for _, u in getattr(element, "default_js", [])] + [u for _, u in getattr(element, "default_css", [])]
        stack += list(getattr(element, "_children", {}).values())
    assert links and all(u.startswith("/app/static/vendor/") for u in links)


def test_assets_url_is_configurable(demo, monkeypatch):
    monkeypatch.setenv("VILLAGE_AUDIT_MAP_ASSETS_URL", "/county/assets/")
    html = render(audit_map(demo.head(20)))
    assert '<script src="/county/assets/leaflet/leaflet.js"></script>' in html


def test_a_plugin_that_is_not_vendored_is_refused():
    m = folium.Map(tiles=None)
    folium.plugins.Fullscreen().add_to(m)
    with pytest.raises(AssetError, match="[Ff]ullscreen"):
        localise_assets(m)
    assert folium.Map.default_js[0][1].startswith("https://")  # folium's own defaults untouched


def test_supercluster_is_served_from_the_vendored_copy_with_its_licences(small):
    html = render(audit_map(small))
    assert '<script src="/app/static/vendor/supercluster/supercluster.min.js"></script>' in html
    vendored = REPO / "static/vendor/supercluster"
    assert (vendored / "supercluster.min.js").read_text().startswith("!function(t,e)")  # the UMD build
    for licence in ("LICENSE", "LICENSE.kdbush"):  # supercluster's build bundles kdbush
        assert "ISC License" in (vendored / licence).read_text()
    # Leaflet.markercluster (10–15 s of chromium for 70,000 markers) is gone, and a plugin that needs it is refused
    assert "markercluster" not in html.lower()
    m = folium.Map(tiles=None)
    folium.plugins.MarkerCluster().add_to(m)
    with pytest.raises(AssetError, match="MarkerCluster needs 'markerclusterjs'"):
        localise_assets(m)


def test_villages_are_one_clustered_layer_and_villages_without_coordinates_left_out(small):
    html = render(audit_map(small))
    d = village_data(html)
    assert d["i"] == [0, 1, 2, 3]  # the village without coordinates (4) is not drawn
    assert [d["tables"]["s"][s] for s in d["s"]] == ["达标", "不达标", "不达标", "无法判定"]
    # clustered in the browser up to zoom 12 (single villages from 13), 60 px apart on Leaflet's 256-px tiles
    assert "new Supercluster({radius: 60, extent: 256, maxZoom: single - 1" in html and "single = 13" in html
    assert "map.on(\"moveend\"" in html and "index.getClusters(" in html  # only the view's clusters are drawn
    assert "村庄（4 个，放大后显示单个村）" in unescaped(html) and "L.control.layers" in html
    assert "va-legend" not in html.split("<body>")[-1]  # the legend is the page's, outside the map


def test_repeated_popup_values_are_sent_once(demo):
    html = render(audit_map(demo))
    d = village_data(html)
    assert set(d["tables"]["t"]) == set(demo["township"].dropna()) and len(d["n"]) == len(demo)
    assert html.count("城关街道") <= 10  # not once per village
    assert {d["tables"]["t"][t] for t in d["t"]} == set(demo["township"].dropna())


def test_legend_is_html_for_the_page():
    text = legend_html(townships=True, approximate=True, ranking=True)
    assert "村庄" in text and "乡镇达标率" in text and "近似范围" in text and "建设优先" in text
    assert "近似" not in legend_html(townships=True)


def test_ranking_is_a_layer_of_numbered_villages(small, rules):
    from audit.area.ranking import build_ranking

    ranking = build_ranking(small, rules=rules)
    html = unescaped(render(audit_map(small, ranking=ranking, show_ranking=True)))
    assert "建设优先（前 2 名）" in html
    assert "建设优先第 1 名：王庄村" in html and "面积缺口（㎡）</th><td>200" in html
    assert "建设优先第 2 名：李庄村" in html


def test_the_library_does_not_import_streamlit():
    code = ("import sys, audit.area.mapping, audit.area.townships, audit.settings; "
            "assert 'streamlit' not in sys.modules, 'audit/ imports streamlit'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_markers_grow_with_the_shortfall():
    r = marker_radius(pd.Series([0.0, np.nan, 50.0, 200.0]))
    assert r[0] == r[1] == RADIUS_BASE and r[3] == RADIUS_MAX and RADIUS_BASE < r[2] < RADIUS_MAX
    assert (marker_radius(np.zeros(3)) == RADIUS_BASE).all()


@pytest.mark.parametrize(("rate", "colour"), [(1.0, "#1a9850"), (0.95, "#1a9850"), (0.9499, "#a6d96a"),
                                              (0.6, "#fdae61"), (0.0, "#d73027"), (None, "#bdbdbd"),
                                              (float("nan"), "#bdbdbd")])
def test_township_colour_by_compliance_rate(rate, colour):
    assert rate_colour(rate) == colour


def test_gaode_basemap_shifts_points_for_display_only(small):
    plain = village_data(render(audit_map(small, basemap="osm")))
    shifted = village_data(render(audit_map(small, basemap="gaode")))
    for k in range(len(plain["lat"])):
        glon, glat = coords.wgs84_to_gcj02(np.array([plain["lng"][k]]), np.array([plain["lat"][k]]))
        assert [shifted["lng"][k], shifted["lat"][k]] == pytest.approx([glon[0], glat[0]], abs=1e-5)
        assert shifted["lng"][k] != plain["lng"][k]
    assert small.geometry.iloc[0].x == 116.00  # the data stay WGS84
    assert "autonavi" in render(audit_map(small, basemap="gaode"))


def test_tianditu_needs_a_key(small, monkeypatch):
    monkeypatch.delenv("VILLAGE_AUDIT_TIANDITU_KEY", raising=False)
    assert "tianditu" not in settings.basemaps()
    with pytest.raises(ValueError, match="basemap"):
        audit_map(small, basemap="tianditu")
    monkeypatch.setenv("VILLAGE_AUDIT_TIANDITU_KEY", "abc123")
    html = render(audit_map(small, basemap="tianditu"))
    assert "tianditu.gov.cn/vec_w" in html and "tk=abc123" in html and "cva_w" in html


def test_village_at_picks_the_nearest_drawn_village(small):
    assert village_at(small, 36.4101, 116.0201) == 1
    assert village_at(small, 36.9, 117.5) is None
    glon, glat = coords.wgs84_to_gcj02(np.array([115.90]), np.array([36.42]))
    assert village_at(small, float(glat[0]), float(glon[0]), gcj02=True) == 2
    assert village_at(small.iloc[[4]], 36.4, 116.0) is None


def test_voronoi_townships_cover_their_villages_without_overlap(demo):
    areas = townships_from_villages(demo)
    assert areas["approximate"].all() and areas.crs.to_epsg() == 4326
    assert sorted(areas["township"]) == sorted(demo["township"].dropna().unique())
    assert areas["villages"].sum() == demo.geometry.notna().sum()
    metric = areas.to_crs(areas.estimate_utm_crs())
    assert metric.area.sum() == pytest.approx(metric.union_all().area, rel=1e-6)  # no overlaps
    joined = gpd.sjoin(demo[demo.geometry.notna()], areas, predicate="within", how="left")
    own = (joined["township_left"] == joined["township_right"]).groupby(level=0).any()
    assert own.mean() > 0.97  # a village shares a spot with another township's village at most rarely


def test_voronoi_townships_two_clusters(rules):
    west = [(f"西{k}村", "西镇", "ordinary", 100, 100.0, 115.0 + 0.01 * k, 36.0 + 0.01 * (k % 3)) for k in range(6)]
    east = [(f"东{k}村", "东镇", "ordinary", 100, 100.0, 115.5 + 0.01 * k, 36.0 + 0.01 * (k % 3)) for k in range(6)]
    gdf = villages(west + east, rules)
    areas = townships_from_villages(gdf).set_index("township")
    assert areas.loc["西镇"].geometry.intersection(areas.loc["东镇"].geometry).area < 1e-9
    assert areas.loc["西镇"].geometry.centroid.x < 115.3 < areas.loc["东镇"].geometry.centroid.x
    hull = shapely.convex_hull(shapely.multipoints(shapely.get_coordinates(gdf.geometry.to_numpy())))
    assert areas.union_all().contains(hull)
    assert not areas.union_all().contains(box(114.0, 35.0, 117.0, 37.0))  # clipped, not the Voronoi extent


@pytest.mark.parametrize("n", [0, 1, 2])
def test_voronoi_townships_with_few_points(rules, n):
    gdf = villages([(f"村{k}", "镇", "ordinary", 100, 100.0, 115.0 + 0.01 * k, 36.0) for k in range(n)]
                   + [("无坐标村", "镇", "ordinary", 100, 100.0, None, None)], rules)
    areas = townships_from_villages(gdf)
    assert len(areas) == (1 if n else 0)
    if n:
        assert areas.geometry.iloc[0].contains(gdf.geometry.iloc[0])


def test_approximate_townships_are_labelled_on_the_map(small):
    html = render(audit_map(small, townships=townships_from_villages(small)))
    assert "乡镇（近似范围）" in unescaped(html) and "（近似）" in html
    boundary = gpd.GeoDataFrame({"township": ["西镇 & 北"]}, geometry=[box(115.8, 36.3, 115.95, 36.5)], crs="EPSG:4326")
    html = render(audit_map(small, townships=boundary))
    assert "近似" not in unescaped(html) and "乡镇边界" in unescaped(html)
    tips = [f["properties"]["t"] for fc in layer_data(html) for f in fc["features"] if "t" in f["properties"]
            and f["geometry"]["type"] != "Point"]
    assert tips == ["<b>西镇 &amp; 北</b><br>达标率 50.0%<br>村庄 3 · 达标 1 · 不达标 1 · 无法判定 1"]


def test_village_data_survive_quotes_and_backslashes_in_the_page(rules):
    """The columns reach the page as JSON.parse('…'): a quote or a backslash in a name cannot end the string."""
    gdf = villages([("O'Brien\\村\"", "东'镇\\", "ordinary", 300, 150.0, 116.0, 36.4),
                    ("李庄村", "东'镇\\", "ordinary", 500, 90.0, 116.02, 36.41)], rules)
    html = render(audit_map(gdf, townships=townships_from_villages(gdf)))
    d = village_data(html)
    assert d["n"][0] == "O&#x27;Brien\\村&quot;" and d["tables"]["t"] == ["东&#x27;镇\\"]
    assert d["i"] is None  # every village has coordinates: the positions are 0, 1, …
    assert "东&#x27;镇\\" in layer_data(html)[0]["features"][0]["properties"]["t"]


def test_outlines_drop_slivers_and_fill_small_holes():
    from audit.area.mapping import _display_outline

    big = box(0, 0, 1, 1).difference(box(0.5, 0.5, 0.51, 0.51)).difference(box(0.1, 0.1, 0.4, 0.4))
    shape = shapely.MultiPolygon([big, box(2, 2, 2.001, 2.001)])
    shown = _display_outline(shape)
    assert shown.geom_type == "Polygon"  # the sliver part is left out
    assert len(shown.interiors) == 1 and shown.interiors[0].envelope.equals(box(0.1, 0.1, 0.4, 0.4).exterior.envelope)


@pytest.mark.parametrize(("codes", "digits"), [
    (["371599000012", "371599000013", "371599000011"], True),  # one width of ASCII digits: differences
    (["012", "013", "009"], True),                               # leading zeros kept
    (["371", "37a", "372"], False), (["1", "22", "3"], False),    # a letter, two widths: as texts
    (["１２", "13", "14"], False), (["—", "13", "14"], False),     # full-width digits, a missing code
    (["1234567890123456", "1234567890123457", "1"], False),       # wider than a JavaScript number holds exactly
])
def test_packed_columns_come_back_the_same(codes, digits):
    columns = {"lat": [36.12345, 36.2, 35.99999], "lng": [116.0, 115.5, 116.00001], "code": codes, "n": ["a", "b", "c"]}
    packed = packed_columns(columns)
    assert ("dcode" in packed) == digits and "lat" not in packed and packed["dlat"][1] == 7655
    assert unpacked(packed) == columns
