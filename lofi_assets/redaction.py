"""Secrets kept out of what the product prints: error lines, logs, metadata, failures.

``redact`` masks, in any text:

- the password of a URL's userinfo (``postgresql://lofi:hunter2@db/lofi`` →
  ``postgresql://lofi:***@db/lofi``; RFC 3986 §3.2.1 deprecates passwords in URLs for this reason);
- the values of query or form parameters that carry credentials (``refresh_token=…``,
  ``client_secret=…`` — the OAuth 2.0 names of RFC 6749 §2.3.1 and §6 — and the usual
  ``password``, ``token``, ``api_key``), also written as JSON or a Python dict
  (``"refresh_token": "…"``), as a token file or a library's repr shows them;
- the value of every environment variable whose name says it holds a secret (``*PASSWORD*``,
  ``*SECRET*``, ``*TOKEN*``, except ``*_FILE`` and ``*_PATH``, which name files), and the password
  of every URL held by any environment variable (``LOFI_WAREHOUSE_URL``, ``LOFI_CELERY_BROKER``),
  wherever they appear verbatim or percent-encoded, e.g. ``LOFI_SFTP_PASSWORD`` echoed back in a
  library's message, or a driver's error that quotes the password it parsed out of the URL.

Text leaves the product at three boundaries, and each one is covered here: exception chains
(``redact_exception``, applied by ``defs/failures.domain_failures`` to every step failure),
log records (``RedactingFilter``, installed by ``install_log_redaction``) and the CLI's error
line (``cli.py``). URLs the product itself shows go through SQLAlchemy's
``URL.render_as_string(hide_password=True)`` (``safe_url``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import urllib.parse
from collections.abc import Callable, Mapping

MASK = "***"
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<password>[^@/\s]+)(?=@)", re.IGNORECASE
)
_SECRET_NAMES = (
    r"access_token|refresh_token|id_token|client_secret|password|passwd|token|api_key|apikey|secret"
)
_SECRET_PARAMETER = re.compile(
    rf"(?P<name>\b(?:{_SECRET_NAMES})=)(?P<value>[^&\s#'\"]+)", re.IGNORECASE
)
# "refresh_token": "1//abc" in JSON, 'password': 'x' in a dict's repr.
_SECRET_FIELD = re.compile(
    rf"(?P<name>(?P<quote>[\"'])(?:{_SECRET_NAMES})(?P=quote)\s*:\s*(?P<open>[\"']))"
    r"(?P<value>[^\"']+)(?P=open)",
    re.IGNORECASE,
)
_SECRET_ENV_NAME = re.compile(r"PASSWORD|SECRET|TOKEN", re.IGNORECASE)
_URL_IN_VALUE = re.compile(r"[a-z][a-z0-9+.-]*://[^\s]+", re.IGNORECASE)
# A value this short would mask ordinary words ("test", "1234") all over a message.
MIN_SECRET_LENGTH = 6


def _url_passwords(value: str) -> list[str]:
    """The passwords of the URLs in ``value``, as written and percent-decoded."""
    found = []
    for match in _URL_IN_VALUE.finditer(value):
        try:
            password = urllib.parse.urlsplit(match.group()).password
        except ValueError:  # a port that is not a number: not a URL we can read
            continue
        if password:
            found += [password, urllib.parse.unquote(password)]
    return found


def secret_environment_values(environment: Mapping[str, str] | None = None) -> list[str]:
    """Values of the variables whose names mark them as secrets, and the passwords of URLs in
    any variable, each also percent-encoded; longest first."""
    environment = os.environ if environment is None else environment
    values: set[str] = set()
    for name, value in environment.items():
        if _SECRET_ENV_NAME.search(name) and not name.upper().endswith(("_FILE", "_PATH")):
            values.add(value)
        if "://" in value:
            values.update(_url_passwords(value))
    encoded = {urllib.parse.quote(value, safe="") for value in values}
    encoded |= {urllib.parse.quote_plus(value, safe="") for value in values}
    values = {value for value in values | encoded if len(value) >= MIN_SECRET_LENGTH}
    return sorted(values, key=len, reverse=True)  # a secret containing another goes first


def mask_secret(text: str, secret: str) -> str:
    """``text`` with ``secret`` masked: everywhere when it is ``MIN_SECRET_LENGTH`` or longer,
    only as a whole token (not inside a word or a longer token) when shorter, so that a
    one-letter stream key hides the URL's last segment without turning "handshake" into
    "handsha***e". An empty ``secret`` changes nothing."""
    if not secret:
        return text
    if len(secret) >= MIN_SECRET_LENGTH:
        return text.replace(secret, MASK)
    return re.sub(rf"(?<![\w-]){re.escape(secret)}(?![\w-])", MASK, text)


def redact(text: str, environment: Mapping[str, str] | None = None) -> str:
    """``text`` with URL passwords, credential parameters and secret env values as ``***``."""
    for value in secret_environment_values(environment):
        text = text.replace(value, MASK)
    text = _URL_PASSWORD.sub(lambda match: match["head"] + MASK, text)
    text = _SECRET_FIELD.sub(lambda match: match["name"] + MASK + match["open"], text)
    return _SECRET_PARAMETER.sub(lambda match: match["name"] + MASK, text)


def safe_url(url: str) -> str:
    """A URL fit to show: SQLAlchemy's rendering with the password hidden
    (``postgresql+psycopg2://lofi:***@db/lofi``), anything else through ``redact``."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # a path, or not a URL SQLAlchemy reads
        shown = url
    return redact(shown)


class RedactedError(Exception):
    """Stands in, in a failure's chain, for an exception whose message still held a secret
    after its arguments were masked (a message built from attributes): the original type's
    name and its masked message, with its traceback and its own causes."""


def _mask_arguments(error: BaseException) -> None:
    error.args = tuple(redact(a) if isinstance(a, str) else a for a in error.args)
    for name in ("description", "message", "msg"):  # dg.Failure keeps its description apart
        value = getattr(error, name, None)
        if isinstance(value, str):
            with contextlib.suppress(AttributeError, TypeError):  # a read-only property
                setattr(error, name, redact(value))


def _clean_message(error: BaseException) -> bool:
    try:
        message = str(error)
    except Exception:  # a broken __str__ shows nothing, so it leaks nothing
        return True
    return redact(message) == message


def redact_exception(error: BaseException) -> BaseException:
    """Mask secrets in the messages of ``error`` and of every exception it was raised from
    (``__cause__``) or while handling (``__context__``), in place; returns ``error``.

    Dagster stores a failed step's whole chain (type, message, stack of each) in the event
    log; masking only the top message would leave a driver's error that quoted the URL one
    line below it. An exception of the chain whose message is still not clean once its
    arguments are masked is replaced in the chain by a ``RedactedError`` (same traceback,
    same causes). ``error`` itself keeps its type, so Dagster still recognises its own
    exceptions (``dg.Failure``, retry requests).
    """
    seen: set[int] = set()

    def clean(current: BaseException, top: bool) -> BaseException:
        if id(current) in seen:
            return current
        seen.add(id(current))
        _mask_arguments(current)
        if current.__cause__ is not None:
            current.__cause__ = clean(current.__cause__, False)
        if current.__context__ is not None:
            current.__context__ = clean(current.__context__, False)
        if top or _clean_message(current):
            return current
        kind = type(current)
        name = (
            kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"
        )
        stand_in = RedactedError(f"{name}: {redact(str(current))}")
        stand_in.__traceback__ = current.__traceback__
        stand_in.__cause__, stand_in.__context__ = current.__cause__, current.__context__
        stand_in.__suppress_context__ = current.__suppress_context__
        return stand_in

    return clean(error, True)


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """``record`` with its message (and any exception text) masked, formatted now."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports it on emit
        return record
    masked = redact(message)
    if masked != message:
        record.msg, record.args = masked, ()
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        # Formatters reuse exc_text when it is set: the traceback text is masked once here.
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    return record


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in every record it sees and drops none."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_installed = threading.Lock()
_FILTER = RedactingFilter()


def install_log_redaction() -> None:
    """Mask secrets in every log record of this process (idempotent).

    ``RedactingFilter`` goes on the root and ``dagster`` loggers and their handlers. A filter
    on a logger sees only the records made by that very logger (Python's logging HOWTO,
    "Filter objects"), and Dagster makes a new ``DagsterLogManager`` (also named ``dagster``
    but not the registered logger) for every run and step, whose records reach the event log
    through handlers we cannot reach ahead of time. So the record factory, which makes every
    record of every logger, passes each new record through the same filter as well.
    """
    with _installed:
        for logger in (logging.getLogger(), logging.getLogger("dagster")):
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)
            for handler in logger.handlers:
                if _FILTER not in handler.filters:
                    handler.addFilter(_FILTER)
        factory = logging.getLogRecordFactory()
        if getattr(factory, "redacting", False):
            return
        make_record: Callable[..., logging.LogRecord] = factory

        def redacting_factory(*args: object, **kwargs: object) -> logging.LogRecord:
            return redact_record(make_record(*args, **kwargs))

        redacting_factory.redacting = True  # type: ignore[attr-defined]
        logging.setLogRecordFactory(redacting_factory)
