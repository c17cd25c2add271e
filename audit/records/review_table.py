"""An inspector's review as a table: one row per plaque the model found, whose type can be corrected or which
can be deleted, plus rows for plaques the model missed — turned into the store's review changes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from audit.errors import AuditError
from audit.labels import KIND_ZH
from audit.rules import Rules
from audit.signs.engine import SignageReport
from audit.signs.names import OTHER

if TYPE_CHECKING:
    from audit.records.access import User
    from audit.records.db import Store
    from audit.records.inspections import AuditedWith, Inspection, VillageRegistry

REVIEW_COLUMNS = ["photo", "plaque", "choice", "text", "confidence", "delete"]
OTHER_CHOICES = {kind: f"其他：{KIND_ZH[kind]}" for kind in ("unauthorised_sign", "honour", "allowed", "background",
                                                          "undecided", "unreadable")}


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
        if pd.isna(row.photo):  # no photo number: the only photo, else ask for it
            if len(report.photos) != 1:
                raise AuditError(f"补录的牌子「{row.choice}」：请填写它在第几张照片上（1–{len(report.photos)}）")
            i = 0
        else:
            i = int(row.photo) - 1
        if not 0 <= i < len(report.photos):
            raise AuditError(f"补录的牌子：照片编号应为 1–{len(report.photos)}，而不是 {row.photo}")
        ptype, kind = choices[row.choice]
        w, h = report.photos[i].size
        changes.append(AddPlaque(i, ptype, [0.0, 0.0, float(w), float(h)], kind=None if kind == "official" else kind,
                                 text="" if row.text is None or row.text != row.text else str(row.text)))
    return changes


def reviewed_report(report: SignageReport, edited: pd.DataFrame, added: pd.DataFrame | None, rules: Rules, *,
                    photo_bytes: Sequence[bytes]) -> SignageReport:
    """The report as the store will hold it once this review is saved, for the page to show before saving: the
    inspector's corrections, deletions and additions applied to the engine's plaques (the same decisions as
    :func:`audit.records.reviews.review_inspection`: a changed or added plaque's style re-checked on its photo
    in ``photo_bytes``), and the summary and verdict recomputed over them
    (:func:`audit.signs.inventory.inventory_from_photos`).

    Raises
    ------
    AuditError
        A row of the tables the store would refuse too (a type not offered, a photo number out of range).
    """
    from audit.records.reviews import (
        AddPlaque,
        CorrectPlaque,
        DeletePlaque,
        PhotoStyles,
        added_plaque,
        corrected_plaque,
    )
    from audit.signs.inventory import inventory_from_photos

    where_of: dict[int, tuple[int, int]] = {}
    ids: list[list[int]] = []
    for i, ph in enumerate(report.photos):  # stand-ins for the store's plaque ids: their place in the report
        ids.append([len(where_of) + j for j in range(len(ph.plaques))])
        where_of.update({pid: (i, j) for j, pid in enumerate(ids[-1])})
    changes = changes_from_table(report, ids, edited, rules, added=added)
    by_sha = {hashlib.sha256(b).hexdigest(): b for b in photo_bytes}
    photos = PhotoStyles(rules, read=by_sha.__getitem__)
    plaques = [list(ph.plaques) for ph in report.photos]
    deleted: set[tuple[int, int]] = set()
    for n, change in enumerate(changes, start=1):
        where = f"第{n}项修改（{type(change).__name__}）"
        if isinstance(change, AddPlaque):
            ph = report.photos[change.photo_index]
            plaques[change.photo_index].append(added_plaque(
                change, ph, rules=rules, where=where, style_of=lambda p, t, ph=ph: photos.style(ph.sha256, ph.photo, p, t)))
        elif isinstance(change, DeletePlaque):
            deleted.add(where_of[change.plaque_id])
        elif isinstance(change, CorrectPlaque):
            i, j = where_of[change.plaque_id]
            ph = report.photos[i]
            plaques[i][j] = corrected_plaque(change, ph.plaques[j], ph, rules=rules, where=where,
                                             style_of=lambda p, t, ph=ph: photos.style(ph.sha256, ph.photo, p, t))[0]
    reviewed = [ph.model_copy(update={"plaques": [p for j, p in enumerate(plaques[i]) if (i, j) not in deleted]})
                for i, ph in enumerate(report.photos)]
    return report.model_copy(update={"photos": reviewed, "summary": inventory_from_photos(reviewed, rules)})


CORRECTION_COLUMNS = ["时间", "复核人", "牌子", "修改", "原值", "新值"]


def corrections_for_people(log: pd.DataFrame, inspection: Inspection, rules: Rules, *,
                           names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """An inspection's review log (:func:`audit.records.inspections.review_log_table`) as people read it: when
    (Beijing time), who (``names``: user name -> how it reads, :func:`audit.records.accounts.people_names`), which
    plaque (photo number and its name now), what was done, and the old and new values in words."""
    from audit.labels import KIND_ZH, REVIEW_FIELD_ZH, local_time, plaque_type_zh, yes_no

    names = names or {}
    plaques = {p.id: p for p in inspection.plaques}
    photo_names = {ph.index: ph.name for ph in inspection.photos}

    def board(pid: int) -> str:
        p = plaques.get(pid)
        if p is None:
            return "—"
        return f"第 {p.photo_index + 1} 张照片（{photo_names.get(p.photo_index, '')}）· {p.plaque.name_zh}"

    def value(field: str, raw: object) -> str:
        if raw is None or raw != raw or raw == "":
            return "—"
        raw = str(raw)
        if field in ("type", "confirmed"):
            return plaque_type_zh(raw, rules)
        if field == "kind":
            return KIND_ZH.get(raw, "未知")
        if field == "authorised":
            return yes_no(json.loads(raw))
        if field == "bbox":
            x1, y1, x2, y2 = (round(float(v)) for v in json.loads(raw))
            return f"左上 ({x1}, {y1}) 至右下 ({x2}, {y2}) 像素"
        if field == "added":
            p = json.loads(raw)
            return f"{p['name_zh']}：{p['text']}" if p.get("text") else p["name_zh"]
        return raw

    rows = []
    for r in log.itertuples(index=False):
        old, new = value(r.field, r.old_value), value(r.field, r.new_value)
        if r.field == "deleted":
            old, new = "—", "已删除"
        rows.append([local_time(r.at), names.get(r.reviewer, r.reviewer), board(r.plaque_id),
                     REVIEW_FIELD_ZH.get(r.field, "其他修改"), old, new])
    return pd.DataFrame(rows, columns=CORRECTION_COLUMNS)


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
