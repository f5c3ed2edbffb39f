"""MIDI files a producer brings are read as the Standard MIDI File 1.0 spec times them (issue 14).

Each case is an edit of ``lofi sketch --style jazz --seed 7`` made with mido, read back through
the product's reader and compared with the same music in the product's own format (type 1,
named tracks, one tempo): the notes must sound at the same seconds (within 1 ms) on the same
parts.
"""

from __future__ import annotations

import struct
import time
import tracemalloc
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile

from lofi_assets.audio import SAMPLE_RATE_HZ
from lofi_assets.audio.production import (
    MAX_TRACK_DURATION_S,
    RENDER_TAIL_S,
    ProductionError,
    ProductionInputs,
    production_inputs,
)
from lofi_assets.cli import main
from lofi_assets.errors import CorruptMidiError, LofiError, MidiFormatError, MidiNotFoundError
from lofi_assets.music.analysis import read_midi
from lofi_assets.music.arrangement import compose_sketch
from lofi_assets.music.midi_io import SMPTE_FRAMES_PER_SECOND, write_sketch_midi
from lofi_assets.music.plan import SketchRequest
from lofi_assets.music.plan_record import PlanRecord, read_plan_record, record_sketch
from lofi_assets.storage import write_json_atomic

ONSET_TOLERANCE_S = 0.001  # the acceptance: onsets within 1 ms


def _sketch_files(folder: Path, duration_s: float) -> tuple[Path, Path]:
    sketch = compose_sketch(SketchRequest(seed=7, style="jazz", duration_s=duration_s))
    midi_path = write_sketch_midi(sketch, folder / "jazz7.mid")
    plan_path = write_json_atomic(folder / "jazz7.plan.json", record_sketch(sketch).to_document())
    return midi_path, plan_path


@pytest.fixture(scope="module")
def jazz(tmp_path_factory) -> tuple[Path, PlanRecord]:
    """``lofi sketch --style jazz --seed 7 --duration 20`` in the product's own format."""
    midi_path, plan_path = _sketch_files(tmp_path_factory.mktemp("jazz"), 20.0)
    return midi_path, read_plan_record(plan_path)


def _inputs(path: Path, plan: PlanRecord) -> ProductionInputs:
    return production_inputs(read_midi(path), plan)


def _assert_same_music(inputs: ProductionInputs, reference: ProductionInputs) -> None:
    """Every part has the same notes (pitch, velocity) at the same seconds, within 1 ms."""
    for name, part in reference.parts.items():
        got = inputs.parts[name]
        assert len(got.notes) == len(part.notes), name
        assert (got.program, got.is_drums) == (part.program, part.is_drums), name
        # By pitch, then time: a re-timed file may reorder two onsets less than 1 ms apart.
        by_pitch = sorted(got.notes, key=lambda note: (note.pitch, note.start_s))
        expected_by_pitch = sorted(part.notes, key=lambda note: (note.pitch, note.start_s))
        for note, expected in zip(by_pitch, expected_by_pitch, strict=True):
            assert (note.pitch, note.velocity) == (expected.pitch, expected.velocity), name
            assert abs(note.start_s - expected.start_s) <= ONSET_TOLERANCE_S, name
            assert abs(note.end_s - expected.end_s) <= ONSET_TOLERANCE_S, name


def _save(midi: mido.MidiFile, path: Path) -> Path:
    midi.save(path)
    return path


def _type_0(source: Path, path: Path, keep_names: bool = True) -> Path:
    """The file's tracks merged into one (mido.merge_tracks), as a DAW's type-0 export."""
    midi = mido.MidiFile(source)
    merged = mido.merge_tracks(midi.tracks)
    if not keep_names:
        named = ("track_name", "instrument_name")
        merged = _relative([(t, m) for t, m in _absolute(merged) if m.type not in named])
    out = mido.MidiFile(type=0, ticks_per_beat=midi.ticks_per_beat)
    out.tracks.append(merged)
    return _save(out, path)


