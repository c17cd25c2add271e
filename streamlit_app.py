"""村级阵地核查 — the web app's entry point: page set-up, the sign-in, the shared sidebar and the navigation.
The pages live in ``app/pages``; they only wire widgets to the ``audit`` library and render what it returns.

Nothing but the sign-in page is reachable without a valid session; the pages offered depend on the role
(:mod:`audit.records.accounts`), and the library refuses what the role does not allow even where a page forgets.
"""

from __future__ import annotations

import streamlit as st

from app import auth, state, views
from app.sidebar import sidebar

# Streamlit's menu shows only what is set here (client.toolbarMode = "minimal"): an 关于 text, no English links.
st.set_page_config(page_title="村级阵地核查", page_icon=":material/home:", layout="wide",
                   menu_items={"Get help": None, "Report a bug": None,
                               "About": "村级阵地核查：党群服务中心面积与挂牌核查。问题请联系县级管理员。"})
views.chinese_widgets()

# (script, title, icon, URL path, the action a user needs to see the page)
PAGES = [
    ("app/pages/overview.py", "总览", ":material/dashboard:", "overview", "read_area"),
    ("app/pages/facility_map.py", "设施地图", ":material/map:", "map", "read_area"),
    ("app/pages/area.py", "面积核查", ":material/square_foot:", "area", "read_area"),
    ("app/pages/inspection.py", "牌子核查", ":material/photo_camera:", "inspection", "inspect"),
    ("app/pages/records.py", "核查记录", ":material/history:", "records", "read_inspections"),
    ("app/pages/export.py", "导出", ":material/download:", "export", "read_area"),
    ("app/pages/data.py", "数据与规则", ":material/settings:", "data", "manage_rules"),
    ("app/pages/users.py", "用户管理", ":material/group:", "users", "manage_users"),
]

user = auth.signed_in_user()  # resumed on the server at every run: expiry, disabling and role changes act at once
state.set_user(user)
auth.write_cookie()
if user is None:
    # Every URL shows the sign-in form, so that a link (…/inspection?village=…) opens, after signing in, the
    # page it names instead of a "page not found" dialog; no page's own script runs.
    st.navigation([st.Page(auth.sign_in_page, title="登录", icon=":material/login:", url_path=url, default=i == 0)
                   for i, (_, _, _, url, _) in enumerate(PAGES)], position="hidden").run()
    st.stop()

page = st.navigation([st.Page(script, title=title, icon=icon, url_path=url, default=i == 0)
                      for i, (script, title, icon, url, action) in enumerate(PAGES) if user.can(action)])
auth.sign_out_button(user)
sidebar(state.current())
page.run()
