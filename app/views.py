"""What the plaque pages draw alike: a signage summary (verdict, reasons, findings) and the annotated photos.
Every code is shown through :mod:`audit.labels`; the library does the work."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from audit.labels import CHECK_ZH, EMPTY, KIND_ZH, SEVERITY_ZH, SIDE_ZH, VERDICT_ZH, label, plaque_type_zh
from audit.rules import Rules
from audit.signs.annotate import annotate
from audit.signs.intake import PhotoError, photo_from_bytes
from audit.signs.report import PhotoResult, Summary

# A verdict is not an error of the app: st.error stays for what went wrong.
VERDICT_ALERT = {"compliant": st.success, "needs_review": st.warning, "needs_rectification": st.warning,
                 "not_audited": st.info}
VERDICT_ICON = {"compliant": ":material/check_circle:", "needs_review": ":material/help:",
                "needs_rectification": ":material/build:", "not_audited": ":material/remove_circle:"}


def unique(lines: Sequence[str]) -> list[str]:
    """The lines once each, in their order."""
    return list(dict.fromkeys(lines))


def summary_view(summary: Summary, rules: Rules, *, basis: str = "", before: Summary | None = None) -> None:
    """The verdict (coloured by what it asks for), what it was judged on (``basis``), its reasons once each, the
    counts and the findings' tables; ``before``: the engine's own summary, named when the inspector's corrections
    changed the verdict."""
    VERDICT_ALERT[summary.verdict](f"核查结论：{VERDICT_ZH[summary.verdict]}", icon=VERDICT_ICON[summary.verdict])
    if basis:
        st.caption(basis)
    if before is not None and before.verdict != summary.verdict:
        st.caption(f"识别结果原为「{VERDICT_ZH[before.verdict]}」，按人工复核后的牌子重新判定为"
                   f"「{VERDICT_ZH[summary.verdict]}」。")
    for reason in unique(summary.reasons):
        st.markdown(f"- {reason}")
    c1, c2, c3 = st.columns(3)
    c1.metric("已有牌子", len(summary.present))
    c2.metric("缺少牌子", len(summary.missing))
    c3.metric("不应悬挂", len(summary.unauthorised))
    if summary.not_checked:
        st.caption("未拍摄、未核查：" + "、".join(plaque_type_zh(t, rules) for t in summary.not_checked))
    if summary.unauthorised:
        st.dataframe(pd.DataFrame({"牌子文字": [u.text or "（未读出文字）" for u in summary.unauthorised],
                                   "类别": [label(KIND_ZH, u.kind) for u in summary.unauthorised],
                                   "照片": [u.photo for u in summary.unauthorised]}), hide_index=True, placeholder=EMPTY)
    if summary.style_violations:
        v = summary.style_violations
        st.dataframe(pd.DataFrame({"牌子": [plaque_type_zh(x.type, rules) for x in v],
                                   "文字": [x.text or "（未读出文字）" for x in v],
                                   "检查项": [label(CHECK_ZH, x.check) for x in v],
                                   "程度": [label(SEVERITY_ZH, x.severity) for x in v],
                                   "说明": [x.detail for x in v], "照片": [x.photo for x in v]}),
                     hide_index=True, placeholder=EMPTY)


def photo_view(data: bytes, result: PhotoResult, rules: Rules, *, number: int, width: int | None = None) -> None:
    """One photo with its plaques' boxes (the corrected ones, when given those) and its caption."""
    caption = f"{number}. {result.photo}（{SIDE_ZH.get(result.side, '')}）"
    try:
        photo = photo_from_bytes(data, result.photo, rules=rules)
    except PhotoError as exc:
        st.error(f"照片「{result.photo}」无法显示：{exc}")
        return
    st.image(annotate(photo.image, result, scale=photo.scale), caption=caption, width=width or "stretch")


def village_details(village: pd.DataFrame, cur) -> pd.DataFrame:  # noqa: ANN001 - app.state.Current
    """One audited village (a one-row frame) as a two-column table for people: every field under its Chinese
    name, codes in words, areas in ㎡ to two decimals, coordinates to six, nothing empty left as None or nan."""
    from audit.area.export import VILLAGE_HEADERS_ZH, audit_rows
    from audit.labels import AREA_STATUS_ZH, BASIS_ZH, EMPTY, number, text, yes_no

    row = audit_rows(village).iloc[0]
    shown = {
        "is_central": lambda v: yes_no(v),
        "village_type": lambda v: cur.type_names.get(v, EMPTY) if isinstance(v, str) else EMPTY,
        "households": lambda v: number(v, digits=0, unit=" 户"),
        "floor_area_m2": lambda v: number(v, digits=2, unit=" ㎡"),
        "required_m2": lambda v: number(v, digits=2, unit=" ㎡"),
        "gap_m2": lambda v: number(v, digits=2, unit=" ㎡"),
        "area_status": lambda v: label(AREA_STATUS_ZH, v),
        "basis": lambda v: label(BASIS_ZH, v),
        "lon": lambda v: EMPTY if v is None or v != v else f"{float(v):.6f}",
        "lat": lambda v: EMPTY if v is None or v != v else f"{float(v):.6f}",
        "excel_row": lambda v: number(v, digits=0),
        "problems": lambda v: "；".join(v) if isinstance(v, list) and v else "无",
    }
    items = {VILLAGE_HEADERS_ZH.get(k, str(k)): shown.get(k, text)(v) for k, v in row.items()}
    return pd.DataFrame({"项目": list(items), "内容": list(items.values())})


# Streamlit's own English on the file uploader ("Upload", "200MB per file • JPG") cannot be set through its API:
# the words are replaced in CSS, per uploader (st-key-<key> classes), with the limit read from the server's config.
UPLOAD_HINTS = {"inspect_photos": "JPG、PNG、WebP、HEIC 照片",
                "registry_upload": "XLSX、XLS、ODS、CSV、GeoJSON、GPKG 或 SHP 压缩包",
                "rules_upload": "TOML 规则文件", "boundary_upload": "GeoJSON、GPKG 或 SHP 压缩包"}


def chinese_widgets() -> None:
    """Chinese for the words of Streamlit's widgets that its API does not let us set (the file uploader's)."""
    limit = st.get_option("server.maxUploadSize")
    rules = ['[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p {font-size: 0}',
             '[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p::after '
             '{content: "选择文件"; font-size: 0.875rem}',
             '[data-testid="stFileUploaderDropzoneInstructions"] span {font-size: 0}',
             '[data-testid="stFileUploaderDropzoneInstructions"] span::after '
             f'{{content: "每个文件不超过 {limit}MB"; font-size: 0.75rem}}']
    rules += [f'.st-key-{key} [data-testid="stFileUploaderDropzoneInstructions"] span::after '
              f'{{content: "{hint}，每个不超过 {limit}MB"}}' for key, hint in UPLOAD_HINTS.items()]
    st.html("<style>" + "\n".join(rules) + "</style>")
