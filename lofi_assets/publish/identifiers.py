"""Identifiers a streaming release needs: ISRCs issued by our registry, UPCs from a pool.

**ISRC** (ISO 3901; the IFPI *ISRC Handbook*): ``CC-XXX-YY-NNNNN``, twelve characters once the
display hyphens are dropped: a country code (ISO 3166-1 alpha-2, or one of the special codes
the International ISRC Agency assigns, such as QM or QZ), a three-character registrant code,
the two-digit year of reference and a five-digit designation that must never be used twice.
The format and country check is python-stdnum's (``stdnum.isrc``).

An ISRC belongs to one sound recording for ever: re-delivering the same recording must give
the same code, and a different recording must never get it. So the registry (a warehouse
table) keys every code by the recording's identity (:class:`RecordingIdentity`): the day and
slot it was made for plus the SHA-256 of the master's decoded samples. Display names (the
channel, the track titles) are not part of it, so renaming the channel keeps every ISRC; a
re-rendered master that sounds different (another SoundFont, a new chain) is a new recording
and gets a new code, while the old one stays issued to the old recording. Rows written before
this rule were keyed ``<channel name>|<date>|<slot>``; the first time such a slot is made
again its row is taken over by the recording (:meth:`IsrcRegistry.issue`), so no recording
that already has an ISRC is given another. The primary key plus a retry on conflict keeps two
concurrent runs from issuing the same designation.

**UPC / EAN** (a GTIN, GS1 General Specifications): the pool the distributor sold or assigned
us may hold 12-digit UPC-A codes (GTIN-12) and 13-digit EAN-13 codes (GTIN-13). Both end in
the same mod-10 check digit, weighted 3, 1, 3 … from the right (GS1 General Specifications,
"Check digit calculation"), checked with ``stdnum.ean``. A GTIN is one number whatever its
length: GS1 right-justifies every GTIN in a 14-digit field filled with leading zeros to store
and compare it (GS1 General Specifications, GTIN data structures; GS1 XML Technical User
Guide, "Communicating GS1 trade item numbers"), so ``036000291452``, ``0036000291452`` and
``00036000291452`` are one code. A 14-digit code whose indicator digit (the first) is 0 is
therefore read as the GTIN-12 or GTIN-13 it pads, and written in that form; one whose
indicator digit is 1–9 numbers a case or carton of trade items (or a variable-measure item),
not a release, and is refused. An 8-digit EAN-8 (GTIN-8) is refused too: it is for packages
too small for an EAN-13, and stores and DDEX take a release's code as 12 or 13 digits only
(DDEX Data Dictionary, ``ICPN``: "12 or 13 digits"; distributors ask for a UPC or EAN-13).
Each code is given to one release (the day's release, whatever the channel is called), for
good, and written in the form it was given, a padded GTIN-14 in its 12- or 13-digit form (see
``distribution.py`` for each output's form).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from stdnum import ean as stdnum_ean
from stdnum import isrc as stdnum_isrc
from stdnum.exceptions import InvalidComponent, ValidationError

from lofi_assets.errors import ConfigError, LofiError
from lofi_assets.publish.warehouse import Transaction, Warehouse
from lofi_assets.retrying import call_with_retries

ISRC_PATTERN = re.compile(r"^([A-Z]{2})-([A-Z0-9]{3})-(\d{2})-(\d{5})$")
MAX_DESIGNATION = 99_999
CONFLICT_RETRIES = 50
PRODUCT_CODE_DIGITS = {12: "UPC-A (GTIN-12)", 13: "EAN-13 (GTIN-13)"}
GTIN_14_DIGITS = 14  # the full GTIN field; shorter GTINs are padded into it with zeros
EAN_8_DIGITS = 8
RECORDING_KEY_PREFIX = "recording|"
RELEASE_KEY_PREFIX = "release|"


class IdentifierError(LofiError):
    """No identifier can be issued: a bad prefix, an exhausted range or pool."""


class InvalidProductCodeError(ConfigError):
    """A UPC/EAN that is not a GTIN-12 or GTIN-13 (or one padded to 14 digits) with a correct
    check digit."""


def valid_isrc(code: str) -> bool:
    """``code`` is an ISRC in display form ``CC-XXX-YY-NNNNN`` with a known country code."""
    return bool(ISRC_PATTERN.match(code)) and stdnum_isrc.is_valid(code)


def compact_isrc(code: str) -> str:
    """The 12-character form (no hyphens) that ID3 ``TSRC`` and DDEX ``ISRC`` carry."""
    return stdnum_isrc.compact(code)


@dataclass(frozen=True)
class ProductCode:
    """A release's UPC/EAN as it was given: 12 digits (UPC-A) or 13 (EAN-13); a GTIN-14
    with leading zeros is held in its 12- or 13-digit form."""

    digits: str

    @property
    def kind(self) -> str:
        return PRODUCT_CODE_DIGITS[len(self.digits)]

    @property
    def gtin13(self) -> str:
        """The 13-digit form: a UPC-A with a leading 0. GS1 pads a GTIN-12 with zeros on the
        left to compare it with longer GTINs: both forms are one code."""
        return self.digits.zfill(13)


def gtin_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit of ``body`` (the code without its last digit)."""
    return int(stdnum_ean.calc_check_digit(body))


