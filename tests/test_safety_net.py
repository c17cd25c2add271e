"""The safety net for boards the detector misses (issue 13): whole-photo text lines grouped into boards by
layout, so that a missed board is one board with one reading, never two half-boards. Crafted inputs: boards
drawn on a wall with a CJK font, the text lines' boxes given as the whole-photo pass would give them."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from audit.signs.ocr import TextLine, board_groups

WALL = (150, 148, 140)
WHITE = (246, 246, 240)
RED_BOARD = (170, 28, 30)
GOLD = (232, 196, 90)
BLACK = (20, 20, 20)
RED_INK = (200, 20, 20)
FRAME = (120, 90, 50)


def _font(size: int):
    from audit.signs.fonts import faces_for, font

    return font(faces_for("song", False)[0], size)


def _write(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, ink, size: int, *, vertical: bool = False):
    """Draw a line (or a column) of text and return its box as text detection pads it (a few pixels)."""
    f = _font(size)
    x, y = xy
    if vertical:
        for i, ch in enumerate(text):
            draw.text((x, y + i * size), ch, fill=ink, font=f)
        return TextLine(text, 0.95, (x - 3, y - 3, x + size + 3, y + len(text) * size + 3), True)
    draw.text((x, y), text, fill=ink, font=f)
    return TextLine(text, 0.95, (x - 3, y - 3, x + len(text) * size + 3, y + size + 3), False)


def _texts(groups: list[list[TextLine]]) -> list[list[str]]:
    return sorted(sorted(ln.text for ln in g) for g in groups)


def test_lines_of_one_honour_plate_are_one_board():
    # Gold on red, three lines far apart (gaps of 1.7 line heights): one plate.
    im = Image.new("RGB", (420, 300), WALL)
    d = ImageDraw.Draw(im)
    d.rectangle([40, 20, 380, 280], fill=RED_BOARD)
    lines = [_write(d, (80, 40), "先进基层党组织", GOLD, 36),
             _write(d, (110, 140), "中共东平县委员会", GOLD, 24),
             _write(d, (120, 220), "二〇二五年", GOLD, 24)]
    assert _texts(board_groups(lines, np.asarray(im))) == [sorted(ln.text for ln in lines)]


def test_two_boards_stacked_with_wall_between_are_two():
    im = Image.new("RGB", (400, 260), WALL)
    d = ImageDraw.Draw(im)
    d.rectangle([40, 20, 360, 100], fill=WHITE)
    d.rectangle([40, 130, 360, 210], fill=WHITE)
    lines = [_write(d, (70, 45), "王庄村老年人协会", BLACK, 30), _write(d, (70, 155), "王庄村红白理事会", BLACK, 30)]
    assert _texts(board_groups(lines, np.asarray(im))) == [["王庄村红白理事会"], ["王庄村老年人协会"]]


def test_two_framed_strips_side_by_side_are_two():
    im = Image.new("RGB", (300, 420), WHITE)  # a white wall: only the frames tell the strips apart
    d = ImageDraw.Draw(im)
    for x in (60, 140):
        d.rectangle([x, 20, x + 60, 400], fill=WHITE, outline=FRAME, width=6)
    lines = [_write(d, (75, 40), "王庄村民兵连", BLACK, 30, vertical=True),
             _write(d, (155, 40), "王庄村村务监督", BLACK, 30, vertical=True)]
    assert len(board_groups(lines, np.asarray(im))) == 2


def test_two_columns_of_one_strip_are_one_board():
    im = Image.new("RGB", (300, 420), WALL)
    d = ImageDraw.Draw(im)
    d.rectangle([80, 20, 220, 400], fill=WHITE)
    lines = [_write(d, (160, 40), "中共东平县城关镇", BLACK, 30, vertical=True),
             _write(d, (105, 40), "王庄村支部委员会", BLACK, 30, vertical=True)]
    assert len(board_groups(lines, np.asarray(im))) == 1


def test_another_ink_or_another_background_is_another_board():
    im = Image.new("RGB", (400, 200), WHITE)
    d = ImageDraw.Draw(im)
    red, black = _write(d, (40, 30), "中共王庄村支部委员会", RED_INK, 30), _write(d, (40, 90), "王庄村民委员会", BLACK, 30)
    assert len(board_groups([red, black], np.asarray(im))) == 2
    im = Image.new("RGB", (400, 200), WHITE)
    d = ImageDraw.Draw(im)
    d.rectangle([0, 80, 400, 200], fill=(40, 80, 170))   # a blue sign right under a white one
    top, bottom = _write(d, (40, 30), "王庄村老年人协会", BLACK, 30), _write(d, (40, 100), "王庄超市", WHITE, 30)
    assert len(board_groups([top, bottom], np.asarray(im))) == 2


def test_stacked_lines_farther_than_three_line_heights_are_two_boards():
    im = Image.new("RGB", (400, 400), WHITE)
    d = ImageDraw.Draw(im)
    lines = [_write(d, (40, 20), "王庄村老年人协会", BLACK, 30), _write(d, (40, 300), "王庄村红白理事会", BLACK, 30)]
    assert len(board_groups(lines, np.asarray(im))) == 2


class _Reader:
    """The whole-photo pass returns the crafted lines; no box was detected, so no crop is read."""

    def __init__(self, lines: list[TextLine]) -> None:
        self._lines = lines

    def lines_at(self, image, *, skip=(), keep=(), min_score=0.5, scale=1.0):
        return list(self._lines)

    def map(self, fn, items):
        return [fn(x) for x in items]

    def read_plaques(self, crops):
        return [[] for _ in crops]


class _NoBoxes:
    path = None

    def detect(self, image, *, conf=0.25, iou=0.5, zoom=False):
        return []


@pytest.fixture()
def honour_photo():
    im = Image.new("RGB", (640, 480), WALL)
    d = ImageDraw.Draw(im)
    d.rectangle([120, 60, 520, 380], fill=RED_BOARD)
    lines = [_write(d, (170, 100), "先进基层党组织", GOLD, 44),
             _write(d, (220, 230), "中共东平县委员会", GOLD, 24),
             _write(d, (260, 310), "二〇二五年", GOLD, 24)]
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue(), lines


def test_a_missed_honour_plate_is_one_board_with_one_reading(rules, honour_photo):
    """The detector boxes nothing; the whole-photo lines of a gold-on-red honour plate (its issuer line,
    中共东平县委员会, reads alone as an unlisted committee) come out as one honour board, not an honour and a
    must-fix unauthorised sign."""
    from audit.signs.engine import Engine, plaques_from_photo
    from audit.signs.intake import photo_from_bytes

    data, lines = honour_photo
    engine = Engine(rules=rules, reader=_Reader(lines), detector=_NoBoxes())
    result = plaques_from_photo(photo_from_bytes(data, "honour.png", rules=rules), engine, village="王庄村")
    assert [(p.kind, p.source) for p in result.plaques] == [("honour", "ocr")]
    x1, y1, x2, y2 = result.plaques[0].bbox
    assert x1 < 230 and y1 < 110 and x2 > 400 and y2 > 330   # the box spans all three lines


def test_a_line_box_spilling_onto_the_wall_keeps_its_boards_white():
    # A small plate filled with text: the second line's box (as text detection pads it) runs past the plate onto a
    # pink wall. Text and wall together make half of that box, so its median colour is the wall's; the plate's
    # white is still the box's most frequent colour, and the two lines are one board.
    pink = (222, 160, 170)
    im = Image.new("RGB", (260, 130), pink)
    d = ImageDraw.Draw(im)
    d.rectangle([40, 20, 150, 84], fill=WHITE)
    from audit.signs.fonts import faces_for, font

    bold = font(faces_for("hei", False)[0], 26)
    d.text((44, 24), "马坊村村", fill=BLACK, font=bold)
    d.text((44, 56), "民委员会", fill=BLACK, font=bold)
    first = TextLine("马坊村村", 0.95, (41.0, 21.0, 149.0, 53.0), False)
    second = TextLine("民委员会", 0.95, (36.0, 52.0, 165.0, 100.0), False)   # 4-16 px past the plate
    image = np.asarray(im)
    px = image[52:100, 36:165].reshape(-1, 3).astype(np.float32)
    assert np.linalg.norm(np.median(px, axis=0) - np.float32(WHITE)) > 40   # the median is not the plate's white
    assert _texts(board_groups([first, second], image)) == [["民委员会", "马坊村村"]]
