"""Counties in the data model: a city's registry of two counties, accounts limited to a county, enforced by the store
(on SQLite and PostgreSQL), and migration 0007 on a store with data."""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import sqlalchemy as sa
from shapely.geometry import Point

from audit.errors import AccessError, AuditError
from audit.records.access import SYSTEM, User, villages_in_scope
from audit.records.accounts import add_user, authenticate, disable_user, set_role, users_table
from audit.records.db import Store, alembic_config, open_store, schema_revision, upgrade, write_transaction
from audit.records.inspections import (
    inspection_from_store,
    inspections_table,
    photo_for_user,
    submit_inspection,
    village_registry,
)
from audit.records.ledger import ledger_from_store
from audit.records.reviews import ConfirmPlaque, review_inspection
from audit.rules import Rules
from tests.test_store import AUDITED, HEAD, jpeg_bytes, legacy_inspection, model_report

PW = "county-password-2026"
# (code, name, township, county): both counties have a 城关镇, as real counties do.
CITY = [("101", "王庄村", "城关镇", "甲县"), ("102", "李庄村", "河口镇", "甲县"),
        ("201", "张庄村", "城关镇", "乙县"), ("202", "赵庄村", "柳林镇", "乙县")]


def city_registry():
    frame = pd.DataFrame(CITY, columns=["village_code", "village_name", "township", "county"])
    sha = hashlib.sha256(repr(CITY).encode()).hexdigest()
    return village_registry(frame, sha256=sha, source="市名册.xlsx")


def city_villages() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"village_code": [c for c, *_ in CITY], "village_name": [n for _, n, *_ in CITY],
                             "township": [t for *_, t, _ in CITY], "county": [c for *_, c in CITY]},
                            geometry=[Point(116.0, 39.0 + i / 100) for i in range(len(CITY))], crs="EPSG:4326")


