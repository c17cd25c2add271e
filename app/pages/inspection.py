"""牌子核查: pick a village, upload its photos and say for each whether it shows the outside or the inside, run
the plaque engine (``audit.signs.engine``), look at the annotated photos, correct the result and save it under the
signed-in user's name. Only the villages of the user's townships are offered; ``?village=<code>`` opens one
village directly, and one of another township is refused with the library's AccessError (with a way back).

The verdict on screen is the one of the plaques as corrected: every edit of the review tables recomputes it
(:func:`audit.records.review_table.reviewed_report`, the store's own decisions) and redraws the boxes; once saved,
the page shows the stored record's.

A check is saved once: its submission token is made with the engine's result and kept with it, the store keeps
one inspection per token (a second click or a resent form gets the same record back), and once saved the button
gives way to a link to the record."""

from __future__ import annotations

import hashlib
import io

import pandas as pd
import streamlit as st
from PIL import Image

from app import state, views
from audit.area.export import audit_rows
from audit.errors import AuditError
from audit.labels import TIME_NOTE, local_time, number
from audit.records.inspections import new_submission_token
from audit.records.review_table import review_table, type_choices
from audit.signs import engine as signage

SIDES = {"external": "外部（门口、外墙）", "internal": "内部（室内）"}
RESULT = "inspect_result"
SAVED = "inspect_saved"  # submission token -> the id of the inspection it was stored as


def viewable(data: bytes) -> bool:
    """Whether the bytes are an image the browser preview can show (a broken upload must not crash the page)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except Exception:  # PIL raises many kinds of errors on a broken file; any of them means "not viewable"
        return False
    return True


@st.cache_resource(show_spinner="正在加载牌子识别模型…")
def loaded_engine(rules_key: str, _rules):
    """The engine's models, loaded once per rules version."""
    return signage.Engine.load(rules=_rules)


cur = state.current()
user = state.user()
st.title("牌子核查")


def back_to_list() -> None:
    """A way back from a refused link: the village list of the user's own townships."""
    if st.button("返回村庄列表", key="inspect_back", icon=":material/arrow_back:"):
        st.query_params.clear()
        st.rerun()


rows = audit_rows(state.filtered(cur, state.township()))


def offer_drafts() -> None:
    """The user's unsaved checks (kept through a reload or a lost connection), to carry on with or discard."""
    try:
        drafts = state.user_drafts(user)
    except AuditError as exc:
        state.show_error("核查草稿无法读取", exc)
        return
    for d in drafts:
        with st.container(border=True, key=f"inspect_draft_{d.id}"):
            st.markdown(f"**未保存的核查**：{d.village_name}（{d.village_code}）· {d.photos} 张照片 · "
                        f"最后修改 {local_time(d.updated_at)}，保留至 {local_time(d.expires_at)}（{TIME_NOTE}）")
            c1, c2 = st.columns(2)
            if c1.button("继续核查", key=f"inspect_draft_open_{d.id}", icon=":material/restore:"):
                found = rows.index[rows["village_code"].astype(str) == d.village_code]
                if found.empty:
                    st.error(f"「{d.village_name}」不在当前名册的可核查范围内，草稿无法继续。")
                    continue
                at = found[0].item() if hasattr(found[0], "item") else found[0]  # a plain value for the selectbox
                try:
                    check = state.check_from_draft(d.id, user, at)
                except AuditError as exc:
                    state.show_error("草稿无法打开", exc)
                    continue
                new_check(check)
                st.session_state["inspect_search"] = d.village_code
                st.session_state["inspect_village"] = at
                st.rerun()
            if c2.button("删除草稿", key=f"inspect_draft_drop_{d.id}", icon=":material/delete:"):
                state.drop_draft(d.id, user)
                st.rerun()


def new_check(check: state.Check) -> None:
    """Make ``check`` the page's check; the review tables of an earlier one are forgotten."""
    st.session_state[RESULT] = check
    for key in ("inspect_review", "inspect_added"):
        st.session_state.pop(key, None)


if not isinstance(st.session_state.get(RESULT), state.Check):
    offer_drafts()
wanted = st.query_params.get("village")
if wanted:  # a link to one village: it must exist, and be one the user may inspect
    county = cur.audited if cur.county is None else cur.county
    found = county[county["village_code"].astype(str) == wanted]
    if found.empty:
        st.error(f"名册中没有村代码为「{wanted}」的村庄。")
        back_to_list()
        st.stop()
    try:
        user.require("inspect", found["township"].iloc[0], what=f"{found['village_name'].iloc[0]}的核查")
    except AuditError as exc:
        state.show_error("无法核查这个村", exc)
        back_to_list()
        st.stop()
    rows = audit_rows(state.filtered(cur)).loc[lambda r: r["village_code"].astype(str) == wanted]
