"""The one retry loop (lofi_assets/retrying.py): what it retries, how it waits and gives up."""

import pytest

from lofi_assets.retrying import call_with_retries


class Flaky:
    """Fails with ``errors`` in turn, then returns "done"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors, self.calls = list(errors), 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def test_retriable_errors_are_waited_out_and_counted():
    waits = []
    flaky = Flaky(ConnectionError("a"), ConnectionError("b"))
    result = call_with_retries(
        flaky,
        lambda error: isinstance(error, ConnectionError),
        lambda failures, error: waits.append((failures, str(error))),
    )
    assert (result, flaky.calls, waits) == ("done", 3, [(1, "a"), (2, "b")])


def test_an_error_that_is_not_retriable_propagates_at_once():
    flaky = Flaky(ValueError("refused"))
    with pytest.raises(ValueError, match="refused"):
        call_with_retries(flaky, lambda error: isinstance(error, ConnectionError), print)
    assert flaky.calls == 1


def test_wait_gives_up_with_the_callers_error():
    def give_up_after_two(failures: int, error: BaseException) -> None:
        if failures >= 2:
            raise TimeoutError(f"gave up after {failures}: {error}")

    flaky = Flaky(*[ConnectionError("down")] * 5)
    with pytest.raises(TimeoutError, match="gave up after 2: down"):
        call_with_retries(flaky, lambda error: True, give_up_after_two)
    assert flaky.calls == 2
