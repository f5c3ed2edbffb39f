"""YouTube clients: google-api-python-client from the discovery documents it ships.

``build_clients`` never touches the network to make a client (static discovery). Without
credentials the clients still build every request, which is how dry-run works: the request's
method, URL and body are written to a manifest and nothing is sent.

``YOUTUBE_API_ENDPOINT`` points both clients at another server (a local one in the tests).
The library swaps only the host of media upload URLs when the endpoint changes, so the upload
URL would keep ``https``; our request class gives every request the endpoint's scheme and host.
httplib2 treats 308 as a redirect unless told otherwise, and 308 is how the resumable upload
protocol says "resume incomplete", so the transport comes from ``build_http`` (which drops it).
"""

from __future__ import annotations

import errno
import json
import os
import random
import socket
import ssl
import time
import urllib.parse
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httplib2
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import HttpRequest, build_http

from lofi_assets.errors import LofiError
from lofi_assets.redaction import redact
from lofi_assets.retrying import call_with_retries
from lofi_assets.storage import write_bytes_atomic

SCOPES = (
    "https://www.googleapis.com/auth/youtube.upload",
    "https://www.googleapis.com/auth/youtube",  # thumbnails, playlists, scheduling
    "https://www.googleapis.com/auth/yt-analytics.readonly",
)
TOKEN_FILE_ENV = "YOUTUBE_TOKEN_FILE"
CLIENT_SECRETS_ENV = "YOUTUBE_CLIENT_SECRETS"
ENDPOINT_ENV = "YOUTUBE_API_ENDPOINT"
# Errors that no retry can fix: the day's quota is spent, or the channel's upload cap is hit.
NEVER_RETRY_REASONS = frozenset({"quotaExceeded", "uploadLimitExceeded", "dailyLimitExceeded"})
RETRIABLE_STATUSES = frozenset({500, 502, 503, 504})
# Transport failures worth another try: resets, timeouts, refused or half-closed connections.
TRANSIENT_ERRORS = (httplib2.HttpLib2Error, ConnectionError, TimeoutError, OSError)
MAX_ATTEMPTS = 8
MAX_BACKOFF_S = 64.0
# Where google-auth refreshes tokens when neither the token file nor an endpoint says otherwise.
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


class PublishError(LofiError):
    """YouTube refused a request in a way that retrying will not fix."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class QuotaExceededError(PublishError):
    """The API quota or the channel's upload limit is exhausted: wait for the reset."""


class CredentialsError(PublishError):
    """The OAuth token file is missing, unreadable or revoked."""


class TokenServerUnreachableError(ConnectionError):
    """The OAuth token server did not answer: refused, timed out, name not resolved, TLS failed.

    A ConnectionError and not a LofiError on purpose: the network may come back, so a Dagster
    step's RetryPolicy retries it (``domain_failures`` stops only LofiErrors), and the CLI exits
    1 (a failure of the surroundings), not 2 (bad input). The message names the server, with any
    password in its URL masked, and the fix.
    """


def connection_failure_reason(error: BaseException) -> str:
    """What went wrong under a library's connection error, in a few words.

    requests wraps urllib3's MaxRetryError, which wraps NewConnectionError, whose cause is the
    socket's ConnectionRefusedError; google-auth wraps all of it once more in TransportError.
    The chain is walked through ``__cause__``, ``__context__``, ``reason`` and ``args``.
    """
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    innermost = error
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        innermost = current
        if isinstance(current, ConnectionRefusedError) or getattr(current, "errno", None) == (
            errno.ECONNREFUSED
        ):
            return "connection refused"
        if isinstance(current, socket.gaierror):
            return "host name not resolved"
        if isinstance(current, TimeoutError | socket.timeout):
            return "timed out"
        if isinstance(current, ssl.SSLError):
            return f"TLS failed ({current.reason or current})"
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked += list(getattr(current, "args", ()))
        pending += [item for item in linked if isinstance(item, BaseException)]
    return str(innermost) or type(innermost).__name__


def token_server_unreachable(
    token_uri: str, error: BaseException, where: str
) -> TokenServerUnreachableError:
    """The error for a token request that never got an answer; ``where`` says where the
    token_uri was configured (the fix)."""
    return TokenServerUnreachableError(
        f"could not reach the token server at {redact(token_uri)}: "
        f"{connection_failure_reason(error)} — check the network, or the token_uri ({where})"
    )


