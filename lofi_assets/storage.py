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
import errno
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

from lofi_assets.errors import ConfigError, LofiError

# A temporary younger than this is left alone: its writer may not have locked it yet.
FRESH_TEMPORARY_S = 10.0


class PartitionBusyError(LofiError):
    """Another run is writing the same folder right now."""


# Write errors that mean "this file system has no room": the disk (ENOSPC) or the user's quota
# (EDQUOT). Retrying does not help; freeing space or another data root does.
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def size_text(size_bytes: float) -> str:
    """``1536`` → "1.5 KiB": a byte count as a person reads it (binary units, as ``df -h``)."""
    size = float(size_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def free_bytes(path: Path | str) -> int:
    """Bytes a writer may still put on the file system holding ``path`` (its nearest existing
    folder when ``path`` does not exist yet)."""
    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


class DiskFullError(LofiError):
    """The file system holding an artifact has no room left for it (ENOSPC or EDQUOT).

    Not transient: the same write fails again until space is freed, so it is never retried.
    ``needed_bytes`` is the size of the whole file when it is known (a WAV of known length:
    the message adds what is free), otherwise a lower bound ("at least": what had been
    written, or what was free when the work began, when the disk filled up).
    """

    def __init__(self, path: Path | str, needed_bytes: int, exact: bool = True) -> None:
        self.path = Path(path)
        self.needed_bytes, self.exact = int(needed_bytes), exact
        needed = (
            f"{size_text(self.needed_bytes)} needed, {size_text(free_bytes(self.path))} free"
            if exact
            else f"at least {size_text(self.needed_bytes)} needed"
        )
        super().__init__(
            f"no space left on device while writing {self.path} ({needed}): free space on "
            "that disk, or set LOFI_DATA_DIR to a folder on a larger one"
        )


def ensure_free_space(path: Path | str, needed_bytes: int) -> None:
    """Refuse a write of ``needed_bytes`` to ``path`` before it starts when the file system
    has less room, so nothing is half-written and the message names the size.

    Raises:
        DiskFullError: fewer than ``needed_bytes`` bytes are free.
    """
    if free_bytes(path) < needed_bytes:
        raise DiskFullError(path, needed_bytes)


class TruncatedMediaError(LofiError):
    """A media file (WAV, MP4) holds less than its own header declares: a copy cut short, a
    writer killed or starved of disk space. Readers refuse it rather than play the part that
    is there as if it were the whole.

    ``declared`` and ``actual`` say the length in the file's own terms (bytes of audio and
    seconds for a WAV, bytes of a box for an MP4).
    """

    def __init__(self, path: Path | str, declared: str, actual: str, fix: str = "") -> None:
        self.path = Path(path)
        self.declared, self.actual = declared, actual
        self.fix = fix or "re-materialize the asset that wrote it"
        super().__init__(
            f"{self.path} is truncated: its header declares {declared}, the file holds "
            f"{actual}: {self.fix}"
        )

    def with_fix(self, fix: str) -> TruncatedMediaError:
        """The same error with a more specific fix (the asset and partition to re-make)."""
        return type(self)(self.path, self.declared, self.actual, fix)


class PathEscapeError(ConfigError):
    """A name from outside the product (an id from an API or run config, a partition key, a
    path read from a record) would place a file outside the folder it belongs in."""


def confined_path(root: Path | str, *parts: str | os.PathLike[str], what: str = "name") -> Path:
    """``root`` joined with ``parts``, refused when the result would lie outside ``root``.

    Every path the product builds from outside data goes through here (the data root joined
    with an asset name, partition keys, ids, a record's relative paths). A part may hold
    several components (``audio/01.wav``); names that merely contain dots (``v1..2``,
    ``...``, ``‥``, ``．．``) are plain names. ``what`` names the input in the message
    ("YouTube video id", "partition key").

    Returns the lexical join ``root/parts`` (not resolved: messages and records keep the
    data root's own spelling).

    Raises:
        PathEscapeError: a part is empty, absolute, holds a NUL byte or a ``..`` component
            (refused even when it would come back inside: no name the product makes has
            one), or the joined path's real location (symbolic links resolved, as far as
            they exist) is not under ``root``'s real location: a link planted inside the
            data root that leads out. The data root itself may be a link (or a mount).
    """
    root = Path(root)
    for part in parts:
        text = os.fspath(part)
        reason = ""
        if not text or not Path(text).parts:
            reason = "it names nothing (empty or '.')"
        elif "\0" in text:
            reason = "it holds a NUL byte"
        elif Path(text).is_absolute():
            reason = "it is an absolute path"
        elif ".." in Path(text).parts:
            reason = "it climbs out with '..'"
        if reason:
            raise PathEscapeError(
                f"{what} {text!r} cannot name a path under {root}: {reason}; use a relative "
                "name without '..' (an id, a date, a file name)"
            )
    candidate = root.joinpath(*parts)
    try:
        real_root, real = root.resolve(), candidate.resolve()
    except (RuntimeError, OSError) as error:  # a link loop (RuntimeError before Python 3.13)
        raise PathEscapeError(
            f"{what} {'/'.join(map(os.fspath, parts))!r}: {candidate} cannot be resolved "
            f"({error}); remove the symbolic link loop under {root}"
        ) from error
    if not real.is_relative_to(real_root):
        raise PathEscapeError(
            f"{what} {'/'.join(map(os.fspath, parts))!r} leads outside {root}: {candidate} "
            f"resolves to {real} through a symbolic link; remove the link (link or mount the "
            "whole data root instead)"
        )
    return candidate


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
def atomic_path(
    target: Path | str, mode: int = 0o644, needed_bytes: int | None = None
) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` on success.

    The file is created private (mkstemp's 0600) and given ``mode`` only when complete, so a
    secret written with ``mode=0o600`` is never readable by others, even for a moment. On any
    exception the temporary file is removed and ``target`` is left untouched.

    Raises:
        DiskFullError: the file system ran out of room while the temporary was written
            (``needed_bytes``, when the caller knows the whole size, goes in the message).
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
    except DiskFullError as error:  # a writer that knew: named by where the file goes
        if error.path == target:
            raise
        raise DiskFullError(target, error.needed_bytes, error.exact) from error
    except OSError as error:
        if error.errno not in NO_SPACE_ERRNOS:
            raise
        written = tmp_path.stat().st_size if tmp_path.exists() else 0
        raise DiskFullError(
            target, needed_bytes or written, exact=needed_bytes is not None
        ) from error
    finally:
        tmp_path.unlink(missing_ok=True)
        os.close(fd)


def write_bytes_atomic(target: Path | str, payload: bytes, mode: int = 0o644) -> Path:
    """Write ``payload`` to ``target`` atomically and return the target path.

    Raises:
        DiskFullError: the payload does not fit on the file system.
    """
    with atomic_path(target, mode, needed_bytes=len(payload)) as tmp_path:
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
        DiskFullError: the file system ran out of room while the folder was staged (named by
            the file's final path, or ``target`` when no writer knew which file).
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
    free_at_start = free_bytes(staging)
    try:
        try:
            yield staging
        except DiskFullError as error:  # name the file where it was going, not the staging copy
            if not error.path.is_relative_to(staging):
                raise
            final = target / error.path.relative_to(staging)
            raise DiskFullError(final, error.needed_bytes, error.exact) from error
        except OSError as error:
            if error.errno not in NO_SPACE_ERRNOS:
                raise
            # Scratch files are gone by now: the work needed more than was free.
            staged = sum(f.stat().st_size for f in staging.rglob("*") if f.is_file())
            raise DiskFullError(target, max(staged, free_at_start), exact=False) from error
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
