"""牌子核查: pick a village, upload its photos and say for each whether it shows the outside or the inside, then
run the plaque engine (``audit.signage``, a separate piece of work). Without the engine the page says so."""

from __future__ import annotations

import importlib
import io
from types import ModuleType

import streamlit as st
from PIL import Image

from app import state
from audit._errors import AuditError
from audit.export import audit_rows

SIDES = {"external": "外部（门口、外墙）", "internal": "内部（室内）"}
RESULT = "inspect_result"


def signage_engine() -> ModuleType | None:
    """The plaque engine module, or None when it is not installed."""
    try:
        return importlib.import_module("audit.signage")
    except ModuleNotFoundError as exc:
        if exc.name != "audit.signage":
            raise  # the engine is there but something it needs is not: a bug to see, not to hide
        return None


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
    return signage_engine().Engine.load(rules=_rules)


cur = state.current()
st.title("牌子核查")
engine_module = signage_engine()
if engine_module is None:
    st.warning("牌子识别引擎尚未安装（audit.signage），暂时不能自动核查照片。"
               "可以先选择村庄并上传照片查看；引擎安装后本页将给出核查结果。", icon=":material/construction:")

rows = audit_rows(state.filtered(cur, state.township()))
query = st.text_input("按村名或代码搜索村庄", key="inspect_search", placeholder="例如：王庄 或 371599101201")
if query.strip():
    q = query.strip()
    rows = rows[rows["village_name"].astype(str).str.contains(q, regex=False)
                | rows["village_code"].astype(str).str.contains(q, regex=False)]
if rows.empty:
    st.info("没有符合条件的村庄。")
    st.stop()
labels = {i: f"{r.village_name}（{r.village_code or '无代码'}）· {r.township or '未填乡镇'}"
          for i, r in zip(rows.index, rows.itertuples(index=False), strict=True)}
village = st.selectbox(f"村庄（{len(labels)} 个）", list(labels), format_func=labels.get, key="inspect_village")
photos = st.file_uploader("上传该村党群服务中心的照片（可多选）", type=["jpg", "jpeg", "png", "webp"],
                          accept_multiple_files=True, key="inspect_photos")
sides = {}
for k, photo in enumerate(photos or []):
    c1, c2 = st.columns([1, 2])
    if viewable(photo.getvalue()):
        c1.image(photo.getvalue(), caption=photo.name, width=220)
    else:
        c1.error(f"「{photo.name}」不是可识别的图片文件（可能已损坏）。")
    sides[k] = c2.radio(f"「{photo.name}」拍摄的是", list(SIDES), format_func=SIDES.get,
                        key=f"inspect_side_{k}_{photo.name}", horizontal=True)
if not photos:
    st.stop()
n_out = sum(s == "external" for s in sides.values())
st.caption(f"已上传 {len(photos)} 张：外部 {n_out} 张，内部 {len(photos) - n_out} 张。")
run = st.button("开始核查", type="primary", disabled=engine_module is None, key="inspect_run",
                help=None if engine_module is not None else "牌子识别引擎尚未安装")
row = rows.loc[village]
if run and engine_module is not None:
    point = None if row["lon"] is None or row["lon"] != row["lon"] else (float(row["lon"]), float(row["lat"]))
    progress = st.progress(0.0, text="正在核查…")
    try:
        engine = loaded_engine(f"{cur.rules.version}:{cur.key}", cur.rules)
        report = engine_module.audit_signage(
            [engine_module.PhotoInput(p.getvalue(), p.name, sides[k]) for k, p in enumerate(photos)], engine,
            village_code=row["village_code"], village_name=row["village_name"], village_point=point,
            progress=lambda done, total, name: progress.progress(done / total, text=f"已核查 {done}/{total}：{name}"))
    except AuditError as exc:
        state.show_error("牌子核查无法进行", exc)
        st.stop()
    progress.empty()
    # Kept for the save button's rerun, together with what it was made from.
    st.session_state[RESULT] = (village, [p.getvalue() for p in photos], report)

result = st.session_state.get(RESULT)
if engine_module is None or result is None or result[0] != village:
    st.stop()
_, photo_bytes, report = result
summary = report.summary
names = {p.id: p.name_zh for p in cur.rules.plaques}
(st.success if summary.verdict == "compliant" else st.warning)(f"核查结论：{summary.verdict_zh}")
for reason in summary.reasons:
    st.write(f"- {reason}")
c1, c2, c3 = st.columns(3)
c1.metric("已有牌子", len(summary.present))
c2.metric("缺少牌子", len(summary.missing))
c3.metric("不应悬挂", len(summary.unauthorised))
if summary.missing:
    st.write("缺少：" + "、".join(names.get(m, m) for m in summary.missing))
if summary.unauthorised:
    st.dataframe([u.model_dump() for u in summary.unauthorised], hide_index=True)
if summary.style_violations:
    st.dataframe([v.model_dump() for v in summary.style_violations], hide_index=True)
for err in report.errors:
    st.error(f"照片「{err.photo}」无法核查：{err.error}")
st.download_button("下载核查报告（JSON）", engine_module.report_to_json(report),
                   file_name=f"牌子核查_{row['village_name']}.json", mime="application/json", key="inspect_report",
                   on_click="ignore")

with st.form("inspect_save"):
    inspector = st.text_input("核查人", key="inspect_inspector")
    if st.form_submit_button("保存到核查记录"):
        try:
            from audit.store import open_store, submit_inspection

            store = open_store()
            try:
                inspection_id = submit_inspection(store, report, photo_bytes, inspector=inspector,
                                                  village_code=row["village_code"], village_name=row["village_name"],
                                                  township=row["township"])
            finally:
                store.close()
        except AuditError as exc:
            state.show_error("核查记录未保存", exc)
        else:
            st.success(f"已保存到核查记录（编号 {inspection_id}）。")
