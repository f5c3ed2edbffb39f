"""Domain errors become Dagster failures with the domain's message (it already says the fix)."""

import contextlib
import errno
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from lofi_assets.errors import LofiError

DATA_DIR_ENV = "LOFI_DATA_DIR"
# A data root that cannot take files: no permission, read-only, full, or a file in the way.
UNWRITABLE_ERRNOS = frozenset(
    {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.ENOTDIR, errno.EEXIST}
)


@contextlib.contextmanager
def domain_failures(data_root: Path) -> Iterator[None]:
    """Raise ``dg.Failure`` (not retried) for bad input; name the folder when it can't be written."""
    try:
        yield
    except LofiError as error:
        reason = getattr(error, "reason", "")  # e.g. YouTube's quotaExceeded
        raise dg.Failure(
            description=str(error),
            metadata={"reason": reason} if reason else None,
            allow_retries=False,
        ) from error
    except OSError as error:
        if error.errno not in UNWRITABLE_ERRNOS:
            raise
        raise dg.Failure(
            description=(
                f"Cannot write under {data_root} ({error.strerror}: {error.filename}): make it "
                f"a writable folder or set {DATA_DIR_ENV} to one"
            ),
            allow_retries=False,
        ) from error
