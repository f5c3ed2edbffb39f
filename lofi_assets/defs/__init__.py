"""Dagster wiring only: partitions, resources, IO, assets, checks and automation."""