def _absolute(track: mido.MidiTrack) -> list[tuple[int, mido.Message]]:
    tick, timed = 0, []
    for message in track:
        tick += message.time
        timed.append((tick, message))
    return timed


def _relative(timed: list[tuple[int, mido.Message]]) -> mido.MidiTrack:
    track, now = mido.MidiTrack(), 0
    for tick, message in sorted(timed, key=lambda item: item[0]):
        track.append(message.copy(time=tick - now))
        now = tick
    return track


def _smpte(source: Path, path: Path, frames: int, ticks_per_frame: int) -> Path:
    """The same music timed in SMPTE frames: each event at mido's own reading of its seconds
    (one tempo: ``mido.tick2second``), rounded to the nearest SMPTE tick."""
    midi = mido.MidiFile(source)
    (tempo,) = {m.tempo for track in midi.tracks for m in track if m.type == "set_tempo"}
    ticks_per_second = SMPTE_FRAMES_PER_SECOND[frames] * ticks_per_frame
    # SMF 1.0 division word: -frames (two's complement) in the high byte, ticks per frame low.
    division = struct.unpack(">h", bytes([256 - frames, ticks_per_frame]))[0]
    out = mido.MidiFile(type=1, ticks_per_beat=division)
    for track in midi.tracks:
        retimed = [
            (round(mido.tick2second(tick, midi.ticks_per_beat, tempo) * ticks_per_second), m)
            for tick, m in _absolute(track)
        ]
        out.tracks.append(_relative(retimed))
    return _save(out, path)


def _one_track_file(path: Path, messages: list[mido.Message], ticks_per_beat: int = 480) -> Path:
    midi = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    midi.tracks.append(mido.MidiTrack([mido.MetaMessage("track_name", name="keys"), *messages]))
    return _save(midi, path)


# --- type 0 and one-track files: parts by channel and program ---------------------------------


def test_a_type_0_file_puts_its_drum_hits_on_the_drum_part(jazz, tmp_path):
    midi_path, plan = jazz
    reference = _inputs(midi_path, plan)
    summary = read_midi(_type_0(midi_path, tmp_path / "type0.mid"))
    assert summary.midi_type == 0
    drum_hits = len(reference.parts["drums"].notes)
    assert drum_hits > 50
    assert len(summary.tracks["drums"]) == drum_hits
    assert {note.channel for note in summary.tracks["drums"]} == {9}
    assert summary.part_sources["drums"] == "channel 10"
    assert all(note.channel != 9 for name in ("keys", "bass", "melody", "pad")
               for note in summary.tracks[name])  # fmt: skip
    _assert_same_music(production_inputs(summary, plan), reference)


def test_a_one_track_file_without_names_is_read_by_channel_not_refused(jazz, tmp_path):
    midi_path, plan = jazz
    reference = _inputs(midi_path, plan)
    one_track = mido.MidiFile(type=1, ticks_per_beat=480)
    one_track.tracks = mido.MidiFile(_type_0(midi_path, tmp_path / "t0.mid", False)).tracks
    path = _save(one_track, tmp_path / "daw.mid")
    assert not any(m.type == "track_name" for m in mido.MidiFile(path).tracks[0])
    inputs = _inputs(path, plan)
    total = sum(len(part.notes) for part in inputs.parts.values())
    assert total == sum(len(part.notes) for part in reference.parts.values()) > 200
    _assert_same_music(inputs, reference)


def test_two_channels_of_one_family_split_into_keys_and_the_melody(tmp_path):
    # A piano comping in chords (channel 1) and an electric piano playing one line (channel 2):
    # both are "keys" by General MIDI family; the single line takes the empty melody part.
    messages = [
        mido.Message("program_change", channel=0, program=0),
        mido.Message("program_change", channel=1, program=4),
    ]
    for bar in range(2):
        messages += [mido.Message("note_on", channel=0, note=p, velocity=70) for p in (48, 52, 55)]
        messages += [mido.Message("note_on", channel=1, note=72 + bar, velocity=90)]
        messages += [mido.Message("note_off", channel=1, note=72 + bar, time=960)]
        messages += [mido.Message("note_on", channel=1, note=74 + bar, velocity=90)]
        messages += [mido.Message("note_off", channel=1, note=74 + bar, time=960)]
        messages += [mido.Message("note_off", channel=0, note=p) for p in (48, 52, 55)]
    midi = mido.MidiFile(type=0, ticks_per_beat=480)
    midi.tracks.append(mido.MidiTrack(messages))
    summary = read_midi(_save(midi, tmp_path / "two_keys.mid"))
    assert {n.pitch for n in summary.tracks["keys"]} == {48, 52, 55}
    assert [n.pitch for n in summary.tracks["melody"]] == [72, 74, 73, 75]
    assert summary.programs == {"keys": 0, "melody": 4}


