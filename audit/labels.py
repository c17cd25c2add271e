"""The words people read: a Chinese label for every code that reaches a page or an export, and how times,
booleans, numbers and empty values are written for people.

Codes stay codes in the library, the store and the JSON report (they are what programs compare); a page or an
export shows them only through this module, as Django shows a choice through ``get_FOO_display()``. Plaque types
are the rules' data (``rules.plaque(id).name_zh``), read through :func:`plaque_type_zh`; everything else is here.
Times are stored in UTC and written in Beijing time (:data:`TIMEZONE`). ``tests/test_labels.py`` holds every code
the library can produce against these tables, and ``tests/test_app_words.py`` renders every page and export and
fails on a code word, ``None``, ``nan``, ``True``/``False`` or a path.

Nothing here imports the rest of the library, so any layer may use it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from audit.rules import Rules

TIMEZONE = "Asia/Shanghai"
TIME_NOTE = "北京时间"
EMPTY = "—"  # what an empty value reads as on a page (an export leaves the cell empty)

# --- plaques (audit.signs) -----------------------------------------------------------------------------------
VERDICT_ZH = {"compliant": "符合规范", "needs_review": "待复核", "needs_rectification": "需要整改", "not_audited": "未核查"}
KIND_ZH = {"official": "清单内牌子", "unauthorised_sign": "未列入清单的牌子", "honour": "荣誉牌（应集中展陈）",
           "allowed": "允许的标识", "background": "招牌或标语（不计入）", "undecided": "待人工确认",
           "unreadable": "未能识别"}
OTHER_TYPE_ZH = "清单外的牌子"  # the type of every board that is not one of the rules' plaques (``other_sign``)
CHECK_ZH = {"background": "底色", "text_colour": "字色", "shape": "形制", "size": "尺寸", "typeface": "字体",
            "material": "材质", "traditional_characters": "繁体字"}
SEVERITY_ZH = {"must_fix": "必须整改", "needs_review": "需复核", "advisory": "建议整改"}
CHECK_STATUS_ZH = {"pass": "符合", "fail": "不符合", "not_checked": "未检查", "exempt": "不适用"}
SIDE_ZH = {"external": "外部", "internal": "内部"}
SOURCE_ZH = {"detector": "识别模型", "ocr": "文字识别", "detector+ocr": "识别模型与文字识别", "inspector": "人工补录"}
PHOTO_FLAG_ZH = {"no_exif_gps": "无拍摄位置", "no_exif_time": "无拍摄时间", "far_from_village": "离村庄过远",
                 "taken_long_before": "拍摄时间过早", "blurry": "照片模糊", "boards_unreadable": "牌子多数无法识读",
                 "boards_cut": "牌子被照片边缘截断"}

# --- the store's inspections and reviews (audit.records) -----------------------------------------------------
PLAQUE_STATUS_ZH = {"unreviewed": "未复核", "confirmed": "已确认", "corrected": "已改正", "added": "人工补录",
                    "deleted": "已删除（误检）"}
REVIEW_FIELD_ZH = {"confirmed": "确认无误", "deleted": "删除误检", "added": "补录漏检", "type": "改牌子类型",
                   "kind": "改类别", "text": "改文字", "bbox": "改位置框", "name_zh": "名称随之改为",
                   "authorised": "位置是否合规随之改为"}
ROLE_ZH = {"inspector": "乡镇检查员", "planner": "规划人员", "admin": "县级管理员"}
SIGN_IN_REASON_ZH = {"ok": "成功", "wrong_password": "密码错误", "lockout": "密码错误，账户被锁定",
                     "locked": "账户锁定中", "disabled": "账户已停用", "unknown_user": "用户名不存在"}

# --- the floor-area audit (audit.area) -----------------------------------------------------------------------
AREA_STATUS_ZH = {"compliant": "达标", "non_compliant": "不达标", "unknown": "无法判定"}
BASIS_ZH = {"central_minimum": "中心村最低标准", "base_minimum": "村庄类型最低标准", "per_households": "按户数核定"}

CRS_ZH = {"wgs84": "WGS84（GPS、天地图）", "gcj02": "GCJ-02（高德、腾讯）", "bd09": "BD-09（百度）"}

# --- values ----------------------------------------------------------------------------------------------------
BOOL_ZH = {True: "是", False: "否"}
UNIT_ZH = {"m2": "㎡", "m": "米", "households": "户", "villages": "个村", "photos": "张"}


def plaque_type_zh(code: str, rules: Rules) -> str:
    """A plaque type's Chinese name from the rules (``other_sign``: :data:`OTHER_TYPE_ZH`); an id the rules do
    not hold (a record made under other rules) reads as that, never as the id."""
    if code == "other_sign":
        return OTHER_TYPE_ZH
    for plaque in rules.plaques:
        if plaque.id == code:
            return plaque.name_zh
    return "其他规则中的牌子"


def label(table: Mapping[Any, str], code: object, *, empty: str = EMPTY) -> str:
    """``table[code]``; an empty value reads as ``empty``, a code the table lacks as 未知 (never the code)."""
    if is_empty(code):
        return empty
    return table.get(code, "未知")


def is_empty(value: object) -> bool:
    """None, NaN, NaT, pandas' NA or blank text."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        import pandas as pd

        return bool(pd.isna(value)) if not isinstance(value, list | tuple | dict | set) else False
    except (TypeError, ValueError):
        return False


def yes_no(value: object, *, empty: str = EMPTY) -> str:
    """是 / 否 (an empty value: ``empty``)."""
    if is_empty(value):
        return empty
    return BOOL_ZH[bool(value)]


def local_time(value: object, *, empty: str = EMPTY, seconds: bool = False) -> str:
    """A stored time (UTC: aware, or naive as the store keeps it) written in Beijing time, ``2026-11-27 22:30``."""
    if is_empty(value):
        return empty
    import pandas as pd

    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
    return ts.tz_convert(TIMEZONE).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def local_date(value: object, *, empty: str = EMPTY) -> str:
    """A date (``dt.date``) as ``2026-11-27``."""
    if is_empty(value):
        return empty
    if isinstance(value, dt.datetime):
        return local_time(value, empty=empty)[:10]
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def number(value: object, *, digits: int = 1, unit: str = "", empty: str = EMPTY) -> str:
    """A measured number for people: ``547`` not ``547.0``, at most ``digits`` decimals, grouped thousands."""
    if is_empty(value):
        return empty
    x = float(value)
    text = f"{x:,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{x:,.0f}"
    return f"{text}{unit}"


def text(value: object, *, empty: str = EMPTY) -> str:
    """Any value as text for a page: lists joined with 、, booleans 是/否, numbers as :func:`number`, nothing
    for an empty one."""
    if isinstance(value, list | tuple):
        parts = [text(v, empty="") for v in value]
        return "、".join(p for p in parts if p) or empty
    if is_empty(value):
        return empty
    if isinstance(value, bool):
        return BOOL_ZH[value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number(value, digits=2)
    try:
        import numpy as np

        if isinstance(value, np.bool_):
            return BOOL_ZH[bool(value)]
        if isinstance(value, np.number):
            return number(float(value), digits=2)
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    return str(value)
