"""Re-audit stored inspections with the current engine: each inspection's stored photos through the engine again,
the result kept as a new machine result linked to the inspection (``machine_results``, migration 0008). The
inspection itself — the model's original report, the inspectors' reviews and the reviewed verdict — stays as it
was; :func:`machine_results_table` shows the two side by side.

Idempotent per (inspection, model SHA-256, rules SHA-256): :func:`inspections_to_reaudit` selects only the
inspections without a result for the engine's hashes, and the table's unique key refuses a second row, so a rerun
adds nothing, and a task whose worker died before its commit (nothing of it stored) is simply run again.

Distributed on Dask (the ``scale`` extra: ``pip install '.[scale]'``), chosen over Ray for its footprint on a 2-core
machine (install +33 MB vs +241 MB; an idle local cluster of 2 workers 202 vs 724 MiB RSS, 4 vs 10 processes;
start 4–10 s vs 15–46 s), although Ray's tasks ran 2–3× faster in the same small-photo test on a heavily loaded
machine, a difference not yet explained (worth measuring on an idle node before a province's run; only
:func:`run_reaudit`'s dispatch would change). A local cluster of worker processes by default — one machine, no cluster to set
up — or the scheduler of a cluster given by address. Each task is one inspection; each worker process loads the
engine once. A worker that dies is restarted by its nanny and the scheduler hands its tasks to a live worker.
``workers=0`` runs in this process, without Dask. On a cluster, every worker needs the store's database (a
PostgreSQL URL) and its data directory (photos) at the same path, e.g. a shared mount; the database URL,
password included, travels to them with each task: keep the scheduler on the county's own network.
"""

from __future__ import annotations

import os
import signal
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from audit.errors import AuditError, StoreError
from audit.records.access import User, check_user
from audit.records.accounts import acting_user
from audit.records.db import Store, aware, inspections, machine_results, open_store, utc, write_transaction
from audit.records.inspections import _scoped, file_sha256, read_inspection
from audit.signs.engine import Engine, PhotoInput, SignageReport, audit_signage

# Test-only: a path; the first worker to reach a commit while the file does not exist creates it and kills itself
# (SIGKILL) with its rows written and not committed, so that a test sees a worker die mid-task.
KILL_ONCE_ENV = "VILLAGE_AUDIT_TEST_REAUDIT_KILL_ONCE"
NO_MODEL = ""  # model_sha256 of an engine that ran on OCR alone


# ------------------------------------------------------------------------------------------------ the engine
@dataclass(frozen=True)
class EngineSpec:
    """Which engine re-audits: the detector model (None: OCR alone) and the rules file, with their SHA-256 — the
    key of a machine result. Plain paths and strings, so that it travels to worker processes."""

    model: str | None
    rules: str
    model_sha256: str
    rules_sha256: str


def engine_spec(*, model: str | Path | None = None, rules: str | Path | None = None,
                use_detector: bool = True) -> EngineSpec:
    """The engine of this server: ``model`` (default the shipped ``models/plaques.onnx``; ``use_detector=False``:
    OCR alone) and ``rules`` (default the shipped rules file), hashed."""
    from audit.rules import DEFAULT_RULES
    from audit.signs.detect import default_onnx_path

    model_path = (Path(model) if model else default_onnx_path()) if use_detector else None
    rules_path = Path(rules) if rules else DEFAULT_RULES
    if model_path is not None and not model_path.exists():
        raise AuditError(f"找不到牌子检测模型：{model_path}")
    return EngineSpec(model=None if model_path is None else str(model_path), rules=str(rules_path),
                      model_sha256=NO_MODEL if model_path is None else file_sha256(model_path),
                      rules_sha256=file_sha256(rules_path))


def load_engine(spec: EngineSpec) -> Engine:
    """The engine ``spec`` names, loaded."""
    from audit.rules import load_rules

    return Engine.load(rules=load_rules(spec.rules), model=spec.model, use_detector=spec.model is not None)


# ------------------------------------------------------------------------------------------------- selection
def _require(user: User) -> None:
    user.require("manage_rounds", what="重新核查已存照片")  # a county's batch job: its administrators and the server


def inspections_to_reaudit(store: Store, spec: EngineSpec, *, user: User, round_id: str | None = None,
                           county: str | None = None) -> list[str]:
    """The ids of the stored inspections (of ``round_id`` / ``county``, else all that ``user`` may read) that have
    no machine result of ``spec``'s model and rules yet, in id order. ``user`` needs ``manage_rounds``."""
    check_user(user)
    done = sa.select(machine_results.c.inspection_id).where(
        machine_results.c.model_sha256 == spec.model_sha256, machine_results.c.rules_sha256 == spec.rules_sha256)
    query = sa.select(inspections.c.id).where(inspections.c.id.not_in(done))
    if round_id is not None:
        query = query.where(inspections.c.round_id == round_id)
    if county is not None:
        query = query.where(inspections.c.county == county.strip())
    with store.engine.connect() as conn:
        actor = acting_user(conn, user)
        _require(actor)
        return list(conn.execute(_scoped(query, actor).order_by(inspections.c.id)).scalars())


