"""Audio production: SoundFont rendering, the lo-fi effect chain, ambience, mixing, mastering
and measurement. Plain Python (no Dagster); arrays are float32 shaped (channels, samples)."""

SAMPLE_RATE_HZ = 44_100
TARGET_LUFS = -14.0  # streaming platforms normalise to about -14 LUFS: masters, mixes, radio
