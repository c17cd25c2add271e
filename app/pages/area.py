"""面积核查: the village table (sortable, filterable), the township summaries, the shortfall by township (top N
with a search, so that it reads for 6 or 600 townships), and where to build first (the ranking, its townships,
the villages that cannot be judged, the XLSX)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from app import state
from audit.area.export import (
    SUMMARY_HEADERS_ZH,
    VILLAGE_HEADERS_ZH,
    audit_rows,
    download_name,
    ranking_to_xlsx,
    scope_name,
)
from audit.area.floor_area import BASIS_ZH, STATUS_ZH, township_summary
from audit.area.ranking import ORDER_ZH, RANKING_HEADERS_ZH, build_ranking
from audit.labels import EMPTY

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Multiselect tags show their whole label; wide tables scroll inside their frame instead of being cut off.
CSS = """<style>
.stMultiSelect [data-baseweb="tag"]{max-width:none}
.stMultiSelect [data-baseweb="tag"] span{overflow:visible;text-overflow:clip}
</style>"""

cur = state.current()
scope = state.township()
villages = state.filtered(cur, scope)
st.html(CSS)
st.title("面积核查")
st.caption(f"范围：{state.scope_label(cur, scope)} · "
           f"核定面积取村庄类型最低面积与按户数计算面积中的较大者（规则 {cur.rules.version}）")

query = st.text_input("按村名或代码搜索", key="area_search", placeholder="例如：王庄 或 371599101201")
c1, c2 = st.columns(2)
statuses = c1.multiselect("核查结果", list(STATUS_ZH), default=list(STATUS_ZH), format_func=STATUS_ZH.get,
                          key="area_status_filter", placeholder="请选择")
types = c2.multiselect("村庄类型", list(cur.type_names), default=list(cur.type_names),
                       format_func=cur.type_names.get, key="area_type_filter", placeholder="请选择")

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
narrow = ("village_code", "households", "floor_area_m2", "required_m2", "gap_m2", "area_status", "village_type")
config = {VILLAGE_HEADERS_ZH[c]: st.column_config.NumberColumn(format="%.2f", width="small")
          for c in ("floor_area_m2", "required_m2", "gap_m2")}
config |= {VILLAGE_HEADERS_ZH[c]: st.column_config.Column(width="small") for c in narrow if c not in config}
config |= {VILLAGE_HEADERS_ZH[c]: st.column_config.TextColumn(width="large") for c in ("reason", "problems")}
st.subheader(f"村级明细（{len(rows)} / {len(villages)} 个村）")
st.dataframe(rows[shown].rename(columns=VILLAGE_HEADERS_ZH), hide_index=True, placeholder=EMPTY, height=420,
             width="stretch", column_config=config)

st.subheader("乡镇汇总")
summary = township_summary(cur.audited if scope == state.ALL else villages)
st.dataframe(summary.rename(columns=SUMMARY_HEADERS_ZH), hide_index=True, placeholder=EMPTY, width="stretch",
             height=min(36 + 35 * max(len(summary), 1), 420),
             column_config={SUMMARY_HEADERS_ZH["compliance_rate"]: st.column_config.NumberColumn(format="percent")})

# --- shortfall by township: the top N (with a search), never one bar per township of a city ---------------------
st.subheader("各乡镇面积缺口合计（㎡）")
totals = (summary.groupby("township", sort=False)["shortfall_m2"].sum().sort_values(ascending=False, kind="mergesort"))
c1, c2 = st.columns([3, 2])
town_query = c1.text_input("查找乡镇", key="area_chart_search", placeholder="输入乡镇名称的一部分")
top_n = c2.select_slider("显示前几名", options=[5, 10, 15, 20, 30, 50], value=15, key="area_chart_top")
if town_query.strip():
    totals = totals[totals.index.astype(str).str.contains(town_query.strip(), regex=False)]
chart = totals.head(top_n).rename("面积缺口合计（㎡）")
chart.index = pd.Index(chart.index, name="乡镇（街道）")
if chart.empty:
    st.caption("没有符合条件的乡镇。")
else:
    st.bar_chart(chart, horizontal=True, height=60 + 26 * len(chart), sort="-面积缺口合计（㎡）")
    if len(totals) > len(chart):
        st.caption(f"按缺口从大到小显示前 {len(chart)} 个乡镇，其余 {len(totals) - len(chart)} 个见上方乡镇汇总表。")

# --- where to build first ---------------------------------------------------------------------------------------
st.subheader("建设优先排序")
order = st.radio("排序方式", list(ORDER_ZH), format_func=ORDER_ZH.get, horizontal=True, key="rank_order")
ranking = build_ranking(villages, rules=cur.rules, order=order)
place = scope_name(cur.audited, None if scope == state.ALL else scope)
cost_text = (f"投资估算按规则文件单价 {ranking.unit_cost:,.0f} 元/㎡" if ranking.unit_cost is not None
             else "规则文件未给出建设单价，不作投资估算（县规则文件可在「投资估算」一节填写单价）")
c1, c2, c3 = st.columns(3)
c1.metric("不达标村", f"{len(ranking.villages):,}")
c2.metric("面积缺口合计（㎡）", f"{ranking.total_shortfall_m2:,.0f}")
c3.metric("无法判定（须先补数据）", f"{len(ranking.undecided):,}")
st.caption(cost_text + (f" · 合计约 {ranking.total_cost_yuan / 1e4:,.1f} 万元" if ranking.total_cost_yuan else ""))
drop = [] if ranking.unit_cost is not None else ["cost_yuan"]
numbers = {RANKING_HEADERS_ZH[c]: st.column_config.NumberColumn(format=f, width="small")
           for c, f in (("gap_m2", "%.2f"), ("gap_per_household_m2", "%.3f"), ("cost_yuan", "%,.0f"),
                        ("shortfall_m2", "%.2f"), ("floor_area_m2", "%.2f"), ("required_m2", "%.2f"))}
tab_villages, tab_towns, tab_undecided = st.tabs(["按村排序", "按乡镇汇总", f"无法判定（{len(ranking.undecided)}）"])
tab_villages.dataframe(ranking.villages.drop(columns=drop).rename(columns=RANKING_HEADERS_ZH), hide_index=True,
                       placeholder=EMPTY, width="stretch", height=420, column_config=numbers)
tab_towns.dataframe(ranking.townships.drop(columns=drop).rename(columns=RANKING_HEADERS_ZH | {"rank": "排序",
                                                                                             "households": "不达标村户数"}),
                    hide_index=True, placeholder=EMPTY, width="stretch", column_config=numbers,
                    height=min(36 + 35 * max(len(ranking.townships), 1), 420))
tab_undecided.caption("这些村的面积、户数或村庄类型缺失或有误，无法判定是否达标：请先补正名册数据。")
tab_undecided.dataframe(ranking.undecided.rename(columns=RANKING_HEADERS_ZH), hide_index=True, placeholder=EMPTY,
                        width="stretch", height=min(36 + 35 * max(len(ranking.undecided), 1), 420))


@st.cache_data(show_spinner="正在生成排序表…", max_entries=8)
def _ranking_xlsx(key: str, township: str, order: str, place: str, _ranking, _cur) -> bytes:  # noqa: ANN001
    with tempfile.TemporaryDirectory(prefix="village-audit-rank-") as tmp:
        path = ranking_to_xlsx(_ranking, Path(tmp) / "ranking.xlsx", rules=_cur.rules, scope=place,
                               source=_cur.dataset.name)
        return path.read_bytes()


# The workbook and its name are kept in the session too (what the download gives, for the tests to open).
st.session_state["rank_xlsx"] = (download_name(place, "建设优先排序", "xlsx"),
                                 _ranking_xlsx(cur.key, scope, order, place, ranking, cur))
st.download_button("下载建设优先排序（XLSX）", st.session_state["rank_xlsx"][1], file_name=st.session_state["rank_xlsx"][0],
                   mime=XLSX, key="rank_download", icon=":material/download:")
