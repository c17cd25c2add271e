"""The signage report: what the engine returns for one village (plaques per photo, provenance, quality, the
inventory's summary and verdict), as pydantic models with a committed JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

Side = Literal["external", "internal"]
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "signage_report.schema.json"
# The village's verdict: must-fix findings first; then boards still undecided or unread keep it from 符合规范.
VERDICT_ZH = {"compliant": "符合规范", "needs_review": "待复核", "needs_rectification": "需要整改", "not_audited": "未核查"}


class PlaqueResult(BaseModel):
    """One plaque or sign found in a photo."""

    type: str = Field(description="rules plaque id, or other_sign")
    name_zh: str
    text: str
    confidence: float = Field(ge=0, le=1)
    bbox: list[float] = Field(min_length=4, max_length=4,
                              description="x1, y1, x2, y2 in pixels of the upright full-resolution photo")
    authorised: bool | None = Field(
        description="an official plaque on its side, or an allowed sign; None when unread or background")
    kind: Literal["official", "honour", "allowed", "unauthorised_sign", "background", "undecided", "unreadable"]
    reason: str = Field(default="", description="why the text gives this kind and type, in Chinese")
    source: Literal["detector", "ocr", "detector+ocr", "inspector"]
    detector_class: str | None = None
    text_type: str | None = Field(default=None, description="the type the text alone names, when it differs; for an "
                                  "undecided board, the official plaque it is closest to")
    style: dict[str, dict[str, str]] = {}
    issues: list[str] = []


class Provenance(BaseModel):
    """Where and when the photo was taken, from its EXIF, and whether that is suspicious."""

    gps: list[float] | None = Field(default=None, description="lon, lat (WGS84) from EXIF")
    taken_at: str | None = None
    distance_m: float | None = None
    flags: list[Literal["no_exif_gps", "no_exif_time", "far_from_village", "taken_long_before"]] = []
    messages: list[str] = []


class Quality(BaseModel):
    """Whether the photo can be read at all."""

    sharpness: float
    flags: list[Literal["blurry", "boards_unreadable", "boards_cut"]] = []
    messages: list[str] = []
    restored_motion_px: float | None = Field(
        default=None, description="some of the photo's boards were read after a straight smear of this length "
                                  "(pixels of the working image) was undone, because they read better so; absent "
                                  "when every board was read as taken")


class PhotoResult(BaseModel):
    photo: str
    side: Side
    sha256: str
    size: list[int]
    plaques: list[PlaqueResult]
    provenance: Provenance
    quality: Quality | None = Field(default=None, description="absent in reports stored before it existed")
    timings_s: dict[str, float] = {}


class PhotoErrorResult(BaseModel):
    photo: str
    error: str


class UnauthorisedItem(BaseModel):
    text: str
    kind: Literal["unauthorised_sign", "honour"]
    photo: str


class StyleViolation(BaseModel):
    type: str
    text: str
    check: str
    severity: str
    detail: str
    photo: str


class Summary(BaseModel):
    present: list[str]
    missing: list[str]
    not_checked: list[str] = Field(default=[], description="plaques of a side with no photo")
    duplicates: list[str]
    misplaced: list[str]
    unauthorised: list[UnauthorisedItem]
    style_violations: list[StyleViolation]
    unreadable: int = 0
    undecided: int = Field(default=0, description="boards the inspector must decide (close to an official plaque, "
                           "another village's name, a doubtful reading)")
    retake: list[str] = Field(default=[], description="photos too blurry to read: take them again")
    verdict: Literal["compliant", "needs_review", "needs_rectification", "not_audited"]
    verdict_zh: str
    reasons: list[str]


class SignageReport(BaseModel):
    """The plaque inventory of one village from all its photos."""

    village: dict[str, str | None]
    rules_version: str
    photos: list[PhotoResult]
    errors: list[PhotoErrorResult]
    summary: Summary


def report_schema() -> dict:
    """The JSON Schema of :class:`SignageReport` (committed as ``audit/signs/schemas/signage_report.schema.json``)."""
    return SignageReport.model_json_schema()


def report_to_json(report: SignageReport) -> str:
    """The report as JSON text (UTF-8 characters kept)."""
    return json.dumps(report.model_dump(mode="json"), ensure_ascii=False)
