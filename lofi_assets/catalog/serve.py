"""``lofi catalog serve``: the built site over HTTP on 127.0.0.1 for the operator (stdlib
``http.server``; static files only, so nothing outside the site folder is served), and the
newsletter's links: ``GET /confirm?token=…`` and ``GET /unsubscribe?token=…`` (each a page
with a button, so a mail scanner following links confirms and unsubscribes no one),
``POST /confirm`` (the double opt-in's button) and ``POST /unsubscribe`` (the button, and
RFC 8058 one-click from the mail client); and the
licences page's form, ``POST /licence-request`` (recorded by ``licensing.LicenceRequests``),
and the index's newsletter form, ``POST /subscribe`` (the first opt-in).

What a request can make it do is bounded by kind: a ``Host`` other than this server's
loopback name (DNS rebinding) is refused with 421, and a POST from another site's page
(``Origin`` not this server, cross-site forgery) with 403; a form body is at most
``MAX_FORM_BYTES`` (413), UTF-8 (400) and has a sound ``Content-Length`` (400); a path naming a
hidden file or a folder without a page answers 404 (staging folders, locks, listings); and
a request that fails inside still gets a 500 page, its error named on stderr by type only
(an exception's text may quote what the requester sent, an address among it).
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from lofi_assets.catalog.licensing import LicenceRequest, LicenceRequestError, LicenceRequests
from lofi_assets.catalog.newsletter import (
    CONFIRM_PATH,
    UNSUBSCRIBE_PATH,
    NewsletterError,
    SubscriberList,
    link,
)
from lofi_assets.catalog.site import CatalogSiteError
from lofi_assets.catalog.templates import render
from lofi_assets.errors import LofiError
from lofi_assets.publish.warehouse import Warehouse

HOST = "127.0.0.1"  # the operator's machine only: the site is a preview, not a public server
DEFAULT_PORT = 8765
MAX_FORM_BYTES = 16_384
MAX_FORM_FIELDS = 16
REQUEST_TIMEOUT_S = 30.0
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
LICENCE_REQUEST_PATH, SUBSCRIBE_PATH = "licence-request", "subscribe"


def _page(
    heading: str,
    text: str,
    token: str | None = None,
    action: str = UNSUBSCRIBE_PATH,
    button: str = "Unsubscribe",
) -> bytes:
    """A small page; with ``token``, a button that POSTs it to ``/<action>``."""
    return render(
        "subscription.html.j2", heading=heading, text=text, token=token, action=action,
        button=button,
    ).encode()  # fmt: skip


class _SiteHandler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".xml": "application/atom+xml"}
    # A client that stops sending (a request line or a body never finished) frees its thread
    # after this long: socketserver's socket timeout, answered 408 while a form is read.
    timeout = REQUEST_TIMEOUT_S

    def __init__(
        self,
        *args,
        warehouse: Callable[[], Warehouse] | None,
        send_confirmation: Callable[[str, str], None] | None,
        writing: threading.Lock,
        public_url: str | None,
        **kwargs,
    ) -> None:
        self.public = urlsplit(public_url) if public_url else None
        self.warehouse = warehouse
        self.send_confirmation = send_confirmation
        self.writing = writing  # one list or licence change at a time (the server's threads)
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: object) -> None:
        pass  # request lines carry tokens; and one line per request would drown the URL

    def _answer(self, status: HTTPStatus, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _loopback(self) -> set[str]:
        """The ``Host`` values of this server's loopback names with its port."""
        port = self.server.server_address[1]
        names = {f"{name}:{port}" for name in LOOPBACK_NAMES}
        return names | (set(LOOPBACK_NAMES) if port == 80 else set())

    def _hosts(self) -> set[str]:
        """The ``Host`` values that name this server: its loopback names, and the public
        URL's host when a proxy publishes it (``public_url``)."""
        return self._loopback() | ({self.public.netloc.lower()} if self.public else set())

    def _origins(self) -> set[str]:
        """The origins of this server's own pages (what a browser's form POST names)."""
        origins = {f"http://{host}" for host in self._loopback()}
        if self.public:
            origins.add(f"{self.public.scheme}://{self.public.netloc}".lower())
        return origins

    def _refusal(self) -> tuple[HTTPStatus, str] | None:
        if (self.headers.get("Host") or "").strip().lower() not in self._hosts():
            return HTTPStatus.MISDIRECTED_REQUEST, "This server answers to its own name only."
        origin = self.headers.get("Origin")
        cross_site = self.headers.get("Sec-Fetch-Site", "").lower() == "cross-site"
        if self.command == "POST" and (
            cross_site or (origin is not None and origin.strip().lower() not in self._origins())
        ):
            return HTTPStatus.FORBIDDEN, "A form of another site cannot post here."
        return None

    def _guarded(self, handle: Callable[[], None]) -> None:
        refusal = self._refusal()
        if refusal is not None:
            self._discard_body()
            self._answer(refusal[0], _page("Not here", refusal[1]))
            return
        try:
            handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away
        except Exception as error:
            path = urlsplit(self.path).path[:80]  # never the query: it carries tokens
            print(f"lofi catalog serve: {self.command} {path!r} failed "
                  f"({type(error).__name__})", file=sys.stderr, flush=True)  # fmt: skip
            with contextlib.suppress(OSError):  # the client may have gone
                self._answer(
                    HTTPStatus.INTERNAL_SERVER_ERROR,
                    _page("Something went wrong", "Nothing was changed: try again later."),
                )

    def _discard_body(self) -> None:
        """Read a small body this server will not use, so that closing the connection does
        not reset it before the client reads the answer."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return
        if 0 < length <= MAX_FORM_BYTES:
            self.rfile.read(length)

    def _form(self) -> dict[str, list[str]] | None:
        """The request's urlencoded form, or None once a 4xx answered a body that is too
        large, not UTF-8, or has no sound length."""
        declared = self.headers.get("Content-Length")
        try:
            length = int(declared) if declared is not None else 0
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._answer(HTTPStatus.BAD_REQUEST, _page("Bad request", "No sound Content-Length."))
            return None
        if length > MAX_FORM_BYTES:
            self.close_connection = True  # the body stays unread
            self._answer(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                _page("Too long", f"A form here is at most {MAX_FORM_BYTES} bytes."),
            )
            return None
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            self.close_connection = True
            self._answer(HTTPStatus.REQUEST_TIMEOUT, _page("Too slow", "The form never came."))
            return None
        try:
            return parse_qs(
                body.decode("utf-8"), encoding="utf-8", errors="strict",
                max_num_fields=MAX_FORM_FIELDS,
            )  # fmt: skip
        except (UnicodeDecodeError, ValueError):
            self._answer(
                HTTPStatus.BAD_REQUEST, _page("Bad request", "Send the form as UTF-8 text.")
            )
            return None

    def list_directory(self, path: str) -> None:
        """No listings: a folder without its index.html is not a page of the site."""
        self.send_error(HTTPStatus.NOT_FOUND)
        return None

    def _action(self, action: str, token: str) -> None:
        if self.warehouse is None:
            self._answer(HTTPStatus.SERVICE_UNAVAILABLE, _page("Not available", "No list here."))
            return
        try:
            with self.writing:
                subscribers = SubscriberList(self.warehouse())
                if action == CONFIRM_PATH:
                    subscribers.confirm(token)
                    heading, text = "Subscribed", "Thank you: the next newsletter is on its way."
                else:
                    subscribers.unsubscribe(token)
                    heading, text = "Unsubscribed", "You will get no more newsletters."
        except NewsletterError as error:
            self._answer(HTTPStatus.NOT_FOUND, _page("Link not valid", str(error)))
            return
        self._answer(HTTPStatus.OK, _page(heading, text))

    def do_GET(self) -> None:
        self._guarded(self._get)

    def do_HEAD(self) -> None:
        self._guarded(super().do_HEAD)

    def _get(self) -> None:
        url = urlsplit(self.path)
        token = parse_qs(url.query).get("token", [""])[0]
        # Both links show a button (a POST does it): a mail scanner that follows every link
        # of a message neither confirms an address nor unsubscribes it.
        if url.path == f"/{CONFIRM_PATH}":
            self._answer(
                HTTPStatus.OK,
                _page("Confirm", "Press the button to get the newsletter.", token,
                      CONFIRM_PATH, "Confirm my subscription"),
            )  # fmt: skip
        elif url.path == f"/{UNSUBSCRIBE_PATH}":
            self._answer(
                HTTPStatus.OK,
                _page("Unsubscribe", "Press the button to get no more newsletters.", token),
            )
        else:
            super().do_GET()

    def send_head(self):  # http.server's: an open file, or None once answered
        # Hidden names (".<date>.lock", staging folders of a release being written) are not
        # pages of the site, however the path spells them.
        parts = self.translate_path(self.path)[len(self.directory) :].split("/")
        if any(part.startswith(".") for part in parts):
            self.send_error(HTTPStatus.NOT_FOUND)
            return None
        return super().send_head()

    def _licence_request(self, form: dict[str, list[str]]) -> None:
        if self.warehouse is None:
            self._answer(HTTPStatus.SERVICE_UNAVAILABLE, _page("Not available", "Not here."))
            return
        field = {name: (form.get(name) or [""])[0] for name in
                 ("name", "email", "project", "use", "tracks")}  # fmt: skip
        try:
            with self.writing:
                request_id = LicenceRequests(self.warehouse()).record(LicenceRequest(**field))
        except LicenceRequestError as error:
            self._answer(HTTPStatus.BAD_REQUEST, _page("Request not sent", str(error)))
            return
        self._answer(
            HTTPStatus.OK,
            _page("Request received", f"Your request {request_id} is recorded: the answer "
                  "goes to the address you gave."),
        )  # fmt: skip

    def _subscribe(self, form: dict[str, list[str]]) -> None:
        if self.warehouse is None or self.send_confirmation is None:
            self._answer(HTTPStatus.SERVICE_UNAVAILABLE, _page("Not available", "Not here."))
            return
        address = (form.get("email") or [""])[0]
        try:
            with self.writing:
                token = SubscriberList(self.warehouse()).subscribe(address)
        except NewsletterError as error:
            self._answer(HTTPStatus.BAD_REQUEST, _page("Not subscribed", str(error)))
            return
        # The link points back at this server: its public URL, else the loopback name the
        # browser used (a Host checked by _refusal, never a name a request made up). No token:
        # the address is confirmed already; the answer is the same, so it tells no one that.
        site_url = (
            self.public.geturl() if self.public else f"http://{self.headers['Host'].strip()}/"
        )
        try:
            if token is not None:
                self.send_confirmation(address.strip(), link(site_url, CONFIRM_PATH, token))
        except LofiError as error:  # the SMTP server refused: the message names no address
            self._answer(HTTPStatus.BAD_GATEWAY, _page("Not sent", str(error)))
            return
        self._answer(
            HTTPStatus.OK,
            _page("Almost there", "We sent you an e-mail: open its link to confirm."),
        )

    def do_POST(self) -> None:
        self._guarded(self._post)

    def _post(self) -> None:
        url = urlsplit(self.path)
        if url.path not in (
            f"/{LICENCE_REQUEST_PATH}",
            f"/{SUBSCRIBE_PATH}",
            f"/{CONFIRM_PATH}",
            f"/{UNSUBSCRIBE_PATH}",
        ):
            self._discard_body()
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        form = self._form()
        if form is None:
            return
        if url.path == f"/{LICENCE_REQUEST_PATH}":
            self._licence_request(form)
        elif url.path == f"/{SUBSCRIBE_PATH}":
            self._subscribe(form)
        elif url.path == f"/{CONFIRM_PATH}":  # the confirmation page's button
            self._action(CONFIRM_PATH, (form.get("token") or [""])[0])
        else:
            # The one-click POST (RFC 8058) carries the token in the URL; the page's button,
            # in the form.
            token = (form.get("token") or parse_qs(url.query).get("token") or [""])[0]
            self._action(UNSUBSCRIBE_PATH, token)


def site_server(
    site_root: Path,
    port: int = DEFAULT_PORT,
    warehouse: Callable[[], Warehouse] | None = None,
    send_confirmation: Callable[[str, str], None] | None = None,
    public_url: str | None = None,
) -> ThreadingHTTPServer:
    """An HTTP server of ``site_root`` bound to 127.0.0.1:``port`` (0: any free port; read the
    chosen one from ``server.server_address``), answering the newsletter's links and the
    licence form in the ``warehouse()`` it opens when one is used; a subscription from the
    index's form is recorded there and ``send_confirmation(address, confirm_url)`` mails the
    confirmation link. Call ``serve_forever()``.

    It answers requests that name it (``Host``) by its loopback names, or by ``public_url``'s
    host when a proxy publishes the site there (then the confirmation links name that URL).

    Raises:
        CatalogSiteError: ``site_root`` has no index.html (the site was never built), the
            port is taken, or ``public_url`` is not an http(s) URL.
    """
    if public_url is not None:
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CatalogSiteError(
                f"--public-url {public_url!r} is not an http(s) URL: give the address the "
                "proxy publishes the site at, like https://music.example.com/"
            )
    if not (site_root / "index.html").is_file():
        raise CatalogSiteError(
            f"No catalog site at {site_root}: materialize catalog_site for a release date "
            "(`lofi release` does) or set LOFI_DATA_DIR to the data root that has one"
        )
    handler = functools.partial(
        _SiteHandler, directory=str(site_root), warehouse=warehouse,
        send_confirmation=send_confirmation, writing=threading.Lock(), public_url=public_url,
    )  # fmt: skip
    try:
        return ThreadingHTTPServer((HOST, port), handler)
    except OSError as error:
        raise CatalogSiteError(
            f"Cannot listen on {HOST}:{port} ({error.strerror or error}): another program "
            "holds the port; choose another with --port (0: any free one)"
        ) from error
