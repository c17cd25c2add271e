"""Cost that follows the work (issue 17): the text pass runs only where the detector's boxes leave doubt, and only
there: over the regions of the boxes its crops did not settle and of the weak boxes outside the read ones (the
whole photo only when there is no box at all), and along the rows of strips and plaques (a board of the row the
detector missed), not over the whole photo because it shows fewer plaques than the side usually holds; lines on
boxes already read are not read again, and the boxes' crops are read in one batched recognition. Stub models: what
is checked is which work the engine asks for."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from audit.signs.detect import Detection
from audit.signs.engine import Engine, plaques_from_photo, usual_boards
from audit.signs.intake import photo_from_bytes
from audit.signs.ocr import TextLine

VILLAGE = "王庄村"


class _Reader:
    def __init__(self, readings: dict[int, list[tuple[str, float]]], lines: list[TextLine] = ()) -> None:
        self.readings, self.lines = readings, list(lines)
        self.batches: list[int] = []
        self.full_passes: list[dict] = []

    def map(self, fn, items):
        return [fn(x) for x in items]

    def read_plaques(self, crops):
        self.batches.append(len(crops))
        # a crop is known by its width (each stub box has its own)
        return [list(self.readings.get(c.shape[1], [])) for c in crops]

    # no recogniser scores: a board in doubt is not checked against the village's names (tests/test_spotting.py)
    alphabet: dict[str, int] = {}

    def read_plaques_scored(self, crops):
        return self.read_plaques(crops), self.char_scores(crops)

    def char_scores(self, crops):
        return [[] for _ in crops]

    def line_scores(self, crop, lines):
        return []

    def lines_at(self, image, *, skip=(), keep=(), min_score=0.5, scale=1.0):
        # The test photo codes each pixel's position (see _photo): the region's offset is its first pixel's.
        r, g, b = (int(v) for v in image[0, 0])
        ox, oy = r + 256 * (b // 16), g + 256 * (b % 16)
        h, w = image.shape[:2]
        self.full_passes.append({"scale": scale, "skip": list(skip), "keep": list(keep),
                                 "region": (ox, oy, ox + w, oy + h)})
        return [TextLine(ln.text, ln.score, (ln.box[0] - ox, ln.box[1] - oy, ln.box[2] - ox, ln.box[3] - oy), ln.vertical)
                for ln in self.lines if ox <= ln.box[0] and ln.box[2] <= ox + w and oy <= ln.box[1] and ln.box[3] <= oy + h]

    def read_board(self, crop):
        return []

    def read_boards(self, crops):
        return [self.read_board(c) for c in crops]


class _Detector:
    path = None

    def __init__(self, boxes, weak=()):
        self.boxes, self.weak = boxes, list(weak)
        self.confs: list[float] = []

    def detect(self, image, *, conf=0.25, iou=0.5, zoom=False):
        self.confs.append(conf)
        found = [Detection(b, "strip", 0.9) for b in self.boxes] + [Detection(b, "plaque", 0.1) for b in self.weak]
        return [d for d in found if d.conf >= conf]


def _photo(rules):
    # Each pixel codes its position (R, G: x and y mod 256; B: their 256s), so the stub reader knows where a region lies.
    y, x = np.mgrid[0:600, 0:800]
    coded = np.stack([x % 256, y % 256, 16 * (x // 256) + y // 256], axis=-1).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(coded).save(buf, "PNG")
    return photo_from_bytes(buf.getvalue(), "wall.png", rules=rules)


def _boxes(n: int):
    # strips 20 + i px wide, so that the stub reader tells their crops apart
    return [(10.0 + 90 * i, 50.0, 10.0 + 90 * i + 20 + i, 400.0) for i in range(n)]


def _wide_boxes():
    # three strips 60, 65 and 70 px wide (x 10-70, 100-165, 195-265), wide enough that a row's sweep reduces them
    return [(10.0, 50.0, 70.0, 400.0), (100.0, 50.0, 165.0, 400.0), (195.0, 50.0, 265.0, 400.0)]


NAMES = ["中共王庄村支部委员会", "王庄村村民委员会", "王庄村股份经济合作社", "王庄村村务监督委员会", "王庄村民兵连",
         "王庄村党群服务中心", "王庄村新时代文明实践站"]


def test_usual_boards_follow_the_rules(rules):
    assert usual_boards(rules, "external") == len(rules.plaques_at("external")) == 7
    assert usual_boards(rules, "internal") == len(rules.plaques_at("internal"))


def test_no_text_pass_when_every_box_and_every_plaque_of_the_side_is_read(rules):
    # every strip of the side read for sure: no row is swept for a missed one
    boxes = _boxes(7)
    reader = _Reader({20 + i: [(NAMES[i], 0.99)] for i in range(7)})
    engine = Engine(rules=rules, reader=reader, detector=_Detector(boxes))
    result = plaques_from_photo(_photo(rules), engine, village=VILLAGE)
    assert reader.batches == [7] and reader.full_passes == []        # one batched recognition, no text pass
    assert sorted(p.type for p in result.plaques) == sorted(p.id for p in rules.plaques_at("external"))


def test_boxes_all_read_send_only_their_row_to_the_text_pass(rules):
    # A photo with fewer plaques than the side holds, each read: the missing ones are the audit's finding, not a
    # doubt about the boxes (a pass over the whole photo ran on nearly every photo for it). Only the row of strips
    # is swept, where a board fits beside its boxes: a missed board of the row is read, its read boxes are not.
    from audit.signs.engine import ROW_TEXT_PX

    boxes = _wide_boxes()
    missed = TextLine("王庄村村务监督委员会", 0.97, (600.0, 150.0, 625.0, 350.0), True)   # in the row, no box
    below = TextLine("王庄村老年人协会", 0.97, (300.0, 580.0, 400.0, 598.0), False)     # under the row's band
    reader = _Reader({60 + 5 * i: [(NAMES[i], 0.99)] for i in range(3)}, [missed, below])
    detector = _Detector(boxes)
    engine = Engine(rules=rules, reader=reader, detector=detector)
    result = plaques_from_photo(_photo(rules), engine, village=VILLAGE)
    assert detector.confs == [0.05]                                  # one detector pass, down to the weak boxes
    regions = [p["region"] for p in reader.full_passes]
    assert regions and all(r[1] <= 50 and 400 < r[3] < 580 for r in regions)   # the row's band, not below it
    for b in boxes:   # no box's middle is looked at again
        assert not any(r[0] <= (b[0] + b[2]) / 2 <= r[2] for r in regions)
    assert all(p["scale"] == pytest.approx(ROW_TEXT_PX / 60) for p in reader.full_passes)  # the row's narrowest strip
    assert sorted(p.type for p in result.plaques) == ["collective_economy", "party_org", "supervision_committee",
                                                      "villagers_committee"]
    assert [p.text for p in result.plaques if p.source == "ocr"] == ["王庄村村务监督委员会"]


def test_rows_are_swept_where_a_board_fits_beside_boxes_at_one_height():
    from audit.signs.engine import ROW_GAP, ROW_MARGIN, _rows

    assert ROW_GAP <= 1.0   # a gap as wide as the narrowest board is always swept
    # two strips 30 px wide 20 px apart, a plaque 60 px wide 50 px beside them at their mid-height, 600 px of wall
    # to the photo's edge: one row, swept between the strips and the plaque and beyond it (not the 10 px before the
    # first strip: no board fits); a plaque far below: another row, swept on both sides
    boxes = [(10, 100, 40, 300), (60, 110, 90, 310), (140, 180, 200, 240), (300, 500, 380, 540)]
    band = (max(0, int(100 - ROW_MARGIN * 210)), int(310 + ROW_MARGIN * 210) + 1)
    low = (int(500 - ROW_MARGIN * 40), min(600, int(540 + ROW_MARGIN * 40) + 1))
    pad, pad_low = 0.25 * 30, 0.25 * 80
    assert _rows(boxes, (600, 800)) == [
        ((int(90 - pad), band[0], int(140 + pad) + 1, band[1]), 30), ((int(200 - pad), band[0], 800, band[1]), 30),
        ((0, low[0], int(300 + pad_low) + 1, low[1]), 40), ((int(380 - pad_low), low[0], 800, low[1]), 40)]
    assert _rows([], (600, 800)) == []
    # only the rows where something was read: text on the upper row's second strip; none on the lower row
    assert _rows(boxes, (600, 800), seen=[(62, 150, 88, 250)]) == _rows(boxes, (600, 800))[:2]
    assert _rows(boxes, (600, 800), seen=[]) == []


def test_a_row_where_nothing_could_be_read_is_not_swept(rules):
    # three strips whose crops read nothing and whose regions in doubt hold no line (a blurred or distant facade):
    # the regions in doubt are looked at, the row beside them is not swept at a smaller scale; a line that names a
    # plaque, found by a region in doubt, makes it swept
    from audit.signs.engine import ROW_TEXT_PX

    boxes = _wide_boxes()
    missed = TextLine("王庄村村务监督委员会", 0.97, (600.0, 150.0, 625.0, 350.0), True)   # in the row, no box
    garble = TextLine("口口口", 0.6, (110.0, 100.0, 155.0, 130.0), False)                 # on a strip, names nothing
    for found, swept in (([garble], False), ([garble, TextLine("王庄村民兵连", 0.9, (200.0, 100.0, 260.0, 300.0),
                                                                True)], True)):
        reader = _Reader({}, [missed, *found])
        engine = Engine(rules=rules, reader=reader, detector=_Detector(boxes))
        result = plaques_from_photo(_photo(rules), engine, village=VILLAGE)
        row_passes = [p for p in reader.full_passes if p["scale"] == pytest.approx(ROW_TEXT_PX / 60)]
        assert reader.full_passes and (len(row_passes) > 0) == swept
        assert ("王庄村村务监督委员会" in [p.text for p in result.plaques]) == swept


@pytest.mark.parametrize("case", ["unread_box", "weak_box", "no_box"])
def test_text_pass_over_the_regions_in_doubt(rules, case):
    from audit.signs.engine import REGION_MARGIN

    boxes = {"unread_box": _boxes(7), "weak_box": _boxes(3), "no_box": []}[case]
    readings = {20 + i: [(NAMES[i], 0.99)] for i in range(len(boxes))}
    if case == "unread_box":
        readings[20 + 6] = [("口口", 0.2)]
    # A missed board's line: right of the unread strip, within its region; under the weak box; anywhere.
    at = {"unread_box": (578.0, 200.0, 588.0, 300.0), "weak_box": (700.0, 450.0, 790.0, 480.0),
          "no_box": (700.0, 450.0, 790.0, 480.0)}[case]
    missed = TextLine("王庄村老年人协会", 0.97, at, at[3] - at[1] > at[2] - at[0])
    elsewhere = TextLine("王庄村红白理事会", 0.97, (300.0, 500.0, 400.0, 530.0), False)   # in no region
    weak = [(690.0, 440.0, 795.0, 490.0)] if case == "weak_box" else []
    reader = _Reader(readings, [missed, elsewhere])
    engine = Engine(rules=rules, reader=reader, detector=_Detector(boxes, weak), region_text_px=8.0,
                    sweep_rows=False)   # the rows' bands: test_boxes_all_read_send_only_their_row_to_the_text_pass
    result = plaques_from_photo(_photo(rules), engine, village=VILLAGE)
    assert len(reader.full_passes) == 1
    ox, oy, ox2, oy2 = reader.full_passes[0]["region"]
    doubt = {"unread_box": boxes[6:], "weak_box": weak, "no_box": []}[case]
    if doubt:   # the region of the box in doubt, grown by REGION_MARGIN on each side
        x1, y1, x2, y2 = doubt[0]
        mx, my = REGION_MARGIN * (x2 - x1), REGION_MARGIN * (y2 - y1)
        assert (ox, oy, ox2, oy2) == (max(0, int(x1 - mx)), max(0, int(y1 - my)), min(800, int(x2 + mx) + 1),
                                      min(600, int(y2 + my) + 1))   # clipped to the photo
    else:       # no box at all: the whole photo
        assert (ox, oy, ox2, oy2) == (0, 0, 800, 600)
    # the region is reduced so that its box in doubt is 8 px across: the unread strip is 26 px wide, the weak box
    # 50 px high; with no box, the photo is looked at whole
    assert reader.full_passes[0]["scale"] == pytest.approx({"unread_box": 8 / 26, "weak_box": 8 / 50, "no_box": 1.0}[case])
    read = [b for b in boxes if case != "unread_box" or b != boxes[6]]
    shifted = [(b[0] - ox, b[1] - oy, b[2] - ox, b[3] - oy) for b in read]
    assert reader.full_passes[0]["skip"] == shifted                  # lines on boxes already read are not read again
    assert reader.full_passes[0]["keep"] == [(b[0] - ox, b[1] - oy, b[2] - ox, b[3] - oy)
                                             for b in boxes if b not in read]   # unless on a box still in doubt
    found = {p.text: p.bbox for p in result.plaques if p.source == "ocr"}
    assert found.get("王庄村老年人协会") == [float(v) for v in at]       # back in the photo's pixels
    assert ("王庄村红白理事会" in found) == (case == "no_box")
    assert all(p.detector_class != "plaque" for p in result.plaques)   # a weak box is a doubt, never a board


def test_regions_merge_where_they_meet():
    from audit.signs.engine import _regions

    assert _regions([(100, 100, 120, 300), (125, 100, 145, 300), (600, 100, 620, 300)], (600, 800)) == [
        (90, 0, 156, 401), (590, 0, 631, 401)]


def test_a_weak_box_on_a_read_box_is_no_doubt(rules):
    boxes = _boxes(3)
    reader = _Reader({20 + i: [(NAMES[i], 0.99)] for i in range(3)})
    inside = (boxes[0][0] + 2, boxes[0][1] + 10, boxes[0][2] - 2, boxes[0][3] - 10)
    engine = Engine(rules=rules, reader=reader, detector=_Detector(boxes, [inside]), sweep_rows=False)
    plaques_from_photo(_photo(rules), engine, village=VILLAGE)
    assert reader.full_passes == []


def test_a_tall_box_over_two_strips_is_not_settled_by_one_reading(rules):
    from audit.signs.engine import _settled
    from audit.signs.names import type_from_text

    party = type_from_text("中共王庄村支部委员会", rules, village=VILLAGE)
    assert party.kind == "official"
    assert _settled(party, 0.99, (0, 0, 40, 400))          # one strip: 10 characters of 40 px fill its width
    assert not _settled(party, 0.99, (0, 0, 100, 400))     # two strips and the gap: the reading fills half


def test_a_short_reading_naming_no_plaque_on_a_box_taller_than_its_line_may_be_more_lines(rules):
    from audit.signs.engine import _more_lines
    from audit.signs.names import type_from_text

    slogan = type_from_text("前进过", rules, village="前进村")   # 前进村 over 民兵连, read as one line
    assert slogan.kind == "unreadable"                     # the inspected village's name and a character: a fragment
    assert _more_lines(slogan, (0, 0, 120, 88))            # characters 40 px wide: the box holds two lines
    assert not _more_lines(slogan, (0, 0, 120, 60))        # one line of 40-px characters and its margins
    shop = type_from_text("王庄村便民超市", rules, village="王庄村")
    assert not _more_lines(shop, (0, 0, 350, 90))          # a one-line sign of 50-px characters
    assert not _more_lines(shop, (0, 0, 40, 300))          # a strip: a column, not lines


def test_a_second_look_reads_the_second_line_of_a_plaque_read_as_one_short_line(rules):
    # the crop reads 前进过 (a slogan's word) at 0.95: a sure reading, yet too short for its box
    class _Looks(_Reader):
        def read_board(self, crop):
            return [TextLine("前进村", 0.99, (5.0, 5.0, 100.0, 40.0), False),
                    TextLine("民兵连", 0.99, (5.0, 48.0, 100.0, 83.0), False)]

    box = (300.0, 100.0, 420.0, 188.0)
    reader = _Looks({120: [("前进过", 0.95)]})
    engine = Engine(rules=rules, reader=reader, detector=_Detector([box]), sweep_rows=False)
    result = plaques_from_photo(_photo(rules), engine, village="前进村")
    assert [(p.type, p.text) for p in result.plaques] == [("militia", "前进村民兵连")]


def test_a_boards_reading_is_as_sure_as_the_reading_chosen(rules):
    from audit.signs.engine import _best_match

    # a garbled view read at 0.91 does not make the 0.84 reading chosen sure (at 前进村, 前进过 is a fragment of its
    # name, dropped as unreadable: the slogan is read at another village)
    match, score = _best_match([("前进过", 0.84), ("", 0.95), ("口", 0.91)], rules, "王庄村", "external")
    assert (match.text, score) == ("前进过", 0.84)
    # among equal readings, the better read; an official reading wins over a surer slogan
    match, score = _best_match([("前进村民兵连", 0.7), ("前进村民兵连", 0.93), ("前进", 0.99)], rules, "前进村",
                               "external")
    assert (match.type, score) == ("militia", 0.93)
    assert _best_match([("", 0.9)], rules, "前进村", "external") == (None, 0.0)


def test_a_garbled_fragment_near_an_official_name_yields_to_a_clear_reading_of_another_body(rules):
    from audit.signs.engine import _best_match

    # seed 310000010: a 60 × 40 plate's crop read 买品会 (undecided: 会 ends official bodies) at 0.23, its two lines
    # read whole at 1.0 name an unlisted body
    readings = [("买品#会", 0.23), ("五里墩村老年", 1.0), ("人体育协会", 1.0), ("五里墩村老年人体育协会", 1.0)]
    match, score = _best_match(readings, rules, "五里墩村", "external")
    assert (match.kind, match.text, score) == ("unauthorised_sign", "五里墩村老年人体育协会", 1.0)
    # the body read less surely, or no longer than the fragment: the inspector decides
    match, _ = _best_match([("买品#会", 0.23), ("五里墩村老年人体育协会", 0.85)], rules, "五里墩村", "external")
    assert match.kind == "undecided"
    match, _ = _best_match([("王庄村监营委员全", 0.6), ("王庄村议事会", 0.95)], rules, "王庄村", "external")
    assert match.kind == "undecided" and match.closest == "supervision_committee"


def test_a_fragment_of_the_villages_name_keeps_a_board_from_being_a_slogan(rules):
    from audit.signs.engine import _best_match

    # seed 330000018: a militia strip cut by the frame read 燕子容窝 (the village 燕子窝, a character added) and, in
    # another view, 窝燕子容: a slogan by itself
    match, score = _best_match([("窝燕子容", 0.95), ("燕子容窝", 0.9)], rules, "燕子窝村", "external")
    assert (match.kind, match.text, score) == ("unreadable", "燕子容窝", 0.9)
    # a board read as a body still is that body; a slogan alone still is a slogan
    assert _best_match([("燕子容窝", 0.9), ("燕子窝村红白理事会", 0.95)], rules, "燕子窝村",
                       "external")[0].kind == "unauthorised_sign"
    assert _best_match([("窝燕子容", 0.95)], rules, "燕子窝村", "external")[0].kind == "background"


def test_a_line_at_a_boxs_edge_on_another_box_is_that_boxs(rules):
    # seed 340000007: a block of a pebble-dash wall boxed above a 60 × 40 plate; neither crop reads (a plate's one
    # line is squeezed by the recogniser's 48 px), the text pass finds the plate's line, whose middle lies within the
    # block's box grown by 15 % and inside the plate's box: it is the plate's alone (it was read on both: the
    # militia counted twice, a false duplicate)
    block, plate = (85.0, 186.0, 606.0, 461.0), (264.0, 401.0, 553.0, 591.0)
    line = TextLine("王庄村民兵连", 0.99, (300.0, 470.0, 520.0, 520.0), False)
    reader = _Reader({521: [("D", 0.29)], 289: [("園", 0.25)]}, [line])
    engine = Engine(rules=rules, reader=reader, detector=_Detector([block, plate]), sweep_rows=False)
    result = plaques_from_photo(_photo(rules), engine, village=VILLAGE)
    by_box = {tuple(p.bbox): p for p in result.plaques}
    assert by_box[plate].type == "militia" and by_box[block].kind == "unreadable"


def test_region_scale_follows_the_smallest_box_centred_in_the_region():
    from audit.signs.engine import region_scale

    strip, plate, outside = (100.0, 100.0, 130.0, 400.0), (200.0, 100.0, 400.0, 220.0), (900.0, 0.0, 910.0, 50.0)
    region = (50, 50, 450, 450)
    # the 30-px strip, not the 10-px box outside
    assert region_scale([strip, plate, outside], region, 15.0) == pytest.approx(0.5)
    assert region_scale([plate], region, 60.0) == pytest.approx(0.5)                   # the plate's 120-px height
    assert region_scale([plate], region, 200.0) == 1.0                                 # never enlarged
    assert region_scale([outside], region, 15.0) == 1.0                                # no box in it
    assert region_scale([strip], region, 0.0) == 1.0                                   # 0: off


def test_a_board_cut_by_the_photos_edge_gets_no_shape_verdict(rules):
    # Two strips read as official plaques, 21 px wide and 350 px tall on the coded photo: one in the middle,
    # one whose box starts at the photo's left edge (the board may go on beyond it).
    boxes = [(0.0, 50.0, 20.0, 400.0), (300.0, 50.0, 321.0, 400.0)]
    reader = _Reader({20: [(NAMES[0], 0.99)], 21: [(NAMES[1], 0.99)]})
    result = plaques_from_photo(_photo(rules), Engine(rules=rules, reader=reader, detector=_Detector(boxes)),
                                village=VILLAGE)
    shape = {p.type: p.style["shape"] for p in result.plaques}
    assert shape["party_org"] == {**shape["party_org"], "status": "not_checked",
                                  "detail": "牌子被照片边缘截断，无法判断比例（请把整块牌子拍进照片）"}
    assert "截断" not in shape["villagers_committee"]["detail"]


def _strip_photo(long_side: int, face_kind: str) -> bytes:
    """A wall 4000 × 2400 (scaled to ``long_side``) with one white strip of black text, 30-px characters at
    4000 px: 15 px on a working image of 2000 px."""
    from audit.signs.fonts import faces_for, font

    wall = Image.new("RGB", (4000, 2400), (180, 150, 120))
    strip = Image.new("RGB", (50, 320), (248, 248, 244))
    draw = ImageDraw.Draw(strip)
    f = font(faces_for(face_kind, False)[0], 30)
    for k, ch in enumerate("王庄村民兵连"):
        draw.text((10, 14 + k * 48), ch, fill=(15, 15, 15), font=f)
    wall.paste(strip, (1800, 900))
    if long_side != 4000:
        wall = wall.resize((long_side, long_side * 2400 // 4000), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    wall.save(buf, "JPEG", quality=95)  # a 4000-px JPEG is decoded at 2000 px (draft), as a phone's photo
    return buf.getvalue()


@pytest.mark.parametrize("face_kind", ["hei", "song"])
def test_a_small_plaques_typeface_is_judged_on_the_photos_own_pixels(rules, face_kind):
    # The same wall as a 4000-px photo and as a 2000-px one: the engine works at 2000 px either way, where the
    # strip's characters are 15 px (under every typeface model's floor). On the 4000-px photo the style checks read
    # the strip from the photo's detail image (30-px characters) and tell Hei from Song; on the 2000-px one they can't.
    from audit.signs.engine import DETAIL_BOARD_PX

    box = (900.0, 450.0, 925.0, 610.0)  # the strip on the 2000-px working image
    assert box[2] - box[0] < DETAIL_BOARD_PX
    status = {}
    for long_side in (4000, 2000):
        photo = photo_from_bytes(_strip_photo(long_side, face_kind), "wall.jpg", rules=rules)
        assert photo.image.size == (2000, 1200)
        reader = _Reader({25: [("王庄村民兵连", 0.99)]})
        result = plaques_from_photo(photo, Engine(rules=rules, reader=reader, detector=_Detector([box])),
                                    village=VILLAGE)
        (plaque,) = result.plaques
        assert plaque.type == "militia"
        status[long_side] = plaque.style["typeface"]["status"]
    assert status == {4000: "fail" if face_kind == "hei" else "pass", 2000: "not_checked"}


def test_an_identity_signs_part_another_name_holds_leaves_the_board_undecided(rules):
    from audit.signs.engine import _identity_from_partial

    for part in ("中心", "服务中心"):   # 综治中心's too, and the rules' other body 服务中心
        match = _identity_from_partial([part], rules)
        assert (match.kind, match.type, match.closest) == ("undecided", "other_sign", "service_centre_sign")
    assert _identity_from_partial(["新时"], rules).type == "civilisation_station_sign"
    assert _identity_from_partial(["党群"], rules).type == "service_centre_sign"
    assert "「党群」" in _identity_from_partial(["党群"], rules).reason       # the report says why
    assert _identity_from_partial(["群服务中"], rules).kind == "official"
    for slogan in ("新风", "新貌", "车站"):   # one character of a name is no part of it (新风尚, 新面貌 on a banner)
        assert _identity_from_partial([slogan], rules) is None


def test_a_line_another_box_holds_is_not_read_as_the_board_beside_it(rules):
    # An identity sign hangs just above a strip whose crop reads only the start of its name: the text pass over the
    # strip's region reads the identity sign's line too (its middle lies within the strip's box grown by 15 %); it
    # is the identity sign's line, not the strip's (a strip typed 党群服务中心 was a false duplicate of the sign).
    identity, strip = (250.0, 20.0, 370.0, 85.0), (290.0, 90.0, 330.0, 400.0)
    line = TextLine("党群服务中心", 0.99, (276.0, 36.0, 344.0, 72.0), False)
    reader = _Reader({120: [("党群服务中心", 0.99)], 40: [("王庄村村务监", 0.97)]}, [line])
    engine = Engine(rules=rules, reader=reader, detector=_Detector([identity, strip]))
    result = plaques_from_photo(_photo(rules), engine, village=VILLAGE)
    assert reader.full_passes                                          # the strip was in doubt: its region was read
    by_box = {tuple(p.bbox): p for p in result.plaques}
    assert by_box[strip].type == "supervision_committee" and by_box[identity].type == "service_centre_sign"


@pytest.mark.parametrize(("x1", "reading", "cut"), [
    (760.0, "王庄", True),    # at the right edge, the village's name read and no more: a board half out of the frame
    (700.0, "王庄", False),   # the same inside the photo: nothing says the frame hides the rest
    (760.0, "", False),       # at the edge, read as nothing and taller than wide: as often a poster's or window's edge
])
def test_a_fragment_of_the_villages_name_at_the_photos_edge_asks_for_the_board_whole(rules, x1, reading, cut):
    # seed 370000003 at 4000 px: a 60 × 40 plate half out of the frame, its part in the frame taller than wide, read 响水
    boxes = [(300.0, 50.0, 321.0, 400.0), (x1, 100.0, x1 + 40, 160.0)]
    reader = _Reader({21: [(NAMES[1], 0.99)], 40: [(reading, 0.95)] if reading else []})
    result = plaques_from_photo(_photo(rules), Engine(rules=rules, reader=reader, detector=_Detector(boxes)),
                                village=VILLAGE)
    assert any(p.kind == "unreadable" and p.bbox[0] >= 650 for p in result.plaques)
    assert ("boards_cut" in result.quality.flags) == cut
