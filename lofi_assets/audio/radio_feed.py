"""The radio's audio: a playlist of masters as one endless, crossfaded PCM feed.

The feed is a cursor over the playlist — which track, which frame of it — that hands out
float32 ``(frames, 2)`` interleaved blocks on request. Each track overlaps the next by
``crossfade_s`` with the equal-power curve of ``release_mix.join_tracks`` (cos/sin, so the summed
power stays constant and there is no dip or gap at a change). Only two files are open at a time
and only one block is held, so memory does not grow with how long the radio plays; the cursor
lives in the Python process, not in the encoder, so an encoder that dies or reconnects resumes
from exactly the frame the feed had reached.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from lofi_assets.audio.wav import AudioFileError, wav_file
from lofi_assets.errors import ConfigError

DEFAULT_CROSSFADE_S = 4.0


class RadioPlaylistError(ConfigError):
    """A radio playlist that cannot be played: empty, mixed rates, or a track too short."""


@dataclass(frozen=True)
class RadioTrack:
    """One playlist entry: a stereo master and what the now-playing text shows."""

    path: Path
    title: str
    style: str = ""


@dataclass(frozen=True)
class FeedPosition:
    """Where the feed is: ``track_index`` into the playlist, ``frame_in_track`` of that master,
    ``frames_out`` since the feed began (all in frames at ``sample_rate_hz``)."""

    track_index: int
    frame_in_track: int
    frames_out: int
    now_playing_index: int  # the track the listener hears as the main one (next during a fade)
    playlist_generation: int = 0  # how many times the playlist was replaced


class RadioFeed:
    """An endless crossfaded feed over ``tracks`` (played in order, then from the top).

    The now-playing track changes at the start of each crossfade, as the release mix's
    chapters do. Raises ``RadioPlaylistError`` for an empty playlist, masters at different
    sample rates, a crossfade that is not positive, or a track not longer than two crossfades;
    ``AudioFileError`` for a master that is missing, unreadable or not stereo.
    """

    def __init__(self, tracks: Sequence[RadioTrack], crossfade_s: float = DEFAULT_CROSSFADE_S):
        if not tracks:
            raise RadioPlaylistError("The radio playlist is empty: give it at least one master")
        if not crossfade_s > 0:
            raise RadioPlaylistError(f"Crossfade must be positive seconds, got {crossfade_s}")
        self.tracks, self.lengths, self.sample_rate_hz = _measure(tracks, None)
        self.fade_frames = round(crossfade_s * self.sample_rate_hz)
        _refuse_short(self.tracks, self.lengths, self.fade_frames, self.sample_rate_hz)
        self._track = 0
        self._frame = 0
        self._frames_out = 0
        self._handles: dict[int, soundfile.SoundFile] = {}
        self._pending: tuple[tuple[RadioTrack, ...], tuple[int, ...]] | None = None
        self._drop_first = False  # the playlist was replaced: track 0 is the outgoing one
        self._generation = 0

    @property
    def position(self) -> FeedPosition:
        fade_start = self.lengths[self._track] - self.fade_frames
        now = self._next(self._track) if self._frame >= fade_start else self._track
        return FeedPosition(self._track, self._frame, self._frames_out, now, self._generation)

    def _next(self, index: int) -> int:
        return (index + 1) % len(self.tracks)

    def _read(self, index: int, start: int, frames: int) -> np.ndarray:
        handle = self._handles.get(index)
        if handle is None:
            handle = self._handles[index] = wav_file(self.tracks[index].path)
        handle.seek(start)
        block = handle.read(frames, dtype="float32", always_2d=True)
        if block.shape[0] < frames:  # a file that shrank under us: silence, never a short block
            block = np.concatenate([block, np.zeros((frames - block.shape[0], 2), np.float32)])
        return block

    def replace_playlist(self, tracks: Sequence[RadioTrack]) -> None:
        """Play ``tracks`` next: the current track crossfades into their first one at its
        next fade (no gap, no cut), and the old playlist does not come back. Raises as the
        constructor does; the masters must share the feed's sample rate."""
        new_tracks, lengths, _ = _measure(tracks, self.sample_rate_hz)
        _refuse_short(new_tracks, lengths, self.fade_frames, self.sample_rate_hz)
        self._pending = (new_tracks, lengths)

    def _swap_in_pending(self) -> None:
        """At a fade's first frame: the playlist becomes (current track, *new ones)."""
        new_tracks, lengths = self._pending
        self._pending = None
        self.tracks = (self.tracks[self._track], *new_tracks)
        self.lengths = (self.lengths[self._track], *lengths)
        self._track, self._drop_first = 0, True
        self._generation += 1
        self._keep_open()

    def _keep_open(self, *indices: int) -> None:
        for index in [i for i in self._handles if i not in indices]:
            self._handles.pop(index).close()

    def read(self, frames: int) -> np.ndarray:
        """The next ``frames`` frames as float32 ``(frames, 2)``; advances the cursor."""
        out = np.empty((frames, 2), dtype=np.float32)
        done = 0
        while done < frames:
            length = self.lengths[self._track]
            fade_start = length - self.fade_frames
            nxt = self._next(self._track)
            if self._frame == fade_start and self._pending is not None:
                self._swap_in_pending()
                length = self.lengths[self._track]
                nxt = self._next(self._track)
            if self._frame < fade_start:
                count = min(frames - done, fade_start - self._frame)
                out[done : done + count] = self._read(self._track, self._frame, count)
            else:
                count = min(frames - done, length - self._frame)
                into_fade = self._frame - fade_start
                theta = (math.pi / 2 / self.fade_frames) * (
                    into_fade + np.arange(count, dtype=np.float64)
                )
                outgoing = self._read(self._track, self._frame, count)
                incoming = self._read(nxt, into_fade, count)
                out[done : done + count] = (
                    outgoing * np.cos(theta)[:, None] + incoming * np.sin(theta)[:, None]
                ).astype(np.float32)
            done += count
            self._frame += count
            if self._frame >= length:  # the next track continues after its faded-in head
                self._track, self._frame = nxt, self.fade_frames
                if self._drop_first:  # the old playlist's last track is over
                    self.tracks, self.lengths = self.tracks[1:], self.lengths[1:]
                    self._track, self._drop_first = self._track - 1, False
                    self._keep_open()
                self._keep_open(self._track, self._next(self._track))
        self._frames_out += frames
        return out

    def skip(self, frames: int) -> None:
        """Advance the cursor by ``frames`` without reading (same steps as :meth:`read`)."""
        while frames > 0:
            length = self.lengths[self._track]
            step = min(frames, length - self._frame)
            self._frame += step
            self._frames_out += step
            frames -= step
            if self._frame >= length:
                self._track, self._frame = self._next(self._track), self.fade_frames

    def rewind_to(self, position: FeedPosition, frames_after: int = 0) -> None:
        """Put the cursor back at ``position`` (taken earlier with :attr:`position`), then
        ``frames_after`` further: where an encoder that died had really got to. A position
        from before a playlist change is not restored (its indices name the old playlist): the
        feed goes on from where it is, losing at most the encoder's buffer, under a second."""
        if position.playlist_generation != self._generation:
            return
        self._track, self._frame = position.track_index, position.frame_in_track
        self._frames_out = position.frames_out
        self.skip(max(0, frames_after))
        self._keep_open(self._track, self._next(self._track))

    def close(self) -> None:
        self._keep_open()


