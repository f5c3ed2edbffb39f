"""Imported once by each run's forkserver; every step process is a fork of it (executor.py).

It imports what a step would otherwise import on its own: the code location, and the storage
classes the instance (``$DAGSTER_HOME/dagster.yaml``) names — SQLite or PostgreSQL alike —
without connecting to anything (a connection must never be shared across forks). Then it
moves every object it made into the collector's permanent generation, so the forks' garbage
collections do not walk, and so copy, the server's memory.

It also ties the steps' lives to the run worker's (Linux): when the run worker dies (SIGKILL,
the OOM killer, a lost container), the forkserver and every step it forked die within a
second instead of rendering on as orphans that write into a run already marked failed, into
the folder its retry is writing, while their pool slots are being handed to other steps.
"""

import ctypes
import gc
import importlib
import multiprocessing.forkserver
import os
import select
import signal
import sys
import threading

from dagster._core.instance.ref import InstanceRef

import lofi_assets.definitions  # noqa: F401 - the point is the import

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
RUN_WORKER_POLL_S = 1.0  # how often to look for the run worker where pidfd_open is missing


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


def _running_as_forkserver() -> bool:
    """True inside multiprocessing's forkserver, which imports this module as a preload; an
    ordinary import (a test, a script) must not start watching its parent."""
    frame = sys._getframe()
    while frame is not None:
        if frame.f_code is multiprocessing.forkserver.main.__code__:
            return True
        frame = frame.f_back
    return False


def _wait_for_exit(pid: int) -> None:
    """Return once process ``pid`` (our parent) has exited."""
    try:
        # A pidfd turns readable when the process exits; opened while the parent is alive, it
        # cannot name a later process that reuses the pid.
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # Linux < 5.3, or a seccomp profile without pidfd_open
        while os.getppid() == pid:  # an orphan is re-parented to init or a subreaper
            select.select([], [], [], RUN_WORKER_POLL_S)
        return
    select.select([pidfd], [], [])


def _die_with_run_worker() -> None:
    """The forkserver exits when the run worker that started it does, and takes its steps.

    Python's forkserver does not do this by itself: it stays up while any step holds the
    "alive" pipe it hands to every child, so a step outlives a killed run worker.
    ``PR_SET_PDEATHSIG`` makes the kernel SIGKILL each step when the forkserver's (only,
    forking) thread ends; a watcher thread ends the forkserver when the run worker exits.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    forkserver_pid, run_worker_pid = os.getpid(), os.getppid()
    forking_pid = [forkserver_pid]

    def remember_forking_process() -> None:
        forking_pid[0] = os.getpid()

    def die_with_forkserver() -> None:
        # Only the forkserver's own children: a step that forks or runs a tool (ffmpeg) keeps
        # the ordinary lifetime rules for its children.
        if forking_pid[0] != forkserver_pid:
            return
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != forkserver_pid:  # the forkserver died before prctl took effect
            os._exit(1)

    os.register_at_fork(before=remember_forking_process, after_in_child=die_with_forkserver)

    def watch_run_worker() -> None:
        _wait_for_exit(run_worker_pid)
        os.kill(forkserver_pid, signal.SIGKILL)

    # The forkserver forks beside this thread: safe, as it holds no lock while it waits.
    threading.Thread(target=watch_run_worker, name="watch-run-worker", daemon=True).start()


_import_instance_classes()
if sys.platform.startswith("linux") and _running_as_forkserver():
    _die_with_run_worker()
gc.freeze()
