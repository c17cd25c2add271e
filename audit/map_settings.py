"""Map settings, read when a function runs (never at import time), overridable by environment variables.

=========================  =========================================  ==========================================
setting                    environment variable                       default
=========================  =========================================  ==========================================
vendored web assets        ``VILLAGE_AUDIT_MAP_ASSETS_URL``           ``/app/static/vendor`` (Streamlit static)
OpenStreetMap tiles        ``VILLAGE_AUDIT_OSM_TILES``                ``https://tile.openstreetmap.org/...``
Gaode (高德) tiles          ``VILLAGE_AUDIT_GAODE_TILES``              ``https://webrd0{s}.is.autonavi.com/...``
Tianditu (天地图) tiles     ``VILLAGE_AUDIT_TIANDITU_TILES``           ``https://t{s}.tianditu.gov.cn/vec_w/...``
Tianditu labels            ``VILLAGE_AUDIT_TIANDITU_LABELS``          ``https://t{s}.tianditu.gov.cn/cva_w/...``
Tianditu key (tk)          ``VILLAGE_AUDIT_TIANDITU_KEY``             none: the Tianditu basemap is not offered
=========================  =========================================  ==========================================

Tile URLs are Leaflet templates (``{z}``, ``{x}``, ``{y}``, ``{s}``); ``{tk}`` in a Tianditu URL is replaced by
the key. A county behind a firewall points them at its own tile server. Tiles may fail offline: the villages and
townships are drawn from data in the page and show regardless.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

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
