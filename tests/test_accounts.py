"""Accounts, roles and township scoping: real SQLite stores in tmp_path, real bcrypt hashes (cost 4 for speed),
real JPEG photos and reports from tests.test_store, the CLI functions through typer's CliRunner."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import bcrypt
import pandas as pd
import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from audit.cli import users as users_cli
from audit.errors import AccessError, AuditError, StoreError
from audit.model.dataset import export_dataset
from audit.records.access import NO_TOWNSHIP, SYSTEM, SYSTEM_NAME, User
from audit.records.accounts import (
    add_user,
    authenticate,
    disable_user,
    enable_user,
    new_session,
    session_valid,
    set_password,
    set_role,
    sign_in_log_table,
    user_from_session,
    user_from_store,
    users_table,
)
from audit.records.db import (
    DB_FILENAME,
    DB_URL_ENV,
    Store,
    alembic_config,
    inspections,
    metadata,
    open_store,
    review_log,
    rounds,
    schema_revision,
    upgrade,
    users,
    write_transaction,
)
from audit.records.inspections import (
    PAUSE_BEFORE_COMMIT_ENV,
    create_round,
    inspection_from_store,
    inspections_table,
    photo_for_user,
    review_log_table,
    submit_inspection,
)
from audit.records.ledger import ledger_from_store, ledger_to_xlsx
from audit.records.reviews import ConfirmPlaque, DeletePlaque, review_inspection
from audit.rules import Rules
from tests.test_store import AUDITED, HEAD, _registry, jpeg_bytes, legacy_inspection, model_report, registry_of

T0 = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)
ADMIN_PW = "县里的管理员密码2026"
ZHANG_PW = "chengguan-zhang-01"
LI_PW = "liulin-li-pass-02"
PLAN_PW = "planner pass phrase"


@pytest.fixture(autouse=True)
def fast_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VILLAGE_AUDIT_BCRYPT_ROUNDS", "4")
    for name in ("VILLAGE_AUDIT_LOCKOUT_ATTEMPTS", "VILLAGE_AUDIT_LOCKOUT_MINUTES", "VILLAGE_AUDIT_SESSION_HOURS",
                 "VILLAGE_AUDIT_PASSWORD_MIN_LENGTH", DB_URL_ENV, PAUSE_BEFORE_COMMIT_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def data_dir(tmp_path: Path, backend_url: str | None) -> Path:
    """The data directory; the database is SQLite in it, or a fresh PostgreSQL schema (``backend``, conftest)."""
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path):
    s = open_store(data_dir=data_dir)
    yield s
    s.close()


@pytest.fixture
def people(store: Store) -> dict[str, User]:
    """An administrator, an inspector of 城关镇, one of 柳林镇 and a planner, each signed in."""
    add_user(store, "admin", ADMIN_PW, role="admin", display_name="县管理员", now=T0, by=SYSTEM)
    add_user(store, "zhangsan", ZHANG_PW, role="inspector", townships=["城关镇"], display_name="张三", now=T0, by=SYSTEM)
    add_user(store, "lisi", LI_PW, role="inspector", townships=["柳林镇", " 河口镇 "], display_name="李四", now=T0, by=SYSTEM)
    add_user(store, "planner", PLAN_PW, role="planner", display_name="规划王", now=T0, by=SYSTEM)
    return {"admin": authenticate(store, "admin", ADMIN_PW), "zhang": authenticate(store, "zhangsan", ZHANG_PW),
            "li": authenticate(store, "lisi", LI_PW), "planner": authenticate(store, "planner", PLAN_PW)}


def _submit(store: Store, rules: Rules, user: User, township: str | None, seed: int, name: str = "王庄村") -> str:
    """Submit village ``seed`` (code ``00<seed>``), which the registry it is filed against puts in ``township``."""
    data = jpeg_bytes(seed)
    return submit_inspection(store, model_report(data, rules, code=f"{seed:03d}", name=name), [data], user=user,
                             registry=registry_of([(f"{seed:03d}", name, township)]), audited=AUDITED)


def _count(store: Store, table: sa.Table) -> int:
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
    ("inspector", ("城关镇",), "read_inspections", NO_TOWNSHIP, False),
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
    ("admin", (), "review", NO_TOWNSHIP, True),
    ("admin", (), "export", None, True),
    ("admin", (), "manage_users", None, True),
    ("admin", (), "manage_rules", None, True),
    ("admin", (), "manage_rounds", None, True),
])
def test_role_table(role: str, townships: tuple[str, ...], action: str, township: str | None, allowed: bool) -> None:
    user = User("u1", role=role, townships=townships)
    assert user.can(action, township) is allowed
    assert User("u1", role=role, townships=townships, disabled=True).can(action, township) is False


def test_refusal_names_user_action_and_township() -> None:
    zhang = User("zhangsan", role="inspector", townships=("城关镇",), display_name="张三")
    with pytest.raises(AccessError, match=r"^用户「张三（zhangsan）」（乡镇检查员）只负责 城关镇，"
                                          r"无权对「柳林镇」的村庄复核核查记录 \(review\)（王庄村 核查记录 x）$"):
        zhang.require("review", "柳林镇", what="王庄村 核查记录 x")
    with pytest.raises(AccessError, match=r"「规划王（p）」（规划人员）无权提交核查 \(inspect\)"):
        User("p", role="planner", display_name="规划王").require("inspect", "城关镇")
    with pytest.raises(AccessError, match="已停用"):
        User("a", role="admin", disabled=True).require("export")
    with pytest.raises(AuditError, match="'action' should be one of .* got 'inspekt'"):
        zhang.can("inspekt")
    with pytest.raises(AuditError, match="'role' should be one of"):
        User("x", role="superuser")
    assert User("x", role="inspector", townships="城关镇").townships == ("城关镇",)  # a name, not its characters


# ------------------------------------------------------------------------------ scoping through the store
def test_inspector_works_only_in_own_township(store: Store, people: dict[str, User], rules: Rules,
                                              data_dir: Path) -> None:
    zhang, admin = people["zhang"], people["admin"]
    mine = _submit(store, rules, zhang, "城关镇", 1)
    assert inspection_from_store(store, mine, user=zhang).inspector == "zhangsan"

    # a 柳林镇 village: refused before any photo or row is written
    with pytest.raises(AccessError, match="「张三（zhangsan）」（乡镇检查员）只负责 城关镇，无权对「柳林镇」的村庄提交核查"):
        _submit(store, rules, zhang, "柳林镇", 2, name="柳林村")
    assert _count(store, inspections) == 1 and not list((data_dir / "photos").glob("*/*"))[1:]
    with pytest.raises(AccessError, match="「（未注明乡镇）」"):  # an inspector must say where
        _submit(store, rules, zhang, None, 3)

    theirs = _submit(store, rules, admin, "柳林镇", 4, name="柳林村")
    unplaced = _submit(store, rules, admin, None, 5, name="无乡镇村")
    plaque = inspection_from_store(store, theirs, user=SYSTEM).plaques[0].id
    with pytest.raises(AccessError, match="无权对「柳林镇」的村庄复核核查记录 .review.（柳林村 核查记录"):
        review_inspection(store, theirs, [DeletePlaque(plaque)], user=zhang, rules=rules)
    assert inspection_from_store(store, theirs, user=SYSTEM).reviewed_at is None and review_log_table(store, user=SYSTEM).empty
    with pytest.raises(AccessError, match="无权对「柳林镇」的村庄查看核查记录"):
        inspection_from_store(store, theirs, user=zhang)
    with pytest.raises(AccessError, match="未注明乡镇"):
        inspection_from_store(store, unplaced, user=zhang)

    assert inspections_table(store, user=zhang)["inspection_id"].tolist() == [mine]
    assert sorted(inspections_table(store, user=people["li"])["inspection_id"]) == [theirs]
    assert len(inspections_table(store, user=admin)) == 3

    own = inspection_from_store(store, mine, user=SYSTEM).plaques[0].id
    review_inspection(store, mine, [ConfirmPlaque(own)], user=zhang, rules=rules)
    review_inspection(store, theirs, [ConfirmPlaque(plaque)], user=people["li"], rules=rules)
    assert set(review_log_table(store, user=zhang)["inspection_id"]) == {mine}
    assert set(review_log_table(store, user=admin)["inspection_id"]) == {mine, theirs}
    assert review_log_table(store, theirs, user=zhang).empty
    assert inspection_from_store(store, mine, user=SYSTEM).reviewed_by == "zhangsan"

    # photos: only those of a village the user may see
    their_photo = inspection_from_store(store, theirs, user=SYSTEM).photos[0]
    my_photo = inspection_from_store(store, mine, user=SYSTEM).photos[0]
    assert photo_for_user(store, zhang, my_photo.sha256) == jpeg_bytes(1)
    with pytest.raises(AccessError, match="「柳林镇」.*照片"):
        photo_for_user(store, zhang, their_photo.sha256)
    assert photo_for_user(store, people["li"], their_photo.sha256) == jpeg_bytes(4)
    with pytest.raises(StoreError, match="64 lower-case hex"):
        photo_for_user(store, zhang, "../../etc/passwd")
    with pytest.raises(StoreError, match="no stored photo"):
        photo_for_user(store, zhang, "0" * 64)

    # the ledger: an inspector sees the villages of their townships only
    registry = _registry().assign(township=["城关镇", "城关镇", "柳林镇", "河口镇"])
    assert ledger_from_store(store, registry, user=zhang)["village_code"].tolist() == ["001", "002"]
    assert ledger_from_store(store, registry, user=people["li"])["village_code"].tolist() == ["003", "004"]
    assert len(ledger_from_store(store, registry, user=people["planner"])) == 4


def test_the_registry_not_the_caller_decides_the_township(store: Store, people: dict[str, User], rules: Rules,
                                                          data_dir: Path) -> None:
    """An inspector of 城关镇 cannot file a 柳林镇 village under 城关镇: its township is the registry's."""
    zhang, li = people["zhang"], people["li"]
    villages = pd.DataFrame({"village_code": ["001", "003"], "village_name": ["王庄村", "柳林村"],
                             "township": ["城关镇", "柳林镇"]})
    registry = registry_of([("001", "王庄村", "城关镇"), ("003", "柳林村", "柳林镇")])
    data = jpeg_bytes(51)
    report = model_report(data, rules, code="003", name="柳林村")
    with pytest.raises(AccessError, match="只负责 城关镇，无权对「柳林镇」的村庄提交核查 .inspect.（柳林村的核查）"):
        submit_inspection(store, report, [data], user=zhang, registry=registry, audited=AUDITED)
    with pytest.raises(StoreError, match="核查报告属于村代码「003」，不能记为「王庄村」"):  # nor under a village of his own
        submit_inspection(store, report, [data], user=zhang, registry=registry, audited=AUDITED, village_code="001")
    with pytest.raises(TypeError, match="unexpected keyword argument 'township'"):  # no township from the caller
        submit_inspection(store, report, [data], user=zhang, registry=registry, audited=AUDITED, township="城关镇")
    assert _count(store, inspections) == 0 and not list((data_dir / "photos").rglob("*.*"))

    iid = submit_inspection(store, report, [data], user=li, registry=registry, audited=AUDITED)
    assert inspection_from_store(store, iid, user=li).township == "柳林镇"
    assert inspections_table(store, user=zhang).empty
    theirs = ledger_from_store(store, villages, user=li)
    assert theirs[["village_code", "last_inspection_id", "inspector"]].values.tolist() == [["003", iid, "lisi"]]
    mine = ledger_from_store(store, villages, user=zhang)
    assert mine["village_code"].tolist() == ["001"] and mine["last_inspection_id"].isna().all()


