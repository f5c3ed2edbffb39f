"""Which source plays each part: the instrument library (``assets_library/instruments.yaml``).

Melodic General MIDI programs map to a SoundFont preset (MuseScore General where it is
better than FluidR3_GM) with a velocity-following tone; GM2 drum-kit programs map to a kit for
the one-shot sampler (``sampler.py``): recorded WAV/FLAC layers where the library has them, the
SoundFont's own kit for every other key. Anything missing — a font not installed or not yet
converted, a preset a font lacks, a sample folder — falls back to the base SoundFont (FluidR3_GM
or ``$LOFI_SOUNDFONT``) with a warning, never to silence; ``StemSource`` records what played.

Whether a font can play a part is read from its preset table (the SF2 ``phdr`` records, SoundFont
2.04 §7.2), never by listening, and decided per part along the base font's chain
(``SoundFont.chain``): the first font that has the part's exact ``bank:program``, or a preset of
the same kind and family (``_substitutes``), plays it. FluidSynth itself would substitute any
preset — a drum kit for a piano, a piano for a kit — or play nothing; a part no font of the
chain can play is refused with ``MissingPresetError`` before anything renders.

SF3 fonts (Ogg Vorbis samples) are converted once to SF2 in the instrument cache
(``$LOFI_INSTRUMENTS_DIR``, default ``~/.cache/lofi-empire/instruments``):
``python -m lofi_assets.audio.instruments`` (run by ``scripts/dev.sh setup`` and the
Dockerfile). FluidSynth could read the SF3 itself, but decodes a preset's samples each time a
synth selects it (4 s for the piano, per stem and per process).
"""

from __future__ import annotations

import functools
import io
import logging
import os
import struct
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from lofi_assets.audio.soundfont import (
    DEFAULT_SOURCES,
    FALLBACK_ENV,
    SOUNDFONT_ENV,
    SoundFont,
    check_soundfont_structure,
)
from lofi_assets.errors import ConfigError
from lofi_assets.music.styles import assets_library_dir

LOG = logging.getLogger(__name__)
INSTRUMENTS_DIR_ENV = "LOFI_INSTRUMENTS_DIR"
DRUM_BANK = 128  # SoundFont drum kits live in bank 128
GM2_KIT_STEP = 8  # GM2/GS kit numbers: variations of kit n sit on n+1…n+7
# General MIDI 1 Sound Set: 128 programs in 16 families of 8 (piano 0–7, chromatic percussion
# 8–15, organ 16–23, guitar 24–31, bass 32–39, …): a family member is the same kind of sound.
GM_FAMILY_SIZE = 8
STANDARD_KIT = 0  # GM2 kit 1 "Standard" (program 0): FluidSynth's own drum-channel fallback
KEY_CLASSES = {36: "kick", 35: "kick", 38: "snare", 40: "snare", 37: "snare"}
KEY_CLASSES |= {42: "hat", 44: "hat", 46: "hat"}


class InstrumentLibraryError(ConfigError):
    """``instruments.yaml`` is malformed."""


class MissingPresetError(ConfigError):
    """No font of the SoundFont chain can play a part: none has its ``bank:program`` or a
    preset of its kind and family.

    ``missing``: ``(part, bank, program)`` per part (``part`` is "" where unknown);
    ``fonts``: the files searched, in order.
    """

    def __init__(self, missing: Sequence[tuple[str, int, int]], fonts: Sequence[str]) -> None:
        self.missing = tuple(missing)
        self.fonts = tuple(fonts)
        listed = ", ".join(
            f"{part} {bank}:{program}" if part else f"{bank}:{program}"
            for part, bank, program in self.missing
        )
        super().__init__(
            f"No SoundFont can play {listed} (bank:program; searched {' → '.join(self.fonts)}, "
            "for the preset or one of its General MIDI family): set "
            f"{SOUNDFONT_ENV} (or --soundfont) to a General MIDI font that has them, or let the "
            f"default fonts play them (unset {FALLBACK_ENV}; apt-get install fluid-soundfont-gm)"
        )


@dataclass(frozen=True, slots=True)
class Layer:
    """Samples for velocities up to ``max_velocity`` (1–127); several alternate per hit."""

    max_velocity: int
    files: tuple[Path, ...]


