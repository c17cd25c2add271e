"""No code word where people read (CONVENTIONS 16): every page rendered through AppTest, and every export for
people, on the demo county with a store holding every kind of finding — and nothing on them may be a code taken
from the code itself (rule ids, kinds, checks, severities, statuses, verdicts, bases, roles, column names), ``None``,
``nan``, ``True``/``False`` or a server path.

The words forbidden are read from the code (the label tables' keys, the rules' ids, the tables' column names), not
written here, so a new code without a label fails this test. The JSON report (a documented schema for other
programs) and the GeoPackage/GeoJSON layers (field names for GIS software) are data exchange, not reading, and
are left out.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import streamlit as st

from app import state
from audit import labels
from audit.area.export import SUMMARY_HEADERS_ZH, VILLAGE_HEADERS_ZH
from audit.records.access import ACTIONS, SYSTEM
from audit.records.accounts import SIGN_IN_REASONS, authenticate
from audit.records.db import metadata, open_store
from audit.records.inspections import create_round, inspection_from_store, review_log_table, submit_inspection
from audit.records.ledger import LEDGER_HEADERS_ZH, ledger_from_store, ledger_to_xlsx
from audit.records.review_table import REVIEW_COLUMNS
from audit.records.reviews import AddPlaque, ConfirmPlaque, CorrectPlaque, DeletePlaque, review_inspection
from audit.rules import load_rules
from audit.signs.report import PhotoResult, PlaqueResult, Provenance, Quality, SignageReport
from tests.test_app import PASSWORD, Accounts, accounts_for_app, errors, open_page
from tests.test_store import AUDITED, jpeg_bytes

VILLAGE = ("371599101201", "石楼村")  # 城关街道
RULES = load_rules()
CHECKS = {"background": ("fail", "must_fix", "底色不是白色"), "text_colour": ("fail", "must_fix", "字色应为红色"),
          "shape": ("fail", "advisory", "不是长条形竖牌"), "size": ("not_checked", "advisory", "照片无法测量实际尺寸"),
          "typeface": ("fail", "advisory", "不像宋体"), "material": ("pass", "advisory", "金属"),
          "traditional_characters": ("fail", "advisory", "有繁体字")}


# ---------------------------------------------------------------------------------------------- the words
def code_words() -> set[str]:
    """Every code a page or an export could leak, read from the code."""
    words: set[str] = set()
    for table in (labels.VERDICT_ZH, labels.KIND_ZH, labels.CHECK_ZH, labels.SEVERITY_ZH, labels.CHECK_STATUS_ZH,
                  labels.SIDE_ZH, labels.SOURCE_ZH, labels.PHOTO_FLAG_ZH, labels.PLAQUE_STATUS_ZH,
                  labels.REVIEW_FIELD_ZH, labels.ROLE_ZH, labels.SIGN_IN_REASON_ZH, labels.AREA_STATUS_ZH,
                  labels.BASIS_ZH, labels.CRS_ZH, VILLAGE_HEADERS_ZH, SUMMARY_HEADERS_ZH, LEDGER_HEADERS_ZH):
        words |= set(table)
    words |= {p.id for p in RULES.plaques} | {t.id for t in RULES.area.types} | set(RULES.severity)
    words |= {"other_sign"} | set(ACTIONS) | set(SIGN_IN_REASONS) | set(REVIEW_COLUMNS)
    for table in metadata.tables.values():  # the store's column names
        words |= {c.name for c in table.columns}
    words -= {"id", "at", "name", "ext", "idx", "data", "lon", "lat"}  # too short to tell apart from words; checked below
    return words


CODE = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(sorted(map(re.escape, code_words()), key=len, reverse=True))
                  + r")(?![A-Za-z0-9_])")
RAW = re.compile(r"(?<![A-Za-z])(None|nan|NaN|NaT|<NA>|True|False|null)(?![A-Za-z])")


def offending(texts: Iterable[str], paths: Iterable[str]) -> list[str]:
    """The texts holding a code word, a Python/pandas empty or boolean, or one of the server ``paths``."""
    bad = []
    for t in texts:
        if CODE.search(t) or RAW.search(t) or any(p in t for p in paths) or "sqlite" in t.lower():
            bad.append(t)
    return bad


# ---------------------------------------------------------------------------------------------- the data
def board(ptype: str, kind: str, box: list[float], *, text: str = "", authorised: bool | None = True,
          style: dict | None = None, text_type: str | None = None, source: str = "detector+ocr") -> PlaqueResult:
    name = RULES.plaque(ptype).name_zh if kind == "official" else labels.KIND_ZH[kind]
    return PlaqueResult(type=ptype, name_zh=name, text=text, confidence=0.8, bbox=box, authorised=authorised,
                        kind=kind, source=source, text_type=text_type, style=style or {},
                        reason="测试用", issues=[])


def every_kind_report(outside: bytes, inside: bytes, *, name_out: str = "门口.jpg", name_in: str = "大厅.jpg",
                      code: str | None = VILLAGE[0], village: str | None = VILLAGE[1]) -> SignageReport:
    """A report holding every kind of board, every style check in every state, a duplicate, a misplaced plaque,
    missing ones, every photo flag and an unread photo."""
    import hashlib

    from audit.signs.inventory import inventory_from_photos

    style = {c: {"status": s, "severity": sev, "detail": d} for c, (s, sev, d) in CHECKS.items()}
    ext = [board("party_org", "official", [20, 40, 80, 300], text="中共石楼村支部委员会", style=style),
           board("villagers_committee", "official", [100, 40, 160, 300], text="石楼村村民委员会"),
           board("villagers_committee", "official", [180, 40, 240, 300], text="石楼村村民委员会"),
           board("governance_centre", "official", [260, 40, 320, 300], text="石楼村综治中心", authorised=False),
           board("other_sign", "honour", [340, 40, 400, 120], text="先进基层党组织", authorised=False, source="ocr"),
           board("other_sign", "allowed", [340, 130, 400, 200], text="办事指南", source="ocr"),
           board("other_sign", "unauthorised_sign", [430, 40, 780, 120], text="石楼村老年协会", authorised=False),
           board("other_sign", "background", [430, 160, 780, 240], text="石楼超市", authorised=None),
           board("other_sign", "undecided", [450, 400, 650, 520], text="石楼村民委会", authorised=None,
                 text_type="villagers_committee"),
           board("other_sign", "unreadable", [660, 400, 780, 520], authorised=None, source="detector")]
    flags = ["no_exif_gps", "no_exif_time", "far_from_village", "taken_long_before"]
    photos = [PhotoResult(photo=name_out, side="external", sha256=hashlib.sha256(outside).hexdigest(), size=[800, 600],
                          plaques=ext, provenance=Provenance(distance_m=1234.5678, flags=flags,
                                                             taken_at="2026:11:02 10:11:12",
                                                             messages=["离村庄 1235 米，请确认是否在本村拍摄"]),
                          quality=Quality(sharpness=12.5, flags=["blurry", "boards_unreadable"],
                                          messages=["照片模糊，请重拍"])),
              PhotoResult(photo=name_in, side="internal", sha256=hashlib.sha256(inside).hexdigest(), size=[800, 600],
                          plaques=[], provenance=Provenance(), quality=Quality(sharpness=300.0))]
    from audit.signs.report import PhotoErrorResult

    return SignageReport(village={"code": code, "name": village}, rules_version=RULES.version, photos=photos,
                         errors=[PhotoErrorResult(photo="坏.jpg", error="不是 JPEG、PNG、WebP 或 HEIC 图片")],
                         summary=inventory_from_photos(photos, RULES))


@pytest.fixture
def users(tmp_path, monkeypatch) -> Accounts:
    return accounts_for_app(tmp_path, monkeypatch)


@pytest.fixture
def every_finding(users) -> dict:
    """The store of the app holding, for the demo village: an older inspection, and a reviewed one with every kind
    of finding and every kind of correction; a round; an overdue village; sign-ins of every outcome."""
    from audit.records.inspections import village_registry_from_file

    registry = village_registry_from_file(state.DEMO, crs=state.DEMO_CRS)
    store = open_store(data_dir=users.data_dir)
    try:
        create_round(store, "2026 年冬季核查", dt.date(2026, 1, 1), dt.date(2030, 12, 31), user=users.admin)
        out, inside = jpeg_bytes(31), jpeg_bytes(32)
        old = submit_inspection(store, every_kind_report(jpeg_bytes(30), inside), [jpeg_bytes(30), inside],
                                user=users.inspector, registry=registry, audited=AUDITED,
                                inspected_at=dt.datetime(2025, 6, 1, 9, 0))
        iid = submit_inspection(store, every_kind_report(out, inside), [out, inside], user=users.inspector,
                                registry=registry, audited=AUDITED.__class__(AUDITED.rules_sha256, None))
        plaques = {(p.plaque.kind, p.plaque.type, tuple(p.plaque.bbox)): p.id
                   for p in inspection_from_store(store, iid, user=SYSTEM).plaques}
        by_kind = {k: v for (k, _, _), v in plaques.items()}
        party = plaques[("official", "party_org", (20.0, 40.0, 80.0, 300.0))]
        review_inspection(store, iid, [
            ConfirmPlaque(party),
            CorrectPlaque(by_kind["allowed"], type="veterans_station"),             # type, kind, name, placement
            CorrectPlaque(by_kind["unauthorised_sign"], kind="honour", text="县级文明村"),
            CorrectPlaque(by_kind["background"], bbox=[430, 150, 780, 250]),
            DeletePlaque(by_kind["unreadable"]),
            AddPlaque(0, "militia", [0, 0, 800, 600], text="石楼村民兵连"),
        ], user=users.inspector, rules=RULES)
        # a second village of 城关街道, inspected long ago and never rectified: overdue in the ledger
        reg = registry.villages
        second = reg[(reg["township"] == "城关街道") & (reg["code"] != VILLAGE[0])].iloc[0]
        submit_inspection(store, every_kind_report(jpeg_bytes(33), jpeg_bytes(34), code=second["code"],
                                                   village=second["name"]),
                          [jpeg_bytes(33), jpeg_bytes(34)], user=users.inspector, registry=registry, audited=AUDITED,
                          inspected_at=dt.datetime(2026, 1, 5, 9, 0))
        for name, password in (("insp", PASSWORD), ("insp", "wrong-password"), ("nobody", "x")):
            try:
                authenticate(store, name, password)
            except Exception:  # the refused attempts are logged, which is what the users page shows
                pass
    finally:
        store.close()
    return {"inspection": iid, "older": old}


# ------------------------------------------------------------------------------------------- page texts
SKIP_FIELDS = {"id", "form_id", "icon", "type", "page_script_hash", "page", "query_string", "url", "columns",
               "mimetype", "json_args", "component_name", "src", "default", "deprecation", "element_id",
               "material_icon", "emoji", "html", "key", "styler", "uuid", "display_values", "format", "arrow_data",
               "data", "frame_id", "file_id", "widget_id", "alt", "color", "background_color", "font_family",
               "spec", "vega_lite_chart"}  # a chart's spec: its titles come from the frame's (checked) headers


def proto_texts(message) -> Iterable[str]:
    """The strings a proto message shows (nested messages walked; ids, icons, URLs and data left out)."""
    for field, value in message.ListFields():
        if field.name in SKIP_FIELDS:
            continue
        if field.type == field.TYPE_MESSAGE:
            for item in (value if field.is_repeated else [value]):
                yield from proto_texts(item)
        elif field.type == field.TYPE_STRING:
            yield from (value if field.is_repeated else [value])


def frame_texts(df: pd.DataFrame, *, placeholder: bool, config: dict | None = None) -> Iterable[str]:
    """A table's headers and cells as the page shows them: a column's header is its configured label when it has
    one; a ticked-box column (an editor's 删除) shows boxes, not words; a missing cell is fine where the table
    shows a placeholder for it, else it reads as None; a True/False cell reads as such."""
    config = config or {}
    for col in df.columns:
        shown = config.get(str(col), {})
        yield str(shown.get("label") or col)
        if shown.get("type_config", {}).get("type") == "checkbox":
            continue
        for v in df[col]:
            if isinstance(v, bool) or type(v).__name__ == "bool_":
                yield str(v)
            elif labels.is_empty(v) and not isinstance(v, str):
                if not placeholder:
                    yield "None"
            else:
                yield str(v)


def page_texts(at) -> list[str]:
    texts = []
    for node in at._tree:
        proto = getattr(node, "proto", None)
        if proto is None:
            continue
        if node.type == "html":  # the page's own style sheet (app.views.chinese_widgets), not text
            continue
        if node.type in ("dataframe", "table", "arrow_table"):
            config = json.loads(proto.columns) if getattr(proto, "columns", "") else {}
            texts += frame_texts(node.value, placeholder=bool(getattr(proto, "placeholder", "")), config=config)
            continue
        if hasattr(proto, "ListFields"):
            texts += [t for t in proto_texts(proto) if t]
    return texts


def assert_readable(at, what: str, paths: list[str]) -> None:
    assert not at.exception, (what, [e.value for e in at.exception])
    bad = offending(page_texts(at), paths)
    assert bad == [], f"{what}: {bad[:12]}"


@pytest.fixture
def fake_engine(monkeypatch):
    from audit.signs import engine as signage

    class FakeEngine:
        detector = None

    def audit(inputs, engine, *, village_code=None, village_name=None, progress=None, **kw):
        return every_kind_report(inputs[0].data, inputs[1].data, name_out=inputs[0].name, name_in=inputs[1].name,
                                 code=village_code, village=village_name)

    monkeypatch.setattr(signage.Engine, "load", classmethod(lambda cls, **kw: FakeEngine()))
    monkeypatch.setattr(signage, "audit_signage", audit)
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def server_paths(users) -> list[str]:
    return [str(users.data_dir), str(Path(state.REPO)), str(RULES.path), tempfile.gettempdir() + "/"]


PAGES = ["app/pages/overview.py", "app/pages/facility_map.py", "app/pages/area.py", "app/pages/export.py",
         "app/pages/data.py", "app/pages/users.py"]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_reads_in_words(page, users, every_finding):
    at = open_page(page, user="admin1")
    assert not errors(at), errors(at)
    assert_readable(at, page, server_paths(users))


def test_the_sign_in_page_reads_in_words(users, monkeypatch):
    monkeypatch.setenv("VILLAGE_AUDIT_DEMO", "1")
    at = open_page(user=None)
    assert_readable(at, "sign-in", server_paths(users))


def test_the_records_page_and_a_record_with_every_finding_read_in_words(users, every_finding):
    at = open_page("app/pages/records.py", user="admin1")
    assert_readable(at, "records", server_paths(users))
    at.selectbox(key="records_open").select(every_finding["inspection"]).run()
    assert not errors(at), errors(at)
    texts = page_texts(at)
    assert any("改牌子类型" in t for t in texts) and any("补录漏检" in t for t in texts)   # the corrections are there
    assert_readable(at, "records: the record opened", server_paths(users))
    at = open_page("app/pages/records.py", user="insp")
    assert_readable(at, "records as the inspector", server_paths(users))


def test_the_inspection_page_with_every_finding_reads_in_words(users, fake_engine):
    at = open_page("app/pages/inspection.py", user="insp")
    at.text_input(key="inspect_search").set_value(VILLAGE[0]).run()
    at.file_uploader(key="inspect_photos").set_value([("门口.jpg", jpeg_bytes(1), "image/jpeg"),
                                                      ("大厅.jpg", jpeg_bytes(2), "image/jpeg")]).run()
    at.radio(key="inspect_side_1_大厅.jpg").set_value("internal").run()
    at.button(key="inspect_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    texts = page_texts(at)
    for word in ("荣誉牌（应集中展陈）", "底色", "必须整改", "建议整改", "待人工确认"):  # every finding is on the page
        assert any(word in t for t in texts), word
    assert_readable(at, "inspection", server_paths(users))
    [b for b in at.button if b.label == "保存到核查记录"][0].click().run()
    assert_readable(at, "inspection saved", server_paths(users))


def test_the_village_details_of_the_map_read_in_words(users):
    from app.views import village_details

    cur = state.Current(state.demo_dataset(), RULES, None, *state.audit_from_upload(state.demo_dataset(), None),
                        None, None)
    villages = cur.audited
    picked = pd.concat([villages[villages["area_status"] == s].head(3) for s in labels.AREA_STATUS_ZH])
    for pos in range(len(picked)):
        table = village_details(picked.iloc[[pos]], cur)
        bad = offending(frame_texts(table, placeholder=False), server_paths(users))
        assert bad == [], bad
        assert not any(re.search(r"\.\d{7,}", str(v)) for v in table["内容"])  # no float's last digits


# ------------------------------------------------------------------------------------------------ exports
def workbook_texts(data: bytes) -> list[str]:
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return [str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_every_area_export_reads_in_words(fmt, users):
    cur = state.Current(state.demo_dataset(), RULES, None, *state.audit_from_upload(state.demo_dataset(), None),
                        None, None)
    data = state.export_bytes(cur.key, state.ALL, fmt, cur)
    if fmt == "xlsx":
        texts = workbook_texts(data)
        assert any("北京时间" in t for t in texts) and not any("UTC" in t for t in texts)
    else:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")
        texts = list(frame.columns) + [v for col in frame for v in frame[col] if v]
    assert offending(texts, server_paths(users)) == []


def test_the_ledger_export_reads_in_words(users, every_finding, tmp_path):
    from audit.records.accounts import people_names

    store = open_store(data_dir=users.data_dir)
    try:
        registry = state.audit_from_upload(state.demo_dataset(), None)[0]
        ledger = ledger_from_store(store, registry, user=users.admin)
        names = people_names(store, ledger["inspector"].dropna(), user=users.admin)
        assert ledger["overdue"].any() and ledger["inspected_in_round"].any()
        path = ledger_to_xlsx(ledger, tmp_path / "ledger.xlsx", user=users.admin, names=names)
        assert not review_log_table(store, every_finding["inspection"], user=SYSTEM).empty
    finally:
        store.close()
    texts = workbook_texts(path.read_bytes())
    assert "城关检查员（insp）" in texts
    assert offending(texts, server_paths(users)) == []


def test_the_word_check_itself_catches_what_it_should():
    """The checker finds each kind of leak (so that a passing page test means something)."""
    assert offending(["结论：needs_rectification", "村 party_org", "None", "面积 nan", "True", "核查人 insp",
                      "数据库 sqlite:///x", "/srv/data/inspections.sqlite"], ["/srv/data"]) == [
        "结论：needs_rectification", "村 party_org", "None", "面积 nan", "True", "数据库 sqlite:///x",
        "/srv/data/inspections.sqlite"]
    assert offending(["demo_county.xlsx", "核查人：城关检查员（insp）", "2026.1"], ["/srv/data"]) == []
