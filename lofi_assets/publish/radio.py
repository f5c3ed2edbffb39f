"""The 24/7 radio's streamer: one ffmpeg encoder fed by the crossfaded feed, kept alive.

One ffmpeg process encodes the whole stream: raw float32 PCM from :class:`RadioFeed` on its
stdin (paced to real time by us, a fraction of a second ahead), the artwork looped with a slow
sinusoidal pan (``crop`` with a ``sin(t)`` offset over a slightly enlarged picture), and a
now-playing / up-next overlay drawn by ``drawtext`` from a text file it re-reads every frame
(``reload=1``; ffmpeg's filter docs ask for that file to be updated atomically, so it is
replaced with ``os.replace``). Video is H.264 CBR with a keyframe every 2 s (``-g`` =
``-keyint_min`` = 2 × fps, ``-sc_threshold 0``: YouTube Live's ingest settings ask for a 2 s
keyframe frequency, https://support.google.com/youtube/answer/2853702), audio AAC-LC 160 kb/s,
muxed as FLV over RTMP(S).

It heals itself (:class:`RadioStreamer`): when ffmpeg exits — the ingest dropped the
connection, refused it, or the process was killed — a new encoder starts after
``retry_delay_s`` and the feed continues from the block the old one did not take, so no audio
is skipped; a stalled encoder (stdin not drained for ``stall_s``) is killed and restarted.
Every restart is counted and logged, the state is kept in a JSON status file, and when the
stream has been down longer than ``alert_after_s`` an alert goes to the log, the status file
and, optionally, a webhook. The stream key is never logged: every line ffmpeg prints and
every message passes :func:`radio_redact`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import select
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from PIL import Image

from lofi_assets.audio.radio_feed import RadioFeed, RadioTrack
from lofi_assets.errors import ConfigError, LofiError
from lofi_assets.redaction import mask_secret, redact
from lofi_assets.storage import write_bytes_atomic, write_json_atomic
from lofi_assets.visual.text import FONT_CHAIN
from lofi_assets.visual.video import tool

log = logging.getLogger(__name__)

RTMP_URL_ENV = "LOFI_RTMP_URL"
STALL_EXIT_WAIT_S = 1.0  # how long an encoder whose stdin closed may take to exit
STREAM_KEY_ENV = "LOFI_STREAM_KEY"
WEBHOOK_ENV = "LOFI_RADIO_WEBHOOK_URL"
KEYFRAME_INTERVAL_S = 2
BLOCK_S = 0.1  # audio handed to the encoder per write
LEAD_S = 0.5  # how far the feed runs ahead of real time (the encoder's input cushion)
PAN_PERIOD_S = (71.0, 97.0)  # horizontal and vertical sway periods: slow, never in step
ZOOM_MARGIN = 1.08  # the artwork is enlarged by this much so the pan never shows an edge
FALLBACK_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


class RadioConfigError(ConfigError):
    """A radio setting that cannot stream: no ingest URL, a bad size, rate or bitrate."""


class RadioStreamError(LofiError):
    """ffmpeg is missing or the encoder cannot be started at all."""


@dataclass(frozen=True)
class RadioSettings:
    """How the stream is encoded and where it goes.

    ``rtmp_url`` is the ingest (``rtmp://a.rtmp.youtube.com/live2``, or a full URL with the key
    when ``stream_key`` is empty); ``stream_key`` is appended as the last path segment.
    Sizes in pixels, rates in frames per second, bitrates in kilobits per second, times in
    seconds.
    """

    rtmp_url: str
    work_dir: Path
    artwork: Path | None = None
    stream_key: str = ""
    width_px: int = 1280
    height_px: int = 720
    fps: int = 30
    video_bitrate_kbps: int = 3000
    audio_bitrate_kbps: int = 160
    x264_preset: str = "veryfast"
    retry_delay_s: float = 1.0
    stall_s: float = 8.0
    alert_after_s: float = 60.0
    webhook_url: str = ""
    channel_name: str = "lofi radio"

    def __post_init__(self):
        if not self.rtmp_url.startswith(("rtmp://", "rtmps://")):
            raise RadioConfigError(
                f"The ingest URL must start with rtmp:// or rtmps://, got {redact(self.rtmp_url)!r}"
                f": set {RTMP_URL_ENV} or pass --rtmp-url"
            )
        if self.width_px % 2 or self.height_px % 2 or min(self.width_px, self.height_px) < 64:
            raise RadioConfigError(
                f"Video size {self.width_px}x{self.height_px} must be even and at least 64 px"
            )
        if not 1 <= self.fps <= 60:
            raise RadioConfigError(f"Frame rate {self.fps} must be 1–60 fps")
        if self.video_bitrate_kbps < 100 or self.audio_bitrate_kbps < 32:
            raise RadioConfigError("Bitrates must be at least 100 kb/s (video) and 32 (audio)")

    @property
    def ingest(self) -> str:
        """The full URL ffmpeg publishes to (holds the key: never log it)."""
        if not self.stream_key:
            return self.rtmp_url
        return f"{self.rtmp_url.rstrip('/')}/{self.stream_key}"

    @property
    def keyframe_interval_frames(self) -> int:
        return KEYFRAME_INTERVAL_S * self.fps


def radio_redact(text: str, settings: RadioSettings) -> str:
    """``redact`` plus the stream key (its variable's name says nothing of a secret)."""
    text = redact(text)
    for secret in (settings.stream_key, os.environ.get(STREAM_KEY_ENV, "")):
        text = mask_secret(text, secret)
    return text


def _filter_value(text: str) -> str:
    """A path quoted for an ffmpeg filter option (filtergraph escaping: ``\\``, ``'``, ``:``)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace(":", "\\:") + "'"


def overlay_font() -> Path:
    """The product's headline font (League Spartan), DejaVu Sans Bold where it is missing."""
    primary = FONT_CHAIN[0].path
    return primary if primary.is_file() else FALLBACK_FONT


def prepare_artwork(settings: RadioSettings) -> Path:
    """The artwork enlarged by ``ZOOM_MARGIN`` to the stream's shape (once, not per frame), or
    a dusk gradient when there is none. Written atomically to the work folder."""
    width = round(settings.width_px * ZOOM_MARGIN / 2) * 2
    height = round(settings.height_px * ZOOM_MARGIN / 2) * 2
    if settings.artwork is not None:
        try:
            with Image.open(settings.artwork) as source:
                picture = source.convert("RGB")
        except (OSError, ValueError) as error:
            raise RadioConfigError(f"Artwork {settings.artwork} cannot be read: {error}") from None
        scale = max(width / picture.width, height / picture.height)
        picture = picture.resize(
            (max(width, round(picture.width * scale)), max(height, round(picture.height * scale))),
            Image.Resampling.LANCZOS,
        )
        left, top = (picture.width - width) // 2, (picture.height - height) // 2
        picture = picture.crop((left, top, left + width, top + height))
    else:
        top_colour, bottom_colour = (38, 30, 64), (214, 132, 98)
        picture = Image.linear_gradient("L").resize((width, height))
        picture = Image.composite(
            Image.new("RGB", (width, height), bottom_colour),
            Image.new("RGB", (width, height), top_colour),
            picture,
        )
    out = Path(settings.work_dir) / "artwork.png"
    with out.with_suffix(".tmp.png").open("wb") as handle:
        picture.save(handle, format="PNG")
    os.replace(out.with_suffix(".tmp.png"), out)
    return out


def encoder_command(
    settings: RadioSettings, artwork: Path, overlay_text: Path, sample_rate_hz: int
) -> list[str]:
    """The ffmpeg command line: PCM on stdin + looped artwork → H.264/AAC FLV to the ingest."""
    width, height, fps = settings.width_px, settings.height_px, settings.fps
    font_px = max(10, height // 24)
    pan_x, pan_y = PAN_PERIOD_S
    video_filter = (
        # The picture is decoded once and repeated by the loop filter (image2's -loop 1 would
        # decode the file again for every frame), and converted to yuv420p before the per-frame
        # crop and overlay: measured at 720p30, 25 % of a core instead of 42 %.
        f"[0:v]loop=loop=-1:size=1:start=0,format=yuv420p,crop={width}:{height}"
        f":x='(iw-ow)/2*(1+sin(2*PI*t/{pan_x}))':y='(ih-oh)/2*(1+sin(2*PI*t/{pan_y}))',"
        f"drawtext=fontfile={_filter_value(str(overlay_font()))}"
        f":textfile={_filter_value(str(overlay_text))}:reload=1:expansion=none"
        f":fontsize={font_px}:fontcolor=white:line_spacing={font_px // 3}"
        f":borderw={max(1, font_px // 12)}:bordercolor=black@0.6"
        f":x={width // 28}:y=h-th-{height // 14}[v]"
    )
    bitrate = f"{settings.video_bitrate_kbps}k"
    return [
        tool("ffmpeg"), "-hide_banner", "-nostdin", "-loglevel", "warning",
        "-framerate", str(fps), "-i", str(artwork),
        "-thread_queue_size", "1024",
        "-f", "f32le", "-ar", str(sample_rate_hz), "-ac", "2", "-i", "pipe:0",
        "-filter_complex", video_filter, "-map", "[v]", "-map", "1:a",
        "-c:v", "libx264", "-preset", settings.x264_preset, "-tune", "zerolatency",
        "-profile:v", "high", "-pix_fmt", "yuv420p", "-r", str(fps),
        "-g", str(settings.keyframe_interval_frames),
        "-keyint_min", str(settings.keyframe_interval_frames), "-sc_threshold", "0",
        "-b:v", bitrate, "-minrate", bitrate, "-maxrate", bitrate,
        "-bufsize", f"{2 * settings.video_bitrate_kbps}k", "-x264-params", "nal-hrd=cbr",
        "-c:a", "aac", "-profile:a", "aac_low", "-b:a", f"{settings.audio_bitrate_kbps}k",
        "-ar", "44100", "-ac", "2",
        "-progress", "pipe:1", "-stats_period", "0.5",
        "-rw_timeout", str(int(settings.stall_s * 1e6)),
        "-f", "flv", "-flvflags", "no_duration_filesize", settings.ingest,
    ]  # fmt: skip


@dataclass
class RadioStatus:
    """What ``status.json`` holds (times are UNIX seconds; durations seconds)."""

    state: str = "starting"  # "up" (the encoder is publishing), "down", "stopped"
    encoder_starts: int = 0
    restarts: int = 0  # every encoder start after the first
    reconnects: int = 0  # restarts after ffmpeg exited with an error (ingest gone, refused)
    encoder_deaths: int = 0  # restarts after the encoder was killed by a signal
    stalls: int = 0  # encoders killed because they stopped taking audio
    encoder_pid: int | None = None
    up_since: float | None = None
    down_since: float | None = None
    uptime_s: float = 0.0
    downtime_s: float = 0.0
    alerts: int = 0
    alert: str = ""
    broadcast_id: str = ""  # the YouTube Live broadcast the watchdog keeps bound
    broadcast_status: str = ""
    now_playing: str = ""
    up_next: str = ""
    track_index: int = 0
    feed_s: float = 0.0
    last_exit: str = ""
    updated_at: float = field(default_factory=time.time)


class _Encoder:
    """One ffmpeg process: its stdin (non-blocking), and threads reading its progress/stderr."""

    def __init__(self, argv: list[str], log_path: Path, settings: RadioSettings):
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        os.set_blocking(self.process.stdin.fileno(), False)
        self.publishing = threading.Event()  # set at ffmpeg's first progress report
        self.out_time_s = 0.0  # how much of its input ffmpeg has encoded and sent (progress)
        self.progressed_at = time.monotonic()  # when out_time last moved
        self.last_lines: deque[str] = deque(maxlen=8)
        self._settings = settings
        self._log_path = log_path
        self._threads = [
            threading.Thread(target=self._read_progress, daemon=True),
            threading.Thread(target=self._read_errors, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read_progress(self) -> None:
        for line in self.process.stdout:
            if line.startswith(b"out_time_us=") and line[12:].strip().isdigit():
                out_time_s = int(line[12:]) / 1e6
                if out_time_s > self.out_time_s:
                    self.out_time_s, self.progressed_at = out_time_s, time.monotonic()
            elif line.startswith(b"progress="):
                self.publishing.set()

    def _read_errors(self) -> None:
        with self._log_path.open("a", encoding="utf-8") as out:
            for raw in self.process.stderr:
                line = radio_redact(raw.decode("utf-8", "replace").rstrip(), self._settings)
                self.last_lines.append(line)
                out.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {line}\n")
                out.flush()

    def write(self, payload: bytes, deadline: float) -> bool:
        """Hand ``payload`` to ffmpeg; False when it exited or did not drain it by ``deadline``."""
        fd, view = self.process.stdin.fileno(), memoryview(payload)
        while view:
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.process.poll() is not None:
                    return False
                select.select([], [fd], [], min(remaining, 0.2))
            except (BrokenPipeError, ConnectionResetError, OSError):
                return False
        return True

    def stop(self, kill: bool = False) -> int:
        if self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                with contextlib.suppress(OSError):
                    self.process.stdin.close()
                # The looped picture never ends: SIGINT is ffmpeg's own "finish and close the
                # output" (it writes the FLV trailer and closes the RTMP session cleanly).
                self.process.send_signal(signal.SIGINT)
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
        code = self.process.wait()
        for thread in self._threads:
            thread.join(timeout=2)
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            with contextlib.suppress(OSError):
                pipe.close()
        return code


class RadioStreamer:
    """Streams ``feed`` with ``settings`` until ``duration_s`` of wall time or ``stop()``.

    Files in ``settings.work_dir``: ``now_playing.txt`` (the overlay source), ``status.json``
    (:class:`RadioStatus`), ``events.jsonl`` (one JSON line per overlay change, encoder start
    and exit, and alert, each with the feed position), ``encoder.log`` (ffmpeg's messages,
    redacted).
    """

    def __init__(
        self,
        feed: RadioFeed,
        settings: RadioSettings,
        playlist_for: Callable[[dt.date], Sequence[RadioTrack]] | None = None,
        today: Callable[[], dt.date] = dt.date.today,
        watchdog_tick: Callable[[], object] | None = None,
        watchdog_every_s: float = 60.0,
    ):
        """``playlist_for(day)``, when given, is asked for the new day's tracks each time
        ``today()`` changes (midnight in the channel's timezone): the feed crossfades into them
        at the next track change (an empty answer keeps the current playlist).
        ``watchdog_tick`` (``LiveWatchdog.tick``), when given, runs every ``watchdog_every_s``
        in a thread of its own; its broadcast id lands in the status file, its failures in
        the log (the stream goes on)."""
        self.feed = feed
        self.playlist_for, self.today = playlist_for, today
        self.watchdog_tick, self.watchdog_every_s = watchdog_tick, watchdog_every_s
        self._day = today()
        self.settings = settings
        self.work_dir = Path(settings.work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.overlay_path = self.work_dir / "now_playing.txt"
        self.status_path = self.work_dir / "status.json"
        self.events_path = self.work_dir / "events.jsonl"
        self.status = RadioStatus()
        self._stop = threading.Event()
        self._finished = threading.Event()  # run() is over: the watchdog thread ends
        self._shown: RadioTrack | None = None
        self.encoder: _Encoder | None = None

    def stop(self) -> None:
        self._stop.set()

    def _event(self, kind: str, **fields) -> None:
        position = self.feed.position
        line = {
            "event": kind,
            "time": round(time.time(), 3),
            "feed_s": round(position.frames_out / self.feed.sample_rate_hz, 3),
            "track_index": position.track_index,
            "frame_in_track": position.frame_in_track,
            **fields,
        }
        with self.events_path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")

    def _write_status(self) -> None:
        now = time.time()
        self.status.updated_at = round(now, 3)
        self.status.feed_s = round(self.feed.position.frames_out / self.feed.sample_rate_hz, 3)
        write_json_atomic(self.status_path, asdict(self.status))

    def _show_now_playing(self) -> None:
        index = self.feed.position.now_playing_index
        tracks = self.feed.tracks
        now, nxt = tracks[index], tracks[(index + 1) % len(tracks)]
        if now == self._shown:
            return
        text = f"Now playing: {now.title}\nUp next: {nxt.title}"
        write_bytes_atomic(self.overlay_path, text.encode("utf-8"))
        self._shown = now
        self.status.now_playing, self.status.up_next = now.title, nxt.title
        self.status.track_index = index
        self._event("now_playing", now_playing_index=index, title=now.title, up_next=nxt.title)
        log.info("radio: now playing %s (up next %s)", now.title, nxt.title)

    def _roll_to_new_day(self) -> None:
        day = self.today()
        if self.playlist_for is None or day == self._day:
            return
        self._day = day
        tracks = list(self.playlist_for(day))
        if not tracks:
            log.warning("radio: no playlist for %s: the current one goes on", day)
            return
        self.feed.replace_playlist(tracks)
        self._event("new_day", day=day.isoformat(), tracks=len(tracks))
        log.info("radio: %s: %d tracks queued after the current one", day, len(tracks))

    def _watch_broadcast(self) -> None:
        while not self._finished.wait(
            0 if not self.status.broadcast_status else self.watchdog_every_s
        ):
            try:
                result = self.watchdog_tick()
            except LofiError as error:  # quota, credentials: logged, the stream goes on
                self.status.broadcast_status = "unknown"
                log.error("radio: watchdog: %s", radio_redact(str(error), self.settings))
                continue
            self.status.broadcast_id = result.broadcast_id
            self.status.broadcast_status = result.life_cycle_status
            if result.created:
                self._event("broadcast", broadcast_id=result.broadcast_id, reason=result.reason)
                log.warning("radio: new broadcast %s (%s)", result.broadcast_id, result.reason)
            if result.stream_unhealthy:
                log.warning("radio: YouTube reports the stream %s", result.stream_health)

    def _went_down(self, now: float) -> None:
        if self.status.state == "up" and self.status.up_since is not None:
            self.status.uptime_s += now - self.status.up_since
        if self.status.state != "down":
            self.status.down_since = now
            self.status.up_since = None
        self.status.state = "down"

    def _check_alert(self, now: float) -> None:
        since = self.status.down_since
        if self.status.state != "down" or since is None or self.status.alert:
            return
        if now - since <= self.settings.alert_after_s:
            return
        message = (
            f"radio stream down for {now - since:.0f} s (over {self.settings.alert_after_s:.0f} s)"
            f"; last encoder exit: {self.status.last_exit[:120] or 'none'}"
        )
        self.status.alert, self.status.alerts = message, self.status.alerts + 1
        log.error("radio: ALERT %s", message)
        self._event("alert", message=message)
        self._write_status()
        if self.settings.webhook_url:
            self._post_webhook(message)

    def _post_webhook(self, message: str) -> None:
        body = json.dumps({"text": message, "channel": self.settings.channel_name}).encode()
        request = urllib.request.Request(
            self.settings.webhook_url, body, {"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                response.read()
        except (urllib.error.URLError, OSError) as error:  # an alert must not stop the stream
            log.warning("radio: alert webhook failed: %s", radio_redact(str(error), self.settings))

    def _wait(self, seconds: float, end: float) -> None:
        limit = time.monotonic() + seconds
        while not self._stop.is_set() and time.monotonic() < min(limit, end):
            self._roll_to_new_day()
            self._check_alert(time.time())
            time.sleep(0.05)

    def run(self, duration_s: float | None = None) -> RadioStatus:
        """Stream until ``duration_s`` seconds have passed (None: until ``stop()``/SIGTERM)."""
        artwork = prepare_artwork(self.settings)
        argv = encoder_command(self.settings, artwork, self.overlay_path, self.feed.sample_rate_hz)
        end = time.monotonic() + duration_s if duration_s is not None else float("inf")
        block_frames = round(BLOCK_S * self.feed.sample_rate_hz)
        self._show_now_playing()
        self._finished.clear()
        watcher = None
        if self.watchdog_tick is not None:
            watcher = threading.Thread(target=self._watch_broadcast, daemon=True)
            watcher.start()
        self.status.down_since = time.time()
        self.status.state = "down"
        self._write_status()
        while not self._stop.is_set() and time.monotonic() < end:
            self._run_encoder(argv, block_frames, end)
            if self._stop.is_set() or time.monotonic() >= end:
                break
            self._wait(self.settings.retry_delay_s, end)
        now = time.time()
        if self.status.state == "up" and self.status.up_since is not None:
            self.status.uptime_s += now - self.status.up_since
        if self.status.down_since is not None and self.status.state == "down":
            self.status.downtime_s += now - self.status.down_since
        self._finished.set()
        if watcher is not None:
            watcher.join(timeout=30)  # a tick in flight finishes (its ledger write included)
        self.status.state, self.status.encoder_pid = "stopped", None
        self._write_status()
        self.feed.close()
        return self.status

    def _run_encoder(self, argv: list[str], block_frames: int, end: float) -> None:
        """One encoder's life, from its start to its exit; the feed is left where the audio
        it really sent ends."""
        status = self.status
        if status.encoder_starts:
            status.restarts += 1
        status.encoder_starts += 1
        try:
            encoder = _Encoder(argv, self.work_dir / "encoder.log", self.settings)
        except OSError as error:
            raise RadioStreamError(f"ffmpeg could not be started: {error}") from None
        self.encoder = encoder
        status.encoder_pid = encoder.process.pid
        self._event("encoder_start", pid=encoder.process.pid, restarts=status.restarts)
        log.info(
            "radio: encoder %d started (pid %d, restarts %d) at feed %.1f s",
            status.encoder_starts,
            encoder.process.pid,
            status.restarts,
            self.feed.position.frames_out / self.feed.sample_rate_hz,
        )
        self._write_status()
        start_position = self.feed.position
        clock_start, sent_s, last_status = time.monotonic(), 0.0, 0.0
        stalled = False
        while not self._stop.is_set() and time.monotonic() < end:
            now = time.monotonic()
            if encoder.publishing.is_set() and status.state != "up":
                wall = time.time()
                if status.down_since is not None:
                    status.downtime_s += wall - status.down_since
                status.state, status.up_since, status.down_since = "up", wall, None
                if status.alert:
                    log.warning("radio: stream back up after alert: %s", status.alert)
                status.alert = ""
                self._event("up", pid=encoder.process.pid)
                self._write_status()
            if now - last_status >= 1.0:
                last_status = now
                self._roll_to_new_day()
                self._check_alert(time.time())
                self._write_status()
            # Taking audio but sending nothing (an ingest that accepted the connection and
            # went silent): restarted like a dead one. The first report may take a handshake.
            grace_s = self.settings.stall_s * (1 if encoder.publishing.is_set() else 2)
            if now - encoder.progressed_at > grace_s:
                stalled = True
                break
            ahead_s = sent_s - (now - clock_start)
            if ahead_s > LEAD_S:
                time.sleep(min(ahead_s - LEAD_S, 0.05))
                continue
            payload = self.feed.read(block_frames).tobytes()
            # The same grace for a blocked write: before the handshake ends ffmpeg reads no
            # audio, and its own -rw_timeout (stall_s) must end a silent ingest first — that
            # is a reconnect, not a stall (a race under load when both waited stall_s).
            if not encoder.write(payload, now + grace_s):
                if time.monotonic() < now + grace_s:
                    # The pipe closed before the deadline: an ffmpeg on its way out (its own
                    # timeout). Let it finish exiting, or its exit reads as a stall.
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        encoder.process.wait(timeout=STALL_EXIT_WAIT_S)
                stalled = encoder.process.poll() is None
                break
            sent_s += block_frames / self.feed.sample_rate_hz
            if encoder.publishing.is_set():  # not while ffmpeg probes audio it may hand back
                self._show_now_playing()
        finishing = self._stop.is_set() or time.monotonic() >= end
        code = encoder.stop(kill=stalled)
        self.encoder = None
        # ffmpeg reads audio before it connects and holds some in its buffers: what it took but
        # did not send is played again by the next encoder, so the listener misses nothing.
        sent_frames = round(encoder.out_time_s * self.feed.sample_rate_hz)
        self.feed.rewind_to(start_position, sent_frames)
        self._event("resume_point", streamed_s=round(encoder.out_time_s, 3))
        if finishing and not stalled:
            self._event("encoder_exit", pid=encoder.process.pid, code=code, cause="finished")
            return
        if stalled:
            cause = "stalled"
            status.stalls += 1
        elif code < 0:
            cause = f"killed by {signal.Signals(-code).name}"
            status.encoder_deaths += 1
        else:
            cause = f"exit {code}"
            status.reconnects += 1
        detail = " | ".join(encoder.last_lines)[-300:]
        status.last_exit = f"{cause}: {detail}" if detail else cause
        self._event("encoder_exit", pid=encoder.process.pid, code=code, cause=cause)
        log.warning(
            "radio: encoder pid %d ended (%s); restarting in %.1f s — restarts so far %d",
            encoder.process.pid,
            radio_redact(status.last_exit, self.settings),
            self.settings.retry_delay_s,
            status.restarts,
        )
        self._went_down(time.time())
        status.encoder_pid = None
        self._write_status()
