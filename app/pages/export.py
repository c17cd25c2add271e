"""导出: the area audit of one township or the whole county (a scoped user: their townships) as XLSX, CSV or
GeoPackage; for users who may export (县级管理员), the signage ledger from the inspection store, which records
who exported it."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from app import state
from audit.area.export import download_name, scope_name
from audit.errors import AuditError

LEDGER = "export_ledger"

cur = state.current()
user = state.user()
st.title("导出面积核查结果")
options = cur.townships if cur.scope is not None and len(cur.townships) == 1 else [state.ALL] + cur.townships
scope = st.selectbox("导出范围", options, index=options.index(state.township()) if state.township() in options else 0,
                     key="export_scope", help="默认与左侧的乡镇筛选一致", format_func=lambda t: state.scope_label(cur, t))
n = len(state.filtered(cur, scope))
st.caption(f"{state.scope_label(cur, scope)} · {n} 个村 · 规则 {cur.rules.version} · 坐标输出为 WGS84")
# Download names carry the scope (the township, the county, or a scoped user's townships) and the date.
everything = scope_name(cur.audited) if cur.scope is None else "、".join(cur.scope)
place = scope if scope != state.ALL else everything
cols = st.columns(len(state.EXPORT_FORMATS))
for col, (fmt, (label, mime)) in zip(cols, state.EXPORT_FORMATS.items(), strict=True):
    col.download_button(f"下载 {label}", data=state.export_bytes(cur.key, scope, fmt, cur),
                        file_name=download_name(place, "面积核查", fmt),
                        mime=mime, key=f"download_{fmt}", on_click="ignore", width="stretch")
st.caption("XLSX 含村级明细、乡镇汇总、县级汇总和说明四张表；CSV 为 UTF-8 带 BOM，可直接用 Excel 打开；"
           "GeoPackage 为 WGS84 点图层，可在 GIS 软件中打开。")

if user.can("export"):
    from audit.records.accounts import people_names
    from audit.records.ledger import ledger_from_store, ledger_to_xlsx

    st.subheader("挂牌台账")
    st.caption("每村一行：最近一次牌子核查的结论、未整改问题和整改期限；文件中记录导出人和导出时间。")
    if st.button("生成挂牌台账", key="ledger_make"):
        try:
            with state.opened_store() as store, tempfile.TemporaryDirectory(prefix="village-audit-ledger-") as tmp:
                ledger = ledger_from_store(store, cur.audited, user=user)
                names = people_names(store, ledger["inspector"].dropna(), user=user)
                st.session_state[LEDGER] = ledger_to_xlsx(ledger, Path(tmp) / "ledger.xlsx", user=user,
                                                          names=names).read_bytes()
        except AuditError as exc:
            state.show_error("挂牌台账无法生成", exc)
    if st.session_state.get(LEDGER):
        st.download_button("下载挂牌台账（XLSX）", st.session_state[LEDGER],
                           file_name=download_name(everything, "挂牌台账", "xlsx"),
                           mime=state.EXPORT_FORMATS["xlsx"][1], key="download_ledger", on_click="ignore")
