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

    def subscribe(self, email: str) -> str:
        """Add ``email`` as pending (again pending if it had unsubscribed); returns the token
        its confirmation link carries.

        Raises:
            NewsletterError: ``email`` is not an address (one @, a dot in the domain).
        """
        address = email.strip()
        local, _, domain = address.partition("@")
        if not local or "." not in domain or " " in address or "@" in domain:
            raise NewsletterError("That is not an e-mail address: give one like name@example.com")
        token = secrets.token_urlsafe(24)
        self.warehouse.execute(
            "INSERT INTO newsletter_subscribers VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (subscriber_id) DO UPDATE SET status = excluded.status, "
            "token = excluded.token, changed_at = excluded.changed_at",
            [subscriber_id(address), address, PENDING, token, _now(), _now()],
        )
        return token

    def _set_status(self, token: str, status: str) -> str:
        rows = self.warehouse.query(
            "SELECT subscriber_id FROM newsletter_subscribers WHERE token = ?", [token]
        )
        if not token or not rows:
            raise NewsletterError("This link is not valid (any more): nothing was changed")
        self.warehouse.execute(
            "UPDATE newsletter_subscribers SET status = ?, changed_at = ? WHERE token = ?",
            [status, _now(), token],
        )
        return rows[0]["subscriber_id"]

    def confirm(self, token: str) -> str:
        """The second opt-in: the subscriber of ``token`` becomes confirmed (its id returned).

        Raises:
            NewsletterError: no subscriber has ``token``.
        """
        return self._set_status(token, CONFIRMED)

    def unsubscribe(self, token: str) -> str:
        """The subscriber of ``token`` gets no more newsletters (its id returned).

        Raises:
            NewsletterError: no subscriber has ``token``.
        """
        return self._set_status(token, UNSUBSCRIBED)

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
        return [Subscriber(r["subscriber_id"], r["email"], r["token"]) for r in rows]

    def sent(self, week: str) -> set[str]:
        rows = self.warehouse.query(
            "SELECT subscriber_id FROM newsletter_sends WHERE week = ?", [week]
        )
        return {row["subscriber_id"] for row in rows}

    def record_send(self, week: str, subscriber: str, message_id: str) -> None:
        self.warehouse.execute(
            "INSERT INTO newsletter_sends VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [week, subscriber, message_id, _now()],
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
