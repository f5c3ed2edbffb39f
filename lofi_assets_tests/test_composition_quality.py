"""The acceptance measurements of the composition engine: 7 styles × 20 seeds.

Every figure is read back from the MIDI file that was written, except humanisation, which
compares each note's written tick with the grid position it was played from.
"""

import itertools
import statistics
from collections import defaultdict

import pytest

from lofi_assets.music.analysis import (
    empty_beat_rate,
    hat_onsets,
    in_key_rate,
    pitch_class_entropy,
    read_midi,
    swing_ratio,
    timing_deviations_ms,
    velocity_sd_by_part,
)
from lofi_assets.music.arrangement import compose_sketch
from lofi_assets.music.drums import GHOST_VELOCITY
from lofi_assets.music.form import bar_duration_s
from lofi_assets.music.midi_io import write_sketch_midi
from lofi_assets.music.plan import SketchRequest
from lofi_assets.music.styles import get_style, style_names

SEEDS = range(20)


@pytest.fixture(scope="module")
def measurements(tmp_path_factory):
    """Compose and measure every style × seed once for the whole module."""
    folder = tmp_path_factory.mktemp("quality")
    rows = defaultdict(list)
    for style in style_names():
        for seed in SEEDS:
            sketch = compose_sketch(SketchRequest(seed=seed, style=style))
            path = write_sketch_midi(sketch, folder / f"{style}-{seed}.mid")
            rows[style].append((sketch, read_midi(path)))
    return rows


def test_there_are_seven_styles():
    assert set(style_names()) == {
        "japanese", "jazz", "boom_bap", "ambient", "study", "rainy_day", "cafe"
    }  # fmt: skip


@pytest.mark.parametrize("style", style_names())
def test_pitched_tracks_stay_in_key(measurements, style):
    for sketch, summary in measurements[style]:
        rate = in_key_rate(summary.pitched_notes(), sketch.plan.key.scale_pcs)
        assert rate >= 0.85, f"{style} seed {sketch.plan.seed}: in-key rate {rate:.3f}"


@pytest.mark.parametrize("style", style_names())
def test_pitch_class_entropy_is_tonal_but_not_monotonous(measurements, style):
    for sketch, summary in measurements[style]:
        entropy = pitch_class_entropy(summary.pitched_notes())
        assert 2.5 <= entropy <= 3.3, f"{style} seed {sketch.plan.seed}: {entropy:.3f} bits"


@pytest.mark.parametrize("style", style_names())
def test_hats_swing_their_sixteenths_as_planned(measurements, style):
    for sketch, summary in measurements[style]:
        ratio = swing_ratio(hat_onsets(summary))
        assert ratio is not None
        assert 0.54 <= ratio <= 0.62, f"{style} seed {sketch.plan.seed}: swing {ratio:.3f}"
        assert abs(ratio - sketch.plan.swing) <= 0.015


@pytest.mark.parametrize("style", style_names())
def test_most_progressions_differ_between_seeds(measurements, style):
    progressions = {
        tuple(sketch.plan.progressions["A"].romans + sketch.plan.progressions["B"].romans)
        for sketch, _ in measurements[style]
    }
    assert len(progressions) >= 0.7 * len(SEEDS)


@pytest.mark.parametrize("style", style_names())
def test_body_sections_have_no_empty_beats(measurements, style):
    for sketch, summary in measurements[style]:
        body = [
            (section.start_beats, section.end_beats)
            for section in sketch.plan.sections
            if section.name not in ("intro", "outro")
        ]
        rate = empty_beat_rate(summary.all_notes(), body)
        assert rate <= 0.05, f"{style} seed {sketch.plan.seed}: empty-beat rate {rate:.3f}"


@pytest.mark.parametrize("style", style_names())
def test_humanization_stays_within_musical_bounds(measurements, style):
    for sketch, summary in measurements[style]:
        for player, deviations in timing_deviations_ms(sketch).items():
            jitter_sd = statistics.pstdev(deviations)
            assert 4.0 <= jitter_sd <= 15.0, (
                f"{style} {sketch.plan.seed} {player}: sd {jitter_sd:.2f}"
            )
            assert max(abs(d) for d in deviations) <= 50.0
        for part, sd in velocity_sd_by_part(summary).items():
            assert sd >= 5.0, f"{style} seed {sketch.plan.seed}: {part} velocity sd {sd:.2f}"


@pytest.mark.parametrize("style", style_names())
def test_snare_ghost_notes_are_quiet(measurements, style):
    for sketch, _ in measurements[style]:
        ghosts = [n.velocity for n in sketch.part("drums").notes if n.voice == "ghost"]
        assert all(GHOST_VELOCITY[0] <= v <= GHOST_VELOCITY[1] for v in ghosts)
    has_ghosts = any(
        n.voice == "ghost" for sketch, _ in measurements[style] for n in sketch.part("drums").notes
    )
    # A cross-stick backbeat (ambient) is played without ghost notes; a snare has them.
    assert has_ghosts == (get_style(style).drums.backbeat == "snare")


@pytest.mark.parametrize("style", style_names())
def test_track_length_is_within_one_bar_of_target(measurements, style):
    for sketch, summary in measurements[style]:
        assert abs(summary.length_s - sketch.plan.target_duration_s) <= bar_duration_s(
            sketch.plan.bpm
        )
        assert 165.0 - 3 <= summary.length_s <= 210.0 + 3


@pytest.mark.parametrize("style", style_names())
def test_melody_moves_mostly_by_step_and_resolves_leaps(measurements, style):
    steps = resolved = leaps = intervals = 0
    for sketch, _ in measurements[style]:
        notes = sketch.part("melody").notes
        # Intervals inside a phrase; a rest of a beat or more ends the phrase (None), so a
        # phrase's last leap is not paired with the next phrase's first interval.
        moves = [
            b.pitch - a.pitch if b.start_beats - (a.start_beats + a.duration_beats) < 1.0 else None
            for a, b in itertools.pairwise(notes)
        ]
        gaps = [move for move in moves if move is not None]
        intervals += len(gaps)
        steps += sum(abs(g) <= 4 for g in gaps)
        for first, second in itertools.pairwise(moves):
            if first is not None and second is not None and abs(first) > 4:
                leaps += 1
                resolved += second * first < 0 and abs(second) <= 4
    assert steps / intervals >= 0.65
    assert leaps > 0 and resolved / leaps >= 0.75


def test_melodies_use_triplets_and_syncopation(measurements):
    triplets = syncopations = 0
    for rows in measurements.values():
        for sketch, _ in rows:
            for note in sketch.part("melody").notes:
                thirds = note.start_beats * 3
                if abs(thirds - round(thirds)) < 1e-6 and round(thirds) % 3 != 0:
                    triplets += 1
                if note.start_beats % 1 >= 0.25 and note.duration_beats >= 0.75:
                    syncopations += 1  # a long note struck off the beat
    assert triplets > 50 and syncopations > 50


def test_drums_have_fills_and_percussion_layers(measurements):
    voices = {
        note.voice
        for rows in measurements.values()
        for sketch, _ in rows
        for note in sketch.part("drums").notes
    }
    assert {"kick", "snare", "ghost", "hats", "toms", "crash", "percussion"} <= voices
