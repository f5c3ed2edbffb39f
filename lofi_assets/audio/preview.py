"""A waveform over a spectrogram, as a small PNG for the Dagster UI."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw
from scipy import signal

BACKGROUND = (24, 22, 34)
WAVE = (238, 170, 120)


def render_preview(
    audio: np.ndarray, sample_rate_hz: int, width_px: int = 960, height_px: int = 360
) -> bytes:
    wave_height = height_px // 3
    image = Image.new("RGB", (width_px, height_px), BACKGROUND)
    draw = ImageDraw.Draw(image)
    mono = audio.mean(axis=0)
    columns = np.array_split(mono, width_px)
    middle = wave_height / 2
    for x, column in enumerate(columns):
        if column.size:
            top = middle - float(column.max()) * middle
            bottom = middle - float(column.min()) * middle
            draw.line([(x, top), (x, bottom)], fill=WAVE)
    # Spectrogram of a 11 kHz copy: the range where a lo-fi mix lives.
    reduced = signal.resample_poly(mono, 1, 4)
    _frequencies, _, power = signal.spectrogram(
        reduced, fs=sample_rate_hz / 4, nperseg=512, noverlap=256
    )
    levels = 10 * np.log10(np.maximum(power, 1e-12))
    levels = np.clip((levels - (levels.max() - 80)) / 80, 0, 1)
    spectrum = Image.fromarray((levels[::-1] * 255).astype(np.uint8))
    spectrum = spectrum.resize((width_px, height_px - wave_height - 4))
    coloured = Image.merge(
        "RGB",
        [
            spectrum.point(lambda v: v),
            spectrum.point(lambda v: v // 2),
            spectrum.point(lambda v: 80 + v // 2),
        ],
    )
    image.paste(coloured, (0, wave_height + 4))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
