"""Settings, read when a function runs (never at import time), overridable by environment variables.

=====================  =====================================  ==========================================
setting                environment variable                   default
=====================  =====================================  ==========================================
data directory         ``VILLAGE_AUDIT_DATA_DIR``             ``~/.local/share/village-audit`` (demo:
                                                              ``<repo>/.cache/demo-data``)
cache directory        ``VILLAGE_AUDIT_CACHE_DIR``            ``<repo>/.cache`` (or ``~/.cache/...``)
model weights          ``VILLAGE_AUDIT_MODEL``                ``<repo>/models/plaques.pt``
inspection database    ``VILLAGE_AUDIT_DB_URL``               SQLite in the data directory
threads                ``VILLAGE_AUDIT_THREADS``              ``2``
=====================  =====================================  ==========================================
"""

from __future__ import annotations

import os
from pathlib import Path

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