def test_an_account_disabled_after_sign_in_can_no_longer_act(store: Store, people: dict[str, User], rules: Rules,
                                                             data_dir: Path) -> None:
    zhang, admin = people["zhang"], people["admin"]  # signed in while enabled
    mine = _submit(store, rules, zhang, "城关镇", 61)
    plaque = inspection_from_store(store, mine, user=SYSTEM).plaques[0].id
    photo_files = sorted((data_dir / "photos").rglob("*.*"))
    disable_user(store, "zhangsan", by=admin)
    assert zhang.disabled is False  # the User the app held still says enabled; the store reads the account again
    with pytest.raises(AccessError, match=r"^用户「张三（zhangsan）」（乡镇检查员）的账户已停用"):
        _submit(store, rules, zhang, "城关镇", 62)
    with pytest.raises(AccessError, match="的账户已停用"):
        review_inspection(store, mine, [ConfirmPlaque(plaque)], user=zhang, rules=rules)
    with pytest.raises(AccessError, match="的账户已停用"):
        inspections_table(store, user=zhang)
    with pytest.raises(AccessError, match="的账户已停用"):
        set_password(store, "zhangsan", "changed while disabled", by=zhang)
    assert _count(store, inspections) == 1 and _count(store, review_log) == 0
    assert sorted((data_dir / "photos").rglob("*.*")) == photo_files  # refused before its photo was written

    # enabled again but moved to 柳林镇: the stored townships count, not those of the User held since
    enable_user(store, "zhangsan", by=admin)
    set_role(store, "zhangsan", "inspector", townships=["柳林镇"], by=admin)
    with pytest.raises(AccessError, match="只负责 柳林镇，无权对「城关镇」的村庄提交核查"):
        _submit(store, rules, zhang, "城关镇", 63)
    with pytest.raises(AccessError, match="只负责 柳林镇，无权对「城关镇」的村庄复核核查记录"):
        review_inspection(store, mine, [ConfirmPlaque(plaque)], user=zhang, rules=rules)

    # an administrator disabled since signing in manages no one any more
    add_user(store, "admin2", ADMIN_PW, role="admin", by=admin)
    admin2 = authenticate(store, "admin2", ADMIN_PW)
    disable_user(store, "admin2", by=admin)
    with pytest.raises(AccessError, match="「admin2」（县级管理员）的账户已停用"):
        add_user(store, "newbie", "a fine password", role="planner", by=admin2)
    with pytest.raises(AccessError, match="的账户已停用"):
        create_round(store, "第四季度", dt.date(2026, 10, 1), dt.date(2026, 12, 31), user=admin2)
    assert "newbie" not in set(users_table(store, by=admin)["username"]) and _count(store, rounds) == 0