@pytest.fixture
def store(tmp_path: Path, backend_url: str | None, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("VILLAGE_AUDIT_BCRYPT_ROUNDS", "4")
    s = open_store(data_dir=tmp_path / "data")
    yield s
    s.close()


@pytest.fixture
def people(store: Store) -> dict[str, User]:
    add_user(store, "city", PW, role="admin", display_name="市管理员", by=SYSTEM)
    add_user(store, "jia", PW, role="admin", counties=["甲县"], display_name="甲县管理员", by=SYSTEM)
    add_user(store, "yi", PW, role="admin", counties=["乙县"], display_name="乙县管理员", by=SYSTEM)
    add_user(store, "jia_cg", PW, role="inspector", townships=["城关镇"], counties=["甲县"], by=SYSTEM)
    add_user(store, "yi_plan", PW, role="planner", counties=["乙县"], by=SYSTEM)
    return {name: authenticate(store, name, PW) for name in ("city", "jia", "yi", "jia_cg", "yi_plan")}


def _submit(store: Store, rules: Rules, code: str, seed: int, user: User = SYSTEM) -> str:
    data = jpeg_bytes(seed)
    name = next(n for c, n, *_ in CITY if c == code)
    return submit_inspection(store, model_report(data, rules, code=code, name=name), [data], user=user,
                             registry=city_registry(), audited=AUDITED)


def test_a_county_administrator_cannot_read_the_other_countys_villages(store: Store, people: dict[str, User],
                                                                        rules: Rules) -> None:
    ids = {code: _submit(store, rules, code, seed) for seed, (code, *_) in enumerate(CITY, start=300)}
    stored = inspection_from_store(store, ids["201"], user=SYSTEM)
    assert (stored.county, stored.township) == ("乙县", "城关镇")  # the registry's county, kept with the record

    jia, yi, city = people["jia"], people["yi"], people["city"]
    assert sorted(inspections_table(store, user=jia)["village_code"]) == ["101", "102"]
    assert sorted(inspections_table(store, user=yi)["village_code"]) == ["201", "202"]
    assert sorted(inspections_table(store, user=people["yi_plan"])["village_code"]) == ["201", "202"]
    assert sorted(inspections_table(store, user=city)["village_code"]) == ["101", "102", "201", "202"]

    with pytest.raises(AccessError, match="只负责 甲县，无权对「乙县」的村庄查看核查记录"):
        inspection_from_store(store, ids["201"], user=jia)
    assert inspection_from_store(store, ids["101"], user=jia).village_name == "王庄村"
    other_photo = inspection_from_store(store, ids["202"], user=SYSTEM).photos[0].sha256
    with pytest.raises(AccessError, match="乙县"):
        photo_for_user(store, jia, other_photo)
    assert photo_for_user(store, yi, other_photo)
    plaque = stored.plaques[0].id
    with pytest.raises(AccessError, match="乙县"):
        review_inspection(store, ids["201"], [ConfirmPlaque(plaque)], user=jia, rules=rules)
    with pytest.raises(AccessError, match="乙县"):
        _submit(store, rules, "202", 400, user=jia)

    ledger = ledger_from_store(store, city_villages(), user=jia)
    assert ledger["village_code"].tolist() == ["101", "102"]
    assert ledger_from_store(store, city_villages(), user=city)["village_code"].tolist() == ["101", "102", "201", "202"]
    assert villages_in_scope(jia, city_villages())["village_code"].tolist() == ["101", "102"]
    assert villages_in_scope(city, city_villages())["village_code"].tolist() == ["101", "102", "201", "202"]
    with pytest.raises(AccessError, match="没有「县（市、区）」列"):
        villages_in_scope(jia, city_villages().drop(columns="county"))


def test_an_inspector_of_a_township_name_two_counties_share(store: Store, people: dict[str, User],
                                                            rules: Rules) -> None:
    inspector = people["jia_cg"]
    mine = _submit(store, rules, "101", 500, user=inspector)
    assert inspection_from_store(store, mine, user=inspector).county == "甲县"
    with pytest.raises(AccessError, match="只负责 甲县，无权对「乙县」的村庄提交核查"):
        _submit(store, rules, "201", 501, user=inspector)  # 乙县's 城关镇 is not theirs
    _submit(store, rules, "201", 502)
    assert inspections_table(store, user=inspector)["village_code"].tolist() == ["101"]


def test_county_administrators_manage_their_county_only(store: Store, people: dict[str, User]) -> None:
    jia, city = people["jia"], people["city"]
    assert not jia.can("manage_rules") and city.can("manage_rules")  # the city's registry and rules are the city's
    with pytest.raises(AccessError, match="它们属于全市"):
        jia.require("manage_rules")
    with pytest.raises(AccessError, match="无权管理全市的账户"):
        add_user(store, "newcity", PW, role="admin", by=jia)
    with pytest.raises(AccessError, match="无权管理乙县的账户"):
        add_user(store, "newyi", PW, role="inspector", townships=["柳林镇"], counties=["乙县"], by=jia)
    made = add_user(store, "newjia", PW, role="inspector", townships=["河口镇"], counties=["甲县"], by=jia)
    assert made.counties == ("甲县",)
    with pytest.raises(AccessError, match="无权管理乙县的账户"):
        disable_user(store, "yi_plan", by=jia)
    with pytest.raises(AccessError, match="无权管理全市的账户"):
        set_role(store, "newjia", "planner", by=jia)  # widening an account to the whole city
    assert set_role(store, "newjia", "planner", counties=["甲县"], by=jia).role == "planner"
    assert sorted(users_table(store, by=jia)["username"]) == ["jia", "jia_cg", "newjia"]
    table = users_table(store, by=city).set_index("username")
    assert table.loc["yi", "counties"] == ["乙县"] and table.loc["city", "counties"] == []
    with pytest.raises(AuditError, match="不是县（市、区）名称"):
        add_user(store, "bad", PW, role="admin", counties=["（未注明县）"], by=SYSTEM)


def test_migration_0007_upgrades_a_0006_store_with_data(tmp_path: Path, backend_url: str | None, rules: Rules,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from alembic import command

    monkeypatch.setenv("VILLAGE_AUDIT_BCRYPT_ROUNDS", "4")
    s = open_store(data_dir=tmp_path / "data", migrate=False)
    upgrade(s, "0006")
    old = legacy_inspection(s, rules, jpeg_bytes(600))
    with write_transaction(s) as conn:  # an account as 0006 holds it
        conn.exec_driver_sql(
            "INSERT INTO users (username, display_name, role, townships, password_hash, disabled, failed_attempts, "
            "password_changed_at, created_at, updated_at) VALUES ('old', 'old', 'admin', '[]', 'x', false, 0, "
            "'2026-11-27 08:00:00', '2026-11-27 08:00:00', '2026-11-27 08:00:00')")
    upgrade(s)
    assert schema_revision(s) == HEAD
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT counties FROM users WHERE username = 'old'").scalar() == "[]"
    assert inspection_from_store(s, old, user=SYSTEM).county is None  # older rows name no county
    add_user(s, "jia", PW, role="admin", counties=["甲县"], by=SYSTEM)
    jia = authenticate(s, "jia", PW)
    assert inspections_table(s, user=jia).empty  # a row with no county is for the city's accounts only
    with pytest.raises(AccessError, match="（未注明县）"):
        inspection_from_store(s, old, user=jia)
    with write_transaction(s) as conn:
        command.downgrade(alembic_config(s, conn), "0006")
    assert schema_revision(s) == "0006"
    assert "county" not in {c["name"] for c in sa.inspect(s.engine).get_columns("inspections")}
    assert "counties" not in {c["name"] for c in sa.inspect(s.engine).get_columns("users")}
    upgrade(s)
    assert schema_revision(s) == HEAD
    s.close()
