"""Batch signage audits: many villages' photos, one report per village.

A folder holds one sub-folder per village (named by its village code; photos in an ``内部``/``internal``
sub-folder are inside photos), or a CSV maps each photo to its village (columns ``photo``, ``village_code``
and optionally ``side``). With ``workers`` > 1 the photos are audited in that many worker processes, each with
its own models and an equal share of the threads; the reports are the same as with one, in the same order."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from audit.errors import AuditError
from audit.rules import Rules
from audit.signs.engine import (
    Engine,
    PhotoErrorResult,
    PhotoInput,
    PhotoResult,
    SignageReport,
    report_from_results,
    result_of_input,
)
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


def default_workers() -> int:
    """One worker process per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


_Outcome = PhotoResult | PhotoErrorResult | str  # a string: the photo file could not be read


def _audit_path(path: Path, side: str, job: BatchJob, engine: Engine) -> _Outcome:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"{path.name}：无法读取文件（{exc.strerror or exc}）"
    return result_of_input(PhotoInput(data, path.name, side), engine, village_name=job.village_name,
                           village_point=job.point, gazetteer=job.gazetteer)


def _report(job: BatchJob, outcomes: list[_Outcome], rules: Rules) -> SignageReport:
    report = report_from_results([o for o in outcomes if not isinstance(o, str)], rules,
                                 village_code=job.village_code, village_name=job.village_name)
    report.errors.extend(PhotoErrorResult(photo=path.name, error=o)
                         for (path, _), o in zip(job.photos, outcomes, strict=True) if isinstance(o, str))
    return report


# The worker process's engine, loaded once by _start_worker.
_worker: dict[str, object] = {}


def _start_worker(rules: Rules, model: str | None, use_detector: bool, region_text_px: float, threads: int) -> None:
    os.environ["VILLAGE_AUDIT_THREADS"] = str(threads)
    _worker["engine"] = Engine.load(rules=rules, model=model, use_detector=use_detector)
    _worker["engine"].region_text_px = region_text_px


def _worker_task(task: tuple[int, int, Path, str, BatchJob]) -> tuple[int, int, _Outcome]:
    j, k, path, side, job = task
    return j, k, _audit_path(path, side, job, _worker["engine"])


def run_batch(jobs: list[BatchJob], engine: Engine, progress: Callable[[str], None] | None = None, *,
              workers: int = 1) -> Iterator[tuple[BatchJob, SignageReport]]:
    """Audit each village, yielding its report in the order of ``jobs``. ``progress(name)`` is called after each
    photo. With ``workers`` > 1 the photos go to that many worker processes (each loads the models ``engine``
    was loaded with, and uses ``threads // workers`` threads); otherwise ``engine`` audits them in turn."""
    if workers < 1:
        raise AuditError(f"--workers 应为正整数，现为 {workers}")
    if workers == 1 or sum(len(j.photos) for j in jobs) <= 1:
        for job in jobs:
            outcomes = []
            for path, side in job.photos:
                outcomes.append(_audit_path(path, side, job, engine))
                if progress:
                    progress(path.name)
            yield job, _report(job, outcomes, engine.rules)
        return
    yield from _run_parallel(jobs, engine, progress, workers)


def _run_parallel(jobs: list[BatchJob], engine: Engine, progress: Callable[[str], None] | None,
                  workers: int) -> Iterator[tuple[BatchJob, SignageReport]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from audit import settings

    detector = engine.detector
    init = (engine.rules, str(detector.path) if detector is not None else None, detector is not None,
            engine.region_text_px, max(1, settings.threads() // workers))
    outcomes: list[list[_Outcome | None]] = [[None] * len(job.photos) for job in jobs]
    left = [len(job.photos) for job in jobs]
    next_job = 0
    # spawn: a fresh interpreter per worker (forking a process whose thread pools are running can hang).
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_start_worker, initargs=init) as pool:
        futures = [pool.submit(_worker_task, (j, k, path, side, job))
                   for j, job in enumerate(jobs) for k, (path, side) in enumerate(job.photos)]
        for future in as_completed(futures):
            j, k, outcome = future.result()
            outcomes[j][k] = outcome
            left[j] -= 1
            if progress:
                progress(jobs[j].photos[k][0].name)
            while next_job < len(jobs) and left[next_job] == 0:  # reports in the jobs' order, as soon as ready
                yield jobs[next_job], _report(jobs[next_job], outcomes[next_job], engine.rules)
                next_job += 1
        while next_job < len(jobs):  # villages without photos
            yield jobs[next_job], _report(jobs[next_job], outcomes[next_job], engine.rules)
            next_job += 1
