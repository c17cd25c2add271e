"""Accounts, roles and township scoping: real SQLite stores in tmp_path, real bcrypt hashes (cost 4 for speed),
real JPEG photos and reports from tests.test_store, the CLI functions through typer's CliRunner."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import bcrypt
import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from audit import accounts as ac
from audit import store as st
from audit import users_cli
from audit._errors import AccessError, AuditError, StoreError
from audit.ledger import ledger_from_store, ledger_to_xlsx
from audit.rules import Rules
from tests.test_store import _registry, jpeg_bytes, model_report

T0 = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)
ADMIN_PW = "县里的管理员密码2026"
ZHANG_PW = "chengguan-zhang-01"
LI_PW = "liulin-li-pass-02"
PLAN_PW = "planner pass phrase"


@pytest.fixture(autouse=True)
def fast_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VILLAGE_AUDIT_BCRYPT_ROUNDS", "4")
    for name in ("VILLAGE_AUDIT_LOCKOUT_ATTEMPTS", "VILLAGE_AUDIT_LOCKOUT_MINUTES", "VILLAGE_AUDIT_SESSION_HOURS",
                 "VILLAGE_AUDIT_PASSWORD_MIN_LENGTH", st.DB_URL_ENV, st.PAUSE_BEFORE_COMMIT_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path):
    s = st.open_store(data_dir=data_dir)
    yield s
    s.close()


@pytest.fixture
def people(store: st.Store) -> dict[str, ac.User]:
    """An administrator, an inspector of 城关镇, one of 柳林镇 and a planner, each signed in."""
    ac.add_user(store, "admin", ADMIN_PW, role="admin", display_name="县管理员", now=T0)
    ac.add_user(store, "zhangsan", ZHANG_PW, role="inspector", townships=["城关镇"], display_name="张三", now=T0)
    ac.add_user(store, "lisi", LI_PW, role="inspector", townships=["柳林镇", " 河口镇 "], display_name="李四", now=T0)
    ac.add_user(store, "planner", PLAN_PW, role="planner", display_name="规划王", now=T0)
    return {"admin": ac.authenticate(store, "admin", ADMIN_PW), "zhang": ac.authenticate(store, "zhangsan", ZHANG_PW),
            "li": ac.authenticate(store, "lisi", LI_PW), "planner": ac.authenticate(store, "planner", PLAN_PW)}


def _submit(store: st.Store, rules: Rules, user: ac.User, township: str | None, seed: int, name: str = "王庄村") -> str:
    data = jpeg_bytes(seed)
    return st.submit_inspection(store, model_report(data, rules, code=f"{seed:03d}", name=name), [data], user=user,
                                township=township)


def _count(store: st.Store, table: sa.Table) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


# ------------------------------------------------------------------------------------------ the role table
@pytest.mark.parametrize(("role", "townships", "action", "township", "allowed"), [
    ("inspector", ("城关镇",), "inspect", "城关镇", True),
    ("inspector", ("城关镇",), "inspect", " 城关镇 ", True),
    ("inspector", ("城关镇",), "inspect", "柳林镇", False),
    ("inspector", ("城关镇",), "review", "城关镇", True),
    ("inspector", ("城关镇",), "review", "柳林镇", False),
    ("inspector", ("城关镇",), "read_inspections", "柳林镇", False),
    ("inspector", ("城关镇",), "read_inspections", None, True),
    ("inspector", ("城关镇",), "read_inspections", ac.NO_TOWNSHIP, False),
    ("inspector", ("城关镇",), "read_area", "城关镇", True),
    ("inspector", ("城关镇",), "export", None, False),
    ("inspector", ("城关镇",), "manage_users", None, False),
    ("inspector", ("城关镇",), "manage_rounds", None, False),
    ("planner", (), "read_area", "柳林镇", True),
    ("planner", (), "read_inspections", "柳林镇", True),
    ("planner", (), "inspect", "柳林镇", False),
    ("planner", (), "review", None, False),
    ("planner", (), "export", None, False),
    ("planner", (), "manage_rules", None, False),
    ("admin", (), "inspect", "柳林镇", True),
    ("admin", (), "review", ac.NO_TOWNSHIP, True),
    ("admin", (), "export", None, True),
    ("admin", (), "manage_users", None, True),
    ("admin", (), "manage_rules", None, True),
    ("admin", (), "manage_rounds", None, True),
])
def test_role_table(role: str, townships: tuple[str, ...], action: str, township: str | None, allowed: bool) -> None:
    user = ac.User("u1", role=role, townships=townships)
    assert user.can(action, township) is allowed
    assert ac.User("u1", role=role, townships=townships, disabled=True).can(action, township) is False


def test_refusal_names_user_action_and_township() -> None:
    zhang = ac.User("zhangsan", role="inspector", townships=("城关镇",), display_name="张三")
    with pytest.raises(AccessError, match=r"^用户「张三（zhangsan）」（乡镇检查员）只负责 城关镇，"
                                          r"无权对「柳林镇」的村庄复核核查记录 \(review\)（王庄村 核查记录 x）$"):
        zhang.require("review", "柳林镇", what="王庄村 核查记录 x")
    with pytest.raises(AccessError, match=r"「规划王（p）」（规划人员）无权提交核查 \(inspect\)"):
        ac.User("p", role="planner", display_name="规划王").require("inspect", "城关镇")
    with pytest.raises(AccessError, match="已停用"):
        ac.User("a", role="admin", disabled=True).require("export")
    with pytest.raises(AuditError, match="'action' should be one of .* got 'inspekt'"):
        zhang.can("inspekt")
    with pytest.raises(AuditError, match="'role' should be one of"):
        ac.User("x", role="superuser")
    assert ac.User("x", role="inspector", townships="城关镇").townships == ("城关镇",)  # a name, not its characters


# ------------------------------------------------------------------------------ scoping through the store
def test_inspector_works_only_in_own_township(store: st.Store, people: dict[str, ac.User], rules: Rules,
                                              data_dir: Path) -> None:
    zhang, admin = people["zhang"], people["admin"]
    mine = _submit(store, rules, zhang, "城关镇", 1)
    assert st.inspection_from_store(store, mine, user=zhang).inspector == "zhangsan"

    # a 柳林镇 village: refused before any photo or row is written
    data = jpeg_bytes(2)
    with pytest.raises(AccessError, match="「张三（zhangsan）」（乡镇检查员）只负责 城关镇，无权对「柳林镇」的村庄提交核查"):
        st.submit_inspection(store, model_report(data, rules, code="002", name="柳林村"), [data], user=zhang,
                             township="柳林镇")
    assert _count(store, st.inspections) == 1 and not list((data_dir / "photos").glob("*/*"))[1:]
    with pytest.raises(AccessError, match="「（未注明乡镇）」"):  # an inspector must say where
        _submit(store, rules, zhang, None, 3)

    theirs = _submit(store, rules, admin, "柳林镇", 4, name="柳林村")
    unplaced = _submit(store, rules, admin, None, 5, name="无乡镇村")
    plaque = st.inspection_from_store(store, theirs).plaques[0].id
    with pytest.raises(AccessError, match="无权对「柳林镇」的村庄复核核查记录 .review.（柳林村 核查记录"):
        st.review_inspection(store, theirs, [st.DeletePlaque(plaque)], user=zhang, rules=rules)
    assert st.inspection_from_store(store, theirs).reviewed_at is None and st.review_log_table(store).empty
    with pytest.raises(AccessError, match="无权对「柳林镇」的村庄查看核查记录"):
        st.inspection_from_store(store, theirs, user=zhang)
    with pytest.raises(AccessError, match="未注明乡镇"):
        st.inspection_from_store(store, unplaced, user=zhang)

    assert st.inspections_table(store, user=zhang)["inspection_id"].tolist() == [mine]
    assert sorted(st.inspections_table(store, user=people["li"])["inspection_id"]) == [theirs]
    assert len(st.inspections_table(store, user=admin)) == 3

    own = st.inspection_from_store(store, mine).plaques[0].id
    st.review_inspection(store, mine, [st.ConfirmPlaque(own)], user=zhang, rules=rules)
    st.review_inspection(store, theirs, [st.ConfirmPlaque(plaque)], user=people["li"], rules=rules)
    assert set(st.review_log_table(store, user=zhang)["inspection_id"]) == {mine}
    assert set(st.review_log_table(store, user=admin)["inspection_id"]) == {mine, theirs}
    assert st.review_log_table(store, theirs, user=zhang).empty
    assert st.inspection_from_store(store, mine).reviewed_by == "zhangsan"

    # photos: only those of a village the user may see
    their_photo = st.inspection_from_store(store, theirs).photos[0]
    my_photo = st.inspection_from_store(store, mine).photos[0]
    assert st.photo_for_user(store, zhang, my_photo.sha256) == jpeg_bytes(1)
    with pytest.raises(AccessError, match="「柳林镇」.*照片"):
        st.photo_for_user(store, zhang, their_photo.sha256)
    assert st.photo_for_user(store, people["li"], their_photo.sha256) == jpeg_bytes(4)
    with pytest.raises(StoreError, match="64 lower-case hex"):
        st.photo_for_user(store, zhang, "../../etc/passwd")
    with pytest.raises(StoreError, match="no stored photo"):
        st.photo_for_user(store, zhang, "0" * 64)

    # the ledger: an inspector sees the villages of their townships only
    registry = _registry().assign(township=["城关镇", "城关镇", "柳林镇", "河口镇"])
    assert ledger_from_store(store, registry, user=zhang)["village_code"].tolist() == ["001", "002"]
    assert ledger_from_store(store, registry, user=people["li"])["village_code"].tolist() == ["003", "004"]
    assert len(ledger_from_store(store, registry, user=people["planner"])) == 4


def test_planner_reads_the_county_and_writes_nothing(store: st.Store, people: dict[str, ac.User], rules: Rules,
                                                     tmp_path: Path) -> None:
    planner = people["planner"]
    a = _submit(store, rules, people["zhang"], "城关镇", 11)
    b = _submit(store, rules, people["li"], "柳林镇", 12)
    assert sorted(st.inspections_table(store, user=planner)["inspection_id"]) == sorted([a, b])
    assert st.inspection_from_store(store, b, user=planner).township == "柳林镇"
    assert st.photo_for_user(store, planner, st.inspection_from_store(store, a).photos[0].sha256) == jpeg_bytes(11)

    with pytest.raises(AccessError, match="「规划王（planner）」（规划人员）无权提交核查"):
        _submit(store, rules, planner, "城关镇", 13)
    plaque = st.inspection_from_store(store, a).plaques[0].id
    with pytest.raises(AccessError, match="无权复核核查记录"):
        st.review_inspection(store, a, [st.ConfirmPlaque(plaque)], user=planner, rules=rules)
    with pytest.raises(AccessError, match="无权导出数据"):
        st.export_dataset(store, tmp_path / "ds", user=planner)
    with pytest.raises(AccessError, match="无权导出数据"):
        ledger_to_xlsx(ledger_from_store(store, _registry(), user=planner), tmp_path / "l.xlsx", user=planner)
    with pytest.raises(AccessError, match="无权管理核查轮次"):
        st.create_round(store, "第四季度", dt.date(2026, 10, 1), dt.date(2026, 12, 31), user=planner)
    with pytest.raises(AccessError, match="无权管理用户"):
        ac.add_user(store, "newbie", "a fine password", role="planner", by=planner)
    with pytest.raises(AccessError, match="无权管理用户"):
        ac.users_table(store, by=planner)
    assert _count(store, st.inspections) == 2 and _count(store, st.rounds) == 0 and _count(store, st.review_log) == 0


def test_admin_can_do_everything(store: st.Store, people: dict[str, ac.User], rules: Rules, tmp_path: Path) -> None:
    admin = people["admin"]
    round_id = st.create_round(store, "第四季度", dt.date(2026, 10, 1), dt.date(2026, 12, 31), user=admin)
    a = _submit(store, rules, people["li"], "柳林镇", 21)
    b = _submit(store, rules, admin, "城关镇", 22)
    plaque = st.inspection_from_store(store, a, user=admin).plaques[0].id
    got = st.review_inspection(store, a, [st.ConfirmPlaque(plaque)], user=admin, rules=rules)
    assert (got.reviewed_by, st.inspection_from_store(store, b).inspector) == ("admin", "admin")
    assert st.export_dataset(store, tmp_path / "ds", user=admin, fully_reviewed_only=False).exists()
    assert ledger_to_xlsx(ledger_from_store(store, _registry(), user=admin, round_id=round_id), tmp_path / "l.xlsx",
                          user=admin).exists()
    added = ac.add_user(store, "wangwu", "another password", role="inspector", townships=["河口镇"], by=admin)
    assert ac.set_role(store, "wangwu", "planner", by=admin).county_wide and added.townships == ("河口镇",)
    assert ac.disable_user(store, "wangwu", by=admin).disabled
    assert len(ac.users_table(store, by=admin)) == 5


# --------------------------------------------------------------------------------------------- passwords
def test_password_is_a_bcrypt_hash_and_never_stored_in_clear(store: st.Store, data_dir: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "zhang-secret-城关-7731"
    ac.add_user(store, "zhangsan", secret, role="inspector", townships=["城关镇"])
    with pytest.raises(AccessError, match="用户名或密码错误"):
        ac.authenticate(store, "zhangsan", "typo-secret-城关-7731")
    with pytest.raises(AccessError, match="用户名或密码错误"):  # an unknown name gets the same message
        ac.authenticate(store, "zhang-secret-城关-7731", secret)
    with store.engine.connect() as conn:
        stored = conn.execute(sa.select(st.users.c.password_hash).where(st.users.c.username == "zhangsan")).scalar()
    assert stored.startswith("$2b$04$") and len(stored) == 60
    assert bcrypt.checkpw(secret.encode(), stored.encode()) and not bcrypt.checkpw(b"other", stored.encode())
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(FULL)").all()
    files = [p for p in data_dir.iterdir() if p.name.startswith(st.DB_FILENAME)]
    assert files and any(p.stat().st_size for p in files)
    for path in files:  # the database, its WAL and shared memory: neither the password nor the typo anywhere
        raw = path.read_bytes()
        for clear in (secret, "typo-secret-城关-7731"):
            assert clear.encode() not in raw and clear.encode("utf-16-le") not in raw
        assert stored.encode() in raw or path.suffix != ".sqlite"
    assert ac.sign_in_log_table(store)["username"].tolist() == ["zhangsan", None]

    # a hash cheaper than the configured cost is replaced at the next sign-in
    monkeypatch.setenv("VILLAGE_AUDIT_BCRYPT_ROUNDS", "5")
    ac.authenticate(store, "zhangsan", secret)
    with store.engine.connect() as conn:
        rehashed = conn.execute(sa.select(st.users.c.password_hash)).scalar()
    assert rehashed.startswith("$2b$05$") and bcrypt.checkpw(secret.encode(), rehashed.encode())


@pytest.mark.parametrize(("password", "message"), [
    ("short", "密码至少 8 个字符，got 5"),
    ("长" * 25, "密码过长（UTF-8 75 字节"),
    ("ZhangSan", "不能与用户名相同"),
    ("nul\x00inside pw", "NUL"),
])
def test_password_policy(store: st.Store, password: str, message: str) -> None:
    with pytest.raises(AuditError, match=message) as info:
        ac.add_user(store, "zhangsan", password, role="admin")
    assert password not in str(info.value)
    assert _count(store, st.users) == 0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"username": "zhang san"}, "用户名应为"),
    ({"username": ""}, "用户名应为"),
    ({"role": "boss"}, "'role' should be one of"),
    ({"role": "inspector"}, "至少要负责一个乡镇"),
    ({"role": "planner", "townships": ["城关镇"]}, "覆盖全县"),
    ({"role": "inspector", "townships": [ac.NO_TOWNSHIP]}, "不是乡镇名称"),
])
def test_bad_accounts_are_refused(store: st.Store, kwargs: dict, message: str) -> None:
    args = {"username": "zhangsan", "role": "admin", **kwargs}
    with pytest.raises(AuditError, match=message):
        ac.add_user(store, args.pop("username"), "long enough pw", **args)


def test_duplicate_unknown_and_last_admin(store: st.Store) -> None:
    ac.add_user(store, "admin", ADMIN_PW, role="admin")
    with pytest.raises(StoreError, match="用户名「admin」已存在"):
        ac.add_user(store, "admin", ADMIN_PW, role="planner")
    with pytest.raises(StoreError, match="没有用户「nobody」"):
        ac.disable_user(store, "nobody")
    with pytest.raises(AuditError, match="最后一个启用的县级管理员"):
        ac.disable_user(store, "admin")
    with pytest.raises(AuditError, match="最后一个启用的县级管理员"):
        ac.set_role(store, "admin", "planner")
    ac.add_user(store, "admin2", ADMIN_PW, role="admin")
    assert ac.disable_user(store, "admin").disabled and ac.user_from_store(store, "admin2").role == "admin"


# -------------------------------------------------------------------------------------- lock-out, disable
def test_lockout_after_repeated_failures_and_unlock_after_the_period(store: st.Store) -> None:
    ac.add_user(store, "zhangsan", ZHANG_PW, role="inspector", townships=["城关镇"])
    for i in range(4):
        with pytest.raises(AccessError, match=r"^用户名或密码错误 \(wrong user name or password\)$"):
            ac.authenticate(store, "zhangsan", f"wrong {i}", now=T0 + dt.timedelta(seconds=i))
    ac.authenticate(store, "zhangsan", ZHANG_PW, now=T0 + dt.timedelta(seconds=5))  # success resets the count
    for i in range(4):
        with pytest.raises(AccessError, match="用户名或密码错误"):
            ac.authenticate(store, "zhangsan", f"wrong {i}", now=T0 + dt.timedelta(seconds=10 + i))
    assert ac.users_table(store)["failed_attempts"].tolist() == [4]
    with pytest.raises(AccessError, match="连续 5 次错误，账户「zhangsan」已锁定至 2026-11-27 16:15（北京时间）"):
        ac.authenticate(store, "zhangsan", "wrong 5", now=T0 + dt.timedelta(seconds=20))
    with pytest.raises(AccessError, match="已锁定至 2026-11-27 16:15"):  # the right password does not help now
        ac.authenticate(store, "zhangsan", ZHANG_PW, now=T0 + dt.timedelta(minutes=14))
    with pytest.raises(AccessError, match="已锁定至 2026-11-27 16:15"):  # nor do more tries extend the lock
        ac.authenticate(store, "zhangsan", "wrong 6", now=T0 + dt.timedelta(minutes=15))
    user = ac.authenticate(store, "zhangsan", ZHANG_PW, now=T0 + dt.timedelta(minutes=15, seconds=21))
    assert user.username == "zhangsan"
    log = ac.sign_in_log_table(store, username="zhangsan")
    assert log["reason"].tolist() == ["wrong_password"] * 4 + ["ok"] + ["wrong_password"] * 4 + [
        "lockout", "locked", "locked", "ok"]
    assert log["success"].tolist() == [False] * 4 + [True] + [False] * 7 + [True]
    assert log["at"].iloc[-1] == T0 + dt.timedelta(minutes=15, seconds=21)


def test_lockout_settings_come_from_the_environment(store: st.Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VILLAGE_AUDIT_LOCKOUT_ATTEMPTS", "2")
    monkeypatch.setenv("VILLAGE_AUDIT_LOCKOUT_MINUTES", "1")
    ac.add_user(store, "zhangsan", ZHANG_PW, role="planner")
    with pytest.raises(AccessError, match=r"用户名或密码错误 \(wrong user name or password\)$"):
        ac.authenticate(store, "zhangsan", "x", now=T0)
    with pytest.raises(AccessError, match="连续 2 次错误"):
        ac.authenticate(store, "zhangsan", "y", now=T0)
    with pytest.raises(AccessError, match="已锁定"):
        ac.authenticate(store, "zhangsan", ZHANG_PW, now=T0 + dt.timedelta(seconds=59))
    assert ac.authenticate(store, "zhangsan", ZHANG_PW, now=T0 + dt.timedelta(seconds=60)).role == "planner"
    monkeypatch.setenv("VILLAGE_AUDIT_LOCKOUT_ATTEMPTS", "many")
    with pytest.raises(AuditError, match="VILLAGE_AUDIT_LOCKOUT_ATTEMPTS 应为整数"):
        ac.authenticate(store, "zhangsan", "z", now=T0)


def test_disabled_user_is_refused_and_enabling_lifts_a_lock(store: st.Store) -> None:
    ac.add_user(store, "admin", ADMIN_PW, role="admin")
    ac.add_user(store, "zhangsan", ZHANG_PW, role="inspector", townships=["城关镇"])
    session = ac.new_session(ac.authenticate(store, "zhangsan", ZHANG_PW, now=T0), now=T0)
    ac.disable_user(store, "zhangsan")
    with pytest.raises(AccessError, match="账户「zhangsan」已停用"):
        ac.authenticate(store, "zhangsan", ZHANG_PW, now=T0)
    with pytest.raises(AccessError, match="已停用或不存在"):
        ac.user_from_session(store, session, now=T0 + dt.timedelta(minutes=1))
    assert ac.sign_in_log_table(store)["reason"].tolist() == ["ok", "disabled"]
    ac.enable_user(store, "zhangsan")
    for _ in range(5):
        with pytest.raises(AccessError):
            ac.authenticate(store, "zhangsan", "wrong", now=T0)
    ac.enable_user(store, "zhangsan")
    assert ac.authenticate(store, "zhangsan", ZHANG_PW, now=T0).username == "zhangsan"


# ---------------------------------------------------------------------------------------------- sessions
def test_sessions_expire_and_follow_the_stored_account(store: st.Store) -> None:
    ac.add_user(store, "admin", ADMIN_PW, role="admin", now=T0)
    ac.add_user(store, "zhangsan", ZHANG_PW, role="inspector", townships=["城关镇"], now=T0)
    user = ac.authenticate(store, "zhangsan", ZHANG_PW, now=T0)
    session = ac.new_session(user, dt.timedelta(hours=1), now=T0)
    assert session.expires_at == T0 + dt.timedelta(hours=1) and len(session.token) >= 40
    assert ac.new_session(user, now=T0).token != session.token
    assert ac.session_valid(session, T0 + dt.timedelta(minutes=59))
    assert not ac.session_valid(session, T0 + dt.timedelta(hours=1))
    assert not ac.session_valid(session, T0 - dt.timedelta(seconds=1))
    assert ac.new_session(user, now=T0).expires_at == T0 + dt.timedelta(hours=8)
    with pytest.raises(AccessError, match="登录已过期"):
        ac.user_from_session(store, session, now=T0 + dt.timedelta(hours=2))
    with pytest.raises(AuditError, match="positive timedelta"):
        ac.new_session(user, dt.timedelta(0))

    ac.set_role(store, "zhangsan", "inspector", townships=["柳林镇"], now=T0)  # a new township takes effect at once
    assert ac.user_from_session(store, session, now=T0 + dt.timedelta(minutes=5)).townships == ("柳林镇",)
    ac.set_password(store, "zhangsan", "a brand new password", now=T0 + dt.timedelta(minutes=10))
    with pytest.raises(AccessError, match="密码已修改"):
        ac.user_from_session(store, session, now=T0 + dt.timedelta(minutes=11))
    with pytest.raises(AccessError, match="用户名或密码错误"):
        ac.authenticate(store, "zhangsan", ZHANG_PW, now=T0 + dt.timedelta(minutes=12))
    fresh = ac.new_session(ac.authenticate(store, "zhangsan", "a brand new password",
                                           now=T0 + dt.timedelta(minutes=12)), now=T0 + dt.timedelta(minutes=12))
    assert ac.user_from_session(store, fresh, now=T0 + dt.timedelta(minutes=13)).username == "zhangsan"


def test_users_change_their_own_password_only(store: st.Store) -> None:
    ac.add_user(store, "zhangsan", ZHANG_PW, role="inspector", townships=["城关镇"])
    ac.add_user(store, "lisi", LI_PW, role="inspector", townships=["柳林镇"])
    zhang = ac.user_from_store(store, "zhangsan")
    ac.set_password(store, "zhangsan", "my own new password", by=zhang)
    with pytest.raises(AccessError, match="无权管理用户"):
        ac.set_password(store, "lisi", "not your password", by=zhang)
    assert ac.authenticate(store, "lisi", LI_PW).username == "lisi"


# ------------------------------------------------------------------------------------------------- CLI
@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer(add_completion=False, no_args_is_help=True)
    users_cli.register(app)
    return app


def test_cli_add_set_role_disable_list(cli: typer.Typer, store: st.Store, data_dir: Path) -> None:
    runner = CliRunner()
    db = ["--db", store.url]
    first = runner.invoke(cli, ["add", "admin", "--role", "admin", "--password-stdin", *db], input=ADMIN_PW + "\n")
    assert first.exit_code == 0, first.output
    assert "已添加用户「admin」（县级管理员，全县）" in first.output and ADMIN_PW not in first.output
    prompted = runner.invoke(cli, ["add", "zhangsan", "--role", "inspector", "--township", "城关镇", "--name", "张三", *db],
                             input=f"{ZHANG_PW}\n{ZHANG_PW}\n")
    assert prompted.exit_code == 0, prompted.output
    assert "已添加用户「zhangsan」（乡镇检查员，负责 城关镇）" in prompted.output and ZHANG_PW not in prompted.output
    assert ac.authenticate(store, "zhangsan", ZHANG_PW).display_name == "张三"

    moved = runner.invoke(cli, ["set-role", "zhangsan", "--role", "inspector", "--township", "柳林镇", "--township",
                                "城关镇", *db])
    assert moved.exit_code == 0 and "现为乡镇检查员，负责 城关镇、柳林镇" in moved.output
    assert ac.user_from_store(store, "zhangsan").townships == ("城关镇", "柳林镇")
    assert runner.invoke(cli, ["disable", "zhangsan", *db]).exit_code == 0
    with pytest.raises(AccessError, match="已停用"):
        ac.authenticate(store, "zhangsan", ZHANG_PW)
    listed = runner.invoke(cli, ["list", *db])
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines == ["admin\tadmin\t县级管理员\t全县\t正常", "zhangsan\t张三\t乡镇检查员\t城关镇、柳林镇\t已停用"]
    assert runner.invoke(cli, ["enable", "zhangsan", *db]).exit_code == 0
    reset = runner.invoke(cli, ["password", "zhangsan", "--password-stdin", *db], input="reset by the county\n")
    assert reset.exit_code == 0 and ac.authenticate(store, "zhangsan", "reset by the county").username == "zhangsan"

    for args, stdin, message in [
        (["add", "admin", "--role", "admin", "--password-stdin"], ADMIN_PW + "\n", "用户名「admin」已存在"),
        (["add", "wang", "--role", "inspector", "--password-stdin"], "long enough pw\n", "至少要负责一个乡镇"),
        (["add", "wang", "--role", "planner", "--password-stdin"], "short\n", "密码至少 8 个字符"),
        (["add", "wang", "--role", "planner", "--password-stdin"], "", "标准输入中没有密码"),
        (["disable", "admin"], None, "最后一个启用的县级管理员"),
        (["set-role", "nobody", "--role", "planner"], None, "没有用户「nobody」"),
    ]:
        result = runner.invoke(cli, [*args, *db], input=stdin)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith("错误：") and message in result.stderr, result.stderr
        assert "short" not in result.stderr
    bad_role = runner.invoke(cli, ["add", "wang", "--role", "boss", *db])
    assert bad_role.exit_code == 2 and "boss" in bad_role.output
    assert sorted(ac.users_table(store)["username"]) == ["admin", "zhangsan"]


def test_cli_list_on_an_empty_store(cli: typer.Typer, store: st.Store) -> None:
    result = CliRunner().invoke(cli, ["list", "--db", store.url])
    assert result.exit_code == 0 and "audit users add admin --role admin" in result.output


# -------------------------------------------------------------------------------------------- migration
def test_migration_0002_upgrades_a_0001_database_with_data(data_dir: Path, rules: Rules) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    s = st.open_store(data_dir=data_dir, migrate=False)
    st.upgrade(s, "0001")
    assert st.schema_revision(s) == "0001" and "users" not in sa.inspect(s.engine).get_table_names()
    data = jpeg_bytes(31)
    iid = st.submit_inspection(s, model_report(data, rules), [data], inspector="张三", township="城关镇")
    plaque = st.inspection_from_store(s, iid).plaques[0].id
    st.review_inspection(s, iid, [st.DeletePlaque(plaque)], reviewer="王五", rules=rules)
    before = st.inspection_from_store(s, iid)
    s.close()

    s = st.open_store(data_dir=data_dir)  # opening upgrades to head
    assert st.schema_revision(s) == "0002"
    assert {"users", "sign_in_log"} <= set(sa.inspect(s.engine).get_table_names())
    with s.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), st.metadata) == []
    assert st.inspection_from_store(s, iid) == before and len(st.review_log_table(s, iid)) == 1
    ac.add_user(s, "zhangsan", ZHANG_PW, role="inspector", townships=["城关镇"])
    zhang = ac.authenticate(s, "zhangsan", ZHANG_PW)
    assert st.inspections_table(s, user=zhang)["inspector"].tolist() == ["张三"]  # old rows keep their names

    with st._write(s) as conn:  # and back down: the accounts go, the inspections stay
        command.downgrade(st.alembic_config(s, conn), "0001")
    assert st.schema_revision(s) == "0001" and "users" not in sa.inspect(s.engine).get_table_names()
    assert st.inspections_table(s)["inspection_id"].tolist() == [iid]
    st.upgrade(s)
    assert st.schema_revision(s) == "0002" and ac.users_table(s).empty
    with s.engine.connect() as conn:
        assert json.loads(conn.execute(sa.select(st.inspections.c.summary)).scalar())["verdict"] == before.verdict
    s.close()
