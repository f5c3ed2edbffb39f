"""Style presets and progression templates, loaded from ``assets_library``.

Styles are data so a producer can add one without touching code; the loader validates every
field and says which file and field is wrong.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from lofi_assets.errors import ConfigError, UnknownStyleError
from lofi_assets.music.form import FORM_TEMPLATES
from lofi_assets.music.theory import KEY_MODES

ASSETS_LIBRARY_ENV = "LOFI_ASSETS_LIBRARY"
STYLE_BPM_RANGE = (65, 95)
STYLE_SWING_RANGE = (0.54, 0.62)
KEYS_PATTERNS = ("block", "stabs", "arpeggio", "fingerpick")
BASS_PATTERNS = ("root", "walking", "syncopated")
PERCUSSION_LAYERS = ("shaker", "tambourine", "bongos")
MELODY_SCALE_SYSTEMS = ("pentatonic", "mode")
HUMANIZED_VOICES = ("kick", "snare", "hats", "percussion", "bass", "keys", "melody", "pad")
ROLES = ("keys", "bass", "melody", "pad")
# How a style's drums keep time and play the backbeat (``DrumFeel.timekeeper``/``backbeat``).
TIMEKEEPERS = ("hats", "ride")
BACKBEATS = ("snare", "side_stick")
# Kick placements as 16th-note indices for a two-bar phrase. Boom bap keeps the kick on one
# and lands the second hit late in the bar (the "and of three"), never on the backbeat.
KICK_PATTERNS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "boom_bap": ((0, 10), (0, 7, 10)),
    "boom_bap_push": ((0, 3, 10), (0, 8, 10, 15)),
    "lazy": ((0, 11), (0, 6, 10)),
    "double": ((0, 2, 10), (0, 7, 9)),
    "sparse": ((0,), (0, 10)),
}
# GM2 drum kits (program number on channel 10, the GM2 kit name); styles choose by key.
DRUM_KITS: dict[str, tuple[int, str]] = {
    "standard": (0, "Standard Kit"),
    "room": (8, "Room Kit"),
    "power": (16, "Power Kit"),
    "electronic": (24, "Electronic Kit"),
    "tr808": (25, "TR-808 Kit"),
    "jazz": (32, "Jazz Kit"),
    "brush": (40, "Brush Kit"),
}


def assets_library_dir() -> Path:
    """The versioned input library: ``$LOFI_ASSETS_LIBRARY`` or the repository's copy."""
    override = os.environ.get(ASSETS_LIBRARY_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "assets_library"


@dataclass(frozen=True)
class Instrument:
    program: int  # General MIDI program number, 0-based
    name: str


@dataclass(frozen=True)
class DrumFeel:
    kick_patterns: tuple[str, ...]
    ghost_note_density: float
    hat_density: float
    open_hat_probability: float
    percussion: tuple[str, ...]
    fill_probability: float
    kit: str = "standard"  # a GM2 drum kit name (DRUM_KITS): the drum part's program
    # What keeps time: "hats" (closed hi-hat 8ths and swung 16ths) or "ride" (a jazz ride
    # pattern with the pedal hat on two and four), and what plays the backbeat: "snare" or
    # "side_stick" (a light cross-stick for the quietest styles). TIMEKEEPERS/BACKBEATS.
    timekeeper: str = "hats"
    backbeat: str = "snare"


@dataclass(frozen=True)
class Style:
    name: str
    display_name: str
    bpm_min: int
    bpm_max: int
    swing_min: float
    swing_max: float
    mode_weights: dict[str, float]
    instruments: dict[str, Instrument]
    keys_pattern_weights: dict[str, float]
    bass_pattern_weights: dict[str, float]
    progression_weights: dict[str, float]
    extension_probability: float
    secondary_dominant_probability: float
    tritone_substitution_probability: float
    borrowed_chord_probability: float
    drums: DrumFeel
    melody_scale_system: str
    melody_density: float
    triplet_probability: float
    timing_offsets_ms: dict[str, float]
    timing_jitter_ms: dict[str, float]
    velocity_sd: float
    ambience: tuple[str, ...]
    # Overrides of the audio chain's settings (lofi_assets.audio.production), validated there.
    production: dict[str, Any] = field(default_factory=dict)
    # "model": the trained melody model writes the melody when one is materialized.
    melody_generator: str = "engine"
    # Weights of the body templates (form.FORM_TEMPLATES); empty: every template alike.
    form_weights: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ProgressionTemplate:
    name: str
    modes: tuple[str, ...]
    chords: tuple[str, ...]


def _require(document: dict[str, Any], field: str, source: Path) -> Any:
    if field not in document:
        raise ConfigError(f"{source}: missing field {field!r}")
    return document[field]


def _weights(value: Any, allowed: tuple[str, ...] | None, field: str, source: Path) -> dict:
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{source}: {field} must be a non-empty mapping of name to weight")
    weights = {str(name): float(weight) for name, weight in value.items()}
    if allowed is not None:
        unknown = sorted(set(weights) - set(allowed))
        if unknown:
            raise ConfigError(f"{source}: {field} has unknown names {unknown}; allowed: {allowed}")
    if any(weight < 0 for weight in weights.values()) or sum(weights.values()) <= 0:
        raise ConfigError(f"{source}: {field} weights must be ≥ 0 with a positive sum")
    return weights


def _probability(value: Any, field: str, source: Path) -> float:
    probability = float(value)
    if not 0.0 <= probability <= 1.0:
        raise ConfigError(f"{source}: {field} must be between 0 and 1, got {value}")
    return probability


def parse_style(document: dict[str, Any], source: Path) -> Style:
    """Validate one style document; every problem names the file and the field."""
    bpm = _require(document, "bpm", source)
    swing = _require(document, "swing", source)
    bpm_min, bpm_max = int(bpm["min"]), int(bpm["max"])
    if not STYLE_BPM_RANGE[0] <= bpm_min <= bpm_max <= STYLE_BPM_RANGE[1]:
        raise ConfigError(f"{source}: bpm range must lie within {STYLE_BPM_RANGE}")
    swing_min, swing_max = float(swing["min"]), float(swing["max"])
    if not STYLE_SWING_RANGE[0] <= swing_min <= swing_max <= STYLE_SWING_RANGE[1]:
        raise ConfigError(f"{source}: swing range must lie within {STYLE_SWING_RANGE}")
    instruments_doc = _require(document, "instruments", source)
    missing_roles = sorted(set(ROLES) - set(instruments_doc))
    if missing_roles:
        raise ConfigError(f"{source}: instruments lacks {missing_roles}")
    instruments = {}
    for role in ROLES:
        program = int(instruments_doc[role]["program"])
        if not 0 <= program <= 127:
            raise ConfigError(f"{source}: instruments.{role}.program must be 0–127")
        instruments[role] = Instrument(program, str(instruments_doc[role]["name"]))
    harmony = _require(document, "harmony", source)
    drums = _require(document, "drums", source)
    melody = _require(document, "melody", source)
    humanize = _require(document, "humanize", source)
    percussion = tuple(drums.get("percussion", ()))
    unknown_layers = sorted(set(percussion) - set(PERCUSSION_LAYERS))
    if unknown_layers:
        raise ConfigError(f"{source}: unknown percussion layers {unknown_layers}")
    kit = str(drums.get("kit", "standard"))
    if kit not in DRUM_KITS:
        raise ConfigError(f"{source}: drums.kit {kit!r} is not one of {sorted(DRUM_KITS)}")
    timekeeper = str(drums.get("timekeeper", "hats"))
    backbeat = str(drums.get("backbeat", "snare"))
    if timekeeper not in TIMEKEEPERS or backbeat not in BACKBEATS:
        raise ConfigError(
            f"{source}: drums.timekeeper must be hats or ride, drums.backbeat snare or side_stick"
        )
    arrangement = document.get("arrangement") or {}
    form_weights = (
        _weights(arrangement["forms"], tuple(FORM_TEMPLATES), "arrangement.forms", source)
        if "forms" in arrangement
        else {}
    )

    unknown_kicks = sorted(set(drums["kick_patterns"]) - set(KICK_PATTERNS))
    if unknown_kicks or not drums["kick_patterns"]:
        raise ConfigError(
            f"{source}: drums.kick_patterns must name some of {sorted(KICK_PATTERNS)}"
        )
    scale_system = str(melody["scale_system"])
    if scale_system not in MELODY_SCALE_SYSTEMS:
        raise ConfigError(f"{source}: melody.scale_system must be one of {MELODY_SCALE_SYSTEMS}")
    offsets = {voice: float(ms) for voice, ms in humanize["offsets_ms"].items()}
    jitter = {voice: float(ms) for voice, ms in humanize["jitter_ms"].items()}
    for table_name, table in (("offsets_ms", offsets), ("jitter_ms", jitter)):
        missing = sorted(set(HUMANIZED_VOICES) - set(table))
        if missing:
            raise ConfigError(f"{source}: humanize.{table_name} lacks {missing}")
    # Jitter is the random part of the groove: 4–15 ms reads as a human player, not a
    # quantised grid or a sloppy one.
    if any(not 4.0 <= ms <= 15.0 for ms in jitter.values()):
        raise ConfigError(f"{source}: humanize.jitter_ms values must be 4–15 ms")
    if any(abs(ms) > 30.0 for ms in offsets.values()):
        raise ConfigError(f"{source}: humanize.offsets_ms values must be within ±30 ms")
    return Style(
        name=str(_require(document, "name", source)),
        display_name=str(document.get("display_name", document["name"])),
        bpm_min=bpm_min,
        bpm_max=bpm_max,
        swing_min=swing_min,
        swing_max=swing_max,
        mode_weights=_weights(document.get("modes"), KEY_MODES, "modes", source),
        instruments=instruments,
        keys_pattern_weights=_weights(
            document.get("keys_patterns"), KEYS_PATTERNS, "keys_patterns", source
        ),
        bass_pattern_weights=_weights(
            document.get("bass_patterns"), BASS_PATTERNS, "bass_patterns", source
        ),
        progression_weights=_weights(
            document.get("progressions"), tuple(load_progressions()), "progressions", source
        ),
        extension_probability=_probability(
            harmony["extension_probability"], "extension_probability", source
        ),
        secondary_dominant_probability=_probability(
            harmony["secondary_dominant_probability"], "secondary_dominant_probability", source
        ),
        tritone_substitution_probability=_probability(
            harmony["tritone_substitution_probability"],
            "tritone_substitution_probability",
            source,
        ),
        borrowed_chord_probability=_probability(
            harmony["borrowed_chord_probability"], "borrowed_chord_probability", source
        ),
        drums=DrumFeel(
            kick_patterns=tuple(drums["kick_patterns"]),
            ghost_note_density=_probability(drums["ghost_note_density"], "ghost", source),
            hat_density=_probability(drums["hat_density"], "hat_density", source),
            open_hat_probability=_probability(
                drums["open_hat_probability"], "open_hat_probability", source
            ),
            percussion=percussion,
            fill_probability=_probability(drums["fill_probability"], "fill_probability", source),
            kit=kit,
            timekeeper=timekeeper,
            backbeat=backbeat,
        ),
        melody_scale_system=scale_system,
        melody_density=_probability(melody["density"], "melody.density", source),
        triplet_probability=_probability(
            melody["triplet_probability"], "triplet_probability", source
        ),
        timing_offsets_ms=offsets,
        timing_jitter_ms=jitter,
        velocity_sd=float(humanize["velocity_sd"]),
        ambience=tuple(_require(document, "ambience", source)),
        production=dict(document.get("production") or {}),
        melody_generator=_melody_generator(melody.get("generator", "engine"), source),
        form_weights=form_weights,
    )


def _melody_generator(value: Any, source: Path) -> str:
    if value not in ("engine", "model"):
        raise ConfigError(f"{source}: melody.generator must be engine or model, not {value!r}")
    return str(value)


@cache
def load_progressions() -> dict[str, ProgressionTemplate]:
    source = assets_library_dir() / "progressions.yaml"
    document = yaml.safe_load(source.read_text(encoding="utf-8"))
    templates = {}
    for name, entry in document.items():
        modes = tuple(entry["modes"])
        unknown = sorted(set(modes) - set(KEY_MODES))
        if unknown:
            raise ConfigError(f"{source}: template {name} names unknown modes {unknown}")
        templates[name] = ProgressionTemplate(name, modes, tuple(entry["chords"]))
    return templates


@cache
def load_styles() -> dict[str, Style]:
    """Every style preset in ``assets_library/styles``, keyed by name."""
    styles_dir = assets_library_dir() / "styles"
    if not styles_dir.is_dir():
        raise ConfigError(
            f"Style presets not found at {styles_dir}: run from a checkout or set "
            f"{ASSETS_LIBRARY_ENV} to the assets_library folder"
        )
    styles = {}
    for path in sorted(styles_dir.glob("*.yaml")):
        style = parse_style(yaml.safe_load(path.read_text(encoding="utf-8")), path)
        if style.name != path.stem:
            raise ConfigError(f"{path}: name {style.name!r} must match the file name")
        styles[style.name] = style
    return styles


def style_names() -> tuple[str, ...]:
    return tuple(load_styles())


def normalize_style_name(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_").replace("é", "e")


def get_style(name: str) -> Style:
    styles = load_styles()
    key = normalize_style_name(name)
    if key not in styles:
        raise UnknownStyleError(
            f"Unknown style {name!r}: choose one of {', '.join(styles)} "
            f"(presets live in {assets_library_dir() / 'styles'})"
        )
    return styles[key]
