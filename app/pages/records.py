"""核查记录: past plaque inspections from the inspection store (``audit.store``), once one exists. The page
only reads: it never creates the store."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app import state
from audit import settings
from audit._errors import AuditError

HEADERS = {"village_code": "村代码", "village_name": "村名", "township": "乡镇（街道）", "inspector": "核查人",
           "inspected_at": "核查时间", "verdict": "结论", "reasons": "原因", "reviewed_at": "复核时间",
           "reviewed_by": "复核人", "inspection_id": "记录编号"}
VERDICT_ZH = {"compliant": "合规", "needs_rectification": "需整改", "not_audited": "未核查"}


def store_location() -> tuple[str | None, bool]:
    """(where the store is, whether it exists): a database URL from the settings, or the SQLite file."""
    url = settings.db_url()
    if url:
        return url, True
    path = settings.data_dir() / "inspections.sqlite"
    return str(path), Path(path).is_file()


st.title("核查记录")
where, exists = store_location()
if not exists:
    st.info("尚无核查记录。在「牌子核查」页完成并保存的核查将显示在这里。")
    st.caption(f"核查记录库：{where}（尚未建立）")
    st.stop()

try:
    from audit.store import inspections_table, open_store

    store = open_store()
    try:
        table = inspections_table(store)
    finally:
        store.close()
except AuditError as exc:
    state.show_error("核查记录库无法打开", exc)
    st.stop()
st.caption(f"核查记录库：{store.url}")
if table.empty:
    st.info("尚无核查记录。在「牌子核查」页完成并保存的核查将显示在这里。")
    st.stop()
scope = state.township()
if scope != state.ALL:
    table = table[table["township"] == scope]
table = table.assign(verdict=table["verdict"].map(lambda v: VERDICT_ZH.get(v, v)),
                     reasons=table["reasons"].map(lambda r: "；".join(r) if isinstance(r, list) else r))
st.caption(f"范围：{scope} · {len(table)} 条记录")
st.dataframe(table[[c for c in HEADERS if c in table.columns]].rename(columns=HEADERS), hide_index=True)
