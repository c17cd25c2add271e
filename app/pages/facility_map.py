"""设施地图: villages by area status and shortfall, townships by compliance rate; a click shows the village."""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from app import state, views
from audit import settings
from audit.area.export import audit_rows
from audit.area.floor_area import STATUS_ZH
from audit.area.mapping import audit_map, village_at

CENTRAL = {"all": "全部村庄", "central": "仅中心村", "other": "仅非中心村"}

cur = state.current()
scope = state.township()
st.title("设施地图")
basemaps = settings.basemaps()
c1, c2, c3 = st.columns([2, 3, 2])
basemap = c1.selectbox("底图", list(basemaps), format_func=lambda k: basemaps[k].name_zh, key="map_basemap",
                       help="高德底图为 GCJ-02 坐标：村庄位置仅在显示时换算；配置天地图密钥后可选天地图")
statuses = c2.multiselect("核查结果", list(STATUS_ZH), default=list(STATUS_ZH), format_func=STATUS_ZH.get,
                          key="map_status", placeholder="请选择")
central = c3.selectbox("村庄类型", list(CENTRAL), format_func=CENTRAL.get, key="map_central")

villages = state.filtered(cur, scope)
keep = villages["area_status"].isin(statuses).to_numpy().copy()
if central != "all":
    is_central = villages["is_central"].fillna(False).astype(bool).to_numpy()
    keep = keep & (is_central if central == "central" else ~is_central)
villages = villages[keep]
areas = state.township_areas(cur)
if scope != state.ALL:
    areas = areas[areas["township"] == scope]
located = int((~(villages.geometry.isna() | villages.geometry.is_empty)).sum())
st.caption(f"范围：{state.scope_label(cur, scope)} · 显示 {located} 个有坐标的村（共 {len(villages)} 个符合筛选）"
           + ("" if cur.boundary is not None else " · 乡镇范围为近似范围（由村庄位置推算），上传乡镇边界后显示实际边界"))

fmap = audit_map(villages, townships=areas, basemap=basemap, type_names=cur.type_names)
# Only clicks come back: panning and zooming do not rerun the app.
out = st_folium(fmap, height=600, use_container_width=True, returned_objects=["last_object_clicked"],
                key="village_map")

clicked = (out or {}).get("last_object_clicked")
if clicked:
    pos = village_at(villages, clicked["lat"], clicked["lng"], gcj02=basemaps[basemap].gcj02)
    if pos is not None:
        row = audit_rows(villages.iloc[[pos]]).iloc[0]
        st.subheader(f"{row['village_name']}（{row['village_code'] or '无代码'}）")
        st.table(views.village_details(villages.iloc[[pos]], cur), hide_index=True)
else:
    st.caption("点击地图上的村庄查看其详细数据。")