@dataclass(frozen=True)
class KitSpec:
    """One GM2 kit: a SoundFont kit (bank 128) plus recorded layers for some keys."""

    program: int
    font: str | None  # a key of ``fonts``, or None for the base SoundFont
    font_program: int
    sample_dir: Path | None
    sample_dir_name: str | None
    keys: Mapping[int, tuple[Layer, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class MelodicSpec:
    font: str | None
    bank: int
    program: int
    tone_octaves: float


@dataclass(frozen=True)
class InstrumentLibrary:
    fonts: Mapping[str, Path]
    melodic: Mapping[int, MelodicSpec]
    kits: Mapping[int, KitSpec]
    default_tone_octaves: float
    drum_tone_octaves: Mapping[str, float]
    choke_group: frozenset[int]
    reverse_key: int
    reverse_source_key: int

    def drum_tone_octaves_for(self, key: int) -> float:
        kind = KEY_CLASSES.get(key, "other")
        return self.drum_tone_octaves.get(kind, self.drum_tone_octaves.get("other", 3.0))

    def kit_spec(self, program: int) -> KitSpec:
        """The kit for a GM2 kit program: exact, else the GM2 family (n − n mod 8), else 0."""
        for candidate in (program, program - program % GM2_KIT_STEP, 0):
            if candidate in self.kits:
                return self.kits[candidate]
        return KitSpec(program, None, 0, None, None)


@dataclass(frozen=True, slots=True)
class StemSource:
    """What played one stem: engine, font file, preset, and why a fallback happened."""

    engine: str  # "fluidsynth" or "sampler"
    font: str  # the SoundFont's name (file stem)
    font_path: str
    bank: int
    program: int
    preset: str
    samples: str | None = None  # the recorded kit folder the sampler used, if any
    fallback: str | None = None  # why the library's choice did not play, if it did not
    # The part's own preset, "bank:program" (its GM program; bank 128 and the GM2 kit program
    # for drums): what played differs from it only where ``fallback`` says why.
    requested: str | None = None

    def describe(self) -> str:
        text = f"{self.preset} ({self.font} {self.bank}:{self.program}, {self.engine})"
        if self.requested and self.requested != f"{self.bank}:{self.program}":
            text += f" for {self.requested}"
        if self.samples:
            text += f" + {self.samples} samples"
        return text + (f" [fallback: {self.fallback}]" if self.fallback else "")


def instruments_dir() -> Path:
    """Where converted fonts live: ``$LOFI_INSTRUMENTS_DIR`` or ``~/.cache/lofi-empire``."""
    override = os.environ.get(INSTRUMENTS_DIR_ENV)
    if override:
        return Path(override)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "lofi-empire" / "instruments"


def _layers(raw: object, base: Path | None, where: str) -> tuple[Layer, ...]:
    if not isinstance(raw, list) or not raw:
        raise InstrumentLibraryError(f"{where}: a key needs a list of layers")
    layers = []
    for item in raw:
        try:
            files = tuple((base or Path()) / str(name) for name in item["files"])
            layers.append(Layer(int(item["max_velocity"]), files))
        except (KeyError, TypeError, ValueError) as error:
            raise InstrumentLibraryError(f"{where}: bad layer {item!r} ({error})") from error
    return tuple(sorted(layers, key=lambda layer: layer.max_velocity))


def load_library(path: Path | None = None) -> InstrumentLibrary:
    """Parse ``instruments.yaml`` (default: the assets library's copy, as
    ``$LOFI_ASSETS_LIBRARY`` names it now).

    Read once per version of the file (its path, mtime and size): an edited library is read
    again, not served from a cache made before the edit.
    Raises ``InstrumentLibraryError`` naming the entry that is malformed.
    """
    path = path or assets_library_dir() / "instruments.yaml"
    stat = path.stat()
    return _load_library(path, stat.st_mtime_ns, stat.st_size)


@functools.cache
def _load_library(path: Path, mtime_ns: int, size: int) -> InstrumentLibrary:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    fonts = {str(name): Path(value) for name, value in (raw.get("fonts") or {}).items()}
    default_tone = float(raw.get("default_tone_octaves", 2.0))

    def font_name(value: object, where: str) -> str | None:
        if value is None:
            return None
        if value not in fonts:
            raise InstrumentLibraryError(f"{path}: {where} names unknown font {value!r}")
        return str(value)

    melodic = {
        int(program): MelodicSpec(
            font=font_name(entry.get("font"), f"program {program}"),
            bank=int(entry.get("bank", 0)),
            program=int(entry.get("program", program)),
            tone_octaves=float(entry.get("tone_octaves", default_tone)),
        )
        for program, entry in (raw.get("melodic") or {}).items()
    }
    sample_dirs = {str(k): Path(v) for k, v in (raw.get("sample_dirs") or {}).items()}
    kits: dict[int, KitSpec] = {}
    raw_kits = raw.get("kits") or {}
    for program in sorted(raw_kits, key=lambda p: "same_as" in raw_kits[p]):
        entry = dict(raw_kits[program])
        if "same_as" in entry:
            base_entry = raw_kits.get(entry.pop("same_as"))
            if base_entry is None:
                raise InstrumentLibraryError(f"{path}: kit {program} copies an unknown kit")
            entry = {**base_entry, **entry}
        samples = entry.get("samples") or {}
        dir_name = samples.get("dir")
        if dir_name is not None and dir_name not in sample_dirs:
            raise InstrumentLibraryError(f"{path}: kit {program} names unknown dir {dir_name!r}")
        sample_dir = sample_dirs.get(dir_name) if dir_name else None
        kits[int(program)] = KitSpec(
            program=int(program),
            font=font_name(entry.get("font"), f"kit {program}"),
            font_program=int(entry.get("program", program)),
            sample_dir=sample_dir,
            sample_dir_name=dir_name,
            keys={
                int(key): _layers(layers, sample_dir, f"{path}: kit {program} key {key}")
                for key, layers in (samples.get("keys") or {}).items()
            },
        )
    reverse = raw.get("reverse_cymbal") or {"key": 119, "source_key": 49}
    return InstrumentLibrary(
        fonts=fonts,
        melodic=melodic,
        kits=kits,
        default_tone_octaves=default_tone,
        drum_tone_octaves={
            str(k): float(v) for k, v in (raw.get("default_drum_tone_octaves") or {}).items()
        },
        choke_group=frozenset(int(key) for key in raw.get("choke_group") or ()),
        reverse_key=int(reverse["key"]),
        reverse_source_key=int(reverse["source_key"]),
    )


# --- SoundFont files: preset tables and SF3 → SF2 conversion ----------------------------


def _chunks(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    offset = start
    while offset + 8 <= end:
        chunk_id = data[offset : offset + 4]
        (size,) = struct.unpack("<I", data[offset + 4 : offset + 8])
        yield chunk_id, offset + 8, size
        following = offset + 8 + size
        # RIFF pads odd chunks to an even length, but MuseScore's SF3 writer does not: a pad
        # byte is only skipped when a chunk id follows it.
        padded = size & 1 and data[following : following + 1] == b"\0"
        offset = (
            following + 1 if padded and data[following + 1 : following + 2].isalpha() else following
        )


def _riff_lists(data: bytes, path: Path) -> dict[bytes, tuple[int, int]]:
    if data[:4] != b"RIFF" or data[8:12] != b"sfbk":
        raise InstrumentLibraryError(f"{path} is not a SoundFont (SF2/SF3) file")
    return {
        data[offset : offset + 4]: (offset + 4, offset + size)
        for chunk_id, offset, size in _chunks(data, 12, len(data))
        if chunk_id == b"LIST"
    }


@functools.cache
def _preset_table(path: Path, mtime_ns: int) -> dict[tuple[int, int], str]:
    check_soundfont_structure(path)  # a cut or corrupt file is named, not a KeyError
    with path.open("rb") as handle:
        data = handle.read()
    start, end = _riff_lists(data, path)[b"pdta"]
    for chunk_id, offset, size in _chunks(data, start, end):
        if chunk_id == b"phdr":
            table = {}
            for index in range(size // 38 - 1):  # the last record is the terminal "EOP"
                name, program, bank = struct.unpack_from("<20sHH", data, offset + index * 38)
                table[(bank, program)] = name.split(b"\0")[0].decode("latin-1").strip()
            return table
    raise InstrumentLibraryError(f"{path} has no preset headers")


def preset_table(path: Path) -> dict[tuple[int, int], str]:
    """``{(bank, program): preset name}`` of a SoundFont file (read once per file version)."""
    return _preset_table(path, path.stat().st_mtime_ns)


def convert_sf3_to_sf2(source: Path, target: Path) -> None:
    """Write ``source`` (SF3: Ogg Vorbis samples) as an SF2 with 16-bit PCM samples.

    Presets, instruments, zones and modulators are copied unchanged; only the sample data and
    sample headers change (an SF3 header gives the Ogg stream's byte range and loop points
    relative to the sample's start). The result is written atomically.
    """
    import soundfile

    check_soundfont_structure(source)

    data = source.read_bytes()
    lists = _riff_lists(data, source)
    sample_data = {cid: (o, s) for cid, o, s in _chunks(data, *lists[b"sdta"])}
    smpl_offset, smpl_size = sample_data[b"smpl"]
    smpl = data[smpl_offset : smpl_offset + smpl_size]
    pdta = [(cid, data[o : o + s]) for cid, o, s in _chunks(data, *lists[b"pdta"])]
    headers = dict(pdta)[b"shdr"]
    pcm_out, new_headers, position = io.BytesIO(), [], 0
    for index in range(len(headers) // 46 - 1):
        name, start, end, loop_start, loop_end, rate, pitch, correction, link, kind = (
            struct.unpack_from("<20sIIIIIBbHH", headers, index * 46)
        )
        if kind & 0x10:  # Ogg Vorbis compressed
            pcm, _ = soundfile.read(io.BytesIO(smpl[start : end + 1]), dtype="int16")
            pcm = pcm[:, 0] if pcm.ndim > 1 else pcm
            loop_start, loop_end = position + loop_start, position + loop_end
        else:
            pcm = np.frombuffer(smpl[start * 2 : end * 2], dtype="<i2")
            loop_start, loop_end = position + loop_start - start, position + loop_end - start
        pcm_out.write(pcm.astype("<i2").tobytes() + b"\0" * 92)  # 46 zero samples after each
        new_headers.append(
            struct.pack(
                "<20sIIIIIBbHH",
                name,
                position,
                position + len(pcm),
                loop_start,
                loop_end,
                rate,
                pitch,
                correction,
                link,
                kind & ~0x10,
            )
        )
        position += len(pcm) + 46
    new_headers.append(headers[-46:])

    def chunk(chunk_id: bytes, body: bytes) -> bytes:
        return chunk_id + struct.pack("<I", len(body)) + body + (b"\0" if len(body) & 1 else b"")

    info = b"INFO" + b"".join(
        chunk(cid, struct.pack("<HH", 2, 4) if cid == b"ifil" else data[o : o + s])
        for cid, o, s in _chunks(data, *lists[b"INFO"])
    )
    hydra = b"pdta" + b"".join(
        chunk(cid, b"".join(new_headers) if cid == b"shdr" else body) for cid, body in pdta
    )
    body = (
        b"sfbk"
        + chunk(b"LIST", info)
        + chunk(b"LIST", b"sdta" + chunk(b"smpl", pcm_out.getvalue()))
        + chunk(b"LIST", hydra)
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    staging.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    staging.replace(target)


def converted_path(source: Path) -> Path:
    return instruments_dir() / f"{source.stem}.sf2"


def font_file(name: str, library: InstrumentLibrary) -> tuple[Path | None, str | None]:
    """The playable SF2 for library font ``name``, or None and why it cannot play."""
    source = library.fonts[name]
    if not source.is_file():
        return None, f"{source} is not installed (scripts/dev.sh setup installs it)"
    if source.suffix.lower() != ".sf3":
        return source, None
    converted = converted_path(source)
    if converted.is_file() and converted.stat().st_mtime_ns >= source.stat().st_mtime_ns:
        return converted, None
    return None, (
        f"{source} is not converted to SF2 yet: run `python -m lofi_assets.audio.instruments` "
        "(scripts/dev.sh setup does)"
    )


@functools.cache
def _warn_once(message: str) -> None:
    LOG.warning(message)


@dataclass(frozen=True, slots=True)
class PresetChoice:
    """A SoundFont preset to play, and the record of it."""

    path: Path
    bank: int
    program: int
    source: StemSource
    origin: SoundFont  # the font of the chain that plays it (or whose library font does)


def _substitutes(gm_bank: int, gm_program: int) -> tuple[tuple[int, int], ...]:
    """The presets of one font that may play a part, best first: its own ``bank:program``,
    then the first of its family — for a melodic part the first program of its GM family
    (``GM_FAMILY_SIZE``), for a kit the first kit of its GM2 family (``GM2_KIT_STEP``), then
    the Standard kit. Never across kinds: FluidSynth's own fallback would play a kit for a
    piano or a piano for a kit.
    """
    family = (gm_bank, gm_program - gm_program % GM_FAMILY_SIZE)
    candidates = [(gm_bank, gm_program), family]
    if gm_bank == DRUM_BANK:
        candidates.append((DRUM_BANK, STANDARD_KIT))
    return tuple(dict.fromkeys(candidates))


def _choose(
    font: str | None,
    bank: int,
    program: int,
    base: SoundFont,
    library: InstrumentLibrary,
    engine: str,
    gm_program: int,
) -> PresetChoice:
    """The preset that plays a part, the first that can along ``base.chain``, with the reason
    for every font passed over.

    A default font (FluidR3_GM, pretty_midi's) first offers the library font's
    ``bank:program`` (``font``), then its own presets for the part's General MIDI program
    (``gm_program``; a GM2 kit program for drums, ``bank`` 128) and its family
    (``_substitutes``). An override offers only its own presets: it plays every part it has a
    preset for. Raises ``MissingPresetError`` when no font of the chain can play the part.
    """
    gm_bank = DRUM_BANK if bank == DRUM_BANK else 0
    requested = f"{gm_bank}:{gm_program}"
    reasons: list[str] = []
    library_offered = font is None

    def chosen(
        path: Path, name: str, candidate: tuple[int, int], origin: SoundFont
    ) -> PresetChoice:
        fallback = "; ".join(reasons) or None
        if fallback:
            _warn_once(f"Instrument {requested}: {fallback}")
        preset = preset_table(path)[candidate]
        source = StemSource(
            engine, name, str(path), *candidate, preset, fallback=fallback, requested=requested
        )
        return PresetChoice(path, *candidate, source, origin)

    for chain_font in base.chain:
        if chain_font.source in DEFAULT_SOURCES and not library_offered:
            library_offered = True
            path, reason = font_file(font, library)
            if path is not None:
                if (bank, program) in preset_table(path):
                    return chosen(path, path.stem, (bank, program), chain_font)
                reason = f"{path.name} has no preset {bank}:{program}"
            reasons.append(reason)
        presets = preset_table(chain_font.path)
        substitutes = _substitutes(gm_bank, gm_program)
        for candidate in substitutes:
            if candidate in presets:
                if candidate != (gm_bank, gm_program):
                    kind = (
                        "the Standard kit"
                        if candidate == (DRUM_BANK, STANDARD_KIT)
                        else "its family"
                    )
                    reasons.append(
                        f"{chain_font.path.name} has no preset {requested}: "
                        f"{candidate[0]}:{candidate[1]} ({kind}) played it"
                    )
                return chosen(chain_font.path, chain_font.name, candidate, chain_font)
        alternatives = "".join(f" nor {b}:{p}" for b, p in substitutes[1:])
        reasons.append(f"{chain_font.path.name} has no preset {requested}{alternatives}")
    raise MissingPresetError(
        [("", gm_bank, gm_program)], [chain_font.path.name for chain_font in base.chain]
    )


def melodic_choice(
    program: int, base: SoundFont, library: InstrumentLibrary | None = None
) -> tuple[PresetChoice, float]:
    """The preset that plays melodic GM ``program`` and its tone depth (octaves).

    Raises ``MissingPresetError`` when no font of ``base.chain`` can play it (see ``_choose``).
    """
    library = library or load_library()
    spec = library.melodic.get(program)
    if spec is None:
        choice = _choose(None, 0, program, base, library, "fluidsynth", program)
        return choice, library.default_tone_octaves
    choice = _choose(spec.font, spec.bank, spec.program, base, library, "fluidsynth", program)
    return choice, spec.tone_octaves


def kit_choice(
    program: int, base: SoundFont, library: InstrumentLibrary | None = None
) -> tuple[PresetChoice, KitSpec, str | None]:
    """The SoundFont kit and recorded layers that play GM2 kit ``program``.

    The third value says why the recorded layers cannot play (their folder is missing, or an
    override's kit plays), else None. Raises ``MissingPresetError`` (see ``_choose``).
    """
    library = library or load_library()
    spec = library.kit_spec(program)
    choice = _choose(spec.font, DRUM_BANK, spec.font_program, base, library, "sampler", program)
    missing = None
    if spec.keys and choice.origin.source not in DEFAULT_SOURCES:
        # The override's (or a named fallback's) own kit plays: recorded layers belong to the
        # default instruments.
        missing = (
            f"{choice.origin.name} ({choice.origin.source}) plays the kit: recorded kits are "
            "not used"
        )
    elif spec.keys and (spec.sample_dir is None or not spec.sample_dir.is_dir()):
        missing = f"sample folder {spec.sample_dir} is missing (install hydrogen-drumkits)"
        _warn_once(f"Drum kit {program}: {missing}; the SoundFont kit plays every key")
    return choice, spec, missing


def prepare(force: bool = False) -> list[Path]:
    """Convert every SF3 font of the library to SF2 in the cache (skips up-to-date ones)."""
    library = load_library()
    written = []
    for name, source in library.fonts.items():
        if source.suffix.lower() != ".sf3":
            continue
        if not source.is_file():
            LOG.warning("%s (%s) is not installed: its instruments fall back", name, source)
            continue
        target = converted_path(source)
        if force or not target.is_file() or target.stat().st_mtime_ns < source.stat().st_mtime_ns:
            convert_sf3_to_sf2(source, target)
            written.append(target)
    return written


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for path in prepare(force="--force" in sys.argv):
        print(f"converted {path}")
    print(f"instrument cache: {instruments_dir()}")
