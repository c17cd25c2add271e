"""What the pages share: the county's current dataset, rules and boundary layer, cached loaders around the
``audit`` library, and the mapping of its errors to ``st.error``.

The current dataset is the same for every user and every session: what the county administrator saved on
数据与规则 (:mod:`audit.records.county_data`, in the data directory) when present, else the embedded demo county and the
default rules. It is read again on every run; the caches below key on the files' content, so an upload made in
one session is seen by every other session at its next rerun.

The library's readers want a path, so cached readers write the bytes to a temporary directory that is removed
as soon as the file has been read.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import pandas as pd
import streamlit as st

from audit.area.export import write_audit
from audit.area.floor_area import area_audit
from audit.area.registry import registry_from_file, townships_from_file
from audit.area.townships import townships_from_villages
from audit.errors import AuditError
from audit.records import county_data, demo_accounts
from audit.records.access import User, villages_in_scope
from audit.records.inspections import AuditedWith, VillageRegistry, audited_with, village_registry
from audit.rules import Rules, load_rules
from audit.signs.names import Gazetteer, gazetteer_from_registry

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo" / "demo_county.xlsx"
DEMO_CRS = "gcj02"  # the demo sheet holds Gaode coordinates (see data/README.md)
CRS_LABELS = {"wgs84": "WGS84（GPS、天地图）", "gcj02": "GCJ-02（高德、腾讯）", "bd09": "BD-09（百度）"}
ALL = "全县"
EXPORT_FORMATS = {"xlsx": ("Excel 工作簿（XLSX）", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                  "csv": ("CSV（UTF-8 带 BOM）", "text/csv"),
                  "gpkg": ("GeoPackage（GPKG）", "application/geopackage+sqlite3")}

TOWNSHIP, _USER = "township", "va_user"
log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Upload:
    """A county file (or the shipped demo): its bytes, name and, for a registry, the coordinate system;
    ``saved`` is the manifest entry of a file the administrator saved (None for the demo and defaults)."""

    data: bytes
    name: str
    crs: str = "wgs84"
    demo: bool = False
    saved: county_data.CountyFile | None = None

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()[:16]


@dataclass(frozen=True)
class Current:
    """The audited registry on screen and everything it was made with.

    ``audited`` holds only the villages the signed-in user may read (``scope``: their townships, None for a
    county-wide role); pages show nothing else. ``county`` is the whole registry, kept for access checks
    (naming the township of a village the user may not open) and the township areas, never for display.
    """

    dataset: Upload
    rules: Rules
    rules_upload: Upload | None
    audited: gpd.GeoDataFrame
    problems: list[str]
    dropped: list[str]
    boundary: gpd.GeoDataFrame | None
    boundary_upload: Upload | None
    county: gpd.GeoDataFrame | None = None
    scope: tuple[str, ...] | None = None

    @property
    def key(self) -> str:
        """Identifies the audit (registry bytes, crs, rules, the user's townships) for caches further down."""
        rules = self.rules_upload.digest if self.rules_upload else "default"
        scope = "county" if self.scope is None else ",".join(self.scope)
        return f"{self.dataset.digest}:{self.dataset.crs}:{rules}:{scope}"

    @property
    def type_names(self) -> dict[str, str]:
        return {t.id: t.name_zh for t in self.rules.area.types}

    @property
    def townships(self) -> list[str]:
        return sorted(self.audited["township"].dropna().astype(str).unique().tolist())


def _with_file(upload: Upload, read: Callable[[Path], T]) -> T:
    with tempfile.TemporaryDirectory(prefix="village-audit-") as tmp:
        path = Path(tmp) / (Path(upload.name).name or "upload")
        path.write_bytes(upload.data)
        try:
            return read(path)
        except AuditError as exc:  # the temporary path means nothing to the user: name the upload
            raise type(exc)(str(exc).replace(str(path), upload.name)) from None


def _readable(kind: str, upload: Upload, read: Callable[[Path], T]) -> T:
    """Read an upload; a file the library cannot make sense of becomes an AuditError naming it."""
    try:
        return _with_file(upload, read)
    except AuditError:
        raise
    except Exception as exc:  # a broken file can fail deep inside a reader (zip, sqlite, xml, ...)
        log.exception("reading %s %s failed", kind, upload.name)
        raise AuditError(f"{upload.name}：文件已损坏或不是所声明的格式，无法读取（{type(exc).__name__}）") from None


@st.cache_data(show_spinner="正在读取规则文件…", max_entries=8)
def rules_from_upload(upload: Upload | None) -> Rules:
    """The default rules, or an uploaded rules file (RulesError when malformed)."""
    if upload is None:
        return load_rules()
    return _readable("rules", upload, load_rules)


@st.cache_data(show_spinner="正在读取并核查名册…", max_entries=8)
def audit_from_upload(upload: Upload, rules_upload: Upload | None) -> tuple[gpd.GeoDataFrame, list[str], list[str]]:
    """Read a registry and audit it: (audited villages, data problems, dropped rows)."""
    rules = rules_from_upload(rules_upload)
    reg = _readable("registry", upload, lambda p: registry_from_file(p, rules=rules, crs=upload.crs))
    return area_audit(reg.villages, rules=rules), [str(p) for p in reg.problems], [str(p) for p in reg.dropped]


def county_of(current: Current) -> dict[str, str] | None:
    """Township -> county of the whole registry, when it names counties (for grouping figures by county)."""
    from audit.records.evaluation import county_of_townships

    return county_of_townships(current.county if current.county is not None else current.audited)


@st.cache_resource(max_entries=8, show_spinner="正在读取名册中的地名…")
def gazetteer(key: str, _current: Current) -> Gazetteer:
    """The county's place names (registry ``key``), to read the place on each plaque."""
    return gazetteer_from_registry(_current.county if _current.county is not None else _current.audited,
                                   _current.rules)


@st.cache_data(show_spinner="正在读取乡镇边界…", max_entries=4)
def boundary_from_upload(upload: Upload) -> gpd.GeoDataFrame:
    """A township boundary layer (WGS84)."""
    return _readable("boundary", upload, townships_from_file)


@st.cache_data(show_spinner="正在推算乡镇近似范围…", max_entries=8)
def approximate_townships(key: str, _audited: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Voronoi township areas of the audit identified by ``key``."""
    return townships_from_villages(_audited)


@st.cache_data(show_spinner="正在生成导出文件…", max_entries=16)
def export_bytes(key: str, township: str, fmt: str, _current: Current) -> bytes:
    """The area audit of one township (or the whole county) as XLSX / CSV / GeoPackage bytes."""
    audited = filtered(_current, township)
    with tempfile.TemporaryDirectory(prefix="village-audit-export-") as tmp:
        path = Path(tmp) / f"area_audit.{fmt}"
        write_audit(audited, path, rules=_current.rules, source=_current.dataset.name,
                    crs=_current.dataset.crs)
        return path.read_bytes()


@contextmanager
def opened_store() -> Iterator:
    """The inspection and accounts store (created on first use) in the app's data directory, closed after use."""
    from audit.records.db import open_store

    store = open_store(data_dir=demo_accounts.data_dir())
    try:
        yield store
    finally:
        store.close()


def set_user(user: User | None) -> None:
    """Called by ``streamlit_app.py`` on every run with the user reloaded from the session."""
    st.session_state[_USER] = user


def user() -> User:
    """The signed-in user of this run (the entry point shows only the sign-in page without one)."""
    found = st.session_state.get(_USER)
    if not isinstance(found, User):
        st.error("请先登录。")
        st.stop()
    return found


@st.cache_resource(max_entries=4, show_spinner=False)
def county_registry(key: str, _cur: Current) -> VillageRegistry:
    """The whole county's registry (never a user's scope) as the store files inspections against it: a
    village's name and township come from here, with the registry file's SHA-256."""
    county = _cur.audited if _cur.county is None else _cur.county
    return village_registry(county, sha256=hashlib.sha256(_cur.dataset.data).hexdigest(), source=_cur.dataset.name)


def audited_with_files(cur: Current, engine) -> AuditedWith:  # noqa: ANN001 - audit.signs.engine.Engine
    """The SHA-256 of the rules file the page audits with (the saved county file, else the default) and of the
    engine's detector model (None when it runs on OCR alone)."""
    detector = getattr(engine, "detector", None)
    return audited_with(rules_file=cur.rules_upload.data if cur.rules_upload is not None else Path(cur.rules.path),
                        model_file=getattr(detector, "path", None) if detector is not None else None)


def save_inspection(report, photo_bytes: list[bytes], edited: pd.DataFrame, added: pd.DataFrame, *, user: User,
                    cur: Current, village_code: str | None, audited: AuditedWith, submission_token: str) -> str:
    """Store an inspection and the signed-in inspector's review of it. The library does the work: it finds the
    village in the county's registry (its name and township are the registry's, not the page's) and refuses,
    with AccessError, a village outside the user's townships or an account disabled since the sign-in. The check's
    ``submission_token`` makes saving it idempotent: sent again, the same record comes back."""
    from audit.records.review_table import submit_reviewed

    registry = county_registry(cur.key.rsplit(":", 1)[0], cur)
    with opened_store() as store:
        return submit_reviewed(store, report, photo_bytes, edited, added, rules=cur.rules, user=user,
                               registry=registry, audited=audited, village_code=village_code,
                               submission_token=submission_token)


@st.cache_data(max_entries=32, show_spinner="正在按复核内容重新判定…")
def reviewed_preview(token: str, edited: pd.DataFrame, added: pd.DataFrame, _report, _rules: Rules,  # noqa: ANN001
                     _photo_bytes: list[bytes]):
    """The check's report as it will be stored with these corrections (verdict recomputed), for the page to show
    before saving; one entry per check (``token``) and state of the two review tables."""
    from audit.records.review_table import reviewed_report

    return reviewed_report(_report, edited, added, _rules, photo_bytes=_photo_bytes)


def stored_report(inspection_id: str, user: User):  # noqa: ANN201 - audit.signs.report.SignageReport
    """A saved inspection's report as the store holds it now (reviewed plaques, recomputed summary)."""
    from audit.records.inspections import inspection_from_store

    with opened_store() as store:
        return inspection_from_store(store, inspection_id, user=user).reviewed_report()


@dataclass
class Check:
    """A check on the inspection page, kept in the session between its runs (and, as a draft, in the store):
    the village (its row in the page's table and its code), the photos' bytes, the engine's report, what it was
    made with (the county files' key, the rules and model hashes), the submission token, the draft it is kept
    as, and the review tables it started from (a draft's corrections, else None: the engine's plaques)."""

    village: Any
    village_code: str
    photo_bytes: list[bytes]
    report: Any  # audit.signs.report.SignageReport
    made_with: str
    audited: AuditedWith
    token: str
    draft_id: str | None = None
    base_edited: pd.DataFrame | None = None
    base_added: pd.DataFrame | None = None
    saved_hash: str = ""  # the corrections last written to the draft


def keep_draft(check: Check, user: User, cur: Current) -> str | None:
    """Keep a check just made as the user's draft (None when it cannot be kept: the page carries on without)."""
    from audit.records.drafts import save_draft

    if not check.village_code:  # a registry without village codes: the check lives in this tab only
        st.caption("名册中该村没有村代码，本次核查不能保存为草稿（刷新页面后需重新核查）。")
        return None
    try:
        village = county_registry(cur.key.rsplit(":", 1)[0], cur).village(check.village_code)
        with opened_store() as store:
            return save_draft(store, user=user, village=village, report=check.report, photo_bytes=check.photo_bytes,
                              submission_token=check.token, audited=check.audited, made_with=check.made_with).id
    except AuditError as exc:
        show_error("核查草稿未能保存（刷新页面后需重新核查）", exc)
        return None


def keep_corrections(check: Check, user: User, edited: pd.DataFrame, added: pd.DataFrame) -> None:
    """Write the review tables to the check's draft when they changed since they were last written."""
    from audit.records.drafts import update_draft

    if check.draft_id is None:
        return
    digest = hashlib.sha256((edited.to_json() + added.to_json()).encode()).hexdigest()
    if digest == check.saved_hash:
        return
    try:
        with opened_store() as store:
            update_draft(store, check.draft_id, user=user, edited=edited, added=added)
    except AuditError as exc:
        show_error("复核修改未能保存到草稿", exc)
    else:
        check.saved_hash = digest


def user_drafts(user: User) -> list:
    """The user's unsaved checks (audit.records.drafts.DraftInfo), the latest first."""
    from audit.records.drafts import drafts_of

    with opened_store() as store:
        return drafts_of(store, user=user)


def check_from_draft(draft_id: str, user: User, village: Any) -> Check:
    """A draft of the user's, to carry on with on the page (``village``: its row in the page's table)."""
    from audit.records.drafts import draft_from_store

    with opened_store() as store:
        d = draft_from_store(store, draft_id, user=user)
    return Check(village=village, village_code=d.info.village_code, photo_bytes=d.photo_bytes, report=d.report,
                 made_with=d.made_with, audited=d.audited, token=d.submission_token, draft_id=d.info.id,
                 base_edited=d.edited, base_added=d.added)


def drop_draft(draft_id: str | None, user: User) -> None:
    """Discard a draft (saved or given up); a failure only leaves it to expire."""
    from audit.records.drafts import delete_draft

    if draft_id is None:
        return
    try:
        with opened_store() as store:
            delete_draft(store, draft_id, user=user)
    except AuditError:
        log.warning("draft %s could not be deleted; it expires on its own", draft_id)


def show_error(what: str, exc: AuditError) -> None:
    """The app's one way of reporting a user error: a Chinese message naming the problem."""
    st.error(f"{what}：{exc}", icon=":material/error:")


def demo_dataset() -> Upload:
    return Upload(DEMO.read_bytes(), DEMO.name, DEMO_CRS, demo=True)


def _saved(kind: county_data.Kind) -> Upload | None:
    found = county_data.county_file_bytes(kind)
    if found is None:
        return None
    entry, data = found
    return Upload(data, entry.name, entry.crs or "wgs84", saved=entry)


def dataset() -> Upload:
    """The county's saved registry, else the demo county."""
    return _saved("registry") or demo_dataset()


def rules_upload() -> Upload | None:
    """The county's saved rules file (None: the default rules)."""
    return _saved("rules")


def boundary_upload() -> Upload | None:
    """The county's saved township boundary layer (None: approximate areas)."""
    return _saved("boundary")


def current() -> Current:
    """Everything the pages show, loaded (and cached) from the county's files. A saved file was accepted when it
    was saved, but may fail later (a library upgrade, a file changed on disk): a rules file or boundary layer
    then falls back to the default and says so; a registry stops the page, except for an administrator, who
    sees the demo county (and the error) so that 数据与规则 stays reachable to replace it."""
    who = user()
    try:
        ds, ru, bu = dataset(), rules_upload(), boundary_upload()
    except AuditError as exc:
        show_error("县数据无法读取", exc)
        st.stop()
    try:
        rules = rules_from_upload(ru)
    except AuditError as exc:
        show_error("规则文件无法使用，已改用默认规则", exc)
        ru, rules = None, rules_from_upload(None)
    try:
        audited, problems, dropped = audit_from_upload(ds, ru)
    except AuditError as exc:
        if ds.demo or not who.can("manage_rules"):
            show_error(f"名册「{ds.name}」无法读取，请联系县级管理员", exc)
            st.stop()
        show_error(f"名册「{ds.name}」无法读取，暂显示演示数据；请在「数据与规则」重新上传或恢复演示数据", exc)
        ds = demo_dataset()
        audited, problems, dropped = audit_from_upload(ds, ru)
    boundary = None
    if bu is not None:
        try:
            boundary = boundary_from_upload(bu)
        except AuditError as exc:
            show_error("乡镇边界无法使用", exc)
            bu = None
    county, scope = audited, None if who.county_wide else who.townships
    if not who.city_wide:  # an account limited to counties or townships sees only those, everywhere
        try:
            audited = villages_in_scope(who, county)
        except AuditError as exc:
            show_error("名册与账号的负责范围不符，请联系管理员", exc)
            st.stop()
    return Current(ds, rules, ru, audited, problems, dropped, boundary, bu, county, scope)


def township() -> str:
    """The township chosen in the sidebar (``ALL`` for the whole county, or all of a scoped user's townships)."""
    return st.session_state.get(TOWNSHIP) or ALL


def scope_label(cur: Current, township: str | None = None) -> str:
    """How a scope reads on screen: a township, 全县, or 全部负责乡镇 for a township-scoped user."""
    township = township or ALL
    if township != ALL:
        return township
    return ALL if cur.scope is None else f"全部负责乡镇（{'、'.join(cur.scope)}）"


def filtered(cur: Current, township: str | None = None) -> gpd.GeoDataFrame:
    """The audited villages of one township (all for ``ALL``)."""
    township = township or ALL
    if township == ALL:
        return cur.audited
    return cur.audited[cur.audited["township"].astype(object) == township]


def township_areas(cur: Current) -> gpd.GeoDataFrame:
    """The boundary layer when one is loaded, otherwise the approximate (Voronoi) areas."""
    if cur.boundary is not None:
        areas = cur.boundary.assign(approximate=False)
    else:  # made from the whole county, so that a township's area does not depend on who looks at it
        county = cur.audited if cur.county is None else cur.county
        areas = approximate_townships(cur.key.rsplit(":", 1)[0], county)
    if cur.scope is not None:
        areas = areas[areas["township"].isin(cur.scope)]
    return areas


def percent(rate: Any) -> str:
    return "—" if rate is None or pd.isna(rate) else f"{float(rate):.1%}"
