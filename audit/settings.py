"""All settings in one place, read when a function runs (never at import time), overridable by environment
variables.

===================================  =======================================  ==================================================
setting                              environment variable                     default
===================================  =======================================  ==================================================
data directory                       ``VILLAGE_AUDIT_DATA_DIR``               ``~/.local/share/village-audit`` (demo: below)
cache directory                      ``VILLAGE_AUDIT_CACHE_DIR``              ``<repo>/.cache`` (or ``~/.cache/...``)
model weights                        ``VILLAGE_AUDIT_MODEL``                  ``<repo>/models/plaques.pt``
inspection database                  ``VILLAGE_AUDIT_DB_URL``                 SQLite in the data directory
threads                              ``VILLAGE_AUDIT_THREADS``                ``2``
failed sign-ins before a lock-out    ``VILLAGE_AUDIT_LOCKOUT_ATTEMPTS``       ``5``
lock-out length (minutes)            ``VILLAGE_AUDIT_LOCKOUT_MINUTES``        ``15``
session length (hours)               ``VILLAGE_AUDIT_SESSION_HOURS``          ``8``
session idle expiry (minutes)        ``VILLAGE_AUDIT_SESSION_IDLE_MINUTES``   ``120``
unsaved drafts kept (hours)          ``VILLAGE_AUDIT_DRAFT_HOURS``            ``48``
bcrypt cost (log2 rounds, 4…31)      ``VILLAGE_AUDIT_BCRYPT_ROUNDS``          ``12``
shortest password (characters)       ``VILLAGE_AUDIT_PASSWORD_MIN_LENGTH``    ``8``
map: vendored web assets             ``VILLAGE_AUDIT_MAP_ASSETS_URL``         ``/app/static/vendor`` (Streamlit static)
map: OpenStreetMap tiles             ``VILLAGE_AUDIT_OSM_TILES``              ``https://tile.openstreetmap.org/...``
map: Gaode (高德) tiles                ``VILLAGE_AUDIT_GAODE_TILES``            ``https://webrd0{s}.is.autonavi.com/...``
map: Tianditu (天地图) tiles            ``VILLAGE_AUDIT_TIANDITU_TILES``         ``https://t{s}.tianditu.gov.cn/vec_w/...``
map: Tianditu labels                 ``VILLAGE_AUDIT_TIANDITU_LABELS``        ``https://t{s}.tianditu.gov.cn/cva_w/...``
map: Tianditu key (tk)               ``VILLAGE_AUDIT_TIANDITU_KEY``           none: the Tianditu basemap is not offered
===================================  =======================================  ==================================================

Tile URLs are Leaflet templates (``{z}``, ``{x}``, ``{y}``, ``{s}``); ``{tk}`` in a Tianditu URL is replaced by
the key. A county behind a firewall points them at its own tile server. Tiles may fail offline: the villages and
townships are drawn from data in the page and show regardless. In demo mode (``VILLAGE_AUDIT_DEMO=1``) the data
directory defaults to ``<repo>/.cache/demo-data``.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from audit.errors import AuditError

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent


def data_dir() -> Path:
    """Directory for the inspection store and photos (outside the repository). In demo mode
    (``VILLAGE_AUDIT_DEMO=1``, as ``make run`` sets it) it defaults to ``<repo>/.cache/demo-data`` instead, so that
    demo accounts and inspections never land in a real data directory; ``VILLAGE_AUDIT_DATA_DIR`` always wins."""
    env = os.environ.get("VILLAGE_AUDIT_DATA_DIR")
    if env:
        return Path(env)
    if os.environ.get("VILLAGE_AUDIT_DEMO", "").strip() == "1":
        return REPO_DIR / ".cache" / "demo-data"
    return Path.home() / ".local" / "share" / "village-audit"


def cache_dir() -> Path:
    """Project cache (Ultralytics settings, generated datasets)."""
    env = os.environ.get("VILLAGE_AUDIT_CACHE_DIR")
    if env:
        return Path(env)
    if (REPO_DIR / "pyproject.toml").exists():
        return REPO_DIR / ".cache"
    return Path.home() / ".cache" / "village-audit"


def model_path() -> Path:
    """Shipped YOLO plaque detector."""
    return Path(os.environ.get("VILLAGE_AUDIT_MODEL", REPO_DIR / "models" / "plaques.pt"))


def db_url() -> str | None:
    """The inspection store's SQLAlchemy URL from ``VILLAGE_AUDIT_DB_URL`` (None: SQLite in the data dir)."""
    return os.environ.get("VILLAGE_AUDIT_DB_URL") or None


