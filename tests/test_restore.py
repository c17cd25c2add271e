"""A photo smeared by a moving hand is read after the smear is undone (audit.signs.restore, the engine's use of it).

The photos are drawn here: strips with a Song face on a plastered wall, smeared by averaging the photo shifted along
a line (not the restorer's own kernel), with sensor noise and JPEG."""

from __future__ import annotations

import io
import math

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from audit.signs.restore import Motion, line_kernel, motion_of, unsmeared

VILLAGE = "王庄村"
NAMES = ["中共王庄村支部委员会", "王庄村村民委员会", "王庄村股份经济合作社", "王庄村村务监督委员会"]
PLAQUE = ["王庄村", "民兵连"]


def _facade(strip_w: int = 60, names: list[str] = NAMES) -> np.ndarray:
    from audit.signs.fonts import faces_for, font

    rng = np.random.default_rng(0)
    wall = np.full((1000, 1600, 3), (196, 180, 160), np.float32)
    wall += rng.normal(0, 6, (1000, 1600, 1)).astype(np.float32)   # plaster grain
    for y in range(0, 1000, 90):                                     # courses
        wall[y:y + 3] -= 40
    img = Image.fromarray(np.clip(wall, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    face = font(faces_for("song", False)[0], int(strip_w * 0.7))
    x = 200
    for name in names:
        pitch = int(strip_w * 0.75)
        draw.rectangle([x, 250, x + strip_w, 250 + pitch * len(name) + strip_w], fill=(250, 250, 248),
                       outline=(150, 150, 150), width=2)
        for i, ch in enumerate(name):
            ink = (200, 20, 20) if name.startswith("中共") else (20, 20, 20)
            draw.text((x + strip_w * 0.15, 250 + strip_w * 0.5 + i * pitch), ch, fill=ink, font=face)
        x += int(strip_w * 2.6)
    # a two-line plaque (recognition alone reads one line: its restored crop needs the second look)
    size = int(strip_w * 0.8)
    draw.rectangle([x, 300, x + 4 * size, 300 + 3 * size], fill=(250, 250, 248), outline=(150, 150, 150), width=2)
    for row, line in enumerate(PLAQUE):
        draw.text((x + size * 0.5, 300 + size * (0.4 + 1.2 * row)), line, fill=(20, 20, 20), font=face.font_variant(
            size=size))
    return np.asarray(img)


def _smeared(img: np.ndarray, length: float, degrees: float) -> np.ndarray:
    a = math.radians(degrees)
    steps = np.linspace(-length / 2, length / 2, 4 * int(length) + 1)
    acc = np.zeros(img.shape, np.float32)
    for t in steps:
        shift = np.float32([[1, 0, t * math.cos(a)], [0, 1, t * math.sin(a)]])
        acc += cv2.warpAffine(img.astype(np.float32), shift, (img.shape[1], img.shape[0]),
                              borderMode=cv2.BORDER_REFLECT)
    return acc / len(steps)


def _jpeg(img: np.ndarray, noise: float = 3.0) -> bytes:
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    Image.fromarray(np.clip(img + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8)).save(buf, "JPEG",
                                                                                                 quality=88)
    return buf.getvalue()


def _grey(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"))


@pytest.fixture(scope="module")
def facade() -> np.ndarray:
    return _facade()


@pytest.mark.parametrize(("length", "degrees"), [(12, 0), (20, 35), (28, 100), (16, 150), (24, -60)])
def test_a_straight_smear_is_found_at_its_length_and_angle(facade, length, degrees):
    motion = motion_of(_grey(_jpeg(_smeared(facade, length, degrees))))
    assert motion is not None
    assert motion.length == pytest.approx(length, abs=1.5)
    off = (math.degrees(motion.angle) - degrees) % 180   # a smear has no direction: θ and θ + 180° are one
    assert min(off, 180 - off) < 6


def test_the_kernel_is_a_line_of_the_smear():
    kernel = line_kernel(Motion(20.0, math.radians(90), 30.0))
    assert kernel.sum() == pytest.approx(1.0)
    cols = np.nonzero(kernel.sum(axis=0))[0]
    rows = np.nonzero(kernel.sum(axis=1))[0]
    assert len(cols) <= 2 and 20 <= len(rows) <= 22   # vertical, 20 px long


def test_undoing_the_smear_brings_the_photo_back(facade):
    smeared = np.clip(_smeared(facade, 20, 35), 0, 255).astype(np.uint8)
    motion = motion_of(cv2.cvtColor(smeared, cv2.COLOR_RGB2GRAY))
    restored = unsmeared(smeared, motion)
    assert restored.shape == facade.shape and restored.dtype == np.uint8
    strips = (slice(250, 800), slice(200, 900))   # the text (the wall's grain the smear averaged out is lost)
    err_before = np.abs(smeared[strips].astype(float) - facade[strips]).mean()
    err_after = np.abs(restored[strips].astype(float) - facade[strips]).mean()
    assert err_after < 0.8 * err_before          # 17.0 -> 12.3 grey levels
    grey = unsmeared(cv2.cvtColor(smeared, cv2.COLOR_RGB2GRAY), motion)
    assert grey.ndim == 2


@pytest.fixture(scope="module")
def engine():
    from audit.signs.engine import Engine

    return Engine.load()


def test_a_smeared_photo_is_read_after_the_smear_is_undone(engine, facade):
    from audit.signs.engine import plaques_from_photo
    from audit.signs.intake import photo_from_bytes

    photo = photo_from_bytes(_jpeg(_smeared(facade, 26, 70)), "smeared.jpg", rules=engine.rules)
    read = {}
    for restore in (False, True):
        engine.restore_motion = restore
        try:
            result = plaques_from_photo(photo, engine, village=VILLAGE)
        finally:
            engine.restore_motion = True
        read[restore] = (sorted(p.type for p in result.plaques if p.kind == "official"), result.quality)
    official, quality = read[True]
    assert official == ["collective_economy", "militia", "party_org", "supervision_committee", "villagers_committee"]
    assert quality.restored_motion_px == pytest.approx(26, abs=1.5)
    assert "blurry" in quality.flags                        # still asked to retake: the reading is the filter's
    assert any("抖动拖影" in m for m in quality.messages)
    # as taken, the same photo reads fewer of them (the restoration is what reads them)
    assert len(read[False][0]) < len(official) and read[False][1].restored_motion_px is None


def test_a_smeared_plaque_of_two_lines_is_read_on_its_restored_crop(engine):
    # alone on the wall, so that only its own restored crop can read it (recognition alone reads one line of it)
    from audit.signs.engine import plaques_from_photo
    from audit.signs.intake import photo_from_bytes

    photo = photo_from_bytes(_jpeg(_smeared(_facade(names=[]), 26, 70)), "plaque.jpg", rules=engine.rules)
    result = plaques_from_photo(photo, engine, village=VILLAGE)
    assert [(p.type, p.text) for p in result.plaques if p.kind == "official"] == [("militia", "王庄村民兵连")]
    assert result.quality.restored_motion_px is not None


def test_a_photo_judged_sharp_is_restored_only_from_a_deep_smear(engine, facade):
    # smeared along the wall's courses: their edges stay sharp, the photo is judged sharp, the text is smeared
    from audit.signs.engine import plaques_from_photo
    from audit.signs.intake import photo_from_bytes, sharpness
    from audit.signs.restore import SHARP_PHOTO_PEAK_DEPTH

    photo = photo_from_bytes(_jpeg(_smeared(facade, 18, 0)), "courses.jpg", rules=engine.rules)
    assert sharpness(photo.image) >= engine.rules.photos.min_sharpness
    assert motion_of(np.asarray(photo.image.convert("L"))).depth >= SHARP_PHOTO_PEAK_DEPTH
    result = plaques_from_photo(photo, engine, village=VILLAGE)
    assert result.quality.restored_motion_px == pytest.approx(18, abs=1.5) and not result.quality.flags
    assert len([p for p in result.plaques if p.kind == "official"]) == 5


def test_a_sharp_photo_is_read_as_taken(engine, facade):
    from audit.signs.engine import plaques_from_photo
    from audit.signs.intake import photo_from_bytes

    result = plaques_from_photo(photo_from_bytes(_jpeg(facade), "sharp.jpg", rules=engine.rules), engine,
                                village=VILLAGE)
    assert result.quality.restored_motion_px is None
    assert len([p for p in result.plaques if p.kind == "official"]) == 5
