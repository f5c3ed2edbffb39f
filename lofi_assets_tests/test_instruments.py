"""Sampled, velocity-layered instruments: timbre follows velocity, drums never repeat a waveform,
each GM2 kit program gets its kit, a missing source falls back audibly, same notes → same audio.

Measures are numpy on rendered single notes (spectral centroid of the level-normalised hit,
waveform correlation of two hits), not the sampler's own bookkeeping.
"""

from pathlib import Path

import numpy as np
import pytest

from lofi_assets.audio.instruments import (
    font_file,
    kit_choice,
    load_library,
    melodic_choice,
    preset_table,
)
from lofi_assets.audio.render import NoteSpan, part_source, render_part, render_part_with_source
from lofi_assets.audio.soundfont import resolve_soundfont

RATE = 44_100
KICK, SNARE, HAT = 36, 38, 42


def _library_installed() -> bool:
    library = load_library()
    fonts_ok = all(font_file(name, library)[0] is not None for name in library.fonts)
    kits_ok = all(k.sample_dir is None or k.sample_dir.is_dir() for k in library.kits.values())
    return fonts_ok and kits_ok


needs_library = pytest.mark.skipif(
    not _library_installed(),
    reason="instrument library not installed: run scripts/dev.sh setup",
)


def _centroid_hz(audio: np.ndarray) -> float:
    mono = audio.mean(axis=0)
    mono = mono / (np.sqrt(np.mean(mono**2)) + 1e-12)
    power = np.abs(np.fft.rfft(mono * np.hanning(mono.size))) ** 2
    freqs = np.fft.rfftfreq(mono.size, 1 / RATE)
    band = (freqs >= 20) & (freqs <= 20_000)
    return float((power[band] * freqs[band]).sum() / power[band].sum())


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.mean(axis=0), b.mean(axis=0)
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def _velocity_ratio(program: int, is_drums: bool, pitch: int) -> float:
    font = resolve_soundfont()
    window = int(0.3 * RATE)
    centroids = []
    for velocity in (40, 110):
        notes = [NoteSpan(0.0, 0.4, pitch, velocity)]
        audio = render_part(notes, program, is_drums, font, 0.5, RATE)
        assert np.max(np.abs(audio)) > 1e-4
        centroids.append(_centroid_hz(audio[:, :window]))
    return centroids[1] / centroids[0]


@needs_library
@pytest.mark.parametrize("program", [0, 4, 5])  # grand piano, tine and FM electric pianos
def test_keys_timbre_follows_velocity(program):
    assert _velocity_ratio(program, False, 60) >= 1.2


@needs_library
@pytest.mark.parametrize("kit", [0, 32, 40])
@pytest.mark.parametrize("key", [KICK, SNARE, HAT])
def test_drum_timbre_follows_velocity(kit, key):
    assert _velocity_ratio(kit, True, key) >= 1.2


@pytest.mark.parametrize("kit", [0, 25, 40])
@pytest.mark.parametrize("key", [KICK, SNARE, HAT])
def test_consecutive_equal_hits_are_not_the_same_sample(kit, key):
    notes = [NoteSpan(0.0, 0.1, key, 100), NoteSpan(0.5, 0.6, key, 100)]
    audio = render_part(notes, kit, True, resolve_soundfont(), 1.0, RATE)
    window = int(0.1 * RATE)
    first, second = audio[:, :window], audio[:, RATE // 2 : RATE // 2 + window]
    assert np.max(np.abs(second)) > 1e-4
    assert _correlation(first, second) < 0.995


@needs_library
def test_each_gm2_kit_program_plays_its_kit():
    font = resolve_soundfont()
    presets = {kit: part_source(kit, True, font).preset for kit in (0, 25, 32, 40)}
    assert presets == {0: "Standard", 25: "TR-808", 32: "Jazz", 40: "Brush"}
    assert part_source(0, True, font).samples == "colombo"  # recorded layers on the standard kit
    assert part_source(41, True, font).preset == "Brush"  # a GM2 variation: its family's kit
    assert part_source(99, True, font).preset == "Standard"
    snare = [NoteSpan(0.0, 0.2, SNARE, 90)]
    standard = render_part(snare, 0, True, font, 0.5, RATE)
    brush = render_part(snare, 40, True, font, 0.5, RATE)
    assert _correlation(standard, brush) < 0.9


def test_a_preset_the_font_lacks_falls_back_to_the_base_font_and_says_so(tmp_path):
    base = resolve_soundfont()
    library_file = tmp_path / "instruments.yaml"
    library_file.write_text(
        f"fonts: {{only: {base.path}, gone: {tmp_path / 'missing.sf2'}}}\n"
        "melodic:\n"
        "  0: {font: only, bank: 77, program: 3}\n"
        "  4: {font: gone}\n"
        "kits:\n"
        "  0: {font: gone, program: 0, samples: {dir: nowhere, keys: {36: [{max_velocity: 127, files: [k.wav]}]}}}\n"
        f"sample_dirs: {{nowhere: {tmp_path / 'no-kit'}}}\n",
        encoding="utf-8",
    )
    library = load_library(library_file)
    choice, _ = melodic_choice(0, base, library)
    assert (choice.bank, choice.program) == (0, 0)
    assert "no preset 77:3" in choice.source.fallback
    choice, _ = melodic_choice(4, base, library)
    assert "missing.sf2 is not installed" in choice.source.fallback
    assert choice.path == base.path
    kit, _, missing = kit_choice(0, base, library)
    assert kit.path == base.path and "missing" in missing


def test_a_program_missing_from_every_font_still_sounds():
    font = resolve_soundfont()
    rendered = render_part_with_source([NoteSpan(0.0, 0.5, 60, 100)], 127, False, font, 1.0, RATE)
    assert np.max(np.abs(rendered.audio)) > 1e-3
    assert (rendered.source.bank, rendered.source.program) in preset_table(
        Path(rendered.source.font_path)
    )


def test_same_notes_give_the_same_audio():
    font = resolve_soundfont()
    hits = [
        NoteSpan(i * 0.125, i * 0.125 + 0.1, (KICK, HAT, SNARE, HAT)[i % 4], 60 + 9 * (i % 5))
        for i in range(16)
    ]
    hits.append(NoteSpan(1.0, 2.0, 119, 80))  # reversed cymbal swelling to 2 s
    chord = [NoteSpan(0.0, 1.5, pitch, 70) for pitch in (60, 64, 67)]
    for notes, program, is_drums in ((hits, 0, True), (chord, 4, False)):
        first = render_part(notes, program, is_drums, font, 2.5, RATE)
        assert np.array_equal(first, render_part(notes, program, is_drums, font, 2.5, RATE))
