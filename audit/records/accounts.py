"""Accounts: who may sign in (users, passwords, lock-out, sessions). Roles and township scoping are
:mod:`audit.records.access`.

Why bcrypt and our own user table
---------------------------------
* **Our table, in the store's database** (migration ``0002``): accounts live next to the inspections they
  are attributed to, in the same transactions, backups and PostgreSQL switch; the lock-out counter and the
  sign-in log are plain rows that two app processes update safely (``BEGIN IMMEDIATE`` / row locks), and the
  library, the CLI and the app share one check instead of each UI re-implementing it.
* **Not streamlit-authenticator**: it keeps the credentials in a YAML file that the running app rewrites
  (failed attempts, registrations, password resets). Two app processes, or the app and an administrator
  editing the file, overwrite each other's changes; the file sits beside the app code with the hashes in it;
  and it lives in the UI layer, so the CLI and the library could not enforce the same roles (CONVENTIONS §1).
* **Not Streamlit's OIDC ``st.login`` (for now)**: it needs an OpenID Connect identity provider (Google,
  Microsoft Entra, Okta, Keycloak …) reachable from the server. A county government's intranet usually has
  none, and often no internet access to a public one. Should a county have one, the app can switch to
  ``st.login`` and map ``st.user.email`` to a row of this table with :func:`user_from_store`; roles and
  township scoping stay here.
* **bcrypt** (the maintained ``bcrypt`` package, ``$2b$`` hashes, per-password salt, tunable cost
  :func:`audit.settings.bcrypt_rounds`): slow on purpose against offline guessing if the database file is
  copied. bcrypt reads at most 72 bytes, and bcrypt 5 refuses longer input instead of truncating it silently,
  so longer passwords are refused when they are set (about 24 Chinese characters). Clear passwords are never
  stored or logged; the sign-in log keeps the name only of an existing account, because a name that matches
  no account is often a password typed into the wrong box.

Sessions (:func:`new_session`) are values the app keeps in its session state; on each run the app calls
:func:`user_from_session`, which reloads the account so that disabling it, changing its role or its password
takes effect at once.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

import bcrypt
import pandas as pd
import sqlalchemy as sa

from audit import settings
from audit.errors import AccessError, AuditError, StoreError
from audit.records.access import (
    NO_COUNTY,
    NO_TOWNSHIP,
    ROLE_ZH,
    ROLES,
    TOWNSHIP_SCOPED_ROLES,
    Role,
    User,
    check_user,
    is_system,
)
from audit.records.db import Store, aware, sign_in_log, users, utc, write_transaction

SIGN_IN_REASONS = ("ok", "wrong_password", "lockout", "locked", "disabled", "unknown_user")
_USERNAME = re.compile(r"^[\w.@-]{1,64}$")
_BAD_SIGN_IN = "用户名或密码错误 (wrong user name or password)"


# ---------------------------------------------------------------------------------------------- checks
def _username(username: object) -> str:
    if not isinstance(username, str) or not _USERNAME.match(username.strip()):
        raise AuditError(f"用户名应为 1–64 个字母、数字、汉字或 . _ - @，不含空格，got {username!r} instead")
    return username.strip()


def _role(role: object) -> str:
    if role not in ROLES:
        raise AuditError(f"'role' should be one of {list(ROLES)} ({'、'.join(ROLE_ZH.values())}), got '{role}' instead")
    return str(role)


def _townships(role: str, townships: Iterable[str] | str, username: str) -> list[str]:
    townships = [townships] if isinstance(townships, str) else list(townships)
    if any(not isinstance(t, str) for t in townships):
        raise AuditError(f"用户「{username}」：乡镇名称应为文字，got {list(townships)!r}")
    names = sorted({t.strip() for t in townships if t.strip()})
    if NO_TOWNSHIP in names:
        raise AuditError(f"用户「{username}」：「{NO_TOWNSHIP}」不是乡镇名称")
    if role in TOWNSHIP_SCOPED_ROLES and not names:
        raise AuditError(f"用户「{username}」：{ROLE_ZH[role]}至少要负责一个乡镇（--township 城关镇）")
    if role not in TOWNSHIP_SCOPED_ROLES and names:
        raise AuditError(f"用户「{username}」：{ROLE_ZH[role]}的权限覆盖全县，不分乡镇，got {names}")
    return names


def _counties(counties: Iterable[str] | str, username: str) -> list[str]:
    """The counties an account is limited to ([]: the whole registry, the city)."""
    counties = [counties] if isinstance(counties, str) else list(counties)
    if any(not isinstance(c, str) for c in counties):
        raise AuditError(f"用户「{username}」：县（市、区）名称应为文字，got {list(counties)!r}")
    names = sorted({c.strip() for c in counties if c.strip()})
    if NO_COUNTY in names:
        raise AuditError(f"用户「{username}」：「{NO_COUNTY}」不是县（市、区）名称")
    return names


def _password(password: object, username: str) -> bytes:
    """The password as the bytes bcrypt hashes, after the policy checks (the message never repeats it)."""
    if not isinstance(password, str):
        raise AuditError(f"用户「{username}」：密码应为文字 (str)，got {type(password).__name__}")
    shortest = settings.password_min_length()
    if len(password) < shortest:
        raise AuditError(f"用户「{username}」：密码至少 {shortest} 个字符，got {len(password)}")
    raw = password.encode("utf-8")
    if len(raw) > 72:
        raise AuditError(f"用户「{username}」：密码过长（UTF-8 {len(raw)} 字节，bcrypt 最多 72 字节，约 24 个汉字）")
    if "\x00" in password:
        raise AuditError(f"用户「{username}」：密码不能含 NUL 字符")
    if password.strip().casefold() == username.casefold():
        raise AuditError(f"用户「{username}」：密码不能与用户名相同")
    return raw


def _hash(raw: bytes) -> str:
    return bcrypt.hashpw(raw, bcrypt.gensalt(rounds=settings.bcrypt_rounds())).decode("ascii")


@functools.lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> bytes:
    """A hash to check unknown names against, so that they take as long as a wrong password."""
    return bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(rounds=rounds))


def _cost(password_hash: str) -> int:
    try:
        return int(password_hash.split("$")[2])
    except (IndexError, ValueError):
        return 0


def _may_manage(conn: sa.Connection | None, by: User, what: str, *counties: Iterable[str]) -> User:
    """Refuse unless ``by`` may manage users: as the caller holds it (``conn`` None: a quick check before any
    work), else as its account is stored now, in the caller's transaction (:func:`acting_user`). An administrator
    limited to counties manages only accounts limited to some of its counties: each of ``counties`` (the
    account's, before and after the change) must be a non-empty subset of its own."""
    actor = check_user(by) if conn is None else acting_user(conn, by)
    actor.require("manage_users", what=what)
    for places in counties:
        places = sorted(places)
        if actor.counties and (not places or not set(places) <= set(actor.counties)):
            where = "、".join(places) or "全市"
            raise AccessError(f"用户{actor.label}只负责 {'、'.join(actor.counties)}，无权管理{where}的账户（{what}）")
    return actor


def _user_of(row: sa.Row) -> User:
    return User(username=row.username, role=row.role, townships=tuple(json.loads(row.townships)),
                display_name=row.display_name, disabled=bool(row.disabled), counties=tuple(json.loads(row.counties)))


def _row(conn: sa.Connection, username: str, *, lock: bool = False) -> sa.Row:
    query = sa.select(users).where(users.c.username == username)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise StoreError(f"没有用户「{username}」 (no user '{username}')")
    return row


def acting_user(conn: sa.Connection, user: User) -> User:
    """The identity acting, as the users table holds it now, read in the caller's transaction.

    :data:`audit.records.access.SYSTEM` (the server's command line) is returned as it is. A :class:`User` is
    re-read by user name, so that an account disabled, narrowed to other townships or given another role since
    the ``User`` was obtained acts as it is now; the store's checks then run on what this returns.

    Raises
    ------
    StoreError
        ``user`` is not a User (``None`` included).
    AccessError
        No account of that name, or the account is disabled.
    """
    check_user(user)
    if is_system(user):
        return user
    row = conn.execute(sa.select(users).where(users.c.username == user.username)).first()
    if row is None:
        raise AccessError(f"用户{user.label}没有账户，不能操作 (no account '{user.username}')")
    if row.disabled:
        raise AccessError(f"用户{user.label}的账户已停用，不能再操作，请联系县级管理员 (account disabled)")
    return _user_of(row)


def _check_not_last_admin(conn: sa.Connection, username: str, doing: str) -> None:
    others = conn.execute(sa.select(sa.func.count()).select_from(users).where(
        users.c.role == "admin", sa.not_(users.c.disabled), users.c.username != username)).scalar()
    if not others:
        raise AuditError(f"不能{doing}用户「{username}」：它是最后一个启用的县级管理员，请先添加另一个管理员")


# ------------------------------------------------------------------------------------------ management
def add_user(store: Store, username: str, password: str, *, role: Role, townships: Iterable[str] = (),
             counties: Iterable[str] = (), display_name: str | None = None, by: User,
             now: dt.datetime | None = None) -> User:
    """Create an account with a bcrypt hash of ``password``.

    ``townships``: at least one for ``inspector``, none for the county-wide roles. ``counties``: the counties of
    the registry the account is limited to (none: the whole registry). ``by``: the signed-in user
    doing it (needs ``manage_users``), or :data:`audit.records.access.SYSTEM` on the server's command line,
    which is how the first administrator is made.

    Raises
    ------
    AuditError
        A bad user name, role, township list or password (too short, over 72 UTF-8 bytes, equal to the name).
    StoreError
        The user name is taken.
    AccessError
        ``by`` may not manage users.
    """
    name = _username(username)
    what = f"添加用户「{name}」"
    counties_ = _counties(counties, name)
    _may_manage(None, by, what, counties_)
    role_ = _role(role)
    places = _townships(role_, townships, name)
    shown = (display_name or name).strip()
    if len(shown) > 200:
        raise AuditError(f"用户「{name}」：显示名称最多 200 个字符，got {len(shown)}")
    password_hash = _hash(_password(password, name))
    when = utc(now)
    with write_transaction(store) as conn:
        _may_manage(conn, by, what, counties_)
        if conn.execute(sa.select(users.c.username).where(users.c.username == name)).first() is not None:
            raise StoreError(f"用户名「{name}」已存在 (user '{name}' exists)")
        conn.execute(users.insert().values(
            username=name, display_name=shown, role=role_, townships=json.dumps(places, ensure_ascii=False),
            counties=json.dumps(counties_, ensure_ascii=False), password_hash=password_hash,
            disabled=False, failed_attempts=0, locked_until=None, last_sign_in_at=None,
            password_changed_at=when, created_at=when, updated_at=when))
    return User(username=name, role=role_, townships=tuple(places), display_name=shown, counties=tuple(counties_))


def set_password(store: Store, username: str, password: str, *, by: User, now: dt.datetime | None = None) -> None:
    """Replace a password (an administrator, the user themself, or :data:`audit.records.access.SYSTEM` on the
    command line); clears a lock-out and ends the user's existing sessions (:func:`user_from_session` refuses
    sessions issued before)."""
    name = _username(username)
    what = f"修改用户「{name}」的密码"
    own = not is_system(check_user(by)) and by.username == name
    if not own:
        _may_manage(None, by, what)
    password_hash = _hash(_password(password, name))
    when = utc(now)
    with write_transaction(store) as conn:
        if own:
            acting_user(conn, by)  # the account itself, still enabled
            _row(conn, name, lock=True)
        else:
            _may_manage(conn, by, what, json.loads(_row(conn, name, lock=True).counties))
        conn.execute(users.update().where(users.c.username == name).values(
            password_hash=password_hash, password_changed_at=when, failed_attempts=0, locked_until=None, updated_at=when))


def set_role(store: Store, username: str, role: Role, *, townships: Iterable[str] = (), counties: Iterable[str] = (),
             by: User, now: dt.datetime | None = None) -> User:
    """Change a user's role, townships and counties (replaced, not added to)."""
    name = _username(username)
    what = f"修改用户「{name}」的角色"
    counties_ = _counties(counties, name)
    _may_manage(None, by, what, counties_)
    role_ = _role(role)
    places = _townships(role_, townships, name)
    with write_transaction(store) as conn:
        row = _row(conn, name, lock=True)
        _may_manage(conn, by, what, json.loads(row.counties), counties_)
        if row.role == "admin" and role_ != "admin" and not row.disabled:
            _check_not_last_admin(conn, name, "降级")
        conn.execute(users.update().where(users.c.username == name).values(
            role=role_, townships=json.dumps(places, ensure_ascii=False),
            counties=json.dumps(counties_, ensure_ascii=False), updated_at=utc(now)))
        return _user_of(_row(conn, name))


def disable_user(store: Store, username: str, *, by: User, now: dt.datetime | None = None) -> User:
    """Disable an account: it can no longer sign in, its open sessions stop working, and the store refuses any
    ``User`` of it obtained before (:func:`acting_user`). Rows it wrote keep its name. The last enabled
    administrator cannot be disabled."""
    name = _username(username)
    what = f"停用用户「{name}」"
    _may_manage(None, by, what)
    with write_transaction(store) as conn:
        row = _row(conn, name, lock=True)
        _may_manage(conn, by, what, json.loads(row.counties))
        if row.role == "admin" and not row.disabled:
            _check_not_last_admin(conn, name, "停用")
        conn.execute(users.update().where(users.c.username == name).values(disabled=True, updated_at=utc(now)))
        return _user_of(_row(conn, name))


def enable_user(store: Store, username: str, *, by: User, now: dt.datetime | None = None) -> User:
    """Re-enable an account and lift a lock-out."""
    name = _username(username)
    what = f"启用用户「{name}」"
    _may_manage(None, by, what)
    with write_transaction(store) as conn:
        _may_manage(conn, by, what, json.loads(_row(conn, name, lock=True).counties))
        conn.execute(users.update().where(users.c.username == name).values(
            disabled=False, failed_attempts=0, locked_until=None, updated_at=utc(now)))
        return _user_of(_row(conn, name))


def user_from_store(store: Store, username: str) -> User:
    """The account as stored now (raises :class:`StoreError` for an unknown name)."""
    with store.engine.connect() as conn:
        return _user_of(_row(conn, _username(username)))


def users_table(store: Store, *, by: User) -> pd.DataFrame:
    """All accounts (never their hashes): username, display_name, role, role_zh, townships (list), disabled,
    failed_attempts, locked_until, last_sign_in_at, created_at, updated_at (UTC), counties (list; [] the whole
    registry). ``by`` needs ``manage_users``; an administrator limited to counties sees the accounts of its
    counties only."""
    with store.engine.connect() as conn:
        actor = _may_manage(conn, by, "查看用户列表")
        rows = conn.execute(sa.select(users).order_by(users.c.role, users.c.username)).all()
    if actor.counties:
        rows = [r for r in rows if json.loads(r.counties) and set(json.loads(r.counties)) <= set(actor.counties)]
    columns = ["username", "display_name", "role", "role_zh", "townships", "disabled", "failed_attempts",
               "locked_until", "last_sign_in_at", "created_at", "updated_at", "counties"]
    df = pd.DataFrame([(r.username, r.display_name, r.role, ROLE_ZH[r.role], json.loads(r.townships), bool(r.disabled),
                        r.failed_attempts, r.locked_until, r.last_sign_in_at, r.created_at, r.updated_at,
                        json.loads(r.counties)) for r in rows],
                      columns=columns)
    for col in ("locked_until", "last_sign_in_at", "created_at", "updated_at"):
        df[col] = pd.to_datetime(df[col]).dt.tz_localize("UTC")
    return df


def people_names(store: Store, usernames: Iterable[str], *, user: User) -> dict[str, str]:
    """How each of ``usernames`` (an inspector, a reviewer) reads on a page: the account's display name and user
    name, ``城关检查员（insp）``; a name no account holds (the server's command line, a removed account) as it is.
    ``user``: the acting identity (any signed-in account; its account is re-read)."""
    wanted = sorted({u for u in usernames if isinstance(u, str) and u})
    with store.engine.connect() as conn:
        acting_user(conn, user)
        rows = conn.execute(sa.select(users).where(users.c.username.in_(wanted))).all() if wanted else []
    found = {r.username: _user_of(r).full_name for r in rows}
    return {u: found.get(u, u) for u in wanted}


# --------------------------------------------------------------------------------------------- sign-in
def authenticate(store: Store, username: str, password: str, *, now: dt.datetime | None = None) -> User:
    """Check a user name and password; log the attempt; return the :class:`User`.

    After :func:`audit.settings.lockout_attempts` consecutive wrong passwords the account is locked for
    :func:`audit.settings.lockout_period` (attempts while locked are refused without checking the
    password and do not extend the lock); a successful sign-in resets the count. A hash of a lower cost than
    the configured one is replaced on success.

    Raises
    ------
    AccessError
        Unknown name or wrong password (one message for both), a disabled account, a locked one.
    """
    if not isinstance(password, str):
        raise AuditError(f"密码应为文字 (str)，got {type(password).__name__}")
    name = username.strip() if isinstance(username, str) else ""
    when = utc(now)
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.username == name)).first() if name else None
    raw = password.encode("utf-8")
    if row is None:
        bcrypt.checkpw(raw[:72], _dummy_hash(settings.bcrypt_rounds()))
        _log(store, None, when, False, "unknown_user")
        raise AccessError(_BAD_SIGN_IN)
    if row.disabled:
        _log(store, name, when, False, "disabled")
        raise AccessError(f"账户「{name}」已停用，请联系县级管理员 (account disabled)")
    if row.locked_until is not None and when < row.locked_until:
        _log(store, name, when, False, "locked")
        raise AccessError(_locked_message(name, row.locked_until))
    ok = len(raw) <= 72 and bcrypt.checkpw(raw, row.password_hash.encode("ascii"))
    new_hash = _hash(raw) if ok and _cost(row.password_hash) < settings.bcrypt_rounds() else None

    with write_transaction(store) as conn:
        row = _row(conn, name, lock=True)  # state again, under the write lock: parallel attempts all count
        if row.disabled:
            reason, values = "disabled", {}
        elif row.locked_until is not None and when < row.locked_until:
            reason, values = "locked", {}
        elif ok:
            reason, values = "ok", {"failed_attempts": 0, "locked_until": None, "last_sign_in_at": when}
            if new_hash is not None:
                values["password_hash"] = new_hash
        elif row.failed_attempts + 1 >= settings.lockout_attempts():
            reason = "lockout"
            values = {"failed_attempts": 0, "locked_until": when + settings.lockout_period()}
        else:
            reason, values = "wrong_password", {"failed_attempts": row.failed_attempts + 1}
        if values:
            conn.execute(users.update().where(users.c.username == name).values(**values))
        conn.execute(sign_in_log.insert().values(username=name, at=when, success=reason == "ok", reason=reason))
        user = _user_of(row)
    if reason == "ok":
        return user
    if reason == "disabled":
        raise AccessError(f"账户「{name}」已停用，请联系县级管理员 (account disabled)")
    if reason == "locked":
        raise AccessError(_locked_message(name, row.locked_until))
    if reason == "lockout":
        raise AccessError(f"{_BAD_SIGN_IN}；连续 {settings.lockout_attempts()} 次错误，"
                          + _locked_message(name, values["locked_until"]))
    raise AccessError(_BAD_SIGN_IN)


