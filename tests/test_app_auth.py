"""Signing in, roles and township scoping in the app, through Streamlit's AppTest (real script runs).

The store of each test is made by ``tests.test_app.users`` (an administrator, an inspector of 城关街道 and a
planner, in ``tmp_path``); the sign-in form is filled like a user would, or a session is put in session state.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from app import auth, state
from audit import settings
from audit.records import demo_accounts
from audit.records.access import SYSTEM
from audit.records.accounts import add_user, authenticate, disable_user, user_from_store, users_table
from audit.records.db import open_store
from audit.records.sessions import start_session
from tests.test_app import APP, PAGES, PASSWORD, Accounts, accounts_for_app, errors, open_page

SIGN_IN_TITLE = "村级阵地核查 · 登录"
ROLE_PAGES = {
    "insp": ["总览", "设施地图", "面积核查", "牌子核查", "核查记录", "导出"],
    "plan": ["总览", "设施地图", "面积核查", "核查记录", "导出"],
    "admin1": list(PAGES),
}
TITLES = {"总览": "总览 · 党群服务中心面积核查", "导出": "导出面积核查结果"}


@pytest.fixture(autouse=True)
def users(tmp_path, monkeypatch) -> Accounts:
    return accounts_for_app(tmp_path, monkeypatch)


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="sign_in_username").input(username)
    at.text_input(key="sign_in_password").input(password)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def signed_out_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def stored(data_dir, username: str):
    store = open_store(data_dir=data_dir)
    try:
        with store.engine.connect() as conn:
            return conn.execute(sa.text("SELECT * FROM users WHERE username = :u"), {"u": username}).first()
    finally:
        store.close()


def test_without_a_session_only_the_sign_in_page_renders():
    at = signed_out_app()
    assert [t.value for t in at.title] == [SIGN_IN_TITLE]
    assert not at.metric and not at.dataframe and not at.sidebar.markdown and not at.sidebar.selectbox
    assert auth.SESSION not in at.session_state
    for path in PAGES.values():
        if path:
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(path)
    assert not at.get("demo_accounts") and not any("演示模式" in m.value for m in at.markdown)


def test_signing_in_through_the_form(users):
    at = sign_in(signed_out_app(), "insp", PASSWORD)
    assert at.title[0].value == "总览 · 党群服务中心面积核查"
    assert at.session_state[auth.SESSION].user.username == "insp"
    assert "城关检查员（insp）" in " ".join(m.value for m in at.sidebar.markdown)
    assert stored(users.data_dir, "insp").last_sign_in_at is not None


def test_wrong_passwords_then_lock_out():
    at = signed_out_app()
    for _ in range(4):
        sign_in(at, "insp", "wrong-password")
        assert any("用户名或密码错误" in e for e in errors(at)) and at.title[0].value == SIGN_IN_TITLE
    sign_in(at, "insp", "wrong-password")  # the fifth
    [message] = errors(at)
    assert "连续 5 次错误" in message and "已锁定至" in message and "北京时间" in message
    sign_in(at, "insp", PASSWORD)  # even the right password, while locked
    [message] = errors(at)
    assert "账户「insp」已锁定至" in message and auth.SESSION not in at.session_state
    assert at.title[0].value == SIGN_IN_TITLE


def test_a_disabled_account_cannot_sign_in_and_its_session_ends(users):
    at = open_page(user="insp")
    store = open_store(data_dir=users.data_dir)
    disable_user(store, "insp", by=SYSTEM)
    store.close()
    at.run()
    assert at.title[0].value == SIGN_IN_TITLE and auth.SESSION not in at.session_state
    assert any("已停用或不存在" in w.value for w in at.warning)
    sign_in(at, "insp", PASSWORD)
    assert any("账户「insp」已停用" in e for e in errors(at))


def test_an_expired_session_is_refused(users, monkeypatch):
    monkeypatch.setenv("VILLAGE_AUDIT_SESSION_HOURS", "1")
    store = open_store(data_dir=users.data_dir)
    old = start_session(store, users.planner, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    store.close()
    at = open_page(user=None, **{auth.SESSION: old})
    assert at.title[0].value == SIGN_IN_TITLE
    assert any("登录已过期" in w.value for w in at.warning)


@pytest.mark.parametrize("username", list(ROLE_PAGES))
def test_each_role_sees_exactly_its_pages(username):
    at = open_page(user=username)
    for title, path in PAGES.items():
        if title not in ROLE_PAGES[username]:
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(path or "app/pages/overview.py")
            continue
        at.switch_page(path or "app/pages/overview.py").run()
        assert not at.exception, (title, [e.value for e in at.exception])
        assert at.title[0].value == TITLES.get(title, title) and not errors(at), (title, errors(at))


def test_an_inspector_sees_only_their_township():
    at = open_page(user="insp")
    town = at.sidebar.selectbox(key="township")
    assert town.options == ["城关街道"] and town.value == "城关街道"
    assert {m.label: m.value for m in at.metric}["村庄数"] == "27"
    assert "27 个村" in " ".join(c.value for c in at.sidebar.caption)
    assert set(at.dataframe[0].value["乡镇（街道）"]) == {"城关街道"}  # 最需关注的乡镇: only their own
    at.switch_page("app/pages/area.py").run()
    assert set(at.dataframe[0].value["乡镇（街道）"]) == {"城关街道"} and len(at.dataframe[0].value) == 27
    at.switch_page("app/pages/export.py").run()
    assert at.selectbox(key="export_scope").options == ["城关街道"]
    assert not [b for b in at.get("download_button") if "挂牌台账" in b.proto.label]
    assert not any(b.key == "ledger_make" for b in at.button)
    at.switch_page("app/pages/inspection.py").run()
    options = at.selectbox(key="inspect_village").options
    assert len(options) == 27 and all(o.endswith("· 城关街道") for o in options)


def test_an_inspector_of_two_townships_chooses_among_them(users):
    store = open_store(data_dir=users.data_dir)
    add_user(store, "two", PASSWORD, role="inspector", townships=["柳林镇", "张秋镇"], by=SYSTEM)
    store.close()
    at = open_page(user="two")
    town = at.sidebar.selectbox(key="township")
    assert town.options == ["全部负责乡镇（张秋镇、柳林镇）", "张秋镇", "柳林镇"]
    assert {m.label: m.value for m in at.metric}["村庄数"] == "54"
    town.select("柳林镇").run()
    assert {m.label: m.value for m in at.metric}["村庄数"] == "27"


def app_as(username: str, **query: str) -> AppTest:
    """The app signed in as ``username`` of the fixture's store, with ``query`` in the URL, before its first run."""
    store = open_store()
    try:
        user = user_from_store(store, username)
    finally:
        store.close()
    store = open_store()
    try:
        session = start_session(store, user)
    finally:
        store.close()
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[auth.SESSION] = session
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    return at