def test_a_program_change_moves_later_notes_to_its_family_part(tmp_path):
    midi = mido.MidiFile(type=0, ticks_per_beat=480)
    midi.tracks.append(
        mido.MidiTrack(
            [
                mido.Message("program_change", program=33),  # fingered bass
                mido.Message("note_on", note=36, velocity=90),
                mido.Message("note_off", note=36, time=480),
                mido.Message("program_change", program=89),  # warm pad, same channel
                mido.Message("note_on", note=60, velocity=60),
                mido.Message("note_off", note=60, time=1920),
            ]
        )
    )
    summary = read_midi(_save(midi, tmp_path / "switch.mid"))
    assert [n.pitch for n in summary.tracks["bass"]] == [36]
    assert [n.pitch for n in summary.tracks["pad"]] == [60]
    assert summary.programs == {"bass": 33, "pad": 89}


def test_tracks_with_the_same_part_name_are_one_part(tmp_path):
    midi = mido.MidiFile(type=1, ticks_per_beat=480)
    for pitch in (60, 64):
        midi.tracks.append(
            mido.MidiTrack(
                [
                    mido.MetaMessage("track_name", name="keys"),
                    mido.Message("note_on", note=pitch, velocity=80),
                    mido.Message("note_off", note=pitch, time=480),
                ]
            )
        )
    summary = read_midi(_save(midi, tmp_path / "twice.mid"))
    assert [n.pitch for n in summary.tracks["keys"]] == [60, 64]


# --- time: SMPTE division and tempo maps ------------------------------------------------------


@pytest.mark.parametrize(("frames", "ticks_per_frame"), [(25, 40), (29, 100), (24, 80)])
def test_an_smpte_timed_file_plays_the_same_notes_at_the_same_seconds(
    jazz, tmp_path, frames, ticks_per_frame
):
    midi_path, plan = jazz
    path = _smpte(midi_path, tmp_path / "smpte.mid", frames, ticks_per_frame)
    summary = read_midi(path)
    assert summary.ticks_per_beat is None
    assert (summary.division.smpte_format, summary.division.ticks_per_frame) == (
        frames,
        ticks_per_frame,
    )
    _assert_same_music(production_inputs(summary, plan), _inputs(midi_path, plan))


def test_drop_frame_smpte_counts_29_97_frames_a_second(tmp_path):
    # SMF 1.0: a division of -29 is "30 drop frame": 30 000 / 1 001 frames of real time a second.
    midi = mido.MidiFile(type=0, ticks_per_beat=struct.unpack(">h", bytes([256 - 29, 100]))[0])
    midi.tracks.append(
        mido.MidiTrack(
            [
                mido.Message("note_on", note=60, velocity=80, time=3000),  # 30 frames
                mido.Message("note_off", note=60, time=3000),
            ]
        )
    )
    (note,) = read_midi(_save(midi, tmp_path / "df.mid")).tracks["keys"]
    assert note.start_s == pytest.approx(1.001, abs=1e-9)
    assert note.end_s == pytest.approx(2.002, abs=1e-9)


