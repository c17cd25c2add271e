"""The facility map: villages coloured by area status and sized by shortfall, townships coloured by compliance
rate, as one ``folium.Map`` that works without internet.

- Villages and townships are GeoJSON layers drawn on a canvas (one layer per status, not one marker object per
  village), so 6,000+ villages stay fast.
- Every value shown in a popup or tooltip is HTML-escaped here, in Python, before it reaches the page: village
  and township names are user data.
- Leaflet, jQuery and Bootstrap are served from ``static/vendor`` (see ``audit.settings.assets_url``), never
  from a CDN; only the tiles come from outside, and the villages show when they do not load.
- On the Gaode (高德) basemap, which is drawn in GCJ-02, the points and areas are shifted WGS84 → GCJ-02 for
  display only; the data stay WGS84.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from audit import settings
from audit.area import coords
from audit.area.floor_area import STATUS_ZH, UNTYPED, township_summary
from audit.area.townships import APPROXIMATE_NOTE

STATUS_COLOURS = {"compliant": "#1b9e4b", "non_compliant": "#d7301f", "unknown": "#8c8c8c"}
# Compliance-rate classes for the township layer: (lower bound, colour, label), best first.
RATE_CLASSES = ((0.95, "#1a9850", "≥ 95%"), (0.80, "#a6d96a", "80% – 95%"), (0.60, "#fdae61", "60% – 80%"),
                (0.0, "#d73027", "< 60%"))
NO_RATE_COLOUR = "#bdbdbd"
# Village marker radius in pixels: compliant/unknown villages get the base, short ones grow with the shortfall.
RADIUS_BASE, RADIUS_MAX = 4.0, 14.0

# folium's default assets (by folium's own name) → files under static/vendor (copied from the npm packages
# leaflet@1.9.3, jquery@3.7.1, bootstrap@5.2.2; see static/vendor/README.md).
VENDORED = {
    "leaflet": "leaflet/leaflet.js",
    "jquery": "jquery/jquery.min.js",
    "bootstrap": "bootstrap/bootstrap.bundle.min.js",
    "leaflet_css": "leaflet/leaflet.css",
    "bootstrap_css": "bootstrap/bootstrap.min.css",
}
# Assets folium adds for awesome-marker icons, which this map does not use: they are left out rather than
# vendored (Font Awesome alone is about 1 MB). Any other asset is an error, so a new plugin cannot slip in a CDN.
UNUSED_ASSETS = {"awesome_markers", "awesome_markers_css", "awesome_markers_font_css", "awesome_rotate_css",
                 "glyphicons_css"}

POPUP_FIELDS = (("village_code", "村代码"), ("township", "乡镇（街道）"), ("village_type", "村庄类型"),
                ("households", "户数"), ("floor_area_m2", "服务中心面积（㎡）"), ("required_m2", "核定面积（㎡）"),
                ("gap_m2", "面积缺口（㎡）"), ("area_status", "面积核查结果"), ("reason", "说明"))

_POPUP_CSS = """<style>
.va-popup{border-collapse:collapse;font-size:12px}
.va-popup th{text-align:left;font-weight:normal;color:#555;padding:1px 8px 1px 0;white-space:nowrap}
.va-popup td{padding:1px 0}
.va-legend{background:#fff;padding:6px 8px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);font-size:12px;
line-height:18px}
.va-legend i{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:-1px;border:1px solid #666}
.va-legend i.dot{border-radius:6px}
</style>"""


class AssetError(RuntimeError):
    """A map element asks for a web asset that is not vendored (it would load from a CDN)."""


class _GeoJsonLayer(folium.map.Layer):
    """A GeoJSON layer whose popups and tooltips are pre-escaped strings in the features' properties.

    Points become canvas circle markers (``r``: radius, ``c`` or the layer's ``colour``: fill); polygons are
    filled with ``c``. ``t`` is the tooltip (default: ``n`` + ``suffix``), ``n`` the popup title and ``v`` the
    popup values (aligned with ``labels``; where ``tables[i]`` is a list, ``v[i]`` indexes it). All strings are
    already HTML-escaped.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function () {
    var labels = {{ this.labels|tojson }}, tables = {{ this.tables_json }}, colour = {{ this.colour|tojson }},
        suffix = {{ this.suffix|tojson }};
    return L.geoJSON({{ this.json }}, {
        pointToLayer: function (f, latlng) {
            return L.circleMarker(latlng, {radius: f.properties.r, color: "#333333", weight: 0.8,
                                           fillColor: f.properties.c || colour, fillOpacity: 0.85});
        },
        style: function (f) {
            return f.geometry.type === "Point" ? {} :
                {color: "#555555", weight: 1.2, dashArray: {{ this.dash|tojson }}, fillColor: f.properties.c,
                 fillOpacity: 0.35};
        },
        onEachFeature: function (f, layer) {
            var p = f.properties;
            if (p.v) {
                var rows = "";
                for (var i = 0; i < labels.length; i++) {
                    var value = tables[i] ? tables[i][p.v[i]] : p.v[i];
                    rows += "<tr><th>" + labels[i] + "</th><td>" + value + "</td></tr>";
                }
                layer.bindPopup("<b>" + p.n + "</b><table class=\\"va-popup\\">" + rows + "</table>",
                                {maxWidth: 380});
            }
            var tip = p.t || (p.n !== undefined ? p.n + suffix : null);
            if (tip) { layer.bindTooltip(tip, {sticky: true}); }
        }
    });
})();
{% endmacro %}
""")

    def __init__(self, data: dict, *, name: str, labels: Iterable[str] = (), tables: list | None = None,
                 colour: str | None = None, suffix: str = "", dash: str | None = None, show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "GeoJsonLayer"
        self.json = script_json(data)
        self.labels = [html.escape(str(label)) for label in labels]
        self.tables_json = script_json(tables or [])
        self.colour = colour
        self.suffix = html.escape(suffix)
        self.dash = dash


class _Legend(MacroElement):
    """A fixed legend (Leaflet control, bottom right) built from escaped (colour, label, dot) rows."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.control({position: "bottomright"});
{{ this.get_name() }}.onAdd = function () {
    var div = L.DomUtil.create("div", "va-legend");
    div.innerHTML = {{ this.html|tojson }};
    return div;
};
{{ this.get_name() }}.addTo({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, sections: list[tuple[str, list[tuple[str, str, bool]]]]) -> None:
        super().__init__()
        self._name = "Legend"
        parts = []
        for title, rows in sections:
            parts.append(f"<b>{html.escape(title)}</b><br>")
            parts += [f'<i class="{"dot" if dot else ""}" style="background:{html.escape(colour)}"></i>'
                      f"{html.escape(label)}<br>" for colour, label, dot in rows]
        self.html = "".join(parts)


def script_json(data: object) -> str:
    """JSON that is safe inside a ``<script>`` element (``<``, ``>``, ``&`` and ``'`` as ``\\u`` escapes), with
    Chinese kept as UTF-8 (half the bytes of ``\\uXXXX``)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def _fmt(value: object, digits: int = 1) -> str:
    """A value as escaped display text: numbers without spurious decimals, missing as —."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool | np.bool_):
        return "是" if value else "否"
    if isinstance(value, float | np.floating):
        text = f"{float(value):,.{digits}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return html.escape(str(value))


def rate_colour(rate: float | None) -> str:
    """Fill colour of a township with this compliance rate (grey when nothing could be judged)."""
    if rate is None or (isinstance(rate, float) and math.isnan(rate)):
        return NO_RATE_COLOUR
    return next(colour for bound, colour, _ in RATE_CLASSES if rate >= bound)


def marker_radius(gap_m2: pd.Series | np.ndarray) -> np.ndarray:
    """Marker radius (px) from the shortfall: the base for no shortfall, growing with its square root up to the
    maximum at the largest shortfall of the frame."""
    gap = np.nan_to_num(np.asarray(gap_m2, dtype=float), nan=0.0)
    top = gap.max() if gap.size and gap.max() > 0 else 1.0
    return np.round(RADIUS_BASE + (RADIUS_MAX - RADIUS_BASE) * np.sqrt(gap / top), 1)


def _display_xy(geometry: gpd.GeoSeries, *, gcj02: bool) -> tuple[np.ndarray, np.ndarray]:
    x, y = geometry.x.to_numpy(), geometry.y.to_numpy()
    return coords.wgs84_to_gcj02(x, y) if gcj02 else (x, y)


def village_features(audited: gpd.GeoDataFrame, *, gcj02: bool = False, type_names: dict[str, str] | None = None,
                     radius: np.ndarray | None = None) -> dict:
    """Audited villages with coordinates as a GeoJSON FeatureCollection for the map.

    Each feature's properties hold the escaped popup title ``n``, values ``v`` (in ``POPUP_FIELDS`` order),
    tooltip ``t``, marker colour ``c`` and radius ``r``, and ``i``, the village's position in ``audited``.
    Coordinates are WGS84, or GCJ-02 when ``gcj02`` (for the Gaode basemap), rounded to 5 decimals (~1 m).
    """
    geom = audited.geometry
    keep = (~(geom.isna() | geom.is_empty)).to_numpy()
    rows = audited.loc[keep]
    positions = np.flatnonzero(keep)
    x, y = _display_xy(rows.geometry, gcj02=gcj02)
    radius = marker_radius(rows["gap_m2"]) if radius is None else np.asarray(radius)[keep]
    status = rows["area_status"].astype(object).to_numpy()
    colour = [STATUS_COLOURS.get(s, STATUS_COLOURS["unknown"]) for s in status]
    columns = {}
    for field, _ in POPUP_FIELDS:
        values = rows[field].astype(object).to_numpy() if field in rows else np.full(len(rows), None)
        if field == "area_status":
            values = np.array([STATUS_ZH.get(v, v) for v in values], dtype=object)
        elif field == "village_type" and type_names:
            values = np.array([type_names.get(v, v) for v in values], dtype=object)
        elif field == "township":
            values = np.array([UNTYPED if v is None or v is pd.NA else v for v in values], dtype=object)
        digits = 0 if field == "households" else 2
        columns[field] = [_fmt(v, digits) for v in values]
    names = [_fmt(v) for v in rows["village_name"].astype(object).to_numpy()]
    features = []
    for k in range(len(rows)):
        values = [columns[f][k] for f, _ in POPUP_FIELDS]
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(float(x[k]), 5), round(float(y[k]), 5)]},
            "properties": {"i": int(positions[k]), "n": names[k], "v": values,
                           "t": f"{names[k]} · {columns['area_status'][k]}", "c": colour[k],
                           "r": float(radius[k])},
        })
    return {"type": "FeatureCollection", "features": features}


