"""Re-audit of stored inspections with the real engine (small photos): ≥ 200 inspections into PostgreSQL on a local
Dask cluster of two worker processes, one of which is killed (SIGKILL) mid-task; its task is redone, every
inspection gets one result, a rerun adds nothing, the inspectors' reviews stay. Selection by round and county,
access, and the command line on both backends, in process."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from audit.errors import AccessError
from audit.records.access import SYSTEM
from audit.records.accounts import add_user, authenticate
from audit.records.db import Store, machine_results, open_store
from audit.records.inspections import create_round, inspection_from_store, submit_inspection, village_registry
from audit.records.reaudit import (
    KILL_ONCE_ENV,
    engine_spec,
    inspections_to_reaudit,
    machine_results_table,
    reaudit_report,
    run_reaudit,
)
from audit.records.reviews import DeletePlaque, review_inspection
from audit.rules import Rules
from tests.test_store import AUDITED, jpeg_bytes, model_report

PW = "reaudit-password-2026"
# How many inspections the distributed test stores (200 in CI; fewer for a quick look on a busy machine).
COUNT = int(os.environ.get("VILLAGE_AUDIT_TEST_REAUDIT_COUNT", "200"))


def city(n: int) -> list[tuple[str, str, str, str]]:
    """``n`` villages, alternately in 甲县 and 乙县."""
    return [(f"{i:04d}", f"村{i}", "城关镇", "甲县" if i % 2 == 0 else "乙县") for i in range(n)]


def fill(store: Store, rules: Rules, n: int, *, round_every: int = 2) -> tuple[list[str], str]:
    """``n`` stored inspections, each with its own small photo (800×600 JPEG, ~20 KB); every ``round_every``-th in
    a round. Returns the ids and the round's id."""
    villages = city(n)
    registry = village_registry(pd.DataFrame(villages, columns=["village_code", "village_name", "township", "county"]),
                                sha256=hashlib.sha256(repr(villages).encode()).hexdigest(), source="市名册.xlsx")
    round_id = create_round(store, "2026年第四季度", dt.date(2026, 10, 1), dt.date(2026, 12, 31), user=SYSTEM)
    ids = []
    for i, (code, name, *_) in enumerate(villages):
        data = jpeg_bytes(7000 + i)
        ids.append(submit_inspection(store, model_report(data, rules, code=code, name=name), [data], user=SYSTEM,
                                     registry=registry, audited=AUDITED,
                                     round_id=round_id if i % round_every == 0 else None))
    return ids, round_id


def _results(store: Store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(machine_results)).scalar()