def test_only_accounts_and_the_system_act(store: Store, people: dict[str, User]) -> None:
    """A User without an account (a look-alike of the server's identity included) is refused; no account can
    take the server's name."""
    with pytest.raises(AccessError, match="没有账户"):
        inspections_table(store, user=User("ghost", role="admin"))
    with pytest.raises(AccessError, match="没有账户"):
        users_table(store, by=User(SYSTEM_NAME, role="admin", display_name=SYSTEM_NAME))
    with pytest.raises(AuditError, match="用户名应为"):
        add_user(store, SYSTEM_NAME, ADMIN_PW, role="admin", by=SYSTEM)
    assert len(users_table(store, by=SYSTEM)) == 4 and inspections_table(store, user=SYSTEM).empty


def test_planner_reads_the_county_and_writes_nothing(store: Store, people: dict[str, User], rules: Rules,
                                                     tmp_path: Path) -> None:
    planner = people["planner"]
    a = _submit(store, rules, people["zhang"], "城关镇", 11)
    b = _submit(store, rules, people["li"], "柳林镇", 12)
    assert sorted(inspections_table(store, user=planner)["inspection_id"]) == sorted([a, b])
    assert inspection_from_store(store, b, user=planner).township == "柳林镇"
    assert photo_for_user(store, planner, inspection_from_store(store, a, user=SYSTEM).photos[0].sha256) == jpeg_bytes(11)

    with pytest.raises(AccessError, match="「规划王（planner）」（规划人员）无权提交核查"):
        _submit(store, rules, planner, "城关镇", 13)
    plaque = inspection_from_store(store, a, user=SYSTEM).plaques[0].id
    with pytest.raises(AccessError, match="无权复核核查记录"):
        review_inspection(store, a, [ConfirmPlaque(plaque)], user=planner, rules=rules)
    with pytest.raises(AccessError, match="无权导出数据"):
        export_dataset(store, tmp_path / "ds", user=planner)
    with pytest.raises(AccessError, match="无权导出数据"):
        ledger_to_xlsx(ledger_from_store(store, _registry(), user=planner), tmp_path / "l.xlsx", user=planner)
    with pytest.raises(AccessError, match="无权管理核查轮次"):
        create_round(store, "第四季度", dt.date(2026, 10, 1), dt.date(2026, 12, 31), user=planner)
    with pytest.raises(AccessError, match="无权管理用户"):
        add_user(store, "newbie", "a fine password", role="planner", by=planner)
    with pytest.raises(AccessError, match="无权管理用户"):
        users_table(store, by=planner)
    assert _count(store, inspections) == 2 and _count(store, rounds) == 0 and _count(store, review_log) == 0


