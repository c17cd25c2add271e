"""村级阵地核查 — the web app's entry point: page set-up, the shared sidebar and the navigation.
The pages live in ``app/pages``; they only wire widgets to the ``audit`` library and render what it returns."""

from __future__ import annotations

import streamlit as st

from app import state
from app.sidebar import sidebar

st.set_page_config(page_title="村级阵地核查", page_icon=":material/home:", layout="wide")

PAGES = [
    st.Page("app/pages/overview.py", title="总览", icon=":material/dashboard:", default=True),
    st.Page("app/pages/facility_map.py", title="设施地图", icon=":material/map:", url_path="map"),
    st.Page("app/pages/area.py", title="面积核查", icon=":material/square_foot:", url_path="area"),
    st.Page("app/pages/inspection.py", title="牌子核查", icon=":material/photo_camera:", url_path="inspection"),
    st.Page("app/pages/records.py", title="核查记录", icon=":material/history:", url_path="records"),
    st.Page("app/pages/export.py", title="导出", icon=":material/download:", url_path="export"),
    st.Page("app/pages/data.py", title="数据与规则", icon=":material/settings:", url_path="data"),
]

page = st.navigation(PAGES)
sidebar(state.current())
page.run()
