"""``lofi catalog serve``: the built site over HTTP on 127.0.0.1 for the operator (stdlib
``http.server``; static files only, so nothing outside the site folder is served)."""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from lofi_assets.catalog.site import CatalogSiteError

HOST = "127.0.0.1"  # the operator's machine only: the site is a preview, not a public server
DEFAULT_PORT = 8765


class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".xml": "application/atom+xml"}

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per request would drown the URL the command printed


def site_server(site_root: Path, port: int = DEFAULT_PORT) -> ThreadingHTTPServer:
    """An HTTP server of ``site_root`` bound to 127.0.0.1:``port`` (0: any free port; read the
    chosen one from ``server.server_address``). Call ``serve_forever()`` on it.

    Raises:
        CatalogSiteError: ``site_root`` has no index.html (the site was never built).
        OSError: the port is taken.
    """
    if not (site_root / "index.html").is_file():
        raise CatalogSiteError(
            f"No catalog site at {site_root}: materialize catalog_site for a release date "
            "(`lofi release` does) or set LOFI_DATA_DIR to the data root that has one"
        )
    handler = functools.partial(_QuietHandler, directory=str(site_root))
    return ThreadingHTTPServer((HOST, port), handler)
