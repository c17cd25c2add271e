"""Who may do what where: the signed-in identity (:class:`User`), the roles and their actions, township scoping.

Roles
-----
==============  ==========  ==========================================================================
role            中文         may
==============  ==========  ==========================================================================
``inspector``   乡镇检查员   inspect, review and read the inspections of the villages of *their* townships;
                            read the area audit of their townships
``planner``     规划人员     read maps, area audits and inspections of the whole county; write nothing
``admin``       县级管理员   everything, county-wide: users, rules files, registries, rounds, exports
==============  ==========  ==========================================================================

Counties
--------
A registry may hold several counties (a prefecture-level city's). An account may be limited to some of them
(``counties``): an ``admin`` with none is the city administrator (every county; in a one-county deployment, the
county administrator as before), one with counties is a county administrator (县级管理员 of those counties: it
cannot replace the city's registry or rules, :data:`CITY_ACTIONS`, and manages only accounts of its counties); a
planner likewise; an inspector's townships are then townships of its counties (a township name may repeat across
counties). A record is in scope when its county is one of the account's (a record with no county recorded:
only accounts limited to no county) and, for an inspector, its township one of the account's.

The table is :data:`ROLE_ACTIONS`; :meth:`User.can` answers, :meth:`User.require` raises
:class:`audit.errors.AccessError` naming the user, the action and the township. The store's modules
(:mod:`audit.records.inspections`, :mod:`audit.records.reviews`, :mod:`audit.records.ledger`) and the accounts
(:mod:`audit.records.accounts`) both check through this module, which imports neither.

Who acts
--------
Every function of the store takes the acting identity, and none has a path without one: the signed-in
:class:`User`, or :data:`SYSTEM` for the server's command line and batch jobs (county-wide, recorded by its name
「系统（服务器命令行）」, which no account can take, so every record shows who acted). :func:`check_user` refuses
anything else, ``None`` included. The store re-reads a :class:`User`'s account when it acts
(:func:`audit.records.accounts.acting_user`): a disabled account is refused even through a ``User`` obtained
before it was disabled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from audit import labels
from audit.errors import AccessError, AuditError, StoreError

Role = Literal["inspector", "planner", "admin"]
ROLES: tuple[str, ...] = ("inspector", "planner", "admin")
ROLE_ZH = labels.ROLE_ZH
ACTIONS: tuple[str, ...] = ("inspect", "review", "read_inspections", "read_area", "export", "manage_users",
                            "manage_rules", "manage_rounds")
ACTION_ZH = {"inspect": "提交核查", "review": "复核核查记录", "read_inspections": "查看核查记录",
             "read_area": "查看面积核查", "export": "导出数据", "manage_users": "管理用户",
             "manage_rules": "管理规则文件和村庄名录", "manage_rounds": "管理核查轮次"}
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "inspector": frozenset({"inspect", "review", "read_inspections", "read_area"}),
    "planner": frozenset({"read_inspections", "read_area"}),
    "admin": frozenset(ACTIONS),
}
# Roles whose rights hold only in the townships listed on the account; the others are county-wide.
TOWNSHIP_SCOPED_ROLES = frozenset({"inspector"})
# Stands for "no township recorded" in a check: no township-scoped account lists it.
NO_TOWNSHIP = "（未注明乡镇）"
# Stands for "no county recorded" (older rows, a registry without a county column): no county-limited account lists it.
NO_COUNTY = "（未注明县）"
# Actions on the whole registry: only accounts limited to no county (the city's) may do them.
CITY_ACTIONS = frozenset({"manage_rules"})
_ANY = object()  # ``county`` not given: the county is not checked (the caller checks a township only)


def _place(value: object, none: str) -> str:
    return value.strip() if isinstance(value, str) and value.strip() else none


# ------------------------------------------------------------------------------------------ the identity
@dataclass(frozen=True)
class User:
    """A signed-in identity: who, in which role, for which townships (county-wide roles have none)."""

    username: str
    role: Role
    townships: tuple[str, ...] = ()
    display_name: str = ""
    disabled: bool = False
    counties: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise AuditError(f"'role' should be one of {list(ROLES)}, got '{self.role}' instead")
        places = (self.townships,) if isinstance(self.townships, str) else self.townships
        object.__setattr__(self, "townships", tuple(sorted({t.strip() for t in places if t and t.strip()})))
        counties = (self.counties,) if isinstance(self.counties, str) else self.counties
        object.__setattr__(self, "counties", tuple(sorted({c.strip() for c in counties if c and c.strip()})))
        object.__setattr__(self, "display_name", self.display_name or self.username)

    @property
    def county_wide(self) -> bool:
        """Whether the role's rights cover every township (of its counties, when it is limited to some)."""
        return self.role not in TOWNSHIP_SCOPED_ROLES

    @property
    def city_wide(self) -> bool:
        """Whether the rights cover the whole registry: every county and every township."""
        return self.county_wide and not self.counties

    def in_scope(self, township: str | None, county: object = _ANY) -> bool:
        """Whether a record of ``township`` (None: not checked) and ``county`` (not given: not checked; None or
        empty: none recorded) is within the account's counties and townships, whatever the action."""
        if county is not _ANY and self.counties and _place(county, NO_COUNTY) not in self.counties:
            return False
        return township is None or self.county_wide or township.strip() in self.townships

    @property
    def full_name(self) -> str:
        """The display name with the user name: ``张三（zhangsan）`` (just the user name when they are equal)."""
        return self.username if self.display_name == self.username else f"{self.display_name}（{self.username}）"

    @property
    def label(self) -> str:
        """How messages name the user: ``「张三（zhangsan）」（乡镇检查员）``."""
        return f"「{self.full_name}」（{ROLE_ZH[self.role]}）"

    def can(self, action: str, township: str | None = None, *, county: object = _ANY) -> bool:
        """Whether the user may do ``action`` in ``township`` (None: anywhere at all, e.g. in their own townships)
        of ``county`` (not given: not checked; None: a record with no county).

        Raises
        ------
        AuditError
            ``action`` is not one of :data:`ACTIONS` (a typo must not read as "refused").
        """
        if action not in ACTIONS:
            raise AuditError(f"'action' should be one of {list(ACTIONS)}, got '{action}' instead")
        if self.disabled or action not in ROLE_ACTIONS[self.role]:
            return False
        if self.counties and action in CITY_ACTIONS:
            return False
        return self.in_scope(township, county)

    def require(self, action: str, township: str | None = None, *, county: object = _ANY, what: str = "") -> None:
        """Raise :class:`AccessError` unless :meth:`can`; ``what`` names the record (``王庄村 核查记录 …``)."""
        if self.can(action, township, county=county):
            return
        doing = f"{ACTION_ZH[action]} ({action})"
        about = f"（{what}）" if what else ""
        if self.disabled:
            raise AccessError(f"用户{self.label}已停用，不能{doing}{about}")
        if action not in ROLE_ACTIONS[self.role]:
            raise AccessError(f"用户{self.label}无权{doing}{about}")
        mine = "、".join(self.counties)
        if self.counties and action in CITY_ACTIONS:
            raise AccessError(f"用户{self.label}只负责 {mine}，无权{doing}：它们属于全市{about}")
        if county is not _ANY and self.counties and _place(county, NO_COUNTY) not in self.counties:
            raise AccessError(f"用户{self.label}只负责 {mine}，无权对「{_place(county, NO_COUNTY)}」的村庄{doing}{about}")
        mine = "、".join(self.townships) or "无"
        raise AccessError(f"用户{self.label}只负责 {mine}，无权对「{township}」的村庄{doing}{about}")


