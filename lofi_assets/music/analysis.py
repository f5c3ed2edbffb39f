"""Read a MIDI file back and measure what a producer listens for.

These measurements read the written file, not the composer's memory of it, so they catch
anything lost between the score and the bytes. Asset checks and tests both use them, and the
renderer plays the notes read here: the sustain pedal (CC64) is applied to note ends the way
a piano damper works, so the renderer needs no controller support.

``read_midi`` reads any Standard MIDI File (SMF 1.0) the way the spec times it — type 0 and 1,
metrical or SMPTE division, every tempo change — and hands back the product's parts. How it
decides, where the spec leaves a choice:

- **Parts.** In a type 1 file a track whose name is a part's (``drums``, ``bass``, ``keys``,
  ``melody``, ``pad``; any case) is that part (``lofi sketch`` writes these) — except that a
  channel-10 note is a drum hit wherever it is (General MIDI 1, "GM Percussion Key Map":
  channel 10 is percussion, note by note), so a ``keys`` track's channel-10 notes play on the
  drums part and its other notes stay keys; a track named ``keys`` all on channel 10 is drums.
  A ``drums`` track is drums on any channel (a DAW such as Ableton exports every clip on
  channel 1): its program, read on a channel other than 10 as a melodic program, is taken as
  the GM2 kit of that number when it is one (``GM2_KITS``), else the Standard kit 0, and
  ``part_sources`` says so. Everything else — a type 0 file (its one track's name is the sequence's), unnamed or
  otherwise named tracks — is told apart by channel and program: channel 10 is the drums
  (General MIDI), and each other (channel, program in force at the note) pair goes to the part
  of its General MIDI family (``GM_FAMILY_PARTS``). When two or more such pairs claim keys (or
  melody) and nothing claims the other, the most nearly monophonic of them plays the melody and
  the rest the keys; other pairs that claim one part are merged into it, and the part plays the
  program that most of its notes were given. Program changes count per channel from their time
  on; where tracks share a channel, a track's own program changes come first.
- **Notes.** A note-on of velocity 0 is a note-off; a note struck again while it sounds (same
  track, channel and key) ends the sounding one there, and each note-off ends the oldest note
  of its key still sounding; a note-off with nothing sounding is ignored. A note never released
  (or held by a pedal that never lifts) ends with the music, at the file's last note event; one
  that starts there is dropped, as nothing says how long it sounds.
- **Length** is the end of the last note: controller, meta and end-of-track events after it
  (a stray controller 90 s after the last bar) do not lengthen the music.
- **Bytes.** Chunks other than the header and ``MTrk`` are ignored and a RIFF ``RMID`` file is
  unwrapped (``midi_io.standard_midi_bytes``) before mido parses the file.
- **Type 2** files (independent sequences, no common timeline) are refused unless they hold one
  sequence, which reads like a type 0 file.
"""

from __future__ import annotations

import bisect
import heapq
import io
import math
import statistics
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import mido

from lofi_assets.errors import CorruptMidiError, MidiFormatError, MidiNotFoundError
from lofi_assets.music.arrangement import Sketch
from lofi_assets.music.drums import HAT_PITCHES
from lofi_assets.music.humanize import HUMANIZED_VOICE
from lofi_assets.music.midi_io import (
    SUSTAIN_PEDAL_CC,
    TICKS_PER_BEAT,
    MidiClock,
    TimeDivision,
    ms_to_ticks,
    performed_tick,
    standard_midi_bytes,
)
from lofi_assets.music.score import DRUM_CHANNEL, PART_NAMES

# General MIDI System Level 1, "GM Sound Set" (MIDI Manufacturers Association): 128 programs in
# 16 families of 8. Unnamed material on a melodic channel goes to the part that plays its
# family's role in a lo-fi track.
GM_FAMILY_PARTS: tuple[str, ...] = (
    "keys",  # 0–7 Piano
    "keys",  # 8–15 Chromatic Percussion (celesta, music box, vibraphone, marimba …)
    "keys",  # 16–23 Organ
    "keys",  # 24–31 Guitar
    "bass",  # 32–39 Bass
    "pad",  # 40–47 Strings
    "pad",  # 48–55 Ensemble (string sections, choir, synth strings)
    "melody",  # 56–63 Brass
    "melody",  # 64–71 Reed
    "melody",  # 72–79 Pipe
    "melody",  # 80–87 Synth Lead
    "pad",  # 88–95 Synth Pad
    "pad",  # 96–103 Synth Effects
    "melody",  # 104–111 Ethnic (sitar, koto, kalimba, shanai …)
    "keys",  # 112–119 Percussive (tinkle bell, steel drums, melodic toms …)
    "pad",  # 120–127 Sound Effects
)


