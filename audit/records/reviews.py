"""The inspectors' corrections of a stored inspection: confirm, correct, delete or add a plaque, in one
transaction, every change logged (who, when, field, old and new value), the summary and verdict recomputed.
The model's report is never changed."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from audit.errors import StoreError
from audit.records.access import User, check_user, require_in
from audit.records.accounts import acting_user
from audit.records.db import PlaqueStatus, Store, inspections, plaques, review_log, utc, write_transaction
from audit.records.inspections import Inspection, StoredPlaque, read_inspection, reviewed_photos
from audit.rules import Rules, load_rules
from audit.signs.engine import PhotoResult, PlaqueResult, inventory_from_photos
from audit.signs.intake import PhotoError, photo_from_bytes
from audit.signs.names import OTHER, OTHER_KINDS
from audit.signs.style import illuminant_of, style_checks


@dataclass(frozen=True)
class ConfirmPlaque:
    """The inspector confirms the plaque as it stands (type and box)."""

    plaque_id: int


@dataclass(frozen=True)
class CorrectPlaque:
    """The inspector corrects a plaque: its type (a rules plaque id or ``other_sign``), its kind (needed for
    ``other_sign``: honour, allowed, unauthorised_sign, unreadable), its text or its box."""

    plaque_id: int
    type: str | None = None
    kind: str | None = None
    text: str | None = None
    bbox: Sequence[float] | None = None


@dataclass(frozen=True)
class DeletePlaque:
    """A false detection: the plaque is removed from the inventory (the row and the log keep it)."""

    plaque_id: int


@dataclass(frozen=True)
class AddPlaque:
    """A plaque the model missed, on photo ``photo_index`` (0-based, as in the report), box in full-resolution
    pixels of the upright photo."""

    photo_index: int
    type: str
    bbox: Sequence[float]
    kind: str | None = None
    text: str = ""


Change = ConfirmPlaque | CorrectPlaque | DeletePlaque | AddPlaque


def _kind_fields(ptype: str, kind: str | None, side: str, rules: Rules, where: str) -> dict:
    """type, kind, name_zh and authorised for a plaque typed by an inspector."""
    ids = [p.id for p in rules.plaques]
    if ptype in ids:
        if kind not in (None, "official"):
            raise StoreError(f"{where}: 类型「{ptype}」是清单内牌子，kind 应为 official，got '{kind}'")
        rule = rules.plaque(ptype)
        return {"type": ptype, "kind": "official", "name_zh": rule.name_zh, "authorised": rule.placement == side}
    if ptype != OTHER:
        raise StoreError(f"{where}: 'type' should be one of {ids + [OTHER]}, got '{ptype}' instead")
    if kind not in OTHER_KINDS:
        raise StoreError(f"{where}: 类型 {OTHER} 需要指明 kind，应为 {list(OTHER_KINDS)} 之一，got '{kind}'")
    name_zh, authorised = OTHER_KINDS[kind]
    return {"type": OTHER, "kind": kind, "name_zh": name_zh, "authorised": authorised}


def _check_bbox(bbox: Sequence[float], size: Sequence[int], where: str) -> list[float]:
    try:
        box = [float(v) for v in bbox]
    except (TypeError, ValueError):
        raise StoreError(f"{where}: bbox should be four numbers x1, y1, x2, y2, got {bbox!r}") from None
    if len(box) != 4 or not all(v == v and abs(v) != float("inf") for v in box):
        raise StoreError(f"{where}: bbox should be four finite numbers x1, y1, x2, y2, got {bbox!r}")
    w, h = size
    x1, y1, x2, y2 = box
    if not (0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h):
        raise StoreError(f"{where}: bbox {box} 不在照片范围内（{w}×{h} 像素，需 0 ≤ x1 < x2 ≤ 宽，0 ≤ y1 < y2 ≤ 高）")
    return box


def _issues(p: dict, side: str, rules: Rules) -> list[str]:
    """The issues of a reviewed plaque, as the engine words them."""
    issues = []
    if p["kind"] == "official" and p["authorised"] is False:
        where = "外部" if rules.plaque(p["type"]).placement == "external" else "内部"
        issues.append(f"错挂：{p['name_zh']}应挂在{where}")
    elif p["kind"] == "honour":
        issues.append("荣誉类牌子，应集中展陈")
    elif p["kind"] == "unauthorised_sign":
        issues.append("未列入挂牌清单的牌子，应摘除")
    elif p["kind"] == "unreadable":
        issues.append("未能读出文字，请人工复核")
    elif p["kind"] == "undecided":
        issues.append("请人工确认这块牌子的类型")
    issues += [f"式样：{c['detail']}" for c in p["style"].values() if c.get("status") == "fail"]
    return issues


class PhotoStyles:
    """Decoded photos for re-running the style checks on corrected plaques (each photo decoded once); ``read``
    gives a photo's bytes from its key (a stored photo's path, or the SHA-256 of one still in memory)."""

    def __init__(self, rules: Rules, read: Callable[[object], bytes] = lambda path: path.read_bytes()) -> None:
        self.rules, self.read, self._cache = rules, read, {}

    def style(self, key: object, name: str, p: dict, traditional: bool | None) -> dict:
        import numpy as np

        if key not in self._cache:
            try:
                photo = photo_from_bytes(self.read(key), name, rules=self.rules)
            except (OSError, KeyError, PhotoError) as exc:
                raise StoreError(f"照片「{name}」无法读取，不能重新检查式样：{exc}") from None
            image = np.asarray(photo.image)
            self._cache[key] = (photo, image, illuminant_of(image))
        photo, image, illuminant = self._cache[key]
        x1, y1, x2, y2 = (v / photo.scale for v in p["bbox"])
        crop = image[max(0, int(round(y1))):int(round(y2)), max(0, int(round(x1))):int(round(x2))]
        rule = self.rules.plaque(p["type"]) if p["kind"] == "official" else None
        if not crop.size:
            return {}
        return style_checks(crop, (x2 - x1, y2 - y1), rule, self.rules, traditional=traditional, illuminant=illuminant)


def _traditional(style: dict) -> bool | None:
    status = style.get("traditional_characters", {}).get("status")
    return {"fail": True, "pass": False}.get(status)


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


StyleOf = Callable[[dict, "bool | None"], dict]  # (plaque fields, traditional characters or None) -> style checks


def added_plaque(change: AddPlaque, photo: PhotoResult, *, rules: Rules, style_of: StyleOf, where: str) -> PlaqueResult:
    """The plaque an inspector adds to ``photo``, its style checked on its box (``style_of``) and its issues
    worded as the engine words them."""
    p = {**_kind_fields(change.type, change.kind, photo.side, rules, where), "text": change.text,
         "confidence": 1.0, "bbox": _check_bbox(change.bbox, photo.size, where), "source": "inspector",
         "detector_class": None, "text_type": None, "style": {}, "issues": []}
    p["style"] = style_of(p, None)
    p["issues"] = _issues(p, photo.side, rules)
    return PlaqueResult.model_validate(p)


def corrected_plaque(change: CorrectPlaque, old: PlaqueResult, photo: PhotoResult, *, rules: Rules, style_of: StyleOf,
                     where: str) -> tuple[PlaqueResult, list[str]]:
    """A plaque of ``photo`` as the inspector corrects it, and the fields that changed (none: it stands as it was,
    a confirmation). A changed type, text or box re-runs the style checks (the old ones belonged to the old type)."""
    before = old.model_dump(mode="json")
    new = dict(before)
    if change.type is not None or change.kind is not None:
        want_type = change.type if change.type is not None else before["type"]
        want_kind = change.kind if change.kind is not None else (
            None if want_type != before["type"] or before["kind"] == "official" else before["kind"])
        new.update(_kind_fields(want_type, want_kind, photo.side, rules, where))
        new["text_type"] = None
    if change.text is not None:
        new["text"] = change.text
    if change.bbox is not None:
        new["bbox"] = _check_bbox(change.bbox, photo.size, where)
    changed = [k for k in ("type", "kind", "text", "bbox") if new[k] != before[k]]
    if not changed:
        return old, []
    traditional = _traditional(before["style"]) if new["text"] == before["text"] else None
    new["style"] = style_of(new, traditional)
    new["issues"] = _issues(new, photo.side, rules)
    changed += [k for k in ("name_zh", "authorised") if new[k] != before[k]]
    return PlaqueResult.model_validate(new), changed


def review_inspection(store: Store, inspection_id: str, changes: Sequence[Change], *, user: User,
                      at: dt.datetime | None = None, rules: Rules | None = None,
                      first_review_only: bool = False) -> Inspection:
    """Apply an inspector's review in one transaction, log every change, recompute the summary and verdict.

    Confirming marks a plaque reviewed; correcting a type, text or box re-runs the plaque's style checks on
    the stored photo (the old checks belonged to the old type); deleting removes a false detection from the
    inventory; adding records a missed plaque. The summary is recomputed with
    :func:`audit.signs.engine.inventory_from_photos` over the reviewed plaques. The model's report is not touched.

    ``user`` is the acting identity (the signed-in reviewer, or :data:`audit.records.access.SYSTEM`), recorded
    by user name; its account is re-read in the write transaction and needs ``review`` in the inspection's
    township.

    ``first_review_only``: apply the changes only when the inspection has never been reviewed, else return it as
    it stands (the review that comes with a submission, sent twice, is applied once).

    Raises
    ------
    StoreError
        No acting identity, unknown inspection or plaque (or one of another inspection), a deleted plaque
        changed again, an unknown type, a kind missing for ``other_sign``, a box outside the photo.
    AccessError
        ``user``'s account is missing or disabled, or may not review in the inspection's township.
    """
    check_user(user).require("review")  # a role that never reviews is refused before any work
    rules = rules or load_rules()
    when = utc(at)
    photos_cache = PhotoStyles(rules)
    with write_transaction(store) as conn:
        # Two reviewers of one inspection queue up (BEGIN IMMEDIATE on SQLite; a row lock elsewhere).
        conn.execute(sa.select(inspections.c.id).where(inspections.c.id == inspection_id).with_for_update())
        actor = acting_user(conn, user)  # the account as it is now: disabled or moved since, it is refused
        current = read_inspection(conn, store, inspection_id)
        require_in(actor, "review", current.township, f"{current.village_name or current.village_code} 核查记录 {current.id}",
                   county=current.county)
        if first_review_only and current.reviewed_at is not None:  # under the row lock: a second sending of it
            return current
        reviewer = actor.username
        by_id = {s.id: s for s in current.plaques}
        log: list[dict] = []

        def logged(plaque_id: int, field: str, old: object, new: object) -> None:
            log.append({"inspection_id": inspection_id, "plaque_id": plaque_id, "reviewer": reviewer.strip(), "at": when,
                        "field": field, "old_value": _text(old), "new_value": _text(new)})

        for n, change in enumerate(changes, start=1):
            where = f"第{n}项修改（{type(change).__name__}）"
            if isinstance(change, AddPlaque):
                if not 0 <= change.photo_index < len(current.photos):
                    raise StoreError(f"{where}: photo_index should be 0…{len(current.photos) - 1}, got {change.photo_index}")
                stored_photo = current.photos[change.photo_index]
                plaque = added_plaque(change, current.original.photos[change.photo_index], rules=rules, where=where,
                                      style_of=lambda p, t, sp=stored_photo: photos_cache.style(sp.path, sp.name, p, t))
                new_id = conn.execute(plaques.insert().values(
                    inspection_id=inspection_id, photo_idx=change.photo_index, origin="inspector", model_idx=None,
                    status="added", type=plaque.type, kind=plaque.kind, data=plaque.model_dump_json())
                ).inserted_primary_key[0]
                logged(new_id, "added", None, plaque.model_dump(mode="json"))
                continue
            stored = by_id.get(change.plaque_id)
            if stored is None:
                raise StoreError(f"{where}: 本次核查没有编号为 {change.plaque_id} 的牌子 (no plaque {change.plaque_id} "
                                 f"in inspection '{inspection_id}')")
            if stored.status == "deleted":
                raise StoreError(f"{where}: 牌子 {change.plaque_id} 已删除，不能再修改")
            old = stored.plaque.model_dump(mode="json")
            status: PlaqueStatus = stored.status
            new = dict(old)
            if isinstance(change, ConfirmPlaque):
                logged(stored.id, "confirmed", None, old["type"])
                status = "confirmed" if status == "unreviewed" else status
            elif isinstance(change, DeletePlaque):
                logged(stored.id, "deleted", "false", "true")
                status = "deleted"
            elif isinstance(change, CorrectPlaque):
                stored_photo = current.photos[stored.photo_index]
                plaque, changed = corrected_plaque(
                    change, stored.plaque, current.original.photos[stored.photo_index], rules=rules, where=where,
                    style_of=lambda p, t, sp=stored_photo: photos_cache.style(sp.path, sp.name, p, t))
                new = plaque.model_dump(mode="json")
                if not changed:
                    logged(stored.id, "confirmed", None, old["type"])
                    status = "confirmed" if status == "unreviewed" else status
                else:
                    for k in changed:
                        logged(stored.id, k, old[k], new[k])
                    status = "added" if status == "added" else "corrected"
            else:
                raise StoreError(f"{where}: not a review change: {change!r}")
            plaque = PlaqueResult.model_validate(new)
            conn.execute(plaques.update().where(plaques.c.id == stored.id).values(
                status=status, type=plaque.type, kind=plaque.kind, data=plaque.model_dump_json()))
            by_id[stored.id] = StoredPlaque(stored.id, stored.photo_index, stored.origin, status, plaque)

        if log:
            conn.execute(review_log.insert(), log)
        reviewed = read_inspection(conn, store, inspection_id)
        summary = inventory_from_photos(reviewed_photos(reviewed.original, reviewed.plaques), rules)
        conn.execute(inspections.update().where(inspections.c.id == inspection_id).values(
            summary=summary.model_dump_json(), verdict=summary.verdict, reviewed_at=when, reviewed_by=reviewer.strip()))
        return read_inspection(conn, store, inspection_id)
