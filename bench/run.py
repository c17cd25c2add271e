"""Speed goals of VillageAudit, printed as figures (run with `make bench`).

- area audit of 1,000,000 generated villages (compute + township and county summaries; no file reading):
  target ≤ 1 s median;
- XLSX export of 10,000 villages: target ≤ 5 s median.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from audit.area.export import audit_to_xlsx
from audit.area.floor_area import area_audit, county_summary, township_summary
from audit.rules import load_rules


def villages(n: int, *, seed: int = 0) -> gpd.GeoDataFrame:
    """n canonical villages as registry_from_file returns them (about 1 % with a missing area)."""
    rng = np.random.default_rng(seed)
    central = rng.random(n) < 0.15
    households = rng.lognormal(np.log(np.where(central, 1300, 420)), 0.45).round()
    area = (np.maximum(np.where(central, 500, 100), households * 0.3) * rng.normal(1.22, 0.28, n)).round(1)
    area[rng.random(n) < 0.01] = np.nan
    problems = [[] for _ in range(n)]
    for i in np.flatnonzero(np.isnan(area)):
        problems[i] = [f"第{i + 2}行 列「面积」值「」：面积缺失，面积无法判定"]
    lon, lat = 115.98 + rng.normal(0, 0.3, n), 36.45 + rng.normal(0, 0.3, n)
    return gpd.GeoDataFrame({
        "village_code": pd.Series(np.arange(n) + 371500000000).astype(str),
        "village_name": pd.Series(np.arange(n)).map(lambda i: f"村{i}") if n <= 100_000 else "村",
        "township": pd.Series(rng.integers(0, 300, n)).map(lambda t: f"镇{t}"),
        "county": pd.Series(rng.integers(0, 20, n)).map(lambda c: f"县{c}"),
        "is_central": central, "village_type": np.where(central, "central", "ordinary"),
        "households": households, "floor_area_m2": area, "excel_row": np.arange(n) + 2, "problems": problems,
    }, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> int:
    rules = load_rules()
    big = villages(1_000_000)

    def audit_million() -> None:
        audited = area_audit(big, rules=rules)
        township_summary(audited)
        county_summary(audited)

    audit_times = timed(audit_million, 5)
    small = area_audit(villages(10_000, seed=1), rules=rules)
    with tempfile.TemporaryDirectory() as tmp:
        xlsx_times = timed(lambda: audit_to_xlsx(small, Path(tmp) / "b.xlsx", rules=rules, source="bench"), 3)
    rows = [("area audit, 1,000,000 villages (compute + summaries)", audit_times, 1.0),
            ("XLSX export, 10,000 villages", xlsx_times, 5.0)]
    print(f"{'benchmark':<56} {'median s':>9} {'min s':>7} {'target s':>9}  result")
    failed = False
    for name, times, target in rows:
        med = statistics.median(times)
        failed |= med > target
        print(f"{name:<56} {med:>9.3f} {min(times):>7.3f} {target:>9.1f}  {'ok' if med <= target else 'SLOW'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
