"""The detector's zoom pass (audit.signs.detect.zoomed): small boards looked at again enlarged, on hand-made boxes
and with the shipped model on a generated 12-MP photo; and small boxes read on the photo's detail image."""

from __future__ import annotations

import io

import numpy as np
import pytest

from audit.signs import detect
from audit.signs.detect import Detection, Detector, zoom_windows, zoomed

IMGSZ = 480


def test_zoom_windows_join_neighbours_enlarge_and_keep_within_the_image():
    size = (1500, 2000)   # height, width: the model's input is 480 / 2000 = 0.24 of a pixel a pixel
    plates = [((300.0, 900.0, 335.0, 925.0), 0.3), ((340.0, 900.0, 375.0, 925.0), 0.2)]   # side by side
    far = [((1950.0, 50.0, 1980.0, 160.0), 0.1)]   # a lone strip at the top right corner
    windows = zoom_windows(plates + far, size, IMGSZ)
    assert len(windows) == 2
    near, corner = windows   # surest first: the two plates' summed confidence
    assert near[0] <= 300 - 2 * 25 and near[2] >= 375 + 2 * 25 and near[1] <= 900 - 2 * 25 and near[3] >= 925 + 50
    for x1, y1, x2, y2 in windows:
        assert 0 <= x1 < x2 <= 2000 and 0 <= y1 < y2 <= 1500
        assert max(x2 - x1, y2 - y1) <= IMGSZ / detect.ZOOM_MIN + 1          # enlarged at least ZOOM_MIN times
        assert min(x2 - x1, y2 - y1) >= IMGSZ / detect.ZOOM_MAX - 1 or x1 == 0 or y1 == 0 or x2 == 2000
    assert corner[2] == 2000 and corner[1] == 0
    # boxes whose windows together would be wider than a window may be are looked at in two windows
    row = [((x, 700.0, x + 30.0, 720.0), 0.2) for x in range(100, 1000, 60)]
    assert all(max(w[2] - w[0], w[3] - w[1]) <= IMGSZ / detect.ZOOM_MIN + 1 for w in zoom_windows(row, size, IMGSZ))
    assert len(zoom_windows(row * 3, size, IMGSZ)) <= detect.ZOOM_WINDOWS


def test_zoomed_splits_a_box_over_two_plates_and_keeps_only_what_it_looked_closer_at():
    image = np.zeros((1500, 2000, 3), np.uint8)
    over_two = Detection((300.0, 900.0, 335.0, 960.0), "plaque", 0.4)     # small: 8 px of the input across
    large = Detection((800.0, 300.0, 1400.0, 500.0), "identity", 0.9)     # no zoom for it
    # a wide sign whose short side is small, too long for a window of its own, reaching into the plates' window
    sign = Detection((100.0, 848.0, 290.0, 882.0), "identity", 0.6)
    windows = zoom_windows([(over_two.box, over_two.conf)], image.shape[:2], IMGSZ)
    assert len(windows) == 1
    x1, y1, x2, y2 = windows[0]
    calls = []

    def look(pixels):   # what a detector sees in the window, in the window's own pixels
        calls.append(pixels.shape)
        at = [((300, 900, 335, 928), 0.9), ((300, 932, 335, 960), 0.85),   # the two plates the box was over
              ((x1 + 10, y1 + 10, x1 + 40, y1 + 30), 0.9),                  # a stone of the wall, under no small box
              ((301, 905, 334, 955), 0.2),                                  # unsure
              ((x1, 895, 335, 962), 0.95),                                  # cut by the window's edge, mostly outside
              ((x1 + 4, 850, 290, 880), 0.9)]                               # the piece of the sign the window holds

        return [Detection((a - x1, b - y1, c - x1, d - y1), "plaque", conf) for (a, b, c, d), conf in at]

    assert zoom_windows([(over_two.box, over_two.conf), (sign.box, sign.conf)], image.shape[:2], IMGSZ) == windows
    assert x1 > 100
    got = zoomed([over_two, large, sign], image, IMGSZ, look)
    assert calls == [(y2 - y1, x2 - x1, 3)]
    boxes = sorted((tuple(round(v) for v in d.box), d.zoomed) for d in got)
    assert boxes == [((100, 848, 290, 882), False), ((300, 900, 335, 928), True), ((300, 932, 335, 960), True),
                     ((800, 300, 1400, 500), False)]
    # a sure box the window sees as one board again keeps its own extent (tighter, the window's box cut characters)
    strip = Detection((600.0, 200.0, 628.0, 353.0), "strip", 0.74)
    (sx1, sy1, _, _), = zoom_windows([(strip.box, strip.conf)], image.shape[:2], IMGSZ)
    tighter = Detection((603.0 - sx1, 203.0 - sy1, 625.0 - sx1, 353.0 - sy1), "strip", 0.72)
    assert zoomed([strip, large], image, IMGSZ, lambda px: [tighter]) == [strip, large]
    # nothing surer seen there: the whole image's boxes stand as they were
    assert zoomed([over_two, large], image, IMGSZ, lambda px: []) == [over_two, large]
    assert zoomed([large], image, IMGSZ, lambda px: pytest.fail("no small box: no window")) == [large]


