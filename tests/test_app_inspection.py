"""牌子核查 through AppTest with a stand-in for the plaque engine (the real one is in test_app.py's slow test): the
check is saved once whatever is clicked or resent.

The stand-in returns what the engine would say about tests.test_store's photo (militia missed, the
collective-economy board read as a second supervision committee, a shop's sign read as an unlisted one), so that
the page, the review table and the store run for real on a known result in a fraction of a second.
"""

from __future__ import annotations

import pytest
import streamlit as st

from audit.records.access import SYSTEM
from audit.records.db import open_store
from audit.records.inspections import inspections_table, review_log_table
from audit.rules import load_rules
from tests.test_app import Accounts, accounts_for_app, errors, open_page
from tests.test_store import jpeg_bytes, model_report

VILLAGE = ("371599101201", "石楼村")  # 城关街道, the fixture inspector's township


@pytest.fixture(autouse=True)
def users(tmp_path, monkeypatch) -> Accounts:
    """The app's store in tmp_path with an administrator, an inspector of 城关街道 and a planner."""
    return accounts_for_app(tmp_path, monkeypatch)


class FakeEngine:
    detector = None  # the model hash is then None, as for an OCR-only engine


@pytest.fixture
def fake_engine(monkeypatch):
    """The engine's load and audit replaced: every decodable photo gets tests.test_store's plaques."""
    from audit.signs import engine as signage
    from audit.signs.intake import PhotoError, photo_from_bytes

    rules = load_rules()
    calls = []

    def audit(inputs, engine, *, village_code=None, village_name=None, progress=None, **kw):
        calls.append([p.name for p in inputs])
        photos, refused = [], []
        for i, item in enumerate(inputs):
            try:
                photo_from_bytes(item.data, item.name, rules=rules)
            except PhotoError as exc:
                refused.append(signage.PhotoErrorResult(photo=item.name, error=str(exc)))
                continue
            ph = model_report(item.data, rules).photos[0].model_copy(update={"photo": item.name, "side": item.side})
            photos.append(ph)
            if progress:
                progress(i + 1, len(inputs), item.name)
        return signage.SignageReport(village={"code": village_code, "name": village_name},
                                     rules_version=rules.version, photos=photos, errors=refused,
                                     summary=signage.inventory_from_photos(photos, rules))

    monkeypatch.setattr(signage.Engine, "load", classmethod(lambda cls, **kw: FakeEngine()))
    monkeypatch.setattr(signage, "audit_signage", audit)
    st.cache_resource.clear()
    yield calls
    st.cache_resource.clear()


def checked(photos: list[tuple[str, bytes]], *, user: str = "insp"):
    """The inspection page signed in as ``user``, the demo village picked, ``photos`` uploaded and checked."""
    at = open_page("app/pages/inspection.py", user=user)
    at.text_input(key="inspect_search").set_value(VILLAGE[0]).run()
    at.file_uploader(key="inspect_photos").set_value([(name, data, "image/jpeg") for name, data in photos]).run()
    at.button(key="inspect_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def stored(users):
    store = open_store(data_dir=users.data_dir)
    try:
        table = inspections_table(store, user=SYSTEM)
        logs = {i: review_log_table(store, i, user=SYSTEM) for i in table["inspection_id"]}
    finally:
        store.close()
    return table, logs


def save_button(at):
    return [b for b in at.button if b.label == "保存到核查记录"]


def test_a_check_is_saved_once_and_the_button_gives_way_to_the_record(users, fake_engine):
    at = checked([("门口.jpg", jpeg_bytes(1))])
    [button] = save_button(at)
    button.click().run()
    assert not at.exception and not errors(at), errors(at)
    table, logs = stored(users)
    [iid] = table["inspection_id"]
    assert "已保存到核查记录" in at.success[-1].value and iid in at.success[-1].value
    assert save_button(at) == []                                    # no second click possible
    [link] = at.get("page_link")
    assert link.proto.label == "打开这条核查记录" and f"inspection={iid}" in link.proto.query_string
    first_log = logs[iid]

    # A resent form: the page forgot it saved (a reconnect, a second app process) and the same check comes again.
    del at.session_state["inspect_saved"]
    at.run()
    save_button(at)[0].click().run()
    assert not errors(at), errors(at)
    table, logs = stored(users)
    assert table["inspection_id"].tolist() == [iid] and iid in at.success[-1].value
    assert logs[iid].equals(first_log)                              # its review was not applied twice

    # A new check of the same village is a new record.
    at.button(key="inspect_run").click().run()
    save_button(at)[0].click().run()
    assert len(stored(users)[0]) == 2 and len(fake_engine) == 2


def verdicts(at) -> list[str]:
    return [a.value for kind in ("success", "warning", "info") for a in getattr(at, kind)
            if a.value.startswith("核查结论：")]


# The check photographs the front only: with every outside finding put right the village is 待复核, and the only
# reason left is the inside not photographed.
INSIDE_ONLY = "- 未拍摄内部照片，未核查：综治中心、退役军人服务站"


def reasons(at) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("- ")]


