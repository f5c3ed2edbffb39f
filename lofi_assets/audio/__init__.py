"""Audio production: SoundFont rendering, the lo-fi effect chain, ambience, mixing, mastering
and measurement. Plain Python (no Dagster); arrays are float32 shaped (channels, samples)."""

SAMPLE_RATE_HZ = 44_100
