"""The acceptance measures of ``sound_measures`` on inputs whose answers are known.

A MIDI file is built here with mido (120 BPM, 4/4, intro–A–B–A2–outro) with drums that drop
out for two bars, a melody with rests, a pad below it; audio is synthesized (tones at known
levels, noise with a known low-pass knee). Each measure is checked on the side that passes
and on the side that fails.
"""

from __future__ import annotations

import math
from pathlib import Path

import mido
import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from lofi_assets.audio.measure import integrated_lufs
from lofi_assets_tests import sound_measures as sm

TPB = 480
RATE = 44_100
# Sections in bars (4 beats each): intro 0, A 1–4, B 5–8, A2 9–10, outro 11; 12 bars.
FORM = (("intro", 0), ("A", 1), ("B", 5), ("A2", 9), ("outro", 11))
BARS = 12
KICK, SNARE, HAT, OPEN_HAT, CRASH, TOMS = 36, 38, 42, 46, 49, (50, 48, 45)
GROOVE = ((0, KICK), (0, HAT), (2, HAT), (4, SNARE), (4, HAT), (6, HAT), (10, KICK),
          (8, HAT), (12, SNARE), (12, HAT), (14, HAT))  # fmt: skip  # (16th step, pitch)
VARIED = (*GROOVE[:-1], (14, OPEN_HAT), (15, KICK))  # bar 4: an open hat and a pickup kick


def _track(name: str, notes, channel: int = 0, program: int | None = None) -> mido.MidiTrack:
    """``notes``: (start beats, length beats, pitch) played at velocity 90."""
    track = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
    if program is not None:
        track.append(mido.Message("program_change", channel=channel, program=program))
    events = []
    for start, length, pitch in notes:
        on = round(start * TPB)
        events += [(on, 1, pitch), (on + round(length * TPB), 0, pitch)]
    now = 0
    for tick, is_on, pitch in sorted(events):
        kind = "note_on" if is_on else "note_off"
        track.append(mido.Message(kind, channel=channel, note=pitch, velocity=90, time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=BARS * 4 * TPB - now))
    return track


def write_midi(path: Path, parts: dict[str, mido.MidiTrack], form=FORM) -> Path:
    midi = mido.MidiFile(type=1, ticks_per_beat=TPB)
    conductor = mido.MidiTrack([
        mido.MetaMessage("track_name", name="test"),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120)),
        mido.MetaMessage("time_signature", numerator=4, denominator=4),
    ])  # fmt: skip
    now = 0
    for name, bar in form:
        conductor.append(mido.MetaMessage("marker", text=name, time=bar * 4 * TPB - now))
        now = bar * 4 * TPB
    conductor.append(mido.MetaMessage("end_of_track", time=BARS * 4 * TPB - now))
    midi.tracks.append(conductor)
    midi.tracks.extend(parts.values())
    midi.save(path)
    return path


def drum_track() -> mido.MidiTrack:
    notes = []
    for bar in range(BARS):
        if bar in (6, 7):  # the drop-out: two bars without drums
            continue
        for step, pitch in VARIED if bar == 4 else GROOVE:
            start = bar * 4 + step / 4
            if bar == 8 and step == 0 and pitch == KICK:
                start -= 10 / TPB  # humanised early: still bar 8's downbeat
            notes.append((start, 0.2, pitch))
    notes += [(4, 1, CRASH), (36, 1, CRASH)]  # crashes at A and A2
    notes += [(32 + 3 + i / 4, 0.2, tom) for i, tom in enumerate(TOMS)]  # one fill, bar 8
    notes += [(40 + 3, 0.2, TOMS[0]), (40 + 3.5, 0.2, TOMS[1])]  # two toms: not a fill
    return _track("drums", notes, channel=9)


# Melody (start, length, pitch): a pickup in the intro, three phrases in A with rests of 3
# and 2 beats, nothing in B, A2 starting a fifth (7 semitones) above A's start.
MELODY = ((0, 1, 84), (4, 1, 72), (5, 1, 74), (6, 1, 76), (10, 2, 77), (14, 2, 76),
          (36 - 10 / TPB, 1 + 10 / TPB, 79), (37, 3, 77))  # fmt: skip
# Pad: a C major triad under A's phrases, a chord topped by G5 (79) under A2.
PAD = ((4, 12, 60), (4, 12, 64), (4, 12, 67), (36, 4, 60), (36, 4, 64), (36, 4, 79))
KEYS = tuple((bar * 4, 4, 64) for bar in range(1, 11))  # A, B and A2


@pytest.fixture
def sketch(tmp_path: Path) -> Path:
    return write_midi(
        tmp_path / "sketch.mid",
        {
            "keys": _track("keys", KEYS, channel=0, program=4),
            "melody": _track("melody", MELODY, channel=1, program=73),
            "drums": drum_track(),
            "pad": _track("pad", PAD, channel=3, program=89),
        },
    )


