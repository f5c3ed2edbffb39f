"""The arrangement: sections as a contract, forms that vary, lo-fi drums, melody with space,
kits per style and the sustain pedal.

Bounds are measured on the written MIDI with the independent measures of
``sound_measures`` (mido, not the composer's own reader), on a few seeds per style at full
length (composing is fast; nothing here renders audio).
"""

import itertools
import json
import statistics
from pathlib import Path

import mido
import pytest
import yaml

from lofi_assets.errors import ConfigError
from lofi_assets.music.analysis import read_midi
from lofi_assets.music.arrangement import Sketch, arrange, compose_sketch
from lofi_assets.music.melody import MELODY_RANGE
from lofi_assets.music.midi_io import SUSTAIN_PEDAL_CC, write_sketch_midi
from lofi_assets.music.plan import SketchRequest, resolve_plan
from lofi_assets.music.score import DRUM_CHANNEL, NoteEvent, Part, Section
from lofi_assets.music.styles import (
    DRUM_KITS,
    assets_library_dir,
    get_style,
    parse_style,
    style_names,
)
from lofi_assets_tests import sound_measures as sm

SEEDS = range(4)


@pytest.fixture(scope="module")
def tracks(tmp_path_factory) -> dict[str, list[tuple[Sketch, sm.MidiMeasures]]]:
    folder = tmp_path_factory.mktemp("arrangement")
    rows: dict[str, list[tuple[Sketch, sm.MidiMeasures]]] = {}
    for style in style_names():
        for seed in SEEDS:
            sketch = compose_sketch(SketchRequest(seed=seed, style=style))
            path = write_sketch_midi(sketch, folder / f"{style}-{seed}.mid")
            rows.setdefault(style, []).append((sketch, sm.midi_measures(path)))
    return rows


# --- Sections are the contract the plan serializes ------------------------------------------


def test_sections_round_trip_through_json_exactly():
    for seed in range(3):
        for section in resolve_plan(SketchRequest(seed=seed, style="jazz")).sections:
            document = json.loads(json.dumps(section.to_document()))
            assert Section.from_document(document) == section


def test_a_section_document_from_before_the_arrangement_reads_with_defaults():
    section = Section.from_document({"name": "B", "start_bar": 8, "bars": 4})
    assert section.plays("drums") and section.energy == 1.0 and not section.crash
    assert section.progression_name == "B"


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "chorus"), ("parts", ["keys", "tuba"]), ("energy", 1.5), ("drums", "loud")],
)
def test_a_section_document_with_a_bad_value_is_refused(field, value):
    document = Section("A", 0, 4).to_document() | {field: value}
    with pytest.raises(ValueError, match=field):
        Section.from_document(document)


def test_every_section_name_maps_to_a_progression():
    plan = resolve_plan(SketchRequest(seed=3, style="cafe"))
    for section in plan.sections:
        assert section.progression_name in plan.progressions


# --- Forms vary; parts enter and leave --------------------------------------------------------


@pytest.mark.parametrize("style", style_names())
def test_forms_and_layouts_vary_between_seeds(tracks, style):
    layouts = {measures.layout for _, measures in tracks[style]}
    assert len(layouts) >= 3, f"{style}: {len(layouts)} layouts over {len(SEEDS)} seeds"


@pytest.mark.parametrize("style", style_names())
def test_the_body_drops_the_drums_and_the_melody_for_a_while(tracks, style):
    for sketch, measures in tracks[style]:
        seed = sketch.plan.seed
        assert measures.drumless_bars >= 2, f"{style} {seed}: {measures.drumless_bars} bars"
        assert measures.melodyless_bars >= 4, f"{style} {seed}: {measures.melodyless_bars} bars"
        assert measures.melody_share <= 0.70, f"{style} {seed}: {measures.melody_share:.2f}"
        assert measures.phrase_rests >= sm.MIN_PHRASE_RESTS, f"{style} {seed}"


