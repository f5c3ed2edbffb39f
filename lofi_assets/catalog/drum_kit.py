"""The drum kit pack's one-shots: each kit key the product plays, sampled from the sound
source that plays it, only where that source's licence allows handing its sounds out.

Two checks decide, per kit (``assets_library/LICENSES.md``): the kit has no recorded layers
of a source that may not be redistributed (``licence.one_shot_source``: the Colombo kit), and
the SoundFont that actually played it (the library's choice, or a fallback) is one whose
licence is recorded here as redistributable. Everything else is skipped with its reason,
which the pack's manifest records.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lofi_assets.audio import SAMPLE_RATE_HZ
from lofi_assets.audio.sampler import build_kit
from lofi_assets.audio.soundfont import SoundFont
from lofi_assets.audio.wav import write_wav
from lofi_assets.catalog.licence import one_shot_source
from lofi_assets.catalog.samples import ONE_SHOT_FADE_S, faded_and_normalized

# GM2 kits whose every key comes from a SoundFont (instruments.yaml): Electronic and TR-808.
DRUM_KIT_PROGRAMS = {24: "electronic", 25: "tr808"}
# GM drum keys (General MIDI 1, percussion key map) the channel's patterns play.
DRUM_KIT_KEYS = {
    36: "kick", 37: "side_stick", 38: "snare", 39: "clap", 42: "closed_hat", 44: "pedal_hat",
    46: "open_hat", 45: "tom_low", 47: "tom_mid", 50: "tom_high", 49: "crash", 51: "ride",
}  # fmt: skip
# SoundFonts (by file-name prefix) whose licence allows redistributing their sounds, with it
# (LICENSES.md). Not listed, so never shipped: pretty_midi's bundled TimGM6mb (GPL-2).
REDISTRIBUTABLE_FONTS = {
    "MuseScore_General": "MIT (S. Christian Collins and contributors), drum samples partly CC0",
    "FluidR3_GM": "MIT (Frank Wen)",
}


@dataclass(frozen=True)
class KitVerdict:
    """One kit of the pack: its ``folder`` name, what played it and the licence that lets it
    ship (``shipped``), or why it does not."""

    program: int
    folder: str
    source: str
    licence: str
    shipped: bool


def font_licence(font: str) -> str | None:
    """The recorded redistributable licence of SoundFont ``font`` (a file stem), else None."""
    for prefix, licence in REDISTRIBUTABLE_FONTS.items():
        if font.startswith(prefix):
            return licence
    return None


def write_drum_kit(
    folder: Path, soundfont: SoundFont, sample_rate_hz: int = SAMPLE_RATE_HZ
) -> tuple[list[Path], list[KitVerdict]]:
    """One WAV per key of ``DRUM_KIT_KEYS`` (its loudest layer, faded, at -1 dBFS) for each kit
    of ``DRUM_KIT_PROGRAMS`` that may ship, under ``folder/<kit>/<key>_<name>.wav``. Returns
    the files and the verdict on every kit."""
    files, verdicts = [], []
    for program, name in DRUM_KIT_PROGRAMS.items():
        recorded = one_shot_source(program)
        if not recorded.allowed:
            verdicts.append(KitVerdict(program, name, recorded.reason, "", False))
            continue
        kit = build_kit(program, sorted(DRUM_KIT_KEYS), soundfont, sample_rate_hz)
        licence = font_licence(kit.source.font)
        if licence is None or kit.source.samples:
            verdicts.append(KitVerdict(program, name, kit.source.describe(), "", False))
            continue
        verdicts.append(KitVerdict(program, name, kit.source.describe(), licence, True))
        for key, layers in sorted(kit.keys.items()):
            loudest = layers.layers[-1][1][0]
            path = folder / name / f"{key:03d}_{DRUM_KIT_KEYS.get(key, 'key')}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            files.append(
                write_wav(
                    path,
                    faded_and_normalized(loudest, ONE_SHOT_FADE_S, sample_rate_hz),
                    sample_rate_hz,
                )
            )
    return files, verdicts