# ------------------------------------------------------------------------------------- the system identity
@dataclass(frozen=True)
class SystemIdentity(User):
    """The server itself acting (the command line, batch jobs): county-wide, with no account to re-read.

    Only :data:`SYSTEM` should exist. Its name holds full-width brackets, which no account name may contain
    (:mod:`audit.records.accounts`), so a signed-in user can never pass for it, and it never equals a
    :class:`User` of the same fields (dataclass equality compares the class too).
    """


SYSTEM_NAME = "系统（服务器命令行）"
SYSTEM: User = SystemIdentity(username=SYSTEM_NAME, role="admin", display_name=SYSTEM_NAME)


def is_system(user: User) -> bool:
    """Whether ``user`` is the server's own identity (:data:`SYSTEM`) rather than an account."""
    return isinstance(user, SystemIdentity)


# ------------------------------------------------------------------------------------------------ checks
def check_user(user: object) -> User:
    """``user`` itself when it is a :class:`User` (or :data:`SYSTEM`); a clear error otherwise, ``None`` included."""
    if user is None:
        raise StoreError("未指明操作人 (no acting user): 'user' should be an audit.records.access.User — the signed-in "
                         "user, or audit.records.access.SYSTEM for the server's command line and batch jobs — got None")
    if not isinstance(user, User):
        raise StoreError(f"'user' should be an audit.records.access.User (the signed-in identity, or SYSTEM for the "
                         f"server's command line), got {type(user).__name__}")
    return user


def require_in(user: User, action: str, township: str | None, what: str, *, county: object = _ANY) -> None:
    """Refuse (AccessError) unless ``user`` may do ``action`` to a record of ``township`` (None: none recorded,
    which only county-wide roles may touch) in ``county`` (None: none recorded, which only accounts limited to no
    county may touch; not given: not checked)."""
    check_user(user).require(action, _place(township, NO_TOWNSHIP), county=county, what=what)


def villages_in_scope(user: User, villages: pd.DataFrame) -> pd.DataFrame:
    """The rows of a registry's ``villages`` (columns ``township`` and, for an account limited to counties,
    ``county``) that ``user`` may see; all of them for a city-wide account. A new frame, index kept.

    Raises
    ------
    AccessError
        The account is limited to counties and the registry names none (no ``county`` column).
    """
    check_user(user)
    keep = pd.Series(True, index=villages.index)
    if user.counties:
        if "county" not in villages.columns:
            raise AccessError(f"用户{user.label}只负责 {'、'.join(user.counties)}，而名册没有「县（市、区）」列，无法按县限定")
        keep &= villages["county"].astype("string").str.strip().isin(user.counties).fillna(False)
    if not user.county_wide:
        keep &= villages["township"].astype("string").str.strip().isin(user.townships).fillna(False)
    return villages[keep.to_numpy(dtype=bool)].copy()
