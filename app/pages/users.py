"""用户管理 (县级管理员): the accounts, adding one (role and townships from the registry), disabling and enabling,
changing a role, resetting a password, and the sign-in log. The accounts library does every check
(``by=`` the signed-in administrator) and its messages are shown as they are."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import state
from audit.errors import AuditError
from audit.labels import EMPTY, SIGN_IN_REASON_ZH, TIME_NOTE, TIMEZONE, label, yes_no
from audit.records.access import ROLE_ZH, ROLES
from audit.records.accounts import add_user, disable_user, enable_user, set_password, set_role, sign_in_log_table, users_table

REASON_ZH = SIGN_IN_REASON_ZH
HEADERS = {"username": "用户名", "display_name": "显示名称", "role_zh": "角色", "townships": "负责乡镇",
           "disabled": "已停用", "failed_attempts": "连续失败次数", "locked_until": "锁定至", "last_sign_in_at": "最近登录",
           "created_at": "创建时间"}  # times in Beijing time (the caption says so)
BEIJING = TIMEZONE

st.title("用户管理")
admin = state.user()
try:  # the navigation offers this page to administrators only; refuse anyone else who reaches it
    admin.require("manage_users", what="用户管理页")
except AuditError as exc:
    state.show_error("无权访问", exc)
    st.stop()
cur = state.current()
townships = sorted(set(cur.townships) | set((cur.county if cur.county is not None else cur.audited)["township"]
                                            .dropna().astype(str)))


def _done(message: str, *, clear: tuple[str, ...] = ()) -> None:
    """Say it worked at the next run, forgetting the ``clear`` fields (a password is not left filled in)."""
    st.session_state["users_notice"] = message
    for key in clear:
        st.session_state.pop(key, None)
    st.rerun()


def _local(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return df.assign(**{c: df[c].dt.tz_convert(BEIJING).dt.strftime("%Y-%m-%d %H:%M").where(df[c].notna(), "")
                        for c in columns})


try:
    with state.opened_store() as store:
        accounts = users_table(store, by=admin)
        log = sign_in_log_table(store, by=admin)
except AuditError as exc:
    state.show_error("账户库无法打开", exc)
    st.stop()
notice = st.session_state.pop("users_notice", None)
if notice:
    st.success(notice)

st.subheader(f"用户（{len(accounts)} 个）")
st.caption(f"时间为{TIME_NOTE}。")
table = _local(accounts, ["locked_until", "last_sign_in_at", "created_at"])
table["townships"] = table["townships"].map(lambda t: "、".join(t) or "全县")
table["disabled"] = table["disabled"].map(yes_no)
st.dataframe(table[list(HEADERS)].rename(columns=HEADERS), hide_index=True, placeholder=EMPTY, key="users_table")


def _apply(what: str, action, *, clear: tuple[str, ...] = ()) -> None:
    """Run one account change; the library's refusal or error becomes st.error, success a notice (and the
    ``clear`` fields emptied)."""
    try:
        with state.opened_store() as store:
            action(store)
    except AuditError as exc:
        state.show_error(f"{what}未完成", exc)
    else:
        _done(f"{what}：已完成。", clear=clear)


st.subheader("添加用户")
with st.form("user_add"):
    c1, c2 = st.columns(2)
    username = c1.text_input("用户名（登录用，字母、数字、汉字或 . _ - @）", key="user_add_name")
    display = c2.text_input("显示名称（如姓名，可不填）", key="user_add_display")
    role = c1.selectbox("角色", ROLES, format_func=ROLE_ZH.get, key="user_add_role")
    places = c2.multiselect("负责乡镇（乡镇检查员必选；规划人员和县级管理员覆盖全县，不选）", townships,
                            key="user_add_townships", placeholder="请选择")
    password = c1.text_input("初始密码", type="password", key="user_add_password")
    again = c2.text_input("再次输入密码", type="password", key="user_add_password2")
    if st.form_submit_button("添加", type="primary"):
        if password != again:
            st.error("添加用户未完成：两次输入的密码不一致")
        else:
            _apply(f"添加用户「{username.strip()}」", lambda s: add_user(
                s, username, password, role=role, townships=places, display_name=display or None, by=admin),
                   clear=("user_add_name", "user_add_display", "user_add_townships", "user_add_password",
                          "user_add_password2"))

st.subheader("管理已有用户")
names = list(accounts["username"])
chosen = st.selectbox("选择用户", names, key="user_pick", index=None, placeholder="选择一个用户")
if chosen:
    row = accounts.set_index("username").loc[chosen]
    st.caption(f"{row['display_name']} · {row['role_zh']} · {'、'.join(row['townships']) or '全县'} · "
               f"{'已停用' if row['disabled'] else '启用中'}")
    if row["disabled"] or row["failed_attempts"] or pd.notna(row["locked_until"]):
        if st.button("启用（并解除锁定）", key="user_enable"):
            _apply(f"启用用户「{chosen}」", lambda s: enable_user(s, chosen, by=admin))
    if not row["disabled"] and st.button("停用", key="user_disable"):
        _apply(f"停用用户「{chosen}」", lambda s: disable_user(s, chosen, by=admin))
    c1, c2 = st.columns(2)
    with c1.form("user_role"):
        new_role = st.selectbox("新角色", ROLES, index=ROLES.index(row["role"]), format_func=ROLE_ZH.get,
                                key="user_role_role")
        new_places = st.multiselect("负责乡镇（仅乡镇检查员）", townships,
                                    default=[t for t in row["townships"] if t in townships], key="user_role_townships",
                                    placeholder="请选择")
        if st.form_submit_button("修改角色"):
            _apply(f"修改用户「{chosen}」的角色",
                   lambda s: set_role(s, chosen, new_role, townships=new_places, by=admin))
    with c2.form("user_password", clear_on_submit=True):
        new_password = st.text_input("新密码", type="password", key="user_password_new")
        if st.form_submit_button("重置密码"):
            _apply(f"重置用户「{chosen}」的密码", lambda s: set_password(s, chosen, new_password, by=admin))

st.subheader("登录记录")
log = _local(log, ["at"]).iloc[::-1]
log = log.assign(username=log["username"].fillna("（不存在的用户名）"), success=log["success"].map({True: "是", False: "否"}),
                 reason=log["reason"].map(lambda r: label(REASON_ZH, r)))
st.caption(f"最近 {min(len(log), 500)} 条，共 {len(log)} 条（时间为{TIME_NOTE}）")
st.dataframe(log.head(500).rename(columns={"username": "用户名", "at": "时间", "success": "成功", "reason": "结果"}),
             hide_index=True, placeholder=EMPTY, key="users_log")
