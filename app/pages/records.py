"""核查记录: past plaque inspections from the inspection store (``audit.records``), only those of the townships the
signed-in user may read (the library filters), and one inspection's photos, read through ``photo_for_user``.
``?inspection=<id>`` opens an inspection directly; the library refuses one of another township."""

from __future__ import annotations

import streamlit as st

from app import state
from audit.errors import AuditError
from audit.records.evaluation import engine_scores, scores_for_people
from audit.records.inspections import inspection_from_store, inspections_table, photo_for_user
from audit.records.ledger import LEDGER_HEADERS_ZH, ledger_from_store, rectification_progress, villages_not_inspected
from audit.signs.engine import VERDICT_ZH

HEADERS = {"village_code": "村代码", "village_name": "村名", "township": "乡镇（街道）", "inspector": "核查人",
           "inspected_at": "核查时间", "verdict": "结论", "reasons": "原因", "reviewed_at": "复核时间",
           "reviewed_by": "复核人", "inspection_id": "记录编号"}


def _joined(column):
    """A column of reason lists as text (；-separated) for the table."""
    return column.map(lambda r: "；".join(r) if isinstance(r, list) else r)


user = state.user()
cur = state.current()
st.title("核查记录")
try:
    with state.opened_store() as store:
        table = inspections_table(store, user=user)
        where = store.url
except AuditError as exc:
    state.show_error("核查记录无法读取", exc)
    st.stop()
st.caption(f"核查记录库：{where}")

with st.expander("挂牌台账（各村最近一次核查、待整改问题、整改期限、本轮未核查的村）", expanded=False):
    try:
        with state.opened_store() as store:
            ledger = ledger_from_store(store, cur.audited, user=user)
    except AuditError as exc:
        state.show_error("挂牌台账无法生成", exc)
    else:
        pending = villages_not_inspected(ledger)
        c1, c2, c3 = st.columns(3)
        c1.metric("村庄数", len(ledger))
        c2.metric("本轮未核查", len(pending))
        c3.metric("整改逾期", int(ledger["overdue"].eq(True).sum()) if "overdue" in ledger else 0)
        shown_ledger = ledger.assign(open_problems=_joined(ledger["open_problems"])) if "open_problems" in ledger else ledger
        st.dataframe(shown_ledger[[c for c in LEDGER_HEADERS_ZH if c in shown_ledger.columns]]
                     .rename(columns=LEDGER_HEADERS_ZH), hide_index=True)

if user.role == "admin":
    with st.expander("识别效果（按复核结果统计引擎在本县照片上的表现）", expanded=False):
        try:
            with state.opened_store() as store:
                scores = engine_scores(store, user=user, county_of=state.county_of(cur))
        except AuditError as exc:
            state.show_error("识别效果无法统计", exc)
        else:
            if scores.empty:
                st.info("还没有复核过的核查记录。复核后的照片越多，这里的统计越可靠，也可导出用于模型微调。")
            else:
                st.dataframe(scores_for_people(scores), hide_index=True)

wanted = st.query_params.get("inspection")
scope = state.township()
if scope != state.ALL:
    table = table[table["township"] == scope]
if table.empty and not wanted:
    st.info("尚无核查记录。在「牌子核查」页完成并保存的核查将显示在这里。")
    st.stop()
shown = table.assign(verdict=table["verdict"].map(lambda v: VERDICT_ZH.get(v, v)),
                     reasons=_joined(table["reasons"]))
st.caption(f"范围：{state.scope_label(cur, scope)} · {len(shown)} 条记录")
st.dataframe(shown[[c for c in HEADERS if c in shown.columns]].rename(columns=HEADERS), hide_index=True)

labels = {r.inspection_id: f"{r.village_name or r.village_code}（{r.township or '未填乡镇'}）· "
                           f"{r.inspected_at.tz_convert('Asia/Shanghai'):%Y-%m-%d %H:%M}"
          for r in table.itertuples(index=False)}
if wanted:
    chosen = wanted
else:
    chosen = st.selectbox("查看一条记录的照片和结论", list(labels), format_func=labels.get, index=None,
                          key="records_open", placeholder="选择一条核查记录")
if chosen:
    try:
        with state.opened_store() as store:
            insp = inspection_from_store(store, chosen, user=user)
            photos = [(ph, photo_for_user(store, user, ph.sha256)) for ph in insp.photos]
    except AuditError as exc:
        state.show_error("无法打开这条核查记录", exc)
        st.stop()
    st.subheader(f"{insp.village_name or insp.village_code}（{insp.township or '未填乡镇'}）")
    st.write(f"核查人：{insp.inspector}；结论：{VERDICT_ZH.get(insp.verdict, insp.verdict)}；"
             f"复核人：{insp.reviewed_by or '未复核'}")
    for reason in insp.summary.reasons:
        st.write(f"- {reason}")
    if insp.village_code:
        try:
            with state.opened_store() as store:
                progress = rectification_progress(store, insp.village_code, user=user)
        except AuditError as exc:
            state.show_error("整改进展无法读取", exc)
        else:
            st.markdown("**整改进展**（与该村上一次核查相比）" if progress["previous"] else "**整改进展**：该村仅核查过一次")
            if progress["previous"]:
                c1, c2, c3 = st.columns(3)
                c1.metric("已整改", len(progress["fixed"]))
                c2.metric("仍未整改", len(progress["still_open"]))
                c3.metric("新发现", len(progress["new"]))
                for label, key in (("已整改", "fixed"), ("仍未整改", "still_open"), ("新发现", "new")):
                    for item in progress[key]:
                        st.write(f"- {label}：{item}")
    for ph, data in photos:
        st.image(data, caption=f"{ph.index + 1}. {ph.name}", width=360)