def test_a_correction_changes_the_verdict_on_screen_before_and_after_saving(users, fake_engine):
    at = checked([("门口.jpg", jpeg_bytes(1))])
    assert verdicts(at) == ["核查结论：需要整改"]
    # The inspector: the second supervision-committee board is the collective economy's, the shop's sign is a
    # false detection, and the militia board was missed (one photo: no photo number needed).
    at.session_state["inspect_review"] = {"edited_rows": {5: {"choice": "村集体经济组织"}, 6: {"delete": True}},
                                          "added_rows": [], "deleted_rows": []}
    at.session_state["inspect_added"] = {"edited_rows": {}, "added_rows": [{"choice": "民兵连", "text": "石楼村民兵连"}],
                                         "deleted_rows": []}
    at.run()
    assert not at.exception and not errors(at), errors(at)
    assert verdicts(at) == ["核查结论：待复核"] and reasons(at) == [INSIDE_ONLY]
    assert any("识别结果原为「需要整改」" in c.value for c in at.caption)
    assert {m.label: m.value for m in at.metric}["不应悬挂"] == "0"
    # Half undone: the sign kept, re-typed as one to decide later -> 待复核.
    at.session_state["inspect_review"] = {"edited_rows": {5: {"choice": "村集体经济组织"},
                                                          6: {"choice": "其他：待人工确认"}},
                                          "added_rows": [], "deleted_rows": []}
    at.run()
    assert verdicts(at) == ["核查结论：待复核"] and len(reasons(at)) == 2 and INSIDE_ONLY in reasons(at)
    at.session_state["inspect_review"] = {"edited_rows": {5: {"choice": "村集体经济组织"}, 6: {"delete": True}},
                                          "added_rows": [], "deleted_rows": []}
    at.run()
    save_button(at)[0].click().run()
    assert not errors(at), errors(at)
    assert verdicts(at) == ["核查结论：待复核"] and reasons(at) == [INSIDE_ONLY]  # the stored record's, read back
    table, logs = stored(users)
    [iid] = table["inspection_id"]
    assert table["verdict"].tolist() == ["needs_review"]

    # The record page: its verdict, its corrections by name, the photos drawn with the corrected boxes.
    at.switch_page("app/pages/records.py").run()
    at.selectbox(key="records_open").select(iid).run()
    assert not at.exception and not errors(at), errors(at)
    assert "核查结论：待复核" in verdicts(at)
    corrections = next(d.value for d in at.dataframe if "修改" in d.value.columns)
    assert set(corrections["复核人"]) == {"城关检查员（insp）"}
    assert set(corrections["修改"]) >= {"改牌子类型", "删除误检", "补录漏检"}
    changed = corrections[corrections["修改"] == "改牌子类型"]
    assert changed[["原值", "新值"]].values.tolist() == [["村务监督委员会", "村集体经济组织"]]
    assert corrections.loc[corrections["修改"] == "补录漏检", "新值"].tolist() == ["民兵连：石楼村民兵连"]
    assert any("1. 门口.jpg（外部）" in c for img in at.image for c in img.captions)
    assert any("这是该村的第一次核查" in m.value for m in at.markdown)


def test_the_record_opened_is_compared_with_the_inspection_before_it(users, fake_engine):
    ids = []
    for seed in (1, 2, 3):
        at = checked([("门口.jpg", jpeg_bytes(seed))])
        if seed >= 2:  # the second and later checks: the shop's sign taken down
            at.session_state["inspect_review"] = {"edited_rows": {6: {"delete": True}}, "added_rows": [],
                                                  "deleted_rows": []}
            at.run()
        save_button(at)[0].click().run()
        ids.append(at.session_state["inspect_saved"][at.session_state["inspect_result"].token])
    at = open_page("app/pages/records.py", user="insp")
    at.query_params["inspection"] = ids[1]
    at.run()
    assert not at.exception and not errors(at), errors(at)
    assert any(m.value.startswith("**整改进展**（与该村上一次核查") for m in at.markdown)
    assert {m.label: m.value for m in at.metric}["已整改"] == "1"          # the sign, against the first check
    assert any("已整改：未列入清单：王庄村红白理事会" in m.value for m in at.markdown)
    at.button(key="records_back").click().run()
    assert not at.query_params.get("inspection") and at.selectbox(key="records_open").value is None


def fresh_tab(user: str = "insp"):
    """A new tab of the same user, as after a reload: an empty session state, the same server session."""
    return open_page("app/pages/inspection.py", user=user)


