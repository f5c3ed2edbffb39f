"""Dagster wiring only: partitions, resources, IO, assets, checks and automation."""

import warnings

import dagster as dg

# We use beta Dagster APIs on purpose (backfill_policy on @asset, the partition mapping from
# date × slot to date): their warnings, one per use in every process that loads the code
# location (dagster dev's code server, `dagster asset materialize`, each run's and step's
# process), are noise; preview and supersession notices go too, for the same reason. Every
# module that builds a definition lives in this package, so this runs before the first one.
# Not in lofi_assets/__init__.py: importing dagster there would add 0.5 s to `lofi sketch`
# and to every import of the plain-Python domain packages.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
warnings.filterwarnings("ignore", category=dg.SupersessionWarning)
