"""``lofi catalog serve``: the built site over HTTP on 127.0.0.1 for the operator (stdlib
``http.server``; static files only, so nothing outside the site folder is served), and the
newsletter's links: ``GET /confirm?token=…`` (the double opt-in), ``GET /unsubscribe?token=…``
(a page with a button, so a mail scanner following links unsubscribes no one) and
``POST /unsubscribe`` (the button, and RFC 8058 one-click from the mail client); and the
licences page's form, ``POST /licence-request`` (recorded by ``licensing.LicenceRequests``),
and the index's newsletter form, ``POST /subscribe`` (the first opt-in)."""

from __future__ import annotations

import functools
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
LICENCE_REQUEST_PATH, SUBSCRIBE_PATH = "licence-request", "subscribe"


def _page(heading: str, text: str, token: str | None = None) -> bytes:
    return render("subscription.html.j2", heading=heading, text=text, token=token).encode()


class _SiteHandler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".xml": "application/atom+xml"}

    def __init__(
        self,
        *args,
        warehouse: Callable[[], Warehouse] | None,
        send_confirmation: Callable[[str, str], None] | None,
        **kwargs,
    ) -> None:
        self.warehouse = warehouse
        self.send_confirmation = send_confirmation
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

    def _action(self, action: str, token: str) -> None:
        if self.warehouse is None:
            self._answer(HTTPStatus.SERVICE_UNAVAILABLE, _page("Not available", "No list here."))
            return
        subscribers = SubscriberList(self.warehouse())
        try:
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
        url = urlsplit(self.path)
        token = parse_qs(url.query).get("token", [""])[0]
        if url.path == f"/{CONFIRM_PATH}":
            self._action(CONFIRM_PATH, token)
        elif url.path == f"/{UNSUBSCRIBE_PATH}":
            self._answer(
                HTTPStatus.OK,
                _page("Unsubscribe", "Press the button to get no more newsletters.", token),
            )
        else:
            super().do_GET()

    def _licence_request(self, form: dict[str, list[str]]) -> None:
        if self.warehouse is None:
            self._answer(HTTPStatus.SERVICE_UNAVAILABLE, _page("Not available", "Not here."))
            return
        field = {name: (form.get(name) or [""])[0] for name in
                 ("name", "email", "project", "use", "tracks")}  # fmt: skip
        try:
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
            token = SubscriberList(self.warehouse()).subscribe(address)
        except NewsletterError as error:
            self._answer(HTTPStatus.BAD_REQUEST, _page("Not subscribed", str(error)))
            return
        # The link points back at this server, under the name the browser used for it.
        site_url = f"http://{self.headers.get('Host') or '127.0.0.1'}/"
        try:
            self.send_confirmation(address, link(site_url, CONFIRM_PATH, token))
        except LofiError as error:  # the SMTP server refused: the message names no address
            self._answer(HTTPStatus.BAD_GATEWAY, _page("Not sent", str(error)))
            return
        self._answer(
            HTTPStatus.OK,
            _page("Almost there", "We sent you an e-mail: open its link to confirm."),
        )

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        length = min(int(self.headers.get("Content-Length") or 0), MAX_FORM_BYTES)
        form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        if url.path == f"/{LICENCE_REQUEST_PATH}":
            self._licence_request(form)
            return
        if url.path == f"/{SUBSCRIBE_PATH}":
            self._subscribe(form)
            return
        if url.path != f"/{UNSUBSCRIBE_PATH}":
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        # The one-click POST (RFC 8058) carries the token in the URL; the page's button, in the form.
        token = (form.get("token") or parse_qs(url.query).get("token") or [""])[0]
        self._action(UNSUBSCRIBE_PATH, token)


def site_server(
    site_root: Path,
    port: int = DEFAULT_PORT,
    warehouse: Callable[[], Warehouse] | None = None,
    send_confirmation: Callable[[str, str], None] | None = None,
) -> ThreadingHTTPServer:
    """An HTTP server of ``site_root`` bound to 127.0.0.1:``port`` (0: any free port; read the
    chosen one from ``server.server_address``), answering the newsletter's links and the
    licence form in the ``warehouse()`` it opens when one is used; a subscription from the
    index's form is recorded there and ``send_confirmation(address, confirm_url)`` mails the
    confirmation link. Call ``serve_forever()``.

    Raises:
        CatalogSiteError: ``site_root`` has no index.html (the site was never built), or the
            port is taken.
    """
    if not (site_root / "index.html").is_file():
        raise CatalogSiteError(
            f"No catalog site at {site_root}: materialize catalog_site for a release date "
            "(`lofi release` does) or set LOFI_DATA_DIR to the data root that has one"
        )
    handler = functools.partial(
        _SiteHandler, directory=str(site_root), warehouse=warehouse,
        send_confirmation=send_confirmation,
    )  # fmt: skip
    try:
        return ThreadingHTTPServer((HOST, port), handler)
    except OSError as error:
        raise CatalogSiteError(
            f"Cannot listen on {HOST}:{port} ({error.strerror or error}): another program "
            "holds the port; choose another with --port (0: any free one)"
        ) from error
