"""A piano-roll preview of a MIDI file as a small PNG, for the Dagster UI and the README."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from lofi_assets.music.analysis import MidiSummary
from lofi_assets.music.score import DRUM_CHANNEL

BACKGROUND = (24, 22, 34)
GRID = (44, 41, 60)
TRACK_COLOURS = {
    "keys": (238, 170, 120),
    "bass": (120, 190, 240),
    "melody": (250, 230, 140),
    "pad": (150, 120, 210),
    "drums": (200, 200, 200),
}
FALLBACK_COLOUR = (180, 180, 180)


def render_piano_roll(
    summary: MidiSummary, width_px: int = 960, height_px: int = 320, drum_lane_px: int = 48
) -> bytes:
    """PNG bytes: pitched notes above (one colour per track), drum hits in a lane below."""
    image = Image.new("RGB", (width_px, height_px), BACKGROUND)
    draw = ImageDraw.Draw(image)
    length = max(summary.length_beats, 1.0)
    x_per_beat = width_px / length
    for bar in range(0, int(length) + 1, 4):  # bar lines
        x = round(bar * x_per_beat)
        draw.line([(x, 0), (x, height_px)], fill=GRID if bar % 16 else (64, 60, 86))
    pitched = summary.pitched_notes()
    roll_height = height_px - drum_lane_px - 4
    if pitched:
        low = min(note.pitch for note in pitched) - 1
        high = max(note.pitch for note in pitched) + 1
        row_px = roll_height / (high - low + 1)
        for name, notes in summary.tracks.items():
            colour = TRACK_COLOURS.get(name, FALLBACK_COLOUR)
            for note in notes:
                if note.channel == DRUM_CHANNEL:
                    continue
                y = roll_height - (note.pitch - low + 1) * row_px
                x0 = note.start_beats * x_per_beat
                x1 = max(x0 + 1, note.end_beats * x_per_beat - 0.5)
                draw.rectangle([x0, y, x1, y + max(1.0, row_px - 0.5)], fill=colour)
    lane_top = height_px - drum_lane_px
    draw.line([(0, lane_top - 2), (width_px, lane_top - 2)], fill=(64, 60, 86))
    drum_notes = summary.drum_notes()
    if drum_notes:
        low = min(note.pitch for note in drum_notes)
        span = max(1, max(note.pitch for note in drum_notes) - low)
        for note in drum_notes:
            y = lane_top + (1 - (note.pitch - low) / span) * (drum_lane_px - 4)
            x = note.start_beats * x_per_beat
            shade = 90 + note.velocity
            draw.rectangle([x, y, x + 1, y + 2], fill=(shade, shade, shade))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
