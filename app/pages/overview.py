"""总览: the county's (or the chosen township's) figures and the townships that need attention first."""

from __future__ import annotations

import streamlit as st

from app import state
from audit.area.export import SUMMARY_HEADERS_ZH
from audit.area.floor_area import county_summary, township_summary
from audit.labels import EMPTY

WORST = 5

cur = state.current()
scope = state.township()
villages = state.filtered(cur, scope)
st.title("总览 · 党群服务中心面积核查")
if cur.dataset.demo:
    upload = "可在「数据与规则」页上传本县名册。" if state.user().can("manage_rules") else ""
    st.info(f"当前显示的是演示数据（示例县，数值为程序生成，非实测）。{upload}")
st.caption(f"范围：{state.scope_label(cur, scope)}")

total = county_summary(villages)[["villages", "compliant", "non_compliant", "unknown", "shortfall_m2"]].sum()
judged = total["compliant"] + total["non_compliant"]
cols = st.columns(6)
cols[0].metric("村庄数", int(total["villages"]))
cols[1].metric("达标", int(total["compliant"]))
cols[2].metric("不达标", int(total["non_compliant"]))
cols[3].metric("无法判定", int(total["unknown"]))
cols[4].metric("达标率", state.percent(total["compliant"] / judged if judged else None),
               help="达标 ÷（达标 + 不达标）；无法判定的村单列，不计为达标")
cols[5].metric("面积缺口合计（㎡）", f"{total['shortfall_m2']:,.1f}")

st.subheader(f"最需关注的乡镇（达标率最低的 {WORST} 个）")
summary = township_summary(cur.audited).sort_values(["compliance_rate", "shortfall_m2"], ascending=[True, False],
                                                    na_position="last")
st.dataframe(summary.head(WORST).rename(columns=SUMMARY_HEADERS_ZH), hide_index=True, placeholder=EMPTY,
             column_config={SUMMARY_HEADERS_ZH["compliance_rate"]: st.column_config.NumberColumn(format="percent")})

if cur.problems or cur.dropped:
    with st.expander(f"数据问题（{len(cur.problems)} 条）与已剔除的行（{len(cur.dropped)} 行）"):
        for line in cur.dropped + cur.problems:
            st.text(line)
