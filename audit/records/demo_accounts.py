"""Demo mode: ``make run`` opens the app on the demo county with ready-made accounts.

Only when the environment variable ``VILLAGE_AUDIT_DEMO=1`` is set, and only in a store that has no accounts
yet, :func:`ensure_demo_accounts` creates one account per role with one shared password, which the sign-in page
shows in a box labelled 演示模式. Without the variable nothing here creates an account: a real county's first
administrator is made on the server with ``audit users add <name> --role admin``.

In demo mode the data directory defaults to ``<repo>/.cache/demo-data`` (ignored by git), so that the demo's
accounts and inspections never land in a real data directory; ``VILLAGE_AUDIT_DATA_DIR`` still wins.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from audit import settings
from audit.errors import StoreError
from audit.records.db import Store

DEMO_ENV = "VILLAGE_AUDIT_DEMO"
DEMO_PASSWORD = "demo-2026"  # shown on the sign-in page in demo mode; never used outside it


@dataclass(frozen=True)
class DemoAccount:
    """One demo account: user name, role, townships (inspectors only) and display name."""

    username: str
    role: str
    townships: tuple[str, ...]
    display_name: str


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("demo-admin", "admin", (), "演示管理员"),
    DemoAccount("demo-inspector", "inspector", ("城关街道",), "演示检查员（城关街道）"),
    DemoAccount("demo-planner", "planner", (), "演示规划人员"),
)


def demo_mode() -> bool:
    """Whether ``VILLAGE_AUDIT_DEMO=1`` is set (read when called)."""
    return os.environ.get(DEMO_ENV, "").strip() == "1"


def data_dir() -> Path:
    """The app's data directory (:func:`audit.settings.data_dir`, which knows demo mode), so that the app and
    the ``audit users`` command always open the same store."""
    return settings.data_dir()


def ensure_demo_accounts(store: Store) -> list[DemoAccount]:
    """In demo mode, create :data:`DEMO_ACCOUNTS` if the store has no account at all; return the demo accounts
    the store holds (an empty list outside demo mode, or where real accounts were made first)."""
    if not demo_mode():
        return []
    from audit.records.access import SYSTEM
    from audit.records.accounts import add_user, users_table

    names = set(users_table(store, by=SYSTEM)["username"])
    if not names:
        for account in DEMO_ACCOUNTS:
            try:  # made by the server itself, as the command line would (the app has no one signed in yet)
                add_user(store, account.username, DEMO_PASSWORD, role=account.role, townships=account.townships,
                         display_name=account.display_name, by=SYSTEM)
            except StoreError:  # another app process created it at the same moment
                pass
        names = set(users_table(store, by=SYSTEM)["username"])
    return [a for a in DEMO_ACCOUNTS if a.username in names]