def test_admin_can_do_everything(store: Store, people: dict[str, User], rules: Rules, tmp_path: Path) -> None:
    admin = people["admin"]
    round_id = create_round(store, "第四季度", dt.date(2026, 10, 1), dt.date(2026, 12, 31), user=admin)
    a = _submit(store, rules, people["li"], "柳林镇", 21)
    b = _submit(store, rules, admin, "城关镇", 22)
    plaque = inspection_from_store(store, a, user=admin).plaques[0].id
    got = review_inspection(store, a, [ConfirmPlaque(plaque)], user=admin, rules=rules)
    assert (got.reviewed_by, inspection_from_store(store, b, user=SYSTEM).inspector) == ("admin", "admin")
    assert export_dataset(store, tmp_path / "ds", user=admin, fully_reviewed_only=False).exists()
    assert ledger_to_xlsx(ledger_from_store(store, _registry(), user=admin, round_id=round_id), tmp_path / "l.xlsx",
                          user=admin).exists()
    added = add_user(store, "wangwu", "another password", role="inspector", townships=["河口镇"], by=admin)
    assert set_role(store, "wangwu", "planner", by=admin).county_wide and added.townships == ("河口镇",)
    assert disable_user(store, "wangwu", by=admin).disabled
    assert len(users_table(store, by=admin)) == 5