query = st.text_input("按村名或代码搜索村庄", key="inspect_search", placeholder="例如：王庄 或 371599101201")
if query.strip():
    q = query.strip()
    rows = rows[rows["village_name"].astype(str).str.contains(q, regex=False)
                | rows["village_code"].astype(str).str.contains(q, regex=False)]
if rows.empty:
    st.info("没有符合条件的村庄。")
    st.stop()
choices_of_village = {i: f"{r.village_name}（{r.village_code or '无代码'}）· {r.township or '未填乡镇'}"
                      for i, r in zip(rows.index, rows.itertuples(index=False), strict=True)}
village = st.selectbox(f"村庄（{len(choices_of_village)} 个）", list(choices_of_village),
                       format_func=choices_of_village.get, key="inspect_village")
photos = st.file_uploader("上传该村党群服务中心的照片（可多选；手机上可直接拍照）",
                          type=["jpg", "jpeg", "png", "webp", "heic", "heif"],
                          accept_multiple_files=True, key="inspect_photos")
sides, usable = {}, []
for k, photo in enumerate(photos or []):
    c1, c2 = st.columns([1, 2])
    if not viewable(photo.getvalue()):  # refused here: no side to choose, not counted, not sent to the engine
        c1.error(f"「{photo.name}」不是可识别的图片文件（可能已损坏），不参与核查。")
        continue
    usable.append(photo)
    c1.image(photo.getvalue(), caption=photo.name, width=220)
    sides[photo.file_id] = c2.radio(f"「{photo.name}」拍摄的是", list(SIDES), format_func=SIDES.get,
                                    key=f"inspect_side_{k}_{photo.name}", horizontal=True)
row = rows.loc[village]
check = st.session_state.get(RESULT)
if not isinstance(check, state.Check) or check.village != village:
    check = None
if photos:
    n_out = sum(s == "external" for s in sides.values())
    refused = len(photos) - len(usable)
    st.caption(f"可核查的照片 {len(usable)} 张：外部 {n_out} 张，内部 {len(usable) - n_out} 张"
               + (f"；另有 {refused} 个文件无法识别，不参与核查。" if refused else "。"))
    run = st.button("开始核查", type="primary", key="inspect_run", disabled=not usable)
elif check is None:
    st.stop()
else:
    run = False
    st.caption(f"以下为未保存的核查（{len(check.photo_bytes)} 张照片，已在服务器上保留）；重新上传照片可再次核查。")
if run:
    point = None if row["lon"] is None or row["lon"] != row["lon"] else (float(row["lon"]), float(row["lat"]))
    progress = st.progress(0.0, text="正在核查…")
    try:
        engine = loaded_engine(f"{cur.rules.version}:{cur.key}", cur.rules)
        report = signage.audit_signage(
            [signage.PhotoInput(p.getvalue(), p.name, sides[p.file_id]) for p in usable], engine,
            village_code=row["village_code"], village_name=row["village_name"], village_point=point,
            gazetteer=state.gazetteer(f"{cur.rules.version}:{cur.key}", cur),
            progress=lambda done, total, name: progress.progress(done / total, text=f"已核查 {done}/{total}：{name}"))
    except AuditError as exc:
        state.show_error("牌子核查无法进行", exc)
        st.stop()
    progress.empty()
    # Kept for the save button's rerun and, as a draft, through a reload: with what it was made from (the county
    # files and the model) and the token that makes its saving idempotent.
    code = row["village_code"] if isinstance(row["village_code"], str) and row["village_code"].strip() else ""
    check = state.Check(village=village, village_code=code,
                        photo_bytes=[p.getvalue() for p in usable], report=report, made_with=cur.key,
                        audited=state.audited_with_files(cur, engine), token=new_submission_token())
    check.draft_id = state.keep_draft(check, user, cur)
    new_check(check)

if check is None:
    st.stop()
photo_bytes, report, made_with, audited, token = (check.photo_bytes, check.report, check.made_with, check.audited,
                                                  check.token)
saved_id = st.session_state.get(SAVED, {}).get(token)
summary_box = st.container()  # filled below, once the corrections are read
for err in report.errors:
    st.error(f"照片「{err.photo}」无法核查：{err.error}")
st.subheader("照片与识别结果")
photos_box = st.container()

st.subheader("人工复核")
if saved_id:
    st.caption("已保存，以下为保存时的复核内容；之后的修改请在核查记录中进行。")
