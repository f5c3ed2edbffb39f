"""Which SoundFont renders the instruments: an override, Debian's FluidR3_GM, or the small
GM font that ships inside pretty_midi — and a record of which one was used.

A SoundFont is the head of a chain: each font's ``fallback`` plays the parts it has no preset
for (``instruments.py`` decides per part, from the fonts' preset tables). An override
(``$LOFI_SOUNDFONT``, ``lofi render --soundfont``) falls back to the default fonts — what the
part plays without an override — unless ``$LOFI_SOUNDFONT_FALLBACK`` names another font, or
``none`` to refuse a part the override cannot play.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from importlib import util
from pathlib import Path

from lofi_assets.errors import LofiError

SOUNDFONT_ENV = "LOFI_SOUNDFONT"
FALLBACK_ENV = "LOFI_SOUNDFONT_FALLBACK"
NO_FALLBACK = "none"  # the value of FALLBACK_ENV that turns fallback off
DEBIAN_FLUID_R3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")  # fluid-soundfont-gm, MIT
DEFAULT_SOURCES = frozenset({"debian", "pretty_midi"})  # fonts the instrument library extends


class SoundFontNotFoundError(LofiError, FileNotFoundError):
    """No usable SoundFont file."""


@dataclass(frozen=True)
class SoundFont:
    path: Path
    name: str  # what the metadata says was used
    source: str  # "override", "debian", "pretty_midi" or "fallback" (from FALLBACK_ENV)
    fallback: SoundFont | None = None  # plays what this font has no preset for

    @property
    def chain(self) -> tuple[SoundFont, ...]:
        """This font, then its fallbacks in the order they are tried."""
        fonts, font = [], self
        while font is not None:
            fonts.append(font)
            font = font.fallback
        return tuple(fonts)

    def describe(self) -> str:
        """``name (source)``, then ``→ fallback (source)`` for each font after it."""
        return " → ".join(f"{font.name} ({font.source})" for font in self.chain)


def _bundled_pretty_midi_font() -> Path | None:
    spec = util.find_spec("pretty_midi")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "TimGM6mb.sf2"
    return path if path.is_file() else None


class IncompleteSoundFontError(SoundFontNotFoundError):
    """A file that starts as a SoundFont but is not a whole one: cut short, or lacking a part
    the SoundFont 2.04 specification requires (§4–§7)."""


# SoundFont 2.04 §7.2: the hydra's nine sub-chunks of ``pdta``, in order, with the size of
# one record (each ends in a terminal record, so a size that is not a multiple is corrupt).
PDTA_RECORD_BYTES = {
    b"phdr": 38,
    b"pbag": 4,
    b"pmod": 10,
    b"pgen": 4,
    b"inst": 22,
    b"ibag": 4,
    b"imod": 10,
    b"igen": 4,
    b"shdr": 46,
}
SF2_LISTS = {b"INFO": "the information (INFO)", b"sdta": "the samples (sdta)"}
SF2_LISTS[b"pdta"] = "the preset data (pdta)"


def riff_chunks(read_at, start: int, end: int):
    """(chunk id, payload offset, declared size) of each RIFF chunk from ``start`` to ``end``.

    ``read_at(offset, count)`` returns the file's bytes there. RIFF pads odd chunks to an even
    length, but MuseScore's SF3 writer does not: a pad byte is only skipped when a chunk id
    follows it.
    """
    offset = start
    while offset + 8 <= end:
        header = read_at(offset, 8)
        if len(header) < 8:
            return
        size = int.from_bytes(header[4:8], "little")
        yield header[:4], offset + 8, size
        following = offset + 8 + size
        padded = size & 1 and read_at(following, 1) == b"\0"
        offset = following + 1 if padded and read_at(following + 1, 1).isalpha() else following


def check_soundfont_structure(path: Path) -> None:
    """Refuse a file that is not a whole SoundFont 2 (or SF3) file.

    Per the SoundFont 2.04 specification: a RIFF ``sfbk`` form (§4.1) whose size fits the
    file, holding the three LIST chunks ``INFO``, ``sdta`` and ``pdta`` (§4.2), each whole;
    ``pdta`` holds the nine hydra sub-chunks (§7.1), each a whole number of its records
    (``PDTA_RECORD_BYTES``, §7.2–§7.10). Only headers and ``pdta`` are read (not the samples).

    Raises:
        IncompleteSoundFontError: naming the path, the part missing or cut, and the bytes
            present against the bytes declared.
    """
    file_bytes = path.stat().st_size
    with path.open("rb") as handle:

        def read_at(offset: int, count: int) -> bytes:
            handle.seek(offset)
            return handle.read(count)

        head = read_at(0, 12)
        if head[:4] != b"RIFF" or head[8:12] != b"sfbk":
            raise IncompleteSoundFontError(
                f"{path} is not a SoundFont 2 file (it does not start with a RIFF sfbk "
                "header): point at an .sf2 file"
            )
        riff_bytes = int.from_bytes(head[4:8], "little") + 8
        cut = f"the file is truncated ({file_bytes:,} of {riff_bytes:,} bytes)"
        lists: dict[bytes, tuple[int, int]] = {}
        for chunk_id, offset, size in riff_chunks(read_at, 12, min(riff_bytes, file_bytes)):
            if chunk_id == b"LIST":
                lists.setdefault(read_at(offset, 4), (offset + 4, offset + size))
        # A missing list first: a file cut in its samples has lost its preset data too.
        for kind, what in SF2_LISTS.items():
            if kind not in lists:
                reason = cut if riff_bytes > file_bytes else "the file lacks it"
                raise IncompleteSoundFontError(
                    f"{path} is not a complete SoundFont: {what} is missing — {reason}"
                )
        for kind, what in SF2_LISTS.items():
            if lists[kind][1] > file_bytes:
                raise IncompleteSoundFontError(
                    f"{path} is not a complete SoundFont: {what} is cut short — {cut}"
                )
        start, end = lists[b"pdta"]
        hydra = {cid: size for cid, _, size in riff_chunks(read_at, start, end)}
    for chunk_id, record_bytes in PDTA_RECORD_BYTES.items():
        name = chunk_id.decode()
        if chunk_id not in hydra:
            raise IncompleteSoundFontError(
                f"{path} is not a complete SoundFont: the preset data (pdta) has no {name} "
                "sub-chunk (SoundFont 2.04 §7.1) — the file is corrupt: get a new copy"
            )
        if hydra[chunk_id] % record_bytes or hydra[chunk_id] < record_bytes:
            raise IncompleteSoundFontError(
                f"{path} is not a complete SoundFont: its {name} sub-chunk is "
                f"{hydra[chunk_id]:,} bytes, not a whole number of {record_bytes}-byte "
                "records (SoundFont 2.04 §7.2) — the file is corrupt: get a new copy"
            )


@functools.cache
def _checked(path: Path, mtime_ns: int, size: int) -> None:
    check_soundfont_structure(path)  # once per version of the file


def _check_readable(path: Path, origin: str, variable: str = SOUNDFONT_ENV) -> None:
    """Refuse a font path that is missing, a folder, or not a whole SoundFont file.

    A path the user gave (an override, a fallback) is named as they typed it; the default
    fonts are only checked once found on disk.
    """
    if path.is_dir():
        raise SoundFontNotFoundError(
            f"{path} ({origin}) is a folder, not a SoundFont: point {variable} at an .sf2 file"
        )
    if not path.is_file():
        raise SoundFontNotFoundError(
            f"no such file: {path} ({origin}): check the path, or point {variable} at an .sf2 file"
        )
    stat = path.stat()
    _checked(path.resolve(), stat.st_mtime_ns, stat.st_size)


def _default_fonts() -> list[SoundFont]:
    """The fonts used without an override, best first: Debian's FluidR3_GM, pretty_midi's."""
    fonts = []
    if DEBIAN_FLUID_R3.is_file():
        _check_readable(DEBIAN_FLUID_R3, "Debian fluid-soundfont-gm")
        fonts.append(SoundFont(DEBIAN_FLUID_R3, "FluidR3_GM", "debian"))
    bundled = _bundled_pretty_midi_font()
    if bundled is not None:
        _check_readable(bundled, "bundled with pretty_midi")
        fonts.append(SoundFont(bundled, "TimGM6mb", "pretty_midi"))
    return fonts


def _linked(fonts: list[SoundFont]) -> SoundFont | None:
    """``fonts`` as a chain, each falling back to the next (None when there are none)."""
    head = None
    for font in reversed(fonts):
        head = SoundFont(font.path, font.name, font.source, head)
    return head


def _fallback_chain(fallback: str | Path | None) -> list[SoundFont] | None:
    """The fonts named by ``fallback`` / ``$LOFI_SOUNDFONT_FALLBACK``: None when unset."""
    chosen = fallback if fallback is not None else os.environ.get(FALLBACK_ENV)
    if chosen is None or str(chosen) == "":
        return None
    if str(chosen).strip().lower() == NO_FALLBACK:
        return []
    path = Path(chosen)
    origin = "the fallback override" if fallback is not None else f"from {FALLBACK_ENV}"
    _check_readable(path, origin, FALLBACK_ENV)
    return [SoundFont(path, path.stem, "fallback")]


def resolve_soundfont(
    override: str | Path | None = None, fallback: str | Path | None = None
) -> SoundFont:
    """The SoundFont chain to render with.

    Head: ``override``, ``$LOFI_SOUNDFONT``, Debian's FluidR3_GM, then pretty_midi's TimGM6mb.
    Its fallbacks (parts the head has no preset for): ``fallback`` or
    ``$LOFI_SOUNDFONT_FALLBACK`` (a path, or ``none`` for no fallback at all), else the default
    fonts after the head. Raises ``SoundFontNotFoundError`` naming the file and the fix.
    """
    chosen = override or os.environ.get(SOUNDFONT_ENV)
    named_fallback = _fallback_chain(fallback)
    if chosen:
        path = Path(chosen)
        _check_readable(path, f"from {'the override' if override else SOUNDFONT_ENV}")
        tail = _default_fonts() if named_fallback is None else named_fallback
        return SoundFont(path, path.stem, "override", _linked(tail))
    defaults = _default_fonts()
    if not defaults:
        raise SoundFontNotFoundError(
            f"SoundFont not found at {DEBIAN_FLUID_R3} and pretty_midi has none: install "
            f"fluid-soundfont-gm or set {SOUNDFONT_ENV} (apt-get install fluid-soundfont-gm)"
        )
    head, rest = defaults[0], defaults[1:]
    tail = rest if named_fallback is None else named_fallback
    return SoundFont(head.path, head.name, head.source, _linked(tail))