def test_an_inspector_cannot_open_another_townships_village():
    at = app_as("insp", village="371599101201")  # 石楼村, 城关街道: their own
    at.switch_page("app/pages/inspection.py").run()
    assert not errors(at) and at.selectbox(key="inspect_village").options == ["石楼村（371599101201）· 城关街道"]

    from app import state
    from audit.area.registry import registry_from_file

    villages = registry_from_file(state.DEMO, crs=state.DEMO_CRS).villages
    other = villages[villages["township"] == "柳林镇"].iloc[0]
    at.query_params["village"] = other["village_code"]
    at.run()
    [message] = errors(at)
    assert "无法核查这个村" in message and "只负责 城关街道，无权对「柳林镇」的村庄提交核查" in message
    assert not at.file_uploader


def test_an_inspector_cannot_open_another_townships_inspection(users):
    from audit.records.inspections import submit_inspection, village_registry_from_file
    from audit.rules import load_rules
    from audit.signs.engine import SignageReport, inventory_from_photos
    from tests.test_store import AUDITED, jpeg_bytes, model_report

    rules = load_rules()
    data = jpeg_bytes(3)
    registry = village_registry_from_file(state.DEMO, crs=state.DEMO_CRS)  # 石楼村 is in 城关街道, 韩园村 in 柳林镇
    store = open_store(data_dir=users.data_dir)
    mine = submit_inspection(store, model_report(data, rules, code="371599101201", name="石楼村"), [data],
                             user=users.inspector, registry=registry, audited=AUDITED)
    empty = SignageReport(village={"code": "371599103201", "name": "韩园村"}, rules_version=rules.version, photos=[],
                          errors=[], summary=inventory_from_photos([], rules))
    other = submit_inspection(store, empty, [], user=users.admin, registry=registry, audited=AUDITED)
    store.close()

    at = open_page("app/pages/records.py", user="insp")
    records = next(d.value for d in at.dataframe if "记录编号" in d.value.columns)  # after the ledger
    assert list(records["记录编号"]) == [mine]  # the library leaves the other township out
    ledger = next(d.value for d in at.dataframe if "整改期限" in d.value.columns)
    assert set(ledger["乡镇（街道）"]) == {"城关街道"}  # the ledger is scoped too
    at.selectbox(key="records_open").select(mine).run()
    assert not errors(at) and len(at.image) == 1  # the photo, read through photo_for_user

    at = app_as("insp", inspection=other)
    at.switch_page("app/pages/records.py").run()
    [message] = errors(at)
    assert "无法打开这条核查记录" in message and "无权对「柳林镇」的村庄查看核查记录" in message
    assert not at.image

    at = app_as("plan", inspection=other)  # county-wide reading
    at.switch_page("app/pages/records.py").run()
    records = next(d.value for d in at.dataframe if "记录编号" in d.value.columns)
    assert not errors(at) and len(records) == 2


def test_the_admin_exports_the_ledger_with_their_name():
    import io

    import openpyxl

    at = open_page("app/pages/export.py")
    at.button(key="ledger_make").click().run()
    assert not errors(at) and any(b.proto.label == "下载挂牌台账（XLSX）" for b in at.get("download_button"))
    wb = openpyxl.load_workbook(io.BytesIO(at.session_state["export_ledger"]), read_only=True)
    cells = [c for row in wb["挂牌台账"].values for c in row if isinstance(c, str)]
    assert any(c.startswith("导出人：县管理员（admin1）") for c in cells)
    assert len(list(wb["挂牌台账"].values)) >= 401  # header and every village of the county


