"""导出: the area audit of one township or the whole county as XLSX, CSV or GeoPackage."""

from __future__ import annotations

import streamlit as st

from app import state

cur = state.current()
st.title("导出面积核查结果")
options = [state.ALL] + cur.townships
scope = st.selectbox("导出范围", options, index=options.index(state.township()), key="export_scope",
                     help="默认与左侧的乡镇筛选一致")
n = len(state.filtered(cur, scope))
st.caption(f"{scope} · {n} 个村 · 规则 {cur.rules.version} · 坐标输出为 WGS84")
stem = f"面积核查_{'全县' if scope == state.ALL else scope}"
cols = st.columns(len(state.EXPORT_FORMATS))
for col, (fmt, (label, mime)) in zip(cols, state.EXPORT_FORMATS.items(), strict=True):
    col.download_button(f"下载 {label}", data=state.export_bytes(cur.key, scope, fmt, cur), file_name=f"{stem}.{fmt}",
                        mime=mime, key=f"download_{fmt}", on_click="ignore", width="stretch")
st.caption("XLSX 含村级明细、乡镇汇总、县级汇总和说明四张表；CSV 为 UTF-8 带 BOM，可直接用 Excel 打开；"
           "GeoPackage 为 WGS84 点图层，可在 GIS 软件中打开。")
