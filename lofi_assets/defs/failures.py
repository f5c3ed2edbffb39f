"""Domain errors become Dagster failures with the domain's message (it already says the fix)."""

import contextlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from lofi_assets.errors import LofiError

DATA_DIR_ENV = "LOFI_DATA_DIR"


@contextlib.contextmanager
def domain_failures(data_root: Path) -> Iterator[None]:
    """Raise ``dg.Failure`` (not retried) for bad input; name the folder when it can't be written."""
    try:
        yield
    except LofiError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error
    except PermissionError as error:
        raise dg.Failure(
            description=(
                f"Cannot write under {data_root} ({error.strerror}: {error.filename}): make it "
                f"writable or set {DATA_DIR_ENV} to a folder you can write to"
            ),
            allow_retries=False,
        ) from error
