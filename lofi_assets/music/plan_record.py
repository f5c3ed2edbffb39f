"""The plan of one track as recorded in ``plan.json``: a typed, versioned contract.

Composition decides the plan (:mod:`lofi_assets.music.plan`); everything downstream — the CLI,
production, the release, feedback and the checks — reads it back through
:func:`read_plan_record` as a :class:`PlanRecord`, never as a dict. The record is self-contained:
it holds what was made (style name, key, tempo, the arranged sections, programs, the drum kit),
so a track can be reasoned about even after the style presets change.

Versions: 1 is the first layout (no ``schema_version`` field, sections with name/start/bars
only); 2 adds ``schema_version``, the arranged sections and the drum kit. Older documents are
read with the defaults their version implies; newer ones are refused with the fix.

Values are checked against the ranges the composer works in, taken from its own constants
(``plan.BPM_LIMITS``, ``plan.DURATION_LIMITS_S``, ``form.MIN_BARS``, ``styles.STYLE_SWING_RANGE``, the style
presets, the theory engine's keys and modes, the ambiences the renderer synthesizes), so a
plan edited by hand is refused when read — one ``PlanFormatError`` naming each bad field, its
value and the valid range — never half-way through a render. The file may start with a UTF-8
byte order mark (RFC 8259 §8.1 lets a parser ignore it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lofi_assets.errors import ConfigError, LofiError
from lofi_assets.music.arrangement import Sketch
from lofi_assets.music.form import MIN_BARS, bar_duration_s
from lofi_assets.music.plan import BPM_LIMITS, DURATION_LIMITS_S, ENGINE_VERSION
from lofi_assets.music.score import Section
from lofi_assets.music.styles import STYLE_SWING_RANGE, Instrument, load_styles
from lofi_assets.music.theory import parse_mode, parse_pitch_class

PLAN_SCHEMA_VERSION = 2
# The longest plan the composer makes: DURATION_LIMITS_S rounded up to whole bars, at most one
# bar at the slowest tempo past it.
MAX_PLAN_DURATION_S = DURATION_LIMITS_S[1] + bar_duration_s(BPM_LIMITS[0])
# duration_s is written rounded to 1 ms: it must be its bars at its tempo within that.
DURATION_ROUNDING_S = 0.001
TIME_SIGNATURE = (4, 4)  # lofi composes and renders 4/4 only


class PlanFormatError(LofiError, ValueError):
    """A plan.json that is missing, unreadable, from a newer engine, or lacks a field."""


@dataclass(frozen=True)
class ProgressionRecord:
    """One section progression as written: template name, roman numerals and chord symbols."""

    template: str
    romans: tuple[str, ...]
    chords: tuple[str, ...]


@dataclass(frozen=True)
class MelodySource:
    """Which generator wrote the melody ("engine" or "model"), and why the engine did when the
    model was asked for and could not (``reason``)."""

    generator: str = "engine"
    model_version: str | None = None
    reason: str | None = None

    @classmethod
    def from_mapping(cls, source: Mapping[str, Any]) -> MelodySource:
        reason = source.get("reason", source.get("fallback_reason"))
        version = source.get("model_version")
        return cls(
            generator=str(source.get("generator", "engine")),
            model_version=None if version is None else str(version),
            reason=None if reason is None else str(reason),
        )

    def to_document(self) -> dict[str, str]:
        document = {"generator": self.generator}
        if self.model_version is not None:
            document["model_version"] = self.model_version
        if self.reason is not None:
            document["reason"] = self.reason
        return document


@dataclass(frozen=True)
class PlanRecord:
    """Everything needed to reason about a composed track, as ``plan.json`` records it.

    Tempo is in BPM (quarter notes per minute, 4/4 throughout); durations in seconds; sections
    in bars from the start of the track; programs are 0-based General MIDI programs and the
    drum kit a GM2 drum-kit program (0 Standard … 40 Brush).
    """

    engine_version: str
    seed: int
    style: str
    style_display_name: str
    key: str  # e.g. "F dorian"
    tonic: str
    tonic_pc: int
    mode: str
    bpm: float
    swing: float
    bars: int
    duration_s: float
    target_duration_s: float
    sections: tuple[Section, ...]
    progressions: Mapping[str, ProgressionRecord] = field(hash=False)
    instruments: Mapping[str, Instrument] = field(hash=False)
    drum_kit: Instrument
    keys_pattern: str
    bass_pattern: str
    kick_pattern: str
    ambience: str
    melody_source: MelodySource = MelodySource()
    time_signature: tuple[int, int] = (4, 4)
    schema_version: int = PLAN_SCHEMA_VERSION

    def chords(self, section: str) -> tuple[str, ...]:
        """The chord symbols of progression ``section`` ("A" or "B")."""
        return self.progressions[section].chords

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)

    @property
    def form_summary(self) -> str:
        """The form in a line, e.g. ``intro 4 · A 8 · B 4 · A2 8 · outro 4`` (bars each)."""
        return " · ".join(f"{section.name} {section.bars}" for section in self.sections)

    def to_document(self) -> dict[str, Any]:
        """The JSON document written to ``plan.json`` (and read back by ``from_document``)."""
        return {
            "schema_version": self.schema_version,
            "engine_version": self.engine_version,
            "seed": self.seed,
            "style": self.style,
            "style_display_name": self.style_display_name,
            "key": self.key,
            "tonic": self.tonic,
            "tonic_pc": self.tonic_pc,
            "mode": self.mode,
            "bpm": self.bpm,
            "swing": self.swing,
            "time_signature": list(self.time_signature),
            "bars": self.bars,
            "duration_s": round(self.duration_s, 3),
            "target_duration_s": round(self.target_duration_s, 3),
            "form": [section.to_document() for section in self.sections],
            "progression": {name: list(p.romans) for name, p in self.progressions.items()},
            "chords": {name: list(p.chords) for name, p in self.progressions.items()},
            "progression_templates": {name: p.template for name, p in self.progressions.items()},
            "instruments": {
                role: {"program": instrument.program, "name": instrument.name}
                for role, instrument in self.instruments.items()
            },
            "drum_kit": {"program": self.drum_kit.program, "name": self.drum_kit.name},
            "patterns": {
                "keys": self.keys_pattern,
                "bass": self.bass_pattern,
                "kick": self.kick_pattern,
            },
            "ambience": self.ambience,
            "melody_source": self.melody_source.to_document(),
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any], source: str = "plan.json") -> PlanRecord:
        """Read a plan document; raise PlanFormatError naming ``source`` and the bad field."""
        if not isinstance(document, Mapping):
            raise PlanFormatError(
                f"{source} is not a JSON object: re-make it (materialize midi_sketch or run `lofi sketch`)"
            )
        version = document.get("schema_version", 1)
        if not isinstance(version, int) or version > PLAN_SCHEMA_VERSION:
            raise PlanFormatError(
                f"{source} has plan schema version {version!r}; this engine reads up to "
                f"{PLAN_SCHEMA_VERSION}: update lofi-empire or re-make it (materialize midi_sketch or run `lofi sketch`)"
            )
        reader = _FieldReader(document, source)
        progressions = {
            name: ProgressionRecord(
                template=str(reader.nested("progression_templates", name)),
                romans=tuple(map(str, reader.nested("progression", name))),
                chords=tuple(map(str, reader.nested("chords", name))),
            )
            for name in reader.mapping("progression")
        }
        instruments = {
            role: _instrument(reader.nested("instruments", role), f"{source}: instruments.{role}")
            for role in reader.mapping("instruments")
        }
        kit_document = document.get("drum_kit", {"program": 0, "name": "Standard Kit"})
        patterns = reader.mapping("patterns")
        try:
            sections = tuple(Section.from_document(entry) for entry in reader.value("form"))
        except (KeyError, TypeError, ValueError) as error:
            raise PlanFormatError(f"{source}: form has a bad section ({error})") from error
        bpm = reader.number("bpm")
        for name in ("seed", "tonic_pc", "swing", "bars", "duration_s", "target_duration_s"):
            reader.number(name)  # present and a number, before the ranges are checked
        for name in ("style", "key", "tonic", "mode", "ambience"):
            reader.value(name)
        _validate(document, sections, source)
        return cls(
            schema_version=PLAN_SCHEMA_VERSION,
            engine_version=str(reader.value("engine_version")),
            seed=int(reader.number("seed")),
            style=str(reader.value("style")),
            style_display_name=str(document.get("style_display_name", reader.value("style"))),
            key=str(reader.value("key")),
            tonic=str(reader.value("tonic")),
            tonic_pc=int(reader.number("tonic_pc")),
            mode=str(reader.value("mode")),
            bpm=int(bpm) if float(bpm).is_integer() else float(bpm),
            swing=float(reader.number("swing")),
            time_signature=tuple(document.get("time_signature", (4, 4))),
            bars=int(reader.number("bars")),
            duration_s=float(reader.number("duration_s")),
            target_duration_s=float(reader.number("target_duration_s")),
            sections=sections,
            progressions=progressions,
            instruments=instruments,
            drum_kit=_instrument(kit_document, f"{source}: drum_kit"),
            keys_pattern=str(patterns.get("keys", "")),
            bass_pattern=str(patterns.get("bass", "")),
            kick_pattern=str(patterns.get("kick", "")),
            ambience=str(reader.value("ambience")),
            melody_source=MelodySource.from_mapping(document.get("melody_source") or {}),
        )


def record_sketch(sketch: Sketch) -> PlanRecord:
    """The record of a composed sketch: its plan plus what arranging decided (the drum kit,
    the melody's generator)."""
    plan = sketch.plan
    flats = plan.key.prefers_flats
    drums = sketch.part("drums")
    return PlanRecord(
        engine_version=ENGINE_VERSION,
        seed=plan.seed,
        style=plan.style.name,
        style_display_name=plan.style.display_name,
        key=plan.key.name,
        tonic=plan.key.tonic_name,
        tonic_pc=plan.key.tonic_pc,
        mode=plan.key.mode,
        bpm=plan.bpm,
        swing=plan.swing,
        bars=plan.bars,
        duration_s=round(plan.duration_s, 3),
        target_duration_s=round(plan.target_duration_s, 3),
        sections=plan.sections,
        progressions={
            name: ProgressionRecord(p.template, tuple(p.romans), tuple(p.symbols(flats)))
            for name, p in plan.progressions.items()
        },
        instruments=dict(plan.style.instruments),
        drum_kit=Instrument(drums.program, drums.instrument_name),
        keys_pattern=plan.keys_pattern,
        bass_pattern=plan.bass_pattern,
        kick_pattern=plan.kick_pattern,
        ambience=plan.ambience,
        melody_source=MelodySource.from_mapping(sketch.melody_source),
    )


class _FieldReader:
    """Field access that names the file and the field when either is missing or malformed."""

    def __init__(self, document: Mapping[str, Any], source: str):
        self.document, self.source = document, source

    def value(self, name: str) -> Any:
        if name not in self.document:
            raise PlanFormatError(
                f"{self.source}: missing field {name!r}: re-make it (materialize midi_sketch or run `lofi sketch`)"
            )
        return self.document[name]

    def number(self, name: str) -> float:
        value = self.value(name)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise PlanFormatError(f"{self.source}: {name} must be a number, got {value!r}")
        return value

    def mapping(self, name: str) -> Mapping[str, Any]:
        value = self.value(name)
        if not isinstance(value, Mapping):
            raise PlanFormatError(f"{self.source}: {name} must be an object, got {value!r}")
        return value

    def nested(self, name: str, key: str) -> Any:
        table = self.mapping(name)
        if key not in table:
            raise PlanFormatError(f"{self.source}: {name} lacks {key!r}")
        return table[key]


def _instrument(document: Any, where: str) -> Instrument:
    try:
        return Instrument(int(document["program"]), str(document["name"]))
    except (KeyError, TypeError, ValueError) as error:
        raise PlanFormatError(f"{where} needs a program and a name ({error})") from error


def _known_ambiences() -> tuple[str, ...]:
    # The renderer's own table decides what an ambience name means. Imported here, not at the
    # top: composition otherwise never needs the audio package (numpy, scipy, pedalboard).
    from lofi_assets.audio.ambience import AMBIENCES

    return tuple(AMBIENCES)


def _validate(document: Mapping[str, Any], sections: tuple[Section, ...], source: str) -> None:
    """Refuse values outside the composer's ranges: one PlanFormatError naming every bad
    field, its value and the valid range (fields already checked present and typed)."""
    problems: list[str] = []

    def whole(name: str, low: int, high: int | None = None) -> int | None:
        value = document[name]
        if not (isinstance(value, int) or float(value).is_integer()) or not (
            low <= value and (high is None or value <= high)
        ):
            valid = f"≥ {low}" if high is None else f"{low}–{high}"
            problems.append(f"{name} is {value!r}, not a whole number {valid}")
            return None
        return int(value)

    def within(name: str, limits: tuple[float, float], unit: str) -> None:
        value = document[name]
        if not limits[0] <= value <= limits[1]:
            problems.append(f"{name} is {value!r}, outside {limits[0]:g}–{limits[1]:g}{unit}")

    whole("seed", 0)
    within("bpm", BPM_LIMITS, " BPM")
    within("swing", STYLE_SWING_RANGE, " (share of an 8th note)")
    within("target_duration_s", DURATION_LIMITS_S, " s")
    bars = whole("bars", MIN_BARS)
    styles = load_styles()
    if document["style"] not in styles:
        problems.append(f"style is {document['style']!r}, not one of {', '.join(styles)}")
    ambiences = _known_ambiences()
    if document["ambience"] not in ambiences:
        problems.append(f"ambience is {document['ambience']!r}, not one of {', '.join(ambiences)}")
    tonic_pc = whole("tonic_pc", 0, 11)
    problems.extend(_key_problems(document, tonic_pc))
    if tuple(document.get("time_signature", TIME_SIGNATURE)) != TIME_SIGNATURE:
        problems.append(
            f"time_signature is {document['time_signature']!r}: lofi composes 4/4 only, [4, 4]"
        )
    programs = {
        f"instruments.{role}.program": entry.get("program")
        for role, entry in document["instruments"].items()
        if isinstance(entry, Mapping)
    }
    kit = document.get("drum_kit")
    if isinstance(kit, Mapping):
        programs["drum_kit.program"] = kit.get("program")
    for name, program in programs.items():
        if isinstance(program, bool) or not isinstance(program, int) or not 0 <= program <= 127:
            problems.append(f"{name} is {program!r}, not a MIDI program 0–127")
    end_bar = 0
    for section in sections:
        if section.start_bar != end_bar:
            problems.append(
                f"form section {section.name!r} starts at bar {section.start_bar}, not at "
                f"bar {end_bar} where the one before it ends"
            )
        end_bar = section.start_bar + section.bars
    if bars is not None and sections and end_bar != bars:
        problems.append(f"bars is {bars}, but the form ends at bar {end_bar}")
    if not problems and bars is not None:
        duration_s = document["duration_s"]
        expected_s = bars * bar_duration_s(document["bpm"])
        if not abs(duration_s - expected_s) <= DURATION_ROUNDING_S or not (
            0 < duration_s <= MAX_PLAN_DURATION_S
        ):
            problems.append(
                f"duration_s is {duration_s!r}, but {bars} bars at {document['bpm']} BPM last "
                f"{expected_s:.3f} s (0–{MAX_PLAN_DURATION_S:.0f} s)"
            )
    if problems:
        raise PlanFormatError(
            f"{source}: " + "; ".join(problems) + ": fix the plan, or re-make it "
            "(materialize midi_sketch or run `lofi sketch`)"
        )


def _key_problems(document: Mapping[str, Any], tonic_pc: int | None) -> list[str]:
    """The key fields must name one key: ``key`` is "<tonic> <mode>", matching ``tonic``,
    ``tonic_pc`` and ``mode`` (theory.parse_pitch_class / parse_mode spell them)."""
    key, tonic, mode = document["key"], document["tonic"], document["mode"]
    if not all(isinstance(value, str) for value in (key, tonic, mode)):
        return [
            f"key, tonic and mode must be text such as 'F dorian', 'F', 'dorian', got "
            f"{key!r}, {tonic!r}, {mode!r}"
        ]
    try:
        key_tonic, _, key_mode = key.strip().partition(" ")
        parsed = (parse_pitch_class(key_tonic), parse_mode(key_mode or "?"))
        named = (parse_pitch_class(tonic), parse_mode(mode))
    except ConfigError as error:
        return [f"key {key!r} (tonic {tonic!r}, mode {mode!r}): {error}"]
    if parsed != named or (tonic_pc is not None and parsed[0] != tonic_pc):
        return [
            f"key is {key!r} but tonic {tonic!r} (tonic_pc {document['tonic_pc']!r}) and "
            f"mode {mode!r} say otherwise: make them name one key"
        ]
    return []


def read_plan_record(path: Path | str) -> PlanRecord:
    """The one reader for ``plan.json`` files; PlanFormatError says what is wrong and the fix."""
    path = Path(path)
    try:
        # RFC 8259 §8.1: a parser may ignore a leading byte order mark (editors add one).
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError as error:
        raise PlanFormatError(
            f"No plan at {path}: materialize midi_sketch (or make the MIDI with `lofi sketch`)"
        ) from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PlanFormatError(f"{path} is not a readable plan ({error})") from error
    return PlanRecord.from_document(document, str(path))
