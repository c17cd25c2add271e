"""Signing in and out: the sign-in page, the session kept in ``st.session_state`` and in a cookie, and the
signed-in user.

The accounts library (:mod:`audit.records.accounts`) checks the password and the lock-out; the sessions library
(:mod:`audit.records.sessions`) keeps each sign-in on the server, found by a random token. The token lives in the
session state of the browser tab and in a cookie, so that a reload, a reconnect or a phone's locked screen finds
the sign-in again (:func:`signed_in_user`); every run resumes it on the server, which refuses it at once when it
was signed out, expired, unused for too long, or its account was disabled or changed.

Streamlit cannot set a cookie from the server (no access to the HTTP response): the cookie is written by a
script in the page (``st.html``), so it cannot be HttpOnly. It is ``SameSite=Strict`` (``Secure`` over HTTPS),
and what it holds is only a token that the server can revoke and that expires when unused
(:func:`audit.settings.session_idle`); the README states the trade-off. Streamlit reads it back from the
connection's first request (``st.context.cookies``).
"""

from __future__ import annotations

import json

import streamlit as st

from app import state
from audit import settings
from audit.errors import AccessError, AuditError
from audit.records import demo_accounts
from audit.records.access import ROLE_ZH, User
from audit.records.accounts import Session, authenticate
from audit.records.sessions import end_session as end_server_session
from audit.records.sessions import resume_session, start_session

SESSION = "va_session"
COOKIE = "va_session"
_NOTICE = "va_sign_in_notice"  # why the last session ended, shown once on the sign-in page
_COOKIE_TODO = "va_cookie_todo"  # the cookie to write in the page at this run: a token, or "" to remove it
_ENDED = "va_ended_tokens"  # tokens this tab ended: the cookie read at its first request may still name them


def _cookie_token() -> str | None:
    """The session token in the cookie the browser sent when this tab connected (None: none, or one ended)."""
    try:
        token = st.context.cookies.get(COOKIE)
    except Exception:  # no browser connection (AppTest, bare mode): no cookie
        return None
    if not isinstance(token, str) or not token:  # AppTest's context answers with a stand-in object
        return None
    return token if token not in st.session_state.get(_ENDED, ()) else None


def signed_in_user() -> User | None:
    """The signed-in user as stored now, or None (no session, or it ended: the reason is kept for the page).
    A tab without a session in its state (a reload, a new connection) resumes the one its cookie names."""
    session = st.session_state.get(SESSION)
    token = session.token if isinstance(session, Session) else _cookie_token()
    if token is None:
        return None
    try:
        with state.opened_store() as store:
            resumed = resume_session(store, token)
    except AccessError as exc:
        end_session(notice=str(exc) if isinstance(session, Session) else f"请重新登录：{exc}", token=token)
        return None
    st.session_state[SESSION] = resumed
    return resumed.user


def end_session(*, notice: str | None = None, token: str | None = None) -> None:
    """Forget everything of this browser session (uploads, results, filters): the next user starts afresh; the
    cookie of ``token`` is removed at the next run."""
    ended = set(st.session_state.get(_ENDED, ()))
    for key in list(st.session_state):
        del st.session_state[key]
    if notice:
        st.session_state[_NOTICE] = notice
    if token:
        st.session_state[_ENDED] = ended | {token}
        st.session_state[_COOKIE_TODO] = ""


def write_cookie() -> None:
    """Write (after a sign-in) or remove (after it ended) the session cookie in the page, once."""
    todo = st.session_state.pop(_COOKIE_TODO, None)
    if todo is None:
        return
    max_age = int(settings.session_ttl().total_seconds()) if todo else 0
    st.html(f"""<script>
document.cookie = {json.dumps(COOKIE)} + "=" + {json.dumps(todo)} + "; Path=/; Max-Age={max_age}; SameSite=Strict"
  + (window.location.protocol === "https:" ? "; Secure" : "");
</script>""", unsafe_allow_javascript=True, width="content")


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
            with state.opened_store() as store:
                session = start_session(store, user)
            st.session_state[SESSION] = session
            st.session_state[_COOKIE_TODO] = session.token  # kept by the browser: a reload stays signed in
            st.rerun()
    hours = int(settings.session_ttl().total_seconds() // 3600)
    idle = int(settings.session_idle().total_seconds() // 60)
    st.caption(f"登录后 {hours} 小时内有效（刷新页面不必重新登录；{idle} 分钟未操作需重新登录）；"
               f"连续 {settings.lockout_attempts()} 次密码错误将锁定账户 "
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
            session = st.session_state.get(SESSION)
            token = session.token if isinstance(session, Session) else None
            if token:
                with state.opened_store() as store:
                    end_server_session(store, token)
            end_session(notice="已退出登录。", token=token)
            st.rerun()
