"""Artwork: procedural thumbnails and covers (Pillow), and later video (no dagster)."""
