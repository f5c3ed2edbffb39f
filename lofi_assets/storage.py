"""Atomic file writes: a reader never sees half a file, a crash never leaves one behind.

Every artifact is written to a temporary sibling and renamed into place; ``os.replace`` is
atomic on POSIX file systems when source and target share a directory.

Temporaries are hidden (a leading dot) so that catalog walks never mistake work in flight for
an artifact. A writer holds an exclusive ``flock`` on its temporary (and on the partition
folder's lock while it builds a new folder), so the next writer of the same target can tell
an abandoned temporary (a killed run) from a live one and removes only the abandoned.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lofi_assets.errors import LofiError

# A temporary younger than this is left alone: its writer may not have locked it yet.
FRESH_TEMPORARY_S = 10.0


class PartitionBusyError(LofiError):
    """Another run is writing the same folder right now."""


def _locked(fd: int) -> bool:
    """Take an exclusive, non-blocking flock on ``fd``: False when a live process holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _remove_abandoned(parent: Path, pattern: str) -> None:
    """Remove temporaries matching ``pattern`` in ``parent`` that no live writer holds."""
    for leftover in parent.glob(pattern):
        with contextlib.suppress(OSError):
            if time.time() - leftover.stat().st_mtime < FRESH_TEMPORARY_S:
                continue  # may be a writer between mkstemp and its flock
        try:
            fd = os.open(leftover, os.O_RDONLY)
        except OSError:
            continue  # gone already
        try:
            if not _locked(fd):
                continue  # a live writer's
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
        finally:
            os.close(fd)


def sha256_of(path: Path | str) -> str:
    """The SHA-256 of a file's bytes (hex), read in 1 MiB blocks: memory stays flat for an
    hour-long mix."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_path(target: Path | str, mode: int = 0o644) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` on success.

    The file is created private (mkstemp's 0600) and given ``mode`` only when complete, so a
    secret written with ``mode=0o600`` is never readable by others, even for a moment. On any
    exception the temporary file is removed and ``target`` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(target.parent, f".{target.name}.*.tmp")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    fcntl.flock(fd, fcntl.LOCK_EX)  # ours alone: never taken for abandoned
    tmp_path = Path(tmp_name)
    try:
        yield tmp_path
        os.chmod(tmp_path, mode)
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)
        os.close(fd)


def write_bytes_atomic(target: Path | str, payload: bytes, mode: int = 0o644) -> Path:
    """Write ``payload`` to ``target`` atomically and return the target path."""
    with atomic_path(target, mode) as tmp_path:
        tmp_path.write_bytes(payload)
    return Path(target)


def write_json_atomic(target: Path | str, document: Any) -> Path:
    """Write ``document`` as stable, human-readable JSON (sorted keys, trailing newline)."""
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return write_bytes_atomic(target, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_directory(target: Path | str) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``target``; swap it in whole on success.

    The previous folder is renamed aside, the new one renamed into place, then the old one
    removed, so readers see the old set of files or the new set, never a mixture. On any
    exception the temporary folder is removed and ``target`` is untouched.

    One writer per folder: the folder's lock (``.<name>.lock`` beside it) is held throughout,
    and the staging and retired folders a killed writer left behind are removed first.

    Raises:
        PartitionBusyError: another process is writing ``target`` now.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.parent / f".{target.name}.lock"
    lock_fd = _lock_partition(lock_path, target)
    try:
        for leftover in target.parent.glob(f".{target.name}.*"):
            if leftover.is_dir():  # staging (.tmp) or retired (.old) of a killed writer
                shutil.rmtree(leftover, ignore_errors=True)
        with _staging_swap(target) as staging:
            yield staging
    finally:
        lock_path.unlink(missing_ok=True)  # before closing: a waiter re-checks the inode
        os.close(lock_fd)


def _lock_partition(lock_path: Path, target: Path) -> int:
    """Hold ``lock_path``'s flock, or raise PartitionBusyError. The lock file is removed on
    release, so a writer that locked a file just unlinked by the previous holder opens the
    path again (the inode check) instead of sharing a lock nobody else can see."""
    while True:
        fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o644)
        if not _locked(fd):
            os.close(fd)
            raise PartitionBusyError(
                f"{target} is being written by another run right now (already running): "
                "let that run finish, then materialize again if needed"
            )
        try:
            if os.fstat(fd).st_ino == os.stat(lock_path).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


@contextlib.contextmanager
def _staging_swap(target: Path) -> Iterator[Path]:
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield staging
        os.chmod(staging, 0o755)
        retired = None
        if target.exists():
            retired = Path(
                tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)
            )
            os.replace(target, retired / "previous")
        os.replace(staging, target)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
