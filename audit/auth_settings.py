"""Account and sign-in settings, read when a function runs (never at import time), overridable by environment
variables (the same habit as :mod:`audit.settings`).

==================================  ======================================  ========
setting                             environment variable                    default
==================================  ======================================  ========
failed sign-ins before a lock-out   ``VILLAGE_AUDIT_LOCKOUT_ATTEMPTS``      ``5``
lock-out length (minutes)           ``VILLAGE_AUDIT_LOCKOUT_MINUTES``       ``15``
session length (hours)              ``VILLAGE_AUDIT_SESSION_HOURS``         ``8``
bcrypt cost (log2 rounds, 4…31)     ``VILLAGE_AUDIT_BCRYPT_ROUNDS``         ``12``
shortest password (characters)      ``VILLAGE_AUDIT_PASSWORD_MIN_LENGTH``   ``8``
==================================  ======================================  ========
"""

from __future__ import annotations

import datetime as dt
import os

from audit._errors import AuditError


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise AuditError(f"环境变量 {name} 应为整数 ({low}…{high})，got '{raw}' instead") from None
    if not low <= value <= high:
        raise AuditError(f"环境变量 {name} 应在 {low}…{high} 之间，got {value} instead")
    return value


def lockout_attempts() -> int:
    """Consecutive failed sign-ins that lock an account."""
    return _int("VILLAGE_AUDIT_LOCKOUT_ATTEMPTS", 5, 1, 100)


def lockout_period() -> dt.timedelta:
    """How long a locked account stays locked."""
    return dt.timedelta(minutes=_int("VILLAGE_AUDIT_LOCKOUT_MINUTES", 15, 1, 7 * 24 * 60))


def session_ttl() -> dt.timedelta:
    """How long a sign-in stays valid."""
    return dt.timedelta(hours=_int("VILLAGE_AUDIT_SESSION_HOURS", 8, 1, 24 * 31))


def bcrypt_rounds() -> int:
    """bcrypt's cost factor for new hashes (12 ≈ a quarter second on one core; tests use 4)."""
    return _int("VILLAGE_AUDIT_BCRYPT_ROUNDS", 12, 4, 31)


def password_min_length() -> int:
    """The shortest password accepted when one is set."""
    return _int("VILLAGE_AUDIT_PASSWORD_MIN_LENGTH", 8, 1, 72)
