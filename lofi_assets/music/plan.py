"""From a seed and a few optional choices to a complete, validated sketch plan.

Everything the seed decides is decided here, in a fixed order, from independent streams, so
the plan — and the MIDI built from it — is identical for the same request on any machine.
Invalid requests are rejected before anything is composed or written.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from lofi_assets.errors import ConfigError, InvalidTempoError
from lofi_assets.music.form import bar_duration_s, bars_for_duration, plan_form
from lofi_assets.music.progressions import Progression, compose_progression
from lofi_assets.music.score import Section
from lofi_assets.music.styles import Style, get_style, load_styles
from lofi_assets.music.theory import Key, parse_mode, parse_pitch_class
from lofi_assets.seeding import derived_rng

ENGINE_VERSION = "2"  # 2: arranged forms, sampled kits, typed plan (issue 13)
BPM_LIMITS = (40.0, 200.0)
DURATION_LIMITS_S = (10.0, 1200.0)
DEFAULT_DURATION_RANGE_S = (165.0, 210.0)  # 2:45–3:30, a lo-fi track's usual length


@dataclass(frozen=True)
class SketchRequest:
    """What a caller may pin down; everything left as None is chosen from the seed."""

    seed: int
    style: str | None = None
    tonic: str | None = None
    mode: str | None = None
    bpm: float | None = None
    duration_s: float | None = None
    style_weights: Mapping[str, float] | None = None
    duration_range_s: tuple[float, float] = DEFAULT_DURATION_RANGE_S


@dataclass(frozen=True)
class SketchPlan:
    seed: int
    style: Style
    key: Key
    bpm: int | float
    swing: float
    target_duration_s: float
    sections: tuple[Section, ...]
    progressions: dict[str, Progression] = field(hash=False)
    keys_pattern: str
    bass_pattern: str
    kick_pattern: str
    ambience: str

    @property
    def bars(self) -> int:
        return self.sections[-1].end_bar

    @property
    def duration_s(self) -> float:
        return self.bars * bar_duration_s(self.bpm)


def _weighted(rng: random.Random, weights: Mapping[str, float]) -> str:
    names = sorted(name for name, weight in weights.items() if weight > 0)
    return rng.choices(names, weights=[weights[name] for name in names], k=1)[0]


def validate_request(request: SketchRequest) -> None:
    """Reject a request with a message that names each bad value and the valid choices.

    Every field is checked, so one run reports every mistake: a single problem raises its own
    error type (UnknownStyleError, InvalidKeyError, InvalidTempoError …), several raise one
    ConfigError listing them all.
    """
    problems: list[ConfigError] = []
    for check in _REQUEST_CHECKS:
        try:
            check(request)
        except ConfigError as error:
            problems.append(error)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise ConfigError(f"{len(problems)} problems: " + "; ".join(map(str, problems)))


def _check_style(request: SketchRequest) -> None:
    if request.style is not None:
        get_style(request.style)


def _check_tonic(request: SketchRequest) -> None:
    if request.tonic is not None:
        parse_pitch_class(request.tonic)


def _check_mode(request: SketchRequest) -> None:
    if request.mode is not None:
        parse_mode(request.mode)


def _check_tempo(request: SketchRequest) -> None:
    if request.bpm is not None and not (
        math.isfinite(request.bpm) and BPM_LIMITS[0] <= request.bpm <= BPM_LIMITS[1]
    ):
        raise InvalidTempoError(
            f"BPM {request.bpm} is outside {BPM_LIMITS[0]:.0f}–{BPM_LIMITS[1]:.0f}: "
            "lo-fi sits around 65–95"
        )


def _check_duration(request: SketchRequest) -> None:
    if request.duration_s is not None and not (
        DURATION_LIMITS_S[0] <= request.duration_s <= DURATION_LIMITS_S[1]
    ):
        raise ConfigError(
            f"Track duration {request.duration_s} s is outside "
            f"{DURATION_LIMITS_S[0]:.0f}–{DURATION_LIMITS_S[1]:.0f} s"
        )
    low, high = request.duration_range_s
    if not DURATION_LIMITS_S[0] <= low <= high <= DURATION_LIMITS_S[1]:
        raise ConfigError(f"Track length range {low}–{high} s is not a valid range")


def _check_weights_and_seed(request: SketchRequest) -> None:
    if request.style_weights is not None:
        unknown = sorted(set(request.style_weights) - set(load_styles()))
        if unknown:
            raise ConfigError(
                f"Style weights name unknown styles {unknown}: "
                f"choose from {', '.join(load_styles())}"
            )
        if sum(max(0.0, w) for w in request.style_weights.values()) <= 0:
            raise ConfigError("Style weights must include at least one positive weight")
    if request.seed < 0:
        raise ConfigError(f"Seed must be a non-negative integer, got {request.seed}")


_REQUEST_CHECKS = (
    _check_style,
    _check_tonic,
    _check_mode,
    _check_tempo,
    _check_duration,
    _check_weights_and_seed,
)


def resolve_plan(request: SketchRequest) -> SketchPlan:
    """Validate ``request`` and make every remaining choice from its seed."""
    validate_request(request)
    choose = derived_rng(request.seed, "plan")
    if request.style is not None:
        style = get_style(request.style)
    else:
        weights = request.style_weights or {name: 1.0 for name in load_styles()}
        style = get_style(_weighted(choose, weights))
    tonic_pc = parse_pitch_class(request.tonic) if request.tonic else choose.randrange(12)
    mode = parse_mode(request.mode) if request.mode else _weighted(choose, style.mode_weights)
    key = Key(tonic_pc, mode)
    bpm: int | float = (
        request.bpm if request.bpm is not None else choose.randint(style.bpm_min, style.bpm_max)
    )
    swing = round(choose.uniform(style.swing_min, style.swing_max), 3)
    if request.duration_s is not None:
        target_duration_s = float(request.duration_s)
    else:
        target_duration_s = round(choose.uniform(*request.duration_range_s), 3)
    sections = tuple(
        plan_form(
            bars_for_duration(target_duration_s, bpm),
            style.form_weights,
            derived_rng(request.seed, "form"),
            style.drums.fill_probability,
        )
    )
    harmony_rng = derived_rng(request.seed, "harmony")
    a_progression = compose_progression(key, style, harmony_rng)
    b_progression = compose_progression(
        key, style, harmony_rng, exclude_template=a_progression.template
    )
    return SketchPlan(
        seed=request.seed,
        style=style,
        key=key,
        bpm=bpm,
        swing=swing,
        target_duration_s=target_duration_s,
        sections=sections,
        progressions={"A": a_progression, "B": b_progression},
        keys_pattern=_weighted(choose, style.keys_pattern_weights),
        bass_pattern=_weighted(choose, style.bass_pattern_weights),
        kick_pattern=choose.choice(style.drums.kick_patterns),
        ambience=choose.choice(style.ambience),
    )
