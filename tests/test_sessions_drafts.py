"""Sign-ins that survive a reload (audit.records.sessions) and unsaved checks kept for their inspector
(audit.records.drafts), on real SQLite stores in tmp_path; migration 0005 from 0004."""

from __future__ import annotations

import datetime as dt
import hashlib

import pandas as pd
import pytest
import sqlalchemy as sa

from audit.errors import AccessError, StoreError
from audit.records.access import SYSTEM
from audit.records.accounts import add_user, disable_user, enable_user, set_password, set_role
from audit.records.db import DB_FILENAME, alembic_config, open_store, schema_revision, upgrade, write_transaction
from audit.records.drafts import delete_draft, draft_from_store, drafts_of, save_draft, update_draft
from audit.records.inspections import RegistryVillage
from audit.records.review_table import review_table
from audit.records.sessions import active_sessions, end_session, resume_session, start_session
from tests.test_store import AUDITED, HEAD, _count, jpeg_bytes, legacy_inspection, model_report

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
WANGZHUANG = RegistryVillage(code="001", name="王庄村", township="城关镇")
HEKOU = RegistryVillage(code="004", name="赵庄村", township="河口镇")


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("VILLAGE_AUDIT_BCRYPT_ROUNDS", "4")
    for name in ("VILLAGE_AUDIT_DB_URL", "VILLAGE_AUDIT_SESSION_HOURS", "VILLAGE_AUDIT_SESSION_IDLE_MINUTES",
                 "VILLAGE_AUDIT_DRAFT_HOURS"):
        monkeypatch.delenv(name, raising=False)
    s = open_store(data_dir=tmp_path / "data")
    yield s
    s.close()


@pytest.fixture
def zhang(store):
    return add_user(store, "zhangsan", "zhang-password-1", role="inspector", townships=["城关镇"], by=SYSTEM,
                    display_name="张三", now=T0 - dt.timedelta(days=1))


# ---------------------------------------------------------------------------------------------- sessions
def test_a_session_resumes_from_its_token_which_is_stored_only_as_a_hash(store, zhang):
    session = start_session(store, zhang, now=T0)
    assert session.expires_at == T0 + dt.timedelta(hours=8) and len(session.token) >= 40
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM sessions")).mappings().all()
    assert [r["token_sha256"] for r in rows] == [hashlib.sha256(session.token.encode()).hexdigest()]
    assert not any(session.token in str(v) for r in rows for v in r.values())
    again = resume_session(store, session.token, now=T0 + dt.timedelta(minutes=30))
    assert (again.user, again.issued_at, again.token) == (zhang, session.issued_at, session.token)
    assert active_sessions(store, "zhangsan", now=T0) == 1
    other = start_session(store, zhang, now=T0)
    assert other.token != session.token and active_sessions(store, "zhangsan", now=T0) == 2


def test_signing_out_revokes_the_session(store, zhang):
    session = start_session(store, zhang, now=T0)
    end_session(store, session.token, now=T0 + dt.timedelta(minutes=1))
    with pytest.raises(AccessError, match="已退出登录或登录已失效"):
        resume_session(store, session.token, now=T0 + dt.timedelta(minutes=2))
    end_session(store, "not a token", now=T0)  # nothing to sign out of: no error


@pytest.mark.parametrize(("minutes", "message", "reason"), [
    (8 * 60, "登录已过期", "expired"),              # the absolute lifetime, used all along
    (None, "已超过 120 分钟未操作", "idle"),        # unused for longer than the idle expiry
])
def test_expiry_absolute_and_idle(store, zhang, minutes, message, reason):
    session = start_session(store, zhang, now=T0)
    if minutes is None:
        resume_session(store, session.token, now=T0 + dt.timedelta(minutes=119))   # still fine, and touched
        resume_session(store, session.token, now=T0 + dt.timedelta(minutes=119 + 119))  # 119 after the last use
        when = T0 + dt.timedelta(minutes=119 + 119 + 121)
    else:
        for step in range(0, minutes, 100):  # used every 100 minutes: never idle
            resume_session(store, session.token, now=T0 + dt.timedelta(minutes=step))
        when = T0 + dt.timedelta(minutes=minutes)
    with pytest.raises(AccessError, match=message):
        resume_session(store, session.token, now=when)
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT revoked_reason FROM sessions")).scalar() == reason
    with pytest.raises(AccessError, match="已退出登录或登录已失效"):  # revoked: stays ended
        resume_session(store, session.token, now=T0 + dt.timedelta(minutes=1))


@pytest.mark.parametrize(("change", "message", "reason"), [
    (lambda s: disable_user(s, "zhangsan", by=SYSTEM, now=T0), "已停用或不存在", "disabled"),
    (lambda s: set_password(s, "zhangsan", "a-new-password-2", by=SYSTEM, now=T0 + dt.timedelta(minutes=5)),
     "密码已修改", "password"),
    (lambda s: set_role(s, "zhangsan", "planner", by=SYSTEM), "角色或负责范围（乡镇、县）已变更", "role"),
    (lambda s: set_role(s, "zhangsan", "inspector", townships=["城关镇", "河口镇"], by=SYSTEM),
     "角色或负责范围（乡镇、县）已变更", "role"),
    (lambda s: set_role(s, "zhangsan", "inspector", townships=["城关镇"], counties=["甲县"], by=SYSTEM),
     "角色或负责范围（乡镇、县）已变更", "role"),
])
def test_a_changed_account_ends_its_sessions(store, zhang, change, message, reason):
    session = start_session(store, zhang, now=T0)
    change(store)
    with pytest.raises(AccessError, match=message):
        resume_session(store, session.token, now=T0 + dt.timedelta(minutes=10))
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT revoked_reason FROM sessions")).scalar() == reason
    if reason == "disabled":  # enabled again: the old session stays ended, a new sign-in works
        enable_user(store, "zhangsan", by=SYSTEM, now=T0)
        with pytest.raises(AccessError):
            resume_session(store, session.token, now=T0 + dt.timedelta(minutes=11))