def test_the_score_reads_form_body_tempo_and_programs(sketch):
    score = sm.read_score(sketch)
    assert [s.name for s in score.sections] == ["intro", "A", "B", "A2", "outro"]
    assert score.body_beats == (4.0, 44.0)
    assert score.seconds_at(8.0) == pytest.approx(4.0)  # 120 BPM
    assert score.programs == {"keys": 4, "melody": 73, "pad": 89}
    assert set(score.tracks) == {"keys", "melody", "drums", "pad"}


def test_a_form_without_intro_or_outro_is_all_body(tmp_path):
    path = write_midi(tmp_path / "bare.mid", {}, form=(("A", 0), ("B", 6)))
    assert sm.read_score(path).body_beats == (0.0, 48.0)


def test_drumless_stretch_is_the_drop_out_in_bars(sketch):
    # Last hat of bar 5 on beat 23.5, next onset at bar 8 (beat 32): 8.5 beats.
    assert sm.drumless_stretch_bars(sketch) == pytest.approx(8.5 / 4)


def test_drums_that_never_stop_have_a_short_drumless_stretch(tmp_path):
    notes = [(bar * 4 + step / 4, 0.2, pitch) for bar in range(BARS) for step, pitch in GROOVE]
    path = write_midi(tmp_path / "busy.mid", {"drums": _track("drums", notes, channel=9)})
    assert sm.drumless_stretch_bars(path) == pytest.approx(0.5 / 4)  # 16th 14 to next bar
    assert sm.drumless_stretch_bars(path) < sm.MIN_DRUMLESS_BARS


def test_melody_stretch_share_rests_density(sketch):
    assert sm.melodyless_stretch_bars(sketch) == pytest.approx(5.0)  # beats 16–36, all of B
    # Sounding in the body: 3 + 2 + 2 + 4 beats (+ the early A2 note's lead) of 40.
    assert sm.melody_sounding_share(sketch) == pytest.approx((11 + 10 / TPB) / 40)
    assert sm.phrase_rest_count(sketch) == 3  # 3 beats, 2 beats and B; not the outro's
    assert sm.phrase_rest_count(sketch, min_rest_beats=4) == 1
    assert sm.melody_notes_per_body_bar(sketch) == pytest.approx(7 / 10)


def test_a_melody_that_never_rests(tmp_path):
    notes = [(beat, 1, 72) for beat in range(BARS * 4)]
    path = write_midi(tmp_path / "noodle.mid", {"melody": _track("melody", notes)})
    assert sm.melody_sounding_share(path) == pytest.approx(1.0)
    assert sm.melodyless_stretch_bars(path) == 0
    assert sm.phrase_rest_count(path) == 0


def test_melody_above_pad_counts_time_not_notes(sketch):
    # Above: intro pickup (pad silent) 1 beat, A 7 beats, A2's early lead before the pad;
    # not above: 79 on 79 (1 beat) and 77 under 79 (3 beats).
    lead = 10 / TPB
    assert sm.melody_above_pad_share(sketch) == pytest.approx((8 + lead) / (12 + lead))


def test_a_prime_start_interval(sketch, tmp_path):
    assert sm.a_prime_start_interval(sketch) == 7  # 79 − 72; the early note still counts
    octave = [(4, 1, 72), (36, 1, 84)]
    path = write_midi(tmp_path / "octave.mid", {"melody": _track("melody", octave)})
    assert sm.a_prime_start_interval(path) == 12
    assert sm.a_prime_start_interval(path) > sm.MAX_A_PRIME_INTERVAL_SEMITONES
    renamed = write_midi(tmp_path / "renamed.mid", {"melody": _track("melody", octave)},
                         form=(("intro", 0), ("A", 1), ("A'", 9), ("outro", 11)))  # fmt: skip
    assert sm.a_prime_start_interval(renamed) == 12
    no_return = write_midi(tmp_path / "none.mid", {"melody": _track("melody", octave)},
                           form=(("intro", 0), ("A", 1), ("outro", 11)))  # fmt: skip
    assert sm.a_prime_start_interval(no_return) is None


def test_drum_loops_crashes_and_tom_fills(sketch):
    # Body bars 1–10 with drums: 1 2 3 4 5 8 9 10. Bar 4 is varied and bar 8 follows the
    # drop-out (nothing to repeat); bar 5 repeats bar 3, two back.
    assert sm.drum_bar_repeat_share(sketch) == pytest.approx(6 / 8)
    assert sm.crash_count(sketch) == 2
    assert sm.tom_fill_count(sketch) == 1


