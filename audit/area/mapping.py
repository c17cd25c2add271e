"""The facility map: villages coloured by area status and sized by shortfall, townships coloured by compliance
rate, as one ``folium.Map`` that works without internet, readable from a county of 400 villages to a province of
70,000.

- At low zoom the townships carry their summaries (compliance rate, shortfall: a label on each, a popup on a
  click) and the villages are clustered (supercluster, vendored: one index built in the browser, and only the
  clusters and villages of the current view drawn, at each move): a cluster shows how many villages it holds and
  is ringed by the share of them that fall short. From ``SINGLE_ZOOM`` on every village is its own circle
  (canvas), and the township areas are drawn almost clear.
- The villages reach the page as columns (one array per field, repeated texts as indexes into small tables), not
  one GeoJSON feature each; markers are made in the browser for the villages in view, and their popups only when
  opened. (Leaflet.markercluster, used before, took 10–15 s of chromium to take 70,000 markers.)
- The legend is HTML for the page around the map (``legend_html``), so it never covers a village.
- The ranking of where to build first (``audit.area.ranking``) is a layer of numbered markers.
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
import re
from collections.abc import Iterable

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import CssLink, Element, JavascriptLink, MacroElement
from folium.elements import ElementAddToElement, JSCSSMixin
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
# From this zoom level on every village is drawn on its own (below it they are clustered); at 13 a pixel is about
# 19 m, so villages a kilometre apart are some 50 px apart.
SINGLE_ZOOM = 13
# Clusters gather villages within this many pixels of each other.
CLUSTER_RADIUS_PX = 60
# Township outlines are drawn simplified to this tolerance (degrees, about 10 m): a surveyed boundary layer can
# hold far more vertices than a screen shows.
DISPLAY_TOLERANCE_DEG = 1e-4
# The ranking layer shows this many villages (the first of the ranking).
RANKING_TOP = 50

# folium's default assets (by folium's own name) → files under static/vendor (copied from the npm packages
# leaflet@1.9.3, jquery@3.7.1, bootstrap@5.2.2, supercluster@9.1.0; see static/vendor/README.md).
VENDORED = {
    "supercluster": "supercluster/supercluster.min.js",
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
.va-cluster{border-radius:50%;border:3px solid;background:rgba(255,255,255,.9);display:flex;flex-direction:column;
align-items:center;justify-content:center;font:bold 12px/1.1 sans-serif;color:#222;box-shadow:0 1px 3px rgba(0,0,0,.4)}
.va-cluster small{font-weight:normal;font-size:10px;color:#444}
.va-town{background:rgba(255,255,255,.88);border:1px solid #777;border-radius:3px;padding:1px 4px;
font:11px/1.3 sans-serif;white-space:nowrap;color:#222;pointer-events:none}
.va-rank{background:#7b1fa2;color:#fff;border:2px solid #fff;border-radius:4px;font:bold 11px/16px sans-serif;
text-align:center;box-shadow:0 1px 3px rgba(0,0,0,.5)}
</style>"""


class AssetError(RuntimeError):
    """A map element asks for a web asset that is not vendored (it would load from a CDN)."""


