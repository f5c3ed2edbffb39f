"""Write a sketch as a Standard MIDI File (type 1, one named track per instrument), and read
any file's clock back.

Every track opens with its program change — on the drum channel (10) too, where the program
selects the GM2 drum kit — and keys that pedal carry sustain-pedal (CC64) events.

Reading side: ``standard_midi_bytes`` finds the Standard MIDI File in a file's bytes (unwrapping
a RIFF ``RMID`` file, dropping chunks the spec tells readers to ignore) for mido to parse,
``TimeDivision`` decodes the header's division word and ``MidiClock`` turns a
file's ticks into seconds (through its whole tempo map, or its SMPTE frame rate) and beats, as
the Standard MIDI File 1.0 spec defines them; ``lofi_assets.music.analysis.read_midi`` uses it.
"""

from __future__ import annotations

import bisect
import io
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import mido

from lofi_assets.errors import CorruptMidiError, MidiFormatError
from lofi_assets.music.arrangement import Sketch
from lofi_assets.music.score import BEATS_PER_BAR, Part
from lofi_assets.music.theory import FLAT_NAMES, SHARP_NAMES
from lofi_assets.storage import write_bytes_atomic

TICKS_PER_BEAT = 480
SUSTAIN_PEDAL_CC = 64  # the MIDI damper pedal; ≥ 64 is down
PEDAL_DOWN, PEDAL_UP = 127, 0
# SMF 1.0, "Meta-Events", Set Tempo: 120 BPM (500 000 µs per quarter note) until the first one.
DEFAULT_TEMPO_US = 500_000
# SMF 1.0, "Header Chunks": an SMPTE division's high byte is -24, -25, -29 or -30, the frame
# rate; "-29 corresponds to 30 drop frame", i.e. NTSC colour's 30 000 / 1 001 ≈ 29.97 frames a
# second of real time (drop-frame numbering skips frame labels, not frames), so a tick of a -29
# file lasts 1 001 / (30 000 × ticks per frame) s.
SMPTE_FRAMES_PER_SECOND = {24: 24.0, 25: 25.0, 29: 30_000 / 1_001, 30: 30.0}


def ms_to_ticks(milliseconds: float, bpm: float) -> float:
    return milliseconds * bpm * TICKS_PER_BEAT / 60_000.0


def performed_tick(start_beats: float, offset_ms: float, bpm: float) -> int:
    """Where a note lands in the file: its grid position plus its humanised offset."""
    return max(0, round(start_beats * TICKS_PER_BEAT + ms_to_ticks(offset_ms, bpm)))


def _key_signature(sketch: Sketch) -> str | None:
    """A key-signature name mido accepts (major or minor only, enharmonics tried)."""
    key = sketch.plan.key
    suffix = "m" if key.is_minor else ""
    for names in (FLAT_NAMES, SHARP_NAMES) if key.prefers_flats else (SHARP_NAMES, FLAT_NAMES):
        candidate = names[key.tonic_pc] + suffix
        try:
            mido.MetaMessage("key_signature", key=candidate)
        except ValueError:
            continue
        return candidate
    return None


def _part_track(part: Part, bpm: float, end_tick: int) -> mido.MidiTrack:
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=part.name, time=0))
    track.append(mido.MetaMessage("instrument_name", name=part.instrument_name, time=0))
    # On channel 10 the program selects the GM2 drum kit (0 Standard, 25 TR-808, 40 Brush …).
    track.append(mido.Message("program_change", channel=part.channel, program=part.program))
    spans: list[list[int]] = []  # [on, off, pitch, velocity]
    for note in part.notes:
        on = min(performed_tick(note.start_beats, note.offset_ms, bpm), end_tick - 1)
        off = performed_tick(note.start_beats + note.duration_beats, note.offset_ms, bpm)
        spans.append([on, max(on + 1, min(off, end_tick)), note.pitch, note.velocity])
    spans.sort(key=lambda span: (span[0], span[2]))
    # A repeated pitch must release before it strikes again on the same channel.
    latest_by_pitch: dict[int, list[int]] = {}
    for span in spans:
        previous = latest_by_pitch.get(span[2])
        if previous is not None and previous[1] > span[0]:
            previous[1] = max(previous[0] + 1, span[0])
            if previous[1] > span[0]:  # both start on the same tick: drop the later one
                span[0] = span[1]
        latest_by_pitch[span[2]] = span
    # (tick, order, pitch or CC value, velocity): on one tick, offs first, then the pedal,
    # then the new notes.
    events: list[tuple[int, int, int, int]] = []
    for on, off, pitch, velocity in spans:
        if off <= on:
            continue
        events.append((on, 2, pitch, velocity))
        events.append((off, 0, pitch, 0))
    for span in part.pedal:
        down = round(span.down_beats * TICKS_PER_BEAT)
        up = min(round(span.up_beats * TICKS_PER_BEAT), end_tick)
        if up > down:
            events.append((down, 1, PEDAL_DOWN, 0))
            events.append((up, 1, PEDAL_UP, 0))
    events.sort()
    now = 0
    for tick, order, value, velocity in events:
        if order == 1:
            message = mido.Message(
                "control_change",
                channel=part.channel,
                control=SUSTAIN_PEDAL_CC,
                value=value,
                time=tick - now,
            )
        else:
            kind = "note_on" if order == 2 else "note_off"
            message = mido.Message(
                kind, channel=part.channel, note=value, velocity=velocity, time=tick - now
            )
        track.append(message)
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=max(0, end_tick - now)))
    return track


