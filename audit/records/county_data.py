"""The county's current dataset, shared by every user: the registry (with its coordinate system), the rules file
and the township boundary layer that a county administrator uploaded, kept in ``settings.data_dir()/county/``.

Layout
------
``manifest.json`` says which file is current for each kind, its original name, who uploaded it, when, and (for
a registry) the coordinate system. The files themselves are named from the kind and their content hash only
(``registry-3f2a….xlsx``), never from the uploaded name; the extension is kept because the readers choose the
format by it, and only after the reader has accepted the file. A kind missing from the manifest means the
app's default: the embedded demo county, the shipped rules, no boundary layer.

Earlier versions: :mod:`audit.records.registry_versions` saves with ``keep_previous=True`` (the replaced file
stays, named by its hash) and makes a kept file current again with :func:`restore_county_file`;
:func:`county_file_from_bytes` reads an upload for its preview without saving it.

Every change writes the new file under a fresh name, then replaces the manifest atomically (``os.replace``),
then removes the old file: a reader sees the old (file, crs) pair or the new one, never a mix, so a cache keyed
on the file's content cannot be filled with a new file read in an old coordinate system.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from audit import settings
from audit.area.registry import registry_from_file, townships_from_file
from audit.errors import AuditError
from audit.rules import Rules, load_rules

if TYPE_CHECKING:  # only the type: the check is the User's own method
    from audit.records.access import User

Kind = Literal["registry", "rules", "boundary"]
KINDS: tuple[str, ...] = ("registry", "rules", "boundary")
KIND_ZH = {"registry": "村庄名册", "rules": "规则文件", "boundary": "乡镇边界"}
MANIFEST = "manifest.json"
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,10}$")


@dataclass(frozen=True)
class CountyFile:
    """One current county file as the manifest records it."""

    kind: str
    file: str  # the stored file's name in the county directory
    name: str  # the name it was uploaded under (shown, never used as a path)
    sha256: str
    size: int
    uploaded_by: str  # user name
    uploaded_by_name: str  # ``张三（zhangsan）``
    uploaded_at: str  # ISO 8601, UTC
    crs: str | None = None

    @property
    def uploaded(self) -> dt.datetime:
        """The upload time (aware, UTC)."""
        return dt.datetime.fromisoformat(self.uploaded_at)


def county_dir() -> Path:
    """``settings.data_dir()/county``, created (mode 0o700) when missing."""
    path = settings.data_dir() / "county"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise AuditError(f"'kind' should be one of {list(KINDS)}, got '{kind}' instead")
    return kind


def _read_manifest(folder: Path) -> dict[str, CountyFile]:
    try:
        raw = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AuditError(f"县数据清单 {folder / MANIFEST} 已损坏（{exc}）；请删除该文件后重新上传") from None
    return {k: CountyFile(**v) for k, v in raw.items() if k in KINDS}


def _write_atomic(folder: Path, final: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".part")  # mode 0o600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, folder / final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_manifest(folder: Path, manifest: dict[str, CountyFile]) -> None:
    text = json.dumps({k: asdict(v) for k, v in sorted(manifest.items())}, ensure_ascii=False, indent=2)
    _write_atomic(folder, MANIFEST, text.encode("utf-8"))


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Serialise changes to the manifest (two administrators saving at once); readers need no lock."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; the last writer wins
        yield
        return
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _readable(path: Path, name: str, read: Callable[[Path], Any]) -> Any:
    """Run a reader on the stored bytes; its error names the uploaded file, not our temporary one."""
    try:
        return read(path)
    except AuditError as exc:
        raise type(exc)(str(exc).replace(str(path), name).replace(path.name, name)) from None
    except Exception as exc:  # a broken file can fail deep inside a reader (zip, sqlite, xml, ...)
        raise AuditError(f"{name}：文件已损坏或不是所声明的格式，无法读取（{type(exc).__name__}）") from None


def county_files() -> dict[str, CountyFile]:
    """The county's current files by kind (``registry``, ``rules``, ``boundary``); a kind that is missing
    uses the default (demo county, shipped rules, no boundary layer)."""
    return _read_manifest(county_dir())


def county_file_path(kind: Kind) -> Path | None:
    """The stored file of ``kind``, or None when the county uses the default."""
    entry = county_files().get(_kind(kind))
    if entry is None:
        return None
    path = county_dir() / entry.file
    return path if path.exists() else None


def county_file_bytes(kind: Kind) -> tuple[CountyFile, bytes] | None:
    """The manifest entry and content of ``kind`` read together, or None for the default.

    A file replaced between reading the manifest and reading the file is looked up again, so the bytes
    always belong to the returned entry (and its ``crs``).
    """
    folder = county_dir()
    for _ in range(5):
        entry = _read_manifest(folder).get(_kind(kind))
        if entry is None:
            return None
        try:
            return entry, (folder / entry.file).read_bytes()
        except FileNotFoundError:
            continue
    raise AuditError(f"{KIND_ZH[kind]}「{entry.name}」的文件 {folder / entry.file} 不存在；请重新上传或恢复默认")


def _current_rules(folder: Path, manifest: dict[str, CountyFile]) -> Rules:
    entry = manifest.get("rules")
    return load_rules(folder / entry.file) if entry is not None else load_rules()


def current_rules() -> Rules:
    """The county's current rules (the saved rules file, else the shipped default)."""
    folder = county_dir()
    return _current_rules(folder, _read_manifest(folder))