# General MIDI 2 (MMA RP-024), "GM2 Percussion Sound Set": the drum kits a program change
# selects on the percussion channel (0-based program numbers; 25 is the analog, TR-808, kit).
GM2_KITS: dict[int, str] = {
    0: "Standard",
    8: "Room",
    16: "Power",
    24: "Electronic",
    25: "Analog",
    32: "Jazz",
    40: "Brush",
    48: "Orchestra",
    56: "SFX",
}
STANDARD_KIT = 0


def gm2_kit(program: int) -> int:
    """The GM2 kit a drum part plays for ``program``: the kit of that number, else Standard (0)."""
    return program if program in GM2_KITS else STANDARD_KIT


def gm_part(program: int) -> str:
    """The part a General MIDI program (0–127) plays when no track name says (GM_FAMILY_PARTS)."""
    return GM_FAMILY_PARTS[program // 8]


@dataclass(frozen=True, slots=True)
class MidiNote:
    """A note as the file plays it: in beats (quarter notes) for musical measures and in
    seconds (through the file's tempo map or SMPTE rate) for anything that renders it."""

    pitch: int
    velocity: int
    start_beats: float
    end_beats: float
    channel: int  # 0-based: 9 is General MIDI's channel 10, the drums
    start_s: float
    end_s: float


@dataclass(frozen=True)
class MidiSummary:
    """A MIDI file read as the product's parts.

    ``tracks`` maps each part found (see the module docstring for how) to its notes in start
    order; ``programs`` the General MIDI program (a GM2 kit for the drums) each part plays;
    ``part_sources`` says where each part came from ("track 'keys'", "channel 10 program 40").
    ``tempo_bpm`` is the file's first tempo (120 if it sets none) and ``tempo_changes`` counts
    its Set Tempo events; ``length_beats``/``length_s`` end at the last note's end.
    ``ticks_per_beat`` is None for an SMPTE-timed file (``division`` says which).
    """

    ticks_per_beat: int | None
    tempo_bpm: float
    tempo_changes: int
    length_beats: float
    tracks: dict[str, list[MidiNote]]  # by part
    programs: dict[str, int]
    length_s: float
    division: TimeDivision
    midi_type: int
    part_sources: dict[str, str]

    def pitched_notes(self) -> list[MidiNote]:
        """The notes of every part but the drums (whatever their channels)."""
        return [note for part, notes in self.tracks.items() if part != "drums" for note in notes]

    def drum_notes(self) -> list[MidiNote]:
        """The drum part's notes: every channel-10 note, and a ``drums`` track's on any channel."""
        return list(self.tracks.get("drums", []))

    def all_notes(self) -> list[MidiNote]:
        return [note for notes in self.tracks.values() for note in notes]


@dataclass(slots=True)
class _Sounding:
    start: int  # tick
    velocity: int
    program: int
    cut: int | None = None  # where a re-strike of its key ended it


@dataclass(frozen=True, slots=True)
class _Heard:
    """A note as the reader finds it, in ticks."""

    track: int
    channel: int
    pitch: int
    velocity: int
    program: int
    start: int
    end: int


def _open_midi(path: Path | str) -> mido.MidiFile:
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as error:
        raise MidiNotFoundError(
            f"No MIDI file at {path}: check the path, or make one with `lofi sketch --out {path}`"
        ) from error
    except OSError as error:  # a folder, no permission …
        raise CorruptMidiError(f"{path} is not a readable MIDI file: {error}") from error
    clean = standard_midi_bytes(data, str(path))
    try:
        return mido.MidiFile(file=io.BytesIO(clean))
    except EOFError as error:  # mido's EOFError has no message
        raise CorruptMidiError(
            f"{path} is not a readable MIDI file: an event of its last track runs past the end "
            "of the file (the file is cut short): copy or export it again"
        ) from error
    except Exception as error:  # mido raises OSError, ValueError, KeyError …
        raise CorruptMidiError(f"{path} is not a readable MIDI file: {error}") from error


def _playback_order(tracks: list[mido.MidiTrack]) -> Iterator[tuple[int, int, mido.Message]]:
    """``(tick, track index, message)`` for every message of every track in playback order:
    by time, then track, then position in the track (what ``mido.merge_tracks`` does, keeping
    which track each message came from)."""

    def timed(index: int, track: mido.MidiTrack) -> Iterator[tuple[int, int, mido.Message]]:
        tick = 0
        for message in track:
            tick += message.time
            yield tick, index, message

    # heapq.merge is stable: on equal ticks the earlier track's message comes first.
    return heapq.merge(
        *(timed(index, track) for index, track in enumerate(tracks)), key=lambda e: e[0]
    )


def _heard_notes(
    events: Iterable[tuple[int, int, mido.Message]],
) -> tuple[list[_Heard], dict[int, str]]:
    """Every note with its start, end and the program in force, and each track's name."""
    names: dict[int, str] = {}
    track_programs: dict[tuple[int, int], int] = {}  # (track, channel) → program
    channel_programs: dict[int, int] = {}  # channel → program, whichever track set it
    pedal_down: set[tuple[int, int]] = set()  # (track, channel)
    sounding: dict[tuple[int, int, int], deque[_Sounding]] = {}  # (track, channel, key)
    # Notes released while the pedal was down: they sound until it lifts, or until the same
    # key is struck again (a re-strike damps the string it re-hammers).
    sustained: dict[tuple[int, int, int], _Sounding] = {}
    heard: list[_Heard] = []
    last_note_tick = 0

    def finish(key: tuple[int, int, int], note: _Sounding, end: int) -> None:
        heard.append(_Heard(key[0], key[1], key[2], note.velocity, note.program, note.start, end))

    for tick, track, message in events:
        kind = message.type
        if kind == "track_name":
            names.setdefault(track, message.name)  # the first one names the track
        elif kind == "program_change":
            track_programs[(track, message.channel)] = message.program
            channel_programs[message.channel] = message.program
        elif kind == "control_change" and message.control == SUSTAIN_PEDAL_CC:
            if message.value >= 64:
                pedal_down.add((track, message.channel))
            else:
                pedal_down.discard((track, message.channel))
                for key in [k for k in sustained if k[:2] == (track, message.channel)]:
                    finish(key, sustained.pop(key), tick)
        elif kind == "note_on" and message.velocity > 0:
            last_note_tick = tick
            key = (track, message.channel, message.note)
            if key in sustained:
                finish(key, sustained.pop(key), tick)
            notes = sounding.setdefault(key, deque())
            for note in notes:  # struck again: what still sounds of this key ends here
                if note.cut is None:
                    note.cut = tick
            program = track_programs.get(
                (track, message.channel), channel_programs.get(message.channel, 0)
            )
            notes.append(_Sounding(tick, message.velocity, program))
        elif kind in ("note_off", "note_on"):
            last_note_tick = tick
            key = (track, message.channel, message.note)
            notes = sounding.get(key)
            if not notes:
                continue  # nothing of this key sounds: a stray note-off
            note = notes.popleft()
            if note.cut is not None:
                finish(key, note, note.cut)
            elif (track, message.channel) in pedal_down:
                sustained[key] = note
            else:
                finish(key, note, tick)
    # Never released, or held by a pedal that never lifts: they end with the music.
    for key, note in sustained.items():
        finish(key, note, last_note_tick)
    for key, notes in sounding.items():
        for note in notes:
            end = last_note_tick if note.cut is None else note.cut
            if end > note.start:
                finish(key, note, end)
    return heard, names


def _mean_polyphony(notes: list[_Heard]) -> float:
    """How many of ``notes`` sound at each one's onset, on average (1.0 for a single line)."""
    starts = sorted(note.start for note in notes)
    ends = sorted(note.end for note in notes)
    total = sum(
        bisect.bisect_right(starts, note.start) - bisect.bisect_right(ends, note.start)
        for note in notes
    )
    return total / len(notes)


def _assign_parts(
    heard: list[_Heard], names: dict[int, str], midi_type: int
) -> tuple[dict[str, list[_Heard]], dict[str, list[str]]]:
    """Each note's part (module docstring), with a description of each part's sources."""
    parts: dict[str, list[_Heard]] = {}
    sources: dict[str, list[str]] = {}
    voices: dict[tuple[int, int], list[_Heard]] = {}  # (channel, program) → unnamed notes
    for note in heard:
        name = names.get(note.track, "").strip()
        if midi_type == 1 and name.lower() in PART_NAMES:
            part = name.lower()
            source = f"track {name!r}"
            if note.channel == DRUM_CHANNEL and part != "drums":
                # Channel 10 is percussion note by note (GM 1): the hit plays on the drums,
                # the track's other notes stay its part.
                part, source = "drums", f"track {name!r} channel 10"
            elif part == "drums" and note.channel != DRUM_CHANNEL:
                kit = gm2_kit(note.program)
                reading = (
                    f"GM2 kit {kit} {GM2_KITS[kit]}"
                    if kit == note.program
                    else f"no GM2 kit, Standard kit {kit}"
                )
                source = (
                    f"track {name!r} channel {note.channel + 1} "
                    f"(program {note.program} read as {reading})"
                )
            parts.setdefault(part, []).append(note)
            if source not in sources.setdefault(part, []):
                sources[part].append(source)
        else:
            program = -1 if note.channel == DRUM_CHANNEL else note.program
            voices.setdefault((note.channel, program), []).append(note)
    claims: dict[tuple[int, int], str] = {
        voice: "drums" if voice[0] == DRUM_CHANNEL else gm_part(voice[1]) for voice in voices
    }
    for crowded, empty in (("keys", "melody"), ("melody", "keys")):
        claimants = sorted(voice for voice, part in claims.items() if part == crowded)
        taken = empty in parts or empty in claims.values()
        if len(claimants) >= 2 and not taken:
            line = min(
                claimants,
                key=lambda voice: (
                    _mean_polyphony(voices[voice]),
                    -statistics.fmean(note.pitch for note in voices[voice]),
                    voice,
                ),
            )
            for voice in claimants:
                claims[voice] = "melody" if voice == line else "keys"
    for voice in sorted(voices):
        part = claims[voice]
        parts.setdefault(part, []).extend(voices[voice])
        channel, program = voice
        described = f"channel {channel + 1}" + ("" if program < 0 else f" program {program}")
        sources.setdefault(part, []).append(described)
    return parts, sources


def read_midi(path: Path | str) -> MidiSummary:
    """Read a Standard MIDI File as the product's parts, timed as SMF 1.0 times it.

    Raises ``MidiNotFoundError`` if there is no file, ``CorruptMidiError`` if it cannot be
    parsed, ``MidiFormatError`` for a type 2 file of several sequences or a time division the
    spec does not define. How parts, notes and length are decided: the module docstring.
    """
    midi = _open_midi(path)
    division = TimeDivision.from_header(midi.ticks_per_beat)
    if midi.type == 2 and len(midi.tracks) > 1:
        raise MidiFormatError(
            f"{path} is a type 2 MIDI file ({len(midi.tracks)} independent sequences with no "
            "common timeline): export it from your sequencer as a type 1 (or type 0) file"
        )
    events = list(_playback_order(midi.tracks))
    tempo_events = [(tick, m.tempo) for tick, _, m in events if m.type == "set_tempo"]
    clock = MidiClock.from_events(division, tempo_events)
    heard, names = _heard_notes(events)
    parts, sources = _assign_parts(heard, names, midi.type)
    tracks: dict[str, list[MidiNote]] = {}
    programs: dict[str, int] = {}
    for part in sorted(parts, key=PART_NAMES.index):
        notes = parts[part]
        # The program most of the part's notes were played with (the first such on a tie); a
        # drums-track note off channel 10 counts as the GM2 kit its program names.
        programs[part] = Counter(
            gm2_kit(note.program)
            if part == "drums" and note.channel != DRUM_CHANNEL
            else note.program
            for note in notes
        ).most_common(1)[0][0]
        tracks[part] = sorted(
            (
                MidiNote(
                    note.pitch,
                    note.velocity,
                    clock.beats(note.start),
                    clock.beats(note.end),
                    note.channel,
                    clock.seconds(note.start),
                    clock.seconds(note.end),
                )
                for note in notes
            ),
            key=lambda note: (note.start_beats, note.pitch),
        )
    last_tick = max((note.end for note in heard), default=0)
    return MidiSummary(
        ticks_per_beat=division.ticks_per_beat,
        tempo_bpm=round(mido.tempo2bpm(clock.first_tempo_us), 3),
        tempo_changes=len(tempo_events),
        length_beats=clock.beats(last_tick),
        tracks=tracks,
        programs=programs,
        length_s=clock.seconds(last_tick),
        division=division,
        midi_type=midi.type,
        part_sources={part: " + ".join(sources[part]) for part in tracks},
    )


def in_key_rate(notes: Iterable[MidiNote], scale_pcs: frozenset[int]) -> float:
    pitches = [note.pitch for note in notes]
    if not pitches:
        return 1.0
    return sum(pitch % 12 in scale_pcs for pitch in pitches) / len(pitches)


def pitch_class_entropy(notes: Iterable[MidiNote]) -> float:
    """Shannon entropy (bits) of the pitch-class histogram: 0 for one note, 3.58 for all 12."""
    counts = Counter(note.pitch % 12 for note in notes)
    total = sum(counts.values())
    if total == 0:
        return 0.0
    return -sum(count / total * math.log2(count / total) for count in counts.values())


def swing_ratio(onsets_beats: Iterable[float]) -> float | None:
    """Median share of an 8th note taken by its first 16th, from pairs of hat onsets.

    Each 8th with a hit near its start and another later in it gives one ratio; the
    difference of the two cancels any constant push or drag of the player.
    """
    on_phase: dict[int, float] = {}
    off_phase: dict[int, float] = {}
    for onset in onsets_beats:
        position = onset * 2  # in 8th notes
        eighth = math.floor(position + 0.2)  # an on-beat hit may come a little early
        phase = position - eighth
        if phase < 0.2:
            on_phase[eighth] = phase
        elif 0.35 <= phase <= 0.8:
            off_phase[eighth] = phase
    ratios = [off_phase[k] - on_phase[k] for k in off_phase if k in on_phase]
    return statistics.median(ratios) if ratios else None


def hat_onsets(summary: MidiSummary) -> list[float]:
    return [note.start_beats for note in summary.drum_notes() if note.pitch in HAT_PITCHES]


def empty_beat_rate(notes: Iterable[MidiNote], beat_ranges: Iterable[tuple[float, float]]) -> float:
    """Share of beats in ``beat_ranges`` during which no note sounds at all."""
    spans = sorted((note.start_beats, note.end_beats) for note in notes)
    beats = [beat for start, end in beat_ranges for beat in range(int(start), int(end))]
    if not beats:
        return 0.0
    sounding = set()
    for start, end in spans:
        for beat in range(math.floor(start), math.ceil(end)):
            if start < beat + 1 and end > beat:
                sounding.add(beat)
    return sum(beat not in sounding for beat in beats) / len(beats)


def timing_deviations_ms(sketch: Sketch) -> dict[str, list[float]]:
    """Written onset minus grid position, in ms, per player (kick, snare, hats, keys …).

    Measured on the tick each note is written at, so rounding and clamping are included.
    """
    bpm = sketch.plan.bpm
    per_player: dict[str, list[float]] = {}
    for part in sketch.parts:
        for note in part.notes:
            written = performed_tick(note.start_beats, note.offset_ms, bpm)
            grid = note.start_beats * TICKS_PER_BEAT
            if grid < TICKS_PER_BEAT:  # the first beat may be clamped at tick 0
                continue
            deviation = (written - grid) / ms_to_ticks(1.0, bpm)
            per_player.setdefault(HUMANIZED_VOICE[note.voice], []).append(deviation)
    return per_player


def velocity_sd_by_part(summary: MidiSummary) -> dict[str, float]:
    return {
        name: statistics.pstdev(note.velocity for note in notes)
        for name, notes in summary.tracks.items()
        if len(notes) > 1
    }
