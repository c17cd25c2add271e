"""Reviewed photos out of the store as an Ultralytics YOLO dataset, for fine-tuning the plaque detector on a
county's own photos (``audit export-dataset``)."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import sqlalchemy as sa
from PIL import Image, ImageOps

from audit.errors import StoreError
from audit.records.access import User, check_user
from audit.records.accounts import acting_user
from audit.records.db import Store, inspections
from audit.records.inspections import StoredPhoto, inspection_from_store
from audit.rules import Rules, load_rules
from audit.signs.detect import CLASS_NAMES
from audit.signs.engine import PlaqueResult
from audit.signs.intake import register_heif


def yolo_class(plaque: PlaqueResult, rules: Rules) -> str:
    """The detector class of a reviewed plaque: ``identity`` for identity signs, ``honour`` for honours, else
    ``strip`` when the box is more than 2.5 times taller than wide, ``plaque`` otherwise."""
    if plaque.kind == "official" and any(p.id == plaque.type and p.identity_sign for p in rules.plaques):
        return "identity"
    if plaque.kind == "honour":
        return "honour"
    x1, y1, x2, y2 = plaque.bbox
    return "strip" if (y2 - y1) > 2.5 * (x2 - x1) else "plaque"


def _upright_image(path: Path, name: str) -> tuple[bytes | None, tuple[int, int]]:
    """The photo as the boxes see it (EXIF orientation applied): None when the stored file can be copied as is,
    else JPEG bytes of the upright image; and its size."""
    register_heif()
    try:
        with Image.open(path) as img:
            orientation = img.getexif().get(0x0112, 1)
            if img.format in ("JPEG", "PNG") and orientation in (1, None):
                return None, img.size
            upright = ImageOps.exif_transpose(img).convert("RGB")
    except OSError as exc:
        raise StoreError(f"照片「{name}」({path.name}) 无法读取：{exc}") from None
    buf = io.BytesIO()
    upright.save(buf, "JPEG", quality=95)
    return buf.getvalue(), upright.size


def export_dataset(store: Store, out_dir: str | Path, *, rules: Rules | None = None,
                   fully_reviewed_only: bool = True, user: User, now: dt.datetime | None = None) -> Path:
    """Write the reviewed photos and their corrected boxes as an Ultralytics YOLO dataset.

    ``out_dir/images/<sha256>.<ext>``, ``out_dir/labels/<sha256>.txt`` (``class cx cy w h``, normalised to
    [0, 1]) and ``out_dir/data.yaml`` (ASCII class names, the detector's classes in its order). A photo is
    exported when its inspection has been reviewed and, with ``fully_reviewed_only``, every plaque left on it
    was confirmed, corrected or added by an inspector (a photo whose plaques were all deleted is a negative
    example). A photo shared by several inspections is exported once, from its latest review. Returns the
    path of ``data.yaml``.

    Who exported it and when go into ``data.yaml`` (``exported_by``, ``exported_at``; ASCII, as JSON-escaped
    YAML strings) and ``README.txt``. ``user`` is the acting identity and needs ``export`` (its account is
    re-read); :data:`audit.records.access.SYSTEM` on the server's command line is recorded by its name.
    """
    with store.engine.connect() as conn:
        user = acting_user(conn, check_user(user))
    user.require("export", what="训练数据集")
    exported_at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    rules = rules or load_rules()
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    with store.engine.connect() as conn:
        ids = conn.execute(sa.select(inspections.c.id).where(inspections.c.reviewed_at.is_not(None))
                           .order_by(inspections.c.reviewed_at, inspections.c.id)).scalars().all()
    chosen: dict[str, tuple[StoredPhoto, list[PlaqueResult]]] = {}
    for inspection_id in ids:
        found = inspection_from_store(store, inspection_id, user=user)
        for ph in found.photos:
            mine = [s for s in found.plaques if s.photo_index == ph.index and s.status != "deleted"]
            if fully_reviewed_only and any(s.status == "unreviewed" for s in mine):
                continue
            chosen[ph.sha256] = (ph, [s.plaque for s in mine])
    for sha, (ph, boxes) in sorted(chosen.items()):
        if not ph.path.exists():
            raise StoreError(f"照片文件缺失：{ph.path}（照片「{ph.name}」）")
        converted, (w, h) = _upright_image(ph.path, ph.name)
        image_path = out / "images" / (f"{sha}.jpg" if converted is not None else ph.path.name)
        if converted is not None:
            image_path.write_bytes(converted)
        else:
            image_path.write_bytes(ph.path.read_bytes())
        lines = []
        for p in boxes:
            if p.kind == "background":  # a shop sign or a banner is background for the detector, as in training
                continue
            x1, y1, x2, y2 = (min(max(v, 0.0), lim) for v, lim in zip(p.bbox, (w, h, w, h), strict=True))
            if x2 <= x1 or y2 <= y1:
                continue
            cls = CLASS_NAMES.index(yolo_class(p, rules))
            lines.append(f"{cls} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}")
        (out / "labels" / f"{image_path.stem}.txt").write_text("".join(f"{ln}\n" for ln in lines), encoding="ascii")
    yaml = [f"path: {out.resolve()}", "train: images", "val: images", "names:"]
    yaml += [f"  {i}: {n}" for i, n in enumerate(CLASS_NAMES)]
    # JSON strings are YAML double-quoted strings; ensure_ascii keeps the file ASCII for a Chinese user name
    yaml += [f"exported_by: {json.dumps(user.username)}",
             f"exported_at: {json.dumps(exported_at.isoformat())}"]
    data_yaml = out / "data.yaml"
    data_yaml.write_text("\n".join(yaml) + "\n", encoding="utf-8")
    who = user.full_name
    (out / "README.txt").write_text(
        "VillageAudit 复核后的牌子检测训练数据集 (YOLO)\n"
        f"导出人 (exported by): {who}\n"
        f"导出时间 (exported at, UTC): {exported_at.isoformat()}\n"
        f"图片 (images): {len(chosen)}\n"
        f"仅完全复核的照片 (fully reviewed only): {'是' if fully_reviewed_only else '否'}\n", encoding="utf-8")
    return data_yaml
