"""One stored inspection per check: the submission token (migration 0004), a second sending of the same check
(a second click, a resent form, two app processes) and the review that comes with it, applied once.

Run as ``python -m tests.test_submission <data_dir> <token>`` this module is one of the two app processes of the
concurrency test: it submits the fixed check below with the token and prints the inspection id.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from audit.errors import StoreError
from audit.records import inspections as inspections_module
from audit.records.access import SYSTEM
from audit.records.db import DB_FILENAME, alembic_config, metadata, open_store, schema_revision, upgrade, write_transaction
from audit.records.inspections import (
    inspection_from_store,
    inspections_table,
    new_submission_token,
    review_log_table,
    submit_inspection,
)
from audit.records.review_table import review_table, submit_reviewed
from audit.rules import load_rules
from tests.test_store import (
    AUDITED,
    HEAD,
    _count,
    assert_consistent,
    jpeg_bytes,
    legacy_inspection,
    model_report,
    registry_of,
    staff,
)

REPO = Path(__file__).resolve().parents[1]
SEED = 77  # the photo of the concurrency test's check


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VILLAGE_AUDIT_BCRYPT_ROUNDS", "4")
    monkeypatch.delenv("VILLAGE_AUDIT_DB_URL", raising=False)
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path):
    s = open_store(data_dir=data_dir)
    yield s
    s.close()


def _reviewed_table(report, rules) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The inspector's review: the wrongly typed board corrected, the shop sign deleted, the militia board added."""
    table = review_table(report, rules)
    table.loc[5, "choice"] = "村集体经济组织"
    table.loc[6, "delete"] = True
    added = pd.DataFrame({"photo": [1], "choice": ["民兵连"], "text": ["王庄村民兵连"]})
    return table, added


def _save(store, report, data, rules, user, token):
    table, added = _reviewed_table(report, rules)
    return submit_reviewed(store, report, [data], table, added, rules=rules, user=user, registry=registry_of(),
                           audited=AUDITED, village_code="001", submission_token=token)


def test_tokens_are_fresh_and_well_formed():
    tokens = {new_submission_token() for _ in range(50)}
    assert len(tokens) == 50 and all(len(t) == 32 and int(t, 16) >= 0 for t in tokens)


def test_the_same_check_sent_twice_is_stored_once(store, rules):
    zhang = staff(store, "张三", "城关镇")
    data = jpeg_bytes(1)
    report = model_report(data, rules)
    token = new_submission_token()
    first = submit_inspection(store, report, [data], user=zhang, registry=registry_of(), audited=AUDITED,
                              submission_token=token)
    again = submit_inspection(store, report, [data], user=zhang, registry=registry_of(), audited=AUDITED,
                              submission_token=token)
    assert again == first
    assert inspections_table(store, user=SYSTEM)["inspection_id"].tolist() == [first]
    assert inspection_from_store(store, first, user=SYSTEM).submission_token == token
    # another check of the same village (a new token, or none) is a new inspection
    other = submit_inspection(store, report, [data], user=zhang, registry=registry_of(), audited=AUDITED,
                              submission_token=new_submission_token())
    plain = submit_inspection(store, report, [data], user=zhang, registry=registry_of(), audited=AUDITED)
    assert len({first, other, plain}) == 3 and len(inspections_table(store, user=SYSTEM)) == 3
    assert inspection_from_store(store, plain, user=SYSTEM).submission_token is None


def test_a_second_save_with_its_review_returns_the_record_and_logs_nothing_more(store, rules):
    zhang = staff(store, "张三", "城关镇")
    data = jpeg_bytes(2)
    report = model_report(data, rules)
    token = new_submission_token()
    first = _save(store, report, data, rules, zhang, token)
    log = review_log_table(store, first, user=SYSTEM)
    assert (log["field"] == "added").sum() == 1
    assert _save(store, report, data, rules, zhang, token) == first
    assert len(inspections_table(store, user=SYSTEM)) == 1
    assert review_log_table(store, first, user=SYSTEM).equals(log)
    insp = inspection_from_store(store, first, user=SYSTEM)
    assert sum(p.origin == "inspector" for p in insp.plaques) == 1           # the militia board, added once
    assert "militia" in insp.summary.present and insp.summary.unauthorised == []


