"""Imported once by each run's forkserver; every step process is a fork of it (executor.py).

It imports what a step would otherwise import on its own: the code location, and the storage
classes the instance (``$DAGSTER_HOME/dagster.yaml``) names — SQLite or PostgreSQL alike —
without connecting to anything (a connection must never be shared across forks). Then it
moves every object it made into the collector's permanent generation, so the forks' garbage
collections do not walk, and so copy, the server's memory.
"""

import gc
import importlib
import os

from dagster._core.instance.ref import InstanceRef

import lofi_assets.definitions  # noqa: F401 - the point is the import


def _import_instance_classes() -> None:
    home = os.environ.get("DAGSTER_HOME")
    if not home or not os.path.isdir(home):
        return
    ref = InstanceRef.from_dir(home)
    for name in dir(ref):
        if name.endswith("_data"):
            class_data = getattr(ref, name)
            module = getattr(class_data, "module_name", None)
            if module:
                importlib.import_module(module)


_import_instance_classes()
gc.freeze()
