"""The typeface classifier: text found in the crop itself, the shipped ONNX model on small real boards, its gates,
and no torch at run time."""

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from audit.signs import typeface as tf
from audit.signs.fonts import available_faces

UKAI = Path("/usr/share/fonts/truetype/arphic/ukai.ttc")  # Debian fonts-arphic-ukai (Makefile DEB_PACKAGES)
SUNGTI = Path("/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf")  # fonts-arphic-gbsn00lp: held out


def column(path: str, text: str = "王庄村村民委员会", em: int = 56, *, index: int = 0, frame: bool = False,
           vertical: bool = True, ink=(20, 20, 22)) -> np.ndarray:
    """A white board with ``text`` one character per ``1.15 em``, in one column (or one line)."""
    f = ImageFont.truetype(path, em, index=index)
    pitch = int(em * 1.15)
    long_side, short = pitch * len(text) + em, int(em * 1.6)
    size = (short, long_side) if vertical else (long_side, short)
    img = Image.new("RGB", size, (247, 247, 244))
    draw = ImageDraw.Draw(img)
    for i, ch in enumerate(text):
        c = em // 2 + pitch * i + pitch // 2
        draw.text((short / 2, c) if vertical else (c, short / 2), ch, font=f, fill=ink, anchor="mm")
    if frame:
        draw.rectangle((0, 0, size[0] - 1, size[1] - 1), outline=(120, 90, 60), width=max(3, em // 8))
    return np.asarray(img)


def face(key: str):
    return available_faces()[key]


def test_lines_are_found_in_the_crop_with_the_characters_width():
    f = face("serif")
    crop = column(f.path, "王庄村民兵连", 60, index=f.index)
    batch, width = tf.windows_of_crop(crop)
    pil = ImageFont.truetype(f.path, 60, index=f.index)
    ink_widths = [(lambda b: b[2] - b[0])(pil.getmask(ch).getbbox()) for ch in "王庄村民兵连"]
    assert np.median(ink_widths) * 0.8 <= width <= max(ink_widths) * 1.05
    # six characters 69 px apart, windows 1.2 widths high every half window: about a window a character
    assert 6 <= len(batch) <= 14
    assert batch.shape[1:] == (1, tf.INPUT_PX, tf.INPUT_PX) and batch.dtype == np.float32
    assert 0.0 <= batch.min() and batch.max() <= 1.0 and batch.mean() < 0.5  # ink is 1 on paper 0


def test_a_frame_is_not_a_line_and_horizontal_text_is_read_across():
    f = face("serif")
    plain = tf.windows_of_crop(column(f.path, "村民委员会", 50, index=f.index))[1]
    framed = tf.windows_of_crop(column(f.path, "村民委员会", 50, index=f.index, frame=True))[1]
    assert framed == pytest.approx(plain, abs=2)
    across, height = tf.windows_of_crop(column(f.path, "村民委员会", 50, index=f.index, vertical=False))
    assert height == pytest.approx(plain, rel=0.25)  # the line's height is about the column's width
    assert len(across) >= 5


def test_a_blank_board_has_no_text():
    assert len(tf.windows_of_crop(np.full((300, 60, 3), 240, np.uint8))[0]) == 0
    model = tf.classifier()
    assert model is not None, "models/typeface.onnx is part of the repository"
    reading = model.reading(np.full((300, 60, 3), 240, np.uint8))
    assert (reading.typeface, reading.reason) == ("unknown", "no_text")


def test_the_shipped_model_reads_song_and_hei():
    model = tf.classifier()
    song = model.reading(column(face("serif").path, index=face("serif").index))
    assert song.typeface == "song" and tf.matches(song, "song") is True
    # SimHei is held out: never seen in training
    hei = model.reading(column(face("simhei").path, ink=(200, 22, 28)))
    assert hei.typeface == "hei" and tf.matches(hei, "song") is False
    assert set(hei.probabilities) == {"song", "hei", "kai"}
    assert sum(hei.probabilities.values()) == pytest.approx(1.0, abs=0.01)


@pytest.mark.skipif(not UKAI.is_file(), reason="Debian fonts-arphic-ukai is not installed (make system-packages)")
def test_the_shipped_model_reads_kai():
    reading = tf.classifier().reading(column(str(UKAI), "李家村民兵连", 64))
    assert reading.typeface == "kai" and tf.matches(reading, "song") is False


@pytest.mark.skipif(not SUNGTI.is_file(), reason="Debian fonts-arphic-gbsn00lp is not installed (make system-packages)")
def test_a_held_out_song_design_is_not_called_another_typeface():
    reading = tf.classifier().reading(column(str(SUNGTI), "中共龙泉村支部委员会", 64, ink=(200, 22, 28)))
    assert tf.matches(reading, "song") is not False


def narrowed(crop: np.ndarray, share: float) -> np.ndarray:
    """A board photographed from the side: its width foreshortened to ``share``."""
    return cv2.resize(crop, (round(crop.shape[1] * share), crop.shape[0]), interpolation=cv2.INTER_AREA)


@pytest.mark.skipif(not SUNGTI.is_file(), reason="Debian fonts-arphic-gbsn00lp is not installed (make system-packages)")
@pytest.mark.parametrize("vertical", [True, False])
def test_a_song_board_seen_from_the_side_is_stretched_back_before_its_typeface_is_judged(vertical, monkeypatch):
    """Narrowed to 0.6 of its width, a held-out Song's verticals are as thin as its horizontals: read as it is,
    the column is called not Song and the line left undecided; its characters stretched back square, it is Song."""
    side_on = narrowed(column(str(SUNGTI), "中共龙泉村支部委员会", 64, vertical=vertical, ink=(200, 22, 28)), 0.6)
    reading = tf.classifier().reading(side_on)
    assert 1.4 <= reading.stretched <= 2.0
    assert tf.matches(reading, "song") is True
    monkeypatch.setattr(tf, "FORESHORTENED", 1e-9)  # never stretched back
    as_seen = tf.classifier().reading(side_on)
    assert as_seen.stretched == 1.0 and tf.matches(as_seen, "song") is not True


def test_a_small_board_stretched_back_is_still_small():
    """26-px characters narrowed to 0.6: lines of about 13 px in the photo, stretched back to about 21. The size gate
    judges the detail the photo holds (scene 32000035 at 4000 px: a 3-px plate stretched back had passed as Song)."""
    reading = tf.classifier().reading(narrowed(column(face("simhei").path, em=26), 0.6))
    assert reading.stretched > 1.4 and reading.char_px < tf.SMALL_MODEL_MIN_CHAR_PX
    assert (reading.typeface, reading.reason) == ("unknown", "small")


@pytest.mark.parametrize("vertical", [True, False])
@pytest.mark.parametrize("font_key", ["simhei", "ukai"])
def test_stretching_a_board_back_does_not_pass_hei_or_kai_as_song(font_key, vertical):
    path = str(UKAI) if font_key == "ukai" else face(font_key).path
    if not Path(path).is_file():
        pytest.skip("Debian fonts-arphic-ukai is not installed (make system-packages)")
    reading = tf.classifier().reading(narrowed(column(path, "李家村村民委员会", 64, vertical=vertical), 0.6))
    assert reading.stretched > 1.3 and tf.matches(reading, "song") is False


@pytest.mark.parametrize("vertical", [True, False])
@pytest.mark.parametrize("text", ["王庄村村民委员会", "三里村民兵连", "三合村村务监督委员会"])
def test_a_board_seen_square_on_is_not_stretched(text, vertical):
    """Characters whose strokes stand apart (三, 旦) or whose halves do (村 in a line) are one character each."""
    for key in ("serif", "simhei"):
        f = face(key)
        windows = tf._ink_windows(column(f.path, text, 64, index=f.index, vertical=vertical))
        assert windows.stretched == 1.0, (key, text, vertical)


def _bars(ink: np.ndarray, x0: int, x1: int, y0: int, heights: list[int], gap: int) -> int:
    """Horizontal bars of ink ``heights`` high, ``gap`` apart, across columns ``[x0, x1)`` from row ``y0``."""
    for h in heights:
        ink[y0:y0 + h, x0:x1] = True
        y0 += h + gap
    return y0


def test_the_strokes_of_one_character_are_one_character(monkeypatch):
    """A column 60 px wide: 三 (three 6-px strokes 20 px apart) over two square characters, twice. Its strokes stand
    further apart than CHAR_GAP; joined as pieces of one character, the column's characters are about square."""
    ink = np.zeros((480, 60), bool)
    y = 0
    for _ in range(2):
        y = _bars(ink, 0, 60, y, [6, 6, 6], 20) + 16  # 三, 58 px high
        y = _bars(ink, 0, 60, y, [56], 0) + 16
        y = _bars(ink, 0, 60, y, [56], 0) + 16
    lines = tf._text_lines(ink)
    assert lines == [(0, 60)]
    assert tf.char_aspect(ink, lines) == pytest.approx(60 / 56, rel=0.1)
    assert tf.foreshortening(ink, lines, True) == (1.0, 1.0)
    monkeypatch.setattr(tf, "CHAR_PIECE", 0.0)  # the strokes taken for characters: 60 / 6 each
    assert tf.char_aspect(ink, lines) > 2


def test_character_runs_close_the_gaps_inside_a_character():
    inked = np.array([1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 1], bool)  # runs of 2, 3 and 1, gaps of 2 and 3
    assert tf.character_runs(inked, 2 / tf.CHAR_GAP) == [(0, 2), (4, 7), (10, 11)]  # a gap of 2 is not under 2
    assert tf.character_runs(inked, 2.5 / tf.CHAR_GAP)[0] == (0, 7)  # the gap of 2 closed, the gap of 3 not


def test_characters_are_measured_on_whole_lines_only(monkeypatch):
    """Photographed, a plate's second line (监督委员会: 监 and 督 each have a gap across their middle) was split at a
    valley into two lines of 0.6 its width, whose characters look narrow (seed 52000000's 270th board of
    ``bench/style_eval.py``'s renderer): the plate was stretched by 1.29 and its Song called Hei (P 0.14)."""
    ink = np.zeros((300, 200), bool)
    for k in range(3):  # a whole line of square characters: 90 × 88
        ink[10 + 100 * k:98 + 100 * k, 0:90] = True
    for x0 in (110, 158):  # the halves of a split line: 45 × 88
        for k in range(3):
            ink[10 + 100 * k:98 + 100 * k, x0:x0 + 45] = True
    lines = [(0, 90), (110, 155), (158, 203)]
    assert tf.char_aspect(ink, lines) == pytest.approx(90 / 88)
    monkeypatch.setattr(tf, "CHAR_LINE_SHARE", 0.0)
    assert tf.char_aspect(ink, lines) == pytest.approx(45 / 88)


def test_characters_run_together_are_not_measured(monkeypatch):
    """Seed 31000000's 366th board of ``bench/style_eval.py --n 700``: a 28-px SungtiL GB line at dusk whose last five
    characters ran together into two runs (51 and 80 px along a 26-px line) looked narrowed, was stretched 1.26 × and
    called Hei at P 0.09. Runs over CHAR_RUN_TOGETHER times the line's median are not measured."""
    ink = np.zeros((240, 30), bool)
    for y0, y1 in ((0, 28), (34, 62), (68, 128), (134, 224)):  # two characters, then two and three run together
        ink[y0:y1, 1:29] = True
    lines = [(0, 30)]
    assert tf.char_aspect(ink, lines) == pytest.approx(28 / 28)
    assert tf.foreshortening(ink, lines, False) == (1.0, 1.0)
    monkeypatch.setattr(tf, "CHAR_RUN_TOGETHER", float("inf"))
    assert tf.char_aspect(ink, lines) < 0.8


def test_small_or_blurred_characters_cannot_be_told():
    f = face("simhei")
    model = tf.classifier()
    small = model.reading(column(f.path, em=12))
    assert (small.typeface, small.reason) == ("unknown", "small")
    blurred = cv2.GaussianBlur(column(f.path, em=56), (0, 0), 7)
    reading = model.reading(blurred)
    assert (reading.typeface, reading.reason) == ("unknown", "blurred")
    assert tf.matches(reading, "song") is None


@pytest.mark.parametrize("angle", [0, 35, 90, 150])
def test_characters_smeared_by_a_shaken_photo_cannot_be_told(angle):
    # A Song strip of 56-px characters smeared 24 px one way (a shaken phone): the edges along the smear stay
    # steep, so only their running one way shows it. The same strip sharp, or softly blurred every way, is read.
    f = face("serif")
    sharp = column(f.path, em=56, index=f.index)
    model = tf.classifier()
    assert model.reading(sharp).typeface == "song"
    assert model.reading(cv2.GaussianBlur(sharp, (0, 0), 1.0)).typeface == "song"
    k = 25
    kernel = np.zeros((k, k), np.float32)
    a = np.deg2rad(angle)
    for t in np.linspace(-(k // 2), k // 2, 2 * k):
        kernel[int(round(k // 2 + t * np.sin(a))), int(round(k // 2 + t * np.cos(a)))] = 1
    smeared = cv2.filter2D(sharp, -1, kernel / kernel.sum())
    batch, _ = tf.windows_of_crop(smeared)
    assert tf.coherence_of(batch) > tf.MAX_COHERENCE > tf.coherence_of(tf.windows_of_crop(sharp)[0])
    reading = model.reading(smeared)
    # (smeared along the column, the characters also run into each other: the line may read as too small first)
    assert reading.typeface == "unknown" and reading.reason in (("blurred", "small") if angle == 90 else ("blurred",))


def two_lines(em: int, gap: int, blur: float) -> np.ndarray:
    """A 60 × 40-style plate: two lines of five characters ``gap`` px apart, blurred (their profiles overlap)."""
    f = ImageFont.truetype(str(SUNGTI), em)
    img = Image.new("RGB", (int(em * 6.75), em * 3 + gap), (247, 247, 244))
    draw = ImageDraw.Draw(img)
    for k, line in enumerate(("十里铺村务", "监督委员会")):
        for i, ch in enumerate(line):
            draw.text((em * (1.05 + 1.15 * i), em + k * (em + gap)), ch, font=f, fill=(20, 20, 22), anchor="mm")
    return cv2.GaussianBlur(np.asarray(img), (0, 0), blur)


@pytest.mark.parametrize(("em", "gap", "blur", "lo", "hi"), [
    (40, 4, 2.5, 30, 42),   # read as one 80-px line before: windows over both lines
    (14, 2, 1.2, 11, 16),   # 30 px before
])
def test_two_close_blurred_lines_are_two_lines(em, gap, blur, lo, hi):
    assert lo <= tf.windows_of_crop(two_lines(em, gap, blur))[1] <= hi


def test_a_column_of_large_song_characters_is_one_line():
    """The dips between one column's strokes (to 0.2–0.3 of its peaks) are not a gap between lines."""
    crop = column(str(SUNGTI), "中共王庄村支部委员会", 110)
    width = tf.windows_of_crop(crop)[1]
    assert 85 <= width <= 115


@pytest.mark.parametrize(("font_key", "em", "char_px", "song"), [
    ("simhei", 16, 14.0, None),      # lines of 14 px: too small, not judged
    ("simhei", 22, 18.5, False),     # 18 px: judged by the small-character model from 16 px, Hei is not Song
    ("sungti", 20, 17.0, None),      # the held-out SungtiL GB at 17 px: cannot tell (P(song) about 0.12), not "not Song"
    ("simhei", 26, 22.0, False),     # 22 px: the small-character model, and Hei is not Song
    ("sungti", 26, 22.0, True),      # the held-out SungtiL GB at the same size is Song
    ("simhei", 30, 25.0, False),     # 25 px: the small-character model too
    ("sungti", 30, 25.0, True),
    ("simhei", 40, 33.0, False),     # from 28 px: the main model
])
def test_lines_from_16_px_are_judged(font_key, em, char_px, song):
    path = str(SUNGTI) if font_key == "sungti" else face(font_key).path
    reading = tf.classifier().reading(column(path, em=em))
    assert reading.char_px == pytest.approx(char_px, abs=1.5)
    assert reading.small_model is (tf.classifier().min_char_px <= reading.char_px < tf.SMALL_CHAR_PX)
    assert tf.matches(reading, "song") is song


def test_without_the_small_character_model_lines_under_24_px_are_not_judged(tmp_path):
    model = tf.TypefaceClassifier(small_path=tmp_path / "absent.onnx")
    assert model.min_char_px == tf.MIN_CHAR_PX == 24.0
    reading = model.reading(column(face("simhei").path, em=26))
    assert (reading.typeface, reading.reason, reading.small_model) == ("unknown", "small", False)
    at_25 = model.reading(column(face("simhei").path, em=30))  # the main model judges from 24 px
    assert at_25.small_model is False and tf.matches(at_25, "song") is False
    with pytest.raises(FileNotFoundError):
        model.probabilities(np.zeros((1, 1, tf.INPUT_PX, tf.INPUT_PX), np.float32), small=True)


def test_the_small_character_model_reads_windows_on_its_own_scale():
    """The small model was trained on windows scaled to the 99.5th percentile of ink, not the 95th (so that a
    Song's thin horizontals stay fainter than its verticals): the reading gives it windows on that scale."""
    crop = cv2.GaussianBlur(column(str(SUNGTI), em=26), (0, 0), 0.8)  # soft, as a photo: the two scales differ
    model = tf.classifier()
    own = model.probabilities(tf.windows_of_crop(crop, ink_quantile=tf.SMALL_MODEL_INK_QUANTILE)[0], small=True)
    other = model.probabilities(tf.windows_of_crop(crop)[0], small=True)
    reading = model.reading(crop)
    assert reading.small_model
    assert reading.probabilities["song"] == pytest.approx(float(own.mean(axis=0)[0]), abs=1e-3)
    assert abs(float(own.mean(axis=0)[0]) - float(other.mean(axis=0)[0])) > 0.01


@pytest.mark.parametrize(("char_px", "p_song", "song"), [
    (26.0, 0.08, None),   # under 28 px "not Song" needs P(song) <= 0.05
    (26.0, 0.05, False),
    (27.9, 0.06, None),
    (28.0, 0.12, False),  # from 28 px: P(song) <= 0.15
    (28.0, 0.15, False),
    (28.0, 0.16, None),
    (24.0, 0.30, True),
    (24.0, 0.29, None),
])
def test_small_lines_need_a_lower_song_probability_to_fail(char_px, p_song, song):
    probs = {"song": p_song, "hei": 1.0 - p_song, "kai": 0.0}
    reading = tf.TypefaceReading("hei" if p_song < 0.5 else "song", max(probs.values()), char_px, 10, "", probs)
    assert tf.matches(reading, "song") is song


@pytest.mark.parametrize(("char_px", "p_song", "song"), [
    (27.0, 0.10, False),  # the small-character model: from 22 px "not Song" at P(song) <= 0.10
    (22.0, 0.10, False),
    (22.0, 0.11, None),
    (21.9, 0.10, None),   # 20–22 px: P(song) <= 0.05
    (20.0, 0.05, False),
    (20.0, 0.30, True),
    (19.9, 0.05, None),   # 16–20 px: P(song) <= 0.03
    (19.9, 0.03, False),
    (16.0, 0.03, False),
    (16.0, 0.04, None),
    (16.0, 0.30, True),
])
def test_the_small_character_models_thresholds(char_px, p_song, song):
    probs = {"song": p_song, "hei": 1.0 - p_song, "kai": 0.0}
    reading = tf.TypefaceReading("hei" if p_song < 0.5 else "song", max(probs.values()), char_px, 10, "", probs,
                                 small_model=True)
    assert tf.matches(reading, "song") is song


def test_the_model_takes_windows_of_any_count():
    model = tf.classifier()
    probs = model.probabilities(np.zeros((5, 1, tf.INPUT_PX, tf.INPUT_PX), np.float32))
    assert probs.shape == (5, 3)
    assert model.probabilities(np.zeros((0, 1, tf.INPUT_PX, tf.INPUT_PX), np.float32)).shape == (0, 3)


def test_run_time_never_imports_torch():
    code = ("import sys, numpy as np; from audit.signs.style import style_checks; from audit.rules import load_rules;"
            "r = load_rules(); c = np.full((400, 80, 3), 250, np.uint8); c[50:350, 30:50] = 20;"
            "style_checks(c, (80, 400), r.plaque('militia'), r, traditional=False);"
            "print('torch' in sys.modules, 'onnxruntime' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]


def test_the_training_network_width_is_an_option_and_defaults_to_the_shipped_network(monkeypatch, tmp_path):
    torch = pytest.importorskip("torch")
    from audit.model import typeface as training

    def weights(net) -> int:
        return sum(p.numel() for p in net.parameters())

    assert training.NET_WIDTH == (16, 32, 48)
    assert weights(training._net()) == 19_027  # the shipped models' network (models/TYPEFACE_CARD.md)
    wide = training._net((32, 64, 96))
    assert weights(wide) > 3 * 19_027
    wide.eval()
    assert tuple(wide(torch.zeros(2, 1, tf.INPUT_PX, tf.INPUT_PX)).shape) == (2, 3)
    asked = []
    monkeypatch.setattr(training, "train", lambda out, **kw: asked.append(kw["width"]) or {})
    training.main(["train", "--out", str(tmp_path)])
    training.main(["train", "--out", str(tmp_path), "--width", "32", "64", "96"])
    assert asked == [(16, 32, 48), (32, 64, 96)]


def tilted_plate(path: str, em: int, degrees: float, *, index: int = 0) -> np.ndarray:
    """A 60 × 40 plate of two lines (上官庄村股份 / 经济合作社) turned ``degrees`` in the photo (hung askew, or seen
    from below and to the side), its corners filled with the board's white."""
    f = ImageFont.truetype(path, em, index=index)
    img = Image.new("RGB", (int(em * 7.6), int(em * 3.4)), (247, 247, 244))
    draw = ImageDraw.Draw(img)
    for k, line in enumerate(("上官庄村股份", "经济合作社")):
        for i, ch in enumerate(line):
            draw.text((em * (1.0 + 1.1 * i), em * (1.1 + 1.25 * k)), ch, font=f, fill=(20, 20, 22), anchor="mm")
    a = np.asarray(img)
    h, w = a.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(a, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=(247, 247, 244))


@pytest.mark.parametrize("degrees", [-10, -6, 6, 10])
def test_the_lines_of_a_tilted_plate_are_read_one_by_one(degrees):
    """Scene 33000053 (bench/style_eval.py --scenes 60 --seed 33000000 --long-side 4000): a SimHei plate ~10° off
    level had its two lines read as one, in two windows over both, and passed as Song at P 0.99."""
    song, hei = face("serif"), face("simhei")
    for f, want in ((song, True), (hei, False)):
        crop = tilted_plate(f.path, 48, degrees, index=f.index)
        assert tf.line_slant(tf.text_mask(tf.absorption_of(crop)).T) != 0
        batch, width = tf.windows_of_crop(crop)
        assert 36 <= width <= 66 and len(batch) >= 8     # a line's width (not two: ~110 px), windows along both
        reading = tf.classifier().reading(crop)
        assert tf.matches(reading, "song") is want, reading
    square = tilted_plate(song.path, 48, 0, index=song.index)
    assert tf.line_slant(tf.text_mask(tf.absorption_of(square)).T) == 0


@pytest.mark.parametrize("degrees", [-8, 5, 12])
def test_a_strip_hung_askew_is_turned_upright_before_its_typeface_is_read(degrees):
    """One column turned a few degrees: its lines do not run together, but the characters' level strokes tilt, and
    Hei turned so passed as Song (renderer boards turned 5°, -8°, 12°: 14, 52 and 61 of 150 Hei/Kai boards)."""
    for key, want in (("serif", True), ("simhei", False)):
        f = face(key)
        crop = column(f.path, "王庄村村民委员会", 56, index=f.index)
        h, w = crop.shape[:2]
        pad = cv2.copyMakeBorder(crop, 40, 40, 80, 80, cv2.BORDER_CONSTANT, value=(247, 247, 244))
        m = cv2.getRotationMatrix2D((pad.shape[1] / 2, pad.shape[0] / 2), degrees, 1.0)
        turned = cv2.warpAffine(pad, m, (pad.shape[1], pad.shape[0]), borderValue=(247, 247, 244))
        reading = tf.classifier().reading(turned)
        assert tf.matches(reading, "song") is want, (key, reading)