def _validate(kind: str, path: Path, name: str, crs: str | None, folder: Path,
              manifest: dict[str, CountyFile]) -> None:
    if kind == "registry":
        rules = _current_rules(folder, manifest)
        _readable(path, name, lambda p: registry_from_file(p, rules=rules, crs=crs or ""))
    elif kind == "boundary":
        _readable(path, name, townships_from_file)
    else:
        rules = _readable(path, name, load_rules)
        registry = manifest.get("registry")
        if registry is not None:  # new rules must still read the county's registry
            try:
                registry_from_file(folder / registry.file, rules=rules, crs=registry.crs or "wgs84")
            except AuditError as exc:
                raise type(exc)(f"规则文件 {name} 无法用于当前名册「{registry.name}」："
                                f"{str(exc).replace(registry.file, registry.name)}") from None


def save_county_file(kind: Kind, data: bytes, name: str, *, user: User, crs: str | None = None,
                     now: dt.datetime | None = None, keep_previous: bool = False) -> CountyFile:
    """Validate an uploaded county file and make it the county's current one, for every user.

    Parameters
    ----------
    kind
        ``registry``, ``rules`` or ``boundary``.
    data, name
        The file's content and the name it was uploaded under (kept in the manifest and used in messages
        only; the stored file is named from the kind and the content hash).
    user
        The uploader; must be allowed ``manage_rules``.
    crs
        The registry's coordinate system (``wgs84``, ``gcj02``, ``bd09``); required for a registry and not
        accepted for the other kinds.
    now
        The upload time (default: now).
    keep_previous
        Keep the file this one replaces (an earlier version that :mod:`audit.records.registry_versions` can
        make current again); by default it is removed.

    Returns
    -------
    CountyFile
        The new manifest entry.

    Raises
    ------
    AccessError
        ``user`` may not manage the county's data.
    AuditError
        The file is refused by its reader (RegistryError, RulesError, with the reader's message naming
        ``name``), or a rules file would make the current registry unreadable; nothing is replaced then.
    """
    _kind(kind)
    user.require("manage_rules", what=f"上传{KIND_ZH[kind]}「{name}」")
    if kind == "registry" and crs is None:
        raise AuditError(f"名册「{name}」：须指明坐标系（'crs' 为 wgs84、gcj02 或 bd09）")
    if kind != "registry" and crs is not None:
        raise AuditError(f"'crs' applies to a registry only, got crs='{crs}' for kind '{kind}'")
    name = Path(str(name).replace("\\", "/")).name or kind
    suffix = _stored_suffix(kind, name)
    digest = hashlib.sha256(data).hexdigest()
    final = f"{kind}-{digest[:16]}{suffix}"
    folder = county_dir()
    with _locked(folder):
        manifest = _read_manifest(folder)
        # Write under a temporary name that the readers accept (they go by the extension), check it, then
        # move it into place: the file the reader accepted is the file that is kept.
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".tmp-{kind}-", suffix=suffix)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            _validate(kind, tmp, name, crs, folder, manifest)
            os.replace(tmp, folder / final)
        finally:
            tmp.unlink(missing_ok=True)
        when = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
        entry = CountyFile(kind=kind, file=final, name=name, sha256=digest, size=len(data),
                           uploaded_by=user.username, uploaded_by_name=user.full_name,
                           uploaded_at=when.isoformat(), crs=crs)
        old = manifest.get(kind)
        manifest[kind] = entry
        _write_manifest(folder, manifest)
        if old is not None and old.file != final and not keep_previous:
            (folder / old.file).unlink(missing_ok=True)
    return entry


