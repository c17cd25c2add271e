"""The sidebar every page shares, built once per run by ``streamlit_app.py``: the current dataset, the rules
version and the township filter."""

from __future__ import annotations

import streamlit as st

from app import state


def sidebar(cur: state.Current) -> None:
    """Render the shared sidebar for the current audit. A township-scoped user (乡镇检查员) chooses only among
    their own townships; the library refuses the others anyway."""
    if cur.scope is not None and len(cur.townships) == 1:
        options = cur.townships
    else:
        options = [state.ALL] + cur.townships
    if st.session_state.get(state.TOWNSHIP) not in options:  # a new registry without the township chosen before
        st.session_state[state.TOWNSHIP] = options[0]
    with st.sidebar:
        st.subheader("当前数据")
        ds = cur.dataset
        st.markdown(f"**名册**：{'演示数据 · ' if ds.demo else ''}`{ds.name}`")
        st.caption(f"{len(cur.audited)} 个村 · 坐标系 {state.CRS_LABELS[ds.crs]}")
        st.markdown(f"**规则**：{cur.rules.version}（{'默认规则' if cur.rules_upload is None else cur.rules_upload.name}）")
        st.caption(cur.rules.title)
        if cur.boundary is not None:
            st.caption(f"乡镇边界：{cur.boundary_upload.name if cur.boundary_upload else ''}（{len(cur.boundary)} 个）")
        else:
            st.caption("乡镇边界：未加载（地图显示由村庄位置推算的近似范围）")
        st.selectbox("乡镇（街道）", options, key=state.TOWNSHIP, help="筛选各页面显示与导出的范围",
                     format_func=lambda t: state.scope_label(cur, t))