@pytest.mark.parametrize(
    ("division_bytes", "fix"),
    [(bytes([256 - 26, 40]), "-24, -25, -29, -30"), (bytes([256 - 25, 0]), "tick per frame")],
)
def test_an_smpte_division_the_spec_does_not_define_is_refused(tmp_path, division_bytes, fix):
    midi = mido.MidiFile(type=0, ticks_per_beat=struct.unpack(">h", division_bytes)[0])
    midi.tracks.append(mido.MidiTrack([mido.Message("note_on", note=60, velocity=80)]))
    with pytest.raises(MidiFormatError, match=fix):
        read_midi(_save(midi, tmp_path / "odd.mid"))


def test_every_tempo_change_moves_the_notes_after_it(tmp_path):
    # 120 BPM, 60 BPM from beat 4 (set in another track, which the spec allows), 240 from 8.
    conductor = mido.MidiTrack(
        [
            mido.MetaMessage("set_tempo", tempo=500_000),
            mido.MetaMessage("set_tempo", tempo=250_000, time=8 * 480),
        ]
    )
    keys = mido.MidiTrack([mido.MetaMessage("track_name", name="keys")])
    keys.append(mido.MetaMessage("set_tempo", tempo=1_000_000, time=4 * 480))
    for beat_gap in (0, 1, 3):  # notes on beats 4, 6 and 10, each a beat long
        keys.append(mido.Message("note_on", note=60, velocity=80, time=beat_gap * 480))
        keys.append(mido.Message("note_off", note=60, time=480))
    midi = mido.MidiFile(type=1, ticks_per_beat=480, tracks=[conductor, keys])
    summary = read_midi(_save(midi, tmp_path / "tempo_map.mid"))
    notes = summary.tracks["keys"]
    assert [n.start_beats for n in notes] == [4.0, 6.0, 10.0]
    # 4 beats at 0.5 s, then 4 at 1 s, then 0.25 s a beat:
    assert [n.start_s for n in notes] == pytest.approx([2.0, 4.0, 6.5])
    # …which is mido's own playback of the file (MidiFile iterates in seconds):
    elapsed, onsets = 0.0, []
    for message in mido.MidiFile(tmp_path / "tempo_map.mid"):
        elapsed += message.time
        if message.type == "note_on":
            onsets.append(elapsed)
    assert [n.start_s for n in notes] == pytest.approx(onsets, abs=1e-9)
    assert summary.tempo_changes == 3 and summary.length_s == pytest.approx(6.75)


def test_a_type_2_file_of_several_sequences_is_refused_and_of_one_is_read(tmp_path):
    def sequence() -> mido.MidiTrack:
        return mido.MidiTrack(
            [mido.Message("note_on", note=60, velocity=80), mido.Message("note_off", note=60)]
        )

    several = mido.MidiFile(type=2, ticks_per_beat=480, tracks=[sequence(), sequence()])
    with pytest.raises(MidiFormatError, match="type 1"):
        read_midi(_save(several, tmp_path / "several.mid"))
    one = mido.MidiFile(type=2, ticks_per_beat=480, tracks=[sequence()])
    assert len(read_midi(_save(one, tmp_path / "one.mid")).tracks["keys"]) == 1


# --- notes the spec leaves to the reader --------------------------------------------------


def test_running_status_and_velocity_0_note_offs(tmp_path):
    # Raw bytes: one note-on status byte (0x90) then data only (running status), and
    # velocity-0 note-ons as the note-offs, as hardware sequencers write them.
    events = bytes.fromhex("00903c5000405083603c0000400000ff2f00")
    data = b"MThd" + struct.pack(">LHHH", 6, 0, 1, 480)
    data += b"MTrk" + struct.pack(">L", len(events)) + events
    path = tmp_path / "running.mid"
    path.write_bytes(data)
    notes = read_midi(path).tracks["keys"]
    assert [(n.pitch, n.start_beats, n.end_beats) for n in notes] == [(60, 0, 1), (64, 0, 1)]