def reset_county_file(kind: Kind, *, user: User, keep_previous: bool = False) -> CountyFile | None:
    """Go back to the default for ``kind`` (demo county, shipped rules, no boundary layer), for every user.

    Returns the entry that was removed (None when the default was already in use).

    Raises
    ------
    AccessError
        ``user`` may not manage the county's data.
    """
    _kind(kind)
    user.require("manage_rules", what=f"恢复默认{KIND_ZH[kind]}")
    folder = county_dir()
    with _locked(folder):
        manifest = _read_manifest(folder)
        old = manifest.pop(kind, None)
        if old is None:
            return None
        _write_manifest(folder, manifest)
        if not keep_previous:
            (folder / old.file).unlink(missing_ok=True)
    return old


def _stored_suffix(kind: str, name: str) -> str:
    name = Path(str(name).replace("\\", "/")).name or kind
    suffix = ".toml" if kind == "rules" else Path(name).suffix.lower()
    if not _SUFFIX.match(suffix):
        raise AuditError(f"{name}: 不支持的文件类型「{suffix or '无扩展名'}」")
    return suffix


def county_file_from_bytes(kind: Kind, data: bytes, name: str, *, crs: str | None = None,
                           rules: Rules | None = None) -> Any:
    """Read an upload as its reader does, without saving it: a ``Registry`` (read with ``rules``, default: the
    county's current rules, in ``crs``), ``Rules`` or a township GeoDataFrame. Errors name ``name``."""
    _kind(kind)
    suffix = _stored_suffix(kind, name)
    folder = county_dir()
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".tmp-{kind}-", suffix=suffix)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        if kind == "registry":
            rules = rules or _current_rules(folder, _read_manifest(folder))
            return _readable(tmp, name, lambda p: registry_from_file(p, rules=rules, crs=crs or "wgs84"))
        if kind == "rules":
            return _readable(tmp, name, load_rules)
        return _readable(tmp, name, townships_from_file)
    finally:
        tmp.unlink(missing_ok=True)


def stored_county_file(entry: CountyFile) -> bytes:
    """The bytes of a file kept in the county directory (a current or earlier version), checked against its
    SHA-256."""
    path = county_dir() / Path(entry.file).name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise AuditError(f"{KIND_ZH.get(entry.kind, entry.kind)}「{entry.name}」的文件已不在县数据目录中，无法使用") from None
    if hashlib.sha256(data).hexdigest() != entry.sha256:
        raise AuditError(f"{KIND_ZH.get(entry.kind, entry.kind)}「{entry.name}」的文件已被改动（校验值不符），无法使用")
    return data


def restore_county_file(entry: CountyFile, *, user: User) -> CountyFile:
    """Make a kept file (an earlier version) the county's current one again, for every user.

    The file is checked again as an upload is (a registry must read with the current rules, rules must read the
    current registry); the manifest keeps the entry as it was uploaded. The file it replaces is kept.

    Raises
    ------
    AccessError
        ``user`` may not manage the county's data.
    AuditError
        The file is gone, changed, or refused by its reader now.
    """
    kind = _kind(entry.kind)
    user.require("manage_rules", what=f"恢复{KIND_ZH[kind]}「{entry.name}」")
    folder = county_dir()
    with _locked(folder):
        stored_county_file(entry)
        manifest = _read_manifest(folder)
        _validate(kind, folder / Path(entry.file).name, entry.name, entry.crs, folder, manifest)
        manifest[kind] = entry
        _write_manifest(folder, manifest)
    return entry