class _Raw(Element):
    """Text put in the page as it is: branca's ``Element(text)`` compiles its text as a Jinja template, which takes
    seconds for the megabytes of a city's villages."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: object) -> str:
        return self.text


class _DataLayer(folium.map.Layer):
    """A layer whose script carries its data: rendered as folium's ``Layer`` and ``JSCSSMixin`` do, except that the
    script goes into the page as it is (``_Raw``), never through the template compiler."""

    def render(self, **kwargs: object) -> None:
        figure = self.get_root()
        for name, url in getattr(self, "default_js", []):
            figure.header.add_child(JavascriptLink(url), name=name)
        for name, url in getattr(self, "default_css", []):
            figure.header.add_child(CssLink(url), name=name)
        if self.show:
            self.add_child(ElementAddToElement(element_name=self.get_name(),
                                               element_parent_name=self._parent.get_name()),
                           name=self.get_name() + "_add")
        figure.script.add_child(_Raw(self._template.module.script(self, kwargs)), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)


class _GeoJsonLayer(_DataLayer):
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
        self.json = script_data(data)
        self.labels = [html.escape(str(label)) for label in labels]
        self.tables_json = script_json(tables or [])
        self.colour = colour
        self.suffix = html.escape(suffix)
        self.dash = dash


def script_json(data: object) -> str:
    """JSON that is safe inside a ``<script>`` element (``<``, ``>``, ``&`` and ``'`` as ``\\u`` escapes), with
    Chinese kept as UTF-8 (half the bytes of ``\\uXXXX``)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def script_data(data: object) -> str:
    """A JavaScript expression for a large value: ``JSON.parse('…')`` around ``script_json`` (backslashes doubled
    for the string literal; ``'`` is already a ``\\u`` escape). Chromium parses JSON text much faster than the same
    data as an object literal, which matters for the megabytes of a province's villages."""
    return "JSON.parse('" + script_json(data).replace("\\", "\\\\") + "')"


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


def _display_outline(geom: object) -> object:
    """A township's outline as the map draws it: parts under 2 % of its largest left out and holes under 2 % of
    their part filled (the approximate areas hold many slivers where villages of two townships interleave; at
    70,000 villages the holes alone were a fifth of the outlines' vertices) and simplified to a three-hundredth of its
    size (at least ``DISPLAY_TOLERANCE_DEG``)."""
    parts = shapely.get_parts(geom)
    if len(parts) > 1:
        area = shapely.area(parts)
        parts = parts[area >= 0.02 * area.max()]
    # holes under 2 % of their part (another township's slivers, whose parts are left out too) are filled
    parts = [p if not len(p.interiors) else shapely.Polygon(
        p.exterior, [r for r in p.interiors if shapely.area(shapely.Polygon(r)) >= 0.02 * p.area]) for p in parts]
    geom = shapely.multipolygons(parts) if len(parts) > 1 else parts[0]
    size = math.sqrt(max(float(shapely.area(geom)), 0.0))
    return shapely.simplify(geom, max(DISPLAY_TOLERANCE_DEG, size / 300), preserve_topology=True)


def _township_totals(audited: pd.DataFrame) -> pd.DataFrame:
    """Villages, compliant, non-compliant, unknown and shortfall per township (one row per township name)."""
    return township_summary(audited).groupby("township", sort=False).agg(
        villages=("villages", "sum"), compliant=("compliant", "sum"), non_compliant=("non_compliant", "sum"),
        unknown=("unknown", "sum"), shortfall_m2=("shortfall_m2", "sum"))


def _compliance_rate(totals: pd.Series) -> float | None:
    """达标 ÷ (达标 + 不达标) of a row of :func:`_township_totals`; None when no village could be judged."""
    judged = int(totals["compliant"] + totals["non_compliant"])
    return float(totals["compliant"]) / judged if judged else None


def _township_areas(areas: gpd.GeoDataFrame):
    """(row, township name, geometry) of each township area with a geometry (an unnamed one is 未分乡镇)."""
    for rec in areas.itertuples(index=False):
        geom = rec.geometry
        if geom is None or geom.is_empty:
            continue
        yield rec, (rec.township if isinstance(rec.township, str) and rec.township else UNTYPED), geom


def _lat_lng(x: float, y: float, *, gcj02: bool) -> tuple[float, float]:
    """A WGS84 point as the map shows it (GCJ-02 tiles shift it), rounded to 5 decimals."""
    if gcj02:
        gx, gy = coords.wgs84_to_gcj02(np.array([x]), np.array([y]))
        x, y = float(gx[0]), float(gy[0])
    return round(float(y), 5), round(float(x), 5)


def township_features(areas: gpd.GeoDataFrame, audited: pd.DataFrame, *, gcj02: bool = False) -> dict:
    """Township polygons as a GeoJSON FeatureCollection coloured by compliance rate (``c``) with an escaped
    tooltip ``t`` (name, rate, counts; 近似 when the area is approximate)."""
    summary = _township_totals(audited)
    features = []
    for rec, name, geom in _township_areas(areas):
        geom = _display_outline(geom)
        if gcj02:
            geom = shapely.transform(geom, lambda xy: np.column_stack(coords.wgs84_to_gcj02(xy[:, 0], xy[:, 1])))
        approximate = bool(getattr(rec, "approximate", False))
        if name in summary.index:
            s = summary.loc[name]
            rate = _compliance_rate(s)
            figures = (f"村庄 {int(s['villages'])} · 达标 {int(s['compliant'])} · 不达标 {int(s['non_compliant'])}"
                       f" · 无法判定 {int(s['unknown'])}")
        else:
            rate, figures = None, "名册中没有该乡镇的村庄"
        rate_text = f"达标率 {rate:.1%}" if rate is not None else "达标率 —"
        label = html.escape(name) + ("（近似）" if approximate else "")
        features.append({
            "type": "Feature",
            "geometry": json.loads(shapely.to_geojson(shapely.transform(geom, lambda xy: np.round(xy, 5)))),
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



class _VillageClusters(JSCSSMixin, _DataLayer):
    """The villages as columns, clustered in the browser by supercluster (vendored) below ``SINGLE_ZOOM``.

    The index is built once from the columns; at each ``moveend`` only what the view holds is drawn: cluster icons
    (DOM, in a group whose clicks zoom in) and single villages (canvas circle markers, in the feature group whose
    clicks reach the page as a village click). Markers still in view are kept, so an open popup survives the pan
    that opens it. Popups and tooltips are made when first needed from pre-escaped texts. ``window.vaVillages`` is
    the handle the tests and the bench use: ``vaReady``, ``vaCount``, ``vaData``, ``getLayers()`` (every village as
    ``{options: {va}, getLatLng()}``)."""

    default_js = [("supercluster", "https://unpkg.com/supercluster@9.1.0/dist/supercluster.min.js")]
    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function () {
    var d = {{ this.json }}, n = d.dlat.length, labels = {{ this.labels|tojson }}, colours = d.colours;
    (function () {  // the differences of packed_columns added up again
        var lat = new Array(n), lng = new Array(n), a = 0, b = 0, k;
        for (k = 0; k < n; k++) { a += d.dlat[k]; b += d.dlng[k]; lat[k] = a / 1e5; lng[k] = b / 1e5; }
        d.lat = lat; d.lng = lng; delete d.dlat; delete d.dlng;
        if (d.dcode) {
            var code = new Array(n), c = 0;
            for (k = 0; k < n; k++) { c += d.dcode.d[k]; code[k] = String(c).padStart(d.dcode.w, "0"); }
            d.code = code; delete d.dcode;
        }
    })();
    var map = {{ this._parent.get_name() }}, single = {{ this.single_zoom }};
    var fmt = function (v, digits) {
        return v === null ? "\u2014" : v.toLocaleString("zh-CN", {maximumFractionDigits: digits});
    };
    var popup = function (i) {
        var values = [d.code[i], d.tables.t[d.t[i]], d.tables.y[d.y[i]], fmt(d.h[i], 0), fmt(d.a[i], 2),
                      fmt(d.q[i], 2), fmt(d.g[i], 2), d.tables.s[d.s[i]], d.tables.e[d.e[i]]];
        var rows = "";
        for (var k = 0; k < labels.length; k++) { rows += "<tr><th>" + labels[k] + "</th><td>" + values[k] + "</td></tr>"; }
        return "<b>" + d.n[i] + "</b><table class=\\"va-popup\\">" + rows + "</table>";
    };
    // Clusters are made at zooms below `single`; from it on every village is its own circle. The tile extent is
    // Leaflet's 256 px, so the radius is in screen pixels.
    var points = new Array(n);
    for (var i = 0; i < n; i++) {
        points[i] = {type: "Feature", properties: {i: i}, geometry: {type: "Point", coordinates: [d.lng[i], d.lat[i]]}};
    }
    var index = new Supercluster({radius: {{ this.radius }}, extent: 256, maxZoom: single - 1, minPoints: 2,
        map: function (p) { return {short: d.s[p.i] === d.short ? 1 : 0}; },
        reduce: function (acc, p) { acc.short += p.short; }}).load(points);
    points = null;
    var layer = L.featureGroup(), clusters = L.layerGroup().addTo(layer), circles = {}, shown = {};
    // A click (or a finger) within 6 px of a village's circle is a click on it.
    var renderer = map.getRenderer(L.circleMarker([0, 0]));
    renderer.options.tolerance = Math.max(renderer.options.tolerance || 0, 6);
    var circle = function (i) {
        return circles[i] || (circles[i] = L.circleMarker([d.lat[i], d.lng[i]], {
            radius: d.r[i], color: "#333333", weight: 0.8, fillColor: colours[d.s[i]], fillOpacity: 0.85, va: i}));
    };
    var cluster = function (f) {
        var p = f.properties, count = p.point_count, share = p.short / count;
        var size = Math.round(34 + 8 * Math.log10(count));
        var colour = share >= 0.4 ? "{{ this.high }}" : share >= 0.2 ? "{{ this.mid }}" : "{{ this.low }}";
        var latlng = L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]);
        var icon = L.divIcon({
            html: "<div class=\\"va-cluster\\" style=\\"width:" + size + "px;height:" + size + "px;border-color:" +
                  colour + "\\">" + count.toLocaleString("zh-CN") + "<small>" + Math.round(share * 100) + "%</small></div>",
            className: "", iconSize: L.point(size, size)});
        var marker = L.marker(latlng, {icon: icon, keyboard: false});
        marker.vaZoom = function () {  // into the cluster, to the zoom at which it splits
            map.setView(latlng, Math.min(index.getClusterExpansionZoom(p.cluster_id), single), {animate: false});
        };
        return marker.on("click", marker.vaZoom);
    };
    var draw = function () {
        if (!map.hasLayer(layer)) { return; }
        var b = map.getBounds().pad(0.25), next = {}, key, f;
        var found = index.getClusters([Math.max(b.getWest(), -180), Math.max(b.getSouth(), -85),
                                       Math.min(b.getEast(), 180), Math.min(b.getNorth(), 85)], map.getZoom());
        for (var k = 0; k < found.length; k++) {
            f = found[k];
            key = f.properties.cluster ? "c" + f.properties.cluster_id : "p" + f.properties.i;
            next[key] = shown[key] || (f.properties.cluster ? cluster(f) : circle(f.properties.i));
        }
        for (key in shown) {
            if (!(key in next)) { (key[0] === "c" ? clusters : layer).removeLayer(shown[key]); }
        }
        for (key in next) {
            if (!(key in shown)) { (key[0] === "c" ? clusters : layer).addLayer(next[key]); }
        }
        shown = next;
    };
    layer.on("click", function (e) {
        var i = e.layer.options.va;
        if (i === undefined) { return; }
        if (!e.layer.getPopup()) { e.layer.bindPopup(popup(i), {maxWidth: 380}); }
        e.layer.openPopup();
    });
    layer.on("mouseover", function (e) {
        var i = e.layer.options.va;
        if (i === undefined || e.layer.getTooltip()) { return; }
        e.layer.bindTooltip(d.n[i] + " \u00b7 " + d.tables.s[d.s[i]], {sticky: true}).openTooltip(e.latlng);
    });
    map.on("moveend", draw);
    layer.on("add", draw);
    // st_folium, once the page's script has run, listens to the clicks of every layer the map then holds: the
    // first clusters and circles, drawn when the script fits the map to the villages, are given back their own
    // listeners only (a cluster is not a village; a circle's click reaches the page through the group).
    setTimeout(function () {
        for (var key in shown) {
            shown[key].off("click");
            if (shown[key].vaZoom) { shown[key].on("click", shown[key].vaZoom); }
        }
    }, 0);
    window.vaVillages = {
        vaCount: n, vaReady: true, vaData: d, index: index, layer: layer,
        getLayers: function () {
            var all = new Array(n);
            for (var i = 0; i < n; i++) {
                all[i] = {options: {va: i}, getLatLng: (function (i) { return function () {
                    return L.latLng(d.lat[i], d.lng[i]); }; })(i)};
            }
            return all;
        }
    };
    return layer;
})();
{% endmacro %}
""")

    def __init__(self, columns: dict, *, name: str, show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "VillageClusters"
        self.json = script_data(packed_columns(columns))
        self.labels = [html.escape(label) for _, label in POPUP_FIELDS]
        self.single_zoom = SINGLE_ZOOM
        self.radius = CLUSTER_RADIUS_PX
        self.low, self.mid, self.high = RATE_CLASSES[0][1], RATE_CLASSES[2][1], RATE_CLASSES[3][1]


class _MarkersLayer(_DataLayer):
    """Labels or numbered markers (``L.divIcon``) from pre-escaped HTML: ``[[lat, lng, html, popup|null, w, h]]``;
    ``min_zoom``/``max_zoom`` (``null``: none) bound the zooms at which the layer shows while it is switched on."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function () {
    var items = {{ this.json }}, layer = L.layerGroup();
    items.forEach(function (it) {
        var m = L.marker([it[0], it[1]], {icon: L.divIcon({className: "", html: it[2], iconSize: null,
                                                            iconAnchor: [it[4] / 2, it[5] / 2]}),
                                          interactive: it[3] !== null, keyboard: false});
        if (it[3] !== null) { m.bindPopup(it[3], {maxWidth: 380}); }
        layer.addLayer(m);
    });
    var map = {{ this._parent.get_name() }}, lo = {{ this.min_zoom|tojson }}, hi = {{ this.max_zoom|tojson }};
    var wanted = {{ this.show|tojson }};
    map.on("overlayadd", function (e) { if (e.layer === layer) { wanted = true; } });
    map.on("overlayremove", function (e) { if (e.layer === layer) { wanted = false; } });
    map.on("zoomend", function () {
        var z = map.getZoom(), fits = (lo === null || z >= lo) && (hi === null || z < hi);
        if (wanted && fits && !map.hasLayer(layer)) { layer.addTo(map); }
        if (!fits && map.hasLayer(layer)) { map.removeLayer(layer); }
    });
    return layer;
})();
{% endmacro %}
""")

    def __init__(self, items: list, *, name: str, show: bool = True, min_zoom: int | None = None,
                 max_zoom: int | None = None) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "MarkersLayer"
        self.json = script_json(items)
        self.min_zoom, self.max_zoom = min_zoom, max_zoom


class _ClearAtZoom(MacroElement):
    """Draws the township areas almost clear from ``SINGLE_ZOOM`` on, so that a township seen close up is not one
    shaded block over its villages."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
    var map = {{ this._parent.get_name() }}, layer = {{ this.layer.get_name() }};
    var restyle = function () {
        var close = map.getZoom() >= {{ this.zoom }};
        layer.setStyle({fillOpacity: close ? 0.04 : 0.35, weight: close ? 2 : 1.2});
        // up close a click is for a village, never for the township around it
        layer.eachLayer(function (l) { l.options.interactive = !close; });
    };
    map.on("zoomend", restyle);
    map.whenReady(restyle);
})();
{% endmacro %}
""")

    def __init__(self, layer: MacroElement, zoom: int) -> None:
        super().__init__()
        self._name = "ClearAtZoom"
        self.layer, self.zoom = layer, zoom  # the element, not its name: streamlit_folium renames elements


_NEEDS_ESCAPE = re.compile(r"[<>&\"'\u2028\u2029]")


def _texts(values: object) -> list[str]:
    """Escaped display texts of many values at once (each distinct value formatted once; plain text that needs
    no escaping, such as village codes, is kept as it is)."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    table = np.array([u if type(u) is str and not _NEEDS_ESCAPE.search(u) else _fmt(u) for u in uniques] + ["—"],
                     dtype=object)
    return table[codes].tolist()


