"""数据与规则: the county's registry (with its coordinate system), rules file and township boundary layer, saved
for every user through :mod:`audit.records.county_data`; the manifest says what is current, who uploaded it and when."""

from __future__ import annotations

import datetime as dt
import hashlib

import pandas as pd
import streamlit as st

from app import state
from audit.errors import AuditError
from audit.labels import EMPTY
from audit.records import county_data

BEIJING = dt.timezone(dt.timedelta(hours=8))

st.title("数据与规则")
try:  # the navigation offers this page to administrators only; refuse anyone else who reaches it
    state.user().require("manage_rules", what="数据与规则页")
except AuditError as exc:
    state.show_error("无权访问", exc)
    st.stop()
me = state.user()
cur = state.current()
st.info("此页保存的名册、规则和乡镇边界对全县所有用户生效，其他用户刷新页面后即看到。", icon=":material/groups:")


def _saved_line(what: str, upload: state.Upload | None, default: str) -> str:
    """``当前名册：「x.xlsx」 · 上传人 张三（zhangsan） · 2026-11-27 22:30（北京时间）`` or the default."""
    if upload is None or upload.saved is None:
        return f"当前{what}：{default}"
    entry = upload.saved
    when = entry.uploaded.astimezone(BEIJING)
    return f"当前{what}：「{entry.name}」 · 上传人 {entry.uploaded_by_name} · {when:%Y-%m-%d %H:%M}（北京时间）"


def _submitted(kind: county_data.Kind, widget, **kw) -> AuditError | None:
    """Save the file in ``widget`` once; return the error that refused it, while it stays in the uploader.

    A file left in the uploader is not saved again at later reruns: that would silently overwrite a newer
    file saved by another administrator in the meantime."""
    if widget is None:
        return None
    marker = f"va_county_{kind}"
    done = st.session_state.get(marker)
    if done is None or done[0] != widget.file_id:
        try:
            county_data.save_county_file(kind, widget.getvalue(), widget.name, user=me, **kw)
        except AuditError as exc:
            st.session_state[marker] = (widget.file_id, exc)
        else:
            st.session_state[marker] = (widget.file_id, None)
            st.rerun()
        done = st.session_state[marker]
    return done[1]


def _is_current(widget, upload: state.Upload | None) -> bool:
    return (widget is not None and upload is not None and upload.saved is not None
            and hashlib.sha256(widget.getvalue()).hexdigest() == upload.saved.sha256)


def _reset(kind: county_data.Kind) -> None:
    try:
        county_data.reset_county_file(kind, user=me)
    except AuditError as exc:
        state.show_error("无法恢复", exc)
    else:
        st.rerun()


# --- registry ---------------------------------------------------------------------------------------------
st.subheader("村庄名册")
st.caption(_saved_line("名册", cur.dataset, f"演示数据（{cur.dataset.name}）"))
st.caption("XLSX、XLS、CSV（UTF-8 或 GBK）、GeoJSON、GeoPackage 或 SHP 压缩包；须有村名、户数、服务中心面积三列。")
crs_options = list(state.CRS_LABELS)
crs = st.selectbox("名册坐标系", crs_options, index=crs_options.index(cur.dataset.crs), format_func=state.CRS_LABELS.get,
                   key="data_crs", help="从高德、腾讯地图取的坐标选 GCJ-02，百度地图选 BD-09，GPS 或天地图选 WGS84")
registry_file = st.file_uploader("上传村庄名册", key="registry_upload")
refused = _submitted("registry", registry_file, crs=crs)
if refused is not None:
    state.show_error(f"名册「{registry_file.name}」无法读取，仍使用原来的数据", refused)
elif _is_current(registry_file, cur.dataset):
    st.success(f"已保存县名册「{cur.dataset.name}」：{len(cur.county if cur.county is not None else cur.audited)} 个村，"
               "全县用户均使用此名册。")
if cur.dataset.saved is not None and crs != cur.dataset.crs:
    if st.button(f"将当前名册的坐标系改为 {state.CRS_LABELS[crs]}", key="registry_crs"):
        try:
            county_data.save_county_file("registry", cur.dataset.data, cur.dataset.name, user=me, crs=crs)
        except AuditError as exc:
            state.show_error(f"名册「{cur.dataset.name}」无法按此坐标系读取", exc)
        else:
            st.rerun()
if cur.dataset.saved is not None and st.button("恢复演示数据", key="restore_demo"):
    _reset("registry")
if cur.problems or cur.dropped:
    with st.expander(f"当前名册的数据问题（{len(cur.problems)} 条）与已剔除的行（{len(cur.dropped)} 行）"):
        for line in cur.dropped + cur.problems:
            st.text(line)

# --- rules ------------------------------------------------------------------------------------------------
st.subheader("核查规则")
st.caption(_saved_line("规则", cur.rules_upload, f"默认规则（{cur.rules.version}）"))
rules_file = st.file_uploader("上传规则文件（TOML，可从默认规则复制修改）", key="rules_upload")
refused = _submitted("rules", rules_file)
if refused is not None:
    state.show_error(f"规则文件「{rules_file.name}」无法使用，仍使用原来的规则", refused)
elif _is_current(rules_file, cur.rules_upload):
    st.success(f"已保存县规则文件「{cur.rules_upload.name}」（版本 {cur.rules.version}），全县用户均按此规则核查。")
if cur.rules_upload is not None and st.button("恢复默认规则", key="restore_rules"):
    _reset("rules")
st.dataframe(pd.DataFrame(cur.rules.summary_rows(), columns=["规则", "取值"]), hide_index=True, placeholder=EMPTY)
with st.expander("牌子名称词表（识别牌子文字所用，县规则文件可增补写法）"):
    st.dataframe(pd.DataFrame(cur.rules.lexicon_rows(), columns=["牌子", "位置", "名称写法"]), hide_index=True, placeholder=EMPTY,
                 width="stretch")

# --- township boundaries ----------------------------------------------------------------------------------
st.subheader("乡镇边界")
st.caption(_saved_line("乡镇边界", cur.boundary_upload, "未加载（地图显示由村庄位置推算的近似范围）"))
st.caption("GeoJSON、GeoPackage 或 SHP 压缩包，含乡镇名称列。")
boundary_file = st.file_uploader("上传乡镇边界图层", key="boundary_upload")
refused = _submitted("boundary", boundary_file)
if refused is not None:
    state.show_error(f"乡镇边界「{boundary_file.name}」无法使用", refused)
if cur.boundary is not None:
    st.success(f"已加载乡镇边界：{len(cur.boundary)} 个乡镇。")
    if st.button("移除乡镇边界", key="remove_boundary"):
        _reset("boundary")