def test_a_key_struck_again_while_sounding_ends_the_first_note_there(tmp_path):
    path = _one_track_file(
        tmp_path / "overlap.mid",
        [
            mido.Message("note_on", note=60, velocity=80),
            mido.Message("note_on", note=60, velocity=70, time=480),  # struck again
            mido.Message("note_off", note=60, time=0),  # a DAW's late off for the first
            mido.Message("note_off", note=60, time=480),
        ],
    )
    first, second = read_midi(path).tracks["keys"]
    assert (first.start_beats, first.end_beats, first.velocity) == (0.0, 1.0, 80)
    assert (second.start_beats, second.end_beats, second.velocity) == (1.0, 2.0, 70)


def test_a_note_never_released_ends_with_the_music_not_the_track(tmp_path):
    path = _one_track_file(
        tmp_path / "hanging.mid",
        [
            mido.Message("note_on", note=48, velocity=80),  # never released
            mido.Message("note_on", note=60, velocity=80),
            mido.Message("note_off", note=60, time=4 * 480),
            mido.Message("note_on", note=62, velocity=80),  # starts at the end: dropped
            mido.MetaMessage("end_of_track", time=100 * 480),
        ],
    )
    summary = read_midi(path)
    assert [(n.pitch, n.end_beats) for n in summary.tracks["keys"]] == [(48, 4.0), (60, 4.0)]
    assert summary.length_beats == 4.0


# --- length from the notes, and a limit before anything is allocated -------------------------


@pytest.mark.parametrize(
    "stray",
    [
        mido.Message("control_change", control=7, value=90),
        mido.MetaMessage("marker", text="later"),
        mido.MetaMessage("end_of_track"),
    ],
    ids=["controller", "meta", "end_of_track"],
)
@pytest.mark.parametrize("after_s", [90.0, 3 * 3600.0])
def test_an_event_after_the_last_bar_does_not_lengthen_the_track(jazz, tmp_path, stray, after_s):
    midi_path, plan = jazz
    reference = _inputs(midi_path, plan)
    midi = mido.MidiFile(midi_path)
    drums = next(track for track in midi.tracks if track.name == "drums")
    end = drums.pop()  # its end_of_track, at the last bar
    later = round(mido.second2tick(after_s, midi.ticks_per_beat, mido.bpm2tempo(plan.bpm)))
    drums.append(stray.copy(time=end.time + later))
    if stray.type != "end_of_track":
        drums.append(mido.MetaMessage("end_of_track"))
    inputs = _inputs(_save(midi, tmp_path / "stray.mid"), plan)
    assert inputs.duration_s == reference.duration_s
    assert inputs.duration_s == pytest.approx(plan.duration_s, abs=ONSET_TOLERANCE_S)
    _assert_same_music(inputs, reference)


def _four_hour_note() -> bytes:
    """46 bytes: a note that a running-status velocity-0 note-on releases 4 hours later."""
    ticks = 4 * 3600 * 2 * 480  # at the default 120 BPM
    delta = bytes([0x80 | (ticks >> 21) & 0x7F, 0x80 | (ticks >> 14) & 0x7F])
    delta += bytes([0x80 | (ticks >> 7) & 0x7F, ticks & 0x7F])
    events = bytes.fromhex("00ff510307a12000c00000903c5a") + delta + bytes.fromhex("3c00")
    events += bytes.fromhex("00ff2f00")
    return (
        b"MThd"
        + struct.pack(">LHHH", 6, 0, 1, 480)
        + b"MTrk"
        + struct.pack(">L", len(events))
        + events
    )


def test_a_file_claiming_hours_of_notes_is_refused_before_anything_is_allocated(jazz, tmp_path):
    _, plan = jazz
    path = tmp_path / "four_hours.mid"
    path.write_bytes(_four_hour_note())
    assert path.stat().st_size == 46
    summary = read_midi(path)
    assert summary.length_s == 4 * 3600.0
    tracemalloc.start()
    with pytest.raises(ProductionError, match=f"{MAX_TRACK_DURATION_S:.0f} s") as refused:
        production_inputs(summary, plan)
    peak_bytes = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak_bytes < 1_000_000
    assert "14400.0 s" in str(refused.value)


