"""Sign-ins that survive a reload: a server-side session per sign-in, found by the token the browser keeps in a
cookie, and revoked on sign-out, on expiry, and when the account changes under it.

The browser holds only a random token (:func:`start_session`); the store keeps its SHA-256, who signed in, their
role and townships at that moment, and when the session was issued, last used and expires. :func:`resume_session`
is called on every run of the app with the token: it refuses — and revokes — a session that was signed out,
expired (:func:`audit.settings.session_ttl` after the sign-in, or :func:`audit.settings.session_idle` without
use), whose account was disabled or removed, whose password was changed after the sign-in, or whose role or
townships were changed since. What the app can set as a cookie, and why it is not HttpOnly, is in the README.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets

import sqlalchemy as sa

from audit import settings
from audit.errors import AccessError, StoreError
from audit.records.access import User, check_user, is_system
from audit.records.accounts import Session, _user_of
from audit.records.db import Store, aware, sessions, users, utc, write_transaction

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
# A session's last use is written at most this often (a run of the app reads it; a write per click is not needed).
TOUCH_EVERY = dt.timedelta(minutes=1)


def _digest(token: object) -> str:
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise AccessError("登录凭据无效，请重新登录 (malformed session token)")
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def start_session(store: Store, user: User, *, now: dt.datetime | None = None) -> Session:
    """A new server-side session for ``user`` (just authenticated): its ``token`` goes into the browser's cookie,
    only its SHA-256 into the store. Sessions that have ended are purged on the way."""
    check_user(user)
    if is_system(user):
        raise StoreError("the server's command line does not sign in to the app")
    when = utc(now)
    token = secrets.token_urlsafe(32)
    session = Session(user=user, issued_at=aware(when), expires_at=aware(when + settings.session_ttl()), token=token)
    with write_transaction(store) as conn:
        conn.execute(sessions.delete().where(sa.or_(sessions.c.expires_at < when,
                                                    sessions.c.revoked_at < when - settings.session_ttl())))
        conn.execute(sessions.insert().values(
            token_sha256=_digest(token), username=user.username, role=user.role,
            townships=_scope(user.townships, user.counties), issued_at=when, last_seen_at=when,
            expires_at=when + settings.session_ttl()))
    return session


def _scope(townships, counties) -> str:
    """The account's scope as the session row keeps it (column ``townships``): its townships, and its counties
    when it is limited to some (a change of either ends the session)."""
    scope = {"townships": sorted(townships), "counties": sorted(counties)} if counties else sorted(townships)
    return json.dumps(scope, ensure_ascii=False)


def _scope_of_row(text: str) -> str:
    """A session row's scope in :func:`_scope`'s form (rows written before counties were kept hold the list)."""
    value = json.loads(text)
    if isinstance(value, dict):
        return _scope(value.get("townships", []), value.get("counties", []))
    return _scope(value, [])


def _revoke(conn: sa.Connection, digest: str, when: dt.datetime, reason: str) -> None:
    conn.execute(sessions.update().where(sessions.c.token_sha256 == digest, sessions.c.revoked_at.is_(None))
                 .values(revoked_at=when, revoked_reason=reason))


def resume_session(store: Store, token: str, *, now: dt.datetime | None = None) -> Session:
    """The session of ``token`` with its user as the account is stored now, its last use recorded.

    Raises
    ------
    AccessError
        No such session, or it ended: signed out, expired, unused for too long, the account disabled or removed,
        its password changed after the sign-in, or its role, townships or counties changed since (the session is revoked
        with the reason, and the message says it).
    """
    digest = _digest(token)
    when = utc(now)
    with write_transaction(store) as conn:
        row = conn.execute(sa.select(sessions).where(sessions.c.token_sha256 == digest)).first()
        if row is None:
            raise AccessError("登录已失效，请重新登录 (no such session)")
        if row.revoked_at is not None:
            raise AccessError("已退出登录或登录已失效，请重新登录 (session ended)")
        name = row.username
        account = conn.execute(sa.select(users).where(users.c.username == name)).first()
        refusal = None
        if when >= row.expires_at:
            refusal = ("expired", f"用户「{name}」的登录已过期，请重新登录 (session expired)")
        elif when - row.last_seen_at > settings.session_idle():
            minutes = int(settings.session_idle().total_seconds() // 60)
            refusal = ("idle", f"用户「{name}」已超过 {minutes} 分钟未操作，请重新登录 (session idle)")
        elif account is None or account.disabled:
            refusal = ("disabled", f"账户「{name}」已停用或不存在，请联系县级管理员")
        elif row.issued_at < account.password_changed_at:
            refusal = ("password", f"用户「{name}」的密码已修改，请重新登录 (password changed)")
        elif (account.role, _scope(json.loads(account.townships), json.loads(account.counties))) \
                != (row.role, _scope_of_row(row.townships)):
            refusal = ("role", f"用户「{name}」的角色或负责范围（乡镇、县）已变更，请重新登录 (role changed)")
        if refusal is not None:
            _revoke(conn, digest, when, refusal[0])
        elif when - row.last_seen_at >= TOUCH_EVERY:
            conn.execute(sessions.update().where(sessions.c.token_sha256 == digest).values(last_seen_at=when))
    if refusal is not None:  # the revocation is committed before the refusal is raised
        raise AccessError(refusal[1])
    return Session(user=_user_of(account), issued_at=aware(row.issued_at), expires_at=aware(row.expires_at),
                   token=token)


def end_session(store: Store, token: str, *, now: dt.datetime | None = None) -> None:
    """Sign out: the session of ``token`` is revoked (nothing happens for an unknown or malformed token)."""
    try:
        digest = _digest(token)
    except AccessError:
        return
    with write_transaction(store) as conn:
        _revoke(conn, digest, utc(now), "signed_out")


def active_sessions(store: Store, username: str, *, now: dt.datetime | None = None) -> int:
    """How many sessions of ``username`` are neither revoked nor expired (for the administrator and the tests)."""
    when = utc(now)
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(sessions).where(
            sessions.c.username == username, sessions.c.revoked_at.is_(None), sessions.c.expires_at > when)).scalar()
