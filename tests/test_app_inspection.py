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
