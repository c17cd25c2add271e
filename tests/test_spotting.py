"""A board the recogniser misreads is checked against the village's official names (audit.signs.spotting).

The alignment is tested on hand-written score tables; the whole check on strips drawn here in a Song face,
blurred until the recogniser's best reading is wrong, with the real recogniser — official names found, other bodies
of the village (议事会, 理事会, 便民服务中心, 调解委员会, 协会) never taken for one."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from audit.rules import load_rules
from audit.signs import spotting

VILLAGE = "王庄村"


def _scores(columns: list[str], alphabet: str) -> np.ndarray:
    """Log-probabilities of a line whose every column is sure of one symbol ("-" the blank)."""
    table = np.full((len(columns), len(alphabet) + 1), 0.01 / len(alphabet))
    for t, ch in enumerate(columns):
        table[t, 0 if ch == "-" else alphabet.index(ch) + 1] = 0.99
    return np.log(table)


def test_a_name_the_best_reading_ends_with_costs_nothing():
    lp = _scores(list("-ab--c-"), "abc")
    a, b, c = 1, 2, 3
    costs = spotting.alignment_costs(lp, [[a, b, c], [b, c], [c], [a, b], [a, c], [c, c]])
    assert costs[0] == pytest.approx(0, abs=1e-6)      # the reading itself
    assert costs[1] == pytest.approx(0, abs=1e-6)      # anything may stand before the name (a township's name)
    assert costs[2] == pytest.approx(0, abs=1e-6)
    assert costs[3] > 5                                 # nothing may follow it: "ab" is not the board's end
    assert costs[4] > 5                                 # a character the columns do not hold
    assert costs[5] > 5                                 # a doubled character needs a blank between its two


def test_a_doubled_character_aligns_across_a_blank():
    lp = _scores(list("-a-a-"), "a")
    assert spotting.alignment_costs(lp, [[1, 1]])[0] == pytest.approx(0, abs=1e-6)


def test_the_names_a_village_may_carry():
    rules = load_rules()
    names = {n.text: n for n in spotting.names_for(rules, VILLAGE, "external")}
    assert names["中共王庄村支部委员会"].plaque == "party_org"
    assert names["王庄村民委员会"].plaque == "villagers_committee"   # the village without its 村 before 村民委员会
    assert names["王庄村委员会"].plaque is None                       # a marked body needs 中共 before it
    assert names["中共王庄村委员会"].plaque == "party_org"
    assert names["党群服务中心"].plaque == "service_centre_sign"     # an identity sign may name no place
    assert names["理事会"].plaque is None and names["便民服务中心"].plaque is None   # rivals, never official
    assert "委员会" not in names                                     # an ending official bodies have is no rival
    assert not any(n.plaque == "veterans_station" for n in names.values())   # an internal plaque, not outside


def _strip(name: str, width: int = 20, sigma: float = 1.5) -> np.ndarray:
    """A white strip with ``name`` in a column of Song characters on a wall, blurred (``sigma`` px), with noise."""
    from audit.signs.fonts import faces_for, font

    pitch = int(width * 0.75)
    height = pitch * len(name) + width
    img = Image.new("RGB", (width + 10, height + 10), (196, 180, 160))
    draw = ImageDraw.Draw(img)
    draw.rectangle([5, 5, 5 + width, 5 + height], fill=(250, 250, 248), outline=(150, 150, 150))
    face = font(faces_for("song", False)[0], int(width * 0.7))
    for i, ch in enumerate(name):
        draw.text((5 + width * 0.15, 5 + width * 0.5 + i * pitch), ch, fill=(20, 20, 20), font=face)
    blurred = cv2.GaussianBlur(np.asarray(img).astype(np.float32), (0, 0), sigma)
    noise = np.random.default_rng(0).normal(0, 3, blurred.shape)
    return np.clip(blurred + noise, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def reader():
    from audit.signs.ocr import Reader

    return Reader()


OFFICIAL = {"中共王庄村支部委员会": "party_org", "王庄村股份经济合作社": "collective_economy", "王庄村民兵连": "militia"}
OTHERS = ["王庄村村民议事会", "王庄村乡贤理事会", "王庄村便民服务中心", "王庄村调解委员会", "王庄村老年协会"]


def test_a_misread_official_strip_fits_its_name(reader):
    names = spotting.names_for(load_rules(), VILLAGE, "external")
    for name, plaque in OFFICIAL.items():
        strip = _strip(name)
        best = reader.read_plaque(strip)
        assert best and best[0][0] != name                         # the recogniser's reading is wrong …
        found = spotting.spot(reader.char_scores([strip])[0], names, reader.alphabet)
        assert found is not None and found.plaque == plaque, (name, best, found)   # … its scores hold the name
        assert found.cost <= spotting.MAX_COST and found.rival_cost - found.cost >= spotting.MARGIN


@pytest.mark.parametrize("sigma", [1.0, 1.5, 2.0])
def test_another_body_of_the_village_never_fits_an_official_name(reader, sigma):
    names = spotting.names_for(load_rules(), VILLAGE, "external")
    for name in OTHERS:
        strip = _strip(name, sigma=sigma)
        assert spotting.spot(reader.char_scores([strip])[0], names, reader.alphabet) is None, name


def test_another_village_s_strip_does_not_fit(reader):
    names = spotting.names_for(load_rules(), "李家村", "external")
    for name in OFFICIAL:
        strip = _strip(name, width=24, sigma=1.0)              # read right: 王庄村's, not 李家村's
        assert spotting.spot(reader.char_scores([strip])[0], names, reader.alphabet) is None, name


def test_the_engine_counts_a_misread_strip_it_fits_and_says_so(monkeypatch):
    import io

    from audit.signs.engine import Engine, plaques_from_photo
    from audit.signs.intake import photo_from_bytes

    engine = Engine.load()
    wall = np.full((700, 1100, 3), (196, 180, 160), np.uint8)
    for x, name in zip((300, 420, 540, 660, 780), list(OFFICIAL) + OTHERS[:2], strict=True):
        strip = _strip(name, width=18)
        wall[200:200 + strip.shape[0], x:x + strip.shape[1]] = strip
    buf = io.BytesIO()
    Image.fromarray(wall).save(buf, "PNG")
    photo = photo_from_bytes(buf.getvalue(), "wall.png", rules=engine.rules)

    result = plaques_from_photo(photo, engine, village=VILLAGE)
    with monkeypatch.context() as m:
        m.setattr(spotting, "spot", lambda *a, **k: None)
        as_read = plaques_from_photo(photo, engine, village=VILLAGE)
    spotted = [p for p in result.plaques if p.kind == "official" and "吻合" in p.reason]
    assert spotted, [(p.kind, p.text, p.reason) for p in result.plaques]
    for p in spotted:
        assert p.type == OFFICIAL[p.text]                                      # the name it fits, the right plaque
        assert p.style["traditional_characters"]["status"] == "not_checked"   # its characters were not read
    official = {p.type for p in result.plaques if p.kind == "official"}
    assert official - {p.type for p in as_read.plaques if p.kind == "official"} >= {p.type for p in spotted}
    assert official <= set(OFFICIAL.values())                                 # the other bodies' strips are not


def _plate_with_a_small_line(text: str, char: int, sigma: float) -> np.ndarray:
    """A 150 × 100 white plate holding one line of small Song characters (``char`` px), blurred: the crop read whole
    squeezes the line to a few pixels of the recogniser's 48-px input."""
    from audit.signs.fonts import faces_for, font

    img = Image.new("RGB", (160, 110), (196, 180, 160))
    draw = ImageDraw.Draw(img)
    draw.rectangle([5, 5, 155, 105], fill=(250, 250, 248), outline=(150, 150, 150))
    face = font(faces_for("song", False)[0], char)
    draw.text((5 + (150 - draw.textlength(text, font=face)) / 2, 35), text, fill=(20, 20, 20), font=face)
    blurred = cv2.GaussianBlur(np.asarray(img).astype(np.float32), (0, 0), sigma)
    return np.clip(blurred + np.random.default_rng(0).normal(0, 3, blurred.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("char", "sigma"), [(9, 1.0), (12, 1.3)])
def test_a_small_line_on_a_large_plate_fits_its_name_at_its_own_scale(reader, char, sigma):
    from audit.signs.names import type_from_text

    rules = load_rules()
    names = spotting.names_for(rules, VILLAGE, "external")
    decided = 0
    for name, plaque in {"王庄村股份经济合作社": "collective_economy", "中共王庄村支部委员会": "party_org"}.items():
        plate = _plate_with_a_small_line(name, char, sigma)
        lines = reader.read_board(plate)                        # the engine's second look: the line is found …
        whole = reader.char_scores([plate])[0]
        assert spotting.spot(whole, names, reader.alphabet) is None   # … not in the whole crop
        views = whole + reader.line_scores(plate, lines)
        found = spotting.spot(views, names, reader.alphabet)
        assert found is not None and found.plaque == plaque, (name, [ln.text for ln in lines], found)
        decided += type_from_text(lines[0].text, rules, village=VILLAGE).kind != "official"
    assert decided   # at least one whose second look's reading alone leaves it undecided
    for name in ("王庄村村民议事会", "王庄村乡贤理事会", "王庄村老年协会"):
        plate = _plate_with_a_small_line(name, char, sigma)
        views = reader.char_scores([plate])[0] + reader.line_scores(plate, reader.read_board(plate))
        assert spotting.spot(views, names, reader.alphabet) is None, name


def test_several_lines_are_also_scored_one_after_the_other(reader):
    from audit.signs.ocr import TextLine

    plate = _plate_with_a_small_line("王庄村民兵连", 12, 0.5)
    lines = reader.read_board(plate)
    (line,) = lines
    x1, y1, x2, y2 = line.box
    mid = (x1 + x2) / 2
    halves = [TextLine("", 1.0, (mid, y1, x2, y2), False), TextLine("", 1.0, (x1, y1, mid, y2), False)]
    views = reader.line_scores(plate, halves)
    assert len(views) == 3 and len(views[2]) == len(views[0]) + len(views[1])   # each, then both in reading order
    names = spotting.names_for(load_rules(), VILLAGE, "external")
    assert spotting.spot(views[2:], names, reader.alphabet).plaque == "militia"
