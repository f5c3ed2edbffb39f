"""WAV files in and out: atomic writes, and reads that refuse what the chain cannot use.

Every WAV the product reads is opened by ``wav_file`` (or ``read_wav`` over it), which first
compares the RIFF header with the file: libsndfile reads a file cut short as a shorter file
without a word (it trusts the bytes present over the ``data`` chunk's declared size), so a
master truncated to 70 % would otherwise be mixed, measured and published as a 70 % track.
Writers opened by ``wav_file`` turn libsndfile's bare "System error." on a full disk into a
``DiskFullError`` naming the file and the size it needed.
"""

from __future__ import annotations

import errno
import io
import os
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from lofi_assets.audio.parallel import step_threads
from lofi_assets.audio.streaming import interleaved
from lofi_assets.errors import LofiError
from lofi_assets.storage import (
    DiskFullError,
    TruncatedMediaError,
    atomic_path,
    ensure_free_space,
    free_bytes,
)

# libsndfile's sndfile.h: whether float files get a PEAK chunk.
_SFC_SET_ADD_PEAK_CHUNK = 0x1050
# libsndfile's SFE_SYSTEM: an OS call failed; sf_strerror then carries strerror(errno).
_SFE_SYSTEM = 2
# Bytes per sample of the subtypes the product writes (the size a WAV will need on disk).
SUBTYPE_BYTES = {"PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8}
WAV_HEADER_BYTES = 4096  # RIFF, fmt and the odd LIST chunk: generous, so a pre-check never
# passes a file that then fails on its last block


class AudioFileError(LofiError):
    """A WAV that is missing, corrupt, empty, mono or at the wrong rate."""


class TruncatedWavError(AudioFileError, TruncatedMediaError):
    """A WAV whose ``data`` (or RIFF) chunk declares more bytes than the file holds."""


def _chunks(handle, file_bytes: int, big_endian: bool) -> Iterable[tuple[bytes, int, int]]:
    """(chunk id, declared size, offset of its payload) of each chunk after "WAVE"."""
    order = "big" if big_endian else "little"
    offset = 12
    while offset + 8 <= file_bytes:
        handle.seek(offset)
        header = handle.read(8)
        size = int.from_bytes(header[4:8], order)
        yield header[:4], size, offset + 8
        offset += 8 + size + (size & 1)  # chunks are word-aligned (RIFF spec, pad byte)


# A 32-bit size a streaming writer could not know when it wrote the header (ffmpeg to a pipe
# writes 0xFFFFFFFF; others write 0): the data then runs to the end of the file, as
# libsndfile and ffmpeg read it.
UNKNOWN_SIZE = 0xFFFFFFFF


@dataclass(frozen=True)
class WavLayout:
    """Where a RIFF WAVE file's audio lies, from its header and the bytes present.

    ``data_offset``: first byte of the ``data`` payload (None: no ``data`` chunk header);
    ``declared_bytes``: the payload size the header declares (None: unknown, a streaming
    writer's 0 or 0xFFFFFFFF, the audio runs to the end of the file); ``present_bytes``: the
    bytes from ``data_offset`` to the end of the file; ``bytes_per_s``: ``nAvgBytesPerSec``
    (None when absent); ``block_bytes``: ``nBlockAlign``, bytes per frame;
    ``size_field_offset``: where the data chunk's 32-bit size lies.
    """

    data_offset: int | None
    declared_bytes: int | None
    present_bytes: int
    bytes_per_s: int | None
    block_bytes: int
    size_field_offset: int | None
    big_endian: bool


def _is_chunk_header(header: bytes, room: int, order: str) -> bool:
    """Whether ``header`` (8 bytes) reads as a chunk id of printable ASCII whose payload fits in
    ``room`` bytes: tells an empty ``data`` chunk followed by a tag from streamed audio."""
    return (
        len(header) == 8
        and all(32 <= byte < 127 for byte in header[:4])
        and int.from_bytes(header[4:8], order) <= room - 8
    )


def wav_layout(path: Path | str) -> WavLayout | None:
    """The layout of a RIFF/RIFX/RF64 WAVE file (None for any other file: libsndfile judges).

    Size conventions accepted, as libsndfile and ffmpeg read them: a ``data`` size of
    0xFFFFFFFF outside RF64 (ffmpeg writing to a pipe), and of 0 with audio bytes after it
    (streaming writers), both mean "to the end of the file"; RF64's real sizes come from its
    ``ds64`` chunk (EBU Tech 3306 §2).
    """
    path = Path(path)
    file_bytes = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX", b"RF64") or head[8:] != b"WAVE":
            return None
        big_endian = head[:4] == b"RIFX"
        order = "big" if big_endian else "little"
        bytes_per_s = data64 = None
        block_bytes = 0
        for chunk_id, size, offset in _chunks(handle, file_bytes, big_endian):
            if chunk_id == b"ds64":  # RF64: the real 64-bit sizes (the 32-bit ones read -1)
                handle.seek(offset + 8)
                data64 = int.from_bytes(handle.read(8), "little")
            elif chunk_id == b"fmt ":
                handle.seek(offset + 8)  # nAvgBytesPerSec, nBlockAlign
                fields = handle.read(6)
                bytes_per_s = int.from_bytes(fields[:4], order) or None
                block_bytes = int.from_bytes(fields[4:6], order)
            elif chunk_id == b"data":
                present = file_bytes - offset
                declared: int | None = size
                if head[:4] == b"RF64" and data64 is not None and size == UNKNOWN_SIZE:
                    declared = data64
                elif size == UNKNOWN_SIZE:
                    declared = None
                elif size == 0 and present > 0:
                    handle.seek(offset)
                    if not _is_chunk_header(handle.read(8), present, order):
                        declared = None
                return WavLayout(
                    offset, declared, present, bytes_per_s, block_bytes, offset - 4, big_endian
                )
    return WavLayout(None, None, 0, bytes_per_s, block_bytes, None, big_endian)


def verify_wav_length(path: Path | str) -> None:
    """Refuse a WAV that holds less than its header declares.

    The RIFF/RIFX/RF64 container (Microsoft's RIFF WAVE format; EBU Tech 3306 for RF64)
    declares the size of each chunk; a copy cut short, a writer killed or starved of disk
    space leaves fewer bytes than declared. Truncation is judged chunk by chunk — the ``data``
    chunk's declared size against the bytes present, then each chunk after it (tags) — not by
    the RIFF size alone: writers that store the whole file's size there (8 bytes too many)
    write whole files. A ``data`` size a streaming writer could not know (0xFFFFFFFF, or 0
    with audio after it: ``wav_layout``) runs to the end of the file and is never "short".
    Files that are not RIFF WAVE are left to libsndfile to judge.

    Raises:
        TruncatedWavError: naming the path, declared vs present audio (seconds and bytes).
    """
    path = Path(path)
    layout = wav_layout(path)
    if layout is None:
        return
    file_bytes = path.stat().st_size
    if layout.data_offset is None:
        with path.open("rb") as handle:
            head = handle.read(8)
        riff_bytes = int.from_bytes(head[4:8], "big" if layout.big_endian else "little") + 8
        if riff_bytes > file_bytes and riff_bytes - 8 != UNKNOWN_SIZE:  # cut before its data
            raise TruncatedWavError(
                path, f"{riff_bytes:,} bytes", f"{file_bytes:,} bytes and no audio data"
            )
        return
    if layout.declared_bytes is None:
        return
    if layout.declared_bytes > layout.present_bytes:

        def length(size: int) -> str:
            if not layout.bytes_per_s:
                return f"{size:,} bytes of audio"
            return f"{size / layout.bytes_per_s:.2f} s of audio ({size:,} bytes)"

        raise TruncatedWavError(path, length(layout.declared_bytes), length(layout.present_bytes))
    # The audio is whole; a chunk after it (tags) may still be cut.
    data_end = layout.data_offset + layout.declared_bytes
    offset = data_end + (layout.declared_bytes & 1)
    order = "big" if layout.big_endian else "little"
    with path.open("rb") as handle:
        while offset + 8 <= file_bytes:
            handle.seek(offset)
            header = handle.read(8)
            end = offset + 8 + int.from_bytes(header[4:8], order)
            if end > file_bytes:
                raise TruncatedWavError(path, f"{end:,} bytes", f"{file_bytes:,} bytes")
            offset = end + (end - offset & 1)


class _SizedData(io.RawIOBase):
    """A WAV file read through, with its ``data`` size field set to the bytes present: how a
    streamed file (``data`` size 0) is handed to libsndfile, which would read it as empty."""

    def __init__(self, path: Path, layout: WavLayout) -> None:
        self.name = str(path)
        self._file = path.open("rb")
        frames_bytes = layout.present_bytes
        if layout.block_bytes:
            frames_bytes -= frames_bytes % layout.block_bytes
        size = min(frames_bytes, UNKNOWN_SIZE - 1)
        order = "big" if layout.big_endian else "little"
        self._patch_at = layout.size_field_offset
        self._patch = size.to_bytes(4, order)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def readinto(self, buffer) -> int:
        start = self._file.tell()
        count = self._file.readinto(buffer)
        low, high = max(start, self._patch_at), min(start + count, self._patch_at + 4)
        if low < high:
            view = memoryview(buffer).cast("B")
            view[low - start : high - start] = self._patch[
                low - self._patch_at : high - self._patch_at
            ]
        return count

    def close(self) -> None:
        self._file.close()
        super().close()


def _open_for_reading(path: Path, **kwargs) -> soundfile.SoundFile:
    if not path.is_file():
        raise AudioFileError(f"{path} does not exist: materialize the upstream asset first")
    verify_wav_length(path)
    layout = wav_layout(path)
    source: object = str(path)
    if (
        layout is not None
        and layout.declared_bytes is None
        and layout.data_offset is not None
        and layout.size_field_offset is not None
    ):
        source = _SizedData(path, layout)  # libsndfile reads a 0 size as no audio at all
    try:
        return soundfile.SoundFile(source, "r", **kwargs)
    except (soundfile.LibsndfileError, RuntimeError, ValueError) as error:
        kind = "WAV" if layout is not None or path.suffix.lower() == ".wav" else "audio"
        raise AudioFileError(
            f"{path} is not a readable {kind} file ({error}): re-materialize it"
        ) from error


class _WavWriter(soundfile.SoundFile):
    """A SoundFile for writing whose failures name the file and, on a full disk, the size."""

    def __init__(self, path: str, mode: str, expected_frames: int | None, **kwargs) -> None:
        super().__init__(path, mode, **kwargs)
        self._frame_bytes = self.channels * SUBTYPE_BYTES.get(self.subtype, 4)
        self._expected_bytes = (
            None
            if expected_frames is None
            else WAV_HEADER_BYTES + expected_frames * self._frame_bytes
        )

    def write(self, data) -> None:
        try:
            super().write(data)
        except soundfile.LibsndfileError as error:
            raise self._write_failure(error, len(data)) from error

    def _write_failure(self, error: soundfile.LibsndfileError, frames: int) -> LofiError:
        detail = soundfile._ffi.string(soundfile._snd.sf_strerror(self._file)).decode(
            "utf-8", "replace"
        )
        pending = frames * self._frame_bytes
        written = os.path.getsize(self.name) if os.path.exists(self.name) else 0
        # libsndfile reports ENOSPC as SFE_SYSTEM ("System error.") and keeps errno's text
        # only in sf_strerror; a file system with less room than the block is full, whatever
        # the locale's wording.
        if error.code == _SFE_SYSTEM and (
            os.strerror(errno.ENOSPC) in detail
            or os.strerror(errno.EDQUOT) in detail
            or free_bytes(self.name) < pending
        ):
            if self._expected_bytes is not None:
                return DiskFullError(self.name, self._expected_bytes)
            return DiskFullError(self.name, written + pending, exact=False)
        return AudioFileError(f"could not write {self.name}: {detail}")


def wav_file(
    path: Path | str, mode: str = "r", expected_frames: int | None = None, **kwargs
) -> soundfile.SoundFile:
    """``soundfile.SoundFile(path, mode, **kwargs)``: the one opener of every WAV the product
    reads or writes.

    Reading (``mode="r"``), the file is first checked against its header
    (``verify_wav_length``). Writing, no PEAK chunk is written: libsndfile adds one to float
    WAVs stamped with the time of writing, so the same stem written twice would differ in its
    bytes — and in every SHA-256 the lineage records and the re-render tests compare
    (soundfile has no switch for it; the library's own command is sent before anything is
    written). With ``expected_frames``, free space is checked before the first byte.

    Raises:
        AudioFileError: a file to read is missing or not a WAV libsndfile can read.
        TruncatedWavError: a file to read holds less than its header declares.
        DiskFullError: no room for ``expected_frames``, or the disk filled up while writing.
    """
    if mode == "r":
        return _open_for_reading(Path(path), **kwargs)
    handle = _WavWriter(str(path), mode, expected_frames, **kwargs)
    if handle._expected_bytes is not None and "w" in mode:
        try:
            ensure_free_space(path, handle._expected_bytes)
        except DiskFullError:
            handle.close()
            raise
    soundfile._snd.sf_command(handle._file, _SFC_SET_ADD_PEAK_CHUNK, soundfile._ffi.NULL, 0)
    return handle


# Word lengths of the PCM subtypes the project writes; anything else (FLOAT, DOUBLE) is
# written as is.
PCM_BITS = {"PCM_16": 16, "PCM_24": 24}
WRITE_BLOCK_FRAMES = 1 << 18  # about 6 s: dither and conversion never copy a whole track
STEM_SUBTYPE = "FLOAT"  # stems peak above full scale: 32-bit float keeps them unclipped


def tpdf_quantize(audio: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    """float ``(channels, samples)`` in ±1 → the nearest ``bits``-bit PCM codes, after adding
    triangular (TPDF) dither of ±1 LSB, the standard for a word-length reduction: the
    rounding error becomes a constant, signal-independent noise floor (0.5 LSB RMS: -144 dBFS
    at 24 bits, -96 dBFS at 16) instead of distortion that follows the music.

    Returns int64 codes in [-2^(bits-1), 2^(bits-1) - 1] (full-scale peaks saturate).
    """
    scale = float(2 ** (bits - 1))
    noise = rng.random(audio.shape) - rng.random(audio.shape)
    codes = np.round(np.asarray(audio, dtype=np.float64) * scale + noise)
    return np.clip(codes, -scale, scale - 1).astype(np.int64)


def write_wav(
    path: Path | str,
    audio: np.ndarray,
    sample_rate_hz: int,
    subtype: str = "PCM_24",
    dither_seed: int = 0,
) -> Path:
    """Write float ``(channels, samples)`` audio atomically; 24-bit PCM unless told otherwise.

    PCM subtypes (``PCM_BITS``) are TPDF-dithered (``tpdf_quantize``) from generators seeded
    with ``dither_seed`` (one per block, see ``write_wav_blocks``), so the same audio always
    writes the same bytes; float subtypes
    (``STEM_SUBTYPE`` for stems) keep every sample as it is, above full scale included.
    Written in blocks, so no copy of the whole track is made.
    """
    blocks = (
        audio[:, start : start + WRITE_BLOCK_FRAMES]
        for start in range(0, audio.shape[1], WRITE_BLOCK_FRAMES)
    )
    return write_wav_blocks(
        path, blocks, sample_rate_hz, subtype, dither_seed, audio.shape[0], audio.shape[1]
    )


def write_wav_blocks(
    path: Path | str,
    blocks: Iterable[np.ndarray],
    sample_rate_hz: int,
    subtype: str = "PCM_24",
    dither_seed: int = 0,
    channels: int = 2,
    frames: int | None = None,
) -> Path:
    """``write_wav`` of a stream of float ``(channels, n)`` blocks (memory stays a few blocks).

    Each block's dither comes from its own generator (``dither_seed`` and the block's index),
    so blocks are quantized side by side on ``step_threads()`` threads and the same blocks
    always write the same bytes. ``frames``, the total length when known, lets a full disk be
    refused before the first byte, with the exact size in the message.

    Raises:
        DiskFullError: no room for the file (named with its final path, not the temporary).
    """
    target = Path(path)
    bits = PCM_BITS.get(subtype)

    def encoded(index: int, block: np.ndarray) -> np.ndarray:
        if bits is None:
            return interleaved(block)
        # libsndfile keeps the top 16 or 24 bits of an int16/int32 sample: exact codes.
        codes = tpdf_quantize(block, bits, np.random.default_rng([dither_seed, index]))
        if bits == 16:
            return interleaved(codes, np.int16)
        codes <<= 32 - bits
        return interleaved(codes, np.int32)

    with (
        atomic_path(target) as temporary,
        wav_file(
            temporary,
            "w",
            expected_frames=frames,
            samplerate=sample_rate_hz,
            channels=channels,
            subtype=subtype,
            format="WAV",
        ) as handle,
        ThreadPoolExecutor(max_workers=min(2, step_threads())) as pool,
    ):
        in_flight: deque[Future] = deque()
        for index, block in enumerate(blocks):
            in_flight.append(pool.submit(encoded, index, block))
            if len(in_flight) > 2:  # at most three blocks in memory
                handle.write(in_flight.popleft().result())
        while in_flight:
            handle.write(in_flight.popleft().result())
    return target


def read_wav(path: Path | str, expected_rate_hz: int | None = None) -> tuple[np.ndarray, int]:
    """Read a stereo WAV as float32 (2, samples).

    Raises:
        AudioFileError: missing, unreadable, empty, not stereo or not at ``expected_rate_hz``
            (the message says the fix).
        TruncatedWavError: the file holds less than its header declares.
    """
    path = Path(path)
    with wav_file(path) as handle:
        frames = handle.read(dtype="float32", always_2d=True)
        sample_rate_hz = handle.samplerate
    if frames.shape[0] == 0:
        raise AudioFileError(f"{path} has no samples: re-render it")
    if frames.shape[1] != 2:
        raise AudioFileError(
            f"{path} has {frames.shape[1]} channel(s); the chain needs stereo stems"
        )
    if expected_rate_hz is not None and sample_rate_hz != expected_rate_hz:
        raise AudioFileError(f"{path} is {sample_rate_hz} Hz; expected {expected_rate_hz} Hz")
    return np.ascontiguousarray(frames.T), sample_rate_hz


def write_faded_excerpt(
    source: Path | str,
    out: Path | str,
    start_s: float,
    seconds: float,
    fade_in_s: float = 0.5,
    fade_out_s: float = 2.0,
) -> Path:
    """Copy ``seconds`` of ``source`` from ``start_s`` (clamped to the file) with short fades.

    Only the excerpt is read, so a one-hour mix costs no more than a 30-second one.
    """
    with wav_file(source) as handle:
        rate = handle.samplerate
        length = min(round(seconds * rate), handle.frames)
        handle.seek(max(0, min(round(start_s * rate), handle.frames - length)))
        audio = np.ascontiguousarray(handle.read(length, dtype="float32", always_2d=True).T)
    fade_in = min(round(fade_in_s * rate), length // 2)
    fade_out = min(round(fade_out_s * rate), length // 2)
    audio[:, :fade_in] *= np.sin(np.linspace(0, np.pi / 2, fade_in, dtype=np.float32)) ** 2
    if fade_out:
        audio[:, -fade_out:] *= np.cos(np.linspace(0, np.pi / 2, fade_out, dtype=np.float32)) ** 2
    return write_wav(out, audio, rate)