def test_the_track_length_limit_passes_music_up_to_it(tmp_path, jazz):
    _, plan = jazz
    for length_s, refused in ((MAX_TRACK_DURATION_S - 1, False), (MAX_TRACK_DURATION_S + 1, True)):
        path = _one_track_file(
            tmp_path / "long.mid",
            [
                mido.Message("note_on", note=60, velocity=80),
                mido.Message("note_off", note=60, time=round(length_s * 2 * 480)),
            ],
        )
        summary = read_midi(path)
        if refused:
            with pytest.raises(ProductionError, match="MAX_TRACK_DURATION_S"):
                production_inputs(summary, plan)
        else:
            assert production_inputs(summary, plan).duration_s == pytest.approx(length_s)


# --- the command line ---------------------------------------------------------------------------


def test_lofi_render_refuses_the_four_hour_file_in_one_line(jazz, tmp_path, capsys):
    _, plan = jazz
    path = tmp_path / "four_hours.mid"
    path.write_bytes(_four_hour_note())
    plan_path = write_json_atomic(tmp_path / "plan.json", plan.to_document())
    started = time.perf_counter()
    code = main(["render", "--midi", str(path), "--plan", str(plan_path), "--out",
                 str(tmp_path / "out.wav")])  # fmt: skip
    assert time.perf_counter() - started < 5.0
    assert code == 2
    printed = capsys.readouterr().err.strip().splitlines()
    assert "parts: keys ← channel 1 program 0" in printed  # a type-0 file: parts by channel
    error = printed[-1]
    assert error.startswith("lofi: error: The music is too long to render")
    assert "MAX_TRACK_DURATION_S" in error
    assert not (tmp_path / "out.wav").exists()


def test_a_missing_or_unreadable_midi_file_is_a_clear_error(tmp_path, jazz):
    missing = tmp_path / "missing.mid"
    with pytest.raises(MidiNotFoundError, match="lofi sketch") as error:
        read_midi(missing)
    assert isinstance(error.value, FileNotFoundError) and isinstance(error.value, LofiError)
    (tmp_path / "text.mid").write_text("not midi")
    with pytest.raises(CorruptMidiError, match="not a readable MIDI file"):
        read_midi(tmp_path / "text.mid")


