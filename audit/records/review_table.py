"""An inspector's review as a table: one row per plaque the model found, whose type can be corrected or which
can be deleted, plus rows for plaques the model missed — turned into the store's review changes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from audit.errors import AuditError
from audit.rules import Rules
from audit.signs.engine import SignageReport
from audit.signs.names import OTHER

if TYPE_CHECKING:
    from audit.records.access import User
    from audit.records.db import Store
    from audit.records.inspections import AuditedWith, VillageRegistry

REVIEW_COLUMNS = ["photo", "plaque", "choice", "text", "confidence", "delete"]
OTHER_CHOICES = {"unauthorised_sign": "其他：未列入清单的牌子", "honour": "其他：荣誉牌（应集中展陈）",
                 "allowed": "其他：允许的标识", "background": "其他：招牌或标语（不计入）", "undecided": "其他：待人工确认",
                 "unreadable": "其他：未能识别"}


def type_choices(rules: Rules) -> dict[str, tuple[str, str]]:
    """Labels an inspector picks from → (type, kind): the official plaques by Chinese name, then the others."""
    out = {f"{p.name_zh}": (p.id, "official") for p in rules.plaques}
    out.update({label: (OTHER, kind) for kind, label in OTHER_CHOICES.items()})
    return out


def choice_of(ptype: str, kind: str, rules: Rules) -> str:
    """The label of a plaque's (type, kind)."""
    return rules.plaque(ptype).name_zh if kind == "official" else OTHER_CHOICES[kind]


def review_table(report: SignageReport, rules: Rules) -> pd.DataFrame:
    """One row per plaque of the report: photo number (from 1), plaque number in the photo (from 1), the
    type label, the text, the confidence and a delete flag."""
    rows = [{"photo": i + 1, "plaque": j + 1, "choice": choice_of(p.type, p.kind, rules), "text": p.text,
             "confidence": p.confidence, "delete": False}
            for i, ph in enumerate(report.photos) for j, p in enumerate(ph.plaques)]
    return pd.DataFrame(rows, columns=REVIEW_COLUMNS)


def changes_from_table(report: SignageReport, stored_ids: Sequence[Sequence[int]], edited: pd.DataFrame,
                       rules: Rules, *, added: pd.DataFrame | None = None) -> list:
    """The store's review changes from an edited review table.

    ``stored_ids[i][j]`` is the store's id of plaque ``j`` of photo ``i`` (the report's order). Rows whose
    label or text changed become corrections, rows marked ``delete`` deletions, and each row of ``added``
    (``photo``, ``choice``, ``text``) a plaque the model missed, boxed as the whole photo since the
    inspector gave no box.
    """
    from audit.records.reviews import AddPlaque, ConfirmPlaque, CorrectPlaque, DeletePlaque

    choices = type_choices(rules)
    changes: list = []
    for row in edited.itertuples(index=False):
        i, j = int(row.photo) - 1, int(row.plaque) - 1
        try:
            original = report.photos[i].plaques[j]
            plaque_id = stored_ids[i][j]
        except IndexError:
            raise AuditError(f"复核表第 {i + 1} 张照片第 {j + 1} 块牌子不存在") from None
        if bool(row.delete):
            changes.append(DeletePlaque(plaque_id))
            continue
        if row.choice not in choices:
            raise AuditError(f"复核表第 {i + 1} 张照片第 {j + 1} 块牌子：类型「{row.choice}」不在可选范围内")
        ptype, kind = choices[row.choice]
        text = "" if row.text is None or row.text != row.text else str(row.text)
        if (ptype, kind, text) == (original.type, original.kind, original.text):
            changes.append(ConfirmPlaque(plaque_id))
        else:
            changes.append(CorrectPlaque(plaque_id, type=ptype, kind=None if kind == "official" else kind,
                                         text=text if text != original.text else None))
    for row in (added if added is not None else pd.DataFrame()).itertuples(index=False):
        if row.choice not in choices:
            continue  # an empty row the editor added and the inspector left blank
        i = int(row.photo) - 1
        if not 0 <= i < len(report.photos):
            raise AuditError(f"补录的牌子：照片编号应为 1–{len(report.photos)}，而不是 {row.photo}")
        ptype, kind = choices[row.choice]
        w, h = report.photos[i].size
        changes.append(AddPlaque(i, ptype, [0.0, 0.0, float(w), float(h)], kind=None if kind == "official" else kind,
                                 text="" if row.text is None or row.text != row.text else str(row.text)))
    return changes


def submit_reviewed(store: Store, report: SignageReport, photo_bytes: Sequence[bytes], edited: pd.DataFrame,
                    added: pd.DataFrame | None, *, rules: Rules, user: User, registry: VillageRegistry,
                    audited: AuditedWith, village_code: str | None, submission_token: str | None = None) -> str:
    """Store the model's report with its photos, then the inspector's review of it (every change logged, the
    model's output kept). Returns the inspection id.

    ``submission_token`` (:func:`audit.records.inspections.new_submission_token`, made with the engine's result):
    sent again — a second click, a resent form, another app process — the call returns the inspection stored the
    first time and its review is applied once (a first sending that stored the inspection but failed before its
    review gets the review now).

    ``user``: the acting identity (the signed-in inspector), recorded by user name as inspector and reviewer.
    The village is the ``registry``'s village of ``village_code`` (its name and township are the registry's);
    the store refuses (:class:`audit.errors.AccessError`) a village outside the user's townships and an account
    disabled since the user signed in. ``audited``: the rules and model hashes the report was made with.
    """
    from audit.records.inspections import inspection_from_store, submit_inspection
    from audit.records.reviews import review_inspection

    inspection_id = submit_inspection(store, report, photo_bytes, user=user, registry=registry, audited=audited,
                                      village_code=village_code, submission_token=submission_token)
    stored = inspection_from_store(store, inspection_id, user=user)
    if stored.reviewed_at is not None:  # sent before, and its review applied then
        return inspection_id
    ids: list[list[int]] = [[] for _ in report.photos]
    for plaque in stored.plaques:  # in the report's order within each photo
        ids[plaque.photo_index].append(plaque.id)
    changes = changes_from_table(report, ids, edited, rules, added=added)
    if changes:
        review_inspection(store, inspection_id, changes, user=user, rules=rules,
                          first_review_only=submission_token is not None)
    return inspection_id