else:
    st.caption("可改正牌子类型和文字、勾选删除误检；漏检的牌子在下方补录（只有一张照片时可不填照片编号）。"
               "上方的结论随修改即时重新判定；保存时模型原始结果保留，所有修改记入复核日志。")
choices = list(type_choices(cur.rules))
table = check.base_edited if check.base_edited is not None else review_table(report, cur.rules)
edited = st.data_editor(
    table, hide_index=True, key="inspect_review", height=38 + 35 * max(len(table), 1),  # every row in view
    disabled=True if saved_id else ["photo", "plaque", "confidence"],
    column_config={"photo": st.column_config.NumberColumn("照片"), "plaque": st.column_config.NumberColumn("序号"),
                   "choice": st.column_config.SelectboxColumn("牌子类型", options=choices, required=True),
                   "text": st.column_config.TextColumn("文字"),
                   "confidence": st.column_config.NumberColumn("置信度", format="%.2f"),
                   "delete": st.column_config.CheckboxColumn("删除（误检）")})
added = st.data_editor(
    check.base_added if check.base_added is not None else
    pd.DataFrame({"photo": pd.Series(dtype="Int64"), "choice": pd.Series(dtype="str"), "text": pd.Series(dtype="str")}),
    num_rows="fixed" if saved_id else "dynamic", hide_index=True, key="inspect_added", disabled=bool(saved_id),
    column_config={"photo": st.column_config.NumberColumn("照片", min_value=1, max_value=max(len(report.photos), 1),
                                                           step=1),
                   "choice": st.column_config.SelectboxColumn("漏检牌子类型", options=choices),
                   "text": st.column_config.TextColumn("文字")})

shown = report
if not saved_id:  # the corrections so far, kept with the draft through a reload
    state.keep_corrections(check, user, edited, added)
if saved_id:
    try:
        shown = state.stored_report(saved_id, user)
    except AuditError as exc:
        state.show_error("已保存的核查记录无法读取", exc)
else:
    try:
        shown = state.reviewed_preview(token, edited, added, report, cur.rules, photo_bytes)
    except AuditError as exc:
        state.show_error("复核内容有误，结论暂按识别结果显示", exc)
with summary_box:
    views.summary_view(shown.summary, cur.rules, before=report.summary,
                       basis="已保存的核查记录的结论。" if saved_id else "按人工复核后的牌子判定，随复核修改即时更新。")
by_sha = {hashlib.sha256(b).hexdigest(): b for b in photo_bytes}
with photos_box:
    for i, ph in enumerate(shown.photos, start=1):
        c1, c2 = st.columns([3, 2])
        with c1:
            views.photo_view(by_sha[ph.sha256], ph, cur.rules, number=i)
        prov = ph.provenance
        where = f"距村庄 {number(prov.distance_m, digits=0)} 米" if prov.distance_m is not None else "无拍摄位置"
        taken = prov.taken_at.replace(":", "-", 2) if prov.taken_at else "无"  # EXIF writes 2026:11:02 10:11:12
        c2.markdown(f"**拍摄信息**：{where}；拍摄时间 {taken}（相机时间）")
        for message in views.unique(prov.messages + (ph.quality.messages if ph.quality else [])):
            c2.warning(message)

st.download_button("下载核查报告（JSON，供其他系统读取）", signage.report_to_json(report),
                   file_name=f"牌子核查_{row['village_name']}.json", mime="application/json", key="inspect_report",
                   on_click="ignore")

if saved_id:  # saved: the button gives way to the record (corrections from now on are the record's review)
    st.success(f"已保存到核查记录（编号 {saved_id}）。")
    st.page_link("app/pages/records.py", label="打开这条核查记录", icon=":material/history:",
                 query_params={"inspection": saved_id})
    st.stop()
with st.form("inspect_save"):
    st.caption(f"核查人：{user.full_name}（当前登录用户）")
    if st.form_submit_button("保存到核查记录", key="inspect_save_button"):
        try:
            if made_with != cur.key:  # the registry or rules changed since: the report no longer matches them
                raise AuditError("核查之后县里的名册或规则文件已更新，请重新点击「开始核查」后再保存")
            inspection_id = state.save_inspection(report, photo_bytes, edited, added, user=user, cur=cur,
                                                  village_code=row["village_code"], audited=audited,
                                                  submission_token=token)
        except AuditError as exc:
            state.show_error("核查记录未保存", exc)
        else:
            st.session_state[SAVED] = {token: inspection_id}
            state.drop_draft(check.draft_id, user)  # saved: the draft (and its copy of the photos) goes
            st.rerun()