def _numbers(values: pd.Series, digits: int) -> list:
    arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    arr = np.round(arr, digits)
    return [None if math.isnan(v) else (int(v) if digits == 0 else float(v)) for v in arr.tolist()]


def _indexed(values: np.ndarray) -> tuple[list[int], list[str]]:
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    return codes.tolist(), [str(u) for u in uniques]


def village_columns(audited: gpd.GeoDataFrame, *, gcj02: bool = False, type_names: dict[str, str] | None = None,
                    radius: np.ndarray | None = None) -> dict:
    """Audited villages with coordinates as the map's columns: ``i`` (position in ``audited``; null when every
    village has coordinates, the positions then being 0, 1, 2, …), ``lat``/``lng``
    (WGS84, or GCJ-02 when ``gcj02``; 5 decimals, ~1 m), ``r`` radius, ``s`` status index, ``n`` name and
    ``code`` (escaped), ``t``/``y``/``e`` indexes into ``tables`` (township, type name, reason), ``h``
    households, ``a`` floor area, ``q`` required and ``g`` shortfall (m²; null when missing). Vectorised."""
    geom = audited.geometry
    keep = (~(geom.isna() | geom.is_empty)).to_numpy()
    rows = audited.loc[keep]
    x, y = _display_xy(rows.geometry, gcj02=gcj02)
    radius = marker_radius(rows["gap_m2"]) if radius is None else np.asarray(radius)[keep]
    statuses = list(STATUS_ZH)
    status = pd.Categorical(rows["area_status"].astype(object), categories=statuses).codes
    township = rows["township"].astype(object).where(rows["township"].notna(), UNTYPED).to_numpy() \
        if "township" in rows else np.full(len(rows), UNTYPED, dtype=object)
    kinds = rows["village_type"].astype(object).to_numpy() if "village_type" in rows else np.full(len(rows), None)
    kinds = _texts(pd.Series(kinds, dtype=object).map(lambda v: (type_names or {}).get(v, v)))
    t, towns = _indexed(np.array(_texts(township), dtype=object))
    yk, types = _indexed(np.array(kinds, dtype=object))
    e, reasons = _indexed(np.array(_texts(rows["reason"].astype(object).to_numpy()), dtype=object))
    codes = rows["village_code"].astype(object).to_numpy() if "village_code" in rows else np.full(len(rows), None)
    return {
        "i": None if keep.all() else np.flatnonzero(keep).tolist(),
        "lat": np.round(y, 5).tolist(), "lng": np.round(x, 5).tolist(),
        "r": np.round(radius, 1).tolist(), "s": status.tolist(),
        "n": _texts(rows["village_name"].astype(object).to_numpy()), "code": _texts(codes), "t": t, "y": yk, "e": e,
        "h": _numbers(rows["households"], 0), "a": _numbers(rows["floor_area_m2"], 2),
        "q": _numbers(rows["required_m2"], 2), "g": _numbers(rows["gap_m2"], 2),
        "tables": {"t": towns, "y": types, "e": reasons, "s": [STATUS_ZH[c] for c in statuses]},
        "colours": [STATUS_COLOURS[c] for c in statuses], "short": statuses.index("non_compliant"),
    }