def test_a_sending_that_stored_the_inspection_but_not_its_review_gets_the_review_on_the_next(store, rules):
    zhang = staff(store, "张三", "城关镇")
    data = jpeg_bytes(3)
    report = model_report(data, rules)
    token = new_submission_token()
    # the first sending stored the inspection, then the connection dropped before the review
    stored = submit_inspection(store, report, [data], user=zhang, registry=registry_of(), audited=AUDITED,
                               village_code="001", submission_token=token)
    assert inspection_from_store(store, stored, user=SYSTEM).reviewed_at is None
    assert _save(store, report, data, rules, zhang, token) == stored
    insp = inspection_from_store(store, stored, user=SYSTEM)
    assert insp.reviewed_by == "张三" and "militia" in insp.summary.present
    assert (review_log_table(store, stored, user=SYSTEM)["field"] == "added").sum() == 1


@pytest.mark.parametrize(("who", "code", "message"), [
    ("李四", "001", "已用于另一条核查记录"),   # another inspector
    ("张三", "002", "已用于另一条核查记录"),   # another village
])
def test_a_token_belongs_to_one_check(store, rules, who, code, message):
    data = jpeg_bytes(4)
    token = new_submission_token()
    submit_inspection(store, model_report(data, rules), [data], user=staff(store, "张三", "城关镇"),
                      registry=registry_of(), audited=AUDITED, submission_token=token)
    with pytest.raises(StoreError, match=message):
        submit_inspection(store, model_report(data, rules, code=code, name="王庄村" if code == "001" else "李庄村"),
                          [data], user=staff(store, who, "城关镇"), registry=registry_of(), audited=AUDITED,
                          submission_token=token)
    assert len(inspections_table(store, user=SYSTEM)) == 1


@pytest.mark.parametrize("token", ["short", "x" * 65, "bad token with spaces!!", 12345678901234567890])
def test_a_malformed_token_is_refused(store, rules, token):
    data = jpeg_bytes(5)
    with pytest.raises(StoreError, match="'submission_token' should be"):
        submit_inspection(store, model_report(data, rules), [data], user=staff(store, "张三", "城关镇"),
                          registry=registry_of(), audited=AUDITED, submission_token=token)
    assert inspections_table(store, user=SYSTEM).empty


def test_the_unique_index_settles_a_race_the_checks_missed(store, rules, monkeypatch):
    """PostgreSQL's READ COMMITTED lets two transactions both find no row before inserting: on SQLite the race is
    forced by hiding the stored row from both looks; the unique index refuses the insert and the id comes back."""
    zhang = staff(store, "张三", "城关镇")
    data = jpeg_bytes(6)
    report = model_report(data, rules)
    token = new_submission_token()
    first = submit_inspection(store, report, [data], user=zhang, registry=registry_of(), audited=AUDITED,
                              submission_token=token)
    real = inspections_module._submitted
    calls = []

    def blind_twice(conn, token, **kw):
        calls.append(token)
        return None if len(calls) <= 2 else real(conn, token, **kw)

    monkeypatch.setattr(inspections_module, "_submitted", blind_twice)
    assert submit_inspection(store, report, [data], user=zhang, registry=registry_of(), audited=AUDITED,
                             submission_token=token) == first
    assert len(calls) == 3 and len(inspections_table(store, user=SYSTEM)) == 1


@pytest.mark.timeout(120)
def test_two_sendings_that_both_find_the_record_unreviewed_apply_its_review_once(store, rules, monkeypatch):
    """Both sendings read the stored inspection before either reviews it (a barrier holds them there): the review
    is applied by the first to take the write lock, and the second finds it reviewed."""
    import threading

    zhang = staff(store, "张三", "城关镇")
    data = jpeg_bytes(7)
    report = model_report(data, rules)
    token = new_submission_token()
    barrier = threading.Barrier(2, timeout=60)
    real = inspections_module.inspection_from_store

    def read_then_wait(*args, **kwargs):
        found = real(*args, **kwargs)
        barrier.wait()
        return found

    monkeypatch.setattr(inspections_module, "inspection_from_store", read_then_wait)
    ids, failures = [], []

    def send():
        try:
            ids.append(_save(store, report, data, rules, zhang, token))
        except Exception as exc:  # surfaced by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures and len(ids) == 2 and ids[0] == ids[1]
    monkeypatch.setattr(inspections_module, "inspection_from_store", real)
    log = review_log_table(store, ids[0], user=SYSTEM)
    assert (log["field"] == "added").sum() == 1 and (log["field"] == "deleted").sum() == 1
    assert sum(p.origin == "inspector" for p in inspection_from_store(store, ids[0], user=SYSTEM).plaques) == 1


