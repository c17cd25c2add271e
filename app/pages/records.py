"""核查记录: past plaque inspections, once an inspection store exists."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from audit import settings

st.title("核查记录")
store = settings.data_dir() / "inspections"
records = sorted((p for p in store.iterdir() if not p.name.startswith(".")), reverse=True) if store.is_dir() else []
if not records:
    st.info("尚无核查记录。在「牌子核查」页完成的核查将保存在这里。")
    st.caption(f"记录目录：{store}")
else:
    st.caption(f"记录目录：{store}")
    st.dataframe({"记录": [p.name for p in records],
                  "时间": [dt.datetime.fromtimestamp(p.stat().st_mtime).strftime("%Y-%m-%d %H:%M") for p in records]},
                 hide_index=True)
