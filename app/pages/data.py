"""数据与规则: the county's registry (with its coordinate system), rules file and township boundary layer, saved
for every user. The library does the work (:mod:`audit.records.registry_versions`): an upload is previewed
(counts, row problems, villages added / removed / changed) and saved only once confirmed; every version is kept
with who, when and its hash, and any earlier one can be restored; every action that replaces what everyone sees
asks first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import streamlit as st

from app import state
from audit.errors import AuditError
from audit.labels import EMPTY
from audit.records import county_data
from audit.records import registry_versions as rv

BEIJING = dt.timezone(dt.timedelta(hours=8))
FLASH = "va_data_flash"
ASK = "va_data_ask"
DIFF_HEADERS = {"village_code": "村代码", "village_name": "村名", "township": "乡镇（街道）", "basis": "匹配依据",
                "changes": "变化"}
COUNT_LABELS = (("villages", "村庄数"), ("located", "有坐标"), ("compliant", "达标"), ("non_compliant", "不达标"),
                ("unknown", "无法判定"))

st.title("数据与规则")
try:  # the navigation offers this page to administrators only; refuse anyone else who reaches it
    state.user().require("manage_rules", what="数据与规则页")
except AuditError as exc:
    state.show_error("无权访问", exc)
    st.stop()
me = state.user()
cur = state.current()
st.info("此页保存的名册、规则和乡镇边界对全县所有用户生效，其他用户刷新页面后即看到。上传的文件先预览，确认后才保存；"
        "每个版本都保留，可随时恢复。", icon=":material/groups:")
if FLASH in st.session_state:
    st.success(st.session_state.pop(FLASH))


def _saved_line(what: str, upload: state.Upload | None, default: str) -> str:
    """``当前名册：「x.xlsx」 · 上传人 张三（zhangsan） · 2026-11-27 22:30（北京时间）`` or the default."""
    if upload is None or upload.saved is None:
        return f"当前{what}：{default}"
    entry = upload.saved
    when = entry.uploaded.astimezone(BEIJING)
    return f"当前{what}：「{entry.name}」 · 上传人 {entry.uploaded_by_name} · {when:%Y-%m-%d %H:%M}（北京时间）"


def _ask(key: str, label: str, question: str, do: Callable[[str | None], str | None], *, kind: str) -> None:
    """A button for an action that replaces what every user sees: it asks first (确认 / 取消). The current
    version when asked goes with the confirmation, so a change made by someone else meanwhile is refused."""
    if st.button(label, key=key):
        st.session_state[ASK] = (key, rv.current_version_sha(kind))
    asked = st.session_state.get(ASK)
    if not asked or asked[0] != key:
        return
    st.warning(question, icon=":material/warning:")
    c1, c2, _ = st.columns([1, 1, 4])
    if c1.button("确认", key=f"{key}_yes", type="primary"):
        st.session_state.pop(ASK, None)
        try:
            done = do(asked[1])
        except AuditError as exc:
            state.show_error("未能完成", exc)
        else:
            if done:
                st.session_state[FLASH] = done
            st.rerun()
    if c2.button("取消", key=f"{key}_no"):
        st.session_state.pop(ASK, None)
        st.rerun()


def _restore(version_id: str, base: str | None) -> str:
    with state.opened_store() as store:
        v = rv.restore_version(store, version_id, user=me, base_sha256=base)
    return f"已恢复{county_data.KIND_ZH[v.kind]}「{v.name}」，全县用户均使用此版本。"


def _reset(kind: str, base: str | None, done: str) -> str | None:
    with state.opened_store() as store:
        rv.reset_to_default(store, kind, user=me, base_sha256=base)
    return done


def _preview(kind: str, widget, **kw) -> rv.UploadPreview | AuditError | None:  # noqa: ANN001 - UploadedFile
    """The preview of the file in ``widget``, made once per file (kept in the session)."""
    if widget is None:
        st.session_state.pop(f"va_preview_{kind}", None)
        return None
    marker = f"va_preview_{kind}"
    done = st.session_state.get(marker)
    key = (widget.file_id, tuple(sorted(kw.items())))
    if done is None or done[0] != key:
        try:
            with st.spinner("正在读取并比较…"):
                found = rv.preview_upload(kind, widget.getvalue(), widget.name, **kw)
        except AuditError as exc:
            found = exc
        st.session_state[marker] = done = (key, found)
    return done[1]


def _counts_row(preview: rv.UploadPreview) -> None:
    labels = COUNT_LABELS if preview.kind == "registry" else COUNT_LABELS[2:]
    cols = st.columns(len(labels) + (1 if preview.kind == "registry" else 0))
    for col, (key, label) in zip(cols, labels, strict=False):
        if key not in preview.counts:
            continue
        now, before = preview.counts[key], preview.base_counts.get(key)
        col.metric(label, f"{now:,}", delta=None if before is None or before == now else f"{now - before:+,}",
                   delta_color="off")
    if preview.kind == "registry":
        cols[-1].metric("数据问题", f"{len(preview.problems):,}")


def _show_preview(kind: str, preview: rv.UploadPreview, data: bytes, confirm_label: str, saved: str) -> None:
    """The preview and its 确认 / 放弃 buttons."""
    base = "默认数据" if preview.base_sha256 is None else f"「{preview.base_name}」"
    with st.container(border=True):
        st.markdown(f"**预览：「{preview.name}」**（与当前{county_data.KIND_ZH[kind]}{base}比较；尚未保存）")
        if preview.same_as_current:
            st.info("与当前使用的文件相同，无需保存。")
            return
        if preview.counts:
            _counts_row(preview)
        if preview.diff is not None:
            d = preview.diff
            st.caption(f"新增 {len(d.added)} 个村 · 删除 {len(d.removed)} 个村 · 数据变更 {len(d.changed)} 个村 · "
                       f"未变 {d.unchanged} 个村。{d.basis_text}")
            tabs = st.tabs([f"新增（{len(d.added)}）", f"删除（{len(d.removed)}）", f"变更（{len(d.changed)}）"])
            for tab, frame, cols in ((tabs[0], d.added, ["village_code", "village_name", "township"]),
                                     (tabs[1], d.removed, ["village_code", "village_name", "township"]),
                                     (tabs[2], d.changed, list(DIFF_HEADERS))):
                shown = frame[cols].copy()
                if "basis" in shown:
                    shown["basis"] = shown["basis"].map(rv.BASIS_ZH)
                tab.dataframe(shown.replace("", None).rename(columns=DIFF_HEADERS), hide_index=True,
                              placeholder=EMPTY, width="stretch", height=min(36 + 35 * max(len(shown), 1), 320))
        if preview.rule_changes:
            st.dataframe(pd.DataFrame(preview.rule_changes, columns=["规则", "当前", "上传的文件"]), hide_index=True,
                         width="stretch")
        elif kind == "rules":
            st.caption("规则取值与当前规则相同（牌子名称等其他内容可能不同）。")
        if preview.problems or preview.dropped:
            with st.expander(f"数据问题（{len(preview.problems)} 条）与将剔除的行（{len(preview.dropped)} 行）"):
                st.text("\n".join([*preview.dropped, *preview.problems][:2000]))
        c1, c2, _ = st.columns([2, 1, 3])
        if c1.button(confirm_label, key=f"{kind}_confirm", type="primary"):
            try:
                with state.opened_store() as store:
                    rv.confirm_upload(store, preview, data, user=me)
            except AuditError as exc:
                state.show_error(f"「{preview.name}」未保存", exc)
            else:
                st.session_state[FLASH] = saved
                st.session_state[f"va_done_{kind}"] = st.session_state[f"va_preview_{kind}"][0]
                st.session_state.pop(f"va_preview_{kind}", None)
                st.rerun()
        if c2.button("放弃", key=f"{kind}_discard"):
            st.session_state[f"va_done_{kind}"] = st.session_state[f"va_preview_{kind}"][0]
            st.session_state.pop(f"va_preview_{kind}", None)
            st.rerun()


def _upload_section(kind: str, widget, error_title: str, confirm_label: str, saved: Callable[[rv.UploadPreview], str],
                    **kw) -> None:  # noqa: ANN001 - UploadedFile
    if widget is not None and st.session_state.get(f"va_done_{kind}", (None,))[0] == widget.file_id:
        return  # confirmed or discarded: the file left in the uploader is not offered again
    found = _preview(kind, widget, **kw)
    if isinstance(found, AuditError):
        state.show_error(error_title.format(name=widget.name), found)
    elif found is not None:
        _show_preview(kind, found, widget.getvalue(), confirm_label, saved(found))


def _history(kind: str) -> None:
    """The versions of ``kind``, and restoring one (asks first)."""
    try:
        with state.opened_store() as store:
            history = rv.versions(store, kind, user=me)
    except AuditError as exc:
        state.show_error("无法读取版本记录", exc)
        return
    if not history:
        return
    current = rv.current_version_sha(kind)
    table = rv.versions_table(history, current_sha256=current)
    with st.expander(f"{county_data.KIND_ZH[kind]}的版本记录（{len(history)} 条）"):
        st.dataframe(table.drop(columns="id"), hide_index=True, width="stretch", placeholder=EMPTY)
    restorable = {}
    for v, label in zip(history, table.itertuples(index=False), strict=True):
        if v.file is not None and v.sha256 != current and v.sha256 not in restorable:
            restorable[v.sha256] = (v.id, f"{label[1]} · {label[3]} · {label[5]}")
    if restorable:  # outside the expander: its question and buttons stay in view whatever the expander does
        options = {vid: text for vid, text in restorable.values()}
        chosen = st.selectbox(f"恢复以前的{county_data.KIND_ZH[kind]}版本", list(options), format_func=options.get,
                              key=f"{kind}_version")
        _ask(f"{kind}_restore", "恢复此版本", f"恢复「{options[chosen]}」后，全县所有用户立即改用该版本。确定吗？",
             lambda base: _restore(chosen, base), kind=kind)


def _recrs(new_crs: str) -> str:
    preview = rv.preview_upload("registry", cur.dataset.data, cur.dataset.name, crs=new_crs)
    with state.opened_store() as store:
        rv.confirm_upload(store, preview, cur.dataset.data, user=me)
    return f"名册「{cur.dataset.name}」已改按 {state.CRS_LABELS[new_crs]} 读取。"


# --- registry ---------------------------------------------------------------------------------------------
st.subheader("村庄名册")
st.caption(_saved_line("名册", cur.dataset, f"演示数据（{cur.dataset.name}）"))
st.caption("XLSX、XLS、ODS、CSV（UTF-8 或 GBK）、GeoJSON、GeoPackage 或 SHP 压缩包；须有村名、户数、服务中心面积三列。")
crs_options = list(state.CRS_LABELS)
crs = st.selectbox("名册坐标系", crs_options, index=crs_options.index(cur.dataset.crs), format_func=state.CRS_LABELS.get,
                   key="data_crs", help="从高德、腾讯地图取的坐标选 GCJ-02，百度地图选 BD-09，GPS 或天地图选 WGS84")
registry_file = st.file_uploader("上传村庄名册", key="registry_upload")
demo = state.demo_dataset()
_upload_section("registry", registry_file, "名册「{name}」无法读取，仍使用原来的数据", "确认使用此名册",
                lambda p: f"已保存县名册「{p.name}」：{p.counts.get('villages', 0)} 个村，全县用户均使用此名册。",
                crs=crs, default=(demo.data, demo.name, demo.crs))
if cur.dataset.saved is not None and crs != cur.dataset.crs and registry_file is None:
    _ask("registry_crs", f"将当前名册的坐标系改为 {state.CRS_LABELS[crs]}",
         f"按 {state.CRS_LABELS[crs]} 重新读取名册「{cur.dataset.name}」后，所有村庄的位置随之改变，全县用户立即生效。确定吗？",
         lambda base: _recrs(crs), kind="registry")
if cur.dataset.saved is not None:
    _ask("restore_demo", "恢复演示数据",
         f"恢复演示数据后，全县用户不再使用名册「{cur.dataset.name}」（该版本仍保留，可在版本记录中恢复）。确定吗？",
         lambda base: _reset("registry", base, "已恢复演示数据。"), kind="registry")
_history("registry")
if cur.problems or cur.dropped:
    with st.expander(f"当前名册的数据问题（{len(cur.problems)} 条）与已剔除的行（{len(cur.dropped)} 行）"):
        st.text("\n".join((cur.dropped + cur.problems)[:2000]))



# --- rules ------------------------------------------------------------------------------------------------
st.subheader("核查规则")
st.caption(_saved_line("规则", cur.rules_upload, f"默认规则（{cur.rules.version}）"))
rules_file = st.file_uploader("上传规则文件（TOML，可从默认规则复制修改）", key="rules_upload")
_upload_section("rules", rules_file, "规则文件「{name}」无法使用，仍使用原来的规则", "确认使用此规则",
                lambda p: f"已保存县规则文件「{p.name}」，全县用户均按此规则核查。")
if cur.rules_upload is not None:
    _ask("restore_rules", "恢复默认规则",
         f"恢复默认规则后，全县用户不再按「{cur.rules_upload.name}」核查（该版本仍保留，可恢复）。确定吗？",
         lambda base: _reset("rules", base, "已恢复默认规则。"), kind="rules")
_history("rules")
st.dataframe(pd.DataFrame(cur.rules.summary_rows(), columns=["规则", "取值"]), hide_index=True, placeholder=EMPTY)
with st.expander("牌子名称词表（识别牌子文字所用，县规则文件可增补写法）"):
    st.dataframe(pd.DataFrame(cur.rules.lexicon_rows(), columns=["牌子", "位置", "名称写法"]), hide_index=True, placeholder=EMPTY,
                 width="stretch")

# --- township boundaries ----------------------------------------------------------------------------------
st.subheader("乡镇边界")
st.caption(_saved_line("乡镇边界", cur.boundary_upload, "未加载（地图显示由村庄位置推算的近似范围）"))
st.caption("GeoJSON、GeoPackage 或 SHP 压缩包，含乡镇名称列。")
boundary_file = st.file_uploader("上传乡镇边界图层", key="boundary_upload")
_upload_section("boundary", boundary_file, "乡镇边界「{name}」无法使用", "确认使用此边界",
                lambda p: f"已加载乡镇边界「{p.name}」：{p.counts.get('townships', 0)} 个乡镇。")
if cur.boundary is not None:
    st.success(f"已加载乡镇边界：{len(cur.boundary)} 个乡镇。")
    _ask("remove_boundary", "移除乡镇边界", "移除后地图改用由村庄位置推算的近似范围（该版本仍保留，可恢复）。确定吗？",
         lambda base: _reset("boundary", base, "已移除乡镇边界。"), kind="boundary")
_history("boundary")