def packed_columns(columns: dict) -> dict:
    """``village_columns`` as the page receives them, a quarter smaller for a province: ``lat``/``lng`` as
    ``dlat``/``dlng``, differences of 1e-5° from the previous village (villages listed near their neighbours give
    short numbers), and ``code``, when every code is ASCII digits of one width up to 15 (exact in a JavaScript
    number), as ``dcode`` ``{"w": width, "d": differences}`` (registries listed by code give 1s). The page adds
    them up again before anything else reads the columns."""
    out = dict(columns)
    for key in ("lat", "lng"):
        fixed = np.round(np.asarray(out.pop(key), dtype=float) * 1e5).astype(np.int64)
        out["d" + key] = np.diff(fixed, prepend=0).tolist()
    codes = pd.Series(out["code"], dtype=object)
    width = int(codes.str.len().max()) if len(codes) else 0
    if (len(codes) and width <= 15 and codes.str.fullmatch(r"[0-9]+").fillna(False).all()
            and (codes.str.len() == width).all()):
        del out["code"]
        out["dcode"] = {"w": width, "d": np.diff(codes.astype(np.int64).to_numpy(), prepend=0).tolist()}
    return out


def township_labels(areas: gpd.GeoDataFrame, audited: pd.DataFrame, *, gcj02: bool = False) -> list:
    """A summary label per township (name, compliance rate, shortfall) at a point inside its area, with the
    full figures as its popup: ``[[lat, lng, html, popup, width, height]]`` (escaped)."""
    summary = _township_totals(audited)
    items = []
    for _rec, name, geom in _township_areas(areas):
        if name not in summary.index:
            continue
        s = summary.loc[name]
        share = _compliance_rate(s)
        rate = f"{share:.0%}" if share is not None else "—"
        point = shapely.point_on_surface(geom)
        label = (f'<div class="va-town"><b>{html.escape(name)}</b> 达标率 {rate} · 缺口 {float(s["shortfall_m2"]):,.0f} ㎡'
                 "</div>")
        items.append([*_lat_lng(point.x, point.y, gcj02=gcj02), label, None, 150, 18])
    return items


