"""Township areas for the map: the loaded boundary layer, or, when there is none, approximate areas built from
the village points (Voronoi cells of the villages, merged per township and clipped to the county's hull).

The approximation is only a picture of which villages belong together: it is labelled 近似 wherever it is shown
and is never used to measure anything.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from audit.area.floor_area import UNTYPED

APPROXIMATE_NOTE = "近似范围（由村庄位置推算，非行政边界）"


def townships_from_villages(villages: gpd.GeoDataFrame, *, margin_m: float | None = None) -> gpd.GeoDataFrame:
    """Approximate township areas from village points.

    Each village gets its Voronoi cell (in a metric projection); cells are merged per township and clipped to
    the convex hull of all villages grown by ``margin_m`` (default: twice the median distance between
    neighbouring villages, so that edge villages sit inside their area).

    Returns
    -------
    GeoDataFrame
        ``township``, ``villages`` (points used), ``approximate`` (always True), ``geometry`` in WGS84; empty
        when no village has coordinates.
    """
    if villages.crs is None:
        raise ValueError("villages must have a CRS (the registry is WGS84, EPSG:4326)")
    geom = villages.geometry
    has_point = (~(geom.isna() | geom.is_empty)).to_numpy()
    township = (villages["township"] if "township" in villages else pd.Series(None, index=villages.index))
    township = township.astype(object).where(township.notna(), UNTYPED).to_numpy()[has_point]
    points = gpd.GeoSeries(geom.to_numpy()[has_point], crs=villages.crs)
    empty = gpd.GeoDataFrame({"township": [], "villages": [], "approximate": []}, geometry=[], crs="EPSG:4326")
    if len(points) == 0:
        return empty
    metric = points.estimate_utm_crs()
    xy = points.to_crs(metric)
    coords = shapely.get_coordinates(xy.to_numpy())
    unique, first = np.unique(np.round(coords, 1), axis=0, return_index=True)
    if margin_m is None:
        margin_m = 2.0 * _median_neighbour_distance(unique) if len(unique) > 1 else 1000.0
    hull = shapely.convex_hull(shapely.multipoints(unique)).buffer(margin_m)

    if len(unique) >= 3:
        cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(unique), extend_to=hull))
        # Match each cell to the point inside it (Voronoi cells hold their own point in the interior).
        cell_gs = gpd.GeoSeries(cells, crs=metric)
        pts = gpd.GeoSeries(shapely.points(unique), crs=metric)
        point_idx, cell_idx = cell_gs.sindex.query(pts, predicate="within")
        cell_of = np.full(len(unique), -1)
        cell_of[point_idx] = cell_idx
        geoms = np.where(cell_of >= 0, cells[np.maximum(cell_of, 0)], shapely.buffer(shapely.points(unique), margin_m))
    else:
        geoms = shapely.buffer(shapely.points(unique), margin_m)
    # Points at the same place share a cell: it goes to the first village there.
    frame = gpd.GeoDataFrame({"township": township[first]}, geometry=geoms, crs=metric)
    counts = pd.Series(township).value_counts()
    merged = frame.dissolve(by="township", as_index=False, sort=True)
    merged["geometry"] = merged.geometry.intersection(hull)
    merged["villages"] = merged["township"].map(counts).astype(int)
    merged["approximate"] = True
    return merged[["township", "villages", "approximate", "geometry"]].to_crs("EPSG:4326").reset_index(drop=True)


def _median_neighbour_distance(xy: np.ndarray) -> float:
    tree = shapely.STRtree(shapely.points(xy))
    _, dist = tree.query_nearest(shapely.points(xy), exclusive=True, return_distance=True)
    return float(np.median(dist)) if len(dist) else 1000.0
