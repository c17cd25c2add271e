"""An inspector's review table → the store's logged review changes (submit_reviewed)."""

import pandas as pd
import pytest

from audit.errors import AuditError
from audit.records.access import SYSTEM, User
from audit.records.accounts import add_user
from audit.records.inspections import inspection_from_store, review_log_table
from audit.records.review_table import review_table, submit_reviewed, type_choices
from tests.test_store import AUDITED, jpeg_bytes, model_report, registry_of


@pytest.fixture
def zhang(fresh_store, monkeypatch) -> User:
    """The signed-in inspector of 城关镇 (an account of the store; cheap bcrypt)."""
    monkeypatch.setenv("VILLAGE_AUDIT_BCRYPT_ROUNDS", "4")
    return add_user(fresh_store, "张三", "zhang-password", role="inspector", townships=["城关镇"], by=SYSTEM)


def test_review_table_rows(rules):
    report = model_report(jpeg_bytes(), rules)
    table = review_table(report, rules)
    assert list(table["plaque"]) == list(range(1, 8)) and set(table["photo"]) == {1}
    assert table["choice"].iloc[0] == "村党组织" and table["choice"].iloc[6] == "其他：未列入清单的牌子"
    assert set(table["choice"]) <= set(type_choices(rules))


def test_corrections_deletions_and_additions_are_logged(fresh_store, rules, zhang):
    data = jpeg_bytes()
    report = model_report(data, rules)
    assert "collective_economy" in report.summary.missing and "militia" in report.summary.missing
    table = review_table(report, rules)
    table.loc[5, "choice"] = "村集体经济组织"        # the second "supervision committee" is the economy board
    table.loc[6, "delete"] = True                     # the shop sign was a false detection
    added = pd.DataFrame({"photo": [1, None], "choice": ["民兵连", None], "text": ["王庄村民兵连", None]})
    inspection_id = submit_reviewed(fresh_store, report, [data], table, added, rules=rules, user=zhang,
                                    registry=registry_of(), audited=AUDITED, village_code="001")
    insp = inspection_from_store(fresh_store, inspection_id, user=zhang)
    assert insp.original == report                                  # the model's output is kept unchanged
    statuses = sorted(p.status for p in insp.plaques)
    assert statuses.count("corrected") == 1 and statuses.count("deleted") == 1 and statuses.count("added") == 1
    assert statuses.count("confirmed") == 5
    assert insp.summary.missing == [] and insp.summary.unauthorised == []
    log = review_log_table(fresh_store, inspection_id, user=zhang)
    assert set(log["reviewer"]) == {"张三"} and insp.inspector == "张三"
    changed = log[log["field"] == "type"]
    assert {"supervision_committee", "collective_economy"} <= set(changed["old_value"].tolist() + changed["new_value"].tolist())


def test_bad_rows_are_refused(rules, fresh_store, zhang):
    data = jpeg_bytes(1)
    report = model_report(data, rules)
    table = review_table(report, rules)
    table.loc[0, "choice"] = "乱写的类型"
    with pytest.raises(AuditError, match="类型「乱写的类型」不在可选范围内"):
        submit_reviewed(fresh_store, report, [data], table, None, rules=rules, user=zhang, registry=registry_of(),
                        audited=AUDITED, village_code="001")


def test_submitted_by_the_signed_in_user_and_refused_outside_their_townships(fresh_store, rules, monkeypatch):
    from audit.errors import AccessError
    from audit.records.inspections import inspections_table

    monkeypatch.setenv("VILLAGE_AUDIT_BCRYPT_ROUNDS", "4")
    inspector = add_user(fresh_store, "wangwu", "wangwu-password", role="inspector", townships=["城关镇"],
                         display_name="王五", by=SYSTEM)
    data = jpeg_bytes(2)
    report = model_report(data, rules)
    table = review_table(report, rules)
    table.loc[6, "delete"] = True
    registry = registry_of([("001", "王庄村", "城关镇"), ("002", "李庄村", "柳林镇")])
    inspection_id = submit_reviewed(fresh_store, report, [data], table, None, rules=rules, user=inspector,
                                    registry=registry, audited=AUDITED, village_code="001")
    assert list(inspections_table(fresh_store, user=SYSTEM)["inspector"]) == ["wangwu"]
    assert set(review_log_table(fresh_store, inspection_id, user=SYSTEM)["reviewer"]) == {"wangwu"}
    other = model_report(data, rules, code="002", name="李庄村")
    with pytest.raises(AccessError, match="只负责 城关镇，无权对「柳林镇」的村庄提交核查"):
        submit_reviewed(fresh_store, other, [data], review_table(other, rules), None, rules=rules, user=inspector,
                        registry=registry, audited=AUDITED, village_code="002")
    assert len(inspections_table(fresh_store, user=SYSTEM)) == 1