def parse_product_code(text: str) -> ProductCode:
    """A UPC-A or EAN-13 read from ``text`` (spaces and hyphens as printed under a barcode
    are dropped).

    A GTIN-14 whose indicator digit is 0 is the GTIN-12/13 it pads (GS1 General
    Specifications: shorter GTINs are right-justified in 14 digits with leading zeros) and is
    returned in that form: ``00036000291452`` → UPC-A ``036000291452``, ``04006381333931`` →
    EAN-13 ``4006381333931``.

    Raises:
        InvalidProductCodeError: not 12, 13 or 14 ASCII digits; an EAN-8 (stores take 12 or
            13 digits for a release); a GTIN-14 with an indicator digit 1–9 (a case of trade
            items); or a wrong check digit. The message names the code and the fix.
    """
    digits = stdnum_ean.compact(text)
    if not (digits.isascii() and digits.isdigit()):
        digits = ""  # refused below with the "not a product code" message
    if len(digits) == EAN_8_DIGITS:
        raise InvalidProductCodeError(
            f"UPC/EAN {text!r} is an EAN-8 (GTIN-8), a code for packages too small for an "
            "EAN-13: stores and DDEX take a release's code as the 12 digits of a UPC-A or the "
            "13 of an EAN-13 (DDEX ICPN), so ask your distributor for one of those"
        )
    if len(digits) == GTIN_14_DIGITS and digits[0] != "0":
        raise InvalidProductCodeError(
            f"GTIN-14 {digits} has indicator digit {digits[0]}: it numbers a case or carton "
            "of trade items, not a release: use the UPC-A or EAN-13 your distributor gave you "
            "(a GTIN-14 starting with 0 is read as the UPC-A or EAN-13 it pads)"
        )
    if len(digits) not in (*PRODUCT_CODE_DIGITS, GTIN_14_DIGITS):
        raise InvalidProductCodeError(
            f"UPC/EAN {text!r} is not a product code: use the 12 digits of a UPC-A or the 13 "
            "of an EAN-13 that your distributor gave you"
        )
    try:
        stdnum_ean.validate(digits)
    except ValidationError as error:
        expected = gtin_check_digit(digits[:-1])
        kind = PRODUCT_CODE_DIGITS.get(len(digits), "GTIN-14")
        raise InvalidProductCodeError(
            f"{kind} {digits} fails the GS1 check digit (it ends in {digits[-1]}, the digits "
            f"before it give {expected}): copy the code again from your distributor, or take "
            "it out of the pool"
        ) from error
    if len(digits) == GTIN_14_DIGITS:
        # Zero padding changes no check digit (zeros weigh nothing), so the shorter form
        # validated above is valid too. A 13-digit form starting with 0 is a GTIN-12.
        digits = digits[1:]
        digits = digits[1:] if digits[0] == "0" else digits
    return ProductCode(digits)


def valid_product_code(text: str) -> bool:
    """``text`` is a UPC-A or EAN-13 (or one padded to a GTIN-14) with a correct check
    digit."""
    try:
        parse_product_code(text)
    except InvalidProductCodeError:
        return False
    return True


def parse_registrant(prefix: str) -> tuple[str, str]:
    """``"QZ-LFE"`` → ("QZ", "LFE"); the fix is named when the prefix is malformed."""
    match = re.fullmatch(r"([A-Z]{2})-?([A-Z0-9]{3})", prefix.strip().upper())
    if not match:
        raise ConfigError(
            f"ISRC registrant prefix {prefix!r}: use the country and registrant code your "
            "national ISRC agency issued, e.g. QZ-LFE"
        )
    try:
        stdnum_isrc.validate(f"{match.group(1)}{match.group(2)}0000001")
    except InvalidComponent as error:
        raise ConfigError(
            f"ISRC registrant prefix {prefix!r}: {match.group(1)} is neither an ISO 3166-1 "
            "country code nor a code the International ISRC Agency assigns (e.g. QZ, QM): use "
            "the prefix your national ISRC agency issued"
        ) from error
    return match.group(1), match.group(2)


