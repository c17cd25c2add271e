"""GCJ-02 / BD-09 conversion against prcoords' iterative ("bored") inverse as the reference."""

import numpy as np
import prcoords
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.area import coords

# (lat, lon) in WGS84: Liaocheng, Beijing, Kashgar, Harbin, Sanya.
PLACES = [(36.4567, 115.9853), (39.9087, 116.3975), (39.4704, 75.9898), (45.8038, 126.5350), (18.2528, 109.5120)]


def metres(lon1, lat1, lon2, lat2):
    k = 111_320.0
    return np.hypot((lon1 - lon2) * k * np.cos(np.radians(lat1)), (lat1 - lat2) * k)


@pytest.mark.parametrize(("lat", "lon"), PLACES)
def test_forward_matches_reference(lat, lon):
    ref = prcoords.wgs_gcj(prcoords.Coords(lat, lon))
    glon, glat = coords.wgs84_to_gcj02(np.array([lon]), np.array([lat]))
    assert metres(glon[0], glat[0], ref.lon, ref.lat) < 0.01
    ref_bd = prcoords.wgs_bd(prcoords.Coords(lat, lon))
    blon, blat = coords.wgs84_to_bd09(np.array([lon]), np.array([lat]))
    assert metres(blon[0], blat[0], ref_bd.lon, ref_bd.lat) < 0.01


@pytest.mark.parametrize(("lat", "lon"), PLACES)
def test_inverse_within_a_metre_of_the_reference_inverse(lat, lon):
    g = prcoords.wgs_gcj(prcoords.Coords(lat, lon))
    ref = prcoords.gcj_wgs_bored(g)
    wlon, wlat = coords.gcj02_to_wgs84(np.array([g.lon]), np.array([g.lat]))
    assert metres(wlon[0], wlat[0], ref.lon, ref.lat) < 1.0
    assert metres(wlon[0], wlat[0], lon, lat) < 0.01           # and it really is the inverse
    b = prcoords.wgs_bd(prcoords.Coords(lat, lon))
    ref_b = prcoords.bd_wgs_bored(b)
    wlon, wlat = coords.bd09_to_wgs84(np.array([b.lon]), np.array([b.lat]))
    assert metres(wlon[0], wlat[0], ref_b.lon, ref_b.lat) < 1.0
    assert metres(wlon[0], wlat[0], lon, lat) < 0.01


def test_one_step_inverse_would_be_metres_off():
    lon, lat = np.array([115.9853]), np.array([36.4567])
    glon, glat = coords.wgs84_to_gcj02(lon, lat)
    one_step = (2 * glon - coords.wgs84_to_gcj02(glon, glat)[0], 2 * glat - coords.wgs84_to_gcj02(glon, glat)[1])
    assert metres(one_step[0][0], one_step[1][0], lon[0], lat[0]) > 0.05
    wlon, wlat = coords.gcj02_to_wgs84(glon, glat)
    assert metres(wlon[0], wlat[0], lon[0], lat[0]) < 0.001


def test_outside_china_is_unchanged():
    lon, lat = np.array([2.35]), np.array([48.85])
    assert coords.wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert coords.gcj02_to_wgs84(lon, lat)[0] == pytest.approx(lon)


def test_unknown_crs():
    with pytest.raises(ValueError, match="'crs' should be one of"):
        coords.to_wgs84(np.array([1.0]), np.array([1.0]), "epsg3857")


@settings(deadline=None, max_examples=200)
@given(lon=st.floats(min_value=74, max_value=134), lat=st.floats(min_value=18, max_value=53))
def test_round_trip_everywhere_in_china(lon, lat):
    for forward, inverse in ((coords.wgs84_to_gcj02, coords.gcj02_to_wgs84), (coords.wgs84_to_bd09, coords.bd09_to_wgs84)):
        back = inverse(*forward(np.array([lon]), np.array([lat])))
        assert metres(back[0][0], back[1][0], lon, lat) < 0.01
