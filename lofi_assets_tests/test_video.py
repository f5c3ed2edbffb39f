"""The static-mode video: ffmpeg encodes, ffprobe verifies every property YouTube cares about."""

import dataclasses

import numpy as np
import pytest

from lofi_assets.audio.wav import write_wav
from lofi_assets.defs.checks import video_check_results
from lofi_assets.visual.thumbnail import THUMBNAIL_SIZE, draw_artwork, fitted_jpeg
from lofi_assets.visual.video import VideoError, encode_static, probe


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
    facts = probe(encode_static(image, audio, tmp_path / "video.mp4", seconds, resolution))
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
        encode_static(image, audio, tmp_path / "a.mp4", seconds, "4k")
    with pytest.raises(VideoError, match="ffmpeg could not encode"):
        encode_static(tmp_path / "missing.jpg", audio, tmp_path / "b.mp4", seconds)
    monkeypatch.setenv("PATH", "")
    with pytest.raises(VideoError, match="install ffmpeg"):
        encode_static(image, audio, tmp_path / "c.mp4", seconds)
    assert not list(tmp_path.glob("*.mp4"))