def ranking_markers(audited: gpd.GeoDataFrame, ranking: object, *, top: int = RANKING_TOP,
                    gcj02: bool = False) -> list:
    """The first ``top`` villages of a ``BuildRanking`` of ``audited`` as numbered markers with a popup."""
    rows = ranking.villages.head(top)
    positions = list(ranking.positions)[:len(rows)]
    geom = audited.geometry.iloc[positions] if positions else audited.geometry.iloc[0:0]
    items = []
    for rec, g in zip(rows.itertuples(index=False), geom, strict=True):
        if g is None or g.is_empty:
            continue
        per = "—" if pd.isna(rec.gap_per_household_m2) else f"{rec.gap_per_household_m2:.3f}"
        cost = "" if pd.isna(rec.cost_yuan) else f"<tr><th>投资估算（元）</th><td>{rec.cost_yuan:,.0f}</td></tr>"
        popup = (f"<b>建设优先第 {rec.rank} 名：{_fmt(rec.village_name)}</b><table class=\"va-popup\">"
                 f"<tr><th>乡镇（街道）</th><td>{_fmt(rec.township)}（乡镇内第 {rec.township_rank} 名）</td></tr>"
                 f"<tr><th>面积缺口（㎡）</th><td>{_fmt(rec.gap_m2, 2)}</td></tr>"
                 f"<tr><th>户均缺口（㎡/户）</th><td>{per}</td></tr>{cost}</table>")
        width = 20 if rec.rank < 100 else 28
        items.append([*_lat_lng(g.x, g.y, gcj02=gcj02),
                      f'<div class="va-rank" style="width:{width}px">{rec.rank}</div>', popup, width + 4, 20])
    return items