def test_intro_builds_and_outro_strips_down():
    for seed in range(6):
        sections = resolve_plan(SketchRequest(seed=seed, style="study")).sections
        intro = [s for s in sections if s.name == "intro"]
        outro = [s for s in sections if s.name == "outro"]
        assert set(intro[0].parts) <= set(intro[-1].parts) and len(intro[0].parts) < 5
        assert set(outro[-1].parts) <= set(outro[0].parts) and "drums" not in outro[-1].parts
        assert "melody" not in intro[0].parts


def test_drop_outs_are_softer_than_the_theme():
    sketch = compose_sketch(SketchRequest(seed=0, style="japanese"))
    drop = next(s for s in sketch.plan.sections if s.name in ("breakdown", "bridge"))
    a2 = next(s for s in sketch.plan.sections if s.name == "A2")
    keys = sketch.part("keys").notes

    def mean_velocity(section: Section) -> float:
        return statistics.mean(
            n.velocity for n in keys if section.start_beats <= n.start_beats < section.end_beats
        )

    assert mean_velocity(drop) < 0.8 * mean_velocity(a2)


# --- Lo-fi drums -----------------------------------------------------------------------------


@pytest.mark.parametrize("style", style_names())
def test_drums_loop_with_few_crashes_and_at_most_one_tom_fill(tracks, style):
    for sketch, measures in tracks[style]:
        assert measures.drum_repeat_share is not None and measures.drum_repeat_share >= 0.6
        assert measures.crashes <= 2, f"{style} {sketch.plan.seed}: {measures.crashes}"
        assert measures.tom_fills <= 1, f"{style} {sketch.plan.seed}: {measures.tom_fills}"


def test_fills_include_drop_outs_snare_variations_and_reversed_cymbals(tracks):
    fills = {s.fill for rows in tracks.values() for sketch, _ in rows for s in sketch.plan.sections}
    assert {"dropout", "snare", "reverse_cymbal"} <= fills


def test_the_drum_track_selects_the_styles_gm2_kit(tmp_path):
    for style in ("jazz", "boom_bap", "ambient"):
        sketch = compose_sketch(SketchRequest(seed=1, style=style, duration_s=30))
        path = write_sketch_midi(sketch, tmp_path / f"{style}.mid")
        track = next(t for t in mido.MidiFile(path).tracks if t.name == "drums")
        programs = [m for m in track if m.type == "program_change"]
        assert [(m.channel, m.program) for m in programs] == [
            (DRUM_CHANNEL, DRUM_KITS[get_style(style).drums.kit][0])
        ]
    assert DRUM_KITS["brush"][0] == 40 and DRUM_KITS["tr808"][0] == 25


def test_an_unknown_kit_is_refused():
    path = assets_library_dir() / "styles" / "jazz.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["drums"]["kit"] = "garage"
    with pytest.raises(ConfigError, match=r"drums\.kit"):
        parse_style(document, path)


# --- Melody --------------------------------------------------------------------------------


def test_melody_density_follows_the_style(tracks):
    per_style = {
        style: statistics.mean(m.melody_notes_per_bar for _, m in rows)
        for style, rows in tracks.items()
    }
    sparsest = min(per_style, key=per_style.get)
    densest = max(per_style, key=per_style.get)
    assert per_style[densest] >= 1.6 * per_style[sparsest], per_style
    assert get_style(sparsest).melody_density < get_style(densest).melody_density


@pytest.mark.parametrize("style", style_names())
def test_melody_sits_above_the_pad_and_a_prime_returns_in_as_register(tracks, style):
    for sketch, measures in tracks[style]:
        assert measures.melody_above_pad is None or measures.melody_above_pad >= 0.75
        assert measures.a_prime_interval is not None and measures.a_prime_interval <= 7, (
            f"{style} {sketch.plan.seed}: A′ starts {measures.a_prime_interval} semitones away"
        )


class _LowModel:
    """A stand-in for the melody model: a low melody in every section but intro/outro."""

    def write(self, sections, timeline, key, style, instrument, seed):
        notes = [
            NoteEvent(section.start_beats + beat, 0.9, 48 + key.tonic_pc, 80, "melody")
            for section in sections
            if section.name not in ("intro", "outro")
            for beat in range(0, section.bars * 4, 2)
        ]
        return Part("melody", instrument.program, instrument.name, 3, notes), {"generator": "model"}