@dataclass(frozen=True)
class RecordingIdentity:
    """What makes a sound recording the one an ISRC was issued to.

    ``audio_sha256`` is the SHA-256 of the master's decoded samples
    (``distribution.recording_sha256``): the same master gives the same identity whatever the
    channel or the tracks are called, and a master that sounds different does not. ``date`` and
    ``slot`` say which partition made it (and find rows keyed the old way).
    """

    date: str  # YYYY-MM-DD
    slot: str
    audio_sha256: str

    @property
    def key(self) -> str:
        return f"{RECORDING_KEY_PREFIX}{self.date}|{self.slot}|{self.audio_sha256}"

    @property
    def slot_key_prefix(self) -> str:
        """Every recording ever keyed to this date and slot starts with this."""
        return f"{RECORDING_KEY_PREFIX}{self.date}|{self.slot}|"

    def legacy_key(self, channel_name: str) -> str:
        """How a row issued before recording identities was keyed."""
        return f"{channel_name}|{self.date}|{self.slot}"


def release_key(date: str) -> str:
    """The day's release, whatever the channel is called: what a UPC is assigned to."""
    return f"{RELEASE_KEY_PREFIX}{date}"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _retrying_conflicts(warehouse: Warehouse, work: Callable[[Transaction], str], what: str) -> str:
    """Run ``work`` in a transaction, again when a concurrent run took the same key first."""
    conflicts = warehouse.conflict_errors()

    def attempt() -> str:
        with warehouse.transaction() as transaction:
            return work(transaction)

    def wait(failures: int, error: BaseException) -> None:
        if failures >= CONFLICT_RETRIES:
            raise IdentifierError(f"Could not issue {what}: too many concurrent conflicts")
        time.sleep(0.01 * failures)

    return call_with_retries(attempt, lambda error: isinstance(error, conflicts), wait)


def _legacy_row(
    rows: list[dict[str, str]], current_key: str, new_prefix: str
) -> dict[str, str] | None:
    """The row keyed the old way that a key is to take over: the one under the channel's
    current name, else the first issued (the code stores saw first)."""
    legacy = [row for row in rows if not row["key"].startswith(new_prefix)]
    exact = [row for row in legacy if row["key"] == current_key]
    return (exact or legacy or [None])[0]


class IsrcRegistry:
    def __init__(self, warehouse: Warehouse, registrant_prefix: str) -> None:
        self.warehouse = warehouse
        self.country, self.registrant = parse_registrant(registrant_prefix)

    def issue(
        self,
        track: str | RecordingIdentity,
        year: int | None = None,
        *,
        channel_name: str | None = None,
    ) -> str:
        """The ISRC of ``track``: the one issued before, else the next free designation.

        For a :class:`RecordingIdentity` with no code yet, a row keyed the old way
        (``<channel>|<date>|<slot>``, preferring ``channel_name``) is taken over, once per
        date and slot: that recording keeps the ISRC it was first given.

        Raises:
            IdentifierError: every designation of the registrant's year is used.
        """
        key = track.key if isinstance(track, RecordingIdentity) else track
        year_text = f"{(year or dt.datetime.now(dt.UTC).year) % 100:02d}"
        stem = f"{self.country}-{self.registrant}-{year_text}-"

        def issue_once(transaction: Transaction) -> str:
            existing = transaction.query(
                "SELECT isrc FROM isrc_registry WHERE track_key = ?", [key]
            )
            if existing:
                return existing[0]["isrc"]
            if isinstance(track, RecordingIdentity):
                adopted = self._adopt_legacy(transaction, track, channel_name)
                if adopted:
                    return adopted
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
                [isrc, key, year_text, designation, _now()],
            )
            return isrc

        return _retrying_conflicts(self.warehouse, issue_once, f"an ISRC for {key}")

    @staticmethod
    def _adopt_legacy(
        transaction: Transaction, recording: RecordingIdentity, channel_name: str | None
    ) -> str | None:
        keyed_already = transaction.query(
            "SELECT count(*) AS n FROM isrc_registry WHERE track_key LIKE ?",
            [recording.slot_key_prefix + "%"],
        )[0]["n"]
        if keyed_already:  # this slot was migrated: a new master is a new recording
            return None
        rows = transaction.query(
            "SELECT track_key AS key, isrc FROM isrc_registry WHERE track_key LIKE ? "
            "ORDER BY issued_at, isrc",
            ["%" + recording.legacy_key("")],
        )
        row = _legacy_row(rows, recording.legacy_key(channel_name or ""), RECORDING_KEY_PREFIX)
        if row is None:
            return None
        transaction.execute(
            "UPDATE isrc_registry SET track_key = ? WHERE track_key = ?",
            [recording.key, row["key"]],
        )
        return row["isrc"]

    def issued(self) -> dict[str, str]:
        rows = self.warehouse.query("SELECT track_key, isrc FROM isrc_registry")
        return {row["track_key"]: row["isrc"] for row in rows}

    def duplicate_count(self) -> int:
        """How many ISRCs the registry holds for more than one track (0 when it is sound)."""
        rows = self.warehouse.query(
            "SELECT count(*) AS n FROM (SELECT isrc FROM isrc_registry GROUP BY isrc "
            "HAVING count(*) > 1) AS repeated"
        )
        return int(rows[0]["n"])


