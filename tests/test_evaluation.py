"""`audit eval-reviewed`: the engine scored against the inspectors' corrections in the store, by kind and by
township / county, with the counts written out here from the review the test makes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from audit.records.access import SYSTEM
from audit.records.db import open_store
from audit.records.evaluation import engine_scores, review_outcomes
from audit.records.inspections import inspection_from_store
from audit.records.reviews import AddPlaque, ConfirmPlaque, CorrectPlaque, DeletePlaque, review_inspection
from tests.test_store import BOXES, jpeg_bytes, model_report, staff, submit


@pytest.fixture
def reviewed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rules):
    """One reviewed inspection (城关镇) and one left unreviewed (河口镇) in a fresh store."""
    monkeypatch.setenv("VILLAGE_AUDIT_BCRYPT_ROUNDS", "4")
    store = open_store(data_dir=tmp_path / "data")
    admin = staff(store, "admin")
    data = jpeg_bytes(1)
    first = submit(store, model_report(data, rules), [data], user=admin)
    other = jpeg_bytes(2)
    submit(store, model_report(other, rules, code="004", name="赵庄村"), [other], user=admin)
    plaques = inspection_from_store(store, first, user=admin).plaques
    ids = [p.id for p in plaques]  # the engine's order: 5 officials typed right, the collective economy board
    # typed as a second supervision committee, and an unauthorised sign that is not there
    changes = [ConfirmPlaque(i) for i in ids[:5]]
    changes += [CorrectPlaque(ids[5], type="collective_economy"), DeletePlaque(ids[6]),
                AddPlaque(0, "militia", BOXES["militia"])]
    review_inspection(store, first, changes, user=admin, rules=rules)
    yield store, admin
    store.close()


def test_outcomes_follow_the_review(reviewed):
    store, admin = reviewed
    outcomes = review_outcomes(store, user=admin)
    assert sorted(outcomes["outcome"]) == ["false", "missed", "retyped"] + ["right"] * 5
    assert set(outcomes["township"]) == {"城关镇"}  # the unreviewed inspection is left out


def test_scores_by_kind_and_place(reviewed):
    store, admin = reviewed
    scores = engine_scores(store, user=admin, county_of={"城关镇": "示例县"})
    row = scores[(scores["group"] == "全部") & (scores["kind"] == "official")].iloc[0]
    # 7 boards hang: the engine found 6 (5 typed right, 1 retyped) and missed the militia's
    assert (row.boards, row.found, row.typed_right, row.missed, row.false_detections) == (7, 6, 5, 1, 0)
    assert row.recall == pytest.approx(6 / 7) and row.precision == 1.0 and row.type_accuracy == pytest.approx(5 / 6)
    sign = scores[(scores["group"] == "全部") & (scores["kind"] == "unauthorised_sign")].iloc[0]
    assert (sign.boards, sign.false_detections, sign.precision) == (0, 1, 0.0) and pd.isna(sign.recall)
    assert set(scores["group"]) == {"全部", "县：示例县", "乡镇：城关镇"}


def test_an_inspector_sees_only_their_townships(reviewed):
    store, _ = reviewed
    elsewhere = staff(store, "hekou", "河口镇")
    assert review_outcomes(store, user=elsewhere).empty
    assert engine_scores(store, user=elsewhere).empty


def test_the_command_prints_the_scores(reviewed, tmp_path):
    from audit.cli.main import app

    store, _ = reviewed
    result = CliRunner().invoke(app, ["eval-reviewed", "--data-dir", str(store.data_dir)])
    assert result.exit_code == 0, result.output
    assert "清单内牌子" in result.output and "86%" in result.output and SYSTEM.username not in result.output