def test_a_check_and_its_corrections_come_back_after_a_reload_and_save_once(users, fake_engine):
    at = checked([("门口.jpg", jpeg_bytes(1))])
    at.session_state["inspect_review"] = {"edited_rows": {5: {"choice": "村集体经济组织"}, 6: {"delete": True}},
                                          "added_rows": [], "deleted_rows": []}
    at.session_state["inspect_added"] = {"edited_rows": {}, "added_rows": [{"choice": "民兵连", "text": "石楼村民兵连"}],
                                         "deleted_rows": []}
    at.run()
    assert verdicts(at) == ["核查结论：待复核"] and reasons(at) == [INSIDE_ONLY]
    token = at.session_state["inspect_result"].token

    # The page is reloaded (a phone's screen lock, a bad signal): a new tab, nothing in its state.
    again = fresh_tab()
    offers = [c for c in again.markdown if c.value.startswith("**未保存的核查**：石楼村（371599101201）· 1 张照片")]
    assert len(offers) == 1 and "保留至" in offers[0].value
    [resume] = [b for b in again.button if b.label == "继续核查"]
    resume.click().run()
    assert not again.exception and not errors(again), errors(again)
    assert again.text_input(key="inspect_search").value == VILLAGE[0]
    assert verdicts(again) == ["核查结论：待复核"] and reasons(again) == [INSIDE_ONLY]  # the corrections came back
    assert again.session_state["inspect_result"].token == token
    save_button(again)[0].click().run()
    assert verdicts(again) == ["核查结论：待复核"]
    table, logs = stored(users)
    [iid] = table["inspection_id"]
    assert table["verdict"].tolist() == ["needs_review"] and (logs[iid]["field"] == "added").sum() == 1

    # The first tab, still open, saves too: the same record, and the draft is gone.
    save_button(at)[0].click().run()
    assert stored(users)[0]["inspection_id"].tolist() == [iid]
    assert not [b for b in fresh_tab().button if b.label == "继续核查"]


def test_a_draft_can_be_discarded(users, fake_engine):
    checked([("门口.jpg", jpeg_bytes(1))])
    at = fresh_tab()
    [b for b in at.button if b.label == "删除草稿"][0].click().run()
    assert not [b for b in at.button if b.label in ("继续核查", "删除草稿")]
    assert not [b for b in fresh_tab().button if b.label == "继续核查"]
    assert stored(users)[0].empty


def test_a_drafts_photos_are_another_inspectors_to_see_never(users, fake_engine):
    from audit.records.accounts import add_user

    checked([("门口.jpg", jpeg_bytes(1))])
    store = open_store(data_dir=users.data_dir)
    add_user(store, "insp2", "insp2-password", role="inspector", townships=["城关街道"], by=SYSTEM)
    store.close()
    assert not [b for b in fresh_tab("insp2").button if b.label == "继续核查"]
    assert len([b for b in fresh_tab("insp").button if b.label == "继续核查"]) == 1


def test_a_reload_resumes_the_sign_in_from_the_cookie_and_not_after_signing_out(users, monkeypatch):
    from app import auth

    at = open_page("app/pages/overview.py", user="insp")
    token = at.session_state[auth.SESSION].token
    monkeypatch.setattr(auth, "_cookie_token", lambda: token)  # what the browser's cookie gives a new tab
    from streamlit.testing.v1 import AppTest

    from tests.test_app import APP

    tab = AppTest.from_file(APP, default_timeout=120).run()     # a reload: no session state at all
    assert tab.title[0].value == "总览 · 党群服务中心面积核查"
    assert "城关检查员（insp）" in " ".join(m.value for m in tab.sidebar.markdown)
    tab.button(key="sign_out").click().run()
    assert tab.title[0].value == "村级阵地核查 · 登录"
    [script] = [n for n in tab._tree if n.type == "html" and "document.cookie" in n.proto.body]
    assert "Max-Age=0" in script.proto.body                          # the browser forgets the cookie
    reloaded = AppTest.from_file(APP, default_timeout=120).run()  # a reload with the old cookie still sent
    assert reloaded.title[0].value == "村级阵地核查 · 登录"
    assert any("已退出登录或登录已失效" in w.value for w in reloaded.warning)


def test_a_village_without_a_code_is_checked_and_saved_without_a_draft(users, fake_engine):
    from tests.test_app import CSV, upload

    at = open_page("app/pages/data.py", user="admin1")
    at.selectbox(key="data_crs").select("wgs84").run()
    upload(at, "registry_upload", "本县名册.csv", CSV.encode("gbk"))      # no village codes in it
    at.switch_page("app/pages/inspection.py").run()
    at.text_input(key="inspect_search").set_value("王庄村").run()
    at.file_uploader(key="inspect_photos").set_value([("门口.jpg", jpeg_bytes(1), "image/jpeg")]).run()
    at.button(key="inspect_run").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert any("不能保存为草稿" in c.value for c in at.caption)
    save_button(at)[0].click().run()
    assert not errors(at), errors(at)
    assert stored(users)[0]["village_name"].tolist() == ["王庄村"]
