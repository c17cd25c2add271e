"""The small things of issue 15 point 6, through AppTest: refused files are not counted and get no side, the
way back from a refused link, the password fields emptied after adding a user, Streamlit's own words set where
its API allows."""

from __future__ import annotations

import pytest

from tests.test_app import Accounts, accounts_for_app, errors, open_page
from tests.test_store import jpeg_bytes

OTHER_TOWNSHIP_VILLAGE = "371599103201"  # 韩园村, 柳林镇


@pytest.fixture(autouse=True)
def users(tmp_path, monkeypatch) -> Accounts:
    return accounts_for_app(tmp_path, monkeypatch)


def test_refused_files_are_not_counted_and_get_no_side():
    at = open_page("app/pages/inspection.py", user="insp")
    at.text_input(key="inspect_search").set_value("371599101201").run()
    at.file_uploader(key="inspect_photos").set_value([("门口.jpg", jpeg_bytes(1), "image/jpeg"),
                                                      ("坏.jpg", b"not a photo", "image/jpeg"),
                                                      ("大厅.jpg", jpeg_bytes(2), "image/jpeg")]).run()
    assert not at.exception
    assert [r.label for r in at.radio] == ["「门口.jpg」拍摄的是", "「大厅.jpg」拍摄的是"]
    assert any("可核查的照片 2 张：外部 2 张，内部 0 张；另有 1 个文件无法识别" in c.value for c in at.caption)
    at.file_uploader(key="inspect_photos").set_value([("坏.jpg", b"not a photo", "image/jpeg")]).run()
    assert at.button(key="inspect_run").disabled                  # nothing left to check


def test_a_refused_link_has_a_way_back():
    at = open_page("app/pages/inspection.py", user="insp")
    at.query_params["village"] = OTHER_TOWNSHIP_VILLAGE
    at.run()
    assert any("无权对「柳林镇」的村庄提交核查" in e for e in errors(at))
    assert not [s for s in at.selectbox if s.key == "inspect_village"]  # no village offered
    at.button(key="inspect_back").click().run()
    assert not errors(at) and not at.query_params.get("village")
    assert at.selectbox(key="inspect_village").label == "村庄（27 个）"  # the inspector's own township


def test_adding_a_user_empties_the_password_fields():
    at = open_page("app/pages/users.py", user="admin1")
    at.text_input(key="user_add_name").set_value("wangwu")
    at.text_input(key="user_add_display").set_value("王五")
    at.multiselect(key="user_add_townships").set_value(["城关街道"])
    at.text_input(key="user_add_password").set_value("wangwu-password-1")
    at.text_input(key="user_add_password2").set_value("wangwu-password-1")
    next(b for b in at.button if b.label == "添加").click().run()
    assert not errors(at), errors(at)
    assert "添加用户「wangwu」：已完成。" in at.success[0].value
    assert [at.text_input(key=k).value for k in ("user_add_name", "user_add_password", "user_add_password2")] == [
        "", "", ""]
    # a refusal keeps what was typed, so that it can be corrected
    at.text_input(key="user_add_name").set_value("zhaoliu")
    at.text_input(key="user_add_password").set_value("zhaoliu-password-1")
    at.text_input(key="user_add_password2").set_value("another-password-1")
    next(b for b in at.button if b.label == "添加").click().run()
    assert any("两次输入的密码不一致" in e for e in errors(at))
    assert at.text_input(key="user_add_name").value == "zhaoliu"


def test_streamlit_words_set_where_the_api_allows():
    at = open_page("app/pages/area.py", user="admin1")
    assert at.multiselect(key="area_status_filter").placeholder == "请选择"
    [style] = [n for n in at._tree if n.type == "html" and "选择文件" in n.proto.body]
    assert '"选择文件"' in style.proto.body and "每个文件不超过 200MB" in style.proto.body