def sketch_to_midi(sketch: Sketch) -> mido.MidiFile:
    plan = sketch.plan
    end_tick = plan.bars * BEATS_PER_BAR * TICKS_PER_BEAT
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("track_name", name=f"lofi {plan.style.name} {plan.seed}"))
    conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(plan.bpm)))
    conductor.append(mido.MetaMessage("time_signature", numerator=4, denominator=4))
    key_name = _key_signature(sketch)
    if key_name is not None:
        conductor.append(mido.MetaMessage("key_signature", key=key_name))
    now = 0
    for section in plan.sections:  # section markers show up in any DAW's timeline
        tick = section.start_bar * BEATS_PER_BAR * TICKS_PER_BEAT
        conductor.append(mido.MetaMessage("marker", text=section.name, time=tick - now))
        now = tick
    conductor.append(mido.MetaMessage("end_of_track", time=end_tick - now))
    midi.tracks.append(conductor)
    for part in sketch.parts:
        midi.tracks.append(_part_track(part, plan.bpm, end_tick))
    return midi


def midi_bytes(sketch: Sketch) -> bytes:
    buffer = io.BytesIO()
    sketch_to_midi(sketch).save(file=buffer)
    return buffer.getvalue()


def write_sketch_midi(sketch: Sketch, path: Path | str) -> Path:
    """Write the sketch's MIDI atomically; the same sketch always gives the same bytes."""
    return write_bytes_atomic(path, midi_bytes(sketch))


SMF_HEADER_LENGTH = 6  # SMF 1.0, "Header Chunks": format, ntrks, division (16 bits each)
CHUNK_HEADER_LENGTH = 8  # a 4-character type and a 32-bit length


def _cut_short(source: str, at: int, expected: int) -> CorruptMidiError:
    return CorruptMidiError(
        f"{source} is not a readable MIDI file: the file is cut short at byte {at} (expected "
        f"{expected}): copy or export it again"
    )


def _riff_midi_payload(data: bytes, source: str) -> bytes:
    """The SMF held by a RIFF ``RMID`` file: the payload of its ``data`` chunk.

    RIFF (Microsoft/IBM "Multimedia Programming Interface and Data Specifications 1.0"): after
    ``RIFF``, a little-endian 32-bit size and the form type ``RMID``, chunks of a 4-character
    id, a little-endian 32-bit size and the data, padded to an even length. The MMA's "RMID"
    recommended practice (RP-029) puts the whole Standard MIDI File in the ``data`` chunk.
    """
    offset = 12
    while offset + CHUNK_HEADER_LENGTH <= len(data):
        chunk_id = data[offset : offset + 4]
        (size,) = struct.unpack_from("<I", data, offset + 4)
        start = offset + CHUNK_HEADER_LENGTH
        if chunk_id == b"data":
            if start + size > len(data):
                raise _cut_short(source, len(data), start + size)
            return data[start : start + size]
        offset = start + size + (size & 1)  # RIFF pads each chunk to an even length
    raise CorruptMidiError(
        f"{source} is not a readable MIDI file: it is a RIFF RMID file without a 'data' chunk "
        "(the MIDI data): export it again as a Standard MIDI File (.mid)"
    )