# ------------------------------------------------------------------------------------------------ one task
def _kill_once() -> None:
    marker = os.environ.get(KILL_ONCE_ENV)
    if not marker:
        return
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    os.kill(os.getpid(), signal.SIGKILL)


def reaudit_inspection(store: Store, inspection_id: str, engine: Engine, spec: EngineSpec, *, run_id: str,
                       worker: str = "") -> tuple[str, str | None]:
    """Run ``engine`` over one stored inspection's photos and store the result; ``("added", verdict)``, or
    ``("present", verdict)`` when a result of ``spec`` was there already (nothing written).

    The server's own work (no acting user: the caller selected the inspection as one). Photos are read from the
    store; the village and the inspection time are the inspection's.
    """
    key = (machine_results.c.inspection_id == inspection_id, machine_results.c.model_sha256 == spec.model_sha256,
           machine_results.c.rules_sha256 == spec.rules_sha256)
    with store.engine.connect() as conn:
        found = conn.execute(sa.select(machine_results.c.verdict).where(*key)).first()
        if found is not None:
            return "present", found.verdict
        stored = read_inspection(conn, store, inspection_id)
    inputs = []
    for photo in stored.photos:
        try:
            inputs.append(PhotoInput(data=photo.path.read_bytes(), name=photo.name, side=photo.side))
        except OSError as exc:
            raise StoreError(f"核查记录 {inspection_id} 的照片文件缺失或无法读取：{photo.name} ({exc.strerror})") from None
    started = time.perf_counter()
    report: SignageReport = audit_signage(inputs, engine, village_code=stored.village_code,
                                          village_name=stored.village_name, inspected_at=stored.inspected_at)
    seconds = time.perf_counter() - started
    try:
        with write_transaction(store) as conn:
            if conn.execute(sa.select(machine_results.c.id).where(*key)).first() is not None:
                return "present", report.summary.verdict
            conn.execute(machine_results.insert().values(
                id=uuid.uuid4().hex, inspection_id=inspection_id, model_sha256=spec.model_sha256,
                rules_sha256=spec.rules_sha256, report=report.model_dump_json(), verdict=report.summary.verdict,
                run_id=run_id, worker=worker[:200], seconds=seconds, created_at=utc(None)))
            _kill_once()
    except sa.exc.IntegrityError:  # another worker stored it between the look and the insert (a task run twice)
        return "present", report.summary.verdict
    return "added", report.summary.verdict


_WORKER_STATE: dict[tuple, tuple[Store, Engine]] = {}


def _task(inspection_id: str, *, db_url: str, data_dir: str, spec: EngineSpec, run_id: str,
          threads: int) -> tuple[str, str, str | None]:
    """One inspection on a worker process (store and engine opened once per process): (id, outcome, verdict or
    the error's message)."""
    key = (db_url, data_dir, spec)
    if key not in _WORKER_STATE:
        os.environ["VILLAGE_AUDIT_THREADS"] = str(threads)
        _WORKER_STATE[key] = (open_store(db_url, data_dir=data_dir, migrate=False), load_engine(spec))
    store, engine = _WORKER_STATE[key]
    try:
        outcome, verdict = reaudit_inspection(store, inspection_id, engine, spec, run_id=run_id,
                                              worker=f"{socket.gethostname()}:{os.getpid()}")
    except AuditError as exc:
        return inspection_id, "failed", str(exc)
    return inspection_id, outcome, verdict


# ------------------------------------------------------------------------------------------------- the run
@dataclass
class ReauditRun:
    """What a run did: the inspections selected, results added, found present, failed (id, message), and time."""

    run_id: str
    selected: int
    added: int = 0
    present: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 0