# --------------------------------------------------------------------------------------------- passwords
@pytest.mark.parametrize("backend", ["sqlite"])  # reads the SQLite file and its WAL
def test_password_is_a_bcrypt_hash_and_never_stored_in_clear(store: Store, data_dir: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "zhang-secret-城关-7731"
    add_user(store, "zhangsan", secret, role="inspector", townships=["城关镇"], by=SYSTEM)
    with pytest.raises(AccessError, match="用户名或密码错误"):
        authenticate(store, "zhangsan", "typo-secret-城关-7731")
    with pytest.raises(AccessError, match="用户名或密码错误"):  # an unknown name gets the same message
        authenticate(store, "zhang-secret-城关-7731", secret)
    with store.engine.connect() as conn:
        stored = conn.execute(sa.select(users.c.password_hash).where(users.c.username == "zhangsan")).scalar()
    assert stored.startswith("$2b$04$") and len(stored) == 60
    assert bcrypt.checkpw(secret.encode(), stored.encode()) and not bcrypt.checkpw(b"other", stored.encode())
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(FULL)").all()
    files = [p for p in data_dir.iterdir() if p.name.startswith(DB_FILENAME)]
    assert files and any(p.stat().st_size for p in files)
    for path in files:  # the database, its WAL and shared memory: neither the password nor the typo anywhere
        raw = path.read_bytes()
        for clear in (secret, "typo-secret-城关-7731"):
            assert clear.encode() not in raw and clear.encode("utf-16-le") not in raw
        assert stored.encode() in raw or path.suffix != ".sqlite"
    assert sign_in_log_table(store, by=SYSTEM)["username"].tolist() == ["zhangsan", None]

    # a hash cheaper than the configured cost is replaced at the next sign-in
    monkeypatch.setenv("VILLAGE_AUDIT_BCRYPT_ROUNDS", "5")
    authenticate(store, "zhangsan", secret)
    with store.engine.connect() as conn:
        rehashed = conn.execute(sa.select(users.c.password_hash)).scalar()
    assert rehashed.startswith("$2b$05$") and bcrypt.checkpw(secret.encode(), rehashed.encode())


@pytest.mark.parametrize(("password", "message"), [
    ("short", "密码至少 8 个字符，got 5"),
    ("长" * 25, "密码过长（UTF-8 75 字节"),
    ("ZhangSan", "不能与用户名相同"),
    ("nul\x00inside pw", "NUL"),
])
def test_password_policy(store: Store, password: str, message: str) -> None:
    with pytest.raises(AuditError, match=message) as info:
        add_user(store, "zhangsan", password, role="admin", by=SYSTEM)
    assert password not in str(info.value)
    assert _count(store, users) == 0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"username": "zhang san"}, "用户名应为"),
    ({"username": ""}, "用户名应为"),
    ({"role": "boss"}, "'role' should be one of"),
    ({"role": "inspector"}, "至少要负责一个乡镇"),
    ({"role": "planner", "townships": ["城关镇"]}, "覆盖全县"),
    ({"role": "inspector", "townships": [NO_TOWNSHIP]}, "不是乡镇名称"),
])
def test_bad_accounts_are_refused(store: Store, kwargs: dict, message: str) -> None:
    args = {"username": "zhangsan", "role": "admin", **kwargs}
    with pytest.raises(AuditError, match=message):
        add_user(store, args.pop("username"), "long enough pw", **args, by=SYSTEM)


def test_duplicate_unknown_and_last_admin(store: Store) -> None:
    add_user(store, "admin", ADMIN_PW, role="admin", by=SYSTEM)
    with pytest.raises(StoreError, match="用户名「admin」已存在"):
        add_user(store, "admin", ADMIN_PW, role="planner", by=SYSTEM)
    with pytest.raises(StoreError, match="没有用户「nobody」"):
        disable_user(store, "nobody", by=SYSTEM)
    with pytest.raises(AuditError, match="最后一个启用的县级管理员"):
        disable_user(store, "admin", by=SYSTEM)
    with pytest.raises(AuditError, match="最后一个启用的县级管理员"):
        set_role(store, "admin", "planner", by=SYSTEM)
    add_user(store, "admin2", ADMIN_PW, role="admin", by=SYSTEM)
    assert disable_user(store, "admin", by=SYSTEM).disabled and user_from_store(store, "admin2").role == "admin"


