"""Cost that follows the work (issue 17): the whole-photo text pass runs only where the detector's boxes leave
doubt, over the rest of the photo (boxes already read are painted over), and the boxes' crops are read in one
batched recognition. Stub models: what is checked is which work the engine asks for."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from audit.signs.detect import Detection
from audit.signs.engine import Engine, plaques_from_photo, usual_boards
from audit.signs.intake import photo_from_bytes
from audit.signs.ocr import TextLine

VILLAGE = "王庄村"


class _Reader:
    det_long_side = 960

    def __init__(self, readings: dict[int, list[tuple[str, float]]], lines: list[TextLine] = ()) -> None:
        self.readings, self.lines = readings, list(lines)
        self.batches: list[int] = []
        self.full_passes: list[dict] = []

    def read_plaques(self, crops):
        self.batches.append(len(crops))
        # a crop is known by its width (each stub box has its own)
        return [list(self.readings.get(c.shape[1], [])) for c in crops]

    def lines_at(self, image, *, long_side, skip=(), keep=(), min_score=0.5):
        self.full_passes.append({"long_side": long_side, "skip": list(skip), "keep": list(keep)})
        return list(self.lines)

    def read_board(self, crop):
        return []


class _Detector:
    path = None

    def __init__(self, boxes):
        self.boxes = boxes

    def detect(self, image):
        return [Detection(b, "strip", 0.9) for b in self.boxes]


def _photo(rules):
    buf = io.BytesIO()
    Image.fromarray(np.full((600, 800, 3), 200, np.uint8)).save(buf, "PNG")
    return photo_from_bytes(buf.getvalue(), "wall.png", rules=rules)


def _boxes(n: int):
    # strips 20 + i px wide, so that the stub reader tells their crops apart
    return [(10.0 + 90 * i, 50.0, 10.0 + 90 * i + 20 + i, 400.0) for i in range(n)]


NAMES = ["中共王庄村支部委员会", "王庄村村民委员会", "王庄村股份经济合作社", "王庄村村务监督委员会", "王庄村民兵连",
         "王庄村党群服务中心", "王庄村新时代文明实践站"]


def test_usual_boards_follow_the_rules(rules):
    assert usual_boards(rules, "external") == len(rules.plaques_at("external")) == 7
    assert usual_boards(rules, "internal") == len(rules.plaques_at("internal"))


def test_no_whole_photo_pass_when_every_box_is_read_and_none_is_missing(rules):
    boxes = _boxes(7)
    reader = _Reader({20 + i: [(NAMES[i], 0.99)] for i in range(7)})
    engine = Engine(rules=rules, reader=reader, detector=_Detector(boxes))
    result = plaques_from_photo(_photo(rules), engine, village=VILLAGE)
    assert reader.batches == [7] and reader.full_passes == []        # one batched recognition, no full pass
    assert sorted(p.type for p in result.plaques) == sorted(p.id for p in rules.plaques_at("external"))


@pytest.mark.parametrize("case", ["unread_box", "fewer_boards"])
def test_whole_photo_pass_where_the_boxes_leave_doubt(rules, case):
    boxes = _boxes(7 if case == "unread_box" else 3)
    readings = {20 + i: [(NAMES[i], 0.99)] for i in range(len(boxes))}
    if case == "unread_box":
        readings[20 + 6] = [("口口", 0.2)]
    missed = TextLine("王庄村老年人协会", 0.97, (700.0, 450.0, 790.0, 480.0), False)   # outside every box
    reader = _Reader(readings, [missed])
    engine = Engine(rules=rules, reader=reader, detector=_Detector(boxes), full_photo_long_side=640)
    result = plaques_from_photo(_photo(rules), engine, village=VILLAGE)
    assert len(reader.full_passes) == 1 and reader.full_passes[0]["long_side"] == 640
    read = [b for b in boxes if case != "unread_box" or b != boxes[6]]
    assert reader.full_passes[0]["skip"] == read                     # lines on boxes already read are not read again
    assert reader.full_passes[0]["keep"] == [b for b in boxes if b not in read]   # unless on a box still in doubt
    assert "王庄村老年人协会" in [p.text for p in result.plaques if p.source == "ocr"]


def test_a_tall_box_over_two_strips_is_not_settled_by_one_reading(rules):
    from audit.signs.engine import _settled
    from audit.signs.names import type_from_text

    party = type_from_text("中共王庄村支部委员会", rules, village=VILLAGE)
    assert party.kind == "official"
    assert _settled(party, 0.99, (0, 0, 40, 400))          # one strip: 10 characters of 40 px fill its width
    assert not _settled(party, 0.99, (0, 0, 100, 400))     # two strips and the gap: the reading fills half
