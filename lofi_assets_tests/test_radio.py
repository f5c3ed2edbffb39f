"""The 24/7 radio against a real RTMP ingest: Debian's nginx with its RTMP module, started by
the test on a free 127.0.0.1 port, recording every publish to its own FLV (``record_unique``).

Tracks are pure tones (220, 330, 440, 550 Hz), so the recordings themselves say which track
was playing when the stream dropped and when it came back.
"""

from __future__ import annotations

import datetime as dt
import http.server
import itertools
import json
import logging
import math
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from lofi_assets.audio.radio_feed import RadioFeed, RadioPlaylistError, RadioTrack
from lofi_assets.audio.radio_queue import QueueEntry, RadioQueue, day_playlist, queue_path
from lofi_assets.audio.wav import AudioFileError
from lofi_assets.cli import main
from lofi_assets.publish.radio import (
    BLOCK_S,
    KEYFRAME_INTERVAL_S,
    RTMP_URL_ENV,
    STREAM_KEY_ENV,
    RadioConfigError,
    RadioSettings,
    RadioStreamer,
    radio_redact,
)
from lofi_assets.storage import write_json_atomic
from lofi_assets_tests.conftest import die_with_parent

NGINX = Path("/usr/sbin/nginx")
RTMP_MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")
TONES_HZ = (220.0, 330.0, 440.0, 550.0)
RATE_HZ = 44_100
TRACK_S, CROSSFADE_S = 10.0, 2.0  # a change every 8 s: the drop at ~20 s falls mid-track
STREAM_KEY = "test-key-s3cr3t-4242"
needs_nginx = pytest.mark.skipif(
    not (NGINX.is_file() and RTMP_MODULE.is_file()),
    reason="nginx-light and libnginx-mod-rtmp are not installed (scripts/dev.sh installs them)",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RtmpServer:
    """nginx in the foreground (no master process) with a temp config; restartable."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.recordings = folder / "recordings"
        self.recordings.mkdir(parents=True)
        self.config = folder / "nginx.conf"
        self.config.write_text(
            f"daemon off;\nmaster_process off;\npid {folder}/nginx.pid;\nerror_log stderr warn;\n"
            f"load_module {RTMP_MODULE};\nevents {{ worker_connections 64; }}\n"
            f"rtmp {{ server {{ listen 127.0.0.1:{self.port};\n"
            f"  application live {{ live on; record all; record_path {self.recordings};"
            " record_unique on; } } }\n"
        )
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"rtmp://127.0.0.1:{self.port}/live"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(NGINX), "-p", str(self.folder), "-c", str(self.config), "-e", "stderr"],
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("nginx did not listen within 10 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def recorded(self) -> list[Path]:
        """The FLVs, in the order the publishes began (nginx names them key-<unix time>)."""
        return sorted(self.recordings.glob("*.flv"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))


@pytest.fixture
def rtmp_server(tmp_path: Path):
    server = RtmpServer(tmp_path / "nginx")
    server.start()
    yield server
    server.stop()


def write_tone(path: Path, frequency_hz: float, seconds: float, rate_hz: int = RATE_HZ) -> Path:
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    tone = (0.3 * np.sin(2 * math.pi * frequency_hz * t)).astype(np.float32)
    soundfile.write(path, np.stack([tone, tone], axis=1), rate_hz, subtype="FLOAT")
    return path


def tone_playlist(folder: Path) -> list[RadioTrack]:
    folder.mkdir(parents=True, exist_ok=True)
    return [
        RadioTrack(write_tone(folder / f"tone{i}.wav", hz, TRACK_S), f"Tone {hz:.0f} Hz", "test")
        for i, hz in enumerate(TONES_HZ)
    ]


def settings_for(server: RtmpServer, work_dir: Path, **overrides) -> RadioSettings:
    options = dict(
        rtmp_url=server.url,
        stream_key=STREAM_KEY,
        work_dir=work_dir,
        width_px=320,
        height_px=180,
        fps=15,
        video_bitrate_kbps=300,
        x264_preset="ultrafast",
        retry_delay_s=1.0,
    )
    options.update(overrides)
    return RadioSettings(**options)


def events(work_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (work_dir / "events.jsonl").read_text().splitlines()]


def keyframe_times_s(path: Path) -> list[float]:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-skip_frame", "nokey",
         "-show_entries", "frame=pts_time", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [float(line.strip(",")) for line in result.stdout.split() if line.strip(",")]


def recorded_audio(path: Path, rate_hz: int = 8000) -> np.ndarray:
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-vn", "-ac", "1", "-ar", str(rate_hz),
         "-f", "f32le", "-"],
        capture_output=True, check=True,
    )  # fmt: skip
    return np.frombuffer(result.stdout, dtype=np.float32)


def tone_of(samples: np.ndarray, rate_hz: int = 8000) -> float:
    """The strongest frequency (Hz) of a mono excerpt."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate_hz)[np.argmax(spectrum)])


def nearest_tone(frequency_hz: float) -> float:
    return min(TONES_HZ, key=lambda tone: abs(tone - frequency_hz))


def run_in_thread(streamer: RadioStreamer, duration_s: float) -> threading.Thread:
    thread = threading.Thread(target=streamer.run, kwargs={"duration_s": duration_s})
    thread.start()
    return thread


def wait_for(predicate, timeout_s: float) -> float | None:
    """Poll ``predicate`` every 50 ms; the monotonic time it first held, None on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(0.05)
    return None


class Webhook(http.server.BaseHTTPRequestHandler):
    bodies: list[dict] = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        Webhook.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


# --- the feed ------------------------------------------------------------------------------


def constant_track(path: Path, value: float, seconds: float, rate_hz: int = 1000) -> RadioTrack:
    frames = int(seconds * rate_hz)
    soundfile.write(path, np.full((frames, 2), value, np.float32), rate_hz, subtype="FLOAT")
    return RadioTrack(path, path.stem)


def test_feed_crossfades_with_equal_power_and_loops_without_a_gap(tmp_path: Path):
    first = constant_track(tmp_path / "a.wav", 0.5, 3.0)
    second = constant_track(tmp_path / "b.wav", -0.25, 3.0)
    feed = RadioFeed([first, second], crossfade_s=1.0)  # 1000 Hz: 3000 frames, 1000 of fade
    audio = feed.read(6000)[:, 0]
    theta = (math.pi / 2 / 1000) * np.arange(1000)
    expected = np.concatenate([
        np.full(2000, 0.5),
        0.5 * np.cos(theta) - 0.25 * np.sin(theta),  # a → b
        np.full(1000, -0.25),
        -0.25 * np.cos(theta) + 0.5 * np.sin(theta),  # b → a again: the playlist loops
        np.full(1000, 0.5),
    ])  # fmt: skip
    np.testing.assert_allclose(audio, expected, atol=1e-6)
    assert feed.position.frames_out == 6000
    assert feed.position.track_index == 0 and feed.position.frame_in_track == 2000


def test_feed_resumes_at_the_exact_frame_after_a_rewind(tmp_path: Path):
    tracks = tone_playlist(tmp_path)
    feed = RadioFeed(tracks, crossfade_s=CROSSFADE_S)
    feed.read(RATE_HZ * 5)
    mark = feed.position
    reference = feed.read(RATE_HZ * 10)  # across the 8 s boundary and into the fade
    feed.read(RATE_HZ * 3)  # an encoder took this and died before sending it
    feed.rewind_to(mark, RATE_HZ * 4)
    np.testing.assert_array_equal(feed.read(RATE_HZ * 6), reference[RATE_HZ * 4 :])
    assert feed.position.now_playing_index == 1  # 15 s, 8 s per track: the second one


def test_feed_refuses_a_playlist_it_cannot_play(tmp_path: Path):
    with pytest.raises(RadioPlaylistError, match="empty"):
        RadioFeed([])
    short = constant_track(tmp_path / "short.wav", 0.1, 3.0)
    with pytest.raises(RadioPlaylistError, match=r"longer than two 2\.0 s crossfades"):
        RadioFeed([short], crossfade_s=2.0)
    other_rate = constant_track(tmp_path / "rate.wav", 0.1, 9.0, rate_hz=2000)
    with pytest.raises(RadioPlaylistError, match="differ in sample rate"):
        RadioFeed([constant_track(tmp_path / "ok.wav", 0.1, 9.0), other_rate])
    mono = tmp_path / "mono.wav"
    soundfile.write(mono, np.zeros(9000, np.float32), 1000)
    with pytest.raises(AudioFileError, match="must be stereo"):
        RadioFeed([RadioTrack(mono, "mono")])
    with pytest.raises(AudioFileError, match="cannot be read"):
        RadioFeed([RadioTrack(tmp_path / "missing.wav", "missing")])


def test_settings_refuse_a_bad_ingest_or_size_without_showing_the_key(tmp_path: Path):
    with pytest.raises(RadioConfigError, match=RTMP_URL_ENV) as refused:
        RadioSettings(rtmp_url="http://a.example/live", work_dir=tmp_path, stream_key=STREAM_KEY)
    assert STREAM_KEY not in str(refused.value)
    with pytest.raises(RadioConfigError, match="even"):
        RadioSettings(rtmp_url="rtmp://127.0.0.1/live", work_dir=tmp_path, width_px=321)
    with pytest.raises(RadioConfigError, match="1–60 fps"):
        RadioSettings(rtmp_url="rtmp://127.0.0.1/live", work_dir=tmp_path, fps=0)


def test_a_short_stream_key_is_masked_as_a_token_not_inside_words(tmp_path: Path, monkeypatch):
    """A stream key shorter than any secret worth masking blindly ("k") still hides the URL's
    last segment and a token of its own, and leaves the words around it alone."""
    monkeypatch.setenv(STREAM_KEY_ENV, "k")
    settings = RadioSettings(rtmp_url="rtmp://127.0.0.1/live", work_dir=tmp_path, stream_key="k")
    line = f"handshake with {settings.ingest} failed: key k refused (kbps k-1)"
    assert radio_redact(line, settings) == (
        "handshake with rtmp://127.0.0.1/live/*** failed: key *** refused (kbps k-1)"
    )
    long_key = RadioSettings(rtmp_url="rtmp://h/live", work_dir=tmp_path, stream_key=STREAM_KEY)
    assert STREAM_KEY not in radio_redact(f"x{STREAM_KEY}y {long_key.ingest}", long_key)


def test_cli_radio_refuses_a_missing_ingest_or_catalog_in_one_line(
    tmp_path: Path, monkeypatch, capsys
):
    monkeypatch.delenv(RTMP_URL_ENV, raising=False)
    monkeypatch.setenv("LOFI_DATA_DIR", str(tmp_path))
    track = write_tone(tmp_path / "t.wav", 220, 9.0)
    assert main(["radio", "--track", str(track), "--duration", "1"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("lofi: error:") and RTMP_URL_ENV in error[0]
    assert main(["radio", "--rtmp-url", "rtmp://127.0.0.1:9/live"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error == [
        f"lofi: error: No masters under {tmp_path / 'mastered_wav'}: run `lofi release` first "
        "or pass --track"
    ]
    assert main(["radio", "--track", str(track), "--rtmp-url", "rtmp://h/l", "--size", "big"]) == 2
    assert "WIDTHxHEIGHT" in capsys.readouterr().err


# --- against the real ingest ---------------------------------------------------------------


@needs_nginx
def test_radio_survives_an_ingest_restart_without_skipping_audio(
    rtmp_server: RtmpServer, tmp_path: Path, caplog
):
    """Stream 38 s; the server goes away at 20 s and comes back at 25 s."""
    caplog.set_level(logging.INFO)
    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    Webhook.bodies = []
    work = tmp_path / "radio"
    settings = settings_for(
        rtmp_server,
        work,
        alert_after_s=3.0,
        webhook_url=f"http://127.0.0.1:{hook.server_address[1]}/alert",
    )
    streamer = RadioStreamer(RadioFeed(tone_playlist(tmp_path / "tones"), CROSSFADE_S), settings)
    began = time.monotonic()
    thread = run_in_thread(streamer, duration_s=38)
    try:
        time.sleep(max(0.0, began + 20 - time.monotonic()))
        rtmp_server.stop()
        time.sleep(max(0.0, began + 25 - time.monotonic()))
        rtmp_server.start()
        returned_at = time.time()
    finally:
        thread.join(timeout=60)
        hook.shutdown()
    ended_at = time.time()
    status = streamer.status

    # The recordings: one before the drop, and the stream back within 10 s of the server.
    first, *later = rtmp_server.recorded()
    assert later, "no publish after the server came back"
    resumed = later[0]
    assert int(resumed.stem.rsplit("-", 1)[1]) - returned_at <= 10
    probe = ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"]
    result = subprocess.run([*probe, str(resumed)], capture_output=True, text=True, check=True)
    resumed_duration_s = float(result.stdout)
    assert resumed_duration_s >= ended_at - returned_at - 10
    up_after_return = [e for e in events(work) if e["event"] == "up" and e["time"] >= returned_at]
    assert up_after_return and up_after_return[0]["time"] - returned_at <= 10

    # A keyframe every 2 s in both publishes.
    for recording in (first, resumed):
        keyframes = keyframe_times_s(recording)
        assert len(keyframes) >= 4
        assert np.allclose(np.diff(keyframes), KEYFRAME_INTERVAL_S, atol=0.07), keyframes

    # The audio continues where it was: the tone that ended the first publish opens the next,
    # and the next encoder started from the frame the first one had really sent.
    before, after = recorded_audio(first), recorded_audio(resumed)
    last_tone = nearest_tone(tone_of(before[-4000:-400]))
    assert nearest_tone(tone_of(after[1200:4800])) == last_tone
    log = events(work)
    drop = next(e for e in log if e["event"] == "resume_point" and e["streamed_s"] > 0)
    assert TONES_HZ[drop["track_index"]] == last_tone
    restart = next(e for e in log if e["event"] == "encoder_start" and e["time"] > drop["time"])
    assert (restart["track_index"], restart["frame_in_track"]) == (
        drop["track_index"],
        drop["frame_in_track"],
    )
    assert abs(drop["streamed_s"] - len(before) / 8000) < 1.0

    # Now playing changed at every track boundary (the start of each crossfade), in order.
    shown = [e for e in log if e["event"] == "now_playing"]
    indices = [e["now_playing_index"] for e in shown]
    assert len(indices) >= 4
    assert all(b == (a + 1) % len(TONES_HZ) for a, b in itertools.pairwise(indices))
    step_s = TRACK_S - CROSSFADE_S
    for change in shown[1:]:
        into_track_s = change["feed_s"] - step_s * round(change["feed_s"] / step_s)
        assert 0 <= into_track_s <= BLOCK_S + 0.01, change
    title = TONES_HZ[indices[-1]]
    assert (work / "now_playing.txt").read_text().startswith(f"Now playing: Tone {title:.0f} Hz")

    # Counted, logged, alerted (down 5 s > 3 s), and the key never written anywhere of ours.
    assert status.reconnects >= 1 and status.restarts == status.encoder_starts - 1
    assert status.alerts == 1 and len(Webhook.bodies) == 1
    assert "down for" in Webhook.bodies[0]["text"]
    assert "ALERT" in caplog.text and "restarting" in caplog.text
    for text in (
        caplog.text,
        (work / "encoder.log").read_text(),
        (work / "events.jsonl").read_text(),
        (work / "status.json").read_text(),
    ):
        assert STREAM_KEY not in text


@needs_nginx
def test_radio_restarts_a_killed_encoder_within_10_s(rtmp_server: RtmpServer, tmp_path: Path):
    work = tmp_path / "radio"
    streamer = RadioStreamer(
        RadioFeed(tone_playlist(tmp_path / "tones"), CROSSFADE_S), settings_for(rtmp_server, work)
    )
    thread = run_in_thread(streamer, duration_s=10)
    try:
        assert wait_for(lambda: streamer.status.state == "up", 10) is not None
        time.sleep(2)
        pid = streamer.status.encoder_pid
        os.kill(pid, signal.SIGKILL)
        killed_at = time.time()
        assert wait_for(lambda: streamer.status.encoder_deaths == 1, 5) is not None
        assert wait_for(lambda: streamer.status.state == "up", 10) is not None
    finally:
        thread.join(timeout=30)
    log = events(work)
    back = [e for e in log if e["event"] == "up" and e["time"] > killed_at]
    assert back and back[0]["time"] - killed_at <= 10
    exit_event = next(e for e in log if e["event"] == "encoder_exit" and e["pid"] == pid)
    assert exit_event["cause"] == "killed by SIGKILL"
    assert streamer.status.restarts == 1 and streamer.status.alerts == 0
    assert len(rtmp_server.recorded()) == 2


def test_radio_work_files_are_written_without_ffmpeg_output_when_no_server(tmp_path: Path):
    """The failing side of the reconnect loop: nothing listens, so every encoder exits at once,
    is counted as a reconnect, and the stream is reported down (not up) with its cause."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    tracks = tone_playlist(tmp_path / "tones")
    settings = RadioSettings(
        rtmp_url=f"rtmp://127.0.0.1:{free_port()}/live",
        stream_key=STREAM_KEY,
        work_dir=tmp_path / "radio",
        width_px=160,
        height_px=90,
        fps=10,
        video_bitrate_kbps=100,
        x264_preset="ultrafast",
        retry_delay_s=0.5,
        alert_after_s=1.5,
    )
    status = RadioStreamer(RadioFeed(tracks, CROSSFADE_S), settings).run(duration_s=3.0)
    assert status.reconnects >= 2 and status.uptime_s == 0 and status.alerts == 1
    assert "Connection refused" in status.last_exit
    assert status.feed_s == 0.0  # nothing was sent, so nothing was skipped
    assert STREAM_KEY not in (tmp_path / "radio" / "encoder.log").read_text()


def test_feed_rolls_to_a_new_playlist_at_the_next_fade_without_a_gap(tmp_path: Path):
    old = [
        constant_track(tmp_path / "a.wav", 0.5, 3.0),
        constant_track(tmp_path / "b.wav", 0.2, 3.0),
    ]
    new = [
        constant_track(tmp_path / "c.wav", -0.25, 3.0),
        constant_track(tmp_path / "d.wav", 0.1, 3.0),
    ]
    feed = RadioFeed(old, crossfade_s=1.0)
    feed.read(500)
    feed.replace_playlist(new)  # "midnight", half a second into track a
    audio = feed.read(8000)[:, 0]
    theta = (math.pi / 2 / 1000) * np.arange(1000)
    expected = np.concatenate([
        np.full(1500, 0.5),
        0.5 * np.cos(theta) - 0.25 * np.sin(theta),  # a → c: b of the old playlist is skipped
        np.full(1000, -0.25),
        -0.25 * np.cos(theta) + 0.1 * np.sin(theta),  # c → d
        np.full(1000, 0.1),
        0.1 * np.cos(theta) - 0.25 * np.sin(theta),  # d → c: the new playlist loops, a is gone
        np.full(1000, -0.25),
        -0.25 * np.cos(theta[:500]) + 0.1 * np.sin(theta[:500]),
    ])  # fmt: skip
    np.testing.assert_allclose(audio, expected, atol=1e-6)
    assert [t.title for t in feed.tracks] == ["c", "d"]
    other_rate = constant_track(tmp_path / "e.wav", 0.1, 9.0, rate_hz=2000)
    with pytest.raises(RadioPlaylistError, match="differ in sample rate"):
        feed.replace_playlist([other_rate])


def test_streamer_plays_the_next_days_queue_after_midnight(tmp_path: Path):
    data_dir = tmp_path / "data"
    today = [dt.date(2026, 11, 30)]
    queue = RadioQueue(
        "2026-12-01",
        CROSSFADE_S,
        tuple(
            QueueEntry(f"radio:2026-12-01:{i}", str(write_tone(tmp_path / f"q{i}.wav", hz, TRACK_S)),
                       f"Fresh {i}", "jazz", TRACK_S, -14.0, True)
            for i, hz in enumerate((660.0, 770.0))
        ),
    )  # fmt: skip
    write_json_atomic(queue_path(data_dir, dt.date(2026, 12, 1)), queue.to_document())
    assert day_playlist(data_dir, dt.date(2026, 11, 30)) == []
    feed = RadioFeed(tone_playlist(tmp_path / "tones"), CROSSFADE_S)
    streamer = RadioStreamer(
        feed,
        RadioSettings(rtmp_url="rtmp://127.0.0.1:9/live", work_dir=tmp_path / "radio"),
        playlist_for=lambda day: day_playlist(data_dir, day),
        today=lambda: today[0],
    )
    streamer._roll_to_new_day()  # same day: nothing queued
    feed.read(RATE_HZ * 3)
    today[0] = dt.date(2026, 12, 1)
    streamer._roll_to_new_day()
    feed.read(RATE_HZ * 6)  # into the first fade (8 s): the queue's first track comes in
    streamer._show_now_playing()
    assert (tmp_path / "radio" / "now_playing.txt").read_text() == (
        "Now playing: Fresh 0\nUp next: Fresh 1"
    )
    rolled = [e for e in events(tmp_path / "radio") if e["event"] == "new_day"]
    assert [(e["day"], e["tracks"]) for e in rolled] == [("2026-12-01", 2)]