def _envelope_db(path: Path, frame_s: float = 0.05) -> np.ndarray:
    audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
    frame = round(frame_s * rate)
    usable = audio[: len(audio) // frame * frame].mean(axis=1).reshape(-1, frame)
    return 10 * np.log10(np.mean(usable**2, axis=1) + 1e-12)


def _lag_s(reference: np.ndarray, played: np.ndarray, max_lag: int) -> float:
    """Where ``played`` best lines up with ``reference`` (mono sums), in seconds."""
    a, b = reference.mean(axis=1), played.mean(axis=1)
    size = min(len(a), len(b))
    a, b = a[:size], b[:size]
    lags = range(-max_lag, max_lag + 1)
    scores = [float(np.dot(a[max(0, -k) : size - max(0, k)], b[max(0, k) : size - max(0, -k)]))
              for k in lags]  # fmt: skip
    return lags[int(np.argmax(scores))] / SAMPLE_RATE_HZ


def test_lofi_render_plays_type_0_and_smpte_files_like_the_original(tmp_path, capsys):
    """The issue's acceptance: `lofi render --midi` of a type-0 file and of an SMPTE-timed file
    made from the product's own sketch sound like the original, onsets within 1 ms."""
    midi_path, plan_path = _sketch_files(tmp_path, 14.0)
    files = {
        "original": midi_path,
        "smpte": _smpte(midi_path, tmp_path / "smpte.mid", 25, 40),
        "type0": _type_0(midi_path, tmp_path / "type0.mid", keep_names=False),
    }
    for name, midi in files.items():
        code = main(["render", "--midi", str(midi), "--plan", str(plan_path), "--out",
                     str(tmp_path / f"{name}.wav")])  # fmt: skip
        assert code == 0, capsys.readouterr().err
    plan = read_plan_record(plan_path)
    expected_s = _inputs(midi_path, plan).duration_s + RENDER_TAIL_S
    original_audio, _ = soundfile.read(tmp_path / "original.wav", dtype="float32")
    original = _envelope_db(tmp_path / "original.wav")
    for name in ("smpte", "type0"):
        info = soundfile.info(tmp_path / f"{name}.wav")
        assert abs(info.frames / SAMPLE_RATE_HZ - expected_s) <= ONSET_TOLERANCE_S, name
        played = _envelope_db(tmp_path / f"{name}.wav")
        assert played.max() > -30.0, name  # not silent
        size = min(len(original), len(played))
        assert np.corrcoef(original[:size], played[:size])[0, 1] > 0.99, name
        loud = original[:size] > original.max() - 30
        assert np.median(np.abs(original[:size] - played[:size])[loud]) < 0.5, name
        # The music lines up with the original's to within 1 ms (a shift of every onset
        # would move the cross-correlation peak off zero).
        audio, _ = soundfile.read(tmp_path / f"{name}.wav", dtype="float32")
        lag_s = _lag_s(original_audio, audio, max_lag=int(0.02 * SAMPLE_RATE_HZ))
        assert abs(lag_s) <= ONSET_TOLERANCE_S, (name, lag_s)


# --- channel 10 note by note; a drums track plays a kit on any channel -----------------------


def _edited(source: Path, path: Path, edit) -> Path:
    """``source`` with ``edit(track)`` applied to each track named by its first track_name."""
    midi = mido.MidiFile(source)
    for track in midi.tracks:
        edit(track.name, track)
    return _save(midi, path)


def test_one_channel_10_hit_in_the_keys_track_goes_to_the_drums_and_the_keys_stay_keys(
    jazz, tmp_path
):
    midi_path, plan = jazz
    reference = _inputs(midi_path, plan)

    def add_hit(name: str, track: mido.MidiTrack) -> None:
        if name == "keys":  # a kick (GM key 36) on channel 10 at the keys' first event
            first = next(i for i, m in enumerate(track) if m.type == "note_on")
            track.insert(first, mido.Message("note_on", channel=9, note=36, velocity=90, time=0))
            track.insert(first + 1, mido.Message("note_off", channel=9, note=36, time=0))
            track[first], track[first + 2] = (
                track[first].copy(time=track[first + 2].time),
                track[first + 2].copy(time=0),
            )

    summary = read_midi(_edited(midi_path, tmp_path / "keys_hit.mid", add_hit))
    inputs = production_inputs(summary, plan)
    keys, drums = inputs.parts["keys"], inputs.parts["drums"]
    assert (keys.is_drums, keys.program) == (False, reference.parts["keys"].program)
    assert keys.notes == reference.parts["keys"].notes
    assert drums.is_drums and len(drums.notes) == len(reference.parts["drums"].notes) + 1
    assert "track 'keys' channel 10" in summary.part_sources["drums"]
    assert summary.part_sources["keys"] == "track 'keys'"


def test_a_keys_track_all_on_channel_10_is_drums_per_general_midi(jazz, tmp_path):
    midi_path, plan = jazz
    reference = _inputs(midi_path, plan)

    def keys_on_10(name: str, track: mido.MidiTrack) -> None:
        for index, message in enumerate(track):
            if name == "keys" and hasattr(message, "channel"):
                track[index] = message.copy(channel=9)
            elif name == "drums":
                track[index] = message if message.is_meta else message.copy(channel=1)

    # The drums track moves to channel 2 so the keys' program change cannot select its kit.
    summary = read_midi(_edited(midi_path, tmp_path / "keys10.mid", keys_on_10))
    inputs = production_inputs(summary, plan)
    assert "keys" not in summary.tracks and not inputs.parts["keys"].notes
    drum_hits = len(reference.parts["drums"].notes) + len(reference.parts["keys"].notes)
    assert len(inputs.parts["drums"].notes) == drum_hits and inputs.parts["drums"].is_drums
    assert summary.part_sources["drums"].startswith("track 'keys' channel 10")


@pytest.mark.parametrize(
    ("program", "kit", "reading"),
    [(40, 40, "GM2 kit 40 Brush"), (33, 0, "no GM2 kit, Standard kit 0")],
)
def test_a_drums_track_exported_on_channel_1_plays_a_kit(jazz, tmp_path, program, kit, reading):
    """Ableton exports every clip on channel 1: the drums still play a GM2 kit, not program
    40 (violin) or 33 (finger bass), and the parts line says how the program was read."""
    midi_path, plan = jazz
    reference = _inputs(midi_path, plan)

    def to_channel_1(name: str, track: mido.MidiTrack) -> None:
        for index, message in enumerate(track):
            if name == "drums" and message.type == "program_change":
                track[index] = message.copy(channel=0, program=program)
            elif name == "drums" and not message.is_meta:
                track[index] = message.copy(channel=0)

    summary = read_midi(_edited(midi_path, tmp_path / "drums1.mid", to_channel_1))
    assert summary.part_sources["drums"] == (
        f"track 'drums' channel 1 (program {program} read as {reading})"
    )
    inputs = production_inputs(summary, plan)
    drums = inputs.parts["drums"]
    assert (drums.is_drums, drums.program) == (True, kit)
    assert drums.notes == reference.parts["drums"].notes
    assert len(summary.drum_notes()) == len(drums.notes)
    assert all(not inputs.parts[name].is_drums for name in ("keys", "bass", "melody", "pad"))


# --- chunks the SMF spec tells readers to ignore; files empty or cut short ------------------


def _chunks(data: bytes) -> list[bytes]:
    """The file's chunks, each with its 8-byte header (SMF 1.0 "Chunks")."""
    chunks, offset = [], 0
    while offset < len(data):
        (length,) = struct.unpack_from(">I", data, offset + 4)
        chunks.append(data[offset : offset + 8 + length])
        offset += 8 + length
    return chunks


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack(">I", len(payload)) + payload


def test_alien_chunks_are_ignored_and_an_rmid_file_is_unwrapped(jazz, tmp_path):
    midi_path, plan = jazz
    reference = _inputs(midi_path, plan)
    header, *tracks = _chunks(midi_path.read_bytes())
    # Yamaha XF's information chunk before the tracks, a sequencer's own chunk between two.
    alien = b"".join(
        (header, _chunk(b"XFIH", b"XF02\x00\x00"), tracks[0], _chunk(b"Seq!", b"abc"), *tracks[1:])
    )
    (tmp_path / "xf.mid").write_bytes(alien)
    _assert_same_music(_inputs(tmp_path / "xf.mid", plan), reference)
    # RIFF RMID (.rmi): little-endian sizes, the SMF in the "data" chunk, an odd chunk padded.
    smf = midi_path.read_bytes()
    body = b"RMID" + b"INFO" + struct.pack("<I", 3) + b"abc\x00"
    body += b"data" + struct.pack("<I", len(smf)) + smf
    (tmp_path / "song.rmi").write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    _assert_same_music(_inputs(tmp_path / "song.rmi", plan), reference)


def test_an_empty_or_cut_short_midi_file_says_which(jazz, tmp_path):
    midi_path, _ = jazz
    data = midi_path.read_bytes()
    (tmp_path / "empty.mid").write_bytes(b"")
    with pytest.raises(CorruptMidiError, match=r"empty\.mid is not a readable MIDI file: the file "
                       r"is empty \(0 bytes\)"):  # fmt: skip
        read_midi(tmp_path / "empty.mid")
    header, first, second, *_ = _chunks(data)
    cut = len(header) + len(first) + 100  # 100 bytes into the second track's chunk
    (tmp_path / "cut.mid").write_bytes(data[:cut])
    expected = len(header) + len(first) + len(second)
    with pytest.raises(
        CorruptMidiError, match=f"cut short at byte {cut} \\(expected {expected}\\)"
    ):
        read_midi(tmp_path / "cut.mid")
    (tmp_path / "header.mid").write_bytes(data[:10])  # the 14-byte header chunk cut at 10
    with pytest.raises(CorruptMidiError, match=r"cut short at byte 10 \(expected 14\)"):
        read_midi(tmp_path / "header.mid")
