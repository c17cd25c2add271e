"""面积核查: the village table (sortable, filterable), the township summaries and the shortfall by township."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import state
from audit.area.export import SUMMARY_HEADERS_ZH, VILLAGE_HEADERS_ZH, audit_rows
from audit.area.floor_area import BASIS_ZH, STATUS_ZH, township_summary
from audit.labels import EMPTY

cur = state.current()
scope = state.township()
villages = state.filtered(cur, scope)
st.title("面积核查")
st.caption(f"范围：{state.scope_label(cur, scope)} · "
           f"核定面积取村庄类型最低面积与按户数计算面积中的较大者（规则 {cur.rules.version}）")

c1, c2, c3 = st.columns([2, 2, 3])
statuses = c1.multiselect("核查结果", list(STATUS_ZH), default=list(STATUS_ZH), format_func=STATUS_ZH.get,
                          key="area_status_filter", placeholder="请选择")
types = c2.multiselect("村庄类型", list(cur.type_names), default=list(cur.type_names),
                       format_func=cur.type_names.get, key="area_type_filter", placeholder="请选择")
query = c3.text_input("按村名或代码搜索", key="area_search", placeholder="例如：王庄 或 371599101201")

rows = audit_rows(villages)
keep = rows["area_status"].isin(statuses) & rows["village_type"].isin(types)
if query.strip():
    q = query.strip()
    keep &= (rows["village_name"].astype(str).str.contains(q, regex=False)
             | rows["village_code"].astype(str).str.contains(q, regex=False))
rows = rows[keep.to_numpy()].copy()
rows["area_status"] = rows["area_status"].map(STATUS_ZH)
rows["basis"] = rows["basis"].map(BASIS_ZH)
rows["village_type"] = rows["village_type"].map(cur.type_names)
rows["problems"] = rows["problems"].map(lambda p: "；".join(p) if isinstance(p, list) else p)
shown = [c for c in VILLAGE_HEADERS_ZH if c in rows.columns and c not in ("is_central", "excel_row", "lon", "lat")]
st.subheader(f"村级明细（{len(rows)} / {len(villages)} 个村）")
st.dataframe(rows[shown].rename(columns=VILLAGE_HEADERS_ZH), hide_index=True, placeholder=EMPTY, height=420,
             column_config={VILLAGE_HEADERS_ZH[c]: st.column_config.NumberColumn(format="%.2f")
                            for c in ("floor_area_m2", "required_m2", "gap_m2")})

st.subheader("乡镇汇总")
summary = township_summary(cur.audited if scope == state.ALL else villages)
st.dataframe(summary.rename(columns=SUMMARY_HEADERS_ZH), hide_index=True, placeholder=EMPTY,
             column_config={SUMMARY_HEADERS_ZH["compliance_rate"]: st.column_config.NumberColumn(format="percent")})

st.subheader("各乡镇面积缺口合计（㎡）")
chart = (summary.groupby("township", sort=False)["shortfall_m2"].sum().sort_values(ascending=False)
         .rename("面积缺口合计（㎡）"))
chart.index = pd.Index(chart.index, name="乡镇（街道）")
st.bar_chart(chart, horizontal=True, height=max(240, 28 * len(chart)), sort=False)
