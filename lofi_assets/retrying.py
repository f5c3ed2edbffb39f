"""The one retry loop: call, and after an error worth retrying, wait (or give up) and call again.

Each caller keeps its own policy in two small functions, because the policies differ for
reasons of their own: YouTube calls back off exponentially with jitter and give up after a
number of attempts (``publish/youtube.Retrier``), identifier conflicts retry at once a fixed
number of times (``publish/identifiers``), a locked DuckDB file is waited on until a deadline
(``publish/warehouse``). The resumable upload keeps its own loop (``publish/upload``): between
attempts it asks the server how much it kept, which is no retry of the same call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def call_with_retries(
    call: Callable[[], T],
    retriable: Callable[[BaseException], bool],
    wait: Callable[[int, BaseException], None],
) -> T:
    """``call()``'s result, calling again after each error that ``retriable`` accepts.

    ``wait(failures, error)`` runs after each such error (``failures`` counts them from 1): it
    sleeps before the next attempt, or raises the caller's own error to give up. Any other
    error propagates at once.
    """
    failures = 0
    while True:
        try:
            return call()
        except Exception as error:
            if not retriable(error):
                raise
            failures += 1
            wait(failures, error)