@pytest.mark.parametrize("token", [None, "", "short", "has spaces in it and is long enough to pass length", "x" * 200])
def test_a_malformed_or_unknown_token_is_refused(store, token):
    with pytest.raises(AccessError, match="登录凭据无效"):
        resume_session(store, token, now=T0)
    with pytest.raises(AccessError, match="登录已失效"):
        resume_session(store, "A" * 43, now=T0)


# ------------------------------------------------------------------------------------------------ drafts
def _draft(store, user, *, seed=1, village=WANGZHUANG, now=T0):
    data = jpeg_bytes(seed)
    report = model_report(data, _rules(), code=village.code, name=village.name)
    return report, data, save_draft(store, user=user, village=village, report=report, photo_bytes=[data],
                                    submission_token="a" * 32, audited=AUDITED, made_with="key:1", now=now)


def _rules():
    from audit.rules import load_rules

    return load_rules()


def test_a_draft_comes_back_whole_with_its_corrections(store, zhang):
    report, data, info = _draft(store, zhang)
    assert (info.village_name, info.photos, info.expires_at) == ("王庄村", 1, T0 + dt.timedelta(hours=48))
    got = draft_from_store(store, info.id, user=zhang, now=T0)
    assert got.report == report and got.photo_bytes == [data] and got.submission_token == "a" * 32
    assert (got.audited, got.made_with, got.edited, got.added) == (AUDITED, "key:1", None, None)

    edited = review_table(report, _rules())
    edited.loc[5, "choice"] = "村集体经济组织"
    edited.loc[6, "delete"] = True
    added = pd.DataFrame({"photo": pd.Series([None, 1], dtype="Int64"), "choice": ["民兵连", "民兵连"],
                          "text": [None, "王庄村民兵连"]})
    later = T0 + dt.timedelta(hours=40)
    info = update_draft(store, info.id, user=zhang, edited=edited, added=added, now=later)
    assert info.expires_at == later + dt.timedelta(hours=48)             # a change keeps it longer
    got = draft_from_store(store, info.id, user=zhang, now=later)
    pd.testing.assert_frame_equal(got.edited, edited)
    pd.testing.assert_frame_equal(got.added, added)


def test_one_draft_per_inspector_and_village_and_only_for_its_inspector(store, zhang):
    li = add_user(store, "lisi", "lisi-password-1", role="inspector", townships=["城关镇"], by=SYSTEM)
    _, _, first = _draft(store, zhang, seed=1)
    _, _, second = _draft(store, zhang, seed=2, now=T0 + dt.timedelta(minutes=5))    # the same village again
    assert [d.id for d in drafts_of(store, user=zhang, now=T0)] == [second.id]
    with pytest.raises(StoreError, match="草稿不存在或已过期"):
        draft_from_store(store, first.id, user=zhang, now=T0)
    assert drafts_of(store, user=li, now=T0) == []
    with pytest.raises(StoreError, match="草稿不存在或已过期"):
        draft_from_store(store, second.id, user=li, now=T0)
    delete_draft(store, second.id, user=li, now=T0)                  # not theirs: nothing happens
    assert len(drafts_of(store, user=zhang, now=T0)) == 1
    with pytest.raises(AccessError, match="无权"):
        _draft(store, zhang, village=HEKOU)                          # not their township
    disable_user(store, "zhangsan", by=SYSTEM, now=T0)
    with pytest.raises(AccessError, match="已停用"):
        drafts_of(store, user=zhang, now=T0)


def test_drafts_are_deleted_with_their_photos_when_discarded_or_expired(store, zhang, tmp_path):
    _, _, kept = _draft(store, zhang, seed=1)
    db = tmp_path / "data" / DB_FILENAME
    assert _count(db, "SELECT count(*) FROM draft_photos") == 1
    delete_draft(store, kept.id, user=zhang, now=T0)
    assert _count(db, "SELECT count(*) FROM drafts") == 0 and _count(db, "SELECT count(*) FROM draft_photos") == 0
    _, _, old = _draft(store, zhang, seed=2)
    assert drafts_of(store, user=zhang, now=T0 + dt.timedelta(hours=47)) != []
    assert drafts_of(store, user=zhang, now=T0 + dt.timedelta(hours=48)) == []
    assert _count(db, "SELECT count(*) FROM drafts") == 0 and _count(db, "SELECT count(*) FROM draft_photos") == 0


def test_migration_0005_upgrades_a_0004_database_with_data(tmp_path, monkeypatch):
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from audit.records.db import metadata
    from audit.records.inspections import inspection_from_store

    monkeypatch.delenv("VILLAGE_AUDIT_DB_URL", raising=False)
    data_dir = tmp_path / "data"
    s = open_store(data_dir=data_dir, migrate=False)
    upgrade(s, "0004")
    old = legacy_inspection(s, _rules(), jpeg_bytes(50))
    assert not {"sessions", "drafts", "draft_photos"} & set(sa.inspect(s.engine).get_table_names())
    s.close()
    s = open_store(data_dir=data_dir)
    assert schema_revision(s) == HEAD
    with s.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    assert inspection_from_store(s, old, user=SYSTEM).village_name == "王庄村"
    with write_transaction(s) as conn:
        command.downgrade(alembic_config(s, conn), "0004")
    assert not {"sessions", "drafts", "draft_photos"} & set(sa.inspect(s.engine).get_table_names())
    upgrade(s)
    assert schema_revision(s) == HEAD
    s.close()