def _submit_once(data_dir: str, token: str) -> None:
    """App process of the concurrency test: the fixed check, saved with its review, under ``token``."""
    rules = load_rules()
    s = open_store(data_dir=data_dir)
    data = jpeg_bytes(SEED)
    print(_save(s, model_report(data, rules), data, rules, staff(s, "张三", "城关镇"), token))
    s.close()


@pytest.mark.timeout(240)
def test_two_app_processes_saving_the_same_check_store_one_record(data_dir: Path):
    s = open_store(data_dir=data_dir)
    staff(s, "张三", "城关镇")
    s.close()
    token = new_submission_token()
    procs = [subprocess.Popen([sys.executable, "-m", "tests.test_submission", str(data_dir), token], cwd=REPO,
                              env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    ids = []
    for p in procs:
        out, err = p.communicate(timeout=220)
        assert p.returncode == 0, err.decode()
        ids.append(out.decode().split()[-1])
    assert ids[0] == ids[1]
    db = data_dir / DB_FILENAME
    assert _count(db, "SELECT count(*) FROM inspections") == 1
    assert _count(db, "SELECT count(*) FROM review_log WHERE field = 'added'") == 1
    assert _count(db, "SELECT count(*) FROM plaques WHERE origin = 'inspector'") == 1
    assert_consistent(data_dir)


def test_migration_0004_upgrades_a_0003_database_with_data(data_dir: Path, rules):
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    s = open_store(data_dir=data_dir, migrate=False)
    upgrade(s, "0003")
    assert schema_revision(s) == "0003"
    assert "submission_token" not in {c["name"] for c in sa.inspect(s.engine).get_columns("inspections")}
    old = [legacy_inspection(s, rules, jpeg_bytes(40)), legacy_inspection(s, rules, jpeg_bytes(41))]
    s.close()

    s = open_store(data_dir=data_dir)  # opening upgrades to head
    assert schema_revision(s) == HEAD
    columns = {c["name"]: c for c in sa.inspect(s.engine).get_columns("inspections")}
    assert (columns["submission_token"]["nullable"], str(columns["submission_token"]["type"])) == (True, "VARCHAR(64)")
    indexes = {i["name"]: i for i in sa.inspect(s.engine).get_indexes("inspections")}
    assert indexes["ix_inspections_submission_token"]["unique"] in (True, 1)
    with s.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    assert [inspection_from_store(s, i, user=SYSTEM).submission_token for i in old] == [None, None]  # NULLs coexist
    data = jpeg_bytes(42)
    token = new_submission_token()
    zhang = staff(s, "张三", "城关镇")
    new = submit_inspection(s, model_report(data, rules), [data], user=zhang, registry=registry_of(), audited=AUDITED,
                            submission_token=token)
    assert submit_inspection(s, model_report(data, rules), [data], user=zhang, registry=registry_of(),
                             audited=AUDITED, submission_token=token) == new

    with write_transaction(s) as conn:  # and back down: the column and its index go, every row stays
        command.downgrade(alembic_config(s, conn), "0003")
    assert schema_revision(s) == "0003"
    assert "submission_token" not in {c["name"] for c in sa.inspect(s.engine).get_columns("inspections")}
    assert _count(data_dir / DB_FILENAME, "SELECT count(*) FROM inspections") == 3
    upgrade(s)
    assert schema_revision(s) == HEAD and inspection_from_store(s, new, user=SYSTEM).submission_token is None
    s.close()
    assert_consistent(data_dir)


if __name__ == "__main__":  # one app process of the concurrency test
    _submit_once(sys.argv[1], sys.argv[2])