def _locked_message(name: str, until: dt.datetime) -> str:
    local = aware(until).astimezone(dt.timezone(dt.timedelta(hours=8)))
    return f"账户「{name}」已锁定至 {local:%Y-%m-%d %H:%M}（北京时间），请稍后再试或联系县级管理员 (account locked)"


def _log(store: Store, username: str | None, when: dt.datetime, success: bool, reason: str) -> None:
    with write_transaction(store) as conn:
        conn.execute(sign_in_log.insert().values(username=username, at=when, success=success, reason=reason))


def sign_in_log_table(store: Store, *, username: str | None = None, by: User) -> pd.DataFrame:
    """The sign-in log, oldest first: username (None: a name that matches no account), at (UTC), success,
    reason (one of :data:`SIGN_IN_REASONS`). ``by`` needs ``manage_users``."""
    query = sa.select(sign_in_log).order_by(sign_in_log.c.id)
    if username is not None:
        query = query.where(sign_in_log.c.username == username)
    with store.engine.connect() as conn:
        _may_manage(conn, by, "查看登录记录")
        rows = conn.execute(query).all()
    df = pd.DataFrame([(r.username, r.at, bool(r.success), r.reason) for r in rows],
                      columns=["username", "at", "success", "reason"])
    df["username"] = pd.Series([r.username for r in rows], index=df.index, dtype=object)  # None stays None
    df["at"] = pd.to_datetime(df["at"]).dt.tz_localize("UTC")
    return df


