"""Batch signage audits: many villages' photos, one report per village.

A folder holds one sub-folder per village (named by its village code; photos in an ``内部``/``internal``
sub-folder are inside photos), or a CSV maps each photo to its village (columns ``photo``, ``village_code``
and optionally ``side``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from audit.errors import AuditError
from audit.rules import Rules
from audit.signs.engine import Engine, PhotoInput, SignageReport, audit_signage
from audit.signs.names import Gazetteer, gazetteer_from_registry

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif"}
INTERNAL_DIRS = {"内部", "internal", "inside", "室内"}


@dataclass
class BatchJob:
    """The photos of one village: (path, side) pairs."""

    village_code: str | None
    village_name: str | None = None
    point: tuple[float, float] | None = None
    photos: list[tuple[Path, str]] = field(default_factory=list)
    gazetteer: Gazetteer | None = None  # the registry's place names, shared by every job of one registry


def _lookup(registry: Path | None, rules: Rules,
            crs: str) -> tuple[dict[str, tuple[str, tuple[float, float] | None]], Gazetteer | None]:
    if registry is None:
        return {}, None
    from audit.area.registry import registry_from_file

    v = registry_from_file(registry, rules=rules, crs=crs).villages
    return ({row.village_code: (row.village_name, None if row.geometry is None else (row.geometry.x, row.geometry.y))
             for row in v.itertuples() if row.village_code}, gazetteer_from_registry(v, rules))


def batch_jobs(folder: Path, *, mapping: Path | None = None, registry: Path | None = None,
               rules: Rules, crs: str = "wgs84") -> list[BatchJob]:
    """The villages to audit and their photos, from sub-folders or a mapping CSV."""
    folder = Path(folder)
    if not folder.is_dir():
        raise AuditError(f"照片目录不存在：{folder}")
    known, gazetteer = _lookup(registry, rules, crs)
    jobs: dict[str, BatchJob] = {}
    if mapping is not None:
        try:
            table = pd.read_csv(mapping, dtype=str, encoding="utf-8-sig").fillna("")
        except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise AuditError(f"{mapping.name}: 无法读取照片对照表（{exc}）") from None
        missing = {"photo", "village_code"} - set(table.columns)
        if missing:
            raise AuditError(f"{mapping.name}: 缺少列 {'、'.join(sorted(missing))}；现有列：{'、'.join(table.columns)}")
        for i, row in enumerate(table.itertuples(index=False), start=2):
            side = getattr(row, "side", "") or "external"
            if side not in ("external", "internal"):
                raise AuditError(f"{mapping.name} 第{i}行 列「side」值「{side}」：应为 external 或 internal")
            job = jobs.setdefault(row.village_code, BatchJob(row.village_code))
            job.photos.append((folder / row.photo, side))
    else:
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
            job = BatchJob(sub.name)
            for path in sorted(sub.rglob("*")):
                if path.suffix.lower() in PHOTO_SUFFIXES:
                    side = "internal" if any(part in INTERNAL_DIRS for part in path.relative_to(sub).parts[:-1]) \
                        else "external"
                    job.photos.append((path, side))
            if job.photos:
                jobs[sub.name] = job
    if not jobs:
        raise AuditError(f"{folder} 中没有找到照片（每个村一个子目录，或用 --mapping 指定对照表）")
    for code, job in jobs.items():
        job.village_name, job.point = known.get(code, (None, None))
        job.gazetteer = gazetteer
    return list(jobs.values())


def run_batch(jobs: list[BatchJob], engine: Engine,
              progress: Callable[[str], None] | None = None) -> Iterator[tuple[BatchJob, SignageReport]]:
    """Audit each village in turn (the engine's models are loaded once), yielding its report."""
    for job in jobs:
        inputs, errors = [], []
        for path, side in job.photos:
            try:
                inputs.append(PhotoInput(path.read_bytes(), path.name, side))
            except OSError as exc:
                errors.append((path.name, f"{path.name}：无法读取文件（{exc.strerror or exc}）"))
        report = audit_signage(inputs, engine, village_code=job.village_code, village_name=job.village_name,
                               village_point=job.point, gazetteer=job.gazetteer,
                               progress=(lambda i, n, name: progress(name)) if progress else None)
        from audit.signs.engine import PhotoErrorResult

        report.errors.extend(PhotoErrorResult(photo=n, error=e) for n, e in errors)
        for _ in errors:
            if progress:
                progress("")
        yield job, report
