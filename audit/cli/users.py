"""``audit users add|disable|enable|set-role|password|list``: account management from the server's command line.

Plain typer-annotated functions; :func:`register` adds them to a Typer app (``audit/cli.py`` registers them as
the ``users`` group). Whoever runs them can open the database anyway, so they act as
:data:`audit.records.access.SYSTEM` (「系统（服务器命令行）」, county-wide) rather than a signed-in user; this is
how the first administrator is made::

    audit users add admin --role admin

Exit code 0 on success, 2 with a one-line ``错误：…`` on stderr when the request is refused.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from audit.errors import AuditError
from audit.records.access import SYSTEM

if TYPE_CHECKING:
    from audit.records.db import Store

T = TypeVar("T")

DbOption = Annotated[str | None, typer.Option("--db", help="Store URL (default: VILLAGE_AUDIT_DB_URL or the data dir).")]
TownshipOption = Annotated[list[str] | None, typer.Option(
    "--township", help="A township the inspector is responsible for (repeat for several).")]
CountyOption = Annotated[list[str] | None, typer.Option(
    "--county", help="Limit the account to a county of the registry (repeat for several; none: the whole registry).")]


def _where(user) -> str:  # noqa: ANN001 - a User
    counties = f"，{'、'.join(user.counties)}" if user.counties else ""
    return f"{counties}，负责 {'、'.join(user.townships)}" if user.townships else (counties or "，全县")


class RoleChoice(str, Enum):
    inspector = "inspector"
    planner = "planner"
    admin = "admin"


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"错误：{' '.join(str(exc).split())}", err=True)
    return typer.Exit(code=2)


def _run(db: str | None, action: Callable[[Store], T]) -> T:
    """``action(store)`` on the store (closed afterwards); a refused request exits 2 with one line."""
    from audit.records.db import open_store

    try:
        store = open_store(db)
        try:
            return action(store)
        finally:
            store.close()
    except AuditError as exc:
        raise _fail(exc) from None


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise AuditError("--password-stdin: 标准输入中没有密码 (no password on stdin)")
        return line.rstrip("\r\n")
    return typer.prompt("密码 (password)", hide_input=True, confirmation_prompt="再输入一次 (repeat)")


def add(
    username: Annotated[str, typer.Argument(help="User name used to sign in (letters, digits, 汉字, . _ - @).")],
    role: Annotated[RoleChoice, typer.Option("--role", help="inspector 乡镇检查员, planner 规划人员, admin 县级管理员.")],
    township: TownshipOption = None,
    county: CountyOption = None,
    name: Annotated[str | None, typer.Option("--name", help="Display name (default: the user name).")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from one line of stdin.")] = False,
    db: DbOption = None,
) -> None:
    """Add a user; the password is asked twice (hidden) unless --password-stdin."""
    from audit.records.access import ROLE_ZH
    from audit.records.accounts import add_user

    user = _run(db, lambda store: add_user(store, username, _read_password(password_stdin), role=role.value,
                                           townships=township or (), counties=county or (),
                                           display_name=name, by=SYSTEM))
    where = _where(user)
    typer.echo(f"已添加用户「{user.username}」（{ROLE_ZH[user.role]}{where}）")


def disable(
    username: Annotated[str, typer.Argument(help="The user to disable.")],
    db: DbOption = None,
) -> None:
    """Disable a user: no more sign-ins, open sessions end (the last administrator cannot be disabled)."""
    from audit.records.accounts import disable_user

    _run(db, lambda store: disable_user(store, username, by=SYSTEM))
    typer.echo(f"已停用用户「{username.strip()}」")


def enable(
    username: Annotated[str, typer.Argument(help="The user to enable again (also lifts a lock-out).")],
    db: DbOption = None,
) -> None:
    """Enable a disabled user again and lift a lock-out."""
    from audit.records.accounts import enable_user

    _run(db, lambda store: enable_user(store, username, by=SYSTEM))
    typer.echo(f"已启用用户「{username.strip()}」")


def set_role(
    username: Annotated[str, typer.Argument(help="The user whose role changes.")],
    role: Annotated[RoleChoice, typer.Option("--role", help="inspector 乡镇检查员, planner 规划人员, admin 县级管理员.")],
    township: TownshipOption = None,
    county: CountyOption = None,
    db: DbOption = None,
) -> None:
    """Set a user's role and townships (the townships given replace the old ones)."""
    from audit.records.access import ROLE_ZH
    from audit.records.accounts import set_role as set_role_

    user = _run(db, lambda store: set_role_(store, username, role.value, townships=township or (),
                                            counties=county or (), by=SYSTEM))
    where = _where(user)
    typer.echo(f"用户「{user.username}」现为{ROLE_ZH[user.role]}{where}")


def password(
    username: Annotated[str, typer.Argument(help="The user whose password is reset.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from one line of stdin.")] = False,
    db: DbOption = None,
) -> None:
    """Reset a user's password (asked twice, hidden); lifts a lock-out and ends the user's sessions."""
    from audit.records.accounts import set_password

    _run(db, lambda store: set_password(store, username, _read_password(password_stdin), by=SYSTEM))
    typer.echo(f"已重设用户「{username.strip()}」的密码")


def list_users(
    db: DbOption = None,
) -> None:
    """List the users: name, role, townships, state (never a password or hash)."""
    import pandas as pd

    from audit.records.accounts import users_table

    table = _run(db, lambda store: users_table(store, by=SYSTEM))
    if table.empty:
        typer.echo("还没有用户；先添加管理员：audit users add admin --role admin")
        return
    for row in table.itertuples():
        locked = pd.notna(row.locked_until) and row.locked_until > pd.Timestamp.now(tz="UTC")
        state = "已停用" if row.disabled else (
            f"锁定至 {row.locked_until.tz_convert('Asia/Shanghai'):%Y-%m-%d %H:%M}" if locked else "正常")
        places = "、".join(row.townships) or "全县"
        typer.echo(f"{row.username}\t{row.display_name}\t{row.role_zh}\t{places}\t{state}")


def register(app: typer.Typer) -> typer.Typer:
    """Add the commands to ``app`` (``add``, ``disable``, ``enable``, ``set-role``, ``password``, ``list``)."""
    app.command("add")(add)
    app.command("disable")(disable)
    app.command("enable")(enable)
    app.command("set-role")(set_role)
    app.command("password")(password)
    app.command("list")(list_users)
    return app