# -------------------------------------------------------------------------------------------- sessions
@dataclass(frozen=True)
class Session:
    """A sign-in the app keeps in its session state: the user, a random token, when it was issued and expires."""

    user: User
    issued_at: dt.datetime
    expires_at: dt.datetime
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)


def new_session(user: User, ttl: dt.timedelta | None = None, *, now: dt.datetime | None = None) -> Session:
    """A session for ``user`` valid for ``ttl`` (default :func:`audit.settings.session_ttl`)."""
    if not isinstance(user, User):
        raise AuditError(f"'user' should be a User, got {type(user).__name__}")
    ttl = settings.session_ttl() if ttl is None else ttl
    if not isinstance(ttl, dt.timedelta) or ttl <= dt.timedelta(0):
        raise AuditError(f"'ttl' should be a positive timedelta, got {ttl!r} instead")
    issued = now.astimezone(dt.UTC) if now is not None else dt.datetime.now(dt.UTC)
    return Session(user=user, issued_at=issued, expires_at=issued + ttl)


def session_valid(session: Session, now: dt.datetime | None = None) -> bool:
    """Whether the session has not expired at ``now`` (default: the current time)."""
    when = now.astimezone(dt.UTC) if now is not None else dt.datetime.now(dt.UTC)
    return session.issued_at <= when < session.expires_at


def user_from_session(store: Store, session: Session, *, now: dt.datetime | None = None) -> User:
    """The session's user as stored now (role and townships may have changed since the sign-in).

    Raises
    ------
    AccessError
        The session expired, the account was disabled or removed, or its password changed after the sign-in.
    """
    name = session.user.username
    if not session_valid(session, now):
        raise AccessError(f"用户「{name}」的登录已过期，请重新登录 (session expired)")
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.username == name)).first()
    if row is None or row.disabled:
        raise AccessError(f"账户「{name}」已停用或不存在，请联系县级管理员")
    if session.issued_at < aware(row.password_changed_at):
        raise AccessError(f"用户「{name}」的密码已修改，请重新登录 (password changed)")
    return _user_of(row)
