"""Publishing: release metadata, YouTube, distribution, analytics (no dagster)."""