def legend_html(*, townships: bool = False, approximate: bool = False, ranking: bool = False) -> str:
    """The map's legend as HTML for the page around the map (it is not drawn on the map)."""
    parts = ['<div class="va-legend" style="display:flex;flex-wrap:wrap;gap:4px 18px;box-shadow:none;padding:2px 0">']
    dots = "".join(f'<span><i class="dot" style="background:{STATUS_COLOURS[c]}"></i>{html.escape(zh)}</span> '
                   for c, zh in STATUS_ZH.items())
    parts.append(f"<span><b>村庄</b>（圆越大缺口越大）：{dots}</span>")
    rings = "".join(f'<span><i class="dot" style="background:#fff;border:3px solid {colour}"></i>{label}</span> '
                    for label, colour in (("不达标占 40% 以上", RATE_CLASSES[3][1]), ("20%–40%", RATE_CLASSES[2][1]),
                                          ("20% 以下", RATE_CLASSES[0][1])))
    parts.append(f"<span><b>村庄聚合</b>（数字为村数，放大到 {SINGLE_ZOOM} 级显示单个村）：{rings}</span>")
    if townships:
        rows = "".join(f'<span><i style="background:{colour}"></i>{html.escape(label)}</span> '
                       for _, colour, label in RATE_CLASSES)
        rows += f'<span><i style="background:{NO_RATE_COLOUR}"></i>无可判定村庄</span>'
        title = "乡镇达标率" + (f"（{APPROXIMATE_NOTE}）" if approximate else "")
        parts.append(f"<span><b>{html.escape(title)}</b>：{rows}</span>")
    if ranking:
        parts.append('<span><b>建设优先</b>：<i style="background:#7b1fa2"></i>序号为全县排序</span>')
    parts.append("</div>")
    return _POPUP_CSS + "".join(parts)