def standard_midi_bytes(data: bytes, source: str = "the MIDI file") -> bytes:
    """The Standard MIDI File in ``data``, as the header chunk and its ``MTrk`` chunks only.

    SMF 1.0, "Chunks": "expect alien chunks and ignore them" — a chunk of any other type
    (Yamaha XF's ``XFIH``/``XFKM``, a sequencer's own data) is dropped, which mido does not do.
    A RIFF ``RMID`` file (``.rmi``) is unwrapped to the SMF its ``data`` chunk holds. A header
    chunk longer than 6 bytes keeps its first 6 (the spec: "more parameters may be added to the
    MThd chunk in the future"). Tracks past the ``ntrks`` the header declares are ignored, as is
    anything after them.

    Raises ``CorruptMidiError``: "the file is empty", "the file is cut short at byte N
    (expected M)" for a chunk (or track) that ends past the end of the file, or a file that is
    neither an SMF nor a RIFF RMID file.
    """
    if not data:
        raise CorruptMidiError(
            f"{source} is not a readable MIDI file: the file is empty (0 bytes): copy or export "
            "it again"
        )
    if data[:4] == b"RIFF" and data[8:12] == b"RMID":
        data = _riff_midi_payload(data, source)
    if data[:4] != b"MThd":
        raise CorruptMidiError(
            f"{source} is not a readable MIDI file: it starts with {data[:4]!r}, not a Standard "
            "MIDI File's 'MThd' header: export it from your sequencer as a .mid file"
        )
    if len(data) < CHUNK_HEADER_LENGTH + SMF_HEADER_LENGTH:
        raise _cut_short(source, len(data), CHUNK_HEADER_LENGTH + SMF_HEADER_LENGTH)
    (header_length,) = struct.unpack_from(">I", data, 4)
    if header_length < SMF_HEADER_LENGTH:
        raise CorruptMidiError(
            f"{source} is not a readable MIDI file: its header chunk is {header_length} bytes, "
            f"the spec's is {SMF_HEADER_LENGTH}: export it again"
        )
    offset = CHUNK_HEADER_LENGTH + header_length
    if offset > len(data):
        raise _cut_short(source, len(data), offset)
    header = data[CHUNK_HEADER_LENGTH : CHUNK_HEADER_LENGTH + SMF_HEADER_LENGTH]
    (declared_tracks,) = struct.unpack_from(">H", header, 2)
    tracks: list[bytes] = []
    while len(tracks) < declared_tracks:
        if offset + CHUNK_HEADER_LENGTH > len(data):
            raise _cut_short(source, len(data), offset + CHUNK_HEADER_LENGTH)
        chunk_type = data[offset : offset + 4]
        (length,) = struct.unpack_from(">I", data, offset + 4)
        end = offset + CHUNK_HEADER_LENGTH + length
        if end > len(data):
            raise _cut_short(source, len(data), end)
        if chunk_type == b"MTrk":
            tracks.append(data[offset:end])
        offset = end
    return b"".join((b"MThd", struct.pack(">I", SMF_HEADER_LENGTH), header, *tracks))


@dataclass(frozen=True)
class TimeDivision:
    """The header's division word (SMF 1.0, "Header Chunks").

    Metrical (bit 15 clear): ``ticks_per_beat`` ticks per quarter note, timed by the tempo map.
    SMPTE (bit 15 set): ``smpte_format`` (24, 25, 29 = 30 drop-frame, 30) frames a second and
    ``ticks_per_frame`` ticks each, a fixed ``ticks_per_second`` that no tempo changes.
    """

    ticks_per_beat: int | None = None
    smpte_format: int | None = None
    ticks_per_frame: int | None = None

    @classmethod
    def from_header(cls, division: int) -> TimeDivision:
        """Decode the division as mido reads it (a signed 16-bit ``ticks_per_beat``: an SMPTE
        division is negative, -frames in its high byte, ticks per frame in its low byte).

        Raises ``MidiFormatError`` for 0 ticks per beat, a frame rate the spec does not define
        or 0 ticks per frame.
        """
        if division > 0:
            return cls(ticks_per_beat=division)
        if division == 0:
            raise MidiFormatError(
                "The MIDI header's division is 0 ticks per quarter note, so no event has a time: "
                "re-export the file from your sequencer"
            )
        word = division & 0xFFFF
        frames = 256 - (word >> 8)  # the high byte is -frames in two's complement
        ticks_per_frame = word & 0xFF
        if frames not in SMPTE_FRAMES_PER_SECOND or ticks_per_frame == 0:
            rates = ", ".join(f"-{rate}" for rate in SMPTE_FRAMES_PER_SECOND)
            raise MidiFormatError(
                f"The MIDI header's SMPTE division (-{frames} frames/s × {ticks_per_frame} ticks "
                f"per frame) is not one the Standard MIDI File spec defines ({rates} frames/s, "
                "≥ 1 tick per frame): re-export the file with a metrical or standard SMPTE timing"
            )
        return cls(smpte_format=frames, ticks_per_frame=ticks_per_frame)

    @property
    def is_smpte(self) -> bool:
        return self.smpte_format is not None

    @property
    def ticks_per_second(self) -> float | None:
        """Ticks a second of an SMPTE division; None for a metrical one (the tempo decides)."""
        if self.smpte_format is None or self.ticks_per_frame is None:
            return None
        return SMPTE_FRAMES_PER_SECOND[self.smpte_format] * self.ticks_per_frame

    def describe(self) -> str:
        if self.is_smpte:
            return f"SMPTE {self.smpte_format} frames/s × {self.ticks_per_frame} ticks"
        return f"{self.ticks_per_beat} ticks per quarter note"


