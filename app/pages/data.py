"""数据与规则: load a registry (with its coordinate system), a rules file or a township boundary layer."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import state
from audit._errors import AuditError

st.title("数据与规则")
try:  # the navigation offers this page to administrators only; refuse anyone else who reaches it
    state.user().require("manage_rules", what="数据与规则页")
except AuditError as exc:
    state.show_error("无权访问", exc)
    st.stop()
cur = state.current()


def _upload_of(widget, **kw) -> state.Upload | None:
    return state.Upload(widget.getvalue(), widget.name, **kw) if widget is not None else None


# --- registry ---------------------------------------------------------------------------------------------
st.subheader("村庄名册")
st.caption("XLSX、XLS、CSV（UTF-8 或 GBK）、GeoJSON、GeoPackage 或 SHP 压缩包；须有村名、户数、服务中心面积三列。")
crs_options = list(state.CRS_LABELS)
crs = st.selectbox("名册坐标系", crs_options, index=crs_options.index(cur.dataset.crs), format_func=state.CRS_LABELS.get,
                   key="data_crs", help="从高德、腾讯地图取的坐标选 GCJ-02，百度地图选 BD-09，GPS 或天地图选 WGS84")
registry_file = st.file_uploader("上传村庄名册", key="registry_upload")
upload = _upload_of(registry_file, crs=crs)
if upload is not None and (upload.digest, upload.crs) != (cur.dataset.digest, cur.dataset.crs):
    try:
        state.audit_from_upload(upload, cur.rules_upload)
    except AuditError as exc:
        state.show_error(f"名册「{upload.name}」无法读取，仍使用原来的数据", exc)
    else:
        state.set_dataset(upload)
        st.rerun()
elif upload is None and crs != cur.dataset.crs:
    state.set_crs(crs)
    st.rerun()
elif upload is not None:
    st.success(f"已载入名册「{upload.name}」：{len(cur.audited)} 个村。")
if not cur.dataset.demo and st.button("恢复演示数据", key="restore_demo"):
    state.set_dataset(None)
    st.rerun()
if cur.problems or cur.dropped:
    with st.expander(f"当前名册的数据问题（{len(cur.problems)} 条）与已剔除的行（{len(cur.dropped)} 行）"):
        for line in cur.dropped + cur.problems:
            st.text(line)

# --- rules ------------------------------------------------------------------------------------------------
st.subheader("核查规则")
rules_file = st.file_uploader("上传规则文件（TOML，可从默认规则复制修改）", key="rules_upload")
rules_up = _upload_of(rules_file)
if rules_up is not None and (cur.rules_upload is None or rules_up.digest != cur.rules_upload.digest):
    try:
        state.rules_from_upload(rules_up)
        state.audit_from_upload(cur.dataset, rules_up)
    except AuditError as exc:
        state.show_error(f"规则文件「{rules_up.name}」无法使用，仍使用原来的规则", exc)
    else:
        state.set_rules(rules_up)
        st.rerun()
if cur.rules_upload is not None and st.button("恢复默认规则", key="restore_rules"):
    state.set_rules(None)
    st.rerun()
st.dataframe(pd.DataFrame(cur.rules.summary_rows(), columns=["规则", "取值"]), hide_index=True)

# --- township boundaries ----------------------------------------------------------------------------------
st.subheader("乡镇边界")
st.caption("GeoJSON、GeoPackage 或 SHP 压缩包，含乡镇名称列；未加载时地图显示由村庄位置推算的近似范围。")
boundary_file = st.file_uploader("上传乡镇边界图层", key="boundary_upload")
boundary_up = _upload_of(boundary_file)
if boundary_up is not None and (cur.boundary_upload is None or boundary_up.digest != cur.boundary_upload.digest):
    try:
        state.boundary_from_upload(boundary_up)
    except AuditError as exc:
        state.show_error(f"乡镇边界「{boundary_up.name}」无法使用", exc)
    else:
        state.set_boundary(boundary_up)
        st.rerun()
if cur.boundary is not None:
    st.success(f"已加载乡镇边界：{len(cur.boundary)} 个乡镇。")
    if st.button("移除乡镇边界", key="remove_boundary"):
        state.set_boundary(None)
        st.rerun()
