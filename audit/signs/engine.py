"""The signage audit engine: from an inspector's photos of one village's service centre to its plaque
inventory — present, missing, duplicated, misplaced, unauthorised, style violations and a verdict.

The report's models are :mod:`audit.signs.report`, the inventory and verdict :mod:`audit.signs.inventory`.
Per photo: intake (``audit.signs.intake``) → YOLO boxes (``audit.signs.detect``) → OCR on each box's crop plus text
lines found over the regions in doubt as a second source of plaques (``audit.signs.ocr``) → the plaque's type from
its text (``audit.signs.names``), fused with the YOLO class → style checks (``audit.signs.style``). Then the
inventory over all photos.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from audit.errors import AuditError
from audit.rules import PlaqueRule, Rules, load_rules
from audit.signs import spotting
from audit.signs.detect import covered, overlap
from audit.signs.intake import Photo, distance_m, photo_from_bytes, sharpness
from audit.signs.inventory import inventory_from_photos
from audit.signs.names import FRAGMENT, OTHER, OTHER_KINDS, Gazetteer, TextMatch, type_from_text
from audit.signs.ocr import STRIP_ASPECT, Reader, TextLine, board_groups, group_texts
from audit.signs.report import (  # noqa: F401 - the report's models are the engine's output, imported from here too
    SCHEMA_PATH,
    VERDICT_ZH,
    PhotoErrorResult,
    PhotoResult,
    PlaqueResult,
    Provenance,
    Quality,
    Side,
    SignageReport,
    StyleViolation,
    Summary,
    UnauthorisedItem,
    report_schema,
    report_to_json,
)
from audit.signs.restore import MIN_PEAK_DEPTH, SHARP_PHOTO_PEAK_DEPTH, Motion, motion_of, unsmeared_crop
from audit.signs.style import boards_light, box_cut_by_photo, illuminant_of, style_checks

# Which detector classes a plaque type may come with (visual classes; type classes match themselves).
_IDENTITY_CLASSES = {"identity"}
_BOARD_CLASSES = {"strip", "plaque"}
_HONOUR_CLASSES = {"honour"}
# The text pass detects lines on each region in doubt reduced so that its smallest box in doubt has this short side
# (pixels; never enlarged): text detection's cost follows the pixels it looks at, and large characters are found as
# well or better on the reduced copy (the lines are read on the working image itself). Measured with
# bench/signage_eval.py --n 40 --modes detector, against the regions at full size: seed 20000000 exact 26 -> 27/40,
# readable 93/120 both, unlisted 28/66 both, undecided 13 -> 12; seed 30000000 exact 18 -> 20/40, readable
# 71 -> 72/107, unlisted 24/57 both; 48 px gave the same on the first set but lost an unlisted sign on the second,
# 32 px lost boards. (RapidOCR 1.4 ignores its own det_limit_side_len with limit type "max": a size asked of it
# changed nothing; and the whole photo reduced to 640 px lost boards, readable 92 -> 81 of 120.)
REGION_TEXT_PX = 64.0
# Name score (names.py) at which a crop's reading of an official plaque settles its box without the whole-photo
# lines (a misread neighbour strip or 村民议事会 read as 村民委员会 score lower).
SETTLED_OFFICIAL = 95
# On a tall box (a strip), a reading's characters fill at least this share of the box's width: a strip's column
# fills 0.6-0.8 of it; a box over two strips side by side, half that.
COLUMN_FILL = 0.45
# On a box no taller than a 60 × 40 plaque, a one-line reading of n characters (each about as tall as wide) that
# names no plaque gets a second look when the box is more than this many times as tall as a character (w / n): it
# may hold more lines than recognition alone reads (前进村 over 民兵连 read 前进过, a "slogan", at 0.91).
ROWS_OVER_LINE = 2.0
# Detector confidence of the boxes the engine reads as boards (the detector's own default), and of the weaker
# boxes that only say "a board may be here": one of these outside the read boxes sends its region to the text pass
# (the safety net for boards the detector misses), as does a box its crop did not settle. A board with no box at all,
# even a weak one, far from every box in doubt, is no longer looked for (5 of 200 visible boards of the 40 held-out
# scenes had none; the inventories there stayed the same or better, issue 17's notes).
DETECT_CONF = 0.25
WEAK_BOX_CONF = 0.05
# A weak box is "outside the read ones" unless more than this share of its own area lies in one kept box (seed
# 290000037 at 4000 px: an identity sign's only box, weak, shared 0.58 of a slogan banner's box below it, overlapping
# its lower half: counted as covered by the smaller box's share, the sign was never read).
WEAK_BOX_COVERED = 0.7
# The text pass looks only at the regions in doubt: each box not settled and each weak box, grown by this
# share of its width and height on every side (neighbouring lines, a board the box cut short), merged where they meet.
REGION_MARGIN = 0.5
# A facade's plaques hang side by side at one height: the text pass also sweeps each row of board boxes (strips and
# plaques whose heights overlap by half) across the photo, grown by ROW_MARGIN of the row's height above and below,
# where a board fits between the row's boxes or beyond them (a stretch at least ROW_GAP of the narrowest box wide),
# so that a board of the row the detector missed without even a weak box is still read (the independent renderer
# of bench/signage_plain.py: two of 40 photos had official plaques missed so, beside boxes that settled).
ROW_MARGIN = 0.5
ROW_GAP = 0.8
# A row's stretches are looked at reduced so that the row's smallest box has this short side: three quarters of the
# regions' REGION_TEXT_PX, as a stretch is most often bare wall. A missed 60 × 40 plate may be shorter than the row's
# strips are wide (seed 210000026: a 45-px two-line plate beside a 54-px strip); at 32 px its 9-px characters
# shrank to 5 px and went unread, at 48 px they stay readable (7-8 px). Measured: the 12-MP photos' text pass 0.30
# -> 0.37 s (bench/speed.py --no-batch, median), 2000-px photos within noise.
ROW_TEXT_PX = 48.0
# A sharp photo whose detector boxes number at most this and none of which reads a name (even in doubt) is read whole,
# as a photo without a box is (a blurred one, a retake, is not: its text pass would cost and find nothing): a close-up of
# one board fills the frame, and the detector (trained on facades) boxes a piece of a character, or nothing (seed
# 33000024 at 8000 px, a 60 × 40 plate cropped to 1841 × 1046: one box of 112 × 63 px, the regions around it missed
# both lines).
CLOSE_UP_BOXES = 2
# Two detector boxes of one reading that share more than this part of the narrower one's width and of the lower
# one's height are one board (a 12-MP scene of bench/signage_eval.py --long-side 4000 had two boxes shifted over
# one strip, sharing 0.63 of the width: a false duplicate); two real boards of one body hang apart, their boxes
# bleeding into each other by a tenth or two at most.
BOARDS_NEVER_SHARE = 0.4
# Two boxes that read the same part of a name (部委员会 twice, or 经济合作社 without its village) and share more than
# this of the smaller box read the same characters: one board (seed 60000000 photo 26: a box straddling two 46 × 34 px
# plates, sharing 0.30 with one of them, read that plate's end; seed 130000000 photo 10: a box over the gap between
# two stacked 60 × 40 plates, sharing 0.215 with the upper one, read its second line). Detector boxes that fit their
# boards (IoU > 0.6) of two separate boards share at most 0.14 (seeds 20000000 and 130000000, 80 photos: 7 such
# pairs, the others 0.06 or less). Whole names read twice on boxes sharing this much stay two boards unless the
# boxes are one board by their layout (`_same_board`): two strips of one body can hang edge to edge.
PARTIAL_BOARD_SHARE = 0.18
# An official plaque whose box's short side (working-image pixels) is under this has its style checked on the
# photo's detail image when the photo is larger (a strip's text line is ~0.7 of its width, a 60 × 40 plaque's
# ~0.3 of its height: under this, characters fall below the ~40 px the typeface is told at).
DETAIL_BOARD_PX = 140
# A detector box whose short side (working-image pixels) is under this is read on the photo's detail image when
# the photo is larger: the recogniser reads lines 48 px high, and a strip 30 px wide or a 60 × 40 plate 35 px wide
# on the working image (a 12-MP photo's boards a few metres off) holds fewer pixels than it reads.
READ_DETAIL_PX = 48
SECOND_LOOKS = 4  # boards per photo given a second, enhanced reading (each costs tens of milliseconds)
# Recogniser score below which a reading that names no official plaque does not settle its box and gets a second
# look (bench/signage_eval.py: on 40 held-out scenes 7 of 9 official plaques misread as signs scored under it and 33
# of 36 real signs over it, each board scored by the best of its readings).
SURE_SIGN_READING = 0.9
# Score of the reading chosen for a board (its own, not the best of the board's other readings; a joined reading
# scores as its characters) below which a reading naming no official plaque is not reported as an unauthorised sign
# but left to the inspector. On the scenes of bench/signage_eval.py (seeds 20, 30 and 40 million, 40 each) the
# official plaques misread as another body scored 0.15-0.72 (7 boards), the real signs read under 0.9 scored
# 0.15-0.89 (8 boards: 0.81, 0.83, 0.87 and 0.89 reported from 0.8, not from 0.9).
SIGN_FINDING_READING = 0.8
# A board whose box comes this close to the photo's edge (a share of the photo's long side) is cut by the frame
# when its name was read only in part: the detector's boxes are clipped to the image, and a board half out of the
# frame ends within a pixel or two of it (seed 310000000: photos 5, 17 and 38, boxes 0–2 px off the edge).
FRAME_EDGE = 0.005


# ------------------------------------------------------------------------------------------- the engine
@dataclass
class Engine:
    """Models loaded once: the YOLO detector (optional: without it, OCR alone finds plaques) and the reader."""

    rules: Rules
    reader: Reader
    detector: object | None = None
    ocr_full_photo: bool = True
    region_text_px: float = REGION_TEXT_PX
    sweep_rows: bool = True
    restore_motion: bool = True
    spot_names: bool = True  # boards in doubt checked against the village's official names (audit.signs.spotting)
    zoom_small: bool = True  # small boards looked at again enlarged (audit.signs.detect.ZOOM_BELOW_PX)
    timings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def load(cls, *, rules: Rules | None = None, model: str | Path | None = None,
             use_detector: bool = True) -> Engine:
        """Load the reader and the detector (``models/plaques.onnx``, or ``model``); ``use_detector=False`` is the
        explicit OCR-only mode. A missing detector is an error, never a silent fallback."""
        import cv2

        from audit import settings
        from audit.signs.detect import Detector, default_onnx_path

        cv2.setNumThreads(settings.threads())  # onnxruntime sessions get the same explicit count
        path = Path(model) if model else default_onnx_path()
        if use_detector and not path.exists():
            # Without the detector the engine finds far fewer boards: never fall back to it silently.
            raise AuditError(f"找不到牌子检测模型：{path}（仅用文字识别核查须明确指定，如命令行 --no-detector）")
        detector = Detector(path) if use_detector else None
        return cls(rules=rules or load_rules(), reader=Reader(), detector=detector)


def _inside(line: TextLine, box: tuple[float, float, float, float], margin: float = 0.15) -> bool:
    x1, y1, x2, y2 = box
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    cx, cy = (line.box[0] + line.box[2]) / 2, (line.box[1] + line.box[3]) / 2
    return x1 - mx <= cx <= x2 + mx and y1 - my <= cy <= y2 + my


def _best_match(readings: Iterable[tuple[str, float]], rules: Rules, village: str | None, side: str,
                gazetteer: Gazetteer | None = None) -> tuple[TextMatch | None, float]:
    """The most telling of ``(text, recogniser score)`` readings: an honour, else an official match with the best
    score, else an undecided one (close to an official plaque) unless it is read under :data:`SURE_SIGN_READING`
    and a longer reading at or over it names another body, else the longest reading that names a body
    (allowed or unauthorised), else the longest one (background) — unless another reading is a fragment of a
    board (the village's name and no body: unreadable), which is then chosen, as it is when it is all that was read;
    among equals the better read, then the first. With it, the recogniser score of that reading: how sure the
    board's text is is the chosen reading's own score, not the best of other readings (a garbled view read at 0.91
    made a crop's 0.84 reading 前进过 a sure slogan, with no second look at 前进村民兵连)."""
    matches = [(type_from_text(t, rules, village=village, side=side, gazetteer=gazetteer), s) for t, s in readings if t]
    # a reading that is a fragment of a board (a village's name, 燕子容窝 of a strip cut by the frame) keeps the board
    # from being a slogan on another of its readings (窝燕子容, the same characters out of order): seed 330000018
    fragments = [(m, s) for m, s in matches if m.kind == "unreadable" and len(m.text) >= 2]  # (one character: none)
    matches = [(m, s) for m, s in matches if m.kind != "unreadable"]
    # (read alone, as 响水 on a plate half out of the frame, it shows what was read)
    if fragments and all(m.kind == "background" for m, _ in matches):
        return max(fragments, key=lambda ms: (len(ms[0].text), ms[1]))
    if not matches:
        return None, 0.0

    def best(kinds: tuple[str, ...], key) -> tuple[TextMatch, float] | None:  # noqa: ANN001
        pool = [(m, s) for m, s in matches if m.kind in kinds]
        return max(pool, key=lambda ms: (key(ms[0]), ms[1])) if pool else None

    # an honour plaque's issuer line (中共XX县委员会) must not make it a party plaque
    undecided = best(("undecided",), lambda m: (m.score, len(m.text)))
    sign = best(("allowed", "unauthorised_sign"), lambda m: len(m.text))
    if undecided is not None and sign is not None and undecided[1] < SURE_SIGN_READING <= sign[1] \
            and len(sign[0].text) > len(undecided[0].text):
        # a garbled fragment near an official name (买品会 at 0.23, from the crop) does not outweigh the board's whole
        # name read clearly as another body (五里墩村老年人体育协会 at 1.0, from its lines): seed 310000010
        undecided = None
    return (best(("honour",), lambda m: len(m.text))
            or best(("official",), lambda m: (m.score, len(m.text)))
            or undecided
            or best(("allowed", "unauthorised_sign", "background"),
                    lambda m: (m.kind != "background", len(m.text))))  # a reading naming a body first


def _identity_from_partial(texts: list[str], rules: Rules) -> TextMatch | None:
    """On a board the detector calls an identity sign, part of its name is enough to tell which of the two it
    is (新时… → 新时代文明实践站) — unless another name of the rules holds that part too (中心 is also 综治中心's,
    服务中心 the rules' other body): the board is then ``undecided``, closest to the identity sign, neither present
    nor another body's sign (a poster's 中心 was a false 党群服务中心 on a held-out scene of seed 60000000)."""
    from rapidfuzz import fuzz
    from rapidfuzz.distance import LCSseq

    from audit.signs.names import normalise_text, simplified

    best: tuple[float, str, str] | None = None
    for text in texts:
        t = simplified(normalise_text(text))
        if len(t) < 2:
            continue
        for plaque in rules.plaques:
            if not plaque.identity_sign:
                continue
            for pattern in plaque.names_for(""):
                score = fuzz.partial_ratio(t, pattern)
                # two characters of the name at least: partial_ratio gives 新风 (a slogan's 新风尚) 67 against
                # 新时代文明实践站 for its 新 alone (seed 320000006: a false civilisation sign)
                if score >= 60 and LCSseq.similarity(t, pattern) >= 2 and (best is None or score > best[0]):
                    best = (score, plaque.id, t)
    if best is None:
        return None
    others = [n for p in rules.plaques if not p.identity_sign for n in p.names_for("")]
    if any(best[2] in other for other in others + list(rules.names.other_bodies)):
        name = rules.plaque(best[1]).name_zh
        return TextMatch(OTHER, "undecided", 60.0, best[2], False,
                         f"只读出「{best[2]}」，其他名称也有，可能是「{name}」", best[1], partial=True)
    return TextMatch(best[1], "official", 75.0, best[2], False,
                     f"只读出标识的一部分「{best[2]}」，应为「{rules.plaque(best[1]).name_zh}」", partial=True)


def _expected_classes(match: TextMatch, rules: Rules) -> set[str]:
    if match.kind == "official":
        plaque = rules.plaque(match.type)
        return _IDENTITY_CLASSES | {plaque.id} if plaque.identity_sign else _BOARD_CLASSES | {plaque.id}
    if match.kind == "honour":
        return _HONOUR_CLASSES | _BOARD_CLASSES | {OTHER}
    return _BOARD_CLASSES | _HONOUR_CLASSES | _IDENTITY_CLASSES | {OTHER}


def _names_something(match: TextMatch | None) -> bool:
    """A reading that names a body, a plaque or an honour, even undecided: text read, not a garble or a slogan."""
    return match is not None and match.kind not in ("background", "unreadable")


def _names_a_mechanism(match: TextMatch, read_score: float, rules: Rules) -> bool:
    """A confident reading of an unauthorised sign's whole name (…协会, …工作站)."""
    return (match.kind == "unauthorised_sign" and read_score >= 0.8
            and any(m in match.text for m in rules.unauthorised_signs.markers))


def _shares(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float]:
    """The share of the narrower box's width and of the lower box's height that two boxes have in common."""
    x_share = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) / max(min(a[2] - a[0], b[2] - b[0]), 1e-6)
    y_share = max(0.0, min(a[3], b[3]) - max(a[1], b[1])) / max(min(a[3] - a[1], b[3] - b[1]), 1e-6)
    return x_share, y_share


def _same_board(a: _Candidate, b: _Candidate) -> bool:
    """Whether two candidates are one physical board: mostly overlapping; a text line read outside a box that
    cut the board short (an identity signboard boxed without its edge) next to it; or two boxes split along
    one board (the upper and lower half of a strip, the left and right of a wide plaque)."""
    if overlap(a.box, b.box) > 0.6:
        return True
    (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) = a.box, b.box
    w, h = max(ax2 - ax1, bx2 - bx1), max(ay2 - ay1, by2 - by1)
    x_share, y_share = _shares(a.box, b.box)
    gap_x = max(0.0, max(ax1, bx1) - min(ax2, bx2))
    gap_y = max(0.0, max(ay1, by1) - min(ay2, by2))
    if "ocr" in (a.source, b.source):
        return gap_x <= 0.3 * w and gap_y <= 0.3 * h and max(x_share, y_share) > 0.5
    if x_share > BOARDS_NEVER_SHARE and y_share > BOARDS_NEVER_SHARE:
        return True  # two boxes shifted over one strip: boards hang side by side, they do not overlap
    tall = h > 1.5 * w
    return (x_share > 0.7 and gap_y <= 0.15 * h) if tall else (y_share > 0.7 and gap_x <= 0.1 * w and not tall)


def _side_by_side_strips(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Two tall boxes at one height (each spanning most of the other's rows) touching or overlapping across x."""
    (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) = a, b
    aw, ah, bw, bh = ax2 - ax1, ay2 - ay1, bx2 - bx1, by2 - by1
    if ah <= STRIP_ASPECT * aw or bh <= STRIP_ASPECT * bw:
        return False
    rows = max(0.0, min(ay2, by2) - max(ay1, by1)) / max(min(ah, bh), 1e-6)
    return rows > 0.7 and max(ax1, bx1) - min(ax2, bx2) <= 0.25 * min(aw, bw)


def _along_one_board(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Two boxes over one board, one after the other along it: in one column (tall boxes, most of the narrower one's
    width in common) or one row (wide boxes), and sharing more than :data:`BOARDS_NEVER_SHARE` of the shorter one's
    length as well — boards hang side by side or one above the other, they do not overlap. (A box straddling two
    strips side by side shares their rows, not their column.)"""
    x_share, y_share = _shares(a, b)
    tall = a[3] - a[1] > a[2] - a[0] and b[3] - b[1] > b[2] - b[0]
    along, across = (y_share, x_share) if tall else (x_share, y_share)
    return across > 0.8 and along > BOARDS_NEVER_SHARE


def _one_column(reader: Reader, image: np.ndarray, a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Whether two tall boxes side by side are one strip boxed twice, each over part of its width (seed 170000000
    photo 30: boxes at x 901–954 and 951–982 on a strip at 926–982, both reading its name): the text detector finds
    on the two boxes' span a single column of text, and it crosses from one box into the other; two strips hung edge
    to edge hold a column each. (The ink alone cannot tell: on that photo the stone wall's joints outweigh the red
    text of the wooden strip.)"""
    x1, y1 = max(0, int(min(a[0], b[0]))), max(0, int(min(a[1], b[1])))
    crop = image[y1:int(max(a[3], b[3])), x1:int(max(a[2], b[2]))]
    columns = [ln for ln in reader.read_board(crop) if ln.vertical and len(ln.text) >= 2]
    return len(columns) == 1 and columns[0].box[0] + x1 < min(a[2], b[2]) and columns[0].box[2] + x1 > max(a[0], b[0])


def _shared(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Whether two boxes share more than :data:`BOARDS_NEVER_SHARE` of the narrower one's width and of the lower
    one's height: boards hang side by side and do not overlap, so two such boxes are not two boards' own boxes."""
    return min(_shares(a, b)) > BOARDS_NEVER_SHARE


def _straddling(candidates: list[_Candidate]) -> list[_Candidate]:
    """The candidates less the detector boxes over the edge of two boards that read the plaque another box reads: a box
    lying largely over a board that reads another plaque is not that plaque's own box (seed 250000015: a box over
    the party organisation's strip and half of the villagers' committee's, reading the latter, beside the
    committee's own box: a false duplicate). The other box is kept, unless it straddles too."""
    official = [c for c in candidates if c.source != "ocr" and c.match is not None and c.match.kind == "official"]
    over_two = {id(c) for c in official if any(e.match.type != c.match.type and _shared(c.box, e.box) for e in official)}
    drop = {id(c) for c in official if id(c) in over_two and any(
        d.match.type == c.match.type and id(d) not in over_two and overlap(c.box, d.box) > PARTIAL_BOARD_SHARE
        for d in official)}
    return [c for c in candidates if id(c) not in drop]


def _one_per_board(candidates: list[_Candidate],
                   one_column: Callable[[tuple[float, ...], tuple[float, ...]], bool] | None = None) -> list[_Candidate]:
    """Drop a candidate that lies on the same board as a better one with the same reading (two detector
    boxes on one strip, a box and a text line of the same board read outside it, or a box split by its lines
    and another box over one of them; given ``one_column`` (:func:`_one_column` on the photo), two tall boxes side
    by side over one column of text), or mostly inside a better one's box reading part of its text (中心 on a box
    over the end of 党群服务中心), or a box straddling two boards whose plaque another box reads
    (:func:`_straddling`). Two separate boards of one body stay two: a real duplicate."""
    def rank(c: _Candidate) -> tuple:
        return (c.match is not None, c.source != "ocr", c.match.score if c.match else 0.0, c.det_conf, c.read_score)

    def seen_in(k: _Candidate, c: _Candidate) -> bool:  # c is kept board k seen again
        shared = overlap(k.box, c.box)
        if c.match is None or k.match is None:
            return shared > 0.6
        if shared > 0.6 and (c.match.kind == "unreadable" or len(c.match.text) >= 2 and c.match.text in k.match.text):
            return True
        if k.match.kind == "official" and c.match.kind in ("undecided", "unreadable") and _along_one_board(k.box, c.box):
            return True  # a piece of board k read on a second box over it (a strip's close-up boxed in two halves)
        if (k.match.type, k.match.kind) != (c.match.type, c.match.kind):
            return False
        if c.match.partial and c.match.text == k.match.text and shared > PARTIAL_BOARD_SHARE:
            return True
        if _same_board(k, c) and (shared > 0.6 or c.match.kind == "official" or c.match.text == k.match.text):
            return True
        return one_column is not None and c.match.text == k.match.text and _side_by_side_strips(k.box, c.box) \
            and one_column(k.box, c.box)

    kept: list[_Candidate] = []
    for c in sorted(_straddling(candidates), key=rank, reverse=True):
        if not any(seen_in(k, c) for k in kept):
            kept.append(c)
    return kept


@dataclass
class _Candidate:
    box: tuple[float, float, float, float]
    source: str
    det_class: str | None
    det_conf: float
    match: TextMatch | None
    read_score: float


def _pixel_box(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    return max(0, x1), max(0, y1), x2, y2


def _crop(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    x1, y1, x2, y2 = _pixel_box(box)
    return image[y1:y2, x1:x2]


def _detail_crop(detail, box: tuple[float, float, float, float]) -> tuple[np.ndarray, float] | None:  # noqa: ANN001
    """A working-image box's pixels on the photo's detail image (``detail()``: :meth:`Photo.detail`) and the
    detail image's pixels per working-image pixel; None when the photo has no detail image."""
    got = detail()
    if got is None:
        return None
    big, f = got
    return _crop(big, tuple(v * f for v in box)), f


def _board_crop(image: np.ndarray, box: tuple[float, float, float, float], detail=None) -> np.ndarray:  # noqa: ANN001
    """The pixels a detector box is read on: the working image's, or for a box under :data:`READ_DETAIL_PX` the
    photo's detail image's (``detail()``: :meth:`Photo.detail`), when it has one."""
    if detail is not None and min(box[2] - box[0], box[3] - box[1]) < READ_DETAIL_PX:
        on_detail = _detail_crop(detail, box)
        if on_detail is not None:
            return on_detail[0]
    return _crop(image, box)


def _settled(match: TextMatch | None, read_score: float, box: tuple[float, float, float, float]) -> bool:
    """A box whose own crop gave a reading that needs nothing more: an honour, an official plaque read with a
    high score, or a clear reading of anything else (a sign, a shop's sign, a slogan) — and, on a tall box,
    a reading long enough for one column filling it (a box over two strips side by side reads one of them
    well: its characters would be half as wide as the box; the whole-photo pass splits it)."""
    if match is None:
        return False
    w, h = box[2] - box[0], box[3] - box[1]
    if h > STRIP_ASPECT * w and h / max(len(match.text), 1) < COLUMN_FILL * w:
        return False
    if read_score < SURE_SIGN_READING:  # a doubtful recognition (a misread 村民议事会 can look official)
        return False
    return match.kind in ("honour", "unauthorised_sign", "background", "allowed") or (
        match.kind == "official" and match.score >= SETTLED_OFFICIAL)


def _more_lines(match: TextMatch, box: tuple[float, float, float, float]) -> bool:
    """A one-line reading on a box no taller than a plaque that is more than :data:`ROWS_OVER_LINE` times as tall
    as the reading's characters (the box's width over their number): the box may hold more lines."""
    w, h = box[2] - box[0], box[3] - box[1]
    return h <= STRIP_ASPECT * w and h > ROWS_OVER_LINE * w / max(len(match.text), 1)


def _rows(boxes: list[tuple[float, float, float, float]], shape: tuple[int, ...],
          seen: list[tuple[float, float, float, float]] | None = None,
          ) -> list[tuple[tuple[int, int, int, int], float]]:
    """Where a board of a row of ``boxes`` may hang unboxed: each row (boxes whose heights overlap by half the shorter
    one's) is a band grown by :data:`ROW_MARGIN` of its height above and below, and of that band the stretches
    between its boxes and the photo's edges at least :data:`ROW_GAP` of the row's narrowest box wide (a board fits
    there), each with a quarter of that width of its neighbours on either side; with each stretch, the short side
    of the row's smallest box (the stretch is looked at so that it measures :data:`ROW_TEXT_PX`). With ``seen``
    (boxes of readings that name something, :func:`_names_something`), only bands holding the middle of one of them
    are swept: beside boards none of which could be read (a blurred or distant facade), a pass at a smaller scale
    than the regions in doubt reads no more (one such row of the six 12-MP photos of bench/speed.py cost 0.33 s and
    read nothing)."""
    h, w = shape[:2]
    rows: list[list[tuple[float, float, float, float]]] = []
    for box in sorted(boxes, key=lambda b: (b[1] + b[3]) / 2):
        row = rows[-1] if rows else None
        if row is not None:
            top, bottom = min(b[1] for b in row), max(b[3] for b in row)
            if min(bottom, box[3]) - max(top, box[1]) >= 0.5 * min(bottom - top, box[3] - box[1]):
                row.append(box)
                continue
        rows.append([box])
    out = []
    for row in rows:
        top, bottom = min(b[1] for b in row), max(b[3] for b in row)
        m = (bottom - top) * ROW_MARGIN
        y1, y2 = max(0, int(top - m)), min(h, int(bottom + m) + 1)
        if seen is not None and not any(y1 <= (b[1] + b[3]) / 2 <= y2 for b in seen):
            continue
        narrowest = min(b[2] - b[0] for b in row)
        side = min(min(b[2] - b[0], b[3] - b[1]) for b in row)
        edge, pad = 0.0, 0.25 * narrowest
        for x1, _, x2, _ in sorted(row) + [(float(w), 0.0, float(w), 0.0)]:
            if x1 - edge >= ROW_GAP * narrowest:
                out.append(((max(0, int(edge - pad)), y1, min(w, int(x1 + pad) + 1), y2), side))
            edge = max(edge, x2)
    return out


def _regions(boxes: list[tuple[float, float, float, float]], shape: tuple[int, ...]) -> list[tuple[int, int, int, int]]:
    """Boxes grown by :data:`REGION_MARGIN`, clipped to the image and merged where they overlap or touch."""
    h, w = shape[:2]
    out = []
    for x1, y1, x2, y2 in boxes:
        mx, my = (x2 - x1) * REGION_MARGIN, (y2 - y1) * REGION_MARGIN
        out.append([max(0, int(x1 - mx)), max(0, int(y1 - my)), min(w, int(x2 + mx) + 1), min(h, int(y2 + my) + 1)])
    merged = True
    while merged:
        merged = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                if a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]:
                    out[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del out[j]
                    merged = True
                    break
            if merged:
                break
    return [tuple(r) for r in out if r[2] > r[0] and r[3] > r[1]]


def region_scale(boxes: list[tuple[float, float, float, float]], region: tuple[int, int, int, int],
                 text_px: float) -> float:
    """How much the text pass reduces a region: so that the smallest of ``boxes`` centred in it has a short side of
    ``text_px`` pixels (:data:`REGION_TEXT_PX`), never enlarged; 1 with ``text_px`` 0 or no box in it."""
    rx1, ry1, rx2, ry2 = region
    sides = [min(b[2] - b[0], b[3] - b[1]) for b in boxes
             if rx1 <= (b[0] + b[2]) / 2 <= rx2 and ry1 <= (b[1] + b[3]) / 2 <= ry2]
    if not text_px or not sides:
        return 1.0
    return float(min(1.0, text_px / max(min(sides), 1.0)))


def usual_boards(rules: Rules, side: str) -> int:
    """How many official plaques a photo of this side usually holds: those the rules hang there."""
    return len(rules.plaques_at(side))


def _candidates(engine: Engine, image: np.ndarray, side: str, village: str | None,
                timings: dict[str, float], gazetteer: Gazetteer | None = None,
                smear_depth: float | None = None, detail=None, sharp: bool = True,  # noqa: ANN001
                ) -> tuple[list[_Candidate], Motion | None]:
    """Boards of one photo, and the smear undone to read them (None: read as taken). The detector's boxes are read
    first, all crops in one batched recognition; with ``smear_depth``, when some box's crop did not settle and the
    photo is smeared along a line (:func:`audit.signs.restore.motion_of`, a peak that deep), those boxes are read
    again on the photo with the smear undone (a region around each, :func:`audit.signs.restore.unsmeared_crop`),
    each keeping the reading that says more (:func:`_reading_worth`); ``detail()`` (:meth:`Photo.detail`) gives the
    pixels small boxes are read on (:data:`READ_DETAIL_PX`). The text pass then looks where
    the boxes leave doubt: over the regions of the boxes their crops did not settle and of the detector's weak boxes
    outside the read ones (:func:`_regions`), along each row of strips and plaques across the photo (:func:`_rows`:
    a board of the row the detector missed), or over the whole photo when there is no detector, no box, or on a
    ``sharp`` photo a few boxes (:data:`CLOSE_UP_BOXES`) none of which names anything; lines on the settled boxes are
    not read again."""
    import time

    rules = engine.rules
    t0 = time.perf_counter()
    # One detector pass down to the weak boxes (the kept boxes are the same as at DETECT_CONF: a weaker box never
    # suppresses a stronger one); the weak ones only count where no kept box covers them.
    found = engine.detector.detect(image, conf=WEAK_BOX_CONF, zoom=engine.zoom_small) \
        if engine.detector is not None else []
    dets = sorted((d for d in found if d.conf >= DETECT_CONF), key=lambda d: -d.conf)
    weak = [d for d in found if d.conf < DETECT_CONF and not any(covered(d.box, k.box) > WEAK_BOX_COVERED for k in dets)]
    timings["detect"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    crops = [_board_crop(image, det.box, detail) for det in dets]
    readings, scores = engine.reader.read_plaques_scored(crops) if crops else ([], [])
    first = [_best_match(rd, rules, village, side, gazetteer) for rd in readings]
    settled = [_settled(m, score, det.box) for (m, score), det in zip(first, dets, strict=True)]
    timings["read_boxes"] = time.perf_counter() - t0

    restored: Motion | None = None
    looked: set[int] = set()   # boxes whose restored crop, kept, had its second look already
    again = [k for k, ok in enumerate(settled) if not ok]
    if smear_depth is not None and again:
        t0 = time.perf_counter()
        motion = motion_of(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), min_depth=smear_depth)
        if motion is not None:
            again_read = _restored_readings(engine, image, [dets[k].box for k in again], motion, village, side,
                                            gazetteer)
            for k, (crop, rd, match, had_look) in zip(again, again_read, strict=True):
                if _reading_worth(*match) > _reading_worth(*first[k]):
                    crops[k], readings[k], first[k], scores[k] = crop, rd, match, None
                    settled[k] = _settled(*match, dets[k].box)
                    restored = motion
                    if had_look:
                        looked.add(k)
        timings["restore"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    # Doubt: no detector, no box at all, a box not settled by its crop, or a weak box outside the read ones (a board
    # the detector may have missed). "Fewer official plaques read than the side usually holds" (most photos: a
    # missing plaque is what the audit looks for) sends only the rows of strips and plaques to the pass, where a
    # board fits beside their boxes (_rows), not the whole photo, which cost a pass over nearly every photo.
    strips = {p.id for p in rules.plaques_at(side) if not p.identity_sign}
    read = {m.type for (m, _), ok in zip(first, settled, strict=True) if ok and m.kind == "official"}
    sweep = engine.sweep_rows and bool(strips - read) and bool(dets)
    lines: list[TextLine] = []
    if engine.ocr_full_photo:
        skip = [det.box for det, ok in zip(dets, settled, strict=True) if ok]
        keep = [det.box for det, ok in zip(dets, settled, strict=True) if not ok]

        def text_pass(regions: list[tuple[tuple[int, int, int, int], float]]) -> None:
            for (x1, y1, x2, y2), scale in regions:
                def shift(b, dx=x1, dy=y1):
                    return (b[0] - dx, b[1] - dy, b[2] - dx, b[3] - dy)
                got = engine.reader.lines_at(image[y1:y2, x1:x2], skip=[shift(b) for b in skip],
                                             keep=[shift(b) for b in keep], scale=scale)
                for ln in got:  # a line a region in doubt and a row's stretch both hold is read once
                    box = (ln.box[0] + x1, ln.box[1] + y1, ln.box[2] + x1, ln.box[3] + y1)
                    if not any(overlap(box, other.box) > 0.5 for other in lines):
                        lines.append(TextLine(ln.text, ln.score, box, ln.vertical))

        if engine.detector is None or not dets or sharp and len(dets) <= CLOSE_UP_BOXES and not any(
                _names_something(m) for m, _ in first):
            lines = engine.reader.lines_at(image, skip=skip, keep=keep)
        else:
            in_doubt = keep + [d.box for d in weak]
            text_pass([(r, region_scale(in_doubt, r, engine.region_text_px)) for r in _regions(in_doubt, image.shape)])
            if sweep:   # then the rows where text was read, by the boxes' crops or by the regions in doubt
                seen = [d.box for d, (m, _) in zip(dets, first, strict=True) if _names_something(m)]
                seen += [ln.box for ln in lines if _names_something(
                    type_from_text(ln.text, rules, village=village, side=side, gazetteer=gazetteer))]
                bands = _rows([d.box for d in dets if d.cls in _BOARD_CLASSES], image.shape, seen)
                text_pass([(r, min(1.0, ROW_TEXT_PX / max(side, 1.0))) for r, side in bands])
    timings["ocr_photo"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    out: list[_Candidate] = []
    used: set[int] = set()
    boards: dict[int, tuple[list[tuple[str, float]], TextMatch | None, float]] = {}  # per box: readings, match, score
    split: dict[int, list[_Candidate]] = {}  # boxes over several boards: the boards
    read_boxes = [d.box for d, ok in zip(dets, settled, strict=True) if ok]
    for k, det in enumerate(dets):
        # a line on the box or at its edge, unless it lies on a board read already apart from it (an identity sign's
        # line just above a strip); a box that reaches into that board may be over both (two strips side by side).
        # A line only at the box's edge that lies on another box is that box's (a block of the wall boxed above a
        # 60 × 40 plate took the plate's line: one plate counted twice, seed 340000007).
        others = [d.box for j, d in enumerate(dets) if j != k]
        inside = [] if settled[k] else [i for i, ln in enumerate(lines) if _inside(ln, det.box) and (
            _inside(ln, det.box, 0.0) or not any(_inside(ln, b, 0.0) and not overlap(b, det.box)
                                                 for b in read_boxes) and not any(_inside(ln, b, 0.0) for b in others))]
        used.update(inside)
        named: dict[tuple[str, str], tuple[TextLine, TextMatch]] = {}
        honour_inside = False
        for i in inside:
            m = type_from_text(lines[i].text, rules, village=village, side=side, gazetteer=gazetteer)
            honour_inside |= m.kind == "honour"
            if m.kind == "official" and m.score >= 85:
                named.setdefault((m.kind, m.type), (lines[i], m))
            elif _names_a_mechanism(m, lines[i].score, rules):
                named.setdefault((m.kind, m.text), (lines[i], m))
        if len(named) >= 2 and any(kind == "official" for kind, _ in named) and not honour_inside:
            # One box over several boards (a cluster of small plaques, two strips side by side): each line
            # that names a different plaque or sign is its own board. (An honour board's issuer line, 中共XX县
            # 委员会, is not a board of its own.)
            split[k] = [_Candidate(line.box, "detector+ocr", det.cls, det.conf, m, line.score)
                        for line, m in named.values()]
            continue
        inside_lines = [lines[i] for i in inside]
        texts = readings[k] + (group_texts(inside_lines) if inside_lines else [])
        match, read_score = _best_match(texts, rules, village, side, gazetteer) if inside_lines else first[k]
        boards[k] = (texts, match, read_score)
    # Nothing read yet, a reading close to a plaque but undecided, only a garbled reading that names no plaque, or a
    # reading naming none too short for its box (more lines than one): the board's lines are read in an enhanced copy
    # of the crop (a clear reading of a shop's sign or a slogan needs no second look), for the first SECOND_LOOKS such
    # boards, all at once.
    looks = [k for k, (_, match, read_score) in boards.items() if crops[k].size and k not in looked and (
        match is None or match.kind in ("undecided", "unreadable")
        or (match.kind in ("background", "unauthorised_sign")
            and (read_score < SURE_SIGN_READING or _more_lines(match, dets[k].box))))][:SECOND_LOOKS]
    second = dict(zip(looks, engine.reader.read_boards([crops[k] for k in looks]) if looks else [], strict=True))
    for k, texts in second.items():
        if texts:
            texts = group_texts(texts) + boards[k][0]
            boards[k] = (texts, *_best_match(texts, rules, village, side, gazetteer))
    # Boards still in doubt are checked against the village's official names (audit.signs.spotting): the
    # recogniser's scores for each column of the crop (from the pass that read it), not only its best reading, and
    # where none fits, of the lines the board's second look found.
    doubt = [k for k, (_, match, read_score) in boards.items() if engine.spot_names and village and crops[k].size
             and _in_doubt(match, read_score)]
    if doubt:
        timings["read_boxes"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        names = spotting.names_for(rules, village, side)
        again = [k for k in doubt if scores[k] is None]   # a crop read on the restored photo: scored again
        for k, got in zip(again, engine.reader.char_scores([crops[k] for k in again]), strict=True):
            scores[k] = got
        for k in doubt:
            found = spotting.spot(scores[k], names, engine.reader.alphabet)
            if found is None and second.get(k):   # the lines its second look found, each at its own scale
                views = scores[k] + engine.reader.line_scores(crops[k], second[k])
                found = spotting.spot(views, names, engine.reader.alphabet)
            if found is not None:
                texts, match, read_score = boards[k]
                boards[k] = (texts, _spotted_match(found, match), read_score)
        timings["spot_names"] = time.perf_counter() - t0
        t0 = time.perf_counter()
    for k, det in enumerate(dets):
        if k in split:
            out += split[k]
            continue
        texts, match, read_score = boards[k]
        if det.cls in _IDENTITY_CLASSES and (match is None or match.kind != "official"):
            match = _identity_from_partial([t for t, _ in texts], rules) or match
        if det.zoomed and not _names_something(match):
            continue   # a box only the enlarged look found that names nothing: a stone of the wall, not a board
        out.append(_Candidate(det.box, "detector+ocr" if match else "detector", det.cls, det.conf, match, read_score))
    timings["read_boxes"] += time.perf_counter() - t0

    # Full-photo OCR as a second source: text outside every box that names a plaque, an honour or a
    # mechanism sign is a plaque the detector missed. Other text (shop signs, slogans) is ignored. The safety
    # net: lines are put together into boards by layout (stacked on one background, in one ink, nothing else
    # between them), and a board is read as one, with one reading (an honour plate's issuer line, 中共XX县委员会,
    # never becomes a party plaque of its own). Only a group in which two lines name two different official
    # plaques is two boards that the layout could not tell apart (two frameless strips side by side).
    free = [ln for i, ln in enumerate(lines) if i not in used]
    pieces: list[list[TextLine]] = []
    for group in board_groups(free, image):
        named = [(ln, type_from_text(ln.text, rules, village=village, side=side, gazetteer=gazetteer)) for ln in group]
        officials = {m.type for _, m in named if m.kind == "official" and m.score >= 85}
        whole, _ = _best_match(group_texts(group), rules, village, side, gazetteer)
        if len(officials) >= 2 and not (whole is not None and whole.kind == "honour") \
                and not any(m.kind == "honour" for _, m in named):
            alone = [ln for ln, m in named if m.kind == "official" and m.score >= 85]
            pieces += [[ln] for ln in alone]
            rest = [ln for ln in group if ln not in alone]
            if rest:
                pieces.append(rest)
        else:
            pieces.append(group)
    for piece in pieces:
        match, score = _best_match(group_texts(piece), rules, village, side, gazetteer)
        if match is None or len(match.text) < 3:
            continue
        keep = (match.kind == "official" and match.score >= 85) or match.kind == "honour" or _names_a_mechanism(
            match, score, rules)
        if keep:
            box = (min(ln.box[0] for ln in piece), min(ln.box[1] for ln in piece),
                   max(ln.box[2] for ln in piece), max(ln.box[3] for ln in piece))
            out.append(_Candidate(box, "ocr", None, 0.0, match, score))
    return _one_per_board(out, lambda a, b: _one_column(engine.reader, image, a, b)), restored


def _restored_readings(engine: Engine, image: np.ndarray, boxes: list[tuple[float, float, float, float]],
                       motion: Motion, village: str | None, side: str, gazetteer: Gazetteer | None,
                       ) -> list[tuple[np.ndarray, list[tuple[str, float]], tuple[TextMatch | None, float], bool]]:
    """Each box read on the photo with the smear undone (a region around it): its crop, readings, best match, and
    whether it had its second look. A crop that names nothing (several lines: recognition alone reads one) gets its
    second look here, on the restored crop, so that what it reads can choose between the two (the first
    :data:`SECOND_LOOKS` such)."""
    rules = engine.rules
    crops = [unsmeared_crop(image, _pixel_box(box), motion) for box in boxes]
    texts = engine.reader.read_plaques(crops)
    matches = [_best_match(rd, rules, village, side, gazetteer) for rd in texts]
    blank = [i for i, (m, _) in enumerate(matches) if not _names_something(m)][:SECOND_LOOKS]
    for i, lines_read in zip(blank, engine.reader.read_boards([crops[i] for i in blank]), strict=True):
        if lines_read:
            texts[i] = group_texts(lines_read) + texts[i]
            matches[i] = _best_match(texts[i], rules, village, side, gazetteer)
    return [(crops[i], texts[i], matches[i], i in blank) for i in range(len(boxes))]


def _in_doubt(match: TextMatch | None, read_score: float) -> bool:
    """A board whose reading names no plaque for sure: nothing read, a fragment, undecided, or a doubtful reading of
    anything but an official plaque or an honour (a garbled official name reads as a sign or a slogan)."""
    return match is None or match.kind in ("undecided", "unreadable") or (
        match.kind in ("unauthorised_sign", "background", "allowed") and read_score < SURE_SIGN_READING)


def _spotted_match(found: spotting.Spotted, read: TextMatch | None) -> TextMatch:
    """The reading of a board whose pixels fit ``found``, an official name of the village: that plaque, as sure
    as a fragment (the inspector sees what was read and what it fits)."""
    seen = f"读作「{read.text}」" if read is not None and read.text else "未能直接读出文字"
    return TextMatch(found.plaque, "official", FRAGMENT, found.text, False,
                     f"{seen}；逐字比对本村应挂牌子的名称，与「{found.text}」吻合", spotted=True)


def _reading_worth(match: TextMatch | None, read_score: float) -> tuple[int, int, float]:
    """How much a board's reading says, to choose between two readings of one board: an official plaque named for
    sure, then a reading that names something (:func:`_names_something`), then the surer."""
    named = _names_something(match)
    return int(named and match.kind == "official" and match.score >= 85), int(named), read_score if named else 0.0


def style_crop(photo: Photo, image: np.ndarray, box: tuple[float, float, float, float],
               plaque: PlaqueRule | None) -> tuple[np.ndarray, tuple[float, float]]:
    """The pixels a board's style is checked on, and the box's width and height in them: the working image's, or
    for an official plaque whose short side is under ``DETAIL_BOARD_PX`` the photo's detail image (up to twice
    the working size, :meth:`Photo.detail`), at most ``DETAIL_BOARD_PX`` across — its characters then have the
    pixels the typeface and the text colour need, where the working image has too few (a 12-MP photo's strip 60 px
    wide)."""
    x1, y1, x2, y2 = box
    if plaque is not None and not plaque.identity_sign and min(x2 - x1, y2 - y1) < DETAIL_BOARD_PX:
        on_detail = _detail_crop(photo.detail, box)
        if on_detail is not None:
            crop, f = on_detail
            short = min(crop.shape[:2])
            if short > DETAIL_BOARD_PX:  # no larger than a board that needs no detail: the checks' time is its pixels
                k = DETAIL_BOARD_PX / short
                crop = cv2.resize(crop, (max(1, round(crop.shape[1] * k)), max(1, round(crop.shape[0] * k))),
                                  interpolation=cv2.INTER_AREA)
                f *= k
            return crop, ((x2 - x1) * f, (y2 - y1) * f)
    return _crop(image, box), (x2 - x1, y2 - y1)


def _plaque_result(c: _Candidate, photo: Photo, image: np.ndarray, illuminant: np.ndarray, side: str,
                   rules: Rules, blurred: bool = False, shared_light: np.ndarray | None = None,
                   styled: tuple[np.ndarray, tuple[float, float]] | None = None) -> PlaqueResult:
    """One board's entry in the report. On a ``blurred`` photo (sharpness under the rules' floor: a retake is asked
    for) a sign read close to an official plaque is left to the inspector, not a must-fix finding. ``styled``: the
    board's :func:`style_crop`, when taken already; ``shared_light``: the light on the photo's official boards
    (:func:`audit.signs.style.boards_light`)."""
    issues: list[str] = []
    match = c.match
    text_type = None
    reason = ""
    if match is None:
        kind, ptype, text, authorised = "unreadable", OTHER, "", None
        confidence = 0.5 * c.det_conf
        reason = "未能读出文字"
        issues.append("未能读出文字，请人工复核")
    else:
        kind, ptype, text, reason = match.kind, match.type, match.text, match.reason
        shop = any(k in text for k in rules.background_signs.shop_markers)
        if kind == "background" and not shop and (c.read_score < 0.8 or len(text) < 4):
            # A short or doubtful reading that names nothing is more likely a misread board than a slogan.
            kind, ptype, reason = "unreadable", OTHER, f"读作「{text}」，过短或存疑，不能判断"
        elif kind == "unauthorised_sign" and c.read_score < SIGN_FINDING_READING:
            # A garbled reading (中浦中树树农委院会) is as often an official plaque misread as a real sign: the
            # inspector decides, rather than a must-fix finding on a guess.
            kind, ptype = "undecided", OTHER
            reason = f"读作「{text}」，识别置信度 {c.read_score:.2f} 偏低，不能确认是未列入清单的牌子"
        elif kind == "unauthorised_sign" and blurred and match.closest:
            # A blurred photo's reading close to an official name (役军人服务社: 退役军人服务站 cut by the
            # frame, 站 read 社, at 0.93) is no ground for telling a village to take its plaque down.
            kind, ptype = "undecided", OTHER
            reason = f"照片模糊，读作「{text}」，接近「{rules.plaque(match.closest).name_zh}」，不能确认是未列入清单的牌子"
        text_conf = (match.score / 100.0) * max(c.read_score, 0.5)
        confidence = 0.5 * c.det_conf + 0.5 * text_conf if c.det_class else 0.9 * text_conf
        if kind == "undecided":
            text_type = match.closest
        elif c.det_class and c.det_class not in _expected_classes(match, rules):
            # Detector and text disagree: report both and lower the confidence.
            text_type = match.type
            issues.append(f"检测类别「{c.det_class}」与文字所指「{match.type}」不一致")
            confidence *= 0.7
        if kind == "official":
            plaque = rules.plaque(ptype)
            authorised = plaque.placement == side
            if not authorised:
                where = "外部" if plaque.placement == "external" else "内部"
                issues.append(f"错挂：{plaque.name_zh}应挂在{where}")
        elif kind == "allowed":
            authorised = True
        elif kind == "background":
            authorised = None
            issues.append("商铺招牌或标语，未计入核查；如是阵地上的牌子，请在复核中改正")
        elif kind == "unreadable":
            authorised = None
            issues.append(f"文字未能确认（读作「{text}」），请人工复核")
        elif kind == "undecided":
            authorised = None
            issues.append(f"请人工确认：{reason}")
        else:
            authorised = False
            issues.append("荣誉类牌子，应集中展陈" if kind == "honour" else "未列入挂牌清单的牌子，应摘除")
    plaque_rule = rules.plaque(ptype) if kind == "official" else None
    crop, box_wh = styled if styled is not None else style_crop(photo, image, c.box, plaque_rule)
    style = style_checks(crop, box_wh, plaque_rule, rules,
                         traditional=match.traditional if match and not match.spotted else None, illuminant=illuminant,
                         shared_light=shared_light, board=c.det_class is not None,
                         cut=box_cut_by_photo(c.box, image.shape)) if crop.size else {}
    for check in style.values():
        if check["status"] == "fail":
            issues.append(f"式样：{check['detail']}")
    name_zh = rules.plaque(ptype).name_zh if kind == "official" else OTHER_KINDS[kind][0]
    return PlaqueResult(type=ptype, name_zh=name_zh, text=text, confidence=round(min(max(confidence, 0.0), 1.0), 3),
                        bbox=photo.to_full(c.box), authorised=authorised, kind=kind, source=c.source,
                        detector_class=c.det_class, text_type=text_type, style=style, issues=issues, reason=reason)


def provenance_of(photo: Photo, rules: Rules, *, village_point: tuple[float, float] | None = None,
                  inspected_at: dt.datetime | None = None) -> Provenance:
    """EXIF position and time of a photo, its distance from the village's registry point, and flags."""
    p = Provenance()
    limits = rules.provenance
    if photo.gps is None:
        p.flags.append("no_exif_gps")
        p.messages.append("照片没有 GPS 位置信息（可能是截图或转发图片）")
    else:
        p.gps = [round(photo.gps[0], 7), round(photo.gps[1], 7)]
        if village_point is not None:
            p.distance_m = round(distance_m(photo.gps[0], photo.gps[1], *village_point), 1)
            if p.distance_m > limits.max_distance_m:
                p.flags.append("far_from_village")
                p.messages.append(f"拍摄地点距村庄 {p.distance_m:.0f} 米，超过 {limits.max_distance_m:g} 米")
    if photo.taken_at is None:
        p.flags.append("no_exif_time")
        p.messages.append("照片没有拍摄时间")
    else:
        p.taken_at = photo.taken_at.isoformat()
        now = inspected_at or dt.datetime.now(photo.taken_at.tzinfo)
        age = (now - photo.taken_at).total_seconds() / 86400
        if age > limits.max_age_days:
            p.flags.append("taken_long_before")
            p.messages.append(f"照片拍摄于检查前 {age:.0f} 天，超过 {limits.max_age_days:g} 天")
    return p


def plaques_from_photo(photo: Photo, engine: Engine, *, side: Side = "external", village: str | None = None,
                       village_point: tuple[float, float] | None = None,
                       inspected_at: dt.datetime | None = None, gazetteer: Gazetteer | None = None) -> PhotoResult:
    """Every plaque and sign in one photo, typed, style-checked, with the photo's provenance. ``gazetteer`` holds
    the county's place names (:func:`audit.signs.names.gazetteer_from_registry`)."""
    import time

    t0 = time.perf_counter()
    image = np.asarray(photo.image)
    timings: dict[str, float] = {}
    sharp = round(sharpness(photo.image), 1)
    quality = Quality(sharpness=sharp)
    limit = engine.rules.photos.min_sharpness
    blurred = sharp < limit
    # A photo may be smeared along a line (a hand moving): boards it leaves unread are then read on the photo with
    # the smear undone as well (_candidates); on a photo judged sharp, only a deep smear is looked for (a short one
    # along the text's lines leaves the other edges sharp). Style is still judged on the photo as taken, whose blur
    # gates abstain: a restored photo's ink and strokes are partly the filter's.
    depth = (MIN_PEAK_DEPTH if blurred else SHARP_PHOTO_PEAK_DEPTH) if engine.restore_motion else None
    candidates, motion = _candidates(engine, image, side, village, timings, gazetteer, smear_depth=depth,
                                     detail=photo.detail, sharp=not blurred)
    if motion is not None:
        quality.restored_motion_px = round(motion.length, 1)
        quality.messages.append(f"照片有约 {motion.length:.0f} 像素的抖动拖影，已复原后识别，结果请复核")
    t1 = time.perf_counter()
    illuminant = illuminant_of(image)
    rules = engine.rules
    official = {i: rules.plaque(c.match.type) for i, c in enumerate(candidates)
                if c.match is not None and c.match.kind == "official"}
    styled = {i: style_crop(photo, image, candidates[i].box, plaque) for i, plaque in official.items()}
    light = boards_light([styled[i][0] for i, plaque in official.items()
                          if candidates[i].det_class is not None and not plaque.identity_sign])
    plaques = engine.reader.map(lambda ic: _plaque_result(ic[1], photo, image, illuminant, side, rules, blurred=blurred,
                                                          shared_light=light, styled=styled.get(ic[0])),
                                list(enumerate(candidates)))
    timings["style"] = time.perf_counter() - t1
    timings["total"] = time.perf_counter() - t0
    cut = sum(_cut_by_the_frame(c, p, image.shape) for c, p in zip(candidates, plaques, strict=True))
    plaques.sort(key=lambda p: (p.bbox[0], p.bbox[1]))
    if blurred:
        quality.flags.append("blurry")
        quality.messages.insert(0, f"照片模糊（清晰度 {sharp:g}，低于 {limit:g}），牌子文字可能无法辨认，请重拍")
    boards = [p for p in plaques if p.source != "ocr"]
    unread = sum(p.kind == "unreadable" for p in boards)
    rules = engine.rules.photos
    if len(boards) >= rules.unreadable_boards_min and unread > rules.unreadable_boards_share * len(boards):
        quality.flags.append("boards_unreadable")
        quality.messages.append(f"{len(boards)} 块牌子中 {unread} 块文字无法辨认（可能抖动、反光或距离太远），请靠近、稳住后重拍")
    if cut:
        quality.flags.append("boards_cut")
        quality.messages.append(f"{cut} 块牌子被照片边缘截断，名称未读全：请后退或调整角度，把整块牌子拍进画面后重拍")
    return PhotoResult(photo=photo.name, side=side, sha256=photo.sha256, size=list(photo.full_size),
                       plaques=plaques, provenance=provenance_of(photo, engine.rules, village_point=village_point,
                                                                 inspected_at=inspected_at),
                       quality=quality, timings_s={k: round(v, 3) for k, v in timings.items()})


def _cut_by_the_frame(c: _Candidate, plaque: PlaqueResult, shape: tuple[int, ...]) -> bool:
    """A board that reaches the photo's edge (within :data:`FRAME_EDGE` of the long side) and whose name was read
    only in part: an official plaque named by the start or end of its name, a board left to the inspector as close
    to one, or a white plaque or identity sign the detector boxed, nothing could be read on (a strip cut in half by
    the frame often reads as nothing) and that runs out of the frame along its length, where a name runs (its part
    in the frame reaches at least as far from that edge as it runs along it: a sliver along the edge is as often a
    poster's or a window's edge), or a board read as a fragment of a village's name (响水 on a 60 × 40 plate half out of
    the frame, its part in the frame taller than wide). Another photo with the whole board settles it: the inspector
    is asked for one."""
    h, w = shape[:2]
    x1, y1, x2, y2 = c.box
    margin = FRAME_EDGE * max(h, w)
    if min(x1, y1, w - x2, h - y2) > margin:
        return False
    bw, bh = x2 - x1, y2 - y1
    lengthwise = (min(x1, w - x2) <= margin and bw >= bh) or (min(y1, h - y2) <= margin and bh >= bw)
    return (plaque.kind == "official" and c.match is not None and c.match.partial) or \
        (plaque.kind == "undecided" and plaque.text_type is not None) or \
        (plaque.kind == "unreadable" and ((c.match is not None and c.match.partial)
                                          or (c.det_class in _BOARD_CLASSES | _IDENTITY_CLASSES and lengthwise)))


@dataclass(frozen=True)
class PhotoInput:
    """A photo to audit: its bytes, a name for messages, and the side it shows."""

    data: bytes
    name: str
    side: Side = "external"


def result_of_input(item: PhotoInput, engine: Engine, *, village_name: str | None = None,
                    village_point: tuple[float, float] | None = None, inspected_at: dt.datetime | None = None,
                    gazetteer: Gazetteer | None = None) -> PhotoResult | PhotoErrorResult:
    """One photo's result, or the reason it was refused (:func:`audit_signage` per photo; batch workers call it)."""
    from audit.signs.intake import PhotoError

    try:
        photo = photo_from_bytes(item.data, item.name, rules=engine.rules)
    except PhotoError as exc:
        return PhotoErrorResult(photo=item.name, error=str(exc))
    return plaques_from_photo(photo, engine, side=item.side, village=village_name, village_point=village_point,
                              inspected_at=inspected_at, gazetteer=gazetteer)


def report_from_results(results: list[PhotoResult | PhotoErrorResult], rules: Rules, *,
                        village_code: str | None = None, village_name: str | None = None) -> SignageReport:
    """A village's report from its photos' results in order: refused photos in ``errors``, then the inventory."""
    photos = [r for r in results if isinstance(r, PhotoResult)]
    errors = [r for r in results if isinstance(r, PhotoErrorResult)]
    return SignageReport(village={"code": village_code, "name": village_name}, rules_version=rules.version,
                         photos=photos, errors=errors, summary=inventory_from_photos(photos, rules))


def audit_signage(inputs: list[PhotoInput], engine: Engine, *, village_code: str | None = None,
                  village_name: str | None = None, village_point: tuple[float, float] | None = None,
                  inspected_at: dt.datetime | None = None, progress=None,
                  gazetteer: Gazetteer | None = None) -> SignageReport:
    """Audit all photos of one village. Refused photos are listed in ``errors``; the others are audited.
    ``gazetteer``: the county's place names, to read the place on each board (another village's name is flagged).

    ``progress``, when given, is called as ``progress(done, total, name)`` after each photo.
    """
    results: list[PhotoResult | PhotoErrorResult] = []
    for i, item in enumerate(inputs):
        results.append(result_of_input(item, engine, village_name=village_name, village_point=village_point,
                                       inspected_at=inspected_at, gazetteer=gazetteer))
        if progress is not None:
            progress(i + 1, len(inputs), item.name)
    return report_from_results(results, engine.rules, village_code=village_code, village_name=village_name)