@pytest.mark.slow
def test_the_zoom_pass_gives_each_small_plate_of_a_12_mp_photo_its_own_box():
    """A generated 12-MP photo (held-out seed 270000003) of the centre from across the square: a grid of 60 × 40
    plates beside a strip, 35 px wide on the 2000-px working image, 8 px in the model's input. The whole photo gives
    boxes over two or three plates at once; enlarged, each plate is boxed alone."""
    from PIL import Image

    from audit.model.synth.scene import generate_scene
    from audit.rules import load_rules
    from audit.signs.intake import photo_from_bytes

    scene = generate_scene(270000003, long_side=4000, side="external", held_out=True)
    buf = io.BytesIO()
    Image.fromarray(scene.image).save(buf, "JPEG", quality=88)
    photo = photo_from_bytes(buf.getvalue(), "square.jpg", rules=load_rules())
    image = np.asarray(photo.image)
    f = image.shape[1] / scene.image.shape[1]
    scale = IMGSZ / max(image.shape[:2])
    small = [np.array(p["box"]) * f for p in scene.truth["plaques"] if p["labelled"] and p["visible"] >= 0.8
             and min(p["box"][2] - p["box"][0], p["box"][3] - p["box"][1]) * f * scale < detect.ZOOM_BELOW_PX]
    assert len(small) >= 6

    def boxed(dets):   # small boards with a kept box fitting them (IoU >= 0.5)
        boxes = [d.box for d in dets if d.conf >= 0.25]
        return sum(any(_iou(b, np.array(d)) >= 0.5 for d in boxes) for b in small)

    detector = Detector()
    whole = boxed(detector.detect(image, conf=0.05))
    closer = boxed(detector.detect(image, conf=0.05, zoom=True))
    assert closer >= whole + 3 and closer >= 0.6 * len(small), (whole, closer, len(small))


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_small_boxes_are_read_on_the_photos_detail_image():
    from audit.signs.engine import READ_DETAIL_PX, _board_crop

    image = np.zeros((100, 200, 3), np.uint8)
    big = np.zeros((200, 400, 3), np.uint8)
    big[:, :, 0] = 7   # the detail image's pixels, told apart by their red
    small_box = (10.0, 10.0, 10.0 + READ_DETAIL_PX - 8, 90.0)
    crop = _board_crop(image, small_box, lambda: (big, 2.0))
    assert crop.shape[:2] == (160, 2 * (READ_DETAIL_PX - 8)) and crop[..., 0].max() == 7
    large_box = (10.0, 10.0, 10.0 + READ_DETAIL_PX + 8, 10.0 + READ_DETAIL_PX + 8)
    assert _board_crop(image, large_box, lambda: (big, 2.0))[..., 0].max() == 0          # the working image's
    assert _board_crop(image, small_box, lambda: None).shape[:2] == (80, READ_DETAIL_PX - 8)   # no detail image
    assert _board_crop(image, small_box).shape[:2] == (80, READ_DETAIL_PX - 8)
