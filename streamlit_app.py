"""村级阵地核查 — the web app. It only wires widgets to the `audit` library and renders what it returns."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from audit._errors import AuditError
from audit.area import BASIS_ZH, STATUS_ZH, area_audit, county_summary, township_summary
from audit.export import SUMMARY_HEADERS_ZH, VILLAGE_HEADERS_ZH, audit_rows
from audit.registry import registry_from_file
from audit.rules import load_rules

DEMO = Path(__file__).resolve().parent / "data" / "demo" / "demo_county.xlsx"
CRS_LABELS = {"wgs84": "WGS84（GPS、天地图）", "gcj02": "GCJ-02（高德、腾讯）", "bd09": "BD-09（百度）"}


@st.cache_data(show_spinner="正在读取并核查名册…")
def audit_file(data: bytes, name: str, crs: str) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Read a registry from uploaded bytes (in a temporary directory that is removed) and audit it."""
    rules = load_rules()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(name).name
        path.write_bytes(data)
        reg = registry_from_file(path, rules=rules, crs=crs)
    audited = area_audit(reg.villages, rules=rules)
    return audited, [str(p) for p in reg.problems], [str(p) for p in reg.dropped]


def main() -> None:
    st.set_page_config(page_title="村级阵地核查", page_icon="🏠", layout="wide")
    st.title("村级阵地核查 · 党群服务中心面积")
    with st.sidebar:
        st.header("名册")
        upload = st.file_uploader("上传村庄名册（XLSX、XLS、CSV、GeoJSON、GPKG、SHP 压缩包）",
                                  type=["xlsx", "xls", "csv", "geojson", "json", "gpkg", "zip"])
        crs = st.selectbox("坐标系", list(CRS_LABELS), format_func=CRS_LABELS.get,
                           index=0 if upload else 1, key="crs")
    data, name = (upload.getvalue(), upload.name) if upload else (DEMO.read_bytes(), DEMO.name)
    if not upload:
        st.info("当前显示的是演示数据（示例县，数值为程序生成，非实测）。可在左侧上传本县名册。")
    try:
        audited, problems, dropped = audit_file(data, name, crs)
    except AuditError as exc:
        st.error(f"无法读取名册：{exc}")
        st.stop()

    county = county_summary(audited)
    total = county[["villages", "compliant", "non_compliant", "unknown"]].sum()
    judged = total["compliant"] + total["non_compliant"]
    cols = st.columns(5)
    cols[0].metric("村庄数", int(total["villages"]))
    cols[1].metric("达标", int(total["compliant"]))
    cols[2].metric("不达标", int(total["non_compliant"]))
    cols[3].metric("无法判定", int(total["unknown"]))
    cols[4].metric("达标率", f"{total['compliant'] / judged:.1%}" if judged else "—")

    st.subheader("乡镇汇总")
    st.dataframe(township_summary(audited).rename(columns=SUMMARY_HEADERS_ZH), hide_index=True)
    st.subheader("村级明细")
    rows = audit_rows(audited)
    rows["area_status"] = rows["area_status"].map(STATUS_ZH)
    rows["basis"] = rows["basis"].map(BASIS_ZH)
    rows["problems"] = rows["problems"].map("；".join)
    st.dataframe(rows.rename(columns=VILLAGE_HEADERS_ZH), hide_index=True)
    if dropped or problems:
        with st.expander(f"数据问题（{len(problems)} 条）与已剔除的行（{len(dropped)} 行）"):
            for line in dropped + problems:
                st.write(line)


main()