@dataclass(frozen=True)
class MidiClock:
    """One file's clock: ticks from its start to seconds and to beats (quarter notes).

    Seconds: a metrical file runs each stretch between two Set Tempo events at that tempo
    (``mido.tick2second`` per stretch, SMF 1.0 "Meta-Events"); an SMPTE file runs at its fixed
    ``ticks_per_second`` whatever the tempo events say. Beats: a metrical file counts
    ``ticks_per_beat``; an SMPTE file's beats come from its tempo events laid on its seconds
    (120 BPM before the first), so musical measures still read a beat grid.
    """

    division: TimeDivision
    tempo_changes: tuple[tuple[int, int], ...]  # (tick, µs per quarter note), one per tick
    _ticks: list[int] = field(init=False, repr=False, compare=False)
    _seconds: list[float] = field(init=False, repr=False, compare=False)
    _beats: list[float] = field(init=False, repr=False, compare=False)
    _tempos: list[int] = field(init=False, repr=False, compare=False)

    @classmethod
    def from_events(
        cls, division: TimeDivision, tempo_events: Iterable[tuple[int, int]]
    ) -> MidiClock:
        """The clock of a file from its Set Tempo events ``(tick, µs per quarter note)`` in
        playback order; of several on one tick the last is the one in force."""
        by_tick: dict[int, int] = {}
        for tick, tempo in tempo_events:
            by_tick[tick] = tempo
        return cls(division, tuple(sorted(by_tick.items())))

    def __post_init__(self) -> None:
        starts = [(0, DEFAULT_TEMPO_US)]
        for tick, tempo in self.tempo_changes:
            if tick == 0:
                starts[0] = (0, tempo)
            else:
                starts.append((tick, tempo))
        object.__setattr__(self, "_ticks", [tick for tick, _ in starts])
        object.__setattr__(self, "_tempos", [tempo for _, tempo in starts])
        object.__setattr__(self, "_seconds", [0.0])
        object.__setattr__(self, "_beats", [0.0])
        for index in range(1, len(starts)):  # each stretch starts where the last one ends
            tick = starts[index][0]
            self._seconds.append(self._seconds_in(index - 1, tick))
            self._beats.append(self._beats_in(index - 1, tick, self._seconds[-1]))

    def _seconds_in(self, stretch: int, tick: int) -> float:
        ticks_per_second = self.division.ticks_per_second
        if ticks_per_second is not None:
            return tick / ticks_per_second
        return self._seconds[stretch] + mido.tick2second(
            tick - self._ticks[stretch], self.division.ticks_per_beat, self._tempos[stretch]
        )

    def _beats_in(self, stretch: int, tick: int, seconds: float) -> float:
        if self.division.ticks_per_beat is not None:
            return tick / self.division.ticks_per_beat
        return (
            self._beats[stretch] + (seconds - self._seconds[stretch]) * 1e6 / self._tempos[stretch]
        )

    def seconds(self, tick: int) -> float:
        """Seconds from the file's start to ``tick``."""
        return self._seconds_in(bisect.bisect_right(self._ticks, tick) - 1, tick)

    def beats(self, tick: int) -> float:
        """Quarter notes from the file's start to ``tick``."""
        stretch = bisect.bisect_right(self._ticks, tick) - 1
        return self._beats_in(stretch, tick, self._seconds_in(stretch, tick))

    @property
    def first_tempo_us(self) -> int:
        """The first tempo the file sets (µs per quarter note), 120 BPM if it sets none."""
        return self.tempo_changes[0][1] if self.tempo_changes else DEFAULT_TEMPO_US
