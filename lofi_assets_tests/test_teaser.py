"""The Shorts teaser: the loudest 30 s of the mix, vertical, checked by ffprobe."""

import numpy as np
import pytest
import soundfile
from PIL import Image

from lofi_assets.audio.measure import loudest_window_of_file
from lofi_assets.audio.wav import AudioFileError, write_faded_excerpt, write_wav
from lofi_assets.defs.assets.release_checks import teaser_check_results
from lofi_assets.visual.teaser import MIN_CONTRAST, make_teaser, teaser_artwork
from lofi_assets.visual.thumbnail import COVER_SIZE, draw_artwork, jpeg_bytes
from lofi_assets.visual.video import SHORTS_SIZE, probe

RATE = 44_100


@pytest.fixture(scope="module")
def mix(tmp_path_factory):
    """90 s of quiet noise with a loud stretch from 50 s to 80 s."""
    rng = np.random.default_rng(0)
    audio = (rng.standard_normal((2, 90 * RATE)) * 0.01).astype(np.float32)
    audio[:, 50 * RATE : 80 * RATE] *= 20
    return write_wav(tmp_path_factory.mktemp("teaser") / "mix.wav", audio, RATE)


def test_the_loudest_window_is_found_while_streaming(mix):
    start_s, loudness = loudest_window_of_file(mix, 30.0, block_frames=1 << 15)
    assert start_s == pytest.approx(50.0, abs=0.5)
    assert loudness > -25.0


def test_the_excerpt_fades_and_stays_inside_the_file(mix, tmp_path):
    excerpt = write_faded_excerpt(mix, tmp_path / "a.wav", 75.0, 30.0)
    audio, _ = soundfile.read(str(excerpt), always_2d=True)
    assert audio.shape[0] == 30 * RATE  # clamped back to start at 60 s
    assert np.abs(audio[:10]).max() < 1e-3 and np.abs(audio[-10:]).max() < 1e-3
    assert np.abs(audio[5 * RATE : 6 * RATE]).max() > 0.1
    with pytest.raises(AudioFileError):
        write_faded_excerpt(tmp_path / "missing.wav", tmp_path / "b.wav", 0.0, 30.0)


def test_teaser_is_a_vertical_short_of_the_loud_part(mix, tmp_path):
    cover = tmp_path / "cover.jpg"
    cover.write_bytes(jpeg_bytes(draw_artwork(COVER_SIZE, "jazz", 1, "A").image, 90))
    teaser = make_teaser(
        mix, cover, tmp_path / "teaser.mp4", "Rainy Jazz for Late Nights", "Full mix on us", 1,
        motion="static",
    )  # fmt: skip
    assert teaser.start_s == pytest.approx(50.0, abs=0.5)
    facts = probe(teaser.path)
    assert (facts.width, facts.height) == SHORTS_SIZE
    assert (facts.video_codec, facts.video_profile, facts.pixel_format) == (
        "h264",
        "High",
        "yuv420p",
    )
    assert (facts.audio_codec, facts.audio_rate_hz, facts.audio_channels) == ("aac", 48_000, 2)
    assert facts.video_duration_s == pytest.approx(30.0, abs=0.1)
    results = teaser_check_results(facts, SHORTS_SIZE, teaser.duration_s)
    assert {r.check_name: r.passed for r in results} == {
        "video_streams": True,
        "durations_match": True,
        "shorts_length": True,
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cover.jpg", "teaser.mp4"]


def test_title_reads_even_over_a_white_cover():
    white = Image.new("RGB", (600, 600), (255, 255, 255))
    picture, contrast = teaser_artwork(white, "A very long title " * 5, "caption")
    assert picture.size == SHORTS_SIZE
    assert contrast >= MIN_CONTRAST
