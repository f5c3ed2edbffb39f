"""The executor every job uses unless it names its own: multiprocess, each step a fork of a
warm server.

Dagster's default start method (spawn) gives every step a fresh interpreter that imports the
code location and the instance's storage again: seconds per step, which a backfill of
thousands of steps pays thousands of times. With forkserver each run starts one server that
imports them once (``lofi_assets.defs.forkserver``), and a step starts in milliseconds.
The steps are the forkserver's children, not the run worker's: the forkserver module ties
their lives to the run worker's, so a killed run leaves no step rendering on as an orphan.
"""

import dagster as dg

FORKSERVER_PRELOAD = ["lofi_assets.defs.forkserver"]


@dg.configured(
    dg.multiprocess_executor,
    config_schema={
        "max_concurrent": dg.Field(
            int,
            is_required=False,
            description="Steps of one run at a time (default: one per core).",
        ),
    },
)
def forked_multiprocess_executor(config: dict) -> dict:
    settings: dict = {"start_method": {"forkserver": {"preload_modules": FORKSERVER_PRELOAD}}}
    if "max_concurrent" in config:
        settings["max_concurrent"] = config["max_concurrent"]
    return settings