# Popup fields whose few distinct values are sent once per layer (``compact_features``).
TABLE_FIELDS = ("township", "village_type", "area_status", "reason")


def compact_features(fc: dict) -> tuple[dict, list[list[str] | None]]:
    """The wire form of ``village_features`` for a map layer: repeated popup values (township, type, status,
    reason) replaced by indexes into per-field tables, and no per-village colour or tooltip (the layer has
    one colour; the tooltip is built from the name). About 40 % fewer bytes for a county."""
    fields = [f for f, _ in POPUP_FIELDS]
    tables: list[list[str] | None] = [[] if f in TABLE_FIELDS else None for f in fields]
    index: list[dict[str, int]] = [{} for _ in fields]
    features = []
    for feature in fc["features"]:
        props = feature["properties"]
        values = list(props["v"])
        for k, table in enumerate(tables):
            if table is not None:
                values[k] = index[k].setdefault(values[k], len(table))
                if values[k] == len(table):
                    table.append(props["v"][k])
        features.append({"type": "Feature", "geometry": feature["geometry"],
                         "properties": {"i": props["i"], "n": props["n"], "v": values, "r": props["r"]}})
    return {"type": "FeatureCollection", "features": features}, tables


def township_features(areas: gpd.GeoDataFrame, audited: pd.DataFrame, *, gcj02: bool = False) -> dict:
    """Township polygons as a GeoJSON FeatureCollection coloured by compliance rate (``c``) with an escaped
    tooltip ``t`` (name, rate, counts; 近似 when the area is approximate)."""
    summary = township_summary(audited).groupby("township", sort=False).agg(
        villages=("villages", "sum"), compliant=("compliant", "sum"), non_compliant=("non_compliant", "sum"),
        unknown=("unknown", "sum"), shortfall_m2=("shortfall_m2", "sum"))
    features = []
    for rec in areas.itertuples(index=False):
        geom = rec.geometry
        if geom is None or geom.is_empty:
            continue
        if gcj02:
            geom = shapely.transform(geom, lambda xy: np.column_stack(coords.wgs84_to_gcj02(xy[:, 0], xy[:, 1])))
        name = rec.township if isinstance(rec.township, str) and rec.township else UNTYPED
        approximate = bool(getattr(rec, "approximate", False))
        if name in summary.index:
            s = summary.loc[name]
            judged = int(s["compliant"] + s["non_compliant"])
            rate = float(s["compliant"]) / judged if judged else None
            figures = (f"村庄 {int(s['villages'])} · 达标 {int(s['compliant'])} · 不达标 {int(s['non_compliant'])}"
                       f" · 无法判定 {int(s['unknown'])}")
        else:
            rate, figures = None, "名册中没有该乡镇的村庄"
        rate_text = f"达标率 {rate:.1%}" if rate is not None else "达标率 —"
        label = html.escape(name) + ("（近似）" if approximate else "")
        features.append({
            "type": "Feature",
            "geometry": shapely.geometry.mapping(shapely.set_precision(geom, 1e-6)),
            "properties": {"t": f"<b>{label}</b><br>{html.escape(rate_text)}<br>{html.escape(figures)}",
                           "c": rate_colour(rate)},
        })
    return {"type": "FeatureCollection", "features": features}