class UpcPool:
    """Codes from ``pool`` (UPC-A or EAN-13, as given; a GTIN-14 with leading zeros in its
    12/13-digit form), each assigned to one release for good. Two codes are the same when
    their zero-padded forms are (:attr:`ProductCode.gtin13`): that is the pool's identity.

    Raises:
        InvalidProductCodeError: a code of the pool is malformed, fails its check digit, or
            is in the pool twice (in the same or another length).
    """

    def __init__(self, warehouse: Warehouse, pool: Sequence[str]) -> None:
        codes, invalid, seen = [], [], {}
        for text in pool:
            try:
                code = parse_product_code(text)
            except InvalidProductCodeError as error:
                invalid.append(str(error))
                continue
            if code.gtin13 in seen:  # GS1: the same number padded with zeros is one GTIN
                invalid.append(
                    f"{stdnum_ean.compact(text)} is the same GTIN as {seen[code.gtin13]}, which "
                    "is already in the pool: keep one of them"
                )
                continue
            seen[code.gtin13] = stdnum_ean.compact(text)
            codes.append(code)
        if invalid:
            more = f" (and {len(invalid) - 3} more)" if len(invalid) > 3 else ""
            raise InvalidProductCodeError(
                f"The UPC pool has {len(invalid)} unusable code(s): "
                + "; ".join(invalid[:3])
                + more
            )
        self.warehouse, self.pool = warehouse, codes

    def assign(self, release: str, *, legacy_key: str | None = None) -> str:
        """The code of ``release`` (see :func:`release_key`), as it was given in the pool.

        When ``release`` has none yet and ``legacy_key`` (``<channel>|<date>``) is given, a
        code assigned under the old channel-name keys to that date is taken over, so a release
        keeps the UPC it was first given.

        Raises:
            IdentifierError: every code of the pool is assigned.
        """

        def assign_once(transaction: Transaction) -> str:
            existing = transaction.query(
                "SELECT upc FROM upc_assignments WHERE release_key = ?", [release]
            )
            if existing:
                return existing[0]["upc"]
            if legacy_key is not None:
                date_suffix = "|" + legacy_key.rsplit("|", 1)[-1]
                rows = transaction.query(
                    "SELECT release_key AS key, upc FROM upc_assignments "
                    "WHERE release_key LIKE ? ORDER BY assigned_at, upc",
                    ["%" + date_suffix],
                )
                row = _legacy_row(rows, legacy_key, RELEASE_KEY_PREFIX)
                if row is not None:
                    transaction.execute(
                        "UPDATE upc_assignments SET release_key = ? WHERE release_key = ?",
                        [release, row["key"]],
                    )
                    return row["upc"]
            used = {
                parse_product_code(r["upc"]).gtin13
                for r in transaction.query("SELECT upc FROM upc_assignments")
                if valid_product_code(r["upc"])
            }
            free = next((code for code in self.pool if code.gtin13 not in used), None)
            if free is None:
                raise IdentifierError(
                    f"The UPC pool is exhausted ({len(self.pool)} codes, all assigned): "
                    "add codes from your distributor to the pool"
                )
            transaction.execute(
                "INSERT INTO upc_assignments VALUES (?, ?, ?)", [free.digits, release, _now()]
            )
            return free.digits

        return _retrying_conflicts(self.warehouse, assign_once, f"a UPC for {release}")