def test_a_model_melody_is_lifted_into_the_register_and_rests_where_the_melody_does():
    plan = resolve_plan(SketchRequest(seed=2, style="study"))
    sketch = arrange(plan, _LowModel())
    assert sketch.melody_source == {"generator": "model"}
    melody = sketch.part("melody").notes
    assert melody and all(MELODY_RANGE[0] - 12 < n.pitch <= MELODY_RANGE[1] for n in melody)
    for section in plan.sections:
        inside = [n for n in melody if section.start_beats <= n.start_beats < section.end_beats]
        assert bool(inside) == section.plays("melody") or not inside


# --- Keys: legato and the sustain pedal ------------------------------------------------------


def _pedalled_sketch() -> Sketch:
    for seed in range(40):
        plan = resolve_plan(SketchRequest(seed=seed, style="study"))
        if plan.keys_pattern in ("block", "arpeggio"):
            return arrange(plan)
    raise AssertionError("no study seed comps with block chords or arpeggios")


def test_keys_pedal_at_chord_changes_and_the_reader_applies_it(tmp_path):
    sketch = _pedalled_sketch()
    path = write_sketch_midi(sketch, tmp_path / "pedal.mid")
    track = next(t for t in mido.MidiFile(path).tracks if t.name == "keys")
    controls = [m for m in track if m.type == "control_change"]
    assert controls and {m.control for m in controls} == {SUSTAIN_PEDAL_CC}
    pedal = [m.value for m in controls]
    assert pedal[0] == 127 and set(pedal) == {0, 127}
    written = sorted(n.start_beats + n.duration_beats for n in sketch.part("keys").notes)
    read = sorted(n.end_beats for n in read_midi(path).tracks["keys"])
    assert statistics.mean(read) > statistics.mean(written)  # pedalled notes ring longer


def _file_with(messages: list[mido.Message], path: Path) -> Path:
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack([mido.MetaMessage("track_name", name="keys"), *messages])
    midi.tracks.append(track)
    midi.save(path)
    return path


def test_a_note_released_under_the_pedal_sounds_until_the_pedal_lifts(tmp_path):
    path = _file_with(
        [
            mido.Message("control_change", control=64, value=127, time=0),
            mido.Message("note_on", note=60, velocity=80, time=0),
            mido.Message("note_off", note=60, time=240),
            mido.Message("control_change", control=64, value=0, time=720),
        ],
        tmp_path / "held.mid",
    )
    (note,) = read_midi(path).tracks["keys"]
    assert (note.start_beats, note.end_beats) == (0.0, 2.0)


def test_a_restrike_under_the_pedal_ends_the_ringing_note(tmp_path):
    path = _file_with(
        [
            mido.Message("control_change", control=64, value=127, time=0),
            mido.Message("note_on", note=60, velocity=80, time=0),
            mido.Message("note_off", note=60, time=240),
            mido.Message("note_on", note=60, velocity=70, time=240),
            mido.Message("note_off", note=60, time=240),
            mido.Message("control_change", control=64, value=0, time=480),
        ],
        tmp_path / "restrike.mid",
    )
    first, second = read_midi(path).tracks["keys"]
    assert (first.start_beats, first.end_beats) == (0.0, 1.0)
    assert (second.start_beats, second.end_beats) == (1.0, 2.5)


def test_without_a_pedal_notes_end_where_they_are_released(tmp_path):
    path = _file_with(
        [
            mido.Message("note_on", note=62, velocity=80, time=0),
            mido.Message("note_off", note=62, time=480),
        ],
        tmp_path / "dry.mid",
    )
    (note,) = read_midi(path).tracks["keys"]
    assert note.end_beats == 1.0


def test_block_chords_are_legato():
    for seed in range(40):
        plan = resolve_plan(SketchRequest(seed=seed, style="jazz"))
        if plan.keys_pattern == "block":
            break
    keys = arrange(plan).part("keys").notes
    starts = sorted({n.start_beats for n in keys})
    by_start = {s: [n for n in keys if n.start_beats == s] for s in starts}
    gaps = [
        following - max(n.start_beats + n.duration_beats for n in by_start[start])
        for start, following in itertools.pairwise(starts)
        if following - start <= 4
    ]
    assert max(gaps) < 0.05  # each chord is held until the next is struck


