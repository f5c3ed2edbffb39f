"""Domain errors become Dagster failures with the domain's message (it already says the fix).

Every failure leaves a step with its secrets masked (redaction.py): the description, its
metadata, and every exception of the chain Dagster stores in the event log. Importing this
module (every asset module does) masks secrets in the process's log records too.
"""

import contextlib
import errno
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from lofi_assets.channel import DEFAULT_SLOTS
from lofi_assets.defs.partitions import track_partition_key
from lofi_assets.errors import LofiError
from lofi_assets.publish.youtube import TokenServerUnreachableError
from lofi_assets.redaction import install_log_redaction, redact, redact_exception
from lofi_assets.storage import TruncatedMediaError

# Wherever a step runs (run worker, forked step, Celery worker), it imports this module.
install_log_redaction()

DATA_DIR_ENV = "LOFI_DATA_DIR"
# A data root that cannot take files: no permission, read-only, full, or a file in the way.
UNWRITABLE_ERRNOS = frozenset(
    {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.ENOTDIR, errno.EEXIST}
)


def remake_fix(data_root: Path, path: Path) -> str | None:
    """The fix "re-materialize <asset> for <partition>" of an artifact under ``data_root``,
    read off the data layout (``<asset>/<date>/<slot>/…`` or ``<asset>/<date>/…``, DESIGN.md); None
    for a file outside it (or in a staging folder)."""
    try:
        parts = Path(path).resolve().relative_to(Path(data_root).resolve()).parts
    except ValueError:
        return None
    if len(parts) < 3 or any(part.startswith(".") for part in parts[:-1]):
        return None
    asset, date = parts[0], parts[1]
    key = (
        track_partition_key(date, parts[2])
        if len(parts) > 3 and parts[2] in DEFAULT_SLOTS
        else date
    )
    return f"re-materialize {asset} for {key}"


@contextlib.contextmanager
def domain_failures(data_root: Path) -> Iterator[None]:
    """Raise ``dg.Failure`` (not retried: bad input, a truncated file or a full disk fails
    again the same way) for a domain error; name the folder when it can't be written, and the
    asset and partition to re-make when an artifact is cut short.

    An unreachable OAuth token server becomes a ``dg.Failure`` that names the server, retries
    allowed (the network may come back), in place of google-auth's TransportError traceback.
    Any other exception passes through unchanged in type. Whatever leaves, its message and
    every message of its chain are masked (``redact_exception``).
    """
    try:
        yield
    except LofiError as error:
        if isinstance(error, TruncatedMediaError):
            fix = remake_fix(data_root, error.path)
            error = error.with_fix(fix) if fix else error
        reason = redact(getattr(error, "reason", ""))  # e.g. YouTube's quotaExceeded
        raise dg.Failure(
            description=redact(str(error)),
            metadata={"reason": reason} if reason else None,
            allow_retries=False,
        ) from redact_exception(error)
    except TokenServerUnreachableError as error:
        raise dg.Failure(
            description=redact(str(error)),
            metadata={"reason": "token_server_unreachable"},
            allow_retries=True,
        ) from redact_exception(error)
    except OSError as error:
        if error.errno not in UNWRITABLE_ERRNOS:
            redact_exception(error)
            raise
        raise dg.Failure(
            description=redact(
                f"Cannot write under {data_root} ({error.strerror}: {error.filename}): make it "
                f"a writable folder or set {DATA_DIR_ENV} to one"
            ),
            allow_retries=False,
        ) from redact_exception(error)
    except Exception as error:
        redact_exception(error)  # in place: the same exception goes on
        raise