def test_the_admin_adds_a_user_with_a_bcrypt_hash(users):
    at = open_page("app/pages/users.py")
    assert set(at.dataframe[0].value["用户名"]) == {"admin1", "insp", "plan"}
    at.text_input(key="user_add_name").input("zhangsan")
    at.text_input(key="user_add_display").input("张三")
    at.selectbox(key="user_add_role").select("inspector")
    at.multiselect(key="user_add_townships").set_value(["柳林镇"])
    at.text_input(key="user_add_password").input("zhangsan-pass-1")
    at.text_input(key="user_add_password2").input("zhangsan-pass-1")
    next(b for b in at.button if b.label == "添加").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert any("添加用户「zhangsan」：已完成" in s.value for s in at.success)
    row = stored(users.data_dir, "zhangsan")
    assert row.role == "inspector" and row.townships == '["柳林镇"]' and row.display_name == "张三"
    assert row.password_hash.startswith("$2b$") and "zhangsan-pass-1" not in row.password_hash
    store = open_store(data_dir=users.data_dir)
    try:
        assert authenticate(store, "zhangsan", "zhangsan-pass-1").townships == ("柳林镇",)
    finally:
        store.close()

    # An inspector without a township is refused by the library, in Chinese.
    at.text_input(key="user_add_name").input("lisi")
    at.selectbox(key="user_add_role").select("inspector")
    at.multiselect(key="user_add_townships").set_value([])
    at.text_input(key="user_add_password").input("lisi-pass-123")
    at.text_input(key="user_add_password2").input("lisi-pass-123")
    next(b for b in at.button if b.label == "添加").click().run()
    assert any("添加用户「lisi」未完成" in e and "至少要负责一个乡镇" in e for e in errors(at))
    assert stored(users.data_dir, "lisi") is None


def test_the_admin_disables_changes_role_and_resets_password(users):
    at = open_page("app/pages/users.py")
    at.selectbox(key="user_pick").select("plan").run()
    at.button(key="user_disable").click().run()
    assert stored(users.data_dir, "plan").disabled
    at.selectbox(key="user_pick").select("plan").run()
    at.button(key="user_enable").click().run()
    assert not stored(users.data_dir, "plan").disabled
    at.selectbox(key="user_pick").select("plan").run()
    at.selectbox(key="user_role_role").select("inspector")
    at.multiselect(key="user_role_townships").set_value(["张秋镇"])
    next(b for b in at.button if b.label == "修改角色").click().run()
    assert not errors(at), errors(at)
    assert stored(users.data_dir, "plan").role == "inspector"
    at.text_input(key="user_password_new").input("new-password-9")
    next(b for b in at.button if b.label == "重置密码").click().run()
    assert not errors(at), errors(at)
    log = at.dataframe[-1].value
    assert {"用户名", "时间", "成功", "结果"} <= set(log.columns)

    signed = sign_in(signed_out_app(), "plan", "new-password-9")
    assert signed.sidebar.selectbox(key="township").options == ["张秋镇"]
    at.run()  # the sign-in log now holds it
    assert "成功" in set(at.dataframe[-1].value["结果"])


def test_signing_out_ends_the_session():
    at = open_page(user="plan")
    at.sidebar.button(key="sign_out").click().run()
    assert at.title[0].value == SIGN_IN_TITLE and auth.SESSION not in at.session_state
    assert any("已退出登录" in w.value for w in at.warning)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app/pages/area.py")


def test_demo_mode_creates_demo_accounts_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("VILLAGE_AUDIT_DATA_DIR", str(tmp_path / "empty"))
    at = signed_out_app()
    assert not any("演示模式" in m.value for m in at.markdown)
    store = open_store(data_dir=tmp_path / "empty")
    assert users_table(store, by=SYSTEM).empty  # no account is ever made without demo mode
    store.close()

    monkeypatch.setenv(demo_accounts.DEMO_ENV, "1")
    at = signed_out_app()
    assert any("演示模式" in m.value for m in at.markdown)
    shown = at.table[0].value
    assert list(shown["用户名"]) == ["demo-admin", "demo-inspector", "demo-planner"]
    assert set(shown["密码"]) == {demo_accounts.DEMO_PASSWORD}
    sign_in(at, "demo-inspector", demo_accounts.DEMO_PASSWORD)
    assert at.sidebar.selectbox(key="township").options == ["城关街道"]


def test_demo_data_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("VILLAGE_AUDIT_DATA_DIR")
    monkeypatch.delenv(demo_accounts.DEMO_ENV, raising=False)
    assert demo_accounts.data_dir() == settings.data_dir()
    monkeypatch.setenv(demo_accounts.DEMO_ENV, "1")
    assert demo_accounts.data_dir() == settings.REPO_DIR / ".cache" / "demo-data"
    monkeypatch.setenv("VILLAGE_AUDIT_DATA_DIR", str(tmp_path))
    assert demo_accounts.data_dir() == tmp_path