def test_a_hat_rerolled_every_bar_never_repeats(tmp_path):
    # Quarter-note hats plus one 16th that moves every bar: no bar equals the two before it.
    notes = [
        (bar * 4 + step / 4, 0.2, HAT)
        for bar in range(BARS)
        for step in (0, 4, 8, 12, bar % 12 + 1 + (bar % 12 + 1) // 4)
    ]
    path = write_midi(tmp_path / "reroll.mid", {"drums": _track("drums", notes, channel=9)})
    assert sm.drum_bar_repeat_share(path) < sm.MIN_DRUM_REPEAT_SHARE
    crashes = [(bar * 4, 1, CRASH) for bar in range(0, BARS, 4)]
    path = write_midi(tmp_path / "crashes.mid", {"drums": _track("drums", crashes, channel=9)})
    assert sm.crash_count(path) == 3 > sm.MAX_CRASHES
    assert sm.drum_bar_repeat_share(path) is None  # no kick, snare or hat at all


def test_section_layout_names_the_parts_in_each_section(sketch, tmp_path):
    assert sm.section_layout(sketch) == (
        ("intro", frozenset({"melody", "drums"})),
        ("A", frozenset({"keys", "melody", "drums", "pad"})),
        ("B", frozenset({"keys", "drums"})),
        ("A2", frozenset({"keys", "melody", "drums", "pad"})),  # the early A2 note is A2's
        ("outro", frozenset({"drums"})),
    )
    other = write_midi(tmp_path / "other.mid", {"drums": drum_track()})
    assert sm.section_layout(other) != sm.section_layout(sketch)
    assert sm.format_layout(sm.section_layout(other)).startswith("intro[drums] A[drums]")


def test_midi_measures_gathers_every_measure(sketch):
    measures = sm.midi_measures(sketch)
    assert measures.crashes == 2
    assert measures.a_prime_interval == 7
    assert measures.melodyless_bars == pytest.approx(5.0)


# --- Audio -----------------------------------------------------------------------------------


def _tone(seconds: float, amplitude: float, hz: float = 997.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    mono = amplitude * np.sin(2 * np.pi * hz * t)
    return np.stack([mono, mono]).astype(np.float32)


def test_ebur128_reads_loudness_and_true_peak():
    # A 997 Hz sine at amplitude A in both channels measures 20·log10(A) LUFS (BS.1770).
    measured = sm.ebur128(_tone(6.0, 0.1), RATE)
    assert measured.integrated_lufs == pytest.approx(-20.0, abs=0.2)
    assert measured.true_peak_dbtp == pytest.approx(-20.0, abs=0.2)
    assert measured.loudness_range_lu == pytest.approx(0.0, abs=0.2)
    assert measured.short_term.shape[1] == 2
    assert measured.short_term[-1, 1] == pytest.approx(-20.0, abs=0.2)


@pytest.mark.parametrize("rate", [44_100, 48_000])
def test_our_integrated_loudness_is_pyloudnorms(rate):
    # measure.py builds pyloudnorm's K-weighting from its public IIRfilter: the same filters
    # as the Meter's own, so the same figure on pink-ish, level-varying noise.
    rng = np.random.default_rng(7)
    noise = signal.lfilter([1.0], [1.0, -0.9], rng.standard_normal((2, rate * 5)), axis=1)
    noise *= np.linspace(0.02, 0.3, noise.shape[1])
    expected = pyloudnorm.Meter(rate).integrated_loudness(noise.T)
    assert integrated_lufs(noise.astype(np.float32), rate) == pytest.approx(expected, abs=0.01)


def test_section_loudness_spread_from_the_form(tmp_path):
    # 120 BPM: intro 0–2 s, A 2–12 s at −20 LUFS, B 12–22 s 6 dB down, outro 22–24 s.
    path = write_midi(tmp_path / "form.mid", {},
                      form=(("intro", 0), ("A", 1), ("B", 6), ("outro", 11)))  # fmt: skip
    audio = np.concatenate([_tone(2, 0.1), _tone(10, 0.1), _tone(10, 0.05), _tone(2, 0.1)], axis=1)
    levels = sm.body_section_lufs(path, sm.ebur128(audio, RATE))
    assert [name for name, _ in levels] == ["A", "B"]
    assert levels[0][1] == pytest.approx(-20.0, abs=0.3)
    assert sm.section_spread_lu(levels) == pytest.approx(6.0, abs=0.3)
    flat = sm.body_section_lufs(path, sm.ebur128(_tone(24, 0.1), RATE))
    assert sm.section_spread_lu(flat) < sm.MIN_SECTION_SPREAD_LU


def test_ebur128_failure_says_why():
    with pytest.raises(RuntimeError, match="ebur128"):
        sm.ebur128(_tone(1.0, 0.1), 0)


def _noise(seconds: float = 6.0, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((2, round(seconds * RATE))) * 0.1


def test_rolloff_point_finds_a_known_knee():
    # White noise through an 8th-order Butterworth low-pass at 10 kHz: the knee is where the
    # filter's own response reaches −20 dB (about 12 kHz after the bilinear transform).
    sos = signal.butter(8, 10_000, fs=RATE, output="sos")
    freqs, response = signal.sosfreqz(sos, worN=1 << 16, fs=RATE)
    expected_hz = freqs[np.argmax(20 * np.log10(np.abs(response) + 1e-12) < -20)]
    filtered = signal.sosfilt(sos, _noise(), axis=1)
    knee = sm.rolloff_point_hz(filtered, RATE)
    assert knee == pytest.approx(expected_hz, rel=0.03)
    # A flat passband has the same mean in dB and in power (up to the estimate's spread).
    by_power = sm.rolloff_point_hz(filtered, RATE, reference="power_mean")
    assert by_power == pytest.approx(expected_hz, rel=0.03)
    with pytest.raises(ValueError, match="power_mean"):
        sm.rolloff_point_hz(filtered, RATE, reference="median")
    assert sm.ROLLOFF_RANGE_HZ[0] <= knee <= sm.ROLLOFF_RANGE_HZ[1] + 500


def test_rolloff_point_of_white_noise_is_at_the_top():
    assert sm.rolloff_point_hz(_noise(), RATE) > sm.ROLLOFF_RANGE_HZ[1]


def _brickwall(audio: np.ndarray, cutoff_hz: float) -> np.ndarray:
    spectrum = np.fft.rfft(audio, axis=1)
    spectrum[:, np.fft.rfftfreq(audio.shape[1], 1 / RATE) > cutoff_hz] = 0
    return np.fft.irfft(spectrum, n=audio.shape[1], axis=1)


def test_alias_level_reads_energy_above_a_reduced_nyquist():
    clean = _brickwall(_noise(), 13_000)
    assert sm.alias_level_db(clean, RATE, 13_000) < -80
    # Add noise above 13 kHz at 1/1000 of the power density (−30 dB).
    sizzle = _noise(seed=2) * math.sqrt(1e-3)
    dusty = clean + (sizzle - _brickwall(sizzle, 13_000))
    assert sm.alias_level_db(dusty, RATE, 13_000) == pytest.approx(-30.0, abs=1.0)
    assert sm.alias_level_db(dusty, RATE, 13_000) > sm.MAX_DRUM_ALIAS_DB
    assert sm.alias_level_db(dusty, RATE, 22_050) is None  # no reduction: nothing to measure


def test_spectral_centroid_of_tones():
    assert sm.spectral_centroid_hz(_tone(1.0, 0.5, 1_000), RATE) == pytest.approx(1_000, rel=0.02)
    pair = _tone(1.0, 0.5, 1_000) + _tone(1.0, 0.5, 4_000)
    assert sm.spectral_centroid_hz(pair, RATE) == pytest.approx(2_500, rel=0.02)


def test_waveform_correlation_tells_a_repeated_sample_from_a_new_one():
    hit = _noise(0.3) * np.exp(-np.arange(round(0.3 * RATE)) / 2_000)
    late = np.concatenate([np.zeros((2, 40)), hit[:, :-40]], axis=1)  # re-triggered 40 late
    assert sm.waveform_correlation(hit, hit, RATE) == pytest.approx(1.0)
    assert sm.waveform_correlation(hit, late, RATE) > sm.MAX_REPEAT_CORRELATION
    other = _noise(0.3, seed=9) * np.exp(-np.arange(round(0.3 * RATE)) / 2_000)
    assert sm.waveform_correlation(hit, other, RATE) < 0.3


def test_day_contrast_counts_the_dates_that_fail():
    plans = [
        sm.SlotPlan("2026-11-01", "1", "jazz", "D dorian", 80),
        sm.SlotPlan("2026-11-01", "2", "jazz", "D dorian", 86),  # same style and key
        sm.SlotPlan("2026-11-01", "3", "cafe", "F ionian", 70),
        sm.SlotPlan("2026-11-02", "1", "jazz", "D dorian", 80),
        sm.SlotPlan("2026-11-02", "2", "cafe", "D dorian", 82),  # same key, 2 BPM apart
        sm.SlotPlan("2026-11-02", "3", "study", "A aeolian", 90),
    ]
    contrast = sm.day_contrast(plans)
    assert contrast.dates == 2
    assert contrast.same_style_and_key_dates == 1
    assert contrast.same_style_dates == 1
    assert contrast.same_key_dates == 2
    assert contrast.close_tempo_dates == 1
    assert contrast.smallest_bpm_gap == 2