# --- The producer's review: edges, completions, phrasing, fill idiom ----------------------


def _onsets(sketch: Sketch, part: str, start: float, end: float) -> list[NoteEvent]:
    tolerance = 0.15  # humanised onsets may land a little before the grid
    return [
        n for n in sketch.part(part).notes if start - tolerance <= n.start_beats < end - tolerance
    ]


@pytest.mark.parametrize("style", style_names())
def test_the_melody_completes_its_sections_and_an_outro_that_lists_it_plays_it(tracks, style):
    for sketch, _ in tracks[style]:
        for section in sketch.plan.sections:
            if not section.plays("melody"):
                continue
            notes = _onsets(sketch, "melody", section.start_beats, section.end_beats)
            assert notes, f"{style} {sketch.plan.seed}: {section.name} lists the melody, plays none"
            if section.name in ("A2", "B2"):  # a restatement runs to its section's last bar
                last_end = max(n.start_beats + n.duration_beats for n in notes)
                assert section.end_beats - last_end <= 6.5, (style, sketch.plan.seed, section)


@pytest.mark.parametrize("style", style_names())
def test_the_bass_leaves_no_approach_note_before_it_rests(tracks, style):
    for sketch, _ in tracks[style]:
        sections = sketch.plan.sections
        for section, following in itertools.pairwise(sections):
            if section.plays("bass") and not following.plays("bass"):
                notes = _onsets(sketch, "bass", section.start_beats, section.end_beats)
                last = notes[-1]
                # held through to the edge, started at least a beat before it
                assert section.end_beats - last.start_beats >= 1.5, (style, sketch.plan.seed)
                assert last.start_beats + last.duration_beats >= section.end_beats - 0.3


@pytest.mark.parametrize("style", style_names())
def test_parts_enter_and_leave_in_steps(tracks, style):
    for sketch, _ in tracks[style]:
        sections = sketch.plan.sections
        a_index = next(i for i, s in enumerate(sections) if s.name == "A")
        before, a = sections[a_index - 1], sections[a_index]
        entering = set(a.parts) - set(before.parts)
        assert len(entering) <= 2 and "melody" in entering, (style, sketch.plan.seed, entering)
        outro = [s for s in sections if s.name == "outro"]
        assert len(outro) == 2, (style, sketch.plan.seed)
        assert outro[0].drums in ("hats", "light")
        assert {"keys", "pad"} <= set(outro[1].parts) and outro[1].drums == "none"


@pytest.mark.parametrize("style", style_names())
def test_phrases_end_on_held_notes(tracks, style):
    for sketch, _ in tracks[style]:
        notes = sketch.part("melody").notes
        finals = [
            a
            for a, b in itertools.pairwise(notes)
            if b.start_beats - (a.start_beats + a.duration_beats) >= 1.0
        ]
        held = sum(n.duration_beats >= 1.4 for n in finals) / len(finals)
        assert held >= 0.75, f"{style} {sketch.plan.seed}: {held:.0%} of phrase ends held"


def test_snare_fills_span_the_last_two_beats_and_styles_keep_their_kit_idiom(tracks):
    for style, rows in tracks.items():
        for sketch, _ in rows:
            drums = sketch.part("drums").notes
            pitches = {n.pitch for n in drums}
            assert not pitches & {60, 61} or style != "boom_bap"  # no bongos in boom bap
            if get_style(style).drums.timekeeper == "ride":
                assert 51 in pitches and 42 not in pitches
            if get_style(style).drums.backbeat == "side_stick":
                assert 37 in pitches and 38 not in pitches
            for section in sketch.plan.sections:
                if section.fill != "snare":
                    continue
                end = section.end_beats
                fill = [
                    n for n in drums if n.pitch in (37, 38) and end - 2.1 <= n.start_beats < end
                ]
                assert len(fill) >= 4 and min(n.start_beats for n in fill) <= end - 1.7
