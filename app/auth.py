"""Signing in and out: the sign-in page, the session kept in ``st.session_state`` and the signed-in user.

The accounts library (:mod:`audit.records.accounts`) does the work: :func:`authenticate` checks the password and the
lock-out, :func:`user_from_session` reloads the account on every run, so that an expired session, a disabled
account or a changed password sends the user back here at once.
"""

from __future__ import annotations

import streamlit as st

from app import state
from audit import settings
from audit.errors import AccessError, AuditError
from audit.records import demo_accounts
from audit.records.access import ROLE_ZH, User
from audit.records.accounts import Session, authenticate, new_session, user_from_session

SESSION = "va_session"
_NOTICE = "va_sign_in_notice"  # why the last session ended, shown once on the sign-in page


def signed_in_user() -> User | None:
    """The signed-in user as stored now, or None (no session, or it ended: the reason is kept for the page)."""
    session = st.session_state.get(SESSION)
    if not isinstance(session, Session):
        return None
    try:
        with state.opened_store() as store:
            return user_from_session(store, session)
    except AccessError as exc:
        end_session(notice=str(exc))
        return None


def end_session(*, notice: str | None = None) -> None:
    """Forget everything of this browser session (uploads, results, filters): the next user starts afresh."""
    for key in list(st.session_state):
        del st.session_state[key]
    if notice:
        st.session_state[_NOTICE] = notice


def sign_in_page() -> None:
    """The only page shown without a valid session: the sign-in form (and the demo accounts in demo mode)."""
    st.title("村级阵地核查 · 登录")
    notice = st.session_state.pop(_NOTICE, None)
    if notice:
        st.warning(notice, icon=":material/logout:")
    try:
        with state.opened_store() as store:
            demo = demo_accounts.ensure_demo_accounts(store)
    except AuditError as exc:
        state.show_error("账户库无法打开", exc)
        st.stop()
    with st.form("sign_in"):
        username = st.text_input("用户名", key="sign_in_username")
        password = st.text_input("密码", type="password", key="sign_in_password")
        submitted = st.form_submit_button("登录", type="primary")
    if submitted:
        try:
            with state.opened_store() as store:
                user = authenticate(store, username, password)
        except AuditError as exc:
            st.error(str(exc), icon=":material/lock:")
        else:
            end_session()
            st.session_state[SESSION] = new_session(user)
            st.rerun()
    hours = int(settings.session_ttl().total_seconds() // 3600)
    st.caption(f"登录后 {hours} 小时内有效；连续 {settings.lockout_attempts()} 次密码错误将锁定账户 "
               f"{int(settings.lockout_period().total_seconds() // 60)} 分钟。没有账户请联系县级管理员。")
    if demo:
        with st.container(border=True, key="demo_accounts"):
            st.markdown("**演示模式**：以下为演示账户，数据为程序生成的示例县，仅供试用（请勿用于实际工作）。")
            st.table({"用户名": [a.username for a in demo], "角色": [ROLE_ZH[a.role] for a in demo],
                      "负责乡镇": ["、".join(a.townships) or "全县" for a in demo],
                      "密码": [demo_accounts.DEMO_PASSWORD] * len(demo)})


def sign_out_button(user: User) -> None:
    """The signed-in user and the sign-out button, in the sidebar."""
    with st.sidebar:
        st.markdown(f"**当前用户**：{user.full_name}")
        places = "、".join(user.townships) if not user.county_wide else "全县"
        st.caption(f"{ROLE_ZH[user.role]} · {places}")
        if st.button("退出登录", key="sign_out", icon=":material/logout:"):
            end_session(notice="已退出登录。")
            st.rerun()