# -------------------------------------------------------------------------------------- lock-out, disable
def test_lockout_after_repeated_failures_and_unlock_after_the_period(store: Store) -> None:
    add_user(store, "zhangsan", ZHANG_PW, role="inspector", townships=["城关镇"], by=SYSTEM)
    for i in range(4):
        with pytest.raises(AccessError, match=r"^用户名或密码错误 \(wrong user name or password\)$"):
            authenticate(store, "zhangsan", f"wrong {i}", now=T0 + dt.timedelta(seconds=i))
    authenticate(store, "zhangsan", ZHANG_PW, now=T0 + dt.timedelta(seconds=5))  # success resets the count
    for i in range(4):
        with pytest.raises(AccessError, match="用户名或密码错误"):
            authenticate(store, "zhangsan", f"wrong {i}", now=T0 + dt.timedelta(seconds=10 + i))
    assert users_table(store, by=SYSTEM)["failed_attempts"].tolist() == [4]
    with pytest.raises(AccessError, match="连续 5 次错误，账户「zhangsan」已锁定至 2026-11-27 16:15（北京时间）"):
        authenticate(store, "zhangsan", "wrong 5", now=T0 + dt.timedelta(seconds=20))
    with pytest.raises(AccessError, match="已锁定至 2026-11-27 16:15"):  # the right password does not help now
        authenticate(store, "zhangsan", ZHANG_PW, now=T0 + dt.timedelta(minutes=14))
    with pytest.raises(AccessError, match="已锁定至 2026-11-27 16:15"):  # nor do more tries extend the lock
        authenticate(store, "zhangsan", "wrong 6", now=T0 + dt.timedelta(minutes=15))
    user = authenticate(store, "zhangsan", ZHANG_PW, now=T0 + dt.timedelta(minutes=15, seconds=21))
    assert user.username == "zhangsan"
    log = sign_in_log_table(store, username="zhangsan", by=SYSTEM)
    assert log["reason"].tolist() == ["wrong_password"] * 4 + ["ok"] + ["wrong_password"] * 4 + [
        "lockout", "locked", "locked", "ok"]
    assert log["success"].tolist() == [False] * 4 + [True] + [False] * 7 + [True]
    assert log["at"].iloc[-1] == T0 + dt.timedelta(minutes=15, seconds=21)


