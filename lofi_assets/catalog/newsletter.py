"""The subscribers' weekly newsletter: the list (double opt-in, unsubscribe) in the warehouse,
and the HTML e-mail of the week's releases with a free pack, one message per subscriber.

A subscriber is ``pending`` until the link of the confirmation e-mail is followed
(``confirm``), then ``confirmed`` until an unsubscribe link is followed (``unsubscribe``); only
confirmed subscribers get the newsletter (double opt-in, as list providers and the GDPR's
consent rules expect). Each carries a random ``token`` (``secrets.token_urlsafe``) that the
links name, and an opaque ``subscriber_id`` (a SHA-256 prefix of the address) that is all
logs, metadata and records ever show: the address itself stays in the warehouse and in the
message sent to it.

Messages are built with the owner's report stack (``publish/report.py``: ``SmtpSettings``,
``send_message``, ``write_eml``) from ``assets_library/catalog_site/templates/
newsletter.html.j2``. Each carries ``List-Unsubscribe`` and ``List-Unsubscribe-Post``
(RFC 2369, RFC 8058) with the subscriber's link; ``lofi catalog serve`` answers it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import urlencode

from lofi_assets.catalog.templates import render
from lofi_assets.errors import LofiError
from lofi_assets.publish.warehouse import Warehouse

SUBSCRIBERS_TABLE = """CREATE TABLE IF NOT EXISTS newsletter_subscribers (
    subscriber_id VARCHAR PRIMARY KEY,
    email VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    token VARCHAR NOT NULL,
    subscribed_at VARCHAR NOT NULL,
    changed_at VARCHAR NOT NULL
)"""
SENDS_TABLE = """CREATE TABLE IF NOT EXISTS newsletter_sends (
    week VARCHAR NOT NULL,
    subscriber_id VARCHAR NOT NULL,
    message_id VARCHAR NOT NULL,
    sent_at VARCHAR NOT NULL,
    PRIMARY KEY (week, subscriber_id)
)"""
PENDING, CONFIRMED, UNSUBSCRIBED = "pending", "confirmed", "unsubscribed"
CONFIRM_PATH, UNSUBSCRIBE_PATH = "confirm", "unsubscribe"
# A plain mailbox, as an SMTP envelope and a To: header take it whole: a dot-atom local part
# (RFC 5322 §3.4.1, ASCII) and a host name of LDH labels, at most 254 characters (RFC 5321
# §4.5.3.1.3) and 64 before the @. No quotes, comments, commas, angle brackets, spaces or line
# breaks, so an address can never add a header or a second recipient.
MAX_ADDRESS_CHARS, MAX_LOCAL_PART_CHARS = 254, 64
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_MAILBOX = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+")


class NewsletterError(LofiError):
    """An address that is not one, or a link token that names no subscriber."""


@dataclass(frozen=True)
class Subscriber:
    subscriber_id: str
    email: str
    token: str

    def __repr__(self) -> str:  # never the address
        return f"Subscriber({self.subscriber_id})"


@dataclass(frozen=True)
class NewsletterRelease:
    """A release of the week as the newsletter lists it (``url`` its page on the site)."""

    date: str
    title: str
    url: str
    tracks: int


def plain_address(text: str) -> str | None:
    """``text`` (stripped of surrounding blanks) when it is a plain mailbox such as
    ``name@example.com`` (see ``_MAILBOX``), else None: what the list and the licence form
    accept, so no address can carry a line break, a second recipient or a display name."""
    address = text.strip()
    local = address.partition("@")[0]
    if len(address) > MAX_ADDRESS_CHARS or len(local) > MAX_LOCAL_PART_CHARS:
        return None
    return address if _MAILBOX.fullmatch(address) else None


def subscriber_id(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()[:16]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def link(site_url: str, action: str, token: str) -> str:
    """The confirm or unsubscribe URL of a token, on the served site."""
    return f"{site_url.rstrip('/')}/{action}?{urlencode({'token': token})}"


class SubscriberList:
    """The newsletter's list in the warehouse (``newsletter_subscribers``)."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self.warehouse.execute(SUBSCRIBERS_TABLE)
        self.warehouse.execute(SENDS_TABLE)

    def subscribe(self, email: str) -> str | None:
        """The first opt-in: ``email`` becomes pending; returns the token its confirmation link
        carries, or None when nothing is to be mailed (the address is confirmed already).

        A pending address keeps its token (the link mailed first still works); one that had
        unsubscribed starts again with a new token; a confirmed one is left as it is, its
        token too, so a form filled in with someone else's address neither stops their
        newsletter nor breaks the unsubscribe links they hold.

        Raises:
            NewsletterError: ``email`` is not a plain address (``plain_address``).
        """
        address = plain_address(email)
        if address is None:
            raise NewsletterError(
                "That is not an e-mail address: give one like name@example.com (ASCII, no "
                f"spaces, quotes, commas or line breaks, at most {MAX_ADDRESS_CHARS} characters)"
            )
        try:
            return self._to_pending(address)
        except self.warehouse.conflict_errors():  # the same address, subscribed meanwhile
            return self._to_pending(address)

    def _to_pending(self, address: str) -> str | None:
        subscriber = subscriber_id(address)
        with self.warehouse.transaction() as transaction:
            rows = transaction.query(
                "SELECT status, token FROM newsletter_subscribers WHERE subscriber_id = ?",
                [subscriber],
            )
            status = rows[0]["status"] if rows else None
            if status == CONFIRMED:
                return None
            if status == PENDING:
                return rows[0]["token"]
            token = secrets.token_urlsafe(24)
            transaction.execute(
                "INSERT INTO newsletter_subscribers VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (subscriber_id) DO UPDATE SET email = excluded.email, "
                "status = excluded.status, token = excluded.token, "
                "changed_at = excluded.changed_at",
                [subscriber, address, PENDING, token, _now(), _now()],
            )
        return token

    def _set_status(self, token: str, status: str, allowed_from: tuple[str, ...]) -> str:
        rows = self.warehouse.query(
            "SELECT subscriber_id, status FROM newsletter_subscribers WHERE token = ?", [token]
        )
        if not token or not rows or rows[0]["status"] not in (*allowed_from, status):
            raise NewsletterError("This link is not valid (any more): nothing was changed")
        self.warehouse.execute(
            "UPDATE newsletter_subscribers SET status = ?, changed_at = ? WHERE token = ?",
            [status, _now(), token],
        )
        return rows[0]["subscriber_id"]

    def confirm(self, token: str) -> str:
        """The second opt-in: the pending subscriber of ``token`` becomes confirmed (its id
        returned; again for a confirmed one). An unsubscribe withdraws the consent: the old
        confirmation link does not bring the address back (a new subscription does).

        Raises:
            NewsletterError: no pending or confirmed subscriber has ``token``.
        """
        return self._set_status(token, CONFIRMED, (PENDING,))

    def unsubscribe(self, token: str) -> str:
        """The subscriber of ``token`` gets no more newsletters (its id returned).

        Raises:
            NewsletterError: no subscriber has ``token``.
        """
        return self._set_status(token, UNSUBSCRIBED, (PENDING, CONFIRMED))

    def status(self, subscriber: str) -> str | None:
        rows = self.warehouse.query(
            "SELECT status FROM newsletter_subscribers WHERE subscriber_id = ?", [subscriber]
        )
        return rows[0]["status"] if rows else None

    def confirmed(self) -> list[Subscriber]:
        rows = self.warehouse.query(
            "SELECT subscriber_id, email, token FROM newsletter_subscribers WHERE status = ? "
            "ORDER BY subscriber_id",
            [CONFIRMED],
        )
        # A row an older version took without checking (a line break, a second recipient) is
        # never addressed: a message to it could carry headers of its sender's making.
        return [
            Subscriber(r["subscriber_id"], r["email"], r["token"])
            for r in rows
            if plain_address(r["email"]) == r["email"]
        ]

    def sent(self, week: str) -> set[str]:
        rows = self.warehouse.query(
            "SELECT subscriber_id FROM newsletter_sends WHERE week = ?", [week]
        )
        return {row["subscriber_id"] for row in rows}

    def claim(self, week: str, subscriber: str, message_id: str) -> bool:
        """Record the week's message to ``subscriber`` *before* it is sent; False when it is
        recorded already (sent, or being sent by another run). At most once per week: a run
        that dies between the claim and the send leaves the subscriber without that week's
        newsletter rather than give it twice; a refused send is ``release``d.
        """
        try:
            with self.warehouse.transaction() as transaction:
                if transaction.query(
                    "SELECT subscriber_id FROM newsletter_sends WHERE week = ? "
                    "AND subscriber_id = ?",
                    [week, subscriber],
                ):
                    return False
                transaction.execute(
                    "INSERT INTO newsletter_sends VALUES (?, ?, ?, ?)",
                    [week, subscriber, message_id, _now()],
                )
        except self.warehouse.conflict_errors():  # another run claimed it meanwhile
            return False
        return True

    def release(self, week: str, subscriber: str) -> None:
        """Forget a claim whose message the SMTP server refused: the next run sends it."""
        self.warehouse.execute(
            "DELETE FROM newsletter_sends WHERE week = ? AND subscriber_id = ?",
            [week, subscriber],
        )