def localise_assets(m: folium.Map, *, base_url: str | None = None) -> folium.Map:
    """Point every element's JS/CSS at the vendored copies under ``base_url`` (``settings.assets_url()``).

    Sets instance attributes only (folium's class defaults are left alone). Raises ``AssetError`` for an asset
    that is neither vendored nor known to be unused.
    """
    base = (base_url or settings.assets_url()).rstrip("/")
    for element in _walk(m):
        for attr in ("default_js", "default_css"):
            links = getattr(element, attr, None)
            if not links:
                continue
            local = []
            for name, url in links:
                if name in VENDORED:
                    local.append((name, f"{base}/{VENDORED[name]}"))
                elif name not in UNUSED_ASSETS and url.startswith(("http://", "https://", "//")):
                    raise AssetError(f"{type(element).__name__} needs '{name}' from {url}, which is not vendored "
                                     "under static/vendor")
                elif name not in UNUSED_ASSETS:
                    local.append((name, url))
            setattr(element, attr, local)
    return m


def _walk(element: object) -> Iterable[object]:
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


def audit_map(audited: gpd.GeoDataFrame, *, townships: gpd.GeoDataFrame | None = None, basemap: str = "osm",
              type_names: dict[str, str] | None = None, assets_url: str | None = None,
              height: int | str = "100%") -> folium.Map:
    """The facility map of an audited registry.

    Parameters
    ----------
    audited
        Output of ``area_audit`` (WGS84 points); villages without coordinates are left out.
    townships
        ``township, geometry[, approximate]`` polygons in WGS84: a boundary layer or
        ``townships_from_villages``; no township layer when None or empty.
    basemap
        An id of ``settings.basemaps()``; on a GCJ-02 basemap (Gaode) everything is shifted for display.
    type_names
        Village type id → Chinese name for the popups (from the rules).
    assets_url
        Where ``static/vendor`` is served (default ``settings.assets_url()``).
    """
    maps = settings.basemaps()
    if basemap not in maps:
        raise ValueError(f"'basemap' should be one of {tuple(maps)}, got '{basemap}' instead")
    bm = maps[basemap]
    geom = audited.geometry
    located = audited.loc[(~(geom.isna() | geom.is_empty)).to_numpy()]
    if len(located):
        x, y = _display_xy(located.geometry, gcj02=bm.gcj02)
        bounds = [[float(np.min(y)), float(np.min(x))], [float(np.max(y)), float(np.max(x))]]
    else:
        bounds = None
    m = folium.Map(location=[36.0, 116.0] if bounds is None else None, zoom_start=9, tiles=None,
                   prefer_canvas=True, control_scale=True, height=height)
    for k, url in enumerate(bm.tiles):
        folium.TileLayer(url, attr=bm.attribution, name=bm.name_zh if k == 0 else f"{bm.name_zh}注记",
                         subdomains=bm.subdomains, max_zoom=18, control=False).add_to(m)
    m.get_root().header.add_child(Element(_POPUP_CSS), name="va_css")

    legend: list[tuple[str, list[tuple[str, str, bool]]]] = []
    if townships is not None and len(townships):
        approximate = bool(townships["approximate"].any()) if "approximate" in townships else False
        name = "乡镇（近似范围）" if approximate else "乡镇边界"
        _GeoJsonLayer(township_features(townships, audited, gcj02=bm.gcj02), name=name,
                      dash="4 3" if approximate else None).add_to(m)
        rows = [(colour, label, False) for _, colour, label in RATE_CLASSES] + [(NO_RATE_COLOUR, "无可判定村庄", False)]
        legend.append(("乡镇达标率" + ("（近似范围）" if approximate else ""), rows))
        if approximate:
            legend.append((APPROXIMATE_NOTE, []))

    radius = marker_radius(audited["gap_m2"])  # one scale for all three layers
    labels = [label for _, label in POPUP_FIELDS]
    status = audited["area_status"].astype(object).to_numpy()
    for code, zh in STATUS_ZH.items():
        subset = (status == code)
        layer = village_features(audited.loc[subset], gcj02=bm.gcj02, type_names=type_names, radius=radius[subset])
        positions = np.flatnonzero(subset)
        for f in layer["features"]:  # positions in the whole frame, for village_at / the detail panel
            f["properties"]["i"] = int(positions[f["properties"]["i"]])
        data, tables = compact_features(layer)
        _GeoJsonLayer(data, name=f"村庄：{zh}（{len(layer['features'])}）", labels=labels, tables=tables,
                      colour=STATUS_COLOURS[code], suffix=f" · {zh}").add_to(m)
    legend.insert(0, ("村庄面积核查（圆越大缺口越大）",
                      [(STATUS_COLOURS[c], zh, True) for c, zh in STATUS_ZH.items()]))
    _Legend(legend).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    if bounds is not None:
        m.fit_bounds(bounds, padding=(10, 10))
    return localise_assets(m, base_url=assets_url)


def village_at(audited: gpd.GeoDataFrame, lat: float, lng: float, *, gcj02: bool = False,
               max_distance_m: float = 2000.0) -> int | None:
    """Position (``iloc``) of the village drawn nearest to a clicked point, or None when none is within
    ``max_distance_m``. ``gcj02``: the click came from a GCJ-02 (Gaode) map, where points are drawn shifted."""
    geom = audited.geometry
    keep = np.flatnonzero((~(geom.isna() | geom.is_empty)).to_numpy())
    if not len(keep):
        return None
    x, y = _display_xy(audited.geometry.iloc[keep], gcj02=gcj02)
    # Equirectangular distance: exact enough to pick the nearest of points a few pixels apart.
    dx = np.radians(x - lng) * np.cos(np.radians(lat))
    dy = np.radians(y - lat)
    dist = 6_371_000.0 * np.hypot(dx, dy)
    best = int(np.argmin(dist))
    return int(keep[best]) if dist[best] <= max_distance_m else None
