"""The release video, static and animated: ffprobe verifies every property YouTube cares about."""

import dataclasses

import numpy as np
import pytest

from lofi_assets.audio.wav import write_wav
from lofi_assets.defs.assets.release_checks import video_check_results
from lofi_assets.visual.motion import LOOP_S, animated_frame, encode_animated, make_particles
from lofi_assets.visual.thumbnail import THUMBNAIL_SIZE, draw_artwork, fitted_jpeg
from lofi_assets.visual.video import SIZES, VideoError, encode_static, probe, size_of


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("video")
    image = folder / "thumb.jpg"
    image.write_bytes(fitted_jpeg(draw_artwork(THUMBNAIL_SIZE, "jazz", 1, "A").image))
    seconds = 12.345
    tone = (
        np.sin(2 * np.pi * 220 * np.arange(int(seconds * 44_100)) / 44_100).astype(np.float32) * 0.3
    )
    audio = write_wav(folder / "mix.wav", np.stack([tone, tone]), 44_100)
    return image, audio, seconds


@pytest.mark.parametrize(("resolution", "size"), [("720p", (1280, 720)), ("1080p", (1920, 1080))])
def test_static_video_has_the_streams_youtube_wants(inputs, tmp_path, resolution, size):
    image, audio, seconds = inputs
    facts = probe(encode_static(image, audio, tmp_path / "video.mp4", seconds, size_of(resolution)))
    _assert_youtube_ready(facts, size, seconds)


def _assert_youtube_ready(facts, size, seconds):
    assert (facts.video_codec, facts.video_profile, facts.pixel_format) == (
        "h264",
        "High",
        "yuv420p",
    )
    assert (facts.width, facts.height) == size
    assert (facts.audio_codec, facts.audio_profile, facts.audio_rate_hz, facts.audio_channels) == (
        "aac",
        "LC",
        48_000,
        2,
    )
    assert facts.faststart
    assert abs(facts.video_duration_s - seconds) <= 0.1
    assert abs(facts.video_duration_s - facts.audio_duration_s) <= 0.1
    results = {r.check_name: r.passed for r in video_check_results(facts, size, seconds, 1)}
    assert results == {"video_streams": True, "durations_match": True, "mid_roll_eligible": True}


def test_checks_catch_a_short_or_drifting_video(inputs, tmp_path):
    image, audio, seconds = inputs
    facts = probe(encode_static(image, audio, tmp_path / "video.mp4", seconds))
    drifting = dataclasses.replace(facts, video_duration_s=facts.video_duration_s + 0.5)
    results = {
        r.check_name: r.passed for r in video_check_results(drifting, (1280, 720), seconds, 3)
    }
    assert results == {"video_streams": True, "durations_match": False, "mid_roll_eligible": False}
    wrong_size = {
        r.check_name: r.passed for r in video_check_results(facts, (1920, 1080), seconds, 1)
    }
    assert wrong_size["video_streams"] is False


def test_bad_requests_fail_clearly_and_leave_no_file(inputs, tmp_path, monkeypatch):
    image, audio, seconds = inputs
    with pytest.raises(VideoError, match="Unknown resolution"):
        size_of("4k")
    with pytest.raises(VideoError, match="Unknown overlay"):
        encode_animated(image, audio, tmp_path / "a.mp4", seconds, SIZES["720p"], "snow", 1)
    with pytest.raises(VideoError, match="ffmpeg could not encode"):
        encode_static(tmp_path / "missing.jpg", audio, tmp_path / "b.mp4", seconds)
    monkeypatch.setenv("PATH", "")
    with pytest.raises(VideoError, match="install ffmpeg"):
        encode_static(image, audio, tmp_path / "c.mp4", seconds)
    assert not list(tmp_path.iterdir())  # no half-written video, no leftover loop


# Each overlay once; the full 720p frame once (a 24-s loop of frames is drawn per encode).
@pytest.mark.parametrize(("overlay", "size"), [("rain", (1280, 720)), ("dust", (640, 360))])
def test_animated_video_moves_and_is_youtube_ready(inputs, tmp_path, overlay, size):
    image, audio, seconds = inputs
    out = encode_animated(image, audio, tmp_path / "video.mp4", seconds, size, overlay, 7)
    _assert_youtube_ready(probe(out), size, seconds)
    assert [p.name for p in tmp_path.iterdir()] == ["video.mp4"]
    first, later = _frames_at(out, (1.0, 3.0))
    assert np.abs(first.astype(int) - later.astype(int)).mean() > 1.0  # it moves


def _frames_at(video, times_s):
    import subprocess

    frames = []
    for time_s in times_s:
        raw = subprocess.run(
            ["ffmpeg", "-v", "error", "-ss", str(time_s), "-i", str(video), "-frames:v", "1",
             "-f", "rawvideo", "-pix_fmt", "gray", "-"],
            capture_output=True, check=True,
        ).stdout  # fmt: skip
        frames.append(np.frombuffer(raw, np.uint8))
    return frames


def test_motion_loops_seamlessly_and_is_deterministic(inputs):
    from PIL import Image

    image, _, _ = inputs
    artwork = Image.open(image).convert("RGB")
    for overlay in ("rain", "dust"):
        particles = make_particles(overlay, artwork.size, 3)
        start = animated_frame(artwork, overlay, particles, 0.0)
        assert np.array_equal(start, animated_frame(artwork, overlay, particles, LOOP_S))
        assert np.array_equal(
            start, animated_frame(artwork, overlay, make_particles(overlay, artwork.size, 3), 0.0)
        )
        middle = animated_frame(artwork, overlay, particles, LOOP_S / 2)
        assert not np.array_equal(start, middle)


def test_an_encode_reports_its_progress_through_to_the_end(inputs, tmp_path):
    image, audio, seconds = inputs
    fractions: list[float] = []
    encode_static(image, audio, tmp_path / "video.mp4", seconds, progress=fractions.append)
    assert fractions == sorted(fractions)
    assert fractions[-1] == pytest.approx(1.0, abs=0.02)