def newsletter_message(
    *,
    channel: str,
    week: str,
    releases: list[NewsletterRelease],
    pack_url: str | None,
    site_url: str,
    sender: str,
    recipient: str,
    unsubscribe_url: str,
    subscriber: str,
    now: dt.datetime,
) -> EmailMessage:
    """The week's newsletter to one subscriber: plain text and HTML (``newsletter.html.j2``,
    autoescaped), with the subscriber's unsubscribe link in the body and the headers."""
    values = {
        "channel": channel, "week": week, "releases": releases, "pack_url": pack_url,
        "site_url": site_url, "unsubscribe_url": unsubscribe_url,
    }  # fmt: skip
    message = EmailMessage()
    message["Subject"] = f"{channel}: new music of the week of {week}"
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<newsletter.{week}.{subscriber}@lofi-empire.local>"
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(render("newsletter.txt.j2", **values))
    message.add_alternative(render("newsletter.html.j2", **values), subtype="html")
    return message


def confirmation_message(
    *, channel: str, sender: str, recipient: str, confirm_url: str, now: dt.datetime
) -> EmailMessage:
    """The first opt-in's answer: one link that confirms the subscription
    (``newsletter_confirm.txt.j2``); nothing is sent to the address until it is followed."""
    message = EmailMessage()
    message["Subject"] = f"{channel}: confirm your subscription"
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = format_datetime(now)
    message.set_content(
        render("newsletter_confirm.txt.j2", channel=channel, confirm_url=confirm_url)
    )
    return message