@pytest.fixture
def store(tmp_path: Path, backend_url: str | None, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("VILLAGE_AUDIT_BCRYPT_ROUNDS", "4")
    monkeypatch.delenv(KILL_ONCE_ENV, raising=False)
    s = open_store(data_dir=tmp_path / "data")
    yield s
    s.close()


@pytest.mark.slow
@pytest.mark.timeout(1500)
@pytest.mark.parametrize("backend", ["postgresql"])
def test_200_inspections_into_postgresql_a_killed_worker_redone_a_rerun_adds_nothing(
        store: Store, rules: Rules, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ids, _ = fill(store, rules, COUNT)
    reviewed = inspection_from_store(store, ids[0], user=SYSTEM)
    shop = next(p for p in reviewed.plaques if p.plaque.kind == "unauthorised_sign")
    review_inspection(store, ids[0], [DeletePlaque(shop.id)], user=SYSTEM, rules=rules)
    before = inspection_from_store(store, ids[0], user=SYSTEM)

    marker = tmp_path / "killed"
    monkeypatch.setenv(KILL_ONCE_ENV, str(marker))  # the worker processes inherit it: the first commit dies once
    seen: list[tuple[int, int]] = []
    run = run_reaudit(store, user=SYSTEM, workers=2, progress=lambda done, total, _: seen.append((done, total)))
    assert marker.exists()  # a worker was killed with its result written and not committed
    assert (run.selected, run.added, run.present, run.failed) == (COUNT, COUNT, 0, [])
    assert seen[-1] == (COUNT, COUNT) and len(seen) == COUNT  # progress after every inspection
    assert _results(store) == COUNT
    table = machine_results_table(store, user=SYSTEM)
    assert sorted(table["inspection_id"]) == sorted(ids) and table["run_id"].nunique() == 1
    assert table["worker"].nunique() >= 2  # two workers at least (three with the restarted one)
    spec = engine_spec()
    assert set(table["model_sha256"]) == {spec.model_sha256} and set(table["rules_sha256"]) == {spec.rules_sha256}

    after = inspection_from_store(store, ids[0], user=SYSTEM)  # the inspection and its review stay as they were
    assert (after.verdict, after.reviewed_at, after.original_json) == (before.verdict, before.reviewed_at,
                                                                       before.original_json)
    assert [p.status for p in after.plaques] == [p.status for p in before.plaques]
    row = table.set_index("inspection_id").loc[ids[0]]
    assert row["verdict"] == before.verdict and row["machine_verdict"] == reaudit_report(
        store, ids[0], spec, user=SYSTEM).summary.verdict

    monkeypatch.delenv(KILL_ONCE_ENV)
    again = run_reaudit(store, user=SYSTEM, workers=2)
    assert (again.selected, again.added) == (0, 0) and _results(store) == COUNT


def test_selection_access_and_idempotence_in_process(store: Store, rules: Rules) -> None:
    ids, round_id = fill(store, rules, 6, round_every=3)  # ids[0] and ids[3] in the round; even ones in 甲县
    spec = engine_spec()
    add_user(store, "jia", PW, role="admin", counties=["甲县"], by=SYSTEM)
    add_user(store, "insp", PW, role="inspector", townships=["城关镇"], by=SYSTEM)
    jia, insp = authenticate(store, "jia", PW), authenticate(store, "insp", PW)
    with pytest.raises(AccessError, match="无权管理核查轮次"):
        inspections_to_reaudit(store, spec, user=insp)
    assert inspections_to_reaudit(store, spec, user=jia) == sorted(ids[0::2])  # its county only
    assert inspections_to_reaudit(store, spec, user=SYSTEM, county="乙县") == sorted(ids[1::2])

    first = run_reaudit(store, user=SYSTEM, spec=spec, round_id=round_id, workers=0)
    assert (first.selected, first.added) == (2, 2)
    assert sorted(machine_results_table(store, user=SYSTEM)["inspection_id"]) == sorted([ids[0], ids[3]])
    county = run_reaudit(store, user=SYSTEM, spec=spec, county="甲县", workers=0)
    assert (county.selected, county.added) == (2, 2)  # ids[0] had its result already: ids[2] and ids[4]
    assert run_reaudit(store, user=SYSTEM, spec=spec, county="甲县", workers=0).selected == 0
    assert sorted(machine_results_table(store, user=jia)["inspection_id"]) == sorted(ids[0::2])
    with pytest.raises(AccessError, match="乙县"):
        reaudit_report(store, ids[3], spec, user=jia)
    assert reaudit_report(store, ids[1], spec, user=SYSTEM) is None  # not re-audited yet

    ocr_only = engine_spec(use_detector=False)  # another engine: another key, so everything is due again
    assert inspections_to_reaudit(store, ocr_only, user=SYSTEM) == sorted(ids)
    assert ocr_only.model_sha256 == "" and spec.model_sha256 != ""


def test_cli_reaudit(store: Store, rules: Rules) -> None:
    from audit.cli.main import app

    fill(store, rules, 3)
    db = ["--db", store.engine.url.render_as_string(hide_password=False), "--data-dir", str(store.data_dir)]
    refused = CliRunner().invoke(app, ["reaudit", *db])
    assert refused.exit_code == 2 and "请指定 --round、--county 或 --all" in refused.output
    result = CliRunner().invoke(app, ["reaudit", "--all", "--workers", "0", *db])
    assert result.exit_code == 0, result.output
    assert "进度 3/3：新增 3，已有 0，失败 0" in result.output and "重新核查 3 条：新增结果 3" in result.output
    again = CliRunner().invoke(app, ["reaudit", "--county", "甲县", "--workers", "0", *db])
    assert again.exit_code == 0 and "重新核查 0 条：新增结果 0" in again.output