def test_lockout_settings_come_from_the_environment(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VILLAGE_AUDIT_LOCKOUT_ATTEMPTS", "2")
    monkeypatch.setenv("VILLAGE_AUDIT_LOCKOUT_MINUTES", "1")
    add_user(store, "zhangsan", ZHANG_PW, role="planner", by=SYSTEM)
    with pytest.raises(AccessError, match=r"用户名或密码错误 \(wrong user name or password\)$"):
        authenticate(store, "zhangsan", "x", now=T0)
    with pytest.raises(AccessError, match="连续 2 次错误"):
        authenticate(store, "zhangsan", "y", now=T0)
    with pytest.raises(AccessError, match="已锁定"):
        authenticate(store, "zhangsan", ZHANG_PW, now=T0 + dt.timedelta(seconds=59))
    assert authenticate(store, "zhangsan", ZHANG_PW, now=T0 + dt.timedelta(seconds=60)).role == "planner"
    monkeypatch.setenv("VILLAGE_AUDIT_LOCKOUT_ATTEMPTS", "many")
    with pytest.raises(AuditError, match="VILLAGE_AUDIT_LOCKOUT_ATTEMPTS 应为整数"):
        authenticate(store, "zhangsan", "z", now=T0)


def test_disabled_user_is_refused_and_enabling_lifts_a_lock(store: Store) -> None:
    add_user(store, "admin", ADMIN_PW, role="admin", by=SYSTEM)
    add_user(store, "zhangsan", ZHANG_PW, role="inspector", townships=["城关镇"], by=SYSTEM)
    session = new_session(authenticate(store, "zhangsan", ZHANG_PW, now=T0), now=T0)
    disable_user(store, "zhangsan", by=SYSTEM)
    with pytest.raises(AccessError, match="账户「zhangsan」已停用"):
        authenticate(store, "zhangsan", ZHANG_PW, now=T0)
    with pytest.raises(AccessError, match="已停用或不存在"):
        user_from_session(store, session, now=T0 + dt.timedelta(minutes=1))
    assert sign_in_log_table(store, by=SYSTEM)["reason"].tolist() == ["ok", "disabled"]
    enable_user(store, "zhangsan", by=SYSTEM)
    for _ in range(5):
        with pytest.raises(AccessError):
            authenticate(store, "zhangsan", "wrong", now=T0)
    enable_user(store, "zhangsan", by=SYSTEM)
    assert authenticate(store, "zhangsan", ZHANG_PW, now=T0).username == "zhangsan"


# ---------------------------------------------------------------------------------------------- sessions
def test_sessions_expire_and_follow_the_stored_account(store: Store) -> None:
    add_user(store, "admin", ADMIN_PW, role="admin", now=T0, by=SYSTEM)
    add_user(store, "zhangsan", ZHANG_PW, role="inspector", townships=["城关镇"], now=T0, by=SYSTEM)
    user = authenticate(store, "zhangsan", ZHANG_PW, now=T0)
    session = new_session(user, dt.timedelta(hours=1), now=T0)
    assert session.expires_at == T0 + dt.timedelta(hours=1) and len(session.token) >= 40
    assert new_session(user, now=T0).token != session.token
    assert session_valid(session, T0 + dt.timedelta(minutes=59))
    assert not session_valid(session, T0 + dt.timedelta(hours=1))
    assert not session_valid(session, T0 - dt.timedelta(seconds=1))
    assert new_session(user, now=T0).expires_at == T0 + dt.timedelta(hours=8)
    with pytest.raises(AccessError, match="登录已过期"):
        user_from_session(store, session, now=T0 + dt.timedelta(hours=2))
    with pytest.raises(AuditError, match="positive timedelta"):
        new_session(user, dt.timedelta(0))

    set_role(store, "zhangsan", "inspector", townships=["柳林镇"], now=T0, by=SYSTEM)  # a new township takes effect at once
    assert user_from_session(store, session, now=T0 + dt.timedelta(minutes=5)).townships == ("柳林镇",)
    set_password(store, "zhangsan", "a brand new password", now=T0 + dt.timedelta(minutes=10), by=SYSTEM)
    with pytest.raises(AccessError, match="密码已修改"):
        user_from_session(store, session, now=T0 + dt.timedelta(minutes=11))
    with pytest.raises(AccessError, match="用户名或密码错误"):
        authenticate(store, "zhangsan", ZHANG_PW, now=T0 + dt.timedelta(minutes=12))
    fresh = new_session(authenticate(store, "zhangsan", "a brand new password",
                                           now=T0 + dt.timedelta(minutes=12)), now=T0 + dt.timedelta(minutes=12))
    assert user_from_session(store, fresh, now=T0 + dt.timedelta(minutes=13)).username == "zhangsan"


def test_users_change_their_own_password_only(store: Store) -> None:
    add_user(store, "zhangsan", ZHANG_PW, role="inspector", townships=["城关镇"], by=SYSTEM)
    add_user(store, "lisi", LI_PW, role="inspector", townships=["柳林镇"], by=SYSTEM)
    zhang = user_from_store(store, "zhangsan")
    set_password(store, "zhangsan", "my own new password", by=zhang)
    with pytest.raises(AccessError, match="无权管理用户"):
        set_password(store, "lisi", "not your password", by=zhang)
    assert authenticate(store, "lisi", LI_PW).username == "lisi"


# ------------------------------------------------------------------------------------------------- CLI
@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer(add_completion=False, no_args_is_help=True)
    users_cli.register(app)
    return app


def test_cli_add_set_role_disable_list(cli: typer.Typer, store: Store, data_dir: Path) -> None:
    runner = CliRunner()
    db = ["--db", store.engine.url.render_as_string(hide_password=False)]
    first = runner.invoke(cli, ["add", "admin", "--role", "admin", "--password-stdin", *db], input=ADMIN_PW + "\n")
    assert first.exit_code == 0, first.output
    assert "已添加用户「admin」（县级管理员，全县）" in first.output and ADMIN_PW not in first.output
    prompted = runner.invoke(cli, ["add", "zhangsan", "--role", "inspector", "--township", "城关镇", "--name", "张三", *db],
                             input=f"{ZHANG_PW}\n{ZHANG_PW}\n")
    assert prompted.exit_code == 0, prompted.output
    assert "已添加用户「zhangsan」（乡镇检查员，负责 城关镇）" in prompted.output and ZHANG_PW not in prompted.output
    assert authenticate(store, "zhangsan", ZHANG_PW).display_name == "张三"

    moved = runner.invoke(cli, ["set-role", "zhangsan", "--role", "inspector", "--township", "柳林镇", "--township",
                                "城关镇", *db])
    assert moved.exit_code == 0 and "现为乡镇检查员，负责 城关镇、柳林镇" in moved.output
    assert user_from_store(store, "zhangsan").townships == ("城关镇", "柳林镇")
    assert runner.invoke(cli, ["disable", "zhangsan", *db]).exit_code == 0
    with pytest.raises(AccessError, match="已停用"):
        authenticate(store, "zhangsan", ZHANG_PW)
    listed = runner.invoke(cli, ["list", *db])
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines == ["admin\tadmin\t县级管理员\t全县\t正常", "zhangsan\t张三\t乡镇检查员\t城关镇、柳林镇\t已停用"]
    assert runner.invoke(cli, ["enable", "zhangsan", *db]).exit_code == 0
    reset = runner.invoke(cli, ["password", "zhangsan", "--password-stdin", *db], input="reset by the county\n")
    assert reset.exit_code == 0 and authenticate(store, "zhangsan", "reset by the county").username == "zhangsan"

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
    assert sorted(users_table(store, by=SYSTEM)["username"]) == ["admin", "zhangsan"]


def test_cli_list_on_an_empty_store(cli: typer.Typer, store: Store) -> None:
    result = CliRunner().invoke(cli, ["list", "--db", store.engine.url.render_as_string(hide_password=False)])
    assert result.exit_code == 0 and "audit users add admin --role admin" in result.output


# -------------------------------------------------------------------------------------------- migration
def _raw_rows(store: Store) -> dict[str, list[tuple]]:
    """Every row of the inspection tables as the database holds them (columns of any revision)."""
    with store.engine.connect() as conn:
        return {t: sorted(tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {t}"))
                for t in ("inspections", "inspection_photos", "photos", "plaques", "review_log")}


def test_migration_0002_upgrades_a_0001_database_with_data(data_dir: Path, rules: Rules) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from audit.records.db import plaques

    s = open_store(data_dir=data_dir, migrate=False)
    upgrade(s, "0001")
    assert schema_revision(s) == "0001" and "users" not in sa.inspect(s.engine).get_table_names()
    iid = legacy_inspection(s, rules, jpeg_bytes(31), inspector="张三", township="城关镇")  # as 0001 wrote it
    with write_transaction(s) as conn:
        plaque = conn.execute(sa.select(sa.func.min(plaques.c.id))).scalar()
        conn.execute(review_log.insert().values(inspection_id=iid, plaque_id=plaque, reviewer="王五", at=T0.replace(
            tzinfo=None), field="deleted", old_value="false", new_value="true"))
    before = _raw_rows(s)

    upgrade(s, "0002")
    assert schema_revision(s) == "0002"
    assert {"users", "sign_in_log"} <= set(sa.inspect(s.engine).get_table_names())
    assert _raw_rows(s) == before
    with write_transaction(s) as conn:  # an account as 0002 holds it (today's add_user writes later columns too)
        conn.exec_driver_sql(
            "INSERT INTO users (username, display_name, role, townships, password_hash, disabled, failed_attempts, "
            "password_changed_at, created_at, updated_at) VALUES ('wangwu', 'wangwu', 'admin', '[]', 'x', false, 0, "
            "'2026-11-27 08:00:00', '2026-11-27 08:00:00', '2026-11-27 08:00:00')")
    with write_transaction(s) as conn:  # and back down: the accounts go, the inspections stay
        command.downgrade(alembic_config(s, conn), "0001")
    assert schema_revision(s) == "0001" and "users" not in sa.inspect(s.engine).get_table_names()
    assert _raw_rows(s) == before
    s.close()

    s = open_store(data_dir=data_dir)  # opening upgrades to head
    assert schema_revision(s) == HEAD and users_table(s, by=SYSTEM).empty
    with s.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    got = inspection_from_store(s, iid, user=SYSTEM)
    assert (got.inspector, got.township, got.verdict) == ("张三", "城关镇", "needs_rectification")
    assert review_log_table(s, iid, user=SYSTEM)[["reviewer", "field"]].values.tolist() == [["王五", "deleted"]]
    add_user(s, "zhangsan", ZHANG_PW, role="inspector", townships=["城关镇"], by=SYSTEM)
    zhang = authenticate(s, "zhangsan", ZHANG_PW)
    assert inspections_table(s, user=zhang)["inspector"].tolist() == ["张三"]  # old rows keep their names
    with s.engine.connect() as conn:
        assert json.loads(conn.execute(sa.select(inspections.c.summary)).scalar())["verdict"] == got.verdict
    s.close()