def error_reason(error: HttpError) -> str:
    """The first ``errors[].reason`` of a Google API error body ('' when there is none)."""
    try:
        document = json.loads(error.content.decode("utf-8") if error.content else "{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return ""
    details = document.get("error", {}) if isinstance(document, dict) else {}
    for item in details.get("errors", []) if isinstance(details, dict) else []:
        if item.get("reason"):
            return str(item["reason"])
    return ""


def refusal(error: HttpError, action: str) -> PublishError:
    """The PublishError for an HttpError that must not be retried."""
    reason = error_reason(error)
    status = error.resp.status
    if reason in NEVER_RETRY_REASONS:
        return QuotaExceededError(
            f"YouTube refused to {action}: {reason} (HTTP {status}). The quota resets at "
            "midnight Pacific time; re-run the partition then, nothing will be repeated",
            reason,
        )
    if status in (401, 403) and reason in ("authError", "forbidden", "insufficientPermissions", ""):
        return CredentialsError(
            f"YouTube refused to {action} (HTTP {status} {reason}): run `lofi auth youtube` "
            f"again and point {TOKEN_FILE_ENV} at the new token file",
            reason or str(status),
        )
    return PublishError(f"YouTube refused to {action}: HTTP {status} {reason}", reason)


class Retrier:
    """Exponential backoff with jitter for 5xx answers and dropped connections, nothing else."""

    def __init__(
        self,
        log: Callable[[str], None] = lambda message: None,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.log, self.sleep, self.max_attempts = log, sleep, max_attempts
        self.retries = 0

    def backoff(self, attempt: int, action: str, why: str) -> None:
        """Wait before attempt ``attempt + 1``; give up once ``max_attempts`` have failed."""
        if attempt >= self.max_attempts:
            raise TimeoutError(f"Gave up trying to {action} after {attempt} attempts: {why}")
        delay = min(MAX_BACKOFF_S, 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
        self.retries += 1
        self.log(f"{action}: {why}; retrying in {delay:.1f} s (attempt {attempt + 1})")
        self.sleep(delay)

    def execute(self, request: Any, action: str) -> Any:
        """One API call; refusals (4xx, quota) raise PublishError at once."""

        def send() -> Any:
            try:
                return request.execute(num_retries=0)
            except HttpError as error:
                if error.resp.status not in RETRIABLE_STATUSES:
                    raise refusal(error, action) from error
                raise

        def retriable(error: BaseException) -> bool:
            # An unreachable token server is a ConnectionError, but not the API's: the step's
            # retry (or the next run) tries again, rather than minutes of backoff here holding
            # the youtube_api pool.
            return isinstance(error, HttpError) or (
                isinstance(error, TRANSIENT_ERRORS)
                and not isinstance(error, TokenServerUnreachableError)
            )

        def wait(failures: int, error: BaseException) -> None:
            why = (
                f"HTTP {error.resp.status}"
                if isinstance(error, HttpError)
                else f"{type(error).__name__}: {error}"
            )
            self.backoff(failures, action, why)

        return call_with_retries(send, retriable, wait)


def _endpoint_request_class(endpoint: str) -> type[HttpRequest]:
    parsed = urllib.parse.urlparse(endpoint)

    class EndpointRequest(HttpRequest):
        def __init__(self, http, postproc, uri, *args, **kwargs):
            target = urllib.parse.urlparse(uri)._replace(scheme=parsed.scheme, netloc=parsed.netloc)
            super().__init__(http, postproc, urllib.parse.urlunparse(target), *args, **kwargs)

    return EndpointRequest


@dataclass
class YouTubeClients:
    youtube: Any  # youtube v3 resource
    analytics: Any  # youtubeAnalytics v2 resource
    live: bool  # False: built without credentials, for dry-run manifests only
    reporting: Any = None  # youtubereporting v1 resource (bulk reach reports)


class _OneSendBody:
    """An upload chunk's stream that refuses to be sent twice.

    Whatever RETRIES says, httplib2 sends a request once more when the response line never came
    (the server closed the connection: BadStatusLine). The second send of a chunk found its
    stream slice used up, promised Content-Length bytes and sent none, and client and server
    then waited for each other until the socket timeout. Refusing that send hands the dropped
    connection to our retry loop, which asks the server how much it kept and resumes there.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._ends_read = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if not data:
            self._ends_read += 1  # http.client reads to one empty block per send
            if self._ends_read > 1:
                raise ConnectionResetError("the connection dropped while sending a chunk")
        return data


class OneSendHttp(httplib2.Http):
    """httplib2.Http that sends a streamed request body at most once (see _OneSendBody), and
    never reuses a connection after a failed request."""

    def request(self, uri, method="GET", body=None, headers=None, *args, **kwargs):
        if hasattr(body, "read"):
            body = _OneSendBody(body)
        try:
            return super().request(uri, method, body, headers, *args, **kwargs)
        except Exception:
            # httplib2 keeps the connection of a request that raised while sending, which may
            # hold headers whose body never followed: the next request on it would be read as
            # that body, and both sides would wait for the timeout.
            failed, self.connections = self.connections, {}
            for connection in failed.values():
                connection.close()
            raise


def build_clients(credentials: Any | None = None, endpoint: str | None = None) -> YouTubeClients:
    """Both API clients, from the discovery documents shipped with the library (no network)."""
    # Our retry loops own retrying (with backoff, and asking before resuming an upload): no
    # second send after a failed send. The re-send httplib2 makes regardless of RETRIES, when
    # an answer never came, is OneSendHttp's to refuse for upload chunks.
    httplib2.RETRIES = 1
    library_http = build_http()  # the library's timeout, and 308 ("resume incomplete") kept
    http = OneSendHttp(timeout=library_http.timeout)
    http.redirect_codes = library_http.redirect_codes
    if credentials is not None:
        import google_auth_httplib2

        http = google_auth_httplib2.AuthorizedHttp(credentials, http=http)
    options: dict[str, Any] = {"static_discovery": True, "cache_discovery": False, "http": http}
    if endpoint:
        options["client_options"] = {"api_endpoint": endpoint}
        options["requestBuilder"] = _endpoint_request_class(endpoint)
    return YouTubeClients(
        youtube=build("youtube", "v3", **options),
        analytics=build("youtubeAnalytics", "v2", **options),
        live=credentials is not None,
        reporting=build("youtubereporting", "v1", **options),
    )


REFRESH_REFUSED = (
    "The token server at {server} refused the refresh token ({reason}; revoked, or expired "
    "after 7 days because the OAuth consent screen is in testing mode): run `lofi auth youtube`"
)


def _refusal_reason(error: RefreshError) -> str:
    """The OAuth error code of a refused refresh (``invalid_grant``, RFC 6749 §5.2), from the
    reply google-auth attaches as the error's second argument; else its message, masked."""
    reply = error.args[1] if len(error.args) > 1 else None
    if isinstance(reply, dict):
        code = reply.get("error")
        if isinstance(code, dict):  # Google's API error shape: {"error": {"errors": [{reason}]}}
            reasons = [e.get("reason") for e in code.get("errors", []) if isinstance(e, dict)]
            code = next((r for r in reasons if isinstance(r, str)), code.get("status"))
        return redact(code) if isinstance(code, str) else "refused"
    return redact(str(error.args[0])) if error.args else "refused"


class ReportingCredentials(Credentials):
    """OAuth user credentials whose refresh fails with our errors wherever it happens.

    google-auth refreshes in two places: when the token file is loaded expired, and in the
    middle of any API call, when the API answers 401 and ``google_auth_httplib2.AuthorizedHttp``
    calls ``credentials.refresh`` itself (its ``request``, "refresh and retry on 401"). Both go
    through this ``refresh``, so both raise TokenServerUnreachableError (no answer) or
    CredentialsError (the refresh token refused), never google-auth's TransportError or
    RefreshError, whose messages quote the token server's whole reply.
    """

    # Where the token_uri came from, for the fix in the message (set by load_credentials).
    token_uri_source = "in the token file"

    def refresh(self, request: Any) -> None:
        try:
            super().refresh(request)
        # google_auth_httplib2 wraps only httplib2's own errors in TransportError: a refused
        # connection or a socket timeout reaches here as the OSError it is.
        except (TransportError, OSError) as error:
            server = self.token_uri or GOOGLE_TOKEN_URI
            raise token_server_unreachable(server, error, self.token_uri_source) from error
        except RefreshError as error:
            raise CredentialsError(
                REFRESH_REFUSED.format(
                    server=redact(self.token_uri or GOOGLE_TOKEN_URI),
                    reason=_refusal_reason(error),
                ),
                "refresh_refused",
            ) from error


def write_token(path: Path, credentials: Any) -> Path:
    """Save OAuth credentials (with the refresh token) readable by the owner only."""
    return write_bytes_atomic(path, credentials.to_json().encode("utf-8"), mode=0o600)


def token_uri_for(endpoint: str | None) -> str | None:
    """Where tokens are refreshed: Google's own server, or ``<endpoint>/token`` with an
    endpoint override (google-auth ignores a token_uri stored in the token file)."""
    return f"{endpoint.rstrip('/')}/token" if endpoint else None


def load_credentials(token_file: str | Path, token_uri: str | None = None) -> Any:
    """Credentials from a token file, refreshed (and written back, 0600) when expired.

    Raises:
        CredentialsError: no such file, not a token file, no refresh token, or the refresh
            token refused.
        TokenServerUnreachableError: the token server did not answer.
    """
    from google.auth.transport.requests import Request

    path = Path(token_file)
    if not path.is_file():
        raise CredentialsError(
            f"{TOKEN_FILE_ENV} names {path}, which does not exist: run `lofi auth youtube`"
        )
    try:
        credentials = ReportingCredentials.from_authorized_user_file(str(path), list(SCOPES))
    except (ValueError, json.JSONDecodeError) as error:
        raise CredentialsError(
            f"{path} is not an OAuth token file ({type(error).__name__}): run `lofi auth youtube`"
        ) from None  # google-auth's message may quote the file's fields, secrets included
    if token_uri:
        expiry = credentials.expiry
        credentials = credentials.with_token_uri(token_uri)
        credentials.expiry = expiry  # the copy forgets it, and would look valid forever
    credentials.token_uri_source = f"from {ENDPOINT_ENV}" if token_uri else f"in {path}"
    if not credentials.valid:
        if not credentials.refresh_token:
            raise CredentialsError(f"{path} has no refresh token: run `lofi auth youtube`")
        credentials.refresh(Request())
        write_token(path, credentials)
    return credentials


def clients_from_environment() -> YouTubeClients:
    """Live clients when ``YOUTUBE_TOKEN_FILE`` is set, dry-run clients otherwise."""
    token_file = os.environ.get(TOKEN_FILE_ENV)
    endpoint = os.environ.get(ENDPOINT_ENV) or None
    credentials = load_credentials(token_file, token_uri_for(endpoint)) if token_file else None
    return build_clients(credentials, endpoint)


def browser_available() -> bool:
    """Whether Python's webbrowser module finds a browser to open (none on a headless server)."""
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def run_installed_app_flow(
    client_secrets: Path, token_file: Path, port: int = 0, open_browser: bool = True
) -> Path:
    """`lofi auth youtube`: consent in the browser, then the token file (0600).

    The consent URL is always printed; a browser is opened only when asked and one exists
    (``webbrowser.get`` raises on a headless server, which would end the flow before it began).

    Raises CredentialsError for a missing or malformed client file, a port in use or a refused
    code exchange, and TokenServerUnreachableError when the client file's token_uri does not
    answer.
    """
    import requests
    from google_auth_oauthlib.flow import InstalledAppFlow
    from oauthlib.oauth2.rfc6749.errors import InsecureTransportError, OAuth2Error

    if not client_secrets.is_file():
        raise CredentialsError(
            f"No OAuth client file at {client_secrets}: download it from Google Cloud Console "
            f"(APIs & Services → Credentials → OAuth client ID → Desktop app) and set "
            f"{CLIENT_SECRETS_ENV}"
        )
    try:
        flow = InstalledAppFlow.from_client_secrets_file(str(client_secrets), scopes=list(SCOPES))
    except (ValueError, KeyError, UnicodeDecodeError) as error:  # JSONDecodeError is a ValueError
        raise CredentialsError(
            f"{client_secrets} is not an OAuth client file ({type(error).__name__}: {error}): "
            "download the JSON of a Desktop app client from Google Cloud Console "
            "(APIs & Services → Credentials)"
        ) from error
    token_uri = str(flow.client_config.get("token_uri", GOOGLE_TOKEN_URI))
    try:
        credentials = flow.run_local_server(
            host="127.0.0.1",
            port=port,
            open_browser=open_browser and browser_available(),
            authorization_prompt_message="Open this URL in a browser to authorize lofi: {url}",
            access_type="offline",
            prompt="consent",
        )
    except requests.exceptions.ConnectionError as error:
        raise token_server_unreachable(token_uri, error, f"in {client_secrets}") from error
    except InsecureTransportError as error:
        raise CredentialsError(
            f"The token_uri in {client_secrets} ({redact(token_uri)}) is not https: OAuth 2.0 "
            "sends the client secret there (RFC 6749 §3.2); download the client file again"
        ) from error
    except OAuth2Error as error:
        raise CredentialsError(
            f"The token server at {redact(token_uri)} refused the authorization "
            f"({error.error}): run `lofi auth youtube` again and finish the consent in time"
        ) from error
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        raise CredentialsError(
            f"Port {port} on 127.0.0.1 is in use: pass another --port, or 0 for any free one"
        ) from error
    return write_token(token_file, credentials)
