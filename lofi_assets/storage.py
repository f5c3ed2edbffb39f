"""Atomic file writes: a reader never sees half a file, a crash never leaves one behind.

Every artifact is written to a temporary sibling and renamed into place; ``os.replace`` is
atomic on POSIX file systems when source and target share a directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(target: Path | str, mode: int = 0o644) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` on success.

    The file is created private (mkstemp's 0600) and given ``mode`` only when complete, so a
    secret written with ``mode=0o600`` is never readable by others, even for a moment. On any
    exception the temporary file is removed and ``target`` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp_name)
    try:
        yield tmp_path
        os.chmod(tmp_path, mode)
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


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
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
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
