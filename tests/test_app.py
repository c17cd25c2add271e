"""The app through Streamlit's AppTest (a real script run, no browser)."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


def test_demo_county_is_shown():
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "演示数据" in at.info[0].value
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["村庄数"] == "400"
    assert int(metrics["不达标"]) > 0 and metrics["达标率"].endswith("%")
    assert len(at.dataframe) == 2


@pytest.mark.parametrize("crs", ["wgs84", "bd09"])
def test_changing_the_coordinate_system_reruns(crs):
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.selectbox(key="crs").select(crs).run()
    assert not at.exception
    assert at.metric[0].value == "400"