def threads() -> int:
    """Thread count given to torch, onnxruntime and OpenCV so they do not fight over the cores."""
    return int(os.environ.get("VILLAGE_AUDIT_THREADS", "2"))


def configure_ultralytics() -> None:
    """Put Ultralytics in offline mode; call before the first ``import ultralytics``.

    Ultralytics writes a settings file and may try to download fonts, weights or packages on import or
    first use. ``YOLO_OFFLINE`` must be the string ``true`` (``1`` is ignored).
    """
    config = cache_dir() / "ultralytics"
    config.mkdir(parents=True, exist_ok=True)
    os.environ["YOLO_CONFIG_DIR"] = str(config)
    os.environ["YOLO_OFFLINE"] = "true"
    os.environ["YOLO_AUTOINSTALL"] = "false"
    os.environ.setdefault("YOLO_VERBOSE", "false")


# ------------------------------------------------------------------------------------------- accounts
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


def session_idle() -> dt.timedelta:
    """How long a sign-in survives without use (a reload after longer asks for the password again)."""
    return dt.timedelta(minutes=_int("VILLAGE_AUDIT_SESSION_IDLE_MINUTES", 120, 5, 24 * 60))


def draft_ttl() -> dt.timedelta:
    """How long an unsaved check (its photos, with their GPS positions, the result and the corrections) is kept
    for its inspector before it is deleted."""
    return dt.timedelta(hours=_int("VILLAGE_AUDIT_DRAFT_HOURS", 48, 1, 24 * 14))


def bcrypt_rounds() -> int:
    """bcrypt's cost factor for new hashes (12 ≈ a quarter second on one core; tests use 4)."""
    return _int("VILLAGE_AUDIT_BCRYPT_ROUNDS", 12, 4, 31)


def password_min_length() -> int:
    """The shortest password accepted when one is set."""
    return _int("VILLAGE_AUDIT_PASSWORD_MIN_LENGTH", 8, 1, 72)


# ------------------------------------------------------------------------------------------------ map
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
GAODE_TILES = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
TIANDITU_TILES = ("https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec"
                  "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={tk}")
TIANDITU_LABELS = ("https://t{s}.tianditu.gov.cn/cva_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=cva"
                   "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={tk}")


@dataclass(frozen=True)
class Basemap:
    """One basemap: its Chinese name, tile URL template(s), attribution, and whether it is drawn in GCJ-02."""

    id: str
    name_zh: str
    tiles: tuple[str, ...]
    attribution: str
    subdomains: str
    gcj02: bool = False


def assets_url() -> str:
    """URL prefix under which ``static/vendor`` is served (Streamlit: ``/app/static/vendor``)."""
    return os.environ.get("VILLAGE_AUDIT_MAP_ASSETS_URL", "/app/static/vendor").rstrip("/")


def tianditu_key() -> str:
    """The Tianditu developer key (``tk``); empty when not configured."""
    return os.environ.get("VILLAGE_AUDIT_TIANDITU_KEY", "").strip()


def basemaps() -> dict[str, Basemap]:
    """The basemaps on offer, in menu order. Tianditu only when a key is configured."""
    out = {
        "osm": Basemap("osm", "OpenStreetMap", (os.environ.get("VILLAGE_AUDIT_OSM_TILES", OSM_TILES),),
                       "© OpenStreetMap contributors", "abc"),
        "gaode": Basemap("gaode", "高德地图（GCJ-02）", (os.environ.get("VILLAGE_AUDIT_GAODE_TILES", GAODE_TILES),),
                         "© 高德地图 AutoNavi", "1234", gcj02=True),
    }
    key = tianditu_key()
    if key:
        tiles = tuple(os.environ.get(env, default).replace("{tk}", key) for env, default in (
            ("VILLAGE_AUDIT_TIANDITU_TILES", TIANDITU_TILES), ("VILLAGE_AUDIT_TIANDITU_LABELS", TIANDITU_LABELS)))
        out["tianditu"] = Basemap("tianditu", "天地图", tiles, "© 天地图 国家地理信息公共服务平台", "01234567")
    return out
