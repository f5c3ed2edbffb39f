"""Licence requests as data: a request (who, for which project, which use, which tracks) is
recorded in the warehouse (``licence_requests``), and answered from a template per use
(``assets_library/catalog_site/templates/licence_answer_<use>.txt.j2``), the answer stored
beside it. The site's licences page has the form; ``lofi catalog serve`` records what it
posts; ``lofi licence answer`` answers.

The requester's address lives in the warehouse only: logs and listings show ``request_id``.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from lofi_assets.catalog.licence import CREATOR_LICENCE, Licence
from lofi_assets.catalog.newsletter import MAX_ADDRESS_CHARS, plain_address
from lofi_assets.catalog.templates import render
from lofi_assets.errors import LofiError
from lofi_assets.publish.warehouse import Warehouse

REQUESTS_TABLE = """CREATE TABLE IF NOT EXISTS licence_requests (
    request_id VARCHAR PRIMARY KEY,
    received_at VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    email VARCHAR NOT NULL,
    project VARCHAR NOT NULL,
    licence_use VARCHAR NOT NULL,
    tracks VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    answer VARCHAR NOT NULL,
    answered_at VARCHAR NOT NULL
)"""
# creator: the free licence applies (the answer confirms it with the credit line);
# commercial: advertising, resale; sync: film, TV, games (licence.py: commercial_terms).
USES = ("creator", "commercial", "sync")
MAX_FIELD_CHARS = 2000
# ZWNJ/ZWJ: some scripts and emoji sequences need them; every other control or format
# character (terminal escapes, bidi overrides) is refused, as they would reach the
# operator's terminal through `lofi licence list/answer`.
_KEPT_FORMAT_CHARS = frozenset({"\u200c", "\u200d"})


class LicenceRequestError(LofiError):
    """A request with a missing field or an unknown use, or an answer to no request."""


@dataclass(frozen=True)
class LicenceRequest:
    """What a requester sends: ``use`` one of ``USES``, ``tracks`` titles, ISRCs or page URLs."""

    name: str
    email: str
    project: str
    use: str
    tracks: str

    def __repr__(self) -> str:  # never the address
        return f"LicenceRequest({self.use}, {self.project[:40]!r})"


@dataclass(frozen=True)
class LicenceAnswer:
    request_id: str
    subject: str
    body: str


class LicenceRequests:
    """The requests and their answers in the warehouse."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self.warehouse.execute(REQUESTS_TABLE)

    def record(self, request: LicenceRequest) -> str:
        """Store ``request`` as open; returns its id (``LR00001``, in order of arrival).

        Raises:
            LicenceRequestError: a field is empty or too long, the address is not one, or the
                use is not one of ``USES``.
        """
        fields = {"name": request.name, "e-mail": request.email, "project": request.project,
                  "tracks": request.tracks}  # fmt: skip
        for label, value in fields.items():
            if not value.strip() or len(value) > MAX_FIELD_CHARS:
                raise LicenceRequestError(
                    f"The {label} is {'empty' if not value.strip() else 'too long'}: fill it in "
                    f"(at most {MAX_FIELD_CHARS} characters)"
                )
            multi_line = label in ("project", "tracks")
            if _has_control(value.replace("\r\n", "\n"), allow_new_lines=multi_line):
                raise LicenceRequestError(
                    f"The {label} holds control characters"
                    f"{'' if multi_line else ' or line breaks'}: write it as plain text"
                )
        email = plain_address(request.email)
        if email is None:
            raise LicenceRequestError(
                "That is not an e-mail address: give one to answer to, like name@example.com "
                f"(ASCII, no spaces, quotes or commas, at most {MAX_ADDRESS_CHARS} characters)"
            )
        if request.use not in USES:
            raise LicenceRequestError(f"Unknown use {request.use[:40]!r}: one of {', '.join(USES)}")
        try:
            return self._insert(request, email)
        except self.warehouse.conflict_errors():  # another request took the number meanwhile
            return self._insert(request, email)

    def _insert(self, request: LicenceRequest, email: str) -> str:
        with self.warehouse.transaction() as transaction:
            count = transaction.query("SELECT count(*) AS n FROM licence_requests")[0]["n"]
            request_id = f"LR{int(count) + 1:05d}"
            transaction.execute(
                "INSERT INTO licence_requests VALUES (?, ?, ?, ?, ?, ?, ?, 'open', '', '')",
                [request_id, _now(), request.name.strip(), email,
                 _lines(request.project), request.use, _lines(request.tracks)],
            )  # fmt: skip
        return request_id

    def row(self, request_id: str) -> dict:
        rows = self.warehouse.query(
            "SELECT * FROM licence_requests WHERE request_id = ?", [request_id]
        )
        if not rows:
            raise LicenceRequestError(f"No licence request {request_id}: see `lofi licence list`")
        return rows[0]

    def open_requests(self) -> list[dict]:
        """Open requests, oldest first: id, received, use, project (no address)."""
        return self.warehouse.query(
            "SELECT request_id, received_at, licence_use, project FROM licence_requests "
            "WHERE status = 'open' ORDER BY request_id"
        )

    def answer(
        self, request_id: str, *, artist: str, site_url: str, licence: Licence = CREATOR_LICENCE
    ) -> LicenceAnswer:
        """Render the answer for the request's use, store it and mark the request answered
        (again the same text when asked twice).

        Raises:
            LicenceRequestError: no request ``request_id``.
        """
        row = self.row(request_id)
        body = render(
            f"licence_answer_{row['licence_use']}.txt.j2",
            request=row, licence=licence, artist=artist, site_url=site_url.rstrip("/"),
            attribution=licence.attribution.format(
                title="<track title>", artist=artist, site_url=site_url),
        )  # fmt: skip
        project = " ".join(row["project"].split())  # one line: it is the subject's end
        subject = f"Your licence request {request_id}: {project[:60]}"
        self.warehouse.execute(
            "UPDATE licence_requests SET status = 'answered', answer = ?, answered_at = ? "
            "WHERE request_id = ?",
            [body, _now(), request_id],
        )
        return LicenceAnswer(request_id, subject, body)


def _has_control(text: str, *, allow_new_lines: bool) -> bool:
    allowed = "\n\t" if allow_new_lines else ""
    return any(
        unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")
        and c not in allowed
        and c not in _KEPT_FORMAT_CHARS
        for c in text
    )


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
