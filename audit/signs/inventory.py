"""The village's plaque inventory over all its photos, and the verdict under the rules' severities."""

from __future__ import annotations

from collections import Counter

from audit.labels import SEVERITY_ZH
from audit.rules import Rules
from audit.signs.report import VERDICT_ZH, PhotoResult, StyleViolation, Summary, UnauthorisedItem


def inventory_from_photos(photos: list[PhotoResult], rules: Rules) -> Summary:
    """The village inventory over all its photos.

    Present: official plaques seen anywhere. Missing: the plaques of a side not seen on that side's photos
    (a side without photos is ``not_checked``, not missing). Duplicates: a type seen more than once in one
    photo (two photos of the same door would otherwise count one plaque twice). Misplaced: an official
    plaque on the other side's photos. Unauthorised: unlisted signs and honours (which belong in a
    collective display). The verdict fails on any must-fix finding of the rules' severities and stays at
    待复核 on a needs-review one (a side not photographed, a board unread or undecided).
    """
    sev = rules.severity
    present: list[str] = []
    seen = {"external": set(), "internal": set()}
    duplicates: set[str] = set()
    misplaced: list[str] = []
    unauthorised: list[UnauthorisedItem] = []
    styles: list[StyleViolation] = []
    unreadable = undecided = 0
    for ph in photos:
        counts = Counter(p.type for p in ph.plaques if p.kind == "official")
        duplicates |= {t for t, n in counts.items() if n > 1}
        for p in ph.plaques:
            if p.kind == "official":
                if p.type not in present:
                    present.append(p.type)
                seen[ph.side].add(p.type)
                if p.authorised is False and p.type not in misplaced:
                    misplaced.append(p.type)
            elif p.kind in ("honour", "unauthorised_sign"):
                unauthorised.append(UnauthorisedItem(text=p.text, kind=p.kind, photo=ph.photo))
            elif p.kind == "unreadable":
                unreadable += 1
            elif p.kind == "undecided":
                undecided += 1
            for check, result in p.style.items():
                if result["status"] == "fail":
                    styles.append(StyleViolation(type=p.type, text=p.text, check=check, severity=result["severity"],
                                                 detail=result["detail"], photo=ph.photo))
    sides = {ph.side for ph in photos}
    missing, not_checked = [], []
    for plaque in rules.plaques:
        if plaque.placement not in sides:
            not_checked.append(plaque.id)
        elif plaque.id not in seen[plaque.placement]:
            missing.append(plaque.id)

    names = {p.id: p.name_zh for p in rules.plaques}
    side_zh = {"external": "外部", "internal": "内部"}
    reasons = []
    levels = []  # the severity of each finding made
    if missing:
        reasons.append("缺少：" + "、".join(names[m] for m in missing))
        levels.append(sev["missing"])
    if duplicates:
        reasons.append("重复悬挂：" + "、".join(names[d] for d in sorted(duplicates)))
        levels.append(sev["duplicate"])
    if misplaced:
        reasons.append("错挂（内外位置不符）：" + "、".join(names[m] for m in misplaced))
        levels.append(sev["misplaced"])
    signs = [u.text for u in unauthorised if u.kind == "unauthorised_sign"]
    honours = [u.text for u in unauthorised if u.kind == "honour"]
    if signs:
        reasons.append("未列入清单的牌子，应摘除：" + "、".join(signs))
        levels.append(sev["unauthorised"])
    if honours:
        reasons.append("荣誉类牌子应集中展陈：" + "、".join(honours))
        levels.append(sev["honour"])
    for v in styles:
        reasons.append(f"式样（{SEVERITY_ZH[v.severity]}）：{names.get(v.type, v.text)} {v.detail}")
        levels.append(v.severity)
    if photos:
        for side in ("external", "internal"):
            unseen = [names[p] for p in not_checked if rules.plaque(p).placement == side]
            if unseen:
                reasons.append(f"未拍摄{side_zh[side]}照片，未核查：" + "、".join(unseen))
                levels.append(sev["side_not_photographed"])
    if unreadable:
        reasons.append(f"{unreadable} 块牌子未能读出文字，请人工复核")
        levels.append("needs_review")
    flagged = [ph for ph in photos if ph.quality is not None and ph.quality.flags]
    retake = [ph.photo for ph in flagged]
    unclear = [ph.photo for ph in flagged if set(ph.quality.flags) - {"boards_cut"}]
    cut = [ph.photo for ph in flagged if "boards_cut" in ph.quality.flags]
    if unclear:
        reasons.append("照片不清晰，结果可能不全，请重拍：" + "、".join(unclear))
    if cut:
        reasons.append("有牌子被照片边缘截断，请把整块牌子拍进画面后重拍：" + "、".join(cut))
    if undecided:
        reasons.append(f"{undecided} 块牌子需人工确认（接近清单内牌子、写有其他村名或读数存疑），确认前不能判定符合规范")
        levels.append("needs_review")
    if not photos:
        verdict = "not_audited"
    elif "must_fix" in levels:
        verdict = "needs_rectification"
    else:
        verdict = "needs_review" if "needs_review" in levels else "compliant"
    verdict_zh = VERDICT_ZH[verdict]
    return Summary(present=present, missing=missing, not_checked=not_checked, duplicates=sorted(duplicates),
                   misplaced=misplaced, unauthorised=unauthorised, style_violations=styles, unreadable=unreadable,
                   undecided=undecided,
                   retake=retake, verdict=verdict, verdict_zh=verdict_zh, reasons=reasons)
