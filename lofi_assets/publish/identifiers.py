"""Identifiers a streaming release needs: ISRCs issued by our registry, UPCs from a pool.

An ISRC is ``CC-XXX-YY-NNNNN``: country, registrant code, the two-digit year of issue and a
five-digit designation that must never be used twice. The registry (a warehouse table) keys
every code by the track it was issued to, so a re-run or a retry gets the code first issued,
and the primary key plus a retry on conflict keeps two concurrent runs from issuing the same
designation. UPCs (EAN-13) come from a pool the distributor sold or assigned us; each is given
to one release, for good.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Sequence

from lofi_assets.errors import ConfigError, LofiError
from lofi_assets.publish.warehouse import Transaction, Warehouse

ISRC_PATTERN = re.compile(r"^([A-Z]{2})-([A-Z0-9]{3})-(\d{2})-(\d{5})$")
MAX_DESIGNATION = 99_999
CONFLICT_RETRIES = 50


class IdentifierError(LofiError):
    """No identifier can be issued: a bad prefix, an exhausted range or pool."""


def valid_isrc(code: str) -> bool:
    return bool(ISRC_PATTERN.match(code))


def ean13_check_digit(first_twelve: str) -> int:
    digits = [int(c) for c in first_twelve]
    total = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return (10 - total % 10) % 10


def valid_ean13(code: str) -> bool:
    return bool(re.fullmatch(r"\d{13}", code)) and ean13_check_digit(code[:12]) == int(code[12])


def parse_registrant(prefix: str) -> tuple[str, str]:
    """``"QZ-LFE"`` → ("QZ", "LFE"); the fix is named when the prefix is malformed."""
    match = re.fullmatch(r"([A-Z]{2})-?([A-Z0-9]{3})", prefix.strip().upper())
    if not match:
        raise ConfigError(
            f"ISRC registrant prefix {prefix!r}: use the country and registrant code your "
            "national ISRC agency issued, e.g. QZ-LFE"
        )
    return match.group(1), match.group(2)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _retrying_conflicts(warehouse: Warehouse, work: Callable[[Transaction], str], what: str) -> str:
    """Run ``work`` in a transaction, again when a concurrent run took the same key first."""
    conflicts = warehouse.conflict_errors()
    for attempt in range(CONFLICT_RETRIES):
        try:
            with warehouse.transaction() as transaction:
                return work(transaction)
        except conflicts:
            time.sleep(0.01 * (attempt + 1))
    raise IdentifierError(f"Could not issue {what}: too many concurrent conflicts")


class IsrcRegistry:
    def __init__(self, warehouse: Warehouse, registrant_prefix: str) -> None:
        self.warehouse = warehouse
        self.country, self.registrant = parse_registrant(registrant_prefix)

    def issue(self, track_key: str, year: int | None = None) -> str:
        """The ISRC of ``track_key``: the one issued before, else the next free designation."""
        year_text = f"{(year or dt.datetime.now(dt.UTC).year) % 100:02d}"
        stem = f"{self.country}-{self.registrant}-{year_text}-"

        def issue_once(transaction: Transaction) -> str:
            existing = transaction.query(
                "SELECT isrc FROM isrc_registry WHERE track_key = ?", [track_key]
            )
            if existing:
                return existing[0]["isrc"]
            last = transaction.query(
                "SELECT max(designation) AS last FROM isrc_registry WHERE isrc LIKE ?",
                [stem + "%"],
            )[0]["last"]
            designation = int(last or 0) + 1
            if designation > MAX_DESIGNATION:
                raise IdentifierError(
                    f"Every designation of {stem}NNNNN is used: ask your ISRC agency "
                    "for another registrant code"
                )
            isrc = f"{stem}{designation:05d}"
            transaction.execute(
                "INSERT INTO isrc_registry VALUES (?, ?, ?, ?, ?)",
                [isrc, track_key, year_text, designation, _now()],
            )
            return isrc

        return _retrying_conflicts(self.warehouse, issue_once, f"an ISRC for {track_key}")

    def issued(self) -> dict[str, str]:
        rows = self.warehouse.query("SELECT track_key, isrc FROM isrc_registry")
        return {row["track_key"]: row["isrc"] for row in rows}


class UpcPool:
    def __init__(self, warehouse: Warehouse, pool: Sequence[str]) -> None:
        invalid = [code for code in pool if not valid_ean13(code)]
        if invalid:
            raise ConfigError(f"UPC pool codes fail the EAN-13 checksum: {invalid[:5]}")
        self.warehouse, self.pool = warehouse, list(pool)

    def assign(self, release_key: str) -> str:
        def assign_once(transaction: Transaction) -> str:
            existing = transaction.query(
                "SELECT upc FROM upc_assignments WHERE release_key = ?", [release_key]
            )
            if existing:
                return existing[0]["upc"]
            used = {r["upc"] for r in transaction.query("SELECT upc FROM upc_assignments")}
            free = next((code for code in self.pool if code not in used), None)
            if free is None:
                raise IdentifierError(
                    f"The UPC pool is exhausted ({len(self.pool)} codes, all assigned): "
                    "add codes from your distributor to the pool"
                )
            transaction.execute(
                "INSERT INTO upc_assignments VALUES (?, ?, ?)", [free, release_key, _now()]
            )
            return free

        return _retrying_conflicts(self.warehouse, assign_once, f"a UPC for {release_key}")
