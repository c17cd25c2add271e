"""A deterministic DEMO county registry (generated values, not survey data).

One fictitious county in Liaocheng, Shandong — 示例县（DEMO） — with 15 townships and about 400 villages:
central and ordinary villages, plausible households and floor areas (about a quarter fall short), and a
few of the problems real sheets have (a title row, a 合计 row, a missing area, "约120", a duplicated code,
units and full-width digits in numbers). Coordinates are written in GCJ-02, as a county copying them
from a Gaode map picker would have them.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd

from audit.area import coords

COUNTY = "示例县（DEMO）"
COUNTY_CODE = "371599"  # 3715xx is Liaocheng; 99 is not a real county there
CENTRE = (115.98, 36.45)
TOWNSHIPS = ["城关街道", "东关街道", "柳林镇", "安乐镇", "张秋镇", "石门镇", "金斗营镇", "大桥镇", "郭屯镇",
             "十五里园镇", "李台镇", "寿张镇", "定水镇", "西湖镇", "高庙王镇"]
SURNAMES = list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏"
                "卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭")
SUFFIXES = ["庄", "家", "集", "屯", "楼", "店", "营", "官庄", "家庄", "堤口", "河口", "寨", "桥", "园", "洼", "坊", "堂",
            "海子", "口", "井"]
HEADERS = ["序号", "县（市、区）", "乡镇（街道）", "行政村名称", "统计用区划代码", "村庄类型", "户籍户数",
           "党群服务中心面积（㎡）", "经度", "纬度", "备注"]


def demo_villages(*, seed: int = 2026, n_villages: int = 400) -> pd.DataFrame:
    """The demo registry as a table with Chinese headers (GCJ-02 coordinates, some dirty values)."""
    rng = np.random.default_rng(seed)
    n_town = len(TOWNSHIPS)
    per_town = np.full(n_town, n_villages // n_town)
    per_town[: n_villages - per_town.sum()] += 1
    town_lon = CENTRE[0] + rng.uniform(-0.28, 0.28, n_town)
    town_lat = CENTRE[1] + rng.uniform(-0.22, 0.22, n_town)
    rows = []
    for t, (name, count) in enumerate(zip(TOWNSHIPS, per_town, strict=True)):
        used: set[str] = set()
        for v in range(count):
            while True:
                village = rng.choice(SURNAMES) + rng.choice(SUFFIXES) + "村"
                if village not in used:
                    used.add(village)
                    break
            central = rng.random() < 0.15
            households = int(rng.lognormal(np.log(1300 if central else 420), 0.45))
            required = max(500 if central else 100, households * 30 / 100)
            area = round(float(required * rng.normal(1.22, 0.28)) * 2) / 2
            lon = town_lon[t] + rng.normal(0, 0.035)
            lat = town_lat[t] + rng.normal(0, 0.028)
            rows.append({"乡镇（街道）": name, "行政村名称": village,
                         "统计用区划代码": f"{COUNTY_CODE}{101 + t:03d}{201 + v:03d}",
                         "村庄类型": "中心村" if central else rng.choice(["非中心村", "一般村"], p=[0.8, 0.2]),
                         "户籍户数": households, "党群服务中心面积（㎡）": max(area, 20.0), "lon": lon, "lat": lat,
                         "备注": ""})
    df = pd.DataFrame(rows)
    df.insert(0, "序号", np.arange(1, len(df) + 1))
    df.insert(1, "县（市、区）", COUNTY)
    # Exact boundaries, as real sheets have them.
    df.loc[3, ["村庄类型", "户籍户数", "党群服务中心面积（㎡）"]] = ["中心村", 900, 500.0]
    df.loc[4, ["村庄类型", "户籍户数", "党群服务中心面积（㎡）"]] = ["非中心村", 337, 101.1]
    df = df.astype({"户籍户数": object, "党群服务中心面积（㎡）": object})
    # The problems real sheets have.
    df.loc[10, ["党群服务中心面积（㎡）", "备注"]] = [None, "面积待核实"]
    df.loc[37, "党群服务中心面积（㎡）"] = "约120"
    df.loc[58, "党群服务中心面积（㎡）"] = "—"
    df.loc[81, "统计用区划代码"] = df.loc[80, "统计用区划代码"]
    df.loc[102, "党群服务中心面积（㎡）"] = "135㎡"
    df.loc[125, "户籍户数"] = "1,260"
    df.loc[150, "党群服务中心面积（㎡）"] = "１２０"
    lon, lat = coords.wgs84_to_gcj02(df["lon"].to_numpy(), df["lat"].to_numpy())
    df["经度"], df["纬度"] = np.round(lon, 6), np.round(lat, 6)
    df["wgs84_lon"], df["wgs84_lat"] = df.pop("lon"), df.pop("lat")
    return df


def _fixed_zip_times(data: bytes) -> bytes:
    """Rewrite a zip (an .xlsx) with fixed entry times, so that the same seed gives the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-01-01T00:00:00Z", content)
            dst.writestr(fixed, content)
    return out.getvalue()


def write_demo(out_dir: str | Path, *, seed: int = 2026, n_villages: int = 400) -> dict[str, Path]:
    """Write ``demo_county.xlsx`` (title row, Chinese headers, GCJ-02, a 合计 row) and ``demo_county.gpkg``
    (WGS84 points, the same villages) to ``out_dir``; same seed → same files."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    df = demo_villages(seed=seed, n_villages=n_villages)

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "村级服务设施"
    ws.append([f"{COUNTY}村级党群服务中心面积统计表（DEMO 演示数据，数值为程序生成，非实测）"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    ws.append(HEADERS)
    for rec in df[HEADERS].itertuples(index=False):
        ws.append([None if (isinstance(v, float) and np.isnan(v)) else v for v in rec])
    for row in ws.iter_rows(min_row=3, min_col=5, max_col=5):
        row[0].number_format = "@"  # village codes are text
    numeric = pd.to_numeric(df["党群服务中心面积（㎡）"], errors="coerce")
    ws.append(["合计", None, None, None, None, None, int(pd.to_numeric(df["户籍户数"], errors="coerce").sum()),
               round(float(numeric.sum()), 1)])
    wb.properties.created = dt.datetime(2026, 1, 1)
    xlsx = out_dir / "demo_county.xlsx"
    buffer = io.BytesIO()
    wb.save(buffer)
    xlsx.write_bytes(_fixed_zip_times(buffer.getvalue()))

    gdf = gpd.GeoDataFrame(
        df.drop(columns=["经度", "纬度", "wgs84_lon", "wgs84_lat"]).assign(
            户籍户数=pd.to_numeric(df["户籍户数"].astype(str).str.replace(",", ""), errors="coerce"),
            **{"党群服务中心面积（㎡）": pd.to_numeric(df["党群服务中心面积（㎡）"], errors="coerce")}),
        geometry=gpd.points_from_xy(df["wgs84_lon"], df["wgs84_lat"]), crs="EPSG:4326")
    gpkg = out_dir / "demo_county.gpkg"
    gpkg.unlink(missing_ok=True)
    gdf.to_file(gpkg, layer="villages", driver="GPKG")
    return {"xlsx": xlsx, "gpkg": gpkg}
