"""核查记录: past plaque inspections from the inspection store (``audit.records``), only those of the townships the
signed-in user may read (the library filters), the county signage ledger, and one inspection opened: its photos
with the corrected boxes, its corrections (who, when, what) and what changed since the village's inspection before
it. ``?inspection=<id>`` opens an inspection directly; the library refuses one of another township.

Every code and time goes through :mod:`audit.labels` (times in Beijing time) and people are shown by name."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import state, views
from audit.errors import AuditError
from audit.labels import EMPTY, TIME_NOTE, VERDICT_ZH, label, local_time
from audit.records.accounts import people_names
from audit.records.evaluation import engine_scores, scores_for_people
from audit.records.inspections import inspection_from_store, inspections_table, photo_for_user, review_log_table
from audit.records.ledger import ledger_for_people, ledger_from_store, rectification_progress, villages_not_inspected
from audit.records.review_table import corrections_for_people

HEADERS = {"village_code": "村代码", "village_name": "村名", "township": "乡镇（街道）", "inspector": "核查人",
           "inspected_at": f"核查时间（{TIME_NOTE}）", "verdict": "结论", "reasons": "原因",
           "reviewed_at": f"复核时间（{TIME_NOTE}）", "reviewed_by": "复核人", "inspection_id": "记录编号"}


def _joined(column: pd.Series) -> pd.Series:
    """A column of reason lists as text (；-separated, each reason once)."""
    return column.map(lambda r: "；".join(views.unique(r)) or EMPTY if isinstance(r, list) else EMPTY)


user = state.user()
cur = state.current()
st.title("核查记录")
try:
    with state.opened_store() as store:
        table = inspections_table(store, user=user)
        names = people_names(store, list(table["inspector"]) + list(table["reviewed_by"].dropna()), user=user)
except AuditError as exc:
    state.show_error("核查记录无法读取", exc)
    st.stop()

with st.expander("挂牌台账（各村最近一次核查、待整改问题、整改期限、本轮未核查的村）", expanded=False):
    try:
        with state.opened_store() as store:
            ledger = ledger_from_store(store, cur.audited, user=user)
            ledger_names = people_names(store, ledger["inspector"].dropna(), user=user)
    except AuditError as exc:
        state.show_error("挂牌台账无法生成", exc)
    else:
        pending = villages_not_inspected(ledger)
        c1, c2, c3 = st.columns(3)
        c1.metric("村庄数", len(ledger))
        c2.metric("本轮未核查", len(pending))
        c3.metric("整改逾期", int(ledger["overdue"].eq(True).sum()) if "overdue" in ledger else 0)
        st.dataframe(ledger_for_people(ledger, names=ledger_names, empty=EMPTY), hide_index=True, placeholder=EMPTY)

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
                st.dataframe(scores_for_people(scores), hide_index=True, placeholder=EMPTY)

wanted = st.query_params.get("inspection")
scope = state.township()
if scope != state.ALL:
    table = table[table["township"] == scope]
if table.empty and not wanted:
    st.info("尚无核查记录。在「牌子核查」页完成并保存的核查将显示在这里。")
    st.stop()
shown = table.assign(
    verdict=table["verdict"].map(lambda v: label(VERDICT_ZH, v)), reasons=_joined(table["reasons"]),
    inspector=table["inspector"].map(lambda u: names.get(u, u)),
    reviewed_by=table["reviewed_by"].map(lambda u: names.get(u, u) if isinstance(u, str) else "未复核"),
    inspected_at=table["inspected_at"].map(local_time), reviewed_at=table["reviewed_at"].map(local_time),
    village_code=table["village_code"].fillna(EMPTY), township=table["township"].fillna("未填乡镇"))
st.caption(f"范围：{state.scope_label(cur, scope)} · {len(shown)} 条记录")
st.dataframe(shown[[c for c in HEADERS if c in shown.columns]].rename(columns=HEADERS), hide_index=True, placeholder=EMPTY)

choices = {r.inspection_id: f"{r.village_name or r.village_code}（{r.township or '未填乡镇'}）· "
                            f"{local_time(r.inspected_at)}" for r in table.itertuples(index=False)}
if wanted:
    chosen = wanted
    if st.button("返回全部记录", key="records_back", icon=":material/arrow_back:"):
        st.query_params.clear()
        st.rerun()
else:
    chosen = st.selectbox("查看一条记录的照片和结论", list(choices), format_func=choices.get, index=None,
                          key="records_open", placeholder="选择一条核查记录")
if chosen:
    try:
        with state.opened_store() as store:
            insp = inspection_from_store(store, chosen, user=user)
            photos = [photo_for_user(store, user, ph.sha256) for ph in insp.photos]
            log = review_log_table(store, insp.id, user=user)
            people = people_names(store, [insp.inspector, insp.reviewed_by or "", *log["reviewer"]], user=user)
    except AuditError as exc:
        state.show_error("无法打开这条核查记录", exc)
        st.stop()
    st.subheader(f"{insp.village_name or insp.village_code}（{insp.township or '未填乡镇'}）")
    reviewed = (f"{people.get(insp.reviewed_by, insp.reviewed_by)}，{local_time(insp.reviewed_at)}"
                if insp.reviewed_by else "未复核")
    st.markdown(f"核查人：{people.get(insp.inspector, insp.inspector)}；核查时间：{local_time(insp.inspected_at)}"
                f"（{TIME_NOTE}）；复核：{reviewed}")
    views.summary_view(insp.summary, cur.rules, before=insp.original.summary,
                       basis="按人工复核后的牌子判定。" if insp.reviewed_at else "按识别结果判定（尚未人工复核）。")
    st.markdown("**照片**（框为复核后的牌子）")
    reviewed_photos = insp.reviewed_photos()
    columns = st.columns(2)
    for i, (ph, data) in enumerate(zip(reviewed_photos, photos, strict=True)):
        with columns[i % 2]:
            views.photo_view(data, ph, cur.rules, number=i + 1)
    st.markdown("**复核修改**")
    corrections = corrections_for_people(log[log["field"] != "confirmed"], insp, cur.rules, names=people)
    confirmed = int((log["field"] == "confirmed").sum())
    if corrections.empty:
        st.caption("复核时没有修改识别结果" + (f"（确认 {confirmed} 块牌子无误）。" if confirmed else "。")
                   if insp.reviewed_at else "尚未人工复核。")
    else:
        st.caption(f"共 {len(corrections)} 项修改" + (f"，另确认 {confirmed} 块牌子无误" if confirmed else "")
                   + f"（{TIME_NOTE}）。")
        st.dataframe(corrections, hide_index=True, placeholder=EMPTY)
    if insp.village_code:
        try:
            with state.opened_store() as store:
                progress = rectification_progress(store, insp.village_code, user=user, inspection_id=insp.id)
        except AuditError as exc:
            state.show_error("整改进展无法读取", exc)
        else:
            if progress["previous"]:
                st.markdown(f"**整改进展**（与该村上一次核查 {local_time(progress['previous_at'])} 相比）")
                c1, c2, c3 = st.columns(3)
                c1.metric("已整改", len(progress["fixed"]))
                c2.metric("仍未整改", len(progress["still_open"]))
                c3.metric("新发现", len(progress["new"]))
                for word, key in (("已整改", "fixed"), ("仍未整改", "still_open"), ("新发现", "new")):
                    for item in progress[key]:
                        st.markdown(f"- {word}：{item}")
            else:
                st.markdown("**整改进展**：这是该村的第一次核查，没有可比较的上一次记录。")
