"""The test suite's own machinery: what CI relies on to keep its time."""

import pytest


@pytest.mark.xdist_group("suite_setup")
def test_xdist_groups_keep_their_tests_on_one_worker(request):
    """Module fixtures (a day's release, a trained model) are built once per worker, and the
    server-starting tests take turns, only while ``xdist_group`` works: pytest-xdist marks a
    grouped test by suffixing its node id with ``@<group>``, which pytest 9.2 silently ignored
    (so pyproject.toml keeps pytest below it)."""
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not run by pytest-xdist with --dist loadgroup")
    assert request.node.nodeid.endswith("@suite_setup"), request.node.nodeid