def _measure(
    tracks: Sequence[RadioTrack], sample_rate_hz: int | None
) -> tuple[tuple[RadioTrack, ...], tuple[int, ...], int]:
    """The tracks, their lengths in frames and their common sample rate (checked)."""
    if not tracks:
        raise RadioPlaylistError("The radio playlist is empty: give it at least one master")
    lengths, rates = [], set()
    for track in tracks:
        try:
            info = soundfile.info(str(track.path))
        except (RuntimeError, soundfile.LibsndfileError) as error:
            raise AudioFileError(f"Radio track {track.path} cannot be read: {error}") from None
        if info.channels != 2:
            raise AudioFileError(f"Radio track {track.path} must be stereo")
        lengths.append(info.frames)
        rates.add(info.samplerate)
    if sample_rate_hz is not None:
        rates.add(sample_rate_hz)
    if len(rates) != 1:
        raise RadioPlaylistError(
            f"Radio masters differ in sample rate ({sorted(rates)} Hz): re-master them at one"
        )
    return tuple(tracks), tuple(lengths), rates.pop()


def _refuse_short(
    tracks: Sequence[RadioTrack], lengths: Sequence[int], fade_frames: int, sample_rate_hz: int
) -> None:
    for track, frames in zip(tracks, lengths, strict=True):
        if frames <= 2 * fade_frames:
            raise RadioPlaylistError(
                f"Radio track {track.path} lasts {frames / sample_rate_hz:.1f} s: it must be "
                f"longer than two {fade_frames / sample_rate_hz} s crossfades"
            )


def find_masters(folder: Path, pattern: str = "**/master.wav") -> list[RadioTrack]:
    """The masters under ``folder`` (a data folder's ``mastered_wav``), oldest partition first,
    each titled by its partition (``2026-11-30 · slot 2``)."""
    tracks = []
    for path in sorted(Path(folder).glob(pattern)):
        parts = path.relative_to(folder).parts[:-1]
        title = " · slot ".join(parts) if len(parts) == 2 else path.stem
        tracks.append(RadioTrack(path=path, title=title))
    return tracks