def run_reaudit(store: Store, *, user: User, spec: EngineSpec | None = None, round_id: str | None = None,
                county: str | None = None, workers: int = 2, scheduler: str | None = None,
                threads_per_worker: int = 1,
                progress: Callable[[int, int, ReauditRun], None] | None = None) -> ReauditRun:
    """Re-audit the stored inspections that have no result of ``spec`` yet (:func:`inspections_to_reaudit`).

    ``workers``: local worker processes of a Dask cluster started for the run (0: in this process, no Dask);
    ``scheduler``: the address of a running Dask cluster's scheduler instead (``tcp://host:8786``).
    ``progress(done, total, run)`` is called after each inspection. ``user`` needs ``manage_rounds``
    (:data:`audit.records.access.SYSTEM` on the server's command line).
    """
    spec = spec or engine_spec()
    ids = inspections_to_reaudit(store, spec, user=user, round_id=round_id, county=county)
    run = ReauditRun(run_id=uuid.uuid4().hex, selected=len(ids), workers=workers)
    started = time.perf_counter()

    def count(outcome: str, inspection_id: str, detail: str | None) -> None:
        if outcome == "failed":
            run.failed.append((inspection_id, detail or ""))
        else:
            setattr(run, outcome, getattr(run, outcome) + 1)
        if progress is not None:
            progress(run.added + run.present + len(run.failed), run.selected, run)

    if not ids:
        return run
    if workers == 0 and scheduler is None:
        engine = load_engine(spec)
        for inspection_id in ids:
            try:
                outcome, verdict = reaudit_inspection(store, inspection_id, engine, spec, run_id=run.run_id,
                                                      worker=f"{socket.gethostname()}:{os.getpid()}")
            except AuditError as exc:
                outcome, verdict = "failed", str(exc)
            count(outcome, inspection_id, verdict)
        run.seconds = time.perf_counter() - started
        return run

    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise AuditError("并行重新核查需要 Dask：pip install '.[scale]'（或 --workers 0 在本进程中运行）") from None
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(scheduler or cluster)
    try:
        if scheduler is not None:
            run.workers = len(client.scheduler_info().get("workers", {}))
        futures = client.map(_task, ids, db_url=store.engine.url.render_as_string(hide_password=False),
                             data_dir=str(store.data_dir), spec=spec, run_id=run.run_id,
                             threads=threads_per_worker, pure=False)
        for future in as_completed(futures):
            inspection_id, outcome, detail = future.result()
            count(outcome, inspection_id, detail)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    run.seconds = time.perf_counter() - started
    return run


# ------------------------------------------------------------------------------------------------ reading
def machine_results_table(store: Store, *, user: User, inspection_id: str | None = None,
                          run_id: str | None = None) -> pd.DataFrame:
    """The machine results of the inspections ``user`` may read, beside each inspection's own verdict (the
    reviewed one when inspectors corrected it): inspection_id, village_code, village_name, county, township,
    verdict, reviewed_at, machine_verdict, changed, model_sha256, rules_sha256, run_id, worker, seconds,
    created_at (UTC), oldest first."""
    check_user(user)
    query = (sa.select(machine_results, inspections.c.village_code, inspections.c.village_name, inspections.c.county,
                       inspections.c.township, inspections.c.verdict.label("inspection_verdict"),
                       inspections.c.reviewed_at)
             .join(inspections, inspections.c.id == machine_results.c.inspection_id))
    if inspection_id is not None:
        query = query.where(machine_results.c.inspection_id == inspection_id)
    if run_id is not None:
        query = query.where(machine_results.c.run_id == run_id)
    with store.engine.connect() as conn:
        query = _scoped(query, acting_user(conn, user))
        rows = conn.execute(query.order_by(machine_results.c.created_at, machine_results.c.id)).all()
    columns = ["inspection_id", "village_code", "village_name", "county", "township", "verdict", "reviewed_at",
               "machine_verdict", "changed", "model_sha256", "rules_sha256", "run_id", "worker", "seconds",
               "created_at"]
    df = pd.DataFrame([(r.inspection_id, r.village_code, r.village_name, r.county, r.township, r.inspection_verdict,
                        aware(r.reviewed_at), r.verdict, r.verdict != r.inspection_verdict, r.model_sha256,
                        r.rules_sha256, r.run_id, r.worker, r.seconds, aware(r.created_at)) for r in rows],
                      columns=columns)
    return df


def reaudit_report(store: Store, inspection_id: str, spec: EngineSpec, *, user: User) -> SignageReport | None:
    """The machine result of ``spec`` for one inspection as a report (None: not re-audited with it yet); ``user``
    needs ``read_inspections`` in its county and township."""
    from audit.records.inspections import inspection_from_store

    inspection_from_store(store, inspection_id, user=user)  # the access check, as for the inspection itself
    with store.engine.connect() as conn:
        text = conn.execute(sa.select(machine_results.c.report).where(
            machine_results.c.inspection_id == inspection_id, machine_results.c.model_sha256 == spec.model_sha256,
            machine_results.c.rules_sha256 == spec.rules_sha256)).scalar()
    return None if text is None else SignageReport.model_validate_json(text)
