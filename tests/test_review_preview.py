"""The verdict of the corrected plaques before saving (review_table.reviewed_report) is the one the store computes
when the review is saved: the same plaques, the same summary, for each kind of correction.

tests.test_store's photo and "engine" result: militia missed, the collective-economy board read as a second
supervision committee, a shop's sign read as an unlisted one — 需要整改 as the engine leaves it.
"""

from __future__ import annotations

import pandas as pd
import pytest

from audit.errors import AuditError
from audit.records.access import SYSTEM
from audit.records.accounts import add_user
from audit.records.inspections import inspection_from_store
from audit.records.review_table import review_table, reviewed_report, submit_reviewed
from tests.test_store import AUDITED, jpeg_bytes, model_report, registry_of

ECONOMY_ROW, SHOP_ROW = 5, 6  # the review table's rows of the mistyped board and the shop's sign
NO_ADDITION = pd.DataFrame({"photo": pd.Series(dtype="int"), "choice": pd.Series(dtype="str"),
                            "text": pd.Series(dtype="str")})


def militia(photo=1):
    return pd.DataFrame({"photo": [photo], "choice": ["民兵连"], "text": ["王庄村民兵连"]})


# (what the inspector does: rows' new choices, rows deleted, rows' new text, the added rows), the verdict then.
# The photo is of the front only: with every external plaque put right the village is 待复核 (inside not photographed).
CASES = {
    "nothing corrected": ({}, [], {}, NO_ADDITION, "needs_rectification"),
    "shop sign deleted only": ({}, [SHOP_ROW], {}, NO_ADDITION, "needs_rectification"),
    "everything put right": ({ECONOMY_ROW: "村集体经济组织"}, [SHOP_ROW], {}, militia(), "needs_review"),
    "the sign left undecided": ({ECONOMY_ROW: "村集体经济组织", SHOP_ROW: "其他：待人工确认"}, [], {}, militia(),
                                "needs_review"),
    "the sign is an honour": ({ECONOMY_ROW: "村集体经济组织", SHOP_ROW: "其他：荣誉牌（应集中展陈）"}, [],
                              {SHOP_ROW: "先进基层党组织"}, militia(), "needs_rectification"),
    "the militia added with no photo number": ({ECONOMY_ROW: "村集体经济组织"}, [SHOP_ROW], {}, militia(None),
                                               "needs_review"),
    "a board's text corrected": ({}, [], {0: "中共王庄村委员会"}, NO_ADDITION, "needs_rectification"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_verdict_before_saving_is_the_verdict_saved(case, rules, fresh_store, monkeypatch):
    monkeypatch.setenv("VILLAGE_AUDIT_BCRYPT_ROUNDS", "4")
    zhang = add_user(fresh_store, "张三", "zhang-password", role="inspector", townships=["城关镇"], by=SYSTEM)
    choices, deleted, texts, added, verdict = CASES[case]
    data = jpeg_bytes(3)
    report = model_report(data, rules)
    table = review_table(report, rules)
    for row, choice in choices.items():
        table.loc[row, "choice"] = choice
    for row in deleted:
        table.loc[row, "delete"] = True
    for row, text in texts.items():
        table.loc[row, "text"] = text

    preview = reviewed_report(report, table, added, rules, photo_bytes=[data])
    assert preview.summary.verdict == verdict
    assert report.summary.verdict == "needs_rectification"          # the engine's result itself is not changed
    iid = submit_reviewed(fresh_store, report, [data], table, added, rules=rules, user=zhang, registry=registry_of(),
                          audited=AUDITED, village_code="001")
    saved = inspection_from_store(fresh_store, iid, user=SYSTEM)
    assert saved.summary == preview.summary
    assert saved.reviewed_photos() == preview.photos


def test_a_row_the_store_would_refuse_is_refused_before_saving(rules):
    data = jpeg_bytes(4)
    report = model_report(data, rules)
    table = review_table(report, rules)
    table.loc[0, "choice"] = "乱写的类型"
    with pytest.raises(AuditError, match="类型「乱写的类型」不在可选范围内"):
        reviewed_report(report, table, None, rules, photo_bytes=[data])
    with pytest.raises(AuditError, match="照片编号应为 1–1"):
        reviewed_report(report, review_table(report, rules), militia(3), rules, photo_bytes=[data])
