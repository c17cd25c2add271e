"""设施地图: township summaries and clustered villages at low zoom, single villages from zoom 13 on, the ranking of
where to build first as a layer; a click shows the village. The legend is above the map, never on it, and the map
is as tall as the window allows."""

from __future__ import annotations

import copy

import streamlit as st
from streamlit_folium import st_folium

from app import state, views
from audit import settings
from audit.area.export import audit_rows
from audit.area.floor_area import STATUS_ZH
from audit.area.mapping import RANKING_TOP, audit_map, legend_html, village_at
from audit.area.ranking import build_ranking

CENTRAL = {"all": "全部村庄", "central": "仅中心村", "other": "仅非中心村"}
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
# The map fills the window below the filters and the legend (the component sets a fixed height; this wins).
CSS = f"<style>{MAP_FRAME}{{height:calc(100vh - 290px) !important;min-height:420px}}</style>"

cur = state.current()
scope = state.township()
st.html(CSS)
st.title("设施地图")
basemaps = settings.basemaps()
c1, c2, c3, c4 = st.columns([2, 3, 2, 2])
basemap = c1.selectbox("底图", list(basemaps), format_func=lambda k: basemaps[k].name_zh, key="map_basemap",
                       help="高德底图为 GCJ-02 坐标：村庄位置仅在显示时换算；配置天地图密钥后可选天地图")
statuses = c2.multiselect("核查结果", list(STATUS_ZH), default=list(STATUS_ZH), format_func=STATUS_ZH.get,
                          key="map_status", placeholder="请选择")
central = c3.selectbox("村庄类型", list(CENTRAL), format_func=CENTRAL.get, key="map_central")
show_ranking = c4.toggle(f"建设优先前 {RANKING_TOP} 名", key="map_ranking",
                         help="按面积缺口从大到小的前几名，以序号标在地图上（见「面积核查」的建设优先排序）")

villages = state.filtered(cur, scope)
keep = villages["area_status"].isin(statuses).to_numpy().copy()
if central != "all":
    is_central = villages["is_central"].fillna(False).astype(bool).to_numpy()
    keep = keep & (is_central if central == "central" else ~is_central)
if not keep.all():  # a province's frame is copied only when a filter leaves villages out
    villages = villages[keep]
areas = state.township_areas(cur)
if scope != state.ALL:
    areas = areas[areas["township"] == scope]
located = int((~(villages.geometry.isna() | villages.geometry.is_empty)).sum())
st.caption(f"范围：{state.scope_label(cur, scope)} · 显示 {located} 个有坐标的村（共 {len(villages)} 个符合筛选）"
           + ("" if cur.boundary is not None else " · 乡镇范围为近似范围（由村庄位置推算），上传乡镇边界后显示实际边界"))
approximate = bool(len(areas)) and ("approximate" in areas and bool(areas["approximate"].any()))
st.html(legend_html(townships=bool(len(areas)), approximate=approximate, ranking=show_ranking))


@st.cache_resource(max_entries=4, show_spinner="正在生成地图…")
def _map(key: str, scope: str, statuses: tuple, central: str, basemap: str, show_ranking: bool,
         _villages, _areas, _cur):  # noqa: ANN001, ANN202 - frames and the Current, not hashed
    """The map of one filter state; kept so that a click (which reruns the page) does not build it again."""
    ranking = build_ranking(_villages, rules=_cur.rules)
    return audit_map(_villages, townships=_areas, basemap=basemap, type_names=_cur.type_names, ranking=ranking,
                     show_ranking=show_ranking)


# A copy each run: streamlit_folium renames the elements of the map it is given, and a map changed by the last run
# would make a different page, which remounts the map (and closes the popup just opened) at every click.
fmap = copy.deepcopy(_map(cur.key, scope, tuple(statuses), central, basemap, show_ranking, villages, areas, cur))
# Only clicks come back: panning and zooming do not rerun the app.
out = st_folium(fmap, height=640, use_container_width=True, returned_objects=["last_object_clicked"],
                key="village_map")

clicked = (out or {}).get("last_object_clicked")
if clicked:
    pos = village_at(villages, clicked["lat"], clicked["lng"], gcj02=basemaps[basemap].gcj02)
    if pos is not None:
        row = audit_rows(villages.iloc[[pos]]).iloc[0]
        st.subheader(f"{row['village_name']}（{row['village_code'] or '无代码'}）")
        st.table(views.village_details(villages.iloc[[pos]], cur), hide_index=True)
else:
    st.caption("点击地图上的村庄查看其详细数据；数字圆圈为聚合的村庄，点击或放大后显示单个村。")
