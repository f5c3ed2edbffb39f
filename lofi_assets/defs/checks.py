"""What every group's asset checks share: verdicts named by their spec, the validator verdict,
the unreadable-file verdict and the ``inputs_current`` check of the publishing assets.

Each group's checks live beside its assets, one module a group (``defs/assets/<group>_checks.py``):
their specs (one property each, ``blocking=True`` where a failure would publish something
broken), the limits taken from the domain's constants, and pure functions from measurements
of the files as written to disk to ``dg.AssetCheckResult``s. Every blocking check is tested on
a failing input (``lofi_assets_tests/test_checks.py``).
"""

from collections.abc import Generator, Iterable, Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from lofi_assets.lineage import StaleInputsError, stale_inputs


def verdict(
    spec: dg.AssetCheckSpec,
    passed: bool,
    metadata: Mapping[str, Any] | None = None,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> dg.AssetCheckResult:
    """The result of ``spec``'s check: its name is written once, in the spec."""
    return dg.AssetCheckResult(
        check_name=spec.name, passed=passed, metadata=dict(metadata or {}), severity=severity
    )


def unreadable(spec: dg.AssetCheckSpec, reason: str) -> dg.AssetCheckResult:
    """A failed verdict for a file that could not be read at all."""
    return verdict(spec, False, {"reason": reason})


def check_no_problems(
    check: dg.AssetCheckSpec | str, found_problems: list[str]
) -> dg.AssetCheckResult:
    """A validator's verdict: passed when it found nothing, the problems listed otherwise."""
    return dg.AssetCheckResult(
        check_name=check.name if isinstance(check, dg.AssetCheckSpec) else check,
        passed=not found_problems,
        metadata={"problems": dg.MetadataValue.json(found_problems)},
    )


def same_checks_for(asset: str, specs: Iterable[dg.AssetCheckSpec]) -> list[dg.AssetCheckSpec]:
    """The same checks (names, blocking and descriptions) on another asset: the weekly
    long-form release is judged like the daily one (issue 16 §1)."""
    return [
        dg.AssetCheckSpec(
            spec.name, asset=asset, blocking=spec.blocking, description=spec.description
        )
        for spec in specs
    ]


INPUTS_CURRENT = "inputs_current"


def inputs_current_spec(asset: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        INPUTS_CURRENT,
        asset=asset,
        blocking=True,
        description="Every file the upstream release records were built from is still the file "
        "upstream holds (SHA-256): no video of an older mix, no mix of re-rendered masters",
    )


def check_inputs_current(
    root: Path, built_from: dict[str, dict[str, str]]
) -> Generator[dg.AssetCheckResult, None, dg.AssetCheckResult]:
    """Judge the recorded input hashes of the upstream records (asset name → input_sha256).

    Publishing assets run it *before* anything is sent (``current = yield from …``): on a
    stale combination it yields the failed result, so the UI shows the blocking check's
    verdict beside the failure, and raises ``StaleInputsError`` (lineage.py): nothing goes
    out. Passing, it returns the result to ride with the materialization.
    """
    stale = stale_inputs(root, built_from)
    result = dg.AssetCheckResult(
        check_name=INPUTS_CURRENT,
        passed=not stale,
        metadata={
            "checked_inputs": dg.MetadataValue.int(sum(map(len, built_from.values()))),
            "stale": dg.MetadataValue.json([item.describe() for item in stale]),
        },
    )
    if stale:
        yield result
        raise StaleInputsError(stale)
    return result