def audit_map(audited: gpd.GeoDataFrame, *, townships: gpd.GeoDataFrame | None = None, basemap: str = "osm",
              type_names: dict[str, str] | None = None, assets_url: str | None = None,
              height: int | str = "100%", ranking: object | None = None, ranking_top: int = RANKING_TOP,
              show_ranking: bool = False) -> folium.Map:
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
    ranking
        A ``BuildRanking`` of ``audited`` (``audit.area.ranking.build_ranking``): its first ``ranking_top``
        villages as a layer of numbered markers, switched on when ``show_ranking``.
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

    if townships is not None and len(townships):
        approximate = bool(townships["approximate"].any()) if "approximate" in townships else False
        name = "乡镇（近似范围）" if approximate else "乡镇边界"
        areas = _GeoJsonLayer(township_features(townships, audited, gcj02=bm.gcj02), name=name,
                              dash="4 3" if approximate else None)
        areas.add_to(m)
        _ClearAtZoom(areas, SINGLE_ZOOM).add_to(m)
        _MarkersLayer(township_labels(townships, audited, gcj02=bm.gcj02), name="乡镇汇总（达标率、缺口）",
                      max_zoom=SINGLE_ZOOM).add_to(m)

    radius = marker_radius(audited["gap_m2"])
    columns = village_columns(audited, gcj02=bm.gcj02, type_names=type_names, radius=radius)
    _VillageClusters(columns, name=f"村庄（{len(columns['lat']):,} 个，放大后显示单个村）").add_to(m)
    if ranking is not None and len(ranking.villages):
        top = min(ranking_top, len(ranking.villages))
        _MarkersLayer(ranking_markers(audited, ranking, top=top, gcj02=bm.gcj02), name=f"建设优先（前 {top} 名）",
                      show=show_ranking).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
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
