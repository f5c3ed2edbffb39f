"""Secrets kept out of what the product prints: error lines, logs, metadata.

``redact`` masks, in any text:

- the password of a URL's userinfo (``postgresql://lofi:hunter2@db/lofi`` →
  ``postgresql://lofi:***@db/lofi``; RFC 3986 §3.2.1 deprecates passwords in URLs for this reason);
- the values of query or form parameters that carry credentials (``refresh_token=…``,
  ``client_secret=…`` — the OAuth 2.0 names of RFC 6749 §2.3.1 and §6 — and the usual
  ``password``, ``token``, ``api_key``);
- the value of every environment variable whose name says it holds a secret (``*PASSWORD*``,
  ``*SECRET*``, ``*TOKEN*``, except ``*_FILE`` and ``*_PATH``, which name files), wherever it
  appears verbatim, e.g. ``LOFI_SFTP_PASSWORD`` echoed back in a library's message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

MASK = "***"
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<password>[^@/\s]+)(?=@)", re.IGNORECASE
)
_SECRET_PARAMETER = re.compile(
    r"(?P<name>\b(?:access_token|refresh_token|id_token|client_secret|password|passwd|token|"
    r"api_key|apikey|secret)=)(?P<value>[^&\s#'\"]+)",
    re.IGNORECASE,
)
_SECRET_ENV_NAME = re.compile(r"PASSWORD|SECRET|TOKEN", re.IGNORECASE)
# A value this short would mask ordinary words ("test", "1234") all over a message.
MIN_SECRET_LENGTH = 6


def secret_environment_values(environment: Mapping[str, str] | None = None) -> list[str]:
    """Values of the variables whose names mark them as secrets, longest first."""
    environment = os.environ if environment is None else environment
    values = {
        value
        for name, value in environment.items()
        if _SECRET_ENV_NAME.search(name)
        and not name.upper().endswith(("_FILE", "_PATH"))
        and len(value) >= MIN_SECRET_LENGTH
    }
    return sorted(values, key=len, reverse=True)  # a secret containing another goes first


def redact(text: str, environment: Mapping[str, str] | None = None) -> str:
    """``text`` with URL passwords, credential parameters and secret env values as ``***``."""
    for value in secret_environment_values(environment):
        text = text.replace(value, MASK)
    text = _URL_PASSWORD.sub(lambda match: match["head"] + MASK, text)
    return _SECRET_PARAMETER.sub(lambda match: match["name"] + MASK, text)
