"""lofi-empire: a Dagster asset graph that runs a lo-fi music channel end to end."""

__version__ = "0.1.0"
